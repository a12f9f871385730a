/* cli_passes.c — turns --passes, -O and the dump stage into a pipeline and runs it on the
 * loaded module, with the pass manager's options (--verify-each, --time-passes, dumps). */
#include "passes/passes.h"
#include "tools/cli.h"

#include <string.h>

int cli_optimize(const cli_options *o, cli_model *m, const char *stage, int default_level) {
    pass_pipeline p;
    if (o->passes) {
        if (!pass_pipeline_parse(o->passes, &p, &m->diag)) return CLI_USER_ERROR;
    } else {
        pass_pipeline_for_level(o->opt_level >= 0 ? o->opt_level : default_level, stage, &p);
    }
    pass_run_options ro = {o->verify_each, o->time_passes, o->dump_after, o->dump_dir,
                           o->explain_fusion ? stderr : NULL};
    return pass_run_pipeline(m->module, &p, &ro, &m->diag) ? CLI_OK : cli_failure_status(&m->diag);
}
