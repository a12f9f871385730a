"""test_plan_json.py — `tfc dump MODEL --stage plan --format json` on every example: strict JSON
with the documented schema, kernel costs that add up, outputs of one kernel that never share
arena bytes, and the issue's targets (elementwise: 1 kernel, mlp infer: at most 4, transformer:
at most 16 with arena_bytes at most 60 % of naive_bytes). Before planning the totals are 0.

Usage: test_plan_json.py TFC EXAMPLES_DIR
"""
import json
import math
import os
import re
import subprocess
import sys

KINDS = {"loop", "reduce", "contraction", "single"}
NAME = re.compile(r"^[A-Za-z0-9_]+$")
LOC = re.compile(r"^(.+):(\d+):(\d+)$")

# example file, --graph, largest kernel count, largest arena / naive ratio (None: not a target)
TARGETS = [
    ("elementwise.tg", None, 1, None),
    ("mlp.tg", "infer", 4, None),
    ("transformer.tg", None, 16, 0.6),
]

failures = []


def fail(what):
    failures.append(what)
    print("FAIL: " + what)


def reject_constant(name):
    raise ValueError("not JSON: " + name)


def dump(tfc, path, graph, stage):
    cmd = [tfc, "dump", path, "--stage", stage, "--format", "json"]
    if graph:
        cmd += ["--graph", graph]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        fail("%s exited with %d: %s" % (" ".join(cmd), run.returncode, run.stderr.strip()))
        return None
    try:
        return json.loads(run.stdout, parse_constant=reject_constant)
    except ValueError as e:
        fail("%s: invalid JSON (%s)" % (" ".join(cmd), e))
        return None


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def is_number(x):
    return (is_int(x) or isinstance(x, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_output(where, out, planned):
    if not (is_int(out.get("id")) and isinstance(out.get("type"), str) and is_int(out.get("bytes"))):
        fail("%s: output %r lacks an integer id, a type or its bytes" % (where, out))
        return
    off = out.get("offset")
    if not planned:
        if off is not None:
            fail("%s: output %d is placed (%r) before planning" % (where, out["id"], off))
    elif not (off == "external" or (is_int(off) and off >= 0 and off % 64 == 0)):
        fail("%s: output %d has offset %r: expected a multiple of 64 or \"external\"" % (where, out["id"], off))


def check_kernel(where, k, planned, source):
    for key in ("name", "kind", "ops", "flops", "bytes", "bytes_read", "bytes_written", "intensity", "loc", "outputs"):
        if key not in k:
            fail("%s: no %r" % (where, key))
            return
    if not (isinstance(k["name"], str) and NAME.match(k["name"])):
        fail("%s: kernel name %r is not [A-Za-z0-9_]+" % (where, k["name"]))
    if k["kind"] not in KINDS:
        fail("%s: kind %r" % (where, k["kind"]))
    if not (k["ops"] and all(isinstance(op, str) for op in k["ops"])):
        fail("%s: ops %r" % (where, k["ops"]))
    if k["kind"] == "single" and len(k["ops"]) != 1:
        fail("%s: a single-op kernel with ops %r" % (where, k["ops"]))
    nums = [k[key] for key in ("flops", "bytes", "bytes_read", "bytes_written", "intensity")]
    if not all(is_number(x) and x >= 0 for x in nums):
        fail("%s: costs %r are not finite non-negative numbers" % (where, nums))
        return
    if k["bytes"] != k["bytes_read"] + k["bytes_written"]:
        fail("%s: bytes %r != read %r + written %r" % (where, k["bytes"], k["bytes_read"], k["bytes_written"]))
    want = k["flops"] / k["bytes"] if k["bytes"] else 0
    if abs(k["intensity"] - want) > 1e-5 * max(1.0, want):
        fail("%s: intensity %r, flops / bytes is %r" % (where, k["intensity"], want))
    m = LOC.match(k["loc"]) if isinstance(k["loc"], str) else None
    if not m or os.path.basename(m.group(1)) != source or int(m.group(2)) < 1:
        fail("%s: loc %r does not point into %s" % (where, k["loc"], source))
    if not isinstance(k["outputs"], list) or not k["outputs"]:
        fail("%s: no outputs" % where)
        return
    for out in k["outputs"]:
        check_output(where, out, planned)
    # Everything one kernel writes is live at once: no two of its outputs share arena bytes.
    spans = sorted((o["offset"], o["offset"] + o["bytes"]) for o in k["outputs"]
                   if planned and is_int(o.get("offset")) and is_int(o.get("bytes")))
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        if b0 < a1:
            fail("%s: outputs at [%d, %d) and [%d, %d) overlap" % (where, a0, a1, b0, b1))


def check_plan(doc, where, source, planned):
    if not isinstance(doc, dict):
        fail("%s: not an object" % where)
        return False
    for key in ("graph", "kernels", "arena_bytes", "naive_bytes", "planned"):
        if key not in doc:
            fail("%s: no %r" % (where, key))
            return False
    if doc["planned"] is not planned:
        fail("%s: planned is %r" % (where, doc["planned"]))
    if not (is_int(doc["arena_bytes"]) and is_int(doc["naive_bytes"])):
        fail("%s: arena_bytes and naive_bytes must be integers" % where)
        return False
    if not planned and (doc["arena_bytes"] or doc["naive_bytes"]):
        fail("%s: arena_bytes and naive_bytes are not 0 before planning" % where)
    if doc["arena_bytes"] % 64:
        fail("%s: arena_bytes %d is not a multiple of 64" % (where, doc["arena_bytes"]))
    if not isinstance(doc["kernels"], list) or not doc["kernels"]:
        fail("%s: no kernels" % where)
        return False
    for i, k in enumerate(doc["kernels"]):
        check_kernel("%s: kernel %d" % (where, i), k, planned, source)
    return True


def main():
    tfc, examples = sys.argv[1], sys.argv[2]
    targets = {(f, g): (n, r) for f, g, n, r in TARGETS}
    # A model with a graph the compiler cannot build yet (mlp's train) is dumped by its target graph.
    graph_of = {f: g for f, g, _, _ in TARGETS if g}
    runs = [(f, graph_of.get(f)) for f in sorted(os.listdir(examples)) if f.endswith(".tg")]
    for source, graph in runs:
        path = os.path.join(examples, source)
        where = source + (" --graph " + graph if graph else "")
        doc = dump(tfc, path, graph, "plan")
        if doc is None or not check_plan(doc, where + " (plan)", source, True):
            continue
        n, arena, naive = len(doc["kernels"]), doc["arena_bytes"], doc["naive_bytes"]
        ratio = arena / naive if naive else 0.0
        print("%-32s %3d kernels  arena %9d B  naive %9d B  (%.1f %%)" % (where, n, arena, naive, 100 * ratio))
        if (source, graph) in targets:
            most, most_ratio = targets[(source, graph)]
            if n > most:
                fail("%s: %d kernels, the target is at most %d" % (where, n, most))
            if most_ratio is not None and not (naive > 0 and arena <= most_ratio * naive):
                fail("%s: arena_bytes %d is more than %d %% of naive_bytes %d" % (where, arena, 100 * most_ratio, naive))
        fused = dump(tfc, path, graph, "fused")
        if fused is not None and check_plan(fused, where + " (fused)", source, False):
            if [k["name"] for k in fused["kernels"]] != [k["name"] for k in doc["kernels"]]:
                fail("%s: planning changed the kernels" % where)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
