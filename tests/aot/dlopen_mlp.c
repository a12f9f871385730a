/* dlopen_mlp.c — aot.dlopen: the shared library of the MLP's inference graph (prefix mlp) loaded
 * at run time with dlopen, its API found with dlsym, run on DIR/x.bin; writes DIR/probs.out.bin.
 * Only the header's types and macros are used at compile time. Usage: dlopen_mlp LIB.so DIR */
#define _POSIX_C_SOURCE 200809L /* dlopen, pthreads under -std=c99 */

#include "mlp.h"

#include "bin_file.h"

#include <dlfcn.h>
#include <stdio.h>

typedef mlp_model *(*create_fn)(const mlp_options *);
typedef const char *(*create_error_fn)(void);
typedef void (*destroy_fn)(mlp_model *);
typedef const char *(*error_fn)(const mlp_model *);
typedef int (*infer_fn)(mlp_model *, const float *, float *);

static float x[MLP_INFER_X_COUNT], probs[MLP_INFER_PROBS_COUNT];

/* dlsym's object pointer as a function pointer (POSIX guarantees the conversion works). */
static void *find(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p) fprintf(stderr, "dlopen_mlp: dlsym(%s): %s\n", name, dlerror());
    return p;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: dlopen_mlp LIB.so DIR\n");
        return 1;
    }
    if (bin_file("dlopen_mlp", argv[2], "x.bin", x, sizeof x, 0)) return 1;
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen_mlp: dlopen: %s\n", dlerror());
        return 1;
    }
    void *p_create = find(lib, "mlp_create"), *p_create_error = find(lib, "mlp_create_error");
    void *p_destroy = find(lib, "mlp_destroy"), *p_error = find(lib, "mlp_error"), *p_infer = find(lib, "mlp_infer");
    if (!p_create || !p_create_error || !p_destroy || !p_error || !p_infer) return 1;
    create_fn create;
    create_error_fn create_error;
    destroy_fn destroy;
    error_fn error;
    infer_fn infer;
    *(void **)&create = p_create;
    *(void **)&create_error = p_create_error;
    *(void **)&destroy = p_destroy;
    *(void **)&error = p_error;
    *(void **)&infer = p_infer;

    mlp_options o = {0};
    o.num_threads = 2;
    mlp_model *m = create(&o);
    if (!m) {
        fprintf(stderr, "dlopen_mlp: mlp_create: %s\n", create_error());
        return 1;
    }
    int rc = infer(m, x, probs);
    if (rc != 0) fprintf(stderr, "dlopen_mlp: mlp_infer: %s\n", error(m));
    destroy(m);
    if (dlclose(lib) != 0) {
        fprintf(stderr, "dlopen_mlp: dlclose: %s\n", dlerror());
        rc = 1;
    }
    if (rc == 0) rc = bin_file("dlopen_mlp", argv[2], "probs.out.bin", probs, sizeof probs, 1);
    if (rc == 0) printf("dlopen, dlsym, create, infer, destroy, dlclose: done\n");
    return rc != 0;
}
