/*
 * cli_common.c - what several commands of the callqa-service program share (cli_common.h): the
 * audit entry of a command run on the host, and retention from the settings for `callqa store
 * purge|erase` (retain_cmd.c) and the worker's scheduled purge (worker_cmd.c).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../clients/recording.h"
#include "../pipeline/pipeline.h"
#include "cli_common.h"
#include "../store/store.h"
#include "../store/store_retain.h"
#include "../store/store_users.h"

/* cli_common.h */
void cq_cli_audit(store *s, const char *action, const char *target, bool ok)
{
    const struct passwd *pw = getpwuid(geteuid());
    char who[80];
    snprintf(who, sizeof(who), "host:%.64s", pw && pw->pw_name ? pw->pw_name : "?");
    store_audit_row a = {.ts = (double)time(NULL),
                         .who = who,
                         .role = "admin",
                         .action = action,
                         .target = target,
                         .client = "cli",
                         .status = ok ? 200 : 500};
    if (store_audit_append(s, &a) != 0)
        fprintf(stderr, "callqa store %s: the audit trail could not be written: %s\n", action,
                store_errmsg(s));
}

/* ---- retention ---------------------------------------------------------------------------- */

/* The folders of a comma-separated list (spaces around each trimmed) into buf from n on, up to
 * CQ_RETAIN_MAX_ROOTS: the new n. */
static int list_of(const char *p, char (*buf)[1024], int n)
{
    while (*p && n < CQ_RETAIN_MAX_ROOTS) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        while (k && (*p == ' ' || *p == '\t'))
            p++, k--;
        while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        if (k && k < sizeof(buf[0]))
            snprintf(buf[n++], sizeof(buf[0]), "%.*s", (int)k, p);
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

int cq_retention_init(cq_retention *rt, const cfg_settings *c, const char *db, char *msg,
                      size_t msgsz)
{
    memset(rt, 0, sizeof(*rt));
    for (int k = 0; k < STORE_KEEP_N && k < 4; k++)
        rt->r.days[k] = c->retain_days[k];
    if (store_retain_parse("retain_campaigns", c->retain_campaigns, &rt->r.campaigns,
                           &rt->r.n_campaigns, msg, msgsz) != 0 ||
        store_retain_parse("retain_sources", c->retain_sources, &rt->r.sources, &rt->r.n_sources,
                           msg, msgsz) != 0) {
        store_retention_free(&rt->r);
        return -1;
    }
    /* callqa's own files (docs/privacy/retention.md, "What callqa keeps of a call"): the uploads
     * and the redacted copies, where the service and the worker that used this store put them
     * (beside the store, unless set), the service's transcode cache, and retain_own_dirs */
    int no = 0;
    cfg_settings *at = malloc(sizeof(*at));
    if (!at) {
        store_retention_free(&rt->r);
        return cfg_fail(msg, msgsz, "out of memory%s", "");
    }
    *at = *c;
    snprintf(at->db_path, sizeof(at->db_path), "%s", db);
    rec_upload_dir(at, rt->owned_buf[no], sizeof(rt->owned_buf[0]));
    free(at);
    no += rt->owned_buf[no][0] != 0;
    pl_redact_dir(c, db, rt->owned_buf[no], sizeof(rt->owned_buf[0]));
    rt->roots.redact_dir = rt->owned_buf[no];
    no += rt->owned_buf[no][0] != 0;
    const char *tmp = c->tmp_dir[0] ? c->tmp_dir : "/tmp";
    if (strlen(tmp) + 14 < sizeof(rt->owned_buf[0])) { /* the media room's transcode cache */
        memcpy(rt->owned_buf[no], tmp, strlen(tmp));
        memcpy(rt->owned_buf[no] + strlen(tmp), "/callqa-audio", 14);
        rt->roots.transcode_dir = rt->owned_buf[no++];
    }
    no = list_of(c->retain_own_dirs, rt->owned_buf, no);
    for (int i = 0; i < no; i++)
        rt->owned[i] = rt->owned_buf[i];
    rt->owned[no] = NULL;
    /* the dialer's: never deleted, even beneath an owned folder */
    int np = 0;
    if (c->recordings_dir[0])
        snprintf(rt->protect_buf[np++], sizeof(rt->protect_buf[0]), "%s", c->recordings_dir);
    np = list_of(c->audio_dirs, rt->protect_buf, np);
    for (int i = 0; i < np; i++)
        rt->protect[i] = rt->protect_buf[i];
    rt->protect[np] = NULL;
    rt->roots.owned = rt->owned;
    rt->roots.protect = rt->protect;
    rt->roots.recordings_dir = c->recordings_dir;
    return 0;
}

void cq_retention_free(cq_retention *rt)
{
    if (rt)
        store_retention_free(&rt->r);
}

/* cli_common.h */
void cq_cli_purge_totals(const char *what, bool dry, const store_purge_totals *t)
{
    fprintf(stderr,
            "{\"level\":\"%s\",\"msg\":\"%s%s\",\"calls\":%d,\"failed\":%d,\"rows\":%" PRId64
            ",\"search_rows\":%" PRId64 ",\"files\":%d,\"quotes\":%d}\n",
            t->failed ? "error" : "info", what, dry ? " (dry run: nothing changed)" : "", t->calls,
            t->failed, t->rows, t->search_rows, t->files, t->quotes);
    fflush(stderr);
}

/* a failure of the scheduled purge, as a log line (no source or recording: logs travel) */
static void log_failure(void *user, const store_deletion *d)
{
    (void)user;
    if (d->status == 0)
        return;
    fprintf(stderr,
            "{\"level\":\"error\",\"msg\":\"purge: a call failed, nothing of it "
            "changed\",\"call\":%" PRId64 "}\n",
            d->call_id);
    fflush(stderr);
}

int cq_retention_purge_step(store *s, const cq_retention *rt, cq_purge_run *run, double budget_sec)
{
    if (!run->running) {
        memset(run, 0, sizeof(*run));
        run->running = true;
        run->now = (double)time(NULL);
    }
    int rc = store_purge_step(s, &rt->r, &rt->roots, run->now, false, budget_sec, &run->cursor,
                              log_failure, NULL, &run->tot);
    if (rc != 0) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"purge stopped: the store failed\"}\n");
        run->running = false;
        return -1;
    }
    if (run->cursor)
        return 0;
    run->running = false;
    cq_cli_purge_totals("purge", false, &run->tot);
    /* what the run deleted, out of SQLite's search index and write-ahead log too */
    char msg[600];
    if (run->tot.calls > run->tot.failed &&
        store_scrub(s, run->tot.search_rows > 0, msg, sizeof(msg)) != 0)
        fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"purge: %s\"}\n", msg);
    return 1;
}
