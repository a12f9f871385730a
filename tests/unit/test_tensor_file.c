/* test_tensor_file.c — unit tests for runtime/tensor_file.h: .npy and safetensors round trips for
 * every dtype and rank 0..4, hand-built headers of every .npy version, and one hostile file per
 * refusal, checking that each message names the file and says what went wrong. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/tensor_file.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

/* ---- helpers ------------------------------------------------------------------------------------ */

typedef struct bytes { unsigned char *p; size_t len; } bytes;

static void bytes_put(bytes *b, const void *data, size_t n)
{
    unsigned char *p = realloc(b->p, b->len + n + 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        free(b->p);
        b->p = NULL;
        b->len = 0;
        failures++;
        return;
    }
    b->p = p;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* A .npy image with the given version, header text (used verbatim) and data bytes. */
static bytes make_npy(int version, const char *header, const void *data, size_t dlen)
{
    bytes b = {0};
    size_t hlen = strlen(header);
    unsigned char pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)version, 0};
    for (int i = 0; i < (version == 1 ? 2 : 4); i++)
        pre[8 + i] = (unsigned char)(hlen >> (8 * i));
    bytes_put(&b, pre, version == 1 ? 10 : 12);
    bytes_put(&b, header, hlen);
    bytes_put(&b, data, dlen);
    return b;
}

/* A safetensors image: the 8-byte length, the JSON text verbatim, then the data buffer. */
static bytes make_st(const char *json, const void *data, size_t dlen)
{
    bytes b = {0};
    unsigned char pre[8];
    size_t hlen = strlen(json);
    for (int i = 0; i < 8; i++)
        pre[i] = (unsigned char)((unsigned long long)hlen >> (8 * i));
    bytes_put(&b, pre, 8);
    bytes_put(&b, json, hlen);
    bytes_put(&b, data, dlen);
    return b;
}

static void fill_pattern(rt_array *a, unsigned seed)
{
    unsigned char *p = a->data;
    for (size_t i = 0; i < a->nbytes; i++)
        p[i] = a->dtype == RT_BOOL ? (unsigned char)((i + seed) % 3 == 0)
                                   : (unsigned char)(i * 31 + seed * 7 + 1);
}

static bool arrays_equal(const rt_array *a, const rt_array *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes)
        return false;
    if (memcmp(a->dims, b->dims, (size_t)a->rank * sizeof a->dims[0]) != 0)
        return false;
    return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}

static bool read_raw(const char *path, bytes *out)
{
    void *buf;
    size_t len;
    char err[256];
    if (rt_read_file(path, &buf, &len, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return false;
    }
    out->p = buf;
    out->len = len;
    return true;
}

/* Checks a failed call: it returned -1 and the message names the file and has the phrase. */
static void expect_error(int rc, const char *err, const char *file, const char *phrase, int line)
{
    if (rc != -1 || !strstr(err, file) || !strstr(err, phrase)) {
        fprintf(stderr, "%s:%d: expected failure naming '%s' with '%s'; got rc %d, message: %s\n",
                __FILE__, line, file, phrase, rc, err);
        failures++;
    }
}

static void npy_refused(bytes b, const char *phrase, int line)
{
    rt_array a;
    char err[512] = "";
    int rc = rt_npy_parse(b.p, b.len, "bad.npy", &a, err, sizeof err);
    expect_error(rc, err, "bad.npy", phrase, line);
    CHECK(a.data == NULL && a.nbytes == 0);
    free(b.p);
}

static void st_refused(bytes b, const char *phrase, int line)
{
    rt_array_set s;
    char err[512] = "";
    int rc = rt_safetensors_parse(b.p, b.len, "bad.safetensors", &s, err, sizeof err);
    expect_error(rc, err, "bad.safetensors", phrase, line);
    CHECK(s.count == 0 && s.items == NULL);
    free(b.p);
}

static void path_in(char *buf, size_t size, const char *dir, const char *file)
{
    snprintf(buf, size, "%s/%s", dir, file);
}

/* Only the files the tests wrote may be left: a stray ".tmp-" file means a write was not atomic. */
static int count_temp_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    char path[1024];
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path_in(path, sizeof path, dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- round trips -------------------------------------------------------------------------------- */

static const int64_t test_dims[4] = {2, 3, 1, 4};

static void test_npy_round_trip(const char *dir)
{
    static const rt_dtype dtypes[] = {RT_F32, RT_F16, RT_I32, RT_I64, RT_BOOL};
    char path[1024], err[512];
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        for (int rank = 0; rank <= 4; rank++) {
            rt_array a, back, parsed;
            bytes raw = {0};
            CHECK(rt_array_alloc(&a, dtypes[d], rank, test_dims, "t", err, sizeof err) == 0);
            fill_pattern(&a, (unsigned)(d * 5 + (size_t)rank));
            snprintf(path, sizeof path, "%s/rt_%s_%d.npy", dir, rt_dtype_name(dtypes[d]), rank);
            CHECK(rt_npy_write(path, &a, err, sizeof err) == 0);
            CHECK(rt_npy_read(path, &back, err, sizeof err) == 0);
            CHECK(arrays_equal(&a, &back));
            /* NumPy's layout: data 64-byte aligned, header ending in '\n'. */
            CHECK(read_raw(path, &raw));
            CHECK(raw.len >= a.nbytes && (raw.len - a.nbytes) % 64 == 0);
            CHECK(raw.len > a.nbytes && raw.p[raw.len - a.nbytes - 1] == '\n');
            CHECK(rt_npy_parse(raw.p, raw.len, path, &parsed, err, sizeof err) == 0);
            CHECK(arrays_equal(&a, &parsed));
            free(raw.p);
            rt_array_free(&a);
            rt_array_free(&back);
            rt_array_free(&parsed);
        }
    }
}

static void test_npy_empty_and_scalar(const char *dir)
{
    char path[1024], err[512];
    int64_t dims[3] = {4, 0, 5};
    rt_array a, back;
    path_in(path, sizeof path, dir, "empty.npy");
    CHECK(rt_array_alloc(&a, RT_I64, 3, dims, "t", err, sizeof err) == 0);
    CHECK(a.data != NULL && a.nbytes == 0);
    CHECK(rt_npy_write(path, &a, err, sizeof err) == 0);
    CHECK(rt_npy_read(path, &back, err, sizeof err) == 0);
    CHECK(arrays_equal(&a, &back) && back.data != NULL);
    rt_array_free(&a);
    rt_array_free(&back);
    CHECK(a.data == NULL && back.data == NULL);
}

static void test_safetensors_round_trip(const char *dir)
{
    char path[1024], err[512], name[32];
    rt_array_set s = {0}, back;
    bytes raw = {0};
    for (int dt = 0; dt < RT_DTYPE_COUNT; dt++) {
        for (int rank = 0; rank <= 4; rank++) {
            rt_array a;
            CHECK(rt_array_alloc(&a, (rt_dtype)dt, rank, test_dims, "t", err, sizeof err) == 0);
            fill_pattern(&a, (unsigned)(dt * 5 + rank));
            snprintf(name, sizeof name, "layer.%s.r%d", rt_dtype_name((rt_dtype)dt), rank);
            CHECK(rt_array_set_add(&s, name, &a) == 0);
            rt_array_free(&a);
        }
    }
    path_in(path, sizeof path, dir, "all.safetensors");
    CHECK(rt_safetensors_write(path, &s, err, sizeof err) == 0);
    CHECK(rt_safetensors_read(path, &back, err, sizeof err) == 0);
    CHECK(back.count == s.count);
    for (int i = 0; i < s.count && i < back.count; i++) {
        CHECK(strcmp(s.items[i].name, back.items[i].name) == 0);   /* order is kept */
        CHECK(arrays_equal(&s.items[i].array, &back.items[i].array));
    }
    CHECK(rt_array_set_find(&back, "layer.bf16.r3") != NULL);
    CHECK(rt_array_set_find(&back, "nope") == NULL);
    CHECK(read_raw(path, &raw));
    CHECK(raw.len >= 8 && raw.p[0] % 8 == 0 && raw.p[8] == '{');
    free(raw.p);
    rt_array_set_free(&s);
    rt_array_set_free(&back);
    CHECK(back.count == 0 && back.items == NULL);
}

static void test_safetensors_empty_set(const char *dir)
{
    char path[1024], err[512];
    rt_array_set s = {0}, back;
    path_in(path, sizeof path, dir, "empty.safetensors");
    CHECK(rt_safetensors_write(path, &s, err, sizeof err) == 0);
    CHECK(rt_safetensors_read(path, &back, err, sizeof err) == 0);
    CHECK(back.count == 0);
    rt_array_set_free(&back);
}

/* ---- hand-built .npy headers ---------------------------------------------------------------------- */

static void expect_npy(bytes b, rt_dtype dt, int rank, const int64_t *dims, int line)
{
    rt_array a;
    char err[512] = "";
    int rc = rt_npy_parse(b.p, b.len, "hand.npy", &a, err, sizeof err);
    if (rc != 0 || a.dtype != dt || a.rank != rank ||
        memcmp(a.dims, dims, (size_t)rank * sizeof *dims) != 0) {
        fprintf(stderr, "%s:%d: hand-built header not read as expected (rc %d): %s\n",
                __FILE__, line, rc, err);
        failures++;
    }
    rt_array_free(&a);
    free(b.p);
}

static void test_npy_headers(void)
{
    static const float f6[6] = {1, 2, 3, 4, 5, 6};
    static const int64_t d23[2] = {2, 3}, d3[1] = {3}, d5[1] = {5}, d6[1] = {6};
    float f1 = 7;
    expect_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }      \n",
                        f6, 24), RT_F32, 2, d23, __LINE__);
    expect_npy(make_npy(2, "{'shape': (2,3), 'descr': '<f4', 'fortran_order': False}\n", f6, 24),
               RT_F32, 2, d23, __LINE__);
    expect_npy(make_npy(3, "{ \"fortran_order\" : False ,\"shape\":(2 , 3 ,),\"descr\":\"<f4\" }",
                        f6, 24), RT_F32, 2, d23, __LINE__);
    expect_npy(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", &f1, 4),
               RT_F32, 0, d23, __LINE__);
    expect_npy(make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }\n",
                        "\1\0\1\1\0", 5), RT_BOOL, 1, d5, __LINE__);
    expect_npy(make_npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6L,), }\n", f6, 24),
               RT_I32, 1, d6, __LINE__);   /* as Python 2 wrote it */
    expect_npy(make_npy(2, "{'descr':'<i8','fortran_order':False,'shape':(3,)}\t\r\n", f6, 24),
               RT_I64, 1, d3, __LINE__);
}

static void test_npy_i64_data(void)
{
    int64_t vals[3] = {-1, INT64_MAX, 42};
    int64_t d3[1] = {3};
    rt_array a;
    char err[256];
    bytes b = make_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }\n", vals, 24);
    CHECK(rt_npy_parse(b.p, b.len, "i64.npy", &a, err, sizeof err) == 0);
    CHECK(a.rank == 1 && a.dims[0] == d3[0] && memcmp(a.data, vals, 24) == 0);
    rt_array_free(&a);
    free(b.p);
}

/* ---- .npy refusals ---------------------------------------------------------------------------------- */

static void test_npy_refusals(void)
{
    static const unsigned char zeros[64] = {0};
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", zeros, 24),
                "fortran_order True", __LINE__);
    npy_refused(make_npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", zeros, 24),
                "unsupported dtype '>f4' (big-endian); expected little-endian", __LINE__);
    npy_refused(make_npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", zeros, 16),
                "unsupported dtype '|O' (Python objects)", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", zeros, 16),
                "unsupported dtype '<f8'", __LINE__);
    npy_refused(make_npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n",
                         zeros, 8), "structured dtype", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", zeros, 20),
                "truncated: expected 24 bytes of data, found 20", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", zeros, 28),
                "trailing data: expected 24 bytes of data, found 28", __LINE__);
}

static void test_npy_shape_refusals(void)
{
    static const unsigned char zeros[64] = {0};
    npy_refused(make_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, "
                            "4294967296), }\n", zeros, 0), "overflows", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': "
                            "(99999999999999999999,), }\n", zeros, 0), "overflows 64 bits", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n",
                         zeros, 4), "more than 8 dimensions", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", zeros, 0),
                "negative dimension", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5), }\n", zeros, 20),
                "(5,)", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [5], }\n", zeros, 20),
                "a tuple", __LINE__);
    npy_refused(make_npy(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (5L,), }\n", zeros, 20),
                "malformed header", __LINE__);   /* Python 2 longs only in versions 1 and 2 */
}

static void test_npy_syntax_refusals(void)
{
    static const unsigned char zeros[64] = {0};
    npy_refused(make_npy(1, "{'descr': '<f4', 'shape': (2,), }\n", zeros, 8),
                "no 'fortran_order' key", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n",
                         zeros, 8), "duplicate key 'descr'", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n",
                         zeros, 8), "unexpected key 'x'", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}\n", zeros, 8),
                "True or False", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x\n", zeros, 8),
                "only padding", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}\n", zeros, 8),
                "',' or '}'", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}\n", zeros, 8),
                "unsupported dtype '<f4, '", __LINE__);
    npy_refused(make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x", zeros, 8),
                "closing quote", __LINE__);
    npy_refused(make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", "\1\2\0", 3),
                "bool element 1 holds byte 0x02", __LINE__);
}

static void test_npy_preamble_refusals(void)
{
    bytes b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", "abcd", 4);
    b.p[1] = 'X';
    npy_refused(b, "bad magic", __LINE__);
    npy_refused(make_npy(1, "", NULL, 0), "malformed header", __LINE__);
    b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", "abcd", 4);
    b.p[6] = 4;
    npy_refused(b, "unsupported .npy format version 4.0; expected 1.0, 2.0 or 3.0", __LINE__);
    /* Header overflow: a declared header length far beyond the end of the file. */
    b = make_npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", "abcd", 4);
    b.p[11] = 0xff;
    npy_refused(b, "header length 42", __LINE__);
    b = make_npy(1, "{}", NULL, 0);
    b.p[8] = 0xff;
    b.p[9] = 0xff;
    npy_refused(b, "truncated header: header length 65535 exceeds the 2 bytes left", __LINE__);
    b = make_npy(2, "", NULL, 0);
    b.len = 10;
    npy_refused(b, "inside the header length", __LINE__);
    b = make_npy(1, "", NULL, 0);
    b.len = 3;
    npy_refused(b, "bad magic", __LINE__);
    npy_refused((bytes){NULL, 0}, "bad magic", __LINE__);
}

/* ---- safetensors refusals ------------------------------------------------------------------------- */

static void test_st_layout_refusals(void)
{
    static const unsigned char z[64] = {0};
    st_refused(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", z, 12),
               "overlaps tensor 'a'", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", z, 8),
               "out of range", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,4]}}", z, 8),
               "begin <= end", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", z, 8),
               "wrong byte length: shape [3] of F32 needs 12 bytes", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"I64\",\"shape\":[4294967296,4294967296],"
                       "\"data_offsets\":[0,8]}}", z, 8), "overflows", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"I64\",\"shape\":[1e300],\"data_offsets\":[0,8]}}", z, 8),
               "below 2^63", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", z, 16),
               "belong to no tensor", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 12),
               "trailing data", __LINE__);
    st_refused(make_st("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", "\1\7", 2),
               "tensor 'a': bool element 1", __LINE__);
}

static void test_st_entry_refusals(void)
{
    static const unsigned char z[64] = {0};
    st_refused(make_st("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", z, 8),
               "tensor 'w': unsupported dtype 'F64'", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                       "\"data_offsets\":[0,4]}}", z, 4), "rank 9 exceeds", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", z, 4),
               "shape[0] is not a non-negative integer", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", z, 4),
               "shape[0] is not a non-negative integer", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", z, 4),
               "\"shape\" is not an array", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", z, 4),
               "pair of non-negative integers", __LINE__);
    st_refused(make_st("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", z, 4),
               "missing \"dtype\"", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                       "\"data_offsets\":[0,4]}}", z, 4), "duplicate key \"dtype\"", __LINE__);
    st_refused(make_st("{\"w\":[1]}", z, 0), "tensor 'w': entry is not an object", __LINE__);
    st_refused(make_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", z, 8),
               "tensor 'w': duplicate key", __LINE__);
    st_refused(make_st("{\"__metadata__\":{\"k\":1}}", z, 0), "__metadata__", __LINE__);
    st_refused(make_st("{\"__metadata__\":[]}", z, 0), "__metadata__", __LINE__);
}

static void test_st_header_refusals(void)
{
    static const unsigned char z[64] = {0};
    bytes b;
    st_refused(make_st("{\"a\":", z, 0), "invalid JSON", __LINE__);
    st_refused(make_st("{} x", z, 0), "invalid JSON", __LINE__);
    st_refused(make_st("{\"a\":1,", z, 0), "invalid JSON", __LINE__);   /* ends right after a comma */
    st_refused(make_st("[]", z, 0), "not a JSON object", __LINE__);
    st_refused(make_st("", z, 0), "invalid JSON", __LINE__);
    st_refused(make_st("{\"a\\u0000b\":{}}", z, 0), "\\u0000", __LINE__);
    st_refused(make_st("{\"a\xff\":{}}", z, 0), "not valid UTF-8", __LINE__);
    st_refused(make_st("{\"a\x01\":{}}", z, 0), "control byte 0x01", __LINE__);
    b = make_st("{}", z, 0);
    b.p[7] = 0x7f;   /* about 9e18 bytes of header */
    st_refused(b, "exceeds the limit of 100000000 bytes", __LINE__);
    b = make_st("{}", z, 0);
    b.p[0] = 0xe8;   /* a 1000-byte header in a 10-byte file */
    b.p[1] = 0x03;
    st_refused(b, "header length 1000 exceeds the 2 bytes left", __LINE__);
    b = make_st("{}", z, 0);
    b.len = 5;
    st_refused(b, "expected at least 8", __LINE__);
    st_refused((bytes){NULL, 0}, "expected at least 8", __LINE__);
}

static void test_st_accepts(void)
{
    static const float vals[3] = {1, 2, 3};
    rt_array_set s;
    char err[512] = "";
    /* Metadata, padding spaces, an unknown field and a zero-size tensor are all fine. */
    bytes b = make_st("{\"__metadata__\":{\"format\":\"pt\"},\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],"
                      "\"data_offsets\":[12,12]},\"v\":{\"dtype\":\"F32\",\"shape\":[3],"
                      "\"data_offsets\":[0,12],\"extra\":1}}    ", vals, 12);
    CHECK(rt_safetensors_parse(b.p, b.len, "ok.safetensors", &s, err, sizeof err) == 0);
    CHECK(s.count == 2);
    const rt_array *v = rt_array_set_find(&s, "v");
    CHECK(v && v->rank == 1 && v->dims[0] == 3 && memcmp(v->data, vals, 12) == 0);
    const rt_array *e = rt_array_set_find(&s, "e");
    CHECK(e && e->nbytes == 0 && e->rank == 2);
    rt_array_set_free(&s);
    free(b.p);
}

/* ---- write refusals and atomicity ------------------------------------------------------------------- */

static void test_write_refusals(const char *dir)
{
    char path[1024], err[512];
    rt_array a;
    rt_array_set s = {0};
    int64_t d2[1] = {2};
    CHECK(rt_array_alloc(&a, RT_BF16, 1, d2, "t", err, sizeof err) == 0);
    path_in(path, sizeof path, dir, "bf16.npy");
    expect_error(rt_npy_write(path, &a, err, sizeof err), err, "bf16.npy", "bf16 has no .npy dtype",
                 __LINE__);
    CHECK(access(path, F_OK) != 0);
    a.nbytes = 3;
    path_in(path, sizeof path, dir, "bad_nbytes.safetensors");
    CHECK(rt_array_set_add(&s, "x", &a) == 0);
    expect_error(rt_safetensors_write(path, &s, err, sizeof err), err, "bad_nbytes.safetensors",
                 "tensor 'x': array holds 3 bytes", __LINE__);
    rt_array_set_free(&s);
    a.nbytes = 4;
    CHECK(rt_array_set_add(&s, "x", &a) == 0);
    CHECK(rt_array_set_add(&s, "x", &s.items[0].array) == 0);   /* aliases the set's storage */
    expect_error(rt_safetensors_write(path, &s, err, sizeof err), err, "bad_nbytes.safetensors",
                 "appears twice", __LINE__);
    CHECK(access(path, F_OK) != 0);
    a.nbytes = 4;
    path_in(path, sizeof path, dir, "no/such/dir/x.npy");
    a.dtype = RT_F16;
    expect_error(rt_npy_write(path, &a, err, sizeof err), err, "no/such/dir/x.npy",
                 "No such file or directory", __LINE__);
    path_in(path, sizeof path, dir, "missing.npy");
    rt_array back;
    expect_error(rt_npy_read(path, &back, err, sizeof err), err, "missing.npy",
                 "cannot open for reading: No such file or directory", __LINE__);
    rt_array_set none;
    expect_error(rt_safetensors_read(dir, &none, err, sizeof err), err, dir, "not a regular file",
                 __LINE__);
    CHECK(none.count == 0 && none.items == NULL);
    rt_array_set_free(&s);
    rt_array_free(&a);
    CHECK(count_temp_files(dir) == 0);
}

static void test_overwrite(const char *dir)
{
    char path[1024], err[512];
    int64_t d[1] = {3};
    rt_array a, b, back;
    path_in(path, sizeof path, dir, "over.npy");
    CHECK(rt_array_alloc(&a, RT_I32, 1, d, "t", err, sizeof err) == 0);
    CHECK(rt_array_alloc(&b, RT_I64, 0, d, "t", err, sizeof err) == 0);
    fill_pattern(&a, 1);
    fill_pattern(&b, 2);
    CHECK(rt_npy_write(path, &a, err, sizeof err) == 0);
    CHECK(rt_npy_write(path, &b, err, sizeof err) == 0);
    CHECK(rt_npy_read(path, &back, err, sizeof err) == 0);
    CHECK(arrays_equal(&b, &back));
    CHECK(count_temp_files(dir) == 0);
    rt_array_free(&a);
    rt_array_free(&b);
    rt_array_free(&back);
}

static void test_helpers(void)
{
    char buf[64], err[128];
    int64_t big[3] = {INT64_MAX, 2, 0}, neg[1] = {-1}, n;
    size_t nbytes;
    CHECK(rt_dtype_size(RT_BF16) == 2 && rt_dtype_size(RT_I64) == 8 && rt_dtype_size(RT_BOOL) == 1);
    CHECK(strcmp(rt_dtype_name(RT_BF16), "bf16") == 0 && strcmp(rt_dtype_name(RT_BOOL), "bool") == 0);
    CHECK(rt_shape_elems(3, big, &n) && n == 0);       /* a zero dim wins over overflow */
    CHECK(!rt_shape_elems(2, big, &n));
    CHECK(!rt_shape_nbytes(RT_F32, 1, neg, &nbytes));
    CHECK(strcmp(rt_shape_str(1, test_dims, false, buf, sizeof buf), "(2,)") == 0);
    CHECK(strcmp(rt_shape_str(2, test_dims, true, buf, sizeof buf), "[2, 3]") == 0);
    CHECK(strcmp(rt_shape_str(0, test_dims, false, buf, sizeof buf), "()") == 0);
    CHECK(strcmp(rt_printable("a\nbcdefghij", 11, buf, 8), "a?bc...") == 0);
    CHECK(rt_errorf(err, sizeof err, "f.npy", "x %d", 1) == -1 && strcmp(err, "f.npy: x 1") == 0);
    CHECK(rt_errorf(NULL, 0, "f.npy", "ignored") == -1);
    rt_array_free(NULL);
    rt_array_set_free(NULL);
    CHECK(rt_array_set_find(NULL, "x") == NULL);
}

int main(void)
{
    char dir[] = "/tmp/tfc_tensor_file_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_helpers();
    test_npy_round_trip(dir);
    test_npy_empty_and_scalar(dir);
    test_npy_headers();
    test_npy_i64_data();
    test_npy_refusals();
    test_npy_shape_refusals();
    test_npy_syntax_refusals();
    test_npy_preamble_refusals();
    test_safetensors_round_trip(dir);
    test_safetensors_empty_set(dir);
    test_st_layout_refusals();
    test_st_entry_refusals();
    test_st_header_refusals();
    test_st_accepts();
    test_write_refusals(dir);
    test_overwrite(dir);
    remove_dir(dir);
    if (failures) {
        fprintf(stderr, "test_tensor_file: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_tensor_file: all checks passed\n");
    return 0;
}
