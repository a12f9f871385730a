#!/bin/sh
# run_examples.sh — every example checks and every graph (training steps included) runs with the
# interpreter, from the .tg source and from its dumped .tgir, with bit-identical outputs.
# Usage: run_examples.sh TFC EXAMPLES_DIR
tfc=$1
dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

for model in "$dir"/*.tg; do
  name=$(basename "$model" .tg)
  if "$tfc" check "$model"; then passed=$((passed + 1))
  else fail "$name: check"; fi

  for graph in $(sed -n 's/^graph \([A-Za-z_0-9]*\).*/\1/p' "$model"); do
    outs=$("$tfc" dump "$model" --graph "$graph" --stage graph | sed -n 's/^graph @[A-Za-z_0-9]*([^)]*) -> (\([^)]*\)).*/\1/p' | tr -d ' ' | tr ',' ' ')
    set --
    for o in $outs; do set -- "$@" --out "$o=$tmp/$name.$graph.$o.tg.npy"; done
    if ! "$tfc" run "$model" --graph "$graph" --random-inputs --seed 3 "$@"; then fail "$name/$graph: run"; continue; fi
    "$tfc" dump "$model" --graph "$graph" --stage graph > "$tmp/$name.tgir" || { fail "$name/$graph: dump"; continue; }
    set --
    for o in $outs; do set -- "$@" --out "$o=$tmp/$name.$graph.$o.tgir.npy"; done
    if ! "$tfc" run "$tmp/$name.tgir" --graph "$graph" --random-inputs --seed 3 "$@"; then fail "$name/$graph: run tgir"; continue; fi
    same=1
    for o in $outs; do cmp -s "$tmp/$name.$graph.$o.tg.npy" "$tmp/$name.$graph.$o.tgir.npy" || same=0; done
    if [ -n "$outs" ] && [ $same = 1 ]; then passed=$((passed + 1)); else fail "$name/$graph: .tg and .tgir outputs differ"; fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
