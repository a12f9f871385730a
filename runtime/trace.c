/* trace.c — profiles of the executor: each step's start and end time in the last profiled run,
 * and their export as Chrome trace-event JSON (one complete "X" event per step, microseconds
 * from the run's start), which Perfetto and chrome://tracing open. */
#define _POSIX_C_SOURCE 200809L

#include "runtime/exec_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

double rt_now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void rt_exec_set_profiling(rt_exec *e, bool on) { e->profiling = on; }

void rt_trace_step_begin(rt_exec *e, int i) {
    if (e->profiling) e->t_begin[i] = rt_now_seconds();
}

void rt_trace_step_end(rt_exec *e, int i) {
    if (e->profiling) {
        e->t_end[i] = rt_now_seconds();
        e->n_timed = i + 1;
    }
}

double rt_exec_step_seconds(const rt_exec *e, int i) {
    return i >= 0 && i < e->n_timed ? e->t_end[i] - e->t_begin[i] : 0.0;
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes (UTF-8
   included) as they are. */
static void write_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", f);
        else if (*c == '\t')
            fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

static const char *kind_name(rt_step_kind k) {
    return k == RT_STEP_GEMM ? "gemm" : k == RT_STEP_CONV ? "conv" : "loop";
}

static void write_event(FILE *f, const rt_exec *e, int i) {
    const rt_step *s = &e->timed->steps[i];
    double t0 = e->t_begin[0];
    fputs(i ? ",\n{\"name\":" : "{\"name\":", f);
    write_json_string(f, s->name);
    fprintf(f, ",\"cat\":\"kernel\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":1,\"tid\":1,",
            (e->t_begin[i] - t0) * 1e6, (e->t_end[i] - e->t_begin[i]) * 1e6);
    /* JSON has no NaN or infinity: an unknown estimate is written as 0. */
    double flops = isfinite(s->flops) ? s->flops : 0, bytes = isfinite(s->bytes) ? s->bytes : 0;
    fprintf(f, "\"args\":{\"flops\":%.17g,\"bytes\":%.17g,\"kind\":\"%s\"}}", flops, bytes, kind_name(s->kind));
}

bool rt_exec_write_trace(const rt_exec *e, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fputs("{\"traceEvents\":[\n", f);
    for (int i = 0; i < e->n_timed; i++) write_event(f, e, i);
    fputs("\n],\"displayTimeUnit\":\"ms\"}\n", f);
    bool failed = ferror(f) != 0;
    int saved = errno;
    if (fclose(f) != 0) return false;
    if (failed) {
        errno = saved ? saved : EIO;
        return false;
    }
    return true;
}
