/*
 * cq_resample.h - streaming mono sample-rate conversion (libsoxr, high quality, linear phase),
 * and SoX's own `rate` effect on a whole signal (libsox, for DNSMOS's reference mode).
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

/* Create a converter from `in_rate_hz` to `out_rate_hz` (both > 0). NULL on failure, with *err
 * (when err is not NULL) CQ_ERR_INVALID, CQ_ERR_NOMEM, or CQ_ERR_UNSUPPORTED when libsoxr,
 * which the first converter loads (dlopen), cannot be loaded. */
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

/*
 * A whole mono signal converted by SoX's own `rate` effect (libsox 14.4, loaded with dlopen
 * "libsox.so.3" on the first call): the chain the `sox` program runs for `sox IN -r OUT_RATE -b 32
 * -e floating-point OUT` (`rate` with its defaults: high quality, linear phase, 95 % bandwidth;
 * no dither), fed from memory (libsox opens no file). Each sample x becomes SoX's 32-bit sample
 * (x * 2^31 rounded and clipped: a 16-bit sample s is s << 16), and the output is what a 32-bit
 * float file written by SoX holds (within [-1, 1]). DNSMOS's reference mode uses it: the
 * published goldens were resampled by SoX.
 * On success *out holds n_out samples (free them with cq_resample_sox_free). CQ_ERR_UNSUPPORTED
 * when libsox cannot be loaded (err names the library and the Debian package, libsox3). Calls are
 * serialised (libsox has process-wide state).
 */
CQ_API CQ_NODISCARD int cq_resample_sox(const float *in, size_t n_in, int in_rate_hz,
                                        int out_rate_hz, float **out, size_t *n_out, cq_err *err)
    CQ_NONNULL(5, 6);

/* Free what cq_resample_sox gave. NULL is a no-op. */
CQ_API void cq_resample_sox_free(float *samples);

#ifdef __cplusplus
}
#endif
#endif /* CQ_RESAMPLE_H */
