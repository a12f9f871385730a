/* json.c — the strict JSON reader of runtime/json.h: a recursive-descent parser over a (buffer,
 * length) pair that builds the tree in one arena, decodes strings to UTF-8 and keeps numbers as
 * their source text, so integers are read exactly and nothing is rounded on the way. */
#include "runtime/json.h"

#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena ---------------------------------------------------------------------------------- */

/* Chunks grow from 4 KiB to 1 MiB; a larger request (a long string) gets a chunk of its own. */
#define JSON_CHUNK_FIRST 4096u
#define JSON_CHUNK_MAX (1u << 20)

struct rt_json_chunk {
    struct rt_json_chunk *next;
    size_t size, used;
    max_align_t data[];
};

static void *arena_alloc(struct rt_json_chunk **chunks, size_t n, size_t align)
{
    struct rt_json_chunk *c = *chunks;
    size_t at = c ? (c->used + align - 1) / align * align : 0;
    if (!c || at > c->size || n > c->size - at) {
        size_t size = !c ? JSON_CHUNK_FIRST : c->size < JSON_CHUNK_MAX / 2 ? c->size * 2 : JSON_CHUNK_MAX;
        if (size < n)
            size = n;
        if (size > SIZE_MAX - sizeof *c || !(c = malloc(sizeof *c + size)))
            return NULL;
        c->next = *chunks;
        c->size = size;
        *chunks = c;
        at = 0;
    }
    c->used = at + n;
    return (unsigned char *)c->data + at;
}

void rt_json_free(rt_json_doc *doc)
{
    if (!doc)
        return;
    while (doc->chunks) {
        struct rt_json_chunk *next = doc->chunks->next;
        free(doc->chunks);
        doc->chunks = next;
    }
    doc->root = NULL;
}

/* ---- UTF-8 -------------------------------------------------------------------------------------- */

/* Length of the UTF-8 sequence at p (at most n bytes), 0 when it is malformed, overlong, a
   surrogate or above U+10FFFF. The lo/hi bounds on the second byte rule out the last three. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (len == 0 || len > n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    for (size_t i = 1; i < len; i++) {
        if (p[i] < lo || p[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xbf;
    }
    return len;
}

bool rt_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t step = utf8_len(p + i, n - i);
        if (step == 0)
            return false;
        i += step;
    }
    return true;
}

/* Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8; returns its length. */
static size_t utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ---- the parser state and its errors ------------------------------------------------------------- */

typedef struct json_parser {
    const unsigned char *text;
    size_t len, pos;
    int depth;                      /* arrays and objects open around the current value */
    struct rt_json_chunk **chunks;
    rt_json_error *err;
    bool failed;
    unsigned char *scratch;         /* the string being decoded, before it moves to the arena */
    size_t scratch_len, scratch_cap;
} json_parser;

static int json_fail(json_parser *p, size_t offset, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones are consequences of it. */
static int json_fail(json_parser *p, size_t offset, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    p->err->offset = offset;
    p->err->out_of_memory = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int json_oom(json_parser *p)
{
    if (!p->failed) {
        json_fail(p, p->pos, "out of memory");
        p->err->out_of_memory = true;
    }
    return -1;
}

/* The byte at the current position, described for a message: 'x', a control byte, a non-ASCII
   byte or the end of the text. */
static const char *json_found(const json_parser *p, char *buf, size_t size)
{
    if (p->pos >= p->len)
        return "the end of the text";
    unsigned char c = p->text[p->pos];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, size, "'%c'", c);
    else if (c < 0x20 || c == 0x7f)
        snprintf(buf, size, "control byte 0x%02x", c);
    else
        snprintf(buf, size, "byte 0x%02x", c);
    return buf;
}

/* Fails with "expected WHAT, found X" at the current position. */
static int json_expected(json_parser *p, const char *what)
{
    char found[32];
    return json_fail(p, p->pos, "expected %s, found %s", what, json_found(p, found, sizeof found));
}

static int json_peek(const json_parser *p)
{
    return p->pos < p->len ? p->text[p->pos] : -1;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void json_skip_ws(json_parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

/* Copies n bytes to the arena as a NUL-terminated string. */
static const char *json_store(json_parser *p, const void *s, size_t n)
{
    char *copy = n < SIZE_MAX ? arena_alloc(p->chunks, n + 1, 1) : NULL;
    if (!copy)
        return NULL;
    if (n)   /* s is NULL for an empty string that never used the scratch buffer */
        memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

/* ---- strings -------------------------------------------------------------------------------------- */

static int scratch_put(json_parser *p, const unsigned char *s, size_t n)
{
    if (n > p->scratch_cap - p->scratch_len) {
        size_t cap = p->scratch_cap ? p->scratch_cap : 256;
        while (cap - p->scratch_len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        unsigned char *grown = cap - p->scratch_len >= n ? realloc(p->scratch, cap) : NULL;
        if (!grown)
            return json_oom(p);
        p->scratch = grown;
        p->scratch_cap = cap;
    }
    memcpy(p->scratch + p->scratch_len, s, n);
    p->scratch_len += n;
    return 0;
}

/* The four hex digits of a \u escape that starts at byte at. */
static int json_hex4(json_parser *p, size_t at, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = at + 2; i < at + 6; i++) {
        unsigned char c = i < p->len ? p->text[i] : 0;
        int d = is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return json_fail(p, at, "a \\u escape needs four hex digits");
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* escape = "\" ( %x22 / %x5C / %x2F / %x62 / %x66 / %x6E / %x72 / %x74 / %x75 4HEXDIG ), where a
   UTF-16 surrogate pair (two \u escapes) stands for one code point above U+FFFF. */
static int json_escape(json_parser *p)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = p->pos;
    int e = at + 1 < p->len ? p->text[at + 1] : -1;
    const char *simple = e > 0 ? strchr(from, e) : NULL;
    uint32_t cp = 0, low = 0; /* set by hex4 before use; gcc -O3 cannot see it */
    unsigned char utf8[4];
    if (simple) {
        p->pos += 2;
        return scratch_put(p, (const unsigned char *)&to[simple - from], 1);
    }
    if (e < 0)
        return json_fail(p, p->len, "unterminated string; expected '\"' before the end of the text");
    if (e != 'u')
        return json_fail(p, at, "invalid escape; expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
    if (json_hex4(p, at, &cp))
        return -1;
    p->pos = at + 6;
    if (cp == 0)
        return json_fail(p, at, "\\u0000 escape; strings must not contain NUL");
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return json_fail(p, at, "unpaired surrogate \\u%04x; a low surrogate must follow a high one", (unsigned)cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        bool escape_follows = p->pos + 1 < p->len && p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u';
        if (!escape_follows)
            return json_fail(p, at, "unpaired surrogate \\u%04x; expected a \\udc00-\\udfff escape after it",
                             (unsigned)cp);
        if (json_hex4(p, p->pos, &low))
            return -1;
        if (low < 0xdc00 || low > 0xdfff)
            return json_fail(p, at, "unpaired surrogate \\u%04x; expected a \\udc00-\\udfff escape after it, "
                             "found \\u%04x", (unsigned)cp, (unsigned)low);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        p->pos += 6;
    }
    return scratch_put(p, utf8, utf8_encode(cp, utf8));
}

/* string = quotation-mark *char quotation-mark, with unescaped chars at least U+0020 and valid
   UTF-8. Decodes into the arena; the current byte is the opening quote. */
static int json_string(json_parser *p, const char **out, size_t *out_len)
{
    p->pos++;
    p->scratch_len = 0;
    for (;;) {
        size_t run = p->pos;
        /* Plain ASCII is copied in runs; everything else is looked at byte by byte. */
        while (run < p->len && p->text[run] >= 0x20 && p->text[run] < 0x80 && p->text[run] != '"' &&
               p->text[run] != '\\')
            run++;
        if (run > p->pos && scratch_put(p, p->text + p->pos, run - p->pos))
            return -1;
        p->pos = run;
        if (p->pos >= p->len)
            return json_fail(p, p->pos, "unterminated string; expected '\"' before the end of the text");
        unsigned char c = p->text[p->pos];
        if (c == '"')
            break;
        if (c == '\\') {
            if (json_escape(p))
                return -1;
            continue;
        }
        if (c < 0x20)
            return json_fail(p, p->pos, "control byte 0x%02x in a string; expected it escaped as \\u%04x", c, c);
        size_t step = utf8_len(p->text + p->pos, p->len - p->pos);
        if (step == 0)
            return json_fail(p, p->pos, "string is not valid UTF-8");
        if (scratch_put(p, p->text + p->pos, step))
            return -1;
        p->pos += step;
    }
    p->pos++;
    if (!(*out = json_store(p, p->scratch, p->scratch_len)))
        return json_oom(p);
    *out_len = p->scratch_len;
    return 0;
}

/* ---- numbers and literals ------------------------------------------------------------------------- */

static void json_digits(json_parser *p)
{
    while (is_digit(json_peek(p)))
        p->pos++;
}

/* number = [ "-" ] ( "0" / %x31-39 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT ] */
static int json_number(json_parser *p, rt_json *v)
{
    size_t start = p->pos;
    v->is_integer = true;
    if (json_peek(p) == '-')
        p->pos++;
    if (json_peek(p) == '0') {
        p->pos++;
        if (is_digit(json_peek(p)))
            return json_fail(p, p->pos, "a number must not have leading zeros");
    } else if (is_digit(json_peek(p))) {
        json_digits(p);
    } else {
        return json_expected(p, "a digit after '-'");
    }
    if (json_peek(p) == '.') {
        v->is_integer = false;
        p->pos++;
        if (!is_digit(json_peek(p)))
            return json_expected(p, "a digit after the decimal point");
        json_digits(p);
    }
    if (json_peek(p) == 'e' || json_peek(p) == 'E') {
        v->is_integer = false;
        p->pos++;
        if (json_peek(p) == '+' || json_peek(p) == '-')
            p->pos++;
        if (!is_digit(json_peek(p)))
            return json_expected(p, "a digit in the exponent");
        json_digits(p);
    }
    v->len = p->pos - start;
    if (!(v->str = json_store(p, p->text + start, v->len)))
        return json_oom(p);
    return 0;
}

/* false / null / true: the whole word must be there. */
static int json_literal(json_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return json_fail(p, p->pos, "expected '%s'", word);
    p->pos += n;
    return 0;
}

/* ---- arrays, objects and values -------------------------------------------------------------------- */

static int json_value(json_parser *p, rt_json **out);

/* array = "[" [ value *( "," value ) ] "]" */
static int json_array(json_parser *p, rt_json *v)
{
    rt_json **tail = &v->child;
    p->pos++;
    json_skip_ws(p);
    if (json_peek(p) == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (json_value(p, tail))
            return -1;
        tail = &(*tail)->next;
        v->count++;
        json_skip_ws(p);
        if (json_peek(p) == ']') {
            p->pos++;
            return 0;
        }
        if (json_peek(p) != ',')
            return json_expected(p, "',' or ']' after an array element");
        p->pos++;
    }
}

/* object = "{" [ member *( "," member ) ] "}"; member = string ":" value */
static int json_object(json_parser *p, rt_json *v)
{
    rt_json **tail = &v->child;
    p->pos++;
    json_skip_ws(p);
    if (json_peek(p) == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        json_skip_ws(p);
        if (json_peek(p) != '"')
            return json_expected(p, v->count ? "a member name (a string) after ','"
                                             : "a member name (a string) or '}'");
        if (json_string(p, &key, &key_len))
            return -1;
        json_skip_ws(p);
        if (json_peek(p) != ':')
            return json_expected(p, "':' after the member name");
        p->pos++;
        if (json_value(p, tail))
            return -1;
        (*tail)->key = key;
        (*tail)->key_len = key_len;
        tail = &(*tail)->next;
        v->count++;
        json_skip_ws(p);
        if (json_peek(p) == '}') {
            p->pos++;
            return 0;
        }
        if (json_peek(p) != ',')
            return json_expected(p, "',' or '}' after an object member");
        p->pos++;
    }
}

/* Arrays and objects parse their contents one level deeper; the limit keeps recursion bounded. */
static int json_container(json_parser *p, rt_json *v, bool is_array)
{
    if (p->depth == RT_JSON_MAX_DEPTH)
        return json_fail(p, p->pos, "arrays and objects nested more than %d deep", RT_JSON_MAX_DEPTH);
    p->depth++;
    v->kind = is_array ? RT_JSON_ARRAY : RT_JSON_OBJECT;
    int rc = is_array ? json_array(p, v) : json_object(p, v);
    p->depth--;
    return rc;
}

/* value = false / null / true / object / array / number / string, with whitespace before it */
static int json_value(json_parser *p, rt_json **out)
{
    json_skip_ws(p);
    rt_json *v = arena_alloc(p->chunks, sizeof *v, _Alignof(rt_json));
    if (!v)
        return json_oom(p);
    memset(v, 0, sizeof *v);
    v->offset = p->pos;
    *out = v;
    int c = json_peek(p);
    switch (c) {
    case '{': return json_container(p, v, false);
    case '[': return json_container(p, v, true);
    case '"': v->kind = RT_JSON_STRING; return json_string(p, &v->str, &v->len);
    case 'n': v->kind = RT_JSON_NULL; return json_literal(p, "null");
    case 't': v->kind = RT_JSON_BOOL; v->boolean = true; return json_literal(p, "true");
    case 'f': v->kind = RT_JSON_BOOL; return json_literal(p, "false");
    default: break;
    }
    if (c == '-' || is_digit(c)) {
        v->kind = RT_JSON_NUMBER;
        return json_number(p, v);
    }
    return json_expected(p, "a value (an object, array, string, number, true, false or null)");
}

/* JSON-text = ws value ws */
int rt_json_parse(const char *text, size_t len, rt_json_doc *doc, rt_json_error *err)
{
    rt_json_error ignored;
    json_parser p = {.text = (const unsigned char *)text, .len = text ? len : 0, .err = err ? err : &ignored};
    memset(doc, 0, sizeof *doc);
    memset(p.err, 0, sizeof *p.err);
    p.chunks = &doc->chunks;
    int rc = json_value(&p, &doc->root);
    if (rc == 0) {
        json_skip_ws(&p);
        if (p.pos < p.len)
            rc = json_expected(&p, "only whitespace after the top-level value");
    }
    free(p.scratch);
    if (rc != 0)
        rt_json_free(doc);
    return rc;
}

/* ---- reading values -------------------------------------------------------------------------------- */

const rt_json *rt_json_get(const rt_json *obj, const char *key)
{
    if (!obj || obj->kind != RT_JSON_OBJECT || !key)
        return NULL;
    for (const rt_json *m = obj->child; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}

bool rt_json_int64(const rt_json *v, int64_t *out)
{
    if (!v || v->kind != RT_JSON_NUMBER || !v->is_integer)
        return false;
    const char *s = v->str;
    bool negative = *s == '-';
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, n = 0;
    for (s += negative; *s; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (n > (limit - digit) / 10)
            return false;
        n = n * 10 + digit;
    }
    /* -(2^63) has no positive int64_t counterpart to negate. */
    *out = !negative ? (int64_t)n : n == limit ? INT64_MIN : -(int64_t)n;
    return true;
}

bool rt_json_double(const rt_json *v, double *out)
{
    if (!v || v->kind != RT_JSON_NUMBER)
        return false;
    char *end;
    double d = strtod(v->str, &end);
    if (*end != '\0' || d > DBL_MAX || d < -DBL_MAX)
        return false;
    *out = d;
    return true;
}
