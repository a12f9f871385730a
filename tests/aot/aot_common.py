"""aot_common.py — what the tests of generated libraries (tests/aot/test_*.py) share: running
`tfc compile` and `tfc run`, building C programs against a generated library (through its own
PREFIX.pc), raw .bin and .npy files, comparing outputs (rtol 1e-5 / atol 1e-6, and whether
bit-identical), a small safetensors writer and reader, the pass/fail tally, and the frame of a
test's main (its command line, its scratch folder). NumPy only.
"""
import contextlib
import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "passes"))
from random_graphs import mismatch as graph_mismatch  # noqa: E402  (f16 outputs within 1e-2 there)

RTOL, ATOL = 1e-5, 1e-6
DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16, "i32": np.int32, "i64": np.int64,
          "bool": np.bool_}


class Failure(Exception):
    """A check that failed: the message says what was expected and what came."""


def run(cmd, timeout=600, env=None, cwd=None):
    """Runs a command; returns its CompletedProcess, or raises Failure naming it and its output."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Failure("timed out after %d s: %s" % (timeout, " ".join(shlex.quote(c) for c in cmd)))
    if p.returncode != 0:
        raise Failure("exit status %d: %s\n%s%s" % (p.returncode, " ".join(shlex.quote(c) for c in cmd),
                                                    p.stdout[-4000:], p.stderr[-4000:]))
    return p


def tfc_compile(tfc, model, prefix, out_dir, flags=()):
    """`tfc compile MODEL --name PREFIX -o OUT_DIR FLAGS`; the files it promises must be there."""
    run([tfc, "compile", model, "--name", prefix, "-o", out_dir] + list(flags))
    wanted = ["%s.h" % prefix, "lib%s.a" % prefix, "%s.pc" % prefix]
    if "--shared" in flags:
        wanted.append("lib%s.so" % prefix)
    missing = [f for f in wanted if not os.path.isfile(os.path.join(out_dir, f))]
    if missing:
        raise Failure("tfc compile wrote no %s in %s" % (", ".join(missing), out_dir))


def tfc_run(tfc, model, graph, inputs, outputs, folder, flags=()):
    """`tfc run --backend cpu` with inputs {name: array}; returns {name: array} for `outputs`."""
    cmd = [tfc, "run", model, "--graph", graph, "--backend", "cpu"] + list(flags)
    for name, a in inputs.items():
        path = os.path.join(folder, "in.%s.npy" % name)
        np.save(path, a)
        cmd += ["--in", "%s=%s" % (name, path)]
    for name in outputs:
        cmd += ["--out", "%s=%s" % (name, os.path.join(folder, "ref.%s.npy" % name))]
    run(cmd)
    return {name: np.load(os.path.join(folder, "ref.%s.npy" % name)) for name in outputs}


def pkg_flags(out_dirs, prefixes):
    """`pkg-config --cflags --libs PREFIX...` with each library's own PREFIX.pc (a folder and a
    prefix, or lists of them)."""
    if isinstance(out_dirs, str):
        out_dirs, prefixes = [out_dirs], [prefixes]
    env = dict(os.environ, PKG_CONFIG_PATH=os.pathsep.join(out_dirs))
    p = run(["pkg-config", "--cflags", "--libs"] + list(prefixes), env=env)
    return shlex.split(p.stdout)


def build_c(cc, sources, exe, flags, std="-std=c99"):
    """Compiles and links a test program with warnings as errors (the generated header must be
    clean under them)."""
    run([cc, std, "-O1", "-Wall", "-Wextra", "-Werror", "-o", exe] + list(sources) + list(flags))
    return exe


def harness(cc, out_dir, prefix, exe, link=None):
    """The generic harness (harness.c) built against library PREFIX in OUT_DIR, as C99 -pedantic,
    linked through PREFIX.pc unless `link` gives other flags."""
    flags = ["-pedantic", "-DPREFIX=%s" % prefix, "-include", os.path.join(out_dir, prefix + ".h")]
    flags += link if link is not None else pkg_flags(out_dir, prefix)
    return build_c(cc, [os.path.join(HERE, "harness.c")], exe, flags)


def arg_table(exe):
    """The argument table as the library reports it (`harness --list`):
    {graph: [(name, is_output, dtype, shape, bytes)]}."""
    graphs, current = {}, None
    for line in run([exe, "--list"]).stdout.splitlines():
        f = line.split()
        if f[0] == "graph":
            current = graphs.setdefault(f[1], [])
        elif f[0] == "arg":
            shape = tuple(int(d) for d in f[4].split("x")) if f[4] != "scalar" else ()
            current.append((f[1], f[2] == "out", f[3], shape, int(f[5])))
    return graphs


def write_bin(folder, name, a):
    a = np.ascontiguousarray(a)
    with open(os.path.join(folder, name + ".bin"), "wb") as f:
        f.write(a.tobytes())


def read_bin(folder, name, dtype, shape):
    return np.fromfile(os.path.join(folder, name + ".out.bin"), dtype=DTYPES[dtype]).reshape(shape)


def mlp_probs(folder, name="probs"):
    """examples/mlp.tg's infer output (f32[64, 10]) as a program wrote it to FOLDER/NAME.out.bin,
    in the form compare() takes."""
    return {"probs": read_bin(folder, name, "f32", (64, 10))}


def mismatch(ref, got):
    """None when got matches ref within the tolerance, else what differs (the random-graph
    suite's comparison, at this suite's tolerance)."""
    return graph_mismatch(ref, got, RTOL, ATOL, "tfc run vs library")


def identical(ref, got):
    return ref.dtype == got.dtype and ref.shape == got.shape and ref.tobytes() == got.tobytes()


def compare(refs, gots, what):
    """Compares every output; raises Failure on a mismatch, else returns 'bit-identical' or the
    largest difference."""
    problems = [(n, mismatch(refs[n], gots[n])) for n in refs]
    problems = ["output %s: %s" % (n, m) for n, m in problems if m]
    if problems:
        raise Failure("%s: %s" % (what, "; ".join(problems)))
    if all(identical(refs[n], gots[n]) for n in refs):
        return "bit-identical"
    diffs = [float(np.nanmax(np.abs(refs[n].astype(np.float64) - gots[n].astype(np.float64)), initial=0))
             for n in refs if refs[n].dtype.kind == "f" and refs[n].size]
    return "within tolerance (max difference %.2g)" % max(diffs, default=0.0)


# ---- safetensors ---------------------------------------------------------------------------------

ST_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.float64): "F64",
             np.dtype(np.int32): "I32", np.dtype(np.int64): "I64", np.dtype(np.bool_): "BOOL"}
ST_NUMPY = {v: k for k, v in ST_DTYPES.items()}


def write_safetensors(path, tensors):
    """tensors: {name: array}, written in that order as the format describes (8-byte little-endian
    header length, JSON header with offsets, then the data)."""
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        blob = a.tobytes()
        header[name] = {"dtype": ST_DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """{name: array} in the file's order of offsets."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        lo, hi = h["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + lo:8 + n + hi], dtype=ST_NUMPY[h["dtype"]]).reshape(h["shape"])
    return out


class Tally:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def ok(self, what, note=""):
        self.passed += 1
        print("  ok   %s%s" % (what, ": " + note if note else ""), flush=True)

    def fail(self, what, why):
        self.failed += 1
        print("  FAIL %s\n%s" % (what, "\n".join("       " + line for line in str(why).splitlines())), flush=True)

    def check(self, what, fn, *args):
        """Runs fn(*args); a Failure (or a returned note) is recorded under `what`."""
        try:
            note = fn(*args)
        except Failure as e:
            self.fail(what, e)
            return False
        self.ok(what, note or "")
        return True

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


# ---- the frame of a test's main ------------------------------------------------------------------

def command_line(doc, count):
    """The test's COUNT arguments (sys.argv[1:]); with any other number, prints DOC (its usage) and
    exits with status 2."""
    if len(sys.argv) != count + 1:
        print(doc)
        sys.exit(2)
    return sys.argv[1:]


@contextlib.contextmanager
def scratch_folder(prefix, tally=None, what="setup"):
    """A new temporary folder (its name starts with PREFIX), removed on the way out whatever
    happened. Given a tally, a Failure raised in the block is the failed check WHAT and goes no
    further; without one it propagates."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    except Failure as e:
        if tally is None:
            raise
        tally.fail(what, e)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
