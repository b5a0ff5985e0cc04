#!/usr/bin/env bats
# The daily run past one machine, on real engines started here: a Slurm
# cluster of two nodes (munged, slurmctld, slurmd node1 and node2) for
# pipelines/cluster/slurm.sh, and two sshd workers (127.0.0.2, 127.0.0.3)
# for pipelines/cluster/ssh.sh with GNU parallel.  Each distributed run
# is compared with the one-machine run (pipelines/listings.mk) on the
# same input and DATE: the same offers, the aggregates byte for byte, the
# model's coefficients within 1e-9.  Faults: a task that exits 75 once
# and a tool killed by SIGKILL (requeued, the run succeeds), a batch
# script killed by SIGKILL (the run fails, alerts, publishes nothing), a
# worker whose sshd dies mid-run (its task goes to the other worker), a
# task that fails on every worker (the run fails, alerts, publishes
# nothing).  Daemons: tests/cluster.bash.

load helper
load cluster

DAY=2026-11-24

setup_file() {
	unset ETL_RUN_ID
	cluster_dir
	slurm_start || cp "$CL/slurm.why" "$CL/slurm.skip"
	sshd_start || cp "$CL/ssh.why" "$CL/ssh.skip"
	# The input: the sample as four files of a lake day, and as it is.
	REF="$BATS_FILE_TMPDIR/ref"
	LAKE="$REF/lake"
	mkdir -p "$LAKE"
	jq -r . "$ETL_ROOT/data/sample.json" | jq -c '.[]' >"$REF/all.ndjson"
	split -n l/4 -d -a 1 --additional-suffix=.ndjson "$REF/all.ndjson" "$LAKE/part-"
	# The one-machine runs the distributed ones must equal.
	(cd "$REF" && make -s -f "$ETL_ROOT/pipelines/listings.mk" INPUT="$(echo "$LAKE"/*.ndjson)" \
	    STORE="$REF/lake-store" RUNS="$REF/runs" NOTIFY= DB= DASHBOARD= DATE=$DAY >/dev/null 3>&-)
	(cd "$REF" && make -s -f "$ETL_ROOT/pipelines/listings.mk" INPUT="$ETL_ROOT/data/sample.json" \
	    STORE="$REF/sample-store" RUNS="$REF/runs" NOTIFY= DB= DASHBOARD= DATE=$DAY >/dev/null 3>&-)
	export REF LAKE
}

teardown_file() {
	cluster_stop
}

setup() {
	unset ETL_RUN_ID
	cd "$BATS_TEST_TMPDIR"
}

# A hung fault left by a test (its process outlived the job that ran it).
teardown() {
	local f
	for f in "$BATS_TEST_TMPDIR"/fault/*.pid; do
		[ -e "$f" ] || continue
		kill -KILL "$(cat "$f")" 2>/dev/null || :
	done
}

need_slurm() {
	[ ! -e "$CL/slurm.skip" ] || skip "slurmctld does not start: $(cat "$CL/slurm.skip")"
}

need_ssh() {
	[ ! -e "$CL/ssh.skip" ] || skip "sshd does not start: $(cat "$CL/ssh.skip")"
}

# No database and no dashboard (DB=, DASHBOARD=): the tables are the point.
slurm_run() {
	"$ETL_ROOT/pipelines/cluster/slurm.sh" STORE="$PWD/store" RUNS="$PWD/runs" DB= DASHBOARD= \
	    NOTIFY="--file $PWD/alerts.ndjson" DATE=$DAY POLL=1 WAIT_TIMEOUT=80 "$@" 3>&-
}

ssh_run() {
	"$ETL_ROOT/pipelines/cluster/ssh.sh" HOSTS=2/w1,2/w2 STORE="$PWD/store" RUNS="$PWD/runs" DB= DASHBOARD= \
	    NOTIFY="--file $PWD/alerts.ndjson" DATE=$DAY "$@" 3>&-
}

run_dir() {
	ls -d runs/$DAY/*/ | tail -1
}

# same_answer STORE REFSTORE: the tables of a distributed run are the
# one-machine run's: the offers as sets of records, the aggregates and the
# predictions byte for byte, the models' coefficients within 1e-9.
same_answer() {
	local a=$1 b=$2 t
	assert_eq "$(etl-fetch -q "$a/offers" 3>&- | jq -cS . | sort | md5sum)" \
	    "$(etl-fetch -q "$b/offers" 3>&- | jq -cS . | sort | md5sum)"
	assert_eq "$(etl-fetch -q "$a/offers" 3>&- | wc -l)" 92
	for t in usecases/price_per_m2 usecases/price_model/predictions; do
		etl-fetch -q "$a/$t" 3>&- >got.ndjson
		etl-fetch -q "$b/$t" 3>&- >want.ndjson
		[ -s want.ndjson ]
		cmp want.ndjson got.ndjson
	done
	etl-fetch -q "$a/usecases/price_model/models" 3>&- >got.ndjson
	etl-fetch -q "$b/usecases/price_model/models" 3>&- >want.ndjson
	jq -n -e --slurpfile a got.ndjson --slurpfile b want.ndjson '
	    def close(x; y): ((x - y) | fabs) <= 1e-9 * ([1, (y | fabs)] | max);
	    ($a | length) == ($b | length) and ($a | length) > 0 and
	    all(range($a | length) as $i | $a[$i] as $x | $b[$i] as $y |
	        ($x | del(.coef, .r2, .rmse)) == ($y | del(.coef, .r2, .rmse)) and
	        ($x.coef | keys) == ($y.coef | keys) and
	        all($x.coef | keys[]; close($x.coef[.]; $y.coef[.])) and
	        close($x.r2; $y.r2) and close($x.rmse; $y.rmse); .)'
}

# Nothing was published: no stored file, no lock holder's table.
nothing_published() {
	[ ! -d store ] || [ -z "$(find store -name '*.zst')" ]
}

@test "slurm: an array task per lake file, a merge after each: the one-machine run's tables" {
	need_slurm
	run_split slurm_run INPUT="$LAKE"
	[ "$status" -eq 0 ] || { cat "$stdout_file" "$stderr_file" >&2; false; }
	[[ "$output" == *"ok, 92 of 100 offers kept, in = out + rejected: true (4 of 4 tasks)"* ]]
	[[ "$output" == *"map array "*" (tasks 0-3), merge "*" after each task"* ]]
	d=$(run_dir)
	s="$d/summary.json"
	jq -e '.status == "ok" and .published and .conserved and .offers == {in: 100, kept: 92, rejected: 8}' "$s"
	# The tasks' own figures, and the run's as their sums.
	jq -e '.cluster.engine == "slurm" and (.cluster.tasks | length) == 4 and
	    all(.cluster.tasks[]; .ok and .conserved and .attempts == 1 and .steps.fetch.in == 25) and
	    ([.cluster.tasks[].steps.check.out] | add) == 92 and
	    ([.cluster.tasks[].steps.check.rejected] | add) == 8' "$s"
	assert_eq "$(jq -r '[.cluster.tasks[].node] | unique | join(" ")' "$s")" "node1 node2"
	jq -e '.tasks == 4 and .in == 100 and .out == 92' "$d/check.stats.json"
	assert_eq "$(lines "$d/check.rejects.ndjson")" 8
	same_answer store "$REF/lake-store"
	[ ! -e alerts.ndjson ]
}

@test "slurm: a task that exits 75 once and a task whose etl-check is SIGKILLed are requeued; the run succeeds" {
	need_slurm
	fault "$PWD/fault" etl-clean 1 exit75
	fault "$PWD/fault" etl-check 2 hang
	PATH="$PWD/fault:$PATH" slurm_run INPUT="$LAKE" RETRIES=1 >out 2>err 3>&- &
	wait_for 300 test -s fault/etl-check.pid
	kill -KILL "$(cat fault/etl-check.pid)"
	rm fault/etl-check.pid
	wait $! && status=0 || status=$?
	[ "$status" -eq 0 ] || { cat out err >&2; false; }
	grep -q "ok, 92 of 100 offers kept, in = out + rejected: true (4 of 4 tasks)" out
	d=$(run_dir)
	jq -e '[.cluster.tasks[] | .attempts] == [1, 2, 2, 1]' "$d/summary.json"
	grep -q "task 1, attempt 1: status 75, requeued" "$d/slurm/map-1.out"
	grep -q "task 2, attempt 1: status 75, requeued" "$d/slurm/map-2.out"
	grep -q "failed with status 137" "$d/slurm/map-2.out"
	# The failed attempts are kept apart; the table holds each offer once.
	[ -d "$d/tasks/1.try-1" ] && [ -d "$d/tasks/2.try-1" ]
	same_answer store "$REF/lake-store"
	[ ! -e alerts.ndjson ]
}

@test "slurm: a task's batch script SIGKILLed fails the run: merge cancelled, alert with its log, nothing published" {
	need_slurm
	fault "$PWD/fault" etl-check 2 hang
	PATH="$PWD/fault:$PATH" slurm_run INPUT="$LAKE" >out 2>err 3>&- &
	wait_for 300 test -s fault/etl-check.pid
	# Up from the hung tool to the batch script Slurm started.
	p=$(cat fault/etl-check.pid)
	for _ in 1 2 3 4 5 6; do
		p=$(ps -o ppid= -p "$p" | tr -d ' ')
		[[ "$(ps -o args= -p "$p")" != *"slurm.sh --map"* ]] || break
	done
	[[ "$(ps -o args= -p "$p")" == *"slurm.sh --map"* ]]
	kill -KILL "$p"
	wait $! && status=0 || status=$?
	[ "$status" -eq 137 ] || { cat out err >&2; false; }
	grep -q "run .*: failed" out
	nothing_published
	d=$(run_dir)
	jq -e '.step == "map.2" and .status == 137 and (.log_tail | contains("failed for good"))
	    and (.log_tail | contains("nothing was published")) and .summary.status == "failed"' alerts.ndjson
	[ -s "$d/alert.json" ]
	jq -e '.status == "failed" and (.published | not) and .alert.delivered and .cluster.tasks_ok < 4' "$d/summary.json"
	merge=$(jq -r .merge "$d/slurm/jobs.json")
	scontrol -o show job "$merge" | grep -q 'JobState=CANCELLED'
}

@test "ssh: one file split in 4 chunks, shipped by rsync to two workers: the one-machine run's tables" {
	need_ssh
	run_split ssh_run INPUT="$ETL_ROOT/data/sample.json" CHUNKS=4
	[ "$status" -eq 0 ] || { cat "$stdout_file" "$stderr_file" >&2; false; }
	[[ "$output" == *"ok, 92 of 100 offers kept, in = out + rejected: true (4 of 4 tasks)"* ]]
	d=$(run_dir)
	# Four jobs, each once, on both workers; nothing left on them.
	assert_eq "$(awk -F'\t' 'NR > 1 && $7 == 0' "$d/joblog" | wc -l)" 4
	assert_eq "$(awk -F'\t' 'NR > 1 { print $2 }' "$d/joblog" | sort -u | tr '\n' ' ')" "w1 w2 "
	jq -e '.status == "ok" and .published and .conserved and .offers == {in: 100, kept: 92, rejected: 8}
	    and .cluster.engine == "ssh" and all(.cluster.tasks[]; .ok and .conserved)
	    and ([.cluster.tasks[].steps.fetch.in] | add) == 100' "$d/summary.json"
	# The split read the file once; its figures are fetch's.
	jq -e '.in == 100 and .out == 100' "$d/split.stats.json"
	jq -e '.in == 100 and .out == 100 and .tasks == 4' "$d/fetch.stats.json"
	same_answer store "$REF/sample-store"
}

@test "ssh: a worker that never comes back (its sshd killed mid-task): the task runs on the other, same tables" {
	# SHIP=shared here: the dead worker's task, should it run on, must not
	# commit into the run folder the others share.
	need_ssh
	fault "$PWD/fault" etl-check 0 hang
	PATH="$PWD/fault:$PATH" ssh_run INPUT="$LAKE" SHIP=shared RETRIES=1 SSH_ENV=PATH >out 2>err 3>&- &
	wait_for 300 test -s fault/etl-check.pid
	# Up from the hung tool to the worker's sshd, then that sshd and its sessions.
	p=$(cat fault/etl-check.pid)
	w=
	for _ in $(seq 1 12); do
		p=$(ps -o ppid= -p "$p" | tr -d ' ')
		[ -n "$p" ] && [ "$p" -gt 1 ] || break
		for i in 1 2; do [ "$p" != "$(daemon_pid "sshd-w$i")" ] || w=$i; done
		[ -z "$w" ] || break
	done
	[ -n "$w" ]
	# shellcheck disable=SC2046
	kill -KILL $(proc_tree "$p") 2>/dev/null || :
	wait $! && status=0 || status=$?
	# The worker comes back for the tests after this one.
	sshd_restart "$w"
	[ "$status" -eq 0 ] || { cat out err >&2; false; }
	grep -q "ok, 92 of 100 offers kept, in = out + rejected: true (4 of 4 tasks)" out
	d=$(run_dir)
	# Task 0's second attempt ran on the other worker (the joblog keeps a
	# task's last attempt; its command ends with the attempt's number).
	other=w$((3 - w))
	awk -F'\t' -v w="$other" 'NR > 1 && $1 == 1 && $2 == w && $7 == 0 && $9 ~ / 0 2$/' "$d/joblog" | grep -q .
	jq -e --arg o "$other" '.cluster.tasks[0] | .ok and .attempts == 2 and .sshlogin == $o' "$d/summary.json"
	same_answer store "$REF/lake-store"
}

@test "ssh: a task that fails on every worker fails the run: alert with its log, nothing published" {
	need_ssh
	echo '{"fields":{"price":{"type":"money"}}}' >bad.rules.json
	run_split ssh_run INPUT="$LAKE/part-0.ndjson" SHIP=shared RULES="$PWD/bad.rules.json" RETRIES=1
	# 75 is a worker the machine's load kept from answering (ssh's 255):
	# temporary, so the run is tried once more, as cron would.
	if [ "$status" -eq 75 ]; then
		rm -f alerts.ndjson
		run_split ssh_run INPUT="$LAKE/part-0.ndjson" SHIP=shared RULES="$PWD/bad.rules.json" RETRIES=1
	fi
	[ "$status" -eq 78 ] || { cat "$stdout_file" "$stderr_file" >&2; false; }
	nothing_published
	d=$(run_dir)
	jq -e '.step == "map.0" and .status == 78 and (.log_tail | contains("failed for good"))
	    and (.log_tail | contains("money"))' alerts.ndjson
	jq -e '.status == "failed" and (.published | not) and .alert.delivered' "$d/summary.json"
	# The task failed at its last attempt (parallel retries on another host).
	jq -e '.log_tail | contains("at attempt 2 of 2")' alerts.ndjson
}
