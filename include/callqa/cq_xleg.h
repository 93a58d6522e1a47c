/*
 * cq_xleg.h - checks over both legs' audio together: channels that are near-identical (fake
 * stereo that is not sample-identical, e.g. re-encoded), and one leg's audio bleeding into
 * the other (echo, cross-talk), with its lag and level.
 *
 * Both legs are decimated to 1 kHz (an 8-sample mean: the voice's fundamental and first
 * formant, where most of its energy is, stay) and cross-correlated over lags of +-250 ms,
 * blockwise by FFT, summed over the call.
 * The normalised peak says how much of one leg is a delayed copy of the other; the regression
 * gain at the peak is the copy's level relative to its source.
 *
 * Thread safety: a state belongs to one call.
 */
#ifndef CQ_XLEG_H
#define CQ_XLEG_H

#include <stdbool.h>
#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CQ_XLEG_RATE 8000 /* input rate */

typedef struct cq_xleg cq_xleg;

typedef struct cq_xleg_result {
    bool has;            /* both legs had sound to compare */
    double corr_lag0;    /* normalised correlation of the legs at lag 0 */
    bool near_identical; /* corr_lag0 >= 0.95: the "two legs" are one signal */
    int bleed_from;      /* leg (0 inbound, 1 outbound) whose audio appears in the other; -1 */
    double bleed_lag_ms; /* how much later the copy appears (0: cross-talk in step) */
    double bleed_db;     /* level of the copy relative to its source, dB */
    double bleed_corr;   /* normalised correlation at the copy's lag */
    double peak_corr;    /* the largest normalised correlation at any lag (for reporting) */
    double peak_lag_ms;  /* its lag: > 0 when the outbound leg lags the inbound */
} cq_xleg_result;

CQ_API cq_xleg *cq_xleg_create(int *err);
CQ_API void cq_xleg_destroy(cq_xleg *x);

/* Add 8 kHz samples of leg 0 (inbound) or 1 (outbound); the legs may arrive in any
 * interleaving, but each in order. Memory grows only with how far one leg runs ahead. */
CQ_API CQ_NODISCARD int cq_xleg_push(cq_xleg *x, int leg, const float *s, size_t n) CQ_NONNULL(1);

/* End of both legs: the result. */
CQ_API CQ_NODISCARD int cq_xleg_finish(cq_xleg *x, cq_xleg_result *r) CQ_NONNULL(1, 2);

#ifdef __cplusplus
}
#endif
#endif /* CQ_XLEG_H */
