# preprod: the shared store's staging copy; alerts to the team's webhook.
STORE		?= /srv/etl/preprod/store
RUNS		?= /srv/etl/preprod/runs
# NOTIFY is expanded when used, so the alert file follows the RUNS in force;
# every failure also leaves $(RUNS)/DAY/RUN_ID/alert.json (pipelines/step.sh).
NOTIFY		?= --webhook https://hooks.example.org/etl-preprod --file $(RUNS)/alerts.ndjson
MAX_REJECT_RATIO ?= 0.1
RETRIES		?= 3
RETRY_DELAY	?= 5
# etl-load's database, none by default; the password goes in ~/.pgpass.
DB		?=
# DB		?= postgresql://etl@db-preprod.example.org/etl
