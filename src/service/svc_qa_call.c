/*
 * svc_qa_call.c - one call: GET /api/qa/call/{id} (its row, scores, overrides and transcript),
 * GET /api/qa/call/{id}/report (the stored report), and POST /api/qa/call/{id}/transcript (a
 * transcript imported on a thread of its own, at most two at a time; the import itself is the
 * pipeline's, pl_tx_import, which `callqa transcript import` calls too and which stores a
 * transcript as the worker does).
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
#include "svc_audio.h"
#include "svc_guard.h"
#include "svc_qa.h"
#include "../pipeline/pl_service.h"
#include "../scoring/scoring.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "../store/store.h"
#include "callqa/cq_clock.h"

static json_t *report_row(const store_val *c, int n, void *u);

/* the stored transcript block, parsed */
static json_t *detail_row(const store_val *c, int n, void *u)
{
    (void)u;
    const store_val *d = svc_qa_col(c, n, "detail");
    json_t *v = d && d->t == SV_TEXT ? json_loads(d->s, 0, NULL) : NULL;
    return v ? v : json_null();
}

enum MHD_Result svc_qa_call(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    store_val p[1] = {SV_S(r->param)};
    json_t *a = svc_qa_query(r, SQ_CALL, p, 1, svc_qa_call_shape, NULL);
    if (!a)
        return svc_qa_store_failed(r);
    if (!json_array_size(a)) {
        json_decref(a);
        svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                         r->param);
        return svc_send(r);
    }
    json_t *o = json_incref(json_array_get(a, 0));
    json_decref(a);
    /* the transcript's segments, words, turns and guard (docs/transcription.md) */
    json_t *id = json_object_get(o, "call_id");
    if (json_is_integer(id) && !json_is_null(json_object_get(o, "transcript"))) {
        store_val q[1] = {SV_I(json_integer_value(id))};
        json_t *t = svc_qa_query(r, SQ_TRANSCRIPT, q, 1, detail_row, NULL);
        json_t *d = t && json_array_size(t) ? json_incref(json_array_get(t, 0)) : NULL;
        json_decref(t);
        json_object_set_new(o, "transcript_detail", d ? d : json_null());
    }
    /* the stored result in full, and the supervisors' overrides beside the automatic scores */
    json_t *detail = NULL, *ov = NULL;
    int got = json_is_integer(id) ? svc_qa_score_of(r, json_integer_value(id), &detail) : 0;
    if (got >= 0 && json_is_integer(id))
        ov = svc_qa_overrides_of(r, json_integer_value(id));
    if (got < 0 || !ov) {
        json_decref(detail);
        json_decref(o);
        return svc_qa_store_failed(r);
    }
    /* the call's sentiment trend, as the scoring stored it (the LLM's or the lexicon's, named in
     * it), for the timeline's lane: null when there is none */
    json_t *sent = json_object_get(detail, "sentiment");
    json_object_set_new(o, "sentiment", json_is_object(sent) ? json_incref(sent) : json_null());
    json_object_set_new(o, "score_detail", detail ? detail : json_null());
    json_object_set_new(o, "overrides", ov);
    /* the recordings GET /api/qa/call/{id}/audio can serve (svc_audio.c) */
    json_t *audio = json_is_integer(id) ? svc_audio_legs(r, json_integer_value(id)) : NULL;
    if (!audio) {
        json_decref(o);
        return svc_qa_store_failed(r);
    }
    json_object_set_new(o, "audio", audio);
    /* the call's capture, when one lay beside its recording (src/pipeline/network.c): the findings,
     * dialogs, streams and cross-checks the worker stored in the report's `network` key */
    json_t *net = json_null(), *net_err = json_null(), *live = json_null(), *live_err = json_null();
    if (json_is_integer(id) && !json_is_null(json_object_get(o, "analysis"))) {
        store_val q[1] = {SV_I(json_integer_value(id))};
        json_t *rep = svc_qa_query(r, SQ_REPORT, q, 1, report_row, NULL);
        const char *text = json_string_value(json_array_get(rep, 0));
        json_t *report = text ? json_loads(text, 0, NULL) : NULL;
        if (json_is_object(json_object_get(report, "network")))
            net = json_incref(json_object_get(report, "network"));
        if (json_is_string(json_object_get(report, "network_error")))
            net_err = svc_qa_redacted(json_string_value(json_object_get(report, "network_error")));
        /* the live events of a call `callqa live` recorded (src/pipeline/live_kept.c) */
        if (json_is_object(json_object_get(report, "live")))
            live = json_incref(json_object_get(report, "live"));
        if (json_is_string(json_object_get(report, "live_error")))
            live_err = svc_qa_redacted(json_string_value(json_object_get(report, "live_error")));
        json_decref(report);
        json_decref(rep);
        svc_qa_unpath(net); /* a report stored before reports named no server path */
        svc_qa_unpath(live);
    }
    json_object_set_new(o, "network", net);
    json_object_set_new(o, "network_error", net_err);
    json_object_set_new(o, "live", live);
    json_object_set_new(o, "live_error", live_err);
    return svc_qa_send(r, 200, o);
}

/* ---- POST /api/qa/call/{id}/transcript --------------------------------------------------- */

static json_t *report_row(const store_val *c, int n, void *u)
{
    (void)u;
    const store_val *v = svc_qa_col(c, n, "report");
    return v && v->t == SV_TEXT ? json_string(v->s) : json_null();
}

/* A call's stored report in full (docs/report.md), for the timeline and the raw download, with
 * the assessment by rules made from it (docs/assess.md): {call_id, recording_id, report,
 * assessment: {engine, text, findings}}. 404 until the call is analysed. */
enum MHD_Result svc_qa_report(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    json_t *row;
    int64_t call_id = svc_qa_call_of(r, &row);
    if (call_id < 0)
        return call_id == -2 ? svc_qa_store_failed(r) : svc_send(r);
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer((json_int_t)call_id));
    json_object_set(o, "recording_id", json_object_get(row, "recording_id"));
    json_decref(row);
    store_val q[1] = {SV_I(call_id)};
    json_t *rep = svc_qa_query(r, SQ_REPORT, q, 1, report_row, NULL);
    if (!rep) {
        json_decref(o);
        return svc_qa_store_failed(r);
    }
    const char *text = json_string_value(json_array_get(rep, 0));
    json_error_t jerr;
    json_t *report = text ? json_loads(text, 0, &jerr) : NULL;
    if (!report) {
        json_decref(rep);
        json_decref(o);
        svc_answer_error(r, 404, "not_analysed", "call %.64s has no stored analysis yet", r->param);
        return svc_send(r);
    }
    char *verdict = NULL, *findings = NULL, err[300];
    json_t *as = json_object();
    if (sc_assess_report(text, &verdict, &findings, err, sizeof(err)) == 0) {
        json_object_set_new(as, "engine", json_string("rules"));
        json_object_set_new(as, "text", json_string(verdict));
        json_t *f = json_loads(findings, 0, &jerr);
        json_object_set_new(as, "findings", f ? f : json_array());
    } else {
        json_object_set_new(as, "engine", json_null());
        json_object_set_new(as, "error", json_string(err));
    }
    free(verdict);
    free(findings);
    json_decref(rep);
    json_object_set_new(o, "report", report);
    json_object_set_new(o, "assessment", as);
    svc_qa_unpath(o); /* a report stored before reports named no server path */
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    svc_answer(r, 200, body, "application/json");
    return svc_send(r);
}

/* A transcript made elsewhere (docs/transcription.md, "Import"), checked against the call's
 * analysed speech when there is one, stored in place of any earlier one. */
/* The import of r's transcript, its answer set (never sent: the event-loop thread sends it when
 * the connection is resumed). */
static void transcript_answer(req *r)
{
    json_t *row = NULL;
    int64_t call_id = svc_qa_call_of(r, &row);
    json_decref(row);
    if (call_id < 0) {
        if (call_id == -2)
            svc_answer_error(r, 500, "store", "the store could not answer: %s",
                             store_errmsg(r->s->store));
        return;
    }
    pl_tx_imported x;
    if (pl_tx_import(r->s->cfg, r->s->store, call_id, r->upload, r->upload_len,
                     svc_qa_arg(r, "speaker"), &x) == 0) {
        svc_answer(r, 200, x.block, "application/json");
        return;
    }
    if (x.end == PL_TX_STORE)
        svc_answer_error(r, 500, "store", "the store could not answer: %s", x.err.msg);
    else if (x.end == PL_TX_BAD)
        svc_answer_error(r, 400, "bad_transcript", "%s", x.err.msg);
    else if (x.end == PL_TX_REDACTION)
        svc_answer_error(r, 500, "redaction", "the transcript was not stored: %s", x.err.msg);
    else
        svc_answer_error(r, 500, "internal", "out of memory");
}

#define MAX_IMPORTS 2 /* transcripts imported at once; more wait their turn with 503 */
static atomic_int g_imports;

static void *transcript_job(void *arg)
{
    req *r = arg;
    transcript_answer(r);
    /* a big transcript's parse takes hundreds of MiB: given back now, not at exit */
    free(r->upload);
    atomic_fetch_sub(&r->s->body_bytes, r->upload_cap);
    r->upload = NULL, r->upload_len = r->upload_cap = 0;
    malloc_trim(0);
    atomic_fetch_sub(&g_imports, 1);
    MHD_resume_connection(r->conn);
    return NULL;
}

enum MHD_Result svc_qa_transcript_start(req *r)
{
    r->body_limit = r->s->cfg->max_transcript;
    return svc_body_start(r);
}

/* POST /api/qa/call/{id}/transcript: the body read here; the import, which may take seconds
 * and hundreds of MiB for a big transcript, on a thread of its own while the connection
 * waits (the event-loop threads keep answering everyone else). */
enum MHD_Result svc_qa_transcript(req *r, const char *data, size_t *size)
{
    if (*size)
        return svc_body_piece(r, data, size);
    if (svc_body_done(r))
        return svc_send(r);
    if (r->multipart || !r->upload_len) {
        svc_answer_error(r, 400, "empty",
                         "send the transcript as a JSON body (callqa's segments "
                         "with speakers, or OpenAI verbose_json with ?speaker=)");
        return svc_send(r);
    }
    if (atomic_fetch_add(&g_imports, 1) >= MAX_IMPORTS) {
        atomic_fetch_sub(&g_imports, 1);
        svc_answer_error(r, 503, "busy",
                         "%d transcripts are being imported already: try again "
                         "in a few seconds",
                         MAX_IMPORTS);
        return svc_send(r);
    }
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    MHD_suspend_connection(r->conn);
    if (pthread_create(&t, &at, transcript_job, r) != 0) {
        atomic_fetch_sub(&g_imports, 1);
        svc_answer_error(r, 503, "busy", "no thread could be started for the import");
        MHD_resume_connection(r->conn);
    }
    pthread_attr_destroy(&at);
    return MHD_YES; /* answered when the import is done (on_request sends it) */
}

/* ---- POST /api/qa/marks: pause and resume while a call is recorded (docs/privacy.md) -------- */

#define MARKS_MAX_BODY 4096

/* The marks' rate limit: a token bucket per sender (marks_per_minute, as many at once), in a
 * table of MARKS_SENDERS slots. A sender is a user of the store by name; the shared token and,
 * without auth, everyone by client address. A slot is taken over only when its bucket is full
 * again (its sender idle for a minute), or else the fullest one: the senders sending now keep
 * theirs. */
#define MARKS_SENDERS 4096
#define MARKS_PROBE 16
static struct {
    pthread_mutex_t mu;
    struct {
        char key[80];
        double tokens, t; /* at t (monotonic s) */
    } slot[MARKS_SENDERS];
} g_marks = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Take one mark from key's bucket: 0, or the seconds until one is there. */
static double marks_take(const char *key, int per_minute)
{
    double cap = per_minute, rate = per_minute / 60.0, now = cq_clock_mono_sec(), wait = 0;
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    pthread_mutex_lock(&g_marks.mu);
    int use = -1, fullest = -1;
    double most = -1;
    for (int i = 0; i < MARKS_PROBE; i++) {
        int k = (int)((h + (uint64_t)i) % MARKS_SENDERS);
        if (!strcmp(g_marks.slot[k].key, key)) {
            use = k;
            break;
        }
        double t = g_marks.slot[k].key[0]
                       ? g_marks.slot[k].tokens + (now - g_marks.slot[k].t) * rate
                       : 2 * cap; /* an empty slot: the first choice */
        if (t > most)
            most = t, fullest = k;
    }
    if (use < 0) { /* a sender not seen of late: a full bucket in the best slot */
        use = fullest;
        snprintf(g_marks.slot[use].key, sizeof(g_marks.slot[use].key), "%s", key);
        g_marks.slot[use].tokens = cap, g_marks.slot[use].t = now;
    }
    double t = g_marks.slot[use].tokens + (now - g_marks.slot[use].t) * rate;
    if (t > cap)
        t = cap;
    if (t >= 1)
        t -= 1;
    else
        wait = (1 - t) / rate;
    g_marks.slot[use].tokens = t, g_marks.slot[use].t = now;
    pthread_mutex_unlock(&g_marks.mu);
    return wait;
}

/* The sender's scope as access.h writes one, into out: "" when they see every call. */
static void scope_text(const acc_scope *sc, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    if (!sc->limited)
        return;
    if (sc->agent[0]) {
        snprintf(out, n, "agent:%s", sc->agent);
        return;
    }
    for (int i = 0; i < sc->n_campaigns && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%scampaign:%s", i ? "," : "", sc->campaigns[i]);
}

enum MHD_Result svc_qa_marks_start(req *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > MARKS_MAX_BODY) {
        svc_answer_error(r, 413, "too_large", "the body is over %d KiB", MARKS_MAX_BODY >> 10);
        return svc_send(r);
    }
    return svc_body_start(r);
}

/* {"call": the dialer's id of the call (its uniqueid or recording id), "mark": "pause" |
 * "resume", "at": UTC seconds (optional: now)}: 201 with the mark as stored. */
enum MHD_Result svc_qa_marks(req *r, const char *data, size_t *size)
{
    if (*size) {
        if (r->upload_len + *size > MARKS_MAX_BODY) {
            r->upload_too_large = 1;
            *size = 0;
            return MHD_YES;
        }
        return svc_body_piece(r, data, size);
    }
    if (r->upload_too_large && !r->multipart) {
        svc_answer_error(r, 413, "too_large", "the body is over %d KiB", MARKS_MAX_BODY >> 10);
        return svc_send(r);
    }
    if (svc_body_done(r))
        return svc_send(r);
    json_error_t je;
    json_t *b = r->multipart || !r->upload_len
                    ? NULL
                    : json_loadb(r->upload, r->upload_len, JSON_REJECT_DUPLICATES, &je);
    json_t *call = json_object_get(b, "call"), *mark = json_object_get(b, "mark"),
           *at = json_object_get(b, "at");
    const char *bad = NULL;
    const char *k;
    json_t *v;
    if (!json_is_object(b))
        bad = "send a JSON object: {\"call\": the dialer's uniqueid or recording id, \"mark\": "
              "\"pause\" or \"resume\", \"at\": UTC seconds (optional)}";
    else
        json_object_foreach(b, k, v) if (strcmp(k, "call") && strcmp(k, "mark") && strcmp(k, "at"))
            bad = "unknown field (call, mark, at)";
    if (!bad &&
        (!json_is_string(call) || !json_string_length(call) || json_string_length(call) > 64 ||
         strlen(json_string_value(call)) != json_string_length(call)))
        bad = "call must be the dialer's id of the call: a string of 1 to 64 bytes";
    if (!bad && (!json_is_string(mark) || (strcmp(json_string_value(mark), "pause") &&
                                           strcmp(json_string_value(mark), "resume"))))
        bad = "mark must be \"pause\" or \"resume\"";
    double now = cq_clock_wall_sec(), ts = now;
    if (!bad && at && !json_is_null(at)) {
        ts = json_number_value(at);
        if (!json_is_number(at) || !(ts > now - 86400 * 7) || !(ts < now + 300))
            bad = "at must be a time in UTC seconds within the last 7 days (and not ahead)";
    }
    if (bad) {
        json_decref(b);
        svc_answer_error(r, 400, "bad_mark", "%s", bad);
        return svc_send(r);
    }
    /* who sent it: the user (the shared token "token", no auth "-") and their address; the
     * sender's scope goes with the mark, and the worker applies it only to a call the scope
     * holds (worker.c) */
    char addr[64], key[80], scope[ACC_MAX_CAMPAIGNS * (ACC_NAME_MAX + 10)];
    svc_guard_client(r->s->cfg, r->conn, addr, sizeof(addr));
    const char *ref = json_string_value(call);
    bool pause = !strcmp(json_string_value(mark), "pause");
    snprintf(r->audit_target, sizeof(r->audit_target), "%s", ref);
    if (r->who.user_id > 0)
        snprintf(key, sizeof(key), "u:%s", r->who.name);
    else
        snprintf(key, sizeof(key), "a:%s", addr[0] ? addr : "-");
    double wait = marks_take(key, r->s->cfg->marks_per_minute);
    if (wait > 0) {
        json_decref(b);
        svc_answer_error(r, 429, "too_many_marks",
                         "more than %d marks a minute from one sender: try again in %.0f s",
                         r->s->cfg->marks_per_minute, wait + 0.5);
        return svc_send(r);
    }
    /* a stored call outside the sender's scope is refused; one not stored yet is kept with the
     * sender's scope, and checked when it is */
    int allowed = svc_access_call_allowed(r, ref);
    if (allowed < 0) {
        json_decref(b);
        return svc_qa_store_failed(r);
    }
    if (allowed == 0) {
        json_decref(b);
        svc_answer_error(r, 403, "out_of_scope", "that call is not one of yours to mark");
        return svc_send(r);
    }
    scope_text(&r->who.scope, scope, sizeof(scope));
    if (store_mark_add(r->s->store, ref, pause, ts, now, r->who.name[0] ? r->who.name : "-",
                       addr[0] ? addr : NULL, scope[0] ? scope : NULL) != 0) {
        json_decref(b);
        return svc_qa_store_failed(r);
    }
    json_t *o = json_object();
    json_object_set(o, "call", call);
    json_object_set_new(o, "mark", json_string(pause ? "pause" : "resume"));
    json_object_set_new(o, "at", json_real(ts));
    json_decref(b);
    return svc_qa_send(r, 201, o);
}
