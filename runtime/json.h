/* json.h — a small strict JSON reader (RFC 8259) for safetensors headers and other runtime input.
 * The runtime is embedded in every generated library, which links with nothing beyond OpenBLAS,
 * libm and pthreads, so it carries its own reader instead of depending on a JSON library. */
#ifndef TFC_RUNTIME_JSON_H
#define TFC_RUNTIME_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Arrays and objects nested deeper than this are refused, so hostile text such as "[[[[..."
   cannot exhaust the stack of the recursive parser. */
#define RT_JSON_MAX_DEPTH 64

typedef enum rt_json_kind {
    RT_JSON_NULL,
    RT_JSON_BOOL,
    RT_JSON_NUMBER,
    RT_JSON_STRING,
    RT_JSON_ARRAY,
    RT_JSON_OBJECT,
} rt_json_kind;

/* One value. Every string (member names, string values, number text) is NUL-terminated and
   never contains a NUL byte: the reader refuses "\u0000", so strlen and the stored length agree. */
typedef struct rt_json rt_json;
struct rt_json {
    rt_json_kind kind;
    bool boolean;        /* RT_JSON_BOOL: the value */
    bool is_integer;     /* RT_JSON_NUMBER: written without a fraction or an exponent */
    size_t offset;       /* byte offset of the value's first byte in the parsed text */
    const char *str;     /* RT_JSON_STRING: the decoded UTF-8; RT_JSON_NUMBER: the source text */
    size_t len;          /* byte length of str */
    const char *key;     /* member name (decoded UTF-8) when the parent is an object, else NULL */
    size_t key_len;
    rt_json *child;      /* RT_JSON_ARRAY / RT_JSON_OBJECT: the first element or member */
    size_t count;        /* number of elements or members */
    rt_json *next;       /* the next element or member of the parent, in source order */
};

/* A parsed document: the tree and the arena that holds it. Objects keep their members in source
   order, duplicates included; callers that need unique names check for themselves. */
typedef struct rt_json_doc {
    rt_json *root;
    struct rt_json_chunk *chunks;   /* the arena, freed as a whole by rt_json_free */
} rt_json_doc;

/* Where and why parsing stopped: offset is the byte of the text at fault, message says what was
   expected, e.g. "expected ':' after the member name, found '}'". */
typedef struct rt_json_error {
    size_t offset;
    bool out_of_memory;   /* the text may be fine; the arena could not grow */
    char message[160];
} rt_json_error;

/* Parses exactly len bytes of text (no NUL terminator needed): optional whitespace, one value,
   optional whitespace. Refuses anything RFC 8259 does not allow, plus "\u0000" escapes, and
   requires strings to be valid UTF-8 (no overlong forms, no surrogates, no unpaired surrogate
   escapes). Returns 0 and fills doc, or -1 with doc zeroed and err (which may be NULL) filled. */
int rt_json_parse(const char *text, size_t len, rt_json_doc *doc, rt_json_error *err);
/* Frees the whole tree; NULL and an already freed or zeroed doc are fine. */
void rt_json_free(rt_json_doc *doc);

/* The first member of an object named key, or NULL (also when obj is not an object). */
const rt_json *rt_json_get(const rt_json *obj, const char *key);
/* The exact value of an integer number: true only when v is a number written without fraction or
   exponent that fits in int64_t. No rounding through double happens on the way. */
bool rt_json_int64(const rt_json *v, int64_t *out);
/* The value of any number as a double (the nearest one, as strtod gives it); false when v is not a
   number or the C library's number syntax disagrees with JSON's (a locale with a decimal comma). */
bool rt_json_double(const rt_json *v, double *out);
/* Whether the n bytes at s are well-formed UTF-8: shortest forms only, no surrogates, at most
   U+10FFFF. Used to check names before they are written. */
bool rt_json_utf8_valid(const char *s, size_t n);

#endif /* TFC_RUNTIME_JSON_H */
