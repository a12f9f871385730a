# Fuzz targets of the tensor-file parsers (the frontend's and the IR text's register with their
# own tests). Built only with -DTFC_FUZZ=ON (clang); each runs for a bounded time in CI.
if(TFC_FUZZ)
  foreach(target npy safetensors)
    add_executable(fuzz_${target} ${TFC_TEST_DIR}/fuzz/fuzz_${target}.c)
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${target} PRIVATE tfc_runtime)
    # New inputs go to the build tree's folder (listed first); the seeds in the source tree stay as they are.
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus_${target})
    add_test(NAME fuzz.${target}
             COMMAND fuzz_${target} -max_total_time=20 -max_len=4096
                     ${CMAKE_CURRENT_BINARY_DIR}/corpus_${target} ${TFC_TEST_DIR}/fuzz/corpus_${target})
  endforeach()
endif()
