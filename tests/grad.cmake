# tests/grad.cmake — the gradients (ir/grad_rules_*.c, passes/autodiff.c, grad in the frontend):
# central differences for every differentiable op in the interpreter, the same graphs on the
# CPU backend and in f16/bf16, the documented choices at non-smooth points, autodiff's errors.
tfc_unit_test(grad tfc_frontend tfc_passes tfc_cpu tfc_codegen tfc_ir tfc_runtime)
