#!/bin/sh
# merge.sh RUN - the reduce side of a distributed run, once every task of
# RUN has succeeded: the tasks' stats, rejects and logs summed into the
# run's fetch, clean and check records; their kept offers concatenated, in
# task order, into RUN/check.ndjson; then listings.mk's own rules on it:
# the gates (pipelines/gate.sh), the publication under
# pipelines/lock.sh (etl-store --mode merge of the day, then the use
# cases over the whole offers table, each stored with --mode replace),
# and summary.json, to which the tasks' own figures are added.
#
# The use cases are computed here, not as a second map-reduce, for the
# reason listings.mk computes them after the store step: they read the
# offers table as it is once this day is merged into it, under the
# publication lock, which only one process can hold.
#
# Exits 0 when the run is published (or, with ALLOW_EMPTY=1, had nothing
# to publish), else with the failed step's status, its alert sent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ETL=$(cd "$here/../.." && pwd)
CLUSTER_NAME=merge.sh
# shellcheck source=pipelines/cluster/common.sh
. "$here/common.sh"
[ $# -eq 1 ] || cluster_die 64 "usage: merge.sh RUN"
RUN=$1
cluster_load "$RUN"
cd "$RUN"

# Every task must have committed its folder.
missing=
t=0
while [ "$t" -lt "$TASKS" ]; do
	if ! jq -e '.status == 0' "tasks/$t/task.json" >/dev/null 2>&1 ||
	    ! [ -e "tasks/$t/check.ndjson" ]; then
		missing="$missing $t"
	fi
	t=$((t + 1))
done
if [ -n "$missing" ]; then
	printf 'merge: no complete output from task(s)%s of %s in %s/tasks\n' \
	    "$missing" "$TASKS" "$RUN" >merge.why
	cluster_fail merge 70 merge.why || :
	cluster_summary "$(cat slurm/jobs.json 2>/dev/null || echo '{}')"
	cluster_verdict
	exit $?
fi

# The tasks' records in task order.
tasks_of() {
	t=0
	while [ "$t" -lt "$TASKS" ]; do
		printf '%s\n' "tasks/$t/$1"
		t=$((t + 1))
	done
}
# shellcheck disable=SC2016
sum='
    def addobj(a; b): reduce (b | to_entries[]) as $e (a;
        .[$e.key] = (if ($e.value | type) == "number" then (.[$e.key] // 0) + $e.value
                     else .[$e.key] // $e.value end));
    length as $n |
    reduce .[] as $s ({}; reduce ($s | to_entries[]) as $e (.;
        if $e.key == "status" then .status = ([.status // 0, $e.value] | max)
        elif ($e.value | type) == "number" then .[$e.key] = ((.[$e.key] // 0) + $e.value)
        elif ($e.value | type) == "object" then .[$e.key] = addobj(.[$e.key] // {}; $e.value)
        elif has($e.key) then . else .[$e.key] = $e.value end))
    | .tasks = $n'
# The run's files are written from the tasks' of the same names (SC2094).
for s in fetch clean check; do
	# shellcheck disable=SC2046
	jq -s "$sum" $(tasks_of "$s.stats.json") >"$s.stats.json.tmp"
	# shellcheck disable=SC2046,SC2094
	jq -s '{step: .[0].step, status: (map(.status) | max), attempts: (map(.attempts) | add),
	    seconds: (map(.seconds) | max), tasks: length}' $(tasks_of "$s.status.json") >"$s.status.json"
	# shellcheck disable=SC2046,SC2094
	cat $(tasks_of "$s.rejects.ndjson") >"$s.rejects.ndjson"
	# shellcheck disable=SC2046,SC2094
	cat $(tasks_of "$s.log") >"$s.log"
	grep -qx "$s" steps 2>/dev/null || echo "$s" >>steps
done
# A file split here first: what the split rejected is fetch's, and fetch
# read what the split read.
if [ -s split.stats.json ]; then
	jq --slurpfile sp split.stats.json '
	    .in = $sp[0].in | .rejected += $sp[0].rejected |
	    .reasons = (reduce ($sp[0].reasons // {} | to_entries[]) as $e (.reasons // {};
	        .[$e.key] = (.[$e.key] // 0) + $e.value))' fetch.stats.json.tmp >fetch.stats.json.tmp2
	mv fetch.stats.json.tmp2 fetch.stats.json.tmp
	cat split.rejects.ndjson >>fetch.rejects.ndjson
fi
for s in fetch clean check; do
	mv "$s.stats.json.tmp" "$s.stats.json"
done
# shellcheck disable=SC2046
cat $(tasks_of check.ndjson) >check.ndjson.tmp
mv check.ndjson.tmp check.ndjson

# listings.mk from here, its fetch, clean and check taken as done (-o).
status=0
cluster_make -o "$RUN/check.ndjson" "$RUN/gate.json" || status=$?
if [ "$status" -eq 0 ]; then
	if jq -e .publish gate.json >/dev/null; then
		cluster_make --locked -o "$RUN/gate.json" publish || status=$?
	else
		echo "pipeline: nothing to publish: the input holds no record" >&2
	fi
fi
if [ "$status" -eq 0 ]; then
	touch published
	cluster_make -o "$RUN/published" "$RUN/summary.json" || status=$?
fi
# On a failure the step that failed wrote summary.json and sent the alert;
# the lock itself is no step (lock.sh: 75 when another run held the store
# past STORE_WAIT), so its failure gets its alert here.
if [ "$status" -ne 0 ] && ! jq -e '.alert' summary.json >/dev/null 2>&1; then
	echo "merge: the publication ended with status $status before any step failed (lock.sh: 75 when another run held $STORE/_publish.lock past STORE_WAIT=$STORE_WAIT s); nothing was published" >merge.why
	cluster_fail merge "$status" merge.why || :
fi
cluster_summary "$(cat slurm/jobs.json 2>/dev/null || echo '{}')"
[ "$status" -eq 0 ] || { cluster_verdict; exit $?; }
cluster_make -o "$RUN/published" run
