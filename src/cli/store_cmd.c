/*
 * store_cmd.c - `callqa store migrate`: a SQLite store copied into a PostgreSQL one, resumable,
 * and verified by counts and checksums (store_copy, src/store/store_copy.c;
 * docs/scale.md); `callqa store purge` and `callqa store erase` are retain_cmd.c's.
 *
 *   callqa store migrate --from SQLITE_PATH --to postgresql://... [--verify-only] [--batch N]
 *
 * Progress goes to stderr as JSON lines, as the other commands log; the tables' counts to
 * stdout at the end. Exit status 0 only when every table was verified.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../store/store.h"
#include "cli_common.h"
#include "serve_cmd.h"

#define MAX_TABLES 32

static void usage(FILE *f)
{
    fputs("usage: callqa store migrate --from SQLITE_PATH --to postgresql://... [options]\n"
          "       callqa store redact --db STORE --since DAY [--config FILE] [--dry-run]\n"
          "       callqa store purge [--dry-run] [--now TIME]    (callqa store purge --help)\n"
          "       callqa store erase (--phone NUMBER | --lead ID) [--dry-run]\n"
          "       callqa store audit --db STORE [--jsonl] [--since UNIX_S] [--after ID]\n"
          "\n"
          "Copy every row of a SQLite store into a PostgreSQL store, then verify both hold the\n"
          "same (per table: the row count and a checksum). Run it again after an interruption:\n"
          "it goes on after the last batch committed. Stop the workers, ingest and service\n"
          "that write to the SQLite store first (docs/scale.md).\n"
          "\n"
          "  --from PATH        the SQLite store\n"
          "  --to URI           the PostgreSQL store (an existing, empty database; the\n"
          "                     schema is made there)\n"
          "  --verify-only      compare the two stores only, copying nothing\n"
          "  --batch N          rows per transaction on the target (default 1000)\n"
          "\n"
          "Exit status: 0 copied and verified, 1 failed or not verified, 2 usage error.\n",
          f);
}

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

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int store_migrate(int argc, char **argv)
{
    enum { O_FROM = 256, O_TO, O_VERIFY, O_BATCH, O_HELP };
    static const struct option opts[] = {
        {"from", required_argument, NULL, O_FROM},    {"to", required_argument, NULL, O_TO},
        {"verify-only", no_argument, NULL, O_VERIFY}, {"batch", required_argument, NULL, O_BATCH},
        {"help", no_argument, NULL, O_HELP},          {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL;
    store_copy_opts o = {0};
    int c;
    double d;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_FROM: from = optarg; break;
        case O_TO: to = optarg; break;
        case O_VERIFY: o.verify_only = true; break;
        case O_BATCH:
            if (cq_cli_number("callqa store migrate", "--batch", optarg, 1, 100000, &d))
                return 2;
            o.batch_rows = (int)d;
            break;
        case O_HELP: usage(stdout); return 0;
        default:
            fprintf(stderr, "callqa store migrate: unknown option or missing value: %s\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "callqa store migrate: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!from || !to) {
        fprintf(stderr, "callqa store migrate: %s is required\n", !from ? "--from" : "--to");
        usage(stderr);
        return 2;
    }
    run_state r = {0};
    char msg[1200];
    double t0 = mono_now();
    int rc = store_copy(from, to, &o, progress, &r, msg, sizeof(msg));
    double sec = mono_now() - t0;
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

/* serve_cmd.h */
int cq_cli_store(int argc, char **argv)
{
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
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "callqa store: %s%s\n", argc >= 2 ? "unknown command: " : "a command is needed",
            argc >= 2 ? argv[1] : "");
    usage(stderr);
    return 2;
}
