# prod: the store analysts query; alerts by webhook and mail; a strict gate.
STORE		?= /srv/etl/prod/store
RUNS		?= /srv/etl/prod/runs
# NOTIFY is expanded when used, so the alert file follows the RUNS in force;
# every failure also leaves $(RUNS)/DAY/RUN_ID/alert.json (pipelines/step.sh).
NOTIFY		?= --webhook https://hooks.example.org/etl --smtp smtp://localhost:25 --from etl@example.org --to oncall@example.org --file $(RUNS)/alerts.ndjson
MAX_REJECT_RATIO ?= 0.1
RETRIES		?= 5
RETRY_DELAY	?= 30
# etl-load's database, none by default; the password goes in ~/.pgpass,
# and DB_READER is the analysts' read-only role.
DB		?=
# DB		?= postgresql://etl@db.example.org/etl
# DB_READER	?= analyst
