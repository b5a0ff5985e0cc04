#!/bin/sh
# gate.sh - the gates on the whole run, after check and before anything
# is stored: an input with no record fails unless ALLOW_EMPTY=1 (then
# nothing is published); a step (fetch, clean, check) whose rejects over
# its input pass MAX_REJECT_RATIO fails; offers kept over offers read
# below MIN_KEPT_RATIO fails.  Prints the verdict as JSON, also kept in
# $RUN/gate.result.json for summary.sh; exits 65 when a gate trips.
set -eu
: "${RUN:?RUN must name the run directory}"
cd "$RUN"
for s in fetch clean check; do
	[ -s "$s.stats.json" ] || { echo "gate.sh: $RUN/$s.stats.json missing" >&2; exit 70; }
done
jq -n --slurpfile f fetch.stats.json --slurpfile c clean.stats.json \
    --slurpfile k check.stats.json \
    --argjson min "${MIN_KEPT_RATIO:-0.5}" --argjson max "${MAX_REJECT_RATIO:-1}" \
    --argjson allow "${ALLOW_EMPTY:-0}" '
    def ratio(a; b): if b == 0 then 0 else a / b end;
    ($f[0].in) as $read | ($k[0].out) as $kept |
    [{step: "fetch", x: $f[0]}, {step: "clean", x: $c[0]}, {step: "check", x: $k[0]}] as $steps |
    ([$steps[] | select(ratio(.x.rejected; .x.in) > $max) |
      {name: "max_reject_ratio", step, value: ratio(.x.rejected; .x.in), limit: $max,
       message: "\(.step) rejected \(.x.rejected) of \(.x.in), more than the ratio \($max)"}]) as $rejects |
    (if $read == 0 and $allow != 1 then
         [{name: "empty_input", value: 0, limit: 1,
           message: "the input holds no record (ALLOW_EMPTY=1 lets such a run end ok, storing nothing)"}]
     else [] end) as $empty |
    (if $read > 0 and ratio($kept; $read) < $min then
         [{name: "min_kept_ratio", value: ratio($kept; $read), limit: $min,
           message: "\($kept) of \($read) offers kept, below the ratio \($min)"}]
     else [] end) as $kept_gate |
    ($empty + $kept_gate + $rejects) as $tripped |
    {gate: $tripped[0], tripped: $tripped, read: $read, kept: $kept,
     kept_ratio: ratio($kept; $read), publish: ($tripped == [] and $read > 0),
     empty: ($read == 0)}' >gate.result.json.tmp
mv gate.result.json.tmp gate.result.json
cat gate.result.json
if jq -e '.gate' gate.result.json >/dev/null; then
	jq -r '"gate.sh: gate \(.gate.name) tripped: \(.gate.message)"' gate.result.json >&2
	exit 65
fi
if jq -e '.empty' gate.result.json >/dev/null; then
	echo "gate.sh: warning: the input holds no record; ALLOW_EMPTY=1, so nothing is stored" >&2
fi
