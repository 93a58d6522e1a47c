/*
 * stage_diarize.c - the `diarize` stage: who spoke when on a mono mix (cq_diarize.h), per leg on
 * the shared 8 kHz stream, after the VAD. On a call of two legs each leg is one party already: the
 * stage then runs only to give each leg's voice print, when the engine asks for prints.
 * The report gets the leg's cq_diarization; the call's JSON its `diarization` block and
 * `speakers[]` (docs/report.md).
 */
#include "stage.h"

static int diarize_load(cq_engine *e)
{
    const char *m = e->p.diarization_model;
    if (m && *m && strcmp(m, "none") != 0)
        return CQ_ERR_INVALID; /* no speaker-embedding model is built in (cq_engine.h) */
    e->p.diarization_model = NULL;
    int rc = CQ_OK;
    cq_diarizer *d = cq_diarizer_create(&e->p.diarization, &rc);
    cq_diarizer_destroy(d);
    return d ? CQ_OK : rc;
}

static int diarize_prepare(const cq_engine *e, cq_report *r)
{
    r->voiceprints = e->p.voiceprints;
    return CQ_OK;
}

static int diarize_create(void **st, const cq__stage_ctx *c)
{
    *st = NULL;
    if (c->report->has_legs && !c->engine->p.voiceprints)
        return CQ_OK;
    int rc = CQ_OK;
    *st = cq_diarizer_create(&c->engine->p.diarization, &rc);
    return *st ? CQ_OK : rc;
}

static int diarize_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)leg, (void)r;
    return st ? cq_diarizer_push(st, x, n) : CQ_OK;
}

static int diarize_finish(void *st, int leg, cq_report *r)
{
    if (!st)
        return CQ_OK;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    double(*sp)[2] = NULL;
    if (l->n_speech && !(sp = cq__malloc(l->n_speech * sizeof(*sp))))
        return CQ_ERR_NOMEM;
    for (size_t i = 0; i < l->n_speech; i++) {
        sp[i][0] = (double)l->speech[i].start / l->vad_rate_hz;
        sp[i][1] = (double)l->speech[i].end / l->vad_rate_hz;
    }
    int rc = cq_diarizer_finish(st, (const double(*)[2])sp, l->n_speech, r->has_legs ? 1 : 2,
                                &l->diarization);
    cq__free(sp);
    if (rc == CQ_OK)
        l->has_diarization = true;
    return rc;
}

static void diarize_destroy(void *st)
{
    cq_diarizer_destroy(st);
}

static void diarize_free_leg(cq_leg_report *l)
{
    cq_diarization_free(&l->diarization);
}

static json_t *print_json(const cq_voiceprint *vp)
{
    json_t *a = json_array();
    for (int i = 0; i < CQ_VOICEPRINT_DIM; i++)
        json_array_append_new(a, cq__jnum(vp->v[i], 4));
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string("mfcc16-mean-sd"));
    json_object_set_new(o, "speech_sec", cq__jnum(vp->speech_sec, 2));
    json_object_set_new(o, "v", a);
    return o;
}

/* A leg of two: its print, when asked for. */
static void diarize_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)leg;
    if (r->has_legs && l->has_diarization)
        json_object_set_new(o, "voiceprint", print_json(&l->diarization.speaker[0].print));
}

static void diarize_json_call(const cq_report *r, json_t *o)
{
    const cq_leg_report *m = r->inbound;
    if (r->has_legs || !m || !m->has_diarization) {
        json_object_set_new(o, "diarization", json_null());
        json_object_set_new(o, "speakers", json_null());
        return;
    }
    const cq_diarization *d = &m->diarization;
    json_t *b = json_object();
    json_object_set_new(b, "method", json_string(CQ_DIARIZE_METHOD));
    json_object_set_new(b, "model", json_null());
    json_object_set_new(b, "n_speakers", json_integer(d->n_speakers));
    json_object_set_new(b, "confidence", cq__jnum_or_null(d->n_speakers > 0, d->confidence, 3));
    json_object_set_new(b, "rule", json_string(d->rule));
    json_object_set_new(b, "detail", json_string(d->detail));
    json_object_set_new(b, "delta_bic", cq__jnum(d->delta_bic, 2));
    json_object_set_new(b, "coherence", cq__jnum(d->coherence, 3));
    json_object_set_new(b, "speech_sec", cq__jnum(d->speech_sec, 2));
    json_t *ov = json_object();
    json_object_set_new(ov, "detected", json_boolean(d->overlap_detected));
    json_object_set_new(ov, "note",
                        json_string("overlapped speech is not detected on one channel: each "
                                    "moment of speech is given to one speaker, so overtalk and "
                                    "interruptions are not measured"));
    json_object_set_new(b, "overlap", ov);
    json_object_set_new(o, "diarization", b);
    json_t *sa = json_array();
    for (int s = 0; s < d->n_speakers; s++) {
        const cq_diar_speaker *sp = &d->speaker[s];
        json_t *so = json_object();
        char id[4] = {'S', (char)('1' + s), 0};
        json_object_set_new(so, "id", json_string(id));
        json_object_set_new(so, "talk_sec", cq__jnum(sp->talk_sec, 3));
        json_object_set_new(so, "first_sec", cq__jnum(sp->first_sec, 3));
        json_object_set_new(so, "confidence", cq__jnum(sp->confidence, 3));
        json_t *ga = json_array();
        for (size_t i = 0; i < sp->n_segs; i++) {
            json_t *g = cq__jspan(sp->segs[i].start_sec, sp->segs[i].end_sec);
            json_object_set_new(g, "confidence", cq__jnum(sp->segs[i].confidence, 3));
            json_array_append_new(ga, g);
        }
        json_object_set_new(so, "segments", ga);
        json_object_set_new(so, "voiceprint",
                            r->voiceprints ? print_json(&sp->print) : json_null());
        json_array_append_new(sa, so);
    }
    json_object_set_new(o, "speakers", sa);
}

static void diarize_text_section(const cq_report *r, cq__sb *b)
{
    const cq_leg_report *m = r->inbound;
    if (r->has_legs || !m || !m->has_diarization)
        return;
    const cq_diarization *d = &m->diarization;
    cq__sb_printf(b, "\n  speakers (diarization, %s): %d, confidence %.2f (%s; %s)\n",
                  CQ_DIARIZE_METHOD, d->n_speakers, d->confidence, d->rule, d->detail);
    for (int s = 0; s < d->n_speakers; s++)
        cq__sb_printf(b, "    S%d  talk %.1f s in %zu segments, first at %.1f s, confidence %.2f\n",
                      s + 1, d->speaker[s].talk_sec, d->speaker[s].n_segs, d->speaker[s].first_sec,
                      d->speaker[s].confidence);
}

const cq__stage cq__stage_diarize = {
    .name = "diarize",
    .bit = CQ_AN_DIARIZE,
    .needs = CQ_AN_VAD,
    .stream = CQ__STREAM_8K,
    .load = diarize_load,
    .prepare = diarize_prepare,
    .create = diarize_create,
    .push = diarize_push,
    .finish = diarize_finish,
    .destroy = diarize_destroy,
    .free_leg = diarize_free_leg,
    .json_leg = diarize_json_leg,
    .json_call = diarize_json_call,
    .text_section = diarize_text_section,
};
