#!/bin/sh
# slurm.sh - the daily run of pipelines/listings.mk as a Slurm job: one
# array task per chunk of the input (fetch, clean, check), a merge job
# after them (the gates, the publication, the use cases, summary.json), and
# a finish job after the merge that sends the alert when a task or the
# merge failed without one.
#
#   pipelines/cluster/slurm.sh [VAR=VALUE ...]
#
# VAR=VALUE: listings.mk's variables (INPUT, STORE, RUNS, ENV, DATE,
# NOTIFY, RETRIES, MAX_REJECT_RATIO, ...), resolved by make as it would,
# and CHUNKS (pieces of a single input file; several files are a task
# each), WAIT (1: poll until the run ends, print its verdict and exit with
# its status; 0: exit once submitted), WAIT_TIMEOUT (seconds, 0 for none;
# past it, exit 75 and leave the run to go on), POLL (seconds between
# polls, default 2) and SBATCH_OPTS (more sbatch options for every job,
# such as --partition=NAME; split on spaces).
#
# The run folder ($RUNS/DAY/RUN_ID) must be on a file system every node
# shares, and the toolkit at the same path on every node.  A task that
# exits 75 is requeued by Slurm (the cluster's slurm.conf must have
# RequeueExit=75), RETRIES times at most; a task killed by a signal exits
# 75 too.  The merge depends on each task (afterok:A_0:A_1:...), since
# afterok on the whole array never holds once any attempt of a task has
# failed, and --kill-on-invalid-dep=yes cancels it when a task fails for
# good.  Slurm's own jobs are sbatch --wrap lines that exec the scripts at
# their place, not copies in Slurm's spool.
#
# Internal: slurm.sh --map RUN (an array task), --finish RUN (the finish job).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ETL=$(cd "$here/../.." && pwd)
CLUSTER_NAME=slurm
# shellcheck source=pipelines/cluster/common.sh
. "$here/common.sh"

cluster_usage() {
	echo "usage: pipelines/cluster/slurm.sh [VAR=VALUE ...]   (INPUT STORE RUNS ENV DATE NOTIFY CHUNKS RETRIES WAIT SBATCH_OPTS ...)" >&2
	exit "$1"
}

# An array task: task SLURM_ARRAY_TASK_ID, attempt SLURM_RESTART_COUNT + 1.
# Past RETRIES requeues a 75 becomes 1, or Slurm would requeue it again.
map() {
	RUN=$1
	cluster_load "$RUN"
	attempt=$((${SLURM_RESTART_COUNT:-0} + 1))
	status=0
	"$here/task.sh" "$RUN" "$SLURM_ARRAY_TASK_ID" "$attempt" || status=$?
	if [ "$status" -eq 75 ]; then
		if [ "$attempt" -le "$RETRIES" ]; then
			echo "slurm: task $SLURM_ARRAY_TASK_ID, attempt $attempt: status 75, requeued" >&2
		else
			echo "slurm: task $SLURM_ARRAY_TASK_ID, attempt $attempt: status 75, no retry left (RETRIES=$RETRIES)" >&2
			status=1
		fi
	fi
	exit "$status"
}

# The state and exit code of each array task, as lines "T STATE CODE".
task_states() {
	scontrol -o show job "$1" 2>/dev/null | sed -n \
	    's/.*ArrayTaskId=\([0-9][0-9]*\) .*JobState=\([A-Z_]*\) .*ExitCode=\([0-9:]*\).*/\1 \2 \3/p'
}

# The finish job, after the merge job ended in any state: when the run
# has neither succeeded nor sent an alert (a task failed for good and the
# merge was cancelled, or the merge job itself was killed), it stops what
# is left of the array and sends the alert with the failed task's log tail.
finish() {
	RUN=$1
	cluster_load "$RUN"
	cd "$RUN"
	if jq -e '.status == "ok" or .alert != null' summary.json >/dev/null 2>&1; then
		exit 0
	fi
	array=$(jq -r .array slurm/jobs.json)
	merge=$(jq -r .merge slurm/jobs.json)
	task_states "$array" | sort -n >slurm/map.states
	scancel "$array" 2>/dev/null || :
	why=slurm/failure.txt
	failed=
	while read -r t state code; do
		[ ! -d "tasks/$t" ] || continue
		case $state in
		PENDING | RUNNING | REQUEUED | COMPLETING | CONFIGURING | SUSPENDED | COMPLETED) ;;
		*) failed=$t; break ;;
		esac
	done <slurm/map.states
	if [ -n "$failed" ]; then
		line=$(grep "^$failed " slurm/map.states)
		state=$(echo "$line" | cut -d' ' -f2)
		code=$(echo "$line" | cut -d' ' -f3)
		d=$(cluster_task_dir "$failed")
		status=
		[ -z "$d" ] || status=$(jq -r '.status // empty' "$d/task.json" 2>/dev/null || :)
		# The status map.sh gave, else Slurm's: a signal is 128 + its number.
		if [ -z "$status" ]; then
			if [ "${code%%:*}" -ne 0 ]; then status=${code%%:*}; else status=$((128 + ${code#*:})); fi
		fi
		step=$(jq -r '.step // "map"' "$d/task.json" 2>/dev/null || echo map)
		{
			echo "task $failed of $TASKS ($(sed -n "$((failed + 1))p" chunks.list)) failed for good: Slurm job ${array}_$failed $state, exit code $code, on $(jq -r '.node // .host // "?"' "$d/task.json" 2>/dev/null || echo ?), attempt ${d##*try-}, step $step"
			echo "the merge job $merge was cancelled; nothing was published"
			if [ -n "$d" ] && [ -s "$d/$step.log" ]; then
				echo "--- $d/$step.log"
				tail -n 8 "$d/$step.log"
			fi
			echo "--- slurm/map-$failed.out"
			tail -n 6 "slurm/map-$failed.out" 2>/dev/null || :
		} >"$why"
		cluster_fail "map.$failed" "$status" "$why" || :
	else
		mstate=$(scontrol -o show job "$merge" 2>/dev/null |
		    sed -n 's/.*JobState=\([A-Z_]*\) .*ExitCode=\([0-9:]*\).*/\1 \2/p')
		{
			echo "the merge job $merge ended ${mstate:-in an unknown state} without a verdict; nothing was published"
			echo "--- slurm/merge.out"
			tail -n 12 slurm/merge.out 2>/dev/null || :
		} >"$why"
		cluster_fail merge 70 "$why" || :
	fi
	cluster_summary "$(cat slurm/jobs.json)"
}

case ${1:-} in
--map) [ $# -eq 2 ] || cluster_usage 64; map "$2" ;;
--finish) [ $# -eq 2 ] || cluster_usage 64; finish "$2"; exit 0 ;;
esac

cluster_init "$@"
WAIT=${WAIT:-1}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-0}
POLL=${POLL:-2}
command -v sbatch >/dev/null || cluster_die 69 "sbatch: not found (Debian: slurm-client)"
scontrol show config 2>/dev/null | sed -n 's/^RequeueExit *= *//p' | tr ',' '\n' | grep -qx 75 ||
    echo "slurm: warning: the cluster's RequeueExit does not name 75: a task that exits 75 fails the run" >&2
cluster_prepare slurm
mkdir -p "$RUN/slurm"
cd "$RUN"
echo "slurm: run $ETL_RUN_ID ($ENV, $DAY): $(cluster_tasks); folder $RUN"

# sbatch prints "JOBID" or "JOBID;CLUSTER".
submit() {
	# SBATCH_OPTS holds sbatch options, split on purpose.
	# shellcheck disable=SC2086
	sbatch --parsable --chdir="$RUN" ${SBATCH_OPTS:-} "$@" | cut -d';' -f1
}
submitted=
fail_submit() {
	# shellcheck disable=SC2086
	[ -z "$submitted" ] || scancel $submitted 2>/dev/null || :
	echo "sbatch refused the job: $1" >slurm/failure.txt
	cluster_fail submit 69 slurm/failure.txt || :
	cluster_verdict || exit $?
}
wrap() { printf 'exec %s' "$(cluster_quote "$1")"; shift; for a in "$@"; do printf ' %s' "$(cluster_quote "$a")"; done; }

array=$(submit --job-name="etl-map-$ETL_RUN_ID" --array="0-$((TASKS - 1))" --requeue \
    --open-mode=append --output="$RUN/slurm/map-%a.out" \
    --wrap="$(wrap "$here/slurm.sh" --map "$RUN")" 2>slurm/submit.err) || array=
[ -n "$array" ] || fail_submit "the map array: $(cat slurm/submit.err)"
submitted=$array
deps=afterok
t=0
while [ "$t" -lt "$TASKS" ]; do
	deps="$deps:${array}_$t"
	t=$((t + 1))
done
# The merge and the finish are never requeued (RequeueExit=75 is the whole
# cluster's): a merge that fails has sent its alert.
merge=$(submit --job-name="etl-merge-$ETL_RUN_ID" --dependency="$deps" --kill-on-invalid-dep=yes --no-requeue \
    --output="$RUN/slurm/merge.out" --wrap="$(wrap "$here/merge.sh" "$RUN")" 2>slurm/submit.err) || merge=
[ -n "$merge" ] || fail_submit "the merge job: $(cat slurm/submit.err)"
submitted="$submitted $merge"
finish=$(submit --job-name="etl-finish-$ETL_RUN_ID" --dependency="afterany:$merge" --no-requeue \
    --output="$RUN/slurm/finish.out" --wrap="$(wrap "$here/slurm.sh" --finish "$RUN")" 2>slurm/submit.err) || finish=
[ -n "$finish" ] || fail_submit "the finish job: $(cat slurm/submit.err)"
jq -n --arg a "$array" --arg m "$merge" --arg f "$finish" \
    '{array: $a, merge: $m, finish: $f}' >slurm/jobs.json
echo "slurm: map array $array (tasks 0-$((TASKS - 1))), merge $merge after each task, finish $finish after the merge"
[ "$WAIT" = 1 ] || exit 0

# sbatch --wait notices the end late: poll the finish job instead.
start=$(date +%s)
while :; do
	state=$(scontrol -o show job "$finish" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
	case $state in
	COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) break ;;
	'') squeue -h -j "$finish" 2>/dev/null | grep -q . || break ;;
	esac
	if [ "$WAIT_TIMEOUT" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$WAIT_TIMEOUT" ]; then
		echo "slurm: still running after $WAIT_TIMEOUT s; the run goes on: squeue -j $array,$merge,$finish" >&2
		exit 75
	fi
	sleep "$POLL"
done
cluster_verdict
