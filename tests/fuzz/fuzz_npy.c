/* fuzz_npy.c — libFuzzer target for the .npy parser: any input must either parse into a
 * well-formed array or fail with a message naming the file, without touching memory it does
 * not own. Built with -fsanitize=fuzzer,address,undefined. */
#include "runtime/tensor_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_array a;
    char err[256];
    if (rt_npy_parse(data, size, "fuzz.npy", &a, err, sizeof err) != 0) {
        /* A refusal must leave nothing to free and must say which file it was about. */
        if (a.data != NULL || strncmp(err, "fuzz.npy: ", 10) != 0)
            abort();
        return 0;
    }
    if (rt_array_check(&a, "fuzz.npy", err, sizeof err) != 0 || a.data == NULL)
        abort();
    rt_array_free(&a);
    return 0;
}
