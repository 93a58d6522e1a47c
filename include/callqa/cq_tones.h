/*
 * cq_tones.h - tones on one leg at 8 kHz: DTMF digits (libspandsp's ITU-T Q.24 receiver and
 * ours, which also finds digits under speech; docs/events.md), call-progress tones matched
 * against cadence tables (North American, UK and European ringback and busy, SIT), and fax
 * tones (CNG 1100 Hz, CED/ANS 2100 Hz; libspandsp).
 *
 * Call-progress detection is ours: 20 ms frames are flagged when their power sits in one or
 * two of the table's frequencies; runs of flagged frames (0.2 s or longer) are re-measured
 * over their first 0.25 s (a few Hz of resolution) to name the frequencies; the on/off pattern
 * of runs with the same frequencies is matched against each table entry's cadence.
 *
 * Streaming: push samples as they come and poll for events. An event is handed out open as
 * soon as it is recognised (a chain of bursts that already matches a cadence; each DTMF digit
 * as it ends, with the digits so far, where a digit found later in an empty slot of a train
 * of digits is inserted in its place), and complete once nothing more can join it (a cadence
 * 6 s after its last burst; DTMF after 2 s without a digit). cq_tones_finish closes all.
 * Fax tones need both our cadence match and libspandsp's CNG / ANS receiver.
 */
#ifndef CQ_TONES_H
#define CQ_TONES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_tones cq_tones;

typedef enum cq_tone_kind {
    CQ_TONE_DTMF = 1, /* digits */
    CQ_TONE_RINGBACK = 2,
    CQ_TONE_BUSY = 3,
    CQ_TONE_CONGESTION = 4, /* reorder / fast busy */
    CQ_TONE_SIT = 5,        /* special information tone (intercept, vacant, no circuit) */
    CQ_TONE_FAX_CNG = 6,    /* calling fax, 1100 Hz */
    CQ_TONE_FAX_CED = 7     /* answering fax/modem, 2100 Hz */
} cq_tone_kind;

typedef struct cq_tone_event {
    unsigned id; /* the same for an event's open and complete hand-outs (from 1) */
    cq_tone_kind kind;
    double start_sec, end_sec; /* first tone on to last tone off */
    char digits[64];           /* DTMF: the digits in order; else "" */
    const char *region;        /* cadence table: "na", "uk", "eu", "itu"; NULL for DTMF/fax */
    int cycles;                /* cadence cycles (or tone bursts) matched */
    bool open;                 /* streaming (cq_tones_poll) only: the event has begun and may go
                                  on; the complete event follows with open = false */
} cq_tone_event;

/*
 * Which DTMF receivers hear the leg. libspandsp's ITU-T Q.24 receiver always does: it finds
 * digits keyed while the other party listens, through every codec, and no digit in hours of
 * conversation (docs/events.md). Ours, made for digits keyed while someone talks, find more of
 * those but also, rarely, a digit in plain conversation (talk-off: a false digit is worse than
 * a missed one), so they run only on request.
 */
typedef struct cq_tones_params {
    bool dtmf_speech;       /* our receiver on the signal; default false */
    bool dtmf_voice_cancel; /* and ours on the voice-cancelled signal, with its gated fit and
                               the empty slots of trains probed; implies dtmf_speech; default
                               false */
} cq_tones_params;

CQ_API cq_tones_params cq_tones_default_params(void);

/* Create a detector for 8 kHz audio (p NULL: the defaults). NULL with *err (optional) on
 * failure. */
CQ_API cq_tones *cq_tones_create(const cq_tones_params *p, int *err);
CQ_API void cq_tones_destroy(cq_tones *t);

/* Add 8 kHz samples (full scale 1.0). CQ_OK or CQ_ERR_NOMEM. */
CQ_API CQ_NODISCARD int cq_tones_push(cq_tones *t, const float *x, size_t n) CQ_NONNULL(1);

/* Events opened or completed since the last poll, in that order (valid until the next poll
 * or destroy). */
CQ_API CQ_NODISCARD int cq_tones_poll(cq_tones *t, const cq_tone_event **events, size_t *n)
    CQ_NONNULL(1, 2, 3);

/* Close what is open and hand out all the events in time order (valid until destroy). The
 * events this closing completed are also handed out by one more cq_tones_poll. */
CQ_API CQ_NODISCARD int cq_tones_finish(cq_tones *t, const cq_tone_event **events, size_t *n)
    CQ_NONNULL(1, 2, 3);

/* The runs of tone (any table tone, before cadence matching) found so far, and the pieces of
 * a burst at the recording's ends that an event took: up to max of them into out, in time
 * order; returns how many there are. */
typedef struct cq_tone_run {
    double start_sec, end_sec;
} cq_tone_run;
CQ_API size_t cq_tones_runs(const cq_tones *t, cq_tone_run *out, size_t max) CQ_NONNULL(1);

/* Whether a tone (a table tone or a DTMF digit) is sounding at the last sample pushed. */
CQ_API bool cq_tones_active(const cq_tones *t) CQ_NONNULL(1);
/* Whether a call-progress signal may be sounding at the last sample pushed: a DTMF digit, or a
 * run of tonal frames that is a table tone at fine resolution or not yet measured (its first
 * 0.25 s). A run measured and found not to be one (a musical note beside a table frequency, a
 * chord, a note that moves) is not. */
CQ_API bool cq_tones_signal(const cq_tones *t) CQ_NONNULL(1);
/* The first sample of the run of tonal frames still to be measured, UINT64_MAX when none is. */
CQ_API uint64_t cq_tones_unjudged_from(const cq_tones *t) CQ_NONNULL(1);
/* How many runs have been measured and found not to be a table tone so far; the latest one's
 * samples in [*start, *end) (to the last sample pushed while it goes on). */
CQ_API unsigned cq_tones_refused(const cq_tones *t, uint64_t *start, uint64_t *end)
    CQ_NONNULL(1, 2, 3);
/* Whether a DTMF digit is sounding (or waits to be taken) at the last sample pushed. */
CQ_API bool cq_tones_dtmf_active(const cq_tones *t) CQ_NONNULL(1);

/* "dtmf", "ringback", "busy", "congestion", "sit", "fax_cng", "fax_ced". */
CQ_API const char *cq_tone_kind_name(cq_tone_kind k);

#ifdef __cplusplus
}
#endif
#endif /* CQ_TONES_H */
