/* safetensors.c — named array sets and the safetensors format: an 8-byte little-endian header
 * length, a JSON header mapping names to {dtype, shape, data_offsets}, then one data buffer.
 * Validation follows the reference implementation: tensors must tile the buffer exactly. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/tensor_file.h"

#include "runtime/json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- named array sets ------------------------------------------------------------------------ */

void rt_array_set_free(rt_array_set *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->count; i++) {
        free(s->items[i].name);
        rt_array_free(&s->items[i].array);
    }
    free(s->items);
    s->items = NULL;
    s->count = 0;
}

const rt_array *rt_array_set_find(const rt_array_set *s, const char *name)
{
    if (!s || !name)
        return NULL;
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, name) == 0)
            return &s->items[i].array;
    return NULL;
}

int rt_array_set_add(rt_array_set *s, const char *name, const rt_array *a)
{
    if (!s || !a || s->count < 0 || s->count == INT_MAX || (!a->data && a->nbytes))
        return -1;
    /* Copy before growing: a and name may point into s->items, which realloc can move. */
    rt_array copy = *a;
    char *name_copy = strdup(name ? name : "");
    copy.data = malloc(a->nbytes ? a->nbytes : 1);
    if (!name_copy || !copy.data) {
        free(name_copy);
        free(copy.data);
        return -1;
    }
    if (a->nbytes)
        memcpy(copy.data, a->data, a->nbytes);
    /* Growing by one keeps no hidden capacity, so sets built by hand stay valid inputs. */
    rt_named_array *items = realloc(s->items, ((size_t)s->count + 1) * sizeof *items);
    if (!items) {
        free(name_copy);
        free(copy.data);
        return -1;
    }
    s->items = items;
    items[s->count].name = name_copy;
    items[s->count].array = copy;
    s->count++;
    return 0;
}

/* ---- dtypes and messages ------------------------------------------------------------------------- */

static const char *const st_dtype_names[RT_DTYPE_COUNT] = {"F32", "F16", "BF16", "I32", "I64", "BOOL"};

/* "file: tensor 'name'" as a message prefix; the tensor name comes from the file, so it is
   made printable and cut short. */
static const char *st_prefix(char *buf, size_t size, const char *file, const char *tensor)
{
    char shown[72];
    snprintf(buf, size, "%s: tensor '%s'", file ? file : "<buffer>",
             rt_printable(tensor, strlen(tensor), shown, sizeof shown));
    return buf;
}

static int st_tensor_error(char *err, size_t errlen, const char *file, const char *tensor,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int st_tensor_error(char *err, size_t errlen, const char *file, const char *tensor,
                           const char *fmt, ...)
{
    char prefix[1024];
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_errorf(err, errlen, st_prefix(prefix, sizeof prefix, file, tensor), "%s", msg);
}

/* ---- header entries ----------------------------------------------------------------------------- */

typedef struct st_tensor {
    const char *name;   /* points into the JSON tree */
    rt_dtype dtype;
    int rank;
    int64_t dims[RT_MAX_RANK];
    size_t begin, end;
} st_tensor;

/* Dims and offsets are read from the number's text, exact up to 2^63 - 1; a fraction, an exponent
   or a larger value is refused rather than rounded. */
static bool st_uint(const rt_json *item, int64_t *out)
{
    return rt_json_int64(item, out) && *out >= 0;
}

/* The one member named key; refuses a missing or repeated one. */
static const rt_json *st_field(const rt_json *obj, const char *key, const char *file, const char *tensor,
                               char *err, size_t errlen)
{
    const rt_json *found = NULL;
    for (const rt_json *c = obj->child; c; c = c->next) {
        if (strcmp(c->key, key) != 0)
            continue;
        if (found) {
            st_tensor_error(err, errlen, file, tensor, "duplicate key \"%s\"", key);
            return NULL;
        }
        found = c;
    }
    if (!found)
        st_tensor_error(err, errlen, file, tensor, "missing \"%s\"; expected an object with "
                        "\"dtype\", \"shape\" and \"data_offsets\"", key);
    return found;
}

static int st_dtype(const rt_json *item, st_tensor *t, const char *file, char *err, size_t errlen)
{
    char shown[40];
    if (item->kind != RT_JSON_STRING)
        return st_tensor_error(err, errlen, file, t->name, "\"dtype\" is not a string; expected "
                               "F32, F16, BF16, I32, I64 or BOOL");
    for (int i = 0; i < RT_DTYPE_COUNT; i++) {
        if (strcmp(item->str, st_dtype_names[i]) == 0) {
            t->dtype = (rt_dtype)i;
            return 0;
        }
    }
    return st_tensor_error(err, errlen, file, t->name, "unsupported dtype '%s'; expected F32, F16, "
                           "BF16, I32, I64 or BOOL", rt_printable(item->str, item->len, shown, sizeof shown));
}

static int st_shape(const rt_json *item, st_tensor *t, const char *file, char *err, size_t errlen)
{
    if (item->kind != RT_JSON_ARRAY)
        return st_tensor_error(err, errlen, file, t->name, "\"shape\" is not an array; expected a "
                               "list of non-negative integers");
    t->rank = 0;
    for (const rt_json *d = item->child; d; d = d->next) {
        if (t->rank == RT_MAX_RANK)
            return st_tensor_error(err, errlen, file, t->name, "rank %zu exceeds the maximum of %d",
                                   item->count, RT_MAX_RANK);
        if (!st_uint(d, &t->dims[t->rank]))
            return st_tensor_error(err, errlen, file, t->name, "shape[%d] is not a non-negative "
                                   "integer below 2^63", t->rank);
        t->rank++;
    }
    return 0;
}

static int st_offsets(const rt_json *item, st_tensor *t, const char *file, char *err, size_t errlen)
{
    int64_t v[2];
    /* Past SIZE_MAX an offset cannot be in the buffer; refusing it here keeps the casts exact. */
    if (item->kind != RT_JSON_ARRAY || item->count != 2 || !st_uint(item->child, &v[0]) ||
        !st_uint(item->child->next, &v[1]) || (uint64_t)v[0] > SIZE_MAX || (uint64_t)v[1] > SIZE_MAX)
        return st_tensor_error(err, errlen, file, t->name, "\"data_offsets\" is not a pair of "
                               "non-negative integers; expected [begin, end]");
    t->begin = (size_t)v[0];
    t->end = (size_t)v[1];
    return 0;
}

static int st_entry(const rt_json *e, st_tensor *t, const char *file, char *err, size_t errlen)
{
    const rt_json *dtype, *shape, *offsets;
    t->name = e->key;
    if (e->kind != RT_JSON_OBJECT)
        return st_tensor_error(err, errlen, file, t->name, "entry is not an object; expected "
                               "{\"dtype\", \"shape\", \"data_offsets\"}");
    if (!(dtype = st_field(e, "dtype", file, t->name, err, errlen)) ||
        !(shape = st_field(e, "shape", file, t->name, err, errlen)) ||
        !(offsets = st_field(e, "data_offsets", file, t->name, err, errlen)))
        return -1;
    if (st_dtype(dtype, t, file, err, errlen) || st_shape(shape, t, file, err, errlen) ||
        st_offsets(offsets, t, file, err, errlen))
        return -1;
    return 0;
}

static int st_metadata(const rt_json *meta, const char *file, char *err, size_t errlen)
{
    if (meta->kind != RT_JSON_OBJECT)
        return rt_errorf(err, errlen, file, "\"__metadata__\" is not an object; expected a map of "
                         "strings to strings");
    for (const rt_json *c = meta->child; c; c = c->next)
        if (c->kind != RT_JSON_STRING)
            return rt_errorf(err, errlen, file, "\"__metadata__\" has a non-string value; expected "
                             "a map of strings to strings");
    return 0;
}

/* ---- whole-header checks ---------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorting rather than comparing all pairs: a 100 MB header can hold millions of keys. */
static int st_find_duplicate(const char **names, size_t n)
{
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return (int)i;
    return -1;
}

static int st_check_keys(const rt_json *root, size_t *ntensors, const char *file, char *err, size_t errlen)
{
    size_t n = root->count;
    if (n > INT_MAX)
        return rt_errorf(err, errlen, file, "header has %zu entries; at most %d are supported", n, INT_MAX);
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return rt_errorf(err, errlen, file, "out of memory checking %zu header keys", n);
    size_t i = 0;
    *ntensors = 0;
    for (const rt_json *c = root->child; c; c = c->next) {
        names[i++] = c->key;
        *ntensors += strcmp(c->key, "__metadata__") != 0;
    }
    int dup = st_find_duplicate(names, n);
    int rc = dup < 0 ? 0 : st_tensor_error(err, errlen, file, names[dup], "duplicate key in header; "
                                           "expected each name once");
    free(names);
    return rc;
}

static int st_collect(const rt_json *root, st_tensor *ts, const char *file, char *err, size_t errlen)
{
    size_t i = 0;
    for (const rt_json *c = root->child; c; c = c->next) {
        if (strcmp(c->key, "__metadata__") == 0) {
            if (st_metadata(c, file, err, errlen))
                return -1;
            continue;
        }
        if (st_entry(c, &ts[i++], file, err, errlen))
            return -1;
    }
    return 0;
}

static int st_check_size(const st_tensor *t, size_t dlen, const char *file, char *err, size_t errlen)
{
    char shape[256];
    size_t nbytes;
    rt_shape_str(t->rank, t->dims, true, shape, sizeof shape);
    if (t->begin > t->end)
        return st_tensor_error(err, errlen, file, t->name, "data_offsets [%zu, %zu] end before they "
                               "begin; expected begin <= end", t->begin, t->end);
    if (t->end > dlen)
        return st_tensor_error(err, errlen, file, t->name, "data_offsets [%zu, %zu] are out of range: "
                               "the data buffer has %zu bytes", t->begin, t->end, dlen);
    if (!rt_shape_nbytes(t->dtype, t->rank, t->dims, &nbytes))
        return st_tensor_error(err, errlen, file, t->name, "shape %s overflows: its byte size does "
                               "not fit in 64 bits", shape);
    if (nbytes != t->end - t->begin)
        return st_tensor_error(err, errlen, file, t->name, "wrong byte length: shape %s of %s needs "
                               "%zu bytes but data_offsets [%zu, %zu] span %zu", shape,
                               st_dtype_names[t->dtype], nbytes, t->begin, t->end, t->end - t->begin);
    return 0;
}

static int cmp_offsets(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Like the reference implementation, tensors must tile the data buffer: no overlap (two names
   aliasing the same bytes), no gap and no unclaimed tail (bytes no reader would ever check). */
static int st_check_tiling(st_tensor *ts, size_t n, size_t dlen, const char *file, char *err, size_t errlen)
{
    const st_tensor **order = malloc((n ? n : 1) * sizeof *order);
    size_t covered = 0;
    int rc = 0;
    if (!order)
        return rt_errorf(err, errlen, file, "out of memory checking %zu tensors", n);
    for (size_t i = 0; i < n; i++)
        order[i] = &ts[i];
    qsort(order, n, sizeof *order, cmp_offsets);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char other[72];
        if (order[i]->begin < covered)
            rc = st_tensor_error(err, errlen, file, order[i]->name, "overlaps tensor '%s' (data_offsets "
                                 "[%zu, %zu] and [%zu, %zu]); expected disjoint tensors",
                                 rt_printable(order[i - 1]->name, strlen(order[i - 1]->name), other,
                                 sizeof other), order[i]->begin, order[i]->end, order[i - 1]->begin,
                                 order[i - 1]->end);
        else if (order[i]->begin > covered)
            rc = rt_errorf(err, errlen, file, "bytes %zu..%zu of the data buffer belong to no tensor; "
                           "expected tensors to be contiguous", covered, order[i]->begin);
        covered = order[i]->end;
    }
    if (rc == 0 && covered != dlen)
        rc = rt_errorf(err, errlen, file, "unexpected trailing data: the data buffer has %zu bytes "
                       "but the tensors cover only %zu", dlen, covered);
    free(order);
    return rc;
}

/* ---- parsing ------------------------------------------------------------------------------------ */

static int st_preamble(const unsigned char *b, size_t len, const char *name, size_t *hlen,
                       char *err, size_t errlen)
{
    uint64_t n = 0;
    if (len < 8)
        return rt_errorf(err, errlen, name, "truncated: the file has %zu bytes; expected at least 8 "
                         "(the header length)", len);
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    if (n > RT_SAFETENSORS_MAX_HEADER)
        return rt_errorf(err, errlen, name, "header length %llu exceeds the limit of %u bytes",
                         (unsigned long long)n, RT_SAFETENSORS_MAX_HEADER);
    if (n > len - 8)
        return rt_errorf(err, errlen, name, "truncated header: header length %llu exceeds the %zu "
                         "bytes left in the file", (unsigned long long)n, len - 8);
    *hlen = (size_t)n;
    return 0;
}

/* The header as a JSON object. The reader refuses what lenient parsers let through: invalid
   UTF-8, raw control bytes and "\u0000" (which would cut a name short, letting "a\u0000b" pose as
   "a"), so every name is the whole, valid UTF-8 string the file holds. Byte offsets in messages
   count from the start of the file. */
static int st_parse_json(const unsigned char *h, size_t hlen, rt_json_doc *doc, const char *name,
                         char *err, size_t errlen)
{
    rt_json_error e;
    if (rt_json_parse((const char *)h, hlen, doc, &e) != 0) {
        if (e.out_of_memory)
            return rt_errorf(err, errlen, name, "out of memory reading the %zu-byte header", hlen);
        return rt_errorf(err, errlen, name, "invalid JSON in the header at byte %zu: %s", 8 + e.offset,
                         e.message);
    }
    if (doc->root->kind != RT_JSON_OBJECT) {
        rt_json_free(doc);
        return rt_errorf(err, errlen, name, "header is not a JSON object; expected {\"name\": "
                         "{\"dtype\", \"shape\", \"data_offsets\"}, ...}");
    }
    return 0;
}

static int st_copy_tensor(const st_tensor *t, const unsigned char *data, rt_named_array *item,
                          const char *file, char *err, size_t errlen)
{
    char prefix[1024];
    st_prefix(prefix, sizeof prefix, file, t->name);
    if (rt_array_alloc(&item->array, t->dtype, t->rank, t->dims, prefix, err, errlen))
        return -1;
    if (t->end > t->begin)
        memcpy(item->array.data, data + t->begin, t->end - t->begin);
    if (!(item->name = strdup(t->name)))
        return rt_errorf(err, errlen, file, "out of memory copying tensor names");
    return rt_array_check(&item->array, prefix, err, errlen);
}

static int st_build(const st_tensor *ts, size_t n, const unsigned char *data, rt_array_set *out,
                    const char *file, char *err, size_t errlen)
{
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!out->items)
        return rt_errorf(err, errlen, file, "out of memory for %zu tensors", n);
    for (size_t i = 0; i < n; i++) {
        out->count++;   /* counted first so that a failure part-way frees this item too */
        if (st_copy_tensor(&ts[i], data, &out->items[i], file, err, errlen))
            return -1;
    }
    return 0;
}

int rt_safetensors_parse(const void *buf, size_t len, const char *name, rt_array_set *out,
                         char *err, size_t errlen)
{
    const unsigned char *b = buf;
    size_t hlen = 0, n = 0;
    rt_json_doc doc;
    memset(out, 0, sizeof *out);
    if (!b)
        len = 0;
    if (st_preamble(b, len, name, &hlen, err, errlen) || st_parse_json(b + 8, hlen, &doc, name, err, errlen))
        return -1;
    const rt_json *root = doc.root;
    st_tensor *ts = NULL;
    size_t dlen = len - 8 - hlen;
    int rc = st_check_keys(root, &n, name, err, errlen);
    if (rc == 0 && !(ts = calloc(n ? n : 1, sizeof *ts)))
        rc = rt_errorf(err, errlen, name, "out of memory for %zu tensors", n);
    if (rc == 0)
        rc = st_collect(root, ts, name, err, errlen);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = st_check_size(&ts[i], dlen, name, err, errlen);
    if (rc == 0)
        rc = st_check_tiling(ts, n, dlen, name, err, errlen);
    if (rc == 0)
        rc = st_build(ts, n, b + 8 + hlen, out, name, err, errlen);
    if (rc != 0)
        rt_array_set_free(out);
    free(ts);
    rt_json_free(&doc);
    return rc;
}

int rt_safetensors_read(const char *path, rt_array_set *out, char *err, size_t errlen)
{
    void *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    if (rt_read_file(path, &buf, &len, err, errlen))
        return -1;
    int rc = rt_safetensors_parse(buf, len, path, out, err, errlen);
    free(buf);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------------- */

typedef struct st_text { char *p; size_t len, cap; bool oom; } st_text;

static void text_put(st_text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (n > t->cap - t->len) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap - t->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *p = cap - t->len >= n ? realloc(t->p, cap) : NULL;
        if (!p) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void text_str(st_text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

static void text_json_string(st_text *t, const char *s)
{
    text_put(t, "\"", 1);
    for (; *s; s++) {
        char esc[8];
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = *s;
            text_put(t, esc, 2);
        } else if ((unsigned char)*s < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)*s);
            text_put(t, esc, 6);
        } else {
            text_put(t, s, 1);
        }
    }
    text_put(t, "\"", 1);
}

/* One entry, compact like the reference writer; integers are printed exactly, which a
   double-based JSON printer would not guarantee above 2^53. */
static void text_entry(st_text *t, const rt_named_array *item, size_t begin)
{
    char num[48];
    text_json_string(t, item->name);
    text_str(t, ":{\"dtype\":\"");
    text_str(t, st_dtype_names[item->array.dtype]);
    text_str(t, "\",\"shape\":[");
    for (int d = 0; d < item->array.rank; d++) {
        snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)item->array.dims[d]);
        text_str(t, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", begin, begin + item->array.nbytes);
    text_str(t, num);
}

static int st_check_item(const rt_named_array *item, const char *path, char *err, size_t errlen)
{
    char prefix[1024];
    if (!item->name)
        return rt_errorf(err, errlen, path, "a tensor has no name");
    if (!rt_json_utf8_valid(item->name, strlen(item->name)))
        return st_tensor_error(err, errlen, path, item->name, "name is not valid UTF-8");
    if (strcmp(item->name, "__metadata__") == 0)
        return st_tensor_error(err, errlen, path, item->name, "name is reserved for metadata");
    return rt_array_check(&item->array, st_prefix(prefix, sizeof prefix, path, item->name), err, errlen);
}

static int st_check_set(const rt_array_set *s, const char *path, char *err, size_t errlen)
{
    if (!s || s->count < 0 || (s->count > 0 && !s->items))
        return rt_errorf(err, errlen, path, "invalid array set");
    const char **names = malloc(((size_t)s->count + 1) * sizeof *names);
    if (!names)
        return rt_errorf(err, errlen, path, "out of memory");
    int rc = 0;
    for (int i = 0; i < s->count && rc == 0; i++) {
        rc = st_check_item(&s->items[i], path, err, errlen);
        names[i] = s->items[i].name;
    }
    int dup = rc == 0 ? st_find_duplicate(names, (size_t)s->count) : -1;
    if (dup >= 0)
        rc = st_tensor_error(err, errlen, path, names[dup], "name appears twice; expected unique names");
    free(names);
    return rc;
}

/* The header, padded with spaces to a multiple of 8 so that the data buffer starts aligned. */
static int st_format_header(const rt_array_set *s, st_text *t, const char *path, char *err, size_t errlen)
{
    size_t offset = 0;
    text_put(t, "{", 1);
    for (int i = 0; i < s->count; i++) {
        if (s->items[i].array.nbytes > SIZE_MAX - offset)
            return rt_errorf(err, errlen, path, "total data size overflows");
        if (i)
            text_put(t, ",", 1);
        text_entry(t, &s->items[i], offset);
        offset += s->items[i].array.nbytes;
    }
    text_put(t, "}", 1);
    while (t->len % 8 && !t->oom)
        text_put(t, " ", 1);
    if (t->oom)
        return rt_errorf(err, errlen, path, "out of memory formatting the header");
    if (t->len > RT_SAFETENSORS_MAX_HEADER)
        return rt_errorf(err, errlen, path, "header of %zu bytes exceeds the limit of %u bytes",
                         t->len, RT_SAFETENSORS_MAX_HEADER);
    return 0;
}

int rt_safetensors_write(const char *path, const rt_array_set *s, char *err, size_t errlen)
{
    st_text header = {0};
    unsigned char lenbuf[8];
    if (st_check_set(s, path, err, errlen) || st_format_header(s, &header, path, err, errlen)) {
        free(header.p);
        return -1;
    }
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
    rt_write_part *parts = malloc(((size_t)s->count + 2) * sizeof *parts);
    if (!parts) {
        free(header.p);
        return rt_errorf(err, errlen, path, "out of memory");
    }
    parts[0] = (rt_write_part){lenbuf, 8};
    parts[1] = (rt_write_part){header.p, header.len};
    for (int i = 0; i < s->count; i++)
        parts[i + 2] = (rt_write_part){s->items[i].array.data, s->items[i].array.nbytes};
    int rc = rt_write_file_atomic(path, parts, (size_t)s->count + 2, err, errlen);
    free(parts);
    free(header.p);
    return rc;
}
