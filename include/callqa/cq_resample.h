/*
 * cq_resample.h - streaming mono sample-rate conversion (libsoxr, high quality, linear phase).
 *
 * Used where an analyzer needs another rate than the recording's (the engine's shared 8 kHz
 * stream for the VAD, events and the two-leg checks, and its 16 kHz stream for speech audio);
 * levels and silence always run at the file's own rate.
 *
 * Thread safety: a cq_resample belongs to one stream.
 */
#ifndef CQ_RESAMPLE_H
#define CQ_RESAMPLE_H

#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_resample cq_resample;

/* Create a converter from `in_rate_hz` to `out_rate_hz` (both > 0). NULL on failure. */
CQ_API cq_resample *cq_resample_create(double in_rate_hz, double out_rate_hz, int *err);

/*
 * Convert `n_in` samples (NULL/0 to flush at end of stream) into `out` (room for `max_out`).
 * Returns the number of output samples written (>= 0) or a negative cq_status.
 * Output for a block is at most ceil(n_in * out/in) + 64 samples; after flushing, call again
 * with NULL until it returns 0 to drain the filter tail.
 */
CQ_API CQ_NODISCARD long cq_resample_process(cq_resample *r, const float *in, size_t n_in,
                                             float *out, size_t max_out) CQ_NONNULL(1, 4);

/* Free. NULL is a no-op. */
CQ_API void cq_resample_destroy(cq_resample *r);

#ifdef __cplusplus
}
#endif
#endif /* CQ_RESAMPLE_H */
