/* test_aot_archive.c — the generated library's containers (codegen/aot/archive.c, shared.c): the
 * global symbols of an ELF object that LLVM emits here (globals and weak definitions in, locals,
 * private strings and undefined references out), the `ar` archive parsed back byte by byte (one
 * and two members, short and long member names, one index over all), compared with what
 * `ar rcsD` writes and linked into a program by cc, and the shared library linked by $CC;
 * malformed objects and unwritable paths are errors. Files go to a mkdtemp folder in /tmp, which
 * it removes. The external tools are optional. */
#define _POSIX_C_SOURCE 200809L
#include "codegen/aot/aot.h"
#include "runtime/tensor_file.h"
#include "tests/unit/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a small object emitted by LLVM ----------------------------------------------------------- */

/* int answer(void) { return helper() + counter; }  static int helper(void) { return external(); }
 * int counter = 1;  weak int fallback(void) { return 2; }  plus a private string. */
static void add_functions(LLVMModuleRef m, LLVMContextRef c) {
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c), fn_type = LLVMFunctionType(i32, NULL, 0, 0);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMValueRef external = LLVMAddFunction(m, "external_fn", fn_type);
    LLVMValueRef counter = LLVMAddGlobal(m, i32, "counter");
    LLVMSetInitializer(counter, LLVMConstInt(i32, 1, 0));
    LLVMValueRef text = LLVMAddGlobal(m, LLVMArrayType2(LLVMInt8TypeInContext(c), 3), "private_text");
    LLVMSetInitializer(text, LLVMConstStringInContext2(c, "hi", 2, 0));
    LLVMSetLinkage(text, LLVMPrivateLinkage);
    LLVMValueRef helper = LLVMAddFunction(m, "helper", fn_type);
    LLVMSetLinkage(helper, LLVMInternalLinkage);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, helper, "entry"));
    LLVMBuildRet(b, LLVMBuildCall2(b, fn_type, external, NULL, 0, ""));
    LLVMValueRef answer = LLVMAddFunction(m, "answer", fn_type);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, answer, "entry"));
    LLVMValueRef h = LLVMBuildCall2(b, fn_type, helper, NULL, 0, "");
    LLVMBuildRet(b, LLVMBuildAdd(b, h, LLVMBuildLoad2(b, i32, counter, ""), ""));
    LLVMValueRef fallback = LLVMAddFunction(m, "fallback", fn_type);
    LLVMSetLinkage(fallback, LLVMWeakAnyLinkage);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fallback, "entry"));
    LLVMBuildRet(b, LLVMConstInt(i32, 2, 0));
    LLVMValueRef keep[] = {text};
    LLVMValueRef used = LLVMAddGlobal(m, LLVMArrayType2(LLVMPointerTypeInContext(c, 0), 1), "llvm.used");
    LLVMSetInitializer(used, LLVMConstArray2(LLVMPointerTypeInContext(c, 0), keep, 1));
    LLVMSetLinkage(used, LLVMAppendingLinkage);
    LLVMSetSection(used, "llvm.metadata");
    LLVMDisposeBuilder(b);
}

/* A second object: int second(void) { return 7; } */
static void add_second(LLVMModuleRef m, LLVMContextRef c) {
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c), fn_type = LLVMFunctionType(i32, NULL, 0, 0);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMValueRef second = LLVMAddFunction(m, "second", fn_type);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, second, "entry"));
    LLVMBuildRet(b, LLVMConstInt(i32, 7, 0));
    LLVMDisposeBuilder(b);
}

static void *emit_object(size_t *len, void (*add)(LLVMModuleRef, LLVMContextRef)) {
    ir_diag d;
    ir_diag_init(&d, stderr);
    cg_cpu_options o = {.opt_level = 1};
    LLVMTargetMachineRef tm = cg_cpu_target_machine(&o, &d);
    CHECK(tm != NULL);
    if (!tm) return NULL;
    LLVMContextRef c = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("t", c);
    cg_cpu_set_target(m, tm);
    add(m, c);
    char *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    void *object = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &buf) == 0) {
        *len = LLVMGetBufferSize(buf);
        object = malloc(*len);
        memcpy(object, LLVMGetBufferStart(buf), *len);
        LLVMDisposeMemoryBuffer(buf);
    }
    CHECK(object != NULL, "%s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(m);
    LLVMContextDispose(c);
    LLVMDisposeTargetMachine(tm);
    ir_diag_free(&d);
    return object;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static char dir[64];

static char *path_in(const char *name) {
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void *read_all(const char *path, size_t *len) {
    void *p;
    char err[512];
    return rt_read_file(path, &p, len, err, sizeof err) == 0 ? p : NULL;
}

static bool write_all(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* Whether `cmd` runs; when not, says so, since the checks that need the tool are then skipped. */
static bool have_tool(const char *cmd) {
    char line[256];
    snprintf(line, sizeof line, "%s >/dev/null 2>&1", cmd);
    bool found = system(line) == 0;
    if (!found) printf("note: '%s' failed: the checks that need it are skipped\n", cmd);
    return found;
}

/* The first line a shell command prints. */
static bool command_output(const char *cmd, char *out, size_t size) {
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    bool got = fgets(out, (int)size, p) != NULL;
    int status = pclose(p);
    if (got) out[strcspn(out, "\n")] = '\0';
    return got && status == 0;
}

/* A diagnostic sink whose messages the test can read. */
typedef struct captured {
    ir_diag d;
    FILE *f;
} captured;

static void capture_begin(captured *c) {
    c->f = tmpfile();
    ir_diag_init(&c->d, c->f);
}

static bool capture_has(captured *c, const char *text) {
    char buf[2048] = {0};
    fflush(c->f);
    rewind(c->f);
    size_t n = fread(buf, 1, sizeof buf - 1, c->f);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

static void capture_end(captured *c) {
    ir_diag_free(&c->d);
    fclose(c->f);
}

/* ---- symbols ---------------------------------------------------------------------------------- */

static bool has_symbol(char **symbols, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(symbols[i], name) == 0) return true;
    return false;
}

static void free_symbols(char **symbols, int n) {
    for (int i = 0; i < n; i++) free(symbols[i]);
    free(symbols);
}

static void test_symbols(const void *object, size_t len) {
    captured c;
    capture_begin(&c);
    char **symbols = NULL;
    int n = -1;
    CHECK(aot_object_symbols(object, len, &symbols, &n, &c.d));
    CHECK(n == 3, "%d symbols", n);
    CHECK(has_symbol(symbols, n, "answer") && has_symbol(symbols, n, "counter") && has_symbol(symbols, n, "fallback"));
    CHECK(!has_symbol(symbols, n, "helper") && !has_symbol(symbols, n, "external_fn"));
    free_symbols(symbols, n);

    /* Not an object, a truncated one, one whose section table points past its end. */
    CHECK(!aot_object_symbols("not an object at all", 20, &symbols, &n, &c.d));
    CHECK(capture_has(&c, "cannot read the library's object"));
    CHECK(n == 0 && symbols == NULL);
    CHECK(!aot_object_symbols(object, 48, &symbols, &n, &c.d));
    unsigned char *bad = malloc(len);
    memcpy(bad, object, len);
    uint64_t far = (uint64_t)len + 1000;
    memcpy(bad + 40, &far, 8); /* e_shoff */
    bool ok = aot_object_symbols(bad, len, &symbols, &n, &c.d);
    if (ok) free_symbols(symbols, n);
    CHECK(!ok && capture_has(&c, "cannot read the library's object"));
    free(bad);
    capture_end(&c);
}

/* ---- the archive, parsed back ----------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A member header at `at`: its name field (trimmed) and size. */
static bool parse_header(const unsigned char *a, size_t len, size_t at, char name[17], size_t *size) {
    if (at + 60 > len || memcmp(a + at + 58, "`\n", 2) != 0) return false;
    memcpy(name, a + at, 16);
    name[16] = '\0';
    for (int i = 15; i >= 0 && name[i] == ' '; i--) name[i] = '\0';
    char digits[11] = {0};
    memcpy(digits, a + at + 48, 10);
    *size = (size_t)strtoull(digits, NULL, 10);
    return memcmp(a + at + 16, "0           0     0     ", 24) == 0 || name[0] == '/';
}

static void check_archive(const char *path, const aot_archive_member *members, int n_members) {
    size_t len = 0;
    unsigned char *a = read_all(path, &len);
    CHECK(a && len > 8 && memcmp(a, "!<arch>\n", 8) == 0, "%s", path);
    if (!a || len < 8) return;
    CHECK(len % 2 == 0, "archive size %zu is odd", len);
    char name[17];
    size_t size, at = 8;
    int n_symbols = 0;
    for (int m = 0; m < n_members; m++) n_symbols += members[m].n_symbols;
    const unsigned char *index = NULL;
    if (n_symbols > 0) { /* without symbols, no index, as ar writes it */
        CHECK(parse_header(a, len, at, name, &size) && strcmp(name, "/") == 0 && size % 2 == 0);
        index = a + at + 60;
        CHECK(be32(index) == (uint32_t)n_symbols);
        at += 60 + size;
    }
    const char *long_names = NULL;
    if (parse_header(a, len, at, name, &size) && strcmp(name, "//") == 0) {
        long_names = (const char *)a + at + 60;
        CHECK(size % 2 == 0);
        at += 60 + size;
    }
    const char *symbol_name = index ? (const char *)index + 4 + 4 * n_symbols : NULL;
    int symbol = 0;
    for (int m = 0; m < n_members; m++) {
        /* Each of the member's symbols, in order, points at its header. */
        for (int i = 0; i < members[m].n_symbols; i++, symbol++) {
            CHECK(strcmp(symbol_name, members[m].symbols[i]) == 0, "index name %d: %s", symbol, symbol_name);
            CHECK(be32(index + 4 + 4 * symbol) == at, "index points at %u, member at %zu", be32(index + 4 + 4 * symbol),
                  at);
            symbol_name += strlen(symbol_name) + 1;
        }
        CHECK(parse_header(a, len, at, name, &size));
        char want[256];
        snprintf(want, sizeof want, "%s/", members[m].name);
        if (strlen(members[m].name) > 15)
            CHECK(long_names && name[0] == '/' && strncmp(long_names + atoi(name + 1), want, strlen(want)) == 0,
                  "member name '%s'", name);
        else
            CHECK(strcmp(name, want) == 0, "member name '%s'", name);
        CHECK(memcmp(a + at + 40, "644     ", 8) == 0);
        CHECK(size == members[m].len && at + 60 + size <= len && memcmp(a + at + 60, members[m].data, size) == 0);
        at += 60 + size + (size & 1);
    }
    CHECK(at == len, "%zu bytes after the members", len - at);
    free(a);
}

/* The index as the linker wants it, and the bytes `ar rcsD` would write (deterministic mode). */
static void check_with_tools(const char *archive, const aot_archive_member *members, int n_members) {
    char cmd[1024], out[256];
    if (have_tool("ar --version")) {
        snprintf(cmd, sizeof cmd, "ar t %s", archive);
        CHECK(command_output(cmd, out, sizeof out) && strcmp(out, members[0].name) == 0, "ar t: %s", out);
        int at = snprintf(cmd, sizeof cmd, "cd %s && ar rcsD ref.a", dir);
        for (int m = 0; m < n_members; m++) {
            CHECK(write_all(path_in(members[m].name), members[m].data, members[m].len));
            at += snprintf(cmd + at, sizeof cmd - (size_t)at, " %s", members[m].name);
        }
        size_t ref_len = 0, our_len = 0;
        void *ref = system(cmd) == 0 ? read_all(path_in("ref.a"), &ref_len) : NULL;
        void *ours = read_all(archive, &our_len);
        CHECK(ref && ours && ref_len == our_len && memcmp(ref, ours, ref_len) == 0, "differs from ar rcsD");
        free(ref);
        free(ours);
        unlink(path_in("ref.a"));
        for (int m = 0; m < n_members; m++) unlink(path_in(members[m].name));
    }
    if (have_tool("nm --version")) {
        for (int m = 0; m < n_members; m++) {
            snprintf(cmd, sizeof cmd, "nm -s %s | grep -c ' in %s$'", archive, members[m].name);
            char want[16];
            snprintf(want, sizeof want, "%d", members[m].n_symbols);
            CHECK(command_output(cmd, out, sizeof out) && strcmp(out, want) == 0, "nm -s index entries: %s", out);
        }
    }
}

/* A program that calls answer() (and second() when asked) links against the archive alone and
 * gets 1 + external_fn() (+ 7). */
static void check_links(const char *lib_dir, const char *lib, bool with_second) {
    if (!have_tool("cc --version")) return;
    const char *src = with_second ? "int answer(void);\nint second(void);\nint external_fn(void) { return 41; }\n"
                                    "int main(void) { return answer() + second() == 49 ? 0 : 1; }\n"
                                  : "int answer(void);\nint external_fn(void) { return 41; }\n"
                                    "int main(void) { return answer() == 42 ? 0 : 1; }\n";
    CHECK(write_all(path_in("main.c"), src, strlen(src)));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cc -o %s %s -L%s -l%s && %s", path_in("main"), path_in("main.c"), lib_dir, lib,
             path_in("main"));
    CHECK(system(cmd) == 0, "%s", cmd);
    unlink(path_in("main"));
    unlink(path_in("main.c"));
}

static void write_and_check(const char *lib, const aot_archive_member *members, int n_members, ir_diag *d) {
    char file[64];
    snprintf(file, sizeof file, "lib%s.a", lib);
    CHECK(aot_write_archive(path_in(file), members, n_members, d));
    check_archive(path_in(file), members, n_members);
    if (n_members > 0 && members[0].n_symbols > 0) check_with_tools(path_in(file), members, n_members);
}

static void test_archive(const void *object, size_t len, const void *second, size_t second_len) {
    captured c;
    capture_begin(&c);
    const char *symbols[] = {"answer", "counter", "fallback"}, *second_symbols[] = {"second"};
    aot_archive_member one = {"t.o", object, len, symbols, 3};
    write_and_check("t", &one, 1, &c.d);
    check_links(dir, "t", false);

    /* A member name of 16 characters or more goes through the long-name table. */
    aot_archive_member long_name = {"a_long_model_name.o", object, len, symbols, 3};
    write_and_check("long", &long_name, 1, &c.d);
    /* Two members (a short and a long name, as libPREFIX.a holds PREFIX.o and the runtime's
     * tfcrt_H.o), both long, and one index over both. */
    aot_archive_member two[] = {{"t.o", object, len, symbols, 3},
                                {"tfcrt_0123456789abcdef.o", second, second_len, second_symbols, 1}};
    write_and_check("two", two, 2, &c.d);
    check_links(dir, "two", true);
    aot_archive_member two_long[] = {{"a_long_model_name.o", object, len, symbols, 3},
                                     {"tfcrt_0123456789abcdef.o", second, second_len, second_symbols, 1}};
    write_and_check("twolong", two_long, 2, &c.d);
    /* An odd-sized member is padded; without symbols there is no index. */
    aot_archive_member odd[] = {{"odd.o", "abc", 3, NULL, 0}, {"odd2.o", "de", 2, NULL, 0}};
    write_and_check("odd", odd, 2, &c.d);

    CHECK(!aot_write_archive("/nonexistent-dir/libt.a", &one, 1, &c.d));
    CHECK(capture_has(&c, "/nonexistent-dir/libt.a"));
    capture_end(&c);
    const char *files[] = {"libt.a", "liblong.a", "libtwo.a", "libtwolong.a", "libodd.a"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) unlink(path_in(files[i]));
}

/* ---- the shared library ----------------------------------------------------------------------- */

static void test_shared(const void *object, size_t len) {
    captured c;
    capture_begin(&c);
    aot_options o = {.prefix = "t", .out_dir = dir, .shared = true};
    const char *old_cc = getenv("CC");
    char *saved = old_cc ? strdup(old_cc) : NULL;
    setenv("CC", "/nonexistent/cc", 1);
    CHECK(!aot_link_shared(object, len, &o, &c.d));
    CHECK(capture_has(&c, "cannot link libt.so: no C compiler '/nonexistent/cc' found"));
    if (saved)
        setenv("CC", saved, 1);
    else
        unsetenv("CC");
    struct stat st;
    if (have_tool("cc --version")) {
        /* external_fn stays undefined: allowed in a shared library. */
        CHECK(aot_link_shared(object, len, &o, &c.d));
        CHECK(stat(path_in("libt.so"), &st) == 0 && st.st_size > 0);
        if (have_tool("nm --version")) {
            char out[256];
            char cmd[512];
            snprintf(cmd, sizeof cmd, "nm -D --defined-only %s | grep -c ' answer$'", path_in("libt.so"));
            CHECK(command_output(cmd, out, sizeof out) && strcmp(out, "1") == 0);
        }
        unlink(path_in("libt.so"));
    }
    free(saved);
    capture_end(&c);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/tfc_aot_archive_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    size_t len = 0, second_len = 0;
    void *object = emit_object(&len, add_functions), *second = emit_object(&second_len, add_second);
    if (object && second) {
        test_symbols(object, len);
        test_archive(object, len, second, second_len);
        test_shared(object, len);
    }
    free(object);
    free(second);
    rmdir(dir);
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
