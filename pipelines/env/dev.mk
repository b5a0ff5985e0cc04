# dev: a local store under demo/, alerts to a file, a lenient gate.
STORE		?= demo/store
RUNS		?= demo/runs
# NOTIFY is expanded when used, so the alert file follows the RUNS in force;
# every failure also leaves $(RUNS)/DAY/RUN_ID/alert.json (pipelines/step.sh).
NOTIFY		?= --file $(RUNS)/alerts.ndjson
MAX_REJECT_RATIO ?= 0.2
RETRIES		?= 1
RETRY_DELAY	?= 1
# etl-load's database: an SQLite file beside the runs (demo/etl.db).
DB		?= sqlite:$(dir $(patsubst %/,%,$(RUNS)))etl.db
