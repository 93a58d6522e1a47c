/*
 * cq_conversation.h - what the two legs of a call say about it, with no transcript: talk time,
 * overtalk, interruptions, dead air, turns and response latency, and one-way audio with the
 * rule that decided it and its evidence. A pure function over the legs' speech segments,
 * call events and timelines (the per-leg analyzers' results); no audio.
 *
 * Definitions (units: seconds; docs/report.md has the report fields):
 *   talk        a leg's speech segments minus its IVR and hold spans and its tone events (a
 *               prompt or hold music the VAD calls speech is not talk);
 *   overtalk    both legs talk: the intersections of the two legs' talk;
 *   interruption an overtalk of at least interrupt_min_sec where one leg started talking while
 *               the other was already talking: the later one cut in on the earlier one;
 *   dead air    neither leg talks, no hold, ringback, IVR or tone on either leg, for at least
 *               dead_air_sec, between the first and the last sign of life on the call;
 *   turns       the floor passes when a leg starts talking after the other's talk, or cuts in
 *               and outlasts it; talk of one leg contained in the other's turn (backchannel,
 *               overtalk) does not take the floor;
 *   latency     start of a turn minus end of the previous turn (0 when it overlapped);
 *   monologue   one leg's talk within one of its turns, with no pause of monologue_pause_sec
 *               or more: it runs from the first talk to the last, its shorter pauses
 *               included; a longer pause (dead air always is one) or the end of the turn ends
 *               it. The other leg's talk inside the turn (a backchannel over the talker's
 *               speech) does not end it; the other leg's talk in a pause takes the turn and
 *               does. longest_monologue_sec is a leg's longest; a mono mix's monologues are
 *               the mix's talk with no such pause.
 *
 * One-way audio (one_way_rule names what fired):
 *   "mixed audio"      a mono recording: cannot be judged (one_way = -1);
 *   "not connected"    SIT, busy or ringback with no talk after it: not one-way audio;
 *   "baseline"         the old design's rule: a leg under low_pct % speech (raw VAD) while
 *                      the other is over high_pct %;
 *   "dtmf"             the baseline fired, but DTMF reached the recording on the silent leg:
 *                      that direction carried audio, so it is not one-way audio;
 *   "none"             no rule fired.
 * Evidence: spans of at least 2 s where the talking leg talks and the silent leg carries no
 * talk, with what the silent leg carried there ("silence", "noise", "music", "tone") and its
 * level.
 *
 * Swapped legs: hold music is played from the agent's side, so a call whose inbound (caller)
 * leg carries hold music while the outbound leg carries none is flagged as probably swapped.
 * IVR and SIT are not used: network announcements reach the caller's leg legitimately.
 */
#ifndef CQ_CONVERSATION_H
#define CQ_CONVERSATION_H

#include <stdbool.h>
#include <stddef.h>

#include "cq_status.h"
#include "cq_classify.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_conv_span {
    double start_sec, end_sec;
} cq_conv_span;

/* One leg as the per-leg analyzers left it. */
typedef struct cq_conv_leg_in {
    double duration_sec;
    double speech_pct;          /* raw VAD figure */
    const cq_conv_span *speech; /* VAD speech segments, in time order */
    size_t n_speech;
    const cq_call_event *events; /* NULL/0 without the events analyzer */
    size_t n_events;
    const cq_class_seg *timeline; /* NULL/0 without the events analyzer */
    size_t n_timeline;
} cq_conv_leg_in;

typedef struct cq_conv_params {
    double dead_air_sec;        /* 5 */
    double interrupt_min_sec;   /* 0.5 */
    double one_way_low_pct;     /* 5 */
    double one_way_high_pct;    /* 20 */
    double evidence_min_sec;    /* 2 */
    double monologue_pause_sec; /* 2: a pause this long or longer ends a monologue; > 0
                                   (INFINITY: a monologue is a whole turn) */
} cq_conv_params;

typedef struct cq_conv_leg {
    double talk_sec;              /* speech minus IVR, hold and tones */
    double talk_pct;              /* of the leg's duration */
    double excluded_sec;          /* speech not counted as talk (IVR, hold, tones) */
    double talk_listen_ratio;     /* own talk / the other leg's talk; < 0 when the other is 0 */
    double longest_monologue_sec; /* see "monologue" above */
    size_t turns;
    size_t interruptions; /* times this leg cut in on the other */
} cq_conv_leg;

typedef struct cq_interruption {
    int by;        /* 0 inbound, 1 outbound: who cut in */
    double at_sec; /* when the interrupter started */
    double overlap_sec;
} cq_interruption;

typedef struct cq_evidence {
    double start_sec, end_sec;
    int silent_leg;       /* 0 inbound, 1 outbound */
    bool carried_known;   /* the silent leg has a timeline (events analyzer ran) */
    cq_seg_class carried; /* what the silent leg carried most of the span */
} cq_evidence;

typedef struct cq_conversation {
    cq_conv_leg leg[2]; /* inbound, outbound */
    cq_conv_span *overtalk;
    size_t n_overtalk;
    double overtalk_sec;
    cq_interruption *interruptions;
    size_t n_interruptions;
    cq_conv_span *dead_air;
    size_t n_dead_air;
    double dead_air_sec;
    size_t turns;
    size_t n_latencies; /* turn changes measured */
    double latency_mean_sec, latency_p90_sec;
    double excluded_sec[2];   /* per leg: IVR + hold + tone time (whether or not the VAD saw
                                 speech there): neither talk nor dead air */
    int one_way;              /* 1 yes, 0 no, -1 cannot be judged (mixed audio) */
    int one_way_silent_leg;   /* 0 inbound, 1 outbound, -1 none */
    const char *one_way_rule; /* static, see above */
    char one_way_detail[160]; /* the figures behind the rule */
    cq_evidence *evidence;
    size_t n_evidence;
    bool swapped_suspected; /* the inbound leg plays hold music and the outbound none: hold
                               music comes from the agent's side, so the legs look swapped */
    char swapped_detail[160];
} cq_conversation;

CQ_API cq_conv_params cq_conv_default_params(void);

/*
 * Analyse a call: `legs` has two entries (inbound, outbound), or one for a mixed (mono)
 * recording, which gets talk figures for the mix and one_way = -1. Fills *out (free with
 * cq_conversation_free). p NULL: the defaults. CQ_OK, CQ_ERR_INVALID (n_legs not 1 or 2;
 * dead_air_sec or monologue_pause_sec not > 0; interrupt_min_sec < 0) or CQ_ERR_NOMEM.
 */
CQ_API CQ_NODISCARD int cq_conversation_analyze(const cq_conv_leg_in *legs, int n_legs,
                                                const cq_conv_params *p, cq_conversation *out)
    CQ_NONNULL(1, 4);

CQ_API void cq_conversation_free(cq_conversation *c);

#ifdef __cplusplus
}
#endif
#endif /* CQ_CONVERSATION_H */
