/*
 * nisqa_run.c - per-leg NISQA inside the engine (see nisqa_run.h).
 *
 * Windowed mode cuts the leg into consecutive windows of a fixed length and scores each as a
 * clip of its own, so memory stays constant for any length. A last window shorter than half a
 * window is scored only when it is the leg's only one. The leg's scores are the mean of the
 * windows weighted by the seconds of VAD speech inside each; windows without speech do not
 * count. When no window holds speech (or the VAD did not run) the mean is unweighted and the
 * report says so.
 */
#include <string.h>

#include "../base/base_int.h"
#include "nisqa_run.h"

int cq__nisqa_run_init(cq__nisqa_run *r, const cq_nisqa_model *m, int rate, cq_nisqa_mode mode,
                       double window_sec, double max_file_sec)
{
    memset(r, 0, sizeof(*r));
    r->mode = mode;
    r->rate = rate;
    r->win_len = (uint64_t)(window_sec * rate);
    int err = CQ_OK;
    r->s = cq_nisqa_create(m, rate, mode == CQ_NISQA_FILE ? max_file_sec : window_sec + 1.0,
                           &err);
    return r->s ? CQ_OK : err;
}

static int close_window(cq__nisqa_run *r)
{
    cq_nisqa_scores sc;
    int rc = cq_nisqa_finish(r->s, &sc);
    cq_nisqa_reset(r->s);
    uint64_t start = r->win_start;
    r->win_start = r->pos; /* the next window starts here, scored or not */
    if (rc == CQ_ERR_EMPTY)
        return CQ_OK;
    if (rc != CQ_OK)
        return rc;
    if (cq__grow((void **)&r->w, &r->cap, r->nw + 1, sizeof(*r->w)) != CQ_OK)
        return CQ_ERR_NOMEM;
    cq_nisqa_window *w = &r->w[r->nw++];
    w->start_sec = (double)start / r->rate;
    w->end_sec = (double)r->pos / r->rate;
    w->speech_sec = 0;
    w->scores = sc;
    return CQ_OK;
}

int cq__nisqa_run_push(cq__nisqa_run *r, const float *x, size_t n)
{
    if (r->status != CQ_OK)
        return CQ_OK; /* the leg's scores will be null; the call goes on */
    if (r->mode == CQ_NISQA_FILE) {
        r->status = cq_nisqa_push(r->s, x, n);
        r->pos += n;
        return r->status == CQ_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_OK;
    }
    while (n) {
        uint64_t room = r->win_start + r->win_len - r->pos;
        size_t k = n < room ? n : (size_t)room;
        int rc = cq_nisqa_push(r->s, x, k);
        if (rc == CQ_OK) {
            r->pos += k, x += k, n -= k;
            if (r->pos == r->win_start + r->win_len)
                rc = close_window(r);
        }
        if (rc != CQ_OK) {
            r->status = rc;
            return rc == CQ_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_OK;
        }
    }
    return CQ_OK;
}

/* Seconds of speech segments inside [a, b). */
static double speech_in(const cq_leg_report *l, double a, double b)
{
    double s = 0;
    for (size_t i = 0; l->has_vad && i < l->n_speech; i++) {
        double x = (double)l->speech[i].start / l->vad_rate_hz;
        double y = (double)l->speech[i].end / l->vad_rate_hz;
        double lo = x > a ? x : a, hi = y < b ? y : b;
        s += hi > lo ? hi - lo : 0;
    }
    return s;
}

int cq__nisqa_run_finish(cq__nisqa_run *r, cq_leg_report *l)
{
    if (r->status == CQ_ERR_TOO_LARGE) {
        l->nisqa_note = cq__printf("leg longer than the file-mode limit; use windowed mode");
        return l->nisqa_note ? CQ_OK : CQ_ERR_NOMEM;
    }
    if (r->status != CQ_OK) {
        l->nisqa_note = cq__printf("NISQA failed: %s", cq_strerror(r->status));
        return l->nisqa_note ? CQ_OK : CQ_ERR_NOMEM;
    }
    if (r->mode == CQ_NISQA_FILE) {
        int rc = cq_nisqa_finish(r->s, &l->nisqa);
        if (rc == CQ_OK) {
            l->has_nisqa = true;
            return CQ_OK;
        }
        if (rc != CQ_ERR_EMPTY)
            return rc;
        l->nisqa_note = cq__printf("leg too short for NISQA (under 15 frames of 10 ms)");
        return l->nisqa_note ? CQ_OK : CQ_ERR_NOMEM;
    }
    /* the last, partial window: scored when it is the only one or at least half a window */
    if (r->pos > r->win_start && (r->nw == 0 || (r->pos - r->win_start) * 2 >= r->win_len)) {
        int rc = close_window(r);
        if (rc != CQ_OK)
            return rc;
    }
    if (r->nw == 0) {
        l->nisqa_note = cq__printf("leg too short for NISQA (under 15 frames of 10 ms)");
        return l->nisqa_note ? CQ_OK : CQ_ERR_NOMEM;
    }
    double wsum = 0;
    for (size_t i = 0; i < r->nw; i++) {
        r->w[i].speech_sec = speech_in(l, r->w[i].start_sec, r->w[i].end_sec);
        wsum += r->w[i].speech_sec;
    }
    l->nisqa_uniform = !(wsum > 0);
    double acc[5] = {0}, tot = 0;
    for (size_t i = 0; i < r->nw; i++) {
        double w = l->nisqa_uniform ? 1.0 : r->w[i].speech_sec;
        const cq_nisqa_scores *s = &r->w[i].scores;
        acc[0] += w * s->mos, acc[1] += w * s->noisiness, acc[2] += w * s->discontinuity;
        acc[3] += w * s->coloration, acc[4] += w * s->loudness;
        tot += w;
        l->nisqa.n_segments += s->n_segments;
    }
    l->nisqa.mos = acc[0] / tot, l->nisqa.noisiness = acc[1] / tot;
    l->nisqa.discontinuity = acc[2] / tot, l->nisqa.coloration = acc[3] / tot;
    l->nisqa.loudness = acc[4] / tot;
    l->has_nisqa = true;
    l->nisqa_windows = r->w; /* moved into the report */
    l->n_nisqa_windows = r->nw;
    r->w = NULL;
    r->nw = r->cap = 0;
    return CQ_OK;
}

void cq__nisqa_run_uninit(cq__nisqa_run *r)
{
    cq_nisqa_destroy(r->s);
    cq__free(r->w);
    memset(r, 0, sizeof(*r));
}
