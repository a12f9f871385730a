#!/usr/bin/env bash
# setup.sh — installs everything tfc needs on a fresh Debian 12 machine, as root.
# Idempotent: packages already present are left alone; the Python venv is reused.
set -euo pipefail

PKGS=(build-essential cmake ninja-build pkg-config flex bison
      llvm-19-dev llvm-19-tools clang clang-19 libclang-rt-14-dev
      libopenblas-dev graphviz python3 python3-venv python3-pip)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# NumPy for the numerical tests, in a venv inside the build tree's parent so
# that the system Python stays untouched.
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import numpy" 2>/dev/null || "$venv/bin/pip" install -q numpy
echo "setup: dependencies ready"
