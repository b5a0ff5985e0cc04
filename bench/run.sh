#!/bin/sh
# bench/run.sh - what `make bench` runs.  Generates seeded messy listings,
# times each etl filter beside its peers (jq, Miller, DuckDB) with
# hyperfine on the same files, checks that their outputs agree, and prints
# one table: median seconds, MB/s, peak RSS, and each peer's time over ours.
#
# usage: bench/run.sh [-b] [-n rows] [-p peer-runs] [-r runs] [-s seed]
#   -b  also stream 10 copies of each input through each filter for its
#       peak RSS on a large input (about 5 GB at 1,000,000 rows)
#   -n  rows to generate (default 1000000)
#   -p  timed runs of the slow peers, jq and Miller (default 2, no warmup)
#   -r  timed runs of ours and DuckDB (default 5, after 1 warmup)
#   -s  the generator's seed (default 42)
set -eu

usage() {
	echo "usage: bench/run.sh [-b] [-n rows] [-p peer-runs] [-r runs] [-s seed]" >&2
	exit 64
}

die() {
	echo "bench/run.sh: $*" >&2
	exit "${status:-1}"
}

count() {
	case $2 in
	'' | *[!0-9]*) echo "bench/run.sh: -$1: not a number: $2" >&2; usage ;;
	esac
}

rows=1000000 seed=42 runs=5 peer_runs=2 big=0
while getopts bn:p:r:s: opt; do
	case $opt in
	b) big=1 ;;
	n) count n "$OPTARG"; rows=$OPTARG ;;
	p) count p "$OPTARG"; peer_runs=$OPTARG ;;
	r) count r "$OPTARG"; runs=$OPTARG ;;
	s) count s "$OPTARG"; seed=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
if [ "$rows" -eq 0 ] || [ "$runs" -eq 0 ] || [ "$peer_runs" -eq 0 ]; then
	usage
fi

cd "$(dirname "$0")/.."
root=$(pwd)
PATH=$root/bin:$PATH
export PATH
for t in check agg fetch clean; do
	[ -x "bin/etl-$t" ] || status=69 die "bin/etl-$t is missing: run make first"
done

# The peers and the measuring tools, from Debian when missing.
debs=
for c in hyperfine:hyperfine jq:jq mlr:miller /usr/bin/python3:python3; do
	command -v "${c%%:*}" >/dev/null || debs="$debs ${c#*:}"
done
[ -x /usr/bin/time ] || debs="$debs time"
if [ -n "$debs" ]; then
	[ "$(id -u)" = 0 ] || status=69 die "missing, install with apt-get:$debs"
	echo "bench: installing$debs" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs >&2 ||
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq $debs >&2; } ||
	    status=69 die "cannot install$debs"
fi

O=bench/out
mkdir -p "$O"

# DuckDB: its CLI when there is one, else @duckdb/node-api from npm.
if command -v duckdb >/dev/null; then
	duck='duckdb -bail <'
	duck_version=$(duckdb --version | head -n 1)
elif command -v node >/dev/null && command -v npm >/dev/null; then
	if [ ! -d "$O/node_modules/@duckdb/node-api" ]; then
		echo "bench: npm install --prefix $O @duckdb/node-api" >&2
		npm install --prefix "$O" --no-audit --no-fund --silent \
		    @duckdb/node-api >&2 || die "npm install failed"
	fi
	cp bench/duckdb.mjs "$O/duckdb.mjs"
	duck='node duckdb.mjs'
	duck_version="@duckdb/node-api $(sed -n 's/^  "version": "\(.*\)",$/\1/p' \
	    "$O/node_modules/@duckdb/node-api/package.json")"
else
	duck=
	duck_version="none (no duckdb, no node and npm): DuckDB rows skipped"
fi

make -s -C bench gen || die "cannot build bench/gen"

# The inputs, kept between runs for the same rows and seed.
L=listings-$rows-$seed.ndjson
M=messy-$rows-$seed.ndjson
C=listings-$rows-$seed.csv
for f in "$L:" "$M:-m" "$C:-f csv"; do
	[ -s "$O/${f%%:*}" ] && continue
	echo "bench: generating $O/${f%%:*}" >&2
	# shellcheck disable=SC2086
	bench/gen -n "$rows" -s "$seed" ${f#*:} >"$O/${f%%:*}.tmp" ||
	    die "bench/gen failed"
	mv "$O/${f%%:*}.tmp" "$O/${f%%:*}"
done

cd "$O"
: >results.tsv
: >agree.tsv
failed=0

# measure JOB NAME ROLE RUNS WARMUP INPUT COMMAND [FILE...]: times the
# command with hyperfine; the RSS of the process %T stands before, in
# every run, by /usr/bin/time.  ROLE is ours, pipe or peer.  The files the
# command writes (its redirections, and the FILEs) are removed before each
# run, untimed: a run does not pay for truncating the last one's output.
measure() {
	m_job=$1 m_name=$2 m_role=$3 m_runs=$4 m_warm=$5 m_in=$6 m_cmd=$7
	shift 7
	m_id=$m_job-$(printf '%s' "$m_name" | tr -c 'A-Za-z0-9' '_')
	: >"rss-$m_id"
	m_out=$(printf '%s\n' "$m_cmd" | grep -o '[0-9]*>[^ ]*' |
	    sed 's/^[0-9]*>//' | tr '\n' ' ')
	m_cmd=$(printf '%s\n' "$m_cmd" |
	    sed "s|%T|/usr/bin/time -f %M -a -o rss-$m_id|")
	echo "== $m_job: $m_name" >&2
	hyperfine --style basic --warmup "$m_warm" --runs "$m_runs" \
	    --prepare "rm -f $m_out $*" \
	    --export-json "hf-$m_id.json" -n "$m_name" "$m_cmd" >&2 ||
	    { echo "bench: $m_name failed: $m_cmd" >&2; failed=1; return 0; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m_job" "$m_name" "$m_role" \
	    "$(jq '.results[0].median' "hf-$m_id.json")" \
	    "$(sort -n "rss-$m_id" | tail -n 1)" \
	    "$(wc -c <"$m_in" | tr -d ' ')" >>results.tsv
}

# agree NAME OURS PEER [agree.py options]: records whether they agree.
agree() {
	a_name=$1 a_ours=$2 a_peer=$3
	shift 3
	if a_msg=$(/usr/bin/python3 ../agree.py "$@" "$a_ours" "$a_peer"); then
		printf '%s\tyes\n' "$a_name" >>agree.tsv
	else
		printf '%s\tNO\n' "$a_name" >>agree.tsv
		echo "bench: $a_name disagrees with ours: $a_msg" >&2
		failed=1
	fi
}

# same NAME A B: the pipe and the file give the same bytes.
same() {
	if cmp -s "$2" "$3"; then
		printf '%s\tyes\n' "$1" >>agree.tsv
	else
		printf '%s\tNO\n' "$1" >>agree.tsv
		echo "bench: $1: $2 and $3 differ" >&2
		failed=1
	fi
}

# kept NAME IN OUT REJ: every record left on the output or the rejects.
kept() {
	k_in=$(($(wc -l <"$2")))
	k_out=$(($(wc -l <"$3") + $(wc -l <"$4")))
	[ "$k_in" -eq "$k_out" ] ||
	    { echo "bench: $1: $k_in in, $k_out out and rejected" >&2; failed=1; }
}

copies() {
	c_i=0
	while [ "$c_i" -lt 10 ]; do
		cat "$1"
		c_i=$((c_i + 1))
	done
}

sql() {
	sed -e "s|@IN@|$2|" -e "s|@OUT@|$3|" "../sql/$1.sql" >"$1.sql"
}

r="$runs 1"
p="$peer_runs 0"

# 1. Filter by a schema.
S=../check.schema.json
# shellcheck disable=SC2086
{
measure check etl-check ours $r "$L" \
    "%T etl-check -s $S $L >check.ours.ndjson 3>check.ours.rej"
measure check 'etl-check (pipe)' pipe $r "$L" \
    "cat $L | %T etl-check -s $S 3>check.pipe.rej | cat >check.pipe.ndjson"
measure check 'jq select' peer $p "$L" \
    "%T jq -c -f ../check.jq $L >check.jq.ndjson"
if [ -n "$duck" ]; then
	sql check "$L" check.duck.ndjson
	measure check 'DuckDB WHERE' peer $r "$L" "%T $duck check.sql" \
	    check.duck.ndjson
fi
}
kept etl-check "$L" check.ours.ndjson check.ours.rej
same 'etl-check (pipe)' check.ours.ndjson check.pipe.ndjson
agree 'jq select' check.ours.ndjson check.jq.ndjson
[ -z "$duck" ] ||
    agree 'DuckDB WHERE' check.ours.ndjson check.duck.ndjson --key id

# 2. Group by city.
A='-g city -a count,mean:price,min:price,max:price,median:price'
# shellcheck disable=SC2086
{
measure agg etl-agg ours $r "$L" \
    "%T etl-agg $A $L >agg.ours.ndjson 3>agg.ours.rej"
measure agg 'etl-agg (pipe)' pipe $r "$L" \
    "cat $L | %T etl-agg $A 3>agg.pipe.rej | cat >agg.pipe.ndjson"
if [ -n "$duck" ]; then
	sql agg "$L" agg.duck.ndjson
	measure agg 'DuckDB GROUP BY' peer $r "$L" "%T $duck agg.sql" \
	    agg.duck.ndjson
fi
measure agg 'mlr stats1' peer $p "$L" \
    "%T mlr --ijson --ojsonl stats1 -i -a count,mean,min,max,median -f price -g city $L >agg.mlr.ndjson"
measure agg 'jq group_by' peer $p "$L" \
    "%T jq -n -c -f ../agg.jq $L >agg.jq.ndjson"
}
same 'etl-agg (pipe)' agg.ours.ndjson agg.pipe.ndjson
[ -z "$duck" ] ||
    agree 'DuckDB GROUP BY' agg.ours.ndjson agg.duck.ndjson --key city
agree 'mlr stats1' agg.ours.ndjson agg.mlr.ndjson --key city \
    --rename price_count=count
agree 'jq group_by' agg.ours.ndjson agg.jq.ndjson --key city

# 3. CSV to NDJSON.
# shellcheck disable=SC2086
{
measure csv etl-fetch ours $r "$C" \
    "%T etl-fetch $C >csv.ours.ndjson 3>csv.ours.rej"
measure csv 'etl-fetch (pipe)' pipe $r "$C" \
    "cat $C | %T etl-fetch -f csv 3>csv.pipe.rej | cat >csv.pipe.ndjson"
if [ -n "$duck" ]; then
	sql csv "$C" csv.duck.ndjson
	measure csv 'DuckDB read_csv' peer $r "$C" "%T $duck csv.sql" \
	    csv.duck.ndjson
fi
measure csv 'mlr cat' peer $p "$C" \
    "%T mlr -S --icsv --ojsonl cat $C >csv.mlr.ndjson"
}
k_rows=$(($(wc -l <csv.ours.ndjson) + $(wc -l <csv.ours.rej)))
[ "$k_rows" -eq "$rows" ] ||
    { echo "bench: etl-fetch: $rows rows, $k_rows out and rejected" >&2; failed=1; }
same 'etl-fetch (pipe)' csv.ours.ndjson csv.pipe.ndjson
[ -z "$duck" ] || agree 'DuckDB read_csv' csv.ours.ndjson csv.duck.ndjson
agree 'mlr cat' csv.ours.ndjson csv.mlr.ndjson

# 4. Clean by rules.  Half-way cases of price_per_m2 round half to even in
# etl-clean (Python's round) and up in jq, so they may differ by 0.01.
R=../clean.rules.json
# shellcheck disable=SC2086
{
measure clean etl-clean ours $r "$M" \
    "%T etl-clean -r $R $M >clean.ours.ndjson 3>clean.ours.rej"
measure clean 'etl-clean (pipe)' pipe $r "$M" \
    "cat $M | %T etl-clean -r $R 3>clean.pipe.rej | cat >clean.pipe.ndjson"
measure clean 'jq program' peer $p "$M" \
    "%T jq -c -f ../clean.jq $M >clean.jq.ndjson"
}
kept etl-clean "$M" clean.ours.ndjson clean.ours.rej
same 'etl-clean (pipe)' clean.ours.ndjson clean.pipe.ndjson
agree 'jq program' clean.ours.ndjson clean.jq.ndjson --abs price_per_m2=0.011

# 5. Peak RSS on a large input: 10 copies streamed, never stored.
: >big.tsv
if [ "$big" = 1 ]; then
	for b in "check:$L:etl-check -s $S" "agg:$L:etl-agg $A" \
	    "csv:$C:etl-fetch -f csv" "clean:$M:etl-clean -r $R"; do
		b_job=${b%%:*} b_rest=${b#*:}
		b_in=${b_rest%%:*} b_cmd=${b_rest#*:}
		echo "== $b_job: ${b_cmd%% *} on 10 x $b_in" >&2
		# shellcheck disable=SC2086
		copies "$b_in" |
		    /usr/bin/time -f %M -o "rss-big-$b_job" $b_cmd \
		    >/dev/null 3>/dev/null 2>"big-$b_job.log" ||
		    { echo "bench: $b_cmd failed on the large input" >&2; failed=1; }
		printf '%s\t%s\t%s\t%s\n' "$b_job" "${b_cmd%% *}" \
		    "$(($(wc -c <"$b_in") * 10))" \
		    "$(cat "rss-big-$b_job")" >>big.tsv
	done
fi

{
	echo "bench: $rows listings (seed $seed) on $(nproc) cores," \
	    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "inputs: $L $(($(wc -c <"$L") / 1000000)) MB," \
	    "$M $(($(wc -c <"$M") / 1000000)) MB, $C $(($(wc -c <"$C") / 1000000)) MB"
	echo "peers: $(jq --version), Miller $(mlr --version | sed 's/^mlr //'), DuckDB $duck_version;" \
	    "$(hyperfine --version), ours $runs runs after a warmup, jq and Miller $peer_runs"
	echo
	awk -F '\t' -v big="$big" '
	FILENAME == "agree.tsv" { ok[$1] = $2; next }
	FILENAME == "big.tsv" {
		bigin[$1] = $3; bigrss[$1] = $4; next
	}
	{
		n++; job[n] = $1; name[n] = $2; role[n] = $3
		med[n] = $4; rss[n] = $5; bytes[n] = $6
		if ($3 == "ours") ours[$1] = $4
		if ($3 == "ours") oursrss[$1] = $5
		if ($3 == "pipe") pipe[$1] = $4
	}
	function ratio(j, t) { return ours[j] > 0 ? t / ours[j] : 0 }
	function row(a, b, c, d, e, f, g) {
		printf "| %-6s | %-18s | %9s | %7s | %8s | %12s | %5s |\n",
		    a, b, c, d, e, f, g
	}
	function target(what, v, want, cmp, unit,   met) {
		met = cmp == ">=" ? v >= want : v <= want
		printf "| %-42s | %10s | %-7s |\n", what,
		    sprintf(unit == "x" ? "%.2fx" : "%.1f MB", v),
		    v == "" ? "n/a" : met ? "met" : "NOT met"
	}
	END {
		row("job", "tool", "median s", "MB/s", "RSS MB", "peer/ours", "agree")
		row("------", "------------------", "---------", "-------",
		    "--------", "------------", "-----")
		for (i = 1; i <= n; i++) {
			r = role[i] == "ours" ? "-" : \
			    sprintf("%.2f%s", ratio(job[i], med[i]),
			    role[i] == "pipe" ? " (pipe)" : "")
			row(job[i], name[i], sprintf("%.3f", med[i]),
			    sprintf("%.0f", bytes[i] / 1e6 / med[i]),
			    sprintf("%.1f", rss[i] / 1024), r,
			    role[i] == "ours" ? "-" : \
			    (name[i] in ok ? ok[name[i]] : "?"))
			if (role[i] == "peer") peerratio[job[i] "/" name[i]] = ratio(job[i], med[i])
		}
		print ""
		printf "| %-42s | %10s | %-7s |\n", "target", "measured", ""
		printf "| %-42s | %10s | %-7s |\n", "------", "--------", "---"
		target("etl-check >= 25x jq select", peerratio["check/jq select"], 25, ">=", "x")
		if ("agg/DuckDB GROUP BY" in peerratio)
			target("etl-agg >= 1x DuckDB GROUP BY", peerratio["agg/DuckDB GROUP BY"], 1, ">=", "x")
		if ("csv/DuckDB read_csv" in peerratio)
			target("etl-fetch CSV >= 1.2x DuckDB", peerratio["csv/DuckDB read_csv"], 1.2, ">=", "x")
		target("etl-fetch CSV >= 4x Miller", peerratio["csv/mlr cat"], 4, ">=", "x")
		target("etl-fetch CSV in <= 16 MB", oursrss["csv"] / 1024, 16, "<=", " MB")
		target("etl-clean >= 5x jq program", peerratio["clean/jq program"], 5, ">=", "x")
		split("check agg csv clean", jobs, " ")
		for (k = 1; k <= 4; k++) {
			j = jobs[k]
			if (j in pipe)
				target(j " pipe within 1.5x of the file", pipe[j] / ours[j], 1.5, "<=", "x")
		}
		for (k = 1; k <= 4; k++) {
			j = jobs[k]
			if (j in oursrss && j != "agg")
				target(j " filter <= 64 MB (this input)", oursrss[j] / 1024, 64, "<=", " MB")
		}
		for (k = 1; k <= 4; k++) {
			j = jobs[k]
			if (!(j in bigrss))
				continue
			w = sprintf("%s on %.1f GB streamed", j, bigin[j] / 1e9)
			if (j != "agg")
				target(w " <= 64 MB", bigrss[j] / 1024, 64, "<=", " MB")
			else
				printf "| %-42s | %10s | %-7s |\n", w " (state tool)",
				    sprintf("%.1f MB", bigrss[j] / 1024), "info"
		}
	}' agree.tsv big.tsv results.tsv
} | tee report.md

[ "$failed" = 0 ] || die "some outputs disagree or a command failed: see above"
