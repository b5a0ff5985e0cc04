#!/bin/sh
# ssh.sh - the daily run of pipelines/listings.mk over ssh hosts with GNU
# parallel, for those without a scheduler: one task per chunk of the input
# (fetch, clean, check) on the hosts, then the merge here (the gates, the
# publication, the use cases, summary.json), as pipelines/cluster/slurm.sh
# does under Slurm.
#
#   pipelines/cluster/ssh.sh HOSTS=w1,w2 [VAR=VALUE ...]
#
# VAR=VALUE: listings.mk's variables (INPUT, STORE, RUNS, ENV, DATE,
# NOTIFY, RETRIES, MAX_REJECT_RATIO, ...), resolved by make as it would,
# and HOSTS (parallel's --sshlogin list: w1,w2 or 2/w1,4/w2; ':' is this
# machine), SHIP (rsync or shared, below), CHUNKS (pieces of a single
# input file; several files are a task each), TASK_TIMEOUT (seconds a
# task may take, 0 for no limit; parallel --timeout), SSH_ENV (names of
# variables to copy to the workers, parallel --env, such as PATH).  ssh
# itself is PARALLEL_SSH's, as for parallel.
#
# SHIP says how a task's data travels.  rsync (the default; no shared
# file system needed): each task ships as one file, T.tar (its input
# files, the rules, the schema, params.json), with --transferfile; its
# folder comes back as T.out.tar with --return, and --cleanup leaves
# nothing on the worker.  shared: the run folder is on a file system the
# workers share, at the same path; a task reads its chunk and commits its
# folder there (pipelines/cluster/task.sh): one ssh session per task, no
# copy.  Either way the workers need the toolkit at the same path as here.
#
# A task that fails (a step's status, or ssh's 255 when its host is gone)
# is tried again on another host, RETRIES times (--retries); a task that
# fails for good stops the others (--halt now,fail=1), and the run fails
# with its alert, publishing nothing.  The joblog is RUN/joblog.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ETL=$(cd "$here/../.." && pwd)
CLUSTER_NAME=ssh
# shellcheck source=pipelines/cluster/common.sh
. "$here/common.sh"

cluster_usage() {
	echo "usage: pipelines/cluster/ssh.sh HOSTS=w1,w2 [VAR=VALUE ...]   (INPUT STORE RUNS ENV DATE NOTIFY SHIP CHUNKS RETRIES TASK_TIMEOUT SSH_ENV ...)" >&2
	exit "$1"
}

cluster_init "$@"
[ -n "${HOSTS:-}" ] || cluster_usage 64
command -v parallel >/dev/null || cluster_die 69 "parallel: not found (Debian: parallel)"
command -v rsync >/dev/null || cluster_die 69 "rsync: not found (Debian: rsync)"
TASK_TIMEOUT=${TASK_TIMEOUT:-0}
SHIP=${SHIP:-rsync}
case $SHIP in
rsync | shared) ;;
*) cluster_die 64 "SHIP=$SHIP: rsync or shared" ;;
esac
cluster_prepare ssh
cd "$RUN"

# rsync: one bundle per task, its input files under in/ (their absolute
# path), the configuration under conf/.
if [ "$SHIP" = rsync ]; then
	mkdir -p ship
	t=0
	while IFS= read -r line; do
		rm -rf "ship/$t.d"
		mkdir -p "ship/$t.d/conf"
		cp params.json conf/rules.json conf/schema.json "ship/$t.d/conf/"
		: >"ship/$t.d/conf/sources"
		set -f
		for w in $line; do
			if [ -f "$w" ]; then
				mkdir -p "ship/$t.d/in$(dirname "$w")"
				ln "$w" "ship/$t.d/in$w" 2>/dev/null || cp "$w" "ship/$t.d/in$w"
				printf '%s\n' "in$w" >>"ship/$t.d/conf/sources"
			else
				printf '%s\n' "$w" >>"ship/$t.d/conf/sources"
			fi
		done
		set +f
		tar -cf "ship/$t.tar" -C "ship/$t.d" . && rm -rf "ship/$t.d"
		t=$((t + 1))
	done <chunks.list
fi
echo "ssh: run $ETL_RUN_ID ($ENV, $DAY): $(cluster_tasks) on $HOSTS ($SHIP); folder $RUN"

set --
for v in ${SSH_ENV:-}; do set -- "$@" --env "$v"; done
[ "$TASK_TIMEOUT" -eq 0 ] || set -- "$@" --timeout "$TASK_TIMEOUT"
# The attempt, counted here: parallel evaluates {= =} again for each try,
# and the joblog keeps each task's last try only, its command with it.
# shellcheck disable=SC2016
try='{= $_ = ++$Global::etl_try{$job->seq()} =}'
status=0
if [ "$SHIP" = rsync ]; then
	(cd ship && seq 0 $((TASKS - 1)) | parallel -S "$HOSTS" --retries $((RETRIES + 1)) \
	    --halt now,fail=1 --joblog ../joblog --wd ... --transferfile '{}.tar' \
	    --return '{}.out.tar' --cleanup "$@" \
	    "$(cluster_quote "$here/ssh-task.sh")" '{}' "$try" >../parallel.out 2>../parallel.err) ||
	    status=$?
else
	seq 0 $((TASKS - 1)) | parallel -S "$HOSTS" --retries $((RETRIES + 1)) \
	    --halt now,fail=1 --joblog joblog "$@" \
	    "$(cluster_quote "$here/task.sh")" "$(cluster_quote "$RUN")" '{}' "$try" \
	    >parallel.out 2>parallel.err || status=$?
fi

# What came back: each task's last attempt, committed when it succeeded.
t=0
while [ "$t" -lt "$TASKS" ]; do
	seq=$((t + 1))
	# The last try: host, exit, signal, attempt.
	last=$(awk -F'\t' -v s="$seq" 'NR > 1 && $1 == s { n = split($9, w, " "); print $2, $7, $8, w[n] }' joblog)
	tries=$(echo "$last" | cut -d' ' -f4)
	tries=${tries:-0}
	if [ -s "ship/$t.out.tar" ]; then
		d="tasks/$t.try-$tries"
		rm -rf "$d"
		mkdir -p "$d"
		tar -xf "ship/$t.out.tar" -C "$d"
		rm -f "ship/$t.out.tar"
		if jq -e '.status == 0' "$d/task.json" >/dev/null 2>&1; then
			mv -T "$d" "tasks/$t"
		fi
	fi
	d=$(cluster_task_dir "$t")
	if [ -n "$last" ] && [ -n "$d" ] && [ -s "$d/task.json" ]; then
		jq --arg ssh "${last%% *}" --argjson n "$tries" '.sshlogin = $ssh | .attempts = $n' \
		    "$d/task.json" >"$d/task.json.tmp" && mv "$d/task.json.tmp" "$d/task.json"
	fi
	if [ -d "tasks/$t" ]; then
		echo "ssh: task $t: ok on ${last%% *}, attempt $tries of $((RETRIES + 1))"
	else
		echo "ssh: task $t: failed${last:+ on ${last%% *}, attempt $tries of $((RETRIES + 1))}"
	fi
	t=$((t + 1))
done
rm -rf ship

# A task that failed for good: the alert, with its log tail.  The one
# to name is a task that ran out of attempts with a status of its own (the
# others may have been stopped by --halt), else the first one missing.
failed=$(awk -F'\t' -v n="$TASKS" -v max=$((RETRIES + 1)) '
    NR > 1 { t = $1 - 1; k = split($9, w, " "); tries[t] = w[k]; e[t] = $7; g[t] = $8 }
    END {
	for (t = 0; t < n; t++) if (tries[t] == max && e[t] != 0 && g[t] == 0) { print t; exit }
	for (t = 0; t < n; t++) if (tries[t] > 0 && e[t] != 0 && g[t] == 0) { print t; exit }
    }' joblog)
if [ -z "$failed" ]; then
	t=0
	while [ "$t" -lt "$TASKS" ]; do
		[ -d "tasks/$t" ] || { failed=$t; break; }
		t=$((t + 1))
	done
fi
if [ -n "$failed" ] || [ "$status" -ne 0 ]; then
	if [ -n "$failed" ]; then
		seq=$((failed + 1))
		# shellcheck disable=SC2046
		set -- $(awk -F'\t' -v s="$seq" 'NR > 1 && $1 == s { n = split($9, w, " "); print $2, $7, $8, w[n] }' joblog)
		d=$(cluster_task_dir "$failed")
		st=${2:-75}
		[ "${3:-0}" -eq 0 ] || st=$((128 + $3))
		# ssh's 255: the host is gone, a temporary failure.
		[ "$st" -ne 255 ] || st=75
		step=$(jq -r '.step // "map"' "$d/task.json" 2>/dev/null || echo map)
		{
			echo "task $failed of $TASKS ($(sed -n "${seq}p" chunks.list)) failed for good: exit ${2:-?}, signal ${3:-?}, at attempt ${4:-0} of $((RETRIES + 1)) (the last on ${1:-no host}), step $step; nothing was published"
			if [ -n "$d" ] && [ -s "$d/$step.log" ]; then
				echo "--- $d/$step.log"
				tail -n 8 "$d/$step.log"
			fi
			echo "--- parallel"
			tail -n 6 parallel.err
		} >failure.txt
		step="map.$failed"
	else
		st=70
		{
			echo "parallel failed with status $status; nothing was published"
			tail -n 10 parallel.err
		} >failure.txt
		step=map
	fi
	cluster_fail "$step" "$st" failure.txt || :
	cluster_summary "$(jq -n --arg h "$HOSTS" '{hosts: $h}')"
	cluster_verdict
	exit $?
fi

status=0
"$here/merge.sh" "$RUN" >merge.out || status=$?
cluster_summary "$(jq -n --arg h "$HOSTS" '{hosts: $h}')"
cluster_verdict
