#!/bin/sh
# summary.sh RUN - the run's summary.json from its steps' stats: per step
# in, out, rejected, status and reasons; the check in = out + rejected for
# every step, and along the chain of steps that feed one another.
set -eu
run=$1
cd "$run"

# Steps in the order they ran.
steps=$(cat steps 2>/dev/null || true)
# The gates' verdict, and what the store step made of the table.
gate=gate.result.json
[ -s "$gate" ] || gate=/dev/null
store=store.stats.json
[ -s "$store" ] || store=/dev/null

for s in $steps; do
	st="$s.stats.json"
	[ -s "$st" ] || st=/dev/null
	jq -n --arg step "$s" --slurpfile status "$s.status.json" --slurpfile stats "$st" '
	    ($stats[0] // {}) as $x |
	    {step: $step, status: $status[0].status, attempts: $status[0].attempts,
	     seconds: $status[0].seconds, tool: $x.tool,
	     in: $x.in, out: $x.out, rejected: $x.rejected, reasons: ($x.reasons // {}),
	     conserved: (if $x.in == null then null
	                 elif ($step | test("[.](agg|fit)$")) then null
	                 else $x.in == $x.out + $x.rejected end)}'
done | jq -s --slurpfile params params.json --slurpfile gate "$gate" \
    --slurpfile store "$store" '
    def link(a; b): (map(select(.step == a))[0].out) as $o |
        (map(select(.step == b))[0].in) as $i |
        if $o == null or $i == null then empty
        else {from: a, to: b, out: $o, in: $i, ok: ($o == $i)} end;
    . as $steps |
    [link("fetch"; "clean"), link("clean"; "check"), link("check"; "store")] as $links |
    # A gate tripped by a step itself (etl-check --max-reject-ratio).
    ([$steps[] | select(.status == 65 and .tool == "etl-check") |
      {name: "max_reject_ratio", step: .step,
       message: "\(.step) rejected \(.rejected) of \(.in), past its gate"}][0]) as $stepgate |
    {run_id: $params[0].run_id, env: $params[0].env, dates: $params[0].dates,
     status: (if all(.[]; .status == 0) then "ok" else "failed" end),
     gate: ($gate[0].gate // $stepgate),
     published: (($gate[0].publish // false) and any($steps[]; .step == "store" and .status == 0)),
     table: (if $store[0].table == null then null
             else {day: $store[0].day, offers: $store[0].table,
                   versions: $store[0].versions, superseded: $store[0].superseded} end),
     steps: $steps, links: $links,
     reasons: (reduce ($steps[] | .reasons | to_entries[]) as $e ({}; .[$e.key] += $e.value)),
     offers: {in: (map(select(.step == "fetch"))[0].out),
              kept: (map(select(.step == "check"))[0].out),
              rejected: ([$steps[] | select(.step == "clean" or .step == "check") | .rejected // 0] | add)},
     conserved: (all($steps[]; .conserved != false) and all($links[]; .ok)),
     seconds: ([$steps[].seconds] | add)}'
