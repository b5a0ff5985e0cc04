#!/usr/bin/env bats
# The lazy scanner against jansson, and etl-check's fast path against its
# full validator.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "scanner and jansson agree on generated valid and corrupted lines" {
	for seed in 1 2 3; do
		$PY "$ETL_ROOT/tests/gen-json.py" "$seed" 60000 >in.ndjson
		run "$ETL_ROOT/tests/bin/scan-diff" in.ndjson
		[ "$status" -eq 0 ]
		# The corpus exercises all three verdicts.
		[[ "$output" =~ ([0-9]+)\ ok,\ ([0-9]+)\ unsure,\ ([0-9]+)\ invalid ]]
		[ "${BASH_REMATCH[1]}" -gt 1000 ]
		[ "${BASH_REMATCH[2]}" -gt 1000 ]
		[ "${BASH_REMATCH[3]}" -gt 1000 ]
	done
}

@test "scanner and jansson agree on the test fixtures" {
	cat "$DATA"/check/*.ndjson >in.ndjson
	run "$ETL_ROOT/tests/bin/scan-diff" in.ndjson
	[ "$status" -eq 0 ]
}

@test "the scanner catches what it must refuse" {
	printf '%s\n' '{"a":1,"a":2}' '{"a":"\u0000"}' '{"a":"\ud800"}' '{"a":01}' \
	    '{"a":1.}' '{"a":-}' '{"a":tru}' '{"a":1} x' '{"a":[1,]}' '{"a":"x' >bad.ndjson
	printf '{"a":"\xc3\x28"}\n{"a":1\x00}\n' >>bad.ndjson
	# Numbers read eight bytes at a time: a bad byte at each place of
	# the eight, and bytes whose top bit a carry could hide.
	for i in 1 2 3 4 5 6 7 8; do
		printf '{"a":%s}\n' "$(printf '%0*d' "$i" 7)x" "1.$(printf '%0*d' "$i" 3)/"
	done >>bad.ndjson
	printf '{"a":123456789\x89\x8a}\n{"a":12345678\xff}\n{"a":0.1234567\xb9}\n' >>bad.ndjson
	run "$ETL_ROOT/tests/bin/scan-diff" bad.ndjson
	[ "$status" -eq 0 ]
	[[ "$output" == *"31 lines: 0 ok, 0 unsure, 31 invalid"* ]]
}

@test "duplicate keys are found among keys of the same hash" {
	# The scanner hashes a key by its length and first and last bytes:
	# k00z to k11z share one hash, aa to bn have their own.  Past a
	# bound on comparisons (40 keys of one hash) it leaves the line to
	# jansson.
	$PY - <<'PY' >dups.ndjson
import itertools, json
same = ['k%02dz' % i for i in range(12)]
other = ['%s%s' % p for p in itertools.product('ab', 'abcdefghijklmnopqrstuvwxyz')][:40]
line = lambda keys: '{' + ','.join('"%s":%d' % (k, i) for i, k in enumerate(keys)) + '}'
print(line(same + other))
for k in ('k00z', 'k06z', 'k11z', 'aa', 'bn'):
    print(line(same + other + [k]))
print(line(['k%02dz' % i for i in range(40)]))
print(line(['k%02dz' % i for i in range(40)] + ['k00z']))
PY
	run "$ETL_ROOT/tests/bin/scan-diff" dups.ndjson
	[ "$status" -eq 0 ]
	[[ "$output" == *"8 lines: 1 ok, 2 unsure, 5 invalid"* ]]
}

@test "records of one shape: keys in their place, and keys out of it" {
	# The scanner keeps the keys of the last record and takes each key
	# found in its place without scanning it; everything else about such
	# a record is still checked.  Each variant follows a record of the
	# shape, so the shape is there to be matched.
	$PY - <<'PY' >shape.ndjson
base = '{"id":"a1","price":530000,"city":"Z\\u00fcrich","agent":{"n":1},"tags":["x"]}'
variants = [
    base,
    base[:-1] + ',"id":"again"}',                     # a shape key repeated after it
    base.replace('"city":', '"id":'),                  # one repeated in the middle
    base.replace('"price":', '"price" :'),             # whitespace: off the shape, still good
    base.replace('"price":', '"prices":'),             # a key longer than its place
    base.replace('"price":', '"pric":'),               # and shorter
    base.replace('"price":', '"pr\\u0069ce":'),      # escaped: jansson judges it
    base.replace('530000', '530000x'),                 # a bad value after a key in place
    base.replace(',"tags":["x"]}', ''),                # cut after a key in place
    base.replace('"city":"', '"city":"\udcc3('),       # bad UTF-8 after a key in place
    base.replace('{"id":"a1",', '{'),                  # the shape's first key missing
    base[:-1] + ',"extra":true}',                      # one key more
    '{"id":"a1","price":530000}',                      # a prefix of the shape
]
out = []
for v in variants:
    out.append(base)
    out.append(v)
import sys
sys.stdout.buffer.write(('\n'.join(out) + '\n').encode('utf-8', 'surrogateescape'))
PY
	run "$ETL_ROOT/tests/bin/scan-diff" shape.ndjson
	[ "$status" -eq 0 ]
	# 13 records of the shape, 7 good variants, 1 unsure, 5 refused.
	[[ "$output" == *"26 lines: 20 ok, 1 unsure, 5 invalid"* ]]
}

@test "etl-check's fast path gives what the full validator gives" {
	$PY - <<'PY' >mixed.ndjson
import random
r = random.Random(7)
for i in range(20000):
    rec = '{"id":"%x","price":%s,"currency":%s,"living_area":%s,"property_type":"%s","municipality":"M\\u00fcnchen","scraping_date":"%s","price_per_m2":%s}' % (
        i, r.choice(['530000', '1e6', '-1', '"12"', '0.5']), r.choice(['"EUR"', 'null', '"eur"', '"\\u0045UR"']),
        r.choice(['84.0', '9.99', '500', '501', '10']), r.choice(['apartment', 'house', 'castle']),
        r.choice(['2021-02-17', '2021-02-30', '2024-02-29']), r.choice(['6309.52', '499.99', '15000', '15000.01']))
    k = r.random()
    if k < 0.1:
        rec = rec.replace('"id":', '"ident":')
    elif k < 0.2:
        rec = rec[:-1] + ',"extra":{"x":[1,{"y":2}]},"a/b~c":1}'
    elif k < 0.25:
        rec = rec.replace('"price":', '"price":[1],"p":')
    elif k < 0.3:
        rec = rec.replace('"living_area":', '"living_area":12345678901234567890123,"la":')
    print(rec)
PY
	etl-check -s "$DATA/check/offers.schema.json" mixed.ndjson >fast.out 3>fast.rej 2>/dev/null
	ETL_SCAN=0 etl-check -s "$DATA/check/offers.schema.json" mixed.ndjson >slow.out 3>slow.rej 2>/dev/null
	cmp fast.out slow.out
	cmp fast.rej slow.rej
	[ "$(lines fast.out)" -gt 100 ]
	[ "$(lines fast.rej)" -gt 100 ]
}

@test "etl-check: fields of records in runs of one key order find their properties" {
	# Runs of records in one order, then another: a field's place names
	# another property in each.  The fast path trusts places only within
	# a run of one shape.
	$PY - <<'PY' >orders.ndjson
import random
r = random.Random(3)
good = lambda g, *bad: lambda: g if r.random() < 0.7 else r.choice(bad)
fields = {
    'id': good('"a"', '""', '7'),
    'price': good('530000', '-1', '"12"'),
    'living_area': good('84.5', '9', '501'),
    'property_type': good('"house"', '"castle"'),
    'scraping_date': good('"2021-02-17"', '"2021-02-30"'),
    'price_per_m2': good('6309.52', '499', 'null'),
}
orders = [list(fields), list(reversed(fields)), sorted(fields),
          list(fields)[:-1] + ['extra']]
for run in range(300):
    keys = r.choice(orders)
    for i in range(r.randint(1, 6)):
        print('{' + ','.join('"%s":%s' % (k, fields[k]() if k in fields else '1') for k in keys) + '}')
PY
	etl-check -s "$DATA/check/offers.schema.json" orders.ndjson >fast.out 3>fast.rej 2>/dev/null || true
	ETL_SCAN=0 etl-check -s "$DATA/check/offers.schema.json" orders.ndjson >slow.out 3>slow.rej 2>/dev/null || true
	cmp fast.out slow.out
	cmp fast.rej slow.rej
	[ "$(lines fast.out)" -gt 10 ]
	[ "$(lines fast.rej)" -gt 100 ]
}

@test "etl-agg's scanner path gives what the full parser gives" {
	$PY - <<'PY' >agg.ndjson
import random
r = random.Random(11)
for i in range(20000):
    print('{"id":%d,"city":%s,"price":%s,"d":%s,"x":{"nested":1}}' % (i,
        r.choice(['"Z\\u00fcrich"', '"Zürich"', '"Basel"', 'null', '1', '1.0', 'true', '[1]', '"a\\"b"']),
        r.choice(['530000', '1.5', '-0', '1e3', '"12"', 'null', '123456789012345678901', '9007199254740993']),
        r.choice(['"2021-02-17"', '"2021-02-30"', '"2021-12-31T23:30:00-01:00"', '5', 'null'])))
PY
	# The nested field sends every record down the full path: drop it for the fast one.
	sed 's/,"x":{"nested":1}//' agg.ndjson >flat.ndjson
	for a in "count,sum:price,mean:price,min:price,max:price,median:price,p90:price,stddev:price" "count"; do
		etl-agg -g city,d:month -a "$a" flat.ndjson >fast.out 3>&- 2>fast.err
		ETL_SCAN=0 etl-agg -g city,d:month -a "$a" flat.ndjson >slow.out 3>&- 2>slow.err
		ETL_SCAN=0 etl-agg -g city,d:month -a "$a" agg.ndjson >nested.out 3>&- 2>/dev/null
		cmp fast.out slow.out
		cmp fast.out nested.out
		cmp fast.err slow.err
		[ "$(lines fast.out)" -gt 20 ]
	done
}

@test "etl-store's scanner path stores what the full parser stores" {
	# Partition values of every kind, spellings of numbers, escapes,
	# members around the key, and lines the scanner must leave to jansson.
	cp "$DATA/store/partition-values.ndjson" pk.ndjson
	$PY - <<'PY' >>pk.ndjson
import random
r = random.Random(5)
for i in range(3000):
    print('{"id":%d,"k":%s,"x":%s}' % (i,
        r.choice(['"Z\\u00fcrich"', '"Zürich"', '"a/b"', '""', 'null', '1', '1.0', '-0', '1e3',
                  'true', '[1]', '{"a":1}', '"a\\"b"', '123456789012345678901']),
        r.choice(['1', '"s"', '[1,{"y":2}]', 'null'])))
PY
	ETL_RUN_ID=t etl-store --root fast --by k pk.ndjson >fast.out 3>fast.rej 2>fast.err
	ETL_RUN_ID=t ETL_SCAN=0 etl-store --root slow --by k pk.ndjson >slow.out 3>slow.rej 2>slow.err
	cmp fast.rej slow.rej
	cmp fast.err slow.err
	dump() {
		(cd "$1" && find . -type f -name '*.zst' -print0 | sort -z |
		    while IFS= read -r -d '' f; do
			echo "${f%/part-*}"
			zstdcat -q "$f"
		done)
	}
	dump fast >fast.dump
	dump slow >slow.dump
	cmp fast.dump slow.dump
	grep -q '^./k=true$' fast.dump
	grep -q '^{"a" : 10,"b":"x"}$' fast.dump
	[ "$(lines fast.rej)" -gt 100 ]
}

@test "etl-model's scanner path fits and predicts what the full parser does" {
	$PY - <<'PY' >m.ndjson
import random
r = random.Random(3)
for i in range(6000):
    a = r.choice(['40', '85.5', '120', '"85"', 'null', '1e2', '123456789012345678901'])
    print('{"id":%d,"price":%s,"area":%s,"type":%s,"canton":%s,"x":%s%s}' % (i,
        r.choice(['500000', '750000.5', '1.2e6', '"9"', 'null', '-0']),
        a, r.choice(['"flat"', '"house"', '"h\\u00e4us"', '1', 'true', 'null', '[1]']),
        r.choice(['"ZH"', '"GE"', '"BE"', 'null', '2']),
        r.choice(['1', '[1,{"y":2}]', '"s"']),
        r.choice(['', '', '', ',"price_pred":1', ',"y":12345678901234567890123'])))
print('{}')
PY
	for scan in 1 0; do
		ETL_RUN_ID=t ETL_SCAN=$scan etl-model fit -y price -x area -c type \
		    -g canton m.ndjson >model$scan.ndjson 3>fit$scan.rej 2>fit$scan.err
		ETL_RUN_ID=t ETL_SCAN=$scan etl-model predict -m model1.ndjson \
		    m.ndjson >pred$scan.out 3>pred$scan.rej 2>pred$scan.err
	done
	cmp model1.ndjson model0.ndjson
	cmp fit1.rej fit0.rej
	cmp pred1.out pred0.out
	cmp pred1.rej pred0.rej
	cmp pred1.err pred0.err
	[ "$(lines model1.ndjson)" -ge 3 ]
	[ "$(lines pred1.out)" -gt 1000 ]
	[ "$(lines pred1.rej)" -gt 100 ]
}

@test "numbers print as printf's shortest round trip, without printf" {
	run "$ETL_ROOT/tests/bin/real-diff" 300000 "$RANDOM"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "0 of 300000 differ" ]
}

@test "etl-clean with keep reads only the fields it needs, and gives what the full parser gives" {
	$PY - <<'PY' >c.ndjson
import random
r = random.Random(9)
for i in range(8000):
    price = r.choice(['755000', '"755\'000 CHF"', '"CHF 1\'250\'000.\u2013"', '"1.25 Mio CHF"',
                      '"Preis auf Anfrage"', '"  "', 'null', '1e400', '123456789012345678901234'])
    desc = r.choice(['""', '"  "', '"\\t \\n"', '"\u00a0"', '" x "', '"K\u00fcche"', '"a\\"b"'])
    rec = ('{"id":"%d","title":"T\u00fcr %d","description":%s,"raw_price":%s,"currency":%s,'
           '"living_area":%s,"rooms":%s,"property_type":%s,"scraping_date":%s,"city":%s,'
           '"agent":{"name":"A","tags":[1,{"x":null}]},"extra":%s}') % (
        i, i, desc, price, r.choice(['"CHF"', '""', 'null']),
        r.choice(['85', '"85 m\u00b2"', '"915 sq ft"', '""', '0']),
        r.choice(['3.5', '"3,5"', '""', '"x"']),
        r.choice(['"Wohnung"', '" maison "', '"Villa"', '1']),
        r.choice(['"2024-03-17"', '"17.03.2024"', '"2021-02-30"', '5']),
        r.choice(['"Z\u00fcrich"', '"Bern"', '""']), r.choice(['1', '"  "', '[]']))
    k = r.random()
    if k < 0.03:
        rec = rec[:-1] + ',"id":"dup"}'
    elif k < 0.05:
        rec = rec.replace('"title"', '"t\\u0069tle"')
    print(rec)
PY
	R="$DATA/clean/keep.rules.json"
	ETL_RUN_ID=t etl-clean -r "$R" --stats fast.json c.ndjson >fast.out 3>fast.rej 2>fast.err
	ETL_RUN_ID=t ETL_SCAN=0 etl-clean -r "$R" --stats slow.json c.ndjson >slow.out 3>slow.rej 2>slow.err
	cmp fast.out slow.out
	cmp fast.rej slow.rej
	cmp fast.err slow.err
	assert_eq "$(jq -cS 'del(.elapsed_s, .started_at, .ended_at)' fast.json)" \
	    "$(jq -cS 'del(.elapsed_s, .started_at, .ended_at)' slow.json)"
	[ "$(jq .nulls.description fast.json)" -gt 1000 ]
	[ "$(lines fast.out)" -gt 2000 ]
	[ "$(lines fast.rej)" -gt 100 ]
}
