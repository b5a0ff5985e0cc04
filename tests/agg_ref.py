#!/usr/bin/python3
"""agg_ref.py - a numpy reference for etl-agg, used by tests/50-etl-agg.bats.

  agg_ref.py -g KEYS -a AGGS FILE            prints the expected records
  agg_ref.py -g KEYS -a AGGS FILE --compare OUT [--rel R]
                                             checks etl-agg's OUT against them

Same semantics as etl-agg(1): groups ordered by the bytes of their key as a
compact JSON array, numbers (not strings) only in numeric aggregates, null
when a group has none, percentiles as numpy.percentile, sample var/stddev.
"""
import argparse
import datetime
import json
import math
import sys

import numpy as np


def label(v, bucket):
    if not isinstance(v, str):
        return None
    try:
        if len(v) == 10:
            d = datetime.date.fromisoformat(v)
        else:
            t = datetime.datetime.fromisoformat(v.replace('Z', '+00:00'))
            if t.tzinfo is not None:
                t = t.astimezone(datetime.timezone.utc)
            d = t.date()
    except ValueError:
        return None
    if bucket == 'day':
        return d.isoformat()
    if bucket == 'week':
        y, w, _ = d.isocalendar()
        return '%04d-W%02d' % (y, w)
    if bucket == 'month':
        return '%04d-%02d' % (d.year, d.month)
    if bucket == 'quarter':
        return '%04d-Q%d' % (d.year, (d.month - 1) // 3 + 1)
    return '%04d' % d.year


def isnum(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def norm(v):
    if isinstance(v, float) and v == math.floor(v) and abs(v) < 2 ** 53:
        return int(v)
    return v


def dumps(v):
    return json.dumps(v, separators=(',', ':'), ensure_ascii=False)


def reference(groups, aggs, lines):
    gk = []
    for g in groups.split(',') if groups else []:
        name, _, b = g.partition(':')
        gk.append((name, b))
    specs = []
    for a in aggs.split(','):
        kind, _, f = a.partition(':')
        specs.append((kind, f))
    table = {}
    for line in lines:
        if not line.strip():
            continue
        rec = json.loads(line)
        if not isinstance(rec, dict):
            continue
        key = []
        for name, b in gk:
            v = rec.get(name)
            key.append(label(v, b) if b and v is not None else norm(v))
        k = dumps(key)
        table.setdefault(k, (key, []))[1].append(rec)
    out = []
    for k in sorted(table, key=lambda s: s.encode('utf-8')):
        key, recs = table[k]
        o = {name: v for (name, _), v in zip(gk, key)}
        for kind, f in specs:
            if kind == 'count':
                o['count'] = len(recs)
                continue
            vals = [r.get(f) for r in recs]
            present = [v for v in vals if v is not None]
            nums = [v for v in vals if isnum(v)]
            allint = all(isinstance(v, int) for v in nums)
            arr = np.array(nums, dtype=np.float64)
            name = '%s_%s' % (f, kind)
            if kind == 'distinct':
                o[name] = len({dumps(norm(v)) for v in present})
            elif kind == 'first':
                o[name] = present[0] if present else None
            elif kind == 'last':
                o[name] = present[-1] if present else None
            elif not nums or (kind in ('var', 'stddev') and len(nums) < 2):
                o[name] = None
            elif kind == 'sum':
                o[name] = sum(nums) if allint else math.fsum(nums)
            elif kind == 'mean':
                o[name] = float(np.mean(arr))
            elif kind in ('min', 'max'):
                v = min(nums) if kind == 'min' else max(nums)
                o[name] = int(v) if allint else float(v)
            elif kind == 'median':
                o[name] = float(np.median(arr))
            elif kind == 'var':
                o[name] = float(np.var(arr, ddof=1))
            elif kind == 'stddev':
                o[name] = float(np.std(arr, ddof=1))
            elif kind.startswith('p'):
                o[name] = float(np.percentile(arr, float(kind[1:])))
            else:
                sys.exit('agg_ref: unknown aggregate ' + kind)
        out.append(o)
    return out


def same(a, b, rel):
    if isinstance(a, bool) or isinstance(b, bool) or not isnum(a) or not isnum(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, int):
        return a == b
    return a == b or abs(a - b) <= max(rel * max(abs(a), abs(b)), 1e-9)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('-g', default='')
    p.add_argument('-a', default='count')
    p.add_argument('--compare')
    p.add_argument('--rel', type=float, default=1e-12)
    p.add_argument('file')
    args = p.parse_args()
    with open(args.file, encoding='utf-8') as f:
        want = reference(args.g, args.a, f)
    if not args.compare:
        for o in want:
            print(dumps(o))
        return
    with open(args.compare, encoding='utf-8') as f:
        got = [json.loads(x) for x in f if x.strip()]
    bad = 0
    if len(got) != len(want):
        print('agg_ref: %d records, expected %d' % (len(got), len(want)))
        bad += 1
    for i, (g, w) in enumerate(zip(got, want)):
        if list(g) != list(w):
            print('agg_ref: record %d: fields %s, expected %s' % (i + 1, list(g), list(w)))
            bad += 1
            continue
        for k in w:
            if not same(g[k], w[k], args.rel):
                print('agg_ref: record %d: %s = %r, expected %r' % (i + 1, k, g[k], w[k]))
                bad += 1
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
