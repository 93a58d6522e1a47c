/*
 * cq_silence.h - silence detection with FFmpeg `silencedetect` semantics, for one leg.
 *
 * A sample is silent when -noise < x < noise (strict), noise = 10^(noise_db/20) times the
 * decoder's integer scale (cq_audio_info.silence_scale), exactly as FFmpeg compares in the
 * decoder's sample format. A silence is a run of at least round(min_duration * rate) silent
 * samples; it starts at its first silent sample and ends at the first non-silent sample, or at
 * the end of the stream (FFmpeg 5.1 closes a trailing silence at end of file).
 *
 * Streaming: init, push blocks of any size, finish. The list of silences grows with the number
 * found (at most one per min_duration of audio), through the cq_alloc funnel.
 *
 * Thread safety: a cq_silence state belongs to one stream; no globals.
 */
#ifndef CQ_SILENCE_H
#define CQ_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_silence_params {
    int sample_rate_hz;      /* > 0 */
    double noise_db;         /* threshold in dB full scale, < 0; FFmpeg default -60, callqa -35 */
    double min_duration_sec; /* shortest silence reported, > 0; default 0.5 */
    float scale;             /* decoder integer scale (cq_audio_info.silence_scale); 1 for float */
} cq_silence_params;

typedef struct cq_silence_span {
    double start_sec;    /* first silent sample / rate */
    double end_sec;      /* first sample after the silence / rate */
    double duration_sec; /* end - start */
} cq_silence_span;

typedef struct cq_silence_result {
    cq_silence_span *spans; /* owned by the result; free with cq_silence_result_free() */
    size_t count;
    double total_sec;  /* sum of durations */
    double ratio_pct;  /* total_sec / leg duration x 100 (0 for an empty leg) */
    double longest_ms; /* longest silence in milliseconds (0 if none) */
} cq_silence_result;

typedef struct cq_silence {
    cq_silence_params p;
    float thr;     /* linear threshold */
    uint64_t need; /* samples that make a silence */
    uint64_t pos;  /* samples consumed so far */
    uint64_t run;  /* current silent run length */
    cq_silence_span *spans;
    size_t count, cap;
    int status; /* first error (CQ_ERR_NOMEM) or CQ_OK */
} cq_silence;

/* Defaults: 8000 Hz, -35 dB, 0.5 s, scale 32767/32768 (16-bit decoders). */
CQ_API cq_silence_params cq_silence_default_params(void);

/* Initialise; CQ_ERR_INVALID on out-of-range parameters. Release with cq_silence_uninit(). */
CQ_API CQ_NODISCARD int cq_silence_init(cq_silence *st, const cq_silence_params *p)
    CQ_NONNULL(1, 2);

/* Add `n` samples. Returns CQ_OK or CQ_ERR_NOMEM (the state then keeps returning it). */
CQ_API CQ_NODISCARD int cq_silence_push(cq_silence *st, const float *x, size_t n) CQ_NONNULL(1);

/*
 * Close a trailing silence at the end of the stream and move the list into `out`
 * (the state is left empty). Returns CQ_OK or the first error seen.
 */
CQ_API CQ_NODISCARD int cq_silence_finish(cq_silence *st, cq_silence_result *out) CQ_NONNULL(1, 2);

/* Free what init/push allocated and a half-finished list. NULL is a no-op. */
CQ_API void cq_silence_uninit(cq_silence *st);

/* Free the spans of a result. NULL is a no-op. */
CQ_API void cq_silence_result_free(cq_silence_result *r);

/* One-shot: init + push + finish + uninit. */
CQ_API CQ_NODISCARD int cq_silence_compute(const float *x, size_t n, const cq_silence_params *p,
                                           cq_silence_result *out) CQ_NONNULL(3, 4);

#ifdef __cplusplus
}
#endif
#endif /* CQ_SILENCE_H */
