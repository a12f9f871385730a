/* npy.c — NumPy .npy read/write (format versions 1.0, 2.0 and 3.0), plus the helpers both tensor
 * formats share: dtypes, checked shape arithmetic, error messages and whole-file I/O with
 * atomic replacement. The header parser accepts only the dict NumPy writes and trusts no size. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/tensor_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- dtypes and arrays ----------------------------------------------------------------------- */

size_t rt_dtype_size(rt_dtype dt)
{
    static const size_t sizes[RT_DTYPE_COUNT] = {4, 2, 2, 4, 8, 1};
    return (unsigned)dt < RT_DTYPE_COUNT ? sizes[dt] : 0;
}

const char *rt_dtype_name(rt_dtype dt)
{
    static const char *const names[RT_DTYPE_COUNT] = {"f32", "f16", "bf16", "i32", "i64", "bool"};
    return (unsigned)dt < RT_DTYPE_COUNT ? names[dt] : "?";
}

void rt_array_free(rt_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

bool rt_shape_elems(int rank, const int64_t *dims, int64_t *out)
{
    bool has_zero = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        has_zero |= dims[i] == 0;
    }
    /* A zero dim makes the product zero however large the others are; checking it first keeps
       shapes like (2^40, 2^40, 0) from being reported as overflowing. */
    int64_t n = 1;
    for (int i = 0; i < rank && !has_zero; i++) {
        if (n > INT64_MAX / dims[i])
            return false;
        n *= dims[i];
    }
    *out = has_zero ? 0 : n;
    return true;
}

bool rt_shape_nbytes(rt_dtype dt, int rank, const int64_t *dims, size_t *out)
{
    int64_t n;
    size_t size = rt_dtype_size(dt);
    if (size == 0 || rank < 0 || rank > RT_MAX_RANK || !rt_shape_elems(rank, dims, &n))
        return false;
    if ((uint64_t)n > SIZE_MAX / size || (uint64_t)n > (uint64_t)INT64_MAX / size)
        return false;
    *out = (size_t)n * size;
    return true;
}

char *rt_shape_str(int rank, const int64_t *dims, bool brackets, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (rank < 0 || rank > RT_MAX_RANK)
        rank = 0;
    /* snprintf reports the length it wanted; clamping keeps a cut-off string terminated. */
    used += (size_t)snprintf(buf, size, "%c", brackets ? '[' : '(');
    for (int i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < size && rank == 1 && !brackets)
        used += (size_t)snprintf(buf + used, size - used, ",");   /* Python's (5,) */
    if (used < size)
        snprintf(buf + used, size - used, "%c", brackets ? ']' : ')');
    return buf;
}

int rt_array_alloc(rt_array *out, rt_dtype dt, int rank, const int64_t *dims,
                   const char *name, char *err, size_t errlen)
{
    char shape[256];
    size_t nbytes;
    memset(out, 0, sizeof *out);
    if ((unsigned)dt >= RT_DTYPE_COUNT)
        return rt_errorf(err, errlen, name, "invalid dtype %d", (int)dt);
    if (rank < 0 || rank > RT_MAX_RANK)
        return rt_errorf(err, errlen, name, "rank %d is outside 0..%d", rank, RT_MAX_RANK);
    if (!rt_shape_nbytes(dt, rank, dims, &nbytes))
        return rt_errorf(err, errlen, name, "shape %s of %s is invalid: a dim is negative or the "
                         "byte size overflows", rt_shape_str(rank, dims, false, shape, sizeof shape),
                         rt_dtype_name(dt));
    /* Never NULL, so that callers can tell an empty array from a missing one. */
    out->data = calloc(nbytes ? nbytes : 1, 1);
    if (!out->data)
        return rt_errorf(err, errlen, name, "out of memory allocating %zu bytes", nbytes);
    out->dtype = dt;
    out->rank = rank;
    memcpy(out->dims, dims, (size_t)rank * sizeof *dims);
    out->nbytes = nbytes;
    return 0;
}

/* Bools outside 0/1 would make later comparisons and reductions disagree between kernels. */
static int check_bools(const rt_array *a, const char *name, char *err, size_t errlen)
{
    const unsigned char *p = a->data;
    for (size_t i = 0; i < a->nbytes; i++)
        if (p[i] > 1)
            return rt_errorf(err, errlen, name, "bool element %zu holds byte 0x%02x; expected 0 or 1",
                             i, p[i]);
    return 0;
}

int rt_array_check(const rt_array *a, const char *name, char *err, size_t errlen)
{
    char shape[256];
    size_t nbytes;
    if (!a)
        return rt_errorf(err, errlen, name, "no array given");
    if ((unsigned)a->dtype >= RT_DTYPE_COUNT)
        return rt_errorf(err, errlen, name, "invalid dtype %d", (int)a->dtype);
    if (a->rank < 0 || a->rank > RT_MAX_RANK)
        return rt_errorf(err, errlen, name, "rank %d is outside 0..%d", a->rank, RT_MAX_RANK);
    rt_shape_str(a->rank, a->dims, false, shape, sizeof shape);
    if (!rt_shape_nbytes(a->dtype, a->rank, a->dims, &nbytes))
        return rt_errorf(err, errlen, name, "shape %s of %s is invalid: a dim is negative or the "
                         "byte size overflows", shape, rt_dtype_name(a->dtype));
    if (nbytes != a->nbytes)
        return rt_errorf(err, errlen, name, "array holds %zu bytes but shape %s of %s needs %zu",
                         a->nbytes, shape, rt_dtype_name(a->dtype), nbytes);
    if (!a->data && nbytes > 0)
        return rt_errorf(err, errlen, name, "array data is NULL but %zu bytes are expected", nbytes);
    return a->dtype == RT_BOOL ? check_bools(a, name, err, errlen) : 0;
}

/* ---- messages ---------------------------------------------------------------------------------- */

int rt_errorf(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return -1;
    int n = snprintf(err, errlen, "%s: ", name ? name : "<buffer>");
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *rt_printable(const char *s, size_t n, char *buf, size_t size)
{
    size_t keep, i;
    if (size == 0)
        return buf;
    keep = n < size - 1 ? n : size - 1;
    if (keep < n && keep >= 3)
        keep -= 3;   /* room for the "..." */
    for (i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Quoted file contents must not break the one-line message or the terminal. */
        buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (keep < n && keep + 3 < size) {
        memcpy(buf + keep, "...", 3);
        keep += 3;
    }
    buf[keep] = '\0';
    return buf;
}

/* ---- whole-file I/O ------------------------------------------------------------------------------ */

static int read_all(int fd, char *p, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        ssize_t r = read(fd, p + *got, size - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;   /* the file shrank under us; the parser will see a short buffer */
        *got += (size_t)r;
    }
    return 0;
}

/* Opens path and checks that it is a regular file whose size fits in memory. */
static int open_regular(const char *path, size_t *size, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rt_errorf(err, errlen, path, "cannot open for reading: %s", strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return rt_errorf(err, errlen, path, "cannot stat: %s", strerror(e));
    }
    /* A FIFO or device has no size to trust and could feed the parser forever. */
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uintmax_t)st.st_size >= SIZE_MAX) {
        close(fd);
        return rt_errorf(err, errlen, path, "%s; expected a regular file",
                         S_ISREG(st.st_mode) ? "file too large" : "not a regular file");
    }
    *size = (size_t)st.st_size;
    return fd;
}

int rt_read_file(const char *path, void **buf, size_t *len, char *err, size_t errlen)
{
    size_t size = 0, got;
    char *p;
    *buf = NULL;
    *len = 0;
    int fd = open_regular(path, &size, err, errlen);
    if (fd < 0)
        return -1;
    p = malloc(size ? size : 1);
    if (!p) {
        close(fd);
        return rt_errorf(err, errlen, path, "out of memory reading %zu bytes", size);
    }
    if (read_all(fd, p, size, &got) != 0) {
        int e = errno;
        close(fd);
        free(p);
        return rt_errorf(err, errlen, path, "read failed: %s", strerror(e));
    }
    close(fd);
    *buf = p;
    *len = got;
    return 0;
}

static int write_all(int fd, const rt_write_part *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++) {
        const char *p = parts[i].data;
        size_t left = parts[i].len;
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -1;
            p += w;
            left -= (size_t)w;
        }
    }
    return 0;
}

/* O_EXCL with a pid-and-attempt suffix rather than mkstemp: mkstemp's 0600 mode would ignore the
   umask, and retrying on EEXIST keeps concurrent writers and stale temp files apart. */
static int create_temp(const char *path, char *tmp, size_t tmpsize)
{
    int fd = -1;
    for (unsigned attempt = 0; attempt < 1000 && fd < 0; attempt++) {
        snprintf(tmp, tmpsize, "%s.tmp-%ld-%u", path, (long)getpid(), attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    return fd;
}

/* Writes, syncs and closes fd (always closed); returns NULL or the step that failed, errno set.
   fsync comes before rename: otherwise a crash can leave the new name on an empty file. */
static const char *fill_temp(int fd, const rt_write_part *parts, size_t nparts)
{
    const char *failed = NULL;
    if (write_all(fd, parts, nparts) != 0)
        failed = "write failed";
    else if (fsync(fd) != 0)
        failed = "fsync failed";
    int e = errno;
    if (close(fd) != 0 && !failed)
        return "close failed";
    errno = e;
    return failed;
}

int rt_write_file_atomic(const char *path, const rt_write_part *parts, size_t nparts,
                         char *err, size_t errlen)
{
    size_t tmpsize = strlen(path) + 48;
    char *tmp = malloc(tmpsize);
    const char *failed;
    int fd, e;
    if (!tmp)
        return rt_errorf(err, errlen, path, "out of memory");
    fd = create_temp(path, tmp, tmpsize);
    if (fd < 0) {
        e = errno;
        free(tmp);
        return rt_errorf(err, errlen, path, "cannot create temporary file: %s", strerror(e));
    }
    failed = fill_temp(fd, parts, nparts);
    if (!failed && rename(tmp, path) != 0)
        failed = "cannot rename temporary file into place";
    if (!failed) {
        free(tmp);
        return 0;
    }
    e = errno;
    unlink(tmp);
    free(tmp);
    return rt_errorf(err, errlen, path, "%s: %s", failed, strerror(e));
}

/* ---- .npy header parsing ------------------------------------------------------------------------- */

typedef struct npy_cursor {
    const char *p, *begin, *end;
    size_t base;        /* file offset of begin, so that messages point into the file */
    bool allow_long;    /* versions 1 and 2 may come from Python 2, which wrote shapes as (3L,) */
    const char *name;
    char *err;
    size_t errlen;
} npy_cursor;

typedef struct npy_header {
    rt_dtype dtype;
    bool fortran_order;
    int rank;
    int64_t dims[RT_MAX_RANK];
    size_t data_offset;
    size_t nbytes;
} npy_header;

enum { NPY_KEY_DESCR = 1, NPY_KEY_FORTRAN = 2, NPY_KEY_SHAPE = 4, NPY_KEYS_ALL = 7 };

static const struct { const char *descr; rt_dtype dtype; } npy_descrs[] = {
    {"<f4", RT_F32}, {"<f2", RT_F16}, {"<i4", RT_I32}, {"<i8", RT_I64}, {"|b1", RT_BOOL},
};

static int npy_syntax(const npy_cursor *c, const char *expected)
{
    return rt_errorf(c->err, c->errlen, c->name, "malformed header at byte %zu: expected %s",
                     c->base + (size_t)(c->p - c->begin), expected);
}

static void npy_skip_ws(npy_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool npy_peek(const npy_cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

/* A Python string literal without escapes: nothing valid in a header needs one. */
static int npy_string(npy_cursor *c, const char **s, size_t *n)
{
    char quote;
    const char *q;
    if (!npy_peek(c, '\'') && !npy_peek(c, '"'))
        return npy_syntax(c, "a quoted string");
    quote = *c->p;
    for (q = c->p + 1; q < c->end && *q != quote; q++)
        if (*q == '\\' || *q == '\n')
            return npy_syntax(c, "a string without escapes or newlines");
    if (q == c->end)
        return npy_syntax(c, "a closing quote");
    *s = c->p + 1;
    *n = (size_t)(q - *s);
    c->p = q + 1;
    return 0;
}

static int npy_descr(npy_cursor *c, npy_header *h)
{
    const char *s;
    size_t n;
    char shown[40];
    const char *why = "";
    if (npy_peek(c, '['))
        return rt_errorf(c->err, c->errlen, c->name, "unsupported structured dtype (a field list); "
                         "expected little-endian f32, f16, i32, i64 or bool");
    if (npy_string(c, &s, &n))
        return -1;
    for (size_t i = 0; i < sizeof npy_descrs / sizeof npy_descrs[0]; i++) {
        if (strlen(npy_descrs[i].descr) == n && memcmp(npy_descrs[i].descr, s, n) == 0) {
            h->dtype = npy_descrs[i].dtype;
            return 0;
        }
    }
    if (n > 0 && s[0] == '>')
        why = " (big-endian)";
    else if (n > 1 && s[1] == 'O')
        why = " (Python objects)";
    return rt_errorf(c->err, c->errlen, c->name, "unsupported dtype '%s'%s; expected little-endian "
                     "f32, f16, i32, i64 or bool ('<f4', '<f2', '<i4', '<i8' or '|b1')",
                     rt_printable(s, n, shown, sizeof shown), why);
}

static bool npy_keyword(npy_cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    /* "Trueish" is a name, not the keyword. */
    if ((size_t)(c->end - c->p) > n) {
        char next = c->p[n];
        if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
            (next >= '0' && next <= '9') || next == '_')
            return false;
    }
    c->p += n;
    return true;
}

static int npy_fortran(npy_cursor *c, npy_header *h)
{
    if (npy_keyword(c, "True"))
        h->fortran_order = true;
    else if (npy_keyword(c, "False"))
        h->fortran_order = false;
    else
        return npy_syntax(c, "True or False for 'fortran_order'");
    return 0;
}

static int npy_dim(npy_cursor *c, int64_t *out)
{
    int64_t v = 0;
    const char *start = c->p;
    if (npy_peek(c, '-'))
        return rt_errorf(c->err, c->errlen, c->name, "negative dimension in 'shape'; expected "
                         "non-negative integers");
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int digit = *c->p - '0';
        if (v > (INT64_MAX - digit) / 10)
            return rt_errorf(c->err, c->errlen, c->name, "dimension in 'shape' overflows 64 bits");
        v = v * 10 + digit;
        c->p++;
    }
    if (c->p == start)
        return npy_syntax(c, "an integer dimension");
    if (c->allow_long && (npy_peek(c, 'L') || npy_peek(c, 'l')))
        c->p++;
    *out = v;
    return 0;
}

/* Python tuple syntax: (), (5,), (2, 3) and (2, 3,); (5) is an int, not a tuple. */
static int npy_shape(npy_cursor *c, npy_header *h)
{
    if (!npy_peek(c, '('))
        return npy_syntax(c, "a tuple such as (2, 3) for 'shape'");
    c->p++;
    npy_skip_ws(c);
    h->rank = 0;
    while (!npy_peek(c, ')')) {
        if (h->rank == RT_MAX_RANK)
            return rt_errorf(c->err, c->errlen, c->name, "'shape' has more than %d dimensions; "
                             "expected rank 0..%d", RT_MAX_RANK, RT_MAX_RANK);
        if (npy_dim(c, &h->dims[h->rank++]))
            return -1;
        npy_skip_ws(c);
        if (npy_peek(c, ')') && h->rank == 1)
            return npy_syntax(c, "',' after the only dimension (a 1-d shape is written (5,))");
        if (npy_peek(c, ')'))
            break;
        if (!npy_peek(c, ','))
            return npy_syntax(c, "',' or ')' in 'shape'");
        c->p++;
        npy_skip_ws(c);
    }
    c->p++;
    return 0;
}

static int npy_entry(npy_cursor *c, npy_header *h, unsigned *seen)
{
    static const struct { const char *key; unsigned bit; } keys[] = {
        {"descr", NPY_KEY_DESCR}, {"fortran_order", NPY_KEY_FORTRAN}, {"shape", NPY_KEY_SHAPE},
    };
    const char *s;
    size_t n, i;
    char shown[40];
    if (npy_string(c, &s, &n))
        return -1;
    for (i = 0; i < 3 && !(strlen(keys[i].key) == n && memcmp(keys[i].key, s, n) == 0); i++)
        ;
    if (i == 3)
        return rt_errorf(c->err, c->errlen, c->name, "unexpected key '%s' in header; expected "
                         "'descr', 'fortran_order' and 'shape'", rt_printable(s, n, shown, sizeof shown));
    if (*seen & keys[i].bit)
        return rt_errorf(c->err, c->errlen, c->name, "duplicate key '%s' in header", keys[i].key);
    *seen |= keys[i].bit;
    npy_skip_ws(c);
    if (!npy_peek(c, ':'))
        return npy_syntax(c, "':' after a key");
    c->p++;
    npy_skip_ws(c);
    if (keys[i].bit == NPY_KEY_DESCR)
        return npy_descr(c, h);
    return keys[i].bit == NPY_KEY_FORTRAN ? npy_fortran(c, h) : npy_shape(c, h);
}

static int npy_dict(npy_cursor *c, npy_header *h)
{
    unsigned seen = 0;
    npy_skip_ws(c);
    if (!npy_peek(c, '{'))
        return npy_syntax(c, "'{' starting the header dict");
    c->p++;
    for (;;) {
        npy_skip_ws(c);
        if (npy_peek(c, '}'))
            break;
        if (npy_entry(c, h, &seen))
            return -1;
        npy_skip_ws(c);
        if (npy_peek(c, ','))
            c->p++;
        else if (!npy_peek(c, '}'))
            return npy_syntax(c, "',' or '}' in the header dict");
    }
    c->p++;
    npy_skip_ws(c);
    if (c->p != c->end)
        return npy_syntax(c, "only padding after the header dict");
    if (seen != NPY_KEYS_ALL)
        return rt_errorf(c->err, c->errlen, c->name, "header has no '%s' key; expected 'descr', "
                         "'fortran_order' and 'shape'", !(seen & NPY_KEY_DESCR) ? "descr"
                         : !(seen & NPY_KEY_FORTRAN) ? "fortran_order" : "shape");
    return 0;
}

/* Reads the preamble: magic, version, header length. Sets *start to the header's offset. */
static int npy_preamble(const unsigned char *b, size_t len, const char *name, size_t *start,
                        size_t *hlen, bool *allow_long, char *err, size_t errlen)
{
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (len < sizeof magic || memcmp(b, magic, sizeof magic) != 0)
        return rt_errorf(err, errlen, name, "bad magic: not a .npy file (expected it to start "
                         "with \\x93NUMPY)");
    if (len < 8)
        return rt_errorf(err, errlen, name, "truncated: the file ends inside the format version");
    if (b[6] < 1 || b[6] > 3 || b[7] != 0)
        return rt_errorf(err, errlen, name, "unsupported .npy format version %u.%u; expected 1.0, "
                         "2.0 or 3.0", b[6], b[7]);
    *start = b[6] == 1 ? 10 : 12;
    *allow_long = b[6] < 3;
    if (len < *start)
        return rt_errorf(err, errlen, name, "truncated: the file ends inside the header length");
    *hlen = b[8] | (size_t)b[9] << 8;
    if (b[6] > 1)
        *hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (*hlen > len - *start)
        return rt_errorf(err, errlen, name, "truncated header: header length %zu exceeds the %zu "
                         "bytes left in the file", *hlen, len - *start);
    return 0;
}

static int npy_parse_header(const unsigned char *b, size_t len, const char *name, npy_header *h,
                            char *err, size_t errlen)
{
    size_t start = 0, hlen = 0, avail;
    char shape[256];
    npy_cursor c = {0};
    memset(h, 0, sizeof *h);
    if (npy_preamble(b, len, name, &start, &hlen, &c.allow_long, err, errlen))
        return -1;
    c.begin = c.p = (const char *)b + start;
    c.end = c.begin + hlen;
    c.base = start;
    c.name = name;
    c.err = err;
    c.errlen = errlen;
    if (npy_dict(&c, h))
        return -1;
    if (h->fortran_order)
        return rt_errorf(err, errlen, name, "fortran_order True is not supported; expected C "
                         "(row-major) order, fortran_order False");
    rt_shape_str(h->rank, h->dims, false, shape, sizeof shape);
    if (!rt_shape_nbytes(h->dtype, h->rank, h->dims, &h->nbytes))
        return rt_errorf(err, errlen, name, "shape %s of %s overflows: its byte size does not fit "
                         "in 64 bits", shape, rt_dtype_name(h->dtype));
    h->data_offset = start + hlen;
    avail = len - h->data_offset;
    if (avail < h->nbytes)
        return rt_errorf(err, errlen, name, "truncated: expected %zu bytes of data, found %zu "
                         "(shape %s of %s)", h->nbytes, avail, shape, rt_dtype_name(h->dtype));
    if (avail > h->nbytes)
        return rt_errorf(err, errlen, name, "unexpected trailing data: expected %zu bytes of data, "
                         "found %zu (%zu extra after the array)", h->nbytes, avail, avail - h->nbytes);
    return 0;
}

/* ---- .npy entry points ------------------------------------------------------------------------------ */

int rt_npy_parse(const void *buf, size_t len, const char *name, rt_array *out, char *err, size_t errlen)
{
    npy_header h;
    memset(out, 0, sizeof *out);
    if (!buf)
        len = 0;
    if (npy_parse_header(buf, len, name, &h, err, errlen))
        return -1;
    if (rt_array_alloc(out, h.dtype, h.rank, h.dims, name, err, errlen))
        return -1;
    if (h.nbytes > 0)
        memcpy(out->data, (const char *)buf + h.data_offset, h.nbytes);
    if (rt_array_check(out, name, err, errlen)) {
        rt_array_free(out);
        return -1;
    }
    return 0;
}

int rt_npy_read(const char *path, rt_array *out, char *err, size_t errlen)
{
    void *buf;
    size_t len;
    npy_header h;
    memset(out, 0, sizeof *out);
    if (rt_read_file(path, &buf, &len, err, errlen))
        return -1;
    if (npy_parse_header(buf, len, path, &h, err, errlen)) {
        free(buf);
        return -1;
    }
    /* Slide the data to the front of the file buffer instead of copying it: peak memory stays
       at one copy of the file, which matters for weight files of several GB. */
    memmove(buf, (char *)buf + h.data_offset, h.nbytes);
    void *shrunk = realloc(buf, h.nbytes ? h.nbytes : 1);
    out->data = shrunk ? shrunk : buf;
    out->dtype = h.dtype;
    out->rank = h.rank;
    memcpy(out->dims, h.dims, sizeof h.dims);
    out->nbytes = h.nbytes;
    if (rt_array_check(out, path, err, errlen)) {
        rt_array_free(out);
        return -1;
    }
    return 0;
}

/* NumPy's layout: the dict, spaces, '\n', padded so that the data starts on a 64-byte boundary;
   version 2.0 only when the header no longer fits the 16-bit length of version 1.0. */
static size_t npy_format_header(const rt_array *a, const char *descr, unsigned char *out, size_t size)
{
    char shape[256];
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, rt_shape_str(a->rank, a->dims, false, shape, sizeof shape));
    size_t dlen = (size_t)n;
    size_t prefix = 10;
    size_t total = (prefix + dlen + 1 + 63) / 64 * 64;
    if (total - prefix > 0xffff) {
        prefix = 12;
        total = (prefix + dlen + 1 + 63) / 64 * 64;
    }
    size_t hlen = total - prefix;
    if (total > size)
        return 0;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = prefix == 10 ? 1 : 2;
    out[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++)
        out[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(out + prefix, dict, dlen);
    memset(out + prefix + dlen, ' ', hlen - dlen - 1);
    out[total - 1] = '\n';
    return total;
}

int rt_npy_write(const char *path, const rt_array *a, char *err, size_t errlen)
{
    unsigned char header[512];
    const char *descr = NULL;
    if (rt_array_check(a, path, err, errlen))
        return -1;
    for (size_t i = 0; i < sizeof npy_descrs / sizeof npy_descrs[0]; i++)
        if (npy_descrs[i].dtype == a->dtype)
            descr = npy_descrs[i].descr;
    if (!descr)
        return rt_errorf(err, errlen, path, "%s has no .npy dtype; expected f32, f16, i32, i64 or "
                         "bool (write %s with safetensors instead)", rt_dtype_name(a->dtype),
                         rt_dtype_name(a->dtype));
    size_t hsize = npy_format_header(a, descr, header, sizeof header);
    if (hsize == 0)
        return rt_errorf(err, errlen, path, "internal error: .npy header does not fit");
    rt_write_part parts[2] = {{header, hsize}, {a->data, a->nbytes}};
    return rt_write_file_atomic(path, parts, 2, err, errlen);
}
