# preprod: the shared store's staging copy; alerts to the team's webhook.
STORE		?= /srv/etl/preprod/store
RUNS		?= /srv/etl/preprod/runs
NOTIFY		?= --webhook https://hooks.example.org/etl-preprod --file /srv/etl/preprod/alerts.ndjson
MAX_REJECT_RATIO ?= 0.1
RETRIES		?= 3
RETRY_DELAY	?= 5
