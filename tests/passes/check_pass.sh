#!/bin/sh
# check_pass.sh — one golden pass test: runs the passes named on the file's `# RUN-PASSES:` line
# (and any extra flags on a `# RUN-FLAGS:` line, e.g. --explain-fusion, whose stderr is then
# checked too) on the file with the verifier after each, and FileChecks the output.
# Usage: check_pass.sh TFC FILECHECK FILE.tgir
tfc=$1
filecheck=$2
file=$3
passes=$(sed -n 's/^# RUN-PASSES: *//p' "$file" | head -n 1)
flags=$(sed -n 's/^# RUN-FLAGS: *//p' "$file" | head -n 1)
if [ -z "$passes" ]; then
  echo "$file: no '# RUN-PASSES:' line"
  exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086
if ! "$tfc" opt "$file" --passes="$passes" --verify-each $flags >"$out" 2>&1; then
  cat "$out"
  echo "$file: tfc opt failed"
  exit 1
fi
"$filecheck" --input-file="$out" "$file"
