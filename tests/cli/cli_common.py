"""cli_common.py — what the tests of the tfc command (test_cli.py, test_compile_cli.py) share:
running tfc (the first command-line argument of both scripts), the pass/fail count, user errors
that must exit 1 with a message, and the safetensors reader and writer of tests/aot/aot_common.py.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aot"))
from aot_common import read_safetensors, write_safetensors  # noqa: E402,F401

TFC = sys.argv[1]
results = {"passed": 0, "failed": 0}


def tfc(*args, cwd=None):
    p = subprocess.run([TFC, *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    if cond:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name}\n{detail}")


def expect_error(name, args, *phrases, cwd=None):
    """The command exits 1 and its stderr contains every phrase, with no internal error."""
    rc, out, err = tfc(*args, cwd=cwd)
    ok = rc == 1 and all(p in err for p in phrases) and "internal error" not in err
    check(name, ok, f"rc={rc}\nstderr:\n{err}\nwanted: {phrases}")
    return err


def finish():
    """Prints the count; the exit status (1 when a check failed)."""
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0
