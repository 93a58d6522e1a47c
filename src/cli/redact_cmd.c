/*
 * redact_cmd.c - `callqa store redact`: the calls stored before redaction was turned on for
 * their campaign, redacted now (pl_redact_stored, src/pipeline/redact.c; docs/privacy.md).
 *
 *   callqa store redact --db STORE --since DAY [--config FILE] [--dry-run]
 *
 * One line per call redacted (or that would be), then the totals. Their audio copies are not
 * made here: the service holds their audio back (not_redacted) until `callqa requeue` has them
 * analysed again.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/pipeline.h"
#include "cli_args.h"
#include "redact_cmd.h"
#include "../store/store_calls.h"
#include "../store/store_retain.h"
#include "../store/store.h"
#include "../store/store_query.h"

static bool is_day(const char *s)
{
    return strlen(s) == 10 && s[4] == '-' && s[7] == '-' && strspn(s, "0123456789-") == 10;
}

int cq_cli_store_redact(int argc, char **argv)
{
    static cfg_settings set; /* the redaction settings: --config FILE, then CALLQA_* */
    cfg_defaults(&set);
    cfg_args a;
    int rc0 = cq_cli_args("store redact", "callqa store redact", argc, argv, &set, &a);
    if (rc0 >= 0)
        return rc0;
    const char *db = cfg_arg(&a, "db"), *since = cfg_arg(&a, "since");
    bool dry = cfg_arg_given(&a, "dry-run");
    if (!db || !since || a.next != argc || !is_day(since)) {
        if (since && !is_day(since))
            fprintf(stderr, "callqa store redact: --since is a day, YYYY-MM-DD (got '%s')\n",
                    since);
        cq_cli_usage(stderr, "store redact");
        return 2;
    }
    char err[600];
    if (pl_redact_check(&set, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa store redact: %s\n", err);
        return 2;
    }
    if (!pl_redact_any(&set)) {
        fprintf(stderr, "callqa store redact: no campaign is redacted (redact, "
                        "redact_campaigns): nothing to do\n");
        return 2;
    }
    store *st = store_open(db, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "callqa store redact: store: %s\n", err);
        return 1;
    }
    int64_t *ids = NULL;
    int n = 0, failed = 0, done = 0;
    if (store_redact_candidates(st, since, &ids, &n) != 0) {
        fprintf(stderr, "callqa store redact: store: %s\n", store_errmsg(st));
        store_close(st);
        return 1;
    }
    size_t total[PV_N_TYPES] = {0}, digits = 0;
    for (int i = 0; i < n; i++) {
        pl_stored_redaction r;
        int rc = pl_redact_stored(&set, st, ids[i], dry, &r, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "callqa store redact: call %lld: %s\n", (long long)ids[i], err);
            failed++;
            continue;
        }
        if (rc == 0)
            continue;
        done++;
        size_t hits = 0;
        for (int k = 0; k < PV_N_TYPES; k++)
            hits += r.counts[k], total[k] += r.counts[k];
        digits += r.digits;
        printf("call %lld: %zu entities, %zu keyed-digit fields%s%s%s%s\n", (long long)ids[i], hits,
               r.digits, dry ? " (dry run)" : "", r.transcript ? "; transcript" : "",
               r.report ? "; report" : "", r.score ? "; score" : "");
    }
    printf("%s%d calls of %d since %s", dry ? "would redact " : "redacted ", done, n, since);
    for (int k = 0; k < PV_N_TYPES; k++)
        if (total[k])
            printf(", %s %zu", pv_type_name((pv_type)k), total[k]);
    printf(", keyed-digit fields %zu%s\n", digits, failed ? "" : "");
    if (failed)
        printf("%d calls failed (above)\n", failed);
    /* the values redacted, out of SQLite's files too: the search index's old segments, the
     * write-ahead log (secure_delete zeroed the rows' old text; store_scrub) */
    if (!dry && done && store_scrub(st, true, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa store redact: %s\n", err);
        failed++;
    }
    free(ids);
    store_close(st);
    return failed ? 1 : 0;
}
