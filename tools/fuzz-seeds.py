#!/usr/bin/env python3
"""fuzz-seeds.py - the fuzz targets' seed corpus, from the parsers' tests.

    fuzz-seeds.py TARGET OUTDIR

Runs the C preprocessor over tests/test_stage06_parse.c (so that macros
such as BAD(REQ(...)) are expanded) and writes the message of every entry
of the tables the TARGET is about, one file each, into OUTDIR:
request: valid, invalid; response: responses; chunked: chunked_ok,
chunked_bad; and, from tests/test_stage06_client.c, url: urls.  The seeds
are the tests' own inputs, so the corpus stays as current as the tests are.
"""
import os, re, subprocess, sys

TABLES = {"request": ["valid", "invalid"], "response": ["responses"],
          "chunked": ["chunked_ok", "chunked_bad"], "url": ["urls"]}
SOURCE = {"url": "tests/test_stage06_client.c"}  # the others: the parser's tests


def unescape(body):
    out, i = bytearray(), 0
    simple = {"n": 10, "r": 13, "t": 9, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8,
              "f": 12, "v": 11, "?": 63}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e]); i += 2
        elif e == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
            out.append(int(m.group(0), 16) & 0xff); i += 2 + len(m.group(0))
        else:
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(0), 8) & 0xff); i += 1 + len(m.group(0))
    return bytes(out)


def entries(text, table):
    """The first run of adjacent string literals of each element of table[]."""
    m = re.search(r"\b" + table + r"\[\]\s*=\s*\{", text)
    if not m:
        sys.exit("fuzz-seeds: no table %s[] in the parser tests" % table)
    i, depth, run, in_run, done = m.end(), 1, [], False, False
    while depth > 0:
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if depth == 2 and not done:
                run.append(text[i + 1:j]); in_run = True
            i = j + 1
            continue
        if in_run and not c.isspace():
            done = True
        in_run = in_run and c.isspace()
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
            if depth == 1:
                if run:
                    yield unescape("".join(run))
                run, in_run, done = [], False, False
        i += 1


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in TABLES:
        sys.exit("usage: fuzz-seeds.py request|response|chunked|url OUTDIR")
    cc = os.environ.get("CC", "cc")
    text = subprocess.run([cc, "-E", "-P", "-std=c11", "-D_POSIX_C_SOURCE=200809L",
                           "-Istage06_http", "-Icommon", "-Itests",
                           SOURCE.get(sys.argv[1], "tests/test_stage06_parse.c")],
                          check=True, capture_output=True, text=True).stdout
    os.makedirs(sys.argv[2], exist_ok=True)
    n = 0
    for table in TABLES[sys.argv[1]]:
        for k, msg in enumerate(entries(text, table)):
            with open(os.path.join(sys.argv[2], "%s-%03d" % (table, k)), "wb") as f:
                f.write(msg)
            n += 1
    if n == 0:
        sys.exit("fuzz-seeds: no seeds for %s" % sys.argv[1])
    print("fuzz-seeds: %d seeds for %s in %s" % (n, sys.argv[1], sys.argv[2]))


main()
