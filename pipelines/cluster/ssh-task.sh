#!/bin/sh
# ssh-task.sh T ATTEMPT - task T of a distributed run on an ssh worker, in the
# working directory GNU parallel made for it, where it shipped T.tar
# (--transferfile): conf/ (params.json, rules.json, schema.json, sources:
# the task's sources, one a line) and in/ (the input files, under their
# path on the submitting host, so Hive directories key=value still add
# their fields).  Runs pipelines/cluster/map.sh into T/out and leaves it
# as T.out.tar for parallel to bring back (--return), whatever the status,
# so that a failed task's logs come back too.  Exits with map.sh's status.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: ssh-task.sh T ATTEMPT" >&2; exit 64; }
t=$1
attempt=$2
mkdir -p "$t"
tar -xf "$t.tar" -C "$t"
rm -f "$t.tar"
cd "$t"
ETL_RUN_ID=$(jq -r .run_id conf/params.json)
export ETL_RUN_ID
status=0
# One source a line, no file name holding a newline (as chunks.list).
# shellcheck disable=SC2046
(IFS='
'; set -f; exec "$here/map.sh" -o out -p conf/params.json -r conf/rules.json \
    -s conf/schema.json -t "$t" -a "$attempt" $(cat conf/sources)) || status=$?
tar -cf "../$t.out.tar" -C out .
cd ..
rm -rf "$t"
exit "$status"
