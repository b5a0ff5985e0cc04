#!/usr/bin/python3
"""Runs the JSON Schema Test Suite (draft 2020-12) through etl-check.

Each test group's schema goes to a file and its instances, one a line,
to an NDJSON file; etl-check --any validates them (an instance may be any
JSON value), and a line on stdout is a "valid" verdict, a reject an
"invalid" one.  A group whose schema etl-check refuses (status 78) fails
every test in it.

The required tests (tests/draft2020-12/*.json) assume the default 2020-12
dialect, where format is an annotation: they run with --format-annotation.
The optional format tests etl-check claims (optional/format/NAME.json)
run as etl-check runs by default, checking formats.  The suite's remote
documents (http://localhost:1234/...) are read from its remotes/
directory with --ref-dir; --no-remotes leaves them unmapped.

Prints one line per part, "# N of M (P%) PART", the failures with -v,
and exits 1 when a part is below its --min.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

# The optional format tests whose formats etl-check checks.
FORMATS = ['date', 'date-time', 'time', 'duration', 'email', 'idn-email',
           'hostname', 'idn-hostname', 'ipv4', 'ipv6', 'uri', 'uri-reference',
           'iri', 'iri-reference', 'uri-template', 'uuid', 'json-pointer',
           'relative-json-pointer', 'regex']


def run_group(etl_check, group, tmp, extra):
    """The verdicts of etl-check on the group's tests, or None (refused)."""
    schema = os.path.join(tmp, 'schema.json')
    data = os.path.join(tmp, 'data.ndjson')
    rejects = os.path.join(tmp, 'rejects.ndjson')
    with open(schema, 'w') as f:
        json.dump(group['schema'], f)
    with open(data, 'w') as f:
        for t in group['tests']:
            f.write(json.dumps(t['data']) + '\n')
    cmd = [etl_check, '-q', '--any', '-s', schema, '--rejects', rejects] + \
        extra + [data]
    if os.path.exists(rejects):
        os.unlink(rejects)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        return None, p.stderr.decode('utf-8', 'replace').strip()
    bad = set()
    if os.path.exists(rejects):
        with open(rejects, encoding='utf-8') as f:
            for line in f:
                bad.add(json.loads(line)['src']['line'])
    return [i + 1 not in bad for i in range(len(group['tests']))], ''


def run_files(etl_check, files, extra, tmp, verbose, label):
    passed = total = 0
    for path in files:
        with open(path, encoding='utf-8') as f:
            groups = json.load(f)
        name = os.path.relpath(path, os.path.dirname(os.path.dirname(path)))
        for g in groups:
            verdicts, err = run_group(etl_check, g, tmp, extra)
            for i, t in enumerate(g['tests']):
                total += 1
                ok = verdicts is not None and verdicts[i] == t['valid']
                passed += ok
                if not ok and verbose:
                    why = 'refused: ' + err if verdicts is None else \
                        'expected %s' % ('valid' if t['valid'] else 'invalid')
                    print('# FAIL %s | %s | %s: %s' % (
                        name, g['description'], t['description'], why))
    pct = 100.0 * passed / total if total else 0.0
    print('# %d of %d (%.2f%%) %s' % (passed, total, pct, label))
    return pct


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--etl-check', default='etl-check')
    ap.add_argument('--suite', default=os.path.join(
        here, 'data', 'json-schema-test-suite'))
    ap.add_argument('--part', choices=['required', 'formats', 'all'],
                    default='all')
    ap.add_argument('--no-remotes', action='store_true')
    ap.add_argument('--min', type=float, default=0,
                    help='exit 1 when the required part is below (percent)')
    ap.add_argument('--min-formats', type=float, default=0)
    ap.add_argument('-v', '--verbose', action='store_true')
    a = ap.parse_args()

    tests = os.path.join(a.suite, 'tests', 'draft2020-12')
    remotes = os.path.join(a.suite, 'remotes')
    extra = [] if a.no_remotes else \
        ['--ref-dir', 'http://localhost:1234/=' + remotes]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if a.part in ('required', 'all'):
            files = sorted(os.path.join(tests, f) for f in os.listdir(tests)
                           if f.endswith('.json'))
            pct = run_files(a.etl_check, files,
                            extra + ['--format-annotation'], tmp, a.verbose,
                            'required tests of draft 2020-12 pass' +
                            (' (no --ref-dir)' if a.no_remotes else ''))
            ok = ok and pct >= a.min
        if a.part in ('formats', 'all'):
            files = [os.path.join(tests, 'optional', 'format', f + '.json')
                     for f in FORMATS]
            pct = run_files(a.etl_check, files, extra, tmp, a.verbose,
                            'optional format tests of the formats checked '
                            'pass')
            ok = ok and pct >= a.min_formats
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
