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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ingest/ingest.h"
#include "cli_args.h"
#include "ingest_cmd.h"

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

/* The vicidial* settings of the config file, the environment and the flags (docs/config.md):
 * what `callqa worker` and `callqa serve` run on a schedule. 0, or -1 having said why. */
static int from_settings(ingest_vicidial_config *c, bool *have_uri)
{
    const cfg_settings *s = &c->svc;
    char msg[600];
    if (s->vicidial[0]) {
        if (ingest_db_uri_parse(s->vicidial, &c->db, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "callqa ingest: --vicidial (vicidial): %s\n", msg);
            return -1;
        }
        *have_uri = true;
    }
    if (s->vicidial_source[0] && !source_ok(s->vicidial_source)) {
        fprintf(stderr, "callqa ingest: --source (vicidial_source) '%s': 1-64 of [A-Za-z0-9_.:-]\n",
                s->vicidial_source);
        return -1;
    }
    if (s->vicidial_tz[0] && ingest_tz_check(s->vicidial_tz) != 0) {
        fprintf(stderr,
                "callqa ingest: --tz (vicidial_tz) '%s': not a time zone of the system's zone "
                "database (an IANA name such as America/New_York)\n",
                s->vicidial_tz);
        return -1;
    }
    snprintf(c->password_file, sizeof(c->password_file), "%s", s->vicidial_password_file);
    snprintf(c->source, sizeof(c->source), "%s", s->vicidial_source);
    snprintf(c->tz, sizeof(c->tz), "%s", s->vicidial_tz);
    snprintf(c->recordings_dir, sizeof(c->recordings_dir), "%s", s->recordings_dir);
    c->min_length_sec = s->vicidial_min_length_sec;
    c->interval_sec = s->ingest_interval_sec;
    c->batch = s->vicidial_batch;
    c->open_row_hours = s->vicidial_open_row_hours;
    c->retry_sec = s->vicidial_retry_sec;
    c->lookback = s->vicidial_lookback;
    if (s->db_path[0])
        snprintf(c->store, sizeof(c->store), "%s", s->db_path);
    return 0;
}

static int ingest_vicidial_cmd(int argc, char **argv)
{
    ingest_vicidial_config *c = malloc(sizeof(*c));
    if (!c) {
        fprintf(stderr, "callqa ingest: out of memory\n");
        return 1;
    }
    ingest_vicidial_defaults(c);
    bool have_uri = false;
    cfg_args a;
    /* the settings (the config file, then CALLQA_* variables), the flags over them */
    int rc = cq_cli_args("ingest vicidial", "callqa ingest", argc, argv, &c->svc, &a);
    if (rc >= 0)
        goto out;
    rc = 2;
    if (from_settings(c, &have_uri) != 0)
        goto out;
    c->once = cfg_arg_given(&a, "once");
    const char *v;
    int i = 0;
    while ((v = cfg_arg_each(&a, "campaign", &i)))
        if (add_filter("--campaign", c->campaigns, &c->n_campaigns, v))
            goto out;
    for (i = 0; (v = cfg_arg_each(&a, "ingroup", &i));)
        if (add_filter("--ingroup", c->ingroups, &c->n_ingroups, v))
            goto out;
    for (i = 0; (v = cfg_arg_each(&a, "user", &i));)
        if (add_filter("--user", c->users, &c->n_users, v))
            goto out;
    if (a.next != argc || !have_uri || !c->password_file[0]) {
        if (a.next == argc)
            fprintf(stderr, "callqa ingest: --vicidial and --vicidial-password-file (or the "
                            "vicidial settings) are required\n");
        cq_cli_usage(stderr, "ingest vicidial");
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
    static cfg_settings set; /* none of its own: the table's defaults only */
    cfg_defaults(&set);
    cfg_args a;
    int rc = cq_cli_args("ingest watch", "callqa ingest", argc, argv, &set, &a);
    if (rc >= 0)
        return rc;
    ingest_watch_config c;
    ingest_watch_defaults(&c);
    const char *dir = cfg_arg(&a, "dir"), *db = cfg_arg(&a, "db"), *tz = cfg_arg(&a, "tz");
    snprintf(c.dir, sizeof(c.dir), "%s", dir ? dir : "");
    snprintf(c.store, sizeof(c.store), "%s", db ? db : "");
    if (!source_ok(cfg_arg(&a, "source"))) {
        fprintf(stderr, "callqa ingest: --source '%s': 1-64 of [A-Za-z0-9_.:-]\n",
                cfg_arg(&a, "source"));
        return 2;
    }
    snprintf(c.source, sizeof(c.source), "%s", cfg_arg(&a, "source"));
    c.settle_sec = cfg_arg_num(&a, "settle-sec");
    c.pair_wait_sec = cfg_arg_num(&a, "pair-wait-sec");
    c.min_size = (long long)cfg_arg_num(&a, "min-size");
    c.rescan_sec = cfg_arg_num(&a, "rescan-sec");
    if (tz && ingest_tz_check(tz) != 0) {
        fprintf(stderr,
                "callqa ingest: --tz '%s': not a time zone of the system's zone "
                "database (an IANA name such as America/New_York)\n",
                tz);
        return 2;
    }
    snprintf(c.tz, sizeof(c.tz), "%s", tz ? tz : "");
    c.once = cfg_arg_given(&a, "once");
    if (a.next != argc || !c.dir[0] || !c.store[0]) {
        if (a.next == argc)
            fprintf(stderr, "callqa ingest watch: --dir and --db are required\n");
        cq_cli_usage(stderr, "ingest watch");
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
        cq_cli_usage(stdout, "ingest vicidial");
        return 0;
    }
    fprintf(stderr, "callqa ingest: the source comes first: callqa ingest vicidial|watch ...\n");
    cq_cli_usage(stderr, "ingest vicidial");
    return 2;
}
