/* fuzz_ir_text.c — libFuzzer target for the Graph IR text parser (ir/parse*.c): any bytes give a
 * module or diagnostics, never a crash or a hang; a module that parses also verifies (unless it
 * carries a memory plan, whose meaning only the verifier checks), prints as text and as DOT, and
 * parses back to the same text (print(parse(print(m))) == print(m)). */
#define _POSIX_C_SOURCE 200809L
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

/* The module printed into a malloc'd buffer. */
static char *print_to_memory(const ir_module *m, const ir_diag *d, size_t *len) {
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f) abort();
    ir_print_module(f, m, d);
    fclose(f);
    return text;
}

/* Which value lives where, and that live buffers do not overlap, is the verifier's to check
 * (ir/verify.c); the parser reads placements as written. Everything else it checks itself. */
static bool has_plan(const ir_module *m) {
    for (int i = 0; i < m->n_graphs; i++)
        if (m->graphs[i]->planned) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    FILE *sink = fopen("/dev/null", "w");
    if (!sink) abort();
    ir_diag d;
    ir_diag_init(&d, sink);
    int file = ir_diag_add_source(&d, "fuzz.tgir", (const char *)data, size);
    ir_module *m = ir_parse_module(&d, file);
    if (m) {
        /* The parser accepted IR the verifier rejects. */
        if (!ir_verify_module(m, &d) && !has_plan(m)) abort();
        for (int i = 0; i < m->n_graphs; i++) ir_print_dot(sink, m->graphs[i], &d);
        size_t a_len, b_len;
        char *a = print_to_memory(m, &d, &a_len);
        ir_module *again = ir_parse_module(&d, ir_diag_add_source(&d, "printed.tgir", a, a_len));
        if (!again) abort();                      /* printed text that does not parse */
        char *b = print_to_memory(again, &d, &b_len);
        if (a_len != b_len || memcmp(a, b, a_len) != 0) abort();   /* not a fixed point */
        free(a);
        free(b);
        ir_module_destroy(again);
        ir_module_destroy(m);
    }
    ir_diag_free(&d);
    fclose(sink);
    return 0;
}
