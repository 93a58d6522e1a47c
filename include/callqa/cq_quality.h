/*
 * cq_quality.h - quality indicators that need no model, for one leg: noise floor, speech
 * level and SNR, effective bandwidth, dropouts, level drift. They are measurements of the
 * signal, named as indicators; they are not MOS estimates.
 *
 * The leg is analysed in frames of 32 ms (power and spectrum) and scanned sample by sample for
 * dropouts while it streams; speech and non-speech are told apart at the end, from the VAD's
 * speech segments when given, else from the frame levels (frames within 30 dB of the loudest
 * 1 % count as active). Memory: one float per frame, plus the spectrum sums of 64 level
 * classes.
 *
 * Thread safety: a cq_quality state belongs to one stream.
 */
#ifndef CQ_QUALITY_H
#define CQ_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_quality cq_quality;

/* A time span in seconds (speech segments given to cq_quality_finish). */
typedef struct cq_span {
    double start_sec, end_sec;
} cq_span;

typedef struct cq_quality_result {
    const char *basis; /* "vad": speech from the VAD's segments; "level": from frame
                          levels (no VAD); static string */
    bool has_noise_floor;
    double noise_floor_db; /* dBFS: power mean of the non-speech frames (the loudest 10 %
                              of them left out: clicks, leaked speech) */
    bool has_speech_level;
    double speech_level_db; /* dBFS: power mean of the speech frames */
    bool has_snr;
    double snr_db; /* dB: (speech power - noise power) / noise power; 0 when the
                      speech frames are no louder than the noise */
    bool has_bandwidth;
    double bandwidth_hz;     /* highest frequency where the speech frames' long-term spectrum
                                is within 20 dB of its peak (above 150 Hz) */
    size_t dropouts;         /* near-digital-silence gaps of 5-250 ms inside speech, between
                                louder audio (the signature of lost packets without
                                concealment) */
    double dropout_ms;       /* their total length */
    double dropouts_per_min; /* per minute of speech */
    bool has_drift;
    double level_drift_db; /* speech level of the last third of the speech time minus the
                              first third (needs 30 s of speech) */
    double speech_sec;     /* speech time the figures are based on */
} cq_quality_result;

/* A stream at `sample_rate_hz` (1000..384000). NULL with *err (optional) on failure. */
CQ_API cq_quality *cq_quality_create(int sample_rate_hz, int *err);
CQ_API void cq_quality_destroy(cq_quality *q);

/* Add samples (full scale 1.0). CQ_OK or CQ_ERR_NOMEM. */
CQ_API CQ_NODISCARD int cq_quality_push(cq_quality *q, const float *x, size_t n) CQ_NONNULL(1);

/* Compute the indicators. `speech` (n spans, sorted; may be NULL with use_speech false) are the
 * VAD's segments; without them speech is judged from the frame levels. */
CQ_API CQ_NODISCARD int cq_quality_finish(cq_quality *q, const cq_span *speech, size_t n,
                                          bool use_speech, cq_quality_result *out) CQ_NONNULL(1, 5);

#ifdef __cplusplus
}
#endif
#endif /* CQ_QUALITY_H */
