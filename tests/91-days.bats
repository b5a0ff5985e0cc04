#!/usr/bin/env bats
# The daily run over many days (pipelines/listings.mk): reruns, late
# offers, backfills out of order, empty and rejected days, and a store
# step killed at random points.  After every run the tables are compared
# with tests/days_model.py, which computes them from the runs' inputs.
# The lake is tests/data/days/: five days (2026-11-01..05) of raw offers,
# some ids on several days with different prices, a corrected day 2, and
# days that must fail (empty, all rejected, more than half rejected, a
# step's reject ratio over the gate).

load helper

DAYS="$DATA/days"
SHIM="$ETL_ROOT/tests/bin/faultinject.so"

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset ETL_RUN_ID
	S="$PWD/store"
}

# pipeline DAY FILE [VAR=VALUE...]: runs day DAY on FILE into $S; sets
# RUNDIR to the run's directory.  The status is make's.
pipeline() {
	local day=$1 input=$2 st=0
	shift 2
	ls -d runs/"$day"/*/ 2>/dev/null | sort >runs.before || true
	make -s -f "$ETL_ROOT/pipelines/listings.mk" DATE="$day" INPUT="$input" \
	    STORE="$S" RUNS="$PWD/runs" NOTIFY="--file $PWD/alerts.ndjson" \
	    RETRY_DELAY=0 "$@" >make.out 2>make.err 3>&- || st=$?
	RUNDIR=$(ls -d runs/"$day"/*/ 2>/dev/null | sort | comm -13 runs.before - | head -1)
	return "$st"
}

# The model's check of $S against the successful runs listed in $S.runs.
model() {
	"$PY" "$ETL_ROOT/tests/days_model.py" "$S.runs" "$S" "$@"
}

# ok_day DAY [NAME] [VAR=VALUE...]: runs day DAY on tests/data/days/NAME
# (default DAY).ndjson, which must succeed; then the tables and the
# summary's counts must be the model's.
ok_day() {
	local day=$1 name=$1 input
	shift
	if [ $# -gt 0 ] && [[ $1 != *=* ]]; then
		name=$1
		shift
	fi
	input="$DAYS/$name.ndjson"
	if ! pipeline "$day" "$input" "$@"; then
		echo "the run of $day on $name.ndjson failed:" >&2
		cat make.err >&2
		[ -z "$RUNDIR" ] || jq -c '.gate, [.steps[] | {step, status}]' "${RUNDIR}summary.json" >&2
		return 1
	fi
	printf '{"day":"%s","input":"%s"}\n' "$day" "$input" >>"$S.runs"
	model --summary "${RUNDIR}summary.json"
}

# base DAY...: $S becomes the store after the days DAY... run in that
# order, each checked as ok_day checks it; each prefix is built once per
# file and copied.
base() {
	local key
	key="$BATS_FILE_TMPDIR/base-$(IFS=_; echo "$*")"
	if [ -d "$key" ]; then
		cp -a "$key" "$S"
		cp "$key.runs" "$S.runs"
		return 0
	fi
	[ $# -eq 1 ] || base "${@:1:$#-1}"
	ok_day "${!#}"
	cp -a "$S" "$key"
	cp "$S.runs" "$key.runs"
}

# A table of $S (or of $2), read back, one sorted canonical line a record.
table() {
	[ -d "${2:-$S}/$1" ] || return 0
	etl-fetch -q "${2:-$S}/$1" 3>/dev/null | jq -cS . | sort
}

# Every table and the list of stored part files: what "unchanged" compares.
snapshot() {
	local t
	for t in offers history/offers usecases/price_per_m2 \
	    usecases/price_model/models usecases/price_model/predictions; do
		echo "== $t"
		table "$t"
	done
	echo "== files"
	(cd "$S" && find . -name '*.zst' | sort)
}

# An offer's price, scraping_date and municipality in offers.now.
version() {
	jq -r --arg id "$1" 'select(.id == $id) | "\(.price) \(.scraping_date) \(.municipality)"' offers.now
}

@test "three days in order: a later day's version wins, a late offer removes nothing" {
	base 2026-11-01 2026-11-02 2026-11-03
	table offers >offers.now
	assert_eq "$(lines offers.now)" 23
	# o08 is on all three days; o06's day-2 version moved it to another
	# scraping_date; within day 3, o20's later date wins over its later
	# line, and o21's later line wins at equal dates.
	assert_eq "$(version o08)" "305000 2026-11-03 Solothurn"
	assert_eq "$(version o06)" "600000 2026-11-02 Volketswil"
	assert_eq "$(version o07)" "715000 2026-11-01 Le Sentier"
	assert_eq "$(version o20)" "520000 2026-11-03 Le Sentier"
	assert_eq "$(version o21)" "335000 2026-11-03 Solothurn"
	# Days 2 and 3 stored late offers under 2026-10-31 beside day 1's;
	# o03's day-3 version is there because day 3 is the latest day.
	assert_eq "$(jq -r 'select(.scraping_date == "2026-10-31") | .id' offers.now | sort | tr '\n' ' ')" \
	    "o01 o02 o03 o10 o17 o23 "
	assert_eq "$(cd "$S/history/offers" && ls -d day=* | tr '\n' ' ')" \
	    "day=2026-11-01 day=2026-11-02 day=2026-11-03 "
}

@test "a corrected rerun of a day: removed offers fall back to another day's version or go" {
	base 2026-11-01 2026-11-02 2026-11-03
	table history/offers >history.before
	# Day 2 again without o05, o06, o11 and with o12 changed.
	ok_day 2026-11-02 2026-11-02.fixed
	table offers >offers.now
	assert_eq "$(version o11)" ""
	assert_eq "$(version o05)" "530000 2026-11-01 Solothurn"
	assert_eq "$(version o06)" "610000 2026-10-31 Volketswil"
	assert_eq "$(version o12)" "655000 2026-11-02 Volketswil"
	assert_eq "$(version o08)" "305000 2026-11-03 Solothurn"
	# The replaced day, and only it, is kept under _replaced/COMMIT/.
	local r
	r=$(cd "$S/history/offers" && find _replaced -mindepth 2 -maxdepth 2 -name 'day=*' | sort)
	assert_eq "$(echo "$r" | sed 's,.*/,,')" "day=2026-11-02"
	assert_eq "$(etl-fetch -q "$S/history/offers/$r" 3>/dev/null | jq -r '"\(.id) \(.price)"' | sort)" \
	    "$(jq -r 'select(.day == "2026-11-02") | "\(.id) \(.price)"' history.before | sort)"
	# The other days' history is as it was.
	assert_eq "$(table history/offers | jq -c 'select(.day != "2026-11-02")')" \
	    "$(jq -c 'select(.day != "2026-11-02")' history.before)"
}

@test "a backfill out of order ends as the days run in order: offers and price_per_m2" {
	local d
	for d in 05 02 04 01 03; do
		ok_day 2026-11-$d
	done
	table offers >backfill.offers
	table usecases/price_per_m2 >backfill.ppm
	S="$PWD/inorder"
	base 2026-11-01 2026-11-02 2026-11-03
	ok_day 2026-11-04
	ok_day 2026-11-05
	table offers >inorder.offers
	table usecases/price_per_m2 >inorder.ppm
	assert_eq "$(lines inorder.offers)" 31
	cmp inorder.offers backfill.offers
	[ -s inorder.ppm ]
	cmp inorder.ppm backfill.ppm
	# Day 5's o06 wins over day 2's though its scraping_date is older.
	cp inorder.offers offers.now
	assert_eq "$(version o06)" "590000 2026-10-30 Volketswil"
}

@test "an empty day fails with the empty_input gate and stores nothing; ALLOW_EMPTY=1 ends ok" {
	base 2026-11-01 2026-11-02
	snapshot >before
	local st=0
	pipeline 2026-11-06 "$DAYS/empty.ndjson" || st=$?
	[ "$st" -ne 0 ]
	[ -n "$RUNDIR" ]
	jq -e '.status == "failed" and .gate.name == "empty_input" and .offers.in == 0
	    and any(.steps[]; .status == 65)' "${RUNDIR}summary.json"
	jq -s -e 'any(.[]; .status == 65)' alerts.ndjson
	snapshot >after
	diff -u before after
	rm alerts.ndjson
	pipeline 2026-11-06 "$DAYS/empty.ndjson" ALLOW_EMPTY=1 || { cat make.err >&2; return 1; }
	jq -e '.status == "ok" and all(.steps[]; .status == 0)' "${RUNDIR}summary.json"
	[ ! -e alerts.ndjson ]
	# A warning says so, in make's output or the run's logs.
	cat make.out make.err "$RUNDIR"*.log >said
	grep -i 'warn' said | grep -qi 'empty'
	snapshot >after
	diff -u before after
	model
}

@test "a day whose offers are rejected entirely or mostly fails a gate, stores nothing, alerts" {
	base 2026-11-01
	snapshot >before
	local st=0
	# All four rejected (clean 1, check 3).
	pipeline 2026-11-06 "$DAYS/rejected.ndjson" || st=$?
	[ "$st" -ne 0 ]
	jq -e '.status == "failed" and .offers.in == 4 and any(.steps[]; .status == 65)
	    and (.gate.name == "min_kept_ratio" or .gate.name == "max_reject_ratio")' "${RUNDIR}summary.json"
	jq -s -e 'any(.[]; .status == 65)' alerts.ndjson
	snapshot >after
	diff -u before after
	# Three of five rejected, no step over its ratio: 2/5 kept < 0.5.
	rm alerts.ndjson
	st=0
	pipeline 2026-11-06 "$DAYS/half.ndjson" MAX_REJECT_RATIO=1 || st=$?
	[ "$st" -ne 0 ]
	jq -e '.status == "failed" and .gate.name == "min_kept_ratio" and any(.steps[]; .status == 65)
	    and .offers.in == 5 and .offers.kept == 2 and .offers.rejected == 3' "${RUNDIR}summary.json"
	jq -s -e 'any(.[]; .status == 65)' alerts.ndjson
	snapshot >after
	diff -u before after
	# One of four rejected by check: 3/4 kept, but check's 0.25 > 0.2.
	rm alerts.ndjson
	st=0
	pipeline 2026-11-06 "$DAYS/check-reject.ndjson" || st=$?
	[ "$st" -ne 0 ]
	jq -e '.status == "failed" and .gate.name == "max_reject_ratio" and any(.steps[]; .status == 65)' \
	    "${RUNDIR}summary.json"
	jq -s -e 'any(.[]; .status == 65)' alerts.ndjson
	snapshot >after
	diff -u before after
	model
	# A lower MIN_KEPT_RATIO lets the 2-of-5 day through.
	ok_day 2026-11-06 half MAX_REJECT_RATIO=1 MIN_KEPT_RATIO=0.3
}

# The pid of the etl-store --mode merge process writing into store $1
# (step.sh's command line names etl-store too, but does not start with it).
store_pid() {
	pgrep -af '^etl-store .*--mode[= ]merge' |
	    grep -F -e " $1/" -e "=$1/" | cut -d' ' -f1 | grep -m1 .
}

# Day 3 into $S with every fsync and rename 2 ms slower, in the background.
slow_day3() {
	env LD_PRELOAD="$SHIM" FAULT_SLOW_US=2000 \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	    make -s -f "$ETL_ROOT/pipelines/listings.mk" DATE=2026-11-03 \
	    INPUT="$DAYS/2026-11-03.ndjson" STORE="$S" RUNS="$PWD/runs" \
	    NOTIFY="--file $PWD/alerts.ndjson" RETRY_DELAY=0 \
	    >/dev/null 2>>slow.err 3>&- &
	mk=$!
}

# Waits for slow_day3's store process; sets $spid (empty if it was missed).
find_store() {
	spid=
	while kill -0 "$mk" 2>/dev/null; do
		spid=$(store_pid "$S") && return 0
		sleep 0.002
	done
	spid=
}

@test "SIGKILL of the store step at random points: each table before or after, the rerun after" {
	[ "${VALGRIND:-}" != 1 ] || skip "the kill timing needs native speed"
	[ -f "$SHIM" ] || make -C "$ETL_ROOT" -s tests/bin/faultinject.so
	base 2026-11-01 2026-11-02
	cp -a "$S" pristine
	cp "$S.runs" before.runs
	{ cat before.runs; printf '{"day":"2026-11-03","input":"%s"}\n' "$DAYS/2026-11-03.ndjson"; } >after.runs
	{ cat before.runs; printf '{"day":"2026-11-04","input":"%s"}\n' "$DAYS/2026-11-04.ndjson"; } >before4.runs
	{ cat after.runs; printf '{"day":"2026-11-04","input":"%s"}\n' "$DAYS/2026-11-04.ndjson"; } >after4.runs
	{ cat before4.runs; printf '{"day":"2026-11-03","input":"%s"}\n' "$DAYS/2026-11-03.ndjson"; } >after43.runs
	# How long the slowed store process lives in an uninterrupted run.
	local t0 t1 span i us at delay st verdict outcomes=() mixes=() runs_file
	S="$PWD/k0"
	cp -a pristine "$S"
	slow_day3
	find_store
	[ -n "$spid" ] || { echo "the store step was never seen running" >&2; return 1; }
	t0=$(date +%s%N)
	while kill -0 "$spid" 2>/dev/null; do sleep 0.002; done
	t1=$(date +%s%N)
	wait "$mk"
	span=$(((t1 - t0) / 1000))
	echo "# the store step lives ${span} us" >&3
	"$PY" "$ETL_ROOT/tests/days_model.py" after.runs "$S"
	RANDOM=91
	local KILLS=6
	for ((i = 1; i <= KILLS; i++)); do
		S="$PWD/k$i"
		cp -a pristine "$S"
		slow_day3
		find_store
		if ((i % 2)); then
			# Anywhere in the process's life, a slice each.
			us=$((span * (i - 1) / KILLS + RANDOM % (span * 2 / KILLS + 1)))
			at=start
		else
			# Among the commit's operations: after its journal.
			while kill -0 "$spid" 2>/dev/null &&
			    ! compgen -G "$S/offers/_commits/.*.pending" >/dev/null; do sleep 0.001; done
			us=$((RANDOM % 12000))
			at=journal
		fi
		printf -v delay '%d.%06d' $((us / 1000000)) $((us % 1000000))
		[ -z "$spid" ] || { sleep "$delay"; kill -KILL "$spid" 2>/dev/null || true; }
		st=0
		wait "$mk" || st=$?
		verdict=$("$PY" "$ETL_ROOT/tests/days_model.py" after.runs "$S" --either before.runs) || {
			verdict=MIX
			mixes+=("kill $i at $at+${us} us (make status $st): a table is neither before nor after; left: $(cd "$S" && find . -name '*.pending' -o -name '.staging-*' | tr '\n' ' ')")
			echo "^ kill $i" >&2
		}
		outcomes+=("$i:$at+${us}us:$st:${verdict// /,}")
		# The kill came after the store's end: the run is whole.
		if [ "$st" -eq 0 ]; then
			"$PY" "$ETL_ROOT/tests/days_model.py" after.runs "$S"
			continue
		fi
		# The next run finishes or discards the killed commit: another
		# day's (every third time), then day 3 again.
		if ((i % 3 == 0)); then
			pipeline 2026-11-04 "$DAYS/2026-11-04.ndjson" ||
			    { echo "kill $i: the next run (day 4) failed" >&2; cat make.err >&2; return 1; }
			"$PY" "$ETL_ROOT/tests/days_model.py" after4.runs "$S" --either before4.runs
			runs_file=after43.runs
		else
			runs_file=after.runs
		fi
		pipeline 2026-11-03 "$DAYS/2026-11-03.ndjson" ||
		    { echo "kill $i: the rerun of day 3 failed" >&2; cat make.err >&2; return 1; }
		"$PY" "$ETL_ROOT/tests/days_model.py" "$runs_file" "$S" --summary "${RUNDIR}summary.json"
		assert_eq "$(cd "$S" && find . -name '*.pending' -o -name '.staging-*')" ""
	done
	echo "# kill:delay:make status:tables ${outcomes[*]}" >&3
	[ ${#mixes[@]} -eq 0 ] || { printf '%s\n' "${mixes[@]}" >&2; return 1; }
}
