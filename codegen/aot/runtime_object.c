/* runtime_object.c — the runtime's precompiled object (runtime.o, made at build time from the
 * runtime's bitcode by runtime_object/main.c, see there) embedded in tfc, so that `tfc compile`
 * puts it into each libPREFIX.a (member AOT_RUNTIME_MEMBER) and links it into each libPREFIX.so
 * without any file beside the tfc binary and without generating its code again. */
#include "codegen/aot/object.h"

#ifndef TFC_RUNTIME_OBJECT
#error "TFC_RUNTIME_OBJECT must name runtime.o (codegen/aot/aot.cmake defines it)"
#endif

/* .incbin puts the file's bytes between two symbols. */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".type tfc_aot_runtime_o_start, @object\n"
        "tfc_aot_runtime_o_start:\n"
        ".incbin \"" TFC_RUNTIME_OBJECT "\"\n"
        ".type tfc_aot_runtime_o_end, @object\n"
        "tfc_aot_runtime_o_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char tfc_aot_runtime_o_start[], tfc_aot_runtime_o_end[];

const void *aot_runtime_object(size_t *len) {
    *len = (size_t)(tfc_aot_runtime_o_end - tfc_aot_runtime_o_start);
    return tfc_aot_runtime_o_start;
}
