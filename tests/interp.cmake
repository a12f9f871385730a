# Unit tests of the reference interpreter (ir/interp.c, ir/kernels_*.c) and of the parameter
# initializers (ir/init.c): hand-built graphs checked against hand-computed values.
tfc_unit_test(interp tfc_ir)
tfc_unit_test(init tfc_ir)
