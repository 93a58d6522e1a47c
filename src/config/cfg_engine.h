/*
 * cfg_engine.h - the analysis settings (config.h) as the engine's parameters: the one bridge
 * between the settings and the library's public types, for the rooms above the engine (the
 * command line, the jobs, the service). A header only, so that the settings themselves call
 * libc alone.
 */
#ifndef CQ_CFG_ENGINE_H
#define CQ_CFG_ENGINE_H

#include "callqa/callqa.h"
#include "config.h"

/* The settings' analysis over p (cq_engine_default_params(), or what a command changed of it
 * beside the settings: analyzers, the envelope). p->vad_model points into c, and so does
 * p->model_dir when model_dir is set (else p->model_dir is left as it was). */
static inline void cfg_engine_params(const cfg_settings *c, cq_engine_params *p)
{
    const cfg_analysis *a = &c->analysis;
    p->silence_noise_db = a->silence_noise_db;
    p->silence_min_duration_sec = a->silence_min_duration_sec;
    p->channel_map = a->channel_map ? CQ_MAP_OUT_IN : CQ_MAP_IN_OUT;
    p->vad_model = a->vad_model;
    p->speech.threshold = a->vad_threshold;
    p->speech.neg_threshold = a->vad_neg_threshold;
    p->speech.min_speech_ms = a->vad_min_speech_ms;
    p->speech.min_silence_ms = a->vad_min_silence_ms;
    p->speech.speech_pad_ms = a->vad_speech_pad_ms;
    p->speech.max_speech_sec = a->vad_max_speech_sec;
    p->nisqa_mode = a->nisqa_mode ? CQ_NISQA_FILE : CQ_NISQA_WINDOWED;
    p->nisqa_window_sec = a->nisqa_window_sec;
    p->mos_model = (cq_mos_model)a->mos_model;
    p->dnsmos_mode = a->dnsmos_mode ? CQ_DNSMOS_REFERENCE : CQ_DNSMOS_WINDOWED;
    p->dtmf_speech = a->dtmf_speech;
    p->dtmf_voice_cancel = a->dtmf_voice_cancel;
    p->diarization_model = a->diarization_model;
    p->voiceprints = a->voiceprints;
    if (c->model_dir[0])
        p->model_dir = c->model_dir;
}

#endif /* CQ_CFG_ENGINE_H */
