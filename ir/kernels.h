/* kernels.h — helpers shared by the reference interpreter's kernels (ir/interp.c,
 * ir/kernels_*.c): exact integer element access, a strided multi-operand iterator, dense
 * conversions, and what a forward kernel and its gradient's must agree on (pooling windows, index
 * checks). Internal to the ir/ layer; everything else uses ir.h. */
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

/* ---- ir/kernels_nn.c: pooling windows (max_pool2d, avg_pool2d and their gradients) ----------- */

/* A window geometry per spatial axis [h, w]: output (y, x) reads the input taps y*stride - lo +
 * i*dilation for i < kernel; those outside [0, in) are padding. */
typedef struct ir_window {
    int64_t in[2], out[2], kernel[2], stride[2], dilation[2], lo[2], hi[2];
} ir_window;

/* The window of pool n (or its gradient) from x [N, C, H, W] to y [N, C, OH, OW]. */
ir_window ir_kern_pool_window(const ir_node *n, const ir_type *x, const ir_type *y);
/* The taps of output (y, xo)'s window that lie in the input: rows [rows[0], rows[1]) and columns
 * [cols[0], cols[1]) (empty ranges where the window holds padding only). */
void ir_kern_pool_taps(const ir_window *w, int64_t y, int64_t xo, int64_t *rows, int64_t *cols);
/* What avg_pool2d divides output (y, xo)'s sum by. */
double ir_kern_pool_divisor(const ir_window *w, int64_t y, int64_t xo);
/* The offset in its [H, W] plane x of the tap max_pool2d takes for output (y, xo): the first NaN,
 * else the first maximum in row-major order; -1 when the window holds padding only. */
int64_t ir_kern_max_tap(const ir_window *w, const double *x, int64_t y, int64_t xo);

/* ---- ir/kernels_tensor.c: indices --------------------------------------------------------- */

/* Checks every index of idx for an axis of size dim, as gather and gather_grad read them (one in
 * [-dim, 0) counts from the end); reports the first one outside [-dim, dim) at n, false. */
bool ir_kern_check_indices(const ir_node *n, const ir_tensor *idx, int axis, int64_t dim, ir_diag *d);
/* Checks cross_entropy's labels (or its gradient's, one_hot_checked's) for `classes` classes;
 * reports the first outside [0, classes) at n, with its example, false. */
bool ir_kern_check_labels(const ir_node *n, const ir_tensor *labels, int64_t classes, ir_diag *d);

#endif
