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
 */
#include <fftw3.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_classify.h"

#define FRAME CQ_CLASSIFY_FRAME
#define RATE CQ_CLASSIFY_RATE
#define NBIN (FRAME / 2 + 1)
#define LOOKAHEAD 8 /* frames: 0.256 s */
#define BAND_LO 6   /* 187.5 Hz */
#define BAND_HI 112 /* 3500 Hz */
#define PEAK_DB 15.0
#define MIN_PEAKS 3
#define MAX_FLATNESS 0.2
#define SPEECH_PROB 0.5
#define HOLD_END_SPEECH 3 /* frames of speech that end a hold at once (96 ms) */
#define IVR_GAP_SEC 0.5
#define MUSIC_MAX_VAD 0.15 /* Silero reads 0.000-0.01 on the corpus's hold music */
#define HOLD_CONFIRM 0.8
#define LEAD_IN 78 /* frames (2.5 s) searched back from the speech that ends a hold */
/* live decisions (frames of 32 ms) */
#define BEEP_LO 12         /* 375 Hz */
#define BEEP_HI 66         /* 2062 Hz */
#define BEEP_PURITY 0.8    /* of the 60-3750 Hz power within 2 bins of the peak */
#define BEEP_MIN 6         /* 0.19 s */
#define BEEP_MAX 50        /* 1.6 s: longer is not a beep */
#define MUSIC_WIN 32       /* 1.02 s */
#define MUSIC_SUSTAINED 24 /* music frames in it that make it music */
#define QUIET_HANDOVER 40  /* 1.28 s of quiet between the hold's music and the speech */
#define HANDOVER_SPEECH 3  /* speech frames that confirm it */
#define NO_MUSIC_AFTER 328 /* 10.5 s after the speech began without music */
#define AMD_LONG 57        /* 1.82 s of greeting: a machine */
#define MSG_QUIET 47       /* 1.5 s of quiet after a machine's greeting, no beep: its end */
#define PROMPT_JOIN 32     /* 1.02 s: shorter pauses are within one prompt */
#define PROMPT_MIN 16      /* 0.51 s of speech make a prompt */
#define PROMPT_DTMF 110    /* 3.5 s: a key pressed this soon after the speech answers it */
#define PROMPT_HOLD 78     /* 2.5 s: speech this close before a hold's music leads into it */
#define ANNOUNCE_MIN 16    /* 0.51 s of speech in the hold make an announcement */
/* hold mode's probe (cq_classify_params.probe_sec; docs/live.md, "Asking the line") */
#define PROBE_PAUSE 13 /* 0.42 s of pause after the candidate's speech: the probe goes out */
#define PROBE_MAX 2    /* probes per candidate */
#define REPLY_MIN 8    /* a reply starts 0.26 s after the probe's end at the earliest, */
#define REPLY_MAX 40   /* and 1.28 s after it at the latest, */
#define REPLY_PAUSE 4  /* after 0.13 s or more of pause, */
#define REPLY_SPEECH 3 /* and is confirmed by its 3rd speech frame (96 ms) */
#define PROMPT_MUSIC_BEFORE 94 /* 3 s before a prompt searched for music */
/* remembered announcements (hold mode; docs/live.md, "Remembered announcements") */
#define FP_BANDS 17 /* bands of the fingerprint, FP_BIN0 .. FP_BIN0 + FP_BANDS * FP_WIDTH */
#define FP_BIN0 10  /* 312 Hz */
#define FP_WIDTH 6  /* bins (187.5 Hz) per band: up to 3500 Hz */
#define FP_SMOOTH 4 /* frames (128 ms) summed into each band energy */
#define FP_LAG 2    /* frames between the sums compared */
#define FP_HIST (FP_LAG + FP_SMOOTH - 1) /* frames of band energies kept before this one */
#define MEM_MAX 16      /* announcements remembered per call (the oldest learned go first) */
#define MATCH_WIN 32    /* the candidate's first 1.02 s is compared with what is remembered, */
#define MATCH_ACTIVE 16 /* once it holds this many frames of speech or above silence, */
#define MATCH_MAX 94    /* which sparse speech may take up to 3 s to give */
#define MATCH_BER                                                                                  \
    0.33 /* the share of differing bits under which it is the same recording                       \
            (dev prompts through u-law, A-law and GSM on any 32 ms grid: 0.29 at                   \
            most; other prompts and live talkers: 0.36 at least) */
#define HOLD_OVER                                                                                  \
    938 /* 30 s with no music frame and no hold: the wait is over (a music track                   \
            can be silent for 12 s) */
#define AMD_PAUSE                                                                                  \
    25 /* 0.8 s of pause after a shorter one: a person (shorter ones are                           \
          within the greeting) */
#define GAP_FRAMES                                                                                 \
    6 /* frames (0.19 s) of silence that separate hold and speech */ /* share of music-like frames \
                                                                        that confirms a hold */

typedef struct frame {
    float db;
    uint8_t musicish; /* own spectral evidence */
    uint8_t tonal;    /* a table tone or a DTMF digit sounds at its end (cq_tones_active) */
    uint8_t cls;      /* decided class */
    uint8_t own;      /* class from the frame's own evidence alone */
    uint8_t tonebin;  /* a single steady tone's bin (BEEP_LO..BEEP_HI), else 0 */
    uint8_t dtmf;     /* a DTMF digit sounds at its end (cq_tones_dtmf_active) */
    uint16_t fp;      /* its fingerprint word (fp_word) */
} frame;

/* a run of speech frames on arrival, pauses under PROMPT_JOIN within it (hold mode) */
typedef struct speech_span {
    size_t start, end, speech; /* first frame, one past the last speech frame, speech frames */
    int told;                  /* handed out as an ivr_prompt */
} speech_span;
#define SPANS 8 /* the latest spans kept */

/* the live decisions' state (cq_classify_params.live) */
typedef struct live_state {
    int done;           /* the call's human/machine decision is out */
    int hold_seen;      /* a hold was confirmed (hold mode) */
    size_t last_music;  /* one past the last frame of sustained music (0: none yet) */
    size_t music_frame; /* one past the last music frame */
    size_t mus_win;     /* music frames among the last MUSIC_WIN */
    int cand;           /* hold mode: speech after music, not yet decided */
    size_t cand_start;  /* its first speech frame */
    size_t cand_quiet;  /* the longest run of silent frames between the music and it */
    size_t cand_speech; /* its speech frames */
    int cand_music;     /* a music frame came since it began */
    int g_on;           /* amd: the greeting began */
    size_t g_start, g_last, g_speech, g_maxpause;
    int beep_done;           /* amd: the beep is out */
    int machine;             /* amd: the decision was a machine */
    int msg_done;            /* amd: its message_end is out */
    size_t bp_start, bp_len; /* the single-tone run under way */
    int bp_bin;
    double bp_sum;            /* its bins, summed (the mean is its frequency) */
    size_t cand_end;          /* hold mode: one past the candidate's last speech frame */
    speech_span spans[SPANS]; /* hold mode: the latest, spans[nspans - 1 mod SPANS] */
    size_t nspans;
    int hold_over;        /* hold mode: hold_ended handed out since the last sustained music */
    size_t quiet_run;     /* silent frames up to the last arrival */
    unsigned silence_id;  /* the open silence event's (0: none) */
    size_t silence_start; /* its first frame */
    /* hold mode's probe (probe_frames > 0): 0 none out, 1 out (sounding, then listened for) */
    int pr_out;
    int pr_count;            /* probes sent for the candidate */
    size_t pr_start, pr_end; /* the probe out: its first frame and one past its last */
    size_t pr_pause;         /* non-speech frames up to the last arrival */
    size_t pr_reply;         /* the reply's first speech frame (0: none yet) */
    size_t pr_speech;        /* its speech frames */
    int pr_talked;           /* the line spoke while the probe sounded */
    int pr_played;           /* the host said where it began (cq_classifier_probe_played) */
    size_t cand_active;      /* its frames of speech or above silence */
    int pr_ready;            /* a reply came while the comparison was still to be made */
    int cand_known;          /* the candidate against what is remembered: 0 not compared yet
                                (or nothing to compare with), 1 an announcement heard before,
                                2 none of them */
    double cand_ber;         /* the best match's share of differing bits */
    size_t cand_memo;        /* the length (frames) of the announcement it matched */
} live_state;

/* an announcement's fingerprint: remembered (cq_classifier_remember) or learned in this call */
typedef struct memo {
    uint16_t *bits;
    size_t frames;
    int learned;
} memo;

struct cq_classifier {
    cq_classify_params p;
    cq_tones *tones;
    float buf[FRAME];
    int nbuf;
    float win[FRAME];
    float *fin;
    fftwf_complex *fout;
    fftwf_plan plan;
    uint64_t prev_peaks[2];
    frame *fr;
    size_t nfr, capfr;
    float *vad;
    size_t nvad, capvad;
    size_t ndecided;
    unsigned nrefused;     /* runs of tone the tones have refused (cq_tones_refused), seen */
    size_t nlive;          /* frames the live decisions have seen on arrival */
    size_t silence_frames; /* silence_event_sec in frames (live modes) */
    size_t probe_frames;   /* probe_sec in frames (hold mode; 0: no probe) */
    /* hold state: 0 none, 1 music seen, 2 hold reported as started */
    int hold_state;
    size_t hold_start, hold_last, hold_alive, hold_music, speech_run;
    size_t win_act, win_mus, win_ton; /* active non-speech, music-like and tonal frames of the
                                         last hold_min */
    cq_call_event *ev;                /* final events */
    size_t nev, capev;
    cq_call_event *box; /* events not polled yet */
    size_t nbox, capbox, boxed_from;
    cq_call_event *polled; /* handed out by the last poll */
    size_t npolled, cappolled;
    cq_class_seg *tl;
    size_t ntl, captl;
    unsigned next_id; /* event ids handed out */
    unsigned hold_id; /* the open hold's */
    struct tone_ref { /* a tone event handed out open: its id in cq_tones and here */
        unsigned tone, id;
    } * refs;
    size_t nrefs, caprefs;
    int tail; /* samples in the last, partial frame (0: it was whole) */
    int finished;
    live_state lv;
    float fp_band[FP_HIST][FP_BANDS]; /* the last frames' band energies (fingerprint) */
    memo mem[MEM_MAX];
    size_t nmem;
};

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

/*
 * The frame's fingerprint word, as in Haitsma and Kalker's audio fingerprints: band energies E
 * in FP_BANDS bands, summed over FP_SMOOTH frames (S(n) = E(n) + ... + E(n-3), so a recording
 * heard again on another 32 ms grid gives nearly the same words), and bit m set when the
 * difference between bands m and m+1 grew over FP_LAG frames: S(n,m) - S(n,m+1) >
 * S(n-2,m) - S(n-2,m+1). Level and the line's gain cancel out; the words keep no audio (the
 * speech cannot be made again from them).
 */
static uint16_t fp_word(cq_classifier *c)
{
    float e[FP_BANDS], sn[FP_BANDS], sp[FP_BANDS];
    for (int m = 0; m < FP_BANDS; m++) {
        double pw = 0;
        for (int k = FP_BIN0 + m * FP_WIDTH; k < FP_BIN0 + (m + 1) * FP_WIDTH; k++)
            pw += (double)c->fout[k][0] * c->fout[k][0] + (double)c->fout[k][1] * c->fout[k][1];
        e[m] = (float)pw;
        sn[m] = e[m], sp[m] = 0;
        for (int k = 0; k < FP_SMOOTH - 1; k++)
            sn[m] += c->fp_band[k][m];
        for (int k = FP_LAG - 1; k < FP_LAG - 1 + FP_SMOOTH; k++)
            sp[m] += c->fp_band[k][m];
    }
    uint16_t w = 0;
    for (int m = 0; m + 1 < FP_BANDS; m++)
        if (sn[m] - sn[m + 1] > sp[m] - sp[m + 1])
            w |= (uint16_t)(1u << m);
    memmove(c->fp_band[1], c->fp_band[0], sizeof(c->fp_band[0]) * (FP_HIST - 1));
    memcpy(c->fp_band[0], e, sizeof(e));
    return w;
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
    f->fp = fp_word(c);
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

static double frame_sec(size_t i)
{
    return (double)i * FRAME / RATE;
}

static int close_hold(cq_classifier *c)
{
    int rc = CQ_OK;
    size_t span = c->hold_last - c->hold_start;
    if (c->hold_state == 2 && span) {
        cq_call_event e = {.id = c->hold_id,
                           .type = CQ_EV_HOLD,
                           .start_sec = frame_sec(c->hold_start),
                           .end_sec = frame_sec(c->hold_last),
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
                               .start_sec = frame_sec(c->hold_start),
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
    if (frame_sec(i + 1 - c->hold_alive) > c->p.hold_gap_sec) {
        c->hold_last = c->hold_alive;
        return close_hold(c);
    }
    return CQ_OK;
}

static int live_event(cq_classifier *c, cq_event_type t, size_t from, size_t to, const char *rule,
                      cq_call_event *e)
{
    e->id = ++c->next_id;
    e->state = CQ_EVENT_CLOSED;
    e->type = t;
    e->start_sec = frame_sec(from);
    e->end_sec = frame_sec(to);
    e->rule = rule;
    return add_event(c, e);
}

/* Hold mode: the wait is over, at frame i (once per hold: a hold confirmed after sustained
 * music returns can end again), from the hold's last sustained music. */
static int hold_ended(cq_classifier *c, size_t i, const char *rule)
{
    live_state *L = &c->lv;
    if (L->hold_over)
        return CQ_OK;
    L->hold_over = 1;
    cq_call_event e = {.confidence = 1};
    return live_event(c, CQ_EV_HOLD_ENDED, L->last_music, i + 1, rule, &e);
}

/* Hold mode, before a hold: the latest run of speech (NULL: none yet). */
static speech_span *span_last(live_state *L)
{
    return L->nspans ? &L->spans[(L->nspans - 1) % SPANS] : NULL;
}

/* Span s was an IVR prompt: the key pressed or the hold's music after it says so (`rule`). */
static int prompt_out(cq_classifier *c, speech_span *s, const char *rule)
{
    s->told = 1;
    cq_call_event e = {.confidence = 1, .speech_sec = frame_sec(s->speech)};
    return live_event(c, CQ_EV_PROMPT, s->start, s->end, rule, &e);
}

/* Hold mode, on each frame before a hold (no person yet): runs of speech, and a DTMF key within
 * PROMPT_DTMF after one of PROMPT_MIN speech frames or more makes it a prompt (the caller
 * answered it). */
static int prompt_arrival(cq_classifier *c, size_t i, int speech)
{
    live_state *L = &c->lv;
    speech_span *s = span_last(L);
    if (speech) {
        if (!s || i - s->end >= PROMPT_JOIN) {
            s = &L->spans[L->nspans++ % SPANS];
            *s = (speech_span){.start = i};
        }
        s->end = i + 1;
        s->speech++;
    }
    if (!c->fr[i].dtmf || !s || s->told || s->speech < PROMPT_MIN || i + 1 - s->end > PROMPT_DTMF)
        return CQ_OK;
    return prompt_out(c, s, "dtmf_after");
}

/* Hold mode, when the first hold is confirmed: the speech that led into its music, PROMPT_HOLD
 * or less before it, was a prompt. */
static int prompt_before_hold(cq_classifier *c)
{
    live_state *L = &c->lv;
    size_t h = c->hold_start;
    for (size_t k = 0; k < L->nspans && k < SPANS; k++) {
        speech_span *s = &L->spans[(L->nspans - 1 - k) % SPANS];
        if (s->start >= h)
            continue;
        if (s->told || s->speech < PROMPT_MIN || (h > s->end && h - s->end > PROMPT_HOLD))
            return CQ_OK;
        /* music sustained before the speech: an announcement in a hold not confirmed before */
        size_t mus = 0;
        for (size_t j = s->start > PROMPT_MUSIC_BEFORE ? s->start - PROMPT_MUSIC_BEFORE : 0;
             j < s->start; j++)
            mus += c->fr[j].cls == CQ_CLS_MUSIC;
        if (mus >= MUSIC_SUSTAINED)
            return CQ_OK;
        return prompt_out(c, s, "hold_after");
    }
    return CQ_OK;
}

/* Hold mode's decision: the candidate is a person, by `rule`, at frame i (its evidence: the
 * candidate's speech, the silence before it, and the time since the music). */
static int hold_human(cq_classifier *c, size_t i, const char *rule)
{
    live_state *L = &c->lv;
    L->done = 1;
    const int reply = !strcmp(rule, "probe_reply");
    cq_call_event e = {.confidence = 1,
                       .speech_sec = frame_sec(L->cand_speech),
                       .quiet_sec = frame_sec(L->cand_quiet),
                       .music_sec = frame_sec(i + 1 - L->last_music),
                       .cycles = reply ? L->pr_count : 0,
                       .reply_sec = reply ? frame_sec(L->pr_reply - L->pr_end) : 0};
    int rc = live_event(c, CQ_EV_HUMAN, L->cand_start, i + 1, rule, &e);
    return rc != CQ_OK ? rc : hold_ended(c, i, "human");
}

/* Room for an announcement's fingerprint of n words (CQ_FP_MAX_FRAMES at most), for the caller
 * to fill: when MEM_MAX are kept, the oldest learned one (else the oldest) makes room. NULL when
 * memory is short. */
static uint16_t *memo_new(cq_classifier *c, size_t n, int learned)
{
    if (n > CQ_FP_MAX_FRAMES)
        n = CQ_FP_MAX_FRAMES;
    uint16_t *b = cq__malloc(n * sizeof(uint16_t));
    if (!b)
        return NULL;
    if (c->nmem == MEM_MAX) {
        size_t drop = 0;
        for (size_t i = 0; i < c->nmem; i++)
            if (c->mem[i].learned) {
                drop = i;
                break;
            }
        cq__free(c->mem[drop].bits);
        memmove(c->mem + drop, c->mem + drop + 1, (c->nmem - drop - 1) * sizeof(memo));
        c->nmem--;
    }
    c->mem[c->nmem++] = (memo){.bits = b, .frames = n, .learned = learned};
    return b;
}

/* Frame i holds speech or sound above silence: a frame the fingerprints are compared on. */
static int frame_active(const cq_classifier *c, size_t i)
{
    return c->vad[i] >= SPEECH_PROB || c->fr[i].db >= c->p.silence_db;
}

/* The candidate's first `win` frames (MATCH_MAX at most) from `from` against every remembered
 * fingerprint at every alignment: the smallest share of differing bits over its active frames
 * (at least MATCH_ACTIVE of them compared), 1 when none could be compared. */
static double memo_match(const cq_classifier *c, size_t from, size_t win, size_t *frames)
{
    uint16_t qw[MATCH_MAX];
    long qi[MATCH_MAX]; /* the active frames' places in the window */
    size_t na = 0;
    for (size_t q = 0; q < win && q < MATCH_MAX; q++)
        if (frame_active(c, from + q))
            qw[na] = c->fr[from + q].fp, qi[na++] = (long)q;
    double best = 1;
    *frames = 0;
    for (size_t m = 0; m < c->nmem; m++) {
        const memo *mo = &c->mem[m];
        for (long o = -(long)(win - MATCH_ACTIVE); o + MATCH_ACTIVE <= (long)mo->frames; o++) {
            unsigned diff = 0, cmp = 0;
            for (size_t a = 0; a < na; a++) {
                const long j = o + qi[a];
                if (j < 0 || j >= (long)mo->frames)
                    continue;
                diff += (unsigned)__builtin_popcount((unsigned)(qw[a] ^ mo->bits[j]));
                cmp++;
            }
            if (cmp >= MATCH_ACTIVE && (double)diff / (16.0 * cmp) < best) {
                best = (double)diff / (16.0 * cmp);
                *frames = mo->frames;
            }
        }
    }
    return best;
}

/* The announcement of frames [from, to) learned (CQ_FP_MAX_FRAMES at most). */
static int memo_learn(cq_classifier *c, size_t from, size_t to)
{
    const size_t n = to - from < CQ_FP_MAX_FRAMES ? to - from : CQ_FP_MAX_FRAMES;
    if (!n)
        return CQ_OK;
    uint16_t *b = memo_new(c, n, 1);
    if (!b)
        return CQ_ERR_NOMEM;
    for (size_t k = 0; k < n; k++)
        b[k] = c->fr[from + k].fp;
    return CQ_OK;
}

int cq_classifier_remember(cq_classifier *c, const uint16_t *bits, size_t frames)
{
    if (!bits || !frames)
        return CQ_ERR_INVALID;
    uint16_t *b = memo_new(c, frames, 0);
    if (!b)
        return CQ_ERR_NOMEM;
    memcpy(b, bits, c->mem[c->nmem - 1].frames * sizeof(uint16_t));
    return CQ_OK;
}

const uint16_t *cq_classifier_learned(const cq_classifier *c, size_t i, size_t *frames)
{
    for (size_t m = 0; m < c->nmem; m++)
        if (c->mem[m].learned && i-- == 0) {
            *frames = c->mem[m].frames;
            return c->mem[m].bits;
        }
    *frames = 0;
    return NULL;
}

/* Hold mode, on decided frames (music needs the look-ahead): where the hold's music last
 * sounded (MUSIC_SUSTAINED of MUSIC_WIN frames music: a voiced syllable is not) and whether a
 * hold was confirmed. Sustained music drops a candidate (an announcement's end); a candidate
 * NO_MUSIC_AFTER old with no music frame since it began is a person. */
static int live_hold_decided(cq_classifier *c, size_t i, int cls)
{
    live_state *L = &c->lv;
    int rc;
    if (c->hold_state == 2 && !L->hold_seen) {
        L->hold_seen = 1;
        if (!L->done && (rc = prompt_before_hold(c)) != CQ_OK)
            return rc;
    }
    L->mus_win += cls == CQ_CLS_MUSIC;
    if (i >= MUSIC_WIN && c->fr[i - MUSIC_WIN].cls == CQ_CLS_MUSIC)
        L->mus_win--;
    if (cls == CQ_CLS_MUSIC) {
        L->music_frame = i + 1;
        if (L->cand && i >= L->cand_start)
            L->cand_music = 1;
    }
    if (L->mus_win >= MUSIC_SUSTAINED) {
        L->last_music = L->music_frame;
        L->hold_over = 0;
        /* the music came back after speech in the hold: that was an announcement */
        if (L->cand && !L->done && i >= L->cand_start && L->cand_speech >= ANNOUNCE_MIN) {
            /* one heard before: its match (1 - 2 x the differing bits' share); a new one is
             * remembered for the rest of the call */
            const int known = L->cand_known == 1;
            cq_call_event e = {.confidence = known ? 1 - 2 * L->cand_ber : 1,
                               .speech_sec = frame_sec(L->cand_speech),
                               .quiet_sec = frame_sec(L->cand_quiet)};
            L->cand = 0;
            if (!known && (rc = memo_learn(c, L->cand_start, L->cand_end)) != CQ_OK)
                return rc;
            if ((rc = live_event(c, CQ_EV_ANNOUNCE, L->cand_start, L->cand_end,
                                 known ? "remembered" : "music_returned", &e)) != CQ_OK)
                return rc;
        }
        /* the music came back after the speech a person was decided on: it was a recording
         * after all. Nothing more is said (the decision is out), but it is learned, so that this
         * call and the next to the same place know it (its speech up to the music) */
        if (L->cand && L->done && L->cand_known != 1 && i >= L->cand_start + MUSIC_WIN &&
            L->cand_speech >= HANDOVER_SPEECH &&
            (rc = memo_learn(c, L->cand_start, i + 1 - MUSIC_WIN)) != CQ_OK)
            return rc;
        if (L->cand && i >= L->cand_start)
            L->cand = 0;
    }
    if (!L->done && L->hold_seen && c->hold_state != 2 && L->music_frame &&
        i + 1 - L->music_frame >= HOLD_OVER && (rc = hold_ended(c, i, "no_music")) != CQ_OK)
        return rc;
    /* a remembered announcement's candidate waits out the announcement first */
    const size_t wait = NO_MUSIC_AFTER + (L->cand_known == 1 ? L->cand_memo : 0);
    if (L->done || !L->cand || L->cand_music || i < L->cand_start || i + 1 - L->cand_start < wait)
        return CQ_OK;
    return hold_human(c, i, "no_music_after");
}

/*
 * Hold mode with a probe (docs/live.md, "Asking the line"), on each frame of a candidate as it
 * arrives. Once its speech has paused PROBE_PAUSE frames, a probe goes out (a `probe` event:
 * the host plays probe_sec of audio back into the call, and says where in the stream it began,
 * cq_classifier_probe_played: a host whose analysis lags its input starts it later than asked),
 * at most PROBE_MAX per candidate. No reply is listened for before the host has said so. A person
 * answers it; a recording goes on as if nothing was said. So speech that starts REPLY_MIN to
 * REPLY_MAX frames after the probe's end, after REPLY_PAUSE frames or more of pause (not the line's
 * speech running on through the probe), is a reply, and its REPLY_SPEECH-th speech frame makes the
 * candidate a person ("probe_reply"). Speech that runs into the window without a pause, or no reply
 * within it, leaves the candidate as it was: the next pause sends the second probe. Sustained music
 * drops the candidate (live_hold_decided), and the probe with it. The passive rule (quiet_handover)
 * does not decide while probes can be sent; no_music_after still does.
 */
static int probe_arrival(cq_classifier *c, size_t i, int speech)
{
    live_state *L = &c->lv;
    if (L->pr_ready) /* a reply waits for the comparison with the remembered announcements */
        return CQ_OK;
    const size_t pause = L->pr_pause;
    L->pr_pause = speech ? 0 : L->pr_pause + 1;
    if (L->pr_out) {
        if (!L->pr_played || i < L->pr_end + REPLY_MIN) {
            L->pr_talked |= speech; /* the line talking over the probe (or an echo of it) */
            return CQ_OK;
        }
        if (speech) {
            if (!L->pr_reply) {
                if (i >= L->pr_end + REPLY_MAX || pause < REPLY_PAUSE || L->pr_talked) {
                    L->pr_out = 0; /* too late, or the line spoke on through it: no reply */
                    return CQ_OK;
                }
                L->pr_reply = i, L->pr_speech = 0;
            }
            if (++L->pr_speech < REPLY_SPEECH)
                return CQ_OK;
            if (c->nmem && !L->cand_known) { /* not before it is known no announcement */
                L->pr_ready = 1;
                return CQ_OK;
            }
            return hold_human(c, i, "probe_reply");
        }
        if (L->pr_reply && L->pr_pause >= REPLY_PAUSE)
            L->pr_reply = 0; /* a blip of speech, not a reply: listen on */
        if (!L->pr_reply && i >= L->pr_end + REPLY_MAX)
            L->pr_out = 0; /* no reply */
        if (L->pr_out)
            return CQ_OK;
    }
    if (speech || L->pr_count >= PROBE_MAX || L->pr_pause < PROBE_PAUSE)
        return CQ_OK;
    L->pr_out = 1, L->pr_count++, L->pr_played = 0;
    L->pr_start = i + 1, L->pr_end = i + 1 + c->probe_frames;
    L->pr_reply = 0, L->pr_speech = 0, L->pr_talked = 0;
    cq_call_event e = {.confidence = 1, .cycles = L->pr_count};
    return live_event(c, CQ_EV_PROBE, L->pr_start, L->pr_end, "candidate_paused", &e);
}

/* Hold mode, on each frame as it arrives (speech and silence are its own evidence): speech
 * after a confirmed hold's music opens a candidate; a run of QUIET_HANDOVER silent frames
 * between the music and it (a transfer, not an announcement in the music) makes it a person
 * at its HANDOVER_SPEECH-th speech frame. */
static int live_hold_arrival(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    int speech = c->vad[i] >= SPEECH_PROB;
    if (!L->done && !L->hold_seen) {
        int rc = prompt_arrival(c, i, speech);
        if (rc != CQ_OK)
            return rc;
    }
    if (L->done || !L->hold_seen || !L->last_music)
        return CQ_OK;
    if (speech && !L->cand) {
        size_t run = 0, best = 0;
        for (size_t j = L->last_music; j < i; j++) {
            run = c->vad[j] < SPEECH_PROB && c->fr[j].db < c->p.silence_db ? run + 1 : 0;
            if (run > best)
                best = run;
        }
        L->cand = 1, L->cand_start = i, L->cand_quiet = best, L->cand_speech = 0;
        L->cand_music = 0, L->cand_known = 0, L->cand_active = 0, L->pr_ready = 0;
        L->pr_out = 0, L->pr_count = 0, L->pr_pause = 0;
    }
    if (!L->cand)
        return CQ_OK;
    L->cand_speech += speech;
    if (speech)
        L->cand_end = i + 1;
    /* an announcement heard before is no person for the passive rules */
    L->cand_active += frame_active(c, i);
    const size_t win = i + 1 - L->cand_start;
    if (!L->cand_known && c->nmem &&
        ((win >= MATCH_WIN && L->cand_active >= MATCH_ACTIVE) || win >= MATCH_MAX)) {
        L->cand_ber = memo_match(c, L->cand_start, win, &L->cand_memo);
        L->cand_known = L->cand_ber < MATCH_BER ? 1 : 2;
        if (L->cand_known == 1)
            L->pr_out = 0, L->pr_ready = 0; /* a probe out into it is not listened to */
        else if (L->pr_ready)               /* the reply that waited for the comparison */
            return hold_human(c, i, "probe_reply");
    }
    if (L->cand_known == 1) /* a remembered announcement: not asked, not a person */
        return CQ_OK;
    if (c->probe_frames)
        return probe_arrival(c, i, speech);
    if (L->cand_quiet < QUIET_HANDOVER || L->cand_speech < HANDOVER_SPEECH ||
        (c->nmem && L->cand_known != 2)) /* the comparison first, when there is one to make */
        return CQ_OK;
    return hold_human(c, i, "quiet_handover");
}

/* AMD mode, a machine: the moment to leave a message (Twilio's DetectMessageEnd), frame `at`:
 * the beep's end, or MSG_QUIET after the greeting's last sound when no beep came. */
static int message_end(cq_classifier *c, size_t at, const char *rule)
{
    c->lv.msg_done = 1;
    cq_call_event e = {.confidence = 1};
    return live_event(c, CQ_EV_MESSAGE_END, at, at, rule, &e);
}

/* AMD mode: the greeting is the sound from its first frame on, pauses under AMD_PAUSE within
 * it. A greeting still going after AMD_LONG is a machine; one that stopped shorter and then
 * paused AMD_PAUSE is a person. */
static int live_amd(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    /* a greeting is any sound but a steady tone: the VAD misses many a short "hello?" */
    int speech = c->p.have_vad && c->vad[i] >= SPEECH_PROB;
    if (speech || (c->fr[i].db >= c->p.silence_db && !c->fr[i].tonebin)) {
        if (!L->g_on)
            L->g_on = 1, L->g_start = i, L->g_last = i, L->g_speech = 0, L->g_maxpause = 0;
        if (i - L->g_last > L->g_maxpause)
            L->g_maxpause = i - L->g_last;
        L->g_last = i + 1;
        L->g_speech++;
    }
    if (L->machine && !L->msg_done && !L->beep_done && !L->bp_len &&
        i + 1 - L->g_last >= MSG_QUIET) /* the greeting is over and no beep came */
        return message_end(c, i + 1, "silence_after_greeting");
    if (!L->g_on || L->done)
        return CQ_OK;
    cq_call_event e = {.confidence = 1, .speech_sec = frame_sec(L->g_speech)};
    if (L->g_last - L->g_start >= AMD_LONG) {
        L->done = 1, L->machine = 1;
        e.quiet_sec = frame_sec(L->g_maxpause);
        return live_event(c, CQ_EV_MACHINE, L->g_start, i + 1, "long_greeting", &e);
    }
    if (i + 1 - L->g_last >= AMD_PAUSE) {
        L->done = 1;
        e.quiet_sec = frame_sec(i + 1 - L->g_last);
        return live_event(c, CQ_EV_HUMAN, L->g_start, i + 1, "short_then_pause", &e);
    }
    return CQ_OK;
}

/* AMD mode: a beep is a run of BEEP_MIN to BEEP_MAX frames of one steady tone (its bin within
 * one of the run's first) after the greeting began; it makes an undecided greeting a machine. */
static int beep_end(cq_classifier *c);

static int live_beep(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    int b = c->fr[i].tonebin;
    if (L->beep_done || !L->g_on)
        return CQ_OK;
    if (b && L->bp_len && abs(b - L->bp_bin) <= 1) {
        L->bp_len++, L->bp_sum += b;
        if (L->bp_len > BEEP_MAX)
            L->bp_bin = 1000; /* too long: wait for it to end */
        return CQ_OK;
    }
    int rc = beep_end(c);
    L->bp_len = b ? 1 : 0, L->bp_start = i, L->bp_bin = b, L->bp_sum = b;
    return rc;
}

/* The single-tone run under way has ended: a beep if it lasted BEEP_MIN to BEEP_MAX. */
static int beep_end(cq_classifier *c)
{
    live_state *L = &c->lv;
    int rc = CQ_OK;
    if (!L->beep_done && L->bp_len >= BEEP_MIN && L->bp_len <= BEEP_MAX && L->bp_bin != 1000) {
        size_t a = L->bp_start, z = L->bp_start + L->bp_len;
        L->beep_done = 1;
        if (!L->done) {
            L->done = 1, L->machine = 1;
            cq_call_event m = {.confidence = 1,
                               .speech_sec = frame_sec(L->g_speech),
                               .quiet_sec = frame_sec(L->g_maxpause)};
            if ((rc = live_event(c, CQ_EV_MACHINE, L->g_start, a, "beep_after_greeting", &m)))
                return rc;
        }
        cq_call_event e = {.confidence = 1,
                           .freq_hz = L->bp_sum / (double)L->bp_len * RATE / FRAME};
        rc = live_event(c, CQ_EV_BEEP, a, z, "tone", &e);
        if (rc == CQ_OK && L->machine && !L->msg_done)
            rc = message_end(c, z, "beep");
    }
    L->bp_len = 0;
    return rc;
}

/* The live decisions on decided frames. */
static int live_step(cq_classifier *c, size_t i, int cls)
{
    return c->p.live == CQ_LIVE_HOLD ? live_hold_decided(c, i, cls) : CQ_OK;
}

/* The open silence event, if any, ends at frame `end`. */
static int silence_close(cq_classifier *c, size_t end)
{
    live_state *L = &c->lv;
    if (!L->silence_id)
        return CQ_OK;
    cq_call_event e = {.id = L->silence_id,
                       .type = CQ_EV_SILENCE,
                       .start_sec = frame_sec(L->silence_start),
                       .end_sec = frame_sec(end),
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
                       .start_sec = frame_sec(L->silence_start),
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
        return c->p.have_vad ? live_hold_arrival(c, i) : CQ_OK;
    rc = live_amd(c, i);
    return rc != CQ_OK ? rc : live_beep(c, i);
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

int cq_classifier_probe_played(cq_classifier *c, double start_sec)
{
    live_state *L = &c->lv;
    if (!c->probe_frames || !L->pr_out || L->pr_played || !(start_sec >= 0))
        return CQ_OK;
    const size_t f = (size_t)(start_sec * RATE / FRAME + 0.5);
    L->pr_played = 1;
    if (f > L->pr_start) /* it began later than asked: the reply is listened for after it */
        L->pr_start = f, L->pr_end = f + c->probe_frames;
    return CQ_OK;
}

double cq_classifier_time(const cq_classifier *c)
{
    return frame_sec(c->ndecided);
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
        double fa = frame_sec(i), fb = frame_sec(i + 1);
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
        c->tl[c->ntl++] = (cq_class_seg){(cq_seg_class)c->fr[i].cls, frame_sec(i), frame_sec(j),
                                         (double)agree / (double)(j - i)};
        i = j;
    }
    if (c->ntl && c->tail) /* the last frame was partial */
        c->tl[c->ntl - 1].end_sec = frame_sec(c->ndecided - 1) + (double)c->tail / RATE;
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
    if (c->p.live == CQ_LIVE_AMD && c->lv.g_on && (rc = beep_end(c)) != CQ_OK)
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
