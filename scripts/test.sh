#!/usr/bin/env bash
# test.sh — the README's second command: the whole test suite through ctest, twice: a gcc build
# with -Werror, then a clang build with AddressSanitizer + UndefinedBehaviorSanitizer that also
# runs the libFuzzer targets for a bounded time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh

cmake -S . -B build -G Ninja -DTFC_WERROR=ON -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j2

cmake -S . -B build-sanitize -G Ninja -DTFC_WERROR=ON -DTFC_SANITIZE=ON -DTFC_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure -j2
