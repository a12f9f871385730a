# Tests of the .tg frontend: the diagnostics suite (tests/diag/*.tg, each stating the errors it
# expects, or none for a valid program), the frontend unit test, and the frontend fuzz target.
add_test(NAME diag COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/diag/run_diag.py $<TARGET_FILE:tfc> ${TFC_TEST_DIR}/diag)

add_executable(test_frontend ${TFC_TEST_DIR}/unit/test_frontend.c)
target_compile_options(test_frontend PRIVATE ${TFC_WARNINGS})
target_link_libraries(test_frontend PRIVATE tfc_frontend tfc_ir)
add_test(NAME unit.frontend COMMAND test_frontend)

if(TFC_FUZZ)
  # Coverage feedback needs the code under test instrumented, not only the harness.
  target_compile_options(tfc_frontend PRIVATE -fsanitize=fuzzer-no-link)
  add_executable(fuzz_frontend ${TFC_TEST_DIR}/fuzz/fuzz_frontend.c)
  target_compile_options(fuzz_frontend PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_frontend PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_frontend PRIVATE tfc_frontend tfc_ir)
  # New inputs go to the build tree's folder (listed first); the seeds in the source tree stay as they are.
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus_frontend)
  add_test(NAME fuzz.frontend
           COMMAND fuzz_frontend -max_total_time=60 -max_len=4096
                   ${CMAKE_CURRENT_BINARY_DIR}/corpus_frontend ${TFC_TEST_DIR}/fuzz/corpus_frontend)
endif()
