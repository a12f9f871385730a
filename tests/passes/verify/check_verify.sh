#!/bin/sh
# check_verify.sh — one verifier test on planned IR (tests/plan.cmake): `tfc opt FILE` verifies
# what it loads, so it must fail with status 1 (a user error: the file is the user's input), and its stderr must match the
# file's CHECK lines. Usage: check_verify.sh TFC FILECHECK FILE.tgir
tfc=$1 filecheck=$2 file=$3
err=$(mktemp) || exit 1
trap 'rm -f "$err"' EXIT
"$tfc" opt "$file" >/dev/null 2>"$err"
rc=$?
if [ "$rc" -ne 1 ]; then
  echo "check_verify.sh: tfc opt $file: expected exit status 1, got $rc"
  cat "$err"
  exit 1
fi
"$filecheck" --dump-input=fail --input-file="$err" "$file"
