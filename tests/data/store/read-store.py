#!/usr/bin/python3
"""Reads an etl-store root back as NDJSON, as a Hive reader does: skips
names starting with "." or "_", restores KEY=VALUE directories as string
fields (unescaping %XX; __HIVE_DEFAULT_PARTITION__ is null)."""
import json
import os
import re
import subprocess
import sys


def unescape(s):
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  s.encode("utf-8", "surrogateescape")).decode("utf-8")


def main(root):
    out = sys.stdout
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x[0] not in "._")
        rel = os.path.relpath(d, root)
        fields = {}
        if rel != ".":
            for comp in rel.split(os.sep):
                k, _, v = comp.partition("=")
                fields[k] = None if v == "__HIVE_DEFAULT_PARTITION__" else unescape(v)
        for f in sorted(files):
            if f[0] in "._" or not f.endswith(".ndjson.zst"):
                continue
            data = subprocess.run(["zstd", "-qdc", os.path.join(d, f)],
                                  check=True, capture_output=True).stdout
            for line in data.decode("utf-8").splitlines():
                rec = json.loads(line)
                rec.update(fields)
                out.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")


main(sys.argv[1])
