/*
 * cq_report.h - the report of one call: the one contract between the engine and everything
 * else (CLI, service, store, QA jobs). Everything the engine computes is here; every JSON field
 * is documented with its unit in docs/report.md.
 *
 * A report is built by cq_engine_analyze() and rendered here as JSON (one object, one line)
 * or as readable text. Fields of analyzers that did not run are null in JSON, never invented.
 *
 * Thread safety: a report is plain data; render it from any thread once built.
 */
#ifndef CQ_REPORT_H
#define CQ_REPORT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "cq_status.h"
#include "cq_audio.h"
#include "cq_level.h"
#include "cq_silence.h"
#include "cq_legs.h"
#include "cq_speech.h"
#include "cq_vad.h"
#include "cq_nisqa.h"
#include "cq_dnsmos.h"
#include "cq_quality.h"
#include "cq_classify.h"
#include "cq_conversation.h"
#include "cq_xleg.h"
#include "cq_finding.h"
#include "cq_speech_audio.h"
#include "cq_diarize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Analyzer selection bits (cq_engine_params.analyzers, `--only`): the analyzers in the order
 * they run. cq_analyzer_at() lists them with their names. */
typedef enum cq_analyzer {
    CQ_AN_LEVELS = 1u << 0,  /* RMS, peak, DC, clipping, crest, P.56 */
    CQ_AN_SILENCE = 1u << 1, /* FFmpeg silencedetect semantics */
    CQ_AN_VAD = 1u << 2,     /* speech activity: Silero VAD, or the DSP fallback */
    CQ_AN_NISQA = 1u << 3,   /* speech quality: NISQA MOS and dimensions (needs the model) */
    CQ_AN_QUALITY = 1u << 4, /* model-free indicators: noise floor, SNR, bandwidth, dropouts */
    CQ_AN_EVENTS = 1u << 5,  /* DTMF, call-progress tones, hold music, IVR (runs the VAD too) */
    CQ_AN_CONVERSATION = 1u << 6, /* talk, overtalk, dead air, turns, one-way audio, leg checks
                                    (runs the VAD too; uses the events when they run) */
    CQ_AN_SPEECH_AUDIO = 1u << 7, /* on request only: each leg's speech at 16 kHz handed over in
                                    the report (cq_speech_audio.h; runs the VAD too) */
    CQ_AN_ENVELOPE = 1u << 8,     /* on request only: each leg's RMS level every envelope_ms
                                     (cq_engine_params.envelope_ms; cq_leg_envelope) */
    CQ_AN_DIARIZE = 1u << 9,      /* who spoke when on a mono mix (cq_diarize.h; runs the VAD
                                     too); on two legs, only each leg's voice print when
                                     cq_engine_params.voiceprints asks for it */
    CQ_AN_DNSMOS = 1u << 10       /* speech quality: DNSMOS P.835 and P.808 (needs the model;
                                     cq_engine_params.mos_model says when it runs) */
} cq_analyzer;

/* The analyzers selected by default (cq_analyzers_default() says the same at run time). */
#define CQ_AN_ALL                                                                                  \
    (CQ_AN_LEVELS | CQ_AN_SILENCE | CQ_AN_VAD | CQ_AN_NISQA | CQ_AN_QUALITY | CQ_AN_EVENTS |       \
     CQ_AN_CONVERSATION | CQ_AN_DIARIZE | CQ_AN_DNSMOS)

/* Results of analyzers that keep them in a slot of their own rather than a field below
 * (indexed by the analyzer's position, see cq_analyzer_at). */
#define CQ_STAGE_SLOTS 16

/* How NISQA sees a leg. */
typedef enum cq_nisqa_mode {
    CQ_NISQA_WINDOWED = 0, /* fixed windows along the leg, speech-weighted (constant memory) */
    CQ_NISQA_FILE = 1      /* the whole leg at once, as the reference pipeline */
} cq_nisqa_mode;

/* Which speech-quality model gives the legs' MOS (cq_engine_params.mos_model). */
typedef enum cq_mos_model {
    CQ_MOS_AUTO = 0,   /* NISQA when it runs (selected and installed), else DNSMOS */
    CQ_MOS_DNSMOS = 1, /* DNSMOS only */
    CQ_MOS_NISQA = 2,  /* NISQA only */
    CQ_MOS_BOTH = 3    /* both; the MOS is NISQA's (DNSMOS when NISQA has none) */
} cq_mos_model;

/* Who a leg is: decided once, by the layout and the channel map, and used by every part of
 * callqa (transcripts, scores, the dashboard) with these words. */
typedef enum cq_role {
    CQ_ROLE_CUSTOMER = 0, /* the inbound leg: the caller, the customer (ViciDial's -in) */
    CQ_ROLE_AGENT = 1,    /* the outbound leg: the agent (ViciDial's -out) */
    CQ_ROLE_MIXED = 2     /* a mono recording: both parties mixed */
} cq_role;

/* "customer", "agent", "mixed". */
CQ_API const char *cq_role_name(cq_role r);

/* The report's layout version (`schema_version`): raised when a field changes meaning or goes
 * away; new fields do not raise it. */
#define CQ_REPORT_SCHEMA_VERSION 1

typedef struct cq_nisqa_window {
    double start_sec, end_sec; /* on the leg's timeline */
    double speech_sec;         /* VAD speech inside the window: its weight */
    cq_nisqa_scores scores;
    int scored; /* 1: scored; 0: not computed (no speech near it: its weight is 0) */
} cq_nisqa_window;

/* One leg of a call. */
typedef struct cq_leg_report {
    char *source;         /* file the leg was decoded from */
    int channel;          /* 1-based channel in that file; 0 = the file is mono */
    cq_role role;         /* who speaks on it */
    cq_audio_info format; /* of the source file (strings static) */
    double duration_sec;  /* frames / rate */
    uint64_t frames;      /* samples in the leg */
    bool has_level;       /* the levels analyzer ran */
    cq_level_result level;
    bool has_silence; /* the silence analyzer ran */
    cq_silence_result silence;
    bool has_vad;             /* the speech-activity analyzer ran */
    cq_vad_engine vad_engine; /* which engine produced the probabilities */
    int vad_rate_hz;          /* rate the VAD ran at (8000; other rates are resampled) */
    uint64_t vad_samples;     /* samples at vad_rate_hz */
    size_t vad_chunk;         /* samples per probability */
    float *vad_probs;         /* one speech probability per chunk (the last chunk zero-padded) */
    size_t n_vad_probs;
    cq_speech_seg *speech; /* speech segments, in samples at vad_rate_hz */
    size_t n_speech;
    double speech_pct;     /* sum of segment lengths / vad_samples x 100 (raw VAD figure) */
    bool has_nisqa;        /* NISQA scores exist for this leg */
    cq_nisqa_scores nisqa; /* file mode: of the leg; windowed: the speech-weighted mean */
    cq_nisqa_window *nisqa_windows; /* windowed mode: every window scored */
    size_t n_nisqa_windows;
    bool nisqa_uniform;        /* windowed: no speech found (or no VAD): plain mean of windows */
    char *nisqa_note;          /* why this leg has no scores (e.g. too short), or NULL */
    bool has_dnsmos;           /* DNSMOS scores exist for this leg */
    cq_dnsmos_result dnsmos;   /* reference mode: the script's means; windowed: the clip scores
                                  are the windows' mean weighted by their parts' speech */
    double *dnsmos_weight_sec; /* windowed: each window's weight (speech s in its part) */
    bool dnsmos_uniform;       /* windowed: no speech found (or no VAD): plain mean */
    char *dnsmos_note;         /* why this leg has no DNSMOS scores, or NULL */
    bool has_quality;          /* the quality indicators ran */
    cq_quality_result quality;
    bool has_clipping_pct;  /* quality ran with levels */
    double clipping_pct;    /* clipped samples / samples x 100 */
    bool has_events;        /* the call-events analyzer ran */
    cq_class_seg *timeline; /* speech/music/tone/noise/silence segments */
    size_t n_timeline;
    double timeline_sec[CQ_CLS_COUNT]; /* total time of each class, s */
    cq_speech_audio *speech_audio; /* the speech_audio analyzer ran: the leg's speech at 16 kHz */
    cq_call_event *events;         /* this leg's events, in time order */
    size_t n_events;
    bool has_diarization;             /* the diarize analyzer ran on this leg */
    cq_diarization diarization;       /* a mono mix: its speakers; a leg of two: its print only */
    void *stage_data[CQ_STAGE_SLOTS]; /* owned by the analyzer of that slot */
} cq_leg_report;

/* What the events of both legs add up to (the events analyzer). */
typedef struct cq_call_events_summary {
    bool ringback;             /* a ringback tone was heard */
    bool has_time_to_answer;   /* someone spoke after the last ringback */
    double time_to_answer_sec; /* the first speech on either leg after the last ringback */
    /* Where the call starts for the people in it: the end of the ringback, IVR and queue music
     * (with the keys pressed in them) the recording starts with, else 0, the recording's start.
     * Not known (has_answer false) when nobody spoke after them: never answered, or nothing
     * left to judge. */
    bool has_answer;
    double answer_sec;
    cq_event_type answer_after; /* the last of those events; 0 when the recording starts at
                                   the answer */
    int hold_count;
    double hold_total_sec;
} cq_call_events_summary;

typedef struct cq_report {
    char *file;                     /* name of the call as given */
    double duration_sec;            /* longest leg */
    bool has_legs;                  /* two legs (stereo or leg files); false: mono mixed audio */
    const char *layout;             /* "stereo", "leg_files" or "mono_mix" (static) */
    cq_channel_map channel_map;     /* stereo only: which channel is inbound */
    cq_leg_report *inbound;         /* never NULL in a finished report (the mix when !has_legs) */
    cq_leg_report *outbound;        /* NULL when !has_legs */
    bool fake_stereo;               /* stereo file whose two channels are sample-identical */
    unsigned analyzers;             /* CQ_AN_* bits that ran */
    cq_vad_engine vad_engine;       /* engine of the VAD (when it ran) */
    const char *vad_version;        /* "v6.2", "v5.1.2", "unknown"; NULL for the DSP fallback */
    char vad_sha256[65];            /* model file sha256; "" for the DSP fallback */
    char *vad_status;               /* why the fallback ran (owned), or NULL */
    cq_speech_params speech_params; /* get_speech_timestamps parameters used */
    bool nisqa_loaded;              /* the NISQA model was available */
    char nisqa_sha256[65];
    char *nisqa_status; /* why NISQA did not run (owned), or NULL */
    cq_nisqa_mode nisqa_mode;
    double nisqa_window_sec;
    bool dnsmos_loaded;        /* the DNSMOS model was available and selected by mos_model */
    char dnsmos_sha256[2][65]; /* sig_bak_ovr.onnx, model_v8.onnx */
    char *dnsmos_status;       /* why DNSMOS did not run (owned), or NULL */
    cq_dnsmos_mode dnsmos_mode;
    cq_mos_model mos_model;  /* the setting */
    double silence_noise_db; /* silencedetect parameters used */
    double silence_min_duration_sec;
    bool dtmf_speech; /* the DTMF receivers the events analyzer ran (cq_tones_params) */
    bool dtmf_voice_cancel;
    bool has_conversation; /* the conversation analyzer ran (two legs, or the mix) */
    cq_conversation conversation;
    bool voiceprints;                     /* voice prints were asked for (diarize) */
    bool has_speaker_conversation;        /* a mono mix diarized into two speakers: */
    cq_conversation speaker_conversation; /* the conversation between them (leg 0 = speaker
                                             S1, who spoke first; no overtalk: overlap is not
                                             detected on one channel) */
    bool has_xleg;                        /* the two-leg audio checks ran (two legs) */
    cq_xleg_result xleg;
    bool has_call_events; /* the events analyzer ran */
    cq_call_events_summary call_events;
    int nisqa_legs;             /* legs with NISQA scores (0, 1 or 2) */
    cq_nisqa_scores nisqa_mean; /* the mean of those legs' scores (n_segments unused) */
    cq_warning *warnings;       /* about the input, in the order found */
    size_t n_warnings;
    void *stage_data[CQ_STAGE_SLOTS]; /* call-level results of analyzers with a slot */
    double analysis_time_sec;         /* wall time of cq_engine_analyze() */
    /* Where that time went, when cq_engine_params.profile asked (else has_profile is false):
     * CPU seconds the analysing thread spent decoding, resampling to the 8 and 16 kHz
     * streams, and in each stage (its create, push, finish, summarize and destroy; by the slot of
     * the stage table, the order of the analyzers' names). The CPU of a stage's worker threads
     * (NISQA's and DNSMOS's with threads > 1) is counted in its account. */
    bool has_profile;
    double profile_decode_sec;
    double profile_resample_sec;
    double profile_stage_sec[CQ_STAGE_SLOTS];
} cq_report;

/* The legs' MOS as the report's mos{} gives it, both legs from one model: NISQA's MOS when a
 * leg has NISQA scores, else DNSMOS's P.835 OVRL. mos[0] inbound (the mix for mono files),
 * mos[1] outbound; NAN for a leg without a MOS of that model. Returns the model's name
 * (CQ_MOS_NAME_NISQA or CQ_MOS_NAME_DNSMOS, static) or NULL when no leg has a MOS. */
#define CQ_MOS_NAME_NISQA "NISQA v2"
#define CQ_MOS_NAME_DNSMOS "DNSMOS P.835 OVRL"
CQ_API const char *cq_report_mos(const cq_report *r, double mos[2]) CQ_NONNULL(1, 2);

/* Free a report and everything it owns. NULL is a no-op. */
CQ_API void cq_report_destroy(cq_report *r);

/* Render as one line of JSON (no trailing newline). Returns a string to free with
 * cq_report_free_string(), or NULL on allocation failure. */
CQ_API char *cq_report_to_json(const cq_report *r) CQ_NONNULL(1);

/* Findings as a JSON array (one line): [{code, severity, message, values{}, evidence[{start,
 * end, role, quote, figure}]}]. Same ownership as cq_report_to_json(). */
CQ_API char *cq_findings_to_json(const cq_finding *f, size_t n);

/* Render as readable multi-line text. Same ownership as cq_report_to_json(). */
CQ_API char *cq_report_to_text(const cq_report *r) CQ_NONNULL(1);

/* Free a string returned by the render functions. NULL is a no-op. */
CQ_API void cq_report_free_string(char *s);

/* Parse "levels,silence" into CQ_AN_* bits. Returns CQ_OK, or CQ_ERR_INVALID with `err`
 * naming the unknown analyzer and listing the known ones. */
CQ_API CQ_NODISCARD int cq_analyzers_parse(const char *list, unsigned *out, cq_err *err)
    CQ_NONNULL(1, 2);

/* Name of one analyzer bit ("levels"), or NULL. */
CQ_API const char *cq_analyzer_name(unsigned bit);

/* The i-th analyzer in running order: its name, and its bit in *bit (optional); NULL past the
 * last one. */
CQ_API const char *cq_analyzer_at(size_t i, unsigned *bit);

/* The analyzers selected when none are named (every one but those run only on request). */
CQ_API unsigned cq_analyzers_default(void);

/* The level envelope's floor, dBFS: a step of digital silence (or quieter than this) holds it,
 * so that no value is -inf. */
#define CQ_ENVELOPE_FLOOR_DB (-100.0)

/* The level envelope of a leg (the envelope analyzer ran): the RMS level of each step of
 * *step_sec seconds from the leg's start, in tenths of a dB FS (20 log10 RMS, as rms_db: a
 * full-scale sine is -30, i.e. -3.0 dB FS), rounded, never under CQ_ENVELOPE_FLOOR_DB x 10; the
 * last step may be shorter. *n = ceil(duration / step). NULL (with *n = 0) when the analyzer did
 * not run. Valid until the report is destroyed. */
CQ_API const int16_t *cq_leg_envelope(const cq_leg_report *l, double *step_sec, size_t *n)
    CQ_NONNULL(1, 2, 3);

#ifdef __cplusplus
}
#endif
#endif /* CQ_REPORT_H */
