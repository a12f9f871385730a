# The property tests of the optimization passes: random valid programs (and the reproducers in
# tests/passes/regress/) give the same outputs at -O0, at -O3 and after each pass alone; every
# example gives the same outputs at -O0..-O3. Both need the Python in TFC_PYTHON with NumPy.
add_test(NAME passes.random COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/passes/random_graphs.py $<TARGET_FILE:tfc>)
add_test(NAME passes.examples
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/passes/examples_opt_levels.py $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples)
