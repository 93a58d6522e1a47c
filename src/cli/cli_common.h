/* cli_common.h - what several commands of the callqa-service program share (cli_common.c): the
 * audit entry of a command run on the host, and retention from the settings (`callqa store
 * purge|erase` and the worker's scheduled purge). It calls no other file of src/cli/, so that no
 * two commands' files call each other. */
#ifndef CQ_CLI_COMMON_H
#define CQ_CLI_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "callqa/callqa.h"
#include "../config/config.h"
#include "../store/store_retain.h"

/* One entry of the audit trail for a command run on the host (callqa store purge, erase): who is
 * "host:<the system user>", the client "cli", the status 200 or 500. */
void cq_cli_audit(store *s, const char *action, const char *target, bool ok);

/* ---- retention from the settings ------------------------------------------------------------ */

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

/* A purge's or an erasure's totals as one JSON log line on stderr ("purge", "erase"). */
void cq_cli_purge_totals(const char *what, bool dry, const store_purge_totals *t);

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

#endif /* CQ_CLI_COMMON_H */
