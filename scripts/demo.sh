#!/usr/bin/env bash
# demo.sh — the README's first command: installs the dependencies, builds tfc, and runs the main
# job on a bundled example: the MLP's inference graph compiled for this CPU (LLVM JIT), its
# weights saved and reloaded, then timed; its training graph run for a few epochs over a
# synthetic data set; then the whole model compiled ahead of time into a C library, and a C
# program (examples/aot/main.c) built against it that infers, is timed, and trains.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo
echo "== tfc check examples/elementwise.tg"
./build/tfc check examples/elementwise.tg
mkdir -p build/demo
.venv/bin/python -c "import numpy as np; np.save('build/demo/x.npy', np.random.default_rng(0).standard_normal((64, 784), dtype=np.float32))"
echo "== tfc run examples/mlp.tg --graph infer --in x=build/demo/x.npy  (initialized parameters, seed 1)"
./build/tfc run examples/mlp.tg --graph infer --seed 1 --in x=build/demo/x.npy --save-weights build/demo/mlp.safetensors
./build/tfc run examples/mlp.tg --graph infer --in x=build/demo/x.npy --weights build/demo/mlp.safetensors \
    --out probs=build/demo/probs.npy
.venv/bin/python -c "import numpy as np; p = np.load('build/demo/probs.npy'); print('predicted classes of the first 16 rows:', p.argmax(-1)[:16])"
echo "== the same graph with the reference interpreter gives the same classes"
./build/tfc run examples/mlp.tg --graph infer --in x=build/demo/x.npy --weights build/demo/mlp.safetensors \
    --backend interp --out probs=build/demo/probs_interp.npy
.venv/bin/python -c "import numpy as np; a, b = np.load('build/demo/probs.npy'), np.load('build/demo/probs_interp.npy'); print('same classes:', bool((a.argmax(-1) == b.argmax(-1)).all()), ' max difference: %.2g' % abs(a - b).max())"
echo "== timed: 50 runs of the compiled graph"
./build/tfc run examples/mlp.tg --graph infer --in x=build/demo/x.npy --weights build/demo/mlp.safetensors --bench 50 \
    --out probs=build/demo/probs.npy
echo
echo "== tfc run examples/mlp.tg --graph train --epochs 3 --shuffle  (2048 synthetic examples, minibatches of 64)"
.venv/bin/python -c "import numpy as np; r = np.random.default_rng(1); x = r.standard_normal((2048, 784), dtype=np.float32)
np.save('build/demo/data_x.npy', x); np.save('build/demo/data_y.npy', (x @ r.standard_normal((784, 10))).argmax(-1))"
./build/tfc run examples/mlp.tg --graph train --in x=build/demo/data_x.npy --in y=build/demo/data_y.npy \
    --epochs 3 --shuffle --weights build/demo/mlp.safetensors --save-weights build/demo/trained.safetensors --out loss=build/demo/loss.npy
.venv/bin/python -c "import numpy as np; np.save('build/demo/data_x64.npy', np.load('build/demo/data_x.npy')[:64])"
./build/tfc run examples/mlp.tg --graph infer --in x=build/demo/data_x64.npy --weights build/demo/trained.safetensors \
    --out probs=build/demo/probs_trained.npy
.venv/bin/python -c "import numpy as np; p, y = np.load('build/demo/probs_trained.npy'), np.load('build/demo/data_y.npy')[:64]
print('trained model: %d of the first 64 examples classified right' % (p.argmax(-1) == y).sum())"
echo
echo "== tfc compile examples/mlp.tg --name mlp -o build/demo/aot  (a C library of both graphs: mlp.h, libmlp.a, mlp.pc)"
./build/tfc compile examples/mlp.tg --name mlp -o build/demo/aot --weights build/demo/mlp.safetensors
echo "== cc examples/aot/main.c \$(pkg-config --cflags --libs mlp)  (needs neither tfc nor LLVM)"
cc -std=c99 -O2 -o build/demo/mlp_demo examples/aot/main.c $(PKG_CONFIG_PATH=build/demo/aot pkg-config --cflags --libs mlp)
./build/demo/mlp_demo 0 100 build/demo/aot_trained.safetensors
echo "== tfc run on the same inputs (--random-inputs) and weights predicts the same classes"
./build/tfc run examples/mlp.tg --graph infer --random-inputs --weights build/demo/mlp.safetensors \
    --out probs=build/demo/probs_random.npy
.venv/bin/python -c "import numpy as np; p = np.load('build/demo/probs_random.npy')
print('predicted classes of the first 16 rows:', *p.argmax(-1)[:16])"
