/*
 * cq_level.h - level analyzer for one leg: RMS, sample peak, DC offset, clipping, crest factor,
 * and the ITU-T P.56 (method B) active speech level.
 *
 * Input is mono float PCM where 1.0 is the format's full scale. All dB figures are relative to
 * full scale: 20*log10(amplitude), so a full-scale square wave is 0 dB and a full-scale sine
 * -3.01 dB (the convention of `sox stat`'s "RMS amplitude" turned into dB).
 *
 * Streaming: cq_level_init(), then cq_level_push() any number of blocks of any size, then
 * cq_level_finish(). Results do not depend on how the stream is cut into blocks.
 * cq_level_compute() does all three over one buffer.
 *
 * Thread safety: a cq_level state belongs to one stream; no globals.
 */
#ifndef CQ_LEVEL_H
#define CQ_LEVEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of P.56 thresholds: c_j = 2^(j-15), j = 0..15 (-90.3 dB .. 0 dB full scale). */
#define CQ_P56_THRESHOLDS 16

typedef struct cq_level_params {
    int sample_rate_hz; /* > 0; used by P.56 (time constants) */
    float clip_level;   /* |x| >= clip_level counts as at full scale (see cq_audio_info) */
    int clip_min_run;   /* a clipped run is at least this many consecutive such samples; 3 */
    bool p56;           /* compute the P.56 active speech level */
} cq_level_params;

/* Results. Fields that are undefined for the input are flagged by the `has_*` booleans. */
typedef struct cq_level_result {
    uint64_t samples;         /* samples analysed */
    double duration_sec;      /* samples / rate */
    bool has_rms;             /* false for digital silence (all samples 0) or no samples */
    double rms;               /* sqrt(mean(x^2)), linear */
    double rms_db;            /* 20*log10(rms) */
    double max_amplitude;     /* largest sample value (signed, as sox "Maximum amplitude") */
    double min_amplitude;     /* smallest sample value (signed, as sox "Minimum amplitude") */
    bool has_peak;            /* false when every sample is 0 */
    double peak;              /* max |x| */
    double peak_db;           /* 20*log10(peak) */
    double dc_offset;         /* mean(x), linear, full scale = 1 */
    bool has_crest;           /* has_rms && has_peak */
    double crest_db;          /* peak_db - rms_db */
    uint64_t clipped_samples; /* samples in runs of >= clip_min_run at |x| >= clip_level */
    uint64_t clipped_runs;    /* number of such runs */
    bool has_active_level;    /* P.56 ran and found active speech */
    double active_level_db;   /* P.56 active speech level, dB full scale */
    double activity_pct;      /* P.56 activity factor x 100 */
} cq_level_result;

/* Streaming state; treat as opaque (exposed so callers can keep it on the stack). */
typedef struct cq_level {
    cq_level_params p;
    uint64_t n;
    double sum, sumsq;
    float maxv, minv;
    uint64_t clipped, clip_runs;
    uint32_t clip_run; /* length of the current run at full scale */
    /* P.56 state */
    float g, b;                              /* envelope filter: g = exp(-1/(fs*0.03)), b = 1 - g */
    float p1, q1;                            /* two-stage envelope */
    uint64_t hang;                           /* hangover in samples (0.2 s) */
    int k;                                   /* thresholds currently exceeded by the envelope */
    uint64_t below_start[CQ_P56_THRESHOLDS]; /* start of the current run below c_j */
    bool exceeded[CQ_P56_THRESHOLDS];        /* c_j exceeded at least once */
    uint64_t inactive[CQ_P56_THRESHOLDS];    /* samples not counted active for c_j so far */
} cq_level;

/* Defaults: 8000 Hz, clip level 32767/32768, run 3, P.56 on. */
CQ_API cq_level_params cq_level_default_params(void);

/* Initialise `st`. Returns CQ_ERR_INVALID if the parameters are out of range. */
CQ_API CQ_NODISCARD int cq_level_init(cq_level *st, const cq_level_params *p) CQ_NONNULL(1, 2);

/* Add `n` samples. */
CQ_API void cq_level_push(cq_level *st, const float *x, size_t n) CQ_NONNULL(1);

/* Compute the results of everything pushed so far (the state stays usable). */
CQ_API void cq_level_finish(const cq_level *st, cq_level_result *out) CQ_NONNULL(1, 2);

/* One-shot: init + push + finish. */
CQ_API CQ_NODISCARD int cq_level_compute(const float *x, size_t n, const cq_level_params *p,
                                         cq_level_result *out) CQ_NONNULL(3, 4);

#ifdef __cplusplus
}
#endif
#endif /* CQ_LEVEL_H */
