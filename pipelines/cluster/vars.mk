# vars.mk - read after listings.mk (make -f pipelines/listings.mk -f
# pipelines/cluster/vars.mk [VAR=value ...] cluster-vars): prints the
# variables of the run listings.mk would make, as shell assignments, so
# that a distributed run resolves the day, the run id, the env file's
# defaults and NOTIFY exactly as the one-machine run does.  Paths are made
# absolute, since the run's jobs start on other hosts and in other
# directories; NOTIFY, recursively expanded, then names absolute paths too.

override ETL	:= $(abspath $(ETL))
override STORE	:= $(abspath $(STORE))
override RUNS	:= $(abspath $(RUNS))
override RULES	:= $(abspath $(RULES))
override SCHEMA	:= $(abspath $(SCHEMA))
override INPUT	:= $(foreach w,$(INPUT),$(if $(findstring ://,$(w)),$(w),$(abspath $(w))))
override RUN	:= $(RUNS)/$(DAY)/$(ETL_RUN_ID)

CLUSTER_VARS = ETL ENV INPUT STORE RUNS DAY ETL_RUN_ID RUN NOTIFY SOURCE \
	USE_CASES MAX_REJECT_RATIO MIN_KEPT_RATIO ALLOW_EMPTY STORE_WAIT \
	RETRIES RETRY_DELAY RULES SCHEMA DASHBOARD DB DB_READER
cluster_q = '$(subst ','\'',$(1))'

# One NAME='value' line a variable, quoted for eval.
.PHONY: cluster-vars
cluster-vars:
	@set -- $(foreach v,$(CLUSTER_VARS),$(v) $(call cluster_q,$(strip $($(v))))); \
	while [ $$# -gt 0 ]; do \
		printf "%s='%s'\n" "$$1" "$$(printf '%s' "$$2" | sed "s/'/'\\\\''/g")"; \
		shift 2; \
	done
