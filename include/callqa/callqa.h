/*
 * callqa.h - umbrella header of the callqa library: call-recording analysis.
 *
 * Reading order: cq_engine.h (run a call) -> cq_report.h (what comes out; cq_finding.h, the
 * shape of warnings and findings) -> cq_legs.h (what goes in) -> cq_speech_audio.h (each leg's
 * speech at 16 kHz, on request) -> the analyzers (cq_level.h, cq_silence.h, cq_vad.h with
 * cq_speech.h, cq_nisqa.h, cq_quality.h, cq_tones.h and cq_classify.h, cq_xleg.h,
 * cq_conversation.h) -> cq_audio.h and cq_resample.h (decoding); cq_clock.h is the clock of
 * every room.
 */
#ifndef CALLQA_H
#define CALLQA_H

#include "cq_status.h"
#include "cq_base.h"
#include "cq_clock.h"
#include "cq_audio.h"
#include "cq_resample.h"
#include "cq_level.h"
#include "cq_silence.h"
#include "cq_legs.h"
#include "cq_report.h"
#include "cq_engine.h"
#include "cq_vad.h"
#include "cq_speech.h"
#include "cq_nisqa.h"
#include "cq_dnsmos.h"
#include "cq_quality.h"
#include "cq_tones.h"
#include "cq_classify.h"
#include "cq_conversation.h"
#include "cq_diarize.h"
#include "cq_xleg.h"
#include "cq_finding.h"
#include "cq_speech_audio.h"

#define CQ_VERSION_STRING "0.1.0"

#endif /* CALLQA_H */
