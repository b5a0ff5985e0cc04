#!/usr/bin/env bats
# The fuzz targets' seeds and every crash input they found, replayed
# through the same targets built as plain programs (gcc, ASan and UBSan,
# no libFuzzer): fuzz/driver.c reads each file and runs the target once.

load helper

setup_file() {
	make -s -C "$ETL_ROOT/fuzz" regress >&2
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# Replays fuzz/corpus/T and fuzz/regress/T; no crash, no sanitizer report.
replay() {
	run_split make -s -C "$ETL_ROOT/fuzz" "replay-$1"
	if [ "$status" -ne 0 ] || grep -qE 'Sanitizer|runtime error|fuzz: ' \
	    "$stderr_file"; then
		cat "$stderr_file" >&2
		return 1
	fi
	assert_eq "$output" "replay $1"
}

TARGETS="reader scan csv jsonarray clean-values schema rules params-dates
agg-state model-state hive"

@test "every target has a source, seeds, and a replay driver" {
	for t in $TARGETS; do
		[ -f "$ETL_ROOT/fuzz/fuzz-$t.c" ]
		[ -x "$ETL_ROOT/fuzz/bin/regress/fuzz-$t" ]
		n=$(find "$ETL_ROOT/fuzz/corpus/$t" -type f | wc -l)
		[ "$n" -ge 1 ]
	done
	# No regression input is kept for a target that does not exist.
	for d in "$ETL_ROOT"/fuzz/regress/*/; do
		[ -d "$d" ] || continue
		t=$(basename "$d")
		[ -f "$ETL_ROOT/fuzz/fuzz-$t.c" ]
	done
}

@test "the seeds stay small" {
	big=$(find "$ETL_ROOT/fuzz/corpus" "$ETL_ROOT/fuzz/regress" -type f \
	    -size +64k | head -1)
	assert_eq "$big" ""
}

@test "replay: reader" { replay reader; }
@test "replay: scan" { replay scan; }
@test "replay: csv" { replay csv; }
@test "replay: jsonarray" { replay jsonarray; }
@test "replay: clean-values" { replay clean-values; }
@test "replay: schema" { replay schema; }
@test "replay: rules" { replay rules; }
@test "replay: params-dates" { replay params-dates; }
@test "replay: agg-state" { replay agg-state; }
@test "replay: model-state" { replay model-state; }
@test "replay: hive" { replay hive; }

@test "a driver fails on a missing input file" {
	run "$ETL_ROOT/fuzz/bin/regress/fuzz-hive" no-such-file
	[ "$status" -eq 66 ]
}

@test "the Hive round trip holds for values that look like paths" {
	# One file each: a slash, a dot name, an escape that is data.
	printf 'a/b' >v1
	printf '..' >v2
	printf '%%2F' >v3
	run "$ETL_ROOT/fuzz/bin/regress/fuzz-hive" v1 v2 v3
	[ "$status" -eq 0 ]
}
