/*
 * cq_speech.h - speech segments from per-chunk speech probabilities, with the semantics of
 * Silero's `get_speech_timestamps` (hysteresis between threshold and neg_threshold, minimum
 * speech and silence durations, optional maximum speech duration, padding), so that callqa's
 * segments equal the reference pipeline's given the same probabilities.
 *
 * Pure function over an array of probabilities; times are in samples of the VAD's rate.
 */
#ifndef CQ_SPEECH_H
#define CQ_SPEECH_H

#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_speech_params {
    float threshold;       /* speech when prob >= threshold; default 0.5 */
    float neg_threshold;   /* silence when prob < neg_threshold; < 0 means
                              max(threshold - 0.15, 0.01), Silero's default */
    int min_speech_ms;     /* shorter segments are dropped; default 250 */
    int min_silence_ms;    /* shorter pauses do not end a segment; default 300 */
    int speech_pad_ms;     /* added on both sides of each segment; default 30 */
    double max_speech_sec; /* longer segments are split; default +inf (no limit) */
} cq_speech_params;

typedef struct cq_speech_seg {
    uint64_t start; /* first sample of speech */
    uint64_t end;   /* one past the last sample */
} cq_speech_seg;

/* The old design's parameters (threshold 0.5, neg 0.35, 250 ms, 300 ms, pad 30 ms, no max). */
CQ_API cq_speech_params cq_speech_default_params(void);

/*
 * Segments from `n_chunks` probabilities, chunk i covering samples [i * chunk_samples,
 * (i + 1) * chunk_samples), over a stream of `n_samples` samples at `sample_rate_hz`.
 * On success *out (free with cq_speech_free) holds *n_out segments, sorted and disjoint.
 * Returns CQ_OK, CQ_ERR_INVALID (parameters) or CQ_ERR_NOMEM.
 */
CQ_API CQ_NODISCARD int cq_speech_timestamps(const float *probs, size_t n_chunks,
                                             size_t chunk_samples, int sample_rate_hz,
                                             uint64_t n_samples, const cq_speech_params *p,
                                             cq_speech_seg **out, size_t *n_out)
    CQ_NONNULL(6, 7, 8);

/* Free a segment array. NULL is a no-op. */
CQ_API void cq_speech_free(cq_speech_seg *v);

#ifdef __cplusplus
}
#endif
#endif /* CQ_SPEECH_H */
