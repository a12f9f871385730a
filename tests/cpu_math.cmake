# tests/cpu_math.cmake — accuracy of the CPU backend's transcendental functions (codegen/cpu/math.c)
# against double-precision libm, through a harness that JIT-compiles one vectorized loop per
# function. `test_cpu_math --exhaustive` (not run by ctest) measures all 2^32 inputs for
# docs/math-accuracy.md.
tfc_unit_test(cpu_math tfc_cpu tfc_codegen tfc_ir tfc_runtime)
target_sources(test_cpu_math PRIVATE ${TFC_TEST_DIR}/unit/math_harness.c)
