#!/usr/bin/env bats
# Documentation is part of the feature: every tool has a lint-clean man
# page listed in etl(7), -h, --version and the same exit code for bad usage.

load helper

tools() {
	for f in "$ETL_ROOT"/tools/etl-*.c; do basename "$f" .c; done
}

@test "every man page is clean under mandoc -Tlint" {
	run mandoc -Tlint -W warning "$ETL_ROOT"/man/*.1 "$ETL_ROOT"/man/etl.7
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "every tool has a man page with EXIT STATUS and EXAMPLES, listed in etl(7)" {
	for t in $(tools); do
		m="$ETL_ROOT/man/$t.1"
		[ -f "$m" ] || { echo "no man page for $t"; return 1; }
		grep -q '^\.Sh EXIT STATUS' "$m" || { echo "$t: no EXIT STATUS"; return 1; }
		grep -q '^\.Sh EXAMPLES' "$m" || { echo "$t: no EXAMPLES"; return 1; }
		grep -q "^\.Xr $t 1" "$ETL_ROOT/man/etl.7" || { echo "$t not in etl.7"; return 1; }
	done
}

@test "every tool answers -h with its usage and exits 0, and a bad option with 64" {
	for t in $(tools); do
		run "$t" -h
		[ "$status" -eq 0 ] || { echo "$t -h: $status"; return 1; }
		[[ "$output" == *"usage: $t"* ]] || { echo "$t -h: $output"; return 1; }
		run "$t" --no-such-option
		[ "$status" -eq 64 ] || { echo "$t --no-such-option: $status"; return 1; }
		run "$t" --version
		[ "$status" -eq 0 ] && [[ "$output" == "$t "* ]] || { echo "$t --version: $output"; return 1; }
	done
}

@test "the usage names the same options as the man page SYNOPSIS" {
	for t in $(tools); do
		# Long options in the usage text must appear in the SYNOPSIS.
		for o in $("$t" -h 2>&1 | awk '/^ *-/{exit} {print}' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$ETL_ROOT/man/$t.1" |
			    grep -Eq -- "Fl (Fl |-)${o#--}( |$)" || { echo "$t: $o not in SYNOPSIS"; return 1; }
		done
	done
}

@test "the pipeline and test scripts are shellcheck-clean" {
	run shellcheck -x "$ETL_ROOT"/pipelines/*.sh "$ETL_ROOT"/pipelines/cluster/*.sh "$ETL_ROOT"/tests/helper.bash "$ETL_ROOT"/.ci/run
	[ "$status" -eq 0 ]
}
