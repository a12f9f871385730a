# tests/sgemm.cmake — the unit test of the runtime's own AVX-512 sgemm (runtime/sgemm_avx512.h):
# many shapes, all four transpositions and padded leading dimensions, each entry point (unpacked,
# B packed in advance, B read in place) against a double-precision reference and bit for bit
# against each other, the shapes the unpacked call refuses (C untouched), and results that do not
# depend on how C is split. Exits 77 (skipped) on CPUs without AVX-512 or with TFC_SGEMM=blas.
# No timing assertions.
tfc_unit_test(sgemm tfc_runtime)
set_tests_properties(unit.sgemm PROPERTIES SKIP_RETURN_CODE 77)
