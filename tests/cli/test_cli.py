#!/usr/bin/env python3
"""test_cli.py — end-to-end tests of the `tfc` command as a user drives it: running graphs on
.npy inputs, weights in and out, -D overrides, .tgir equivalence, training (--steps, --epochs,
--shuffle, --save-weights against NumPy's SGD), and every user-error path (each must exit 1 with
one message naming the file or name and what was expected).
Usage: test_cli.py TFC EXAMPLES_DIR"""
import json
import os
import re
import sys
import tempfile

import numpy as np

from cli_common import check, expect_error, finish, read_safetensors, tfc, write_safetensors

EXAMPLES = sys.argv[2]


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def test_help_and_version():
    rc, out, _ = tfc("--version")
    check("version", rc == 0 and out.startswith("tfc "), out)
    for verb in ["check", "dump", "opt", "run"]:
        rc, out, _ = tfc(verb, "--help")
        check(f"help {verb}", rc == 0 and "usage: tfc " + verb in out, out)
    expect_error("unknown verb", ["rn"], "unknown verb 'rn'", "did you mean 'run'")
    expect_error("unknown option", ["run", "--grpah", "x"], "unknown option '--grpah'", "did you mean '--graph'")
    expect_error("missing model file", ["check", "/nonexistent/m.tg"], "cannot open '/nonexistent/m.tg'")


def test_mlp_against_numpy(tmp):
    """The MLP's infer graph on real inputs equals a NumPy forward pass with the saved weights."""
    mlp = os.path.join(EXAMPLES, "mlp.tg")
    x = np.random.default_rng(0).standard_normal((4, 784)).astype(np.float32)
    np.save(f"{tmp}/x.npy", x)
    rc, _, err = tfc("run", mlp, "--graph", "infer", "-D", "B=4", "--in", f"x={tmp}/x.npy",
                     "--out", f"probs={tmp}/p.npy", "--save-weights", f"{tmp}/w.safetensors", "--seed", "7")
    check("mlp run", rc == 0, err)
    if rc != 0:
        return
    w = read_safetensors(f"{tmp}/w.safetensors")
    h1 = np.maximum(x @ w["w1"] + w["b1"], 0)
    h2 = np.maximum(h1 @ w["w2"] + w["b2"], 0)
    want = softmax(h2 @ w["w3"] + w["b3"])
    got = np.load(f"{tmp}/p.npy")
    check("mlp vs numpy", got.shape == (4, 10) and np.allclose(got, want, rtol=1e-4, atol=1e-6),
          f"max err {np.abs(got - want).max() if got.shape == want.shape else got.shape}")
    bound = np.sqrt(6 / (784 + 512))
    check("glorot bound", np.abs(w["w1"]).max() <= bound and w["w1"].std() > bound / 3)
    # Weights given back with another seed reproduce the same outputs.
    rc, _, err = tfc("run", mlp, "--graph", "infer", "-D", "B=4", "--in", f"x={tmp}/x.npy",
                     "--out", f"probs={tmp}/p2.npy", "--weights", f"{tmp}/w.safetensors", "--seed", "99")
    check("weights reload", rc == 0 and np.array_equal(np.load(f"{tmp}/p2.npy"), got), err)
    # The same seed gives the same parameters; another seed different ones.
    tfc("run", mlp, "--graph", "infer", "-D", "B=4", "--random-inputs", "--seed", "7",
        "--save-weights", f"{tmp}/w7.safetensors")
    tfc("run", mlp, "--graph", "infer", "-D", "B=4", "--random-inputs", "--seed", "8",
        "--save-weights", f"{tmp}/w8.safetensors")
    w7, w8 = read_safetensors(f"{tmp}/w7.safetensors"), read_safetensors(f"{tmp}/w8.safetensors")
    check("seed determinism", np.array_equal(w7["w1"], w["w1"]) and not np.array_equal(w8["w1"], w["w1"]))
    check("per-name streams", not np.array_equal(w["w2"][:10, :10], w["w3"][:10, :10]))


def test_tgir_equivalence(tmp):
    """A dumped .tgir runs with results identical to its .tg source."""
    src = os.path.join(EXAMPLES, "lenet.tg")
    rc, text, err = tfc("dump", src, "--stage", "graph", "-D", "N=2")
    check("dump lenet", rc == 0, err)
    with open(f"{tmp}/lenet.tgir", "w") as f:
        f.write(text)
    img = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.save(f"{tmp}/img.npy", img)
    outs = []
    for model in [src, f"{tmp}/lenet.tgir"]:
        extra = ["-D", "N=2"] if model.endswith(".tg") else []
        rc, _, err = tfc("run", model, *extra, "--in", f"img={tmp}/img.npy", "--out", f"logits={tmp}/o.npy")
        check(f"run {os.path.basename(model)}", rc == 0, err)
        outs.append(np.load(f"{tmp}/o.npy") if rc == 0 else None)
    check("tg == tgir", outs[0] is not None and outs[1] is not None and np.array_equal(outs[0], outs[1]))
    rc, dot, err = tfc("dump", src, "--stage", "graph", "--format", "dot")
    check("dot", rc == 0 and dot.lstrip().startswith("digraph") and "conv2d" in dot, err)


def test_defines_and_summary():
    src = os.path.join(EXAMPLES, "elementwise.tg")
    rc, out, err = tfc("run", src, "-D", "N=10", "--random-inputs")
    check("-D override", rc == 0 and "y: f32[10]" in out and "min" in out, out + err)
    expect_error("-D unknown const", ["check", src, "-D", "M=3"], "M")
    expect_error("-D bad value", ["check", src, "-D", "N=abc"], "abc")


def test_input_errors(tmp):
    src = os.path.join(EXAMPLES, "elementwise.tg")
    ok = np.zeros(8, np.float32)
    np.save(f"{tmp}/a.npy", ok)
    np.save(f"{tmp}/b.npy", ok)
    np.save(f"{tmp}/wrong_shape.npy", np.zeros(9, np.float32))
    np.save(f"{tmp}/wrong_dtype.npy", np.zeros(8, np.float64))
    with open(f"{tmp}/a.npy", "rb") as f:
        data = f.read()
    with open(f"{tmp}/trunc.npy", "wb") as f:
        f.write(data[:-5])
    with open(f"{tmp}/garbage.npy", "wb") as f:
        f.write(b"not a numpy file at all")
    base = ["run", src, "-D", "N=8"]
    expect_error("missing input", base + ["--in", f"a={tmp}/a.npy"], "missing input 'b'")
    expect_error("unknown input", base + ["--in", f"a={tmp}/a.npy", "--in", f"bb={tmp}/b.npy"],
                 "no input named 'bb'", "did you mean 'b'")
    expect_error("unknown output", base + ["--random-inputs", "--out", f"z={tmp}/z.npy"], "no output named 'z'")
    expect_error("wrong shape", base + ["--in", f"a={tmp}/wrong_shape.npy", "--in", f"b={tmp}/b.npy"],
                 "wrong_shape.npy", "expected f32[8]", "f32[9]")
    expect_error("wrong dtype", base + ["--in", f"a={tmp}/wrong_dtype.npy", "--in", f"b={tmp}/b.npy"],
                 "wrong_dtype.npy")
    expect_error("truncated", base + ["--in", f"a={tmp}/trunc.npy", "--in", f"b={tmp}/b.npy"], "trunc.npy")
    expect_error("garbage npy", base + ["--in", f"a={tmp}/garbage.npy", "--in", f"b={tmp}/b.npy"], "garbage.npy")
    expect_error("missing npy", base + ["--in", f"a={tmp}/nope.npy", "--in", f"b={tmp}/b.npy"], "nope.npy")
    expect_error("bad binding", base + ["--in", "a"], "NAME=FILE")
    expect_error("unknown backend", base + ["--random-inputs", "--backend", "tpu"], "backend 'tpu'")


def test_labels_i64(tmp):
    with open(f"{tmp}/labels.tg", "w") as f:
        f.write("graph g(y : i32[4]) -> (z) {\n  z = one_hot(y, 3)\n}\n")
    np.save(f"{tmp}/y64.npy", np.array([0, 2, 1, 2], np.int64))
    rc, _, err = tfc("run", f"{tmp}/labels.tg", "--in", f"y={tmp}/y64.npy", "--out", f"z={tmp}/z.npy")
    check("i64 labels for i32", rc == 0 and np.array_equal(np.load(f"{tmp}/z.npy"), np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]), err)
    np.save(f"{tmp}/big.npy", np.array([0, 2, 1, 2**40], np.int64))
    expect_error("i64 overflow", ["run", f"{tmp}/labels.tg", "--in", f"y={tmp}/big.npy"], "big.npy", "i32")


def test_weight_errors(tmp):
    with open(f"{tmp}/p.tg", "w") as f:
        f.write("param w : f32[2, 3]\nparam b : f32[3] = zeros()\n"
                "graph g(x : f32[1, 2]) -> (y) {\n  y = x @ w + b\n}\n")
    expect_error("param without value", ["run", f"{tmp}/p.tg", "--random-inputs"], "'w'")
    write_safetensors(f"{tmp}/good.safetensors", {"w": np.ones((2, 3), np.float32)})
    rc, out, err = tfc("run", f"{tmp}/p.tg", "--random-inputs", "--weights", f"{tmp}/good.safetensors")
    check("weights supply param", rc == 0, err)
    write_safetensors(f"{tmp}/shape.safetensors", {"w": np.ones((3, 2), np.float32)})
    expect_error("weights wrong shape", ["run", f"{tmp}/p.tg", "--random-inputs", "--weights",
                                         f"{tmp}/shape.safetensors"], "shape.safetensors", "'w'", "f32[2,3]")
    write_safetensors(f"{tmp}/key.safetensors", {"w": np.ones((2, 3), np.float32), "ww": np.ones(1, np.float32)})
    expect_error("weights unknown key", ["run", f"{tmp}/p.tg", "--random-inputs", "--weights",
                                         f"{tmp}/key.safetensors"], "key.safetensors", "'ww'")
    with open(f"{tmp}/good.safetensors", "rb") as f:
        data = f.read()
    with open(f"{tmp}/trunc.safetensors", "wb") as f:
        f.write(data[:-4])
    expect_error("weights truncated", ["run", f"{tmp}/p.tg", "--random-inputs", "--weights",
                                       f"{tmp}/trunc.safetensors"], "trunc.safetensors")


def test_cpu_backend(tmp):
    """The compiled backend's options: --bench, --profile, --threads, --cpu, the code dumps and
    its run-time errors."""
    mlp = os.path.join(EXAMPLES, "mlp.tg")
    rc, out, err = tfc("run", mlp, "--graph", "infer", "--random-inputs", "--bench", "3", "--threads", "2")
    bench = [l for l in out.splitlines() if l.startswith("bench:")]
    check("--bench line", rc == 0 and len(bench) == 1 and
          re.fullmatch(r"bench: infer 3 runs median [\d.]+ ms min [\d.]+ ms max [\d.]+ ms", bench[0]) is not None
          and "compile: infer, 4 kernels" in err, out + err)
    rc, out, err = tfc("run", mlp, "--graph", "infer", "--random-inputs", "--profile", f"{tmp}/trace.json")
    try:
        with open(f"{tmp}/trace.json") as f:
            events = json.load(f)["traceEvents"]
    except (OSError, ValueError, KeyError) as e:
        events = str(e)
    ok = isinstance(events, list) and len(events) == 4 and all(
        e["ph"] == "X" and e["dur"] >= 0 and "flops" in e["args"] and "bytes" in e["args"] for e in events)
    check("--profile trace", rc == 0 and ok and "fused_matmul_bias_relu" in err, f"{events}\n{err}")
    expect_error("--profile unwritable", ["run", mlp, "--graph", "infer", "--random-inputs", "--profile",
                                          f"{tmp}/no/such/dir/t.json"], "cannot write profile", "no/such/dir")
    expect_error("--threads 0", ["run", mlp, "--graph", "infer", "--threads", "0"], "--threads", "positive integer")
    expect_error("--bench x", ["run", mlp, "--graph", "infer", "--bench", "x"], "--bench", "positive integer")
    expect_error("--threads with interp", ["run", mlp, "--graph", "infer", "--backend", "interp", "--threads", "2"],
                 "--threads needs --backend cpu")
    expect_error("unknown backend", ["run", mlp, "--backend", "tpu"], "backend 'tpu' is unknown", "cpu, interp")
    expect_error("unknown cpu", ["run", mlp, "--graph", "infer", "--random-inputs", "--cpu", "pentium9"], "pentium9")
    rc, out, err = tfc("dump", mlp, "--graph", "infer", "--stage", "kernel")
    check("dump kernel", rc == 0 and "gemm m=64 n=512 k=784" in out and "parallel" in out, out + err)
    rc, out, err = tfc("dump", mlp, "--graph", "infer", "--stage", "llvm", "-O0")
    check("dump llvm -O0", rc == 0 and "define" in out and "i32 @" in out, err)
    rc, out, err = tfc("dump", mlp, "--graph", "infer", "--stage", "asm", "--cpu", "x86-64-v3")
    check("dump asm x86-64-v3", rc == 0 and "ymm" in out and "zmm" not in out, err)
    expect_error("dump llvm as dot", ["dump", mlp, "--graph", "infer", "--stage", "llvm", "--format", "dot"],
                 "text only")
    rc, out, err = tfc("run", mlp, "--graph", "infer", "--random-inputs", "--dump-dir", f"{tmp}/ll")
    check("--dump-dir keeps the LLVM IR", rc == 0 and os.path.exists(f"{tmp}/ll/infer.ll") and
          os.path.exists(f"{tmp}/ll/infer.opt.ll"), err + str(os.listdir(tmp)))
    with open(f"{tmp}/gather.tg", "w") as f:
        f.write("graph g(a : f32[5, 3], i : i32[2]) -> (y) {\n  y = gather(a, i)\n}\n")
    np.save(f"{tmp}/ga.npy", np.ones((5, 3), np.float32))
    np.save(f"{tmp}/gi.npy", np.array([0, 7], np.int32))
    expect_error("cpu gather out of range", ["run", f"{tmp}/gather.tg", "--in", f"a={tmp}/ga.npy", "--in",
                                             f"i={tmp}/gi.npy"], "gather.tg:2:7: gather: index out of range",
                 "(in kernel gather_2x3)")


FIT_TG = """param w : f32[4, 1] = zeros()
graph fit(x : f32[8, 4], y : f32[8, 1]) -> (loss, pred) {
  pred = x @ w
  d = pred - y
  loss = mean(d * d)
  minimize loss with sgd(lr=0.1, momentum=0.9)
}
graph eval(x : f32[8, 4], y : f32[8, 1]) -> (loss) {
  d = x @ w - y
  loss = mean(d * d)
}
"""


def sgd_reference(x, y, batches, w=None):
    """PyTorch's SGD (lr 0.1, momentum 0.9) on mean((x @ w - y)^2), one step per batch (a list of
    row indices): the loss of each step (before its update) and the final w, in float64."""
    w = np.zeros((4, 1)) if w is None else w
    buf, losses = None, []
    for rows in batches:
        xb, yb = x[rows].astype(np.float64), y[rows].astype(np.float64)
        d = xb @ w - yb
        losses.append(float(np.mean(d * d)))
        g = xb.T @ (2 * d / d.size)
        buf = g if buf is None else 0.9 * buf + g
        w = w - 0.1 * buf
    return np.array(losses), w


def step_values(out, pattern):
    return np.array([float(v) for v in re.findall(pattern, out, re.M)])


def test_training_steps(tmp):
    """--steps N on one batch: the loss of each step and the trained weights equal NumPy's SGD,
    on both backends; --out gives the last step's outputs; --save-weights holds no optimizer state."""
    with open(f"{tmp}/fit.tg", "w") as f:
        f.write(FIT_TG)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.1).astype(np.float32)
    np.save(f"{tmp}/x8.npy", x)
    np.save(f"{tmp}/y8.npy", y)
    want, w_want = sgd_reference(x, y, [np.arange(8)] * 5)
    for backend in ["cpu", "interp"]:
        rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "fit", "--in", f"x={tmp}/x8.npy", "--in",
                           f"y={tmp}/y8.npy", "--steps", "5", "--backend", backend, "--out", f"loss={tmp}/l.npy",
                           "--save-weights", f"{tmp}/w_{backend}.safetensors")
        got = step_values(out, r"^step \d/5: loss (\S+)$")
        check(f"--steps 5 ({backend}): a line per step", rc == 0 and len(got) == 5, out + err)
        if rc != 0 or len(got) != 5:
            continue
        check(f"--steps 5 ({backend}): losses are SGD's", np.allclose(got, want, rtol=1e-5), f"{got}\n{want}")
        check(f"--steps 5 ({backend}): --out is the last step's", np.isclose(float(np.load(f"{tmp}/l.npy")), got[-1],
                                                                              rtol=1e-5))
        w = read_safetensors(f"{tmp}/w_{backend}.safetensors")
        check(f"--save-weights ({backend}): trained w, no state", list(w) == ["w"] and
              np.allclose(w["w"], w_want, rtol=1e-5, atol=1e-6), f"{list(w)}\n{w.get('w')}\n{w_want}")
    # The trained weights go back in; training goes on from them (the momentum starts afresh).
    rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "fit", "--in", f"x={tmp}/x8.npy", "--in", f"y={tmp}/y8.npy",
                       "--weights", f"{tmp}/w_cpu.safetensors", "--steps", "2")
    got = step_values(out, r"^step \d/2: loss (\S+)$")
    want2, _ = sgd_reference(x, y, [np.arange(8)] * 2, w_want)
    check("--weights of a trained model", rc == 0 and np.allclose(got, want2, rtol=1e-5), out + err)
    # One step without --steps: no step line, and the outputs printed as for any graph.
    rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "fit", "--in", f"x={tmp}/x8.npy", "--in", f"y={tmp}/y8.npy")
    check("one training step", rc == 0 and "step" not in out and out.startswith("loss: f32[]"), out + err)
    # A graph without updates repeats its inference: the same values every step.
    rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "eval", "--in", f"x={tmp}/x8.npy", "--in", f"y={tmp}/y8.npy",
                       "--steps", "3")
    got = step_values(out, r"^step \d/3: loss (\S+)$")
    check("--steps on a graph without updates", rc == 0 and len(got) == 3 and len(set(got)) == 1 and
          np.isclose(got[0], want[0], rtol=1e-5), out + err)
    write_safetensors(f"{tmp}/state.safetensors", {"w": np.zeros((4, 1), np.float32),
                                                   "fit.w.momentum_buffer": np.zeros((4, 1), np.float32)})
    expect_error("--weights with optimizer state", ["run", f"{tmp}/fit.tg", "--graph", "fit", "--random-inputs",
                                                    "--weights", f"{tmp}/state.safetensors"],
                 "state.safetensors", "'fit.w.momentum_buffer' is optimizer state")


def test_training_epochs(tmp):
    """--epochs over 50 rows in batches of 8: 6 steps an epoch (2 rows dropped), the mean loss of
    each epoch and the trained weights as NumPy's SGD gives them; --shuffle orders the rows by
    --seed; an inference graph's epoch is the data set's mean loss."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = (x @ np.array([[0.5], [1.0], [-1.5], [2.0]])).astype(np.float32)
    np.save(f"{tmp}/x50.npy", x)
    np.save(f"{tmp}/y50.npy", y.astype(np.float32))
    batches = [np.arange(s * 8, s * 8 + 8) for s in range(6)]
    losses, w_want = sgd_reference(x, y, batches * 3)
    want = losses.reshape(3, 6).mean(axis=1)
    data = ["--in", f"x={tmp}/x50.npy", "--in", f"y={tmp}/y50.npy"]
    for backend in ["cpu", "interp"]:
        rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "fit", *data, "--epochs", "3", "--backend", backend,
                           "--save-weights", f"{tmp}/we_{backend}.safetensors")
        lines = re.findall(r"^epoch (\d)/3: loss (\S+) \(6 steps, [\d.]+ s\)$", out, re.M)
        got = np.array([float(v) for _, v in lines])
        check(f"--epochs 3 ({backend})", rc == 0 and len(lines) == 3 and err == "" and
              np.allclose(got, want, rtol=1e-5), f"{out}{err}\nwant {want}")
        w = read_safetensors(f"{tmp}/we_{backend}.safetensors") if rc == 0 else {}
        check(f"--epochs 3 ({backend}): trained w", "w" in w and np.allclose(w["w"], w_want, rtol=1e-5, atol=1e-6))
    runs = []
    for seed in ["1", "1", "2"]:
        rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "fit", *data, "--epochs", "2", "--shuffle", "--seed", seed)
        runs.append(re.findall(r"^epoch \d/2: loss (\S+)", out, re.M) if rc == 0 else err)
    check("--shuffle: the same seed, the same order", len(runs[0]) == 2 and runs[0] == runs[1], str(runs))
    check("--shuffle: another seed, another order", runs[0] != runs[2] and float(runs[0][0]) != want[0], str(runs))
    # An inference graph over the data set: the mean loss of its 6 batches (at w = 0, mean(y^2)).
    rc, out, err = tfc("run", f"{tmp}/fit.tg", "--graph", "eval", *data, "--epochs", "1")
    m = re.search(r"^epoch 1/1: loss (\S+) \(6 steps", out, re.M)
    check("--epochs on an inference graph", rc == 0 and m and np.isclose(float(m.group(1)),
                                                                          np.mean(y[:48].astype(np.float64) ** 2),
                                                                          rtol=1e-5), out + err)


def test_training_progress(tmp):
    """The progress bar is drawn on stderr when it is a terminal, and only then."""
    import pty
    import subprocess
    master, slave = pty.openpty()
    p = subprocess.run([sys.argv[1], "run", f"{tmp}/fit.tg", "--graph", "fit", "--in", f"x={tmp}/x50.npy", "--in",
                        f"y={tmp}/y50.npy", "--epochs", "2"], stdout=subprocess.PIPE, stderr=slave, timeout=600)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    text = shown.decode(errors="replace")
    check("progress bar on a terminal", p.returncode == 0 and "epoch 2/2 [" in text and "6/6" in text and
          "\x1b[K" in text and "epoch 1/2:" in p.stdout.decode(), repr(text))


def test_training_errors(tmp):
    fit = f"{tmp}/fit.tg"
    np.save(f"{tmp}/y49.npy", np.zeros((49, 1), np.float32))
    np.save(f"{tmp}/x5.npy", np.zeros((5, 4), np.float32))
    np.save(f"{tmp}/y5.npy", np.zeros((5, 1), np.float32))
    np.save(f"{tmp}/x50_3.npy", np.zeros((50, 3), np.float32))
    data = ["--in", f"x={tmp}/x50.npy", "--in", f"y={tmp}/y50.npy"]
    base = ["run", fit, "--graph", "fit"]
    expect_error("--steps 0", base + ["--random-inputs", "--steps", "0"], "--steps expects a positive integer")
    expect_error("--epochs 0", base + data + ["--epochs", "0"], "--epochs expects a positive integer")
    expect_error("--steps with --epochs", base + data + ["--steps", "2", "--epochs", "2"],
                 "--steps and --epochs exclude each other")
    expect_error("--bench with --steps", base + ["--random-inputs", "--bench", "2", "--steps", "2"],
                 "--bench does not combine with --steps")
    expect_error("--bench with --epochs", base + data + ["--bench", "2", "--epochs", "2"],
                 "--bench does not combine with --epochs")
    expect_error("--shuffle without --epochs", base + ["--random-inputs", "--shuffle"], "--shuffle needs --epochs")
    expect_error("--epochs: fewer rows than the batch", base + ["--in", f"x={tmp}/x5.npy", "--in", f"y={tmp}/y5.npy",
                                                                "--epochs", "1"],
                 "x5.npy: 5 rows for input 'x', fewer than the graph's batch of 8")
    expect_error("--epochs: mismatched rows", base + ["--in", f"x={tmp}/x50.npy", "--in", f"y={tmp}/y49.npy",
                                                      "--epochs", "1"],
                 "y49.npy: 49 rows for input 'y', but", "x50.npy has 50 for input 'x'")
    expect_error("--epochs: wrong row type", base + ["--in", f"x={tmp}/x50_3.npy", "--in", f"y={tmp}/y50.npy",
                                                     "--epochs", "1"], "x50_3.npy: expected f32[*,4]", "f32[50,3]")
    expect_error("--epochs: an input without a file", base + ["--in", f"x={tmp}/x50.npy", "--random-inputs",
                                                              "--epochs", "1"], "input 'y'", "has no --in file")
    expect_error("a data set without --epochs", base + data, "expected f32[8,4]", "found f32[50,4]", "--epochs")
    expect_error("--out of a parameter update", base + ["--random-inputs", "--out", f"w={tmp}/w.npy"],
                 "graph 'fit' has no output named 'w'")
    # A batch axis of 0 rows once divided the row count by zero (a crash, not a message).
    with open(f"{tmp}/empty.tg", "w") as f:
        f.write("graph g(x : f32[0, 4]) -> (y) {\n  y = sum(x)\n}\n")
    expect_error("--epochs: a batch of 0 rows", ["run", f"{tmp}/empty.tg", "--in", f"x={tmp}/x5.npy", "--epochs", "1"],
                 "graph 'g' takes 0 rows of 'x' per step")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_cpu_backend(tmp)
        test_help_and_version()
        test_mlp_against_numpy(tmp)
        test_tgir_equivalence(tmp)
        test_defines_and_summary()
        test_input_errors(tmp)
        test_labels_i64(tmp)
        test_weight_errors(tmp)
        test_training_steps(tmp)
        test_training_epochs(tmp)
        test_training_progress(tmp)
        test_training_errors(tmp)
    sys.exit(finish())


if __name__ == "__main__":
    main()
