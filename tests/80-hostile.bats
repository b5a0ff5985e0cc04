#!/usr/bin/env bats
# Hostile inputs fed to every tool that reads records: each must end with a
# clear message and a documented status, never a signal or a sanitizer
# report, and account for every record (in = out + rejected for filters).
# The inputs are made once per file in $BATS_FILE_TMPDIR/in.

load helper

setup_file() {
	export H="$BATS_FILE_TMPDIR"
	mkdir -p "$H/in"
	"$PY" - "$H/in" <<'EOF'
import gzip, os, random, subprocess, sys
d = sys.argv[1]
def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
good = b'{"id":"a1","price":100,"area":50,"city":"x","date":"2021-02-17"}\n'
w("empty.ndjson", b"")
w("blank.ndjson", b"  \n\t\n\r\n   \n")
rnd = random.Random(11)
w("binary.ndjson", bytes(rnd.getrandbits(8) for _ in range(65536)))
w("nul.ndjson", good + b'{"id":"a\x00b","price":1,"area":1}\n'
  + b'{"id"\x00:"x"}\n' + good)
w("utf8.ndjson", good + b'{"id":"\xff\xfe","price":1,"area":1}\n'
  + b'{"id":"\xc3","price":1,"area":1}\n'
  + b'{"id":"\xed\xa0\x80","price":1,"area":1}\n'
  + b'{"id":"\\ud800","price":1,"area":1}\n'
  + b'{"id":"\\udc00x","price":1,"area":1}\n'
  + b'{"\xc0\xaf":1}\n' + good)
w("bigline.ndjson", good + b'{"id":"big","price":1,"area":2,"blob":"'
  + b"x" * (20 << 20) + b'"}\n' + good)
w("nested.ndjson", good + b"[" * 200000 + b"]" * 200000 + b"\n"
  + b'{"a":' + b"[" * 200000 + b"]" * 200000 + b"}\n"
  + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"\n" + good)
w("fields.ndjson", good + b'{"id":"wide","price":1,"area":2,'
  + b",".join(b'"f%d":%d' % (i, i) for i in range(100000)) + b"}\n" + good)
w("dupkeys.ndjson", good + b'{"id":"a","id":"b","price":1,"area":1}\n'
  + b'{"id":"c","price":1,"price":2,"area":1}\n' + good)
w("bignum.ndjson", good + b'{"id":"n","price":1e999999,"area":-1e999999}\n'
  + b'{"id":"m","price":123456789012345678901234567890,"area":1e-999999}\n'
  + b'{"id":"o","price":-0,"area":5e-324}\n' + good)
w("nonobj.ndjson", good + b'[1,2]\n"str"\n42\nnull\ntrue\n{\n}\n'
  + b'{"a":1}{"b":2}\n{"a":1} x\n' + good)
w("unbalanced.csv", b'id,price\na1,"100\na2,200\n')
w("ragged.csv", b"id,price,area\na1,100\na2,200,50,extra,more\n\na3\n")
w("bom.csv", b"\xef\xbb\xbf")
w("header.csv", b"id,price,area\n")
raw = good * 2000
zs = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True,
                    check=True).stdout
w("truncated.ndjson.zst", zs[: len(zs) // 2])
gz = gzip.compress(raw)
w("truncated.ndjson.gz", gz[: len(gz) // 2])
w("garbage.ndjson.zst", b"\x28\xb5\x2f\xfd"
  + bytes(rnd.getrandbits(8) for _ in range(4096)))
w("zmagic.ndjson", b"\x28\xb5\x2f\xfd")
w("gzmagic.ndjson", b"\x1f\x8b")
EOF
	cat >"$H/check.py" <<'EOF'
"""check.py KIND TOOL DIR INPUT...: checks the runs of one tool.

Every pair: a status below 128 that is not 99 (the sanitizers'), one of
0 65 66 74, no sanitizer or valgrind report, the stats line on stderr, a
message naming the input when the status is not 0, a stats file with the
same status, as many rejects as it says, each with a reason code and the
record or raw line.  Then by KIND: filter and store (in = out + rejected
and the expected counts), agg (in = aggregated or used + rejected), merge
(every non-state line rejected), csv (exact records and codes).
"""
import json, os, re, sys

kind, tool, top, inputs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
# input: (in, rejected, status); None is "whatever was read", "all" is
# "every line": random bytes are all rejects, and a truncated gzip stream
# gives the good lines before the cut.
EXPECT = {
    "empty.ndjson": (0, 0, 0), "blank.ndjson": (0, 0, 0),
    "binary.ndjson": (None, "all", 0), "nul.ndjson": (4, 2, 0),
    "utf8.ndjson": (8, 6, 0), "bigline.ndjson": (3, 0, 0),
    "nested.ndjson": (5, 3, 0), "fields.ndjson": (3, 0, 0),
    "dupkeys.ndjson": (4, 2, 0), "bignum.ndjson": (5, 1, 0),
    "nonobj.ndjson": (11, 9, 0), "truncated.ndjson.zst": (0, 0, 65),
    "truncated.ndjson.gz": (None, 0, 65), "garbage.ndjson.zst": (0, 0, 65),
    "zmagic.ndjson": (0, 0, 65), "gzmagic.ndjson": (0, 0, 65),
    # csv: in, rejected, status, records, reason codes
    "unbalanced.csv": (1, 1, 0, [], ["parse"]),
    "ragged.csv": (3, 3, 0, [], ["columns"]),
    "bom.csv": (0, 0, 0, [], []), "header.csv": (0, 0, 0, [], []),
}


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def check(inp):
    d = os.path.join(top, inp)
    st = int(read(d, "status"))
    err = read(d, "err").decode("utf-8", "replace")
    if st >= 128 or st == 99:
        return "status %d: %s" % (st, err[:300])
    if st not in (0, 65, 66, 74):
        return "status %d not 0, 65, 66 or 74" % st
    if re.search(r"Sanitizer|runtime error|^==\d+==", err, re.M):
        return "sanitizer report: " + err[:300]
    name = tool if tool != "merge" else r"etl-\w+"
    if not re.search(r"^%s: \d+ in, \d+ out, \d+ rejected" % name, err, re.M):
        return "no stats line: " + err[-300:]
    if st != 0 and inp not in err:
        return "status %d, the message names no input: %s" % (st, err[:300])
    stats = json.loads(read(d, "stats.json"))
    if stats.get("status") != st:
        return "stats status %s, exit %d" % (stats.get("status"), st)
    n_in, n_out, n_rej = stats["in"], stats["out"], stats["rejected"]
    rej = [json.loads(l) for l in read(d, "rej").splitlines()]
    if len(rej) != n_rej:
        return "%d rejects written, stats say %d" % (len(rej), n_rej)
    for r in rej:
        if not isinstance(r["reasons"][0]["code"], str) or \
                ("record" not in r and "raw" not in r):
            return "reject without code or record: %.200s" % r
    exp = EXPECT[inp]
    if st != exp[2]:
        return "status %d, expected %d" % (st, exp[2])
    if exp[0] is not None and kind != "merge" and n_in != exp[0]:
        return "in %d, expected %d" % (n_in, exp[0])
    if kind == "merge":
        if n_rej != n_in:
            return "%d of %d non-state lines rejected" % (n_rej, n_in)
        return None
    if exp[1] == "all":
        if n_rej != n_in or n_in == 0:
            return "%d of %d rejected, expected all" % (n_rej, n_in)
    elif n_rej != exp[1]:
        return "rejected %d, expected %d" % (n_rej, exp[1])
    if kind == "agg":
        used = stats.get("aggregated", stats.get("used", 0)) + \
            stats.get("skipped_records", 0)
        if n_in != used + n_rej:
            return "in %d != used %d + rejected %d" % (n_in, used, n_rej)
        return None
    if kind == "store" and st != 0:
        # A read error stores nothing: no part file, no manifest.
        for _, _, fs in os.walk(os.path.join(d, "root")):
            for f in fs:
                if f.endswith(".zst") or re.match(r"[0-9A-Za-z].*\.json$", f):
                    return "stored %s after a read error" % f
        return None
    if n_in != n_out + n_rej:
        return "in %d != out %d + rejected %d" % (n_in, n_out, n_rej)
    out = read(d, "readback" if kind == "store" else "out").splitlines()
    if len(out) != n_out:
        return "%d records on %s, stats say %d" % (
            len(out), "read back" if kind == "store" else "stdout", n_out)
    for l in out:
        if not isinstance(json.loads(l), dict):
            return "not an object on stdout: %.200s" % l
    if kind == "csv":
        if [json.loads(l) for l in out] != exp[3]:
            return "records %s, expected %s" % (out, exp[3])
        codes = sorted({c["code"] for r in rej for c in r["reasons"]})
        if codes != exp[4]:
            return "reason codes %s, expected %s" % (codes, exp[4])
    return None


fails = []
for inp in inputs:
    try:
        why = check(inp)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        why = "%s: %s" % (type(e).__name__, e)
    if why:
        fails.append("%s < %s: %s" % (tool, inp, why))
print("\n".join(fails))
sys.exit(1 if fails else 0)
EOF
	printf '%s\n' '{"trim": true, "fields": {"price": {"type": "number", "on_error": "null"}, "date": {"type": "date", "formats": ["%Y-%m-%d"], "on_error": "null"}}}' >"$H/rules.json"
	printf '%s\n' '{"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "price": {"type": "number"}}}' >"$H/schema.json"
	printf '%s\n' '{"id":"a","price":100,"area":50}' \
	    '{"id":"b","price":210,"area":100}' \
	    '{"id":"c","price":290,"area":150}' |
	    etl-model fit -y price -x area 2>/dev/null >"$H/model.ndjson"
}

ndjson_inputs="empty.ndjson blank.ndjson binary.ndjson nul.ndjson utf8.ndjson
bigline.ndjson nested.ndjson fields.ndjson dupkeys.ndjson bignum.ndjson
nonobj.ndjson truncated.ndjson.zst truncated.ndjson.gz garbage.ndjson.zst
zmagic.ndjson gzmagic.ndjson"
csv_inputs="unbalanced.csv ragged.csv bom.csv header.csv"


# Runs "$@" on every input named in $inputs into $R/LABEL/INPUT/: out,
# err, rej, stats.json and status.  Only the tool is run per pair (one
# process each, the machine may be loaded); tests/80 checks them all at
# once with check.py.
run_all() {
	local label=$1 i d
	shift
	for i in $inputs; do
		d="$BATS_TEST_TMPDIR/$label/$i"
		mkdir -p "$d"
		set +e
		(cd "$d" && "$@" --stats stats.json "$H/in/$i" >out 2>err 3>rej)
		echo $? >"$d/status"
		set -e
	done
}

# Checks every (tool, input) pair of a label; fails naming each bad pair.
check_all() {
	run "$PY" "$H/check.py" "$1" "$2" "$BATS_TEST_TMPDIR/$2" $inputs
	if [ "$status" != 0 ]; then
		printf '%s\n' "$output" >&2
		return 1
	fi
}

@test "hostile NDJSON: etl-fetch" {
	inputs=$ndjson_inputs
	run_all etl-fetch etl-fetch
	check_all filter etl-fetch
}

@test "hostile NDJSON: etl-clean with a rules file" {
	inputs=$ndjson_inputs
	run_all etl-clean etl-clean -r "$H/rules.json"
	check_all filter etl-clean
}

@test "hostile NDJSON: etl-check with a schema" {
	inputs=$ndjson_inputs
	run_all etl-check etl-check -s "$H/schema.json"
	check_all filter etl-check
}

@test "hostile NDJSON: etl-model predict" {
	inputs=$ndjson_inputs
	run_all etl-model etl-model predict -m "$H/model.ndjson"
	check_all filter etl-model
}

@test "hostile NDJSON: etl-store commits the good records or nothing" {
	local i
	inputs=$ndjson_inputs
	run_all etl-store etl-store --root root --by city
	for i in $inputs; do
		(cd "$BATS_TEST_TMPDIR/etl-store/$i" &&
		    { etl-fetch root 2>/dev/null 3>&- || true; } >readback)
	done
	check_all store etl-store
}

@test "hostile NDJSON: etl-agg, and etl-agg --merge of non-states" {
	inputs=$ndjson_inputs
	run_all etl-agg etl-agg -g city -a count,mean:price,p50:area,distinct:id
	check_all agg etl-agg
	mkdir -p "$BATS_TEST_TMPDIR/merge"
	run_all merge etl-agg --merge -a count,mean:price
	check_all merge merge
}

@test "hostile NDJSON: etl-model fit, and fit --merge of non-states" {
	inputs=$ndjson_inputs
	run_all etl-model etl-model fit -y price -x area -g city
	check_all agg etl-model
	run_all merge etl-model fit --merge
	check_all merge merge
}

@test "hostile CSV: etl-fetch rejects unclosed quotes and ragged rows" {
	inputs=$csv_inputs
	run_all etl-fetch etl-fetch
	check_all csv etl-fetch
	# The unclosed quote's row is kept whole, from the line it began on.
	run jq -c '[.src.line, .raw]' \
	    "$BATS_TEST_TMPDIR/etl-fetch/unbalanced.csv/rej"
	assert_eq "$output" '[2,"a1,\"100\na2,200"]'
}

@test "limits: nesting of 2048 levels passes, 2049 is a parse reject" {
	cd "$BATS_TEST_TMPDIR"
	"$PY" -c '
for d in (2048, 2049):
    print("{\"id\":\"d%d\",\"a\":" % d + "[" * (d - 1) + "]" * (d - 1) + "}")
' >deep.ndjson
	run_split etl-fetch deep.ndjson 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$(grep -o "\"id\":\"d[0-9]*\"" "$stdout_file")" "\"id\":\"d2048\""
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson)" parse
	assert_contains rej.ndjson 'maximum parsing depth'
}

@test "limits: a line over 256 MiB is a size reject (ETL_SLOW_TESTS=1)" {
	[ "${ETL_SLOW_TESTS:-}" = 1 ] || skip "11 s and 270 MB: set ETL_SLOW_TESTS=1"
	cd "$BATS_TEST_TMPDIR"
	"$PY" -c '
import sys
sys.stdout.buffer.write(b"{\"id\":\"a\"}\n{\"blob\":\"" + b"x" * (257 << 20)
                        + b"\"}\n{\"id\":\"b\"}\n")' >huge.ndjson
	run_split etl-fetch huge.ndjson 3>rej.ndjson
	assert_eq "$status" 0
	assert_eq "$(jq -r .id "$stdout_file" | paste -sd,)" a,b
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson)" size
	[ "$(jq -r '.raw | length' rej.ndjson)" -le 4096 ]
}
