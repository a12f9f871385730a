# tests/model.cmake — the unit test of the model object of generated libraries (runtime/model.h):
# hand-built descriptors with C kernels stand in for generated code; weights files go to a
# mkdtemp folder in /tmp, which it removes. No timing assertions.
tfc_unit_test(model tfc_runtime)
