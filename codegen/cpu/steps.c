/* steps.c — the runtime's step table for a compiled program: one rt_step per kernel with its
 * kind, the cost model's estimate (for profiles), the compiled function, the parallel range and
 * grain, the library call's description and the check messages. */
#include "codegen/cpu/cpu.h"

static rt_step_kind step_kind(cg_kernel_kind k) {
    switch (k) {
    case CG_KERNEL_GEMM: return RT_STEP_GEMM;
    case CG_KERNEL_CONV: return RT_STEP_CONV;
    default: return RT_STEP_LOOP;
    }
}

void cg_cpu_fill_steps(const cg_program *p, rt_kernel_fn const *fns, rt_step *steps) {
    for (int k = 0; k < p->n_kernels; k++) {
        const cg_kernel *kn = &p->kernels[k];
        steps[k] = (rt_step){
            .name = kn->name,
            .kind = step_kind(kn->kind),
            .flops = kn->cost.flops,
            .bytes = kn->cost.bytes_read + kn->cost.bytes_written,
            .fn = fns[k],
            .extent = kn->parallel_extent,
            .grain = kn->grain,
            .gemm = kn->gemm,
            .conv = kn->conv,
            .n_checks = kn->n_checks,
            .checks = (const char *const *)kn->checks,
        };
    }
}
