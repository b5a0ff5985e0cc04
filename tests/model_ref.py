#!/usr/bin/python3
"""Reference for tests/60-etl-model.bats: the same models fitted with numpy.

  model_ref.py check -y F -x F,... [-c F,...] [-g K,...] [--log-y] [--ridge L]
                     DATA MODELS PREDICTIONS
      fits with numpy.linalg.lstsq (or the ridge closed form) on the same
      design as etl-model and checks the models (n, p, r2, rmse) and every
      prediction, residual and z-score; exit 1 on the first difference.
  model_ref.py same A B
      checks that two model files hold the same models within 1e-9 relative.
"""
import argparse
import json
import math
import sys

import numpy as np


def fail(msg):
    print("model_ref: " + msg, file=sys.stderr)
    sys.exit(1)


def close(a, b, rel, what):
    if a is None or b is None:
        if a is not b:
            fail("%s: %r != %r" % (what, a, b))
        return
    if abs(a - b) > rel * max(abs(a), abs(b), 1e-300):
        fail("%s: %r != %r (rel %g)" % (what, a, b, rel))


def isnum(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def level(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isnum(v):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    return None


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def keyof(rec, g):
    return tuple(rec.get(k) for k in g)


def fit(rows, a):
    """Returns {key: model} with the reference numbers."""
    groups = {}
    for r in rows:
        y = r.get(a.y)
        if not isnum(y) or (a.log_y and y <= 0):
            continue
        if not all(isnum(r.get(f)) for f in a.x):
            continue
        if any(level(r.get(f)) is None for f in a.c):
            continue
        groups.setdefault(keyof(r, a.g), []).append(r)
    out = {}
    for key, rs in groups.items():
        levels = {c: sorted({level(r[c]) for r in rs}) for c in a.c}
        names = ["(intercept)"] + list(a.x)
        for c in a.c:
            names += ["%s=%s" % (c, lv) for lv in levels[c][1:]]
        n = len(rs)
        if n <= len(names):
            continue
        X = np.array([[1.0] + [float(r[f]) for f in a.x] +
                      [1.0 if level(r[c]) == lv else 0.0
                       for c in a.c for lv in levels[c][1:]] for r in rs])
        y = np.array([float(r[a.y]) for r in rs])
        if a.log_y:
            y = np.log(y)
        if a.ridge > 0:
            D = np.eye(len(names))
            D[0, 0] = 0
            beta = np.linalg.solve(X.T @ X + a.ridge * D, X.T @ y)
            rank = len(names)
        else:
            beta, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
        res = y - X @ beta
        sse = float(res @ res)
        sst = float(((y - y.mean()) ** 2).sum())
        out[key] = {
            "n": n, "p": int(rank),
            "r2": 1 - sse / sst if sst > 0 else None,
            "rmse": math.sqrt(sse / (n - rank)),
            "beta": dict(zip(names, beta)), "levels": levels,
        }
    return out


def predict(m, r, a):
    lin = m["beta"]["(intercept)"]
    for f in a.x:
        lin += m["beta"][f] * r[f]
    for c in a.c:
        lin += m["beta"].get("%s=%s" % (c, level(r[c])), 0.0)
    return lin


def check(a):
    rows = load(a.data)
    ref = fit(rows, a)
    models = load(a.models)
    got = {keyof(m, a.g): m for m in models}
    if set(got) != set(ref):
        fail("groups: %s != %s" % (sorted(map(str, got)),
                                    sorted(map(str, ref))))
    for key, m in got.items():
        r = ref[key]
        if m["n"] != r["n"] or m["p"] != r["p"]:
            fail("%s: n, p %s,%s != %s,%s" % (key, m["n"], m["p"],
                                               r["n"], r["p"]))
        if m["levels"] != r["levels"]:
            fail("%s: levels %s != %s" % (key, m["levels"], r["levels"]))
        close(m["r2"], r["r2"], 1e-9, "%s: r2" % (key,))
        close(m["rmse"], r["rmse"], 1e-6, "%s: rmse" % (key,))
    preds = load(a.pred)
    i = 0
    for r in rows:
        m = ref.get(keyof(r, a.g))
        if m is None or not all(isnum(r.get(f)) for f in a.x) or \
                any(level(r.get(c)) not in m["levels"][c] for c in a.c):
            continue
        if i >= len(preds):
            fail("predictions: only %d lines" % len(preds))
        p = preds[i]
        i += 1
        lin = predict(m, r, a)
        pred = math.exp(lin) if a.log_y else lin
        close(p[a.y + "_pred"], pred, 1e-6, "line %d: pred" % i)
        y = r.get(a.y)
        if isnum(y):
            if abs(p[a.y + "_resid"] - (y - pred)) > 1e-6 * abs(pred):
                fail("line %d: resid %r != %r" % (i, p[a.y + "_resid"],
                                                  y - pred))
            if a.log_y:
                z = (math.log(y) - lin) / m["rmse"] if y > 0 else None
            else:
                z = (y - pred) / m["rmse"]
            if z is None:
                close(p[a.y + "_z"], None, 0, "line %d: z" % i)
            elif abs(p[a.y + "_z"] - z) > 1e-6 * max(abs(z), 1):
                fail("line %d: z %r != %r" % (i, p[a.y + "_z"], z))
        else:
            close(p[a.y + "_resid"], None, 0, "line %d: resid" % i)
    if i != len(preds):
        fail("predictions: %d lines, expected %d" % (len(preds), i))
    print("ok %d models, %d predictions" % (len(ref), i))


def same(a):
    ma, mb = load(a.a), load(a.b)
    if len(ma) != len(mb):
        fail("%d models != %d" % (len(ma), len(mb)))
    for x, y in zip(ma, mb):
        if set(x) != set(y):
            fail("fields %s != %s" % (sorted(x), sorted(y)))
        for k in x:
            if k == "coef":
                if list(x[k]) != list(y[k]):
                    fail("terms %s != %s" % (list(x[k]), list(y[k])))
                scale = max(abs(v) for v in x[k].values())
                for t in x[k]:
                    # Relative to the term, or to the largest for a term
                    # that cancels to about zero.
                    if abs(x[k][t] - y[k][t]) > 1e-9 * max(
                            abs(x[k][t]), 1e-6 * scale):
                        fail("coef %s: %r != %r" % (t, x[k][t], y[k][t]))
            elif isinstance(x[k], float):
                close(x[k], y[k], 1e-9, k)
            elif x[k] != y[k]:
                fail("%s: %r != %r" % (k, x[k], y[k]))
    print("ok %d models" % len(ma))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("-y", required=True)
    c.add_argument("-x", required=True, type=lambda s: s.split(","))
    c.add_argument("-c", default=[], type=lambda s: s.split(","))
    c.add_argument("-g", default=[], type=lambda s: s.split(","))
    c.add_argument("--log-y", action="store_true")
    c.add_argument("--ridge", type=float, default=0.0)
    c.add_argument("data")
    c.add_argument("models")
    c.add_argument("pred")
    s = sub.add_parser("same")
    s.add_argument("a")
    s.add_argument("b")
    a = ap.parse_args()
    check(a) if a.cmd == "check" else same(a)


if __name__ == "__main__":
    main()
