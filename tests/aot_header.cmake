# tests/aot_header.cmake — the generated header and pkg-config file (codegen/aot/header.c,
# pkgconfig.c) of every example, of a module with awkward names and of a training graph (after
# the optimizer pass), compiled as C99 and C++11 by gcc and clang with warnings as errors.
tfc_unit_test(aot_header tfc_aot tfc_passes tfc_frontend tfc_ir tfc_runtime)
target_compile_definitions(test_aot_header PRIVATE TFC_EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/examples")
