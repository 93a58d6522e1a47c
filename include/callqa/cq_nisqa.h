/*
 * cq_nisqa.h - speech quality: NISQA v2 (MOS, noisiness, discontinuity, coloration, loudness)
 * run natively in C from the official `nisqa.tar` checkpoint.
 *
 * The checkpoint is a PyTorch zip file; its `args` say which network it holds and its
 * `model_state_dict` holds the weights, read by name with every shape checked. Supported: the
 * NISQA_DIM family (adaptive-pooling CNN, self-attention, attention pooling), as in nisqa.tar.
 * NISQA's weights are licensed CC BY-NC-SA 4.0 (non-commercial); callqa never ships them.
 *
 * Scores are nominally 1..5; the network can return values below 1 on non-speech and callqa
 * does not clamp them (neither does the reference).
 *
 * Front end (from the checkpoint's args): log-mel spectrogram at the clip's own sample rate,
 * n_fft 4096, hop 10 ms, window 20 ms (periodic Hann), 48 Slaney mel bands up to 20 kHz,
 * amplitude in dB clipped 80 dB below the clip's maximum; segments of 15 frames every 4.
 *
 * A cq_nisqa_model is immutable and may be shared by threads; a cq_nisqa stream belongs to one
 * thread and scores one clip at a time (push its samples, then finish).
 */
#ifndef CQ_NISQA_H
#define CQ_NISQA_H

#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_nisqa_model cq_nisqa_model;
typedef struct cq_nisqa cq_nisqa;

typedef struct cq_nisqa_scores {
    double mos; /* overall quality */
    double noisiness;
    double discontinuity;
    double coloration;
    double loudness;
    size_t n_segments; /* 15-frame segments the network saw */
} cq_nisqa_scores;

/* Largest checkpoint accepted (nisqa.tar is 1 MB). */
#define CQ_NISQA_MODEL_MAX_BYTES (256u << 20)

/* Load a checkpoint; NULL with `err` set ("<path>: <reason>") on any problem. */
CQ_API cq_nisqa_model *cq_nisqa_model_load(const char *path, cq_err *err) CQ_NONNULL(1);
CQ_API cq_nisqa_model *cq_nisqa_model_load_memory(const void *data, size_t size, const char *name,
                                                  cq_err *err);
CQ_API void cq_nisqa_model_free(cq_nisqa_model *m);

/* sha256 of the checkpoint file (64 hex digits). */
CQ_API const char *cq_nisqa_model_sha256(const cq_nisqa_model *m) CQ_NONNULL(1);

/*
 * A stream scoring clips at `sample_rate_hz` (1000..384000). `max_seconds` bounds the clip
 * length it accepts (its memory grows with the clip: 48 floats per 10 ms of mel frames, and the
 * self-attention works on the whole clip). NULL with *err (optional) on failure.
 */
CQ_API cq_nisqa *cq_nisqa_create(const cq_nisqa_model *m, int sample_rate_hz, double max_seconds,
                                 int *err);
CQ_API void cq_nisqa_destroy(cq_nisqa *s);

/* Threads the network may use for one clip (1..64; default 1). The engine gives a call more
 * than one only when it is alone on the machine. */
CQ_API void cq_nisqa_set_threads(cq_nisqa *s, int threads) CQ_NONNULL(1);

/* Start a new clip. */
CQ_API void cq_nisqa_reset(cq_nisqa *s) CQ_NONNULL(1);

/* Add samples (full scale 1.0) to the clip. CQ_OK, CQ_ERR_TOO_LARGE past max_seconds, or
 * CQ_ERR_NOMEM. */
CQ_API CQ_NODISCARD int cq_nisqa_push(cq_nisqa *s, const float *x, size_t n) CQ_NONNULL(1);

/* Score the clip pushed since the last reset. CQ_ERR_EMPTY when it is too short for one
 * segment (fewer than 15 mel frames, i.e. under about 0.15 s). */
CQ_API CQ_NODISCARD int cq_nisqa_finish(cq_nisqa *s, cq_nisqa_scores *out) CQ_NONNULL(1, 2);

#ifdef __cplusplus
}
#endif
#endif /* CQ_NISQA_H */
