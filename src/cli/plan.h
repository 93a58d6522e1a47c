/*
 * plan.h - command-line paths to calls (CLI only; the library sees single calls).
 *
 * The room src/cli/ holds the commands of two programs. `callqa` (main.c, plan.c,
 * classify_cmd.c) analyses recordings and prints reports: it calls the engine (its public API),
 * proc (a batch's calls in child processes) and the settings (cfg_engine.h), and links none of
 * the service's libraries. `callqa-service` (service_main.c and the commands it calls) runs
 * serve, worker, requeue, ingest, analyze --transcribe, transcript import, score and store
 * migrate: it calls the service, jobs, ingest, the clients, scoring, the transcript module, the
 * store, proc and the settings. `callqa` hands those commands to it (execv), so that an analysis
 * loads none of libmicrohttpd, libcurl, SQLite, libpq or libmariadb. Floor 9, the top: a command
 * parses its arguments, joins the rooms below and prints; no room includes a header of this one.
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
