# tests/thread_pool.cmake — the unit test of runtime/thread_pool.h: exact coverage and deterministic
# chunking for many (n, min_chunk, threads), serial fallback, nested calls, NULL and size-1 pools and
# create/destroy cycles. No timing assertions, so it is safe under TSan and on loaded machines.
tfc_unit_test(thread_pool tfc_runtime)
