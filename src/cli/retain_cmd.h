/* retain_cmd.h - retention from the settings, for `callqa store purge` and `callqa store erase`
 * (retain_cmd.c) and the worker's scheduled purge (worker_cmd.c). */
#ifndef CQ_CLI_RETAIN_CMD_H
#define CQ_CLI_RETAIN_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "../config/config.h"
#include "../store/store_retain.h"

#define CQ_RETAIN_MAX_ROOTS 16

/* The periods and the folders of files, from the settings. */
typedef struct cq_retention {
    store_retention r;
    store_file_roots roots;
    char owned_buf[CQ_RETAIN_MAX_ROOTS][1024];   /* the upload folder, the redacted copies', the
                                                    transcode cache, retain_own_dirs */
    char protect_buf[CQ_RETAIN_MAX_ROOTS][1024]; /* recordings_dir, audio_dirs */
    const char *owned[CQ_RETAIN_MAX_ROOTS + 1];
    const char *protect[CQ_RETAIN_MAX_ROOTS + 1];
} cq_retention;

/* db: the store (the upload folder and the redacted copies' may lie beside it, as for the
 * service and the worker that used it). 0, or -1 with msg (a period's syntax). */
int cq_retention_init(cq_retention *rt, const cfg_settings *c, const char *db, char *msg,
                      size_t msgsz);
void cq_retention_free(cq_retention *rt);

/* One purge: each call's line to out (NULL: none), the totals as one JSON log line to stderr.
 * 0 every due call done, -1 otherwise. */
int cq_retention_purge(store *s, const cq_retention *rt, double now, bool dry_run, FILE *out);

/* A scheduled purge, a part at a time (callqa worker's loop). */
typedef struct cq_purge_run {
    bool running;
    int64_t cursor;
    double now; /* the run's time, UTC s */
    store_purge_totals tot;
} cq_purge_run;
/* Start a run (when none is running) or go on with it for budget_sec: 1 when it ended (its
 * totals logged), 0 when it goes on at the next call, -1 when the store failed (logged; the run
 * ends). Each call's failure is logged as it happens. */
int cq_retention_purge_step(store *s, const cq_retention *rt, cq_purge_run *run, double budget_sec);

/* `callqa store purge ...` and `callqa store erase ...` (argv[0] the command's name). */
int cq_cli_store_purge(int argc, char **argv);
int cq_cli_store_erase(int argc, char **argv);

#endif /* CQ_CLI_RETAIN_CMD_H */
