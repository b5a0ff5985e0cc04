#!/usr/bin/env bats
# The dashboard (pipelines/dashboard.sh): one self-contained HTML page of
# a run and the store.  The page is read back with Python's html.parser
# (page_json below) and its figures compared with summary.json, the reject
# files and the store's tables as etl-fetch reads them; headless Chromium
# opens it (no console message, the four charts in the first 1280x800).

load helper

# The page as JSON: the attributes of <header>; the elements with an id
# outside the charts (attributes, text); every table by id, each row its
# attributes and cells (attributes, text); each <figure>: its chart name,
# its SVGs and their <desc>; every src/href-like attribute; the ids that
# appear twice; the number cells whose text is not their data-v rounded.
page_json() {
	"$PY" - "$1" <<'PY'
import html.parser, json, re, sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = {"header": None, "ids": {}, "tables": {}, "figures": [], "refs": [],
                    "svgs": 0, "dup_ids": [], "badnum": []}
        self.seen = set()
        self.open = []          # elements with an id whose text is being kept
        self.table = self.row = self.cell = self.fig = None
        self.svg = 0
        self.desc = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "srcset", "data", "poster", "action", "background"):
                self.out["refs"].append([tag, k, v])
        if "id" in a:
            if a["id"] in self.seen:
                self.out["dup_ids"].append(a["id"])
            self.seen.add(a["id"])
        if tag == "svg":
            self.svg += 1
            self.out["svgs"] += 1
            if self.fig is not None:
                self.fig["svgs"] += 1
        if self.svg:
            if tag == "desc":
                self.desc = ""
            return
        if tag == "header":
            self.out["header"] = a
        if "id" in a and tag not in VOID:
            e = {"tag": tag, "attrs": a, "text": ""}
            self.out["ids"][a["id"]] = e
            self.open.append([tag, 0, e])
        for o in self.open:
            if o[0] == tag:
                o[1] += 1
        if tag == "table":
            self.table = self.out["tables"].setdefault(a.get("id", ""), [])
        elif tag == "tr" and self.table is not None:
            self.row = {"attrs": a, "cells": []}
            self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = {"tag": tag, "attrs": a, "text": ""}
            self.row["cells"].append(self.cell)
        elif tag == "figure":
            self.fig = {"chart": a.get("data-chart"), "svgs": 0, "desc": []}
            self.out["figures"].append(self.fig)

    def handle_endtag(self, tag):
        if self.svg:
            if tag == "desc" and self.desc is not None:
                if self.fig is not None:
                    self.fig["desc"].append(self.desc.strip())
                self.desc = None
            if tag == "svg":
                self.svg -= 1
            return
        for o in self.open:
            if o[0] == tag:
                o[1] -= 1
        self.open = [o for o in self.open if o[1] > 0]
        if tag in ("td", "th"):
            self.check(self.cell)
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "figure":
            self.fig = None

    def handle_data(self, d):
        if self.svg:
            if self.desc is not None:
                self.desc += d
            return
        for o in self.open:
            o[2]["text"] += d
        if self.cell is not None:
            self.cell["text"] += d

    # A number cell shows its data-v rounded to the decimals it shows.
    def check(self, c):
        if c is None or "n" not in c["attrs"].get("class", "").split() or "data-v" not in c["attrs"]:
            return
        v = json.loads(c["attrs"]["data-v"])
        t = re.sub(r"\s", "", c["text"])
        if v is None:
            ok = t == "–"
        else:
            d = len(t.split(".")[1]) if "." in t else 0
            try:
                ok = abs(float(t) - v) <= 0.5 * 10 ** -d + 1e-9 * abs(v)
            except ValueError:
                ok = False
        if not ok:
            self.out["badnum"].append([c["text"], c["attrs"]["data-v"]])

p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
json.dump(p.out, sys.stdout, ensure_ascii=False)
PY
}

# jq over the page: the rows of table $1 as arrays of their cells' data-v.
rows() {
	jq -c --arg t "$1" '[.tables[$t][] | select(.cells[0].tag == "td") | [.cells[] | .attrs["data-v"] // "null" | fromjson]]' page.json
}

# One good run of the sample and its page, for the whole file.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	unset ETL_RUN_ID DASHBOARD
	make -s -f "$ETL_ROOT/pipelines/listings.mk" STORE="$PWD/store" RUNS="$PWD/runs" \
	    NOTIFY="--file $PWD/alerts.ndjson" RETRY_DELAY=0 DATE=2026-11-24 dashboard \
	    >make.out 2>make.err 3>&- && echo 0 >make.status || echo $? >make.status
	ls -d "$PWD"/runs/2026-11-24/*/ | head -1 | sed 's,/$,,' >run.path
	page_json "$(cat run.path)/dashboard.html" >page.json 2>page.err || :
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset ETL_RUN_ID DASHBOARD
	F=$BATS_FILE_TMPDIR
	RUN=$(cat "$F/run.path")
	cp "$F/page.json" .
}

@test "make dashboard: one page, nothing fetched, one gnuplot SVG a chart" {
	[ "$(cat "$F/make.status")" = 0 ] || { cat "$F/make.err"; return 1; }
	assert_contains "$F/make.out" "Dashboard: $RUN/dashboard.html (open it in a browser)"
	p=$RUN/dashboard.html
	[ -s "$p" ]
	# One file: no URL, no script, style sheet, image or frame from a file.
	run grep -Eic 'https?:|//[a-z0-9.-]+/|src=|<(script|link|img|iframe|object|embed)[ >]|@import' "$p"
	assert_eq "$output" 0
	jq -e '[.refs[] | .[2] | select(startswith("#") or startswith("data:") | not)] == []' page.json
	jq -e '[.refs[] | select(.[1] == "src")] | all(.[2] | startswith("data:"))' page.json
	# url() only to the page's own SVG definitions.
	assert_eq "$(grep -o 'url([^#)][^)]*)' "$p" | wc -l)" 0
	# The four charts, each one SVG that gnuplot made; no other SVG.
	jq -e '[.figures[].chart] == ["funnel", "ppm", "hist", "pred"]' page.json
	jq -e 'all(.figures[]; .svgs == 1 and (.desc[0] | startswith("Produced by GNUPLOT")))' page.json
	jq -e '.svgs == 4 and .dup_ids == []' page.json
	# Every number shown is its data-v, rounded.
	jq -e '.badnum == []' page.json
	# The page says where it comes from.
	grep -q "<title>etl run $(basename "$RUN"), 2026-11-24: ok</title>" "$p"
}

@test "the run's figures on the page are summary.json's and the reject files'" {
	s=$RUN/summary.json
	jq -e --slurpfile s "$s" '.header["data-run-id"] == $s[0].run_id and .header["data-status"] == "ok"' page.json
	jq -e '.ids.failure == null and (.ids.status.text == "ok")' page.json
	# The funnel: fetch, clean, check and store, as summary.json has them.
	assert_eq "$(jq -c '[.tables["t-funnel"][] | select(.attrs["data-step"]) |
	    [.attrs["data-step"], (.cells[1:5][] | .attrs["data-v"] | fromjson)]]' page.json)" \
	    "$(jq -c '[.steps[] | select(.step | IN("fetch", "clean", "check", "store")) |
	    [.step, .in, .out, .rejected, .status]]' "$s")"
	assert_eq "$(rows t-funnel | jq -c 'map(.[2])')" '[100,100,92,92]'
	# Every step, in order.
	assert_eq "$(rows t-steps)" \
	    "$(jq -c '[.steps[] | [.step, .tool, .status, .attempts, .seconds, .in, .out, .rejected, .conserved]]' "$s")"
	# Rejects by code: records carrying each code, as the stats count them
	# and as the reject files hold them.
	assert_eq "$(rows t-rejects | jq -cS 'map({(.[0]): .[1]}) | add')" "$(jq -cS .reasons "$s")"
	cat "$RUN"/*.rejects.ndjson | jq -s -cS 'map([.reasons[].code] | unique[]) | group_by(.) |
	    map({(.[0]): length}) | add' >want
	assert_eq "$(rows t-rejects | jq -cS 'map({(.[0]): .[1]}) | add')" "$(cat want)"
	# Three examples of range, each an id that check rejected for it.
	jq -r '.tables["t-rejects"][] | select(.attrs["data-code"] == "range") | .cells[3].text' page.json >examples.txt
	for id in $(jq -r 'select(any(.reasons[]; .code == "range")) | .record.id' "$RUN/check.rejects.ndjson" | head -3); do
		grep -q "$id (check) /" examples.txt
	done
	# The run in the history of runs.
	assert_eq "$(rows t-history | jq -c --arg r "$(basename "$RUN")" 'map(select(.[1] == $r))')" \
	    "[[\"2026-11-24\",\"$(basename "$RUN")\",\"ok\",92,100,null,null]]"
}

@test "the charts' tables are the store's tables, as etl-fetch reads them" {
	etl-fetch -q "$F/store/usecases/price_per_m2" 3>&- >ppm.ndjson
	etl-fetch -q "$F/store/offers" 3>&- >offers.ndjson
	etl-fetch -q "$F/store/usecases/price_model/predictions" 3>&- >pred.ndjson
	etl-fetch -q "$F/store/usecases/price_model/models" 3>&- >models.ndjson
	rows t-ppm >ppm.rows
	rows t-hist >hist.rows
	rows t-pred >pred.rows
	rows t-models >models.rows
	"$PY" - <<'PY'
import json, math, statistics
load = lambda f: [json.loads(l) for l in open(f)]
page = json.load(open("page.json"))
ppm, offers, pred, models = load("ppm.ndjson"), load("offers.ndjson"), load("pred.ndjson"), load("models.ndjson")

# Price per m²: the 6 municipalities with the most offers (ties by name),
# each with every month of the use-case table, months in order.
total = {}
for r in ppm:
    total[r["municipality"]] = total.get(r["municipality"], 0) + r["count"]
busy = sorted(total, key=lambda m: (-total[m], m))[:6]
want = [[r["municipality"], r["scraping_date"], r["count"], r["price_per_m2_median"]]
        for m in busy for r in sorted((r for r in ppm if r["municipality"] == m), key=lambda r: r["scraping_date"])]
got = json.load(open("ppm.rows"))
assert got == want, (got, want)
assert busy[:2] == ["Ardon", "Muttenz"], busy

# The histogram: contiguous bins of one width holding every offer.
bins = json.load(open("hist.rows"))
v = [o["price_per_m2"] for o in offers]
w = bins[0][1] - bins[0][0]
assert all(abs((b[1] - b[0]) - w) < 1e-9 for b in bins)
assert all(abs(a[1] - b[0]) < 1e-9 for a, b in zip(bins, bins[1:]))
assert [sum(1 for x in v if b[0] <= x < b[1]) for b in bins] == [b[2] for b in bins], bins
assert sum(b[2] for b in bins) == len(v) == 92
st = page["ids"]["hist-stats"]["attrs"]
assert int(st["data-n"]) == 92 and abs(float(st["data-median"]) - statistics.median(v)) < 1e-9

# The model: its figures; every prediction, largest misses first; and
# price_pred in price units: exp of the log-price fit.
(m,) = models
assert json.load(open("models.rows")) == [["all offers", m["n"], m["r2"], m["rmse"], True]]
by_id = {p["id"]: p for p in pred}
got = json.load(open("pred.rows"))
assert len(got) == len(pred) == 92
assert [[p["id"], p["price"], p["price_pred"]] for p in (by_id[g[0]] for g in got)] == got
miss = [abs(math.log(g[2] / g[1])) for g in got]
assert miss == sorted(miss, reverse=True)
c = m["coef"]
for p in pred:
    fit = c["(intercept)"] + c["living_area"] * p["living_area"] + c.get("property_type=" + p["property_type"], 0)
    assert abs(math.exp(fit) / p["price_pred"] - 1) < 1e-9, p
PY
	grep -q 'data-units="price"' "$RUN/dashboard.html"
}

# PNG pixels with the standard library: 8-bit RGB or RGBA, not interlaced.
png_check() {
	"$PY" - "$@" <<'PY'
import struct, sys, zlib
f = open(sys.argv[1], "rb").read()
assert f[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(f):
    n, kind = struct.unpack(">I4s", f[pos:pos + 8])
    body = f[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert (w, h) == (1280, 800), (w, h)
assert depth == 8 and ctype in (2, 6) and lace == 0, (depth, ctype, lace)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
px, prev = bytearray(), bytearray(stride)
for y in range(h):
    ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if ft == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif ft == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif ft == 3:
        for i in range(stride):
            line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif ft == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    px += line
    prev = line
# Each chart by a colour only it uses: where its pixels are on the screen.
charts = {"funnel": ((0x25, 0x63, 0xeb), "left", "top"), "ppm": ((0xe1, 0x1d, 0x48), "right", "top"),
          "hist": ((0x0d, 0x94, 0x88), "left", "bottom"), "pred": ((0xd9, 0x77, 0x06), "right", "bottom")}
fail = []
for name, (rgb, side, row) in charts.items():
    xs, ys = [], []
    for y in range(0, h):
        o = y * stride
        for x in range(0, w):
            i = o + x * bpp
            if abs(px[i] - rgb[0]) < 12 and abs(px[i + 1] - rgb[1]) < 12 and abs(px[i + 2] - rgb[2]) < 12:
                xs.append(x)
                ys.append(y)
    if len(xs) < 20:
        fail.append("%s: %d pixels of its colour" % (name, len(xs)))
        continue
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    if (cx < w / 2) != (side == "left") or (cy < 420) != (row == "top"):
        fail.append("%s: its pixels are around (%d, %d), not %s %s" % (name, cx, cy, row, side))
    print("%s: %d pixels around (%d, %d)" % (name, len(xs), cx, cy))
blank = sum(1 for i in range(0, len(px), bpp) if px[i] > 250 and px[i + 1] > 250 and px[i + 2] > 250)
print("white: %.0f%%" % (100 * blank / (w * h)))
assert not fail, fail
PY
}

# chromium_shot PAGE PNG: headless Chromium's screenshot of PAGE at
# 1280x800; its log (console messages included) in PNG.log.
chromium_shot() {
	local sandbox=
	[ "$(id -u)" != 0 ] || sandbox=--no-sandbox
	timeout 60 chromium --headless $sandbox --disable-gpu --no-first-run \
	    --user-data-dir="$BATS_TEST_TMPDIR/chromium" --enable-logging=stderr --v=0 \
	    --window-size=1280,800 --screenshot="$2" "file://$1" >"$2.out" 2>"$2.log" 3>&- || :
	[ -s "$2" ]
}

@test "in headless Chromium: no console message, the four charts on the first screen" {
	command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
	# A page that logs: the log shows it, so its absence below means something.
	printf '<!DOCTYPE html><title>t</title><script>console.error("dashboard-test")</script>\n' >noisy.html
	chromium_shot "$PWD/noisy.html" noisy.png ||
	    skip "chromium cannot start here: $(grep -v '^$' noisy.png.log | tail -1)"
	grep -q 'CONSOLE.*dashboard-test' noisy.png.log
	chromium_shot "$RUN/dashboard.html" shot.png
	run grep -c 'CONSOLE' shot.png.log
	[ "$output" = 0 ] || { grep CONSOLE shot.png.log; return 1; }
	png_check shot.png
}

@test "a failed run: the page shows the failing step and status, the alert links it" {
	# The gate trips at check; RUNS holds the good run before it.
	cp -R "$F/runs" runs
	R=$PWD/runs
	# failing ARG...: a run that must fail; $d is its folder.
	failing() {
		ls -d "$R"/2026-11-24/*/ | sort >before
		run_split make -s -f "$ETL_ROOT/pipelines/listings.mk" STORE="$F/store" RUNS="$R" \
		    NOTIFY="--file $PWD/alerts.ndjson" RETRY_DELAY=0 DATE=2026-11-24 "$@"
		d=$(ls -d "$R"/2026-11-24/*/ | sort | comm -13 before - | sed 's,/$,,')
		[ "$status" -ne 0 ] && [ -d "$d" ]
	}
	failing MAX_REJECT_RATIO=0.05
	[ -s "$d/dashboard.html" ]
	jq -e --arg p "$d/dashboard.html" '.step == "check" and .status == 65 and .dashboard == $p' "$d/alert.json"
	assert_eq "$(jq -cS . alerts.ndjson)" "$(jq -cS . "$d/alert.json")"
	[[ "$errput" == *"pipeline: dashboard written to $d/dashboard.html"* ]]
	[[ "$errput" == *"pipeline: step check failed with status 65"* ]]
	assert_eq "$(find "$d" -name '*.tmp' -o -name '.dashboard*' | wc -l)" 0
	page_json "$d/dashboard.html" >page.json
	jq -e '.header["data-status"] == "failed" and .ids.status.text == "failed"' page.json
	jq -e '.ids.failure.attrs["data-step"] == "check" and .ids.failure.attrs["data-status"] == "65"
	    and (.ids.failure.text | contains("failed at step check with status 65")
	    and contains("max_reject_ratio"))' page.json
	# The funnel up to the failing step; the store step not reached.
	assert_eq "$(rows t-funnel | jq -c 'map([.[0], .[2], .[4]])')" \
	    '[["read",100,0],["cleaned",100,0],["checked",92,65],["stored",null,null]]'
	jq -e '.tables["t-funnel"][-1].cells[-1].text == "not reached"' page.json
	jq -e '.badnum == [] and .dup_ids == []' page.json
	# The store's charts as the run before left them.
	jq -e '[.figures[] | select(.svgs == 1) | .chart] == ["funnel", "ppm", "hist", "pred"]' page.json
	# The history: this run first, then the good one.
	assert_eq "$(rows t-history | jq -c 'map([.[1], .[2], .[6]])')" \
	    "[[\"$(basename "$d")\",\"failed\",\"check (65)\"],[\"$(basename "$RUN")\",\"ok\",null]]"

	# A failure at clean, the page where DASHBOARD says: the funnel stops
	# at clean.
	echo '{"fields":{"price":{"type":"money"}}}' >bad.rules.json
	rm alerts.ndjson
	failing RULES="$PWD/bad.rules.json" DASHBOARD="$PWD/custom.html"
	jq -e --arg p "$PWD/custom.html" '.step == "clean" and .status == 78 and .dashboard == $p' "$d/alert.json"
	[ ! -e "$d/dashboard.html" ]
	page_json custom.html >page.json
	assert_eq "$(rows t-funnel | jq -c 'map(.[4])')" '[0,78,null,null]'
	jq -e '.ids.failure.attrs["data-step"] == "clean" and .ids.failure.attrs["data-status"] == "78"' page.json

	# DASHBOARD= (empty): no page, no link, the alert as before.
	failing RULES="$PWD/bad.rules.json" DASHBOARD=
	jq -e '.step == "clean" and .status == 78 and has("dashboard") == false' "$d/alert.json"
	[ ! -e "$d/dashboard.html" ]
	[[ "$errput" != *"dashboard"* ]]
}

@test "dashboard.sh alone: usage, a missing run, an unwritable page, no gnuplot" {
	D=$ETL_ROOT/pipelines/dashboard.sh
	run "$D" 3>&-
	[ "$status" -eq 64 ]
	run "$D" -n 0 "$RUN" 3>&-
	[ "$status" -eq 64 ]
	run "$D" -x "$RUN" 3>&-
	[ "$status" -eq 64 ]
	run "$D" "$PWD/no-such-run" 3>&-
	[ "$status" -eq 66 ]
	run "$D" -o "$PWD/no/such/dir/page.html" "$RUN" 3>&-
	[ "$status" -eq 73 ]
	[ ! -e no ]
	# STORE from the run's params.json, RUNS from the run's place; to stdout.
	"$D" "$RUN" >page.html 3>&-
	page_json page.html >page.json
	jq -e '[.figures[] | select(.svgs == 1)] | length == 4' page.json
	# Without gnuplot: the tables, and the page says why there is no chart;
	# RUNS holding no run: no history.
	mkdir nognuplot
	for c in sh jq awk sed find sort head cut cat mktemp rm mv date dirname basename touch; do
		ln -s "$(command -v "$c")" nognuplot/
	done
	PATH=$PWD/nognuplot run_split "$D" -n 3 "$RUN" "$F/store" "$PWD/no-runs" 3>&-
	[ "$status" -eq 0 ]
	[[ "$errput" == *"gnuplot is not installed"* ]]
	printf '%s\n' "$output" >page.html
	page_json page.html >page.json
	jq -e '.svgs == 0 and ([.figures[].svgs] == [0, 0, 0, 0])' page.json
	assert_eq "$(grep -c 'No chart: gnuplot is not installed' page.html)" 4
	assert_eq "$(rows t-ppm | jq -c '[.[][0]] | unique')" '["Aarwangen","Ardon","Muttenz"]'
	assert_eq "$(rows t-funnel | jq -c 'map(.[2])')" '[100,100,92,92]'
	assert_eq "$(rows t-history)" '[]'
}

@test "names and messages stay text; a broken summary in RUNS is left out" {
	mkdir -p h/runs/2026-11-24 h/runs/2026-11-23/broken
	cp -R "$RUN" h/runs/2026-11-24/
	r=h/runs/2026-11-24/$(basename "$RUN")
	echo '{"run_id":' >h/runs/2026-11-23/broken/summary.json
	# A reject whose code, message and id are markup, and a line that is
	# not JSON at all.
	printf '%s\n' '{"tool":"etl-check","reasons":[{"path":"/x","code":"<i>code","message":"</td></tr></table><script>alert(1)</script>"}],"record":{"id":"\"'"'"'><svg onload=alert(1)>"}}' \
	    'not json' >>"$r/check.rejects.ndjson"
	# A municipality whose name is quotes and markup, for gnuplot and HTML.
	name="O'Brien \"x\" <b>&amp;"
	jq -nc --arg m "$name" '{municipality: $m, scraping_date: ("2024-01", "2024-02"), count: 3, price_per_m2_median: 5000.5}' |
	    etl-store -q --root h/store/usecases/price_per_m2 --by scraping_date 3>&- >/dev/null
	"$ETL_ROOT/pipelines/dashboard.sh" -o page.html "$r" h/store 3>&-
	assert_eq "$(grep -c '<script\|<svg onload\|<i>code' page.html)" 0
	page_json page.html >page.json
	jq -e '.svgs == 2 and ([.figures[] | select(.svgs == 1) | .chart] == ["funnel", "ppm"]) and .dup_ids == []' page.json
	assert_eq "$(rows t-ppm | jq -c 'map(.[0]) | unique')" "$(jq -nc --arg m "$name" '[$m]')"
	grep -q "O'Brien \"x\" &lt;b>&amp;amp;</text>" page.html
	jq -e '.tables["t-rejects"][] | select(.attrs["data-code"] == "<i>code") |
	    (.cells[1].attrs["data-v"] == "1")
	    and (.cells[3].text | contains("</td></tr></table><script>alert(1)</script>"))
	    and (.cells[3].text | contains("\"'"'"'><svg onload=alert(1)>"))' page.json
	assert_eq "$(rows t-rejects | jq -c 'map({(.[0]): .[1]}) | add')" '{"range":8,"<i>code":1}'
	# The history: the good run only, the broken summary left out.
	assert_eq "$(rows t-history | jq -c 'map(.[1])')" "[\"$(basename "$RUN")\"]"
	# No store table: a note, not a chart.
	grep -q 'No table yet: <code>h/store/offers</code>' page.html
}
