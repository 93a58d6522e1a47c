/*
 * worker_cmd.c - `callqa worker` (the QA worker, src/pipeline/) and `callqa requeue`.
 *
 *   callqa worker --db STORE [--jobs N] [--once] [--recording-server NAME=URL]...
 *   callqa requeue --db STORE --since YYYY-MM-DD[THH:MM:SS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ingest/ingest.h"
#include "../clients/webhook.h"
#include "../pipeline/pipeline.h"
#include "../store/store_routes.h"
#include "callqa/cq_clock.h"
#include "cli_args.h"
#include "cli_common.h"
#include "sidecar.h"
#include "worker_cmd.h"
#include "../store/store_jobs.h"
#include "../store/store_retain.h"
#include "../store/store.h"

/* The worker's chores: the dialer's scan beside it, and the purge of what retention says is
 * due, every purge_interval_sec (the first a minute after the start), on a connection of its
 * own, at most 2 s of it per turn of the loop. */
typedef struct chores {
    cq_sidecar *ingest; /* NULL: none */
    bool purge;
    cq_retention rt;
    const char *db;
    double interval, next; /* monotonic s: the next run's start */
    cq_purge_run run;
    store *st;
    double route_every, route_next; /* the routes' change scan: 0 none; monotonic s */
    wh_sender *route_wh;            /* its webhook (route_webhook), or NULL */
} chores;

/* A change stored for the first time: a worse one found in the last day goes to the webhook
 * (a first scan of a year of history does not send the year's). */
static void route_new(void *user, const store_route_change *c)
{
    chores *ch = user;
    if (!ch->route_wh || strcmp(c->direction, "worse") || c->t_found < cq_clock_wall_sec() - 86400)
        return;
    char *body = pl_route_change_json(c);
    if (body && !wh_post(ch->route_wh, body, strlen(body)))
        fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"routes: the webhook's queue is full: an "
                        "event dropped\"}\n");
    free(body);
}

/* The routes' change test over every route (pl_routes_scan), once its time comes. */
static void route_scan(chores *ch)
{
    if (ch->route_every <= 0 || cq_clock_mono_sec() < ch->route_next)
        return;
    ch->route_next = cq_clock_mono_sec() + ch->route_every;
    char msg[1200];
    if (!ch->st && !(ch->st = store_open(ch->db, msg, sizeof(msg)))) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"routes: the store cannot be opened\"}\n");
        return;
    }
    pl_routes_stats rs;
    double t0 = cq_clock_mono_sec();
    if (pl_routes_scan(ch->st, cq_clock_wall_sec(), route_new, ch, &rs, msg, sizeof(msg)) != 0) {
        char jb[1300];
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"routes: the change scan failed\","
                "\"error\":%s}\n",
                ingest_json_str(msg, jb, sizeof(jb)));
        return;
    }
    fprintf(stderr,
            "{\"level\":\"info\",\"msg\":\"routes scanned\",\"routes\":%d,\"series\":%d,"
            "\"changes\":%d,\"new\":%d,\"sec\":%.3f}\n",
            rs.routes, rs.series, rs.changes, rs.new_changes, cq_clock_mono_sec() - t0);
}

static void tick_chores(void *arg)
{
    chores *ch = arg;
    if (ch->ingest)
        cq_sidecar_poll(ch->ingest);
    route_scan(ch);
    if (!ch->purge || (!ch->run.running && cq_clock_mono_sec() < ch->next))
        return;
    char msg[1200];
    if (!ch->st && !(ch->st = store_open(ch->db, msg, sizeof(msg)))) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"purge: the store cannot be opened\"}\n");
        ch->next = cq_clock_mono_sec() + ch->interval;
        return;
    }
    /* a part at a time, so that the loop's other work (leases, claims) never waits long */
    if (cq_retention_purge_step(ch->st, &ch->rt, &ch->run, 2.0) != 0)
        ch->next = cq_clock_mono_sec() + ch->interval;
}

/* The routes' webhook (route_webhook and its secret file, as `callqa live --webhook`'s signed
 * events): 0, or -1 said on stderr. */
static int route_webhook_open(chores *ch, const cfg_settings *s)
{
    if (!s->route_webhook[0])
        return 0;
    char secret[1024], msg[512];
    if (!s->route_webhook_secret_file[0]) {
        fprintf(stderr, "callqa worker: route_webhook needs route_webhook_secret_file\n");
        return -1;
    }
    if (cfg_read_secret(s->route_webhook_secret_file, secret, sizeof(secret), msg, sizeof(msg))) {
        fprintf(stderr, "callqa worker: route_webhook_secret_file: %s\n", msg);
        return -1;
    }
    wh_params wp = wh_default_params();
    wp.url = s->route_webhook;
    wp.key = (const uint8_t *)secret;
    wp.key_len = strlen(secret);
    ch->route_wh = wh_create(&wp, msg, sizeof(msg));
    memset(secret, 0, sizeof(secret)); /* the sender keeps its own copy */
    if (!ch->route_wh) {
        fprintf(stderr, "callqa worker: route_webhook: %s\n", msg);
        return -1;
    }
    return 0;
}

int cq_cli_worker(int argc, char **argv)
{
    pl_worker_config c;
    pl_worker_defaults(&c);
    char msg[1200];
    cfg_args a;
    /* the config file first, the environment over it, then the flags over both */
    int rc0 = cq_cli_args("worker", "callqa worker", argc, argv, &c.svc, &a);
    if (rc0 >= 0)
        return rc0;
    if (a.next != argc) {
        cq_cli_usage(stderr, "worker");
        return 2;
    }
    const cfg_settings *s = &c.svc;
    /* the store the settings name: the folders beside it (the uploads, the redacted copies)
     * are this store's */
    snprintf(c.db, sizeof(c.db), "%s", s->db_path);
    c.jobs = (int)cfg_arg_num(&a, "jobs");
    c.once = cfg_arg_given(&a, "once");
    snprintf(c.recordings_dir, sizeof(c.recordings_dir), "%s", s->recordings_dir);
    c.max_load = s->worker_max_load;
    snprintf(c.window, sizeof(c.window), "%s", s->worker_window);
    snprintf(c.tz, sizeof(c.tz), "%s", s->worker_tz);
    snprintf(c.cpus, sizeof(c.cpus), "%s", s->worker_cpus);
    c.idle = s->worker_idle;
    c.min_length_sec = s->worker_min_length_sec;
    c.lease_sec = s->worker_lease_sec;
    c.max_retries = s->worker_max_retries;
    c.backoff_sec = s->worker_backoff_sec;
    c.analysis_timeout_sec = s->worker_analysis_timeout_sec;
    if (cfg_arg(&a, "id"))
        snprintf(c.id, sizeof(c.id), "%s", cfg_arg(&a, "id"));
    bool no_ingest = cfg_arg_given(&a, "no-ingest");
    const char *only = cfg_arg(&a, "only");
    cq_err err;
    if (only && cq_analyzers_parse(only, &c.analyzers, &err) != CQ_OK) {
        fprintf(stderr, "callqa worker: --only: %s\n", err.msg);
        return 2;
    }
    if (c.window[0] && pl_in_window(c.window, c.tz, time(NULL)) < 0) {
        fprintf(stderr, "callqa worker: --window (worker_window) '%s': expected HH:MM-HH:MM\n",
                c.window);
        return 2;
    }
    chores ch = {.db = c.db, .interval = c.svc.purge_interval_sec};
    if (cq_retention_init(&ch.rt, &c.svc, c.db, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa worker: %s\n", msg);
        return 2;
    }
    ch.purge = !c.once && store_retention_any(&ch.rt.r);
    ch.next = cq_clock_mono_sec() + 60;
    ch.route_every = c.once ? 0 : c.svc.route_scan_sec;
    ch.route_next = cq_clock_mono_sec() + (ch.route_every < 60 ? ch.route_every : 60);
    if (ch.route_every > 0 && route_webhook_open(&ch, &c.svc) != 0) {
        cq_retention_free(&ch.rt);
        return 2;
    }
    if (ch.purge || ch.route_every > 0)
        c.tick = tick_chores, c.tick_arg = &ch;
    if (!c.svc.vicidial[0] || no_ingest) {
        int rc = pl_worker_run(&c);
        store_close(ch.st);
        wh_destroy(ch.route_wh, 5, NULL);
        cq_retention_free(&ch.rt);
        return rc;
    }
    /* the dialer's scan: before draining (--once), or on a schedule beside the worker */
    static const char *const k_cmd[] = {"ingest", "vicidial", NULL};
    static const char *const k_share[] = {"--config", "--db", "--recording-server",
                                          "--recordings-dir", NULL};
    static const char *const k_once[] = {"--once", NULL};
    cq_sidecar ingest;
    if (cq_sidecar_init(&ingest, "ingest", k_cmd, argc, argv, k_share, c.once ? k_once : NULL)) {
        fprintf(stderr, "callqa worker: out of memory\n");
        cq_retention_free(&ch.rt);
        return 1;
    }
    int scanned = 0;
    if (c.once)
        scanned = cq_sidecar_run_once(&ingest);
    else
        ch.ingest = &ingest, c.tick = tick_chores, c.tick_arg = &ch;
    int rc = pl_worker_run(&c);
    cq_sidecar_free(&ingest);
    store_close(ch.st);
    wh_destroy(ch.route_wh, 5, NULL);
    cq_retention_free(&ch.rt);
    return rc ? rc : scanned ? 1 : 0;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS", local time, as UTC seconds; -1 when malformed. */
static double parse_since(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || *end) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%d", &tm);
        if (!end || *end)
            return -1;
    }
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (double)t;
}

int cq_cli_requeue(int argc, char **argv)
{
    static cfg_settings set; /* none of its own: the table's defaults only */
    cfg_defaults(&set);
    cfg_args a;
    int rc0 = cq_cli_args("requeue", "callqa requeue", argc, argv, &set, &a);
    if (rc0 >= 0)
        return rc0;
    const char *db = cfg_arg(&a, "db"), *since = cfg_arg(&a, "since");
    double t = since ? parse_since(since) : -1;
    if (!db || t < 0 || a.next != argc) {
        cq_cli_usage(stderr, "requeue");
        return 2;
    }
    char msg[1200];
    store *s = store_open(db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "callqa requeue: store: %s\n", msg);
        return 1;
    }
    int64_t n = store_requeue(s, t, cq_clock_wall_sec());
    if (n < 0)
        fprintf(stderr, "callqa requeue: %s\n", store_errmsg(s));
    else
        printf("%lld calls queued again\n", (long long)n);
    store_close(s);
    return n < 0 ? 1 : 0;
}
