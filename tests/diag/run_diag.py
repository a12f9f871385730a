#!/usr/bin/env python3
"""run_diag.py — diagnostics tests of the .tg frontend: runs `tfc check` on every tests/diag/*.tg
and compares what it prints with the file's own expectations (standard library only).

A test states what it expects in comments, anywhere in the file:
    # expect: LINE:COL: error: TEXT     an error at that place whose message contains TEXT
    # expect: LINE:COL: note: TEXT      a note there (notes are only checked when listed)
    # expect: error: TEXT               an error without a location (tfc: error: ..., -D problems)
    # args: -D N=abc                    extra arguments for `tfc check`
A file with no `# expect:` line is a valid program: it must check with status 0 and no errors.
Otherwise the status must be 1, every expectation must be met, and every error printed must
be expected. Usage: run_diag.py PATH/TO/tfc PATH/TO/tests/diag
"""
import os
import re
import shlex
import subprocess
import sys

DIAG = re.compile(r"^(?:(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)|tfc|(?P<nofile>[^:\s]+)): (?P<kind>error|note): (?P<msg>.*)$")
EXPECT = re.compile(r"^#\s*expect:\s*(?:(?P<line>\d+):(?P<col>\d+):\s*)?(?P<kind>error|note):\s*(?P<text>.*?)\s*$")
ARGS = re.compile(r"^#\s*args:\s*(?P<args>.*)$")


def read_spec(path):
    """The expectations and extra arguments stated in a test file (which may hold binary bytes)."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    expects, args = [], []
    for raw in text.split("\n"):
        line = raw.strip()
        m = EXPECT.match(line)
        if m:
            loc = (int(m["line"]), int(m["col"])) if m["line"] else None
            expects.append((loc, m["kind"], m["text"]))
            continue
        m = ARGS.match(line)
        if m:
            args += shlex.split(m["args"])
    return expects, args


def parse_output(output):
    """(location or None, kind, message) for each diagnostic line tfc printed."""
    diags = []
    for line in output.splitlines():
        m = DIAG.match(line)
        if m:
            loc = (int(m["line"]), int(m["col"])) if m["line"] else None
            diags.append((loc, m["kind"], m["msg"]))
    return diags


def matches(expect, diag):
    loc, kind, text = expect
    return diag[0] == loc and diag[1] == kind and text in diag[2]


def run_one(tfc, path):
    """A list of problems (empty: the test passed)."""
    expects, args = read_spec(path)
    try:
        proc = subprocess.run([tfc, "check", *args, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return ["timed out (a hang)"]
    output = proc.stdout.decode("utf-8", errors="replace")
    diags = parse_output(output)
    problems = []
    want_rc = 1 if expects else 0
    if proc.returncode != want_rc:
        problems.append(f"exit status {proc.returncode}, expected {want_rc}")
    for e in expects:
        if not any(matches(e, d) for d in diags):
            where = f"{e[0][0]}:{e[0][1]}: " if e[0] else ""
            problems.append(f"missing: {where}{e[1]}: {e[2]}")
    for d in diags:
        if d[1] == "error" and not any(matches(e, d) for e in expects):
            where = f"{d[0][0]}:{d[0][1]}: " if d[0] else ""
            problems.append(f"unexpected: {where}error: {d[2]}")
    if problems:
        problems.append("output was:\n" + "\n".join("    " + l for l in output.splitlines()[:60]))
    return problems


def main():
    if len(sys.argv) != 3:
        print("usage: run_diag.py PATH/TO/tfc PATH/TO/tests/diag", file=sys.stderr)
        return 2
    tfc, folder = sys.argv[1], sys.argv[2]
    tests = sorted(f for f in os.listdir(folder) if f.endswith(".tg"))
    passed = failed = 0
    for name in tests:
        problems = run_one(tfc, os.path.join(folder, name))
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print("  " + p)
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
