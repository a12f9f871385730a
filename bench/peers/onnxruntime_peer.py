"""ONNX Runtime peer: the examples/*.tg inference graphs built node by node with onnx.helper
(opset 17, weights as initializers) and run by an ORT CPU session with intra_op_num_threads =
the thread count, one inter-op thread and sequential execution. ORT has no training step on
its CPU package, so B4 is skipped."""
import numpy as np

import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from peers import NORM_EPS, Skip, model_of, split_data

OPSET = 17


class _Builder:
    """Nodes, initializers and fresh names for one graph."""

    def __init__(self, params):
        self.nodes, self.inits, self.n = [], [], 0
        for k, v in params.items():
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(v), k))

    def const(self, value, dtype=np.float32):
        name = self._name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def _name(self, p):
        self.n += 1
        return "%s%d" % (p, self.n)

    def op(self, kind, *ins, out=None, **attrs):
        out = out or self._name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(ins), [out], **attrs))
        return out

    def linear(self, x, w, b, relu=False):
        y = self.op("Add", self.op("MatMul", x, w), b)
        return self.op("Relu", y) if relu else y

    def model(self, inputs, outputs):
        g = helper.make_graph(self.nodes, "g", inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = min(m.ir_version, 9)
        onnx.checker.check_model(m)
        return m


def _vi(name, arr):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape))


def _out(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def build(model, data):
    params, inputs = split_data(data)
    g = _Builder(params)
    if model == "mlp":
        x = inputs["x"]
        h = g.linear(g.linear("x", "w1", "b1", True), "w2", "b2", True)
        g.op("Softmax", g.linear(h, "w3", "b3"), out="probs", axis=-1)
        return g.model([_vi("x", x)], [_out("probs", (x.shape[0], params["w3"].shape[1]))])
    if model == "lenet":
        img = inputs["img"]
        n = img.shape[0]
        a = g.op("Conv", "img", "c1", pads=[2, 2, 2, 2])
        a = g.op("MaxPool", g.op("Relu", g.op("Add", a, "c1b")), kernel_shape=[2, 2], strides=[2, 2])
        b = g.op("Conv", a, "c2")
        b = g.op("MaxPool", g.op("Relu", g.op("Add", b, "c2b")), kernel_shape=[2, 2], strides=[2, 2])
        h = g.op("Reshape", b, g.const([n, -1], np.int64))
        h = g.linear(g.linear(h, "f1", "f1b", True), "f2", "f2b", True)
        g.op("Add", g.op("MatMul", h, "f3"), "f3b", out="logits")
        return g.model([_vi("img", img)], [_out("logits", (n, params["f3"].shape[1]))])
    if model == "resnet_block":
        x = inputs["x"]
        h = g.op("Conv", "x", "w1", pads=[1, 1, 1, 1])
        h = g.op("Relu", g.op("BatchNormalization", h, "g1", "b1", "m1", "v1", epsilon=NORM_EPS))
        y = g.op("Conv", h, "w2", pads=[1, 1, 1, 1])
        y = g.op("BatchNormalization", y, "g2", "b2", "m2", "v2", epsilon=NORM_EPS)
        g.op("Relu", g.op("Add", y, "x"), out="y")
        return g.model([_vi("x", x)], [_out("y", x.shape)])
    if model == "transformer":
        x, mask = inputs["x"], inputs["mask"]
        b, s, d = x.shape
        heads = 12
        split_shape = g.const([b, s, heads, d // heads], np.int64)

        def split(w, bias):
            t = g.op("Reshape", g.linear("x", w, bias), split_shape)
            return g.op("Transpose", t, perm=[0, 2, 1, 3])

        q, k, v = split("wq", "bq"), split("wk", "bk"), split("wv", "bv")
        scores = g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2]))
        scores = g.op("Add", g.op("Mul", scores, g.const(0.125)), "mask")
        ctx = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        ctx = g.op("Reshape", g.op("Transpose", ctx, perm=[0, 2, 1, 3]), g.const([b, s, d], np.int64))
        h = g.op("Add", "x", g.linear(ctx, "wo", "bo"))
        h = g.op("LayerNormalization", h, "g1", "n1", axis=-1, epsilon=NORM_EPS)
        f = g.linear(h, "w1", "b1")
        # exact gelu 0.5 x (1 + erf(x / sqrt 2)); ORT fuses this pattern into its Gelu kernel
        e = g.op("Erf", g.op("Mul", f, g.const(0.7071067811865476)))
        f = g.op("Mul", g.op("Mul", f, g.op("Add", e, g.const(1.0))), g.const(0.5))
        y = g.op("Add", h, g.linear(f, "w2", "b2"))
        g.op("LayerNormalization", y, "g2", "n2", axis=-1, epsilon=NORM_EPS, out="y")
        return g.model([_vi("x", x), _vi("mask", mask)], [_out("y", x.shape)])
    if model == "elementwise":
        a = inputs["a"]
        t = g.op("Tanh", g.op("Add", g.op("Mul", "a", g.const(1.5)), "b"))
        t = g.op("Mul", t, g.op("Sigmoid", g.op("Sub", "b", "a")))
        r = g.op("Div", g.op("Relu", "a"), g.op("Add", g.op("Exp", g.op("Neg", "b")), g.const(1.0)))
        g.op("Add", t, r, out="y")
        return g.model([_vi("a", a), _vi("b", inputs["b"])], [_out("y", a.shape)])
    raise ValueError(model)


def prepare(workload, data, threads):
    model, graph = model_of(workload)
    if graph == "train":
        raise Skip("ONNX Runtime (CPU package) runs inference only: no training step")
    m = build(model, data)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {k: np.ascontiguousarray(v) for k, v in split_data(data)[1].items()}
    names = [o.name for o in sess.get_outputs()]

    def call():
        return sess.run(names, feeds)

    return call, (lambda: dict(zip(names, call())))
