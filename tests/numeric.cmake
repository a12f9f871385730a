# Numerical tests: every op of LANGUAGE.md section 5 through `tfc run` on the interpreter and the CPU
# backend at 1 and 2 threads, against
# NumPy (tests/numeric/test_ops.py; needs the Python in TFC_PYTHON with NumPy).
add_test(NAME numeric.ops COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/numeric/test_ops.py $<TARGET_FILE:tfc>)
# The CPU backend's transcendental functions against NumPy on 2^20 inputs over the whole float
# range, each within the ulp bound docs/math-accuracy.md states.
add_test(NAME numeric.math COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/numeric/test_math_numpy.py $<TARGET_FILE:tfc>)
