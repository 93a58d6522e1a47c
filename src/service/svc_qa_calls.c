/*
 * svc_qa_calls.c - GET /api/qa/calls: the calls list with its filters, sorting and pages, and
 * a call's row as every list shows it (svc_qa_call_shape: the old service's fields, callqa's
 * figures, the problem badges). Which figures make a badge is the assessment's rule
 * (sc_badges, src/scoring/), not this file's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "svc_access.h"
#include "svc_qa.h"
#include "../pipeline/pl_service.h"
#include "../scoring/scoring.h"
#include "../store/store_jobs.h"
#include "../store/store_query.h"

/* ---- calls --------------------------------------------------------------------------------- */

/* The problems of an analysed call, from its stored figures and warning codes: the
 * assessment's rules (sc_badges). */
static json_t *badges(const store_val *c, int n)
{
    const store_val *w = svc_qa_col(c, n, "warning_codes"), *model = svc_qa_col(c, n, "mos_model");
#define FIG(name) (svc_qa_is_null(c, n, name) ? NAN : svc_qa_num(c, n, name))
    sc_badge_figures f = {.one_way = FIG("one_way"),
                          .dead_air_sec = FIG("dead_air_sec"),
                          .clipping_pct = FIG("clipping_pct"),
                          .level_db = FIG("level_db"),
                          .mos_in = FIG("mos_in"),
                          .mos_out = FIG("mos_out"),
                          .net_mos = FIG("net_mos"),
                          .warning_codes = w && w->t == SV_TEXT ? w->s : "",
                          .mos_model = model && model->t == SV_TEXT ? model->s : NULL};
#undef FIG
    const char *codes[SC_MAX_BADGES];
    int k = sc_badges(&f, codes);
    json_t *b = json_array();
    for (int i = 0; i < k; i++)
        json_array_append_new(b, json_string(codes[i]));
    return b;
}

/* GET /api/qa/badges: the badges and their rules, as the calls list applies them. */
enum MHD_Result svc_qa_badges(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    char *s = sc_badges_json();
    if (!s) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return svc_send(r);
    }
    svc_answer(r, 200, s, "application/json");
    return svc_send(r);
}

/* A call as the API shows it: the old service's fields, then callqa's. */
/* The call's route (docs/routes.md): the dialer's (or a pattern's) carrier, server and DID, its
 * campaign, and what a capture matched to it said of the far end and the network; each null
 * when unknown, for every call (one not analysed yet has no capture's figures). */
static json_t *route_of(const store_val *c, int n)
{
    json_t *rt = json_object();
    static const struct {
        const char *key, *col;
        int digits; /* -1 text */
    } k_route[] = {{"carrier", "carrier", -1},      {"server", "server_ip", -1},
                   {"campaign", "campaign_id", -1}, {"did", "did", -1},
                   {"trunk", "sip_trunk", -1},      {"user_agent", "sip_user_agent", -1},
                   {"codec", "sip_codec", -1},      {"pdd_ms", "sip_pdd_ms", 0},
                   {"loss_pct", "net_loss_pct", 2}, {"jitter_ms", "net_jitter_ms", 1}};
    for (size_t k = 0; k < sizeof(k_route) / sizeof(k_route[0]); k++) {
        const store_val *v = svc_qa_col(c, n, k_route[k].col);
        json_object_set_new(rt, k_route[k].key, v ? svc_qa_val(v, k_route[k].digits) : json_null());
    }
    return rt;
}

json_t *svc_qa_call_shape(const store_val *c, int n, void *u)
{
    (void)u;
    json_t *o = json_object();
    static const char *const ids[] = {"recording_id", "uniqueid",    "agent_user",
                                      "agent_name",   "campaign_id", "call_date",
                                      "call_length",  "call_status", "processing_status"};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        const store_val *v = svc_qa_col(c, n, ids[k]);
        json_object_set_new(o, ids[k], v ? svc_qa_val(v, -1) : json_null());
    }
    /* the whole text, one "speaker: text" line per turn; null until transcribed */
    json_object_set_new(o, "transcript", svc_qa_val(svc_qa_col(c, n, "transcript"), -1));
    if (!svc_qa_is_null(c, n, "word_count")) {
        json_object_set_new(o, "language", svc_qa_val(svc_qa_col(c, n, "language"), -1));
        json_object_set_new(o, "word_count", svc_qa_val(svc_qa_col(c, n, "word_count"), -1));
        json_object_set_new(o, "transcription_time",
                            svc_qa_val(svc_qa_col(c, n, "transcription_time"), 3));
    }
    /* scored: the call has a scores row (its total may still be null: a category not judged) */
    bool scored = !svc_qa_is_null(c, n, "scored_at");
    json_object_set_new(
        o, "total_score",
        svc_qa_round(!svc_qa_is_null(c, n, "total_score"), svc_qa_num(c, n, "total_score"), 1));
    if (scored) {
        json_t *sc = json_object();
        for (int k = 0; k < 8; k++)
            json_object_set_new(sc, svc_qa_cats[k],
                                svc_qa_val(svc_qa_col(c, n, svc_qa_cats[k]), -1));
        json_object_set_new(o, "scores", sc);
    } else {
        json_object_set_new(o, "scores", json_null());
    }
    static const char *const more[] = {"summary", "flag_reason", "llm_provider"};
    for (size_t k = 0; k < 3; k++)
        json_object_set_new(o, more[k], svc_qa_val(svc_qa_col(c, n, more[k]), -1));
    static const char *const lists[] = {"strengths", "improvements"};
    for (size_t k = 0; k < 2; k++) {
        const store_val *v = svc_qa_col(c, n, lists[k]);
        json_t *parsed = v && v->t == SV_TEXT ? json_loads(v->s, 0, NULL) : NULL;
        json_object_set_new(o, lists[k], parsed ? parsed : json_null());
    }
    json_object_set_new(o, "flagged", json_boolean(svc_qa_num(c, n, "flagged") != 0));
    /* callqa's */
    static const char *const ours[] = {
        "call_id",       "source",      "vicidial_id", "lead_id",
        "campaign_name", "direction",   "tz",          "call_epoch",
        "term_reason",   "skip_reason", "error_stage", "error_message",
        "retry_count",   "llm_model",   "scorecard",   "scorecard_hash",
        "provider_hash"};
    for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++) {
        const store_val *v = svc_qa_col(c, n, ours[k]);
        if (v && v->t == SV_TEXT &&
            (!strcmp(ours[k], "error_message") || !strcmp(ours[k], "skip_reason")))
            json_object_set_new(o, ours[k], svc_qa_redacted(v->s));
        else
            json_object_set_new(o, ours[k], svc_qa_val(v, -1));
    }
    json_object_set_new(o, "partial_score", svc_qa_val(svc_qa_col(c, n, "partial_score"), 1));
    json_object_set_new(o, "coverage", svc_qa_val(svc_qa_col(c, n, "coverage"), 2));
    if (svc_qa_is_null(c, n, "topic_class")) {
        json_object_set_new(o, "topic", json_null());
    } else {
        json_t *tp = json_object();
        json_object_set_new(tp, "class", svc_qa_val(svc_qa_col(c, n, "topic_class"), -1));
        json_object_set_new(tp, "subclass", svc_qa_val(svc_qa_col(c, n, "topic_subclass"), -1));
        json_object_set_new(o, "topic", tp);
    }
    const store_val *stg = svc_qa_col(c, n, "stages");
    json_t *stages = stg && stg->t == SV_TEXT ? json_loads(stg->s, 0, NULL) : NULL;
    json_object_set_new(o, "stages", stages ? stages : json_object());
    json_object_set_new(o, "route", route_of(c, n));
    if (svc_qa_is_null(c, n, "legs")) {
        json_object_set_new(o, "analysis", json_null());
        json_object_set_new(o, "badges", json_null());
        return o;
    }
    json_object_set_new(o, "badges", badges(c, n));
    json_t *a = json_object();
    static const char *const fig[] = {
        "duration_sec", "legs",        "speech_pct_in", "speech_pct_out", "mos_in",
        "mos_out",      "talk_sec_in", "talk_sec_out",  "dead_air_sec",   "overtalk_sec",
        "hold_sec",     "hold_count",  "tone_count",    "dtmf_count"};
    for (size_t k = 0; k < sizeof(fig) / sizeof(fig[0]); k++)
        json_object_set_new(a, fig[k], svc_qa_val(svc_qa_col(c, n, fig[k]), 2));
    json_object_set_new(a, "one_way",
                        svc_qa_is_null(c, n, "one_way")
                            ? json_null()
                            : json_boolean(svc_qa_num(c, n, "one_way") != 0));
    const store_val *w = svc_qa_col(c, n, "warning_codes");
    json_t *codes = json_array();
    if (w && w->t == SV_TEXT && *w->s) {
        for (const char *t = w->s; *t;) {
            size_t len = strcspn(t, ",");
            if (len)
                json_array_append_new(codes, json_stringn(t, len));
            t += len + (t[len] == ',');
        }
    }
    json_object_set_new(a, "warning_codes", codes);
    /* each MOS beside its model and the threshold of that model's badge */
    const store_val *model = svc_qa_col(c, n, "mos_model");
    bool nisqa = sc_mos_is_nisqa(model && model->t == SV_TEXT ? model->s : NULL);
    json_t *sp = json_pack("{s:o,s:o,s:o,s:o}", "model", svc_qa_val(model, -1), "inbound",
                           svc_qa_val(svc_qa_col(c, n, "mos_in"), 2), "outbound",
                           svc_qa_val(svc_qa_col(c, n, "mos_out"), 2), "low_below",
                           nisqa ? json_real(SC_LOW_MOS) : json_null());
    json_t *nm =
        svc_qa_is_null(c, n, "net_mos")
            ? json_null()
            : json_pack("{s:o,s:o,s:f}", "model", svc_qa_val(svc_qa_col(c, n, "net_mos_model"), -1),
                        "mos", svc_qa_val(svc_qa_col(c, n, "net_mos"), 2), "low_below",
                        SC_LOW_NET_MOS);
    json_object_set_new(a, "mos", json_pack("{s:o,s:o}", "speech", sp, "network", nm));
    const store_val *dr = svc_qa_col(c, n, "dropouts_per_min");
    json_object_set_new(a, "dropouts_per_min", dr ? svc_qa_val(dr, 2) : json_null());
    json_object_set_new(o, "analysis", a);
    return o;
}

static int count_row(void *user, const store_val *c, int n)
{
    *(int64_t *)user = n > 0 ? (int64_t)svc_qa_num(c, n, c[0].name) : 0;
    return 1;
}

enum MHD_Result svc_qa_calls(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long limit, offset;
    if (svc_qa_int_arg(r, "limit", 50, 1, 500, &limit) ||
        svc_qa_int_arg(r, "offset", 0, 0, 100000000, &offset))
        return svc_send(r);
    const char *from = svc_qa_arg(r, "from"), *to = svc_qa_arg(r, "to"),
               *state = svc_qa_arg(r, "state");
    if ((from && !svc_qa_valid_date(from)) || (to && !svc_qa_valid_date(to))) {
        svc_answer_error(r, 400, "bad_argument", "from and to must be YYYY-MM-DD");
        return svc_send(r);
    }
    if (state && job_state_parse(state) < 0) {
        svc_answer_error(r, 400, "bad_argument",
                         "state must be a job state (pending, "
                         "analysing, ..., complete, skipped, error)");
        return svc_send(r);
    }
    const char *sort = svc_qa_arg(r, "sort"), *order = svc_qa_arg(r, "order");
    store_calls_sort key = STORE_SORT_CALL_DATE;
    if (sort) {
        key = STORE_SORT_N;
        for (int k = 0; k < STORE_SORT_N; k++)
            if (!strcmp(sort, store_calls_sort_name((store_calls_sort)k)))
                key = (store_calls_sort)k;
        if (key == STORE_SORT_N) {
            svc_answer_error(r, 400, "bad_argument",
                             "sort must be call_date, agent_user, campaign_id, total_score, mos, "
                             "duration, dead_air or call_length");
            return svc_send(r);
        }
    }
    if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
        svc_answer_error(r, 400, "bad_argument", "order must be asc or desc");
        return svc_send(r);
    }
    bool asc = order && !strcmp(order, "asc");
    /* q: the words of /api/qa/search, as its FTS5 query (PostgreSQL reads it the same way) */
    const char *q = svc_qa_arg(r, "q");
    char match[1200] = "";
    if (q) {
        svc_qa_fts_query(q, match, sizeof(match));
        if (!match[0] || strlen(q) > 1000) {
            svc_answer_error(r, 400, "bad_argument",
                             "q: one or more words to find in the "
                             "transcript (at most 1000 bytes; \"a "
                             "phrase\" in double quotes)");
            return svc_send(r);
        }
    }
    store_val p[14] = {SV_S(from), SV_S(to), SV_S(svc_qa_arg(r, "agent")),
                       SV_S(svc_qa_arg(r, "campaign")), SV_S(state)};
    p[13] = SV_S(svc_qa_campaigns(r));
    p[11] = SV_S(q ? match : NULL);
    const char *ow = svc_qa_arg(r, "one_way"), *mos = svc_qa_arg(r, "mos_below"),
               *da = svc_qa_arg(r, "dead_air"), *fl = svc_qa_arg(r, "flagged"),
               *dt = svc_qa_arg(r, "dtmf");
    struct {
        const char *v;
        int idx;
        bool boolean;
    } opt[] = {{ow, 5, true}, {mos, 6, false}, {da, 7, false}, {fl, 10, true}, {dt, 12, true}};
    for (size_t k = 0; k < sizeof(opt) / sizeof(opt[0]); k++) {
        if (!opt[k].v)
            continue;
        if (opt[k].boolean) {
            bool t = !strcmp(opt[k].v, "true") || !strcmp(opt[k].v, "1");
            if (!t && strcmp(opt[k].v, "false") && strcmp(opt[k].v, "0")) {
                svc_answer_error(r, 400, "bad_argument",
                                 "one_way, flagged and dtmf are true or false (1 or 0)");
                return svc_send(r);
            }
            p[opt[k].idx] = SV_I(t ? 1 : 0);
        } else {
            char *end;
            double x = strtod(opt[k].v, &end);
            if (end == opt[k].v || *end || !isfinite(x)) {
                svc_answer_error(r, 400, "bad_argument", "mos_below and dead_air are numbers");
                return svc_send(r);
            }
            p[opt[k].idx] = SV_D(x);
        }
    }
    p[8] = SV_I(limit);
    p[9] = SV_I(offset);
    svc_qa_rows rs = {.arr = json_array(), .shape = svc_qa_call_shape, .r = r};
    int64_t total = 0;
    if (store_calls(r->s->store, key, asc, p, 14, svc_qa_collect, &rs) != 0 ||
        store_query(r->s->store, SQ_CALLS_COUNT, p, 14, count_row, &total) != 0) {
        json_decref(rs.arr);
        return svc_qa_store_failed(r);
    }
    svc_audit_calls(r, rs.arr); /* a row per call returned (svc_audit) */
    json_t *o = json_object();
    json_object_set_new(o, "calls", rs.arr);
    json_object_set_new(o, "total", json_integer(total));
    json_object_set_new(o, "limit", json_integer(limit));
    json_object_set_new(o, "offset", json_integer(offset));
    json_object_set_new(o, "sort", json_string(store_calls_sort_name(key)));
    json_object_set_new(o, "order", json_string(asc ? "asc" : "desc"));
    return svc_qa_send(r, 200, o);
}
