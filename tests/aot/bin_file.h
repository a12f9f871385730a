/* bin_file.h — what the test programs of tests/aot share: reading and writing DIR/NAME as raw
 * bytes (the .bin files the Python side writes and reads). Header only, for C99 and C++. */
#ifndef TFC_TEST_AOT_BIN_FILE_H
#define TFC_TEST_AOT_BIN_FILE_H

#include <stdio.h>

/* Reads bytes bytes of DIR/NAME into buf (write == 0), or writes them (write != 0). On failure
 * prints "WHO: cannot read|write PATH" and returns 1; 0 on success. */
static inline int bin_file(const char *who, const char *dir, const char *name, void *buf, size_t bytes, int write) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, write ? "wb" : "rb");
    size_t n = !f ? 0 : write ? fwrite(buf, 1, bytes, f) : fread(buf, 1, bytes, f);
    if (f && fclose(f) != 0) n = 0;
    if (n != bytes) fprintf(stderr, "%s: cannot %s %s\n", who, write ? "write" : "read", path);
    return n != bytes;
}

#endif
