/*
 * tones_int.h - what tones.c and tones_cadence.c share of cq_tones (library-internal): the
 * detector's constants, its table tones' ids, the runs it names (seg) and its state. tones.c
 * hears the frames, names the runs and takes the digits; tones_cadence.c matches the named runs
 * to the cadences of the tables and hands out their events.
 */
#ifndef CALLQA_DSP_TONES_INT_H
#define CALLQA_DSP_TONES_INT_H

#include <spandsp.h>
#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_tones.h"
#include "dtmf_int.h"

#define RATE 8000
#define FR 160 /* frame, samples */
#define MIN_DB -50.0
#define RUN_HOLD_DB 10.0 /* a run goes on through tonal frames this far under MIN_DB */
#define FRAME_PURITY 0.6
#define RUN_PURITY 0.7 /* share of a run's power within RUN_BAND_HZ of its tone */
#define RUN_PEAK 0.35  /* share at the tone's nominal frequencies themselves */
#define RUN_BAND_HZ 50.0
#define HARM_MAX 0.1 /* power at the 2nd and 3rd harmonics a named run may have, of its tone's */
#define RUN_MAX (RATE / 4) /* samples kept to name a run: its first 0.25 s */
#define MIN_RUN 8          /* frames: the shortest run named (0.16 s) */
#define BRIDGE                                                                                     \
    4             /* frames: the longest gap a run goes on across (a lost packet or                \
                     three, zeroed; the shortest gap of a cadence is 0.16 s) */
#define EDGE_N 16 /* frames at either end of a run whose levels place its edges */
#define EDGE_DB                                                                                    \
    12.0 /* a run's edge: the first (last) frame within this of the loudest                        \
            of the first (last) EDGE_N (a codec smears a burst's edges) */
#define FRAG_EDGE                                                                                  \
    (RATE / 4)            /* a run starting this near the recording's start may have been cut      \
                             by it (an MP3 decoder alone delays the audio by 0.14 s) */
#define CHAIN_GAP_SEC 6.0 /* bursts further apart are separate */
#define EDGE_Q                                                                                     \
    0.02 /* a burst's or a gap's length as measured may be one 20 ms frame off (its edges fall     \
            on frames): a congestion tone 10 % long (0.275 s on, 0.225 s off) reads 0.30 / 0.20 */
#define SLACK_SEC                                                                                  \
    0.07                 /* a burst or gap may be this much further off nominal than the           \
                            cadence's tolerance: 1-3 frames of 20 ms lost, zeroed or cut out       \
                            of the recording */
#define SIT_GAP 0.1      /* the longest gap between the tones of one SIT (s) */
#define DTMF_GAP_SEC 2.0 /* digits closer than this form one event */
#define DTMF_LAG 240     /* samples from a digit's edge to libspandsp's report of it */
#define DTMF_QUEUE 16    /* digits waiting to be taken in order */
/* a digit libspandsp's receiver alone heard (pressed): each of its tones PRESS_EDGE_DB over
 * its quietest window of PRESS_WIN samples (every PRESS_HOP) within PRESS_REACH before or after
 * it; the ring keeps the last PRESS_RING samples */
#define PRESS_EDGE_DB 10.0
#define PRESS_WIN 160
#define PRESS_HOP 40
#define PRESS_REACH 800
#define PRESS_RING 16384
#define TRAIN_PMIN 0.06 /* a train's digits start every 60-160 ms (s) */
#define TRAIN_PMAX 0.16
#define TRAIN_TOL 0.012      /* each midpoint within this of the train's cadence (s) */
#define TRAIN_MIN_TONE 0.036 /* the shortest gate probed (s; 35 ms at the fit's rate) */
#define TRAIN_KEEP 16        /* digits taken that a train is sought among */
#define TRAIN_GAP 3          /* a train's digits are 1 to this many periods apart */
#define TRAIN_MAX_TONE 0.12  /* the longest tone of a train helped (s) */
#define TRAIN_AFTER 0.1      /* a slot is probed this long after its end (s), */
#define TRAIN_LATE 0.45      /* and not later than this (the 0.5 s of cq_tones_poll) */
#define DTMF_BAND_Q 5.0      /* the DTMF receiver hears 8 bands, 140-330 Hz wide (see below) */

enum {
    T_NA_RING,
    T_NA_BUSY,
    T_UK_RING,
    T_UK_BUSY,
    T_EU,
    T_SIT1A,
    T_SIT1B,
    T_SIT2A,
    T_SIT2B,
    T_SIT3,
    T_CNG,
    T_CED,
    T_DIAL,
    N_IDS
};
#define NBANK 16 /* Goertzel lanes per frame: the distinct table frequencies, padded */

/* The receivers a digit comes from (queue_digit): libspandsp's, ours on the signal, ours on the
 * signal with the voice cancelled, and a train's slot probed (train_fill). */
enum { FROM_SPANDSP, FROM_RX2, FROM_RX3, FROM_SLOT };

/* A digit a receiver reported. */
typedef struct heard {
    char symbol;
    int exact;     /* its span is the key's (not from the voice-cancelled signal) */
    int alone;     /* libspandsp's receiver alone reported it (flush_digits asks more of it) */
    int refined;   /* the key's own span is in ka, kb (cq__dtmf_refine), or can no longer be */
    double a, b;   /* its span as reported (s) */
    double ka, kb; /* the key's own span (s; for trains) */
    double lv[2];  /* its row's and column's fitted amplitudes there (0: not measured) */
} heard;

typedef struct seg {
    int id;
    double start, end; /* s */
} seg;

/* A run too short to name that the recording's start (head) or end (tail) cut. */
typedef struct frag {
    float x[(MIN_RUN + 1) * FR];
    size_t n;          /* 0: none */
    double start, end; /* s */
} frag;

struct cq_tones {
    dtmf_rx_state_t *dtmf;
    uint64_t pos; /* samples pushed */
    float frame[FR];
    int nframe;
    float win[FR];
    double win_sum, win2_sum;
    /* the frame bank: every distinct table frequency, one Goertzel lane each */
    float bank_c[NBANK];    /* 2 cos(w) */
    double bank_sin[NBANK]; /* sin(w) */
    int id_lane[N_IDS][2];  /* lanes of each table tone's components (-1: none) */
    /* the current run of tonal frames */
    int in_run, gap_frames;
    double run_f; /* centre frequency of the tone the run began with */
    uint64_t run_start, run_end;
    uint64_t run_x0;   /* the sample run[0] is (run_start before its edge is placed) */
    float prev[FR];    /* the frame before the last (a run's onset may lie in it) */
    float run_pre[FR]; /* the frame before the run's first */
    struct edge {      /* the run's first and last tonal frames: level and span */
        float db;
        uint64_t a, b;
    } head_fr[EDGE_N], tail_fr[EDGE_N];
    int nhead_fr, ntail_fr; /* tail_fr is a ring: the last EDGE_N frames, ntail_fr taken */
    float *run;             /* its first RUN_MAX samples */
    size_t run_len;
    int run_judged;    /* its first RUN_MAX samples (all of a shorter run) measured: 1 a table
                          tone, -1 not one (a musical note beside a table frequency); 0 not yet */
    unsigned nrefused; /* runs measured and not a table tone, so far */
    uint64_t refused_a, refused_b; /* the latest of them (samples) */
    seg *segs;
    size_t nsegs, capsegs;
    /* the chain being matched to a cadence (settle): segs [c0, c1) of one tone */
    size_t c0, c1;
    int cad, phase;   /* its cadence (k_cad) and the pattern's phase at c0; -1: none yet */
    unsigned cid;     /* its event's id, once announced */
    double cstart;    /* its start: segs[c0]'s, or the head fragment's */
    unsigned next_id; /* event ids handed out */
    frag head, tail;
    seg used[2];         /* the head and the tail fragment, when a chain took them */
    uint64_t stream_end; /* samples in the stream, once it ended (0 before) */
    /* DTMF digits as they start and stop; digits closer than DTMF_GAP_SEC gather in dtmf_ev */
    int digit; /* current digit, 0 when none */
    uint64_t digit_start;
    cq_tone_event dtmf_ev;
    int dtmf_open;
    cq__dtmf *rx2; /* our receiver, for digits under speech (dtmf.c) */
    cq__dtmf *rx3; /* the same on the voice-cancelled signal */
    float *ring;   /* the last PRESS_RING samples (pressed) */
    float press_win[PRESS_WIN];
    double press_wsum;
    heard recent[TRAIN_KEEP]; /* the last digits taken, latest first: to merge the receivers'
                               * reports, and for trains */
    int nrecent;
    heard queue[DTMF_QUEUE]; /* digits reported, in order of start, until no receiver can
                              * report one that starts earlier */
    int nqueue;
    int closing;        /* the stream ended: a digit still on ends at its last sample */
    float band_c[3][8]; /* the DTMF bands: b0 (= -b2), a1, a2 of each resonator */
    float band_z[2][8]; /* their states (transposed direct form II) */
    /* fax tones confirmed by libspandsp's detectors (times in s) */
    modem_connect_tones_rx_state_t *cng, *ced;
    double *fax_at[2];
    size_t nfax[2], capfax[2];
    cq_tone_event *ev;  /* in the order they were settled */
    cq_tone_event *box; /* for the next poll: settled events and open ones */
    size_t nbox, capbox;
    cq_tone_event *polled; /* what the last poll handed out */
    size_t cappolled;
    double probed;         /* the start (s) of the last slot of a train probed */
    double probed_in;      /* and of the last probed between two of its digits */
    cq_tone_event *sorted; /* the same in time order, from cq_tones_finish */
    size_t nev, capev;
    int finished;
    int nomem; /* an allocation inside a callback failed */
};

/* tones.c's, for the cadences: an event for the next poll (box_event) and settled (keep_event),
 * 0 or CQ_ERR_NOMEM; whether libspandsp's fax detector confirmed tone WHICH (0 CNG, 1 CED)
 * within [a, b] s; the share of x's power at table tone ID's frequencies */
int cq__tones_box_event(cq_tones *t, const cq_tone_event *e);
int cq__tones_keep_event(cq_tones *t, const cq_tone_event *e);
int cq__tones_fax_confirmed(const cq_tones *t, int which, double a, double b);
double cq__tones_share(const float *x, size_t n, int id);

/* tones_cadence.c: the chains of named runs matched to their cadences as far as the stream at
 * NOW s allows (all of them when FINAL), their events boxed and kept. CQ_OK or CQ_ERR_NOMEM. */
int cq__tones_chains(cq_tones *t, double now, int final);

#endif
