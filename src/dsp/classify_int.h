/*
 * classify_int.h - what the classifier's three files share (library-internal): its state, the
 * frame grid, and the live rules each runs for the others. classify.c: the frames, their
 * features, the timeline, the hold state machine, the public API and the decision loop (DESIGN
 * comment there); classify_hold.c: the hold mode's live rules (prompts, the probe, remembered
 * announcements); classify_amd.c: the answering-machine rules (greeting, beep, message end).
 */
#ifndef CQ_CLASSIFY_INT_H
#define CQ_CLASSIFY_INT_H

#include <fftw3.h>
#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_classify.h"

#define FRAME CQ_CLASSIFY_FRAME
#define RATE CQ_CLASSIFY_RATE
#define SPEECH_PROB 0.5
/* remembered announcements' fingerprints (hold mode; docs/live/hold-slayer.md, "Remembered
 * announcements") */
#define FP_BANDS 17 /* bands of the fingerprint, FP_BIN0 .. FP_BIN0 + FP_BANDS * FP_WIDTH */
#define FP_SMOOTH 4 /* frames (128 ms) summed into each band energy */
#define FP_LAG 2    /* frames between the sums compared */
#define FP_HIST (FP_LAG + FP_SMOOTH - 1) /* frames of band energies kept before this one */
#define MEM_MAX 16 /* announcements remembered per call (the oldest learned go first) */

typedef struct frame {
    float db;
    uint8_t musicish; /* own spectral evidence */
    uint8_t tonal;    /* a table tone or a DTMF digit sounds at its end (cq_tones_active) */
    uint8_t cls;      /* decided class */
    uint8_t own;      /* class from the frame's own evidence alone */
    uint8_t tonebin;  /* a single steady tone's bin (BEEP_LO..BEEP_HI), else 0 */
    uint8_t dtmf;     /* a DTMF digit sounds at its end (cq_tones_dtmf_active) */
    uint16_t fp;      /* its fingerprint word (cq__cls_fp_word) */
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
    int g_again;   /* amd: frames of sound since a pause of AMD_PAUSE, not yet the greeting's */
    int beep_done; /* amd: the beep is out */
    int machine;   /* amd: the decision was a machine */
    int msg_done;  /* amd: its message_end is out */
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
    int pr_sent;             /* probes sent for the candidate */
    int pr_over;             /* of them, talked over by the line (not counted as heard) */
    int pr_answers;          /* of them, answered (a reply confirmed) */
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

/* Frame i's start in seconds (the end of frame i - 1). */
static inline double cq__cls_frame_sec(size_t i)
{
    return (double)i * FRAME / RATE;
}

/* classify.c: a live decision, closed, over frames [from, to) by `rule`: e (its evidence filled
 * in) takes the next id and the type, and joins the events. */
int cq__cls_live_event(cq_classifier *c, cq_event_type t, size_t from, size_t to, const char *rule,
                       cq_call_event *e);

/* classify_hold.c: the fingerprint word of the frame just transformed (c->fout); the hold mode's
 * rules on a decided frame (class cls) and on a frame as it arrives. */
uint16_t cq__cls_fp_word(cq_classifier *c);
int cq__cls_live_hold_decided(cq_classifier *c, size_t i, int cls);
int cq__cls_live_hold_arrival(cq_classifier *c, size_t i);

/* classify_amd.c: the AMD mode's rules on a frame as it arrives (the greeting, then the beep),
 * and the end of the single-tone run under way (at the stream's end too). */
int cq__cls_live_amd(cq_classifier *c, size_t i);
int cq__cls_live_beep(cq_classifier *c, size_t i);
int cq__cls_beep_end(cq_classifier *c);

#endif
