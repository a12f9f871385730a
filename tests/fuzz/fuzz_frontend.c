/* fuzz_frontend.c — libFuzzer target: arbitrary bytes through the whole .tg frontend (scanner,
 * parser, lowering, shape inference). Any input may be rejected, none may crash, hang or leak;
 * a module the frontend accepts must pass the IR verifier. */
#include "frontend/frontend.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Opened once: diagnostics are the point of most inputs, printing them is not. */
static FILE *null_output(void) {
    static FILE *out;
    if (!out) out = fopen("/dev/null", "w");
    return out;
}

static void check(ir_module *m) {
    if (!m) return;
    ir_diag quiet;
    ir_diag_init(&quiet, null_output());
    if (!ir_verify_module(m, &quiet)) abort();   /* the frontend built invalid IR */
    ir_diag_free(&quiet);
    ir_module_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ir_diag d;
    ir_diag_init(&d, null_output());
    int file = ir_diag_add_source(&d, "fuzz.tg", (const char *)data, size);
    static const fe_define defines[] = {{"N", "3"}};
    fe_options opt = {defines, 1};
    check(fe_compile(&d, file, &opt));
    check(fe_compile_partial(&d, file, NULL, "g"));
    ir_diag_free(&d);
    return 0;
}
