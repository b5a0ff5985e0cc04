#!/bin/sh
# dashboard.sh - one self-contained HTML page a person opens: a run's
# funnel and rejects, the use-case tables of the store, the runs before it.
#
#   dashboard.sh [-o FILE] [-n TOP] [-r SHOWN] RUN [STORE [RUNS]]
#
# RUN is $(RUNS)/DAY/RUN_ID; STORE defaults to the run's params.json
# "store", RUNS to the folder two levels above RUN.  The page goes to
# stdout, or to FILE (written aside, then moved into place).  TOP is the
# number of municipalities charted (6), SHOWN the number of runs listed (15).
#
# The charts are gnuplot's SVG, inlined; each has the table of its figures
# beside it, every cell's exact value also in data-v (JSON), so that tests
# and scripts read the page back.  Nothing on the page is fetched: no
# script, no font, no image but the inline SVG.  Without gnuplot the page
# has the tables only, and says so.  Exit status: 0; 64 usage; 66 RUN is
# not a run folder; 70 jq failed; 73 FILE cannot be written.
#
# The jq programs are in single quotes, their $variables jq's own.
# shellcheck disable=SC2016
set -eu

usage() {
	echo "usage: dashboard.sh [-o FILE] [-n TOP] [-r SHOWN] RUN [STORE [RUNS]]" >&2
	exit 64
}

# count VALUE: VALUE if it is a whole number from 1, else the usage.
count() {
	case $1 in '' | *[!0-9]* | 0*) usage ;; esac
	printf '%s' "$1"
}

out=
top=6
shown=15
while getopts 'hn:o:r:' opt; do
	case $opt in
	n) top=$(count "$OPTARG") ;;
	o) out=$OPTARG ;;
	r) shown=$(count "$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	usage
fi

here=$(cd "$(dirname "$0")" && pwd)
command -v etl-fetch >/dev/null 2>&1 || PATH=$here/../bin:$PATH
run=${1%/}
[ -d "$run" ] || { echo "dashboard.sh: $run: no such run folder" >&2; exit 66; }
store=${2:-$(jq -r '.store // empty' "$run/params.json" 2>/dev/null || true)}
runs=${3:-$(dirname "$(dirname "$run")")}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dashboard.XXXXXX")
part=
cleanup() {
	rm -rf "$tmp"
	[ -z "$part" ] || rm -f "$part"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# FILE is written aside (a name starting with a dot), then moved.
if [ -n "$out" ]; then
	if ! (: >"$(dirname "$out")/.$(basename "$out").$$") 2>/dev/null; then
		echo "dashboard.sh: cannot write $out" >&2
		exit 73
	fi
	part=$(dirname "$out")/.$(basename "$out").$$
fi

# jqs ARG...: jq, whose output lines are "NAME<TAB>LINE": LINE is appended
# to $tmp/NAME, so that one jq program writes several files.
jqs() {
	jq "$@" >"$tmp/jq.out" || { echo "dashboard.sh: jq failed on $run" >&2; exit 70; }
	awk -v d="$tmp" '{ i = index($0, "\t"); print substr($0, i + 1) >>(d "/" substr($0, 1, i - 1)) }' "$tmp/jq.out"
}

# Helpers of every jq program: a line for a file; a number for people
# (grouped by narrow no-break spaces, D decimals); table cells holding the
# exact value in data-v; the meaning of an exit status.
defs='
def to(f; s): f + "\t" + (s | split("\n") | join(" ") | split("\r") | join(" "));
def grouped: tostring | split(".") as $p |
    ($p[0] | gsub("(?<d>[0-9])(?=(?:[0-9]{3})+$)"; "\(.d)\u202f"))
    + (if ($p | length) > 1 then "." + $p[1] else "" end);
def num(d): if type != "number" then "–"
    elif d == 0 then round | grouped
    else (. * pow(10; d) | round) / pow(10; d) | grouped end;
def dv: "data-v=\"\(tojson | @html)\"";
def tdd: "<td class=\"d\" \(dv)>\(if . == null then "–" else tostring | @html end)</td>";
def td: "<td \(dv)>\(if . == null then "–" else tostring | @html end)</td>";
def tdn(d): "<td class=\"n\" \(dv)>\(num(d))</td>";
def sysexit: {"1": "failed", "64": "usage error", "65": "data error, a quality gate",
    "66": "input missing", "69": "service unavailable", "70": "internal error",
    "73": "cannot create output", "74": "I/O error", "75": "temporary failure",
    "78": "bad configuration", "130": "interrupted", "143": "terminated"}[tostring] // "failed";
def state: if . == null then "not reached" elif . == 0 then "ok" else "failed (\(.))" end;
def gpq: "'"'"'" + gsub("'"'"'"; "'"'"''"'"'") + "'"'"'";
def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
'

# ---- The run, from its summary.json, else from its steps' stats now.
sum=$run/summary.json
if ! jq -e 'type == "object"' "$sum" >/dev/null 2>&1; then
	sum=$tmp/summary.json
	"$here/summary.sh" "$run" >"$sum" 2>/dev/null || {
		echo "dashboard.sh: $run: no summary.json, and summary.sh cannot make one" >&2
		exit 66
	}
fi
jqs -r "$defs"'
(.steps // []) as $steps |
([$steps[] | select(.status != 0)][0]) as $fail |
[["read", "fetch"], ["cleaned", "clean"], ["checked", "check"], ["stored", "store"]] as $stages |
to("title"; "etl run \(.run_id // "?"), \((.dates // []) | join(", ")): \(.status // "?")" | @html),
to("run_id"; .run_id // ""),
($steps[] | to("steps.list"; .step)),
# The header: the status, the failing step, the gate.
to("header.html";
    "<header data-run-id=\"\(.run_id // "" | @html)\" data-status=\"\(.status // "" | @html)\">"
    + "<h1>Run <code>\(.run_id // "?" | @html)</code>"
    + "<span class=\"badge \(if .status == "ok" then "ok" else "failed" end)\" id=\"status\">\(.status // "unknown" | @html)</span></h1>"
    + "<p class=\"meta\">env <b>\(.env // "?" | @html)</b> · day \((.dates // []) | join(", ") | @html)"
    + " · <b>\(.offers.kept | num(0))</b> of <b>\(.offers.in | num(0))</b> offers kept"
    + " · in = out + rejected: <b>\(.conserved)</b>"
    + " · published: <b>\(.published // false)</b> · \(.seconds // 0) s</p>"),
(if $fail then
    to("header.html";
    "<p class=\"banner failed\" id=\"failure\" data-step=\"\($fail.step | @html)\" data-status=\"\($fail.status)\">"
    + "The run failed at step <b>\($fail.step | @html)</b> with status <b>\($fail.status)</b> (\($fail.status | sysexit))."
    + (if .gate then " Gate <b>\(.gate.name | @html)</b>: \(.gate.message // "" | @html)." else "" end)
    + " The steps after it did not run: the store is as the runs before left it.</p>")
 elif .gate then
    to("header.html"; "<p class=\"banner failed\" id=\"failure\">Gate <b>\(.gate.name | @html)</b>: \(.gate.message // "" | @html)</p>")
 else empty end),
to("header.html"; "</header>"),
# The funnel: what fetch, clean, check and store let through; the chart
# data (stage, bar height, bar label, colour) and the table.
($stages[] | . as [$stage, $step] | ($steps | map(select(.step == $step))[0]) as $x |
    to("funnel.tsv"; [$stage, ($x.out // 0),
        (if $x == null then "not reached" elif $x.status == 0 then ($x.out | tostring)
         else "\($x.out // "") failed (\($x.status))" end),
        (if $x == null then 13948116 elif $x.status == 0 then 2450411 else 12131356 end)] | @tsv),
    to("funnel.rows"; "<tr data-step=\"\($step)\">" + ($stage | td)
        + ($x.in | tdn(0)) + ($x.out | tdn(0)) + ($x.rejected | tdn(0))
        + "<td class=\"\(if $x == null then "skip" elif $x.status == 0 then "ok" else "bad" end)\" \($x.status | dv) title=\"\($x.status | if . == null or . == 0 then "" else sysexit end)\">\($x.status | state)</td></tr>")),
# Every step.
($steps[] | to("steps.rows";
    "<tr data-step=\"\(.step | @html)\">" + (.step | td) + (.tool | td)
    + "<td class=\"\(if .status == 0 then "ok" else "bad" end)\" \(.status | dv) title=\"\(.status | if . == 0 then "" else sysexit end)\">\(.status | state)</td>"
    + (.attempts | tdn(0)) + (.seconds | tdn(0)) + (.in | tdn(0)) + (.out | tdn(0))
    + (.rejected | tdn(0)) + (.conserved | td) + "</tr>"))
' "$sum"
touch "$tmp/steps.list" "$tmp/steps.rows"

# ---- Rejects by reason code, from the steps' reject files: how many
# rejected records carry each code, in which steps, the first examples.
set --
while IFS= read -r s; do
	[ ! -s "$run/$s.rejects.ndjson" ] || set -- "$@" "$run/$s.rejects.ndjson"
done <"$tmp/steps.list"
: >"$tmp/rejects.rows"
if [ $# -gt 0 ]; then
	jqs -nrR "$defs"'
	reduce (inputs | fromjson? | select(type == "object") |
	        {step: (input_filename | sub(".*/"; "") | sub("[.]rejects[.]ndjson$"; "")),
	         id: (.record.id? // .raw // "?"),
	         reasons: [(.reasons // [])[]? | {code: (.code // "?"), path: (.path // ""), message: (.message // "")}]}) as $r
	    ({};
	    reduce ($r.reasons | map(.code | tostring) | unique[]) as $c (.;
	        .[$c].records += 1
	        | .[$c].steps = ((.[$c].steps // []) + [$r.step] | unique)
	        | if (.[$c].examples | length) < 3 then
	              .[$c].examples += [{step: $r.step, id: ($r.id | tostring | .[:60]),
	                  text: ([$r.reasons[] | select(.code == $c) | "\(.path): \(.message)"] | join("; "))}]
	          else . end))
	| to_entries | sort_by(-.value.records, .key)[] |
	to("rejects.rows"; "<tr data-code=\"\(.key | @html)\">" + (.key | td) + (.value.records | tdn(0))
	    + (.value.steps | join(", ") | td) + "<td class=\"ex\">"
	    + ([.value.examples[] | "<div><code>\(.id | @html)</code> (\(.step | @html)) \(.text | @html)</div>"] | join(""))
	    + "</td></tr>")' "$@"
fi

# ---- The store's tables.  table NAME [etl-fetch options]: NAME's records.
table() {
	[ -n "$store" ] && [ -d "$store/$1" ] || return 1
	t=$1
	shift
	etl-fetch -q "$@" "$store/$t" 3>/dev/null
}

# Price per m² by month, for the TOP municipalities with the most offers:
# the table; a data file and a gnuplot plot clause a municipality; a note.
have_ppm=0
if table usecases/price_per_m2 >"$tmp/ppm.ndjson"; then
	jqs -nr --argjson top "$top" --arg tmp "$tmp" "$defs"'
	# A month as a number (YYYY * 12 + MM - 1), which gnuplot plots; the
	# tics are labelled with the month or the year.
	def month: (.scraping_date | tostring | capture("^(?<y>[0-9]{4})-(?<m>[0-9]{2})")?
	    | (.y | tonumber) * 12 + (.m | tonumber) - 1);
	def ticlabel(step): if step >= 12 then "\(. / 12 | floor)"
	    else "\(. / 12 | floor)-\(. % 12 + 1 | tostring | if length == 1 then "0" + . else . end)" end;
	def ok: (.price_per_m2_median | type) == "number" and month != null;
	[inputs] as $all |
	($all | group_by(.municipality)
	 | map({m: .[0].municipality, n: (map(.count | numbers) | add // 0)})
	 | sort_by(-.n, (.m | tostring)) | .[:$top]) as $busy |
	["#e11d48", "#0891b2", "#65a30d", "#9333ea", "#ea580c",
	 "#475569", "#db2777", "#0284c7", "#ca8a04", "#4b5563"] as $colors |
	[$all[] | select(.municipality as $m | any($busy[]; .m == $m)) | select(ok) | month] as $months |
	(if $busy == [] then empty else
	 to("ppm.note"; "<p class=\"note\">The \($busy | length) municipalities with the most offers in"
	    + " <code>usecases/price_per_m2</code>: "
	    + ($busy | map("\(.m) (\(.n))") | join(", ") | @html) + ".</p>") end),
	(if $months == [] then empty else
	 ($months | min) as $lo | ($months | max) as $hi |
	 ([1, 2, 3, 6, 12, 24, 60, 120, 600] | map(select(($hi - $lo) / . <= 6)) | first) as $step |
	 to("ppm.tics"; "set xrange [\($lo - 0.5):\($hi + 0.5)]"),
	 to("ppm.tics"; "set xtics ("
	    + ([range(($lo / $step | ceil) * $step; $hi + 1; $step) | "\(ticlabel($step) | tojson) \(.)"] | join(", "))
	    + ")") end),
	($busy | to_entries[] | .key as $k | .value.m as $m |
	 ($all | map(select(.municipality == $m)) | sort_by(.scraping_date)) as $rows |
	 ($rows[] | to("ppm.rows"; "<tr>" + (.municipality | td) + (.scraping_date | tdd)
	     + (.count | tdn(0)) + (.price_per_m2_median | tdn(2)) + "</tr>")),
	 ($rows[] | select(ok) | to("ppm.\($k).tsv"; [month, .price_per_m2_median] | @tsv)),
	 (if any($rows[]; ok) then
	      to("ppm.gp"; "\("\($tmp)/ppm.\($k).tsv" | gpq) using 1:2 with linespoints lw 2 pt 7 ps 1.2"
	          + " lc rgb \"\($colors[$k % 10])\" title \($m | tostring | gpq)")
	  else empty end))
	' "$tmp/ppm.ndjson"
	[ ! -s "$tmp/ppm.rows" ] || have_ppm=1
fi

# The distribution of price per m² over the offers table, in bins of a
# round width (1, 2, 2.5 or 5 times a power of ten, about 20 bins).
have_hist=0
if table offers --fields price_per_m2 >"$tmp/offers.ndjson"; then
	jqs -nr "$defs"'
	[inputs.price_per_m2? | numbers] | sort | length as $n | select($n > 0) |
	.[0] as $min | .[-1] as $max |
	(if $max > $min then ($max - $min) / 20 else ($max | fabs) / 10 end
	 | if . > 0 then . else 1 end) as $raw |
	pow(10; $raw | log10 | floor) as $mag |
	([1, 2, 2.5, 5, 10] | map(. * $mag) | map(select(. >= $raw)) | first) as $w |
	(($min / $w) | floor * $w) as $lo |
	(($max - $lo) / $w | floor + 1) as $k |
	(reduce .[] as $v ([range($k) | 0]; .[($v - $lo) / $w | floor] += 1)) as $c |
	to("hist.width"; $w | tostring),
	(range($k) | {from: ($lo + . * $w), to: ($lo + (. + 1) * $w), count: $c[.]} |
	 to("hist.tsv"; [(.from + .to) / 2, .count] | @tsv),
	 to("hist.rows"; "<tr>" + (.from | tdn(2)) + (.to | tdn(2)) + (.count | tdn(0)) + "</tr>")),
	to("hist.note"; "<p class=\"note\" id=\"hist-stats\" data-n=\"\($n)\" data-median=\"\(median)\" data-width=\"\($w)\">"
	    + "\($n | num(0)) offers: min \($min | num(2)), median \(median | num(2)),"
	    + " mean \(add / $n | num(2)), max \($max | num(2)); bins \($w | num(2)) wide, from ≤ x &lt; to.</p>")
	' "$tmp/offers.ndjson"
	[ ! -s "$tmp/hist.rows" ] || have_hist=1
fi

# The model: predicted against actual prices.  A log-y model predicts in
# price units (etl-model predict takes the exp of its fit); should the
# table hold log prices (the median prediction under a hundredth of the
# median price), they are turned into prices here, and the page says so.
have_pred=0
if table usecases/price_model/predictions --fields id,property_type,price,price_pred >"$tmp/pred.ndjson"; then
	table usecases/price_model/models >"$tmp/models.ndjson" || : >"$tmp/models.ndjson"
	jqs -nr --arg tmp "$tmp" --slurpfile models "$tmp/models.ndjson" "$defs"'
	[inputs | select((.price | type) == "number" and (.price_pred | type) == "number")] |
	select(length > 0) |
	((map(.price_pred) | median) as $p | (map(.price) | median) as $a |
	 if $a > 0 and $p < $a / 100 then "log" else "price" end) as $units |
	(if $units == "log" then map(.price_pred |= exp) else . end) |
	map(. + {miss: (if .price > 0 and .price_pred > 0 then (.price_pred / .price | log | fabs) else 0 end)}) |
	sort_by(-.miss, .id) | length as $n |
	([.[] | .price, .price_pred | select(. > 0)] | [min / 1.25, max * 1.25]) as [$lo, $hi] |
	# Log axes with tics at 1, 2 and 5 times a power of ten, as 200k, 1M.
	([range($lo | log10 | floor; ($hi | log10 | floor) + 1) as $e | (1, 2, 5) * pow(10; $e)
	  | select(. >= $lo and . <= $hi)
	  | "\(if . >= 1e6 then "\(. / 1e6 | round)M" elif . >= 1e3 then "\(. / 1e3 | round)k"
	       else "\(round)" end | tojson) \(.)"] | join(", ")) as $tics |
	to("pred.range"; "set xrange [\($lo):\($hi)]"), to("pred.range"; "set yrange [\($lo):\($hi)]"),
	to("pred.range"; "set xtics (\($tics))"), to("pred.range"; "set ytics (\($tics))"),
	["#d97706", "#7c3aed", "#0f766e", "#be123c", "#1d4ed8"] as $colors |
	($models[] | to("models.rows"; "<tr>"
	    + ((.g // []) | map(tostring) | join(", ") | if . == "" then "all offers" else . end | td)
	    + (.n | tdn(0)) + (.r2 | tdn(3)) + (.rmse | tdn(3)) + (.log_y | td) + "</tr>")),
	(.[:200][] | to("pred.rows"; "<tr data-type=\"\(.property_type // "" | tostring | @html)\">" + (.id | td)
	    + (.price | tdn(0)) + (.price_pred | tdn(0)) + "</tr>")),
	to("pred.note"; "<p class=\"note\" data-units=\"\($units)\">\($n | num(0)) predictions"
	    + (if $n > 200 then ", the 200 furthest from their price listed" else "" end) + "; log axes. "
	    + (if $units == "log" then "The table holds log prices: shown here as exp(price_pred)."
	       else "price_pred is in price units (a log-y model predicts the exp of its fit)." end) + "</p>"),
	# A series a property type, at most 5000 points each, evenly spread.
	(group_by(.property_type // "") | to_entries[] | .key as $k | .value as $rows |
	 ($rows | length / 5000 | ceil) as $step |
	 ($rows | to_entries[] | select(.key % $step == 0) | .value |
	  to("pred.\($k).tsv"; [.price, .price_pred] | @tsv)),
	 to("pred.gp"; "\("\($tmp)/pred.\($k).tsv" | gpq) using 1:2 with points pt 7 ps 0.7"
	     + " lc rgb \"\($colors[$k % 5])\" title \($rows[0].property_type // "(none)" | tostring | gpq)"))
	' "$tmp/pred.ndjson"
	[ ! -s "$tmp/pred.rows" ] || have_pred=1
fi

# ---- The last runs, newest first (run ids begin with their UTC time).
find "$runs" -mindepth 3 -maxdepth 3 -name summary.json 2>/dev/null |
    awk -F/ '{ print $(NF - 1) "\t" $0 }' | sort -r | head -n "$shown" | cut -f2- >"$tmp/history.list"
# history FILE...: the rows of the runs whose summaries are FILEs.
history() {
	jq -nr --arg cur "$(cat "$tmp/run_id" 2>/dev/null || true)" "$defs"'
	inputs | select(type == "object") |
	([(.steps // [])[]? | select(.status != 0)][0]) as $fail |
	to("history.rows";
	    "<tr\(if .run_id == $cur then " class=\"current\"" else "" end) data-run-id=\"\(.run_id // "" | @html)\">"
	    + ((.dates // []) | join(", ") | tdd) + (.run_id | td)
	    + "<td class=\"\(if .status == "ok" then "ok" else "bad" end)\" \(.status | dv)>\(.status // "?" | @html)</td>"
	    + (.offers.kept | tdn(0)) + (.offers.in | tdn(0)) + (.gate.name // null | td)
	    + (if $fail then "\($fail.step) (\($fail.status))" else null end | td) + "</tr>")
	' "$@" 2>/dev/null
}
set --
while IFS= read -r f; do set -- "$@" "$f"; done <"$tmp/history.list"
: >"$tmp/jq.out"
if [ $# -gt 0 ] && ! history "$@" >"$tmp/jq.out"; then
	# A summary being rewritten, or broken, is left out.
	: >"$tmp/jq.out"
	for f; do history "$f" >>"$tmp/jq.out" || :; done
fi
awk '{ print substr($0, index($0, "\t") + 1) }' "$tmp/jq.out" >"$tmp/history.rows"

# ---- The charts: gnuplot's SVG.  One gnuplot draws them all; should it
# fail, each chart is drawn alone, so that one bad chart leaves the others.
gp_version=
if command -v gnuplot >/dev/null 2>&1; then
	gp_version=$(gnuplot --version 2>/dev/null || echo gnuplot)
else
	echo "dashboard.sh: warning: gnuplot is not installed: the page has tables only" >&2
fi
charts=

# chart NAME: the gnuplot script on stdin, drawing $tmp/NAME.svg.
chart() {
	cat >"$tmp/$1.body"
	cat >"$tmp/$1.gp" <<EOF
set terminal svg size 400,280 dynamic font "sans,12" background rgb "white"
set termoption noenhanced
set datafile separator "\t"
set border 3 lc rgb "#6b7280"
set tics nomirror textcolor rgb "#374151"
set grid ytics lc rgb "#e5e7eb" lt 1
set key textcolor rgb "#374151"
set format y "%.0f"
set output "$tmp/$1.svg"
EOF
	cat "$tmp/$1.body" >>"$tmp/$1.gp"
	printf 'unset output\nreset\n' >>"$tmp/$1.gp"
	charts="$charts $1"
}

# plots FILE: the plot clauses in FILE, one a line, as one plot command.
plots() {
	printf 'plot '
	sed '$!s/$/, \\/' "$1"
}

chart funnel <<EOF
set style fill solid 1.0 noborder
set boxwidth 0.6
set yrange [0:*]
set offsets 0.3, 0.3, graph 0.15, 0
set xtics scale 0
set ylabel "records"
unset key
plot "$tmp/funnel.tsv" using 0:2:4:xtic(1) with boxes lc rgb variable, \\
     "" using 0:2:3 with labels offset 0,0.8 textcolor rgb "#111827"
EOF
if [ "$have_ppm" = 1 ] && [ -s "$tmp/ppm.gp" ]; then
	chart ppm <<EOF
$(cat "$tmp/ppm.tics")
set offsets 0, 0, graph 0.1, graph 0.1
set ylabel "median price per m²"
set key below horizontal Left reverse samplen 1 width 1
$(plots "$tmp/ppm.gp")
EOF
fi
if [ "$have_hist" = 1 ]; then
	chart hist <<EOF
set style fill solid 1.0 border rgb "white"
set boxwidth $(cat "$tmp/hist.width")
set yrange [0:*]
set xlabel "price per m²"
set ylabel "offers"
set format x "%.0s%c"
unset key
plot "$tmp/hist.tsv" using 1:2 with boxes lc rgb "#0d9488"
EOF
fi
if [ "$have_pred" = 1 ] && [ -s "$tmp/pred.gp" ]; then
	chart pred <<EOF
set logscale xy
set xlabel "actual price"
set ylabel "predicted price"
$(cat "$tmp/pred.range")
set key below horizontal maxcols 3 Left reverse samplen 2 width -2
$(plots "$tmp/pred.gp" | sed '1s/^plot /plot x with lines lc rgb "#9ca3af" dt 2 title "y = x", /')
EOF
fi

if [ -n "$gp_version" ]; then
	for c in $charts; do cat "$tmp/$c.gp"; done >"$tmp/all.gp"
	if ! gnuplot "$tmp/all.gp" 2>"$tmp/gnuplot.err"; then
		for c in $charts; do
			rm -f "$tmp/$c.svg"
			gnuplot "$tmp/$c.gp" 2>"$tmp/$c.err" && continue
			echo "dashboard.sh: warning: gnuplot cannot draw the $c chart:" >&2
			cat "$tmp/$c.err" >&2
			rm -f "$tmp/$c.svg"
		done
	fi
fi

# svg NAME LABEL: the chart inline (no XML prolog, no namespace URLs, which
# HTML implies, ids made the chart's own), or a note saying why not.
svg() {
	if [ -s "$tmp/$1.svg" ]; then
		sed -e '/^<?xml/d' -e '/^ *xmlns\(:xlink\)\{0,1\}=/d' \
		    -e "s/id=\\([\"']\\)/id=\\1$1-/g" -e "s/href=\\([\"']\\)#/href=\\1#$1-/g" \
		    -e "s/url(#/url(#$1-/g" -e "s|<title>Gnuplot</title>|<title>$2</title>|" \
		    -e "s|^<svg *\$|<svg class=\"gnuplot\" role=\"img\" aria-label=\"$2\"|" "$tmp/$1.svg"
	elif [ -z "$gp_version" ]; then
		echo '<p class="none">No chart: gnuplot is not installed.</p>'
	else
		echo '<p class="none">No chart: gnuplot could not draw it.</p>'
	fi
}

# esc TEXT: TEXT for HTML.
esc() {
	printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
	    -e 's/"/\&quot;/g' -e "s/'/\\&#39;/g"
}

# none TABLE: the note for a table that is not in the store.
none() {
	if [ -z "$store" ]; then
		echo '<p class="none">The store is not known: no STORE given, no params.json.</p>'
	else
		printf '<p class="none">No table yet: <code>%s</code>.</p>\n' "$(esc "$store/$1")"
	fi
}

# ---- The page.
if [ -n "$out" ]; then
	exec 4>&1 >"$part"
fi
cat <<EOF
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="etl pipelines/dashboard.sh; charts: $(esc "${gp_version:-none, no gnuplot}")">
<title>$(cat "$tmp/title")</title>
<style>
:root { --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f3f4f6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 16px; }
h1 { font-size: 17px; margin: 0; display: flex; align-items: center; gap: 10px; }
h2 { font-size: 14px; margin: 0 0 6px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .95em; }
.meta { margin: 2px 0 0; color: var(--muted); }
.meta b { color: var(--fg); font-weight: 600; }
.badge { font-size: 12px; padding: 2px 10px; border-radius: 10px; text-transform: uppercase; letter-spacing: .04em; }
.badge.ok { background: #dcfce7; color: #166534; }
.badge.failed { background: #fee2e2; color: #991b1b; }
.banner { margin: 6px 0 0; padding: 6px 10px; border-radius: 6px; }
.banner.failed { background: #fef2f2; border: 1px solid #fecaca; color: #7f1d1d; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px;
  padding: 12px 16px; max-width: 1600px; margin: 0 auto; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) 280px; gap: 10px; align-items: start; }
figure { margin: 0; min-width: 0; }
svg.gnuplot { display: block; width: 100%; height: auto; }
.scroll { max-height: 262px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
.scroll + .scroll { margin-top: 6px; }
.scroll.short { max-height: 180px; }
.wide .scroll { max-height: 420px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
.pair table { font-size: 11.5px; }
.wide table { width: auto; min-width: 60%; }
.wide .scroll { width: fit-content; max-width: 100%; }
caption { text-align: left; color: var(--muted); padding: 2px 6px; font-size: 11px; }
th, td { padding: 2px 6px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f9fafb; position: sticky; top: 0; font-weight: 600; }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.d { white-space: nowrap; }
td.ok { color: #166534; }
td.bad { color: #991b1b; font-weight: 600; }
td.skip { color: var(--muted); font-style: italic; }
td.ex div { margin: 1px 0; }
tr.current td { background: #f0f9ff; }
.none { color: var(--muted); font-style: italic; margin: 40px 0; text-align: center; }
.note { color: var(--muted); font-size: 11px; margin: 4px 0 0; }
footer { color: var(--muted); font-size: 11px; padding: 0 16px 16px; max-width: 1600px; margin: 0 auto; }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } }
@media (max-width: 640px) { .pair { grid-template-columns: minmax(0, 1fr); } }
</style>
</head>
<body>
EOF
cat "$tmp/header.html"
echo '<main>'

echo '<section id="funnel"><h2>The run: read → cleaned → checked → stored</h2>'
echo '<div class="pair"><figure class="chart" data-chart="funnel">'
svg funnel "records through the run"
echo '</figure><div class="scroll"><table id="t-funnel"><thead><tr><th>stage</th><th class="n">in</th><th class="n">out</th><th class="n">rejected</th><th>status</th></tr></thead><tbody>'
cat "$tmp/funnel.rows"
echo '</tbody></table></div></div>'
echo '<p class="note">Read is what fetch read, cleaned what clean let through, checked what check passed, stored what the store step wrote.</p></section>'

echo '<section id="ppm"><h2>Median price per m² by month, the busiest municipalities</h2>'
if [ "$have_ppm" = 1 ]; then
	echo '<div class="pair"><figure class="chart" data-chart="ppm">'
	svg ppm "median price per m2 by month"
	echo '</figure><div class="scroll"><table id="t-ppm"><thead><tr><th>municipality</th><th>month</th><th class="n">n</th><th class="n">median</th></tr></thead><tbody>'
	cat "$tmp/ppm.rows"
	echo '</tbody></table></div></div>'
	cat "$tmp/ppm.note"
else
	none usecases/price_per_m2
fi
echo '</section>'

echo '<section id="hist"><h2>Distribution of price per m², the offers table</h2>'
if [ "$have_hist" = 1 ]; then
	echo '<div class="pair"><figure class="chart" data-chart="hist">'
	svg hist "histogram of price per m2"
	echo '</figure><div class="scroll"><table id="t-hist"><thead><tr><th class="n">from</th><th class="n">to</th><th class="n">offers</th></tr></thead><tbody>'
	cat "$tmp/hist.rows"
	echo '</tbody></table></div></div>'
	cat "$tmp/hist.note"
else
	none offers
fi
echo '</section>'

echo '<section id="pred"><h2>The price model: predicted against actual price</h2>'
if [ "$have_pred" = 1 ]; then
	echo '<div class="pair"><figure class="chart" data-chart="pred">'
	svg pred "predicted against actual price"
	echo '</figure><div><div class="scroll"><table id="t-models"><thead><tr><th>group</th><th class="n">n</th><th class="n">r²</th><th class="n">rmse</th><th>log y</th></tr></thead><tbody>'
	cat "$tmp/models.rows" 2>/dev/null || :
	echo '</tbody></table></div><div class="scroll short"><table id="t-pred"><caption>largest misses first</caption><thead><tr><th>id</th><th class="n">price</th><th class="n">predicted</th></tr></thead><tbody>'
	cat "$tmp/pred.rows"
	echo '</tbody></table></div></div></div>'
	cat "$tmp/pred.note"
else
	none usecases/price_model/predictions
fi
echo '</section>'

echo '<section id="rejects" class="wide"><h2>Rejected records by reason code</h2>'
if [ -s "$tmp/rejects.rows" ]; then
	echo '<div class="scroll"><table id="t-rejects"><thead><tr><th>code</th><th class="n">records</th><th>steps</th><th>examples: id (step) path: message</th></tr></thead><tbody>'
	cat "$tmp/rejects.rows"
	echo '</tbody></table></div><p class="note">A record counts once for each code among its reasons; the records are in the run folder, <code>STEP.rejects.ndjson</code>.</p>'
else
	echo '<p class="none" id="no-rejects">No record rejected.</p>'
fi
echo '</section>'

echo '<section id="steps" class="wide"><h2>Every step</h2><div class="scroll"><table id="t-steps"><thead><tr><th>step</th><th>tool</th><th>status</th><th class="n">attempts</th><th class="n">seconds</th><th class="n">in</th><th class="n">out</th><th class="n">rejected</th><th>in = out + rejected</th></tr></thead><tbody>'
cat "$tmp/steps.rows"
echo '</tbody></table></div></section>'

echo '<section id="history" class="wide"><h2>The last runs</h2><div class="scroll"><table id="t-history">'
printf '<caption>newest first, from <code>%s</code></caption>' "$(esc "$runs")"
echo '<thead><tr><th>day</th><th>run</th><th>status</th><th class="n">kept</th><th class="n">in</th><th>gate</th><th>failed step</th></tr></thead><tbody>'
cat "$tmp/history.rows"
echo '</tbody></table></div></section>'

echo '</main>'
printf '<footer>Run folder <code>%s</code> · store <code>%s</code> · written %s by <code>pipelines/dashboard.sh</code>; charts by %s.</footer>\n' \
    "$(esc "$run")" "$(esc "${store:-unknown}")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(esc "${gp_version:-nothing: gnuplot is not installed}")"
echo '</body>'
echo '</html>'

if [ -n "$out" ]; then
	exec 1>&4 4>&-
	mv "$part" "$out" || { echo "dashboard.sh: cannot write $out" >&2; exit 73; }
	part=
fi
