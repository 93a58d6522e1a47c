/*
 * stage_dnsmos.c - the `dnsmos` stage: DNSMOS P.835 (SIG, BAK, OVRL) and P.808 MOS of each leg, on
 * the leg at 16 kHz, and the call's `mos{}`: the legs' MOS with the model that gave it.
 *
 * The leg at 16 kHz: in windowed mode the engine's libsoxr stream; in reference mode the leg at
 * its own rate, converted when it ends by SoX's own `rate` effect (cq_resample_sox: libsox,
 * loaded then), as the published goldens were made with the `sox` program. Without libsox a
 * leg not at 16 kHz gets no reference-mode scores and a note naming the package (no libsoxr
 * fallback: its scores would not be the reference's).
 *
 * Whether it runs is the setting mos_model's: `auto` runs it only when NISQA does not (NISQA not
 * selected or not installed), `dnsmos` and `both` always, `nisqa` never. The leg is held at
 * 16 kHz (bounded by dnsmos_max_file_sec) and scored when it ends, in one of two modes
 * (cq_dnsmos.h): `windowed` scores each part of the leg once and weights the windows by the
 * seconds of VAD speech in their parts, as NISQA's windowed mode does (windows without speech
 * do not count, and are not computed: listed with null scores, `no_speech`; a leg without
 * speech, or without the VAD, gets the plain mean of every window and says so);
 * `reference` reproduces the published script (windows every second, plain mean).
 */
#include <math.h>
#include <string.h>

#include "stage.h"

/* The files' provenance: microsoft/DNS-Challenge at this commit, folder DNSMOS/DNSMOS/. */
#define DNSMOS_MODEL "DNSMOS P.835 + P.808"
#define DNSMOS_LICENCE "CC BY 4.0"
#define DNSMOS_COMMIT "591184a9fcb2cbdec02520fed81a32bbbf9d73ff"

typedef struct dnsmos_state {
    const cq_dnsmos_model *m;
    cq_dnsmos_mode mode;
    int threads;
    int rate_hz; /* of the samples pushed: 16 kHz, or the leg's own rate in reference mode */
    float *x;    /* the leg at rate_hz (at 16 kHz once finish converted it) */
    size_t n, cap, max;
    int status; /* CQ_ERR_TOO_LARGE past the limit, CQ_ERR_NOMEM */
} dnsmos_state;

static bool wanted(const cq_engine *e)
{
    switch (e->p.mos_model) {
    case CQ_MOS_NISQA: return false;
    case CQ_MOS_AUTO: return e->nisqa == NULL; /* the nisqa stage loads first (table order) */
    default: return true;
    }
}

static const cq__stage_model dnsmos_model = {
    .kind = CQ__MODEL_DNSMOS,
    .name = "DNSMOS",
    .no_dir = "no model directory given: DNSMOS scores are null",
    .without = "its scores are null",
    .install = "; scripts/fetch-models installs it (models/README.md)",
    .names_missing = true, /* a folder of two files: the loader's message names the missing */
};

static int dnsmos_load(cq_engine *e)
{
    if (!wanted(e))
        return cq__note(
            &e->dnsmos_status,
            e->p.mos_model == CQ_MOS_NISQA
                ? "mos_model is nisqa: DNSMOS not run"
                : "mos_model is auto and NISQA is installed: NISQA gives the MOS, DNSMOS not run");
    return cq__stage_model_load(e, &dnsmos_model, "dnsmos");
}

static bool dnsmos_idle(const cq_engine *e)
{
    return e->dnsmos == NULL; /* not wanted or not installed: no 16 kHz stream for it */
}

static void dnsmos_destroy(void *st)
{
    dnsmos_state *d = st;
    if (!d)
        return;
    cq__free(d->x);
    cq__free(d);
}

static int dnsmos_create(void **st, const cq__stage_ctx *c)
{
    *st = NULL;
    if (!c->engine->dnsmos) /* not run: no state, the report says why */
        return CQ_OK;
    dnsmos_state *d = cq__calloc(1, sizeof(*d));
    if (!d)
        return CQ_ERR_NOMEM;
    d->m = c->engine->dnsmos;
    d->mode = c->engine->p.dnsmos_mode;
    d->threads = c->engine->p.dnsmos_threads;
    d->rate_hz = c->rate_hz;
    d->max = (size_t)(c->engine->p.dnsmos_max_file_sec * c->rate_hz);
    *st = d;
    return CQ_OK;
}

static int dnsmos_push(void *st, int leg, const float *x, size_t len, cq_report *r)
{
    (void)leg, (void)r;
    dnsmos_state *d = st;
    if (!d || d->status != CQ_OK)
        return CQ_OK;
    if (d->n + len > d->max) {
        d->status = CQ_ERR_TOO_LARGE; /* the leg gets a note; the call goes on */
        cq__free(d->x);
        d->x = NULL;
        return CQ_OK;
    }
    if (cq__grow((void **)&d->x, &d->cap, d->n + len, sizeof(float)) != CQ_OK)
        return CQ_ERR_NOMEM;
    if (d->rate_hz != CQ_DNSMOS_RATE_HZ) { /* reference mode: SoX converts the leg as it is */
        memcpy(d->x + d->n, x, len * sizeof(float));
        d->n += len;
        return CQ_OK;
    }
    /* clipped to full scale, as a 16 kHz file would hold it (the resampler overshoots on
     * clipped audio; SoX, which made the reference's 16 kHz legs, clips its output too) */
    for (size_t i = 0; i < len; i++)
        d->x[d->n + i] = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
    d->n += len;
    return CQ_OK;
}

/* Windowed mode: the clip scores become the windows' mean weighted by the speech in their
 * parts (after the VAD filled the leg's speech). */
static int weigh(cq_leg_report *l)
{
    cq_dnsmos_result *res = &l->dnsmos;
    l->dnsmos_weight_sec = cq__calloc(res->n_windows, sizeof(double));
    if (!l->dnsmos_weight_sec)
        return CQ_ERR_NOMEM;
    double wsum = 0;
    for (size_t i = 0; i < res->n_windows; i++) {
        const cq_dnsmos_window *w = &res->windows[i];
        l->dnsmos_weight_sec[i] = cq__speech_in(l, w->part_start_sec, w->part_end_sec);
        wsum += l->dnsmos_weight_sec[i];
    }
    cq__window_mean m;
    cq__window_mean_start(&m, wsum);
    l->dnsmos_uniform = m.uniform;
    for (size_t i = 0; i < res->n_windows; i++) {
        const cq_dnsmos_window *w = &res->windows[i];
        if (!w->scored) /* no speech in its part: weight 0, not computed */
            continue;
        const double v[] = {w->sig, w->bak, w->ovrl, w->p808, w->sig_raw, w->bak_raw, w->ovrl_raw};
        cq__window_mean_add(&m, l->dnsmos_weight_sec[i], v, 7);
    }
    res->sig = cq__window_mean_of(&m, 0), res->bak = cq__window_mean_of(&m, 1);
    res->ovrl = cq__window_mean_of(&m, 2), res->p808_mos = cq__window_mean_of(&m, 3);
    res->sig_raw = cq__window_mean_of(&m, 4), res->bak_raw = cq__window_mean_of(&m, 5);
    res->ovrl_raw = cq__window_mean_of(&m, 6);
    return CQ_OK;
}

/* Windowed mode: the windows whose part holds no VAD speech (their weight is 0, so they change
 * no leg score) are not computed; when no window holds speech every window is (the leg's
 * scores are then the plain mean). *skip NULL: none skipped. */
static int no_speech_windows(size_t n, const cq_leg_report *l, unsigned char **skip)
{
    *skip = NULL;
    cq_dnsmos_result plan;
    int rc = cq_dnsmos_plan(n, CQ_DNSMOS_WINDOWED, &plan);
    if (rc != CQ_OK)
        return rc == CQ_ERR_NOMEM ? rc : CQ_OK; /* an empty leg: scoring says so */
    unsigned char *k = cq__calloc(plan.n_windows ? plan.n_windows : 1, 1);
    if (!k) {
        cq_dnsmos_result_free(&plan);
        return CQ_ERR_NOMEM;
    }
    size_t speech = 0;
    for (size_t i = 0; i < plan.n_windows; i++) {
        const cq_dnsmos_window *w = &plan.windows[i];
        k[i] = !(cq__speech_in(l, w->part_start_sec, w->part_end_sec) > 0);
        speech += !k[i];
    }
    cq_dnsmos_result_free(&plan);
    if (speech == 0) { /* no speech at all (or no VAD): every window, as before */
        cq__free(k);
        return CQ_OK;
    }
    *skip = k;
    return CQ_OK;
}

/* Reference mode, a leg not at 16 kHz: converted by SoX's `rate` (its output is within full
 * scale: SoX's float output clips). A note, and no scores, when libsox is missing. */
static int to_16k(dnsmos_state *d, cq_leg_report *l)
{
    float *y = NULL;
    size_t ny = 0;
    cq_err err = {0};
    int rc = cq_resample_sox(d->x, d->n, d->rate_hz, CQ_DNSMOS_RATE_HZ, &y, &ny, &err);
    cq__free(d->x);
    d->x = NULL, d->n = d->cap = 0;
    if (rc == CQ_ERR_NOMEM)
        return rc;
    if (rc != CQ_OK) {
        cq__log(CQ_LOG_ERROR, "DNSMOS reference mode: %s", err.msg);
        l->dnsmos_note = cq__printf("no DNSMOS scores: reference mode resamples this %d Hz leg "
                                    "with SoX's rate effect, and %s",
                                    d->rate_hz, err.msg);
        return l->dnsmos_note ? CQ_OK : CQ_ERR_NOMEM;
    }
    if (ny == 0) {
        cq_resample_sox_free(y);
        return cq__note(&l->dnsmos_note, "empty leg: no DNSMOS scores");
    }
    for (size_t i = 0; i < ny; i++)
        y[i] = y[i] > 1.0f ? 1.0f : y[i] < -1.0f ? -1.0f : y[i];
    d->x = y, d->n = d->cap = ny; /* the library's allocator: freed with cq__free as before */
    return CQ_OK;
}

static int dnsmos_finish(void *st, int leg, cq_report *r)
{
    dnsmos_state *d = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    if (!d)
        return CQ_OK;
    if (d->status == CQ_ERR_TOO_LARGE)
        return cq__note(&l->dnsmos_note, "leg longer than dnsmos_max_file_sec: no DNSMOS scores");
    if (d->n == 0)
        return cq__note(&l->dnsmos_note, "empty leg: no DNSMOS scores");
    if (d->rate_hz != CQ_DNSMOS_RATE_HZ) {
        int rc = to_16k(d, l);
        if (rc != CQ_OK || l->dnsmos_note)
            return rc;
    }
    unsigned char *skip = NULL;
    if (d->mode == CQ_DNSMOS_WINDOWED && no_speech_windows(d->n, l, &skip) != CQ_OK)
        return CQ_ERR_NOMEM;
    int rc = cq_dnsmos_score_some(d->m, d->x, d->n, d->mode, d->threads, skip, 0, &l->dnsmos);
    cq__free(skip);
    cq__free(d->x); /* the leg's samples are no longer needed */
    d->x = NULL;
    if (rc == CQ_ERR_NOMEM)
        return rc;
    if (rc != CQ_OK)
        return cq__stage_model_leg_note(&l->dnsmos_note, &dnsmos_model, rc, NULL);
    l->has_dnsmos = true;
    return d->mode == CQ_DNSMOS_WINDOWED ? weigh(l) : CQ_OK;
}

static void dnsmos_free_leg(cq_leg_report *l)
{
    cq_dnsmos_result_free(&l->dnsmos);
    cq__free(l->dnsmos_weight_sec);
    cq__free(l->dnsmos_note);
}

static const char *mode_name(cq_dnsmos_mode m)
{
    return m == CQ_DNSMOS_REFERENCE ? "reference" : "windowed";
}

static const char *mos_model_name(cq_mos_model m)
{
    static const char *const k[] = {"auto", "dnsmos", "nisqa", "both"};
    return m >= CQ_MOS_AUTO && m <= CQ_MOS_BOTH ? k[m] : "auto";
}

/* model, licence, version: the provenance of the scores */
static void provenance_into(const cq_report *r, json_t *o)
{
    json_object_set_new(o, "model", json_string(DNSMOS_MODEL));
    json_object_set_new(o, "licence", json_string(DNSMOS_LICENCE));
    json_t *v = json_object();
    json_object_set_new(v, "dns_challenge_commit", json_string(DNSMOS_COMMIT));
    json_object_set_new(v, "sig_bak_ovr_sha256", json_string(r->dnsmos_sha256[0]));
    json_object_set_new(v, "model_v8_sha256", json_string(r->dnsmos_sha256[1]));
    json_object_set_new(o, "version", v);
}

static json_t *leg_scores_json(const cq_report *r, const cq_leg_report *l)
{
    if (!l->has_dnsmos)
        return json_null();
    const cq_dnsmos_result *d = &l->dnsmos;
    json_t *o = json_object();
    json_object_set_new(o, "sig", cq__jnum(d->sig, 4));
    json_object_set_new(o, "bak", cq__jnum(d->bak, 4));
    json_object_set_new(o, "ovrl", cq__jnum(d->ovrl, 4));
    json_object_set_new(o, "p808_mos", cq__jnum(d->p808_mos, 4));
    json_object_set_new(o, "mode", json_string(mode_name(d->mode)));
    /* the arithmetic: float32 throughout; the convolutions by Winograd's F(4x4, 3x3) or by
     * direct sums (docs/dnsmos.md: their difference on every golden leg) */
    json_object_set_new(o, "precision", json_string("float32"));
    json_object_set_new(o, "convolutions", json_string(d->winograd ? "winograd_f4x4" : "direct"));
    json_object_set_new(o, "weighting",
                        json_string(d->mode == CQ_DNSMOS_REFERENCE ? "mean"
                                    : l->dnsmos_uniform            ? "uniform"
                                                                   : "speech"));
    json_object_set_new(o, "num_hops", json_integer(d->num_hops));
    json_object_set_new(o, "skipped_windows", json_integer((json_int_t)d->n_skipped));
    json_t *ws = json_array();
    for (size_t i = 0; i < d->n_windows; i++) {
        const cq_dnsmos_window *w = &d->windows[i];
        json_t *wo = cq__jspan_to(w->start_sec, w->end_sec, 4);
        json_object_set_new(wo, "sig", cq__jnum(w->sig, 4));
        json_object_set_new(wo, "bak", cq__jnum(w->bak, 4));
        json_object_set_new(wo, "ovrl", cq__jnum(w->ovrl, 4));
        json_object_set_new(wo, "p808", cq__jnum(w->p808, 4));
        json_object_set_new(wo, "weight",
                            d->mode == CQ_DNSMOS_REFERENCE || l->dnsmos_uniform
                                ? json_real(1.0)
                                : cq__jnum(l->dnsmos_weight_sec[i], 3));
        json_object_set_new(wo, "null_reason", w->scored ? json_null() : json_string("no_speech"));
        json_array_append_new(ws, wo);
    }
    json_object_set_new(o, "windows", ws);
    provenance_into(r, o);
    return o;
}

static void dnsmos_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)leg;
    json_object_set_new(o, "dnsmos", leg_scores_json(r, l));
    json_object_set_new(o, "dnsmos_note", cq__jstr(l->dnsmos_note));
}

const char *cq_report_mos(const cq_report *r, double mos[2])
{
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    bool nisqa = false, dnsmos = false;
    for (int l = 0; l < 2; l++)
        if (L[l])
            nisqa = nisqa || L[l]->has_nisqa, dnsmos = dnsmos || L[l]->has_dnsmos;
    for (int l = 0; l < 2; l++) {
        mos[l] = NAN;
        if (L[l] && nisqa && L[l]->has_nisqa)
            mos[l] = L[l]->nisqa.mos;
        else if (L[l] && !nisqa && L[l]->has_dnsmos)
            mos[l] = L[l]->dnsmos.ovrl;
    }
    return nisqa ? CQ_MOS_NAME_NISQA : dnsmos ? CQ_MOS_NAME_DNSMOS : NULL;
}

/* mos{model, in, out}: the call's MOS per leg, both legs from one model (cq_report_mos: never a
 * mix; when one leg has NISQA and the other only DNSMOS, the DNSMOS leg's MOS is null). */
static void dnsmos_json_call(const cq_report *r, json_t *o)
{
    double mos[2];
    const char *model = cq_report_mos(r, mos);
    if (!model) {
        json_object_set_new(o, "mos", json_null());
        return;
    }
    json_t *m = json_object();
    json_object_set_new(m, "model", json_string(model));
    json_object_set_new(m, "in", cq__jnum(mos[0], 4));
    json_object_set_new(m, "out", cq__jnum(mos[1], 4));
    json_object_set_new(o, "mos", m);
}

static void dnsmos_json_engine(const cq_report *r, json_t *eng)
{
    json_object_set_new(eng, "mos_model", json_string(mos_model_name(r->mos_model)));
    if (cq__stage_model_json_null(eng, "dnsmos", r->analyzers & CQ_AN_DNSMOS, r->dnsmos_loaded,
                                  r->dnsmos_status))
        return;
    json_object_set_new(eng, "dnsmos_status", json_string("DNSMOS loaded"));
    json_t *n = json_object();
    provenance_into(r, n);
    json_object_set_new(n, "mode", json_string(mode_name(r->dnsmos_mode)));
    json_object_set_new(eng, "dnsmos", n);
}

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    const cq_dnsmos_result *d = &l->dnsmos;
    if (!l->has_dnsmos) {
        snprintf(c[0], CQ__TEXT_CELL, "-");
        snprintf(c[1], CQ__TEXT_CELL, "-");
        return;
    }
    snprintf(c[0], CQ__TEXT_CELL, "%.2f / %.2f", d->ovrl, d->p808_mos);
    snprintf(c[1], CQ__TEXT_CELL, "%.2f / %.2f", d->sig, d->bak);
}

static void dnsmos_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"DNSMOS OVRL / P.808", "DNSMOS SIG / BAK", NULL};
    if (r->dnsmos_loaded) /* else text_section says why there are no scores */
        cq__text_leg_rows(r, t, CQ_AN_DNSMOS, rows, leg_cells);
}

static void dnsmos_text_section(const cq_report *r, cq__sb *b)
{
    if (!cq__stage_model_text(r, &dnsmos_model, b, "  DNSMOS: %s\n"))
        cq__sb_printf(b, "  speech quality: %s, %s mode (model files %s, Microsoft)\n",
                      DNSMOS_MODEL, mode_name(r->dnsmos_mode), DNSMOS_LICENCE);
}

/* reference mode reads the leg at its own rate (SoX converts it at the end), windowed mode the
 * engine's 16 kHz stream */
static cq__stream dnsmos_stream_for(const cq_engine *e)
{
    return e->p.dnsmos_mode == CQ_DNSMOS_REFERENCE ? CQ__STREAM_NATIVE : CQ__STREAM_16K;
}

const cq__stage cq__stage_dnsmos = {
    .name = "dnsmos",
    .bit = CQ_AN_DNSMOS,
    .uses = CQ_AN_VAD,
    .stream = CQ__STREAM_16K,
    .stream_for = dnsmos_stream_for,
    .model = &dnsmos_model,
    .load = dnsmos_load,
    .idle = dnsmos_idle,
    .create = dnsmos_create,
    .push = dnsmos_push,
    .finish = dnsmos_finish,
    .destroy = dnsmos_destroy,
    .free_leg = dnsmos_free_leg,
    .json_leg = dnsmos_json_leg,
    .json_call = dnsmos_json_call,
    .json_engine = dnsmos_json_engine,
    .text_rows = dnsmos_text_rows,
    .text_section = dnsmos_text_section,
};
