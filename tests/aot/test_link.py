#!/usr/bin/env python3
"""test_link.py — the tests of how a generated library links, each on the MLP's inference graph:
  cxx         aot.cxx: cxx_api.cpp includes mlp.h from C++11 (-Wall -Wextra -Werror -pedantic) and runs.
  two_models  aot.two_models: two libraries of the same model (prefixes a, b; other seeds) in one
              program (two_models.c), alone and at once.
  dlopen      aot.dlopen: the --shared library exports only mlp_* (nm -D), the archive defines only
              mlp_* and hidden tfcrt_* (readelf -s) and leaves no tfc, LLVM or JSON symbol undefined
              (nm), dlopen_mlp.c loads it with dlopen; a program linked with -lmlp needs nothing of tfc or LLVM (readelf, ldd).
Every program's outputs are compared with `tfc run --backend cpu` on the same input and seed.

Usage: test_link.py TEST TFC CC CXX EXAMPLES_DIR   (exit 77: no C++ compiler for cxx)
"""
import os
import re
import shutil
import sys

import numpy as np

from aot_common import HERE, Failure, Tally, build_c, compare, harness, mlp_probs, pkg_flags, run, scratch_folder, \
    tfc_compile, tfc_run, write_bin

SEED, OTHER_SEED = "7", "8"
# Symbols a linker itself may define in a shared object, which are not the library's to export.
LINKER_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}
# Undefined symbols that would mean the library still needs tfc, LLVM or a JSON library.
FOREIGN = re.compile(r"^(LLVM|llvm|cJSON|json_|rt_|ir_|cg_|fe_|pass_|tfc_|aot_|cli_)")


def mlp_reference(tfc, examples, folder, x, seed):
    return tfc_run(tfc, os.path.join(examples, "mlp.tg"), "infer", {"x": x}, ["probs"], folder, ["--seed", seed])


def test_cxx(tfc, cc, cxx, examples, folder, x):
    lib = os.path.join(folder, "lib")
    tfc_compile(tfc, os.path.join(examples, "mlp.tg"), "mlp", lib, ["--graph", "infer", "--seed", SEED])
    exe = os.path.join(folder, "cxx_api")
    build_c(cxx, [os.path.join(HERE, "cxx_api.cpp")], exe, ["-pedantic"] + pkg_flags(lib, "mlp"), std="-std=c++11")
    print(run([exe, folder]).stdout, end="")
    return compare(mlp_reference(tfc, examples, folder, x, SEED), mlp_probs(folder), "C++ program")


def test_two_models(tfc, cc, cxx, examples, folder, x):
    model, libs = os.path.join(examples, "mlp.tg"), []
    for prefix, seed in (("a", SEED), ("b", OTHER_SEED)):
        libs.append(os.path.join(folder, prefix))
        tfc_compile(tfc, model, prefix, libs[-1], ["--graph", "infer", "--seed", seed])
    exe = build_c(cc, [os.path.join(HERE, "two_models.c")], os.path.join(folder, "two_models"),
                  pkg_flags(libs, ["a", "b"]) + ["-lpthread"])
    print(run([exe, folder]).stdout, end="")
    notes = []
    for prefix, seed in (("a", SEED), ("b", OTHER_SEED)):
        ref = mlp_reference(tfc, examples, folder, x, seed)
        notes.append("%s: %s" % (prefix, compare(ref, mlp_probs(folder, prefix), "library " + prefix)))
    return "; ".join(notes)


def defined_symbols(cmd):
    """Names from `nm ... --defined-only` (archive member headers and blank lines skipped)."""
    names = []
    for line in run(cmd).stdout.splitlines():
        f = line.split()
        if len(f) >= 3 and len(f[-2]) == 1:
            names.append(f[-1])
    return names


def check_symbols(lib):
    so, archive = os.path.join(lib, "libmlp.so"), os.path.join(lib, "libmlp.a")
    exported = [s for s in defined_symbols(["nm", "-D", "--defined-only", so]) if s not in LINKER_SYMBOLS]
    foreign = [s for s in exported if not s.startswith("mlp_")]
    if foreign or not exported:
        raise Failure("libmlp.so exports %s besides mlp_*" % foreign[:20] if foreign else "libmlp.so exports nothing")
    # The archive's global definitions: mlp_* (default visibility) and the runtime member's
    # versioned tfcrt_* entry points, which must be hidden so that no library exports them.
    defined = []
    for line in run(["readelf", "-sW", archive]).stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].endswith(":") and f[4] in ("GLOBAL", "WEAK") and f[6] != "UND":
            defined.append((f[7], f[5]))
    foreign = [name for name, vis in defined
               if not (name.startswith("mlp_") and vis == "DEFAULT" or name.startswith("tfcrt_") and vis == "HIDDEN")]
    if foreign or not any(name.startswith("mlp_") for name, _ in defined):
        raise Failure("libmlp.a defines %s besides mlp_* and hidden tfcrt_*" % foreign[:20] if foreign
                      else "libmlp.a defines no mlp_*")
    undefined = [line.split()[-1] for line in run(["nm", "-u", archive]).stdout.splitlines() if line.strip()
                 and not line.endswith(":")]
    foreign = [s for s in undefined if FOREIGN.match(s)]
    if foreign:
        raise Failure("libmlp.a leaves tfc's, LLVM's or a JSON library's symbols undefined: %s" % foreign[:20])
    dynamic = run(["readelf", "-d", so]).stdout
    soname = re.search(r"\(SONAME\).*\[(.*)\]", dynamic)
    if not soname or soname.group(1) != "libmlp.so":
        raise Failure("libmlp.so has soname %s, expected libmlp.so" % (soname.group(1) if soname else "none"))
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", dynamic)
    bad = [n for n in needed if re.search(r"LLVM|cjson|tfc", n, re.I)]
    if bad:
        raise Failure("libmlp.so needs %s" % bad)
    return "%d exported symbols, all mlp_*; needs %s" % (len(exported), ", ".join(needed))


def check_linked(cc, lib, folder, tfc, examples, x):
    """A program linked with -lmlp (the .so): ldd shows libmlp.so from the library's folder and
    nothing of LLVM, cJSON or tfc; it runs."""
    flags = ["-L" + lib, "-lmlp", "-Wl,-rpath," + lib] + pkg_flags(lib, "mlp")
    exe = harness(cc, lib, "mlp", os.path.join(folder, "harness_so"), link=flags)
    ldd = run(["ldd", exe]).stdout
    mine = [line for line in ldd.splitlines() if "libmlp.so" in line]
    if len(mine) != 1 or os.path.realpath(lib) not in os.path.realpath(mine[0].split("=>")[-1].split()[0]):
        raise Failure("ldd does not show libmlp.so from %s:\n%s" % (lib, ldd))
    bad = [line.strip() for line in ldd.splitlines() if re.search(r"LLVM|cjson|tfc", line, re.I)
           and "libmlp.so" not in line]
    if bad:
        raise Failure("the program needs %s" % bad)
    run([exe, "infer", folder, "--threads", "2"])
    return compare(mlp_reference(tfc, examples, folder, x, SEED), mlp_probs(folder), "program linked with -lmlp")


def check_dlopen(cc, lib, folder, tfc, examples, x):
    exe = build_c(cc, [os.path.join(HERE, "dlopen_mlp.c")], os.path.join(folder, "dlopen_mlp"), ["-I" + lib, "-ldl"])
    print(run([exe, os.path.join(lib, "libmlp.so"), folder]).stdout, end="")
    return compare(mlp_reference(tfc, examples, folder, x, SEED), mlp_probs(folder), "dlopen'd library")


def test_dlopen(tfc, cc, cxx, examples, folder, x, tally):
    lib = os.path.join(folder, "lib")
    tfc_compile(tfc, os.path.join(examples, "mlp.tg"), "mlp", lib, ["--graph", "infer", "--seed", SEED, "--shared"])
    tally.check("symbols of libmlp.so and libmlp.a", check_symbols, lib)
    tally.check("dlopen", check_dlopen, cc, lib, folder, tfc, examples, x)
    tally.check("a program linked with -lmlp (ldd)", check_linked, cc, lib, folder, tfc, examples, x)


TESTS = {"cxx": test_cxx, "two_models": test_two_models, "dlopen": test_dlopen}


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in TESTS:
        print(__doc__)
        return 2
    test, tfc, cc, cxx, examples = sys.argv[1:]
    if test == "cxx" and not shutil.which(cxx):
        print("no C++ compiler (%s): skipped" % cxx)
        return 77
    tally = Tally()
    with scratch_folder("tfc-aot-%s-" % test, tally, test) as folder:
        x = np.random.default_rng(11).uniform(-1, 1, size=(64, 784)).astype(np.float32)
        write_bin(folder, "x", x)
        if test == "dlopen":
            test_dlopen(tfc, cc, cxx, examples, folder, x, tally)
        else:
            tally.check(test, TESTS[test], tfc, cc, cxx, examples, folder, x)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
