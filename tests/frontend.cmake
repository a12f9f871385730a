# Tests of the .tg frontend: the diagnostics suite (tests/diag/*.tg, each stating the errors it
# expects, or none for a valid program), the frontend unit test, and the frontend fuzz target.
add_test(NAME diag COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/diag/run_diag.py $<TARGET_FILE:tfc> ${TFC_TEST_DIR}/diag)

tfc_unit_test(frontend tfc_frontend tfc_ir)

if(TFC_FUZZ)
  tfc_fuzz_test(frontend 60 tfc_frontend tfc_ir)
endif()
