/*
 * worker_cmd.c - `callqa worker` (the QA worker, src/jobs/) and `callqa requeue`.
 *
 *   callqa worker --db STORE [--jobs N] [--once] [--recording-server NAME=URL]...
 *   callqa requeue --db STORE --since YYYY-MM-DD[THH:MM:SS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../jobs/jobs.h"
#include "cli_common.h"
#include "serve_cmd.h"

static void usage(FILE *f)
{
    fputs("usage: callqa worker --db STORE [options]\n"
          "  --db STORE                 the store: SQLite path or postgresql:// URI\n"
          "  --jobs N                   calls analysed at once (default 1)\n"
          "  --once                     drain the queue, then exit (cron, tests)\n"
          "  --recording-server NAME=URL  a recording server (repeatable)\n"
          "  --recordings-dir DIR       where relative recording paths are (default: the\n"
          "                             recordings_dir setting)\n"
          "  --config FILE              settings (docs/config.md): the analysis, fetching,\n"
          "                             and the dialer scanned on a schedule (vicidial*)\n"
          "  --model-dir DIR            models (default $CALLQA_MODEL_DIR)\n"
          "  --max-load L               pause while the 1-minute load is above L (default:\n"
          "                             2 x CPUs; 0 never pauses)\n"
          "  --window HH:MM-HH:MM       work only then (default: always)\n"
          "  --tz ZONE                  the window's time zone (default: the system's)\n"
          "  --cpus LIST                run on these CPUs, e.g. 1 or 2-3 (default: all)\n"
          "  --no-idle                  keep the normal CPU and I/O priority (default: idle)\n"
          "  --min-length S             skip calls shorter than S seconds (default 0)\n"
          "  --lease-sec S              a call's lease (default 60)\n"
          "  --max-retries N            retries of a failing stage (default 3)\n"
          "  --backoff-sec S            the first retry's delay, doubled each time (default 30)\n"
          "  --analysis-timeout-sec S   an analysis is stopped past S (default 900)\n"
          "  --id ID                    the worker's name in the store (default HOST:PID)\n"
          "  --only LIST                the analyzers to run (as callqa analyze --only;\n"
          "                             default all)\n"
          "  --no-ingest                leave the dialer of the settings (vicidial) to another\n"
          "                             process (default: scan it, every ingest_interval_sec)\n",
          f);
}

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
} chores;

static double mono_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void tick_chores(void *arg)
{
    chores *ch = arg;
    if (ch->ingest)
        cq_sidecar_poll(ch->ingest);
    if (!ch->purge || (!ch->run.running && mono_sec() < ch->next))
        return;
    char msg[1200];
    if (!ch->st && !(ch->st = store_open(ch->db, msg, sizeof(msg)))) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"purge: the store cannot be opened\"}\n");
        ch->next = mono_sec() + ch->interval;
        return;
    }
    /* a part at a time, so that the loop's other work (leases, claims) never waits long */
    if (cq_retention_purge_step(ch->st, &ch->rt, &ch->run, 2.0) != 0)
        ch->next = mono_sec() + ch->interval;
}

int cq_cli_worker(int argc, char **argv)
{
    enum {
        O_DB = 256,
        O_JOBS,
        O_ONCE,
        O_SERVER,
        O_DIR,
        O_CONFIG,
        O_MODEL,
        O_LOAD,
        O_WINDOW,
        O_TZ,
        O_CPUS,
        O_NOIDLE,
        O_MINLEN,
        O_LEASE,
        O_RETRIES,
        O_BACKOFF,
        O_TIMEOUT,
        O_ID,
        O_NOINGEST,
        O_ONLY
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"jobs", required_argument, NULL, O_JOBS},
        {"once", no_argument, NULL, O_ONCE},
        {"recording-server", required_argument, NULL, O_SERVER},
        {"recordings-dir", required_argument, NULL, O_DIR},
        {"config", required_argument, NULL, O_CONFIG},
        {"model-dir", required_argument, NULL, O_MODEL},
        {"max-load", required_argument, NULL, O_LOAD},
        {"window", required_argument, NULL, O_WINDOW},
        {"tz", required_argument, NULL, O_TZ},
        {"cpus", required_argument, NULL, O_CPUS},
        {"no-idle", no_argument, NULL, O_NOIDLE},
        {"min-length", required_argument, NULL, O_MINLEN},
        {"lease-sec", required_argument, NULL, O_LEASE},
        {"max-retries", required_argument, NULL, O_RETRIES},
        {"backoff-sec", required_argument, NULL, O_BACKOFF},
        {"analysis-timeout-sec", required_argument, NULL, O_TIMEOUT},
        {"id", required_argument, NULL, O_ID},
        {"no-ingest", no_argument, NULL, O_NOINGEST},
        {"only", required_argument, NULL, O_ONLY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bool no_ingest = false;
    qa_worker_config c;
    qa_worker_defaults(&c);
    char msg[1200];
    for (int i = 1; i + 1 < argc; i++) /* the config file first, the flags over it */
        if (!strcmp(argv[i], "--config") && cfg_load_file(&c.svc, argv[i + 1], msg, sizeof(msg))) {
            fprintf(stderr, "callqa worker: %s\n", msg);
            return 2;
        }
    if (cfg_load_env(&c.svc, msg, sizeof(msg))) {
        fprintf(stderr, "callqa worker: environment: %s\n", msg);
        return 2;
    }
    int o;
    double d;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_DB:
            snprintf(c.db, sizeof(c.db), "%s", optarg);
            /* the store the settings name too: the folders beside it (the uploads, the
             * redacted copies) are this store's */
            snprintf(c.svc.db_path, sizeof(c.svc.db_path), "%s", optarg);
            break;
        case O_JOBS:
            if (cq_cli_number("callqa worker", "--jobs", optarg, 1, 64, &d))
                return 2;
            c.jobs = (int)d;
            break;
        case O_ONCE: c.once = true; break;
        case O_SERVER:
            if (cfg_add_server(&c.svc, optarg, msg, sizeof(msg))) {
                fprintf(stderr, "callqa worker: %s\n", msg);
                return 2;
            }
            break;
        case O_DIR: snprintf(c.recordings_dir, sizeof(c.recordings_dir), "%s", optarg); break;
        case O_CONFIG: break;
        case O_MODEL: snprintf(c.svc.model_dir, sizeof(c.svc.model_dir), "%s", optarg); break;
        case O_LOAD:
            if (cq_cli_number("callqa worker", "--max-load", optarg, 0, 1e6, &c.max_load))
                return 2;
            break;
        case O_WINDOW: snprintf(c.window, sizeof(c.window), "%s", optarg); break;
        case O_TZ: snprintf(c.tz, sizeof(c.tz), "%s", optarg); break;
        case O_CPUS: snprintf(c.cpus, sizeof(c.cpus), "%s", optarg); break;
        case O_NOIDLE: c.idle = false; break;
        case O_MINLEN:
            if (cq_cli_number("callqa worker", "--min-length", optarg, 0, 86400, &c.min_length_sec))
                return 2;
            break;
        case O_LEASE:
            if (cq_cli_number("callqa worker", "--lease-sec", optarg, 3, 86400, &c.lease_sec))
                return 2;
            break;
        case O_RETRIES:
            if (cq_cli_number("callqa worker", "--max-retries", optarg, 0, 100, &d))
                return 2;
            c.max_retries = (int)d;
            break;
        case O_BACKOFF:
            if (cq_cli_number("callqa worker", "--backoff-sec", optarg, 0, 86400, &c.backoff_sec))
                return 2;
            break;
        case O_TIMEOUT:
            if (cq_cli_number("callqa worker", "--analysis-timeout-sec", optarg, 0.1, 86400,
                              &c.analysis_timeout_sec))
                return 2;
            break;
        case O_ID: snprintf(c.id, sizeof(c.id), "%s", optarg); break;
        case O_NOINGEST: no_ingest = true; break;
        case O_ONLY: {
            cq_err err;
            if (cq_analyzers_parse(optarg, &c.analyzers, &err) != CQ_OK) {
                fprintf(stderr, "callqa worker: --only: %s\n", err.msg);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (c.window[0] && qa_in_window(c.window, c.tz, time(NULL)) < 0) {
        fprintf(stderr, "callqa worker: --window '%s': expected HH:MM-HH:MM\n", c.window);
        return 2;
    }
    if (!c.recordings_dir[0])
        snprintf(c.recordings_dir, sizeof(c.recordings_dir), "%s", c.svc.recordings_dir);
    chores ch = {.db = c.db, .interval = c.svc.purge_interval_sec};
    if (cq_retention_init(&ch.rt, &c.svc, c.db, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa worker: %s\n", msg);
        return 2;
    }
    ch.purge = !c.once && store_retention_any(&ch.rt.r);
    ch.next = mono_sec() + 60;
    if (ch.purge)
        c.tick = tick_chores, c.tick_arg = &ch;
    if (!c.svc.vicidial[0] || no_ingest) {
        int rc = qa_worker_run(&c);
        store_close(ch.st);
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
    int rc = qa_worker_run(&c);
    cq_sidecar_free(&ingest);
    store_close(ch.st);
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
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"since", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *since = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'd')
            db = optarg;
        else if (o == 's')
            since = optarg;
        else
            return 2;
    }
    double t = since ? parse_since(since) : -1;
    if (!db || t < 0 || optind != argc) {
        fprintf(stderr, "usage: callqa requeue --db STORE --since YYYY-MM-DD[THH:MM:SS]\n"
                        "  completed and failed calls queued since then are analysed again\n");
        return 2;
    }
    char msg[1200];
    store *s = store_open(db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "callqa requeue: store: %s\n", msg);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t n = store_requeue(s, t, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
    if (n < 0)
        fprintf(stderr, "callqa requeue: %s\n", store_errmsg(s));
    else
        printf("%lld calls queued again\n", (long long)n);
    store_close(s);
    return n < 0 ? 1 : 0;
}
