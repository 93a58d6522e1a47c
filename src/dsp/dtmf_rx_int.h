/*
 * dtmf_rx_int.h - what dtmf.c and dtmf_cancel.c share of the receiver for digits under speech
 * (library-internal; tones.c sees only dtmf_int.h): its constants, the frames and runs it reads
 * and its state. dtmf.c reads the frames, judges the runs and fits the gated tones;
 * dtmf_cancel.c is the voice canceller whose output the twin receiver reads.
 */
#ifndef CALLQA_DSP_DTMF_RX_INT_H
#define CALLQA_DSP_DTMF_RX_INT_H

#include <stdint.h>

#include "dtmf_int.h"

#define RATE 8000
#define PI 3.14159265358979323846
#define NW 320     /* window, samples (40 ms) */
#define DRATE 4000 /* the frames are read at half the rate (every band is under 1.8 kHz) */
#define DNW (NW / 2)
#define NHB 79 /* taps of the half-band filter before it */
#define DELAY ((NHB - 1) / 2)
#define DHIST 1024 /* samples kept at DRATE */
#define HOP 40     /* 5 ms */
#define NFAR 8
#define NF (24 + 8 * NFAR) /* nominal, -1.5 %, +1.5 %, then the points around each */
#define NEAR 24            /* the lanes every frame reads: nominal and 1.5 % either side */
#define NREC 64            /* frames kept */
#define HIST 2048          /* samples kept: the window, and a run for the harmonic test */
#define NPEND 16
#define FTOL 0.015 /* Q.24: accept +-1.5 % */
#define MIN_DB -60.0
#define TWIST_NORMAL_DB 8.0 /* column under row */
#define TWIST_REVERSE_DB 4.0
#define FRAME_SHARE 0.05
#define GAP_FRAMES 2
#define DIP_DB 12.0
#define PRE_A 12 /* the level before a run: frames PRE_A..PRE_B before it */
#define PRE_B 5
#define POST 8 /* and after it: frames PRE_B..POST after it */
#define MIN_FRAMES 6
#define CORE_DB 6.0
#define MIN_CORE 6 /* frames in the core: 5 for a 20 ms tone, 7-8 for 40 ms */
#define MAX_COMOD_DB 1.0
#define MIN_BAND_SHARE 0.12
#define MIN_EDGE_DB 12.0
#define MAX_GLIDE_PCT 0.5
#define AMB_GLIDE_PCT 0.3
#define AMB_DB 6.0
#define MAX_AMB 0.2
#define MAX_HARM_DB 15.0
#define CANCEL_DOM_DB 2.0   /* on the voice-cancelled signal, each tone this over its group */
#define CANCEL_COMOD_DB 1.8 /* and the tones rise and fall together within this */
#define CANCEL_FTOL_PCT 0.5 /* on the voice-cancelled signal, each tone within this of nominal */
#define HARM_TOL 0.008

/* the voice canceller (at DRATE) */
#define SEG 20 /* samples per pitch segment (5 ms; one frame hop) */
#define TMIN 8 /* lags searched: 500 ... 69 Hz */
#define TMAX 58
#define PW 80         /* pitch window (20 ms) */
#define NTAP 32       /* fractional-delay interpolator */
#define NPER 2        /* periods either side in the comb */
#define FPH 256       /* phases of the fractional-delay table */
#define VOICED 0.35   /* normalised comb residual under which a segment is voiced */
#define GFLOOR 0.01   /* floor of the mean squared tone gain in a frame */
#define GAIN_MIN 0.35 /* under this mean squared gain a tone is not judged */
/* samples needed after a segment's start (the pitch window and the comb's reach) */
#define AHEAD (SEG + NPER * TMAX + NTAP / 2 + 3)
#define NREFUSED 16 /* refused runs kept for the gated fit */
/* samples of the voice-cancelled signal kept (2 s at DRATE: a train's slots, tones.c) */
#define YHIST 8192
#define NSEGR (YHIST / SEG + 8) /* segments whose period is kept (more than YHIST samples) */

/* the gated fit (voice-cancelled receiver: a run the tests refuse) */
#define FIT_MIN_FRAMES 5 /* the shortest run it is tried on, frames */
#define FIT_MAX_SPAN 480 /* the longest, samples at DRATE (120 ms) */
#define FIT_REACH (NPER * TMAX + 2)
#define FIT_SHIFT 40     /* the gate's ends are sought this far either side (10 ms), */
#define FIT_STEP 20      /* in steps of 5 ms */
#define FIT_MIN_GATE 60  /* the shortest gate tried, samples at DRATE (15 ms) */
#define FIT_MIN_TONE 140 /* and the shortest taken (35 ms; Q.24: 40 ms is a digit, 20 ms not) */
#define FIT_EDGE 100     /* the windows before and after the gate, samples at DRATE (25 ms) */
#define FIT_AFTER (FIT_SHIFT + FIT_EDGE + FIT_REACH) /* samples needed after a run's end */
#define FIT_WARM 32 /* samples the high-pass runs before the fit's window */
#define FIT_DOM_DB 6.0
#define FIT_SNR_DB (-1.0)
#define FIT_STEADY_SNR_DB (-10.0) /* a steady pair (FIT_STEADY) may stand this low */
#define FIT_STEADY 0.3            /* |rho| of both tones: change over the half gate */
#define FIT_STEADY_KEY 0.2 /* a steady pair (|rho|) may lead a rival by less than FIT_DOM_DB, */
#define FIT_UNSTEADY 0.5   /* when every such rival changes this much or more */
#define FIT_EDGE_DB 9.0
#define FIT_GAIN 0.7
#define FIT_HOPE_DB 6.0        /* further than this from a limit on the run's span: no search */
#define SLOT_SNR_DB (-10.0)    /* a train's slot (cq__dtmf_probe): the weaker tone this low, */
#define SLOT_DOM_DB 6.0        /* the key this over the rest of its groups, */
#define SLOT_STEADY 0.4        /* both tones within this (|rho|) */
#define SLOT_FREE_SNR_DB 3.0   /* when the weaker stands under this */
#define SLOT_HARM_DB (-4.0)    /* under this, not both on harmonics of the voice (FIT_GAIN) */
#define SLOT_IN_SNR_DB (-6.0)  /* a slot between two of the train's digits: the weaker this high */
#define SLOT_IN_EDGE_DB 15.0   /* and each this over its fit before or after the gate, */
#define SLOT_IN_STEADY 1.0     /* a key SLOT_DOM_DB clear may change this much (|rho|), */
#define SLOT_IN_DOM_DB 3.0     /* one this clear */
#define SLOT_IN_KEY_STEADY 0.5 /* this much */
#define SLOT_LEVEL_DB 3.0      /* a key at the train's level: each tone this near it, */
#define SLOT_LEVEL_REST_DB 6.5 /* every other tone of its group this far under it, */
#define SLOT_LEVEL_SNR_DB (-10.0) /* the weaker this high, */
#define SLOT_LEVEL_STEADY 0.6     /* both steady within this (|rho|), */
#define SLOT_LEVEL_EDGE_DB 6.0    /* and each this over its fit before or after the gate */
#define SLOT_SHIFT 40             /* the gate's ends sought this far either way (10 ms), */
#define SLOT_STEP 10              /* in steps of 2.5 ms */
#define REFINE_SHIFT 80 /* a digit's span (cq__dtmf_refine): ends sought 20 ms either way, */
#define REFINE_MIN 80   /* gates of 20 ms or more */
#define NFIT 32         /* columns of the fit with the tones' slopes, or with a second gate's */

typedef struct frec {
    float pw[8];         /* power at the 8 frequencies (a sine of power P reads P) */
    float band;          /* sum of the powers read across the DTMF bands */
    float re[8], im[8];  /* the DFT at the 8 frequencies, phase from the stream's start */
    unsigned char tonal; /* bit k: frequency k peaks within FTOL of nominal, above MIN_DB */
    uint64_t centre;
} frec;

typedef struct run {
    char sym;
    int r, c;             /* row 0-3, column 4-7 */
    uint64_t first, last; /* frame indices */
    uint64_t start;       /* the first frame's centre (sample) */
    int frames;
    float peak; /* highest min(row, column) power */
} run;

struct cq__dtmf {
    cq__dtmf_report report;
    void *user;
    float coef[NF]; /* 2 cos(w) of each lane (Goertzel) */
    double cosw[NF], sinw[NF];
    float win[DNW];
    float
        hb[NHB + 1]; /* half-band low-pass (Blackman-windowed sinc): 1.8 kHz -0.5 dB, 2.3 kHz -78 */
    float fir[2 * NHB + 1]; /* the last NHB samples twice over, so that they lie in a row */
    int firw;
    float dhist[DHIST];
    uint64_t dpos;                /* samples at DRATE */
    double rot[8][2], step[8][2]; /* e^{-j w last} of the last frame; e^{-j w HOP / 2} */
    double w2sum, norm;
    double min_pw, twist_rev, twist_norm, dip; /* the dB limits as power ratios */
    float hist[HIST];
    uint64_t pos;
    int nbuf;
    frec rec[NREC];
    uint64_t nfr;
    run act[16]; /* per symbol: its run under way (sym 0: none) */
    int off[16];
    run pend[NPEND]; /* closed runs waiting for the frames after them */
    int npend;
    run held; /* an accepted digit not reported yet (sym 0: none) */
    /* runs the tests refused or were too short for, for the voice-cancelled receiver to fit: a
     * ring, and how many were put there; that receiver's count of those it took from its twin's
     * ring and from its own */
    struct {
        run u;
        uint64_t end; /* its last frame's centre */
    } refused[NREFUSED];
    uint64_t nrefused, ntaken, ntaken_own; /* taken: from the twin's ring, from its own */
    float harm_x[HIST];
    /* voice cancelling (twin != NULL): the half-band output is the twin's (dhist) */
    const cq__dtmf *twin;
    float nc[8][3], nz[8][2]; /* DTMF notches before the pitch estimate */
    float nhist[DHIST];       /* the notched signal */
    float nprev;
    float *yhist;              /* the voice-cancelled signal (YHIST samples) */
    uint64_t ypos;             /* samples of yhist produced */
    float g[8][NEAR];          /* the tone gains of the last 8 segments (ring by segment) */
    float tper[NSEGR];         /* each segment's period T (0: unvoiced; ring by segment) */
    float wseg[8];             /* the window's sum over each segment of a frame */
    float ftab[FPH + 1][NTAP]; /* fractional-delay taps, by phase */
};

/* dtmf.c's: the voice canceller's real gain at DTMF frequency K (0-7) for the period T
 * (samples at DRATE) */
double cq__dtmf_comb_gain(int k, double T);

/* dtmf_cancel.c: the fractional-delay taps for FRAC (0-1) of a sample into H (NTAP of them: a
 * Kaiser-windowed sinc), and the voice cancelled from the segment of d's notched signal that
 * ends AHEAD samples back, into d->yhist, with its period and tone gains */
void cq__dtmf_frac_taps_exact(double frac, float *h);
void cq__dtmf_cancel_segment(cq__dtmf *d);

#endif
