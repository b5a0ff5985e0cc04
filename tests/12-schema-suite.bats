#!/usr/bin/env bats
# etl-check against the JSON Schema Test Suite, draft 2020-12: the tests
# in tests/data/json-schema-test-suite, run by tests/schema-suite.py
# (one etl-check --any per test group); the figures go to the TAP output.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

suite() {
	run_split "$PY" "$ETL_ROOT/tests/schema-suite.py" -v "$@" 3>&-
	grep '^# [0-9]' "$stdout_file" >&3
}

@test "the required tests of draft 2020-12: at least 98% pass" {
	suite --part required --min 98
	[ "$status" -eq 0 ]
	grep -q '^# [0-9]* of 1299 (' "$stdout_file"
}

@test "without --ref-dir the suite's remote documents are refused (78), not fetched" {
	suite --part required --no-remotes
	[ "$status" -eq 0 ]
	grep -q 'refused: .*a remote reference (another document) is not supported' "$stdout_file"
}

@test "the optional format tests of the formats etl-check checks: at least 98% pass" {
	suite --part formats --min-formats 98
	[ "$status" -eq 0 ]
}
