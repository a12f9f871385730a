/* ops.c — the op and attribute tables, generated from ops.def and attrs.def, and lookups by name. */
#include "ir/ir.h"

#include <string.h>

const ir_attr_info ir_attr_table[IR_ATTR_COUNT] = {
#define ATTR(ID, name, kind) [IR_ATTR_##ID] = {name, kind},
#include "ir/attrs.def"
#undef ATTR
};

#define A(ID) IR_ATTR_BIT(ID)
const ir_op_info ir_op_table[IR_OP_COUNT] = {
#define OP(ID, name, min_in, max_in, flags, attrs, sig, shape_fn, kernel_fn, cost_fn, flops, grad_fn) \
    [IR_OP_##ID] = {name, min_in, max_in, flags, attrs, sig, shape_fn, kernel_fn, cost_fn, flops, grad_fn},
#include "ir/ops.def"
#undef OP
};
#undef A

ir_op ir_op_lookup(const char *name) {
    for (int i = 0; i < IR_OP_COUNT; i++)
        if (strcmp(ir_op_table[i].name, name) == 0) return (ir_op)i;
    return IR_OP_COUNT;
}

bool ir_attr_lookup(const char *name, ir_attr_id *out) {
    for (int i = 0; i < IR_ATTR_COUNT; i++) {
        if (strcmp(ir_attr_table[i].name, name) == 0) {
            *out = (ir_attr_id)i;
            return true;
        }
    }
    return false;
}

static const char *const optim_names[IR_OPTIM_COUNT] = {[IR_OPTIM_SGD] = "sgd", [IR_OPTIM_ADAM] = "adam"};

const char *ir_optim_name(ir_optim_kind k) { return optim_names[k]; }

bool ir_optim_lookup(const char *name, ir_optim_kind *out) {
    for (int i = 0; i < IR_OPTIM_COUNT; i++) {
        if (strcmp(optim_names[i], name) == 0) {
            *out = (ir_optim_kind)i;
            return true;
        }
    }
    return false;
}
