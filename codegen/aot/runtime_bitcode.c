/* runtime_bitcode.c — the runtime's LLVM bitcode (runtime.bc, built from the runtime/ sources by
 * aot.cmake) embedded in tfc, so that `tfc compile` links the runtime into each generated
 * library without any file beside the tfc binary. */
#include "codegen/aot/object.h"

#ifndef TFC_RUNTIME_BITCODE
#error "TFC_RUNTIME_BITCODE must name runtime.bc (codegen/aot/aot.cmake defines it)"
#endif

/* .incbin puts the file's bytes between two symbols; bitcode readers want 4-byte alignment. */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".type tfc_aot_runtime_bc_start, @object\n"
        "tfc_aot_runtime_bc_start:\n"
        ".incbin \"" TFC_RUNTIME_BITCODE "\"\n"
        ".type tfc_aot_runtime_bc_end, @object\n"
        "tfc_aot_runtime_bc_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char tfc_aot_runtime_bc_start[], tfc_aot_runtime_bc_end[];

const void *aot_runtime_bitcode(size_t *len) {
    *len = (size_t)(tfc_aot_runtime_bc_end - tfc_aot_runtime_bc_start);
    return tfc_aot_runtime_bc_start;
}
