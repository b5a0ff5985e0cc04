#!/usr/bin/env bats
# etl-store --mode merge and --mode replace, and --wait: the table a
# history of days makes, against a small Python model; the journal of a
# merge replayed after a kill; a store another run holds.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	printf '%s\n' '{"id":"a","v":1,"d":"2021-01-01"}' '{"id":"b","v":1,"d":"2021-01-02"}' \
	    '{"id":"c","v":1,"d":"2021-01-01"}' >d1.ndjson
	printf '%s\n' '{"id":"a","v":2,"d":"2020-12-01"}' '{"id":"d","v":2,"d":"2021-01-01"}' >d2.ndjson
}

# merge DAY [FILE]: one day into store/t, its history in store/h.
merge() {
	etl-store -q --root store/t --by d --mode merge --key id --latest d \
	    --history store/h --day "$@" >/dev/null 3>>rejects.ndjson
}

table() {
	etl-fetch -q store/t 3>/dev/null | jq -cS . | sort
}

@test "merge: a later day's version wins, whatever its date; the others stay" {
	ETL_RUN_ID=r1 merge 2026-11-01 d1.ndjson
	ETL_RUN_ID=r2 merge 2026-11-02 d2.ndjson
	assert_eq "$(table | jq -r '"\(.id) \(.v) \(.d)"' | sort | tr '\n' ' ')" \
	    "a 2 2020-12-01 b 1 2021-01-02 c 1 2021-01-01 d 2 2021-01-01 "
	# The history holds every day's records whole, the day added by etl-fetch.
	assert_eq "$(etl-fetch -q store/h 3>/dev/null | jq -r '"\(.day) \(.id) \(.v)"' | sort | tr '\n' ' ')" \
	    "2026-11-01 a 1 2026-11-01 b 1 2026-11-01 c 1 2026-11-02 a 2 2026-11-02 d 2 "
	# Partitions the table no longer has are gone (a moved to 2020-12-01).
	[ -d store/t/d=2020-12-01 ] && [ -d store/t/d=2021-01-02 ]
	jq -e '.mode == "merge" and .history.day == "2026-11-02" and .history.records == 2
	    and .history.versions == 5' store/t/_commits/r2.json
}

@test "merge: a rerun replaces its day only; a version it drops gives way to another day's" {
	ETL_RUN_ID=r1 merge 2026-11-01 d1.ndjson
	ETL_RUN_ID=r2 merge 2026-11-02 d2.ndjson
	# Day 2 again without a: a's version of day 1 is current again.
	tail -1 d2.ndjson >d2b.ndjson
	ETL_RUN_ID=r3 merge 2026-11-02 d2b.ndjson --stats st.json
	assert_eq "$(table | jq -r '"\(.id) \(.v)"' | sort | tr '\n' ' ')" "a 1 b 1 c 1 d 2 "
	[ ! -e store/t/d=2020-12-01 ]
	# What the rerun replaced is kept aside.
	[ -n "$(find store/h/_replaced/r3/day=2026-11-02 -name 'part-r2-*.ndjson.zst')" ]
	jq -e '.in == 1 and .out == 1 and .rejected == 0 and .table == 4 and .versions == 4
	    and .superseded == 0 and .day == "2026-11-02"' st.json
	# An empty rerun empties the day.
	ETL_RUN_ID=r4 merge 2026-11-02 /dev/null
	assert_eq "$(table | jq -r .id | sort | tr '\n' ' ')" "a b c "
	[ ! -e store/h/day=2026-11-02 ]
}

@test "merge: within a day the greatest --latest wins, then the last read" {
	printf '%s\n' '{"id":"x","v":1,"d":"2021-03-01"}' '{"id":"x","v":2,"d":"2021-02-01"}' \
	    '{"id":"x","v":3,"d":"2021-03-01"}' '{"id":"y","v":1}' '{"id":"y","v":2,"d":"2021-01-01"}' >day.ndjson
	ETL_RUN_ID=r1 merge 2026-11-01 day.ndjson
	assert_eq "$(table | jq -r '"\(.id) \(.v)"' | sort | tr '\n' ' ')" "x 3 y 2 "
}

@test "merge: records without their key are rejected, the rest stored" {
	printf '%s\n' '{"id":"a","d":"2021-01-01"}' '{"d":"2021-01-01"}' '{"id":null}' '{"id":""}' \
	    '{"id":{"x":1}}' 'not json' '{"id":"b","d":{"o":1}}' >day.ndjson
	run_split etl-store --root store/t --by d --mode merge --key id --history store/h \
	    --day 2026-11-01 day.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_contains "$stderr_file" "7 in, 1 out, 6 rejected (required 3, type 1, parse 1, partition 1)"
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | tr '\n' ' ')" "required required required type parse partition "
	assert_eq "$(table | jq -r .id)" a
}

@test "merge: days in any order, reruns and empty days, against a model" {
	# 40 runs of 8 days drawn at random, each of up to 30 offers of 25 ids.
	$PY - <<'PY'
import json, random
random.seed(7)
runs = []
for r in range(40):
    day = "2026-11-%02d" % random.randint(1, 8)
    recs = []
    for i in range(random.randint(0, 30)):
        rec = {"id": "o%02d" % random.randint(1, 25), "run": r, "i": i}
        if random.random() < 0.9:
            rec["d"] = "2021-0%d-%02d" % (random.randint(1, 3), random.randint(1, 28))
        recs.append(rec)
    runs.append((day, recs))
json.dump(runs, open("runs.json", "w"))
for r, (day, recs) in enumerate(runs):
    with open("run%02d.ndjson" % r, "w") as f:
        for rec in recs:
            f.write(json.dumps(rec) + "\n")
    open("run%02d.day" % r, "w").write(day)
# The model: each day holds its last run; per id the greatest day, then
# the greatest d (missing is least), then the last read.
days = {}
for day, recs in runs:
    days[day] = recs
table = {}
for day in sorted(days):
    for rec in days[day]:
        cur = table.get(rec["id"])
        if cur is None or cur[0] < day or rec.get("d", "") >= cur[1].get("d", ""):
            table[rec["id"]] = (day, rec)
with open("want", "w") as f:
    for line in sorted(json.dumps(rec, sort_keys=True, separators=(",", ":")) for _, rec in table.values()):
        f.write(line + "\n")
PY
	for r in $(seq -w 0 39); do
		ETL_RUN_ID=run$r merge "$(cat run$r.day)" run$r.ndjson
	done
	table | jq -c 'if .d == null then del(.d) else . end' | jq -cS . | sort >got
	cmp want got
	assert_eq "$(jq -r .id got | sort | uniq -d | wc -l)" 0
}

@test "merge: a kill after the journal or after an operation is finished by the next run" {
	for point in journal op; do
		rm -rf store
		ETL_RUN_ID=r1 merge 2026-11-01 d1.ndjson
		ETL_RUN_ID=r2 merge 2026-11-02 d2.ndjson
		ETL_STORE_CRASH=$point ETL_RUN_ID=r3 merge 2026-11-01 d2.ndjson && false || [ $? -eq 137 ]
		[ -e store/t/_commits/.r3.pending ]
		# The next run, of another day, finishes r3's commit first.
		ETL_RUN_ID=r4 merge 2026-11-03 /dev/null
		[ ! -e store/t/_commits/.r3.pending ]
		assert_eq "$(table | jq -r '"\(.id) \(.v)"' | sort | tr '\n' ' ')" "a 2 d 2 "
		assert_eq "$(ls store/h)" "$(printf '%s\n' _commits _lock _replaced day=2026-11-01 day=2026-11-02)"
		[ -z "$(find store -name '.staging-*')" ]
	done
}

@test "merge: a reader finishes a commit a killed run left, from the table or its history" {
	for point in journal op; do
		for read in t h; do
			rm -rf store
			ETL_RUN_ID=r1 merge 2026-11-01 d1.ndjson
			ETL_RUN_ID=r2 merge 2026-11-02 d2.ndjson
			table >want
			rm -rf store
			ETL_RUN_ID=r1 merge 2026-11-01 d1.ndjson
			ETL_STORE_CRASH=$point ETL_RUN_ID=r2 merge 2026-11-02 d2.ndjson && false || [ $? -eq 137 ]
			[ -e store/t/_commits/.r2.pending ] && [ -e store/h/_commits/.r2.pending ]
			# No writer runs: etl-fetch finishes the commit, then reads.
			run_split etl-fetch "store/$read" 3>&-
			[ "$status" -eq 0 ]
			assert_contains "$stderr_file" "a commit was left unfinished; finishing it before reading"
			table >got
			cmp want got
			[ ! -e store/t/_commits/.r2.pending ] && [ ! -e store/h/_commits/.r2.pending ]
			[ -z "$(find store -name '.staging-*')" ]
		done
	done
}

@test "merge: a kill before the journal leaves the table and the history as they were" {
	ETL_RUN_ID=r1 merge 2026-11-01 d1.ndjson
	table >before
	(LD_PRELOAD=$ETL_ROOT/tests/bin/faultinject.so FAULT_FSYNC=1 FAULT_ERRNO=EIO \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	    ETL_RUN_ID=r2 merge 2026-11-01 d2.ndjson) && false || true
	table >after
	cmp before after
	ETL_RUN_ID=r3 merge 2026-11-02 /dev/null
	table >after
	cmp before after
	[ -z "$(find store -name '.staging-*')" ]
	assert_eq "$(find store/h -name '*.zst' | wc -l)" 1
}

@test "replace: the table becomes this run's records, partitions it lacks go" {
	etl-store -q --root t --by d --mode replace d1.ndjson >/dev/null 3>&-
	etl-store -q --root t --by d --mode replace d2.ndjson >/dev/null 3>&-
	assert_eq "$(etl-fetch -q t 3>&- | jq -r .id | sort | tr '\n' ' ')" "a d "
	assert_eq "$(ls t | tr '\n' ' ')" "_commits _lock d=2020-12-01 d=2021-01-01 "
	# Nested partitions: an emptied parent goes too.
	etl-store -q --root n --by d,id --mode replace d1.ndjson >/dev/null 3>&-
	etl-store -q --root n --by d,id --mode replace d2.ndjson >/dev/null 3>&-
	assert_eq "$(cd n && find . -name '*.zst' | cut -d/ -f2,3 | sort | tr '\n' ' ')" \
	    "d=2020-12-01/id=a d=2021-01-01/id=d "
	[ ! -e n/d=2021-01-02 ]
	# An empty run empties the table.
	etl-store -q --root t --by d --mode replace </dev/null >/dev/null 3>&-
	assert_eq "$(etl-fetch -q t 3>&- | wc -l)" 0
}

@test "merge and its options go together (64)" {
	for args in "--mode merge" "--mode merge --key id --history h" "--key id" \
	    "--mode replace --day x" "--mode merge --key id --history h --day ''" "--mode sideways"; do
		eval "run etl-store --root t --by d $args </dev/null"
		[ "$status" -eq 64 ]
	done
}

@test "--wait: a writer waits for the holder, saying what it waits for, then commits" {
	mkdir -p t
	flock t/_lock sleep 3 &
	sleep 0.5
	run_split etl-store --root t --by d --wait 20 d1.ndjson 3>&-
	wait
	[ "$status" -eq 0 ]
	# The holder noted nothing: the kernel's /proc/locks names it.
	grep -Eq "t/_lock: waiting for the lock, held by pid [0-9]+ \(flock\)" "$stderr_file"
	assert_contains "$stderr_file" "lock taken after"
	assert_eq "$(etl-fetch -q t 3>&- | wc -l)" 3
	# It noted itself in the lock for the next to wait.
	grep -q "^pid [0-9]*, run $ETL_RUN_ID, since 20" t/_lock
}

@test "--wait: 75 when the wait runs out, and at once without it; nothing stored" {
	mkdir -p t
	flock t/_lock sleep 4 &
	sleep 0.5
	run_split etl-store --root t --by d --wait 1 d1.ndjson 3>&-
	[ "$status" -eq 75 ]
	assert_contains "$stderr_file" "still held by"
	assert_contains "$stderr_file" "after 1 s of waiting"
	run_split etl-store --root t --by d d1.ndjson 3>&-
	[ "$status" -eq 75 ]
	assert_contains "$stderr_file" "another run is writing this store"
	wait
	[ -z "$(find t -name '*.zst')" ]
}

@test "--wait: a holder killed mid-commit is finished by the writer that waited" {
	mkdir -p t
	# The holder sleeps inside its commit (every rename 300 ms), then dies.
	(ETL_RUN_ID=killed LD_PRELOAD=$ETL_ROOT/tests/bin/faultinject.so FAULT_SLOW_US=300000 \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	    exec etl-store -q --root t --by d d1.ndjson >/dev/null 3>&-) &
	holder=$!
	for _ in $(seq 50); do [ -e t/_commits/.killed.pending ] && break; sleep 0.1; done
	[ -e t/_commits/.killed.pending ]
	(sleep 0.2; kill -9 $holder) &
	run_split etl-store --root t --by d --mode append --wait 20 d2.ndjson 3>&-
	wait
	[ "$status" -eq 0 ]
	assert_contains "$stderr_file" "finishing the commit of a killed run"
	assert_eq "$(etl-fetch -q t 3>&- | jq -r .id | sort | tr '\n' ' ')" "a a b c d "
}

@test "a missing required option is named" {
	run_split etl-store --by d </dev/null
	[ "$status" -eq 64 ]
	assert_contains "$stderr_file" "error: --root is required"
	run_split etl-store --root t </dev/null
	assert_contains "$stderr_file" "error: --by is required"
	run_split etl-model fit -x a </dev/null
	assert_contains "$stderr_file" "error: fit: -y is required"
	run_split etl-model predict </dev/null
	assert_contains "$stderr_file" "error: predict: -m is required"
	run_split etl-clean </dev/null
	assert_contains "$stderr_file" "error: --rules is required"
	run_split etl-check </dev/null
	assert_contains "$stderr_file" "error: -s is required"
	run_split etl-load --table t </dev/null
	assert_contains "$stderr_file" "error: --db is required"
}
