/*
 * store_retain.c - retention (store_retain.h, docs/privacy/retention.md "Retention and erasure"):
 * the periods' syntax, and the purge of what is due, call by call. The rows it deletes and the
 * deletions' log: store_retain_rows.c; the files: store_retain_files.c; the erasure of one
 * caller's calls: store_erase.c.
 *
 * DESIGN
 * Each call is one transaction: it locks the call (PostgreSQL: FOR UPDATE; SQLite's BEGIN
 * IMMEDIATE holds the whole store), works out what of it is due from what the rows hold now
 * (so that two purges at once, or a purge and a worker, never delete twice or delete what a
 * worker just wrote under a period that is not over), changes the rows, checks that the rows
 * are gone and that the search finds none of the transcript's words for the call, deletes the
 * files, checks they are gone, logs the deletion, and commits. Any failure rolls the call back
 * and is reported; the other calls go on. A file deleted before a later failure stays deleted
 * (it was due); its column still names it, and the next run finds it gone and clears it.
 * A dry run is the same transaction, without the files' deletion and the log, rolled back:
 * it says exactly what the run would do.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/cq_clock.h"
#include "store_retain_int.h"

const char *const store_keep_names[STORE_KEEP_N] = {"audio", "transcript", "report", "llm"};

#define PAGE 256 /* calls read at a time */

/* ---- the periods ---------------------------------------------------------------------------- */

static int fail_msg(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_msg(char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

/* the kind named by s[0..n): its index, STORE_KEEP_N for "all", -1 unknown */
static int kind_of(const char *s, size_t n)
{
    for (int k = 0; k < STORE_KEEP_N; k++)
        if (strlen(store_keep_names[k]) == n && !strncmp(s, store_keep_names[k], n))
            return k;
    return n == 3 && !strncmp(s, "all", 3) ? STORE_KEEP_N : -1;
}

/* one NAME=KIND:DAYS[+...] item, s[0..n) trimmed */
static int parse_item(const char *setting, int no, const char *s, size_t n, store_retain_rule *r,
                      char *msg, size_t msgsz)
{
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return fail_msg(msg, msgsz, "%s: item %d '%.*s': expected NAME=KIND:DAYS", setting, no,
                        (int)n, s);
    size_t nl = (size_t)(eq - s);
    if (nl == 0 || nl >= sizeof(r->name))
        return fail_msg(msg, msgsz, "%s: item %d '%.*s': the name must be 1 to %zu bytes", setting,
                        no, (int)n, s, sizeof(r->name) - 1);
    for (size_t i = 0; i < nl; i++)
        if (isspace((unsigned char)s[i]))
            return fail_msg(msg, msgsz, "%s: item %d '%.*s': a space in the name", setting, no,
                            (int)n, s);
    memcpy(r->name, s, nl);
    r->name[nl] = 0;
    for (int k = 0; k < STORE_KEEP_N; k++)
        r->days[k] = -1;
    const char *p = eq + 1, *end = s + n;
    if (p == end)
        return fail_msg(msg, msgsz, "%s: item %d '%.*s': nothing after '='", setting, no, (int)n,
                        s);
    while (p < end) {
        const char *plus = memchr(p, '+', (size_t)(end - p));
        const char *pe = plus ? plus : end;
        const char *colon = memchr(p, ':', (size_t)(pe - p));
        int k = colon ? kind_of(p, (size_t)(colon - p)) : -1;
        if (k < 0)
            return fail_msg(msg, msgsz,
                            "%s: item %d '%.*s': '%.*s' is not KIND:DAYS with KIND audio, "
                            "transcript, report, llm or all",
                            setting, no, (int)n, s, (int)(pe - p), p);
        const char *d = colon + 1;
        long days = 0;
        if (d == pe || pe - d > 5)
            days = -1;
        for (const char *q = d; days >= 0 && q < pe; q++)
            days = isdigit((unsigned char)*q) ? days * 10 + (*q - '0') : -1;
        if (days < 0 || days > STORE_RETAIN_MAX_DAYS)
            return fail_msg(msg, msgsz,
                            "%s: item %d '%.*s': '%.*s' is not a number of days from 0 (forever) "
                            "to %d",
                            setting, no, (int)n, s, (int)(pe - d), d, STORE_RETAIN_MAX_DAYS);
        for (int j = 0; j < STORE_KEEP_N; j++) {
            if (k != STORE_KEEP_N && j != k)
                continue;
            if (r->days[j] >= 0)
                return fail_msg(msg, msgsz, "%s: item %d '%.*s': %s is given twice", setting, no,
                                (int)n, s, store_keep_names[j]);
            r->days[j] = (int)days;
        }
        p = plus ? plus + 1 : end;
        if (plus && p == end)
            return fail_msg(msg, msgsz, "%s: item %d '%.*s': nothing after '+'", setting, no,
                            (int)n, s);
    }
    return 0;
}

int store_retain_parse(const char *setting, const char *text, store_retain_rule **rules, int *n,
                       char *msg, size_t msgsz)
{
    *rules = NULL;
    *n = 0;
    if (!text)
        return 0;
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0;
    int cap = 1;
    for (const char *q = p; *q; q++)
        cap += *q == ',';
    store_retain_rule *out = calloc((size_t)cap, sizeof(*out));
    if (!out)
        return fail_msg(msg, msgsz, "%s: out of memory", setting);
    int no = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        no++;
        if (a == b) {
            free(out);
            return fail_msg(msg, msgsz, "%s: item %d is empty", setting, no);
        }
        if (parse_item(setting, no, a, (size_t)(b - a), &out[*n], msg, msgsz) != 0) {
            free(out);
            *n = 0;
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (!strcmp(out[i].name, out[*n].name)) {
                int dup = i + 1;
                free(out);
                *n = 0;
                return fail_msg(msg, msgsz, "%s: item %d names '%.*s' as item %d did", setting, no,
                                (int)(strchr(a, '=') - a), a, dup);
            }
        (*n)++;
        if (!comma)
            break;
        p = comma + 1;
    }
    *rules = out;
    return 0;
}

void store_retention_free(store_retention *r)
{
    if (!r)
        return;
    free(r->campaigns);
    free(r->sources);
    r->campaigns = r->sources = NULL;
    r->n_campaigns = r->n_sources = 0;
}

bool store_retention_any(const store_retention *r)
{
    for (int k = 0; k < STORE_KEEP_N; k++)
        if (r->days[k] > 0)
            return true;
    for (int i = 0; i < r->n_campaigns; i++)
        for (int k = 0; k < STORE_KEEP_N; k++)
            if (r->campaigns[i].days[k] > 0)
                return true;
    for (int i = 0; i < r->n_sources; i++)
        for (int k = 0; k < STORE_KEEP_N; k++)
            if (r->sources[i].days[k] > 0)
                return true;
    return false;
}

static const store_retain_rule *rule_of(const store_retain_rule *rs, int n, const char *name)
{
    if (!name || !*name)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(rs[i].name, name))
            return &rs[i];
    return NULL;
}

int store_retention_days(const store_retention *r, const char *source, const char *campaign,
                         store_keep k)
{
    const store_retain_rule *c = rule_of(r->campaigns, r->n_campaigns, campaign);
    if (c && c->days[k] >= 0)
        return c->days[k];
    const store_retain_rule *s = rule_of(r->sources, r->n_sources, source);
    if (s && s->days[k] >= 0)
        return s->days[k];
    return r->days[k] > 0 ? r->days[k] : 0;
}

/* the shortest period set anywhere, days (0: none) */
static int shortest(const store_retention *r)
{
    int m = 0;
#define TAKE(d)                                                                                    \
    do {                                                                                           \
        if ((d) > 0 && (m == 0 || (d) < m))                                                        \
            m = (d);                                                                               \
    } while (0)
    for (int k = 0; k < STORE_KEEP_N; k++) {
        TAKE(r->days[k]);
        for (int i = 0; i < r->n_campaigns; i++)
            TAKE(r->campaigns[i].days[k]);
        for (int i = 0; i < r->n_sources; i++)
            TAKE(r->sources[i].days[k]);
    }
#undef TAKE
    return m;
}

/* ---- the scores' words --------------------------------------------------------------------- */

/* Take out of a score's detail the transcript's words (evidence quotes, topic phrases) and/or
 * the LLM's text (summary, strengths, improvements, the reasons of the categories it scored).
 * *nq, *nl: how many were taken. Returns the new detail (malloc'd) when anything was taken,
 * NULL otherwise (*bad: the detail is not a JSON object). */
static char *strip_detail(const char *detail, bool quotes, bool llm, int *nq, int *nl, bool *bad)
{
    *nq = *nl = 0;
    *bad = false;
    if (!detail)
        return NULL;
    json_t *o = json_loads(detail, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        *bad = true;
        return NULL;
    }
    const char *key;
    json_t *cat;
    json_object_foreach(json_object_get(o, "categories"), key, cat)
    {
        json_t *ev = json_object_get(cat, "evidence");
        for (size_t i = 0; quotes && json_is_array(ev) && i < json_array_size(ev);) {
            if (json_object_get(json_array_get(ev, i), "quote")) {
                json_array_remove(ev, i);
                (*nq)++;
            } else {
                i++;
            }
        }
        const char *method = json_string_value(json_object_get(cat, "method"));
        json_t *reason = json_object_get(cat, "reason");
        if (llm && method && !strcmp(method, "llm") &&
            json_is_number(json_object_get(cat, "score")) && json_is_string(reason) &&
            json_string_length(reason) > 0) {
            json_object_set_new(cat, "reason", json_string(""));
            (*nl)++;
        }
    }
    json_t *ph = json_object_get(json_object_get(o, "topic"), "phrases");
    if (quotes && json_is_array(ph) && json_array_size(ph) > 0) {
        *nq += (int)json_array_size(ph);
        json_array_clear(ph);
    }
    /* the summary's and the sentiment's quotes, and the quotes of the LLM's dropped figures */
    json_t *sq = json_object_get(json_object_get(o, "summary"), "quotes");
    if (quotes && json_is_array(sq) && json_array_size(sq) > 0) {
        *nq += (int)json_array_size(sq);
        json_array_clear(sq);
    }
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(o, "sentiment"), "speakers"), k, e)
    {
        json_t *q = json_object_get(e, "quotes");
        if (quotes && json_is_array(q) && json_array_size(q) > 0) {
            *nq += (int)json_array_size(q);
            json_array_clear(q);
        }
    }
    json_array_foreach(json_object_get(json_object_get(o, "sentiment_llm"), "dropped"), k, e)
    {
        if (quotes && json_is_string(json_object_get(e, "quote"))) {
            json_object_set_new(e, "quote", json_null());
            (*nq)++;
        }
    }
    if (llm) {
        const json_t *sm = json_object_get(o, "summary");
        const char *src = json_string_value(json_object_get(sm, "source"));
        if (json_is_string(sm) || (src && !strcmp(src, "llm"))) {
            json_object_set_new(o, "summary", json_null()); /* the LLM's words */
            (*nl)++;
        }
        static const char *const lists[] = {"strengths", "improvements"};
        for (int i = 0; i < 2; i++) {
            json_t *a = json_object_get(o, lists[i]);
            if (json_is_array(a) && json_array_size(a) > 0) {
                json_array_clear(a);
                (*nl)++;
            }
        }
    }
    char *out = *nq || *nl ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if ((*nq || *nl) && !out)
        *bad = true;
    return out;
}

static bool list_text(const char *v)
{
    if (!v || !*v)
        return false;
    while (isspace((unsigned char)*v))
        v++;
    return strcmp(v, "[]") != 0;
}

/* Strip the call's scores row (in the transaction; dry: count only). Adds to *nq, *nl.
 * 0, or -1 with s->err. */
static int strip_scores(store *s, int64_t call, bool quotes, bool llm, bool dry, int *nq, int *nl)
{
    db_stmt *st =
        store__stmt(s, R_SCORE_GET,
                    "SELECT detail, summary, strengths, improvements FROM scores WHERE call_id "
                    "= $1");
    if (!st)
        return -1;
    db_bind_int(st, 1, call);
    int rc = db_step(st);
    if (rc != DB_ROW) {
        db_reset(st);
        return rc == DB_DONE ? 0 : store__fail(s, "reading a call's scores");
    }
    const char *d = db_col_text(st, 0);
    char *detail = d ? strdup(d) : NULL;
    bool summary = !db_col_null(st, 1);
    bool lists[2] = {list_text(db_col_text(st, 2)), list_text(db_col_text(st, 3))};
    db_reset(st);
    int q = 0, l = 0;
    bool bad = false;
    char *nd = strip_detail(detail, quotes, llm, &q, &l, &bad);
    if (bad) {
        free(detail);
        snprintf(s->err, sizeof(s->err),
                 "a score's detail is not a JSON object: its words "
                 "cannot be taken out");
        return -1;
    }
    if (llm)
        l += (summary ? 1 : 0) + (lists[0] ? 1 : 0) + (lists[1] ? 1 : 0);
    *nq += q;
    *nl += l;
    int res = 0;
    if (!dry && (q || l)) {
        st = store__stmt(
            s, R_SCORE_SET,
            "UPDATE scores SET detail = $2, summary = CASE WHEN $3 = 1 THEN NULL ELSE summary "
            "END, strengths = CASE WHEN $3 = 1 AND strengths IS NOT NULL THEN '[]' ELSE "
            "strengths END, improvements = CASE WHEN $3 = 1 AND improvements IS NOT NULL "
            "THEN '[]' ELSE improvements END WHERE call_id = $1");
        if (!st) {
            res = -1;
        } else {
            db_bind_int(st, 1, call);
            db_bind_text(st, 2, nd ? nd : detail);
            db_bind_int(st, 3, llm ? 1 : 0);
            int r2 = db_step(st);
            db_reset(st);
            if (r2 != DB_DONE)
                res = store__fail(s, "taking words out of a call's scores");
        }
    }
    free(nd);
    free(detail);
    return res;
}

/* ---- one call ------------------------------------------------------------------------------- */

typedef struct call_row {
    int64_t id;
    char source[65], rec[65], campaign[65];
    double t; /* the call's time, UTC s */
} call_row;

/* The audio's log detail: the files deleted and kept by kind, and the paths checked gone. */
static void files_detail(char *buf, size_t n, int days, double age, const store__call_files *f,
                         int checked)
{
    int w = snprintf(buf, n, "{\"days\":%d,\"age_days\":%.1f,\"files\":%d,\"kinds\":{", days, age,
                     f->del);
    for (int pass = 0; pass < 2; pass++) {
        const int *by = pass ? f->kept_kind : f->del_kind;
        if (pass && w > 0 && (size_t)w < n)
            w += snprintf(buf + w, n - (size_t)w, "},\"kept\":{");
        bool first = true;
        for (int k = 0; k < STORE_FILE_KINDS && w > 0 && (size_t)w < n; k++)
            if (by[k]) {
                w += snprintf(buf + w, n - (size_t)w, "%s\"%s\":%d", first ? "" : ",",
                              store_file_name((store_file_kind)k), by[k]);
                first = false;
            }
    }
    if (w > 0 && (size_t)w < n)
        snprintf(buf + w, n - (size_t)w, "},\"checked\":%d,\"verified\":true}", checked);
}

static void say_detail(char *buf, size_t n, int days, double age, int64_t rows, int64_t search,
                       int files, int quotes)
{
    snprintf(buf, n,
             "{\"days\":%d,\"age_days\":%.1f,\"rows\":%" PRId64 ",\"search_rows\":%" PRId64
             ",\"files\":%d,\"quotes\":%d,\"verified\":true}",
             days, age, rows, search, files, quotes);
}

/* What is due of one call under the periods, done (or, dry, only found) in the transaction the
 * caller holds; d says what. 0, or -1 with s->err (the caller rolls back). */
static int purge_one(store *s, const store_retention *r, const store_file_roots *roots,
                     const call_row *c, double now, bool dry, store_deletion *d)
{
    int days[STORE_KEEP_N];
    bool due[STORE_KEEP_N];
    double age = (now - c->t) / 86400.0;
    for (int k = 0; k < STORE_KEEP_N; k++) {
        days[k] = store_retention_days(r, c->source, c->campaign, (store_keep)k);
        due[k] = days[k] > 0 && c->t + days[k] * 86400.0 <= now;
    }
    int lk = store__lock_call(s, c->id);
    if (lk <= 0)
        return lk;
    char det[256];
    /* audio: the columns now, the files last, once every row change is checked */
    static _Thread_local store__call_files f;
    bool audio = false;
    if (due[STORE_KEEP_AUDIO]) {
        if (store__files_of(s, c->id, roots, &f) != 0)
            return -1;
        /* something of ours to delete or to clear: then the call's line says what is kept too */
        if (store__files_any_clear(&f) || f.del) {
            int64_t n = dry ? 0 : store__files_clear(s, c->id, &f);
            if (n < 0)
                return -1;
            if (!dry) {
                static _Thread_local store__call_files again;
                if (store__files_of(s, c->id, roots, &again) != 0)
                    return -1;
                if (store__files_any_clear(&again)) {
                    snprintf(s->err, sizeof(s->err), "a file column still names the file");
                    return -1;
                }
            }
            audio = true;
            d->kinds |= 1u << STORE_KEEP_AUDIO;
            d->files += f.del;
            d->files_kept += f.kept;
            for (int k = 0; k < STORE_FILE_KINDS; k++) {
                d->deleted_kind[k] += f.del_kind[k];
                d->kept_kind[k] += f.kept_kind[k];
            }
        }
    }
    /* transcript, and the LLM's text (one pass over the scores for both) */
    bool tx = due[STORE_KEEP_TRANSCRIPT], llm = due[STORE_KEEP_LLM];
    int nq = 0, nl = 0;
    if (tx || llm) {
        char *text = NULL;
        int64_t have_tx = 0, have_fts = 0, gone_tx = 0, gone_fts = 0;
        store__words w = {.n = 0};
        if (tx) {
            if (store__tx_text(s, c->id, &text) != 0)
                return -1;
            store__words_of(text, &w);
            free(text);
            if ((have_tx = store__tx_rows(s, c->id, 0)) < 0 ||
                (have_fts = store__tx_rows(s, c->id, 1)) < 0)
                return -1;
        }
        if (strip_scores(s, c->id, tx, llm, dry, &nq, &nl) != 0)
            return -1;
        /* the transcript */
        if (tx && !dry && (have_tx || have_fts)) {
            if ((gone_fts = store__tx_search_delete(s, c->id,
                                                    "deleting a transcript's search rows")) < 0 ||
                (gone_tx = store__by_call(s, R_TX_DEL, "DELETE FROM transcripts WHERE call_id = $1",
                                          c->id, NULL, "deleting a transcript")) < 0)
                return -1;
            int64_t left_tx = store__tx_rows(s, c->id, 0), left_fts = store__tx_rows(s, c->id, 1);
            int64_t found = store__search_finds(s, c->id, &w);
            if (left_tx != 0 || left_fts != 0 || found != 0) {
                if (left_tx >= 0 && left_fts >= 0 && found >= 0)
                    snprintf(s->err, sizeof(s->err),
                             "the transcript is still there after deletion (%" PRId64
                             " rows, %" PRId64 " search rows, %" PRId64 " words found)",
                             left_tx, left_fts, found);
                return -1;
            }
        }
        if (tx && (have_tx || have_fts || nq)) {
            d->kinds |= 1u << STORE_KEEP_TRANSCRIPT;
            d->rows += dry ? have_tx + have_fts : gone_tx + gone_fts;
            d->search_rows += dry ? have_fts : gone_fts;
            d->quotes += nq;
            say_detail(det, sizeof(det), days[STORE_KEEP_TRANSCRIPT], age, gone_tx + gone_fts,
                       gone_fts, 0, nq);
            if (!dry && store__log_row(s, now, c->id, c->source, c->rec, "transcript", "retention",
                                       det) != 0)
                return -1;
        }
    }
    /* the report */
    if (due[STORE_KEEP_REPORT]) {
        store_val stub = SV_S(STORE_REPORT_REMOVED);
        const char *has_sql = "SELECT (SELECT COUNT(*) FROM analyses WHERE call_id = $1 AND "
                              "report <> $2), (SELECT COUNT(*) FROM call_envelopes WHERE "
                              "call_id = $1)";
        int64_t rep = store__count_call(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 0);
        int64_t env = store__count_call(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 1);
        if (rep < 0 || env < 0)
            return -1;
        if (rep || env) {
            if (!dry) {
                if (store__by_call(s, R_REPORT_SET,
                                   "UPDATE analyses SET report = $2 WHERE call_id = $1 AND report "
                                   "<> $2",
                                   c->id, &stub, "removing a report") < 0 ||
                    store__by_call(s, R_ENV_DEL, "DELETE FROM call_envelopes WHERE call_id = $1",
                                   c->id, NULL, "deleting an envelope") < 0)
                    return -1;
                if (store__count_call(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 0) != 0 ||
                    store__count_call(s, R_REPORT_HAS, has_sql, c->id, &stub, NULL, 1) != 0) {
                    snprintf(s->err, sizeof(s->err), "the report is still there after deletion");
                    return -1;
                }
                say_detail(det, sizeof(det), days[STORE_KEEP_REPORT], age, rep + env, 0, 0, 0);
                if (store__log_row(s, now, c->id, c->source, c->rec, "report", "retention", det) !=
                    0)
                    return -1;
            }
            d->kinds |= 1u << STORE_KEEP_REPORT;
            d->rows += rep + env;
        }
    }
    /* the LLM's requests (their own time past the period too) */
    if (llm) {
        double cutoff = now - days[STORE_KEEP_LLM] * 86400.0;
        store_val cut = SV_D(cutoff);
        const char *cnt_sql = "SELECT COUNT(*) FROM llm_calls WHERE call_id = $1 AND ts <= $2";
        int64_t n = store__count_call(s, R_LLM_COUNT, cnt_sql, c->id, &cut, NULL, 0);
        if (n < 0)
            return -1;
        if (n && !dry) {
            if (store__by_call(s, R_LLM_DEL,
                               "DELETE FROM llm_calls WHERE call_id = $1 AND ts <= $2", c->id, &cut,
                               "deleting LLM requests") < 0)
                return -1;
            if (store__count_call(s, R_LLM_COUNT, cnt_sql, c->id, &cut, NULL, 0) != 0) {
                snprintf(s->err, sizeof(s->err), "LLM requests are still there after deletion");
                return -1;
            }
        }
        if (n || nl) {
            d->kinds |= 1u << STORE_KEEP_LLM;
            d->rows += n;
            d->llm_texts += nl;
            say_detail(det, sizeof(det), days[STORE_KEEP_LLM], age, n, 0, 0, nl);
            if (!dry &&
                store__log_row(s, now, c->id, c->source, c->rec, "llm", "retention", det) != 0)
                return -1;
        }
    }
    /* the scores' words, checked once both are out */
    if (!dry && (nq || nl)) {
        int q2 = 0, l2 = 0;
        if (strip_scores(s, c->id, tx, llm, true, &q2, &l2) != 0)
            return -1;
        if (q2 || l2) {
            snprintf(s->err, sizeof(s->err), "a score still holds %d quotes and %d LLM texts", q2,
                     l2);
            return -1;
        }
    }
    if (audio && !dry) {
        if (store__files_delete(s, c->id, roots, &f, &d->checked) != 0)
            return -1;
        char fd[600];
        files_detail(fd, sizeof(fd), days[STORE_KEEP_AUDIO], age, &f, d->checked);
        if (store__log_row(s, now, c->id, c->source, c->rec, "audio", "retention", fd) != 0)
            return -1;
    }
    return 0;
}

typedef struct purge_arg {
    const store_retention *r;
    const store_file_roots *roots;
    const call_row *c;
    double now;
    bool dry;
} purge_arg;

static int purge_fn(store *s, void *arg, store_deletion *d)
{
    purge_arg *a = arg;
    return purge_one(s, a->r, a->roots, a->c, a->now, a->dry, d);
}

/* A page of calls older than `before`, after `after_id`. */
static int read_calls(store *s, double before, int64_t after_id, call_row *out, int *n)
{
    *n = 0;
    db_stmt *st = store__begin(
        s, R_CANDIDATES,
        "SELECT id, source, recording_id, COALESCE(campaign_id, ''), COALESCE(call_epoch, created) "
        "FROM calls WHERE id > $1 AND COALESCE(call_epoch, created) <= $2 ORDER BY id LIMIT $3");
    if (!st)
        return -1;
    db_bind_int(st, 1, after_id);
    db_bind_double(st, 2, before);
    db_bind_int(st, 3, PAGE);
    int rc;
    while ((rc = db_step(st)) == DB_ROW && *n < PAGE) {
        call_row *c = &out[(*n)++];
        c->id = db_col_int(st, 0);
        store__col_copy(st, 1, c->source, sizeof(c->source));
        store__col_copy(st, 2, c->rec, sizeof(c->rec));
        store__col_copy(st, 3, c->campaign, sizeof(c->campaign));
        c->t = db_col_double(st, 4);
    }
    int res = rc == DB_ROW || rc == DB_DONE ? 0 : store__fail(s, "reading the calls");
    store__end(s, st);
    return res;
}

int store_purge_step(store *s, const store_retention *r, const store_file_roots *roots, double now,
                     bool dry_run, double budget_sec, int64_t *cursor, store_deletion_fn fn,
                     void *user, store_purge_totals *tot)
{
    int min_days = shortest(r);
    if (min_days <= 0) {
        *cursor = 0;
        return 0;
    }
    double before = now - min_days * 86400.0, t0 = cq_clock_mono_sec();
    call_row *page = calloc(PAGE, sizeof(*page));
    if (!page) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }
    int64_t after = *cursor;
    int res = 0, n = 0;
    bool more = true;
    while (more && (res = read_calls(s, before, after, page, &n)) == 0) {
        more = n == PAGE;
        for (int i = 0; i < n; i++) {
            const call_row *c = &page[i];
            after = c->id;
            store_deletion d;
            memset(&d, 0, sizeof(d));
            d.call_id = c->id;
            snprintf(d.source, sizeof(d.source), "%s", c->source);
            snprintf(d.recording_id, sizeof(d.recording_id), "%s", c->rec);
            snprintf(d.campaign_id, sizeof(d.campaign_id), "%s", c->campaign);
            d.age_days = (now - c->t) / 86400.0;
            purge_arg a = {r, roots, c, now, dry_run};
            /* reads first, outside a transaction: most calls have nothing due, and a write
             * transaction (SQLite: the whole store's lock) is taken only for those that do */
            store_deletion pre = d;
            pthread_mutex_lock(&s->mu);
            int pr = purge_one(s, r, roots, c, now, true, &pre);
            pthread_mutex_unlock(&s->mu);
            if (pr == 0 && pre.kinds) {
                d.status = store__call_tx(s, dry_run, purge_fn, &a, &d);
                if (d.status != 0)
                    d.kinds = 0, d.rows = d.search_rows = 0, d.files = d.quotes = d.llm_texts = 0;
            } else if (pr != 0) {
                d.status = -1;
                snprintf(d.error, sizeof(d.error), "%s", s->err);
            }
            if (d.kinds || d.status != 0) {
                store__purge_total(tot, &d);
                if (fn)
                    fn(user, &d);
            }
            if (budget_sec > 0 && cq_clock_mono_sec() - t0 >= budget_sec) {
                more = i + 1 < n || more;
                goto out;
            }
        }
    }
out:
    free(page);
    *cursor = res == 0 && more ? after : 0;
    return res;
}

int store_purge(store *s, const store_retention *r, const store_file_roots *roots, double now,
                bool dry_run, store_deletion_fn fn, void *user, store_purge_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    int64_t cursor = 0;
    int rc = store_purge_step(s, r, roots, now, dry_run, 0, &cursor, fn, user, tot);
    return rc != 0 || tot->failed ? -1 : 0;
}
