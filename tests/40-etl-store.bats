#!/usr/bin/env bats
# etl-store: Hive layout and escaping, atomic commits, manifest, lock,
# crashes, the stream protocol.

load helper

# 4000 offers; some cities hostile, some missing.
make_offers() {
	"$PY" - "$@" <<'EOF'
import json, random, sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
random.seed(7)
cities = ["Zürich", "a/b", "../../escape", "x=y", None, "Bern", "Genève", "50%"]
for i in range(n):
    r = {"id": "o%06d" % i, "price": random.randint(100000, 2000000),
         "living_area": round(random.uniform(20, 300), 1),
         "month": "2024-%02d" % (i % 3 + 1), "pad": "p" * random.randint(0, 40)}
    c = cities[random.randrange(len(cities))]
    if c is not None:
        r["city"] = c
    print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
EOF
}

# Offers made once for the whole file.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	make_offers 4000 >offers4000.ndjson
	make_offers 60000 >big.ndjson
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	D="$DATA/store"
	READ="$D/read-store.py"
}

# The store read back as a Hive reader does, normalised and sorted.
readback() {
	"$PY" "$READ" "$1" | jq -cS . | sort
}

# What readback must give for an input: records minus rejects, partition
# fields as strings, null/missing/"" as null.
expected() {
	local f=$1
	shift
	jq -cS --argjson keys "$(printf '%s\n' "$@" | jq -R . | jq -sc .)" '
	    reduce $keys[] as $k (.; .[$k] = (if .[$k] == null or .[$k] == "" or .[$k] == "__HIVE_DEFAULT_PARTITION__"
	        then null else (.[$k] | tostring) end))' "$f" | sort
}

# Every path under the parent of the root, relative, sorted.
tree() {
	(cd "$1" && find . | sort)
}

@test "4000 offers by month,city: only directories under the root, read back the same" {
	cp "$BATS_FILE_TMPDIR/offers4000.ndjson" offers.ndjson
	mkdir top
	run_split etl-store --root top/store --by month,city offers.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines rej.ndjson)" 0
	assert_contains "$stderr_file" "etl-store: 4000 in, 4000 out, 0 rejected"
	# Nothing outside the root; the hostile cities escaped as Hive does.
	assert_eq "$(ls top)" store
	ls top/store/month=2024-01 >dirs
	for d in 'city=a%2Fb' 'city=..%2F..%2Fescape' 'city=x%3Dy' 'city=__HIVE_DEFAULT_PARTITION__' \
	    'city=50%25' 'city=Zürich' 'city=Genève' 'city=Bern'; do
		grep -qxF "$d" dirs
	done
	assert_eq "$(wc -l <dirs)" 8
	assert_eq "$(ls -A top/store | tr '\n' ' ')" "_commits _lock month=2024-01 month=2024-02 month=2024-03 "
	readback top/store >got
	expected offers.ndjson month city >want
	assert_eq "$(lines got)" 4000
	cmp want got
	# Stored records lose the partition fields and keep the rest as it was.
	zstd -qdc top/store/month=2024-02/city=Bern/*.ndjson.zst | head -1 >rec
	jq -e 'has("city") or has("month") | not' rec
	grep -F "$(jq -r .id rec)" offers.ndjson | "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
del r["month"], r["city"]
print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))' >want1
	cmp want1 rec
	# Stdout: one line per file, the records adding up.
	assert_eq "$(jq -s 'map(.records) | add' "$stdout_file")" 4000
	assert_eq "$(lines "$stdout_file")" 24
}

@test "a second identical overwrite run leaves one copy; append adds; untouched partitions stay" {
	cp "$BATS_FILE_TMPDIR/offers4000.ndjson" offers.ndjson
	etl-store -q --root s --by month,city offers.ndjson 3>&- >/dev/null
	run_split etl-store --root s --by month,city offers.ndjson 3>&-
	[ "$status" -eq 0 ]
	readback s >got
	expected offers.ndjson month city >want
	cmp want got
	# One file per partition, all of the second commit.
	assert_eq "$(find s -name '*.ndjson.zst' | wc -l)" 24
	assert_eq "$(find s -name 'part-test-run.2-*.ndjson.zst' | wc -l)" 24
	assert_eq "$(ls s/_commits | tr '\n' ' ')" "test-run.2.json test-run.json "
	# Overwriting January only leaves February and March alone.
	jq -c 'select(.month == "2024-01") | .id = "new-" + .id' offers.ndjson | head -100 >jan.ndjson
	etl-store -q --root s --by month,city jan.ndjson 3>&- >/dev/null
	{ expected jan.ndjson month city; jq -c 'select(.month != "2024-01")' offers.ndjson |
	    expected /dev/stdin month city; } | sort >want
	readback s >got
	cmp want got
	# Append keeps what is there and adds the new files.
	ETL_RUN_ID=late etl-store -q --root s --by month,city --mode append jan.ndjson 3>&- >/dev/null
	readback s >got2
	sort want <(expected jan.ndjson month city) >want2
	cmp want2 got2
	[ -n "$(find s -name 'part-late-*.ndjson.zst')" ]
	[ -z "$(find s -name '.*' ! -name . )" ]
}

@test "hostile values: escaped like Hive, never outside the root, too long is a reject" {
	mkdir p
	run_split etl-store --root p/s --by v "$D/hostile.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_contains "$stderr_file" "etl-store: 22 in, 19 out, 3 rejected (parse 1, partition 2)"
	assert_eq "$(ls p)" s
	# The directory names are Hive's escaping of the values.
	"$PY" - "$D/hostile.ndjson" >want <<'EOF'
import json, sys
def esc(s):
    out = b""
    for b in s.encode():
        if b < 0x20 or b == 0x7f or chr(b) in "\"#%'*/:=?\\{[]^":
            out += b"%%%02X" % b
        else:
            out += bytes([b])
    return out.decode()
names = set()
for line in open(sys.argv[1]):
    v = json.loads(line).get("v")
    name = "v=" + ("__HIVE_DEFAULT_PARTITION__" if v in (None, "") else esc(v))
    if "\0" in (v or ""):
        continue  # a NUL in a string is a parse reject, as in every tool
    if len(name.encode()) <= 255:
        names.add(name)
print("\n".join(sorted(names)))
EOF
	ls p/s | grep '^v=' | LC_ALL=C sort >got
	LC_ALL=C sort want >want.s
	cmp want.s got
	grep -qxF 'v=..%2F' got
	grep -qxF 'v=%2Fetc%2Fpasswd' got
	grep -qxF 'v=ctl%01%1F%7F' got
	grep -qxF 'v=q%22%23%27%2A%3A%3F%5C%7B%5B%5D%5E' got
	grep -qxF 'v=東京' got
	grep -qxF 'v=' got && false
	# The rejects: the 300-byte value and the 100 slashes (300 escaped).
	assert_eq "$(jq -c '[.src.line, .reasons[0].code, .reasons[0].path]' rej.ndjson | tr '\n' ' ')" \
	    '[12,"parse",""] [16,"partition","/v"] [22,"partition","/v"] '
	# Every value comes back, the three defaults as null.
	readback p/s >got
	jq -c 'select(.n != 11 and .n != 15 and .n != 21)' "$D/hostile.ndjson" | expected /dev/stdin v >want
	cmp want got
}

@test "partition values: numbers by their JSON text, booleans, objects and arrays rejected" {
	printf '%s\n' '{"k":2024,"x":1}' '{"k":2.5,"x":2}' '{"k":true,"x":3}' '{"k":false,"x":4}' \
	    '{"k":{"a":1},"x":5}' '{"k":[1],"x":6}' '{"k":"__HIVE_DEFAULT_PARTITION__","x":7}' \
	    '{"k":-0.1,"x":8,"big":12345678901234567890,"f":0.1,"i":7}' 'not json' >in.ndjson
	run_split etl-store --root s --by k in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(ls s | grep = | LC_ALL=C sort | tr '\n' ' ')" \
	    "k=-0.1 k=2.5 k=2024 k=__HIVE_DEFAULT_PARTITION__ k=false k=true "
	assert_eq "$(jq -c '[.src.line, .reasons[0].code, .reasons[0].path]' rej.ndjson | tr '\n' ' ')" \
	    '[5,"partition","/k"] [6,"partition","/k"] [9,"parse",""] '
	jq -s -e 'map(select(.src.line == 5))[0].reasons[0].message == "an object cannot be a partition value"' rej.ndjson
	# Integers stay integers and 0.1 stays 0.1 in the stored records.
	assert_eq "$(zstd -qdc s/k=-0.1/*.zst)" '{"x":8,"big":12345678901234567890,"f":0.1,"i":7}'
	assert_eq "$(zstd -qdc s/k=2024/*.zst)" '{"x":1}'
	assert_contains "$stderr_file" "9 in, 6 out, 3 rejected (partition 2, parse 1)"
}

@test "records without the keys are stored byte for byte; several --by; key names checked" {
	printf '%s\n' '{ "a" : 1,  "b":[1, 2] }' >in.ndjson
	etl-store -q --root s --by month --by city in.ndjson 3>&- >/dev/null
	zstd -qdc s/month=__HIVE_DEFAULT_PARTITION__/city=__HIVE_DEFAULT_PARTITION__/*.zst >got
	cmp in.ndjson got
	for k in City 'a-b' 'a,' '' 'a,a' 'é' '_x' 'a.b'; do
		run_split etl-store --root s --by "$k" in.ndjson 3>&-
		[ "$status" -eq 64 ]
	done
	assert_contains "$stderr_file" "usage: etl-store"
}

@test "manifest: files, records, bytes, partitions, run id; files read-only" {
	ETL_RUN_ID=r1 etl-store --root s --by month,city "$D/offers.ndjson" 3>&- >out.ndjson
	m=s/_commits/r1.json
	jq -e '.run_id == "r1" and .commit == "r1" and .mode == "overwrite" and .by == ["month","city"]
	    and .in == 30 and .rejected == 0 and .records == 30 and (.time | test("^[0-9-]{10}T[0-9:]{8}Z$"))
	    and (.files | length) == (.partitions | length) and (.ops == null)' "$m"
	# Stdout is the manifest's files.
	jq -c '.files[]' "$m" | cmp - out.ndjson
	# Each file exists with its size, its record count and the partition of its path.
	jq -r '.files[] | [.path, .bytes, .records] | @tsv' "$m" | while IFS=$'\t' read -r p b n; do
		assert_eq "$(stat -c %s "s/$p")" "$b"
		assert_eq "$(zstd -qdc "s/$p" | wc -l)" "$n"
		assert_eq "$(stat -c %a "s/$p")" 444
	done
	assert_eq "$(jq '[.partitions[].records] | add' "$m")" 30
	jq -e '.partitions[] | select(.values.city == "a/b") | .path == "month=2022-11/city=a%2Fb"' "$m"
	jq -e '.partitions[] | select(.path | endswith("__HIVE_DEFAULT_PARTITION__")) | .values.city == null' "$m"
	assert_eq "$(stat -c %a "$m")" 444
	[ -z "$(find s -type f ! -perm 444 ! -name _lock)" ]
}

@test "--max-file-bytes rolls parts; --level; every part is whole zstd" {
	head -3000 "$BATS_FILE_TMPDIR/offers4000.ndjson" >offers.ndjson
	run_split etl-store --root s --by month --max-file-bytes 4k --level 19 --max-open 1 offers.ndjson 3>&-
	[ "$status" -eq 0 ]
	[ "$(find s -name '*.zst' | wc -l)" -gt 6 ]
	find s -name '*.zst' -exec zstd -qt {} +
	readback s >got
	expected offers.ndjson month >want
	cmp want got
	# Parts are cut near the limit: none beyond 20 KiB plus one flush.
	jq -e 'select(.bytes > 4096 + 4096)' "$stdout_file" && false
	for o in '--level 99' '--max-file-bytes 1x' '--max-open 0' '--mode upsert' '--bogus'; do
		# shellcheck disable=SC2086
		run_split etl-store --root s --by month $o offers.ndjson 3>&-
		[ "$status" -eq 64 ]
	done
}

@test "the lock: a second writer exits 75, the root untouched" {
	printf '%s\n' '{"k":1}' >in.ndjson
	etl-store -q --root s --by k in.ndjson 3>&- >/dev/null
	tree s >before
	run_split flock s/_lock etl-store --root s --by k in.ndjson 3>&-
	[ "$status" -eq 75 ]
	assert_contains "$stderr_file" "another run is writing this store"
	tree s >after
	cmp before after
}

@test "73 when the root cannot be created; 66 on a missing file stores nothing" {
	printf '%s\n' '{"k":1}' >in.ndjson
	touch afile
	run_split etl-store --root afile/s --by k in.ndjson 3>&-
	[ "$status" -eq 73 ]
	run_split etl-store --root afile --by k in.ndjson 3>&-
	[ "$status" -eq 73 ]
	run_split etl-store --root s --by k in.ndjson nosuch.ndjson 3>&-
	[ "$status" -eq 66 ]
	assert_contains "$stderr_file" "nosuch.ndjson"
	[ -z "$(find s -name '*.zst' -o -name '.staging*')" ]
	assert_eq "$(ls s/_commits)" ""
}

@test "ETL_RUN_ID that cannot name a file is 78" {
	printf '%s\n' '{"k":1}' >in.ndjson
	ETL_RUN_ID=../x run_split etl-store --root s --by k in.ndjson 3>&-
	[ "$status" -eq 78 ]
	[ ! -e x ] && [ -z "$(find s -name '*.zst')" ]
}

@test "SIGKILL in the middle of a large write leaves the previous data; the next run cleans up" {
	make_offers 2000 >base.ndjson
	etl-store -q --root s --by month,city base.ndjson 3>&- >/dev/null
	readback s >want
	ln -s "$BATS_FILE_TMPDIR/big.ndjson" big.ndjson
	for t in 0.05 0.25; do
		ETL_RUN_ID=big etl-store -q --root s --by month,city big.ndjson 3>&- >/dev/null 2>&1 &
		pid=$!
		sleep "$t"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		# Its commit decided (the journal written) or done before the
		# kill, on a fast machine: the next test's business.
		[ ! -e s/_commits/big.json ] && [ ! -e s/_commits/.big.pending ] ||
		    break
		# A reader sees exactly the previous data, no partial file.
		readback s >got
		cmp want got
		[ -z "$(find s -type f ! -path 's/.*' ! -path 's/_*' ! -name 'part-test-run-*.ndjson.zst')" ]
	done
	# One more kill while the tool waits for the rest of its input.
	mkfifo fifo
	ETL_RUN_ID=big2 etl-store -q --root s --by month,city fifo 3>&- >/dev/null 2>&1 &
	pid=$!
	exec 5>fifo
	cat big.ndjson >&5
	sleep 0.2
	kill -9 "$pid"
	wait "$pid" || true
	exec 5>&-
	[ -n "$(find s -name '.staging-big2')" ]
	readback s >got
	[ -e s/_commits/big.json ] || cmp want got
	# The next run removes what the killed ones left.
	ETL_RUN_ID=next run_split etl-store --root s --by month,city base.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_contains "$stderr_file" "removing what a killed run left"
	[ -z "$(find s -name '.*')" ]
}

@test "killed after the journal or after the first swap: the next run finishes the commit" {
	make_offers 2000 >a.ndjson
	etl-store -q --root s --by month,city a.ndjson 3>&- >/dev/null
	make_offers 3000 | tail -1500 | jq -c '.id = "b" + .id' >b.ndjson
	for where in journal op; do
		ETL_STORE_CRASH=$where ETL_RUN_ID="c-$where" run_split etl-store --root s --by month,city b.ndjson 3>&-
		[ "$status" -eq 137 ]
		[ -e "s/_commits/.c-$where.pending" ]
		[ ! -e "s/_commits/c-$where.json" ]
		# Every partition is whole: the old one or the new one.
		readback s >got
		jq -s -e 'group_by(.month + "/" + (.city // "")) |
		    all(map(.id[0:1]) | unique | length == 1)' got
		ETL_RUN_ID="n-$where" run_split etl-store --root s --by k /dev/null 3>&-
		[ "$status" -eq 0 ]
		assert_contains "$stderr_file" "finishing the commit of a killed run"
		[ -e "s/_commits/c-$where.json" ]
		[ -z "$(find s -name '.*' ! -name .)" ]
		readback s >got
		expected b.ndjson month city >want
		cmp want got
		etl-store -q --root s --by month,city a.ndjson 3>&- >/dev/null
	done
}

@test "SIGTERM: nothing committed, the staging removed, status 143" {
	make_offers 500 >a.ndjson
	etl-store -q --root s --by month a.ndjson 3>&- >/dev/null
	readback s >want
	mkfifo fifo
	etl-store --root s --by month fifo 3>&- >/dev/null 2>err &
	pid=$!
	exec 5>fifo
	make_offers 3000 >&5
	sleep 0.3
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 5>&-
	[ "$st" -eq 143 ]
	assert_contains err "nothing stored"
	readback s >got
	cmp want got
	[ -z "$(find s -name '.*' ! -name .)" ]
}

@test "empty input exits 0 and writes an empty manifest" {
	run_split etl-store --root s --by k </dev/null 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	jq -e '.files == [] and .records == 0' s/_commits/test-run.json
}

@test "stdout: >/dev/full is 74 after the commit, | head -1 is quiet and 0" {
	run_split sh -c 'etl-store --root s --by month,city "$1" >/dev/full 3>&-' sh "$D/offers.ndjson"
	[ "$status" -eq 74 ]
	[ -e s/_commits/test-run.json ]
	run_split sh -c 'etl-store --root s --by month,city "$1" 3>&- | head -1' sh "$D/offers.ndjson"
	[ "$status" -eq 0 ]
	assert_eq "$(lines "$stdout_file")" 1
	jq -e '.records >= 1' "$stdout_file"
	assert_eq "$(grep -c -v 'etl-store: 30 in, 30 out, 0 rejected' "$stderr_file")" 0
}

@test "help, version, usage" {
	run_split etl-store -h
	[ "$status" -eq 0 ]
	assert_contains "$stdout_file" "usage: etl-store [-hq] --root dir --by key[,key ...]"
	run_split etl-store --by k
	[ "$status" -eq 64 ]
	run_split etl-store --root s
	[ "$status" -eq 64 ]
	run_split etl-store --version
	[ "$status" -eq 0 ]
}

@test "round trip through etl-fetch" {
	[ -x "$ETL_ROOT/bin/etl-fetch" ] || skip "etl-fetch not built"
	etl-store -q --root s --by v "$D/hostile.ndjson" 3>&- >/dev/null
	cp "$BATS_FILE_TMPDIR/offers4000.ndjson" offers.ndjson
	etl-store -q --root o --by month,city offers.ndjson 3>&- >/dev/null
	etl-store -q --root o --by month,city offers.ndjson 3>&- >/dev/null
	etl-fetch o 3>&- | jq -cS . | sort >got
	expected offers.ndjson month city >want
	cmp want got
	etl-fetch s 3>&- | jq -cS . | sort >got
	jq -c 'select(.n != 11 and .n != 15 and .n != 21)' "$D/hostile.ndjson" | expected /dev/stdin v >want
	cmp want got
}

@test "DuckDB reads the store" {
	command -v duckdb >/dev/null || skip "duckdb not installed"
	cp "$BATS_FILE_TMPDIR/offers4000.ndjson" offers.ndjson
	etl-store -q --root s --by month,city offers.ndjson 3>&- >/dev/null
	duckdb -csv -noheader -c "SELECT count(*), count(DISTINCT city) FROM read_json('s/**/*.ndjson.zst', hive_partitioning=true)" >got
	assert_eq "$(cat got)" "4000,7"
	duckdb -csv -noheader -c "SELECT count(*) FROM read_json('s/**/*.ndjson.zst', hive_partitioning=true) WHERE city = 'a/b'" >n
	assert_eq "$(cat n)" "$(jq -c 'select(.city == "a/b")' offers.ndjson | wc -l)"
}

@test "the EXAMPLES of the man page run" {
	cp "$D/offers.ndjson" "$D/late.ndjson" "$D"/day*.ndjson .
	man_examples "$ETL_ROOT/man/etl-store.1" >examples.sh
	[ "$(lines examples.sh)" -ge 5 ]
	run_split sh -e examples.sh
	[ "$status" -eq 0 ]
	assert_eq "$(jq -s '[.[].records] | add' store/_commits/*.json)" 66
	readback store >got
	cat offers.ndjson late.ndjson | expected /dev/stdin month city >want
	cmp want got
	# The merge example: a1 of day 2 is gone with the correction, so day 1's is back.
	assert_eq "$(etl-fetch -q st/offers 3>&- | jq -r '"\(.id) \(.price)"' | sort | tr '\n' ' ')" \
	    "a1 530000 b2 1573000 c3 555000 d4 640000 "
	assert_eq "$(grep -c '"day":"2026-11-02","id":"c3"' "$stdout_file")" 1
}
