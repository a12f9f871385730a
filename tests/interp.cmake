# Unit tests of the reference interpreter (ir/interp.c, ir/kernels_*.c) and of the parameter
# initializers (ir/init.c): hand-built graphs checked against hand-computed values.
foreach(test interp init)
  add_executable(test_${test} ${TFC_TEST_DIR}/unit/test_${test}.c)
  target_compile_options(test_${test} PRIVATE ${TFC_WARNINGS})
  target_link_libraries(test_${test} PRIVATE tfc_ir)
  add_test(NAME unit.${test} COMMAND test_${test})
endforeach()
