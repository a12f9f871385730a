/* tensor_file.h — dense arrays and the two on-disk tensor formats the runtime reads and writes:
 * NumPy .npy (one array) and safetensors (a named set). Parsers treat every input as hostile:
 * every size is checked, and failures return -1 with a one-line message naming the file. */
#ifndef TFC_RUNTIME_TENSOR_FILE_H
#define TFC_RUNTIME_TENSOR_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dtype order must stay: F32, F16, BF16, I32, I64, BOOL (the IR relies on it) */
typedef enum { RT_F32, RT_F16, RT_BF16, RT_I32, RT_I64, RT_BOOL, RT_DTYPE_COUNT } rt_dtype;
#define RT_MAX_RANK 8

typedef struct rt_array {
    rt_dtype dtype;
    int rank;
    int64_t dims[RT_MAX_RANK];
    void *data;      /* malloc'd, dense row-major, little-endian */
    size_t nbytes;
} rt_array;

typedef struct rt_named_array { char *name; rt_array array; } rt_named_array;
typedef struct rt_array_set { int count; rt_named_array *items; } rt_array_set;

/* The largest safetensors JSON header accepted, as in the reference implementation. */
#define RT_SAFETENSORS_MAX_HEADER 100000000u

size_t rt_dtype_size(rt_dtype dt);
const char *rt_dtype_name(rt_dtype dt);     /* "f32" "f16" "bf16" "i32" "i64" "bool" */
void rt_array_free(rt_array *a);
void rt_array_set_free(rt_array_set *s);
const rt_array *rt_array_set_find(const rt_array_set *s, const char *name);  /* NULL if none */
/* Adds a copy of a (data copied, name copied); returns 0 or -1 on OOM. */
int rt_array_set_add(rt_array_set *s, const char *name, const rt_array *a);

/* All functions return 0 on success; on failure -1 with a one-line message in err (errlen bytes),
   which always names the file (the `path` or `name` argument) and says what was expected, e.g.
   "x.npy: unsupported dtype '>f4' (big-endian); expected little-endian f32, i32, i64 or bool".
   On failure *out is left empty (zeroed), so freeing it is optional but harmless.
   err may be NULL (or errlen 0) when the caller does not want the message. */
int rt_npy_parse(const void *buf, size_t len, const char *name, rt_array *out, char *err, size_t errlen);
int rt_npy_read(const char *path, rt_array *out, char *err, size_t errlen);
int rt_npy_write(const char *path, const rt_array *a, char *err, size_t errlen);
int rt_safetensors_parse(const void *buf, size_t len, const char *name, rt_array_set *out, char *err, size_t errlen);
int rt_safetensors_read(const char *path, rt_array_set *out, char *err, size_t errlen);
int rt_safetensors_write(const char *path, const rt_array_set *s, char *err, size_t errlen);

/* ---- helpers shared by npy.c and safetensors.c, usable by other runtime code ---------------- */

/* Element count of a shape, false when a dim is negative or the count overflows int64_t. */
bool rt_shape_elems(int rank, const int64_t *dims, int64_t *out);
/* Byte size of a dense array of that shape, false on any overflow (int64_t or size_t). */
bool rt_shape_nbytes(rt_dtype dt, int rank, const int64_t *dims, size_t *out);
/* Allocates a zeroed array of that shape (data never NULL, even when empty); -1 on a bad
   dtype or shape, overflow or OOM, with the message prefixed by `name`. */
int rt_array_alloc(rt_array *out, rt_dtype dt, int rank, const int64_t *dims,
                   const char *name, char *err, size_t errlen);
/* Checks that an array is well formed before it is written or copied: known dtype, rank in
   0..RT_MAX_RANK, non-negative dims, nbytes matching the shape, data present, bools 0 or 1. */
int rt_array_check(const rt_array *a, const char *name, char *err, size_t errlen);
/* Formats "shape (2, 3)"-style dims into buf ("[2, 3]" with brackets, "(2, 3)" otherwise,
   "()" / "[]" for a scalar); returns buf. */
char *rt_shape_str(int rank, const int64_t *dims, bool brackets, char *buf, size_t size);

/* Writes "name: message" into err (when err is non-NULL) and returns -1. */
int rt_errorf(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Copies at most n bytes of untrusted text into buf for quoting in a message: non-printable
   bytes become '?', long text is cut with "...". Returns buf. */
char *rt_printable(const char *s, size_t n, char *buf, size_t size);

/* Reads a whole regular file into a malloc'd buffer (never NULL on success, even if empty). */
int rt_read_file(const char *path, void **buf, size_t *len, char *err, size_t errlen);

/* One piece of a file written by rt_write_file_atomic. */
typedef struct rt_write_part { const void *data; size_t len; } rt_write_part;
/* Writes the concatenation of parts to a temporary file beside path, syncs it and renames it
   over path, so that readers see either the old file or the whole new one. */
int rt_write_file_atomic(const char *path, const rt_write_part *parts, size_t nparts,
                         char *err, size_t errlen);

#endif /* TFC_RUNTIME_TENSOR_FILE_H */
