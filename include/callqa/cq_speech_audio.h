/*
 * cq_speech_audio.h - a leg's speech at 16 kHz, handed over with the report on request, so that a
 * transcription can send the speech without decoding the recording a second time.
 *
 * Asked for with the `speech_audio` analyzer (CQ_AN_SPEECH_AUDIO; it runs the VAD too), each leg
 * report then holds a cq_speech_audio: the VAD's speech segments on the leg's clock, and the leg's
 * audio around them as 16 kHz mono PCM16 (resampled with libsoxr from the leg's own rate while it
 * is decoded for the other analyzers). Audio is kept within padding + min_silence + 100 ms (430 ms
 * by default) of every chunk the VAD scored at or above its end-of-speech threshold, which holds
 * every speech segment with room to spare; the rest is dropped as it streams. At most
 * cq_engine_params.speech_audio_mem_bytes (32 MiB, about 17 minutes) of a leg stay in memory; the
 * rest is written to a temporary file that is unlinked as soon as it is created, so it never
 * outlives the product, nor the process. docs/ARCHITECTURE.md compares this with decoding the file
 * a second time.
 *
 * Thread safety: read-only once the report is finished; reads from several threads are safe.
 */
#ifndef CQ_SPEECH_AUDIO_H
#define CQ_SPEECH_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CQ_SPEECH_AUDIO_RATE 16000

typedef struct cq_speech_audio cq_speech_audio;

/* One speech segment of the leg, in seconds on the leg's clock. */
typedef struct cq_speech_span {
    double start_sec, end_sec;
} cq_speech_span;

/* The VAD's speech segments (padding included), in time order; valid until the report is freed. */
CQ_API const cq_speech_span *cq_speech_audio_spans(const cq_speech_audio *a, size_t *n)
    CQ_NONNULL(1, 2);

/* 16 kHz samples of the leg, and of them the ones kept (near speech). */
CQ_API uint64_t cq_speech_audio_samples(const cq_speech_audio *a) CQ_NONNULL(1);
CQ_API uint64_t cq_speech_audio_kept_samples(const cq_speech_audio *a) CQ_NONNULL(1);

/* Bytes kept in memory, and written to the temporary file. */
CQ_API size_t cq_speech_audio_memory_bytes(const cq_speech_audio *a) CQ_NONNULL(1);
CQ_API uint64_t cq_speech_audio_spilled_bytes(const cq_speech_audio *a) CQ_NONNULL(1);

/*
 * Read the samples of [start_sec, end_sec) on the leg's clock (clamped to the leg's end; at most
 * max) into out. *got receives the count. Returns CQ_OK, CQ_ERR_INVALID (end before start),
 * CQ_ERR_NOT_FOUND (part of the range lies away from speech, where nothing was kept) or
 * CQ_ERR_IO (the temporary file could not be read).
 */
CQ_API CQ_NODISCARD int cq_speech_audio_read(const cq_speech_audio *a, double start_sec,
                                             double end_sec, int16_t *out, size_t max, size_t *got)
    CQ_NONNULL(1, 4, 6);

#ifdef __cplusplus
}
#endif
#endif /* CQ_SPEECH_AUDIO_H */
