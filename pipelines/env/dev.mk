# dev: a local store under demo/, alerts to a file, a lenient gate.
STORE		?= demo/store
RUNS		?= demo/runs
NOTIFY		?= --file demo/alerts.ndjson
MAX_REJECT_RATIO ?= 0.2
RETRIES		?= 1
RETRY_DELAY	?= 1
