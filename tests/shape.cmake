# Unit tests of shape and dtype inference (test_shape), and of the cost model and the verifier
# (test_verify); both share tests/unit/shape_fixture.h.
foreach(name shape verify)
  add_executable(test_${name} ${TFC_TEST_DIR}/unit/test_${name}.c)
  target_compile_options(test_${name} PRIVATE ${TFC_WARNINGS})
  target_link_libraries(test_${name} PRIVATE tfc_ir)
  add_test(NAME unit.${name} COMMAND test_${name})
endforeach()
