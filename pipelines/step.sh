#!/bin/sh
# step.sh - runs one step of a pipeline and keeps its record.
#
#   step.sh STEP [-i INPUT] [-o OUTPUT] -- COMMAND [ARG ...]
#
# The command reads INPUT (or nothing), writes OUTPUT (moved into place
# only on success), its rejects go to $RUN/STEP.rejects.ndjson and its JSON
# logs to $RUN/STEP.log.  Status 75 is retried $RETRIES times with a
# doubling delay from $RETRY_DELAY seconds.
#
# On failure: summary.json is written; the alert (message, step, status,
# log_tail, summary, run_id, host, time) is written first to
# $RUN/alert.json, so it lands whatever the targets do; then the run's
# dashboard (pipelines/dashboard.sh, at $DASHBOARD, default
# $RUN/dashboard.html, empty for none), whose absolute path the alert gets
# as "dashboard" (alert.json rewritten); then the alert is sent to
# etl-notify $NOTIFY; summary.json gets an "alert" object saying where it
# went: {"file", "delivered", "status", "targets"}, "delivered" being true
# when every target got it, false when one did not (etl-notify exits 69 when
# any target fails, even if others got it), null when NOTIFY is empty.  The
# step's status is returned; it is never 0 when the alert was not delivered.
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
sum="$RUN/summary.json"
if "$here/summary.sh" "$RUN" >"$sum.$$.tmp"; then
	mv "$sum.$$.tmp" "$sum"
else
	rm -f "$sum.$$.tmp"
	echo "pipeline: summary.sh failed; $sum is not up to date" >&2
fi

# The alert, built in a variable (no argument-size limit on printf, a
# builtin) so that it can go to the file, to etl-notify and, as a last
# resort, to stderr.  A summary that is not JSON becomes null.
sumf=$sum
jq . "$sumf" >/dev/null 2>&1 || sumf=/dev/null
alert=$(tail -n 20 "$log" 2>/dev/null |
    jq -cRs --arg step "$step" --argjson status "$status" \
    --arg run_id "${ETL_RUN_ID:-}" --arg host "$(uname -n)" \
    --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --slurpfile summary "$sumf" '
    {message: "etl run failed at step \($step) with status \($status)",
     step: $step, status: $status, log_tail: ., summary: $summary[0]}
    + (if $run_id == "" then {} else {run_id: $run_id} end)
    + {host: $host, time: $time}') || alert=
if [ -z "$alert" ]; then
	# jq itself failed: the step and status still get out.
	safe=$(printf '%s' "$step" | tr -cd 'A-Za-z0-9._-')
	alert=$(printf '{"message":"etl run failed at step %s with status %d","step":"%s","status":%d}' \
	    "$safe" "$status" "$safe" "$status")
fi

# 1. The run's own copy, written aside then moved into place.
afile="$RUN/alert.json"
if printf '%s\n' "$alert" >"$afile.$$.tmp" 2>/dev/null && mv "$afile.$$.tmp" "$afile"; then
	echo "pipeline: alert written to $afile" >&2
else
	rm -f "$afile.$$.tmp" 2>/dev/null || :
	afile=
	echo "pipeline: could not write $RUN/alert.json; the alert follows" >&2
	printf '%s\n' "$alert" >&2
fi

# dashboard: the run's page (pipelines/dashboard.sh) at $DASHBOARD
# (default $RUN/dashboard.html; empty: none), once the alert has landed;
# the alert then gets its absolute path, "dashboard", and alert.json is
# rewritten.  A page that cannot be written changes nothing else.
if [ -n "${DASHBOARD-$RUN/dashboard.html}" ] && [ -x "$here/dashboard.sh" ]; then
	dash=${DASHBOARD:-$RUN/dashboard.html}
	if "$here/dashboard.sh" -o "$dash" "$RUN" >/dev/null &&
	    dash=$(cd "$(dirname "$dash")" && pwd)/$(basename "$dash") &&
	    linked=$(printf '%s\n' "$alert" | jq -c --arg d "$dash" '.dashboard = $d'); then
		alert=$linked
		echo "pipeline: dashboard written to $dash" >&2
		if [ -n "$afile" ]; then
			{ printf '%s\n' "$alert" >"$afile.$$.tmp" && mv "$afile.$$.tmp" "$afile"; } 2>/dev/null ||
			    rm -f "$afile.$$.tmp" 2>/dev/null || :
		fi
	else
		echo "pipeline: could not write the dashboard $dash" >&2
	fi
fi

# 2. The configured targets.  etl-notify prints one JSON line per target.
delivered=null
nstatus=null
targets=
if [ -n "$NOTIFY" ]; then
	nstatus=0
	# NOTIFY holds etl-notify's target options, split on purpose.
	# shellcheck disable=SC2086
	targets=$(printf '%s\n' "$alert" |
	    etl-notify -q --subject "etl: step $step failed ($status)" $NOTIFY) ||
	    nstatus=$?
	if [ "$nstatus" -eq 0 ]; then delivered=true; else delivered=false; fi
fi

# 3. Where the alert went, in summary.json (rewritten aside, then moved).
aobj=$(printf '%s\n' "$targets" | jq -cRs --arg file "$afile" \
    --argjson delivered "$delivered" --argjson status "$nstatus" '
    {file: (if $file == "" then null else $file end), delivered: $delivered}
    + (if $status == null then {}
       else {status: $status, targets: [split("\n")[] | fromjson? | select(type == "object")]} end)') ||
    aobj="{\"delivered\":$delivered,\"status\":$nstatus}"
if { jq -e 'type == "object"' "$sum" >/dev/null 2>&1 &&
    jq --argjson alert "$aobj" '.alert = $alert' "$sum" >"$sum.$$.tmp"; } ||
    jq -n --argjson alert "$aobj" '{status: "failed", alert: $alert}' >"$sum.$$.tmp"; then
	mv "$sum.$$.tmp" "$sum"
else
	rm -f "$sum.$$.tmp"
	echo "pipeline: could not record the alert in $sum" >&2
fi

where="in $afile"
[ -n "$afile" ] || where="only on stderr above"
lost=0
if [ "$delivered" = false ]; then
	reached=$(printf '%s\n' "$aobj" | jq '[.targets[]? | select(.delivered == true)] | length' 2>/dev/null) || reached=0
	given=$(printf '%s\n' "$aobj" | jq '.targets | length' 2>/dev/null) || given=0
	if [ "${reached:-0}" -gt 0 ]; then
		echo "pipeline: the alert reached only $reached of $given targets (etl-notify status $nstatus); it is $where" >&2
	else
		echo "pipeline: the alert reached no target (etl-notify status $nstatus); it is $where" >&2
	fi
	lost=1
fi
[ -n "$afile" ] || [ "$delivered" = true ] || lost=1
echo "pipeline: step $step failed with status $status; see $log" >&2
# A failure is never reported as a success, least of all when its alert was lost.
if [ "$status" -eq 0 ] && [ "$lost" -eq 1 ]; then
	exit 69
fi
exit "$status"
