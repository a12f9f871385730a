/* fuzz_safetensors.c — libFuzzer target for the safetensors parser (header length, JSON header,
 * offsets): any input must either parse into a set of well-formed, uniquely named arrays or fail
 * with a message naming the file. Built with -fsanitize=fuzzer,address,undefined. */
#include "runtime/tensor_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_array_set s;
    char err[256];
    if (rt_safetensors_parse(data, size, "fuzz.safetensors", &s, err, sizeof err) != 0) {
        if (s.count != 0 || s.items != NULL || strncmp(err, "fuzz.safetensors: ", 18) != 0)
            abort();
        return 0;
    }
    for (int i = 0; i < s.count; i++) {
        if (rt_array_check(&s.items[i].array, "fuzz.safetensors", err, sizeof err) != 0)
            abort();
        /* Names are unique, so each one finds its own array. */
        if (rt_array_set_find(&s, s.items[i].name) != &s.items[i].array)
            abort();
    }
    rt_array_set_free(&s);
    return 0;
}
