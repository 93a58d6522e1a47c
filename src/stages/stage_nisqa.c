/*
 * stage_nisqa.c - the `nisqa` stage: NISQA v2 speech quality of each leg, at its own rate, over the
 * whole leg (file mode) or over fixed windows weighted by the VAD's speech (windowed mode).
 *
 * Windowed mode cuts the leg into consecutive windows of a fixed length and scores each as a
 * clip of its own, so memory stays constant for any length. A last window shorter than half a
 * window is scored only when it is the leg's only one. The leg's scores are the mean of the
 * windows weighted by the seconds of VAD speech inside each; windows without speech do not
 * count. When no window holds speech (or the VAD did not run) the mean is unweighted and the
 * report says so. The call's scores are the mean of its legs' (the old service's `nisqa`).
 *
 * A window without speech is not computed: its weight would be 0. Whether it has speech is
 * known from the VAD's probabilities, which reach the leg report about a second behind the
 * audio: a speech segment never reaches further than `reach` (padding + min_silence + 100 ms)
 * from a chunk whose probability is at least neg_threshold (as speech_audio.c keeps audio), so
 * a window with no such chunk within `reach` of it has none. A closed window waits for those
 * probabilities in its own NISQA state (two states take turns); it is then scored or let go.
 * Only once the leg is known to hold speech (Silero's timestamps over the probabilities so far
 * give a segment, which the whole leg's keep) is a window let go: a leg without speech keeps
 * every window and their plain mean, as before. At the leg's end the last windows are judged by
 * the VAD's final segments. Windows of weight 0 are listed with null scores (`no_speech`).
 */
#include <math.h>
#include <string.h>

#include "stage.h"

typedef struct nisqa_state {
    cq_nisqa *s;       /* the window being filled */
    cq_nisqa *waiting; /* windowed: the closed window waiting for the VAD (NULL: none) */
    cq_nisqa *spare;   /* windowed: the other state, free */
    uint64_t wait_start, wait_end; /* its samples */
    cq_nisqa_mode mode;
    int rate;
    uint64_t win_len;   /* samples per window (windowed) */
    uint64_t pos;       /* samples pushed */
    uint64_t win_start; /* first sample of the current window */
    cq_nisqa_window *w;
    size_t nw, cap;
    int status; /* first error */
    /* what the VAD says so far (windowed) */
    cq_speech_params sp;
    double neg, reach_sec;
    bool speech; /* the leg holds speech: windows without it may be let go */
    size_t probs_checked;
} nisqa_state;

static const cq__stage_model nisqa_model = {
    .kind = CQ__MODEL_NISQA,
    .name = "NISQA",
    .no_dir = "no model directory given: NISQA scores are null",
    .without = "quality scores are null",
    .install = ". Its weights are licensed CC BY-NC-SA 4.0 (non-commercial) and are obtained by "
               "the user; see models/README.md",
};

/* Load NISQA's checkpoint when it is installed, or say why its scores will be null. */
static int nisqa_load(cq_engine *e)
{
    if (e->p.mos_model == CQ_MOS_DNSMOS)
        return cq__note(&e->nisqa_status, "mos_model is dnsmos: NISQA not run");
    return cq__stage_model_load(e, &nisqa_model, "nisqa/nisqa.tar");
}

static void nisqa_destroy(void *st)
{
    nisqa_state *n = st;
    if (!n)
        return;
    cq_nisqa_destroy(n->s);
    cq_nisqa_destroy(n->waiting);
    cq_nisqa_destroy(n->spare);
    cq__free(n->w);
    cq__free(n);
}

static int nisqa_create(void **st, const cq__stage_ctx *c)
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
    if (n->mode == CQ_NISQA_WINDOWED) {
        if (!(n->spare = cq_nisqa_create(e->nisqa, c->rate_hz, e->p.nisqa_window_sec + 1.0, &err)))
            return err;
        cq_nisqa_set_threads(n->spare, e->p.nisqa_threads);
        n->sp = e->p.speech;
        n->neg = cq__speech_neg(&n->sp);
        n->reach_sec = cq__speech_reach_ms(&n->sp) / 1000.0;
    }
    return CQ_OK;
}

/* A window in the list: scored (sc), or let go without speech (sc NULL). */
static int add_window(nisqa_state *n, uint64_t start, uint64_t end, const cq_nisqa_scores *sc)
{
    if (cq__grow((void **)&n->w, &n->cap, n->nw + 1, sizeof(*n->w)) != CQ_OK)
        return CQ_ERR_NOMEM;
    cq_nisqa_window *w = &n->w[n->nw++];
    memset(w, 0, sizeof(*w));
    w->start_sec = (double)start / n->rate;
    w->end_sec = (double)end / n->rate;
    if (sc) {
        w->scores = *sc;
        w->scored = 1;
    } else {
        double nan = NAN;
        w->scores.mos = w->scores.noisiness = w->scores.discontinuity = nan;
        w->scores.coloration = w->scores.loudness = nan;
    }
    return CQ_OK;
}

/* Score the window in state s (or let it go when `drop`), and free s for the next window. */
static int settle(nisqa_state *n, cq_nisqa *s, uint64_t start, uint64_t end, bool drop)
{
    cq_nisqa_scores sc;
    int rc = drop ? CQ_ERR_EMPTY : cq_nisqa_finish(s, &sc);
    cq_nisqa_reset(s);
    if (drop)
        return add_window(n, start, end, NULL);
    if (rc == CQ_ERR_EMPTY)
        return CQ_OK;
    return rc == CQ_OK ? add_window(n, start, end, &sc) : rc;
}

/* Does a window already closed hold speech: Silero's timestamps over the probabilities that
 * reached the report give a segment before the current window (the whole leg's timestamps keep
 * it, or a longer one: a segment still open only grows). That window is scored (speech is never
 * further than `reach` from a chunk at or over neg_threshold) and weighs more than 0, so the
 * leg's weighting is by speech and a window of weight 0 changes nothing. Run once a window. */
static int speech_so_far(nisqa_state *n, const cq_leg_report *l)
{
    if (n->speech || l->n_vad_probs == n->probs_checked || !l->vad_chunk)
        return CQ_OK;
    n->probs_checked = l->n_vad_probs;
    cq_speech_seg *seg = NULL;
    size_t ns = 0;
    int rc = cq_speech_timestamps(l->vad_probs, l->n_vad_probs, l->vad_chunk, CQ__VAD_RATE,
                                  (uint64_t)l->n_vad_probs * l->vad_chunk, &n->sp, &seg, &ns);
    if (rc == CQ_ERR_NOMEM)
        return rc;
    double closed = (double)n->win_start / n->rate; /* the windows before it are closed */
    for (size_t i = 0; rc == CQ_OK && i < ns && !n->speech; i++)
        n->speech = (double)seg[i].start / CQ__VAD_RATE < closed;
    cq_speech_free(seg);
    return CQ_OK;
}

/* The waiting window, once the VAD's probabilities reach `reach` past its end: let go when no
 * chunk within `reach` of it is at or over neg_threshold and the leg holds speech, else scored.
 * `now`: decide whatever is known (a second window closed behind it). */
static int decide_waiting(nisqa_state *n, const cq_leg_report *l, bool now)
{
    if (!n->waiting)
        return CQ_OK;
    double a = (double)n->wait_start / n->rate - n->reach_sec,
           b = (double)n->wait_end / n->rate + n->reach_sec;
    double chunk_sec = l->vad_chunk ? (double)l->vad_chunk / CQ__VAD_RATE : 0;
    double known = (double)l->n_vad_probs * chunk_sec;
    if (!now && known < b && n->speech)
        return CQ_OK; /* its probabilities are not all in yet */
    bool quiet = n->speech && chunk_sec > 0 && known >= b; /* else scored */
    if (quiet) {
        size_t c0 = a > 0 ? (size_t)(a / chunk_sec) : 0, c1 = (size_t)ceil(b / chunk_sec);
        for (size_t c = c0; c < c1 && c < l->n_vad_probs && quiet; c++)
            quiet = !(l->vad_probs[c] >= n->neg);
    }
    cq_nisqa *s = n->waiting;
    n->waiting = NULL;
    int rc = settle(n, s, n->wait_start, n->wait_end, quiet);
    n->spare = s;
    return rc;
}

/* A full window closed: it waits for the VAD in its state, the next one fills the other (a
 * window still waiting when the next closes is decided with what is known). */
static int close_window(nisqa_state *n, const cq_leg_report *l)
{
    int rc = decide_waiting(n, l, true);
    if (rc != CQ_OK)
        return rc;
    n->waiting = n->s, n->wait_start = n->win_start, n->wait_end = n->pos;
    n->s = n->spare, n->spare = NULL;
    n->win_start = n->pos; /* the next window starts here, scored or not */
    rc = speech_so_far(n, l);
    return rc != CQ_OK ? rc : decide_waiting(n, l, false);
}

static int nisqa_push(void *st, int leg, const float *x, size_t len, cq_report *r)
{
    nisqa_state *n = st;
    const cq_leg_report *l = leg ? r->outbound : r->inbound;
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
                rc = close_window(n, l);
        }
        if (rc != CQ_OK) {
            n->status = rc;
            return rc == CQ_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_OK;
        }
    }
    int rc = decide_waiting(n, l, false);
    if (rc != CQ_OK)
        n->status = rc;
    return rc == CQ_ERR_NOMEM ? CQ_ERR_NOMEM : CQ_OK;
}

/* At the leg's end the VAD's segments are final: a window is let go when none of its seconds is
 * speech and the leg holds some. */
static bool no_speech(const nisqa_state *n, const cq_leg_report *l, uint64_t start, uint64_t end)
{
    return n->speech && l->has_vad &&
           !(cq__speech_in(l, (double)start / n->rate, (double)end / n->rate) > 0);
}

/* Score what remains and fill the leg (after the VAD filled its speech). A leg too short to
 * score gets a note instead; only allocation failures are errors. */
static int nisqa_finish(void *st, int leg, cq_report *r)
{
    nisqa_state *n = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    if (!n)
        return CQ_OK;
    if (n->status != CQ_OK)
        return cq__stage_model_leg_note(&l->nisqa_note, &nisqa_model, n->status,
                                        "leg longer than the file-mode limit; use windowed mode");
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
    /* the VAD's segments are final: speech in a window already closed (it is, or will be,
     * scored, and weighs more than 0) lets the rest without speech go */
    for (size_t i = 0; !n->speech && i < n->nw; i++)
        n->speech = n->w[i].scored && cq__speech_in(l, n->w[i].start_sec, n->w[i].end_sec) > 0;
    if (!n->speech && n->waiting)
        n->speech =
            cq__speech_in(l, (double)n->wait_start / n->rate, (double)n->wait_end / n->rate) > 0;
    if (n->waiting) { /* the window that waited: judged by the final segments */
        cq_nisqa *s = n->waiting;
        n->waiting = NULL;
        int rc =
            settle(n, s, n->wait_start, n->wait_end, no_speech(n, l, n->wait_start, n->wait_end));
        n->spare = s;
        if (rc != CQ_OK)
            return rc;
    }
    /* the last, partial window: scored when it is the only one or at least half a window */
    if (n->pos > n->win_start && (n->nw == 0 || (n->pos - n->win_start) * 2 >= n->win_len)) {
        uint64_t start = n->win_start;
        n->win_start = n->pos;
        int rc = settle(n, n->s, start, n->pos, n->nw > 0 && no_speech(n, l, start, n->pos));
        if (rc != CQ_OK)
            return rc;
    }
    size_t scored = 0;
    for (size_t i = 0; i < n->nw; i++)
        scored += n->w[i].scored;
    if (scored == 0)
        return cq__note(&l->nisqa_note, "leg too short for NISQA (under 15 frames of 10 ms)");
    double wsum = 0;
    for (size_t i = 0; i < n->nw; i++) {
        n->w[i].speech_sec = cq__speech_in(l, n->w[i].start_sec, n->w[i].end_sec);
        wsum += n->w[i].speech_sec;
        if (!n->w[i].scored && n->w[i].speech_sec > 0) /* never: a window let go had no speech */
            cq__log(CQ_LOG_ERROR, "NISQA: a window let go holds %.3f s of speech",
                    n->w[i].speech_sec);
    }
    cq__window_mean m;
    cq__window_mean_start(&m, wsum);
    l->nisqa_uniform = m.uniform;
    for (size_t i = 0; i < n->nw; i++) {
        const cq_nisqa_scores *s = &n->w[i].scores;
        if (!n->w[i].scored)
            continue;
        const double v[] = {s->mos, s->noisiness, s->discontinuity, s->coloration, s->loudness};
        cq__window_mean_add(&m, n->w[i].speech_sec, v, 5);
        l->nisqa.n_segments += s->n_segments;
    }
    l->nisqa.mos = cq__window_mean_of(&m, 0), l->nisqa.noisiness = cq__window_mean_of(&m, 1);
    l->nisqa.discontinuity = cq__window_mean_of(&m, 2);
    l->nisqa.coloration = cq__window_mean_of(&m, 3), l->nisqa.loudness = cq__window_mean_of(&m, 4);
    l->has_nisqa = true;
    l->nisqa_windows = n->w; /* moved into the report */
    l->n_nisqa_windows = n->nw;
    n->w = NULL;
    n->nw = n->cap = 0;
    return CQ_OK;
}

/* The call's scores: the mean of the legs that have scores. */
static int nisqa_summarize(const cq_engine *e, cq_report *r)
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

static void nisqa_free_leg(cq_leg_report *l)
{
    cq__free(l->nisqa_windows);
    cq__free(l->nisqa_note);
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
            json_t *wo = cq__jspan_to(w->start_sec, w->end_sec, 6);
            json_object_set_new(wo, "speech_sec", cq__jnum(w->speech_sec, 3));
            /* a window of weight 0 in a leg with speech: no score (not computed, or of no
             * weight), said why */
            bool none = !w->scored || (!l->nisqa_uniform && !(w->speech_sec > 0));
            cq_nisqa_scores nul = {.mos = NAN,
                                   .noisiness = NAN,
                                   .discontinuity = NAN,
                                   .coloration = NAN,
                                   .loudness = NAN};
            scores_into(wo, none ? &nul : &w->scores);
            json_object_set_new(wo, "null_reason", none ? json_string("no_speech") : json_null());
            json_array_append_new(ws, wo);
        }
        json_object_set_new(n, "windows", ws);
    }
    return n;
}

static void nisqa_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)leg;
    json_object_set_new(o, "nisqa", leg_scores_json(r, l));
    json_object_set_new(o, "nisqa_note", cq__jstr(l->nisqa_note));
}

/* the old service's nisqa{}: the mean of the legs' scores, and each leg's MOS */
static void nisqa_json_call(const cq_report *r, json_t *o)
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

static void nisqa_json_engine(const cq_report *r, json_t *eng)
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

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    const cq_nisqa_scores *s = &l->nisqa;
    if (!l->has_nisqa) {
        for (int k = 0; k < 3; k++)
            snprintf(c[k], CQ__TEXT_CELL, "-");
        return;
    }
    snprintf(c[0], CQ__TEXT_CELL, "%.2f", s->mos);
    snprintf(c[1], CQ__TEXT_CELL, "%.2f / %.2f", s->noisiness, s->discontinuity);
    snprintf(c[2], CQ__TEXT_CELL, "%.2f / %.2f", s->coloration, s->loudness);
}

static void nisqa_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"MOS (NISQA)", "noisiness / discont.",
                                       "coloration / loudness", NULL};
    if (r->nisqa_loaded) /* else text_section says why there are no scores */
        cq__text_leg_rows(r, t, CQ_AN_NISQA, rows, leg_cells);
}

static void nisqa_text_section(const cq_report *r, cq__sb *b)
{
    if (!cq__stage_model_text(r, &nisqa_model, b, "  speech quality: %s\n"))
        cq__sb_printf(b, "  speech quality: NISQA v2, %s mode (weights CC BY-NC-SA 4.0)\n",
                      mode_name(r->nisqa_mode));
}

const cq__stage cq__stage_nisqa = {
    .name = "nisqa",
    .bit = CQ_AN_NISQA,
    .uses = CQ_AN_VAD,
    .stream = CQ__STREAM_NATIVE,
    .model = &nisqa_model,
    .load = nisqa_load,
    .create = nisqa_create,
    .push = nisqa_push,
    .finish = nisqa_finish,
    .destroy = nisqa_destroy,
    .summarize = nisqa_summarize,
    .free_leg = nisqa_free_leg,
    .json_leg = nisqa_json_leg,
    .json_call = nisqa_json_call,
    .json_engine = nisqa_json_engine,
    .text_rows = nisqa_text_rows,
    .text_section = nisqa_text_section,
};
