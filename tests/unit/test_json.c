/* test_json.c — unit tests for runtime/json.h: valid documents and their trees, one refused text
 * per error path (message and byte offset), escapes and surrogate pairs against an independent
 * encoder, exact int64 limits, the depth limit, and safetensors headers read through the reader. */
#include "runtime/json.h"
#include "runtime/tensor_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

/* ---- helpers ------------------------------------------------------------------------------------ */

/* Parses n bytes from an exactly sized heap copy, so that the sanitizers catch any read past the
   end: the reader must never rely on a terminator. */
static int parse_n(const char *text, size_t n, rt_json_doc *doc, rt_json_error *err)
{
    char *copy = malloc(n ? n : 1);
    if (!copy) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(copy, text, n);
    int rc = rt_json_parse(copy, n, doc, err);
    free(copy);   /* the tree keeps copies of everything it needs */
    return rc;
}

static int parse(const char *text, rt_json_doc *doc, rt_json_error *err)
{
    return parse_n(text, strlen(text), doc, err);
}

/* Checks that text is refused at byte offset with a message containing phrase. */
static void refused_n(const char *text, size_t n, size_t offset, const char *phrase, int line)
{
    rt_json_doc doc;
    rt_json_error err;
    int rc = parse_n(text, n, &doc, &err);
    if (rc != -1 || err.offset != offset || !strstr(err.message, phrase) || err.out_of_memory) {
        fprintf(stderr, "%s:%d: expected refusal at byte %zu with '%s'; got rc %d at byte %zu: %s\n",
                __FILE__, line, offset, phrase, rc, err.offset, err.message);
        failures++;
    }
    CHECK(doc.root == NULL && doc.chunks == NULL, "line %d: a refused parse must leave doc empty", line);
    if (rc == 0)
        rt_json_free(&doc);
}

static void refused(const char *text, size_t offset, const char *phrase, int line)
{
    refused_n(text, strlen(text), offset, phrase, line);
}

/* Parses a document that must be valid and returns its root (the caller frees doc). */
static const rt_json *accepted(const char *text, rt_json_doc *doc, int line)
{
    rt_json_error err;
    if (parse(text, doc, &err) != 0) {
        fprintf(stderr, "%s:%d: '%s' refused at byte %zu: %s\n", __FILE__, line, text, err.offset, err.message);
        failures++;
        return NULL;
    }
    return doc->root;
}

/* The decoded value of a one-string document, compared byte for byte with want (want_len bytes). */
static void string_is(const char *text, const char *want, size_t want_len, int line)
{
    rt_json_doc doc;
    const rt_json *v = accepted(text, &doc, line);
    bool ok = v && v->kind == RT_JSON_STRING && v->len == want_len && memcmp(v->str, want, want_len) == 0 &&
              v->str[want_len] == '\0';
    CHECK(ok, "line %d: '%s' decoded wrongly", line, text);
    rt_json_free(&doc);
}

/* ---- valid documents ----------------------------------------------------------------------------- */

static void test_scalars(void)
{
    rt_json_doc doc;
    const rt_json *v;
    v = accepted("null", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_NULL && v->offset == 0 && !v->key && !v->next);
    rt_json_free(&doc);
    v = accepted(" \t\r\ntrue \n", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_BOOL && v->boolean && v->offset == 4);
    rt_json_free(&doc);
    v = accepted("false", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_BOOL && !v->boolean);
    rt_json_free(&doc);
    v = accepted("-12.5e+3", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_NUMBER && !v->is_integer && v->len == 8 && strcmp(v->str, "-12.5e+3") == 0);
    rt_json_free(&doc);
    v = accepted("-0", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_NUMBER && v->is_integer && strcmp(v->str, "-0") == 0);
    rt_json_free(&doc);
    v = accepted("\"\"", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_STRING && v->len == 0 && v->str[0] == '\0');
    rt_json_free(&doc);
    v = accepted("[]", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_ARRAY && v->count == 0 && !v->child);
    rt_json_free(&doc);
    v = accepted("{ }", &doc, __LINE__);
    CHECK(v && v->kind == RT_JSON_OBJECT && v->count == 0 && !v->child);
    rt_json_free(&doc);
}

static void test_tree(void)
{
    rt_json_doc doc;
    /* Members keep source order and duplicates; rt_json_get finds the first. */
    const rt_json *root = accepted("{\"b\": [1, 2.0, \"x\"], \"a\": {\"k\": null}, \"b\": true}", &doc, __LINE__);
    CHECK(root && root->kind == RT_JSON_OBJECT && root->count == 3);
    const rt_json *b = root ? root->child : NULL;
    CHECK(b && b->kind == RT_JSON_ARRAY && b->count == 3 && strcmp(b->key, "b") == 0 && b->key_len == 1);
    CHECK(b && b->offset == 6);
    const rt_json *e = b ? b->child : NULL;
    CHECK(e && e->kind == RT_JSON_NUMBER && e->is_integer && !e->key && e->offset == 7);
    e = e ? e->next : NULL;
    CHECK(e && e->kind == RT_JSON_NUMBER && !e->is_integer && strcmp(e->str, "2.0") == 0);
    e = e ? e->next : NULL;
    CHECK(e && e->kind == RT_JSON_STRING && strcmp(e->str, "x") == 0 && !e->next);
    const rt_json *a = b ? b->next : NULL;
    CHECK(a && strcmp(a->key, "a") == 0 && a->kind == RT_JSON_OBJECT && a->count == 1);
    CHECK(a && a->child && a->child->kind == RT_JSON_NULL && strcmp(a->child->key, "k") == 0);
    const rt_json *b2 = a ? a->next : NULL;
    CHECK(b2 && b2->kind == RT_JSON_BOOL && strcmp(b2->key, "b") == 0 && !b2->next);
    CHECK(rt_json_get(root, "b") == b && rt_json_get(root, "a") == a);
    CHECK(rt_json_get(root, "c") == NULL && rt_json_get(root, "") == NULL && rt_json_get(b, "b") == NULL);
    CHECK(rt_json_get(NULL, "b") == NULL && rt_json_get(root, NULL) == NULL);
    rt_json_free(&doc);
    CHECK(doc.root == NULL && doc.chunks == NULL);
    rt_json_free(&doc);   /* twice is harmless */
    rt_json_free(NULL);

    /* Many values spill over several arena chunks, and a long string gets a chunk of its own. */
    size_t n = 20000, len = 0;
    char *big = malloc(n * 8 + 70000);
    CHECK(big != NULL);
    if (!big)
        return;
    big[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(big + len, "%zu,", i);
    big[len++] = '"';
    memset(big + len, 'z', 65536);
    len += 65536;
    memcpy(big + len, "\"]", 2);
    len += 2;
    rt_json_error err;
    CHECK(parse_n(big, len, &doc, &err) == 0, "%s", err.message);
    CHECK(doc.root && doc.root->count == n + 1);
    size_t i = 0;
    bool in_order = true;
    for (const rt_json *v = doc.root ? doc.root->child : NULL; v; v = v->next, i++) {
        int64_t x;
        if (i < n)
            in_order &= rt_json_int64(v, &x) && x == (int64_t)i;
        else
            in_order &= v->kind == RT_JSON_STRING && v->len == 65536 && v->str[65535] == 'z';
    }
    CHECK(in_order && i == n + 1);
    rt_json_free(&doc);
    free(big);
}

/* The reader stops at the given length: no terminator is needed and bytes past it are not seen. */
static void test_length_bound(void)
{
    rt_json_doc doc;
    rt_json_error err;
    CHECK(parse_n("[1]garbage", 3, &doc, &err) == 0);
    CHECK(doc.root && doc.root->count == 1);
    rt_json_free(&doc);
    CHECK(parse_n("12345", 2, &doc, &err) == 0 && doc.root && strcmp(doc.root->str, "12") == 0);
    rt_json_free(&doc);
    refused_n("\"abc\"", 4, 4, "unterminated string", __LINE__);
    refused_n("true", 3, 0, "expected 'true'", __LINE__);
    refused_n("[1,\0]", 5, 3, "control byte 0x00", __LINE__);
    CHECK(rt_json_parse(NULL, 5, &doc, &err) == -1 && strstr(err.message, "the end of the text"));
    CHECK(rt_json_parse("x", 1, &doc, NULL) == -1 && doc.root == NULL);   /* err may be NULL */
}

/* ---- strings -------------------------------------------------------------------------------------- */

static void test_escapes(void)
{
    string_is("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", "a\"b\\c/d\be\ff\ng\rh\ti", 17, __LINE__);
    string_is("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6, __LINE__);
    string_is("\"\\u0001\\u001f\\u007f\"", "\x01\x1f\x7f", 3, __LINE__);
    string_is("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4, __LINE__);     /* U+1F600 */
    string_is("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4, __LINE__);     /* U+10000, the first pair */
    string_is("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4, __LINE__);     /* U+10FFFF, the last pair */
    string_is("\"\\uffff\\ue000\"", "\xef\xbf\xbf\xee\x80\x80", 6, __LINE__);
    /* Raw UTF-8 of every length passes unchanged; DEL needs no escape. */
    string_is("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f", 10,
              __LINE__);
    /* Member names are decoded the same way. */
    rt_json_doc doc;
    const rt_json *root = accepted("{\"k\\u00e9\\n\": 1}", &doc, __LINE__);
    CHECK(root && root->child && root->child->key_len == 4 && memcmp(root->child->key, "k\xc3\xa9\n", 5) == 0);
    CHECK(rt_json_get(root, "k\xc3\xa9\n") == (root ? root->child : NULL));
    rt_json_free(&doc);
}

/* Writes cp as UTF-8 (independently of the reader's encoder: by the table of RFC 3629). */
static size_t ref_utf8(unsigned cp, char *out)
{
    if (cp < 0x80)
        return (size_t)sprintf(out, "%c", cp);
    if (cp < 0x800)
        return (size_t)sprintf(out, "%c%c", 0xc0 + cp / 64, 0x80 + cp % 64);
    if (cp < 0x10000)
        return (size_t)sprintf(out, "%c%c%c", 0xe0 + cp / 4096, 0x80 + cp / 64 % 64, 0x80 + cp % 64);
    return (size_t)sprintf(out, "%c%c%c%c", 0xf0 + cp / 262144, 0x80 + cp / 4096 % 64, 0x80 + cp / 64 % 64,
                           0x80 + cp % 64);
}

/* Random code points written as \u escapes (pairs above U+FFFF) and as raw UTF-8 must decode to
   the same bytes as the reference encoder gives. */
static void test_random_strings(void)
{
    unsigned long long state = 42;
    for (int round = 0; round < 300; round++) {
        char escaped[1024] = "\"", raw[1024] = "\"", want[512];
        size_t ne = 1, nr = 1, nw = 0;
        for (int k = 0; k < 20; k++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            unsigned cp = (unsigned)(state >> 33) % 0x110000;
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                cp = 0x41 + (unsigned)k;
            if (cp >= 0x10000)
                ne += (size_t)sprintf(escaped + ne, "\\u%04x\\u%04X", 0xd800 + (cp - 0x10000) / 1024,
                                      0xdc00 + (cp - 0x10000) % 1024);
            else
                ne += (size_t)sprintf(escaped + ne, "\\u%04x", cp);
            size_t w = ref_utf8(cp, want + nw);
            bool needs_escape = cp < 0x20 || cp == '"' || cp == '\\';
            if (needs_escape)
                nr += (size_t)sprintf(raw + nr, "\\u%04x", cp);
            else
                memcpy(raw + nr, want + nw, w), nr += w;
            nw += w;
        }
        escaped[ne] = raw[nr] = '"';
        escaped[ne + 1] = raw[nr + 1] = '\0';
        string_is(escaped, want, nw, __LINE__);
        string_is(raw, want, nw, __LINE__);
    }
}

/* ---- refusals, one per error path ------------------------------------------------------------------ */

static void test_value_refusals(void)
{
    refused("", 0, "expected a value (an object, array, string, number, true, false or null), found the end", __LINE__);
    refused("   ", 3, "expected a value", __LINE__);
    refused("nul", 0, "expected 'null'", __LINE__);
    refused("tru", 0, "expected 'true'", __LINE__);
    refused("falsy", 0, "expected 'false'", __LINE__);
    refused("True", 0, "expected a value", __LINE__);
    refused("\xef\xbb\xbf{}", 0, "found byte 0xef", __LINE__);   /* a byte-order mark is not JSON text */
    refused("[\x01]", 1, "found control byte 0x01", __LINE__);
    refused("'a'", 0, "found '''", __LINE__);
    refused("{} x", 3, "expected only whitespace after the top-level value, found 'x'", __LINE__);
    refused("1 2", 2, "only whitespace after the top-level value", __LINE__);
    refused("truex", 4, "only whitespace after the top-level value", __LINE__);
    refused("{}\x0b", 2, "found control byte 0x0b", __LINE__);   /* vertical tab is not whitespace */
}

static void test_number_refusals(void)
{
    refused("-", 1, "expected a digit after '-', found the end of the text", __LINE__);
    refused("-a", 1, "expected a digit after '-', found 'a'", __LINE__);
    refused("01", 1, "leading zeros", __LINE__);
    refused("-00", 2, "leading zeros", __LINE__);
    refused("1.", 2, "a digit after the decimal point", __LINE__);
    refused("1.e5", 2, "a digit after the decimal point", __LINE__);
    refused("1e", 2, "a digit in the exponent", __LINE__);
    refused("1E+", 3, "a digit in the exponent", __LINE__);
    refused(".5", 0, "expected a value", __LINE__);
    refused("+1", 0, "expected a value", __LINE__);
    refused("[1.5.2]", 4, "',' or ']'", __LINE__);
    refused("0x10", 1, "only whitespace", __LINE__);
}

static void test_string_refusals(void)
{
    refused("\"abc", 4, "unterminated string", __LINE__);
    refused("\"abc\\", 5, "unterminated string", __LINE__);
    refused("[\"a\\x\"]", 3, "invalid escape", __LINE__);
    refused("\"\\'\"", 1, "invalid escape", __LINE__);
    refused("\"\\u12\"", 1, "four hex digits", __LINE__);
    refused("\"\\u12G4\"", 1, "four hex digits", __LINE__);
    refused("\"\\u12", 1, "four hex digits", __LINE__);
    refused("\"a\\u0000b\"", 2, "\\u0000 escape; strings must not contain NUL", __LINE__);
    refused("\"\\udc00\"", 1, "unpaired surrogate \\udc00", __LINE__);
    refused("\"\\ud800\"", 1, "unpaired surrogate \\ud800; expected a \\udc00-\\udfff escape", __LINE__);
    refused("\"\\ud800x\"", 1, "unpaired surrogate \\ud800", __LINE__);
    refused("\"\\ud800\\n\"", 1, "unpaired surrogate \\ud800", __LINE__);
    refused("\"\\ud800\\u0041\"", 1, "found \\u0041", __LINE__);
    refused("\"\\ud800\\ud800\"", 1, "found \\ud800", __LINE__);
    refused("\"\\ud800\\u12\"", 7, "four hex digits", __LINE__);
    refused("\"a\x01\"", 2, "control byte 0x01 in a string; expected it escaped as \\u0001", __LINE__);
    refused("\"\t\"", 1, "control byte 0x09", __LINE__);
    refused("\"\n\"", 1, "control byte 0x0a", __LINE__);
    refused_n("\"a\0b\"", 5, 2, "control byte 0x00", __LINE__);
    /* Invalid UTF-8: a stray byte, an overlong form, an encoded surrogate, a code point above
       U+10FFFF, a sequence cut short and one that runs past the end of the text. */
    refused("\"\xff\"", 1, "not valid UTF-8", __LINE__);
    refused("\"\x80\"", 1, "not valid UTF-8", __LINE__);
    refused("\"a\xc0\xaf\"", 2, "not valid UTF-8", __LINE__);
    refused("\"\xe0\x80\xaf\"", 1, "not valid UTF-8", __LINE__);
    refused("\"\xed\xa0\x80\"", 1, "not valid UTF-8", __LINE__);
    refused("\"\xf4\x90\x80\x80\"", 1, "not valid UTF-8", __LINE__);
    refused("\"\xe2\x82\"", 1, "not valid UTF-8", __LINE__);
    refused("\"\xf0\x9f\x98", 1, "not valid UTF-8", __LINE__);
    refused("{\"a\xff\":1}", 3, "not valid UTF-8", __LINE__);
}

static void test_container_refusals(void)
{
    refused("[", 1, "expected a value", __LINE__);
    refused("[1", 2, "expected ',' or ']' after an array element, found the end of the text", __LINE__);
    refused("[1,]", 3, "expected a value", __LINE__);
    refused("[,1]", 1, "expected a value", __LINE__);
    refused("[1 2]", 3, "expected ',' or ']' after an array element, found '2'", __LINE__);
    refused("[1}", 2, "',' or ']'", __LINE__);
    refused("{", 1, "expected a member name (a string) or '}', found the end", __LINE__);
    refused("{1:2}", 1, "expected a member name (a string) or '}', found '1'", __LINE__);
    refused("{\"a\" 1}", 5, "expected ':' after the member name, found '1'", __LINE__);
    refused("{\"a\"", 4, "expected ':' after the member name, found the end", __LINE__);
    refused("{\"a\":}", 5, "expected a value", __LINE__);
    refused("{\"a\":1,}", 7, "expected a member name (a string) after ',', found '}'", __LINE__);
    refused("{\"a\":1 \"b\":2}", 7, "expected ',' or '}' after an object member, found '\"'", __LINE__);
    refused("{\"a\":1]", 6, "',' or '}'", __LINE__);
    refused("{\"a\":1,", 7, "a member name (a string) after ','", __LINE__);
}

/* Exactly RT_JSON_MAX_DEPTH levels are fine, one more is refused where it opens, and a huge depth
   is refused without recursing into it. */
static void test_depth(void)
{
    /* Alternating objects and arrays, innermost an empty array. */
    char deep[8 * RT_JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < RT_JSON_MAX_DEPTH - 1; i++)
        n += (size_t)sprintf(deep + n, i % 2 ? "[" : "{\"k\":");
    n += (size_t)sprintf(deep + n, "[]");
    for (int i = RT_JSON_MAX_DEPTH - 2; i >= 0; i--)
        deep[n++] = i % 2 ? ']' : '}';
    deep[n] = '\0';
    rt_json_doc doc;
    const rt_json *v = accepted(deep, &doc, __LINE__);
    int levels = 0;
    for (; v; v = v->child)
        levels++;
    CHECK(levels == RT_JSON_MAX_DEPTH, "%d levels", levels);
    rt_json_free(&doc);

    char over[RT_JSON_MAX_DEPTH + 2];
    memset(over, '[', RT_JSON_MAX_DEPTH + 1);
    over[RT_JSON_MAX_DEPTH + 1] = '\0';
    refused(over, RT_JSON_MAX_DEPTH, "nested more than 64 deep", __LINE__);

    size_t huge = 1000000;
    char *brackets = malloc(huge);
    CHECK(brackets != NULL);
    if (brackets) {
        memset(brackets, '[', huge);
        refused_n(brackets, huge, RT_JSON_MAX_DEPTH, "nested more than 64 deep", __LINE__);
        free(brackets);
    }
}

/* ---- numbers ---------------------------------------------------------------------------------------- */

/* rt_json_int64 on the one-number document text: want_ok, and the value when it is. */
static void int64_is(const char *text, bool want_ok, int64_t want, int line)
{
    rt_json_doc doc;
    const rt_json *v = accepted(text, &doc, line);
    int64_t got = 12345;
    bool ok = rt_json_int64(v, &got);
    CHECK(ok == want_ok && (!ok || got == want), "line %d: '%s' gave %d, %lld", line, text, ok, (long long)got);
    if (!ok)
        CHECK(got == 12345, "line %d: a refused number must leave *out alone", line);
    rt_json_free(&doc);
}

static void test_int64(void)
{
    int64_is("0", true, 0, __LINE__);
    int64_is("-0", true, 0, __LINE__);
    int64_is("42", true, 42, __LINE__);
    int64_is("-7", true, -7, __LINE__);
    int64_is("9007199254740993", true, 9007199254740993ll, __LINE__);   /* 2^53 + 1: no double can hold it */
    int64_is("9223372036854775807", true, INT64_MAX, __LINE__);
    int64_is("-9223372036854775808", true, INT64_MIN, __LINE__);
    int64_is("9223372036854775808", false, 0, __LINE__);
    int64_is("-9223372036854775809", false, 0, __LINE__);
    int64_is("18446744073709551616", false, 0, __LINE__);
    int64_is("99999999999999999999999", false, 0, __LINE__);
    int64_is("1.0", false, 0, __LINE__);
    int64_is("1e3", false, 0, __LINE__);
    int64_is("1E0", false, 0, __LINE__);
    int64_is("\"1\"", false, 0, __LINE__);
    int64_is("true", false, 0, __LINE__);
    int64_t x;
    CHECK(!rt_json_int64(NULL, &x));
}

static void test_double(void)
{
    rt_json_doc doc;
    double d = 0;
    const rt_json *v = accepted("[1.5e3, -0.25, 1e400, 12, \"1\"]", &doc, __LINE__);
    const rt_json *e = v ? v->child : NULL;
    CHECK(e && rt_json_double(e, &d) && d == 1500.0);
    e = e ? e->next : NULL;
    CHECK(e && rt_json_double(e, &d) && d == -0.25);
    e = e ? e->next : NULL;
    CHECK(e && !rt_json_double(e, &d));   /* beyond any double */
    e = e ? e->next : NULL;
    CHECK(e && rt_json_double(e, &d) && d == 12.0);
    e = e ? e->next : NULL;
    CHECK(e && !rt_json_double(e, &d) && !rt_json_double(NULL, &d));
    rt_json_free(&doc);
}

static void test_utf8_valid(void)
{
    CHECK(rt_json_utf8_valid("", 0) && rt_json_utf8_valid("abc", 3));
    CHECK(rt_json_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13));
    CHECK(!rt_json_utf8_valid("\xc3", 1) && !rt_json_utf8_valid("\xc1\xbf", 2));
    CHECK(!rt_json_utf8_valid("\xed\xbf\xbf", 3) && !rt_json_utf8_valid("\xf5\x80\x80\x80", 4));
    CHECK(!rt_json_utf8_valid("a\xe2\x82", 3) && !rt_json_utf8_valid("\xf0\x8f\xbf\xbf", 4));
}

/* ---- safetensors headers read through the reader ------------------------------------------------------ */

static int st_parse_text(const char *json, const void *data, size_t dlen, rt_array_set *s, char *err, size_t errlen)
{
    size_t hlen = strlen(json);
    unsigned char *b = malloc(8 + hlen + dlen + 1);
    if (!b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((unsigned long long)hlen >> (8 * i));
    memcpy(b + 8, json, hlen);
    if (dlen)
        memcpy(b + 8 + hlen, data, dlen);
    int rc = rt_safetensors_parse(b, 8 + hlen + dlen, "x.safetensors", s, err, errlen);
    free(b);
    return rc;
}

static void test_safetensors(void)
{
    rt_array_set s;
    char err[512] = "";
    static const unsigned char z[16] = {0};
    /* Dims above 2^53 are exact now: with a zero dim the tensor is empty and valid. */
    CHECK(st_parse_text("{\"e\":{\"dtype\":\"F32\",\"shape\":[9007199254740993,0],\"data_offsets\":[0,0]}}",
                        NULL, 0, &s, err, sizeof err) == 0, "%s", err);
    CHECK(s.count == 1 && s.items[0].array.dims[0] == 9007199254740993ll && s.items[0].array.dims[1] == 0);
    rt_array_set_free(&s);
    CHECK(st_parse_text("{\"e\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808,0],\"data_offsets\":[0,0]}}",
                        NULL, 0, &s, err, sizeof err) == -1 && strstr(err, "shape[0] is not a non-negative "
                        "integer below 2^63"), "%s", err);
    CHECK(st_parse_text("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4e0]}}", z, 4, &s, err,
                        sizeof err) == -1 && strstr(err, "\"data_offsets\" is not a pair"), "%s", err);
    CHECK(st_parse_text("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", z, 4, &s, err,
                        sizeof err) == -1 && strstr(err, "shape[0] is not"), "%s", err);
    /* Syntax errors name the byte of the file (the header starts at byte 8) and what was expected. */
    CHECK(st_parse_text("{\"w\" {}}", NULL, 0, &s, err, sizeof err) == -1 &&
          strcmp(err, "x.safetensors: invalid JSON in the header at byte 13: expected ':' after the member "
                 "name, found '{'") == 0, "%s", err);
    CHECK(st_parse_text("{\"a\\u0000b\":{}}", NULL, 0, &s, err, sizeof err) == -1 &&
          strstr(err, "at byte 11: \\u0000 escape"), "%s", err);
    CHECK(s.count == 0 && s.items == NULL);
    /* An escaped name is decoded, so the set holds the real name. */
    CHECK(st_parse_text("{\"caf\\u00e9\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", z, 4, &s, err,
                        sizeof err) == 0, "%s", err);
    CHECK(rt_array_set_find(&s, "caf\xc3\xa9") != NULL);
    rt_array_set_free(&s);
    /* The same name written two ways is still a duplicate. */
    CHECK(st_parse_text("{\"a\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]},"
                        "\"\\u0061\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[4,8]}}", z, 8, &s, err,
                        sizeof err) == -1 && strstr(err, "tensor 'a': duplicate key"), "%s", err);
}

int main(void)
{
    test_scalars();
    test_tree();
    test_length_bound();
    test_escapes();
    test_random_strings();
    test_value_refusals();
    test_number_refusals();
    test_string_refusals();
    test_container_refusals();
    test_depth();
    test_int64();
    test_double();
    test_utf8_valid();
    test_safetensors();
    if (failures) {
        fprintf(stderr, "test_json: %d of %d check(s) failed\n", failures, checks);
        return 1;
    }
    printf("test_json: all %d checks passed\n", checks);
    return 0;
}
