#!/bin/sh
# check.sh TFC FILECHECK FILE — runs one golden test of the Graph IR text form (tests/ir.cmake):
#   NAME.tgir      `tfc opt FILE --passes=` (no pass: the text form alone) succeeds, its output
#                  matches the file's CHECK lines, and the same on that output gives it back byte
#                  for byte;
#   NAME.dot.tgir  `tfc dump FILE --format dot` succeeds and matches (and `dot` accepts it, if installed);
#   NAME.svg.tgir  `tfc dump FILE --format svg` matches (skipped, status 77, without Graphviz), and
#                  with no `dot` on PATH it exits 1 with a clear message;
#   NAME.bad.tgir  `tfc opt FILE` exits with status 1 and its stderr matches the CHECK lines;
#   NAME.kernel.tgir  `tfc dump FILE --stage kernel` (the Kernel IR after -O3) matches.
set -u
tfc=$1 filecheck=$2 file=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

case $file in
*.bad.tgir)
    "$tfc" opt "$file" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 1 ]; then
        echo "check.sh: tfc opt $file: expected exit status 1, got $rc"
        cat "$tmp/err"
        exit 1
    fi
    "$filecheck" --dump-input=fail "$file" <"$tmp/err"
    ;;
*.kernel.tgir)
    "$tfc" dump "$file" --stage kernel >"$tmp/out" || exit 1
    "$filecheck" --dump-input=fail "$file" <"$tmp/out"
    ;;
*.dot.tgir)
    "$tfc" dump "$file" --stage graph --format dot >"$tmp/out" || exit 1
    "$filecheck" --dump-input=fail "$file" <"$tmp/out" || exit 1
    if command -v dot >/dev/null 2>&1; then dot -Tsvg "$tmp/out" >/dev/null || exit 1; fi
    ;;
*.svg.tgir)
    PATH=/nonexistent "$tfc" dump "$file" --stage graph --format svg >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne 1 ] || ! grep -q "needs Graphviz's 'dot' on PATH" "$tmp/err"; then
        echo "check.sh: tfc dump $file --format svg without dot: expected status 1 and a message, got $rc:"
        cat "$tmp/err"
        exit 1
    fi
    command -v dot >/dev/null 2>&1 || { echo "check.sh: Graphviz's dot is not installed; skipping"; exit 77; }
    "$tfc" dump "$file" --stage graph --format svg >"$tmp/out" || exit 1
    "$filecheck" --dump-input=fail "$file" <"$tmp/out"
    ;;
*)
    "$tfc" opt "$file" --passes= >"$tmp/a.tgir" || exit 1
    "$filecheck" --dump-input=fail "$file" <"$tmp/a.tgir" || exit 1
    "$tfc" opt "$tmp/a.tgir" --passes= >"$tmp/b.tgir" || exit 1
    if ! cmp -s "$tmp/a.tgir" "$tmp/b.tgir"; then
        echo "check.sh: printing the printed IR of $file again changed it:"
        diff "$tmp/a.tgir" "$tmp/b.tgir"
        exit 1
    fi
    ;;
esac
