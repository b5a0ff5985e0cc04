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

@test "pattern is ECMA-262 (run by PCRE2), unanchored" {
	schema '{"properties":{"id":{"pattern":"^[0-9a-f]{8}$"},"c":{"pattern":"CH"}}}'
	check_lines '{"id":"0000a4fb","c":"xCHx"}' '{"id":"0000a4fbb"}' '{"id":"XYZ"}' '{"c":"ch"}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes | tr '\n' ' ')" "pattern pattern pattern "
	# \d is ASCII digits (not Arabic-Indic ones), $ is the end (not
	# before a final newline), . stops at line terminators, \s has
	# Unicode's spaces, \p{…} Unicode's categories, \uHHHH a code point.
	schema '{"properties":{"y":{"pattern":"^\\d{4}$"},"d":{"pattern":"^a.c$"},"s":{"pattern":"^\\s$"},"u":{"pattern":"^\\p{Lu}\\p{Letter}*$"},"e":{"pattern":"^\\u00e9$"}}}'
	check_lines '{"y":"1234","d":"abc","s":"\u00a0","u":"Ärger","e":"é"}' \
	    '{"y":"12345"}' '{"y":"١٢٣٤"}' '{"y":"1234\n"}' '{"d":"a\nc"}' '{"s":"x"}' '{"u":"ärger"}'
	assert_eq "$(cat "$stdout_file")" '{"y":"1234","d":"abc","s":"\u00a0","u":"Ärger","e":"é"}'
	assert_eq "$(codes | tr '\n' ' ')" "pattern pattern pattern pattern pattern pattern "
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson | head -1)" '"12345" does not match ^\d{4}$'
	# The scanner's path and the full validator agree.
	ETL_SCAN=0 run_split etl-check -s schema.json in.ndjson 3>rej0.ndjson
	cmp rej.ndjson rej0.ndjson
}

@test "patterns beyond ECMA-262 or PCRE2 are refused; runaway backtracking stops at the match limit" {
	# Not ECMA-262 (nothing to repeat, PCRE2's own syntax, unknown
	# escapes), or beyond PCRE2 (too large, a lookbehind of varying width).
	for p in '^[a-r]+**$' 'a{1,255}{1,255}' 'a++' '(?i)abc' '(?P<n>a)' '\a' '\z' '[a' \
	    '(((a{1,100}){1,100}){1,100})' '(?<=a+)b'; do
		schema "$(jq -cn --arg p "$p" '{properties:{s:{pattern:$p}}}')"
		run_split timeout 10 etl-check -s schema.json /dev/null 3>&-
		[ "$status" -eq 78 ]
		assert_contains "$stderr_file" "/properties/s/pattern: pattern is not an ECMA-262 regular expression"
	done
	# Ordinary bounds, classes and large repetitions are fine.
	schema '{"properties":{"s":{"pattern":"^[\\]a-z]{1,255}([.][a-z]{2,3}){0,4}$"},"t":{"pattern":"^(ab|cd){1,1000}$"}}}'
	check_lines '{"s":"a]b.ch","t":"abcd"}' '{"s":"AB"}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes)" "pattern"
	# (a+)+$ on a's and a b backtracks for ever: PCRE2 stops, the record
	# is rejected with a message that says so, and the stream goes on.
	schema '{"properties":{"s":{"pattern":"^(a+)+$"}}}'
	check_lines "{\"s\":\"$(printf 'a%.0s' $(seq 40))b\"}" '{"s":"aaa"}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes)" "pattern"
	assert_contains rej.ndjson 'gave up (PCRE2 match limit)'
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
	# Keywords of older drafts are not 2020-12's.
	schema '{"properties":{"a":{"type":"string","definitions":{}}}}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json: /properties/a/definitions: unsupported keyword definitions"
	schema '{"properties":{"a":{"oneOf":[]}}}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json: /properties/a/oneOf: oneOf must be a non-empty array of schemas"
	# A format etl-check does not check, unless formats are annotations.
	schema '{"format":"phone"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json: /format: unsupported format phone"
	run_split etl-check --format-annotation -s schema.json /dev/null 3>&-
	[ "$status" -eq 0 ]
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

@test "a remote \$ref is refused (78) naming it; --ref-dir reads such a document from a file" {
	schema '{"properties":{"price":{"$ref":"https://schemas.example.com/money.json#/$defs/amount"}}}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json: /properties/price/\$ref: \$ref https://schemas.example.com/money.json#/\$defs/amount: a remote reference (another document) is not supported"
	mkdir -p defs
	printf '%s\n' '{"$defs":{"amount":{"type":"number","exclusiveMinimum":0}}}' >defs/money.json
	printf '%s\n' '{"price":1}' '{"price":-1}' >in.ndjson
	run_split etl-check --ref-dir https://schemas.example.com/=defs -s schema.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"price":1}'
	assert_eq "$(jq -c '[.reasons[] | .code + .path]' rej.ndjson)" '["range/price"]'
	# A document the mapping names but that is not there.
	rm defs/money.json
	run_split etl-check --ref-dir https://schemas.example.com/=defs -s schema.json in.ndjson 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "defs/money.json: No such file or directory"
	run_split etl-check --ref-dir nodir -s schema.json in.ndjson 3>&-
	[ "$status" -eq 64 ]
}

@test "\$ref, \$defs, \$anchor and \$id resolve within the document; a \$ref cycle is refused" {
	schema '{"$id":"https://example.com/offer","$defs":{"area":{"type":"number","minimum":10},"t":{"$anchor":"kind","enum":["flat","house"]},"pos":{"$id":"geo/pos","type":"object","required":["lat"],"properties":{"lat":{"$ref":"#/$defs/deg"}},"$defs":{"deg":{"maximum":90}}}},"properties":{"area":{"$ref":"#/$defs/area"},"type":{"$ref":"#kind"},"geo":{"$ref":"geo/pos"}}}'
	check_lines '{"area":84,"type":"flat","geo":{"lat":47}}' '{"area":5}' '{"type":"villa"}' '{"geo":{"lat":91}}' '{"geo":{}}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(jq -r '[.reasons[] | .code + " " + .path] | join(",")' rej.ndjson | tr '\n' '|')" \
	    'range /area|enum /type|range /geo/lat|required /geo/lat|'
	schema '{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "a cycle of \$ref"
	schema '{"$ref":"#/$defs/none"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "schema.json: /\$ref: \$ref"
}

@test "\$dynamicRef resolves in the dynamic scope: a generic list made strict" {
	schema '{"$id":"https://example.com/strict","$ref":"list","$defs":{"item":{"$dynamicAnchor":"item","type":"string"},"list":{"$id":"list","type":"array","items":{"$dynamicRef":"#item"},"$defs":{"any":{"$dynamicAnchor":"item"}}}}}'
	check_lines '["a","b"]' '["a",1]'
	# Arrays are records only with --any.
	run_split etl-check --any -s schema.json in.ndjson 3>rej.ndjson
	assert_eq "$output" '["a","b"]'
	assert_eq "$(jq -c '[.reasons[] | .code + .path]' rej.ndjson)" '["type/1"]'
}

@test "anyOf and oneOf: a reject says why each alternative failed" {
	schema '{"properties":{"price":{"anyOf":[{"type":"number","minimum":0},{"type":"string","pattern":"^[0-9]+$"}]},"kind":{"oneOf":[{"enum":["flat","house"]},{"const":"house"},{"type":"integer"}]}}}'
	check_lines '{"price":5,"kind":"flat"}' '{"price":"12","kind":3}' '{"price":-1}' '{"price":"x"}' \
	    '{"kind":"house"}' '{"kind":"villa"}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(jq -r '.reasons[] | .code + " " + .path' rej.ndjson | tr '\n' '|')" \
	    'anyOf /price|anyOf /price|oneOf /kind|oneOf /kind|'
	jq -r '.reasons[].message' rej.ndjson >msg
	assert_eq "$(sed -n 1p msg)" '-1 matches none of the anyOf alternatives: [0] -1 is less than the minimum 0; [1] expected string, got integer -1'
	assert_eq "$(sed -n 2p msg)" '"x" matches none of the anyOf alternatives: [0] expected number, got string "x"; [1] "x" does not match ^[0-9]+$'
	assert_eq "$(sed -n 3p msg)" '"house" matches oneOf alternatives 0 and 1: exactly one must match'
	assert_eq "$(sed -n 4p msg)" '"villa" matches none of the oneOf alternatives: [0] "villa" is not one of ["flat","house"]; [1] "villa" is not "house"; [2] expected integer, got string "villa"'
}

@test "allOf, not, if/then/else, dependentRequired, dependentSchemas: their codes and paths" {
	schema '{"allOf":[{"required":["id"]}],"properties":{"id":{"not":{"const":""}}},"if":{"properties":{"type":{"const":"house"}},"required":["type"]},"then":{"required":["land_area"]},"else":{"properties":{"floor":{"type":"integer"}}},"dependentRequired":{"price":["currency"]},"dependentSchemas":{"rent":{"properties":{"price":{"maximum":10000}}}}}'
	check_lines '{"id":"a","type":"house","land_area":500}' '{"id":"a","floor":2}' \
	    '{"type":"house"}' '{"id":"","floor":1.5}' '{"id":"a","price":1}' '{"id":"a","rent":true,"price":20000,"currency":"EUR"}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(jq -r '[.reasons[] | .code + " " + .path] | join(",")' rej.ndjson | tr '\n' '|')" \
	    'required /id,required /land_area|not /id,type /floor|dependent /currency|range /price|'
	assert_eq "$(jq -r 'select(.src.line == 5) | .reasons[0].message' rej.ndjson)" \
	    'missing field "currency", required when "price" is present'
}

@test "objects: patternProperties, propertyNames, min and maxProperties, unevaluatedProperties" {
	schema '{"patternProperties":{"^x_":{"type":"string"}},"propertyNames":{"maxLength":8},"maxProperties":3,"allOf":[{"properties":{"id":true}}],"unevaluatedProperties":false}'
	check_lines '{"id":1,"x_a":"s"}' '{"x_b":2}' '{"id":1,"x_very_long":"s"}' '{"id":1,"x_a":"a","x_b":"b","x_c":"c"}' '{"id":1,"other":1}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(jq -r '[.reasons[] | .code + " " + .path] | join(",")' rej.ndjson | tr '\n' '|')" \
	    'type /x_b|name /x_very_long|length |unevaluated /other|'
	assert_eq "$(jq -r 'select(.src.line == 3) | .reasons[0].message' rej.ndjson)" \
	    'field name "x_very_long": "x_very_long" is longer than 8 characters'
}

@test "arrays: prefixItems, items false, contains, uniqueItems, unevaluatedItems" {
	schema '{"properties":{"t":{"prefixItems":[{"type":"string"},{"type":"number"}],"items":false},"c":{"contains":{"type":"integer"},"minContains":2,"maxContains":3},"u":{"uniqueItems":true},"e":{"prefixItems":[true],"unevaluatedItems":{"type":"null"}}}}'
	check_lines '{"t":["a",1],"c":[1,2,"x"],"u":[1,"1",[1]],"e":[5,null]}' '{"t":[1]}' '{"t":["a",1,2]}' \
	    '{"c":[1]}' '{"c":[1,2,3,4]}' '{"u":[{"a":1,"b":[2]},3,{"b":[2.0],"a":1}]}' '{"e":[5,6]}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(jq -r '[.reasons[] | .code + " " + .path] | join(",")' rej.ndjson | tr '\n' '|')" \
	    'type /t/0|items /t/2|contains /c|contains /c|unique /u|type /e/1|'
	assert_eq "$(jq -r 'select(.src.line == 6) | .reasons[0].message' rej.ndjson)" \
	    'items 0 and 2 are equal: {"a":1,"b":[2]}'
}

@test "numbers: multipleOf, exact for integers, to the last digits for decimals" {
	schema '{"properties":{"q":{"multipleOf":0.01},"n":{"multipleOf":3}}}'
	# 2^53 + 1 is a multiple of 3; 2^53, which a double cannot tell from it, is not.
	check_lines '{"q":19.99,"n":9007199254740993}' '{"q":0.0075}' '{"q":-0.07}' '{"n":9007199254740992}' '{"n":4}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(codes | tr '\n' ' ')" "multiple multiple multiple "
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson | head -1)" '0.0075 is not a multiple of 0.01'
}

@test "formatMinimum and formatMaximum bound dates and date-times" {
	schema '{"properties":{"scraping_date":{"type":"string","format":"date","formatMinimum":"2020-03-05","formatExclusiveMaximum":"2027-01-01"},"seen_at":{"format":"date-time","formatMaximum":"2026-11-24T12:00:00+01:00"}}}'
	check_lines '{"scraping_date":"2020-03-05","seen_at":"2026-11-24T11:00:00Z"}' '{"scraping_date":"2026-12-31"}' \
	    '{"scraping_date":"2020-03-04"}' '{"scraping_date":"2027-01-01"}' '{"seen_at":"2026-11-24T11:00:00.001Z"}' \
	    '{"scraping_date":"2020-02-30"}'
	assert_eq "$(lines "$stdout_file")" 2
	assert_eq "$(jq -r '.reasons[] | .code + " " + .message' rej.ndjson | tr '\n' '|')" \
	    'range "2020-03-04" is before the formatMinimum 2020-03-05|range "2027-01-01" is not before 2027-01-01|range "2026-11-24T11:00:00.001Z" is after the formatMaximum 2026-11-24T12:00:00+01:00|format "2020-02-30" is not a date (YYYY-MM-DD)|'
	# A bound needs a date or date-time format beside it, and must be one.
	schema '{"formatMinimum":"2020-03-05"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "/formatMinimum: formatMinimum needs format date or date-time beside it"
	schema '{"format":"date","formatMinimum":"5 March 2020"}'
	run_split etl-check -s schema.json /dev/null 3>&-
	[ "$status" -eq 78 ]
}

@test "formats: each is checked, and none with --format-annotation" {
	schema '{"properties":{"email":{"format":"email"},"host":{"format":"hostname"},"ip":{"format":"ipv4"},"ip6":{"format":"ipv6"},"url":{"format":"uri"},"id":{"format":"uuid"},"t":{"format":"time"},"p":{"format":"duration"},"re":{"format":"regex"},"ptr":{"format":"json-pointer"}}}'
	check_lines '{"email":"a.b@example.ch","host":"www.example.ch","ip":"192.168.0.1","ip6":"::1","url":"https://example.ch/a?b#c","id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","t":"10:00:00+01:00","p":"P1Y2M","re":"^\\d+$","ptr":"/a/b~1c"}' \
	    '{"email":"a..b@example.ch"}' '{"host":"-www.ch"}' '{"ip":"192.168.0.01"}' '{"ip6":"1::2::3"}' \
	    '{"url":"example.ch/a"}' '{"id":"2eb8aa08aa9811eab4aa73b441d16380"}' '{"t":"10:00:00"}' \
	    '{"p":"P1Y2D"}' '{"re":"(?i)a"}' '{"ptr":"a/b"}'
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(codes | sort -u)" format
	assert_eq "$(lines rej.ndjson)" 10
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson | head -1)" '"a..b@example.ch" is not an email address (RFC 5321)'
	run_split etl-check --format-annotation -s schema.json in.ndjson 3>rej.ndjson
	assert_eq "$(lines "$stdout_file")" 11
}

@test "alternatives that multiply along a deep value stop with code limit" {
	# Both alternatives fail only at the bottom: 2^40 evaluations.
	schema '{"$defs":{"t":{"anyOf":[{"type":"array","items":{"$ref":"#/$defs/t"}},{"type":"array","items":{"$ref":"#/$defs/t"}},{"type":"null"}]}},"$ref":"#/$defs/t"}'
	$PY -c 'print("[" * 40 + "\"x\"" + "]" * 40); print("[" * 40 + "null" + "]" * 40)' >in.ndjson
	run_split timeout "$(slack 10)" etl-check --any -s schema.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines "$stdout_file")" 1
	assert_eq "$(jq -r '.reasons[] | .code + " " + .message' rej.ndjson)" \
	    "limit validation stopped after 1041001 steps: the schema's alternatives multiply on this record"
}

@test "--any: a record may be any JSON value" {
	schema '{"type":["array","string"],"items":{"type":"integer"}}'
	check_lines '[1,2]' '"x"' '[1,"a"]' '{"a":1}' '3' 'nul'
	assert_eq "$(lines "$stdout_file")" 0
	run_split etl-check --any -s schema.json in.ndjson 3>rej.ndjson
	assert_eq "$output" $'[1,2]\n"x"'
	assert_eq "$(jq -c '[.src.line, [.reasons[] | .code + .path]]' rej.ndjson | tr '\n' ' ')" \
	    '[3,["type/1"]] [4,["type"]] [5,["type"]] [6,["parse"]] '
	# The rejected values are embedded as they came.
	assert_eq "$(jq -c 'select(.src.line == 5) | .record' rej.ndjson)" 3
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
