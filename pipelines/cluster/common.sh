# common.sh - sourced by slurm.sh, ssh.sh and the scripts their jobs run:
# the run's variables as listings.mk resolves them, the run folder, its
# params.json, the chunks, and the per-task part of summary.json.
#
# A distributed run lives where the one-machine run would,
# $RUNS/DAY/RUN_ID/, and holds the same records (params.json, fetch,
# clean and check stats, rejects and logs summed over the tasks, gate,
# store, use cases, summary.json), plus:
#   cluster.env     the resolved variables, for every job of the run
#   chunks.list     one line per task: the input it reads
#   chunks/         the pieces of a single input file split in CHUNKS
#   tasks/T/        task T's own records (fetch, clean, check, its kept
#                   offers check.ndjson, task.json, summary.json), moved
#                   there whole by the attempt that succeeded
#   tasks/T.try-K/  an attempt that failed, kept for its logs
# shellcheck shell=sh

# The toolkit's root, from this file's place (set by the caller: the
# script that sources this file knows where it is).
: "${ETL:?ETL must name the root of the toolkit}"
case ":$PATH:" in
*":$ETL/bin:"*) ;;
*) PATH="$ETL/bin:$PATH" ;;
esac
export PATH

cluster_die() {
	st=$1
	shift
	echo "$CLUSTER_NAME: $*" >&2
	exit "$st"
}

# Quotes a value for the shell: 'it'\''s'.
cluster_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# The variables a distributed run shares with listings.mk, resolved by
# make itself (pipelines/cluster/vars.mk).
CLUSTER_MKVARS="ETL ENV INPUT STORE RUNS DAY ETL_RUN_ID RUN NOTIFY SOURCE USE_CASES \
MAX_REJECT_RATIO MIN_KEPT_RATIO ALLOW_EMPTY STORE_WAIT RETRIES RETRY_DELAY RULES SCHEMA \
DASHBOARD DB DB_READER"

# cluster_init [VAR=VALUE ...]: the arguments are listings.mk's variables
# and the caller's own (CHUNKS, HOSTS, ...); all are exported, then make
# resolves the run as listings.mk would.
cluster_init() {
	for a in "$@"; do
		case $a in
		-h | --help) cluster_usage 0 ;;
		[A-Za-z_]*=*)
			case ${a%%=*} in
			*[!A-Za-z0-9_]*) cluster_usage 64 ;;
			esac
			export "${a?}"
			;;
		*) cluster_usage 64 ;;
		esac
	done
	vars=$(make -s --no-print-directory -f "$ETL/pipelines/listings.mk" \
	    -f "$ETL/pipelines/cluster/vars.mk" "$@" cluster-vars) ||
	    cluster_die 64 "the run's variables do not resolve (see make's message above)"
	eval "$vars"
	# shellcheck disable=SC2086,SC2163
	export $CLUSTER_MKVARS
	CHUNKS=${CHUNKS:-1}
	case $CHUNKS in
	'' | *[!0-9]* | 0) cluster_die 64 "CHUNKS=$CHUNKS: not a number of chunks" ;;
	esac
	export CHUNKS
}

# listings.mk with this run's variables, so that its rules (params, the
# gates, the publication, the summary) run as in a one-machine run; with
# --locked first, under the store's publication lock (pipelines/lock.sh).
cluster_make() {
	locked=
	if [ "${1:-}" = --locked ]; then
		locked=1
		shift
	fi
	set -- -s --no-print-directory -f "$ETL/pipelines/listings.mk" \
	    ENV="$ENV" INPUT="$INPUT" STORE="$STORE" RUNS="$RUNS" DATE="$DAY" \
	    ETL_RUN_ID="$ETL_RUN_ID" NOTIFY="$NOTIFY" SOURCE="$SOURCE" \
	    USE_CASES="$USE_CASES" MAX_REJECT_RATIO="$MAX_REJECT_RATIO" \
	    MIN_KEPT_RATIO="$MIN_KEPT_RATIO" ALLOW_EMPTY="$ALLOW_EMPTY" \
	    STORE_WAIT="$STORE_WAIT" RETRIES="$RETRIES" RETRY_DELAY="$RETRY_DELAY" \
	    RULES="$RULES" SCHEMA="$SCHEMA" DASHBOARD="$DASHBOARD" DB="$DB" \
	    DB_READER="$DB_READER" "$@"
	if [ -n "$locked" ]; then
		"$ETL/pipelines/lock.sh" "$STORE/_publish.lock" "$STORE_WAIT" make "$@"
	else
		make "$@"
	fi
}

# Loads a run's cluster.env (in a job, on any host of the shared file system).
cluster_load() {
	[ -s "$1/cluster.env" ] || cluster_die 66 "$1/cluster.env: no such run"
	# shellcheck disable=SC1091
	. "$1/cluster.env"
}

# The files of one INPUT word, one a line, in the order etl-fetch reads
# them: a directory recursively, its entries in byte order, skipping names
# that start with . or _; a glob's matches in byte order; anything else
# (a missing file, a URL) as it is, for the task's etl-fetch to report.
cluster_walk() {
	find -L "$1" -mindepth 1 -maxdepth 1 ! -name '.*' ! -name '_*' -print |
	    LC_ALL=C sort | while IFS= read -r e; do
		if [ -d "$e" ]; then
			cluster_walk "$e"
		elif [ -f "$e" ]; then
			printf '%s\n' "$e"
		fi
	done
}
cluster_expand() {
	if [ -d "$1" ]; then
		cluster_walk "$1"
	elif [ -e "$1" ]; then
		printf '%s\n' "$1"
	else
		case $1 in
		*[*?[]*)
			m=
			for f in $1; do
				[ -e "$f" ] || continue
				m=1
				if [ -d "$f" ]; then cluster_walk "$f"; else printf '%s\n' "$f"; fi
			done
			[ -n "$m" ] || printf '%s\n' "$1"
			;;
		*) printf '%s\n' "$1" ;;
		esac
	fi
}

# cluster_prepare ENGINE: the run folder, params.json (listings.mk's own
# rule), the chunks and cluster.env.  The input is files of a lake day
# (one task a file) or one file, split in CHUNKS pieces when CHUNKS > 1:
# etl-fetch reads it once here (the step "split", whose rejects count as
# fetch's) and each piece is NDJSON, which the task's etl-fetch passes on
# byte for byte.
cluster_prepare() {
	engine=$1
	cluster_make "$RUN/params.json" || exit $?
	mkdir -p "$RUN/tasks" "$RUN/conf"
	if ! cp "$RULES" "$RUN/conf/rules.json" || ! cp "$SCHEMA" "$RUN/conf/schema.json"; then
		cluster_die 66 "cannot copy $RULES and $SCHEMA into $RUN/conf"
	fi
	(
		set -f
		for w in $INPUT; do
			set +f
			LC_ALL=C cluster_expand "$w"
		done
	) >"$RUN/inputs.list"
	n=$(wc -l <"$RUN/inputs.list" | tr -d ' ')
	if [ "$n" -eq 1 ] && [ "$CHUNKS" -gt 1 ]; then
		mkdir -p "$RUN/chunks"
		"$ETL/pipelines/step.sh" split -o "$RUN/split.ndjson" -- \
		    etl-fetch --stats "$RUN/split.stats.json" "$(cat "$RUN/inputs.list")" || exit $?
		split -n "l/$CHUNKS" -d -a 4 --additional-suffix=.ndjson \
		    "$RUN/split.ndjson" "$RUN/chunks/" || cluster_die 73 "cannot split $RUN/split.ndjson"
		rm -f "$RUN/split.ndjson"
		LC_ALL=C ls "$RUN"/chunks/*.ndjson >"$RUN/chunks.list"
	elif [ "$n" -eq 0 ]; then
		# Directories with no file: one task reads them, as etl-fetch would.
		printf '%s\n' "$INPUT" >"$RUN/chunks.list"
	else
		cp "$RUN/inputs.list" "$RUN/chunks.list"
	fi
	TASKS=$(wc -l <"$RUN/chunks.list" | tr -d ' ')
	ENGINE=$engine
	{
		for v in $CLUSTER_MKVARS CHUNKS TASKS ENGINE; do
			eval "val=\$$v"
			# shellcheck disable=SC2154
			printf '%s=%s\n' "$v" "$(cluster_quote "$val")"
		done
		echo "export $CLUSTER_MKVARS CHUNKS TASKS ENGINE"
	} >"$RUN/cluster.env"
	export TASKS ENGINE
}

# "1 task", "4 tasks".
cluster_tasks() {
	if [ "$TASKS" -eq 1 ]; then echo "1 task"; else echo "$TASKS tasks"; fi
}

# The directory of task T's last attempt: tasks/T when one succeeded,
# else its latest tasks/T.try-K, else nothing.
cluster_task_dir() {
	if [ -d "$RUN/tasks/$1" ]; then
		echo "$RUN/tasks/$1"
	else
		# shellcheck disable=SC2012
		k=$(cd "$RUN/tasks" && ls -d "$1".try-* 2>/dev/null | sort -t- -k2n | tail -1)
		[ -z "$k" ] || echo "$RUN/tasks/$k"
	fi
}

# Adds to summary.json what each task did (its host, attempts, status,
# and its steps' in, out, rejected), and ANDs the tasks' own in = out +
# rejected into the run's "conserved".  Extra fields for "cluster" come as
# a JSON object in $1.
cluster_summary() {
	extra=${1:-"{}"}
	s="$RUN/summary.json"
	[ -s "$s" ] || return 0
	t=0
	while [ "$t" -lt "$TASKS" ]; do
		d=$(cluster_task_dir "$t")
		tj=/dev/null
		ts=/dev/null
		[ -z "$d" ] || [ ! -s "$d/task.json" ] || tj="$d/task.json"
		[ -z "$d" ] || [ ! -s "$d/summary.json" ] || ts="$d/summary.json"
		tries=0
		for k in "$RUN/tasks/$t".try-*; do
			[ ! -d "$k" ] || tries=$((tries + 1))
		done
		jq -n --argjson t "$t" --arg input "$(sed -n "$((t + 1))p" "$RUN/chunks.list")" \
		    --argjson tries "$tries" --argjson ok "$([ -d "$RUN/tasks/$t" ] && echo true || echo false)" \
		    --slurpfile task "$tj" --slurpfile sum "$ts" '
		    ($task[0] // {}) as $k | ($sum[0] // {}) as $s |
		    {task: $t, input: $input, ok: $ok, host: $k.host}
		    + (if $k.node then {node: $k.node} else {} end)
		    + (if $k.sshlogin then {sshlogin: $k.sshlogin} else {} end) + {
		     attempts: ($k.attempts // $k.attempt // (if $ok then 1 + $tries else $tries end)),
		     status: $k.status, failed_step: $k.step, seconds: $k.seconds,
		     steps: ([$s.steps[]? | select(.step != "params") |
		              {key: .step, value: {in, out, rejected, status}}] | from_entries),
		     conserved: $s.conserved}'
		t=$((t + 1))
	done | jq -s --argjson extra "$extra" --slurpfile sum "$s" --arg engine "$ENGINE" '
	    . as $tasks | $sum[0] |
	    .cluster = ({engine: $engine, tasks_total: ($tasks | length),
	                 tasks_ok: ([$tasks[] | select(.ok)] | length)} + $extra + {tasks: $tasks}) |
	    .conserved = (.conserved and all($tasks[]; .conserved != false))' >"$s.$$.tmp" &&
	    mv "$s.$$.tmp" "$s"
}

# The verdict line of a run, as listings.mk's "run" target prints it, and
# a status: 0 when the run is ok, else the status of its failed step.
cluster_verdict() {
	s="$RUN/summary.json"
	if ! [ -s "$s" ]; then
		echo "$CLUSTER_NAME: run $ETL_RUN_ID: no summary in $RUN" >&2
		return 70
	fi
	jq -r '"run \(.run_id): \(.status), \(.offers.kept // 0) of \(.offers.in // 0) offers kept, in = out + rejected: \(.conserved)" +
	    (if .cluster then " (\(.cluster.tasks_ok) of \(.cluster.tasks_total) tasks)" else "" end)' "$s"
	if jq -e '.status == "ok" and .conserved' "$s" >/dev/null; then
		return 0
	fi
	jq -r '"\(.steps | map(select(.status != 0)) | last | "step \(.step) failed with status \(.status)"); alert: \(.alert.file // "none")"' "$s" |
	    sed "s/^/$CLUSTER_NAME: /" >&2
	st=$(jq '[.steps[] | select(.status != 0) | .status] | last // 1' "$s")
	[ "$st" -gt 0 ] && [ "$st" -lt 256 ] || st=1
	return "$st"
}

# cluster_fail STEP STATUS FILE: the failure handler for what failed
# outside a step of listings.mk (a task, a job that was killed): FILE (a
# description and log tails) becomes the log of the step STEP of the run,
# and pipelines/step.sh does the rest exactly as for a step that failed:
# summary.json, $RUN/alert.json, etl-notify $NOTIFY.
cluster_fail() {
	# shellcheck disable=SC2016
	RUN=$RUN RETRIES=0 RETRY_DELAY=0 NOTIFY=$NOTIFY "$ETL/pipelines/step.sh" "$1" -- \
	    sh -c 'cat "$1" >&2; exit "$2"' sh "$3" "$2"
}
