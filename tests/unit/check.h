/* check.h — the check macro of the C unit tests: CHECK(cond) or CHECK(cond, "fmt", ...) counts
 * the check and, when it fails, prints file, line, the condition and the message. Each test's
 * main returns failures != 0. Test-only state, one copy per test program. */
#ifndef TFC_TEST_CHECK_H
#define TFC_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int failures, checks;

__attribute__((format(printf, 4, 5), unused)) static void check_failed(const char *file, int line,
                                                                       const char *cond, const char *fmt, ...) {
    failures++;
    fprintf(stderr, "%s:%d: check failed: %s", file, line, cond);
    if (fmt[2]) { /* fmt is ": " followed by the caller's message, if any */
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) check_failed(__FILE__, __LINE__, #cond, ": " __VA_ARGS__);            \
    } while (0)

#endif
