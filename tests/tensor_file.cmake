# tests/tensor_file.cmake — the unit test of runtime/tensor_file.h (.npy and safetensors): round
# trips, hand-built headers of every .npy version and one hostile file per refusal. It needs no
# Python and writes only under a mkdtemp folder in /tmp, which it removes.
add_executable(test_tensor_file ${CMAKE_CURRENT_LIST_DIR}/unit/test_tensor_file.c)
target_compile_options(test_tensor_file PRIVATE ${TFC_WARNINGS})
target_link_libraries(test_tensor_file PRIVATE tfc_runtime)
add_test(NAME unit.tensor_file COMMAND test_tensor_file WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
