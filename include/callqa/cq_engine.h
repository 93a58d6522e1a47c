/*
 * cq_engine.h - the pipeline that turns one call into a report:
 *   decode (cq_audio) -> legs (stereo channels, leg files or a mono mix) -> the selected
 *   analyzers (levels, silence, vad, nisqa, quality, events, conversation; speech_audio and
 *   envelope on request), each leg streamed through them in blocks -> report (cq_report).
 *
 * A cq_engine holds the parameters and the loaded models (Silero VAD, NISQA). It is immutable
 * after creation and may be shared by any number of threads, each analysing its own calls.
 * Memory per call: a few decode blocks plus the analyzers' results (silences, speech segments,
 * one VAD probability per 32 ms, NISQA windows, events), which grow with the recording's length
 * but not with its sample rate; NISQA's file mode holds its features for the whole leg (bounded
 * by nisqa_max_file_sec), and speech_audio keeps each leg's speech (bounded in memory by
 * speech_audio_mem_bytes, the rest in a temporary file); the envelope keeps two bytes per leg
 * and step.
 */
#ifndef CQ_ENGINE_H
#define CQ_ENGINE_H

#include <stddef.h>

#include "cq_status.h"
#include "cq_legs.h"
#include "cq_report.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_engine cq_engine;

typedef struct cq_engine_params {
    unsigned analyzers;              /* CQ_AN_* bits; default cq_analyzers_default() (CQ_AN_ALL);
                                        each brings the analyzers it needs (events and
                                        conversation the VAD) */
    double silence_noise_db;         /* silencedetect noise threshold, dB FS; default -35 */
    double silence_min_duration_sec; /* silencedetect duration, s; default 0.5 */
    int clip_min_run;                /* consecutive full-scale samples that make clipping; 3 */
    cq_channel_map channel_map;      /* stereo channel assignment; default CQ_MAP_IN_OUT */
    double max_duration_sec;         /* longer recordings are refused; default 24 h */
    size_t block_frames;             /* decode block, frames; default 4096 */
    const char *model_dir;           /* models: <dir>/silero_vad/<vad_model>/silero_vad.onnx;
                                        NULL: none (the VAD uses its DSP fallback) */
    const char *vad_model;           /* Silero version directory; default "v6.2" */
    cq_speech_params speech;         /* speech timestamps; default cq_speech_default_params() */
    cq_nisqa_mode nisqa_mode;        /* default CQ_NISQA_WINDOWED */
    double nisqa_window_sec;         /* windowed mode: window length, s; default 8 */
    double nisqa_max_file_sec;       /* file mode refuses longer legs; default 1200 (20 min) */
    int nisqa_threads;               /* threads NISQA's network may use per leg; default 1 (give
                                        more only when calls do not already fill the cores) */
    cq_mos_model mos_model;          /* which model gives the MOS; default CQ_MOS_AUTO (NISQA
                                        when it runs, else DNSMOS) */
    cq_dnsmos_mode dnsmos_mode;      /* default CQ_DNSMOS_WINDOWED */
    double dnsmos_max_file_sec;      /* DNSMOS holds the leg at 16 kHz (64 kB/s): longer legs
                                        get no scores; default 7200 (2 h) */
    int dnsmos_threads;              /* threads DNSMOS may use per leg; default 1 */
    size_t speech_audio_mem_bytes;   /* speech_audio: bytes of a leg kept in memory, the rest in a
                                        temporary file; default 32 MiB */
    const char *tmp_dir;             /* where that file goes; NULL: $TMPDIR, else /tmp */
    bool dtmf_speech;                /* events: our DTMF receiver for digits under speech too
                                        (cq_tones_params); default false */
    bool dtmf_voice_cancel;          /* events: and ours on the voice-cancelled signal; default
                                        false */
    int envelope_ms;                 /* the level envelope's step, ms (1-60000): each leg's RMS
                                        level every envelope_ms (selects the envelope analyzer);
                                        default 0 = off (50 when the analyzer is named alone) */
    bool voiceprints;                /* diarize: put each speaker's voice print in the report
                                        (biometric data: off by default) */
    const char *diarization_model;   /* speaker-embedding model for the diarizer's features:
                                        NULL or "none" (the MFCC method; no model is built in,
                                        so any other name is refused) */
    cq_diar_params diarization;      /* default cq_diar_default_params() */
    bool profile;                    /* time the decoding, the resampling and each stage into
                                        the report (cq_report.profile; engine.profile in the
                                        JSON); default false */
} cq_engine_params;

/* Defaults as documented above. */
CQ_API cq_engine_params cq_engine_default_params(void);

/*
 * Create an engine, loading the models it needs once (shared by every call it analyses).
 * A missing or unreadable model is not an error: the VAD then uses its DSP fallback, NISQA
 * scores are null, and cq_engine_vad_status() / cq_engine_nisqa_status() say why. NULL with *err
 * (optional) = CQ_ERR_INVALID or CQ_ERR_NOMEM on failure.
 */
CQ_API cq_engine *cq_engine_create(const cq_engine_params *p, int *err) CQ_NONNULL(1);

/* Free. NULL is a no-op. */
CQ_API void cq_engine_destroy(cq_engine *e);

/* Why the VAD runs its DSP fallback ("model not installed: <path>", a load error), or NULL
 * when the Silero model is loaded (or the VAD is not selected). Valid until destroy. */
CQ_API const char *cq_engine_vad_status(const cq_engine *e) CQ_NONNULL(1);

/* Why NISQA does not run (model not installed, rejected), or NULL when it is loaded (or not
 * selected). Valid until destroy. */
CQ_API const char *cq_engine_nisqa_status(const cq_engine *e) CQ_NONNULL(1);

/* Why DNSMOS does not run (not installed, rejected, mos_model chose NISQA), or NULL when it is
 * loaded (or not selected). Valid until destroy. */
CQ_API const char *cq_engine_dnsmos_status(const cq_engine *e) CQ_NONNULL(1);

/* Default model directory into buf: $CALLQA_MODEL_DIR, else
 * ${XDG_DATA_HOME:-$HOME/.local/share}/callqa/models. Returns CQ_OK, CQ_ERR_NOT_FOUND (no
 * variable set) or CQ_ERR_TOO_LARGE (does not fit in size bytes). */
CQ_API CQ_NODISCARD int cq_model_dir_default(char *buf, size_t size) CQ_NONNULL(1);

/* What would make this engine's reports differ from another's, as "VERSION+HASH" into buf:
 * the callqa version, the analyzers, every parameter that changes a result, and the models'
 * sha256. Stores key cached results by it, so that new settings or models analyse again.
 * Returns CQ_OK, CQ_ERR_TOO_LARGE (size under 32 is always too small), CQ_ERR_NOMEM, or
 * CQ_ERR_UNSUPPORTED when libnettle (the hash) cannot be loaded. */
CQ_API CQ_NODISCARD int cq_engine_fingerprint(const cq_engine *e, char *buf, size_t size)
    CQ_NONNULL(1, 2);

/* The parameters the engine runs with. */
CQ_API const cq_engine_params *cq_engine_get_params(const cq_engine *e) CQ_NONNULL(1);

/*
 * Analyze one call. On success returns CQ_OK and a report in *out (free with
 * cq_report_destroy). On failure returns a negative cq_status, *out = NULL, and `err`
 * (optional) holds one line naming the file and the reason. Thread-safe for distinct calls.
 */
CQ_API CQ_NODISCARD int cq_engine_analyze(const cq_engine *e, const cq_call_src *src,
                                          cq_report **out, cq_err *err) CQ_NONNULL(1, 2, 3);

#ifdef __cplusplus
}
#endif
#endif /* CQ_ENGINE_H */
