#!/usr/bin/env bats
# Rejects that chain: a __reject<TAB>{json} line written upstream with
# --rejects inline is passed on by every tool as it came, counted as
# passed_rejects, and replayable at the end of the chain.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	# a2: clean coerces neither number; a4, a7: check's range; a5: a
	# ragged row, fetch's.  a1, a3, a6 and a8 reach the store.
	cat >x.csv <<-'EOF'
	id,price,area,k
	a1,100,50,x
	a2,zwei,viel,y
	a3,300,30,x
	a4,400,-5,y
	a5,500,20
	a6,600,60,y
	a7,700,0,x
	a8,800,80,x
	EOF
	printf '%s\n' '{"fields":{"price":{"type":"number"},"area":{"type":"number"}}}' >r.json
	printf '%s\n' '{"type":"object","required":["id","price","area","k"],"properties":{"area":{"type":"number","minimum":1}}}' >s.json
}

# The rejects of lines "__reject<TAB>JSON" of a file, as their JSON.
rejects_of() {
	grep $'^__reject\t' "$1" | cut -f2-
}

# A stats file's field.
stat() {
	jq -r ".$2" "$1"
}

@test "stdout-only chain: every reject reaches the end as its tool wrote it" {
	etl-fetch x.csv --rejects inline --stats f.st 3>&- 2>f.err |
	    etl-clean --rules r.json --rejects inline --stats c.st 3>&- 2>c.err |
	    etl-check -s s.json --rejects inline --stats k.st 3>&- 2>k.err |
	    etl-store --root st --by k --rejects inline --stats s.st 3>&- 2>s.err >out
	rejects_of out | jq -c '[.tool, .record.id // .raw, [.reasons[] | .path + " " + .code]]' >got
	cat >want <<-'EOF'
	["etl-clean","a2",["/price coerce","/area coerce"]]
	["etl-check","a4",["/area range"]]
	["etl-fetch","a5,500,20",[" columns"]]
	["etl-check","a7",["/area range"]]
	EOF
	diff -u want got
	assert_eq "$(grep -c '"code":"parse"' out)" 0
	# Nothing lost: the first tool's in is what was stored plus every
	# tool's own rejects.
	stored=$(zstd -dcq st/k=*/*.ndjson.zst | wc -l)
	assert_eq "$stored" 4
	assert_eq "$(stat s.st out)" 4
	assert_eq "$(stat f.st in)" \
	    "$((stored + $(stat f.st rejected) + $(stat c.st rejected) + $(stat k.st rejected) + $(stat s.st rejected)))"
	# Each tool: in = out + rejected; passed what the tools before rejected.
	for t in f c k s; do
		assert_eq "$(stat $t.st in)" "$(($(stat $t.st out) + $(stat $t.st rejected)))"
	done
	assert_eq "$(stat f.st passed_rejects)" 0
	assert_eq "$(stat c.st passed_rejects)" "$(stat f.st rejected)"
	assert_eq "$(stat k.st passed_rejects)" \
	    "$(($(stat f.st rejected) + $(stat c.st rejected)))"
	assert_eq "$(stat s.st passed_rejects)" \
	    "$(($(stat f.st rejected) + $(stat c.st rejected) + $(stat k.st rejected)))"
	# Passed rejects are not this tool's reasons.
	assert_eq "$(jq -c .reasons k.st)" '{"range":2}'
	assert_eq "$(jq -c .reasons s.st)" '{}'
	assert_contains k.err "etl-check: 6 in, 4 out, 2 rejected (range 2), 2 passed rejects"
	assert_contains f.err "etl-fetch: 8 in, 7 out, 1 rejected (columns 1)"
	assert_eq "$(grep -c passed f.err)" 0
}

@test "a tool writes an upstream reject's JSON to fd 3 or --rejects FILE byte for byte" {
	etl-fetch x.csv --rejects inline 3>&- 2>/dev/null |
	    etl-clean --rules r.json --rejects inline 3>&- 2>/dev/null >c.out
	# A reject as no tool of ours would write it: re-serialising shows.
	printf '__reject\t{ "tool" : "up", "reasons":[{"code":"x"}], "record":{"p":1.50,"s":"\\u00e9","n":123456789012345678901234567890} }\r\n' >>c.out
	rejects_of c.out | tr -d '\r' >upstream
	assert_eq "$(lines upstream)" 3
	run_split etl-check -s s.json c.out 3>k.rej
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c '^__reject' "$stdout_file")" 0
	assert_eq "$(grep -c '^{"tool":"etl-check",' k.rej)" 2
	grep -v '^{"tool":"etl-check",' k.rej >passed
	cmp upstream passed
	# --rejects FILE: the same bytes.
	etl-check -q -s s.json --rejects k2.rej c.out 3>&- >/dev/null
	cmp k.rej k2.rej
	# etl-store, behind an inline etl-check, on fd 3.
	etl-check -q -s s.json --rejects inline c.out 3>&- >k.out
	rejects_of k.out >upstream2
	assert_eq "$(lines upstream2)" 5
	run_split etl-store --root st --by k --stats s.st k.out 3>s.rej
	[ "$status" -eq 0 ]
	cmp upstream2 s.rej
	assert_eq "$(jq -c '[.in, .out, .rejected, .passed_rejects]' s.st)" '[4,4,0,5]'
	# etl-fetch reading NDJSON passes them on too (sniffed as NDJSON
	# even when the first line is one).
	rejects_of c.out | sed 's/^/__reject\t/' | etl-fetch --stats f.st 3>f.rej >f.out
	cmp upstream f.rej
	[ ! -s f.out ]
	assert_eq "$(jq -c '[.in, .out, .rejected, .passed_rejects]' f.st)" '[0,0,0,3]'
}

@test "etl-fetch --replay of a chain's stdout gives back the rejected records" {
	etl-fetch x.csv --rejects inline 3>&- 2>/dev/null |
	    etl-clean --rules r.json --rejects inline 3>&- 2>/dev/null |
	    etl-check -s s.json --rejects inline 3>&- 2>/dev/null |
	    etl-store --root st --by k --rejects inline 3>&- 2>/dev/null >out
	grep $'^__reject\t' out >rejects.inline
	run_split etl-fetch --replay rejects.inline --stats r.st 3>again.ndjson
	[ "$status" -eq 0 ]
	# Each record byte for byte as the rejecting tool got it.
	etl-fetch -q x.csv 3>&- >fetched
	etl-fetch -q x.csv 3>&- | etl-clean -q --rules r.json 3>&- >cleaned
	{ grep '"a2"' fetched; grep -e '"a4"' -e '"a7"' cleaned; } >want
	cmp want "$stdout_file"
	# The ragged CSV row has no record: rejected again, raw and src kept.
	assert_eq "$(jq -c '[.src.file, .src.line, .raw]' again.ndjson)" '["x.csv",6,"a5,500,20"]'
	assert_eq "$(stats_triple r.st)" "4 3 1"
}

@test "a __reject line that is not a reject is a parse reject of the tool that reads it" {
	printf '%s\n' '{"id":"a","k":"x","price":1,"area":2}' \
	    $'__reject\tnot json' $'__reject\t{"tool":"up"}' \
	    $'__reject\t{"reasons":{}}' $'__reject\t[1]' $'__reject\t' \
	    $'__reject\t{"reasons":[]}' >in.ndjson
	for cmd in "etl-fetch" "etl-clean --rules r.json" "etl-check -s s.json" \
	    "etl-store --root st --by k" "etl-agg -g k -a count" \
	    "etl-model fit -y price -x area"; do
		# shellcheck disable=SC2086
		run_split $cmd --stats st.json in.ndjson 3>rej.ndjson
		[ "$status" -eq 0 ] || { echo "$cmd: status $status" >&2; return 1; }
		assert_eq "$(tail -1 rej.ndjson)" '{"reasons":[]}'
		assert_eq "$(sed '$d' rej.ndjson | jq -c '[.tool, .src.line, .reasons[0].code, .raw]' | tr '\n' ' ')" \
		    "$(printf '["%s",%d,"parse","__reject\\t%s"] ' "${cmd%% *}" 2 'not json' \
		    "${cmd%% *}" 3 '{\"tool\":\"up\"}' "${cmd%% *}" 4 '{\"reasons\":{}}' \
		    "${cmd%% *}" 5 '[1]' "${cmd%% *}" 6 '')"
		assert_eq "$(jq -c '[.in, .rejected, .passed_rejects, .reasons.parse]' st.json)" '[6,5,1,5]'
		rm -rf st
	done
}

@test "etl-agg and etl-model pass upstream rejects on and count them apart" {
	etl-fetch x.csv --rejects inline 3>&- 2>/dev/null |
	    etl-clean --rules r.json --rejects inline 3>&- 2>/dev/null |
	    etl-check -s s.json --rejects inline 3>&- 2>/dev/null >k.out
	rejects_of k.out >upstream
	assert_eq "$(lines upstream)" 4
	# etl-agg: inline, the same lines on stdout; on fd 3, the same JSON.
	run_split etl-agg -g k -a count,sum:price --rejects inline --stats a.st k.out 3>&-
	[ "$status" -eq 0 ]
	cmp <(grep $'^__reject\t' k.out) <(grep $'^__reject\t' "$stdout_file")
	assert_eq "$(grep -v '^__reject' "$stdout_file")" '{"k":"x","count":3,"price_sum":1200}
{"k":"y","count":1,"price_sum":600}'
	assert_eq "$(jq -c '[.in, .out, .rejected, .passed_rejects, .aggregated, .reasons]' a.st)" '[4,2,0,4,4,{}]'
	assert_contains "$stderr_file" "etl-agg: 4 in, 2 out, 0 rejected, 4 passed rejects;"
	etl-agg -q -g k -a count k.out 3>a.rej >/dev/null
	cmp upstream a.rej
	# --partial carries them, --merge passes them on and counts them apart.
	etl-agg -q -g k -a count --partial --rejects inline k.out 3>&- >parts
	run_split etl-agg -g k -a count --merge --stats m.st parts 3>m.rej
	assert_eq "$output" '{"k":"x","count":3}
{"k":"y","count":1}'
	cmp upstream m.rej
	assert_eq "$(jq -c '[.in, .rejected, .passed_rejects, .aggregated]' m.st)" '[2,0,4,2]'
	# etl-model fit, fit --merge and predict.
	run_split etl-model fit -y price -x area --stats f.st k.out 3>f.rej
	[ "$status" -eq 0 ]
	cmp upstream f.rej
	assert_eq "$(jq -c '[.in, .out, .rejected, .passed_rejects, .used]' f.st)" '[4,1,0,4,4]'
	cp "$stdout_file" model.ndjson
	etl-model fit -q -y price -x area --partial --rejects inline k.out 3>&- >states
	run_split etl-model fit --merge --stats fm.st states 3>fm.rej
	cmp upstream fm.rej
	cmp model.ndjson "$stdout_file"
	assert_eq "$(jq -c '[.in, .rejected, .passed_rejects, .merged]' fm.st)" '[1,0,4,1]'
	run_split etl-model predict -m model.ndjson --rejects inline --stats p.st k.out 3>&-
	cmp <(grep $'^__reject\t' k.out) <(grep $'^__reject\t' "$stdout_file")
	assert_eq "$(jq -c '[.in, .out, .rejected, .passed_rejects]' p.st)" '[4,4,0,4]'
}

@test "normal lines are untouched: a leading _ alone is not a reject" {
	printf '%s\n' '_x' $'__rejecT\t{"reasons":[]}' '{"id":"a","k":"x","price":1,"area":2}' >in.ndjson
	run_split etl-check -s s.json --stats st.json in.ndjson 3>rej.ndjson
	assert_eq "$output" '{"id":"a","k":"x","price":1,"area":2}'
	assert_eq "$(jq -c '[.in, .out, .rejected, .passed_rejects]' st.json)" '[3,1,2,0]'
	assert_eq "$(jq -r .raw rej.ndjson | tr '\n' ' ')" $'_x __rejecT\t{"reasons":[]} '
	# ETL_LOG=json names passed_rejects only when there are some.
	printf '__reject\t{"reasons":[]}\n' >>in.ndjson
	ETL_LOG=json etl-check -s s.json in.ndjson 3>/dev/null 2>log >/dev/null
	assert_eq "$(jq -c 'select(.in) | [.in, .passed_rejects]' log)" '[3,1]'
	ETL_LOG=json etl-check -s s.json 3>/dev/null 2>log </dev/null >/dev/null
	assert_eq "$(jq -c 'select(.in != null) | has("passed_rejects")' log)" false
}
