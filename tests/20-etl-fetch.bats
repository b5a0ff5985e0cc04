#!/usr/bin/env bats
# etl-fetch: formats, sources, lakes, replay, URLs, memory, progress.

load helper

F="$DATA/fetch"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	if [ -n "${server_pid:-}" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
}

# Field by field against Python's csv module: same rows, keys, order, values.
csv_compare() {
	$PY - "$1" "$2" "${3:-utf-8-sig}" "${4:-,}" <<'EOF'
import csv, json, sys
src, out, enc, delim = sys.argv[1:5]
rows = list(csv.DictReader(open(src, encoding=enc, newline=''), delimiter=delim))
got = [json.loads(l) for l in open(out, encoding='utf-8')]
assert len(rows) == len(got), (len(rows), len(got))
for i, (a, b) in enumerate(zip(rows, got)):
    assert list(a.items()) == list(b.items()), (i, a, b)
EOF
}

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A python -m http.server on a free port serving $1; sets $port.
serve() {
	port=$(free_port)
	(cd "$1" && exec $PY -m http.server -b 127.0.0.1 "$port") \
	    >/dev/null 2>&1 3>&- &
	server_pid=$!
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	return 1
}

# Built with the sanitizers or run under valgrind: memory is not its own.
instrumented() {
	[ "${VALGRIND:-}" = 1 ] ||
	    ldd "$(command -v etl-fetch)" 2>/dev/null | grep -q libasan
}

@test "real CSV excerpts read like Python's csv, BOM dropped" {
	run_split etl-fetch "$F/melb.csv" 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$(lines "$stdout_file")" 300
	assert_eq "$(head -1 "$stdout_file" | jq -r 'keys_unsorted[0]')" Suburb
	assert_eq "$(head -1 "$stdout_file" | jq -r .BuildingArea)" ""
	csv_compare "$F/melb.csv" "$stdout_file"
	assert_eq "$(lines rej.ndjson)" 0
	assert_contains "$stderr_file" "300 in, 300 out, 0 rejected"

	etl-fetch "$F/dvf.csv" 3>&- 2>/dev/null >dvf.ndjson
	assert_eq "$(lines dvf.ndjson)" 300
	csv_compare "$F/dvf.csv" dvf.ndjson
	# The same as Miller reads it.
	mlr --icsv --ojsonl cat "$F/dvf.csv" >mlr.ndjson
	$PY - <<'EOF'
import json
num = {'parse_int': str, 'parse_float': str}
a = [json.loads(l, **num) for l in open('mlr.ndjson')]
b = [json.loads(l) for l in open('dvf.ndjson')]
assert a == b, next((x, y) for x, y in zip(a, b) if x != y)
EOF
}

@test "quoted fields over lines, CRLF, doubled quotes, empty fields, blank lines" {
	printf '\xef\xbb\xbfid,text,n\r\n1,"two\r\nlines",3\r\n\r\n2,"say ""hi"", ok",\r\n3, spaced ,""\r\n' >m.csv
	etl-fetch m.csv 3>rej.ndjson >out.ndjson 2>/dev/null
	assert_eq "$(lines out.ndjson)" 3
	csv_compare m.csv out.ndjson
	assert_eq "$(sed -n 1p out.ndjson)" '{"id":"1","text":"two\r\nlines","n":"3"}'
	assert_eq "$(sed -n 2p out.ndjson)" '{"id":"2","text":"say \"hi\", ok","n":""}'
	assert_eq "$(sed -n 3p out.ndjson | jq -r .text)" " spaced "
	assert_eq "$(lines rej.ndjson)" 0
}

@test "latin1 converted with --encoding; without it U+FFFD and a warning" {
	printf 'ville;prix\nZ\xfcrich;1\xa0250\nGen\xe8ve;900\n' >l.csv
	etl-fetch --encoding latin1 l.csv 3>&- >out.ndjson 2>/dev/null
	csv_compare l.csv out.ndjson latin-1 ';'
	assert_eq "$(head -1 out.ndjson | jq -r .ville)" "Zürich"
	run_split etl-fetch l.csv 3>&-
	assert_eq "$status" 0
	assert_contains "$stderr_file" "l.csv:2: bytes that are not UTF-8"
	assert_eq "$(head -1 "$stdout_file" | jq -r .ville)" "Z�rich"
	run_split etl-fetch --encoding no-such-charset l.csv
	assert_eq "$status" 64
}

@test "a character cut between two reads of a pipe is no warning; one cut by the end is" {
	# 80 KB first (the first 64 KiB are read as one block), then the
	# writer stops in the middle of ü, ü again and the 4 bytes of 🏠.
	{
		printf 'ville,n\n'
		yes 'Basel,0' | head -n 10000
		printf 'Z\303'
		sleep 0.3
		printf '\274rich,1\nZ\303\274'
		sleep 0.3
		printf 'rich,2\nH\360\237'
		sleep 0.3
		printf '\217\240,3\n'
	} | etl-fetch -f csv 3>&- >out.ndjson 2>err
	assert_eq "$(tail -n 3 out.ndjson | jq -r .ville)" "Zürich
Zürich
H🏠"
	assert_eq "$(grep -c 'not UTF-8' err)" 0
	# Bad bytes after a cut character are still found, with their line.
	{
		printf 'ville\n'
		yes 'Basel' | head -n 15000
		printf 'Z\303'
		sleep 0.3
		printf '\274rich\nx\377\n'
	} | etl-fetch -f csv 3>&- >/dev/null 2>err
	assert_contains err "<stdin>:15003: bytes that are not UTF-8"
	# A character the input ends in the middle of.
	printf 'ville\nZ\303' | etl-fetch -f csv 3>&- >out.ndjson 2>err
	assert_contains err "bytes that are not UTF-8"
	assert_eq "$(jq -r .ville out.ndjson)" "Z�"
}

@test "ragged rows are rejects with code columns, file and line" {
	printf 'a,b,c\n1,2,3\n4,5\n"6\n7",8,9\n10,11,12,13\n' >r.csv
	run_split etl-fetch --stats st.json r.csv 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$output" '{"a":"1","b":"2","c":"3"}
{"a":"6\n7","b":"8","c":"9"}'
	assert_eq "$(jq -c '[.src.line, .reasons[0].code, .raw]' rej.ndjson)" '[3,"columns","4,5"]
[6,"columns","10,11,12,13"]'
	assert_eq "$(jq -r '.src.file' rej.ndjson | sort -u)" r.csv
	assert_eq "$(stats_triple st.json)" "4 2 2"
	assert_eq "$(jq -c .reasons st.json)" '{"columns":2}'
}

@test "TSV, --delimiter, --no-header, --columns, --fields" {
	printf 'a\tb\n1\t2\n' >t.tsv
	assert_eq "$(etl-fetch t.tsv 3>&- 2>/dev/null)" '{"a":"1","b":"2"}'
	assert_eq "$(etl-fetch --no-header t.tsv 3>&- 2>/dev/null)" '{"column1":"a","column2":"b"}
{"column1":"1","column2":"2"}'
	assert_eq "$(etl-fetch --no-header --columns x,y t.tsv 3>&- 2>/dev/null | tail -1)" '{"x":"1","y":"2"}'
	printf 'a|b|b|\n1|2|3|4\n' >p.txt
	assert_eq "$(etl-fetch -f csv -d '|' p.txt 3>&- 2>/dev/null)" '{"a":"1","b":"2","b_2":"3","column4":"4"}'
	assert_eq "$(etl-fetch --fields b_2,zz,a -f csv -d '|' p.txt 3>&- 2>/dev/null)" '{"b_2":"3","a":"1"}'
}

@test "NDJSON passes byte for byte; bad lines are parse rejects" {
	printf '{"a": 1.50, "big": 123456789012345678901234567890}\n\nnot json\n[1]\n{"b":2}\r\n{"c":3}' >in.ndjson
	run_split etl-fetch in.ndjson 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$output" '{"a": 1.50, "big": 123456789012345678901234567890}
{"b":2}
{"c":3}'
	assert_eq "$(jq -c '[.src.line, .reasons[0].code, .raw]' rej.ndjson)" '[3,"parse","not json"]
[4,"parse","[1]"]'
	assert_contains "$stderr_file" "5 in, 3 out, 2 rejected (parse 2)"
	# Adding fields keeps the numbers as written.
	assert_eq "$(etl-fetch --provenance in.ndjson 3>&- 2>/dev/null | head -1)" \
	    '{"a": 1.50, "big": 123456789012345678901234567890,"_src":{"file":"in.ndjson","line":1}}'
}

@test "JSON arrays stream element by element, numbers as written" {
	printf '[\n  {"id": 1, "p": 1.50, "t": ["x", "]"]},\n  42,\n  {bad},\n  {"id": 2, "s": "a\\"b"}\n]\n' >a.json
	run_split etl-fetch --provenance a.json 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$output" '{"id":1,"p":1.50,"t":["x","]"],"_src":{"file":"a.json","line":2}}
{"id":2,"s":"a\"b","_src":{"file":"a.json","line":5}}'
	assert_eq "$(jq -c '[.src.line, .reasons[0].code, .raw]' rej.ndjson)" '[3,"parse","42"]
[4,"parse","{bad}"]'
	# jq reads the same records.
	assert_eq "$(etl-fetch a.json 3>&- 2>/dev/null | jq -c .)" "$(jq -c '.[] | objects' <(printf '[{"id": 1, "p": 1.50, "t": ["x", "]"]},{"id": 2, "s": "a\\"b"}]'))"
	# Truncated: what was read of the last element is rejected.
	printf '[{"a":1},{"a":2' >t.json
	run_split etl-fetch t.json 3>rej.ndjson
	assert_eq "$output" '{"a":1}'
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson)" "unexpected end of input"
	# Pretty-printed objects one after the other.
	printf '{\n "a": 1\n}\n{\n "a": 2\n}\n' >p.json
	assert_eq "$(etl-fetch p.json 3>&- 2>/dev/null)" '{"a":1}
{"a":2}'
}

@test "--json-path reads the array inside an object" {
	printf '{"meta": {"skip": [1, {"x": "]"}]}, "data": {"items": [{"id": 1}, {"id": 2}], "n": 2}}' >o.json
	assert_eq "$(etl-fetch --json-path data.items o.json 3>&- 2>/dev/null)" '{"id":1}
{"id":2}'
	run_split etl-fetch --json-path data.nope o.json 3>&-
	assert_eq "$status" 65
	assert_contains "$stderr_file" "nothing at --json-path data.nope"
}

@test "a double-encoded document is decoded once more, with a warning" {
	run_split etl-fetch "$F/offers.json" 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$(lines "$stdout_file")" 10
	assert_contains "$stderr_file" "JSON string holding JSON; decoded once more"
	assert_eq "$(jq -c . "$stdout_file")" "$(jq -c 'fromjson | .[]' "$F/offers.json")"
	assert_eq "$(lines rej.ndjson)" 0
}

@test "gzip and zstd by magic, whatever the name" {
	cp "$F/dvf.csv" d.csv
	etl-fetch d.csv 3>&- 2>/dev/null >plain.ndjson
	gzip -c d.csv >d.csv.gz
	zstd -q -c d.csv >d.csv.zst
	zstd -q -c d.csv >renamed.csv
	for f in d.csv.gz d.csv.zst renamed.csv; do
		etl-fetch "$f" 3>&- 2>/dev/null | cmp - plain.ndjson
	done
	printf '{"a":1}\n{"b":2}\n' | gzip -c >x.ndjson.gz
	printf '[{"a":1},{"b":2}]' | zstd -q -c >x.json.zst
	assert_eq "$(etl-fetch x.ndjson.gz x.json.zst 3>&- 2>/dev/null | tr '\n' ' ')" '{"a":1} {"b":2} {"a":1} {"b":2} '
	printf 'garbage' | gzip -c | head -c 12 >bad.ndjson.gz
	run_split etl-fetch bad.ndjson.gz 3>&-
	assert_eq "$status" 65
}

make_lake() {
	mkdir -p lake/dt=2026-11-20/city=Z%C3%BCrich lake/dt=2026-11-21/city=Bern \
	    lake/dt=2026-11-21/.tmp lake/_meta lake/dt=__HIVE_DEFAULT_PARTITION__
	echo '{"id":1}' >lake/dt=2026-11-20/city=Z%C3%BCrich/part-1.ndjson
	printf 'id,dt\n2,wrong\n' | gzip -c >lake/dt=2026-11-21/city=Bern/b.csv.gz
	printf 'id\n3\n' | gzip -c >lake/dt=2026-11-21/part-0.csv.gz
	echo '{"id":99}' >lake/dt=2026-11-21/.tmp/x.ndjson
	echo '{"id":98}' >lake/dt=2026-11-21/.hidden.ndjson
	echo '{"id":97}' >lake/dt=2026-11-21/_SUCCESS
	echo '{"id":96}' >lake/_meta/m.ndjson
	echo '{"id":4}' >lake/dt=__HIVE_DEFAULT_PARTITION__/p.ndjson
}

@test "directories: sorted, hidden and _ names skipped, Hive fields added" {
	make_lake
	run_split etl-fetch lake 3>&-
	assert_eq "$status" 0
	assert_eq "$output" '{"id":1,"dt":"2026-11-20","city":"Zürich"}
{"id":"2","dt":"2026-11-21","city":"Bern"}
{"id":"3","dt":"2026-11-21"}
{"id":4,"dt":null}'
	# A quoted glob: same rules for the names it matches.
	assert_eq "$(etl-fetch 'lake/dt=2026-11-21/*' 3>&- 2>/dev/null | jq -r .id | tr '\n' ' ')" "2 3 "
}

@test "--where prunes directories before opening them" {
	make_lake
	run_split etl-fetch --where 'dt>=2026-11-21' --stats st.json lake 3>&-
	assert_eq "$status" 0
	assert_eq "$(jq -r .id "$stdout_file" | tr '\n' ' ')" "2 3 "
	assert_eq "$(jq -c '[.files, .pruned]' st.json)" "[2,2]"
	if command -v strace >/dev/null; then
		ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat -o trace.txt etl-fetch -q -w 'dt>=2026-11-21' lake >/dev/null 3>&-
		! grep -q 'dt=2026-11-20' trace.txt
		grep -q 'dt=2026-11-21' trace.txt
	fi
	assert_eq "$(etl-fetch -w 'dt>2026-11-20' -w 'dt<2026-11-22' -w 'city!=Bern' lake 3>&- 2>/dev/null | jq -r .id)" 3
	# Directories without the key are kept; a null partition fails.
	assert_eq "$(etl-fetch -w 'city=Zürich' lake 3>&- 2>/dev/null | jq -r .id | tr '\n' ' ')" "1 3 4 "
	assert_eq "$(etl-fetch -w 'dt!=x' lake 3>&- 2>/dev/null | jq -r .id | tr '\n' ' ')" "1 2 3 "
	# A file named on the command line is pruned by its path too.
	assert_eq "$(etl-fetch -w 'dt=2026-11-20' lake/dt=2026-11-21/part-0.csv.gz lake/dt=2026-11-20/city=Z%C3%BCrich/part-1.ndjson 3>&- 2>/dev/null)" \
	    '{"id":1,"dt":"2026-11-20","city":"Zürich"}'
	run_split etl-fetch --where 'dt~x' lake
	assert_eq "$status" 64
}

@test "--fields and --provenance on every format" {
	make_lake
	run_split etl-fetch --fields city,id --provenance lake/dt=2026-11-20 lake/dt=2026-11-21/city=Bern 3>&-
	assert_eq "$output" '{"city":"Zürich","id":1,"_src":{"file":"lake/dt=2026-11-20/city=Z%C3%BCrich/part-1.ndjson","line":1}}
{"city":"Bern","id":"2","_src":{"file":"lake/dt=2026-11-21/city=Bern/b.csv.gz","line":2}}'
}

@test "--replay turns rejects back into records; raw-only ones are rejected again" {
	printf 'a,b\n1,2\n3\n' >r.csv
	printf '{"x":1}\nnope\n' >n.ndjson
	etl-fetch r.csv n.ndjson 3>rej.ndjson >/dev/null 2>&1
	printf '{"tool":"etl-check","run_id":"r","src":{"file":"o.ndjson","line":7},"reasons":[],"record":{"p":1.50,"n":7}}\n' >>rej.ndjson
	printf '__reject\t{"tool":"etl-check","src":{"file":"q","line":2},"reasons":[],"raw":"{\\"fixed\\":true}"}\n' >>rej.ndjson
	echo 'not a reject' >>rej.ndjson
	run_split etl-fetch --replay rej.ndjson --provenance --stats st.json 3>rej2.ndjson
	assert_eq "$status" 0
	assert_eq "$output" '{"p":1.50,"n":7,"_src":{"file":"o.ndjson","line":7}}
{"fixed":true,"_src":{"file":"q","line":2}}'
	assert_eq "$(jq -c '[.src.file, .src.line, .reasons[0].code, .raw]' rej2.ndjson)" '["r.csv",3,"parse","3"]
["n.ndjson",2,"parse","nope"]
["rej.ndjson",5,"parse","not a reject"]'
	assert_eq "$(stats_triple st.json)" "5 2 3"
	# Byte for byte without --provenance; stdin not read.
	assert_eq "$(etl-fetch --replay rej.ndjson 3>/dev/null 2>/dev/null </dev/null | head -1)" '{"p":1.50,"n":7}'
}

@test "URLs: a local server, 404, and a closed port exits 75 within the timeout" {
	mkdir www
	cp "$F/offers.json" "$F/melb.csv" www/
	gzip -c "$F/dvf.csv" >www/dvf.csv.gz
	serve www
	assert_eq "$(etl-fetch "http://127.0.0.1:$port/offers.json" 3>&- 2>/dev/null | jq -c .)" "$(jq -c 'fromjson | .[]' "$F/offers.json")"
	etl-fetch "http://127.0.0.1:$port/melb.csv" 3>&- 2>/dev/null >m.ndjson
	csv_compare "$F/melb.csv" m.ndjson
	assert_eq "$(etl-fetch --provenance "http://127.0.0.1:$port/dvf.csv.gz" 3>&- 2>/dev/null | head -1 | jq -r ._src.file)" "http://127.0.0.1:$port/dvf.csv.gz"
	run_split etl-fetch "http://127.0.0.1:$port/missing.csv" 3>&-
	assert_eq "$status" 66
	assert_contains "$stderr_file" "HTTP status 404"
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	start=$(date +%s.%N)
	run_split etl-fetch --retries 10 --timeout 2 "http://127.0.0.1:$port/melb.csv" 3>&-
	end=$(date +%s.%N)
	assert_eq "$status" 75
	assert_contains "$stderr_file" "retrying in 0.5 s"
	assert_contains "$stderr_file" "gave up after"
	$PY -c "import sys; t = $end - $start; sys.exit(0 if 1.4 < t < 1.5 + $(slack 2) else 1)"
	run_split etl-fetch --retries 1 "http://127.0.0.1:$port/melb.csv" 3>&-
	assert_eq "$status" 75
	assert_contains "$stderr_file" "gave up after 2 attempts"
}

@test "a 50 MB JSON array is read in under 64 MB of memory" {
	$PY - <<'EOF'
rec = '{"id": %d, "name": "listing %d with a long description", "price": 123456.5, "tags": ["a", "b"], "geo": {"lat": 47.3, "lon": 8.5}}'
with open('big.json', 'w') as f:
    f.write('[\n')
    size, i = 0, 0
    while size < 50_500_000:
        s = (',\n' if i else '') + rec % (i, i)
        f.write(s)
        size += len(s)
        i += 1
    f.write('\n]\n')
print(i, file=open('n', 'w'))
EOF
	[ "$(stat -c %s big.json)" -gt 50000000 ]
	/usr/bin/time -f '%M' -o rss etl-fetch big.json 3>&- 2>/dev/null | tail -1 >last.ndjson
	assert_eq "$(jq -r .id last.ndjson)" "$(($(cat n) - 1))"
	if ! instrumented; then
		[ "$(cat rss)" -lt 65536 ] || { echo "RSS $(cat rss) KB" >&2; false; }
	fi
}

@test "progress on a terminal only" {
	cp "$F/melb.csv" m.csv
	script -qc "etl-fetch m.csv >/dev/null 3>/dev/null" /dev/null >tty.txt
	grep -q 'records/s' tty.txt
	grep -q 'm.csv' tty.txt
	run_split etl-fetch m.csv 3>&-
	! grep -q 'records/s' "$stderr_file"
	script -qc "etl-fetch -q m.csv >/dev/null 3>/dev/null" /dev/null >tty.txt
	! grep -q 'records/s' tty.txt
}

@test "usage 64, missing 66, /dev/full 74, head quiet 0, empty 0, help 0" {
	run_split etl-fetch --bogus
	assert_eq "$status" 64
	assert_contains "$stderr_file" "usage: etl-fetch"
	run_split etl-fetch -f xml
	assert_eq "$status" 64
	run_split etl-fetch --retries x
	assert_eq "$status" 64
	run_split etl-fetch nosuch.csv "$F/offers.json" 3>&-
	assert_eq "$status" 66
	assert_contains "$stderr_file" "nosuch.csv: No such file or directory"
	assert_eq "$(lines "$stdout_file")" 10
	run_split etl-fetch 'nomatch/*.csv'
	assert_eq "$status" 66
	assert_contains "$stderr_file" "no match"
	st=0
	etl-fetch "$F/melb.csv" 3>&- 2>err.txt >/dev/full || st=$?
	assert_eq "$st" 74
	assert_contains err.txt "stdout: No space left on device"
	run bash -c "etl-fetch '$F/melb.csv' 3>&- 2>err.txt | head -1 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_eq "$output" 0
	! grep -q error err.txt
	# Past the output buffer, so the reader is really gone mid-stream.
	cat "$F/melb.csv" "$F/melb.csv" "$F/melb.csv" "$F/melb.csv" "$F/melb.csv" >m5.csv
	for _ in 1 2 3 4 5; do cat m5.csv; done | sed '2,$ {/^Suburb/d}' >m25.csv
	run bash -c "etl-fetch m25.csv 3>&- 2>err.txt | head -1 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_eq "$output" 0
	assert_eq "$(cat err.txt)" ""
	run_split etl-fetch </dev/null 3>&-
	assert_eq "$status" 0
	assert_eq "$output" ""
	assert_contains "$stderr_file" "0 in, 0 out, 0 rejected"
	printf 'a,b\n1,2\n' | etl-fetch - 3>&- 2>/dev/null >o.ndjson
	assert_eq "$(cat o.ndjson)" '{"a":"1","b":"2"}'
	run_split etl-fetch -h
	assert_eq "$status" 0
	assert_contains "$stdout_file" "usage: etl-fetch"
	# usage() is the man page's SYNOPSIS.
	mandoc -Tascii "$ETL_ROOT/man/etl-fetch.1" | col -b |
	    awk '/^SYNOPSIS/{s=1;next} /^[A-Z]/{s=0} s' | tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//' >syn.txt
	etl-fetch -h | sed -n '/^usage: /,/^  -/p' | sed '$d; s/^usage: //' | tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//' >use.txt
	assert_eq "$(cat use.txt)" "$(cat syn.txt)"
}

@test "man page: lint clean, EXAMPLES run" {
	run mandoc -Tlint -W warning "$ETL_ROOT/man/etl-fetch.1"
	assert_eq "$output" ""
	cp "$F/melb.csv" melb_data.csv
	make_lake
	mkdir www
	cp "$F/offers.json" www/sample.json
	cp "$F/offers.json" sample.json
	printf 'Z\xfcrich;1250000\n' >ventes.csv
	printf '{"data": {"items": [{"id": 1}]}}' >reply.json
	serve www
	man_examples "$ETL_ROOT/man/etl-fetch.1" | sed "s/127.0.0.1:8000/127.0.0.1:$port/" >examples.sh
	[ "$(wc -l <examples.sh)" -ge 7 ]
	while IFS= read -r cmd; do
		run bash -o pipefail -c "$cmd"
		[ "$status" -eq 0 ] || { echo "failed ($status): $cmd" >&2; echo "$output" >&2; false; }
	done <examples.sh
	assert_eq "$(lines large.ndjson)" "$(jq -c 'fromjson | .[] | select(.living_area > 100)' sample.json | wc -l)"
}

@test "errors that say what to do: a trailing comma, another delimiter, an empty directory" {
	printf '[{"a":1},\n{"a":2},\n]\n' >tc.json
	run_split etl-fetch --stats st.json tc.json 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines "$stdout_file")" 2
	jq -e '.reasons[0].code == "parse" and (.reasons[0].message | contains("before the array'"'"'s '"'"']'"'"'")) and .src.line == 3' rej.ndjson
	jq -e '.in == 3 and .out == 2 and .rejected == 1' st.json
	printf 'id,price,city\n1;2;Zurich\n2;3;"Bern\n' >semi.csv
	run_split etl-fetch semi.csv 3>rej.ndjson
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson | sort -u)" \
	    "expected 3 fields, got 1; split on ';' it has 3: is that the delimiter? (-d ';')"
	run_split etl-fetch -d ';' --no-header --columns id,price,city semi.csv 3>&-
	mkdir empty
	run_split etl-fetch --stats st.json empty 3>&-
	[ "$status" -eq 0 ]
	assert_contains "$stderr_file" "empty: no file to read in this directory"
	jq -e '.empty_sources == 1' st.json
}
