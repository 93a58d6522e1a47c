/*
 * redact_int.h - the redacted audio copy of a call, as the files of the redaction share it:
 * redact.c (the settings, the one walk, the copy's whole from plan to verified file, calls
 * already stored), redact_copy.c (the intervals, the recording read again and the copy written),
 * redact_place.c (the transcript's spans placed on the audio) and redact_dtmf.c (the keyed
 * digits: the report's runs and pause codes, the receivers' runs, the copy's check). Only those
 * files include it.
 */
#ifndef CQ_PL_REDACT_INT_H
#define CQ_PL_REDACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../privacy/privacy.h"
#include "../transcript/transcript.h"
#include "pl_int.h"

#define PL__RD_BLOCK 4096 /* frames read at a time */

/* ---- intervals of a call's time (redact_copy.c) ---------------------------------------------- */

typedef struct pl__ivl {
    double a, b;
    const char *why; /* "span", "dtmf", "pause" */
} pl__ivl;

typedef struct pl__ivl_list {
    pl__ivl *v;
    size_t n, cap;
} pl__ivl_list;

/* [a, b] appended (a below 0 from 0; an empty one left out): 0, or -1 (memory). */
int pl__ivl_add(pl__ivl_list *l, double a, double b, const char *why);
/* l sorted by start, overlapping ones merged */
void pl__ivl_merge(pl__ivl_list *l);

/* ---- the recording read again, the copy written (redact_copy.c) ------------------------------ */

typedef struct pl__src_pair {
    cq_audio *a[2];
    int n;        /* 1: one file (its channels), 2: two leg files */
    int channels; /* written */
    int rate;
} pl__src_pair;

/* c's recording opened again (the one file, or the two legs at one rate): 0, or -1 with why. */
int pl__src_open(const cq_call_src *c, pl__src_pair *s, char *why, size_t n);
void pl__src_close(pl__src_pair *s);
/* a sample as 16-bit PCM, clipped */
int16_t pl__to_s16(float x);
/* what is written at frame i of an interval (mode 2: the tone; else silence) */
int16_t pl__covered(int mode, int64_t i, int rate);
/* The copy written to fd (a WAV header, then the frames), each channel c covered over iv[c]
 * (mode 1: silence, 2: the tone); s, the recording read, is closed again. 0, or -1 with why. */
int pl__write_copy(const cq_call_src *c, const pl__ivl_list iv[2], int mode, int fd,
                   pl__src_pair *s, char *why, size_t n);

/* ---- the transcript's spans placed on the audio (redact_place.c) ------------------------------
 */

typedef struct pl__lv_map {
    float *db[2]; /* each frame's level, dBFS, per channel */
    size_t n;     /* frames */
    int ch;       /* channels (1 or 2) */
    double fs;    /* a frame's seconds */
    float thr[2]; /* speech: above this */
    int in_ch;    /* the inbound leg's channel (the report's channel map; legs: 0) */
} pl__lv_map;

/* The recording's levels, frame by frame and channel by channel. 0, or -1 with why. */
int pl__levels_of(const cq_call_src *c, const cq_report *rep, pl__lv_map *m, char *why, size_t n);
void pl__lv_free(pl__lv_map *m);
/* The channel a transcript leg's speech is on. */
int pl__chan_of(const pl__lv_map *m, const tx_transcript *tx, int leg);
/* Span sp placed on the audio: [*a, *b] on its channel. */
void pl__place_span(const pl__lv_map *m, const tx_transcript *tx, const pv_span *sp, double guard,
                    double *a, double *b);
/* The other channel o over [a, b] (the value on channel c): the stretches muted appended to out,
 * those where o's own party speaks left out. 0, or -1 (memory). */
int pl__other_channel(const pl__lv_map *m, int c, int o, double a, double b, pl__ivl_list *out);

/* ---- the keyed digits, the copy's check (redact_dtmf.c) ---------------------------------------
 */

/* The intervals of a call covered on every channel: the report's DTMF runs, the pauses (the
 * transcript's spans are placed on their leg's audio: pl__place_span). 0, or -1 (memory). */
int pl__intervals_of(const pl_redact_plan *p, const cq_report *rep, pl__ivl_list *out,
                     size_t *dtmf_runs, size_t *pauses);
/* The keyed digits of the recording itself (each leg file, or the one file), heard by the
 * sensitive receivers: their runs appended to iv. *runs: how many. 0, or -1 with why. */
int pl__scan_source(const cq_call_src *src, double guard, pl__ivl_list *iv, size_t *runs,
                    size_t *lone, char *why, size_t n);

typedef struct pl__verify_out {
    size_t digits;      /* keyed digits heard in the copy */
    size_t lone;        /* single digits heard alone (lone_digit): not counted in digits */
    double digit_at;    /* the first one's time */
    size_t bad_ivl;     /* intervals holding something else than silence or the tone */
    double bad_at;      /* the first one's start */
    size_t ivl_checked; /* intervals checked */
} pl__verify_out;

/* The copy at path read back: its keyed digits, and each interval of iv[c] holding only what was
 * written there (mode). 0, or -1 with why. */
int pl__verify_copy(const char *path, const pl__ivl_list iv[2], int mode, pl__verify_out *v,
                    char *why, size_t n);

#endif /* CQ_PL_REDACT_INT_H */
