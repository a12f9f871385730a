/* arena.c — one arena per compilation: AST, IR, strings and pass scratch are freed together.
 * Blocks are chained; allocation is a pointer bump, 16-byte aligned. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} arena_block;

struct ir_arena {
    arena_block *head;
};

enum { ARENA_BLOCK_SIZE = 64 * 1024 };

ir_arena *ir_arena_create(void) {
    ir_arena *a = calloc(1, sizeof *a);
    if (!a) ir_internal_error(__FILE__, __LINE__, "out of memory");
    return a;
}

void ir_arena_destroy(ir_arena *a) {
    if (!a) return;
    for (arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *ir_alloc(ir_arena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    arena_block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t cap = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b) ir_internal_error(__FILE__, __LINE__, "out of memory");
        b->used = 0;
        b->size = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *ir_strndup(ir_arena *a, const char *s, size_t n) {
    char *p = ir_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *ir_strdup(ir_arena *a, const char *s) { return ir_strndup(a, s, strlen(s)); }

void *ir_grow(ir_arena *a, void *old, size_t item_size, size_t old_count, size_t new_count) {
    void *p = ir_alloc(a, item_size * new_count);
    if (old && old_count) memcpy(p, old, item_size * old_count);
    return p;
}
