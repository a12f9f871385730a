# tests/lower.cmake — the lowering to Kernel IR (codegen/lower*.c): every op family and every
# example model lowered at -O0, -O1 and -O3 and run by the test-only Kernel IR evaluator
# (tests/unit/kir_eval.c) against the reference interpreter, plus the structure of the kernels.
tfc_unit_test(lower tfc_frontend tfc_passes tfc_codegen tfc_ir tfc_runtime)
target_sources(test_lower PRIVATE ${TFC_TEST_DIR}/unit/kir_eval.c)
target_compile_definitions(test_lower PRIVATE TFC_EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/examples")
