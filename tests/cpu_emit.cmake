# tests/cpu_emit.cmake — the unit test of the CPU backend's LLVM side (codegen/cpu): hand-built
# Kernel IR compiled by the JIT and called directly against plain C (non-temporal flat loops,
# broadcasts, reductions, checks, f16/bf16, casts, integer division, a scratch-tile epilogue),
# plus the assembly it makes (vector multiply, vmovntps). A few seconds, also under ASan+UBSan.
tfc_unit_test(cpu_emit tfc_cpu tfc_codegen tfc_ir tfc_runtime)
