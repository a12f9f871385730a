# tests/thread_pool.cmake — the unit test of runtime/thread_pool.h: exact coverage and deterministic
# chunking for many (n, min_chunk, threads), serial fallback, nested calls, NULL and size-1 pools and
# create/destroy cycles. No timing assertions, so it is safe under TSan and on loaded machines.
add_executable(test_thread_pool ${TFC_TEST_DIR}/unit/test_thread_pool.c)
target_compile_options(test_thread_pool PRIVATE ${TFC_WARNINGS})
target_link_libraries(test_thread_pool PRIVATE tfc_runtime)
add_test(NAME unit.thread_pool COMMAND test_thread_pool)
