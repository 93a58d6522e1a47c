/*
 * classify.c - the timeline of one 8 kHz leg and its call events (see cq_classify.h).
 *
 * DESIGN
 * Each 32 ms frame gets its level, its VAD probability (pushed by the caller) and one spectral
 * flag, "music-like": a 256-point Hann spectrum of the frame has three or more peaks (local
 * maxima 15 dB over the band's median, 190-3500 Hz) that were also peaks (within one bin) in
 * the previous frame, and its spectral flatness is under 0.2. Sustained notes and their
 * harmonics do that; noise does not (its peaks wander), pure call-progress tones have one or
 * two peaks, and speech is taken by the VAD first.
 * A frame is decided LOOKAHEAD frames after it arrives: music when at least half of the active
 * non-speech frames within LOOKAHEAD frames either side are music-like, else noise. The hold
 * state machine runs on the decided frames, so streaming and whole-file analysis give the same
 * events; a hold is not confirmed where half the frames that would confirm it sound a table
 * tone or a DTMF digit (a busy tone through GSM 06.10 has persistent peaks too). At the end,
 * frames inside tone runs and DTMF digits become "tone" in the timeline.
 * The hold mode's live rules are in classify_hold.c, the answering machine's in
 * classify_amd.c; what the three files share, in classify_int.h.
 */
#include <fftw3.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_classify.h"
#include "classify_int.h"

#define NBIN (FRAME / 2 + 1)
#define LOOKAHEAD 8 /* frames: 0.256 s */
#define BAND_LO 6   /* 187.5 Hz */
#define BAND_HI 112 /* 3500 Hz */
#define PEAK_DB 15.0
#define MIN_PEAKS 3
#define MAX_FLATNESS 0.2
#define HOLD_END_SPEECH 3 /* frames of speech that end a hold at once (96 ms) */
#define IVR_GAP_SEC 0.5
#define MUSIC_MAX_VAD 0.15 /* Silero reads 0.000-0.01 on the corpus's hold music */
#define HOLD_CONFIRM 0.8   /* share of music-like frames that confirms a hold */
#define LEAD_IN 78         /* frames (2.5 s) searched back from the speech that ends a hold */
#define GAP_FRAMES 6       /* frames (0.19 s) of silence that separate hold and speech */
/* a single steady tone (the live AMD mode's beeps; frames of 32 ms) */
#define BEEP_LO 12      /* 375 Hz */
#define BEEP_HI 66      /* 2062 Hz */
#define BEEP_PURITY 0.8 /* of the 60-3750 Hz power within 2 bins of the peak */

cq_classify_params cq_classify_default_params(void)
{
    return (cq_classify_params){.silence_db = -40.0,
                                .hold_min_sec = 3.0,
                                .hold_gap_sec = 2.0,
                                .silence_event_sec = 5.0,
                                .have_vad = true,
                                .tones = cq_tones_default_params()};
}

const char *cq_seg_class_name(cq_seg_class c)
{
    static const char *const names[CQ_CLS_COUNT] = {"silence", "speech", "music", "tone", "noise"};
    return (unsigned)c < CQ_CLS_COUNT ? names[c] : "unknown";
}

/* Append to buf at *n (snprintf semantics: *n counts what would have been written). */
static void CQ__PRINTF(4, 5) fields_put(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*n < size ? buf + *n : NULL, *n < size ? size - *n : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n += (size_t)k;
}

size_t cq_call_event_fields(const cq_call_event *e, double at_sec, char *buf, size_t size)
{
    static const char *const states[] = {"closed", "open", "update"};
    size_t n = 0;
    if (size)
        buf[0] = '\0';
    fields_put(buf, size, &n, "\"type\":\"%s\",\"id\":%u", cq_event_type_name(e->type), e->id);
    fields_put(buf, size, &n, ",\"state\":\"%s\",\"start\":%.3f", states[e->state], e->start_sec);
    if (e->end_sec >= 0)
        fields_put(buf, size, &n, ",\"end\":%.3f", e->end_sec);
    else
        fields_put(buf, size, &n, ",\"end\":null");
    if (e->type == CQ_EV_DTMF)
        fields_put(buf, size, &n, ",\"digits\":\"%s\"", e->digits); /* 0-9 * # A-D only */
    if (e->signal)
        fields_put(buf, size, &n, ",\"signal\":\"%s\"", e->signal);
    if (e->region)
        fields_put(buf, size, &n, ",\"region\":\"%s\"", e->region);
    if (e->type == CQ_EV_HOLD)
        fields_put(buf, size, &n, ",\"confidence\":%.2f", e->confidence);
    if (e->rule)
        fields_put(buf, size, &n, ",\"rule\":\"%s\"", e->rule);
    if (e->type == CQ_EV_HUMAN || e->type == CQ_EV_MACHINE || e->type == CQ_EV_ANNOUNCE)
        fields_put(buf, size, &n, ",\"speech_sec\":%.3f,\"quiet_sec\":%.3f", e->speech_sec,
                   e->quiet_sec);
    if (e->type == CQ_EV_PROMPT)
        fields_put(buf, size, &n, ",\"speech_sec\":%.3f", e->speech_sec);
    if (e->type == CQ_EV_HUMAN && e->music_sec > 0)
        fields_put(buf, size, &n, ",\"music_sec\":%.3f", e->music_sec);
    if (e->type == CQ_EV_PROBE ||
        (e->type == CQ_EV_HUMAN && e->rule && !strcmp(e->rule, "probe_reply")))
        fields_put(buf, size, &n, ",\"probe\":%d", e->cycles);
    if (e->type == CQ_EV_HUMAN && e->rule && !strcmp(e->rule, "probe_reply"))
        fields_put(buf, size, &n, ",\"reply_sec\":%.3f", e->reply_sec);
    if (e->type == CQ_EV_BEEP)
        fields_put(buf, size, &n, ",\"freq_hz\":%.0f", e->freq_hz);
    fields_put(buf, size, &n, ",\"at\":%.3f", at_sec);
    return n;
}

const char *cq_event_type_name(cq_event_type t)
{
    switch (t) {
    case CQ_EV_DTMF: return "dtmf";
    case CQ_EV_RINGBACK: return "ringback";
    case CQ_EV_BUSY: return "busy";
    case CQ_EV_SIT: return "sit";
    case CQ_EV_FAX: return "fax";
    case CQ_EV_HOLD: return "hold";
    case CQ_EV_IVR: return "ivr";
    case CQ_EV_HUMAN: return "human";
    case CQ_EV_MACHINE: return "machine";
    case CQ_EV_BEEP: return "beep";
    case CQ_EV_PROMPT: return "ivr_prompt";
    case CQ_EV_ANNOUNCE: return "hold_announcement";
    case CQ_EV_HOLD_ENDED: return "hold_ended";
    case CQ_EV_SILENCE: return "silence";
    case CQ_EV_PROBE: return "probe";
    case CQ_EV_MESSAGE_END: return "message_end";
    }
    return "unknown";
}

cq_classifier *cq_classifier_create(const cq_classify_params *p, int *err)
{
    int rc = CQ_ERR_NOMEM;
    cq_classifier *c = cq__calloc(1, sizeof(*c));
    if (!c)
        goto done;
    c->p = p ? *p : cq_classify_default_params();
    if (!(c->p.hold_min_sec > 0) || !(c->p.hold_gap_sec >= 0) || !(c->p.silence_db < 0) ||
        !(c->p.silence_event_sec >= 0 && c->p.silence_event_sec <= 3600) ||
        (unsigned)c->p.live > CQ_LIVE_AMD || !(c->p.probe_sec >= 0 && c->p.probe_sec <= 10)) {
        rc = CQ_ERR_INVALID;
        goto done;
    }
    c->silence_frames = (size_t)ceil(c->p.silence_event_sec * RATE / FRAME);
    c->probe_frames = c->p.live == CQ_LIVE_HOLD ? (size_t)ceil(c->p.probe_sec * RATE / FRAME) : 0;
    if (!(c->tones = cq_tones_create(&c->p.tones, &rc)))
        goto done;
    rc = CQ_ERR_NOMEM;
    c->fin = fftwf_alloc_real(FRAME);
    c->fout = fftwf_alloc_complex(NBIN);
    if (!c->fin || !c->fout)
        goto done;
    cq__fft_lock();
    c->plan = fftwf_plan_dft_r2c_1d(FRAME, c->fin, c->fout, FFTW_ESTIMATE);
    cq__fft_unlock();
    if (!c->plan)
        goto done;
    for (int i = 0; i < FRAME; i++)
        c->win[i] = (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * (i + 0.5) / FRAME));
    rc = CQ_OK;
done:
    if (rc != CQ_OK) {
        cq_classifier_destroy(c);
        c = NULL;
    }
    if (err)
        *err = rc;
    return c;
}

void cq_classifier_destroy(cq_classifier *c)
{
    if (!c)
        return;
    cq_tones_destroy(c->tones);
    if (c->plan) {
        cq__fft_lock();
        fftwf_destroy_plan(c->plan);
        cq__fft_unlock();
    }
    fftwf_free(c->fin);
    fftwf_free(c->fout);
    cq__free(c->fr);
    cq__free(c->vad);
    cq__free(c->ev);
    cq__free(c->box);
    cq__free(c->polled);
    cq__free(c->tl);
    cq__free(c->refs);
    for (size_t i = 0; i < c->nmem; i++)
        cq__free(c->mem[i].bits);
    cq__free(c);
}

/* The k-th smallest of a[0..n) (Hoare's selection; a is reordered). */
static float select_kth(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                float tmp = a[i];
                a[i] = a[j], a[j] = tmp;
                i++, j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* Features of the frame in c->buf. */
static void frame_features(cq_classifier *c, frame *f)
{
    double e = 0;
    for (int i = 0; i < FRAME; i++) {
        e += (double)c->buf[i] * c->buf[i];
        c->fin[i] = c->buf[i] * c->win[i];
    }
    f->db = (float)(10 * log10(e / FRAME + 1e-20));
    fftwf_execute(c->plan);
    f->fp = cq__cls_fp_word(c);
    float db[NBIN], sorted[BAND_HI - BAND_LO + 1];
    double lsum = 0, psum = 0;
    for (int k = BAND_LO; k <= BAND_HI; k++) {
        double pw = (double)c->fout[k][0] * c->fout[k][0] + (double)c->fout[k][1] * c->fout[k][1];
        db[k] = (float)(10 * log10(pw + 1e-20));
        sorted[k - BAND_LO] = db[k];
        lsum += log(pw + 1e-20);
        psum += pw;
    }
    const int nb = BAND_HI - BAND_LO + 1;
    double flat = exp(lsum / nb) / (psum / nb + 1e-30);
    float med = select_kth(sorted, nb, nb / 2);
    uint64_t peaks[2] = {0, 0};
    int persistent = 0;
    for (int k = BAND_LO + 1; k < BAND_HI; k++) {
        if (db[k] <= db[k - 1] || db[k] < db[k + 1] || db[k] < med + PEAK_DB)
            continue;
        peaks[k >> 6] |= 1ull << (k & 63);
        for (int d = -1; d <= 1; d++) {
            int j = k + d;
            if (c->prev_peaks[j >> 6] & (1ull << (j & 63))) {
                persistent++;
                break;
            }
        }
    }
    c->prev_peaks[0] = peaks[0];
    c->prev_peaks[1] = peaks[1];
    f->musicish = persistent >= MIN_PEAKS && flat < MAX_FLATNESS;
    /* one steady tone: BEEP_PURITY of the band's power within two bins of its strongest */
    int kmax = BEEP_LO;
    double band = 0;
    for (int k = 2; k <= BAND_HI + 8; k++) {
        double pw = (double)c->fout[k][0] * c->fout[k][0] + (double)c->fout[k][1] * c->fout[k][1];
        band += pw;
        if (k >= BEEP_LO && k <= BEEP_HI &&
            pw > (double)c->fout[kmax][0] * c->fout[kmax][0] +
                     (double)c->fout[kmax][1] * c->fout[kmax][1])
            kmax = k;
    }
    double at = 0;
    for (int k = kmax - 2; k <= kmax + 2; k++)
        at += (double)c->fout[k][0] * c->fout[k][0] + (double)c->fout[k][1] * c->fout[k][1];
    f->tonebin = (uint8_t)(f->db >= c->p.silence_db && at >= BEEP_PURITY * band ? kmax : 0);
}

static int box_event(cq_classifier *c, const cq_call_event *e)
{
    if (cq__grow((void **)&c->box, &c->capbox, c->nbox + 1, sizeof(*e)) != CQ_OK)
        return CQ_ERR_NOMEM;
    c->box[c->nbox++] = *e;
    return CQ_OK;
}

static int add_event(cq_classifier *c, const cq_call_event *e)
{
    if (cq__grow((void **)&c->ev, &c->capev, c->nev + 1, sizeof(*e)) != CQ_OK)
        return CQ_ERR_NOMEM;
    c->ev[c->nev++] = *e;
    return box_event(c, e);
}

static int close_hold(cq_classifier *c)
{
    int rc = CQ_OK;
    size_t span = c->hold_last - c->hold_start;
    if (c->hold_state == 2 && span) {
        cq_call_event e = {.id = c->hold_id,
                           .type = CQ_EV_HOLD,
                           .start_sec = cq__cls_frame_sec(c->hold_start),
                           .end_sec = cq__cls_frame_sec(c->hold_last),
                           .confidence = (double)c->hold_music / (double)span};
        rc = add_event(c, &e);
    }
    c->hold_state = 0;
    c->speech_run = 0;
    return rc;
}

static int is_active_nonspeech(const cq_classifier *c, size_t j);

/*
 * The hold state machine, fed decided frames in order. Music opens a candidate; it becomes a
 * hold when, within it, the last hold_min_sec hold mostly active non-speech frames of which
 * at least HOLD_CONFIRM are music-like on their own evidence (sustained, harmonic sound; a
 * burst of animal or machine noise in a prompt stays below). In a hold, other non-speech
 * sound keeps it alive (a percussive or quiet passage); speech ends it at once, as does
 * hold_gap_sec without music or such sound. The hold ends at its last music frame.
 */
static int hold_step(cq_classifier *c, size_t i, int cls)
{
    const size_t w = (size_t)(c->p.hold_min_sec * RATE / FRAME);
    if (is_active_nonspeech(c, i))
        c->win_act++, c->win_mus += c->fr[i].musicish, c->win_ton += c->fr[i].tonal;
    if (i >= w && is_active_nonspeech(c, i - w))
        c->win_act--, c->win_mus -= c->fr[i - w].musicish, c->win_ton -= c->fr[i - w].tonal;
    if (cls == CQ_CLS_MUSIC) {
        if (!c->hold_state) {
            c->hold_state = 1;
            c->hold_start = i;
            c->hold_music = 0;
        }
        c->hold_music++;
        c->hold_last = c->hold_alive = i + 1;
        c->speech_run = 0;
        if (c->hold_state == 1 && i + 1 - c->hold_start >= w && 2 * c->win_act > w &&
            (double)c->win_mus >= HOLD_CONFIRM * (double)c->win_act &&
            2 * c->win_ton < c->win_act) {
            c->hold_state = 2;
            c->hold_id = ++c->next_id;
            cq_call_event e = {.id = c->hold_id,
                               .state = CQ_EVENT_OPEN,
                               .type = CQ_EV_HOLD,
                               .start_sec = cq__cls_frame_sec(c->hold_start),
                               .end_sec = -1,
                               .confidence =
                                   (double)c->hold_music / (double)(i + 1 - c->hold_start)};
            return box_event(c, &e);
        }
        return CQ_OK;
    }
    if (!c->hold_state)
        return CQ_OK;
    c->speech_run = cls == CQ_CLS_SPEECH ? c->speech_run + 1 : 0;
    if (c->hold_state == 2 && cls == CQ_CLS_NOISE)
        c->hold_alive = i + 1;
    if (c->speech_run >= HOLD_END_SPEECH) {
        /* the hold ended before the speech and its lead-in (onset sounds the VAD is not
         * sure of yet, short pauses): at the start of the last silence of 0.19 s or more
         * within LEAD_IN frames before the speech, or at the speech if there is none (the
         * music ran straight into it) */
        size_t sp = i + 1 - c->speech_run, j = sp, quiet = 0;
        c->hold_last = sp;
        while (j > c->hold_start && sp - j < LEAD_IN) {
            j--;
            if (c->fr[j].cls != CQ_CLS_SILENCE) {
                quiet = 0;
                continue;
            }
            if (++quiet >= GAP_FRAMES) {
                while (j > c->hold_start && c->fr[j - 1].cls == CQ_CLS_SILENCE)
                    j--;
                c->hold_last = j;
                break;
            }
        }
        return close_hold(c);
    }
    if (cq__cls_frame_sec(i + 1 - c->hold_alive) > c->p.hold_gap_sec) {
        c->hold_last = c->hold_alive;
        return close_hold(c);
    }
    return CQ_OK;
}

int cq__cls_live_event(cq_classifier *c, cq_event_type t, size_t from, size_t to, const char *rule,
                       cq_call_event *e)
{
    e->id = ++c->next_id;
    e->state = CQ_EVENT_CLOSED;
    e->type = t;
    e->start_sec = cq__cls_frame_sec(from);
    e->end_sec = cq__cls_frame_sec(to);
    e->rule = rule;
    return add_event(c, e);
}

/* The live decisions on decided frames. */
static int live_step(cq_classifier *c, size_t i, int cls)
{
    return c->p.live == CQ_LIVE_HOLD ? cq__cls_live_hold_decided(c, i, cls) : CQ_OK;
}

/* The open silence event, if any, ends at frame `end`. */
static int silence_close(cq_classifier *c, size_t end)
{
    live_state *L = &c->lv;
    if (!L->silence_id)
        return CQ_OK;
    cq_call_event e = {.id = L->silence_id,
                       .type = CQ_EV_SILENCE,
                       .start_sec = cq__cls_frame_sec(L->silence_start),
                       .end_sec = cq__cls_frame_sec(end),
                       .rule = "quiet",
                       .confidence = 1};
    L->silence_id = 0;
    return add_event(c, &e);
}

/* Both live modes: silence_event_sec of silent frames (below silence_db, not speech) open a
 * silence event, the next frame of sound closes it. */
static int live_silence(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    if (!(c->p.silence_event_sec > 0))
        return CQ_OK;
    if (!(c->fr[i].db < c->p.silence_db) || (c->p.have_vad && c->vad[i] >= SPEECH_PROB)) {
        L->quiet_run = 0;
        return silence_close(c, i);
    }
    if (++L->quiet_run != c->silence_frames)
        return CQ_OK;
    L->silence_id = ++c->next_id;
    L->silence_start = i + 1 - L->quiet_run;
    cq_call_event e = {.id = L->silence_id,
                       .state = CQ_EVENT_OPEN,
                       .type = CQ_EV_SILENCE,
                       .start_sec = cq__cls_frame_sec(L->silence_start),
                       .end_sec = -1,
                       .rule = "quiet",
                       .confidence = 1};
    return box_event(c, &e);
}

/* The live decisions on each frame as it arrives with its VAD probability: its own evidence,
 * and the decided frames before it, without the music decision's look-ahead. */
static int live_arrival(cq_classifier *c, size_t i)
{
    int rc = live_silence(c, i);
    if (rc != CQ_OK)
        return rc;
    if (c->p.live == CQ_LIVE_HOLD)
        return c->p.have_vad ? cq__cls_live_hold_arrival(c, i) : CQ_OK;
    /* the beep first: its last frame, not a tone any more, would lengthen the greeting */
    rc = cq__cls_live_beep(c, i);
    return rc != CQ_OK ? rc : cq__cls_live_amd(c, i);
}

static int is_active_nonspeech(const cq_classifier *c, size_t j)
{
    return c->fr[j].db >= c->p.silence_db && !(c->p.have_vad && c->vad[j] >= SPEECH_PROB);
}

/* Decide frame i from the frames around it that are in (up to `ready`). */
static int decide(cq_classifier *c, size_t i, size_t ready)
{
    frame *f = &c->fr[i];
    int cls;
    if (c->p.have_vad && c->vad[i] >= SPEECH_PROB)
        cls = CQ_CLS_SPEECH;
    else if (f->db < c->p.silence_db)
        cls = CQ_CLS_SILENCE;
    else {
        size_t lo = i > LOOKAHEAD ? i - LOOKAHEAD : 0, hi = i + LOOKAHEAD + 1;
        if (hi > ready)
            hi = ready;
        size_t act = 0, mus = 0;
        for (size_t j = lo; j < hi; j++)
            if (is_active_nonspeech(c, j)) {
                act++;
                mus += c->fr[j].musicish;
            }
        /* music needs the VAD sure it is not speech: onsets of speech are neither */
        cls = 2 * mus >= act && !(c->p.have_vad && c->vad[i] >= MUSIC_MAX_VAD) ? CQ_CLS_MUSIC
                                                                               : CQ_CLS_NOISE;
    }
    f->cls = (uint8_t)cls;
    f->own = (uint8_t)(cls == CQ_CLS_MUSIC || cls == CQ_CLS_NOISE
                           ? (f->musicish ? CQ_CLS_MUSIC : CQ_CLS_NOISE)
                           : cls);
    int rc = hold_step(c, i, cls);
    return rc != CQ_OK ? rc : live_step(c, i, cls);
}

static int run_decisions(cq_classifier *c, int final)
{
    size_t ready = c->nfr;
    if (c->p.have_vad && c->nvad < ready)
        ready = c->nvad;
    /* a run of tone not measured yet may be a musical note: its frames wait (0.25 s at most) */
    const uint64_t unjudged = cq_tones_unjudged_from(c->tones);
    if (!final && unjudged != UINT64_MAX && unjudged / FRAME < ready)
        ready = (size_t)(unjudged / FRAME);
    /* a frame's arrival comes after the decisions streaming would have made by then, whatever
     * the pushes' sizes (so the stream and the whole file agree) */
    for (; c->p.live != CQ_LIVE_OFF && c->nlive < ready; c->nlive++) {
        int rc;
        while (c->ndecided + LOOKAHEAD < c->nlive) {
            if ((rc = decide(c, c->ndecided, ready)) != CQ_OK)
                return rc;
            c->ndecided++;
        }
        if ((rc = live_arrival(c, c->nlive)) != CQ_OK)
            return rc;
    }
    while (c->ndecided < ready && (final || c->ndecided + LOOKAHEAD < ready)) {
        int rc = decide(c, c->ndecided, ready);
        if (rc != CQ_OK)
            return rc;
        c->ndecided++;
    }
    return CQ_OK;
}

/* The id here of tone event `tone` (cq_tones' id): handed out before (*seen), or new. */
static int tone_id(cq_classifier *c, unsigned tone, unsigned *id, int *seen)
{
    for (size_t i = 0; i < c->nrefs; i++)
        if (c->refs[i].tone == tone) {
            *id = c->refs[i].id, *seen = 1;
            return CQ_OK;
        }
    *seen = 0;
    *id = ++c->next_id;
    if (cq__grow((void **)&c->refs, &c->caprefs, c->nrefs + 1, sizeof(*c->refs)) != CQ_OK)
        return CQ_ERR_NOMEM;
    c->refs[c->nrefs++] = (struct tone_ref){tone, *id};
    return CQ_OK;
}

/* Tone events from cq_tones become call events: open the first time an event is handed out,
 * an update when it is handed out open again (a DTMF event's next digit), closed when
 * complete. */
static int take_tones(cq_classifier *c, const cq_tone_event *te, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cq_call_event e = {.start_sec = te[i].start_sec,
                           .end_sec = te[i].end_sec,
                           .region = te[i].region,
                           .cycles = te[i].cycles,
                           .confidence = 1};
        int seen;
        if (tone_id(c, te[i].id, &e.id, &seen) != CQ_OK)
            return CQ_ERR_NOMEM;
        e.state = !te[i].open ? CQ_EVENT_CLOSED : seen ? CQ_EVENT_UPDATE : CQ_EVENT_OPEN;
        switch (te[i].kind) {
        case CQ_TONE_DTMF:
            e.type = CQ_EV_DTMF;
            memcpy(e.digits, te[i].digits, sizeof(e.digits));
            break;
        case CQ_TONE_RINGBACK: e.type = CQ_EV_RINGBACK; break;
        case CQ_TONE_BUSY: e.type = CQ_EV_BUSY, e.signal = "busy"; break;
        case CQ_TONE_CONGESTION: e.type = CQ_EV_BUSY, e.signal = "congestion"; break;
        case CQ_TONE_SIT: e.type = CQ_EV_SIT; break;
        case CQ_TONE_FAX_CNG: e.type = CQ_EV_FAX, e.signal = "cng"; break;
        case CQ_TONE_FAX_CED: e.type = CQ_EV_FAX, e.signal = "ced"; break;
        }
        if (te[i].open)
            e.end_sec = -1; /* begun, not complete: streaming only */
        if ((te[i].open ? box_event(c, &e) : add_event(c, &e)) != CQ_OK)
            return CQ_ERR_NOMEM;
    }
    return CQ_OK;
}

/* The frame in c->buf, complete: its features, and whether a tone or a DTMF digit sounds at its
 * end (the tones have heard its samples). */
static int add_frame(cq_classifier *c)
{
    if (cq__grow((void **)&c->fr, &c->capfr, c->nfr + 1, sizeof(frame)) != CQ_OK)
        return CQ_ERR_NOMEM;
    frame *f = &c->fr[c->nfr++];
    frame_features(c, f);
    f->dtmf = cq_tones_dtmf_active(c->tones);
    f->tonal = cq_tones_signal(c->tones);
    /* a run measured since and found not to be a table tone: its frames were not tonal (none
     * is decided yet: run_decisions waits for the measurement) */
    uint64_t a, b;
    const unsigned nref = cq_tones_refused(c->tones, &a, &b);
    if (nref != c->nrefused) {
        c->nrefused = nref;
        for (size_t i = (size_t)(a / FRAME); i < c->nfr && (uint64_t)i * FRAME < b; i++)
            if (i >= c->ndecided)
                c->fr[i].tonal = c->fr[i].dtmf;
    }
    return CQ_OK;
}

int cq_classifier_push_audio(cq_classifier *c, const float *x, size_t n)
{
    if (c->finished)
        return CQ_ERR_INVALID;
    /* the tones hear each frame's samples first: a frame is tonal when a tone sounds at its end
     * (so whatever the pushes' sizes) */
    int rc = CQ_OK;
    while (n) {
        size_t k = (size_t)(FRAME - c->nbuf) < n ? (size_t)(FRAME - c->nbuf) : n;
        if ((rc = cq_tones_push(c->tones, x, k)) != CQ_OK)
            return rc;
        memcpy(c->buf + c->nbuf, x, k * sizeof(float));
        c->nbuf += (int)k, x += k, n -= k;
        if (c->nbuf < FRAME)
            break;
        c->nbuf = 0;
        if ((rc = add_frame(c)) != CQ_OK)
            return rc;
    }
    const cq_tone_event *te;
    size_t nte;
    if ((rc = cq_tones_poll(c->tones, &te, &nte)) != CQ_OK || (rc = take_tones(c, te, nte)))
        return rc;
    return run_decisions(c, 0);
}

int cq_classifier_push_vad(cq_classifier *c, const float *probs, size_t n)
{
    if (c->finished || !c->p.have_vad)
        return CQ_ERR_INVALID;
    if (!n)
        return CQ_OK;
    if (cq__grow((void **)&c->vad, &c->capvad, c->nvad + n, sizeof(float)) != CQ_OK)
        return CQ_ERR_NOMEM;
    memcpy(c->vad + c->nvad, probs, n * sizeof(float));
    c->nvad += n;
    return run_decisions(c, 0);
}

int cq_classifier_poll(cq_classifier *c, const cq_call_event **ev, size_t *n)
{
    /* hand the box over, keep it as `polled` until the next call */
    cq_call_event *t = c->polled;
    size_t tc = c->cappolled;
    c->polled = c->box, c->cappolled = c->capbox, c->npolled = c->nbox;
    c->box = t, c->capbox = tc, c->nbox = 0;
    *ev = c->polled;
    *n = c->npolled;
    return CQ_OK;
}

double cq_classifier_time(const cq_classifier *c)
{
    return cq__cls_frame_sec(c->ndecided);
}

static int cmp_event(const void *a, const void *b)
{
    const cq_call_event *x = a, *y = b;
    if (x->start_sec != y->start_sec)
        return x->start_sec < y->start_sec ? -1 : 1;
    return (int)x->type - (int)y->type;
}

/* Mark frames [a, b) s as tone. */
static void mark_tone(cq_classifier *c, double a, double b)
{
    size_t i0 = (size_t)(a * RATE / FRAME), i1 = (size_t)ceil(b * RATE / FRAME);
    for (size_t i = i0; i < i1 && i < c->ndecided; i++) {
        /* a frame takes the class of what covers most of it */
        double fa = cq__cls_frame_sec(i), fb = cq__cls_frame_sec(i + 1);
        double ov = (b < fb ? b : fb) - (a > fa ? a : fa);
        if (ov >= 0.5 * (fb - fa) && c->fr[i].db >= c->p.silence_db)
            c->fr[i].cls = c->fr[i].own = CQ_CLS_TONE;
    }
}

static int build_timeline(cq_classifier *c)
{
    size_t i = 0;
    while (i < c->ndecided) {
        size_t j = i + 1, agree = c->fr[i].own == c->fr[i].cls;
        while (j < c->ndecided && c->fr[j].cls == c->fr[i].cls)
            agree += c->fr[j].own == c->fr[j].cls, j++;
        if (cq__grow((void **)&c->tl, &c->captl, c->ntl + 1, sizeof(cq_class_seg)) != CQ_OK)
            return CQ_ERR_NOMEM;
        c->tl[c->ntl++] = (cq_class_seg){(cq_seg_class)c->fr[i].cls, cq__cls_frame_sec(i),
                                         cq__cls_frame_sec(j), (double)agree / (double)(j - i)};
        i = j;
    }
    if (c->ntl && c->tail) /* the last frame was partial */
        c->tl[c->ntl - 1].end_sec = cq__cls_frame_sec(c->ndecided - 1) + (double)c->tail / RATE;
    return CQ_OK;
}

/* Speech from `from` backwards (or forwards) on the timeline, joined over gaps < 1 s. */
static int add_ivr(cq_classifier *c, double edge, int backwards)
{
    double a = -1, b = -1;
    if (backwards) {
        for (size_t k = c->ntl; k-- > 0;) {
            const cq_class_seg *s = &c->tl[k];
            if (s->start_sec >= edge || s->cls != CQ_CLS_SPEECH)
                continue;
            if (edge - s->end_sec >= IVR_GAP_SEC)
                break;
            if (b < 0)
                b = s->end_sec;
            a = s->start_sec;
            edge = s->start_sec;
        }
    } else {
        for (size_t k = 0; k < c->ntl; k++) {
            const cq_class_seg *s = &c->tl[k];
            /* (speech that began during the SIT is not an announcement after it: through
             * MP3, the VAD hears the tones' smear as speech) */
            if (s->end_sec <= edge || s->cls != CQ_CLS_SPEECH ||
                (a < 0 && s->start_sec < edge - 0.1))
                continue;
            if (s->start_sec - edge >= IVR_GAP_SEC)
                break;
            if (a < 0)
                a = s->start_sec;
            b = s->end_sec;
            edge = s->end_sec;
        }
    }
    if (a < 0 || b - a < 0.5)
        return CQ_OK;
    cq_call_event e = {
        .id = ++c->next_id, .type = CQ_EV_IVR, .start_sec = a, .end_sec = b, .confidence = 1};
    return add_event(c, &e);
}

int cq_classifier_finish(cq_classifier *c)
{
    if (c->finished)
        return CQ_OK;
    int rc;
    if (c->nbuf) { /* the last partial frame, zero-padded */
        c->tail = c->nbuf;
        memset(c->buf + c->nbuf, 0, (size_t)(FRAME - c->nbuf) * sizeof(float));
        if ((rc = add_frame(c)) != CQ_OK)
            return rc;
    }
    if (c->p.have_vad && c->nvad < c->nfr) { /* probabilities that never came: none */
        if (cq__grow((void **)&c->vad, &c->capvad, c->nfr, sizeof(float)) != CQ_OK)
            return CQ_ERR_NOMEM;
        memset(c->vad + c->nvad, 0, (c->nfr - c->nvad) * sizeof(float));
        c->nvad = c->nfr;
    }
    if ((rc = run_decisions(c, 1)) != CQ_OK || (rc = close_hold(c)) != CQ_OK ||
        (rc = silence_close(c, c->nlive)) != CQ_OK)
        return rc;
    if (c->p.live == CQ_LIVE_AMD && c->lv.g_on && (rc = cq__cls_beep_end(c)) != CQ_OK)
        return rc;
    /* the tone events the end of the stream completed; then all tones shape the timeline */
    const cq_tone_event *te, *all;
    size_t nte, nall;
    if ((rc = cq_tones_finish(c->tones, &all, &nall)) != CQ_OK ||
        (rc = cq_tones_poll(c->tones, &te, &nte)) != CQ_OK || (rc = take_tones(c, te, nte)))
        return rc;
    size_t nruns = cq_tones_runs(c->tones, NULL, 0);
    cq_tone_run *runs = nruns ? cq__malloc(nruns * sizeof(*runs)) : NULL;
    if (nruns && !runs)
        return CQ_ERR_NOMEM;
    cq_tones_runs(c->tones, runs, nruns);
    for (size_t k = 0; k < nruns; k++) { /* the runs that make up a tone event */
        int in_event = 0;
        for (size_t m = 0; m < c->nev && !in_event; m++)
            in_event = c->ev[m].type != CQ_EV_HOLD && c->ev[m].type != CQ_EV_IVR &&
                       c->ev[m].type < CQ_EV_HUMAN &&
                       runs[k].start_sec >= c->ev[m].start_sec - 0.05 &&
                       runs[k].end_sec <= c->ev[m].end_sec + 0.05;
        if (in_event)
            mark_tone(c, runs[k].start_sec, runs[k].end_sec);
    }
    cq__free(runs);
    for (size_t k = 0; k < nall; k++)
        if (all[k].kind == CQ_TONE_DTMF)
            mark_tone(c, all[k].start_sec, all[k].end_sec);
    /* inside a hold, what is not speech or tone is the music's (quiet, percussive passages) */
    for (size_t k = 0; k < c->nev; k++) {
        if (c->ev[k].type != CQ_EV_HOLD)
            continue;
        size_t i0 = (size_t)(c->ev[k].start_sec * RATE / FRAME);
        size_t i1 = (size_t)(c->ev[k].end_sec * RATE / FRAME);
        for (size_t i = i0; i < i1 && i < c->ndecided; i++)
            if (c->fr[i].cls == CQ_CLS_NOISE || c->fr[i].cls == CQ_CLS_SILENCE)
                c->fr[i].cls = CQ_CLS_MUSIC;
    }
    if ((rc = build_timeline(c)) != CQ_OK)
        return rc;
    /* IVR from context: speech leading into hold music, speech right after a SIT */
    size_t nev = c->nev;
    for (size_t k = 0; k < nev; k++) {
        double edge = c->ev[k].type == CQ_EV_HOLD ? c->ev[k].start_sec : c->ev[k].end_sec;
        if (c->ev[k].type == CQ_EV_HOLD || c->ev[k].type == CQ_EV_SIT)
            if ((rc = add_ivr(c, edge, c->ev[k].type == CQ_EV_HOLD)) != CQ_OK)
                return rc;
    }
    if (c->nev)
        qsort(c->ev, c->nev, sizeof(cq_call_event), cmp_event);
    c->finished = 1;
    return CQ_OK;
}

const cq_class_seg *cq_classifier_timeline(const cq_classifier *c, size_t *n)
{
    *n = c->ntl;
    return c->tl;
}

const cq_call_event *cq_classifier_events(const cq_classifier *c, size_t *n)
{
    *n = c->nev;
    return c->ev;
}
