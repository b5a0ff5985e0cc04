#!/usr/bin/env bats
# etl-check: JSON Schema validation, rejects, gates, the stream protocol.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	S="$DATA/check/offers.schema.json"
}

# A schema from a JSON literal.
schema() {
	printf '%s\n' "$1" >schema.json
}

# Runs etl-check with schema.json on the given NDJSON lines; rejects in rej.ndjson.
check_lines() {
	printf '%s\n' "$@" >in.ndjson
	run_split etl-check -s schema.json in.ndjson 3>rej.ndjson
}

# The codes of the rejects, one line per reject, space-separated.
codes() {
	jq -r '[.reasons[].code] | join(" ")' rej.ndjson
}

@test "valid records pass byte for byte, bad ones go to fd 3 with all reasons" {
	run_split etl-check -s "$S" "$DATA/check/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	grep -F -e '"id":"0000a4fb"' -e '"id":"0007aab6"' "$DATA/check/offers.ndjson" >want
	cmp want "$stdout_file"
	assert_eq "$(lines rej.ndjson)" 6
	assert_eq "$(jq -c '[.src.line, [.reasons[].code]]' rej.ndjson | tr '\n' ' ')" \
	    '[2,["type"]] [3,["required"]] [4,["format"]] [5,["additional"]] [6,["parse"]] [7,["range","enum","range"]] '
	assert_contains "$stderr_file" "etl-check: 8 in, 2 out, 6 rejected ("
}

@test "a reject has tool, run_id, src, reasons and the record as it came" {
	run_split etl-check -s "$S" "$DATA/check/offers.ndjson" 3>rej.ndjson
	jq -s -e 'map(select(.src.line == 2))[0] | .tool == "etl-check" and .run_id == "test-run"
	    and .src.file == "'"$DATA"'/check/offers.ndjson"
	    and .reasons[0].path == "/price"
	    and .reasons[0].message == "expected number, got string \"zwei Millionen\""
	    and .record.price == "zwei Millionen"' rej.ndjson
	# A line that is not JSON is kept as "raw".
	jq -s -e 'map(select(.src.line == 6))[0] | .raw == "{\"id\":\"b6\"," and (has("record") | not)' rej.ndjson
	# The rejected record is embedded byte for byte.
	sed -n 7p "$DATA/check/offers.ndjson" >want
	jq -c 'select(.src.line == 7) | .record' rej.ndjson >got
	cmp want got
}

@test "type: every type name, integer, and type lists" {
	schema '{"properties":{"a":{"type":"integer"},"b":{"type":["string","null"]},"c":{"type":"boolean"},"d":{"type":"array"},"e":{"type":"object"},"f":{"type":"number"},"g":{"type":"null"}}}'
	check_lines '{"a":3,"b":null,"c":true,"d":[],"e":{},"f":1.5,"g":null}' \
	    '{"a":3.0,"b":"x"}' \
	    '{"a":3.5}' \
	    '{"b":1}' '{"c":"true"}' '{"d":{}}' '{"e":[]}' '{"f":"1"}' '{"g":0}'
	[ "$status" -eq 0 ]
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(codes | tr '\n' ' ')" "type type type type type type type "
	jq -r '.reasons[0].message' rej.ndjson | head -2 >msg
	assert_eq "$(cat msg | tr '\n' '|')" 'expected integer, got number 3.5|expected null or string, got integer 1|'
}

@test "required, properties, additionalProperties false and as a schema" {
	schema '{"required":["a","b"],"properties":{"a":{"type":"string"}},"additionalProperties":{"type":"number"}}'
	check_lines '{"a":"x","b":1}' '{"b":1}' '{"a":"x","b":"y"}' '{}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(jq -c '[.reasons[] | .code + .path]' rej.ndjson | tr '\n' ' ')" \
	    '["required/a"] ["type/b"] ["required/a","required/b"] '
}

@test "enum and const compare by value" {
	schema '{"properties":{"t":{"enum":["apartment","house",1]},"k":{"const":{"x":[1,2]}}}}'
	check_lines '{"t":"house","k":{"x":[1,2]}}' '{"t":1.0}' '{"t":"castle"}' '{"k":{"x":[2,1]}}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(codes | tr '\n' ' ')" "enum const "
}

@test "minimum, maximum, exclusive bounds" {
	schema '{"properties":{"n":{"minimum":10,"maximum":500},"x":{"exclusiveMinimum":0,"exclusiveMaximum":1}}}'
	# Bounds apply to numbers only: a string passes (type is another keyword).
	check_lines '{"n":10,"x":0.5}' '{"n":500}' '{"n":9.99}' '{"n":500.01}' '{"x":0}' '{"x":1}' '{"n":"5"}'
	assert_eq "$(lines "$stdout_file")" 3
	assert_eq "$(codes | tr '\n' ' ')" "range range range range "
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson | head -1)" "9.99 is less than the minimum 10"
}

@test "minLength and maxLength count characters, not bytes" {
	schema '{"properties":{"s":{"minLength":2,"maxLength":3}}}'
	check_lines '{"s":"Zür"}' '{"s":"ab"}' '{"s":"é"}' '{"s":"Züri"}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(codes | tr '\n' ' ')" "length length "
}

@test "pattern is a POSIX ERE, unanchored" {
	schema '{"properties":{"id":{"pattern":"^[0-9a-f]{8}$"},"c":{"pattern":"CH"}}}'
	check_lines '{"id":"0000a4fb","c":"xCHx"}' '{"id":"0000a4fbb"}' '{"id":"XYZ"}' '{"c":"ch"}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes | tr '\n' ' ')" "pattern pattern pattern "
}

@test "a pattern the C library would take hours to compile is refused at once" {
	# Stacked repetitions are undefined in POSIX; nested bounds multiply.
	for p in '^[a-r]+**$' 'a{1,255}{1,255}' '(((a{1,100}){1,100}){1,100})' '^(ab|cd){1,1000}$'; do
		schema "$(jq -cn --arg p "$p" '{properties:{s:{pattern:$p}}}')"
		run_split timeout 10 etl-check -s schema.json /dev/null 3>&-
		[ "$status" -eq 78 ]
		assert_contains "$stderr_file" "/properties/s/pattern:"
	done
	# Ordinary bounds and brackets are fine.
	schema '{"properties":{"s":{"pattern":"^[]a-z]{1,255}([.][a-z]{2,3}){0,4}$"}}}'
	check_lines '{"s":"ab.ch"}' '{"s":"AB"}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes)" "pattern"
}

@test "format date and date-time check the calendar" {
	schema '{"properties":{"d":{"format":"date"},"t":{"format":"date-time"}}}'
	check_lines '{"d":"2024-02-29","t":"2026-11-24T10:00:00Z"}' '{"t":"2026-11-24T10:00:00.5+01:00"}' \
	    '{"d":"2023-02-29"}' '{"d":"2021-02-30"}' '{"d":"2021-13-01"}' '{"d":"21-02-03"}' \
	    '{"t":"2026-11-24"}' '{"t":"2026-11-24T25:00:00Z"}' '{"t":"2026-11-24T10:00:00"}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(codes | tr '\n' ' ')" "format format format format format format format "
}

@test "nested objects and items, with JSON Pointer paths" {
	schema '{"properties":{"geo":{"type":"object","required":["lat"],"properties":{"lat":{"type":"number","minimum":-90,"maximum":90}}},"tags":{"type":"array","maxItems":2,"items":{"type":"string"}}}}'
	check_lines '{"geo":{"lat":47.2},"tags":["a"]}' '{"geo":{"lat":91}}' '{"geo":{}}' '{"tags":["a",2]}' '{"tags":["a","b","c"]}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(jq -r '.reasons[] | .code + " " + .path' rej.ndjson | tr '\n' '|')" \
	    'range /geo/lat|required /geo/lat|type /tags/1|length /tags|'
}

@test "paths are JSON Pointers: / and ~ in names escaped, required ones too" {
	schema '{"required":["a/b","c~d"],"properties":{"x/y":{"type":"string"}}}'
	check_lines '{"x/y":1}'
	assert_eq "$(jq -r '.reasons[] | .code + " " + .path' rej.ndjson | tr '\n' '|')" \
	    'required /a~1b|required /c~0d|type /x~1y|'
	ETL_SCAN=0 run_split etl-check -s schema.json in.ndjson 3>rej0.ndjson
	assert_eq "$(jq -c .reasons rej0.ndjson)" "$(jq -c .reasons rej.ndjson)"
}

@test "boolean schemas" {
	schema '{"properties":{"x":false,"y":true}}'
	check_lines '{"y":[1]}' '{"x":1}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes)" "schema"
}

@test "an unsupported keyword is a configuration error naming it and its place" {
	schema '{"properties":{"a":{"type":"string","oneOf":[]}}}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json: /properties/a/oneOf: unsupported keyword oneOf"
	schema '{"format":"email"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	schema '{"type":"text"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	schema '{"pattern":"(["}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	printf '{"type":' >schema.json
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json:1:"
}

@test "gates: --max-rejects and --max-reject-ratio exit 65 after the whole stream" {
	run_split etl-check -s "$S" --max-rejects 5 "$DATA/check/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 65 ]
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(lines rej.ndjson)" 6
	assert_contains "$stderr_file" "gate max-rejects tripped"
	run_split etl-check -s "$S" --max-rejects 6 "$DATA/check/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	run_split etl-check -s "$S" --max-reject-ratio 0.5 --stats st.json "$DATA/check/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 65 ]
	jq -e '.gate == "max-reject-ratio" and .status == 65 and .in == 8' st.json
	run_split etl-check -s "$S" --max-reject-ratio 0.75 "$DATA/check/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	run_split etl-check -s "$S" --max-reject-ratio 2 /dev/null
	[ "$status" -eq 64 ]
}

@test "--stats writes the counts as JSON, and in = out + rejected" {
	run_split etl-check -s "$S" --stats st.json "$DATA/check/offers.ndjson" 3>/dev/null
	assert_eq "$(stats_triple st.json)" "8 2 6"
	jq -e '.reasons.parse == 1 and .reasons.range == 1 and .tool == "etl-check" and .run_id == "test-run"' st.json
}

@test "usage errors exit 64, a missing file 66 and the others still read" {
	run_split etl-check
	[ "$status" -eq 64 ]
	assert_contains "$stderr_file" "usage: etl-check"
	run_split etl-check -s "$S" --bogus
	[ "$status" -eq 64 ]
	run_split etl-check -s "$S" nonexistent.ndjson "$DATA/check/offers.ndjson" 3>/dev/null
	[ "$status" -eq 66 ]
	assert_contains "$stderr_file" "nonexistent.ndjson: No such file or directory"
	assert_eq "$(lines "$stdout_file")" 2
	run_split etl-check -s missing.schema.json /dev/null
	[ "$status" -eq 66 ]
	run etl-check -h
	[ "$status" -eq 0 ]
	[[ "$output" == *"--max-reject-ratio"* ]]
}

@test "a full disk is status 74" {
	set +e
	etl-check -s "$S" "$DATA/check/offers.ndjson" 3>/dev/null >/dev/full 2>err
	st=$?
	set -e
	[ "$st" -eq 74 ]
	assert_contains err "stdout: No space left on device"
}

@test "a closed stdout ends quietly with 0" {
	awk '{ a[NR] = $0 } END { for (i = 0; i < 2000; i++) for (j = 1; j <= NR; j++) print a[j] }' \
	    "$DATA/check/offers.ndjson" >big.ndjson
	set +e
	etl-check -s "$S" big.ndjson 3>/dev/null 2>err | head -1 >first
	st=${PIPESTATUS[0]}
	set -e
	[ "$st" -eq 0 ]
	assert_eq "$(lines first)" 1
	! grep -q error err
}

@test "rejects go to stderr when fd 3 is closed, to a file, or inline" {
	run_split etl-check -s "$S" "$DATA/check/offers.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c '^{"tool":"etl-check"' "$stderr_file")" 6
	run_split etl-check -s "$S" --rejects r.ndjson "$DATA/check/offers.ndjson" 3>&-
	assert_eq "$(lines r.ndjson)" 6
	run_split etl-check -s "$S" --rejects inline "$DATA/check/offers.ndjson" 3>&-
	assert_eq "$(grep -c $'^__reject\t{' "$stdout_file")" 6
	assert_eq "$(grep -vc '^__reject' "$stdout_file")" 2
}

@test "CRLF, no final newline, blank lines, zstd and gzip input" {
	schema '{"required":["a"]}'
	printf '{"a":1}\r\n\r\n{"b":2}\r\n   \n{"a":3}' >crlf.ndjson
	run_split etl-check -s schema.json crlf.ndjson 3>rej.ndjson
	assert_eq "$output" $'{"a":1}\n{"a":3}'
	assert_eq "$(jq -r .src.line rej.ndjson)" 3
	printf '{"a":1}\n{"b":1}\n' | zstd -q >in.zst
	run_split etl-check -s schema.json <in.zst 3>rej.ndjson
	assert_eq "$output" '{"a":1}'
	printf '{"a":1}\n' | gzip >in.gz
	run_split etl-check -s schema.json in.gz 3>rej.ndjson
	assert_eq "$output" '{"a":1}'
	head -c 20 in.zst >trunc.zst
	run_split etl-check -s schema.json trunc.zst 3>rej.ndjson
	[ "$status" -eq 65 ]
	assert_contains "$stderr_file" "trunc.zst"
}

@test "numbers pass unchanged: 0.1, 1e400-free big integers, 1.0" {
	schema '{"properties":{"n":{"type":"number"},"i":{"type":"integer"}}}'
	printf '%s\n' '{"n":0.1,"i":123456789012345678901234567890}' '{"n":1.0,"i":-0}' '{"n":1E2,"i":1e2}' >nums.ndjson
	run_split etl-check -s schema.json nums.ndjson 3>rej.ndjson
	cmp nums.ndjson "$stdout_file"
}

@test "hostile lines: invalid UTF-8, NUL, deep nesting, duplicate keys, empty input" {
	schema '{}'
	printf '{"a":"\xff"}\n{"a":"\x00"}\n{"a":1,"a":2}\n[1]\n"x"\n' >bad.ndjson
	python3 -c 'print("[" * 200000 + "]" * 200000)' >>bad.ndjson
	run_split etl-check -s schema.json bad.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines rej.ndjson)" 6
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | sort -u)" parse
	: >empty
	run_split etl-check -s schema.json empty 3>rej.ndjson
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	assert_contains "$stderr_file" "0 in, 0 out, 0 rejected"
}

@test "a 20 MB line passes" {
	python3 -c 'print("{\"s\":\"" + "x" * 20000000 + "\"}")' >long.ndjson
	schema '{"properties":{"s":{"type":"string"}}}'
	run_split etl-check -s schema.json long.ndjson 3>rej.ndjson
	cmp long.ndjson "$stdout_file"
}

@test "SIGTERM ends cleanly: what was read is written or rejected" {
	schema '{}'
	mkfifo fifo
	etl-check -s schema.json fifo 3>rej.ndjson >out 2>err &
	pid=$!
	exec 5>fifo
	printf '{"a":1}\n{"a":2}\n' >&5
	sleep 0.3
	kill -TERM "$pid"
	set +e
	wait "$pid"
	st=$?
	set -e
	exec 5>&-
	[ "$st" -eq 143 ]
	assert_eq "$(lines out)" 2
	assert_contains err "2 in, 2 out, 0 rejected"
}

@test "ETL_LOG=json logs JSON lines with run_id" {
	ETL_LOG=json run_split etl-check -s "$S" "$DATA/check/offers.ndjson" 3>/dev/null
	tail -1 "$stderr_file" | jq -e '.level == "info" and .tool == "etl-check" and .run_id == "test-run" and .in == 8 and .out == 2'
}

@test "the man page EXAMPLES run as written" {
	cp "$S" offers.schema.json
	cp "$DATA/check/offers.ndjson" offers.ndjson
	zstd -q offers.ndjson -o offers.ndjson.zst
	man_examples "$ETL_ROOT/man/etl-check.1" >examples.sh
	[ "$(lines examples.sh)" -ge 3 ]
	set +e
	bash -e examples.sh >ex.out 2>ex.err
	st=$?
	set -e
	# The last example trips the 5% gate on this sample.
	[ "$st" -eq 65 ]
	assert_eq "$(lines valid.ndjson)" 2
	grep -q ' 2 range' ex.out || grep -q 'range' ex.out
}

@test "progress on a terminal only, and never with -q" {
	schema '{}'
	awk 'BEGIN { for (i = 0; i < 5000; i++) printf "{\"i\":%d}\n", i }' >part.ndjson
	cat >feed.sh <<'SH'
{ cat part.ndjson; sleep 0.8; cat part.ndjson part.ndjson; } | etl-check -s schema.json "$@" >/dev/null 3>/dev/null
SH
	script -qec "bash feed.sh" /dev/null >tty.out
	grep -q 'etl-check: <stdin>: [0-9.]* MB, [0-9]* records, [0-9]* records/s' tty.out
	script -qec "bash feed.sh -q" /dev/null >quiet.out
	! grep -q 'records/s' quiet.out
	bash feed.sh 2>notty.err
	! grep -q 'records/s' notty.err
	assert_contains notty.err "15000 in, 15000 out"
}
