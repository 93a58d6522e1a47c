/*
 * ingest_cmd.c - `callqa ingest vicidial` and `callqa ingest watch` (src/ingest/): ViciDial's
 * recordings, or those written into a folder, into the store.
 *
 *   callqa ingest vicidial --vicidial mysql://USER@HOST:PORT/DB --vicidial-password-file F
 *                          --db STORE [options]
 *   callqa ingest watch --dir DIR --db STORE [options]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ingest/ingest.h"
#include "cli_common.h"
#include "serve_cmd.h"

static void usage(FILE *f)
{
    fputs("usage: callqa ingest vicidial --vicidial mysql://USER@HOST[:PORT]/DB\n"
          "                              --vicidial-password-file F --db STORE [options]\n"
          "  --vicidial URI             the ViciDial database (a read-only account)\n"
          "  --vicidial-password-file F its password (a file of mode 0600 or stricter)\n"
          "  --db STORE                 the store: SQLite path or postgresql:// URI (default:\n"
          "                             the db setting)\n"
          "  --config FILE              settings (docs/config.md: vicidial, vicidial_*, ...);\n"
          "                             the flags override them\n"
          "  --source NAME              the dialer's name in the store (default: the DB host)\n"
          "  --recordings-dir DIR       the dialer's recordings on local disk (looked at first)\n"
          "  --recording-server NAME=URL  a recording server (repeatable); a location on\n"
          "                             another host is never fetched\n"
          "  --min-length S             shorter calls are skipped (default 30)\n"
          "  --campaign C               outbound calls of campaign C only (repeatable)\n"
          "  --ingroup G                inbound calls of in-group G only (repeatable)\n"
          "  --user U                   calls of agent U only (repeatable)\n"
          "  --tz ZONE                  the dialer's IANA time zone (default: the system's)\n"
          "  --batch N                  rows per query (default 1000)\n"
          "  --open-row-hours H         open rows are revisited this long (default 6)\n"
          "  --once                     one scan, then exit\n"
          "  --interval-sec S           between scans (default 300)\n"
          "  --retry-sec S              a lost database connection is retried this long\n"
          "                             (default 300)\n"
          "  --lookback N               rows up to N ids below the mark that the store does\n"
          "                             not have are taken too (default 1000; 0 none)\n"
          "\n"
          "usage: callqa ingest watch --dir DIR --db STORE [options]\n"
          "  --dir DIR                  the folder watched, with its subfolders\n"
          "  --db STORE                 the store: SQLite path or postgresql:// URI\n"
          "  --source NAME              the folder's name in the store (default watch)\n"
          "  --settle-sec S             a file unchanged this long is complete (default 5)\n"
          "  --pair-wait-sec S          the wait for a second leg (default 120)\n"
          "  --min-size BYTES           smaller files are stubs, not legs (default 100)\n"
          "  --tz ZONE                  the zone of dates in file names (default: the system's)\n"
          "  --rescan-sec S             the tree read again this often (default 60; 0 never)\n"
          "  --once                     what is there now, then exit\n",
          f);
}

/* A filter value: 1-20 characters (ViciDial's VARCHAR(20)), printable ASCII. */
static int add_filter(const char *flag, char (*list)[21], int *n, const char *v)
{
    size_t len = strlen(v);
    bool ok = len >= 1 && len <= 20;
    for (size_t i = 0; ok && i < len; i++)
        ok = v[i] > 0x20 && v[i] < 0x7f;
    if (!ok || *n >= INGEST_MAX_FILTER) {
        fprintf(stderr, "callqa ingest: %s '%s': 1-20 printable characters, at most %d values\n",
                flag, v, INGEST_MAX_FILTER);
        return -1;
    }
    memcpy(list[(*n)++], v, len + 1);
    return 0;
}

static bool source_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-", s[i]))
            return false;
    return true;
}

/* The vicidial* settings of the config file and the environment (docs/config.md): what
 * `callqa worker` and `callqa serve` run on a schedule. 0, or -1 having said why. */
static int from_settings(ingest_vicidial_config *c, bool *have_uri)
{
    const cfg_settings *s = &c->svc;
    char msg[600];
    if (s->vicidial[0]) {
        if (ingest_db_uri_parse(s->vicidial, &c->db, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "callqa ingest: vicidial: %s\n", msg);
            return -1;
        }
        *have_uri = true;
    }
    if (s->vicidial_source[0] && !source_ok(s->vicidial_source)) {
        fprintf(stderr, "callqa ingest: vicidial_source '%s': 1-64 of [A-Za-z0-9_.:-]\n",
                s->vicidial_source);
        return -1;
    }
    if (s->vicidial_tz[0] && ingest_tz_check(s->vicidial_tz) != 0) {
        fprintf(stderr,
                "callqa ingest: vicidial_tz '%s': not a time zone of the system's zone "
                "database\n",
                s->vicidial_tz);
        return -1;
    }
    snprintf(c->password_file, sizeof(c->password_file), "%s", s->vicidial_password_file);
    snprintf(c->source, sizeof(c->source), "%s", s->vicidial_source);
    snprintf(c->tz, sizeof(c->tz), "%s", s->vicidial_tz);
    snprintf(c->recordings_dir, sizeof(c->recordings_dir), "%s", s->recordings_dir);
    c->min_length_sec = s->vicidial_min_length_sec;
    c->interval_sec = s->ingest_interval_sec;
    return 0;
}

static int ingest_vicidial_cmd(int argc, char **argv)
{
    enum {
        O_URI = 256,
        O_PASS,
        O_DB,
        O_SOURCE,
        O_DIR,
        O_SERVER,
        O_MINLEN,
        O_CAMPAIGN,
        O_INGROUP,
        O_USER,
        O_TZ,
        O_BATCH,
        O_OPEN,
        O_ONCE,
        O_INTERVAL,
        O_RETRY,
        O_LOOKBACK,
        O_CONFIG
    };
    static const struct option opts[] = {
        {"vicidial", required_argument, NULL, O_URI},
        {"vicidial-password-file", required_argument, NULL, O_PASS},
        {"db", required_argument, NULL, O_DB},
        {"source", required_argument, NULL, O_SOURCE},
        {"recordings-dir", required_argument, NULL, O_DIR},
        {"recording-server", required_argument, NULL, O_SERVER},
        {"min-length", required_argument, NULL, O_MINLEN},
        {"campaign", required_argument, NULL, O_CAMPAIGN},
        {"ingroup", required_argument, NULL, O_INGROUP},
        {"user", required_argument, NULL, O_USER},
        {"tz", required_argument, NULL, O_TZ},
        {"batch", required_argument, NULL, O_BATCH},
        {"open-row-hours", required_argument, NULL, O_OPEN},
        {"once", no_argument, NULL, O_ONCE},
        {"interval-sec", required_argument, NULL, O_INTERVAL},
        {"retry-sec", required_argument, NULL, O_RETRY},
        {"lookback", required_argument, NULL, O_LOOKBACK},
        {"config", required_argument, NULL, O_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    ingest_vicidial_config *c = malloc(sizeof(*c));
    if (!c) {
        fprintf(stderr, "callqa ingest: out of memory\n");
        return 1;
    }
    ingest_vicidial_defaults(c);
    bool have_uri = false;
    char msg[1200];
    double d;
    int o, rc = 2;
    /* the settings (the config file, then CALLQA_* variables), the flags over them */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") &&
            cfg_load_file(&c->svc, argv[i + 1], msg, sizeof(msg)) != 0) {
            fprintf(stderr, "callqa ingest: %s\n", msg);
            goto out;
        }
    if (cfg_load_env(&c->svc, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa ingest: environment: %s\n", msg);
        goto out;
    }
    if (from_settings(c, &have_uri) != 0)
        goto out;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_URI:
            if (ingest_db_uri_parse(optarg, &c->db, msg, sizeof(msg)) != 0) {
                fprintf(stderr, "callqa ingest: --vicidial: %s\n", msg);
                goto out;
            }
            have_uri = true;
            break;
        case O_PASS: snprintf(c->password_file, sizeof(c->password_file), "%s", optarg); break;
        case O_DB: snprintf(c->store, sizeof(c->store), "%s", optarg); break;
        case O_SOURCE:
            if (!source_ok(optarg)) {
                fprintf(stderr, "callqa ingest: --source '%s': 1-64 of [A-Za-z0-9_.:-]\n", optarg);
                goto out;
            }
            snprintf(c->source, sizeof(c->source), "%s", optarg);
            break;
        case O_DIR: snprintf(c->recordings_dir, sizeof(c->recordings_dir), "%s", optarg); break;
        case O_SERVER:
            if (cfg_add_server(&c->svc, optarg, msg, sizeof(msg)) != 0) {
                fprintf(stderr, "callqa ingest: %s\n", msg);
                goto out;
            }
            break;
        case O_MINLEN:
            if (cq_cli_number("callqa ingest", "--min-length", optarg, 0, 86400, &d))
                goto out;
            c->min_length_sec = (int)d;
            break;
        case O_CAMPAIGN:
            if (add_filter("--campaign", c->campaigns, &c->n_campaigns, optarg))
                goto out;
            break;
        case O_INGROUP:
            if (add_filter("--ingroup", c->ingroups, &c->n_ingroups, optarg))
                goto out;
            break;
        case O_USER:
            if (add_filter("--user", c->users, &c->n_users, optarg))
                goto out;
            break;
        case O_TZ:
            if (ingest_tz_check(optarg) != 0) {
                fprintf(stderr,
                        "callqa ingest: --tz '%s': not a time zone of the system's zone "
                        "database (an IANA name such as America/New_York)\n",
                        optarg);
                goto out;
            }
            snprintf(c->tz, sizeof(c->tz), "%s", optarg);
            break;
        case O_BATCH:
            if (cq_cli_number("callqa ingest", "--batch", optarg, 1, 100000, &d))
                goto out;
            c->batch = (int)d;
            break;
        case O_OPEN:
            if (cq_cli_number("callqa ingest", "--open-row-hours", optarg, 0, 24 * 366,
                              &c->open_row_hours))
                goto out;
            break;
        case O_ONCE: c->once = true; break;
        case O_INTERVAL:
            if (cq_cli_number("callqa ingest", "--interval-sec", optarg, 1, 86400,
                              &c->interval_sec))
                goto out;
            break;
        case O_RETRY:
            if (cq_cli_number("callqa ingest", "--retry-sec", optarg, 0, 86400, &c->retry_sec))
                goto out;
            break;
        case O_LOOKBACK:
            if (cq_cli_number("callqa ingest", "--lookback", optarg, 0, 1e7, &d))
                goto out;
            c->lookback = (int64_t)d;
            break;
        case O_CONFIG: break; /* read above */
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default: usage(stderr); goto out;
        }
    }
    if (!c->store[0])
        snprintf(c->store, sizeof(c->store), "%s", c->svc.db_path);
    if (optind != argc || !have_uri || !c->password_file[0]) {
        if (optind == argc)
            fprintf(stderr, "callqa ingest: --vicidial and --vicidial-password-file (or the "
                            "vicidial settings) are required\n");
        usage(stderr);
        goto out;
    }
    if (!c->source[0]) {
        if (!source_ok(c->db.host)) {
            fprintf(stderr, "callqa ingest: the database host cannot name the source: give "
                            "--source NAME\n");
            goto out;
        }
        memcpy(c->source, c->db.host, strlen(c->db.host) + 1); /* source_ok: 64 at most */
    }
    rc = ingest_vicidial_run(c);
out:
    free(c);
    return rc;
}

static int ingest_watch_cmd(int argc, char **argv)
{
    enum { O_DIR = 256, O_DB, O_SOURCE, O_SETTLE, O_PAIR, O_MINSIZE, O_TZ, O_RESCAN, O_ONCE };
    static const struct option opts[] = {{"dir", required_argument, NULL, O_DIR},
                                         {"db", required_argument, NULL, O_DB},
                                         {"source", required_argument, NULL, O_SOURCE},
                                         {"settle-sec", required_argument, NULL, O_SETTLE},
                                         {"pair-wait-sec", required_argument, NULL, O_PAIR},
                                         {"min-size", required_argument, NULL, O_MINSIZE},
                                         {"tz", required_argument, NULL, O_TZ},
                                         {"rescan-sec", required_argument, NULL, O_RESCAN},
                                         {"once", no_argument, NULL, O_ONCE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    ingest_watch_config c;
    ingest_watch_defaults(&c);
    double d;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_DIR: snprintf(c.dir, sizeof(c.dir), "%s", optarg); break;
        case O_DB: snprintf(c.store, sizeof(c.store), "%s", optarg); break;
        case O_SOURCE:
            if (!source_ok(optarg)) {
                fprintf(stderr, "callqa ingest: --source '%s': 1-64 of [A-Za-z0-9_.:-]\n", optarg);
                return 2;
            }
            snprintf(c.source, sizeof(c.source), "%s", optarg);
            break;
        case O_SETTLE:
            if (cq_cli_number("callqa ingest", "--settle-sec", optarg, 0.2, 86400, &c.settle_sec))
                return 2;
            break;
        case O_PAIR:
            if (cq_cli_number("callqa ingest", "--pair-wait-sec", optarg, 0, 86400,
                              &c.pair_wait_sec))
                return 2;
            break;
        case O_MINSIZE:
            if (cq_cli_number("callqa ingest", "--min-size", optarg, 0, 1e9, &d))
                return 2;
            c.min_size = (long long)d;
            break;
        case O_TZ:
            if (ingest_tz_check(optarg) != 0) {
                fprintf(stderr,
                        "callqa ingest: --tz '%s': not a time zone of the system's zone "
                        "database (an IANA name such as America/New_York)\n",
                        optarg);
                return 2;
            }
            snprintf(c.tz, sizeof(c.tz), "%s", optarg);
            break;
        case O_RESCAN:
            if (cq_cli_number("callqa ingest", "--rescan-sec", optarg, 0, 86400, &c.rescan_sec))
                return 2;
            break;
        case O_ONCE: c.once = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !c.dir[0] || !c.store[0]) {
        if (optind == argc)
            fprintf(stderr, "callqa ingest watch: --dir and --db are required\n");
        usage(stderr);
        return 2;
    }
    return ingest_watch_run(&c);
}

int cq_cli_ingest(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "vicidial"))
        return ingest_vicidial_cmd(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "watch"))
        return ingest_watch_cmd(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "callqa ingest: the source comes first: callqa ingest vicidial|watch ...\n");
    usage(stderr);
    return 2;
}
