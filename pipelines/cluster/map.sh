#!/bin/sh
# map.sh - one task of a distributed run: fetch, clean, check of one
# chunk, each step through pipelines/step.sh as in listings.mk, with the
# same rules and schema, into the folder DIR.
#
#   map.sh -o DIR -p PARAMS -r RULES -s SCHEMA [-t TASK] [-a ATTEMPT] SOURCE ...
#
# DIR receives what a one-machine run's folder holds for these steps
# (STEP.log, STEP.rejects.ndjson, STEP.stats.json, STEP.status.json),
# the kept offers check.ndjson, the task's summary.json (pipelines/
# summary.sh: in = out + rejected per step and along the steps) and
# task.json (task, host, attempt, status, the step that failed, seconds).
# etl-check runs without --max-reject-ratio: the gates apply to the whole
# run (pipelines/gate.sh in the merge), not to one chunk.  Nothing is
# retried here, the engine retries the task: the status is 0, 75 when the
# task is worth another attempt (a step exited 75, or was killed by a
# signal: an engine stopping it, a machine running out of memory), else
# the failed step's status.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ETL=$(cd "$here/../.." && pwd)
case ":$PATH:" in
*":$ETL/bin:"*) ;;
*) PATH="$ETL/bin:$PATH" ;;
esac
export PATH

usage() {
	echo "usage: map.sh -o DIR -p PARAMS -r RULES -s SCHEMA [-t TASK] [-a ATTEMPT] SOURCE ..." >&2
	exit 64
}
out='' params='' rules='' schema='' task='' attempt=''
while getopts a:o:p:r:s:t: opt; do
	case $opt in
	a) attempt=$OPTARG ;;
	o) out=$OPTARG ;;
	p) params=$OPTARG ;;
	r) rules=$OPTARG ;;
	s) schema=$OPTARG ;;
	t) task=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$out" ] || [ -z "$params" ] || [ -z "$rules" ] || [ -z "$schema" ] || [ $# -eq 0 ]; then
	usage
fi
case $out in /*) ;; *) out=$PWD/$out ;; esac

mkdir -p "$out"
cp "$params" "$out/params.json"
ETL_TASK=$task
export ETL_TASK
start=$(date +%s)
host=$(uname -n)

# task.json: "status" null while the task runs (a task killed outright
# keeps it so), then its status.
task_json() {
	st=$1
	fs=$2
	shift 2
	jq -n --arg task "$task" --arg attempt "$attempt" --arg host "$host" \
	    --arg node "${SLURMD_NODENAME:-}" --arg job "${SLURM_JOB_ID:-}" \
	    --argjson pid $$ --argjson status "$st" --arg step "$fs" \
	    --argjson start "$start" --argjson now "$(date +%s)" '
	    {task: ($task | tonumber? // $task), attempt: ($attempt | tonumber? // null),
	     host: $host}
	    + (if $node == "" then {} else {node: $node, job: $job} end)
	    + {pid: $pid, status: $status,
	     step: (if $step == "" then null else $step end),
	     seconds: ($now - $start), sources: $ARGS.positional}' \
	    --args "$@" >"$out/task.json.tmp" && mv "$out/task.json.tmp" "$out/task.json"
}
task_json null "" "$@"

# A failed step's record stays in the task's folder: no alert sent (the
# run sends one if the task fails for good), no dashboard.
RUN=$out
RETRIES=0
NOTIFY=
DASHBOARD=
export RUN RETRIES NOTIFY DASHBOARD
STEP="$ETL/pipelines/step.sh"
status=0
failed=
"$STEP" fetch -o "$out/fetch.ndjson" -- etl-fetch --stats "$out/fetch.stats.json" "$@" ||
    { status=$?; failed=fetch; }
[ "$status" -ne 0 ] ||
    "$STEP" clean -i "$out/fetch.ndjson" -o "$out/clean.ndjson" -- \
    etl-clean --rules "$rules" --stats "$out/clean.stats.json" ||
    { status=$?; failed=clean; }
[ "$status" -ne 0 ] ||
    "$STEP" check -i "$out/clean.ndjson" -o "$out/check.ndjson" -- \
    etl-check -s "$schema" --stats "$out/check.stats.json" ||
    { status=$?; failed=check; }

if [ "$status" -eq 0 ]; then
	"$ETL/pipelines/summary.sh" "$out" >"$out/summary.json.tmp" &&
	    mv "$out/summary.json.tmp" "$out/summary.json" || status=70
	# The kept offers travel on; the steps between them and the input do not.
	rm -f "$out/fetch.ndjson" "$out/clean.ndjson"
fi
task_json "$status" "$failed" "$@"
case $status in
0) exit 0 ;;
75) exit 75 ;;
*) [ "$status" -gt 128 ] && exit 75 || exit "$status" ;;
esac
