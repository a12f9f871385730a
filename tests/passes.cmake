# Golden tests of the passes: each tests/passes/*.tgir names its passes on a `# RUN-PASSES:` line
# and carries FileCheck lines; check_pass.sh runs them with --verify-each.
file(GLOB TFC_PASS_TESTS CONFIGURE_DEPENDS ${TFC_TEST_DIR}/passes/*.tgir)
foreach(test_file ${TFC_PASS_TESTS})
  get_filename_component(test_name ${test_file} NAME_WE)
  add_test(NAME passes.${test_name}
           COMMAND sh ${TFC_TEST_DIR}/passes/check_pass.sh $<TARGET_FILE:tfc> ${TFC_FILECHECK} ${test_file})
endforeach()
