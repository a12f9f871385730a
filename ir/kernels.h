/* kernels.h — helpers shared by the reference interpreter's kernels (ir/interp.c,
 * ir/kernels_*.c): exact integer element access, a strided multi-operand iterator, dense
 * conversions. Internal to the ir/ layer; everything else uses ir.h. */
#ifndef TFC_IR_KERNELS_H
#define TFC_IR_KERNELS_H

#include "ir/ir.h"

/* ---- ir/interp.c: exact element access ---------------------------------------------------- */

/* Integer element i (i32, i64, bool: exact; floats: truncated toward zero, saturating, NaN 0). */
int64_t ir_tensor_get_i64(const ir_tensor *t, int64_t i);
/* Stores v: i32 keeps the low 32 bits (NumPy's wrap-around), bool stores v != 0, floats round. */
void ir_tensor_set_i64(ir_tensor *t, int64_t i, int64_t v);
/* The two's-complement value of the low 64 bits, without implementation-defined conversions. */
int64_t ir_kern_wrap64(uint64_t v);
/* Copies element ii of `in` to element oi of `out`, converting when the dtypes differ. */
void ir_kern_copy_elem(ir_tensor *out, int64_t oi, const ir_tensor *in, int64_t ii);

/* ---- ir/kernels_common.c: iteration and dense copies --------------------------------------- */

enum { IR_ITER_MAX_OPS = 4 };

/* Walks an index space in row-major order while keeping one flat element offset per operand:
 * off[k] = base[k] + sum_i idx[i] * stride[k][i]. A stride of 0 broadcasts that axis. */
typedef struct ir_iter {
    int rank, n_ops;
    int64_t dims[IR_MAX_RANK];
    int64_t idx[IR_MAX_RANK];
    int64_t stride[IR_ITER_MAX_OPS][IR_MAX_RANK];
    int64_t off[IR_ITER_MAX_OPS];
} ir_iter;

void ir_iter_init(ir_iter *it, const ir_type *space);
/* Adds an operand with explicit base offset and per-axis strides; returns its index. */
int ir_iter_add(ir_iter *it, int64_t base, const int64_t *strides);
/* Adds an operand of type t broadcast into the space by NumPy's rules (aligned on the right). */
int ir_iter_add_bcast(ir_iter *it, const ir_type *t);
void ir_iter_next(ir_iter *it);

/* Row-major element strides of t. */
void ir_kern_strides(const ir_type *t, int64_t *strides);
/* Product of dims[from..to). */
int64_t ir_kern_span(const ir_type *t, int from, int to);
/* A malloc'd copy of t's elements as doubles (at least one slot); NULL after reporting OOM. */
double *ir_kern_to_f64(const ir_node *n, const ir_tensor *t, ir_diag *d);
/* malloc that reports "out of memory" at the node instead of returning NULL silently. */
void *ir_kern_alloc(const ir_node *n, size_t count, size_t size, ir_diag *d);

#endif
