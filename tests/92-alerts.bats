#!/usr/bin/env bats
# An alert always lands: every failure of pipelines/listings.mk leaves
# $RUN/alert.json, whatever NOTIFY's targets do, and summary.json says
# whether the targets got it.  The runs fail at the clean step: RULES names
# a file that does not exist, so etl-clean exits 66 (EX_NOINPUT) before
# anything is stored.  (The check step's --max-reject-ratio gate is not used:
# the run's gates are moving to their own step.)

load helper

setup() {
	# make runs in cwd/; the runs and the store live elsewhere.
	mkdir -p "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd"
	unset ETL_RUN_ID NOTIFY ENV RUNS STORE
	R="$BATS_TEST_TMPDIR/elsewhere/runs"
}

teardown() {
	if [ -n "${listener_pid:-}" ]; then
		kill "$listener_pid" 2>/dev/null || :
	fi
}

# The pipeline, failing at clean; extra make arguments follow.  Sets
# $status, $output, $errput and $d, the run's directory.
failing_run() {
	run_split make -s -f "$ETL_ROOT/pipelines/listings.mk" \
	    STORE="$BATS_TEST_TMPDIR/elsewhere/store" RUNS="$R" RETRY_DELAY=0 \
	    DATE=2026-11-24 RULES="$BATS_TEST_TMPDIR/no-such.rules.json" "$@"
	d=$(dirname "$(ls "$R"/2026-11-24/*/summary.json | tail -1)")
}

# The run's alert.json and what it and stderr say, and a failing exit.
assert_alert() {
	[ "$status" -ne 0 ]
	[ -s "$d/alert.json" ]
	jq -e '.step == "clean" and .status == 66
	    and (.message | contains("step clean with status 66"))
	    and (.log_tail | length > 0) and (.log_tail | contains("no-such.rules.json"))
	    and .summary.status == "failed" and .run_id == .summary.run_id' "$d/alert.json"
	jq -e --arg f "$d/alert.json" '.status == "failed" and .alert.file == $f' "$d/summary.json"
	[[ "$errput" == *"pipeline: alert written to $d/alert.json"* ]]
	[[ "$errput" == *"pipeline: step clean failed with status 66"* ]]
	# Written aside, moved into place: nothing left behind.
	assert_eq "$(find "$d" -name '*.tmp' | wc -l)" 0
	[ ! -e "$BATS_TEST_TMPDIR/elsewhere/store/offers" ]
}

# Asserts summary.json's alert: undelivered, etl-notify status 69, and the
# stderr line that says so.
assert_undelivered() {
	jq -e '.alert.delivered == false and .alert.status == 69' "$d/summary.json"
	[[ "$errput" == *"pipeline: the alert reached no target (etl-notify status 69); it is in $d/alert.json"* ]]
}

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "dev's default NOTIFY follows RUNS: the alert lands in \$RUNS/alerts.ndjson and in the run" {
	failing_run
	assert_alert
	# etl-notify's file target is under RUNS, not under the cwd.
	[ -s "$R/alerts.ndjson" ]
	[ ! -e demo ]
	assert_eq "$(lines "$R/alerts.ndjson")" 1
	# The same object in both places.
	assert_eq "$(jq -cS . "$R/alerts.ndjson")" "$(jq -cS . "$d/alert.json")"
	jq -e --arg t "$R/alerts.ndjson" '.alert.delivered == true and .alert.status == 0
	    and .alert.targets == [{kind: "file", target: $t, delivered: true, attempts: 1}]' "$d/summary.json"
	[[ "$errput" != *"reached no target"* ]]
	# RUNS left to dev's default: demo/runs under the cwd, alerts beside it.
	R=demo/runs
	failing_run
	assert_alert
	[ -s demo/runs/alerts.ndjson ]
	jq -e '.step == "clean" and .status == 66' demo/runs/alerts.ndjson
	jq -e '.alert.delivered == true' "$d/summary.json"
}

@test "a file target that cannot be created: alert.json still, delivered false, status 69" {
	failing_run NOTIFY="--file $BATS_TEST_TMPDIR/no/such/dir/alerts.ndjson"
	assert_alert
	assert_undelivered
	[ ! -e "$BATS_TEST_TMPDIR/no" ]
	jq -e '.alert.targets | length == 1 and .[0].kind == "file" and .[0].delivered == false' "$d/summary.json"
}

@test "a webhook on a closed port: alert.json still, delivered false, status 69" {
	port=$(free_port)
	SECONDS=0
	failing_run NOTIFY="--webhook http://127.0.0.1:$port/hook --retries 0 --timeout 2"
	# Bounded by the timeout, not hung (a loaded machine is slow to start).
	[ "$SECONDS" -lt 40 ]
	assert_alert
	assert_undelivered
	jq -e '.alert.targets | length == 1 and .[0].kind == "webhook" and .[0].delivered == false' "$d/summary.json"
}

@test "a webhook that never answers: alert.json is there before etl-notify connects" {
	# The listener accepts, notes whether the run's alert.json exists
	# already, and never answers, so etl-notify waits for its timeout.
	"$PY" - "$BATS_TEST_TMPDIR/port" "$R" "$BATS_TEST_TMPDIR/seen" >/dev/null 2>&1 3>&- <<'PY' &
import glob, os, socket, sys
port_file, runs, seen = sys.argv[1:]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(30)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
c, _ = s.accept()
c.settimeout(30)
c.recv(65536)
with open(seen, "w") as f:
    f.write("\n".join(glob.glob(runs + "/*/*/alert.json")) + "\n")
while c.recv(65536):
    pass
PY
	listener_pid=$!
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.1; done
	port=$(cat "$BATS_TEST_TMPDIR/port")
	failing_run NOTIFY="--webhook http://127.0.0.1:$port/hook --retries 0 --timeout 1"
	assert_alert
	assert_undelivered
	assert_eq "$(cat "$BATS_TEST_TMPDIR/seen")" "$d/alert.json"
}

@test "NOTIFY empty: alert.json written, delivered null, nothing else tried" {
	failing_run NOTIFY=
	assert_alert
	jq -e --arg f "$d/alert.json" '.alert == {file: $f, delivered: null}' "$d/summary.json"
	[[ "$errput" != *"reached no target"* ]]
	[ ! -e "$R/alerts.ndjson" ]
}

@test "a working file and a dead webhook: the file gets it, etl-notify still fails with 69" {
	# etl-notify tries every target and exits 69 when any one of them
	# failed (etl-notify(1), EXIT STATUS): the alert counts as undelivered,
	# and stderr says how many targets it reached.
	port=$(free_port)
	failing_run NOTIFY="--file $BATS_TEST_TMPDIR/alerts.ndjson --webhook http://127.0.0.1:$port/hook --retries 0 --timeout 2"
	assert_alert
	assert_eq "$(lines "$BATS_TEST_TMPDIR/alerts.ndjson")" 1
	assert_eq "$(jq -cS . "$BATS_TEST_TMPDIR/alerts.ndjson")" "$(jq -cS . "$d/alert.json")"
	jq -e '.alert.delivered == false and .alert.status == 69
	    and ([.alert.targets[] | [.kind, .delivered]] == [["file", true], ["webhook", false]])' "$d/summary.json"
	[[ "$errput" == *"pipeline: the alert reached only 1 of 2 targets (etl-notify status 69); it is in $d/alert.json"* ]]
}

@test "a run that succeeds writes no alert" {
	run_split make -s -f "$ETL_ROOT/pipelines/listings.mk" \
	    STORE="$BATS_TEST_TMPDIR/elsewhere/store" RUNS="$R" RETRY_DELAY=0 \
	    DATE=2026-11-24
	[ "$status" -eq 0 ]
	s=$(ls "$R"/2026-11-24/*/summary.json)
	jq -e '.status == "ok" and has("alert") == false' "$s"
	[ ! -e "$(dirname "$s")/alert.json" ]
	[ ! -e "$R/alerts.ndjson" ]
	[[ "$errput" != *"alert"* ]]
	# And step.sh itself, on a step that succeeds, whatever NOTIFY says.
	mkdir run
	RUN="$PWD/run" NOTIFY="--file $PWD/alerts.ndjson" run_split "$ETL_ROOT/pipelines/step.sh" fine -o out.ndjson -- echo '{"ok":true}'
	[ "$status" -eq 0 ]
	assert_eq "$(cat out.ndjson)" '{"ok":true}'
	[ ! -e run/alert.json ]
	[ ! -e run/summary.json ]
	[ ! -e alerts.ndjson ]
}
