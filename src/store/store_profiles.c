/*
 * store_profiles.c - agents' voice profiles (store.h, schema v16): the running mean of an
 * agent's voice prints per campaign, updated in one transaction per call, and erased with the
 * agent (logged in the deletions table without the print). The print is kept as a JSON array of
 * numbers; nothing here writes it to a log.
 */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

_Static_assert(Q_INT_LAST < Q_QUERY_FIRST, "the store's statement keys stay below the API's");

/* the print's JSON text into v; its dim, or -1 */
static int parse_print(const char *text, double *v)
{
    json_t *a = json_loads(text ? text : "", 0, NULL);
    int dim = -1;
    if (json_is_array(a) && json_array_size(a) <= STORE_VP_MAX_DIM) {
        dim = 0;
        size_t i;
        json_t *x;
        json_array_foreach(a, i, x)
        {
            if (!json_is_number(x)) {
                dim = -1;
                break;
            }
            v[dim++] = json_number_value(x);
        }
    }
    json_decref(a);
    return dim;
}

/* read agent/campaign's row with st already bound; 1, 0, -1 */
static int read_row(store *s, db_stmt *st, store_voice_profile *out)
{
    int rc = db_step(st);
    if (rc == DB_DONE)
        return 0;
    if (rc != DB_ROW)
        return store__fail(s, "reading a voice profile");
    store__col_copy(st, 0, out->agent, sizeof(out->agent));
    store__col_copy(st, 1, out->campaign, sizeof(out->campaign));
    out->dim = parse_print(db_col_text(st, 2), out->v);
    out->calls = db_col_int(st, 3);
    out->speech_sec = db_col_double(st, 4);
    out->updated = db_col_double(st, 5);
    return out->dim > 0 ? 1 : 0; /* a row whose print cannot be read is no profile */
}

#define VP_SELECT                                                                                  \
    "SELECT agent, campaign, print, calls, speech_sec, updated FROM voice_profiles WHERE agent = " \
    "$1 AND campaign = $2"

int store_voice_profile_get(store *s, const char *agent, const char *campaign,
                            store_voice_profile *out)
{
    memset(out, 0, sizeof(*out));
    db_stmt *st = store__begin(s, Q_VP_GET, VP_SELECT);
    if (!st)
        return -1;
    db_bind_text(st, 1, agent);
    db_bind_text(st, 2, campaign ? campaign : "");
    int res = read_row(s, st, out);
    store__end(s, st);
    return res;
}

int store_voice_profile_add(store *s, const char *agent, const char *campaign, const double *v,
                            int dim, double speech_sec, double now, int64_t *calls)
{
    if (!agent || !*agent || dim <= 0 || dim > STORE_VP_MAX_DIM) {
        snprintf(s->err, sizeof(s->err), "a voice profile needs an agent and a print");
        return -1;
    }
    for (int i = 0; i < dim; i++)
        if (!isfinite(v[i])) {
            snprintf(s->err, sizeof(s->err), "a voice print with a number that is not finite");
            return -1;
        }
    if (store__tx_begin(s) != 0)
        return -1;
    int res = -1;
    store_voice_profile p;
    memset(&p, 0, sizeof(p));
    db_stmt *st = store__stmt(s, Q_VP_LOCK, STORE_SQL(s, VP_SELECT, VP_SELECT " FOR UPDATE"));
    int have = -1;
    if (st) {
        db_bind_text(st, 1, agent);
        db_bind_text(st, 2, campaign ? campaign : "");
        have = read_row(s, st, &p);
        db_reset(st);
    }
    json_t *a = json_array();
    int64_t n = 1;
    if (have >= 0 && a) {
        bool merge = have == 1 && p.dim == dim && p.calls > 0;
        n = merge ? p.calls + 1 : 1;
        for (int i = 0; i < dim; i++) {
            double m = merge ? p.v[i] + (v[i] - p.v[i]) / (double)n : v[i];
            json_array_append_new(a, json_real(round(m * 1e5) / 1e5));
        }
        char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(8));
        db_stmt *up =
            text ? store__stmt(s, Q_VP_PUT,
                               "INSERT INTO voice_profiles (agent, campaign, print, calls, "
                               "speech_sec, updated) VALUES ($1, $2, $3, $4, $5, $6) ON "
                               "CONFLICT (agent, campaign) DO UPDATE SET print = excluded.print,"
                               " calls = excluded.calls, speech_sec = excluded.speech_sec,"
                               " updated = excluded.updated")
                 : NULL;
        if (up) {
            db_bind_text(up, 1, agent);
            db_bind_text(up, 2, campaign ? campaign : "");
            db_bind_text(up, 3, text);
            db_bind_int(up, 4, n);
            db_bind_double(up, 5, (merge ? p.speech_sec : 0) + (speech_sec > 0 ? speech_sec : 0));
            db_bind_double(up, 6, now);
            res = db_step(up) == DB_DONE ? 0 : store__fail(s, "writing a voice profile");
            db_reset(up);
        }
        free(text);
    }
    json_decref(a);
    res = store__tx_end(s, res, "committing a voice profile");
    if (res == 0 && calls)
        *calls = n;
    return res;
}

int store_voice_profile_erase(store *s, const char *agent, bool dry_run, double now, int *n)
{
    *n = 0;
    if (store__tx_begin(s) != 0)
        return -1;
    int res = -1;
    json_t *camps = json_array();
    int64_t calls = 0;
    db_stmt *st =
        store__stmt(s, Q_VP_AGENT,
                    "SELECT campaign, calls FROM voice_profiles WHERE agent = $1 ORDER BY "
                    "campaign");
    if (st && camps) {
        db_bind_text(st, 1, agent);
        int rc;
        while ((rc = db_step(st)) == DB_ROW) {
            json_array_append_new(camps, json_string(db_col_text(st, 0) ? db_col_text(st, 0) : ""));
            calls += db_col_int(st, 1);
            (*n)++;
        }
        db_reset(st);
        res = rc == DB_DONE ? 0 : store__fail(s, "reading an agent's voice profiles");
    }
    if (res == 0 && !dry_run && *n > 0) {
        db_stmt *del = store__stmt(s, Q_VP_DEL, "DELETE FROM voice_profiles WHERE agent = $1");
        res = -1;
        if (del) {
            db_bind_text(del, 1, agent);
            res =
                db_step(del) == DB_DONE ? 0 : store__fail(s, "deleting an agent's voice profiles");
            db_reset(del);
        }
        json_t *d =
            json_pack("{s:s,s:o,s:I,s:I}", "what", "voice_profile", "campaigns", json_incref(camps),
                      "profiles", (json_int_t)*n, "calls_in_them", (json_int_t)calls);
        char *detail = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        db_stmt *lg = res == 0 && detail
                          ? store__stmt(s, Q_VP_LOG,
                                        "INSERT INTO deletions (ts, call_id, source, "
                                        "recording_id, what, why, detail) VALUES ($1, "
                                        "NULL, NULL, NULL, 'voice_profile', 'erasure', $2)")
                          : NULL;
        if (res == 0 && !lg)
            res = -1;
        if (lg) {
            db_bind_double(lg, 1, now);
            db_bind_text(lg, 2, detail);
            res = db_step(lg) == DB_DONE ? 0 : store__fail(s, "logging a deletion");
            db_reset(lg);
        }
        free(detail);
    }
    json_decref(camps);
    return store__tx_end(s, res, "committing an erasure");
}
