"""workloads.py — the benchmark suite's workloads B1-B8 (BENCHMARKS.md): which model, graph and
`-D` overrides each one is, how its inputs are drawn, where its parameters' values come from, and
what it costs (FLOPs and bytes per run from tfc's memory-plan dump, the GEMM shapes of its
OpenBLAS yardstick from the Kernel IR dump). B9 is the compile time of each of them.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
sys.path.insert(0, HERE)
from cpu_targets import gemm_shapes  # noqa: E402  (one parser of the Kernel IR's GEMMs)


class Workload:
    """One row of the suite. `inputs` says how to draw an input other than N(0, 1): ("labels", K)
    for class indices below K, "zeros" for an additive mask that hides nothing. `weights_graph`
    is the graph whose run writes the parameters' initial values (a training graph would take a
    step first). `yardstick`: how the GEMM limit is formed, (graph, defines, factor)."""

    def __init__(self, wid, label, model, graph, defines=(), inputs=None, weights_graph=None, yardstick=None,
                 memory_bound=False):
        self.id, self.label, self.model, self.graph = wid, label, model, graph
        self.defines = [d for kv in defines for d in ("-D", kv)]
        self.inputs = inputs or {}
        self.weights_graph = weights_graph or graph
        self.yardstick = yardstick or (graph, self.defines, 1)
        self.memory_bound = memory_bound

    @property
    def path(self):
        return os.path.abspath(os.path.join(EXAMPLES, self.model))

    def name(self):
        """The library prefix: b1 ... b8."""
        return self.id.lower()


WORKLOADS = [
    Workload("B1", "mlp infer batch 1", "mlp.tg", "infer", ["B=1"]),
    Workload("B2", "mlp infer batch 64", "mlp.tg", "infer", ["B=64"]),
    Workload("B3", "mlp infer batch 256", "mlp.tg", "infer", ["B=256"]),
    # The target's yardstick for training is three forward passes' GEMMs (BENCHMARKS.md).
    Workload("B4", "mlp train step batch 64", "mlp.tg", "train", ["B=64"], inputs={"y": ("labels", 10)},
             weights_graph="infer", yardstick=("infer", ["-D", "B=64"], 3)),
    Workload("B5", "lenet infer batch 64", "lenet.tg", "infer", ["N=64"]),
    Workload("B6", "resnet block 64x56x56", "resnet_block.tg", "block"),
    Workload("B7", "bert encoder layer S=128", "transformer.tg", "encoder", inputs={"mask": "zeros"}),
    Workload("B8", "elementwise chain 16M", "elementwise.tg", "chain", memory_bound=True),
]


def by_ids(ids):
    """The workloads named in `ids` ("B2,B7"), in suite order; all of them for None."""
    if not ids:
        return list(WORKLOADS)
    want = {x.strip().upper() for x in ids.split(",")}
    unknown = want - {w.id for w in WORKLOADS}
    if unknown:
        sys.exit("unknown workload(s): %s" % ", ".join(sorted(unknown)))
    return [w for w in WORKLOADS if w.id in want]


def _tfc(tfc, args):
    p = subprocess.run([tfc] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s %s failed:\n%s%s" % (tfc, " ".join(args), p.stdout, p.stderr))
    return p.stdout


def cost(tfc, w):
    """FLOPs and bytes moved per run: the sums over the kernels of `tfc dump --stage plan`."""
    plan = json.loads(_tfc(tfc, ["dump", w.path, "--graph", w.graph, "--stage", "plan", "--format", "json"]
                           + w.defines))
    return sum(k["flops"] for k in plan["kernels"]), sum(k["bytes"] for k in plan["kernels"])


def conv_shapes(tfc, model, graph, defines):
    """Each convolution of the Kernel IR as the GEMM an im2col lowering would call
    (M = out channels, N = output pixels, K = in channels x kernel area, BATCH = images x groups),
    in gemm_time.c's M,N,K,TA,TB,BATCH form."""
    text = _tfc(tfc, ["dump", model, "--graph", graph, "--stage", "kernel"] + defines)
    shapes = []
    for m in re.finditer(r"\bconv .*?\bn=(\d+) c=(\d+) in=\d+x\d+ o=(\d+) k=(\d+)x(\d+) out=(\d+)x(\d+).*?groups=(\d+)",
                         text):
        n, c, o, kh, kw, oh, ow, g = (int(x) for x in m.groups())
        shapes.append("%d,%d,%d,0,0,%d" % (o // g, oh * ow, c // g * kh * kw, n * g))
    return shapes


def yardstick_shapes(tfc, w):
    """The GEMMs (gemm_time.c's form) whose OpenBLAS time is this workload's compute limit, and
    how many times that sum counts."""
    graph, defines, factor = w.yardstick
    return gemm_shapes(tfc, w.path, graph, defines) + conv_shapes(tfc, w.path, graph, defines), factor


def make_inputs(w, args, rng):
    """Random inputs for the graph's input arguments [(name, dtype, dims)], keyed "input.NAME"."""
    import numpy as np
    out = {}
    for name, dtype, dims in args:
        how = w.inputs.get(name)
        if isinstance(how, tuple) and how[0] == "labels":
            a = rng.integers(0, how[1], size=dims)
        elif how == "zeros":
            a = np.zeros(dims)
        else:
            a = rng.standard_normal(dims)
        out["input." + name] = np.ascontiguousarray(a.astype({"F32": np.float32, "I32": np.int32,
                                                               "I64": np.int64}[dtype]))
    return out
