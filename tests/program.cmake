# tests/program.cmake — the unit test of the executor (runtime/program.h): loop steps, GEMM and
# convolution against naive loops (bit-identical at 1, 2 and 3 threads), failed checks, the arena,
# the trace file and several programs on one executor. No timing assertions, so it is safe under
# TSan and on loaded machines.
tfc_unit_test(program tfc_runtime)
