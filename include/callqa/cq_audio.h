/*
 * cq_audio.h - streaming decoder for call recordings.
 *
 * Opens a file or an in-memory buffer, validates what can be validated before decoding
 * (RIFF/WAVE chunk walk: 0-byte files, truncated headers, data sizes beyond the end of the
 * file, 0 or absurd channel counts, sample rate 0), and hands out interleaved float frames in
 * blocks, normalised so that the format's full scale is 1.0 (int16 / 32768).
 *
 * Formats: WAV PCM 8/16/24/32-bit and float, G.711 u-law and A-law, GSM 6.10 (WAV49 and raw
 * headerless `.gsm`, 8 kHz mono), MP3, FLAC, Ogg Vorbis/Opus, AU, AIFF. WAV PCM, float and G.711
 * are decoded by callqa itself (the values libsndfile gives); every other format by libsndfile,
 * loaded ("libsndfile.so.1") the first time a file needs it: if it cannot be loaded, that file
 * fails with CQ_ERR_UNSUPPORTED and a message naming the library. GSM-in-WAV ends on whole
 * 320-sample blocks, as SoX decodes it. Non-finite float samples (NaN, Inf) are replaced by 0
 * and counted.
 *
 * Thread safety: a cq_audio is used by one thread at a time; distinct handles are independent.
 */
#ifndef CQ_AUDIO_H
#define CQ_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_audio cq_audio;

/* Sample encodings callqa distinguishes (they decide the clipping level). */
typedef enum cq_encoding {
    CQ_ENC_UNKNOWN = 0,
    CQ_ENC_PCM_U8 = 1,
    CQ_ENC_PCM_S8 = 2,
    CQ_ENC_PCM_16 = 3,
    CQ_ENC_PCM_24 = 4,
    CQ_ENC_PCM_32 = 5,
    CQ_ENC_FLOAT = 6,
    CQ_ENC_DOUBLE = 7,
    CQ_ENC_ULAW = 8,
    CQ_ENC_ALAW = 9,
    CQ_ENC_GSM610 = 10,
    CQ_ENC_MPEG = 11, /* MP3 and other MPEG layers */
    CQ_ENC_VORBIS = 12,
    CQ_ENC_OPUS = 13,
    CQ_ENC_FLAC_16 = 14, /* FLAC, 16-bit or less */
    CQ_ENC_FLAC_24 = 15,
    CQ_ENC_OTHER = 16
} cq_encoding;

typedef struct cq_audio_info {
    int sample_rate_hz;        /* > 0 */
    int channels;              /* 1 or 2 */
    int64_t frames;            /* frames that will be delivered; -1 if unknown before decoding */
    cq_encoding encoding;      /* sample encoding */
    const char *container;     /* "wav", "gsm", "mp3", "flac", "ogg", ... (static string) */
    const char *encoding_name; /* "pcm_s16", "ulaw", "alaw", "gsm610", ... (static string) */
    int bits_per_sample;       /* of the stored encoding; 0 when not meaningful (MP3) */
    float clip_level;          /* |sample| at or above this is at the format's largest
                                  magnitude: 32767/32768 PCM16, 32124/32768 u-law,
                                  32256/32768 A-law, 1.0 float; lossy codecs use 32767/32768 */
    float silence_scale;       /* FFmpeg compares against noise * INTn_MAX in the decoder's
                                  integer domain: (2^(b-1)-1)/2^(b-1) here, 1.0 for float */
} cq_audio_info;

/* Hard limits checked at open (a claimed header value beyond them is an error, not a hang). */
#define CQ_AUDIO_MAX_CHANNELS 2
#define CQ_AUDIO_MIN_RATE_HZ 1000
#define CQ_AUDIO_MAX_RATE_HZ 384000

/*
 * Open `path` for decoding. Raw GSM is recognised by the `.gsm` extension (8 kHz mono).
 * Returns NULL on failure with `err` (optional) set to "<path>: <reason>".
 * The handle must be closed with cq_audio_close().
 */
CQ_API cq_audio *cq_audio_open(const char *path, cq_err *err) CQ_NONNULL(1);

/*
 * Open an in-memory recording. `data` must stay valid and unchanged until cq_audio_close().
 * `name` (may be NULL) is used in messages and, by its extension, to recognise raw GSM.
 */
CQ_API cq_audio *cq_audio_open_memory(const void *data, size_t size, const char *name, cq_err *err);

/* Stream properties; valid until cq_audio_close(). */
CQ_API const cq_audio_info *cq_audio_get_info(const cq_audio *a) CQ_NONNULL(1);

/*
 * Read up to `max_frames` interleaved frames into `out` (room for max_frames * channels floats).
 * Returns the number of frames read (0 at end of stream) or a negative cq_status; after an
 * error the message is in `err` (optional) and further reads return the same error.
 */
CQ_API CQ_NODISCARD int64_t cq_audio_read(cq_audio *a, float *out, size_t max_frames, cq_err *err)
    CQ_NONNULL(1, 2);

/*
 * As cq_audio_read(), but channel c goes to out[c] (room for max_frames floats each; one array
 * per channel, none NULL). The engine reads this way: no separate deinterleave pass.
 */
CQ_API CQ_NODISCARD int64_t cq_audio_read_planar(cq_audio *a, float *const out[], size_t max_frames,
                                                 cq_err *err) CQ_NONNULL(1, 2);

/* Number of warnings noted so far (header repairs, replaced non-finite samples, ...). */
CQ_API size_t cq_audio_warning_count(const cq_audio *a) CQ_NONNULL(1);

/* Warning `i` (0-based) as a sentence; valid until cq_audio_close(). NULL if out of range. */
CQ_API const char *cq_audio_warning(const cq_audio *a, size_t i) CQ_NONNULL(1);

/* Non-finite samples replaced by 0 so far. */
CQ_API uint64_t cq_audio_nonfinite_count(const cq_audio *a) CQ_NONNULL(1);

/* Close and free. NULL is a no-op. */
CQ_API void cq_audio_close(cq_audio *a);

/* G.711 expansion (ITU-T G.711 Tables 1a and 2a, the values libsndfile also gives): one byte
 * of u-law or A-law to its 16-bit linear sample. Pure, thread-safe. The one copy in callqa:
 * file decoding, RTP captures and live RTP all read it. */
CQ_API int16_t cq_g711_ulaw_s16(uint8_t u);
CQ_API int16_t cq_g711_alaw_s16(uint8_t a);

#ifdef __cplusplus
}
#endif
#endif /* CQ_AUDIO_H */
