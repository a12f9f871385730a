/* fuzz_json.c — libFuzzer target for the strict JSON reader (runtime/json.h): a refusal must leave
 * the document empty and point inside the text; an accepted tree must be well formed, and printed
 * back as JSON it must parse again to the same tree. Built with -fsanitize=fuzzer,address,undefined. */
#include "runtime/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out_text { char *p; size_t len, cap; } out_text;

static void put(out_text *t, const char *s, size_t n)
{
    if (n > t->cap - t->len) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap - t->len < n)
            cap *= 2;
        if (!(t->p = realloc(t->p, cap)))
            abort();
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

/* A string with every byte below 0x20, '"' and '\\' escaped; other bytes go as they are. */
static void put_string(out_text *t, const char *s, size_t n)
{
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c < 0x20 || c == '"' || c == '\\') {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(t, esc, 6);
        } else {
            put(t, &s[i], 1);
        }
    }
    put(t, "\"", 1);
}

/* Checks one value's invariants and prints it; depth counts the arrays and objects around it. */
static void check_and_print(const rt_json *v, size_t size, int depth, out_text *t)
{
    if (v->offset >= size || depth > RT_JSON_MAX_DEPTH)
        abort();
    if (v->kind == RT_JSON_STRING || v->kind == RT_JSON_NUMBER)
        if (!v->str || strlen(v->str) != v->len || !rt_json_utf8_valid(v->str, v->len))
            abort();
    switch (v->kind) {
    case RT_JSON_NULL: put(t, "null", 4); break;
    case RT_JSON_BOOL: put(t, v->boolean ? "true" : "false", v->boolean ? 4 : 5); break;
    case RT_JSON_NUMBER: {
        int64_t x;
        /* An integer's text is digits only, and a short one always fits in int64_t. */
        bool plain = strspn(v->str + (v->str[0] == '-'), "0123456789") == v->len - (v->str[0] == '-');
        if (v->is_integer != plain || (plain && v->len <= 18 && !rt_json_int64(v, &x)))
            abort();
        put(t, v->str, v->len);
        break;
    }
    case RT_JSON_STRING: put_string(t, v->str, v->len); break;
    case RT_JSON_ARRAY:
    case RT_JSON_OBJECT: {
        bool object = v->kind == RT_JSON_OBJECT;
        size_t n = 0;
        put(t, object ? "{" : "[", 1);
        for (const rt_json *c = v->child; c; c = c->next, n++) {
            if (n)
                put(t, ",", 1);
            if (object != (c->key != NULL) || c->offset <= v->offset)
                abort();
            if (object) {
                if (strlen(c->key) != c->key_len || !rt_json_utf8_valid(c->key, c->key_len))
                    abort();
                put_string(t, c->key, c->key_len);
                put(t, ":", 1);
            }
            check_and_print(c, size, depth + 1, t);
        }
        if (n != v->count)
            abort();
        put(t, object ? "}" : "]", 1);
        break;
    }
    default: abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_json_doc doc, again;
    rt_json_error err;
    if (rt_json_parse((const char *)data, size, &doc, &err) != 0) {
        if (doc.root || doc.chunks || err.offset > size || !err.message[0] || err.out_of_memory)
            abort();
        return 0;
    }
    out_text first = {0}, second = {0};
    check_and_print(doc.root, size, 0, &first);
    /* The printed form is valid JSON of the same tree, so it prints identically. */
    if (rt_json_parse(first.p, first.len, &again, &err) != 0)
        abort();
    check_and_print(again.root, first.len, 0, &second);
    if (second.len != first.len || memcmp(first.p, second.p, first.len) != 0)
        abort();
    rt_json_free(&again);
    rt_json_free(&doc);
    free(first.p);
    free(second.p);
    return 0;
}
