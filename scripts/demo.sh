#!/usr/bin/env bash
# demo.sh — the README's first command: installs the dependencies, builds tfc, and runs the main
# job on a bundled example (the MLP's inference graph with the reference interpreter).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
echo
echo "== tfc check examples/elementwise.tg"
./build/tfc check examples/elementwise.tg
echo "== tfc run examples/mlp.tg --graph infer (random inputs from --seed, initialized parameters)"
./build/tfc run examples/mlp.tg --graph infer --random-inputs --seed 1
