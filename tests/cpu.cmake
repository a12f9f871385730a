# The CPU backend end to end: every example graph compiled and run at 1 and 2 threads against the
# interpreter (tests/cpu/examples_cpu.py). The elementwise chain runs at 1M elements here: the
# interpreter oracle at full size takes seconds per op under the sanitizers.
add_test(NAME cpu.examples
         COMMAND ${TFC_PYTHON} ${TFC_TEST_DIR}/cpu/examples_cpu.py $<TARGET_FILE:tfc> ${PROJECT_SOURCE_DIR}/examples
                 elementwise:N=1048576)
