/* type.c — dtypes and static tensor types: names, sizes, element counts, printing.
 * Every size product is checked: dimensions come from user programs and can overflow. */
#include "ir/ir.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[IR_DTYPE_COUNT] = {
    [IR_F32] = {"f32", 4}, [IR_F16] = {"f16", 2}, [IR_BF16] = {"bf16", 2},
    [IR_I32] = {"i32", 4}, [IR_I64] = {"i64", 8}, [IR_BOOL] = {"bool", 1},
};

const char *ir_dtype_name(ir_dtype dt) { return (unsigned)dt < IR_DTYPE_COUNT ? dtype_info[dt].name : "?"; }

size_t ir_dtype_size(ir_dtype dt) { return (unsigned)dt < IR_DTYPE_COUNT ? dtype_info[dt].size : 0; }

bool ir_dtype_lookup(const char *name, ir_dtype *out) {
    for (int i = 0; i < IR_DTYPE_COUNT; i++) {
        if (strcmp(dtype_info[i].name, name) == 0) {
            *out = (ir_dtype)i;
            return true;
        }
    }
    return false;
}

bool ir_dtype_is_float(ir_dtype dt) { return dt == IR_F32 || dt == IR_F16 || dt == IR_BF16; }

bool ir_dims_product(const int64_t *dims, int rank, int64_t *out) {
    int64_t p = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return false;
        if (dims[i] != 0 && p > IR_MAX_ELEMS / dims[i]) return false;
        p *= dims[i];
    }
    *out = p;
    return true;
}

int64_t ir_type_elems(const ir_type *t) {
    int64_t p = 1;
    for (int i = 0; i < t->rank; i++) p *= t->dims[i];
    return p;
}

bool ir_type_equal(const ir_type *a, const ir_type *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

char *ir_type_str(const ir_type *t, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "%s[", ir_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}
