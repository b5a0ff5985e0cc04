# helper.bash - shared by every tests/*.bats file.
# shellcheck shell=bash
# The variables set here are read by the .bats files that load it.
# shellcheck disable=SC2034

ETL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$ETL_ROOT/bin:$PATH"
DATA="$ETL_ROOT/tests/data"
export ETL_ROOT PATH DATA
# A fixed run id so rejects and stats can be compared.
export ETL_RUN_ID=test-run
unset ETL_LOG
# Under SANITIZE=1 a leak or an error must fail the test.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99

# make test VALGRIND=1: every etl-* found on PATH runs under valgrind
# through a generated wrapper that exits 99 (as the sanitizers do) on any
# memory error or definite leak.  The wrappers exec, so a signal sent to
# the tool's pid reaches valgrind and the tool.
if [ "${VALGRIND:-}" = 1 ]; then
	VGBIN="${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/valgrind-bin"
	if [ ! -d "$VGBIN" ]; then
		mkdir -p "$VGBIN.$$"
		for vg_tool in "$ETL_ROOT"/bin/etl-*; do
			printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no "%s" "$@"\n' \
			    "$vg_tool" >"$VGBIN.$$/${vg_tool##*/}"
			chmod +x "$VGBIN.$$/${vg_tool##*/}"
		done
		mv -T "$VGBIN.$$" "$VGBIN" 2>/dev/null || rm -rf "$VGBIN.$$"
	fi
	PATH="$VGBIN:$PATH"
	export PATH
fi

# Python with Debian's modules (numpy, aiosmtpd).
PY=/usr/bin/python3

# Runs a command with its output in $output and status in $status,
# stdout and stderr kept apart: $stdout_file and $stderr_file.
run_split() {
	stdout_file="$BATS_TEST_TMPDIR/stdout"
	stderr_file="$BATS_TEST_TMPDIR/stderr"
	# In an && || list a failure trips neither errexit nor bats' ERR trap.
	"$@" >"$stdout_file" 2>"$stderr_file" && status=0 || status=$?
	output="$(cat "$stdout_file")"
	errput="$(cat "$stderr_file")"
}

# Fails with a message showing both values when they differ.
assert_eq() {
	if [ "$1" != "$2" ]; then
		printf 'expected: %s\n     got: %s\n' "$2" "$1" >&2
		return 1
	fi
}

# Fails unless the file contains the fixed string.
assert_contains() {
	if ! grep -qF -- "$2" "$1"; then
		printf '%s does not contain: %s\n--- %s:\n' "$1" "$2" "$1" >&2
		cat "$1" >&2
		return 1
	fi
}

# Number of lines of a file.
lines() {
	wc -l <"$1" | tr -d ' '
}

# The tool's stats line (last line of stderr) as the in/out/rejected triple.
stats_triple() {
	jq -r '"\(.in) \(.out) \(.rejected)"' "$1"
}

# Runs the EXAMPLES of a man page: every line in an .Bd -literal block of
# the EXAMPLES section that starts with "$ " is run in the current dir.
man_examples() {
	awk '/^\.Sh EXAMPLES/{e=1;next} /^\.Sh /{e=0} e && /^\.Bd/{b=1;next} e && /^\.Ed/{b=0;next} e && b && /^\$ /{sub(/^\$ /,""); gsub(/\\\(ba/,"|"); gsub(/\\e/,"\\"); gsub(/\\&/,""); print}' "$1"
}

# Seconds a timed run may take beyond its own bound: $1, or 30 under
# valgrind, which is slow to start and to run.
slack() {
	if [ "${VALGRIND:-}" = 1 ]; then echo 30; else echo "$1"; fi
}
