/* shared.c — libPREFIX.so: the library's object and the runtime's object linked by the system's
 * C compiler driver ($CC, else cc), which knows the platform's crt files and linker flags. It
 * runs without a shell (posix_spawnp), its messages go straight to our stderr, and the result
 * appears atomically. */
#define _DEFAULT_SOURCE /* mkstemps */
#define _POSIX_C_SOURCE 200809L
#include "codegen/aot/object.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { MAX_CC_WORDS = 32 };

/* $CC may carry options ("gcc -m64"): it is split at blanks, as make would pass it to a shell,
 * without any other shell syntax. */
typedef struct compiler {
    char *words; /* a copy of $CC with NULs between the words */
    char *argv[MAX_CC_WORDS];
    int argc;
} compiler;

static bool find_compiler(compiler *c, ir_diag *d) {
    const char *cc = getenv("CC");
    c->words = strdup(cc && *cc ? cc : "cc");
    IR_ASSERT(c->words != NULL);
    c->argc = 0;
    char *save = NULL;
    for (char *w = strtok_r(c->words, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (c->argc == MAX_CC_WORDS) {
            ir_error(d, IR_NO_LOC, "cannot link the shared library: $CC has more than %d words", MAX_CC_WORDS);
            return false;
        }
        c->argv[c->argc++] = w;
    }
    if (c->argc == 0) {
        ir_error(d, IR_NO_LOC, "cannot link the shared library: $CC is blank");
        return false;
    }
    return true;
}

static char *path_join(const char *dir, const char *fmt, const char *prefix) {
    size_t n = strlen(dir) + strlen(fmt) + strlen(prefix) + 2;
    char *p = malloc(n);
    IR_ASSERT(p != NULL);
    int at = snprintf(p, n, "%s/", dir);
    snprintf(p + at, n - (size_t)at, fmt, prefix);
    return p;
}

/* Writes data to a new file named from template (its XXXXXX replaced, the last suffix_len
 * characters kept). */
static bool write_temp(char *template, int suffix_len, const void *data, size_t len, ir_diag *d) {
    int fd = mkstemps(template, suffix_len);
    if (fd < 0) {
        ir_error(d, IR_NO_LOC, "cannot create a temporary file in the output directory: %s", strerror(errno));
        return false;
    }
    const char *p = data;
    size_t left = len;
    int err = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 && !err) err = errno;
    if (err) {
        ir_error(d, IR_NO_LOC, "cannot write '%s': %s", template, strerror(err));
        unlink(template);
        return false;
    }
    return true;
}

/* Runs argv and waits; true when it exits with status 0. */
static bool run_linker(compiler *c, char **argv, const char *lib_name, ir_diag *d) {
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    if (err) {
        if (err == ENOENT)
            ir_error(d, IR_NO_LOC, "cannot link %s: no C compiler '%s' found (set CC to one)", lib_name, c->argv[0]);
        else
            ir_error(d, IR_NO_LOC, "cannot link %s: cannot run '%s': %s", lib_name, c->argv[0], strerror(err));
        return false;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            ir_error(d, IR_NO_LOC, "cannot link %s: waiting for '%s': %s", lib_name, c->argv[0], strerror(errno));
            return false;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    if (WIFEXITED(status))
        ir_error(d, IR_NO_LOC, "cannot link %s: %s exited with status %d", lib_name, c->argv[0], WEXITSTATUS(status));
    else
        ir_error(d, IR_NO_LOC, "cannot link %s: %s was killed by signal %d", lib_name, c->argv[0], WTERMSIG(status));
    return false;
}

/* CC... -shared -o TMP -Wl,-soname,libPREFIX.so OBJ RUNTIME_OBJ -lopenblas -lm -lpthread, then TMP
 * is renamed to OUT/libPREFIX.so. The runtime's symbols are hidden, so only PREFIX_* is exported. */
static bool link_with(compiler *c, const char *object_path, const char *runtime_path, const char *tmp_path,
                      const aot_options *o, const char *final_path, ir_diag *d) {
    char lib_name[512], soname[600];
    snprintf(lib_name, sizeof lib_name, "lib%s.so", o->prefix);
    snprintf(soname, sizeof soname, "-Wl,-soname,%s", lib_name);
    char *argv[MAX_CC_WORDS + 16];
    int n = 0;
    for (int i = 0; i < c->argc; i++) argv[n++] = c->argv[i];
    char *rest[] = {"-shared",    "-o",  (char *)tmp_path, soname, (char *)object_path, (char *)runtime_path,
                    "-lopenblas", "-lm", "-lpthread"};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) argv[n++] = rest[i];
    argv[n] = NULL;
    if (!run_linker(c, argv, lib_name, d)) return false;
    if (rename(tmp_path, final_path) != 0) {
        ir_error(d, IR_NO_LOC, "cannot write '%s': %s", final_path, strerror(errno));
        return false;
    }
    return true;
}

/* The linker's output name: the temporary object's unique name with ".so" for ".o". It is not
 * created beforehand, so the linker gives it the usual mode of a shared library. */
static char *output_temp_name(const char *object_path) {
    size_t n = strlen(object_path);
    char *p = malloc(n + 2);
    IR_ASSERT(p != NULL);
    memcpy(p, object_path, n - 2);
    memcpy(p + n - 2, ".so", 4);
    return p;
}

bool aot_link_shared(const void *object, size_t object_len, const aot_options *o, ir_diag *d) {
    compiler c = {0};
    bool ok = find_compiler(&c, d);
    char *object_path = path_join(o->out_dir, ".lib%s.XXXXXX.o", o->prefix);
    char *runtime_path = path_join(o->out_dir, ".lib%s.XXXXXX.rt.o", o->prefix);
    char *final_path = path_join(o->out_dir, "lib%s.so", o->prefix);
    size_t runtime_len;
    const void *runtime = aot_runtime_object(&runtime_len);
    bool have_object = ok && write_temp(object_path, 2, object, object_len, d);
    bool have_runtime = have_object && write_temp(runtime_path, 5, runtime, runtime_len, d);
    char *tmp_path = have_runtime ? output_temp_name(object_path) : NULL;
    ok = have_runtime && link_with(&c, object_path, runtime_path, tmp_path, o, final_path, d);
    if (have_object) unlink(object_path);
    if (have_runtime) unlink(runtime_path);
    if (tmp_path && !ok) unlink(tmp_path);
    free(object_path);
    free(runtime_path);
    free(tmp_path);
    free(final_path);
    free(c.words);
    return ok;
}
