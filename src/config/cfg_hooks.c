/*
 * cfg_hooks.c - the test hooks (config.h): the CALLQA_TEST_* variables that make a fault happen
 * at a chosen point of the production code, for the tests that prove what happens then. They
 * are listed once, here, with what each does and where (docs/config.md, "Test hooks"), and read
 * through cfg_test_hook: a name this table does not list stops the program, so that a
 * hook cannot be added without being listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const struct {
    const char *name; /* CALLQA_TEST_<name> */
    const char *meaning;
} k_hooks[] = {
    {"CRASH_ON", "an analysis of a call whose name holds this text crashes (SIGSEGV) in its "
                 "child process: callqa analyze's batches, the worker's and the service's "
                 "analyses"},
    {"KILL_AT", "the process kills itself (SIGKILL) at the worker's point of this name "
                "(pl_kill_point), or just before the store's commit named commit:LABEL"},
    {"STOP_AT", "the worker stops itself (SIGSTOP) at its point of this name, the first time"},
    {"LOADAVG_FILE", "the worker reads the 1-minute load from this file, not /proc/loadavg"},
    {"WATCH_LOOK_MS", "callqa ingest watch looks at the files not yet complete this often "
                      "(10 to 10000 ms; default 500)"},
    {"INGEST_PAUSE_MS", "callqa ingest vicidial pauses this long after each batch (1 to 59999 ms)"},
};
#define N_HOOKS (sizeof(k_hooks) / sizeof(k_hooks[0]))

const char *cfg_test_hook(const char *name)
{
    for (size_t i = 0; i < N_HOOKS; i++)
        if (!strcmp(k_hooks[i].name, name)) {
            char env[64];
            snprintf(env, sizeof(env), "CALLQA_TEST_%s", name);
            return getenv(env);
        }
    fprintf(stderr, "callqa: no test hook %s in src/config/cfg_hooks.c\n", name);
    abort();
}

const char *cfg_test_hook_at(size_t i, const char **meaning)
{
    if (i >= N_HOOKS)
        return NULL;
    if (meaning)
        *meaning = k_hooks[i].meaning;
    return k_hooks[i].name;
}
