#!/bin/sh
# lock.sh FILE SECONDS COMMAND [ARG ...] - runs COMMAND holding an
# exclusive lock (flock(1)) on FILE, so that runs which overlap publish
# one after the other.  A run that finds the lock held waits up to
# SECONDS, saying every few seconds on stderr what it waits for, and
# exits 75 when the wait runs out.  The kernel drops the lock when its
# holder dies, however it dies: a dead run never holds it.
set -eu
lock=$1
wait=$2
shift 2
mkdir -p "$(dirname "$lock")"
exec 9>>"$lock"
if ! flock -n 9; then
	start=$(date +%s)
	while :; do
		waited=$(($(date +%s) - start))
		holder=$(cat "$lock.holder" 2>/dev/null || echo "a process that did not note itself")
		if [ "$waited" -ge "$wait" ]; then
			echo "lock.sh: $lock: still held by $holder after ${waited} s of waiting" >&2
			exit 75
		fi
		echo "lock.sh: $lock: waiting for the lock, held by $holder (${waited} s so far, at most ${wait})" >&2
		w=$((wait - waited))
		[ "$w" -le 5 ] || w=5
		! flock -w "$w" 9 || break
	done
fi
printf 'pid %s, run %s, since %s\n' "$$" "${ETL_RUN_ID:-?}" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$lock.holder"
exec "$@"
