# tests/plan.cmake — the memory plan and the verifier of fused and planned IR: the unit test
# (group checks, random graphs planned and run on a simulated arena), planned IR the verifier
# must reject (tests/passes/verify/), and the JSON plan of the examples against the targets.
# The golden tests tests/passes/plan_*.tgir are registered by tests/passes.cmake.
tfc_unit_test(plan tfc_passes tfc_ir)

if(TFC_FILECHECK)
  file(GLOB TFC_VERIFY_TESTS CONFIGURE_DEPENDS ${TFC_TEST_DIR}/passes/verify/*.tgir)
  foreach(test_file ${TFC_VERIFY_TESTS})
    get_filename_component(test_name ${test_file} NAME_WE)
    add_test(NAME passes.verify.${test_name}
             COMMAND sh ${TFC_TEST_DIR}/passes/verify/check_verify.sh $<TARGET_FILE:tfc> ${TFC_FILECHECK} ${test_file})
  endforeach()
endif()

add_test(NAME passes.plan_json
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/passes/test_plan_json.py $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)
