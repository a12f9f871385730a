# tests/train.cmake — training end to end (tests/train/*.py; the Python in TFC_PYTHON with NumPy):
# the optimizers' trajectories against NumPy implementations of PyTorch's rules on the interpreter
# and the CPU backend, examples/mlp.tg learning a synthetic data set through --epochs, and the
# interpreter, the CPU backend and a generated library agreeing step by step, and cross_entropy's
# gradient refusing an out-of-range label on all three where no forward loss is computed.
add_test(NAME train.optimizers COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/train/test_optimizers.py $<TARGET_FILE:tfc>)
add_test(NAME train.mlp_data
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/train/test_mlp_data.py $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)
add_test(NAME train.agree
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/train/test_agree.py $<TARGET_FILE:tfc> ${CMAKE_C_COMPILER}
                 ${PROJECT_SOURCE_DIR}/examples)
add_test(NAME train.labels
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/train/test_labels.py $<TARGET_FILE:tfc> ${CMAKE_C_COMPILER})
set_tests_properties(train.optimizers train.mlp_data train.agree train.labels PROPERTIES LABELS train)
