#!/bin/sh
# task.sh RUN T ATTEMPT - task T of the distributed run in the folder RUN,
# on a file system every host shares: its chunk (line T+1 of
# RUN/chunks.list) through pipelines/cluster/map.sh into
# RUN/tasks/T.try-ATTEMPT, which becomes RUN/tasks/T when the attempt
# succeeds.  The rename is the task's commit: an attempt that an engine
# thought lost but that still ran cannot mix its files with another's, and
# the second attempt to succeed finds RUN/tasks/T there and leaves it.
# Exits with map.sh's status (0, 75 worth a retry, or the failed step's),
# 75 also when map.sh itself was killed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ETL=$(cd "$here/../.." && pwd)
CLUSTER_NAME=task.sh
# shellcheck source=pipelines/cluster/common.sh
. "$here/common.sh"
[ $# -eq 3 ] || cluster_die 64 "usage: task.sh RUN T ATTEMPT"
RUN=$1
t=$2
attempt=$3
cluster_load "$RUN"
input=$(sed -n "$((t + 1))p" "$RUN/chunks.list")
[ -n "$input" ] || cluster_die 64 "$RUN: there is no task $t"
try="$RUN/tasks/$t.try-$attempt"
rm -rf "$try"
status=0
# The chunk's line may name several sources (directories with no file).
# shellcheck disable=SC2086
"$here/map.sh" -o "$try" -p "$RUN/params.json" -r "$RUN/conf/rules.json" \
    -s "$RUN/conf/schema.json" -t "$t" -a "$attempt" $input || status=$?
# Killed by a signal (an engine stopping it, memory running out): worth
# another attempt, as map.sh says of its steps.
[ "$status" -le 128 ] || status=75
if [ "$status" -eq 0 ] && [ -e "$RUN/summary.json" ]; then
	# The run ended (failed) while this attempt ran on, orphaned.
	echo "task.sh: task $t: the run has ended; this attempt is dropped" >&2
	rm -rf "$try"
	exit 75
fi
if [ "$status" -eq 0 ]; then
	if ! mv -T "$try" "$RUN/tasks/$t" 2>/dev/null; then
		[ -d "$RUN/tasks/$t" ] || cluster_die 73 "cannot move $try to $RUN/tasks/$t"
		echo "task.sh: task $t: another attempt succeeded first; this one is dropped" >&2
		rm -rf "$try"
	fi
fi
exit "$status"
