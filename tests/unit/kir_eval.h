/* kir_eval.h — a small, obviously correct evaluator of Kernel IR on host memory, independent of
 * LLVM: the test oracle of the lowering (tests/unit/test_lower.c). It also checks the program
 * against the rules of codegen/codegen.h (types, loop flags, buffers in bounds). Test-only code,
 * never linked into tfc. */
#ifndef TFC_TEST_KIR_EVAL_H
#define TFC_TEST_KIR_EVAL_H

#include "codegen/codegen.h"

/* NULL when p follows the Kernel IR rules, else a description of the first violation. */
const char *kir_validate(const cg_program *p, char *buf, size_t size);

/* Runs every kernel of p in order. slots has p->n_slots entries; slots[0] (the arena) is
 * allocated by the call. Parallel loops run in several chunks and epilogues in several row
 * tiles, as the runtime would. Returns -1 when every check held, else the index of the first
 * kernel with a failed check (its message in *message). An access out of a buffer's bounds, or
 * an integer division by zero, is reported the same way with a message that says so. */
int kir_eval_program(const cg_program *p, char **slots, const char **message);

#endif
