#!/usr/bin/env bash
# bench/cluster.sh - the daily run on one machine, then under Slurm and
# over ssh (rsync and shared) with 1 worker and with 2, on the same
# generated lake day, with the engines of tests/96-cluster.bats started
# here (tests/cluster.bash) and stopped at the end.  For each run it
# prints the wall seconds and their split: the map phase (from the first
# task's start to the last task's end), the merge (the serial part: the
# tasks' records summed, the gates, etl-store's commit, the use cases,
# summary.json) and what is around them (submission, scheduling, shipping,
# polling); then the merge's own split; and whether the run's offers table
# is the one-machine run's.  bench/README.md ("More than one machine")
# reads these figures.
#
# usage: bench/cluster.sh [-n offers] [-t tasks] [-w workers] [-f forms] [-r rounds] [-o file]
#   -n  offers in the lake day, copies of the sample's 100 with new ids
#       (default 100000)
#   -t  files in the lake day, one task each (default 8)
#   -w  worker counts, from 1 and 2 (default 1,2)
#   -f  forms, from slurm, ssh-rsync, ssh-shared (default all three)
#   -r  rounds: every run that many times, one round after the other,
#       and a table of the medians (default 1)
#   -o  also append each run's figures to this file, one JSON object a
#       line (to compare rounds)
#
# A worker is one core: a Slurm node takes one task at a time (every job
# asks for both CPUs the node declares, --cpus-per-task=2), 1 worker is
# node1 alone (--nodelist=node1), 2 are node1 and node2; an ssh worker
# runs one task at a time (HOSTS=1/w1 or 1/w1,1/w2).  The machine has two
# cores, so 2 workers is all it can run at once.
#
# Where the times come from, all from this machine's clock:
#   task        its own start and end: RUN/tasks/T/params.json (map.sh
#               copies it first) and summary.json (its last file but
#               task.json, which ssh.sh writes again after); over ssh
#               with rsync the folder comes back as a tar, made here with
#               TAR_OPTIONS=--format=posix (also on the workers, SSH_ENV)
#               so that it keeps the times to the nanosecond
#   map phase   the first task's start to the last one's end, as the
#               engine sees them: Slurm's task output file created
#               (slurm/map-T.out, its birth time) to the task's end;
#               parallel's joblog (start, runtime: the ssh session and the
#               shipping both ways included)
#   merge       its job's output created (slurm/merge.out, merge.out) to
#               summary.json; within it the steps' own records: a step
#               starts when step.sh empties STEP.rejects.ndjson, the use
#               cases end at RUN/published
#   one machine fetch's start to check's end is its "map", gate's start
#               to summary.json its "merge"
# The toolkit (bin/, pipelines/) is copied first and run from the copy,
# so that a rebuild in the tree during the bench changes nothing.
set -eu

usage() {
	echo "usage: bench/cluster.sh [-n offers] [-t tasks] [-w 1,2] [-f slurm,ssh-rsync,ssh-shared] [-r rounds] [-o file]" >&2
	exit 64
}
n=100000
tasks=8
workers=1,2
forms=slurm,ssh-rsync,ssh-shared
rounds=1
save=
while getopts n:t:w:f:r:o: opt; do
	case $opt in
	n) n=$OPTARG ;;
	t) tasks=$OPTARG ;;
	w) workers=$OPTARG ;;
	f) forms=$OPTARG ;;
	r) rounds=$OPTARG ;;
	o) save=$OPTARG ;;
	*) usage ;;
	esac
done
case $n$tasks$rounds in *[!0-9]*) usage ;; esac
if [ "$n" -lt 100 ] || [ "$tasks" -lt 1 ] || [ "$rounds" -lt 1 ]; then usage; fi
workers=${workers//,/ }
forms=${forms//,/ }
for w in $workers; do
	case $w in 1 | 2) ;; *) usage ;; esac
done
for f in $forms; do
	case $f in slurm | ssh-rsync | ssh-shared) ;; *) usage ;; esac
done
if [ -n "$save" ]; then
	case $save in /*) ;; *) save=$PWD/$save ;; esac
fi

ETL_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ETL_ROOT
unset ETL_RUN_ID
# shellcheck source=tests/cluster.bash
. "$ETL_ROOT/tests/cluster.bash"

work=$(mktemp -d /tmp/etl-bench-cluster.XXXXXX)
cluster_dir
trap 'cluster_stop; rm -rf "$work"' EXIT
etl=$work/etl
mkdir -p "$etl"
cp -a "$ETL_ROOT/bin" "$ETL_ROOT/pipelines" "$etl/"
PATH="$etl/bin:$PATH"
export PATH
slurm=
ssh=
case " $forms " in
*" slurm "*)
	if slurm_start; then slurm=1; else echo "bench/cluster.sh: no Slurm: $(cat "$CL/slurm.why")" >&2; fi
	;;
esac
case " $forms " in
*" ssh-"*)
	if sshd_start; then ssh=1; else echo "bench/cluster.sh: no ssh workers: $(cat "$CL/ssh.why")" >&2; fi
	;;
esac

# The lake day: the sample's offers again and again, each copy with new ids.
mkdir -p "$work/lake"
jq -r . "$ETL_ROOT/data/sample.json" | jq -c '.[]' >"$work/sample.ndjson"
jq -c --argjson k $((n / 100)) 'range($k) as $i | .id += "-\($i)"' "$work/sample.ndjson" >"$work/all.ndjson"
split -n "l/$tasks" -d -a 3 --additional-suffix=.ndjson "$work/all.ndjson" "$work/lake/part-"
rm "$work/all.ndjson"
n=$(cat "$work"/lake/*.ndjson | wc -l)
day=2026-11-24
common=("DATE=$day" NOTIFY= DB= DASHBOARD=)

offers() {
	etl-fetch -q "$1/offers" 3>&- | jq -cS . | sort | md5sum | cut -c1-32
}

# A file's modification time, and its birth time where the file system
# keeps one (else its modification time), in seconds with nanoseconds.
mtime() {
	stat -c %.9Y "$1" 2>/dev/null || echo null
}
born() {
	local b
	b=$(stat -c %.9W "$1" 2>/dev/null) || b=
	case $b in '' | - | 0 | 0.*) mtime "$1" ;; *) echo "$b" ;; esac
}

# figures NAME FORM WORKERS START END STATUS DIGEST LOAD: one JSON line.
figures() {
	local name=$1 form=$2 w=$3 start=$4 end=$5 st=$6 digest=$7 load=$8
	local run t nt tasks_json mstart os oe es ee steps s
	run=$(find "$work/$name.runs/$day" -mindepth 1 -maxdepth 1 -type d | head -1)
	tasks_json=$work/$name.tasks.ndjson
	: >"$tasks_json"
	if [ "$form" = one-machine ]; then
		mstart=$(mtime "$run/check.status.json")
		jq -nc --argjson s "$(mtime "$run/fetch.rejects.ndjson")" --argjson e "$mstart" \
		    '{own_start: $s, own_end: $e, start: $s, end: $e}' >>"$tasks_json"
	else
		nt=$(wc -l <"$run/chunks.list")
		for ((t = 0; t < nt; t++)); do
			os=$(mtime "$run/tasks/$t/params.json")
			oe=$(mtime "$run/tasks/$t/summary.json")
			case $form in
			slurm)
				es=$(born "$run/slurm/map-$t.out")
				ee=$oe
				mstart=$(born "$run/slurm/merge.out")
				;;
			ssh-*)
				read -r es ee < <(awk -F'\t' -v s=$((t + 1)) \
				    'NR > 1 && $1 == s { printf "%.3f %.3f\n", $3, $3 + $4 }' "$run/joblog")
				mstart=$(born "$run/merge.out")
				;;
			esac
			jq -nc --argjson os "$os" --argjson oe "$oe" --argjson es "${es:-null}" --argjson ee "${ee:-null}" \
			    '{own_start: $os, own_end: $oe, start: $es, end: $ee}' >>"$tasks_json"
		done
	fi
	[ "$mstart" != null ] || mstart=$(mtime "$run/fetch.stats.json")
	# The publication's steps, each from its start to its end.
	steps=$(for s in store offers price_per_m2.agg price_per_m2.store price_model.fit \
	    price_model.predict price_model.store price_model.models.store; do
		printf '{"%s": [%s, %s]}\n' "$s" "$(mtime "$run/$s.rejects.ndjson")" "$(mtime "$run/$s.status.json")"
	done | jq -sc add)
	jq -sc --arg name "$name" --argjson round "$round" --arg form "$form" --argjson w "$w" --argjson n "$n" \
	    --argjson t0 "$start" --argjson t1 "$end" --argjson st "$st" --arg digest "$digest" \
	    --argjson load "$load" --argjson mstart "$mstart" \
	    --argjson gate "$(mtime "$run/gate.rejects.ndjson")" \
	    --argjson store "$(mtime "$run/store.rejects.ndjson")" \
	    --argjson uc "$(mtime "$run/offers.rejects.ndjson")" \
	    --argjson pub "$(mtime "$run/published")" \
	    --argjson sum "$(mtime "$run/summary.json")" --argjson steps "$steps" '
	    def r: . * 1000 | round / 1000;
	    . as $t | ($t | map(.start) | min) as $ms | ($t | map(.end) | max) as $me |
	    ($t | map(.own_end - .own_start) | add) as $own |
	    {name: $name, round: $round, form: $form, workers: $w, offers: $n, tasks: ($t | length),
	     load: $load, status: $st, offers_md5: $digest,
	     wall: ($t1 - $t0), before: ($ms - $t0), map: ($me - $ms),
	     handoff: ($mstart - $me), merge: ($sum - $mstart), after: ($t1 - $sum),
	     tasks_own: $own,
	     task_cost: (if $form == "one-machine" then null
	                 else (($me - $ms) * $w - $own) / ($t | length) end),
	     reduce: ($gate - $mstart), gate: ($store - $gate), store: ($uc - $store),
	     usecases: ($pub - $uc), summary: ($sum - $pub),
	     steps: ($steps | map_values(if .[0] == null or .[1] == null then null else .[1] - .[0] | r end))}
	    | with_entries(if (.value | type) == "number" and .key != "load" then .value |= r else . end)' \
	    "$tasks_json"
}

# bench NAME FORM WORKERS COMMAND...: runs it from $work, its figures
# appended to $work/figures.ndjson.
bench() {
	local name=$1 form=$2 w=$3 start end st=0 load digest=-
	shift 3
	load=$(cut -d' ' -f1 /proc/loadavg)
	start=$(date +%s.%N)
	(cd "$work" && "$@" >"$work/$name.out" 2>&1 3>&-) || st=$?
	end=$(date +%s.%N)
	if [ "$st" -eq 0 ]; then
		digest=$(offers "$work/$name.store")
		figures "$name" "$form" "$w" "$start" "$end" "$st" "$digest" "$load" >>"$work/figures.ndjson"
	else
		jq -nc --arg name "$name" --argjson round "$round" --arg form "$form" --argjson w "$w" \
		    --argjson st "$st" --argjson load "$load" --argjson wall "$(echo "$end - $start" | bc)" \
		    '{name: $name, round: $round, form: $form, workers: $w, status: $st, load: $load, wall: $wall}' \
		    >>"$work/figures.ndjson"
		echo "bench/cluster.sh: $name failed with status $st:" >&2
		tail -n 5 "$work/$name.out" >&2
	fi
}

echo "$n offers in $tasks files; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
for ((round = 1; round <= rounds; round++)); do
	name=one-machine.$round
	bench "$name" one-machine 1 make -s -f "$etl/pipelines/listings.mk" INPUT="$(echo "$work"/lake/*.ndjson)" \
	    STORE="$work/$name.store" RUNS="$work/$name.runs" "${common[@]}"
	for f in $forms; do
		for w in $workers; do
			name=$f-$w.$round
			case $f in
			slurm)
				[ -n "$slurm" ] || continue
				opts=--cpus-per-task=2
				[ "$w" -eq 2 ] || opts="$opts --nodelist=node1"
				bench "$name" "$f" "$w" "$etl/pipelines/cluster/slurm.sh" INPUT="$work/lake" \
				    STORE="$work/$name.store" RUNS="$work/$name.runs" POLL=1 SBATCH_OPTS="$opts" "${common[@]}"
				;;
			ssh-*)
				[ -n "$ssh" ] || continue
				hosts=1/w1
				[ "$w" -eq 1 ] || hosts=1/w1,1/w2
				TAR_OPTIONS=--format=posix bench "$name" "$f" "$w" "$etl/pipelines/cluster/ssh.sh" \
				    HOSTS="$hosts" SHIP="${f#ssh-}" SSH_ENV=TAR_OPTIONS \
				    INPUT="$work/lake" STORE="$work/$name.store" RUNS="$work/$name.runs" "${common[@]}"
				;;
			esac
		done
	done
done
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"

[ -z "$save" ] || cat "$work/figures.ndjson" >>"$save"
# The reference: the first one-machine run's offers table.
ref=$(jq -rs 'map(select(.form == "one-machine" and .status == 0))[0].offers_md5 // "none"' "$work/figures.ndjson")

# tables FILTER: the two tables of the runs (or medians) FILTER yields.
tables() {
	echo "seconds: wall = before + map + handoff + merge + after; own = the tasks' own time, added up;"
	echo "task cost = (map x workers - own) / tasks, a task's slot time outside its own work"
	printf '%-12s %2s %4s %5s %7s %7s %7s %7s %7s %7s %7s %9s  %s\n' \
	    form w r load wall before map handoff merge after own 'task cost' 'offers = one machine'
	jq -rs --arg ref "$ref" "$1"' | [.form, .workers, .round, .load, .wall, .before, .map, .handoff,
	    .merge, .after, .tasks_own, .task_cost,
	    (if .status != 0 then "failed (status \(.status))"
	     elif .offers_md5 == $ref then "yes" else "NO" end)] | map(. // "-") | @tsv' "$work/figures.ndjson" |
	    awk -F'\t' '{ printf "%-12s %2s %4s %5s %7s %7s %7s %7s %7s %7s %7s %9s  %s\n",
	        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
	echo
	echo "the merge, seconds: reduce (the tasks summed and put together), gate, store (etl-store's"
	echo "commit), use cases (the table read, price_per_m2, price_model, each stored), summary"
	printf '%-12s %2s %4s %7s %7s %7s %7s %9s %7s %9s %9s\n' \
	    form w r merge reduce gate store 'use cases' summary 'merge/1M' 'own/1M'
	jq -rs "$1"' | select(.status == 0) | [.form, .workers, .round, .merge, .reduce, .gate, .store,
	    .usecases, .summary, (.merge / .offers * 1e6 | round), (.tasks_own / .offers * 1e6 | round)] | @tsv' \
	    "$work/figures.ndjson" |
	    awk -F'\t' '{ printf "%-12s %2s %4s %7s %7s %7s %7s %9s %7s %9s %9s\n",
	        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
	echo
	echo "the publication's steps, seconds: store, then the use cases: the table read (offers),"
	echo "price_per_m2 (agg, store), price_model (fit, predict, store, models store)"
	printf '%-12s %2s %4s %7s %7s %7s %7s %7s %7s %7s %7s\n' \
	    form w r store offers agg store fit predict store models
	jq -rs "$1"' | select(.status == 0) | [.form, .workers, .round] + ([.steps[]] | map(. // "-")) | @tsv' \
	    "$work/figures.ndjson" |
	    awk -F'\t' '{ printf "%-12s %2s %4s %7s %7s %7s %7s %7s %7s %7s %7s\n",
	        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
}
echo
tables '.[]'
if [ "$rounds" -gt 1 ]; then
	echo
	echo "medians of the $rounds rounds (r: the wall's range over them, in % of its median)"
	# shellcheck disable=SC2016
	tables 'def median: sort | if length == 0 then null
	                          else (.[(length - 1) / 2 | floor] + .[length / 2 | floor]) / 2 end;
	    def r3: if . == null then null else . * 1000 | round / 1000 end;
	    map(select(.status == 0)) | group_by([.form != "one-machine", .form, .workers])[] |
	    . as $g | (map(.wall) | median) as $mw |
	    (reduce ((.[0] | keys_unsorted[]) as $k
	        | select($g[0][$k] | type == "number") | $k) as $k
	        (.[0]; .[$k] = ($g | map(.[$k]) | median | r3)))
	    | .steps = (reduce (.steps | keys_unsorted[]) as $k (.steps;
	        .[$k] = ($g | map(.steps[$k] // empty) | median | r3)))
	    | .round = "\(((($g | map(.wall) | max) - ($g | map(.wall) | min)) / $mw * 100) | round)%"
	    | .offers_md5 = (if all($g[]; .offers_md5 == $g[0].offers_md5) then $g[0].offers_md5 else "differ" end)'
fi
! jq -e --arg ref "$ref" 'select(.status != 0 or .offers_md5 != $ref)' "$work/figures.ndjson" >/dev/null
