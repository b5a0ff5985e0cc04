#!/usr/bin/env bats
# etl-clean: rules-driven cleaning of records.

load helper

C="$DATA/clean"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# The value table: every row of values.tsv as one record, run in one go,
# then each case compared on its own so a failure names the case.
@test "value table: numbers, currencies, periods, areas, ranges, categories, dates, booleans" {
	[ "$(lines "$C/values.tsv")" -ge 220 ]
	jq -cR --slurp 'split("\n")[:-1] | to_entries[] |
	    (.value | split("\t")) as $c |
	    {case: (.key + 1)} + {($c[0]): ($c[1] | fromjson)}' \
	    "$C/values.tsv" >in.ndjson
	run_split etl-clean --rules "$C/values.rules.json" in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	jq -nr --slurpfile o "$stdout_file" --slurpfile r rej.ndjson \
	    --rawfile t "$C/values.tsv" '
	    ($o | map({key: (.case | tostring), value: .}) | from_entries) as $out |
	    ($r | map({key: (.record.case | tostring), value: .}) | from_entries) as $rej |
	    $t | split("\n")[:-1] | to_entries[] |
	    (.key + 1 | tostring) as $n | (.value | split("\t")) as $c |
	    "case \($n): \($c[0]) \($c[1]) -> \($c[2]) \($c[3] // "")" as $what |
	    if $c[2] == "reject" then
	        if ($rej[$n].reasons[0].code // "") == "coerce" and $out[$n] == null
	        then empty
	        else "FAIL \($what): got \($out[$n][$c[0]] | tojson)" end
	    elif $out[$n] == null then
	        "FAIL \($what): rejected \($rej[$n].reasons | tojson)"
	    elif ($out[$n][$c[0]] | tojson) != ($c[2] | fromjson | tojson) then
	        "FAIL \($what): got \($out[$n][$c[0]] | tojson)"
	    elif ($c[3] // "") != ($out[$n].cur // "") then
	        "FAIL \($what): got currency \($out[$n].cur // "none")"
	    elif ($c[4] // "") != ($out[$n].per // "") then
	        "FAIL \($what): got period \($out[$n].per // "none")"
	    else empty end' >failures
	if [ -s failures ]; then
		cat failures >&2
		return 1
	fi
	# nothing lost
	assert_eq "$(( $(lines "$stdout_file") + $(lines rej.ndjson) ))" \
	    "$(lines "$C/values.tsv")"
}

@test "numbers come out as integers when integral, shortest reals otherwise" {
	printf '%s\n' '{"num":"530000.0€/mo"}' '{"num":"1.250.000,50"}' \
	    '{"area":"915 sq ft"}' '{"int":"1.2k"}' >in.ndjson
	run_split etl-clean -r "$C/values.rules.json" in.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"num":530000,"cur":"EUR"}
{"num":1250000.5}
{"area":85.0062816}
{"int":1200}'
}

@test "a coerce reject names the field and quotes the value" {
	printf '%s\n' '{"id":1,"num":"Sem info"}' '{"id":2,"date":"2021-02-30"}' >in.ndjson
	run_split etl-clean -r "$C/values.rules.json" in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	assert_eq "$(jq -c '[.src.line, .reasons[0].path, .reasons[0].code, .reasons[0].message]' rej.ndjson)" \
	    '[1,"/num","coerce","num: cannot read \"Sem info\" as a number: no number in the text"]
[2,"/date","coerce","date: cannot read \"2021-02-30\" as a date: no such day"]'
	# the record as it came in
	assert_eq "$(jq -c .record rej.ndjson | head -1)" '{"id":1,"num":"Sem info"}'
	assert_contains "$stderr_file" "2 in, 0 out, 2 rejected (coerce 2)"
}

@test "reasons say which unit is unknown, how to take a range, and to set tz" {
	printf '%s\n' '{"area":"85 Zimmer"}' '{"area":"2100 - 2850 sq ft"}' \
	    '{"dt":"2021-02-17 10:00"}' '{"dtz":"2021-03-28 02:30"}' \
	    '{"dtz":"2021-10-31 02:30"}' >in.ndjson
	run_split etl-clean -r "$C/values.rules.json" in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	assert_eq "$(jq -r '.reasons[] | "\(.code) \(.message)"' rej.ndjson)" \
	    'coerce area: cannot read "85 Zimmer" as a number: unknown unit "Zimmer"
coerce area: cannot read "2100 - 2850 sq ft" as a number: a range: set the rule'"'"'s "range" to "min", "max" or "mean" to take one
coerce dt: cannot read "2021-02-17 10:00" as a date-time: no UTC offset: the rule'"'"'s "tz" names the zone of such times
coerce dtz: cannot read "2021-03-28 02:30" as a date-time: no such local time in Europe/Zurich: a daylight-saving change skips it
coerce dtz: cannot read "2021-10-31 02:30" as a date-time: ambiguous local time in Europe/Zurich: a daylight-saving change repeats it; give its UTC offset'
}

@test "tz: local times of Europe/Zurich in winter, summer and both DST changes, against Python's zoneinfo" {
	[ -f /usr/share/zoneinfo/Europe/Zurich ] || skip "no tzdata"
	cat >rules.json <<'EOF2'
{"fields": {"t": {"type": "datetime", "tz": "Europe/Zurich"}}}
EOF2
	# every quarter hour of four days: mid-winter, mid-summer, the spring
	# change (02:00 to 02:59 do not exist) and the autumn one (repeated)
	"$PY" - >in.ndjson <<'EOF2'
import json
for d in ("2021-01-15", "2021-03-28", "2021-07-15", "2021-10-31", "1995-09-24", "2038-03-28"):
    for h in range(24):
        for m in (0, 15, 30, 45):
            print(json.dumps({"t": "%sT%02d:%02d:00" % (d, h, m)}))
EOF2
	run_split etl-clean -r rules.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	"$PY" - in.ndjson "$stdout_file" rej.ndjson <<'EOF2'
import json, sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
zh = ZoneInfo("Europe/Zurich")
out = iter(json.loads(l)["t"] for l in open(sys.argv[2]))
rej = iter(json.loads(l) for l in open(sys.argv[3]))
n = {"ok": 0, "gap": 0, "fold": 0}
for l in open(sys.argv[1]):
    t = json.loads(l)["t"]
    local = datetime.fromisoformat(t)
    a = local.replace(tzinfo=zh, fold=0).astimezone(timezone.utc)
    b = local.replace(tzinfo=zh, fold=1).astimezone(timezone.utc)
    back = a.astimezone(zh).replace(tzinfo=None)
    if back != local:
        r = next(rej)
        assert r["record"]["t"] == t and "no such local time" in r["reasons"][0]["message"], (t, r)
        n["gap"] += 1
    elif a != b:
        r = next(rej)
        assert r["record"]["t"] == t and "ambiguous" in r["reasons"][0]["message"], (t, r)
        n["fold"] += 1
    else:
        got = next(out)
        assert got == a.strftime("%Y-%m-%dT%H:%M:%SZ"), (t, got, a)
        n["ok"] += 1
# 1995: autumn change on 24 September; 2038: past 32-bit time_t
assert n == {"ok": 560, "gap": 8, "fold": 8}, n
EOF2
	# winter +01:00, summer +02:00
	assert_eq "$(jq -r 'select(.t | startswith("2021-01-15T09:00")) | .t' "$stdout_file")" 2021-01-15T09:00:00Z
	assert_eq "$(jq -r 'select(.t | startswith("2021-07-15T08:00")) | .t' "$stdout_file")" 2021-07-15T08:00:00Z
}

@test "epoch and epoch_ms: instants to UTC, and to a date in the rule's tz, against Python" {
	cat >rules.json <<'EOF2'
{"fields": {"s": {"type": "datetime", "formats": ["epoch"]},
            "ms": {"type": "datetime", "formats": ["epoch_ms"]},
            "day": {"type": "date", "formats": ["epoch"], "tz": "Europe/Zurich"},
            "utcday": {"type": "date", "formats": ["epoch"]}}}
EOF2
	"$PY" - >in.ndjson <<'EOF2'
import json, random
random.seed(7)
for i in range(300):
    t = random.randint(-2208988800, 4102444800)
    ms = t * 1000 + random.randint(0, 999)
    v = t if i % 2 else str(t)
    print(json.dumps({"s": v, "ms": ms if i % 3 else str(ms), "day": v, "utcday": v}))
EOF2
	run_split etl-clean -r rules.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines rej.ndjson)" 0
	"$PY" - in.ndjson "$stdout_file" <<'EOF2'
import json, sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
for l, o in zip(open(sys.argv[1]), open(sys.argv[2])):
    r, o = json.loads(l), json.loads(o)
    t, ms = int(r["s"]), int(r["ms"])
    utc = datetime.fromtimestamp(t, timezone.utc)
    assert o["s"] == utc.strftime("%Y-%m-%dT%H:%M:%SZ"), (r, o)
    assert o["ms"] == datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), (r, o)
    assert o["day"] == utc.astimezone(ZoneInfo("Europe/Zurich")).strftime("%Y-%m-%d"), (r, o)
    assert o["utcday"] == utc.strftime("%Y-%m-%d"), (r, o)
EOF2
}

@test "month names read alike whatever the locale" {
	printf '%s\n' '{"mdate":"3 mars 2021"}' '{"mdate":"17. März 2021"}' \
	    '{"mdate":"17 marzo 2021"}' '{"mdate":"March 17, 2021"}' \
	    '{"mdate":"17 déc. 2021"}' >in.ndjson
	for l in C C.UTF-8 fr_FR.UTF-8 de_CH.UTF-8; do
		LC_ALL=$l LANG=$l etl-clean -r "$C/values.rules.json" in.ndjson \
		    2>/dev/null 3>&- | jq -r .mdate | tr '\n' ' ' >"out.$l"
		assert_eq "$(cat "out.$l")" "2021-03-03 2021-03-17 2021-03-17 2021-03-17 2021-12-17 "
	done
}

@test "reference job: the pricehubble offers, checked against Python" {
	run_split etl-clean --rules "$ETL_ROOT/pipelines/rules/offers.rules.json" \
	    "$C/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines "$stdout_file")" 100
	assert_eq "$(lines rej.ndjson)" 0
	assert_eq "$(head -1 "$stdout_file")" \
	    '{"id":"0000a4fb","price":530000,"currency":"EUR","living_area":84,"property_type":"apartment","scraping_date":"2021-02-17","municipality":"Solothurn","price_per_m2":6309.52}'
	"$PY" - "$C/offers.ndjson" "$stdout_file" <<'EOF'
import json, re, sys
src = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
assert len(src) == len(out)
for s, o in zip(src, out):
    price = float(re.search(r"[0-9.]+", s["raw_price"]).group())
    want = {"id": s["id"], "price": price, "currency": "EUR",
            "living_area": s["living_area"],
            "property_type": s["property_type"].lower(),
            "scraping_date": s["scraping_date"],
            "municipality": s["municipality"],
            "price_per_m2": round(price / s["living_area"], 2)}
    assert list(o) == list(want), (list(o), list(want))
    assert o == want, (o, want)
EOF
}

@test "Melbourne: d/m/yyyy dates, coded types, empty BuildingArea" {
	run_split etl-clean -r "$C/melbourne.rules.json" "$C/melbourne.ndjson" \
	    --stats stats.json 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(lines rej.ndjson)" 0
	"$PY" - "$C/melbourne.ndjson" "$stdout_file" <<'EOF'
import json, sys
from datetime import datetime
src = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
assert len(src) == len(out) == 40
types = {"h": "house", "u": "apartment", "t": "townhouse"}
for s, o in zip(src, out):
    area = float(s["BuildingArea"]) if s["BuildingArea"] != "" else None
    price = int(s["Price"])
    want = {"municipality": s["Suburb"], "Address": s["Address"],
            "Rooms": int(s["Rooms"]), "property_type": types[s["Type"]],
            "price": price,
            "date": datetime.strptime(s["Date"], "%d/%m/%Y").strftime("%Y-%m-%d"),
            "living_area": area,
            "price_per_m2": round(price / area, 2) if area else None}
    assert o == want, (o, want)
EOF
	# 11 empty areas: nulls, counted per field
	assert_eq "$(jq -c '[.in, .out, .rejected, .nulls.living_area, .nulls.price_per_m2, .coerced.date]' stats.json)" \
	    '[40,40,0,11,11,40]'
}

@test "DVF: French labels mapped, exact duplicate rows rejected as duplicate" {
	run_split etl-clean -r "$C/dvf.rules.json" "$C/dvf.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	# Python: first of each distinct row, in order of first appearance
	"$PY" - "$C/dvf.ndjson" "$stdout_file" <<'EOF'
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
nature = {"Vente": "sale", "Vente en l'état futur d'achèvement": "off-plan sale"}
types = {"Appartement": "apartment", "Maison": "house"}
def num(s):
    if s == "":
        return None
    f = float(s)
    return int(f) if f == int(f) else f
want, seen = [], set()
for s in src:
    r = {"id_mutation": s["id_mutation"], "date": s["date_mutation"],
         "nature_mutation": nature[s["nature_mutation"]],
         "price": num(s["valeur_fonciere"]),
         "property_type": types[s["type_local"]],
         "living_area": num(s["surface_reelle_bati"]),
         "id_parcelle": s["id_parcelle"], "lot1_numero": s["lot1_numero"] or None}
    k = json.dumps(r, sort_keys=True)
    if k not in seen:
        seen.add(k)
        want.append(r)
assert out == want, (len(out), len(want))
EOF
	assert_eq "$(lines "$stdout_file")" 21
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | sort | uniq -c | tr -s ' ')" " 6 duplicate"
	# the off-plan sale label matched without its accents
	assert_eq "$(jq -r 'select(.nature_mutation == "off-plan sale") | .id_mutation' "$stdout_file")" \
	    2019-970356
}

@test "dedupe keep last by: greatest by wins, output in order of first key" {
	cat >rules.json <<'EOF'
{"fields": {"d": {"type": "date", "formats": ["%Y-%m-%d", "%d.%m.%Y"]}},
 "dedupe": {"key": ["id"], "keep": "last", "by": "d"}}
EOF
	printf '%s\n' '{"id":"a","d":"2021-01-05","v":1}' '{"id":"b","d":"2021-01-01","v":2}' \
	    '{"id":"a","d":"01.01.2021","v":3}' '{"id":"c","d":"2021-01-01","v":4}' \
	    '{"id":"b","d":"02.01.2021","v":5}' '{"id":"a","d":"2021-01-05","v":6}' >in.ndjson
	run_split etl-clean -r rules.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	# a: v6 (ties go to the later), b: v5 (greater date), c: v4
	assert_eq "$output" '{"id":"a","d":"2021-01-05","v":6}
{"id":"b","d":"2021-01-02","v":5}
{"id":"c","d":"2021-01-01","v":4}'
	assert_eq "$(jq -c '[.src.line, .reasons[0].code]' rej.ndjson | sort)" \
	    '[1,"duplicate"]
[2,"duplicate"]
[3,"duplicate"]'
	# the rejected records are the input bytes
	assert_eq "$(jq -c 'select(.src.line == 3) | .record' rej.ndjson)" '{"id":"a","d":"01.01.2021","v":3}'
	assert_contains "$stderr_file" "6 in, 3 out, 3 rejected (duplicate 3)"
	# Python's reference of the same rule
	"$PY" - in.ndjson "$stdout_file" <<'EOF'
import json, sys
from datetime import datetime
def iso(d):
    for f in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(d, f).strftime("%Y-%m-%d")
        except ValueError:
            pass
kept, order = {}, []
for l in open(sys.argv[1]):
    r = json.loads(l)
    r["d"] = iso(r["d"])
    if r["id"] not in kept:
        order.append(r["id"])
    if r["id"] not in kept or r["d"] >= kept[r["id"]]["d"]:
        kept[r["id"]] = r
assert [json.loads(l) for l in open(sys.argv[2])] == [kept[k] for k in order]
EOF
}

@test "a record the rules leave unchanged passes byte for byte" {
	printf '%s\n' '{ "num": 12.50, "x" : [1, 2.0],"cat":"house" }' \
	    '{"num":"12.5","big":123456789012345678901234567890,"n":3}' \
	    '{"cat":"house","date":"2021-02-17","int":4.0}' >in.ndjson
	run_split etl-clean -r "$C/values.rules.json" in.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(sed -n 1p "$stdout_file")" '{ "num": 12.50, "x" : [1, 2.0],"cat":"house" }'
	assert_eq "$(sed -n 3p "$stdout_file")" '{"cat":"house","date":"2021-02-17","int":4.0}'
	# a changed record keeps its integers as integers
	assert_eq "$(sed -n 2p "$stdout_file")" '{"num":12.5,"big":1.2345678901234568e+29,"n":3}'
}

@test "rename, trim, empty_as_null, keep and drop" {
	cat >rules.json <<'EOF'
{"rename": {"a": "b", "b": "a", "old": "kept"}, "trim": true, "empty_as_null": true,
 "keep": ["kept", "a", "b", "e"]}
EOF
	printf '%s\n' '{"a":" 1 ","b":"x","old":"\u00a0y\u202f","e":"  ","z":1}' \
	    '{"kept":"k","old":"o"}' >in.ndjson
	run_split etl-clean -r rules.json in.ndjson 3>&-
	[ "$status" -eq 0 ]
	# a rename swaps a and b; a renamed field replaces one of that name
	assert_eq "$output" '{"kept":"y","a":"x","b":"1","e":null}
{"kept":"o"}'
	cat >drop.json <<'EOF'
{"drop": ["z", "nope"]}
EOF
	run_split etl-clean -r drop.json in.ndjson 3>&-
	assert_eq "$(sed -n 1p "$stdout_file" | jq -c .)" \
	    "$(jq -c . <<<'{"a":" 1 ","b":"x","old":"\u00a0y\u202f","e":"  "}')"
	assert_eq "$(sed -n 2p "$stdout_file")" '{"kept":"k","old":"o"}'
}

@test "derive: divide, rounding as Python's round, null on a missing input or zero" {
	cat >rules.json <<'EOF'
{"derive": {"q": {"divide": ["p", "a"], "round": 2},
            "k": {"multiply": ["p", 0.001]},
            "r": {"divide": ["p", "a"]}}}
EOF
	printf '%s\n' '{"p":530000,"a":84}' '{"p":1,"a":3}' '{"p":10,"a":0}' \
	    '{"p":10}' '{"p":"10","a":2}' '{"p":2.675,"a":1}' '{"p":100,"a":4}' >in.ndjson
	run_split etl-clean -r rules.json --stats stats.json in.ndjson 3>&-
	[ "$status" -eq 0 ]
	"$PY" - in.ndjson "$stdout_file" <<'EOF'
import json, sys
for l, o in zip(open(sys.argv[1]), open(sys.argv[2])):
    r, o = json.loads(l), json.loads(o)
    p, a = r.get("p"), r.get("a")
    ok = isinstance(p, (int, float)) and isinstance(a, (int, float))
    q = round(p / a, 2) if ok and a != 0 else None
    assert o["q"] == q, (o, q)
    assert o["r"] == (p / a if ok and a != 0 else None), o
    assert o["k"] == (p * 0.001 if isinstance(p, (int, float)) else None), o
EOF
	assert_eq "$(sed -n 1p "$stdout_file")" '{"p":530000,"a":84,"q":6309.52,"k":530,"r":6309.523809523809}'
	assert_eq "$(sed -n 7p "$stdout_file")" '{"p":100,"a":4,"q":25,"k":0.1,"r":25}'
	assert_eq "$(jq -c '.nulls' stats.json)" '{"q":3,"r":3,"k":1}'
}

@test "on_error null and keep; stats count coercions, nulls and rejects per field" {
	cat >rules.json <<'EOF'
{"fields": {"p": {"type": "number", "on_error": "null"},
            "k": {"type": "number", "on_error": "keep"},
            "n": {"type": "integer"}}}
EOF
	printf '%s\n' '{"p":"n/a","k":"n/a","n":"1"}' '{"p":"3","k":"4","n":"x"}' \
	    '{"p":5,"k":6,"n":7}' >in.ndjson
	run_split etl-clean -r rules.json --stats stats.json in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"p":null,"k":"n/a","n":1}
{"p":5,"k":6,"n":7}'
	assert_eq "$(jq -c '[.in, .out, .rejected, .reasons, .coerced, .nulls, .field_rejects, .kept]' stats.json)" \
	    '[3,2,1,{"coerce":1},{"n":1,"p":1,"k":1},{"p":1},{"n":1},{"k":1}]'
}

@test "lines that are not JSON objects are parse rejects; nothing lost" {
	printf '%s\n' '{"num":"1"}' 'not json' '[1]' '' '{"num":"2"}' >in.ndjson
	run_split etl-clean -r "$C/values.rules.json" --rejects rej.ndjson in.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$output" '{"num":1}
{"num":2}'
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | tr '\n' ' ')" "parse parse "
	assert_contains "$stderr_file" "4 in, 2 out, 2 rejected (parse 2)"
}

@test "--rejects inline writes rejects on stdout" {
	printf '%s\n' '{"num":"1"}' '{"num":"x"}' >in.ndjson
	run_split etl-clean -r "$C/values.rules.json" --rejects inline in.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(sed -n 1p "$stdout_file")" '{"num":1}'
	[[ "$(sed -n 2p "$stdout_file")" == __reject$'\t'{* ]]
}

@test "rules errors are configuration errors (78) naming the key" {
	check() {
		printf '%s\n' "$1" >rules.json
		run_split etl-clean -r rules.json </dev/null
		[ "$status" -eq 78 ] || { echo "status $status for $1" >&2; return 1; }
		assert_contains "$stderr_file" "$2"
	}
	check '{"fields":{"price":{"type":"number","unit":"ft"}}}' \
	    'rules.json: fields.price.unit: unknown unit "ft"'
	check '{"feilds":{}}' 'rules.json: feilds: unknown key'
	check '{"fields":{"p":{"type":"number","scale":2}}}' 'fields.p.scale: unknown key'
	check '{"fields":{"p":{"type":"float"}}}' 'fields.p.type: unknown type "float"'
	check '{"fields":{"p":{"type":"number","decimal":";"}}}' 'fields.p.decimal: must be'
	check '{"fields":{"p":{"type":"string","unit":"m2"}}}' 'fields.p: unit needs type number or integer'
	check '{"fields":{"p":{"type":"number","case":"lower"}}}' 'fields.p: case needs type string'
	check '{"fields":{"p":{"type":"number","formats":["%Y"]}}}' 'fields.p: formats needs type date or datetime'
	check '{"fields":{"p":{"type":"string","map":{"Étage":"a","etage":"b"}}}}' 'fields.p.map: "etage" is another key'
	check '{"trim":"yes"}' 'trim: expected a boolean, got a string'
	check '{"keep":["a"],"drop":["b"]}' 'drop: keep and drop cannot be used together'
	check '{"keep":["a",1]}' 'keep[1]: expected a string, got a number'
	check '{"rename":{"a":"c","b":"c"}}' 'rename.b: two fields renamed to "c"'
	check '{"derive":{"q":{"divide":["a"]}}}' 'derive.q.divide: expected 2 operands, got 1'
	check '{"derive":{"q":{"round":2}}}' 'derive.q: no operation'
	check '{"dedupe":{"keep":"last"}}' 'dedupe.key: missing'
	check '{"dedupe":{"key":["id"],"by":"d"}}' 'dedupe.by: only with "keep": "last"'
	check '{"fields":{"a":{"type":"number","unit":"m2","default_unit":"furlong"}}}' \
	    'fields.a.default_unit: unknown unit "furlong"'
	check '{"fields":{"a":{"type":"number","default_unit":"sqft"}}}' 'fields.a: default_unit needs unit'
	check '{"fields":{"a":{"type":"number","unit":"m2","units":{"bigha":0}}}}' \
	    'fields.a.units: "bigha": the value must be the square metres of one, a number > 0'
	check '{"fields":{"a":{"type":"number","unit":"m2","units":{"..":1}}}}' 'fields.a.units: ".." is no unit'
	check '{"fields":{"a":{"type":"number","range":"median"}}}' 'fields.a.range: must be "reject", "min", "max" or "mean"'
	check '{"fields":{"a":{"type":"string","range":"min"}}}' 'fields.a: range needs type number or integer'
	check '{"fields":{"p":{"type":"number","currency_default":"CHF"}}}' 'fields.p: currency_default needs currency_field'
	check '{"fields":{"p":{"type":"number","currency_field":"c","currency_default":"chf"}}}' \
	    'fields.p.currency_default: "chf" is not an ISO 4217 code'
	check '{"fields":{"p":{"type":"number","currency_field":"c","symbols":{"$":"dollar"}}}}' \
	    'fields.p.symbols: "$": the value must be an ISO 4217 code'
	check '{"fields":{"p":{"type":"date","period_field":"per"}}}' 'fields.p: period_field needs type number or integer'
	check '{"fields":{"p":{"type":"number","period_field":"c","currency_field":"c"}}}' \
	    'fields.p: period_field and currency_field must differ'
	check '{"fields":{"t":{"type":"datetime","tz":"Europe/Zurichh"}}}' \
	    'fields.t.tz: unknown time zone "Europe/Zurichh"'
	check '{"fields":{"t":{"type":"datetime","tz":"../../etc/passwd"}}}' 'fields.t.tz: unknown time zone'
	check '{"fields":{"t":{"type":"number","tz":"UTC"}}}' 'fields.t: tz needs type date or datetime'
	check '{"fields":' 'rules.json:2:0: bad rules'
	check '[]' '(top): expected an object'
}

@test "usage: no rules or a bad option is 64, -h is 0 on stdout" {
	run_split etl-clean </dev/null
	[ "$status" -eq 64 ]
	assert_contains "$stderr_file" "usage: etl-clean [-hq] -r FILE"
	run_split etl-clean -r "$C/values.rules.json" --bogus </dev/null
	[ "$status" -eq 64 ]
	run_split etl-clean -h
	[ "$status" -eq 0 ]
	assert_contains "$stdout_file" "--rules FILE"
	run_split etl-clean --version
	[ "$status" -eq 0 ]
}

@test "missing input or rules file is 66" {
	run_split etl-clean -r "$C/values.rules.json" nosuch.ndjson 3>&-
	[ "$status" -eq 66 ]
	assert_contains "$stderr_file" "nosuch.ndjson"
	run_split etl-clean -r nosuch.json </dev/null
	[ "$status" -eq 66 ]
}

@test "empty input: status 0, no output" {
	run_split etl-clean -r "$C/dvf.rules.json" </dev/null 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	assert_contains "$stderr_file" "0 in, 0 out, 0 rejected"
}

@test "a write error on stdout is 74" {
	run_split etl-clean -r "$ETL_ROOT/pipelines/rules/offers.rules.json" \
	    "$C/offers.ndjson" 3>&-
	set +e
	etl-clean -r "$ETL_ROOT/pipelines/rules/offers.rules.json" "$C/offers.ndjson" \
	    >/dev/full 2>err 3>&-
	st=$?
	set -e
	[ "$st" -eq 74 ]
	assert_contains err "stdout"
}

@test "| head -1 ends quietly with status 0" {
	for i in $(seq 300); do cat "$C/offers.ndjson"; done >big.ndjson
	set +e
	etl-clean -r "$ETL_ROOT/pipelines/rules/offers.rules.json" big.ndjson \
	    2>err 3>&- | head -1 >first
	st=${PIPESTATUS[0]}
	set -e
	[ "$st" -eq 0 ]
	assert_eq "$(jq -r .id first)" 0000a4fb
	assert_eq "$(cat err)" ""
}

@test "the one-value EXAMPLES of the man page print what they show" {
	cp "$C/offers.ndjson" offers.ndjson
	cp "$ETL_ROOT/pipelines/rules/offers.rules.json" offers.rules.json
	cp "$C/dvf.ndjson" dvf.ndjson
	cp "$C/dvf.rules.json" dvf.rules.json
	# every "$ " line runs in order; those followed by lines must print them
	"$PY" - "$ETL_ROOT/man/etl-clean.1" <<'EOF'
import subprocess, sys
ex = bd = False
pairs, cur = [], None
for l in open(sys.argv[1]).read().split("\n"):
    if l.startswith(".Sh "):
        ex = l == ".Sh EXAMPLES"
        continue
    if not ex:
        continue
    if l.startswith(".Bd") or l.startswith(".Ed"):
        bd, cur = l.startswith(".Bd"), None
        continue
    if not bd:
        continue
    t = l.replace("\\(ba", "|").replace("\\e", "\\").replace("\\&", "")
    if t.startswith("$ "):
        cur = (t[2:], [])
        pairs.append(cur)
    elif cur is not None:
        cur[1].append(t)
shown = 0
for cmd, want in pairs:
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd],
                       capture_output=True, text=True)
    assert r.returncode == 0, (cmd, r.stderr)
    if not want:
        continue
    got = r.stdout.rstrip("\n").split("\n")
    assert got == want, (cmd, got, want, r.stderr)
    shown += 1
assert shown >= 6, shown
EOF
}

@test "the EXAMPLES of the man page run" {
	cp "$C/offers.ndjson" offers.ndjson
	cp "$ETL_ROOT/pipelines/rules/offers.rules.json" offers.rules.json
	cp "$C/dvf.ndjson" dvf.ndjson
	cp "$C/dvf.rules.json" dvf.rules.json
	man_examples "$ETL_ROOT/man/etl-clean.1" >examples.sh
	[ -s examples.sh ]
	run bash -e examples.sh
	[ "$status" -eq 0 ] || { cat examples.sh >&2; echo "$output" >&2; return 1; }
	[ -s rejects.ndjson ] && [ -s clean.ndjson ]
}
