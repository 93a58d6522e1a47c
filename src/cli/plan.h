/*
 * plan.h - command-line paths to calls (CLI only; the library sees single calls).
 */
#ifndef CQ_CLI_PLAN_H
#define CQ_CLI_PLAN_H

#include <stddef.h>
#include <stdio.h>

typedef struct plan_paths {
    char **v;
    size_t n, cap;
} plan_paths;

/* One call: `path` (one file, ViciDial -all resolved later), or `in` + `out`. Borrowed
 * pointers into the plan_paths they came from. */
typedef struct plan_call {
    const char *path;
    const char *in, *out;
} plan_call;

/* Expand files and directories into audio paths. Returns the number of directories that
 * could not be read (reported on errf), or -1 when out of memory. */
int plan_expand(plan_paths *out, char *const *args, int n, FILE *errf);

/* Group paths into calls. Returns 0, or -1 when out of memory. Free *out with free(). */
int plan_calls(const plan_paths *pp, plan_call **out, size_t *n_out);

void plan_paths_free(plan_paths *pp);

#endif
