/*
 * cq_vad.h - speech activity: a speech probability for every chunk of audio.
 *
 * Two engines behind one interface:
 *  - Silero VAD (v5 or v6 graph, MIT licence), run natively from the official
 *    `silero_vad.onnx` as distributed: its weights are read from the ONNX protobuf, every
 *    tensor found by name and its shape checked. 8 kHz (chunks of 256 samples, 32 context)
 *    and 16 kHz (512, 64). Probabilities match the reference PyTorch model within 1e-4.
 *  - A DSP fallback (when no model is installed): frame energy against an adaptive noise floor,
 *    spectral flatness and speech-band energy, mapped to a 0..1 score. It is a heuristic, named
 *    "dsp" in reports, and its agreement with Silero is measured in docs/vad.md.
 *
 * A cq_vad_model is immutable once loaded and may be shared by any number of threads; each
 * stream has its own cq_vad (LSTM state and context samples).
 */
#ifndef CQ_VAD_H
#define CQ_VAD_H

#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_vad_model cq_vad_model;
typedef struct cq_vad cq_vad;

typedef enum cq_vad_engine {
    CQ_VAD_SILERO = 1, /* the neural model */
    CQ_VAD_DSP = 2     /* the fallback heuristic */
} cq_vad_engine;

/* Largest model file accepted (the official ones are 2.3 MB). */
#define CQ_VAD_MODEL_MAX_BYTES (64u << 20)

/*
 * Load a Silero VAD ONNX file. Returns NULL with `err` set ("<path>: <reason>") when the file
 * is missing, not ONNX, truncated, or lacks a tensor of the expected name and shape.
 */
CQ_API cq_vad_model *cq_vad_model_load(const char *path, cq_err *err) CQ_NONNULL(1);

/* The same from memory (`name` for messages). The bytes may be freed after the call. */
CQ_API cq_vad_model *cq_vad_model_load_memory(const void *data, size_t size, const char *name,
                                              cq_err *err);

/* Free. NULL is a no-op. Every cq_vad created from the model must be destroyed first. */
CQ_API void cq_vad_model_free(cq_vad_model *m);

/* sha256 of the model file, 64 lowercase hex digits; valid until cq_vad_model_free. */
CQ_API const char *cq_vad_model_sha256(const cq_vad_model *m) CQ_NONNULL(1);

/* "v6.2" or "v5.1.2" for the official files (recognised by sha256), else "unknown". */
CQ_API const char *cq_vad_model_version(const cq_vad_model *m) CQ_NONNULL(1);

/*
 * Create a stream at `sample_rate_hz` (8000 or 16000) over `m`, or over the DSP fallback when
 * `m` is NULL. NULL on failure with *err (optional) = CQ_ERR_INVALID or CQ_ERR_NOMEM.
 */
CQ_API cq_vad *cq_vad_create(const cq_vad_model *m, int sample_rate_hz, int *err);

/* Free. NULL is a no-op. */
CQ_API void cq_vad_destroy(cq_vad *v);

/* Forget all state (between streams). */
CQ_API void cq_vad_reset(cq_vad *v) CQ_NONNULL(1);

/* Samples per chunk: 256 at 8 kHz, 512 at 16 kHz. */
CQ_API size_t cq_vad_chunk_samples(const cq_vad *v) CQ_NONNULL(1);

/* Which engine the stream runs. */
CQ_API cq_vad_engine cq_vad_get_engine(const cq_vad *v) CQ_NONNULL(1);

/*
 * Run `n_chunks` consecutive chunks (n_chunks * cq_vad_chunk_samples() samples, full scale 1.0)
 * and write one speech probability per chunk to probs[0..n_chunks). Chunks are processed in
 * batches internally; the result is the same as one call per chunk. Returns CQ_OK.
 */
CQ_API CQ_NODISCARD int cq_vad_process(cq_vad *v, const float *x, size_t n_chunks, float *probs)
    CQ_NONNULL(1);

/* One stream's share of cq_vad_process_many: what cq_vad_process(v, x, n_chunks, probs) takes. */
typedef struct cq_vad_job {
    cq_vad *v;
    const float *x;
    size_t n_chunks;
    float *probs;
} cq_vad_job;

/*
 * Run several streams at once (live calls): each job as cq_vad_process would run it, with the
 * chunks of all the jobs in shared batches, so the weights are read once per batch rather than
 * once per stream; the probabilities are those of cq_vad_process within its batching tolerance.
 * Every stream must be over the same model at the same rate (or all the DSP fallback) and in
 * one job at most; the streams are used by this thread only for the call. Returns CQ_OK, or
 * CQ_ERR_INVALID (nothing run) for streams that do not fit together.
 */
CQ_API CQ_NODISCARD int cq_vad_process_many(const cq_vad_job *jobs, size_t n_jobs);

#ifdef __cplusplus
}
#endif
#endif /* CQ_VAD_H */
