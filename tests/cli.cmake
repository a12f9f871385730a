# End-to-end tests of the tfc command and of every example model.
add_test(NAME cli COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/cli/test_cli.py $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)
add_test(NAME examples COMMAND sh ${TFC_TEST_DIR}/cli/run_examples.sh $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)
add_test(NAME compile_cli COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/cli/test_compile_cli.py $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)
