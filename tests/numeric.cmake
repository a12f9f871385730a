# Numerical tests: every op of LANGUAGE.md section 5 through `tfc run` on the interpreter and the CPU
# backend at 1 and 2 threads, against
# NumPy (tests/numeric/test_ops.py; needs the Python in TFC_PYTHON with NumPy).
add_test(NAME numeric.ops COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/numeric/test_ops.py $<TARGET_FILE:tfc>)
