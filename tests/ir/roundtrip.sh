#!/bin/sh
# roundtrip.sh TFC EXAMPLES_DIR — the text form of every graph of every example model parses back
# to itself at every dump stage (graph: as lowered; fused: with kernel blocks; plan: with memory
# placements too; training graphs: the minimize line at stage graph, then optimizer state and
# parameter updates): `tfc dump --stage S --graph G` gives a, `tfc opt a --passes=` (no pass) gives
# b, the same on b gives c, and a, b, c are the same bytes. Each DOT form must also print (and pass
# `dot`, if installed).
set -u
tfc=$1 dir=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0 checked=0

# The graph names of a .tg file.
graphs_of() { sed -n 's/^[[:space:]]*graph[[:space:]]\{1,\}\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$1"; }

fail() {
    echo "roundtrip.sh: $1"
    status=1
}

# One graph at one stage: dump, reprint twice, compare; then its DOT form.
check_stage() {
    model=$1 g=$2 stage=$3 what="$(basename "$1") graph $2 at stage $3"
    if ! "$tfc" dump "$model" --stage "$stage" --graph "$g" >"$tmp/a.tgir" 2>"$tmp/err"; then
        fail "tfc dump failed on $what:"
        cat "$tmp/err"
        return
    fi
    "$tfc" opt "$tmp/a.tgir" --passes= >"$tmp/b.tgir" 2>"$tmp/err" || { fail "tfc opt failed on the dump of $what:"; cat "$tmp/err"; return; }
    "$tfc" opt "$tmp/b.tgir" --passes= >"$tmp/c.tgir" 2>"$tmp/err" || { fail "tfc opt failed on the reprint of $what:"; cat "$tmp/err"; return; }
    cmp -s "$tmp/a.tgir" "$tmp/b.tgir" || { fail "$what: tfc opt changed the dump:"; diff "$tmp/a.tgir" "$tmp/b.tgir" | head -20; }
    cmp -s "$tmp/b.tgir" "$tmp/c.tgir" || { fail "$what: printing is not stable:"; diff "$tmp/b.tgir" "$tmp/c.tgir" | head -20; }
    if "$tfc" dump "$model" --stage "$stage" --graph "$g" --format dot >"$tmp/g.dot" 2>"$tmp/err"; then
        if command -v dot >/dev/null 2>&1; then dot -Tsvg "$tmp/g.dot" >/dev/null || fail "$what: dot rejects the DOT form"; fi
    else
        fail "tfc dump --format dot failed on $what:"
        cat "$tmp/err"
    fi
    checked=$((checked + 1))
}

for model in "$dir"/*.tg; do
    for g in $(graphs_of "$model"); do
        for stage in graph fused plan; do check_stage "$model" "$g" "$stage"; done
    done
done
[ "$checked" -gt 0 ] || fail "no graph of $dir/*.tg could be checked"
exit $status
