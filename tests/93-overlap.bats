#!/usr/bin/env bats
# Runs that overlap on one store: four days of pipelines/listings.mk at
# once end as the four one by one; etl-store --wait waits for the store's
# lock (util-linux flock(1) holds the same flock(2) lock), logs what it
# waits for and gives up with 75; a waiter whose holder is killed
# mid-commit finishes the holder's commit, then makes its own.

load helper

DAYS="$DATA/days"
SHIM="$ETL_ROOT/tests/bin/faultinject.so"

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset ETL_RUN_ID
}

# Compares two NDJSON files as sets of records, numbers to 10 significant
# digits (a model fitted over the same rows in another order may differ
# in the last bits).
same_records() {
	"$PY" - "$1" "$2" <<'PY'
import json, sys
def canon(v):
    if isinstance(v, float):
        return float("%.10g" % v)
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v
a, b = ([json.dumps(canon(json.loads(l)), sort_keys=True) for l in open(f) if l.strip()]
        for f in sys.argv[1:3])
if sorted(a) != sorted(b):
    print("%s and %s differ:" % tuple(sys.argv[1:3]), file=sys.stderr)
    for x in sorted(set(a) - set(b))[:10]:
        print("< " + x, file=sys.stderr)
    for x in sorted(set(b) - set(a))[:10]:
        print("> " + x, file=sys.stderr)
    if len(a) != len(b):
        print("%d records against %d" % (len(a), len(b)), file=sys.stderr)
    sys.exit(1)
PY
}

table() {
	etl-fetch -q "$1" 3>/dev/null | jq -cS . | sort
}

@test "four days at once on one store end as the four one by one" {
	local d mk=(make -s -f "$ETL_ROOT/pipelines/listings.mk" RETRY_DELAY=0
	    NOTIFY="--file $PWD/alerts.ndjson")
	parallel --will-cite -q -j4 "${mk[@]}" DATE={} INPUT="$DAYS/{}.ndjson" \
	    STORE="$PWD/par" RUNS="$PWD/par-runs" ::: \
	    2026-11-01 2026-11-02 2026-11-03 2026-11-04 >par.out 2>par.err 3>&- ||
	    { cat par.err >&2; return 1; }
	assert_eq "$(ls par-runs/*/*/summary.json | wc -l)" 4
	jq -s -e 'length == 4 and all(.[]; .status == "ok" and .gate == null)' par-runs/*/*/summary.json
	[ ! -e alerts.ndjson ]
	for d in 2026-11-01 2026-11-02 2026-11-03 2026-11-04; do
		"${mk[@]}" DATE=$d INPUT="$DAYS/$d.ndjson" STORE="$PWD/seq" \
		    RUNS="$PWD/seq-runs" >>seq.out 2>>seq.err 3>&- ||
		    { cat seq.err >&2; return 1; }
		printf '{"day":"%s","input":"%s"}\n' "$d" "$DAYS/$d.ndjson" >>days.runs
	done
	table par/offers >par.offers
	table seq/offers >seq.offers
	assert_eq "$(lines seq.offers)" 27
	cmp seq.offers par.offers
	table par/usecases/price_per_m2 >par.ppm
	table seq/usecases/price_per_m2 >seq.ppm
	[ -s seq.ppm ]
	cmp seq.ppm par.ppm
	for d in models predictions; do
		table "par/usecases/price_model/$d" >par.$d
		table "seq/usecases/price_model/$d" >seq.$d
		[ -s seq.$d ]
		same_records seq.$d par.$d
	done
	# Both are what the four days imply.
	"$PY" "$ETL_ROOT/tests/days_model.py" days.runs "$PWD/par"
	"$PY" "$ETL_ROOT/tests/days_model.py" days.runs "$PWD/seq"
}

# Whether pid $1 holds a flock(2) lock (from /proc/locks).
holds_flock() {
	awk -v p="$1" '$2 == "FLOCK" && $5 == p { f = 1 } END { exit !f }' /proc/locks
}

# Records of partitions p0..p($2-1), three each, ids prefixed $1.
records() {
	local p r
	for ((p = 0; p < $2; p++)); do
		for r in 0 1 2; do
			printf '{"id":"%s-%d-%d","k":"%s%d","v":%d}\n' "$1" "$p" "$r" "$1" "$p" "$r"
		done
	done
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

@test "etl-store --wait: waits for the lock's holder and logs it; 75 when the wait runs out" {
	local S="$PWD/st" holder t0 ms
	mkdir -p "$S/offers"
	records w 3 >w.ndjson
	# The holder lives until the test ends it (a loaded machine may take
	# seconds for each step before).
	flock -o "$S/offers/_lock" sleep 60 3>&- &
	holder=$!
	for _ in $(seq 200); do holds_flock "$holder" && break; sleep 0.01; done
	holds_flock "$holder"
	# No --wait: 75 at once, as before.
	t0=$(now_ms)
	run_split etl-store --root "$S/offers" --by k w.ndjson 3>&-
	ms=$(($(now_ms) - t0))
	assert_eq "$status" 75
	[ "$ms" -lt 5000 ] || { echo "no --wait took $ms ms" >&2; return 1; }
	assert_contains "$stderr_file" "_lock"
	# --wait 1 while the lock is held 4 s: 75 after about a second.
	t0=$(now_ms)
	run_split etl-store --root "$S/offers" --by k --wait 1 w.ndjson 3>&-
	ms=$(($(now_ms) - t0))
	assert_eq "$status" 75
	[ "$ms" -ge 900 ] && [ "$ms" -lt 10000 ] || { echo "--wait 1 took $ms ms" >&2; return 1; }
	assert_eq "$(find "$S" -name '*.zst' | wc -l)" 0
	kill -0 "$holder"
	# --wait 20: waits for the holder, names the lock and its holder,
	# then commits.
	(sleep 2; pkill -P "$holder"; kill "$holder" 2>/dev/null) 3>&- &
	t0=$(now_ms)
	run_split etl-store --root "$S/offers" --by k --wait 20 w.ndjson 3>&-
	ms=$(($(now_ms) - t0))
	assert_eq "$status" 0
	# It waited (however long a loaded machine left of the holder's 4 s).
	assert_contains "$stderr_file" "$S/offers/_lock: waiting for the lock"
	assert_contains "$stderr_file" "lock taken after"
	wait "$holder" || :
	assert_eq "$(table "$S/offers" | jq -r .id | tr '\n' ' ')" \
	    "w-0-0 w-0-1 w-0-2 w-1-0 w-1-1 w-1-2 w-2-0 w-2-1 w-2-2 "
}

@test "etl-store --wait: the log names the lock and what holds it, also a holder that is not etl-store" {
	local S="$PWD/st" holder sleeper
	mkdir -p "$S/offers"
	records w 1 >w.ndjson
	flock "$S/offers/_lock" sleep 1.5 3>&- &
	holder=$!
	for _ in $(seq 200); do holds_flock "$holder" && break; sleep 0.01; done
	holds_flock "$holder"
	sleeper=$(pgrep -P "$holder" || true)
	run_split etl-store --root "$S/offers" --by k --wait 10 w.ndjson 3>&-
	wait "$holder"
	assert_eq "$status" 0
	# flock(1) notes nothing in the file; the kernel knows its pid
	# (/proc/locks), or its child's, the sleep.
	grep -F "$S/offers/_lock" "$stderr_file" | grep -q -w -e "$holder" ${sleeper:+-e "$sleeper"} ||
	    { echo "no line names the holder (pid $holder${sleeper:+ or $sleeper}):" >&2; cat "$stderr_file" >&2; return 1; }
}

@test "etl-store --wait: a holder killed after its journal; the waiter finishes its commit, then its own" {
	[ -f "$SHIM" ] || make -C "$ETL_ROOT" -s tests/bin/faultinject.so
	local S="$PWD/st/offers" holder st=0
	records a 10 >a.ndjson
	records b 3 >b.ndjson
	# The holder is slow (20 ms per fsync and rename) and kills itself
	# once its journal is written.
	env LD_PRELOAD="$SHIM" FAULT_SLOW_US=20000 ETL_STORE_CRASH=journal \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" ETL_RUN_ID=holder \
	    etl-store --root "$S" --by k a.ndjson >/dev/null 2>a.err 3>&- &
	holder=$!
	for _ in $(seq 500); do holds_flock "$holder" && break; sleep 0.005; done
	holds_flock "$holder" || { echo "the holder never took the lock" >&2; cat a.err >&2; return 1; }
	ETL_RUN_ID=waiter run_split etl-store --root "$S" --by k --wait 20 b.ndjson 3>&-
	wait "$holder" || st=$?
	assert_eq "$st" 137
	assert_eq "$status" 0
	# The killed commit is in the table, and the waiter's.
	assert_eq "$(table "$S" | jq -r .id | sort)" "$(cat a.ndjson b.ndjson | jq -r .id | sort)"
	assert_eq "$(cd "$S" && find . -name '*.pending' -o -name '.staging-*')" ""
	[ -e "$S/_commits/holder.json" ]
	[ -e "$S/_commits/waiter.json" ]
	# The waiter said what it waited for: the lock, and the run holding it.
	grep -F "$S/_lock" "$stderr_file" | grep -q -e "run holder" -e "pid $holder" ||
	    { echo "the waiter never named the lock and its holder:" >&2; cat "$stderr_file" >&2; return 1; }
}
