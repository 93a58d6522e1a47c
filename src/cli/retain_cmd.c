/*
 * retain_cmd.c - `callqa store purge` and `callqa store erase` (docs/privacy/retention.md,
 * "Retention and erasure"); retention from the settings is cli_common.c's, which the worker's
 * scheduled purge shares.
 *
 *   callqa store purge [--dry-run] [--now TIME] [--db STORE] [--config FILE]
 *   callqa store erase (--phone NUMBER | --lead ID) [--dry-run] [--db STORE] [--config FILE]
 *   callqa store erase --agent ID [--dry-run] [--db STORE] [--config FILE]: the agent's voice
 *   profiles (biometric data), every campaign's
 *
 * Each call's line goes to stdout (what went, or with --dry-run what would go), the totals to
 * stderr as a JSON line. Exit status 0 when everything due was deleted and verified, 1 when a
 * call failed (nothing of it changed; the others done), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_args.h"
#include "cli_common.h"
#include "retain_cmd.h"
#include "../store/store_calls.h"
#include "../store/store_retain.h"
#include "../store/store.h"
#include "../store/store_query.h"

typedef struct say_state {
    FILE *out;
    bool dry;
} say_state;

/* " (recording 1, redacted copy 1)": the kinds of a count, store_files.c's names */
static void kinds_of(FILE *f, const int *by)
{
    const char *sep = " (";
    for (int k = 0; k < STORE_FILE_KINDS; k++)
        if (by[k]) {
            fprintf(f, "%s%s %d", sep, store_file_name((store_file_kind)k), by[k]);
            sep = ", ";
        }
    if (strcmp(sep, " ("))
        fputc(')', f);
}

static void say(void *user, const store_deletion *d)
{
    say_state *st = user;
    if (!st->out)
        return;
    FILE *f = st->out;
    if (d->call_id <= 0) { /* a stored result of the service */
        if (d->status != 0)
            fprintf(f, "stored result: FAILED, nothing of it changed: %s\n", d->error);
        else
            fprintf(f, "stored result: %" PRId64 " row%s\n", d->rows,
                    st->dry ? " (due)" : " erased");
        return;
    }
    fprintf(f, "call %" PRId64, d->call_id);
    if (d->source[0])
        fprintf(f, " (%s %s%s%s, %.1f days)", d->source, d->recording_id,
                d->campaign_id[0] ? ", campaign " : "", d->campaign_id, d->age_days);
    if (d->status != 0) {
        fprintf(f, ": FAILED, nothing of it changed: %s\n", d->error);
        return;
    }
    if (d->erased) {
        fprintf(f, ": every row, %" PRId64 " (%" PRId64 " search rows), %d file%s", d->rows,
                d->search_rows, d->files, d->files == 1 ? "" : "s");
        kinds_of(f, d->deleted_kind);
    } else {
        const char *sep = ": ";
        if (d->kinds & (1u << STORE_KEEP_AUDIO)) {
            fprintf(f, "%saudio %d file%s", sep, d->files, d->files == 1 ? "" : "s");
            kinds_of(f, d->deleted_kind);
            sep = "; ";
        }
        if (d->kinds & (1u << STORE_KEEP_TRANSCRIPT)) {
            fprintf(f, "%stranscript (%" PRId64 " search rows), %d quote%s", sep, d->search_rows,
                    d->quotes, d->quotes == 1 ? "" : "s");
            sep = "; ";
        }
        if (d->kinds & (1u << STORE_KEEP_REPORT)) {
            fprintf(f, "%sreport", sep);
            sep = "; ";
        }
        if (d->kinds & (1u << STORE_KEEP_LLM))
            fprintf(f, "%sllm (%d text%s)", sep, d->llm_texts, d->llm_texts == 1 ? "" : "s");
    }
    if (d->files_kept) {
        fprintf(f, " [%d file%s kept", d->files_kept, d->files_kept == 1 ? "" : "s");
        kinds_of(f, d->kept_kind);
        fprintf(f, ": not written by callqa and outside its folders, beneath the dialer's, or "
                   "not a regular file]");
    }
    /* "deleted, verified" only when nothing of the list was kept */
    if (st->dry)
        fprintf(f, " - due\n");
    else if (d->files_kept)
        fprintf(f, " - %d file%s deleted and checked gone, %d NOT deleted (kept)\n", d->checked,
                d->checked == 1 ? "" : "s", d->files_kept);
    else if (d->files || d->checked)
        fprintf(f, " - deleted, verified (every file of the list checked: %d gone)\n", d->checked);
    else
        fprintf(f, " - deleted, verified\n");
}

/* After a run that changed something: what it left in the store's files scrubbed (SQLite's
 * search index and write-ahead log; store_scrub). A failure is said, and is the run's. */
static int scrub(store *s, const char *cmd, const store_purge_totals *t)
{
    char msg[600];
    if (t->calls <= t->failed || store_scrub(s, t->search_rows > 0, msg, sizeof(msg)) == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", cmd, msg);
    return -1;
}

/* One purge: each call's line to out (NULL: none), the totals as one JSON log line to stderr.
 * 0 every due call done, -1 otherwise. */
static int retention_purge(store *s, const cq_retention *rt, double now, bool dry_run, FILE *out)
{
    say_state st = {out, dry_run};
    store_purge_totals t;
    int rc = store_purge(s, &rt->r, &rt->roots, now, dry_run, say, &st, &t);
    if (rc != 0 && !t.failed)
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"purge\",\"error\":\"%s\"}\n",
                store_errmsg(s));
    if (!dry_run && scrub(s, "callqa store purge", &t) != 0)
        rc = -1;
    cq_cli_purge_totals("purge", dry_run, &t);
    return rc;
}

/* TIME: YYYY-MM-DD[THH:MM:SS[Z]] in UTC, or @EPOCH. -1 when malformed. */
static double parse_now(const char *v)
{
    if (v[0] == '@') {
        char *end;
        double d = strtod(v + 1, &end);
        return end != v + 1 && !*end && d >= 0 ? d : -1;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(v, "%Y-%m-%d", &tm);
    }
    if (!end || (*end && strcmp(end, "Z")))
        return -1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (double)t;
}

/* An agent's voice profiles erased (store_voice_profile_erase): logged in the deletions table
 * and the audit trail, which name the agent's profiles' count, never a print. */
static int erase_agent(const char *cmd, const char *db, const char *agent, bool dry)
{
    if (!*agent) {
        fprintf(stderr, "%s: --agent: empty\n", cmd);
        return 2;
    }
    char msg[1200];
    store *s = store_open(db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "%s: store: %s\n", cmd, msg);
        return 1;
    }
    int n = 0;
    int rc = store_voice_profile_erase(s, agent, dry, (double)time(NULL), &n);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", cmd, store_errmsg(s));
    } else {
        printf("agent %s: %d voice profile%s %s\n", agent, n, n == 1 ? "" : "s",
               dry ? "would be erased (dry run)" : "erased");
    }
    if (!dry) {
        char what[48];
        snprintf(what, sizeof(what), "%d voice profiles", n);
        cq_cli_audit(s, "erase", what, rc == 0);
    }
    store_close(s);
    return rc == 0 ? 0 : 1;
}

/* purge (erase false) or erase, argv[0] being the command's name */
static int run(int argc, char **argv, bool erase)
{
    const char *cmd = erase ? "callqa store erase" : "callqa store purge";
    static cfg_settings c; /* --config FILE, CALLQA_*, then --db */
    cfg_defaults(&c);
    char msg[1200];
    cfg_args a;
    int rc0 = cq_cli_args(erase ? "store erase" : "store purge", cmd, argc, argv, &c, &a);
    if (rc0 >= 0)
        return rc0;
    bool dry = cfg_arg_given(&a, "dry-run");
    double now = (double)time(NULL);
    const char *db = c.db_path, *phone = cfg_arg(&a, "phone"), *lead = cfg_arg(&a, "lead"),
               *agent = cfg_arg(&a, "agent"), *at = cfg_arg(&a, "now");
    if (at && (erase || (now = parse_now(at)) < 0)) {
        fprintf(stderr, "%s: --now: expected YYYY-MM-DD[THH:MM:SS[Z]] or @EPOCH%s\n", cmd,
                erase ? " (purge only)" : "");
        return 2;
    }
    if (a.next < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, argv[a.next]);
        return 2;
    }
    char digits[24];
    if (!erase && (phone || lead || agent)) {
        fprintf(stderr, "%s: --phone, --lead and --agent are erase's\n", cmd);
        return 2;
    }
    if (erase && agent && (phone || lead)) {
        fprintf(stderr,
                "%s: --agent erases an agent's voice profiles: not with --phone or "
                "--lead\n",
                cmd);
        return 2;
    }
    if (erase && agent)
        return erase_agent(cmd, db, agent, dry);
    if (erase && !phone == !lead) { /* (--agent: erase_agent above) */
        fprintf(stderr, "%s: give one of --phone NUMBER and --lead ID\n", cmd);
        cq_cli_usage(stderr, "store erase");
        return 2;
    }
    if (erase && phone && store_phone_digits(phone, digits) != 0) {
        fprintf(stderr,
                "%s: --phone: expected 6 to 20 digits (spaces, dashes, dots, brackets "
                "and a leading + allowed), not '%s'\n",
                cmd, phone);
        return 2;
    }
    if (erase && lead && !*lead) {
        fprintf(stderr, "%s: --lead: empty\n", cmd);
        return 2;
    }
    cq_retention rt;
    if (cq_retention_init(&rt, &c, db, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s: %s\n", cmd, msg);
        return 2;
    }
    if (!erase && !store_retention_any(&rt.r)) {
        fprintf(stderr, "%s: no retention period is set (retain_*): nothing is ever due\n", cmd);
        cq_retention_free(&rt);
        return 0;
    }
    store *s = store_open(db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "%s: store: %s\n", cmd, msg);
        cq_retention_free(&rt);
        return 1;
    }
    int rc;
    if (erase) {
        say_state st = {stdout, dry};
        store_erase_who who = {.lead_id = lead, .phone = phone};
        store_purge_totals t;
        rc = store_erase(s, &who, &rt.roots, now, dry, say, &st, &t);
        if (rc != 0 && !t.failed)
            fprintf(stderr, "%s: %s\n", cmd, store_errmsg(s));
        if (!dry && scrub(s, cmd, &t) != 0)
            rc = -1;
        cq_cli_purge_totals("erase", dry, &t);
        if (!t.calls)
            printf("no call of this caller in the store\n");
        fprintf(stderr,
                "%s: the dialer's own recordings and database are not touched by callqa: "
                "erase them there, and in the backups (docs/privacy.md)\n",
                cmd);
        /* the audit trail names how many calls went, never the caller's number or lead */
        char n[48];
        snprintf(n, sizeof(n), "%lld calls", (long long)t.calls);
        if (!dry)
            cq_cli_audit(s, "erase", n, rc == 0);
    } else {
        rc = retention_purge(s, &rt, now, dry, stdout);
        if (!dry)
            cq_cli_audit(s, "purge", NULL, rc == 0);
    }
    store_close(s);
    cq_retention_free(&rt);
    return rc == 0 ? 0 : 1;
}

/* store_cmd.c's cq_cli_store hands these over (retain_cmd.h) */
int cq_cli_store_purge(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cq_cli_store_erase(int argc, char **argv)
{
    return run(argc, argv, true);
}
