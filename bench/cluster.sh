#!/usr/bin/env bash
# bench/cluster.sh - the daily run on one machine, under Slurm and over ssh
# (rsync and shared), on the same generated lake day, with the engines of
# tests/96-cluster.bats started here (tests/cluster.bash) and stopped at
# the end.  Prints the wall seconds of each form and whether its offers
# table is the one-machine run's.  On one machine the distributed forms
# only add their overhead (scheduling, ssh sessions, shipping, the merge);
# the point is what that overhead is, not a speed-up.
#
# usage: bench/cluster.sh [-n offers] [-t tasks]
#   -n  offers in the lake day, copies of the sample's 100 with new ids
#       (default 100000)
#   -t  files in the lake day, one task each (default 4)
set -eu

usage() {
	echo "usage: bench/cluster.sh [-n offers] [-t tasks]" >&2
	exit 64
}
n=100000
tasks=4
while getopts n:t: opt; do
	case $opt in
	n) n=$OPTARG ;;
	t) tasks=$OPTARG ;;
	*) usage ;;
	esac
done
case $n$tasks in *[!0-9]*) usage ;; esac
if [ "$n" -lt 100 ] || [ "$tasks" -lt 1 ]; then usage; fi

ETL_ROOT=$(cd "$(dirname "$0")/.." && pwd)
PATH="$ETL_ROOT/bin:$PATH"
export ETL_ROOT PATH
unset ETL_RUN_ID
# shellcheck source=tests/cluster.bash
. "$ETL_ROOT/tests/cluster.bash"

work=$(mktemp -d /tmp/etl-bench-cluster.XXXXXX)
cluster_dir
trap 'cluster_stop; rm -rf "$work"' EXIT
slurm=1
ssh=1
slurm_start || { slurm=; echo "bench/cluster.sh: no Slurm: $(cat "$CL/slurm.why")" >&2; }
sshd_start || { ssh=; echo "bench/cluster.sh: no ssh workers: $(cat "$CL/ssh.why")" >&2; }

# The lake day: the sample's offers again and again, each copy with new ids.
mkdir -p "$work/lake"
jq -r . "$ETL_ROOT/data/sample.json" | jq -c '.[]' >"$work/sample.ndjson"
jq -c --argjson k $((n / 100)) 'range($k) as $i | .id += "-\($i)"' "$work/sample.ndjson" >"$work/all.ndjson"
split -n "l/$tasks" -d -a 3 --additional-suffix=.ndjson "$work/all.ndjson" "$work/lake/part-"
rm "$work/all.ndjson"
day=2026-11-24
common=("DATE=$day" NOTIFY= DB= DASHBOARD=)

offers() {
	etl-fetch -q "$1/offers" 3>&- | jq -cS . | sort | md5sum | cut -c1-32
}

# timed NAME COMMAND...: wall seconds, and the offers table's digest.
timed() {
	local name=$1 start end st=0
	shift
	start=$(date +%s.%N)
	(cd "$work" && "$@" >"$work/$name.out" 2>&1 3>&-) || st=$?
	end=$(date +%s.%N)
	printf '%-14s %8.1f s  status %-3s %s\n' "$name" "$(echo "$end - $start" | bc)" "$st" \
	    "$( [ "$st" -eq 0 ] && offers "$work/$name" || echo -)"
}

echo "$n offers in $tasks files; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %10s  %-10s %s\n' form wall status "offers table (md5 of sorted rows)"
timed one-machine make -s -f "$ETL_ROOT/pipelines/listings.mk" INPUT="$(echo "$work"/lake/*.ndjson)" \
    STORE="$work/one-machine" RUNS="$work/runs" "${common[@]}"
if [ -n "$slurm" ]; then
	timed slurm "$ETL_ROOT/pipelines/cluster/slurm.sh" INPUT="$work/lake" \
	    STORE="$work/slurm" RUNS="$work/runs" POLL=1 "${common[@]}"
fi
if [ -n "$ssh" ]; then
	timed ssh-rsync "$ETL_ROOT/pipelines/cluster/ssh.sh" HOSTS=2/w1,2/w2 SHIP=rsync \
	    INPUT="$work/lake" STORE="$work/ssh-rsync" RUNS="$work/runs" "${common[@]}"
	timed ssh-shared "$ETL_ROOT/pipelines/cluster/ssh.sh" HOSTS=2/w1,2/w2 SHIP=shared \
	    INPUT="$work/lake" STORE="$work/ssh-shared" RUNS="$work/runs" "${common[@]}"
fi
