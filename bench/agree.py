#!/usr/bin/python3
"""agree.py [--key F] [--fields F,...] [--rename PEER=OURS,...] [--rel R]
         [--abs F=TOL,...] OURS PEER

Checks that two NDJSON files hold the same records: line by line, or
matched by the value of --key when the order differs.  Numbers agree
within the relative tolerance --rel (default 1e-9) or the absolute one of
their field; --fields compares only those fields.  Prints one line and
exits 0 when they agree, 1 when they do not."""
import argparse
import json
import math
import sys


def same(a, b, rel, tol):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b:
            return True
        if math.isnan(a) or math.isnan(b):
            return False
        return abs(a - b) <= max(rel * max(abs(a), abs(b)), tol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(
            same(a[k], b[k], rel, tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            same(x, y, rel, tol) for x, y in zip(a, b))
    return a == b


def records(path, args):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            for old, new in args.rename:
                if old in r:
                    r[new] = r.pop(old)
            if args.fields:
                r = {k: r[k] for k in args.fields if k in r}
            yield n, r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key")
    p.add_argument("--fields", type=lambda s: s.split(","))
    p.add_argument("--rename", default=[], type=lambda s: [
        tuple(x.split("=")) for x in s.split(",")])
    p.add_argument("--rel", type=float, default=1e-9)
    p.add_argument("--abs", default={}, type=lambda s: {
        k: float(v) for k, v in (x.split("=") for x in s.split(","))})
    p.add_argument("ours")
    p.add_argument("peer")
    args = p.parse_args()

    def differ(what, a=None, b=None):
        print(f"DIFFER {args.ours} {args.peer}: {what}")
        if a is not None or b is not None:
            print(f"  ours: {json.dumps(a, ensure_ascii=False)}")
            print(f"  peer: {json.dumps(b, ensure_ascii=False)}")
        sys.exit(1)

    def compare(n, a, b):
        if a.keys() != b.keys():
            differ(f"record {n}: fields differ", a, b)
        for k in a:
            if not same(a[k], b[k], args.rel, args.abs.get(k, 0.0)):
                differ(f"record {n}: field {k}", a, b)

    count = 0
    if args.key:
        ours = {}
        for n, r in records(args.ours, args):
            ours[json.dumps(r.get(args.key))] = r
        seen = set()
        for n, r in records(args.peer, args):
            k = json.dumps(r.get(args.key))
            if k not in ours:
                differ(f"key {k} only in the peer's output", None, r)
            compare(k, ours[k], r)
            seen.add(k)
            count += 1
        if len(seen) != len(ours):
            differ(f"{len(ours) - len(seen)} keys only in ours")
    else:
        peer = records(args.peer, args)
        for n, a in records(args.ours, args):
            m = next(peer, None)
            if m is None:
                differ(f"ours has more records, from line {n}", a)
            compare(n, a, m[1])
            count += 1
        m = next(peer, None)
        if m is not None:
            differ(f"the peer has more records, from its line {m[0]}",
                   None, m[1])
    print(f"agree: {count} records")


if __name__ == "__main__":
    main()
