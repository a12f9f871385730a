"""plan_check.py — an independent check of a memory plan, read from the printed IR (the
interpreter ignores offsets, so comparing outputs cannot find a plan that overlaps two live
values). Used by random_graphs.py on the IR that `--dump-after plan` writes.

The rules are docs/passes.md (plan)'s: kernels run in the order printed (a fusion group, or a
lone node other than input, param, constant and reshape); a value lives from the kernel that
writes it to the last kernel that reads it, through @alias views, and to the end when an output
is a view of it. Two @arena values whose bytes overlap must not be live at once, except a
result written in place over an operand of the same size that dies in that kernel, when the
kernel is a loop group or a lone elementwise op. Offsets are 64-byte aligned.
"""
import os
import re

DTYPE_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "i32": 4, "i64": 8, "bool": 1}
NODE = re.compile(r"^\s*%(\d+) = (\w+)\(([^)]*)\)")
TYPE = re.compile(r" : (\w+)\[([\d,]*)\](?: @(\S+))?\s+loc\(")
KERNEL = re.compile(r"^\s*kernel @(\S+) \((\w+)\) \{")
RETURN = re.compile(r"^\s*return (.*)$")
FREE = {"input", "param", "constant", "reshape"}


def elementwise_ops():
    """The ops flagged IR_ELEMENTWISE in ir/ops.def."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ir", "ops.def")
    with open(path) as f:
        rows = re.findall(r'^OP\(\s*\w+\s*,\s*"(\w+)"\s*,[^,]*,[^,]*,([^,]*),', f.read(), re.M)
    return {name for name, flags in rows if "IR_ELEMENTWISE" in flags}


class Value:
    def __init__(self, nid, op, operands, nbytes, place, kernel):
        self.id, self.op, self.operands, self.nbytes, self.place = nid, op, operands, nbytes, place
        self.kernel = kernel      # index of the kernel that computes it, None for a free node
        self.last = kernel        # last kernel that reads its buffer


def parse(text):
    """(values by id, kinds of the kernels in order, output node ids)."""
    values, kinds, outputs = {}, [], []
    in_group = False
    for line in text.splitlines():
        m = KERNEL.match(line)
        if m:
            kinds.append(m.group(2))
            in_group = True
            continue
        if in_group and line.strip() == "}":
            in_group = False
            continue
        m = RETURN.match(line)
        if m:
            outputs = [int(x) for x in re.findall(r"%(\d+)", m.group(1))]
            continue
        m, t = NODE.match(line), TYPE.search(line)
        if not m or not t:
            continue
        nid, op = int(m.group(1)), m.group(2)
        operands = [int(x) for x in re.findall(r"%(\d+)", m.group(3))]
        elems = 1
        for d in filter(None, t.group(2).split(",")):
            elems *= int(d)
        kernel = len(kinds) - 1 if in_group else None
        if not in_group and op not in FREE:
            kinds.append("single:" + op)
            kernel = len(kinds) - 1
        values[nid] = Value(nid, op, operands, elems * DTYPE_BYTES[t.group(1)], t.group(3), kernel)
    return values, kinds, outputs


def buffer_of(values, nid):
    """The value whose buffer nid reads: through views (reshapes outside groups) to their operand."""
    v = values[nid]
    while v.op == "reshape" and v.kernel is None and v.operands:
        v = values[v.operands[0]]
    return v


def check_plan(text, elementwise):
    """A list of problems with the plan printed in text (empty when it is sound)."""
    values, kinds, outputs = parse(text)
    problems = []
    for v in values.values():
        if v.kernel is None:
            continue
        for o in v.operands:
            b = buffer_of(values, o)
            if b.kernel is not None and b.kernel < v.kernel:
                b.last = max(b.last, v.kernel)
    for o in outputs:
        b = buffer_of(values, o)
        if b.kernel is not None and b is not values[o]:   # read through an output view
            b.last = len(kinds)
    arena = []
    for v in values.values():
        if v.place and v.place.startswith("arena+"):
            v.offset = int(v.place[6:])
            if v.offset % 64:
                problems.append("%%%d at offset %d is not 64-byte aligned" % (v.id, v.offset))
            if v.kernel is None:
                problems.append("%%%d is in the arena but no kernel computes it" % v.id)
            else:
                arena.append(v)
    for i, a in enumerate(arena):
        for b in arena[i + 1:]:
            if a.offset >= b.offset + b.nbytes or b.offset >= a.offset + a.nbytes:
                continue
            if a.last < b.kernel or b.last < a.kernel:
                continue
            first, second = (a, b) if a.kernel < b.kernel else (b, a)
            kind = kinds[second.kernel]
            in_place_kernel = kind == "loop" or kind.startswith("single:") and kind[7:] in elementwise
            if (first.last == second.kernel and first.kernel < second.kernel and first.nbytes == second.nbytes
                    and first.offset == second.offset and in_place_kernel):
                continue
            problems.append("%%%d (bytes %d..%d, kernels %d..%d) and %%%d (bytes %d..%d, kernels %d..%d) overlap"
                            % (a.id, a.offset, a.offset + a.nbytes, a.kernel, a.last,
                               b.id, b.offset, b.offset + b.nbytes, b.kernel, b.last))
    return problems
