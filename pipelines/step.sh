#!/bin/sh
# step.sh - runs one step of a pipeline and keeps its record.
#
#   step.sh STEP [-i INPUT] [-o OUTPUT] -- COMMAND [ARG ...]
#
# The command reads INPUT (or nothing), writes OUTPUT (moved into place
# only on success), its rejects go to $RUN/STEP.rejects.ndjson and its JSON
# logs to $RUN/STEP.log.  Status 75 is retried $RETRIES times with a
# doubling delay from $RETRY_DELAY seconds.  On failure the step's status
# and log tail go to etl-notify $NOTIFY, summary.json is written, and the
# status is returned.
set -eu

step=$1
shift
input=/dev/null
output=
while [ $# -gt 0 ]; do
	case $1 in
	-i) input=$2; shift 2 ;;
	-o) output=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "step.sh: unknown option $1" >&2; exit 64 ;;
	esac
done

: "${RUN:?RUN must name the run directory}"
: "${RETRIES:=3}"
: "${RETRY_DELAY:=2}"
: "${NOTIFY:=}"
here=$(cd "$(dirname "$0")" && pwd)
log="$RUN/$step.log"
rejects="$RUN/$step.rejects.ndjson"
ETL_LOG=json
export ETL_LOG

attempt=1
delay=$RETRY_DELAY
start=$(date +%s)
while :; do
	: >"$rejects"
	status=0
	if [ -n "$output" ]; then
		"$@" <"$input" >"$output.tmp" 3>"$rejects" 2>>"$log" || status=$?
	else
		"$@" <"$input" 3>"$rejects" 2>>"$log" || status=$?
	fi
	if [ "$status" -ne 75 ] || [ "$attempt" -gt "$RETRIES" ]; then
		break
	fi
	printf '{"level":"warning","tool":"step.sh","step":"%s","msg":"status 75, retry %d in %ds"}\n' \
	    "$step" "$attempt" "$delay" >>"$log"
	sleep "$delay"
	attempt=$((attempt + 1))
	delay=$((delay * 2))
done
grep -qx "$step" "$RUN/steps" 2>/dev/null || echo "$step" >>"$RUN/steps"
printf '{"step":"%s","status":%d,"attempts":%d,"seconds":%d}\n' "$step" \
    "$status" "$attempt" $(($(date +%s) - start)) >"$RUN/$step.status.json"

if [ "$status" -eq 0 ]; then
	[ -z "$output" ] || mv "$output.tmp" "$output"
	exit 0
fi

# The failure handler: a summary so far, then the alert.
[ -z "$output" ] || rm -f "$output.tmp"
"$here/summary.sh" "$RUN" >"$RUN/summary.json" || true
if [ -n "$NOTIFY" ]; then
	# NOTIFY holds etl-notify's target options, split on purpose.
	# shellcheck disable=SC2086
	jq -n --arg step "$step" --argjson status "$status" \
	    --arg log "$(tail -n 20 "$log")" --slurpfile summary "$RUN/summary.json" \
	    '{message: "etl run failed at step \($step) with status \($status)",
	      step: $step, status: $status, log_tail: $log, summary: $summary[0]}' |
	    etl-notify -q --subject "etl: step $step failed ($status)" $NOTIFY ||
	    echo "step.sh: etl-notify failed too" >&2
fi
echo "pipeline: step $step failed with status $status; see $log" >&2
exit "$status"
