# listings.mk - the daily offers run: params, fetch, clean, check, the
# gates, then the publication (store, the use cases), each step a target
# and each edge a prerequisite.
#
#   make -f pipelines/listings.mk [INPUT=...] [STORE=...] [RUNS=...] [ENV=...]
#        [DATE=...] [NOTIFY=...] [USE_CASES=...] [MAX_REJECT_RATIO=...]
#        [MIN_KEPT_RATIO=...] [ALLOW_EMPTY=1] [STORE_WAIT=...]
#
# Every run lives in $(RUNS)/DAY/RUN_ID/: params.json, STEP.log (JSON logs),
# STEP.rejects.ndjson, STEP.stats.json per step, and summary.json.
#
# A run for day DAY replaces what earlier runs for DAY stored and nothing
# else: its offers go whole into $(STORE)/history/offers/day=DAY/, and
# $(STORE)/offers holds each offer id once, its latest version (etl-store
# --mode merge).  Runs that overlap publish one after the other.

ETL	:= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))/..
ENV	?= dev
# A shell's own ENV (a startup file) is not ours.
ifeq ($(wildcard $(ETL)/pipelines/env/$(ENV).mk),)
ifeq ($(origin ENV),environment)
ENV	:= dev
else
$(error ENV=$(ENV): there is no pipelines/env/$(ENV).mk)
endif
endif
include $(ETL)/pipelines/env/$(ENV).mk

INPUT	?= $(ETL)/data/sample.json
STORE	?= demo/store
RUNS	?= demo/runs
DATE	?= today
# NOTIFY: etl-notify's targets, as set by the env file (recursively expanded, so
# $(RUNS) is the final one); this default serves an env file that sets none.
# Whatever it holds, a failure also writes $(RUN)/alert.json (pipelines/step.sh).
NOTIFY	?= --file $(RUNS)/alerts.ndjson
SOURCE	?= pricehubble
USE_CASES ?= price_per_m2 price_model
MAX_REJECT_RATIO ?= 0.2
MIN_KEPT_RATIO ?= 0.5
ALLOW_EMPTY ?= 0
STORE_WAIT ?= 600
RETRIES	?= 3
RETRY_DELAY ?= 2
RULES	?= $(ETL)/pipelines/rules/offers.rules.json
SCHEMA	?= $(ETL)/pipelines/schemas/offers.schema.json

export PATH := $(abspath $(ETL)/bin):$(PATH)
SHELL	:= /bin/sh

# The day and the run, fixed once per make.
DAY	:= $(shell $(ETL)/bin/etl-params -q --date '$(DATE)' --format make 2>/dev/null | sed -n 's/^ETL_FROM := //p')
ifeq ($(DAY),)
$(error DATE=$(DATE) is not a date etl-params understands)
endif
ifndef ETL_RUN_ID
ETL_RUN_ID := $(shell date -u +%Y%m%dT%H%M%SZ)-$(shell od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
endif
export ETL_RUN_ID
RUN	:= $(RUNS)/$(DAY)/$(ETL_RUN_ID)
export RUN RETRIES RETRY_DELAY NOTIFY MAX_REJECT_RATIO MIN_KEPT_RATIO ALLOW_EMPTY

STEP	 = $(ETL)/pipelines/step.sh
STATS	 = --stats $(RUN)/$(1).stats.json

.PHONY: all run publish usecases $(USE_CASES) demo
.DELETE_ON_ERROR:

all: run

run: $(RUN)/summary.json
	@jq -r '"run \(.run_id): \(.status), \(.offers.kept) of \(.offers.in) offers kept, in = out + rejected: \(.conserved)"' $<
	@jq -e '.conserved and .status == "ok"' $< >/dev/null || { \
	    echo "pipeline: the run does not account for every record" >&2; \
	    $(STEP) conservation -- false; }

$(RUN)/params.json:
	@mkdir -p $(RUN)
	$(STEP) params -o $@ -- etl-params --config $(ETL)/pipelines/config/listings.json \
	    --env $(ENV) --date $(DAY) --source $(SOURCE) $(addprefix --use-case ,$(USE_CASES)) \
	    --set 'input=$(INPUT)' --set 'store=$(STORE)' --set 'runs=$(RUNS)' \
	    --set max_reject_ratio=$(MAX_REJECT_RATIO)

$(RUN)/fetch.ndjson: $(RUN)/params.json
	$(STEP) fetch -o $@ -- etl-fetch $(call STATS,fetch) $(INPUT)

$(RUN)/clean.ndjson: $(RUN)/fetch.ndjson
	$(STEP) clean -i $< -o $@ -- etl-clean --rules $(RULES) $(call STATS,clean)

# The quality gate: too many rejects fail the run (65) before anything is stored.
$(RUN)/check.ndjson: $(RUN)/clean.ndjson
	$(STEP) check -i $< -o $@ -- etl-check -s $(SCHEMA) \
	    --max-reject-ratio $(MAX_REJECT_RATIO) $(call STATS,check)

# The gates on the whole run (65, nothing stored): kept over read, each
# step's rejects, an empty input (unless ALLOW_EMPTY=1: then ok, nothing
# stored).
$(RUN)/gate.json: $(RUN)/check.ndjson
	$(STEP) gate -o $@ -- $(ETL)/pipelines/gate.sh

# Publication, one run at a time on a store: the store step, then the use
# cases from the table as it then is.  A run that finds another publishing
# waits for it (STORE_WAIT seconds at most).
$(RUN)/published: $(RUN)/gate.json
	@if jq -e .publish $< >/dev/null; then \
	    $(ETL)/pipelines/lock.sh $(STORE)/_publish.lock $(STORE_WAIT) \
	        $(MAKE) -s -f $(ETL)/pipelines/listings.mk DATE=$(DAY) publish; \
	else echo "pipeline: nothing to publish: the input holds no record" >&2; fi
	@touch $@

publish: usecases

# etl-store's commit is the only publisher: a failed run stores nothing.
# The day's offers replace the day's in the history; the table is rebuilt
# from it, each offer once, its latest version.
$(RUN)/store.ndjson: $(RUN)/gate.json
	$(STEP) store -i $(RUN)/check.ndjson -o $@ -- etl-store \
	    --root $(STORE)/offers --by scraping_date --mode merge --key id \
	    --latest scraping_date --history $(STORE)/history/offers --day $(DAY) \
	    --wait $(STORE_WAIT) $(call STATS,store)

# The use cases read the offers table as stored, and replace their tables.
$(RUN)/offers.ndjson: $(RUN)/store.ndjson
	$(STEP) offers -o $@ -- etl-fetch $(call STATS,offers) $(STORE)/offers

# Count and median, p10, p90 of the price per m² by municipality and month.
price_per_m2: $(RUN)/price_per_m2.store.ndjson
$(RUN)/price_per_m2.ndjson: $(RUN)/offers.ndjson
	$(STEP) price_per_m2.agg -i $< -o $@ -- etl-agg \
	    -g municipality,scraping_date:month \
	    -a count,median:price_per_m2,p10:price_per_m2,p90:price_per_m2 \
	    $(call STATS,price_per_m2.agg)
$(RUN)/price_per_m2.store.ndjson: $(RUN)/price_per_m2.ndjson
	$(STEP) price_per_m2.store -i $< -o $@ -- etl-store \
	    --root $(STORE)/usecases/price_per_m2 --by scraping_date \
	    --mode replace --wait $(STORE_WAIT) $(call STATS,price_per_m2.store)

# The hedonic model: log price on area and type; predictions flag outliers.
price_model: $(RUN)/price_model.store.ndjson $(RUN)/price_model.models.store.ndjson
$(RUN)/price_model.models.ndjson: $(RUN)/offers.ndjson
	$(STEP) price_model.fit -i $< -o $@ -- etl-model fit -y price \
	    -x living_area -c property_type --log-y $(call STATS,price_model.fit)
$(RUN)/price_model.ndjson: $(RUN)/price_model.models.ndjson $(RUN)/offers.ndjson
	$(STEP) price_model.predict -i $(RUN)/offers.ndjson -o $@ -- etl-model \
	    predict -m $< $(call STATS,price_model.predict)
$(RUN)/price_model.store.ndjson: $(RUN)/price_model.ndjson
	$(STEP) price_model.store -i $< -o $@ -- etl-store \
	    --root $(STORE)/usecases/price_model/predictions --by property_type \
	    --mode replace --wait $(STORE_WAIT) $(call STATS,price_model.store)
$(RUN)/price_model.models.store.ndjson: $(RUN)/price_model.models.ndjson
	$(STEP) price_model.models.store -i $< -o $@ -- etl-store \
	    --root $(STORE)/usecases/price_model/models --by y \
	    --mode replace --wait $(STORE_WAIT) $(call STATS,price_model.models.store)

usecases: $(USE_CASES)

# Loading into a database (etl-load): off unless the environment names one
# in DB (sqlite:PATH, or a PostgreSQL URL or conninfo whose password is in
# ~/.pgpass).  Each table is one transaction.  offers mirrors the stored
# table, the whole of it read back from $(STORE)/offers: upserted by id,
# and the ids a rerun dropped deleted; price_per_m2 is replaced whole.
# DB_READER names a PostgreSQL role that may only SELECT them.
# $(LOAD_TARGETS) are what publish adds when DB is set.
DB	?=
DB_READER ?=
LOAD	 = etl-load --db '$(DB)' $(if $(DB_READER),--grant-read $(DB_READER))
LOAD_TARGETS = $(if $(DB),$(RUN)/offers.load.ndjson \
	$(if $(filter price_per_m2,$(USE_CASES)),$(RUN)/price_per_m2.load.ndjson))
$(RUN)/offers.load.ndjson: $(RUN)/offers.ndjson
	$(STEP) offers.load -i $< -o $@ -- $(LOAD) --table offers \
	    --schema $(SCHEMA) --key id --mode replace $(call STATS,offers.load)
$(RUN)/price_per_m2.load.ndjson: $(RUN)/price_per_m2.ndjson
	$(STEP) price_per_m2.load -i $< -o $@ -- $(LOAD) --table price_per_m2 \
	    --schema $(ETL)/pipelines/schemas/price_per_m2.schema.json \
	    --mode replace $(call STATS,price_per_m2.load)
publish: $(LOAD_TARGETS)

$(RUN)/summary.json: $(RUN)/published
	$(ETL)/pipelines/summary.sh $(RUN) >$@.tmp && mv $@.tmp $@

# make demo: the run on the bundled sample, then a short report and the
# run's dashboard.
demo: run
	@$(ETL)/pipelines/report.sh $(RUN) $(STORE) '$(DB)'
	@$(DASHBOARD_WRITE)

# make dashboard: the run, then its page, one self-contained HTML file
# (pipelines/dashboard.sh).  A failed run's page is written by the failure
# handler (pipelines/step.sh, which reads DASHBOARD too) and linked from
# the alert.  DASHBOARD= (empty) writes none.
DASHBOARD ?= $(RUN)/dashboard.html
DASHBOARD_WRITE = $(if $(DASHBOARD),$(ETL)/pipelines/dashboard.sh -o $(DASHBOARD) $(RUN) $(STORE) $(RUNS) && \
	echo "Dashboard: $(DASHBOARD) (open it in a browser)",:)
.PHONY: dashboard
dashboard: run
	@$(DASHBOARD_WRITE)
