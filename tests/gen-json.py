"""Seeded generator of JSON lines, valid and corrupted, for the scanner's
differential test: python3 tests/gen-json.py SEED COUNT."""
import json
import random
import sys

seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
ATOMS = ['0', '-0', '1', '-1.5', '0.1', '1e5', '1E-5', '2.5e+10', '123456789012345678901234',
         '1e308', '1e309', '-1e999', '0.000001', '3.141592653589793', 'true', 'false', 'null',
         '""', '"a"', '"Zürich"', '"\\u00e9"', '"\\ud83d\\ude00"', '"tab\\tnl\\n"', '"q\\"q"',
         '"\\/"', '"€"', '"\\u0000"', '"\\ud800"', '"\\udc00x"', '[]', '[1,[2,[3]]]', '{}',
         '{"a":{"b":1}}', '[{"x":1}]', '"' + 'x' * 40 + '"', '{"a":1,"a":2}', '{"a":1,"b":{"a":2}}',
         '[{"k":1},{"k":1,"k":2}]', '{"k\\u0061":1,"ka":2}', '{"x":{"y":{"z":[1,{"w":null}]}}}',
         '[' * 70 + ']' * 70, '{"d":' * 70 + '1' + '}' * 70, '{ "s" : "v" , "t" : [ ] }']
KEYS = ['id', 'price', 'a', 'b', '', 'ü', 'k\\"', 'a\\u0062', 'municipality']
NOISE = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\x00', '\x01', '\xff', '\xc3', '\u00e9',
         'e', '-', '.', '0', '\t', '1e', 'tru', 'nul']


def record():
    n = rng.randint(0, 8)
    parts = []
    for _ in range(n):
        k = rng.choice(KEYS)
        parts.append('"%s"%s:%s%s' % (k, rng.choice(['', ' ']), rng.choice(['', ' ']),
                                      rng.choice(ATOMS)))
    return '{' + rng.choice([',', ', ']).join(parts) + '}'


def mutate(s):
    b = list(s)
    for _ in range(rng.randint(1, 3)):
        op = rng.randint(0, 3)
        i = rng.randint(0, len(b))
        if op == 0 and b:
            del b[min(i, len(b) - 1)]
        elif op == 1:
            b.insert(i, rng.choice(NOISE))
        elif op == 2 and b:
            b[min(i, len(b) - 1)] = rng.choice(NOISE)
        else:
            b = b[:i]
    return ''.join(b)


out = sys.stdout.buffer
for _ in range(count):
    s = record()
    if rng.random() < 0.5:
        s = mutate(s)
    line = s.replace('\n', ' ').encode('utf-8', 'surrogateescape')
    if '\xff' in s or '\xc3' in s:
        line = line.replace('\xff'.encode('utf-8'), b'\xff').replace('\xc3'.encode('utf-8'), b'\xc3', 1)
    out.write(line + b'\n')
