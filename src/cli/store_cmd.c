/*
 * store_cmd.c - `callqa store migrate`: a SQLite store copied into a PostgreSQL one, resumable,
 * and verified by counts and checksums (store_copy, src/store/store_copy.c;
 * docs/scale.md); `callqa store purge` and `callqa store erase` are retain_cmd.c's, `store
 * redact` redact_cmd.c's, `store audit` user_cmd.c's.
 *
 *   callqa store migrate --from SQLITE_PATH --to postgresql://... [--verify-only] [--batch N]
 *
 * Progress goes to stderr as JSON lines, as the other commands log; the tables' counts to
 * stdout at the end. Exit status 0 only when every table was verified.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../pipeline/pipeline.h"
#include "../store/store_copy.h"
#include "../store/store_routes.h"
#include "callqa/cq_clock.h"
#include "cli_args.h"
#include "redact_cmd.h"
#include "retain_cmd.h"
#include "store_cmd.h"
#include "user_cmd.h"

#define MAX_TABLES 32

typedef struct table_line {
    char name[64];
    int64_t rows, copied;
} table_line;

typedef struct run_state {
    table_line t[MAX_TABLES];
    int n;
    int64_t copied;
} run_state;

static table_line *line_of(run_state *r, const char *table)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->t[i].name, table))
            return &r->t[i];
    if (r->n >= MAX_TABLES)
        return NULL;
    table_line *l = &r->t[r->n++];
    snprintf(l->name, sizeof(l->name), "%s", table);
    return l;
}

/* Table names are callqa's own (letters and '_'): no JSON escaping needed. */
static void progress(void *user, const store_copy_progress *p)
{
    run_state *r = user;
    table_line *l = line_of(r, p->table);
    if (!strcmp(p->phase, "batch")) {
        fprintf(stderr,
                "{\"level\":\"info\",\"msg\":\"copying\",\"table\":\"%s\",\"rows\":%" PRId64
                ",\"of\":%" PRId64 ",\"copied\":%" PRId64 ",\"sec\":%.3f}\n",
                p->table, p->rows, p->source_rows, p->copied, p->sec);
    } else if (!strcmp(p->phase, "copied")) {
        fprintf(stderr,
                "{\"level\":\"info\",\"msg\":\"copied\",\"table\":\"%s\",\"rows\":%" PRId64
                ",\"of\":%" PRId64 ",\"copied\":%" PRId64 ",\"sec\":%.3f}\n",
                p->table, p->rows, p->source_rows, p->copied, p->sec);
        if (l)
            l->copied = p->copied;
        r->copied += p->copied;
    } else {
        fprintf(stderr,
                "{\"level\":\"info\",\"msg\":\"verified\",\"table\":\"%s\",\"rows\":%" PRId64
                ",\"sha256\":\"%s\",\"sec\":%.3f}\n",
                p->table, p->rows, p->sha256, p->sec);
        if (l)
            l->rows = p->rows;
    }
    fflush(stderr);
}

static int store_migrate(int argc, char **argv)
{
    static cfg_settings set; /* none of its own: the table's defaults only */
    cfg_defaults(&set);
    cfg_args a;
    int rc0 = cq_cli_args("store migrate", "callqa store migrate", argc, argv, &set, &a);
    if (rc0 >= 0)
        return rc0;
    const char *from = cfg_arg(&a, "from"), *to = cfg_arg(&a, "to");
    store_copy_opts o = {.verify_only = cfg_arg_given(&a, "verify-only")};
    if (cfg_arg_given(&a, "batch"))
        o.batch_rows = (int)cfg_arg_num(&a, "batch");
    if (a.next < argc) {
        fprintf(stderr, "callqa store migrate: unexpected argument '%s'\n", argv[a.next]);
        return 2;
    }
    if (!from || !to) {
        fprintf(stderr, "callqa store migrate: %s is required\n", !from ? "--from" : "--to");
        cq_cli_usage(stderr, "store migrate");
        return 2;
    }
    run_state r = {0};
    char msg[1200];
    double t0 = cq_clock_mono_sec();
    int rc = store_copy(from, to, &o, progress, &r, msg, sizeof(msg));
    double sec = cq_clock_mono_sec() - t0;
    if (rc != 0) {
        fprintf(stderr, "callqa store migrate: %s\n", msg);
        return 1;
    }
    int64_t rows = 0;
    for (int i = 0; i < r.n; i++) {
        rows += r.t[i].rows;
        if (o.verify_only)
            printf("%-16s %10" PRId64 " rows  verified\n", r.t[i].name, r.t[i].rows);
        else
            printf("%-16s %10" PRId64 " rows  %10" PRId64 " copied now  verified\n", r.t[i].name,
                   r.t[i].rows, r.t[i].copied);
    }
    printf("%d tables, %" PRId64 " rows, verified in %.1f s\n", r.n, rows, sec);
    fprintf(stderr,
            "{\"level\":\"info\",\"msg\":\"%s\",\"tables\":%d,\"rows\":%" PRId64
            ",\"copied\":%" PRId64 ",\"sec\":%.3f}\n",
            o.verify_only ? "store verified" : "store migrated", r.n, rows, r.copied, sec);
    return 0;
}

/* `callqa store routes --db STORE`: the change test over every route's roll-ups, once (the worker
 * runs it every route_scan_sec); what it found on stdout as one JSON line. */
static int store_routes(int argc, char **argv)
{
    const char *db = NULL;
    bool rebuild = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(
                "usage: callqa store routes --db STORE [--rebuild]\n"
                "  the change test over every route's hourly figures, once (the worker runs\n"
                "  it every route_scan_sec): each change stored once with its worst calls;\n"
                "  what it found as one JSON line (docs/routes.md)\n"
                "  --db STORE   the store: SQLite path or postgresql:// URI\n"
                "  --rebuild    first recompute every day's roll-ups from the calls and attempts\n"
                "\nExample: callqa store routes --db callqa.db\n");
            return 0;
        }
        if (!strcmp(argv[i], "--rebuild"))
            rebuild = true;
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strncmp(argv[i], "--db=", 5))
            db = argv[i] + 5;
        else {
            fprintf(stderr, "callqa store routes: unexpected argument '%s'\n", argv[i]);
            fprintf(stderr, "usage: callqa store routes --db STORE [--rebuild]\n");
            return 2;
        }
    }
    if (!db) {
        fprintf(stderr, "usage: callqa store routes --db STORE [--rebuild]\n");
        return 2;
    }
    char msg[1200];
    store *s = store_open(db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "callqa store routes: store: %s\n", msg);
        return 1;
    }
    pl_routes_stats st;
    double t0 = cq_clock_mono_sec();
    int days = 0;
    if (rebuild && store_routes_rebuild(s, &days) != 0) {
        fprintf(stderr, "callqa store routes: rebuilding the roll-ups: %s\n", store_errmsg(s));
        store_close(s);
        return 1;
    }
    double t1 = cq_clock_mono_sec();
    int rc = pl_routes_scan(s, cq_clock_wall_sec(), NULL, NULL, &st, msg, sizeof(msg));
    store_close(s);
    if (rc != 0) {
        fprintf(stderr, "callqa store routes: %s\n", msg);
        return 1;
    }
    printf("{\"rebuilt_days\":%d,\"rebuild_sec\":%.3f,\"routes\":%d,\"series\":%d,\"changes\":%d,"
           "\"scan_sec\":%.3f}\n",
           days, t1 - t0, st.routes, st.series, st.changes, cq_clock_mono_sec() - t1);
    return 0;
}

/* store_cmd.h */
int cq_cli_store(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "routes"))
        return store_routes(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "migrate"))
        return store_migrate(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "redact"))
        return cq_cli_store_redact(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "purge"))
        return cq_cli_store_purge(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "erase"))
        return cq_cli_store_erase(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "audit"))
        return cq_cli_store_audit(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cq_cli_usage(stdout, "store migrate");
        return 0;
    }
    fprintf(stderr, "callqa store: %s%s\n", argc >= 2 ? "unknown command: " : "a command is needed",
            argc >= 2 ? argv[1] : "");
    cq_cli_usage(stderr, "store migrate");
    return 2;
}
