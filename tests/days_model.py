#!/usr/bin/env python3
"""days_model.py - what the offers tables must hold after some daily runs.

    days_model.py RUNS STORE [--either RUNS0] [--summary FILE] [--no-history]
    days_model.py --print RUNS

RUNS describes the runs of pipelines/listings.mk that succeeded, in the
order they ran: a JSON array, or one JSON object a line, of
{"day": "YYYY-MM-DD", "input": FILE} (FILE: raw offers, NDJSON) or
{"day": ..., "offers": [raw offer, ...]}.

The model:
  * keeps a raw offer by the pipeline's rules, restricted to the plain
    forms the fixtures use (raw_price "530000.0€/mo" or text without a
    digit; living_area a number; property_type a word; scraping_date
    YYYY-MM-DD); any other form is an error of the fixture (status 2),
    never a guess;
  * a day's content is what the latest successful run of that day kept
    (history/offers/day=D);
  * the offers table holds each id once: the version from the greatest
    day holding it; within a day the greatest scraping_date; within equal
    ones the later in the day's input.

It reads STORE/offers and STORE/history/offers back with etl-fetch and
compares: ids, no duplicate id, every column, the table's exact columns.
With --either RUNS0 each table may equal the state after RUNS0 instead
(a killed run: before or after, never a mix); it prints which state each
table is in ("offers=after history=before").  --summary checks the counts
of the last run in RUNS against its summary.json.  On any mismatch it
prints a diff and exits 1.  --print writes the expected offers table.
"""
import datetime
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "pipelines", "rules", "offers.rules.json")
COLUMNS = ["currency", "id", "living_area", "municipality", "price",
           "price_per_m2", "property_type", "scraping_date"]
PRICE = re.compile(r"(\d+(?:\.\d+)?)€/mo")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FixtureError(Exception):
    pass


def type_map():
    with open(RULES, encoding="utf-8") as f:
        rules = json.load(f)
    return rules["fields"]["property_type"].get("map", {})


TYPE_MAP = type_map()


def keep(o):
    """The offer as the pipeline stores it, or None when it is rejected."""
    where = "offer %s" % json.dumps(o, ensure_ascii=False)
    if not isinstance(o.get("id"), str) or not o["id"]:
        raise FixtureError(where + ": id must be a non-empty string")
    raw = o.get("raw_price")
    if not isinstance(raw, str):
        raise FixtureError(where + ": raw_price must be a string")
    m = PRICE.fullmatch(raw)
    if m is None:
        if re.search(r"\d", raw):
            raise FixtureError(where + ": raw_price outside the model's forms")
        return None                              # clean: coerce
    price = float(m.group(1))
    area = o.get("living_area")
    if isinstance(area, bool) or not isinstance(area, (int, float)):
        raise FixtureError(where + ": living_area must be a plain number")
    ptype = o.get("property_type")
    if not isinstance(ptype, str) or ptype != ptype.strip().lower() \
            or ptype in TYPE_MAP:
        raise FixtureError(where + ": property_type must be a lowercase "
                           "word the rules do not map")
    date = o.get("scraping_date")
    if not isinstance(date, str) or not DATE.fullmatch(date):
        raise FixtureError(where + ": scraping_date must be YYYY-MM-DD")
    muni = o.get("municipality")
    if muni is not None and not isinstance(muni, str):
        raise FixtureError(where + ": municipality must be a string or null")
    try:
        datetime.date.fromisoformat(date)
    except ValueError:
        return None                              # clean: an impossible date
    ppm = price / area if area else None
    if ppm is not None and (abs(ppm - 500) < 0.01 or abs(ppm - 15000) < 0.01):
        raise FixtureError(where + ": price per m² too close to a bound")
    if not 10 <= area <= 500 or ptype not in ("apartment", "house") \
            or ppm is None or not 500 <= ppm <= 15000:
        return None                              # check: range, enum
    return {"id": o["id"], "price": price, "currency": "EUR",
            "living_area": area, "property_type": ptype,
            "scraping_date": date, "municipality": muni,
            "price_per_m2": round(ppm, 2)}


def load_runs(path):
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        runs = json.loads(text)
    except json.JSONDecodeError:
        runs = [json.loads(l) for l in text.splitlines() if l.strip()]
    if isinstance(runs, dict):
        runs = [runs]
    out = []
    for r in runs:
        if "offers" in r:
            offers = r["offers"]
        else:
            p = r["input"]
            if not os.path.isabs(p) and not os.path.exists(p):
                p = os.path.join(base, p)
            with open(p, encoding="utf-8") as f:
                offers = [json.loads(l) for l in f if l.strip()]
        out.append({"day": r["day"], "offers": offers})
    return out


def expect(runs):
    """(table: id -> row, history: day -> kept rows) after the runs."""
    days = {}
    for r in runs:
        days[r["day"]] = [k for k in map(keep, r["offers"]) if k is not None]
    table = {}
    for day in sorted(days):
        for i, o in enumerate(days[day]):
            rank = (day, o["scraping_date"], i)
            if o["id"] not in table or rank > table[o["id"]][0]:
                table[o["id"]] = (rank, o)
    return {k: v[1] for k, v in table.items()}, days


def fetch(d):
    if not os.path.isdir(d):
        return []
    p = subprocess.run(["etl-fetch", "-q", d], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, pass_fds=(), check=False)
    if p.returncode != 0:
        sys.exit("days_model: etl-fetch %s: status %d: %s"
                 % (d, p.returncode, p.stderr.decode(errors="replace")))
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l]


def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return abs(a - b) <= 1e-9 * max(1, abs(a))
    return a == b


def diff_table(want, rows):
    """Lines describing how rows (the stored table) differ from want."""
    out = []
    seen = {}
    for r in rows:
        seen.setdefault(r.get("id"), []).append(r)
    dups = sorted(k for k, v in seen.items() if len(v) > 1)
    if dups:
        out.append("duplicate ids: %s" % " ".join(map(str, dups)))
    missing = sorted(set(want) - set(seen))
    extra = sorted(set(seen) - set(want), key=str)
    if missing:
        out.append("missing ids: %s" % " ".join(missing))
    if extra:
        out.append("unexpected ids: %s" % " ".join(map(str, extra)))
    for k in sorted(set(want) & set(seen)):
        w = want[k]
        for g in seen[k]:
            if sorted(g) != COLUMNS:
                out.append("%s: columns %s, want %s" % (k, sorted(g), COLUMNS))
            bad = [c for c in COLUMNS if c != "price_per_m2"
                   and not same(g.get(c), w[c])]
            if not isinstance(g.get("price_per_m2"), (int, float)) or \
                    abs(g["price_per_m2"] - w["price_per_m2"]) > 0.0051:
                bad.append("price_per_m2")
            for c in bad:
                out.append("%s: %s is %s, want %s" % (
                    k, c, json.dumps(g.get(c), ensure_ascii=False),
                    json.dumps(w[c], ensure_ascii=False)))
    if len(rows) != len(want):
        out.append("%d rows, want %d" % (len(rows), len(want)))
    return out


def history_key(r):
    return (r["id"], r["scraping_date"], r["price"], r.get("municipality"))


def diff_history(want, rows):
    got = {}
    for r in rows:
        if "day" not in r or "scraping_date" not in r:
            return ["history row without day or scraping_date: %s"
                    % json.dumps(r, ensure_ascii=False)]
        got.setdefault(r["day"], []).append(history_key(r))
    out = []
    for day in sorted(set(want) | set(got)):
        w = sorted(map(history_key, want.get(day, [])))
        g = sorted(got.get(day, []))
        if w != g:
            out.append("history day=%s: %d offers, want %d" % (day, len(g), len(w)))
            for x in sorted(set(g) - set(w)):
                out.append("  unexpected %s" % (x,))
            for x in sorted(set(w) - set(g)):
                out.append("  missing    %s" % (x,))
            if set(g) == set(w):
                out.append("  (the same offers, not the same number of each)")
    return out


def check_summary(path, run):
    with open(path, encoding="utf-8") as f:
        s = json.load(f)
    n = len(run["offers"])
    k = sum(1 for o in run["offers"] if keep(o) is not None)
    want = {"status": "ok", "in": n, "kept": k, "rejected": n - k}
    off = s.get("offers") or {}
    got = {"status": s.get("status"), "in": off.get("in"),
           "kept": off.get("kept"), "rejected": off.get("rejected")}
    out = ["summary %s: %s is %s, want %s" % (path, f, json.dumps(got[f]),
                                             json.dumps(want[f]))
           for f in want if got[f] != want[f]]
    if "gate" not in s:
        out.append("summary %s: no gate field (want null)" % path)
    elif s["gate"] is not None:
        out.append("summary %s: gate is %s, want null" % (path, json.dumps(s["gate"])))
    return out


def main(argv):
    args = {"--either": None, "--summary": None}
    flags = set()
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in args:
            args[a] = argv[i + 1]
            i += 2
            continue
        if a in ("--print", "--no-history"):
            flags.add(a)
        elif a.startswith("-"):
            sys.exit("days_model: unknown option %s\n%s" % (a, __doc__))
        else:
            pos.append(a)
        i += 1
    try:
        runs = load_runs(pos[0])
        if "--print" in flags:
            for k in sorted(expect(runs)[0].items()):
                print(json.dumps(k[1], ensure_ascii=False, sort_keys=True))
            return 0
        store = pos[1]
        states = [("after", expect(runs))]
        if args["--either"]:
            states.append(("before", expect(load_runs(args["--either"]))))
    except FixtureError as e:
        print("days_model: the fixture is outside the model: %s" % e, file=sys.stderr)
        return 2
    except (IndexError, OSError, KeyError, ValueError) as e:
        sys.exit("days_model: %s\n%s" % (e, __doc__))

    problems = []
    verdict = []
    tables = [("offers", fetch(os.path.join(store, "offers")), 0, diff_table)]
    if "--no-history" not in flags:
        tables.append(("history", fetch(os.path.join(store, "history", "offers")),
                       1, diff_history))
    for name, rows, which, differ in tables:
        diffs = [(label, differ(st[which], rows)) for label, st in states]
        ok = [label for label, d in diffs if not d]
        if ok:
            verdict.append("%s=%s" % (name, ok[0]))
            continue
        for label, d in diffs:
            problems.append("%s table differs from the state %s the runs:"
                            % (name, label))
            problems.extend("  " + x for x in d[:40])
            if len(d) > 40:
                problems.append("  ... %d more" % (len(d) - 40))
    if args["--summary"] and runs:
        problems.extend(check_summary(args["--summary"], runs[-1]))
    if problems:
        print("days_model: the store %s does not hold what the runs (%s) imply:"
              % (store, " ".join(r["day"] for r in runs)), file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print(" ".join(verdict))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
