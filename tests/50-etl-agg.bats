#!/usr/bin/env bats
# etl-agg: aggregates against numpy and Miller, buckets, partial/merge,
# sketches, exact sums, the stream protocol.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	M="$DATA/agg/melb.ndjson"
	REF="$ETL_ROOT/tests/agg_ref.py"
	ALL=count,sum:Price,mean:Price,min:Price,max:Price,median:Price,p0:Price,p25:Price,p90:Price,p99.9:Price,p100:Price,stddev:Price,var:Price,distinct:Type,distinct:Rooms,first:Date,last:Date,mean:BuildingArea,sum:Landsize,min:Landsize,median:BuildingArea,p10:Landsize,stddev:Distance,distinct:Landsize
}

@test "every aggregate equals the numpy reference on Melbourne sales" {
	for g in Suburb,Date:month Type,Rooms Date:week Date:quarter,Type ""; do
		etl-agg ${g:+-g "$g"} -a "$ALL" "$M" 3>rej.ndjson 2>err >out.ndjson
		[ ! -s rej.ndjson ]
		"$PY" "$REF" ${g:+-g "$g"} -a "$ALL" "$M" --compare out.ndjson
	done
}

@test "the issue's run: median and p90 per suburb and month, numbers as numpy" {
	run_split etl-agg -g Suburb,Date:month -a count,median:Price,p90:Price "$M" 3>&-
	[ "$status" -eq 0 ]
	"$PY" "$REF" -g Suburb,Date:month -a count,median:Price,p90:Price "$M" >want
	cmp want "$stdout_file"
	assert_eq "$(sed -n 2p "$stdout_file")" \
	    '{"Suburb":"Abbotsford","Date":"2016-05","count":4,"Price_median":976750.0,"Price_p90":1616950.0000000002}'
	assert_contains "$stderr_file" "etl-agg: 476 in, 83 out, 0 rejected"
}

@test "count, sum, mean, min, max equal Miller's stats1" {
	etl-agg -g Suburb,Type -a count,sum:Price,mean:Price,min:Price,max:Price,sum:Distance,mean:Distance "$M" 3>&- 2>/dev/null |
	    jq -c '[.Suburb, .Type, .count, .Price_sum, .Price_mean, .Price_min, .Price_max, .Distance_sum, .Distance_mean]' >got
	mlr --ijsonl --ojsonl stats1 -a count,sum,mean,min,max -f Price,Distance -g Suburb,Type "$M" |
	    jq -c '[.Suburb, .Type, .Price_count, .Price_sum, .Price_mean, .Price_min, .Price_max, .Distance_sum, .Distance_mean]' |
	    LC_ALL=C sort >want
	LC_ALL=C sort got >got.sorted
	assert_eq "$(lines got)" 24
	# Miller sums floats naively: compare to 12 significant digits.
	"$PY" - <<-'EOF'
	import json
	g = [json.loads(l) for l in open('got.sorted')]
	w = [json.loads(l) for l in open('want')]
	assert len(g) == len(w)
	for a, b in zip(g, w):
	    for x, y in zip(a, b):
	        assert x == y or abs(x - y) <= 1e-12 * abs(y), (a, b)
	EOF
}

@test "buckets: day, ISO week, month, quarter, year of dates and date-times with offsets" {
	cat >in.ndjson <<-'EOF'
	{"d":"2024-12-29"}
	{"d":"2024-12-30T23:30:00-05:00"}
	{"d":"2021-01-03"}
	{"d":"2020-12-31T22:00:00Z"}
	{"d":"2026-11-24 10:00+01:00"}
	EOF
	for b in day week month quarter year; do
		etl-agg -g "d:$b" in.ndjson 3>&- 2>/dev/null | jq -r '"\(.d) \(.count)"' | tr '\n' ' '
		echo
	done >got
	cat >want <<-'EOF'
	2020-12-31 1 2021-01-03 1 2024-12-29 1 2024-12-31 1 2026-11-24 1 
	2020-W53 2 2024-W52 1 2025-W01 1 2026-W48 1 
	2020-12 1 2021-01 1 2024-12 2 2026-11 1 
	2020-Q4 1 2021-Q1 1 2024-Q4 2 2026-Q4 1 
	2020 1 2021 1 2024 2 2026 1 
	EOF
	cmp want got
	"$PY" "$REF" -g d:week in.ndjson | jq -r .d | tr '\n' ' ' >ref
	assert_eq "$(cat ref)" "2020-W53 2024-W52 2025-W01 2026-W48 "
}

@test "a missing key and a value that is not a date are null groups, counted" {
	printf '%s\n' '{"k":"a","d":"2021-02-30","x":1}' '{"d":"2021-01-01","x":2}' \
	    '{"k":null,"d":7,"x":3}' '{"k":"a","d":"2021-02-03","x":4}' >in.ndjson
	run_split etl-agg -g k,d:month -a count,sum:x --stats st.json in.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"k":"a","d":"2021-02","count":1,"x_sum":4}
{"k":"a","d":null,"count":1,"x_sum":1}
{"k":null,"d":"2021-01","count":1,"x_sum":2}
{"k":null,"d":null,"count":1,"x_sum":3}'
	assert_eq "$(jq -c '[.in, .out, .rejected, .aggregated, .not_a_date]' st.json)" '[4,4,0,4,2]'
}

@test "groups by value in byte order of the key; a string wholly a number is that number" {
	printf '%s\n' '{"k":10,"v":"12"}' '{"k":9,"v":1.5}' '{"k":9.0,"v":2}' '{"k":"b","v":null}' \
	    '{"k":"a b"}' '{"k":"a","v":true}' '{"k":-1,"v":3}' '{"k":false}' >in.ndjson
	run_split etl-agg -g k -a count,sum:v,min:v,first:v --stats st.json in.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.k, .count, .v_sum, .v_min, .v_first]' "$stdout_file" | tr '\n' ' ')" \
	    '["a b",1,null,null,null] ["a",1,null,null,true] ["b",1,null,null,null] [-1,1,3,3,3] [10,1,12,12,"12"] [9,2,3.5,1.5,1.5] [false,1,null,null,null] '
	assert_eq "$(jq -c .skipped st.json)" '{"v":4}'
	assert_eq "$(jq -c .from_text st.json)" '{"v":1}'
	assert_contains "$stderr_file" "4 non-numbers skipped"
	assert_contains "$stderr_file" "1 numbers read from text"
	# Groups left with no number are named on stderr.
	assert_contains "$stderr_file" "warning: v: 4 of 7 groups had no number to aggregate"
}

@test "non-objects are rejected with code parse; in = aggregated + rejected" {
	printf '%s\n' '{"k":1}' '[1,2]' 'not json' '' '{"k":1}' '"s"' >in.ndjson
	run_split etl-agg -g k --stats st.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"k":1,"count":2}'
	assert_eq "$(jq -c '[.src.line, .reasons[0].code]' rej.ndjson | tr '\n' ' ')" '[2,"parse"] [3,"parse"] [6,"parse"] '
	assert_eq "$(jq -r .raw rej.ndjson | head -1)" '[1,2]'
	assert_eq "$(jq -c '[.in, .out, .rejected, .aggregated]' st.json)" '[5,1,3,2]'
	assert_contains "$stderr_file" "etl-agg: 5 in, 1 out, 3 rejected (parse 3)"
}

@test "--partial | --merge equals the plain run on 2, 3 and 7 chunks" {
	etl-agg -g Suburb,Date:month -a "$ALL" "$M" 3>&- 2>/dev/null >plain
	for n in 2 3 7; do
		split -n "l/$n" "$M" "c$n."
		for f in c$n.*; do
			etl-agg -q -g Suburb,Date:month -a "$ALL" --partial "$f" 3>&-
		done >"p$n"
		etl-agg -g Suburb,Date:month -a "$ALL" --merge "p$n" 3>&- 2>err >"m$n"
		cmp plain "m$n"
		assert_contains err "83 out, 0 rejected"
	done
	# A combiner in between changes nothing.
	etl-agg -q -g Suburb,Date:month -a "$ALL" --merge --partial p7 3>&- |
	    etl-agg -q -g Suburb,Date:month -a "$ALL" --merge 3>&- | cmp plain -
}

@test "--partial | sort | --merge equals the plain run, in any locale's order" {
	A=count,sum:Price,mean:Price,min:Price,max:Price,median:Price,p90:Price,stddev:Price,var:Price,distinct:Type,mean:BuildingArea
	etl-agg -g Suburb,Type,Date:quarter -a "$A" "$M" 3>&- 2>/dev/null >plain
	split -n l/3 "$M" c.
	for f in c.*; do
		etl-agg -q -g Suburb,Type,Date:quarter -a "$A" --partial "$f" 3>&-
	done >parts
	LC_ALL=C sort parts | etl-agg -q -g Suburb,Type,Date:quarter -a "$A" --merge 3>&- >sorted
	cmp plain sorted
	LC_ALL=C sort -r parts | etl-agg -q -g Suburb,Type,Date:quarter -a "$A" --merge 3>&- >reversed
	cmp plain reversed
	# The partial lines of one run come out sorted, keys first.
	etl-agg -q -g Suburb,Type,Date:quarter -a "$A" --partial "$M" 3>&- >p
	LC_ALL=C sort -c p
	assert_eq "$(head -1 p | cut -f1)" '["Abbotsford","h","2016-Q1"]'
}

@test "--merge rejects lines that are not partial states and passes inline rejects on" {
	printf '%s\n' '{"k":1,"x":2}' '[1]' >in.ndjson
	etl-agg -q -g k -a sum:x --partial --rejects inline in.ndjson >parts
	assert_eq "$(grep -c '^__reject	' parts)" 1
	printf '%s\n' 'junk' '["a"]	{}' '[1,2]	{"n":1,"f":{"x":{"n":0}}}' '[1]	{"n":1,"f":{}}' >>parts
	run_split etl-agg -g k -a sum:x --merge parts 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"k":1,"x_sum":2}'
	assert_eq "$(jq -c '[.tool, .src.line, .reasons[0].code]' rej.ndjson | tr '\n' ' ')" \
	    '["etl-agg",2,"parse"] ["etl-agg",3,"parse"] ["etl-agg",4,"parse"] ["etl-agg",5,"parse"] ["etl-agg",6,"parse"] '
	# An exact merge refuses sketches.
	etl-agg -q -g k -a median:x --approx --partial in.ndjson 3>&- >sk
	run_split etl-agg -g k -a median:x --merge sk 3>rej2.ndjson
	assert_eq "$output" ""
	assert_contains rej2.ndjson '"code":"parse"'
}

@test "--approx: percentiles within 1% and distinct within 2% on 300,000 values" {
	"$PY" - <<-'EOF'
	import numpy as np
	r = np.random.default_rng(42)
	p = (np.round(np.exp(r.normal(13.3, 0.5, 300000)) / 100) * 100).astype(int).tolist()
	g = r.integers(0, 2, 300000).tolist()
	i = r.integers(0, 150000, 300000).tolist()
	with open('big.ndjson', 'w') as f:
	    f.writelines('{"g":%d,"price":%d,"id":"o%d"}\n' % t for t in zip(g, p, i))
	EOF
	A=count,p1:price,p10:price,median:price,p75:price,p90:price,p99:price,distinct:id,mean:price
	etl-agg -q -g g -a "$A" big.ndjson 3>&- >exact
	etl-agg -q --approx -g g -a "$A" big.ndjson 3>&- >approx
	split -n l/4 big.ndjson c.
	for f in c.*; do etl-agg -q --approx -g g -a "$A" --partial "$f" 3>&-; done |
	    etl-agg -q --approx -g g -a "$A" --merge 3>&- >merged
	# Exact states merge into sketches too.
	{ etl-agg -q -g g -a "$A" --partial c.aa 3>&-
	  cat c.ab c.ac c.ad | etl-agg -q --approx -g g -a "$A" --partial 3>&-; } |
	    etl-agg -q --approx -g g -a "$A" --merge 3>&- >mixed
	"$PY" - <<-'EOF'
	import json
	ex = [json.loads(l) for l in open('exact')]
	for name in ('approx', 'merged', 'mixed'):
	    ap = [json.loads(l) for l in open(name)]
	    assert len(ap) == len(ex) == 2
	    for e, a in zip(ex, ap):
	        assert e['count'] == a['count'] and e['price_mean'] == a['price_mean']
	        for k in ('p1', 'p10', 'median', 'p75', 'p90', 'p99'):
	            x, y = e['price_' + k], a['price_' + k]
	            assert abs(x - y) <= 0.01 * x, (name, k, x, y)
	        x, y = e['id_distinct'], a['id_distinct']
	        assert abs(x - y) <= 0.02 * x, (name, x, y)
	EOF
	# Bounded: a sketch state does not grow with the values.
	etl-agg -q --approx -g g -a median:price,distinct:id --partial big.ndjson 3>&- >st
	[ "$(wc -c <st)" -lt 120000 ]
}

@test "the mean of 1e6 values of 1e9 plus noise keeps its decimals" {
	"$PY" - <<-'EOF'
	import math, random
	random.seed(3)
	xs = [1e9 + random.random() * 1e-3 for _ in range(1000000)]
	with open('m.ndjson', 'w') as f:
	    f.writelines('{"v":%r}\n' % x for x in xs)
	with open('want', 'w') as f:
	    f.write(repr(math.fsum(xs) / len(xs)) + '\n')
	EOF
	etl-agg -q -a count,mean:v m.ndjson 3>&- | jq -r .v_mean >got
	"$PY" -c 'import sys; a, b = (float(open(f).read()) for f in ("got", "want")); sys.exit(a != b)'
	# 1000000000.0005: a naive running sum is off in the fourth decimal.
	assert_contains got "1000000000.0005"
	# var is exact, where numpy's two passes are not: compare with fractions.
	head -20000 m.ndjson >m2.ndjson
	etl-agg -q -a var:v,stddev:v m2.ndjson 3>&- >got2
	"$PY" - <<-'EOF'
	import json, math
	from fractions import Fraction as F
	xs = [F(json.loads(l)['v']) for l in open('m2.ndjson')]
	m = sum(xs) / len(xs)
	var = float(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
	got = json.loads(open('got2').read())
	assert got['v_var'] == var, (got, var)
	assert abs(got['v_stddev'] - math.sqrt(var)) <= 1e-15 * math.sqrt(var)
	EOF
}

@test "empty input: exit 0, no output, plain and merge" {
	run_split etl-agg -g k -a count,median:x </dev/null 3>&-
	[ "$status" -eq 0 ]
	[ ! -s "$stdout_file" ]
	run_split etl-agg -a count,sum:x </dev/null 3>&-
	[ "$status" -eq 0 ]
	[ ! -s "$stdout_file" ]
	run_split etl-agg -g k --merge </dev/null 3>&-
	[ "$status" -eq 0 ]
	[ ! -s "$stdout_file" ]
	assert_contains "$stderr_file" "etl-agg: 0 in, 0 out, 0 rejected"
}

@test "usage errors exit 64" {
	for args in "-x" "-a foo" "-a sum" "-a count:x" "-a p101:x" "-a px:x" \
	    "-g d:hour" "-g count" "-g a -a sum:b,sum:b" "-g ,"; do
		run_split etl-agg $args </dev/null 3>&-
		[ "$status" -eq 64 ] || { echo "etl-agg $args: $status"; return 1; }
		assert_contains "$stderr_file" "usage: etl-agg [-hq]"
	done
	run_split etl-agg -h
	[ "$status" -eq 0 ]
	assert_contains "$stdout_file" "--approx"
}

@test "a missing file exits 66, the others are still read" {
	run_split etl-agg -g Type nosuch.ndjson "$M" 3>&-
	[ "$status" -eq 66 ]
	assert_eq "$(lines "$stdout_file")" 3
	assert_contains "$stderr_file" "nosuch.ndjson"
}

@test "a full disk exits 74; a closed pipe ends quietly with 0" {
	run bash -c 'etl-agg -g Suburb,Date:day "$1" 3>&- >/dev/full' _ "$M"
	[ "$status" -eq 74 ]
	[[ "$output" == *"stdout: No space left on device"* ]]
	seq 1 200000 | awk '{ print "{\"k\":" $1 ",\"v\":" $1 "}" }' >many.ndjson
	etl-agg -g k -a sum:v many.ndjson 3>&- 2>err | head -1 >first
	assert_eq "${PIPESTATUS[0]}" 0
	# Keys in byte order: [100000] comes before [1].
	assert_eq "$(cat first)" '{"k":100000,"v_sum":100000}'
	! grep -q error err
}

@test "the EXAMPLES of the man page run" {
	cp "$DATA/agg/offers.ndjson" "$DATA/agg/melb.ndjson" .
	mlr --ijson --ocsv unsparsify melb.ndjson >melb.csv
	man_examples "$ETL_ROOT/man/etl-agg.1" >examples.sh
	[ "$(lines examples.sh)" -ge 5 ]
	run bash -eu -o pipefail examples.sh
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[ ! -s rejects.ndjson ]
	assert_eq "$(lines market.ndjson)" 91
	cmp monthly.ndjson merged.ndjson
	# From CSV, every value a string: the same medians, none null.
	jq -c '[.Suburb, .Date, .count, .Price_median, .Price_p90]' monthly.ndjson >want
	jq -c '[.Suburb, .Date, .count, .Price_median, .Price_p90]' from-csv.ndjson >got
	cmp want got
	assert_eq "$(jq -c 'select(.Price_median == null)' from-csv.ndjson | wc -l)" 0
}
