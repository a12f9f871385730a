/* diag.c — the one place that reports user errors: `file:line:col: error: ...`, the source
 * line and a caret, as clang does. Errors are counted; each phase stops at its end if any. */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

void ir_diag_init(ir_diag *d, FILE *out) {
    memset(d, 0, sizeof *d);
    d->out = out ? out : stderr;
}

void ir_diag_free(ir_diag *d) {
    for (int i = 0; i < d->n_sources; i++) {
        free(d->sources[i].name);
        free(d->sources[i].text);
    }
    free(d->sources);
    d->sources = NULL;
    d->n_sources = 0;
}

int ir_diag_add_source(ir_diag *d, const char *name, const char *text, size_t len) {
    ir_source *grown = realloc(d->sources, (size_t)(d->n_sources + 1) * sizeof *grown);
    if (!grown) ir_internal_error(__FILE__, __LINE__, "out of memory");
    d->sources = grown;
    ir_source *s = &d->sources[d->n_sources];
    size_t name_len = strlen(name);
    s->name = malloc(name_len + 1);
    s->text = malloc(len + 1);
    if (!s->name || !s->text) ir_internal_error(__FILE__, __LINE__, "out of memory");
    memcpy(s->name, name, name_len + 1);
    memcpy(s->text, text, len);
    s->text[len] = 0;
    s->len = len;
    return d->n_sources++;
}

/* Prints the source line of loc and a caret under its column; long or binary lines are
 * shown sanitized and cut, so garbage input cannot flood the terminal. */
static void show_source_line(ir_diag *d, ir_loc loc) {
    const ir_source *s = &d->sources[loc.file];
    const char *p = s->text, *end = s->text + s->len;
    for (int line = 1; line < loc.line && p < end; p++)
        if (*p == '\n') line++;
    if (p > end) return;
    const char *eol = p;
    while (eol < end && *eol != '\n') eol++;
    enum { MAX_SHOWN = 240 };
    size_t n = (size_t)(eol - p);
    if (n > MAX_SHOWN || (size_t)loc.col > MAX_SHOWN + 1) return;
    fprintf(d->out, "%5d | ", loc.line);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c == '\t' || c == '\r' || c >= 0x20 ? (c == '\r' ? ' ' : c) : '?', d->out);
    }
    fputs("\n      | ", d->out);
    for (int i = 1; i < loc.col && (size_t)(i - 1) < n; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', d->out);
    fputs("^\n", d->out);
}

static void report(ir_diag *d, ir_loc loc, const char *kind, const char *fmt, va_list ap) {
    bool has_file = loc.file >= 0 && loc.file < d->n_sources;
    if (has_file && loc.line > 0)
        fprintf(d->out, "%s:%d:%d: %s: ", d->sources[loc.file].name, loc.line, loc.col, kind);
    else if (has_file)
        fprintf(d->out, "%s: %s: ", d->sources[loc.file].name, kind);
    else
        fprintf(d->out, "tfc: %s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    if (has_file && loc.line > 0) show_source_line(d, loc);
}

void ir_verror(ir_diag *d, ir_loc loc, const char *fmt, va_list ap) {
    d->errors++;
    report(d, loc, "error", fmt, ap);
}

void ir_error(ir_diag *d, ir_loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ir_verror(d, loc, fmt, ap);
    va_end(ap);
}

void ir_bug(ir_diag *d, ir_loc loc, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->bugs++;
    ir_error(d, loc, "internal error: %s (this is a bug in tfc)", msg);
}

void ir_note(ir_diag *d, ir_loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "note", fmt, ap);
    va_end(ap);
}

/* Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, so that a
 * swapped pair ('rleu' for 'relu') costs one edit. Names are short identifiers. */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *ir_closest(const char *name, const char *const *candidates, int n) {
    const char *best = NULL;
    size_t best_d = (strlen(name) + 2) / 3; /* a third of the name may be wrong */
    if (best_d < 1) best_d = 1;
    for (int i = 0; i < n; i++) {
        if (!candidates[i]) continue;
        size_t dist = edit_distance(name, candidates[i]);
        if (dist <= best_d && (dist < strlen(candidates[i]) || dist < strlen(name)) && (!best || dist < edit_distance(name, best)))
            best = candidates[i];
    }
    return best;
}

_Noreturn void ir_internal_error(const char *file, int line, const char *what) {
    fprintf(stderr, "tfc: internal error at %s:%d: %s\n(this is a bug in tfc; please report it)\n", file, line,
            what);
    exit(2);
}
