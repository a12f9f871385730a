/* library_api.h — what the generic drivers of tests/aot and tests/train (harness.c, train_steps.c)
 * share: built with -DPREFIX=name -include name.h, API(_run) names PREFIX_run, the library's types
 * get prefix-free names, and find_graph looks a graph up in its argument table. Header only, C99. */
#ifndef TFC_TEST_AOT_LIBRARY_API_H
#define TFC_TEST_AOT_LIBRARY_API_H

#include <string.h>

#ifndef PREFIX
#error "build with -DPREFIX=<the library's prefix> -include <prefix>.h"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(name) CAT(PREFIX, name)

typedef API(_model) model_t;
typedef API(_graph_info) graph_info_t;
typedef API(_arg_info) arg_info_t;
typedef API(_options) options_t;

/* The index of the graph called name in the library's table, or -1. */
static inline int find_graph(const char *name) {
    for (int i = 0; API(_graph)(i); i++)
        if (strcmp(API(_graph)(i)->name, name) == 0) return i;
    return -1;
}

#endif
