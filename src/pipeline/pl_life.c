/*
 * pl_life.c - one call's life, run once: the one function (pl__life_run) that takes a call from
 * its source to its score, whoever brought it. A request is a call with some steps turned off,
 * not a second path. The steps, in the order they run:
 *
 *   fetch       a stored call's audio in the worker's child (pl__call_audio_open), or a
 *               request's recording, fetched or uploaded (pl__fetch)            (always)
 *   analyse     the engine in this process, its report kept for the steps beside it (the
 *               worker's child), or a request's in a child of the analysis host (analyser.c)
 *                                                                               (always)
 *   network     a capture beside the recording, or the HEP collector's: `network` (network.c)
 *   live        `callqa live`'s events beside the recording: `live`             (live_kept.c)
 *   transcribe  the speech the analysis kept sent to the ASR (redacted here, before it leaves
 *               the process), or the call's imported transcript checked against the analysis
 *   redact      the call's campaign's plan: the report's keyed digits, the audio copy and its
 *               verification, an uploaded capture deleted: `redaction`             (redact.c)
 *   mask        a report of no campaign (a request's): every campaign's types      (redact.c)
 *   roles       a diarized mix's speakers named, the transcript's labels by them; the agent
 *               leg's voice print taken for its profile                             (roles.c)
 *   score       the card, the LLM                                                  (scored.c)
 *   store       a request's result row (the worker's parent stores its call's under the lease,
 *               worker.c, with the transcript and the score)
 *
 * The report is parsed once, when a step first needs it as an object, handed from step to step
 * as that object (the imported transcript's check, the roles, the score and its summary read
 * it, none parses the text again), and rendered once, after the last step that changes it:
 * what is answered and stored is that one text (the engine's own when no step changed it).
 * docs/ARCHITECTURE.md, section 8a, lists every caller and the steps it turns on.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_int.h"
#include "../store/store_calls.h"

/* The call's recording, as either source opened it. */
typedef struct life_src {
    pl__call_audio au; /* a stored call's */
    pl__fetched fe;    /* a request's */
    bool have_au, have_fe;
    const cq_call_src *src;
} life_src;

/* The report: the engine's text, parsed once into obj when a step needs it. */
typedef struct life_report {
    char *text;   /* as the analysis wrote it (malloc'd) */
    json_t *obj;  /* parsed from text, or NULL (not yet, or it could not be) */
    bool parsed;  /* obj was tried */
    bool changed; /* a step changed obj: rendered again */
    bool lost;    /* a step failed half-way (memory): nothing of it is kept */
} life_report;

static json_t *obj_of(life_report *r)
{
    if (!r->parsed) {
        r->parsed = true;
        r->obj = json_loads(r->text, 0, NULL);
        if (!json_is_object(r->obj)) {
            json_decref(r->obj);
            r->obj = NULL;
        }
    }
    return r->obj;
}

/* obj's `key` set to v (taken); a report that is not JSON keeps as it was. */
static void set_key(life_report *r, const char *key, json_t *v)
{
    json_t *o = obj_of(r);
    if (!o) {
        json_decref(v);
        return;
    }
    json_object_set_new(o, key, v);
    r->changed = true;
}

/* ---- fetch, analyse ------------------------------------------------------------------------ */

static int fetch(const pl__life *l, life_src *s, pl__life_out *o)
{
    if (l->call) {
        o->outcome = pl__call_audio_open(&s->au, l->c, l->recordings_dir, l->roots, l->call, o->msg,
                                         sizeof(o->msg));
        if (o->outcome != PL__OUT_DONE)
            return -1;
        s->have_au = true;
        s->src = &s->au.src;
        return 0;
    }
    double tf = cq_clock_mono_sec();
    int frc = pl__fetch(l->c, l->src, &s->fe, &o->res.err);
    if (l->src->kind == PL_SOURCE_SERVER)
        pl__analyser_stage(l->an, "fetch", cq_clock_mono_sec() - tf);
    if (frc != 0) {
        o->res.end = PL_END_FETCH;
        return -1;
    }
    s->have_fe = true;
    s->src = &s->fe.src;
    return 0;
}

/* Every failure message of a stored call starts with its class ("missing: ", "unreadable: ",
 * ...): the metrics count errors by it (docs/pipeline.md). */
static const char *failure_class(int rc)
{
    switch (rc) {
    case CQ_ERR_EMPTY: return "no audio";
    case CQ_ERR_FORMAT:
    case CQ_ERR_UNSUPPORTED: return "unreadable";
    case CQ_ERR_TOO_LARGE: return "too long";
    case CQ_ERR_NOT_FOUND: return "missing";
    case CQ_ERR_IO: return "io";
    case CQ_ERR_NOMEM: return "memory";
    default: return "other";
    }
}

/* The analysis: a request's on the analyser's slot; a stored call's here, *rep kept, its figures
 * taken, a call under min_length_sec skipped. 0 with *text (malloc'd), or -1 with o's ending. */
static int analyse(const pl__life *l, life_src *s, cq_report **rep, char **text, pl__life_out *o)
{
    if (l->an)
        return pl__analyser_analyse(l->an, l->slot, s->src, text, &o->res);
    cq_err err;
    cq_err_clear(&err);
    int rc = cq_engine_analyze(l->e, s->src, rep, &err);
    if (rc != CQ_OK) {
        if (s->have_au)
            pl__call_audio_name_error(&s->au, &err); /* the file, not the fd it was read by */
        o->outcome = rc == CQ_ERR_EMPTY                      ? PL__OUT_SKIP
                     : rc == CQ_ERR_NOMEM || rc == CQ_ERR_IO ? PL__OUT_RETRY
                                                             : PL__OUT_FAIL;
        snprintf(o->msg, sizeof(o->msg), "%s: %s", failure_class(rc), err.msg);
        return -1;
    }
    pl_figures_of(*rep, &o->f);
    o->has_f = true;
    if (l->min_length_sec > 0 && (*rep)->duration_sec < l->min_length_sec) {
        snprintf(o->msg, sizeof(o->msg), "too short: %.1f s, under %.0f s", (*rep)->duration_sec,
                 l->min_length_sec);
        o->outcome = PL__OUT_SKIP;
        return -1;
    }
    char *t = cq_report_to_json(*rep);
    *text = t ? strdup(t) : NULL; /* the library's allocation goes back to the library */
    cq_report_free_string(t);
    if (!*text) {
        o->outcome = PL__OUT_RETRY;
        snprintf(o->msg, sizeof(o->msg), "out of memory");
        return -1;
    }
    return 0;
}

/* ---- beside it, transcribe ----------------------------------------------------------------- */

/* A capture beside a local recording, or the call's in the HEP collector's folder; the live
 * events beside a recording of `callqa live` (masked as the plan says). The capture's return
 * (1 found, 0 none, -1 unreadable). */
static int beside(const pl__life *l, const life_src *s, const cq_report *rep,
                  const pl_redact_plan *rp, life_report *r, pl__life_out *o)
{
    const char *rec_path = s->au.rec_path; /* the call's own names (on disk only) */
    char why[700];
    int nrc = 0;
    if (l->steps & PL_STEP_NETWORK) {
        json_t *net = NULL;
        nrc = pl_network_of(l->roots, s->au.fetched ? NULL : rec_path, l->c->hep_dir, l->call, rep,
                            &o->f, &net, o->hep_file, sizeof(o->hep_file), why, sizeof(why));
        if (nrc != 0)
            set_key(r, nrc > 0 ? "network" : "network_error", nrc > 0 ? net : json_string(why));
        if (nrc <= 0)
            o->hep_file[0] = 0;
    }
    if ((l->steps & PL_STEP_LIVE) && !s->au.fetched) {
        json_t *live = NULL;
        int lrc = pl_live_of(l->roots, rec_path, rep, rp->on, &live, why, sizeof(why));
        if (lrc != 0)
            set_key(r, lrc > 0 ? "live" : "live_error", lrc > 0 ? live : json_string(why));
    }
    return nrc;
}

/* A text, or null when it is empty. */
static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* A stored call's route (the report's `route`, docs/routes.md): what the dialer (or a route
 * pattern) said of it, and what a capture matched to it said (the figures network.c set). */
static json_t *route_json(const store_call *c, const store_figures *f)
{
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "carrier", str_or_null(c->carrier), "server",
        str_or_null(c->server_ip), "campaign", str_or_null(c->campaign_id), "did",
        str_or_null(c->did), "trunk", str_or_null(f->has_sip ? f->sip_trunk : NULL), "user_agent",
        str_or_null(f->has_sip ? f->sip_user_agent : NULL), "codec",
        str_or_null(f->has_sip ? f->sip_codec : NULL), "pdd_ms",
        f->has_sip && isfinite(f->sip_pdd_ms) ? json_real(f->sip_pdd_ms) : json_null());
}

/* A stored call's redaction plan: its campaign's types, its pause marks placed on the
 * recording's clock (the settings were checked at start). */
static void plan_of(const pl__life *l, pl_redact_plan *rp)
{
    const store_call *call = l->call;
    if (!(l->steps & PL_STEP_REDACT) || pl_redact_plan_of(l->c, call->campaign_id, rp) != 0)
        memset(rp, 0, sizeof(*rp));
    if (l->n_marks < 0)
        rp->marks_unplaced = "the call's pause marks could not be read from the store";
    else if (l->n_marks > PL_MAX_MARKS) /* each pause is kept, or the check fails */
        rp->marks_unplaced = "the call has more pause marks than can be placed (32)";
    else if (l->n_marks > 0 && !(call->call_epoch > 0))
        rp->marks_unplaced = "the call has pause marks but no start time to place them by";
    for (int k = 0; k < l->n_marks && !rp->marks_unplaced; k++) {
        rp->mark_sec[rp->n_marks] = l->marks[k].ts - call->call_epoch;
        rp->mark_pause[rp->n_marks++] = l->marks[k].pause;
    }
}

/* The call's speech to the ASR server: the transcript block, or NULL with why. With a redaction
 * plan (rp on), the transcript is redacted before it is turned into the block: *t keeps it (for
 * the verification; *have_t set, the caller frees it) and *tr its spans. */
static char *transcribe(const asr_config *base, const char *campaign, const cq_report *rep,
                        const pl_redact_plan *rp, tx_transcript *t, bool *have_t, pv_redaction *tr,
                        char *why, size_t n)
{
    *have_t = false;
    asr_config one = *base;
    char code[3];
    if (asr_campaign_language(base->campaign_languages, campaign, code) == 1)
        snprintf(one.language, sizeof(one.language), "%s", code); /* the campaign's */
    const asr_config *ac = &one;
    asr_client *a = asr_create(ac, why, n);
    if (!a)
        return NULL;
    char *js = NULL;
    if (tx_transcript_init(t, rep, &ac->plan) != 0) {
        snprintf(why, n, "out of memory");
    } else if (asr_transcribe(a, rep, t, why, n) == 0) {
        if (rp->on && pv_redact_transcript(t, &rp->pv, tr) != 0)
            snprintf(why, n, "out of memory (redacting the transcript)");
        else if (!(js = tx_to_json(t)))
            snprintf(why, n, "out of memory");
    }
    if (js && rp->on)
        *have_t = true;
    else
        tx_transcript_free(t);
    asr_destroy(a);
    return js;
}

/* A transcript imported before the call was analysed, read back and checked against the report
 * (the one object: the speech it reads is the engine's, which no step before it changes):
 * PL__TX_OK with *out its block (malloc'd), PL__TX_NONE when it holds no segment, PL__TX_FAILED
 * with why. */
static int32_t imported(const char *block, const json_t *report, char **out, char *why, size_t n)
{
    tx_transcript t;
    char err[400];
    *out = NULL;
    int rc = tx_import_stored(block, report, &t, err, sizeof(err));
    if (rc > 0)
        return PL__TX_NONE;
    if (rc < 0) {
        snprintf(why, n, "the imported transcript: %s", err);
        return PL__TX_FAILED;
    }
    *out = tx_to_json(&t);
    tx_transcript_free(&t);
    if (!*out)
        snprintf(why, n, "out of memory");
    return *out ? PL__TX_OK : PL__TX_FAILED;
}

/* ---- redact, mask -------------------------------------------------------------------------- */

/* The report's keyed digits masked and its `redaction` object (the audio copy written and
 * verified: pl_redact_call), f's redaction state set; an uploaded capture beside the recording
 * (nrc: the capture step's return) deleted, for its RTP holds the call's audio. */
static void redact(const pl__life *l, const life_src *s, const cq_report *rep,
                   const pl_redact_plan *rp, const tx_transcript *t, const pv_redaction *tr,
                   int nrc, life_report *r, pl__life_out *o)
{
    json_t *obj = obj_of(r);
    size_t masked = 0;
    r->changed = true;
    if (!obj || pl_mask_report(l->c, rp, obj, &masked) < 0) {
        r->lost = true;
        return;
    }
    pl_redact_result res;
    json_t *ro = pl_redact_call(rp, l->c, l->db, l->call->id, s->src, rep, t, tr, masked, &res);
    if (!ro) {
        r->lost = true;
        return;
    }
    json_object_set_new(obj, "redaction", ro);
    snprintf(o->f.redaction, sizeof(o->f.redaction), "%s", res.state);
    snprintf(o->f.redacted_audio, sizeof(o->f.redacted_audio), "%s", res.audio);
    char cwhy[300];
    int cap = nrc > 0 ? pl_redact_capture(l->c, s->au.rec_path, cwhy, sizeof(cwhy)) : 0;
    if (cap != 0) {
        json_object_set_new(ro, "capture",
                            json_string(cap > 0 ? "deleted: an uploaded capture holds "
                                                  "the call's audio"
                                                : cwhy));
        if (cap < 0) /* kept unredacted: the check fails */
            snprintf(o->f.redaction, sizeof(o->f.redaction), "failed");
    }
}

/* A report of no campaign masked as every report is (every campaign's types), when any is on. */
static void mask(const pl__life *l, life_report *r)
{
    if (!pl_redact_any(l->c))
        return;
    json_t *obj = obj_of(r);
    r->changed = true;
    if (!obj || pl_mask_report(l->c, NULL, obj, NULL) < 0)
        r->lost = true;
}

/* ---- roles --------------------------------------------------------------------------------- */

/* The roles of a diarized mix's two speakers (the report's `roles`, the transcript's S1/S2
 * named by them: o->tx_text replaced), and on a campaign with voice profiles the agent leg's
 * print taken out for the parent (o->print) and every print out of the report (unless the
 * voiceprints setting asks for them in it). */
static void roles(const pl__life *l, life_report *r, pl__life_out *o)
{
    json_t *obj = obj_of(r);
    if (!obj)
        return;
    json_t *t = o->tx_text ? json_loads(o->tx_text, 0, NULL) : NULL;
    if (t && !json_is_object(t)) {
        json_decref(t);
        t = NULL;
    }
    sc_roles sr;
    int rc = pl_roles_of_call(obj, t, l->call, l->prof, &sr);
    if (rc == 1)
        r->changed = true;
    if (rc == 1 && t) {
        char *nt = json_dumps(t, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (nt) {
            free(o->tx_text);
            o->tx_text = nt;
        }
    }
    json_decref(t);
    if (!l->profiles)
        return;
    double v[STORE_VP_MAX_DIM], sp = 0;
    int dim = 0;
    bool strip = !l->c->analysis.voiceprints;
    if (pl_voiceprint_take(obj, strip, v, &dim, &sp) == 1 && sp >= PL_PROFILE_MIN_SPEECH_SEC &&
        l->call->agent_user[0]) {
        json_t *a = json_array();
        for (int i = 0; i < dim; i++)
            json_array_append_new(a, json_real(v[i]));
        json_t *p = json_pack("{s:o,s:f}", "v", a, "speech_sec", sp);
        o->print = p ? json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(8)) : NULL;
        json_decref(p);
    }
    if (strip)
        r->changed = true;
}

/* ---- store --------------------------------------------------------------------------------- */

/* A request's report as a result row of (server name or "upload", file, identity, engine). */
static void store_row(const pl__life *l, const life_src *s, pl__life_out *o)
{
    const pl__fetched *f = &s->fe;
    store_result row = {0};
    snprintf(row.server, sizeof(row.server), "%s", f->server);
    snprintf(row.file, sizeof(row.file), "%s", l->src->file);
    snprintf(row.identity, sizeof(row.identity), "%s", f->identity);
    snprintf(row.engine, sizeof(row.engine), "%s", pl_analyser_id(l->an));
    snprintf(row.source, sizeof(row.source), "%s", f->what);
    snprintf(row.validators, sizeof(row.validators), "%s", f->validators);
    row.created = row.checked = cq_clock_wall_sec();
    row.report = o->res.report;
    double ts = cq_clock_mono_sec();
    o->res.put = store_result_put(l->st, &row, &o->res.id);
    pl__analyser_stage(l->an, "store", cq_clock_mono_sec() - ts);
}

/* ---- the life ------------------------------------------------------------------------------ */

/* The steps after the analysis, over the one report r (r->text taken): 0 with o->res.report,
 * or -1 (out of memory: nothing of the report is kept). */
static int steps(const pl__life *l, const life_src *s, const cq_report *rep, life_report *r,
                 pl__life_out *o)
{
    pl_redact_plan rp;
    memset(&rp, 0, sizeof(rp));
    if (l->call)
        plan_of(l, &rp);
    int nrc = l->call ? beside(l, s, rep, &rp, r, o) : 0;
    if (l->call)
        set_key(r, "route", route_json(l->call, &o->f));
    tx_transcript t;
    bool have_t = false;
    pv_redaction tr;
    memset(&tr, 0, sizeof(tr));
    if ((l->steps & PL_STEP_TRANSCRIBE) && l->imported) { /* checked against this analysis */
        o->tx = imported(l->imported, obj_of(r), &o->tx_text, o->tx_why, sizeof(o->tx_why));
    } else if ((l->steps & PL_STEP_TRANSCRIBE) && l->asr) {
        o->tx_text = transcribe(l->asr, l->call->campaign_id, rep, &rp, &t, &have_t, &tr, o->tx_why,
                                sizeof(o->tx_why));
        o->tx = o->tx_text ? PL__TX_OK : PL__TX_FAILED;
    }
    if ((l->steps & PL_STEP_REDACT) && rp.on) /* before anything of it leaves this process */
        redact(l, s, rep, &rp, have_t ? &t : NULL, &tr, nrc, r, o);
    if (l->steps & PL_STEP_MASK)
        mask(l, r);
    pv_redaction_free(&tr);
    if (have_t)
        tx_transcript_free(&t);
    /* the roles of a diarized mix, before scoring reads the transcript's speakers */
    if ((l->steps & PL_STEP_ROLES) && !r->lost)
        roles(l, r, o);
    /* scored when the transcription (if any) did not fail, from the one object */
    bool score = (l->steps & PL_STEP_SCORE) && l->scoring && o->tx != PL__TX_FAILED;
    const json_t *obj = score && !r->lost ? obj_of(r) : NULL;
    /* rendered once: what is answered and stored */
    if (!r->lost && !r->changed) {
        o->res.report = r->text;
        r->text = NULL;
    } else if (!r->lost) {
        o->res.report = json_dumps(r->obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    }
    if (!o->res.report)
        return -1;
    if (score) {
        o->score = pl_score_call(l->scoring, obj, o->tx_text, l->budget, &o->attempts, o->sc_why,
                                 sizeof(o->sc_why));
        o->sc = o->score ? PL__TX_OK : PL__TX_FAILED;
    }
    if (l->steps & PL_STEP_STORE)
        store_row(l, s, o);
    return 0;
}

int pl__life_run(const pl__life *l, pl__life_out *o)
{
    memset(o, 0, sizeof(*o));
    cq_err_clear(&o->res.err);
    life_src s;
    memset(&s, 0, sizeof(s));
    cq_report *rep = NULL;
    life_report r = {0};
    int rc = fetch(l, &s, o);
    if (rc == 0)
        rc = analyse(l, &s, &rep, &r.text, o);
    if (rc == 0) {
        o->res.bytes = strlen(r.text);
        rc = steps(l, &s, rep, &r, o);
        if (rc != 0) {
            o->outcome = PL__OUT_RETRY;
            snprintf(o->msg, sizeof(o->msg), "out of memory");
            o->res.end = PL_END_INTERNAL;
            cq_err_set(&o->res.err, CQ_ERR_NOMEM, "out of memory");
        }
    }
    free(r.text);
    json_decref(r.obj);
    if (s.have_fe)
        pl__fetched_free(&s.fe);
    if (s.have_au)
        pl__call_audio_close(&s.au);
    cq_report_destroy(rep);
    return rc;
}

void pl__life_out_free(pl__life_out *o)
{
    pl_result_free(&o->res);
    free(o->tx_text);
    free(o->score);
    free(o->attempts);
    free(o->print);
    o->tx_text = o->score = o->attempts = o->print = NULL;
}
