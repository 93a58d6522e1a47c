/*
 * nisqa.c - the `nisqa` stage: NISQA v2 speech quality of each leg, at its own rate, over the
 * whole leg (file mode) or over fixed windows weighted by the VAD's speech (windowed mode).
 *
 * Windowed mode cuts the leg into consecutive windows of a fixed length and scores each as a
 * clip of its own, so memory stays constant for any length. A last window shorter than half a
 * window is scored only when it is the leg's only one. The leg's scores are the mean of the
 * windows weighted by the seconds of VAD speech inside each; windows without speech do not
 * count. When no window holds speech (or the VAD did not run) the mean is unweighted and the
 * report says so. The call's scores are the mean of its legs' (the old service's `nisqa`).
 */
#include <string.h>

#include "stage.h"

typedef struct nisqa_state {
    cq_nisqa *s;
    cq_nisqa_mode mode;
    int rate;
    uint64_t win_len;   /* samples per window (windowed) */
    uint64_t pos;       /* samples pushed */
    uint64_t win_start; /* first sample of the current window */
    cq_nisqa_window *w;
    size_t nw, cap;
    int status; /* first error */
} nisqa_state;

static void *open_model(const char *path, cq_err *err)
{
    return cq_nisqa_model_load(path, err);
}

static void close_model(void *m)
{
    cq_nisqa_model_free(m);
}

static const cq__stage_model nisqa_model = {
    .name = "NISQA",
    .open = open_model,
    .close = close_model,
    .no_dir = "no model directory given: NISQA scores are null",
    .without = "quality scores are null",
    .install = ". Its weights are licensed CC BY-NC-SA 4.0 (non-commercial) and are obtained by "
               "the user; see models/README.md",
};

/* Load NISQA's checkpoint when it is installed, or say why its scores will be null. */
static int load(cq_engine *e)
{
    if (e->p.mos_model == CQ_MOS_DNSMOS)
        return cq__note(&e->nisqa_status, "mos_model is dnsmos: NISQA not run");
    void *m;
    int rc = cq__stage_model_load(e, &nisqa_model, "nisqa/nisqa.tar", &m, &e->nisqa_status);
    e->nisqa = m;
    return rc;
}

static void unload(cq_engine *e)
{
    cq__stage_model_unload(&nisqa_model, e->nisqa, &e->nisqa_status);
    e->nisqa = NULL;
}

static int prepare(const cq_engine *e, cq_report *r)
{
    r->nisqa_loaded = e->nisqa != NULL;
    if (e->nisqa) {
        snprintf(r->nisqa_sha256, sizeof(r->nisqa_sha256), "%s", cq_nisqa_model_sha256(e->nisqa));
        return CQ_OK;
    }
    return cq__note(&r->nisqa_status, e->nisqa_status);
}

static void destroy(void *st)
{
    nisqa_state *n = st;
    if (!n)
        return;
    cq_nisqa_destroy(n->s);
    cq__free(n->w);
    cq__free(n);
}

static int create(void **st, const cq__stage_ctx *c)
{
    const cq_engine *e = c->engine;
    if (!e->nisqa) { /* no model: no state, the report says why */
        *st = NULL;
        return CQ_OK;
    }
    nisqa_state *n = cq__calloc(1, sizeof(*n));
    if (!n)
        return CQ_ERR_NOMEM;
    *st = n;
    n->mode = e->p.nisqa_mode;
    n->rate = c->rate_hz;
    n->win_len = (uint64_t)(e->p.nisqa_window_sec * c->rate_hz);
    int err = CQ_OK;
    n->s = cq_nisqa_create(
        e->nisqa, c->rate_hz,
        n->mode == CQ_NISQA_FILE ? e->p.nisqa_max_file_sec : e->p.nisqa_window_sec + 1.0, &err);
    if (!n->s)
        return err;
    cq_nisqa_set_threads(n->s, e->p.nisqa_threads);
    return CQ_OK;
}

static int close_window(nisqa_state *n)
{
    cq_nisqa_scores sc;
    int rc = cq_nisqa_finish(n->s, &sc);
    cq_nisqa_reset(n->s);
    uint64_t start = n->win_start;
    n->win_start = n->pos; /* the next window starts here, scored or not */
    if (rc == CQ_ERR_EMPTY)
        return CQ_OK;
    if (rc != CQ_OK)
        return rc;
    if (cq__grow((void **)&n->w, &n->cap, n->nw + 1, sizeof(*n->w)) != CQ_OK)
        return CQ_ERR_NOMEM;
    cq_nisqa_window *w = &n->w[n->nw++];
    w->start_sec = (double)start / n->rate;
    w->end_sec = (double)n->pos / n->rate;
    w->speech_sec = 0;
    w->scores = sc;
    return CQ_OK;
}

static int push(void *st, int leg, const float *x, size_t len, cq_report *r)
{
    (void)leg, (void)r;
    nisqa_state *n = st;
    if (!n || n->status != CQ_OK)
        return CQ_OK; /* the leg's scores will be null; the call goes on */
    if (n->mode == CQ_NISQA_FILE) {
        n->status = cq_nisqa_push(n->s, x, len);
        n->pos += len;
        return n->status == CQ_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_OK;
    }
    while (len) {
        uint64_t room = n->win_start + n->win_len - n->pos;
        size_t k = len < room ? len : (size_t)room;
        int rc = cq_nisqa_push(n->s, x, k);
        if (rc == CQ_OK) {
            n->pos += k, x += k, len -= k;
            if (n->pos == n->win_start + n->win_len)
                rc = close_window(n);
        }
        if (rc != CQ_OK) {
            n->status = rc;
            return rc == CQ_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_OK;
        }
    }
    return CQ_OK;
}

/* Score what remains and fill the leg (after the VAD filled its speech). A leg too short to
 * score gets a note instead; only allocation failures are errors. */
static int finish(void *st, int leg, cq_report *r)
{
    nisqa_state *n = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    if (!n)
        return CQ_OK;
    if (n->status == CQ_ERR_TOO_LARGE)
        return cq__note(&l->nisqa_note, "leg longer than the file-mode limit; use windowed mode");
    if (n->status != CQ_OK) {
        l->nisqa_note = cq__printf("NISQA failed: %s", cq_strerror(n->status));
        return l->nisqa_note ? CQ_OK : CQ_ERR_NOMEM;
    }
    if (n->mode == CQ_NISQA_FILE) {
        int rc = cq_nisqa_finish(n->s, &l->nisqa);
        if (rc == CQ_OK) {
            l->has_nisqa = true;
            return CQ_OK;
        }
        if (rc != CQ_ERR_EMPTY)
            return rc;
        return cq__note(&l->nisqa_note, "leg too short for NISQA (under 15 frames of 10 ms)");
    }
    /* the last, partial window: scored when it is the only one or at least half a window */
    if (n->pos > n->win_start && (n->nw == 0 || (n->pos - n->win_start) * 2 >= n->win_len)) {
        int rc = close_window(n);
        if (rc != CQ_OK)
            return rc;
    }
    if (n->nw == 0)
        return cq__note(&l->nisqa_note, "leg too short for NISQA (under 15 frames of 10 ms)");
    double wsum = 0;
    for (size_t i = 0; i < n->nw; i++) {
        n->w[i].speech_sec = cq__speech_in(l, n->w[i].start_sec, n->w[i].end_sec);
        wsum += n->w[i].speech_sec;
    }
    l->nisqa_uniform = !(wsum > 0);
    double acc[5] = {0}, tot = 0;
    for (size_t i = 0; i < n->nw; i++) {
        double w = l->nisqa_uniform ? 1.0 : n->w[i].speech_sec;
        const cq_nisqa_scores *s = &n->w[i].scores;
        acc[0] += w * s->mos, acc[1] += w * s->noisiness, acc[2] += w * s->discontinuity;
        acc[3] += w * s->coloration, acc[4] += w * s->loudness;
        tot += w;
        l->nisqa.n_segments += s->n_segments;
    }
    l->nisqa.mos = acc[0] / tot, l->nisqa.noisiness = acc[1] / tot;
    l->nisqa.discontinuity = acc[2] / tot, l->nisqa.coloration = acc[3] / tot;
    l->nisqa.loudness = acc[4] / tot;
    l->has_nisqa = true;
    l->nisqa_windows = n->w; /* moved into the report */
    l->n_nisqa_windows = n->nw;
    n->w = NULL;
    n->nw = n->cap = 0;
    return CQ_OK;
}

/* The call's scores: the mean of the legs that have scores. */
static int summarize(const cq_engine *e, cq_report *r)
{
    (void)e;
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L), k = 0;
    for (int i = 0; i < n; i++)
        k += L[i]->has_nisqa;
    memset(&r->nisqa_mean, 0, sizeof(r->nisqa_mean));
    r->nisqa_legs = k;
    for (int i = 0; i < n; i++) {
        if (!L[i]->has_nisqa)
            continue;
        const cq_nisqa_scores *s = &L[i]->nisqa;
        r->nisqa_mean.mos += s->mos / k;
        r->nisqa_mean.noisiness += s->noisiness / k;
        r->nisqa_mean.discontinuity += s->discontinuity / k;
        r->nisqa_mean.coloration += s->coloration / k;
        r->nisqa_mean.loudness += s->loudness / k;
    }
    return CQ_OK;
}

static void free_leg(cq_leg_report *l)
{
    cq__free(l->nisqa_windows);
    cq__free(l->nisqa_note);
}

static void free_call(cq_report *r)
{
    cq__free(r->nisqa_status);
}

static void scores_into(json_t *o, const cq_nisqa_scores *s)
{
    json_object_set_new(o, "mos", cq__jnum(s->mos, 4));
    json_object_set_new(o, "noisiness", cq__jnum(s->noisiness, 4));
    json_object_set_new(o, "discontinuity", cq__jnum(s->discontinuity, 4));
    json_object_set_new(o, "coloration", cq__jnum(s->coloration, 4));
    json_object_set_new(o, "loudness", cq__jnum(s->loudness, 4));
}

static const char *mode_name(cq_nisqa_mode m)
{
    return m == CQ_NISQA_FILE ? "file" : "windowed";
}

static json_t *leg_scores_json(const cq_report *r, const cq_leg_report *l)
{
    if (!l->has_nisqa)
        return json_null();
    json_t *n = json_object();
    scores_into(n, &l->nisqa);
    json_object_set_new(n, "mode", json_string(mode_name(r->nisqa_mode)));
    json_object_set_new(n, "segments", json_integer((json_int_t)l->nisqa.n_segments));
    json_object_set_new(n, "model", json_string("NISQA v2"));
    json_object_set_new(n, "licence", json_string("CC BY-NC-SA 4.0"));
    json_object_set_new(n, "version", json_string(r->nisqa_sha256));
    if (r->nisqa_mode == CQ_NISQA_WINDOWED) {
        json_object_set_new(n, "weighting", json_string(l->nisqa_uniform ? "uniform" : "speech"));
        json_t *ws = json_array();
        for (size_t i = 0; i < l->n_nisqa_windows; i++) {
            const cq_nisqa_window *w = &l->nisqa_windows[i];
            json_t *wo = json_object();
            json_object_set_new(wo, "start", cq__jnum(w->start_sec, 6));
            json_object_set_new(wo, "end", cq__jnum(w->end_sec, 6));
            json_object_set_new(wo, "speech_sec", cq__jnum(w->speech_sec, 3));
            scores_into(wo, &w->scores);
            json_array_append_new(ws, wo);
        }
        json_object_set_new(n, "windows", ws);
    }
    return n;
}

static void json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)leg;
    json_object_set_new(o, "nisqa", leg_scores_json(r, l));
    json_object_set_new(o, "nisqa_note", cq__jstr(l->nisqa_note));
}

/* the old service's nisqa{}: the mean of the legs' scores, and each leg's MOS */
static void json_call(const cq_report *r, json_t *o)
{
    if (!r->nisqa_legs) {
        json_object_set_new(o, "nisqa", json_null());
        return;
    }
    const cq_leg_report *in = r->inbound, *out = r->outbound;
    json_t *nq = json_object();
    scores_into(nq, &r->nisqa_mean);
    json_object_set_new(nq, "mos_in", in->has_nisqa ? cq__jnum(in->nisqa.mos, 4) : json_null());
    json_object_set_new(nq, "mos_out",
                        out && out->has_nisqa ? cq__jnum(out->nisqa.mos, 4) : json_null());
    json_object_set_new(nq, "model", json_string("NISQA v2"));
    json_object_set_new(o, "nisqa", nq);
}

static void json_engine(const cq_report *r, json_t *eng)
{
    if (cq__stage_model_json_null(eng, "nisqa", r->analyzers & CQ_AN_NISQA, r->nisqa_loaded,
                                  r->nisqa_status))
        return;
    json_object_set_new(eng, "nisqa_status", json_string("NISQA v2 loaded"));
    json_t *n = json_object();
    json_object_set_new(n, "model", json_string("nisqa.tar (NISQA v2, NISQA_DIM)"));
    json_object_set_new(n, "model_sha256", json_string(r->nisqa_sha256));
    json_object_set_new(n, "licence",
                        json_string("weights CC BY-NC-SA 4.0 (non-commercial); "
                                    "code MIT; Gabriel Mittag et al."));
    json_object_set_new(n, "mode", json_string(mode_name(r->nisqa_mode)));
    json_object_set_new(n, "window_sec",
                        r->nisqa_mode == CQ_NISQA_FILE ? json_null()
                                                       : cq__jnum(r->nisqa_window_sec, 3));
    json_object_set_new(eng, "nisqa", n);
}

static void text_rows(const cq_report *r, cq__text *t)
{
    if (!(r->analyzers & CQ_AN_NISQA) || !r->nisqa_loaded)
        return;
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    char c[3][2][64] = {{{0}}};
    for (int i = 0; i < n; i++) {
        const cq_nisqa_scores *s = &L[i]->nisqa;
        if (!L[i]->has_nisqa) {
            for (int k = 0; k < 3; k++)
                snprintf(c[k][i], 64, "-");
            continue;
        }
        snprintf(c[0][i], 64, "%.2f", s->mos);
        snprintf(c[1][i], 64, "%.2f / %.2f", s->noisiness, s->discontinuity);
        snprintf(c[2][i], 64, "%.2f / %.2f", s->coloration, s->loudness);
    }
    cq__text_row(t, "MOS (NISQA)", (const char *[2]){c[0][0], c[0][1]});
    cq__text_row(t, "noisiness / discont.", (const char *[2]){c[1][0], c[1][1]});
    cq__text_row(t, "coloration / loudness", (const char *[2]){c[2][0], c[2][1]});
}

static void text_section(const cq_report *r, cq__sb *b)
{
    if (!(r->analyzers & CQ_AN_NISQA))
        return;
    if (r->nisqa_loaded)
        cq__sb_printf(b, "  speech quality: NISQA v2, %s mode (weights CC BY-NC-SA 4.0)\n",
                      mode_name(r->nisqa_mode));
    else
        cq__sb_printf(b, "  speech quality: %s\n", r->nisqa_status);
}

const cq__stage cq__stage_nisqa = {
    .name = "nisqa",
    .bit = CQ_AN_NISQA,
    .uses = CQ_AN_VAD,
    .stream = CQ__STREAM_NATIVE,
    .load = load,
    .unload = unload,
    .prepare = prepare,
    .create = create,
    .push = push,
    .finish = finish,
    .destroy = destroy,
    .summarize = summarize,
    .free_leg = free_leg,
    .free_call = free_call,
    .json_leg = json_leg,
    .json_call = json_call,
    .json_engine = json_engine,
    .text_rows = text_rows,
    .text_section = text_section,
};
