"""The peers of the benchmark suite: one module per system (numpy, onnxruntime, jax, torch,
torch_compile), each rebuilding the examples/*.tg models from the same weights.

Each module has prepare(workload, data, threads) -> (fn, outputs_fn): fn() runs one call and
returns when its results are ready; outputs_fn() returns the outputs of one call as a dict of
NumPy arrays named as the graph's outputs. data holds the parameters under their .tg names and
the inputs under input.NAME. Shapes are taken from data, so a -D override of a batch size
only needs different data.
"""
import importlib

# workload id -> (model, graph); the models are examples/<model>.tg
MODELS = {
    "B1": ("mlp", "infer"),
    "B2": ("mlp", "infer"),
    "B3": ("mlp", "infer"),
    "B4": ("mlp", "train"),
    "B5": ("lenet", "infer"),
    "B6": ("resnet_block", "block"),
    "B7": ("transformer", "encoder"),
    "B8": ("elementwise", "chain"),
}

# The parameters mlp's train graph updates, in the order of mlp.tg.
MLP_PARAMS = ("w1", "b1", "w2", "b2", "w3", "b3")
SGD_LR = 0.05
SGD_MOMENTUM = 0.9
NORM_EPS = 1e-5  # layer_norm and batch_norm default eps (docs/ir.md)


class Skip(Exception):
    """A peer that cannot run a workload (the runner reports the reason)."""


def model_of(wid):
    """(model, graph) of workload id WID ("B2")."""
    if wid not in MODELS:
        raise Skip("no peer model for workload %s" % wid)
    return MODELS[wid]


def split_data(data):
    """data's parameters {NAME: array} and inputs {NAME: array} (stored as input.NAME)."""
    params = {k: v for k, v in data.items() if not k.startswith("input.")}
    inputs = {k[len("input."):]: v for k, v in data.items() if k.startswith("input.")}
    return params, inputs


def load_peer(name):
    """The module of peer NAME (torch_compile lives in the torch module)."""
    if name == "torch_compile":
        mod = importlib.import_module("peers.torch_peer")
        return _Compiled(mod)
    return importlib.import_module("peers.%s_peer" % name)


class _Compiled:
    """torch_peer with torch.compile switched on."""

    def __init__(self, mod):
        self.mod = mod

    def prepare(self, workload, data, threads):
        return self.mod.prepare(workload, data, threads, compiled=True)
