/* library.c — `tfc compile` after the passes: the names checked, the output folder made, then
 * PREFIX.h, the object and the runtime's object in libPREFIX.a (and libPREFIX.so when asked) and PREFIX.pc, each file
 * written whole or not at all, with what each step cost for the command's summary. */
#define _POSIX_C_SOURCE 200809L
#include "codegen/aot/object.h"
#include "runtime/program.h"
#include "runtime/tensor_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One folder: made, or already there as a folder. */
static bool make_dir(const char *path) {
    if (mkdir(path, 0777) == 0) return true;
    int saved = errno;
    struct stat st;
    if (stat(path, &st) != 0) {
        errno = saved;
        return false;
    }
    if (S_ISDIR(st.st_mode)) return true;
    errno = ENOTDIR;
    return false;
}

/* mkdir -p: each folder of the path in turn. */
static bool make_dirs(const char *dir, ir_diag *d) {
    size_t n = strlen(dir);
    if (n == 0) {
        ir_error(d, IR_NO_LOC, "the output directory's name is empty");
        return false;
    }
    char *path = malloc(n + 1);
    IR_ASSERT(path != NULL);
    memcpy(path, dir, n + 1);
    bool ok = true;
    for (size_t i = 1; i <= n && ok; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char saved = path[i];
        path[i] = '\0';
        ok = make_dir(path);
        path[i] = saved;
    }
    if (!ok) ir_error(d, IR_NO_LOC, "cannot create the output directory '%s': %s", dir, strerror(errno));
    free(path);
    return ok;
}

bool aot_write_text_file(const char *path, const char *what, bool (*print)(FILE *f, void *ctx), void *ctx, ir_diag *d) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool ok = f && print(f, ctx);
    if (f) {
        ok = !ferror(f) && ok;
        ok = fclose(f) == 0 && ok;
    }
    if (!ok) {
        ir_error(d, IR_NO_LOC, "out of memory while writing %s", what);
    } else {
        rt_write_part part = {text, len};
        char err[512];
        ok = rt_write_file_atomic(path, &part, 1, err, sizeof err) == 0;
        if (!ok) ir_error(d, IR_NO_LOC, "cannot write %s: %s", what, err);
    }
    free(text);
    return ok;
}

static size_t file_size(const char *dir, const char *fmt, const char *prefix) {
    char path[4096], name[1024];
    snprintf(name, sizeof name, fmt, prefix);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* libPREFIX.a: PREFIX.o, then the runtime's object, one index of both objects' global symbols. */
static bool write_archive(const void *object, size_t object_len, const aot_options *o, ir_diag *d) {
    size_t runtime_len;
    const void *runtime = aot_runtime_object(&runtime_len);
    aot_archive_member members[2] = {{.data = object, .len = object_len},
                                     {.name = AOT_RUNTIME_MEMBER, .data = runtime, .len = runtime_len}};
    char **symbols[2] = {NULL, NULL};
    int n_symbols[2] = {0, 0};
    bool ok = true;
    for (int i = 0; i < 2 && ok; i++) {
        ok = aot_object_symbols(members[i].data, members[i].len, &symbols[i], &n_symbols[i], d);
        members[i].symbols = (const char *const *)symbols[i];
        members[i].n_symbols = n_symbols[i];
    }
    size_t n = strlen(o->out_dir) + strlen(o->prefix) + 8;
    char *path = malloc(n), *member = malloc(n);
    IR_ASSERT(path && member);
    snprintf(path, n, "%s/lib%s.a", o->out_dir, o->prefix);
    snprintf(member, n, "%s.o", o->prefix);
    members[0].name = member;
    ok = ok && aot_write_archive(path, members, 2, d);
    for (int i = 0; i < 2; i++) aot_free_symbols(symbols[i], n_symbols[i]);
    free(path);
    free(member);
    return ok;
}

static bool write_files(const ir_module *m, const void *object, size_t object_len, const aot_options *o, ir_diag *d) {
    return write_archive(object, object_len, o, d) && (!o->shared || aot_link_shared(object, object_len, o, d)) &&
           aot_write_pkgconfig(m, o, d);
}

bool aot_compile_library(const ir_module *m, const ir_tensor *params, const aot_options *o, aot_stats *stats,
                         ir_diag *d) {
    aot_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!aot_check_names(m, o->prefix, d) || !make_dirs(o->out_dir, d)) return false;
    double t0 = rt_now_seconds();
    if (!aot_write_header(m, o, d)) return false;
    double header_seconds = rt_now_seconds() - t0;
    void *object = NULL;
    size_t object_len = 0;
    if (!aot_emit_object(m, params, o, &object, &object_len, stats, d)) return false;
    double t1 = rt_now_seconds();
    bool ok = write_files(m, object, object_len, o, d);
    free(object);
    stats->seconds_write = header_seconds + rt_now_seconds() - t1;
    stats->archive_bytes = file_size(o->out_dir, "lib%s.a", o->prefix);
    if (o->shared) stats->shared_bytes = file_size(o->out_dir, "lib%s.so", o->prefix);
    return ok;
}
