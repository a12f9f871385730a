/* archive.c — libPREFIX.a: a System V / GNU `ar` archive of the library's objects (its own and
 * the runtime's), with one symbol index that linkers search ("/", as `ar rcs` writes it), and the object's global
 * symbols for that index. The archive is deterministic (mtime, uid and gid 0), as Debian's ar
 * writes by default, so two compiles of one model give identical files. */
#include "codegen/aot/aot.h"
#include "runtime/tensor_file.h"

#include <llvm-c/Object.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the object's symbols -----------------------------------------------------------------
 * LLVM's object reader checks that the buffer is an ELF64 little-endian object, but its C API
 * cannot tell a global symbol from a local one (it has no symbol flags), so the symbol table is
 * read here: section headers, then the SHT_SYMTAB section and its string table, every offset
 * checked against the buffer. */

enum {
    ELF_HEADER_SIZE = 64,
    ELF_SECTION_SIZE = 64,
    ELF_SYMBOL_SIZE = 24,
    SHT_SYMTAB = 2,
    STB_GLOBAL = 1,
    STB_WEAK = 2,
    STT_SECTION = 3,
    STT_FILE = 4,
    SHN_UNDEF = 0,
};

static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

typedef struct elf_section {
    uint64_t type, offset, size, link, entsize;
} elf_section;

static bool in_bounds(uint64_t offset, uint64_t size, size_t len) { return offset <= len && size <= len - offset; }

static bool read_section(const unsigned char *obj, size_t len, uint64_t shoff, uint64_t i, elf_section *s) {
    uint64_t at = shoff + i * ELF_SECTION_SIZE;
    if (!in_bounds(at, ELF_SECTION_SIZE, len)) return false;
    const unsigned char *h = obj + at;
    *s = (elf_section){le(h + 4, 4), le(h + 24, 8), le(h + 32, 8), le(h + 40, 4), le(h + 56, 8)};
    return true;
}

typedef struct symbol_list {
    char **names;
    int n, cap;
} symbol_list;

static void add_symbol(symbol_list *l, const char *name, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = realloc(l->names, sizeof *l->names * (size_t)l->cap);
        IR_ASSERT(l->names != NULL); /* out of memory, like ir_alloc */
    }
    char *copy = malloc(len + 1);
    IR_ASSERT(copy != NULL);
    memcpy(copy, name, len);
    copy[len] = '\0';
    l->names[l->n++] = copy;
}

/* The defined global and weak symbols of the symbol table section symtab. */
static bool read_symbols(const unsigned char *obj, size_t len, const elf_section *symtab, const elf_section *strtab,
                         symbol_list *out) {
    if (symtab->entsize != ELF_SYMBOL_SIZE || !in_bounds(symtab->offset, symtab->size, len) ||
        !in_bounds(strtab->offset, strtab->size, len))
        return false;
    for (uint64_t at = ELF_SYMBOL_SIZE; at + ELF_SYMBOL_SIZE <= symtab->size; at += ELF_SYMBOL_SIZE) {
        const unsigned char *sym = obj + symtab->offset + at;
        uint64_t name = le(sym, 4), bind = sym[4] >> 4, type = sym[4] & 15, shndx = le(sym + 6, 2);
        if ((bind != STB_GLOBAL && bind != STB_WEAK) || shndx == SHN_UNDEF || type == STT_SECTION || type == STT_FILE)
            continue;
        if (name >= strtab->size) return false;
        const char *s = (const char *)obj + strtab->offset + name;
        const char *end = memchr(s, '\0', (size_t)(strtab->size - name));
        if (!end) return false; /* not NUL-terminated inside the table */
        add_symbol(out, s, (size_t)(end - s));
    }
    return true;
}

static bool parse_elf_symbols(const unsigned char *obj, size_t len, symbol_list *out) {
    if (len < ELF_HEADER_SIZE) return false;
    uint64_t shoff = le(obj + 40, 8), shentsize = le(obj + 58, 2), shnum = le(obj + 60, 2);
    if (shentsize != ELF_SECTION_SIZE) return false;
    for (uint64_t i = 0; i < shnum; i++) {
        elf_section s, strings;
        if (!read_section(obj, len, shoff, i, &s)) return false;
        if (s.type != SHT_SYMTAB) continue;
        if (s.link >= shnum || !read_section(obj, len, shoff, s.link, &strings)) return false;
        return read_symbols(obj, len, &s, &strings, out);
    }
    return true; /* no symbol table: nothing defined */
}

void aot_free_symbols(char **symbols, int n_symbols) {
    for (int i = 0; i < n_symbols; i++) free(symbols[i]);
    free(symbols);
}

bool aot_object_symbols(const void *object, size_t object_len, char ***symbols, int *n_symbols, ir_diag *d) {
    *symbols = NULL;
    *n_symbols = 0;
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(object, object_len, "object", 0);
    char *msg = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(buf, NULL, &msg);
    LLVMBinaryType type = bin ? LLVMBinaryGetType(bin) : LLVMBinaryTypeArchive;
    if (bin) LLVMDisposeBinary(bin);
    LLVMDisposeMemoryBuffer(buf);
    if (!bin || type != LLVMBinaryTypeELF64L) {
        ir_error(d, IR_NO_LOC, "cannot read the library's object: %s", msg ? msg : "not an ELF64 little-endian object");
        LLVMDisposeMessage(msg);
        return false;
    }
    symbol_list l = {0};
    if (!parse_elf_symbols(object, object_len, &l)) {
        aot_free_symbols(l.names, l.n);
        ir_error(d, IR_NO_LOC, "cannot read the library's object: its symbol table is malformed");
        return false;
    }
    *symbols = l.names;
    *n_symbols = l.n;
    return true;
}

/* ---- the archive --------------------------------------------------------------------------
 * "!<arch>\n", then members, each a 60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8,
 * size 10, "`\n"; decimal, mode octal, space padded) and its bytes padded to an even size with
 * '\n'. GNU's symbol index is the member "/": a big-endian u32 count, the u32 offset of the
 * member header that defines each symbol, then the names, NUL-terminated (padded with a NUL to
 * an even size, counted in the size, as GNU ar does). A member name longer than 15 characters
 * goes to the long-name member "//" ("NAME/\n", its padding counted too) and the header says
 * "/OFFSET". */

enum { AR_HEADER = 60, AR_MAGIC = 8 };

/* mode NULL: the long-name member, whose mtime, uid, gid and mode GNU ar leaves blank. */
static void ar_header(char h[AR_HEADER + 1], const char *name, const char *mode, size_t size) {
    const char *zero = mode ? "0" : "";
    char full[128]; /* every field fits its width: names are at most 16, sizes at most 10 digits */
    int n =
        snprintf(full, sizeof full, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", name, zero, zero, zero, mode ? mode : "", size);
    IR_ASSERT(n == AR_HEADER);
    memcpy(h, full, AR_HEADER + 1);
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static size_t padded(size_t n) { return n + (n & 1); }

typedef char ar_header_text[AR_HEADER + 1];

typedef struct archive_layout {
    ar_header_text index_header;
    unsigned char *index; /* the "/" member's bytes, padded; NULL when nothing is indexed */
    size_t index_len;
    ar_header_text long_header;
    char *long_names; /* the "//" member's bytes, padded; NULL when every name is short */
    size_t long_names_len;
    ar_header_text *member_headers;
    uint64_t *member_offsets; /* where each member's header starts */
} archive_layout;

static void free_layout(archive_layout *a) {
    free(a->index);
    free(a->long_names);
    free(a->member_headers);
    free(a->member_offsets);
}

/* "//": each long name followed by "/\n", the whole padded with '\n'; a member's header names it
 * "/OFFSET", its offset in this table. */
static void layout_names(archive_layout *a, const aot_archive_member *members, int n_members) {
    size_t total = 0;
    for (int i = 0; i < n_members; i++)
        if (strlen(members[i].name) > 15) total += strlen(members[i].name) + 2;
    if (total > 0) {
        a->long_names_len = padded(total);
        a->long_names = malloc(a->long_names_len);
        IR_ASSERT(a->long_names != NULL);
        a->long_names[a->long_names_len - 1] = '\n';
        ar_header(a->long_header, "//", NULL, a->long_names_len);
    }
    size_t at = 0;
    for (int i = 0; i < n_members; i++) {
        size_t n = strlen(members[i].name);
        char name[24];
        if (n <= 15) {
            snprintf(name, sizeof name, "%s/", members[i].name);
        } else {
            memcpy(a->long_names + at, members[i].name, n);
            memcpy(a->long_names + at + n, "/\n", 2);
            snprintf(name, sizeof name, "/%zu", at);
            at += n + 2;
        }
        ar_header(a->member_headers[i], name, "644", members[i].len);
    }
}

/* "/": the count, each symbol's member offset, then the names, in member order. */
static void layout_index(archive_layout *a, const aot_archive_member *members, int n_members, int n_symbols) {
    a->index = calloc(a->index_len, 1);
    IR_ASSERT(a->index != NULL);
    put_be32(a->index, (uint32_t)n_symbols);
    unsigned char *offsets = a->index + 4, *names = a->index + 4 + 4 * (size_t)n_symbols;
    for (int m = 0; m < n_members; m++) {
        for (int i = 0; i < members[m].n_symbols; i++) {
            put_be32(offsets, (uint32_t)a->member_offsets[m]);
            offsets += 4;
            size_t n = strlen(members[m].symbols[i]) + 1;
            memcpy(names, members[m].symbols[i], n);
            names += n;
        }
    }
    ar_header(a->index_header, "/", "0", a->index_len);
}

static bool layout_archive(archive_layout *a, const aot_archive_member *members, int n_members) {
    size_t count = (size_t)(n_members > 0 ? n_members : 1);
    a->member_headers = calloc(count, sizeof *a->member_headers);
    a->member_offsets = calloc(count, sizeof *a->member_offsets);
    IR_ASSERT(a->member_headers && a->member_offsets);
    int n_symbols = 0;
    size_t index_len = 4;
    for (int m = 0; m < n_members; m++) {
        if (members[m].len > 9999999999u) return false; /* the size field's width */
        n_symbols += members[m].n_symbols;
        for (int i = 0; i < members[m].n_symbols; i++) index_len += 4 + strlen(members[m].symbols[i]) + 1;
    }
    /* Like ar, no index at all when there is nothing to index. */
    a->index_len = n_symbols ? padded(index_len) : 0;
    layout_names(a, members, n_members);
    uint64_t at = AR_MAGIC + (a->index_len ? AR_HEADER + a->index_len : 0);
    if (a->long_names) at += AR_HEADER + a->long_names_len;
    for (int m = 0; m < n_members; m++) {
        a->member_offsets[m] = at;
        at += AR_HEADER + padded(members[m].len);
    }
    if (n_members > 0 && a->member_offsets[n_members - 1] > UINT32_MAX) return false; /* the index's offsets */
    if (a->index_len) layout_index(a, members, n_members, n_symbols);
    return true;
}

bool aot_write_archive(const char *path, const aot_archive_member *members, int n_members, ir_diag *d) {
    archive_layout a = {0};
    if (!layout_archive(&a, members, n_members)) {
        free_layout(&a);
        ir_error(d, IR_NO_LOC, "cannot write '%s': the objects are too large for an ar archive", path);
        return false;
    }
    rt_write_part *parts = malloc(sizeof *parts * (5 + 3 * (size_t)n_members));
    IR_ASSERT(parts != NULL);
    size_t n = 0;
    parts[n++] = (rt_write_part){"!<arch>\n", AR_MAGIC};
    if (a.index) {
        parts[n++] = (rt_write_part){a.index_header, AR_HEADER};
        parts[n++] = (rt_write_part){a.index, a.index_len};
    }
    if (a.long_names) {
        parts[n++] = (rt_write_part){a.long_header, AR_HEADER};
        parts[n++] = (rt_write_part){a.long_names, a.long_names_len};
    }
    for (int m = 0; m < n_members; m++) {
        parts[n++] = (rt_write_part){a.member_headers[m], AR_HEADER};
        parts[n++] = (rt_write_part){members[m].data, members[m].len};
        if (members[m].len & 1) parts[n++] = (rt_write_part){"\n", 1};
    }
    char err[512];
    bool ok = rt_write_file_atomic(path, parts, n, err, sizeof err) == 0;
    if (!ok) ir_error(d, IR_NO_LOC, "cannot write the library: %s", err);
    free(parts);
    free_layout(&a);
    return ok;
}
