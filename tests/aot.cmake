# The generated libraries (`tfc compile`) as their users build them: each test compiles models,
# builds C (and C++) programs against the libraries with the system compilers, runs them and
# compares with `tfc run` (tests/aot/*.py; needs the Python in TFC_PYTHON with NumPy). Under the
# sanitizer build tfc is instrumented; the libraries and the programs are not.
find_program(TFC_CXX NAMES g++ c++ clang++)
if(NOT TFC_CXX)
  set(TFC_CXX c++)   # test_link.py cxx reports the test skipped
endif()
set(TFC_AOT_ARGS $<TARGET_FILE:tfc> ${CMAKE_C_COMPILER})
set(TFC_AOT_EXAMPLES ${PROJECT_SOURCE_DIR}/examples)

add_test(NAME aot.examples
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/aot/test_examples.py ${TFC_AOT_ARGS} ${TFC_AOT_EXAMPLES} --random 20)
add_test(NAME aot.misuse COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/aot/test_misuse.py ${TFC_AOT_ARGS} ${TFC_AOT_EXAMPLES})
# examples/mlp.tg compiled whole trains through the C API, step by step as tfc run does.
add_test(NAME aot.train COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/aot/test_train.py ${TFC_AOT_ARGS} ${TFC_AOT_EXAMPLES})
foreach(test cxx two_models dlopen)
  add_test(NAME aot.${test}
           COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/aot/test_link.py ${test} ${TFC_AOT_ARGS} ${TFC_CXX}
                   ${TFC_AOT_EXAMPLES})
endforeach()
set_tests_properties(aot.cxx PROPERTIES SKIP_RETURN_CODE 77)
# Installs the build tree into a temporary prefix (`cmake --install` only reads the build).
add_test(NAME aot.cmake_consumer
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/aot/test_cmake_consumer.py ${CMAKE_COMMAND} "${CMAKE_GENERATOR}"
                 "${CMAKE_MAKE_PROGRAM}" ${CMAKE_C_COMPILER} ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(aot.examples aot.misuse aot.train aot.cxx aot.two_models aot.dlopen aot.cmake_consumer
                     PROPERTIES LABELS aot)
