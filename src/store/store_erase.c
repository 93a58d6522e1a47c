/*
 * store_erase.c - the erasure of one caller's calls, by lead id or phone number (store_erase,
 * store_retain.h; docs/privacy/retention.md "Retention and erasure"): every row of each call, its
 * search rows and its files, each call in a transaction of its own, checked gone and logged; and
 * the service's stored results whose file name carries the number.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_retain_int.h"

/* ---- erasure -------------------------------------------------------------------------------- */

int store_phone_digits(const char *phone, char out[24])
{
    size_t n = 0;
    for (const char *p = phone ? phone : ""; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n >= 20)
                return -1;
            out[n++] = *p;
        } else if (!strchr(" -.()", *p) && !(*p == '+' && n == 0)) {
            return -1;
        }
    }
    out[n] = 0;
    return n >= 6 ? 0 : -1;
}

/* Does the file name (the part after the last '/' or ':') hold a run of exactly these
 * digits? */
static bool name_has_number(const char *path, const char *digits)
{
    if (!path || !*path)
        return false;
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == ':')
            base = p + 1;
    size_t dn = strlen(digits);
    for (const char *p = base; *p;) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *b = p;
        while (isdigit((unsigned char)*p))
            p++;
        if ((size_t)(p - b) == dn && !strncmp(b, digits, dn))
            return true;
    }
    return false;
}

/* Does one of the call's file columns name a file whose name carries the number? */
static int call_has_number(store *s, int64_t call, const char *digits, bool *has)
{
    *has = false;
    for (int k = 0; k < STORE_FILE_KINDS && !*has; k++) {
        if (store__file_def_of((store_file_kind)k)->from != STORE__FROM_COLUMN)
            continue;
        char ref[PATH_MAX];
        if (store__file_column(s, call, (store_file_kind)k, ref, sizeof(ref)) != 0)
            return -1;
        *has = name_has_number(ref, digits);
    }
    return 0;
}

typedef struct erase_arg {
    int64_t call;
    const store_file_roots *roots;
    double now;
    bool dry;
} erase_arg;

static const struct {
    int key;
    const char *sql;
} k_erase_del[] = {
    {R_DEL_OVR, "DELETE FROM score_overrides WHERE call_id = $1"},
    {R_DEL_SCORES, "DELETE FROM scores WHERE call_id = $1"},
    {R_ENV_DEL, "DELETE FROM call_envelopes WHERE call_id = $1"},
    {R_DEL_ANALYSES, "DELETE FROM analyses WHERE call_id = $1"},
    {R_DEL_LLM_ALL, "DELETE FROM llm_calls WHERE call_id = $1"},
    {R_DEL_EVENTS, "DELETE FROM job_events WHERE call_id = $1"},
    {R_DEL_JOBS, "DELETE FROM jobs WHERE call_id = $1"},
    {R_REC_DEL_ALL, "DELETE FROM call_files WHERE call_id = $1"},
    {R_DEL_CALL, "DELETE FROM calls WHERE id = $1"},
};

#define CALL_LEFT_SQL                                                                              \
    "SELECT (SELECT COUNT(*) FROM calls WHERE id = $1) + (SELECT COUNT(*) FROM jobs WHERE "        \
    "call_id = $1) + (SELECT COUNT(*) FROM analyses WHERE call_id = $1) + (SELECT COUNT(*) FROM "  \
    "call_envelopes WHERE call_id = $1) + (SELECT COUNT(*) FROM transcripts WHERE call_id = $1) "  \
    "+ (SELECT COUNT(*) FROM scores WHERE call_id = $1) + (SELECT COUNT(*) FROM score_overrides "  \
    "WHERE call_id = $1) + (SELECT COUNT(*) FROM llm_calls WHERE call_id = $1) + (SELECT "         \
    "COUNT(*) FROM job_events WHERE call_id = $1)"

static int erase_fn(store *s, void *arg, store_deletion *d)
{
    erase_arg *a = arg;
    int64_t call = a->call;
    int lk = store__lock_call(s, call);
    if (lk <= 0)
        return lk;
    store__call_row row;
    int rc = store__call_row_get(s, call, &row);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return store__fail(s, "reading a call");
    snprintf(d->source, sizeof(d->source), "%s", row.key.source);
    snprintf(d->recording_id, sizeof(d->recording_id), "%s", row.recording_id);
    snprintf(d->campaign_id, sizeof(d->campaign_id), "%s", row.key.campaign);
    d->age_days = (a->now - row.t) / 86400.0;
    store__rollup_key key = row.key;
    static _Thread_local store__call_files f;
    char *text = NULL;
    if (store__files_of(s, call, a->roots, &f) != 0 || store__tx_text(s, call, &text) != 0)
        return -1;
    store__words w;
    store__words_of(text, &w);
    free(text);
    d->files = f.del;
    d->files_kept = f.kept;
    for (int k = 0; k < STORE_FILE_KINDS; k++) {
        d->deleted_kind[k] = f.del_kind[k];
        d->kept_kind[k] = f.kept_kind[k];
    }
    d->erased = true;
    d->kinds = (1u << STORE_KEEP_N) - 1;
    int64_t gone_fts = store__tx_search_delete(s, call, "deleting a transcript's search rows");
    int64_t gone_tx =
        gone_fts < 0 ? -1
                     : store__by_call(s, R_TX_DEL, "DELETE FROM transcripts WHERE call_id = $1",
                                      call, NULL, "deleting a transcript");
    if (gone_tx < 0)
        return -1;
    d->rows = gone_fts + gone_tx;
    d->search_rows = gone_fts;
    for (size_t i = 0; i < sizeof(k_erase_del) / sizeof(k_erase_del[0]); i++) {
        int64_t n =
            store__by_call(s, k_erase_del[i].key, k_erase_del[i].sql, call, NULL, "erasing a call");
        if (n < 0)
            return -1;
        d->rows += n;
    }
    if (store__rollup_group(s, &key) != 0)
        return -1;
    /* the log of earlier deletions of the call keeps its number only */
    if (store__by_call(s, R_LOG_FORGET,
                       "UPDATE deletions SET source = NULL, recording_id = NULL WHERE call_id = $1",
                       call, NULL, "updating the deletions' log") < 0)
        return -1;
    int64_t left = store__count_call(s, R_CALL_LEFT, CALL_LEFT_SQL, call, NULL, NULL, 0);
    int64_t left_fts = store__tx_rows(s, call, 1), found = store__search_finds(s, call, &w);
    if (left != 0 || left_fts != 0 || found != 0) {
        if (left >= 0 && left_fts >= 0 && found >= 0)
            snprintf(s->err, sizeof(s->err),
                     "the call is still there after erasure (%" PRId64 " rows, %" PRId64
                     " search rows, %" PRId64 " words found)",
                     left, left_fts, found);
        return -1;
    }
    if (a->dry)
        return 0;
    if (store__files_delete(s, call, a->roots, &f, &d->checked) != 0)
        return -1;
    char det[200];
    snprintf(det, sizeof(det),
             "{\"rows\":%" PRId64 ",\"search_rows\":%" PRId64
             ",\"files\":%d,\"kept\":%d,\"checked\":%d,\"verified\":true}",
             d->rows, d->search_rows, d->files, d->files_kept, d->checked);
    return store__log_row(s, a->now, call, NULL, NULL, "call", "erasure", det);
}

/* The service's stored results (calls of no source) whose file name carries the number. */
typedef struct result_arg {
    int64_t id;
    double now;
    bool dry;
} result_arg;

static int result_fn(store *s, void *arg, store_deletion *d)
{
    result_arg *a = arg;
    int64_t n =
        store__by_call(s, R_RESULT_DEL, "DELETE FROM analyses WHERE id = $1 AND call_id IS NULL",
                       a->id, NULL, "erasing a stored result");
    if (n < 0)
        return -1;
    if (store__count_call(s, R_RESULT_LEFT, "SELECT COUNT(*) FROM analyses WHERE id = $1", a->id,
                          NULL, NULL, 0) != 0) {
        snprintf(s->err, sizeof(s->err), "the stored result is still there after erasure");
        return -1;
    }
    d->rows = n;
    d->erased = true;
    if (a->dry || n == 0)
        return 0;
    return store__log_row(s, a->now, 0, NULL, NULL, "result", "erasure",
                          "{\"rows\":1,\"verified\":true}");
}

/* Ids of one statement's first column (with $1 text bound, when given), into a growing array. */
static int ids_of(store *s, int key, const char *sql, const char *p1, bool with_text, int64_t **ids,
                  char (**texts)[1100], int *n)
{
    *ids = NULL;
    if (texts)
        *texts = NULL;
    *n = 0;
    db_stmt *st = store__begin(s, key, sql);
    if (!st)
        return -1;
    if (p1)
        db_bind_text(st, 1, p1);
    int cap = 0, rc, res = 0;
    while ((rc = db_step(st)) == DB_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *ni = realloc(*ids, (size_t)cap * sizeof(**ids));
            if (ni)
                *ids = ni;
            char(*nt)[1100] = with_text ? realloc(*texts, (size_t)cap * sizeof(**texts)) : NULL;
            if (nt)
                *texts = nt;
            if (!ni || (with_text && !nt)) {
                snprintf(s->err, sizeof(s->err), "out of memory");
                res = -1;
                break;
            }
        }
        (*ids)[*n] = db_col_int(st, 0);
        if (with_text)
            store__col_copy(st, 1, (*texts)[*n], sizeof((*texts)[*n]));
        (*n)++;
    }
    if (res == 0 && rc != DB_DONE)
        res = store__fail(s, "reading the calls");
    store__end(s, st);
    return res;
}

int store_erase(store *s, const store_erase_who *who, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    char digits[24] = "";
    if (who->phone && store_phone_digits(who->phone, digits) != 0) {
        snprintf(s->err, sizeof(s->err), "the phone number must be 6 to 20 digits");
        return -1;
    }
    if (!who->phone == !(who->lead_id && *who->lead_id)) {
        snprintf(s->err, sizeof(s->err), "one of a lead id and a phone number is needed");
        return -1;
    }
    int64_t *ids = NULL;
    int n = 0;
    int res = who->phone
                  ? ids_of(s, R_ERASE_IDS, "SELECT id FROM calls ORDER BY id", NULL, false, &ids,
                           NULL, &n)
                  : ids_of(s, R_ERASE_LEAD, "SELECT id FROM calls WHERE lead_id = $1 ORDER BY id",
                           who->lead_id, false, &ids, NULL, &n);
    for (int i = 0; res == 0 && i < n; i++) {
        if (who->phone) {
            bool has = false;
            pthread_mutex_lock(&s->mu);
            int r2 = call_has_number(s, ids[i], digits, &has);
            pthread_mutex_unlock(&s->mu);
            if (r2 != 0) {
                res = -1;
                break;
            }
            if (!has)
                continue;
        }
        store_deletion d;
        memset(&d, 0, sizeof(d));
        d.call_id = ids[i];
        erase_arg a = {ids[i], roots, now, dry_run};
        d.status = store__call_tx(s, dry_run, erase_fn, &a, &d);
        if (d.status != 0)
            d.rows = d.search_rows = 0, d.files = 0;
        if (d.erased || d.status != 0) {
            store__purge_total(tot, &d);
            if (fn)
                fn(user, &d);
        }
    }
    free(ids);
    if (res == 0 && who->phone) {
        char(*files)[1100] = NULL;
        res = ids_of(s, R_RESULT_SCAN,
                     "SELECT id, file FROM analyses WHERE call_id IS NULL ORDER BY id", NULL, true,
                     &ids, &files, &n);
        for (int i = 0; res == 0 && i < n; i++) {
            if (!name_has_number(files[i], digits))
                continue;
            store_deletion d;
            memset(&d, 0, sizeof(d));
            result_arg a = {ids[i], now, dry_run};
            d.status = store__call_tx(s, dry_run, result_fn, &a, &d);
            if (d.status != 0)
                d.rows = 0;
            store__purge_total(tot, &d);
            if (fn)
                fn(user, &d);
        }
        free(files);
        free(ids);
    }
    return res != 0 || tot->failed ? -1 : 0;
}
