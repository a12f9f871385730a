# tests/optimizer.cmake — the optimizer pass and the pipelines that run it first: the unit test
# (trained parameters, state, updates, errors, the update formulas run against PyTorch's rules).
# The golden test tests/passes/optimizer.tgir is registered by tests/passes.cmake.
tfc_unit_test(optimizer tfc_frontend tfc_passes tfc_ir)
