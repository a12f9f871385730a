# Tests of the Graph IR text form (tests/ir/, docs/ir.md): golden files run through tfc and
# FileCheck by tests/ir/check.sh (NAME.tgir, NAME.dot.tgir, NAME.svg.tgir, NAME.bad.tgir: see its
# banner), the print-parse-print round trip of every example (at each dump stage), and, with
# TFC_FUZZ, a fuzz target for the parser.
if(TFC_FILECHECK)
  file(GLOB TFC_IR_TESTS CONFIGURE_DEPENDS ${TFC_TEST_DIR}/ir/*.tgir)
  foreach(file ${TFC_IR_TESTS})
    get_filename_component(name ${file} NAME)
    string(REGEX REPLACE "\\.tgir$" "" name ${name})
    add_test(NAME ir.${name} COMMAND sh ${TFC_TEST_DIR}/ir/check.sh $<TARGET_FILE:tfc> ${TFC_FILECHECK} ${file})
    # NAME.svg.tgir needs Graphviz; check.sh exits 77 without it.
    set_tests_properties(ir.${name} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
else()
  message(WARNING "FileCheck not found (llvm-19-tools): the golden IR tests are not registered")
endif()

add_test(NAME ir.roundtrip COMMAND sh ${TFC_TEST_DIR}/ir/roundtrip.sh $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)

if(TFC_FUZZ)
  # The ir sources are compiled in, not linked from tfc_ir, so that libFuzzer sees their coverage.
  add_executable(fuzz_ir_text ${TFC_TEST_DIR}/fuzz/fuzz_ir_text.c ${TFC_IR_SOURCES})
  target_compile_options(fuzz_ir_text PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_ir_text PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_ir_text PRIVATE tfc_runtime)
  # New inputs go to the build tree's folder (listed first); the seeds in the source tree stay as they are.
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/corpus_ir_text)
  add_test(NAME fuzz.ir_text
           COMMAND fuzz_ir_text -max_total_time=30 -max_len=4096 -dict=${TFC_TEST_DIR}/fuzz/ir_text.dict
                   ${CMAKE_CURRENT_BINARY_DIR}/corpus_ir_text ${TFC_TEST_DIR}/fuzz/corpus_ir_text)
endif()
