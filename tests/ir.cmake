# Tests of the Graph IR text form (tests/ir/, docs/ir.md): golden files run through tfc and
# FileCheck by tests/ir/check.sh (NAME.tgir, NAME.dot.tgir, NAME.svg.tgir, NAME.bad.tgir,
# NAME.kernel.tgir: see its
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
  tfc_fuzz_test(ir_text 30 tfc_ir DICT ${TFC_TEST_DIR}/fuzz/ir_text.dict)
endif()
