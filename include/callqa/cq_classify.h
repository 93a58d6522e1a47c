/*
 * cq_classify.h - what is on one leg, moment by moment: speech, music, tone, noise or silence,
 * and the call events that follow from it (DTMF, ringback, busy, SIT, fax, hold music, IVR
 * announcements). Works on 8 kHz audio as it streams, with the leg's speech probabilities
 * (Silero VAD, one per 256-sample chunk) pushed alongside.
 *
 * Frames are 32 ms (256 samples, the VAD's chunk). A frame is
 *   silence  below -40 dBFS (and not speech);
 *   tone     a run of a table tone that is part of a tone event, or a DTMF digit (cq_tones);
 *   speech   VAD probability >= 0.5;
 *   music    otherwise, when most active non-speech frames within 0.26 s either side show
 *            three or more spectral peaks that persist from the previous frame and a spectrum
 *            far from flat (sustained notes and their harmonics);
 *   noise    any other active frame.
 * Hold is music lasting 3 s or more (pieces less than 2 s apart joined); it ends at the last
 * music frame, and the streaming classifier reports that end as soon as speech follows
 * (within about 0.35 s of the audio) or 2 s of something else.
 * IVR is recognised only from context, not from the voice: speech on the leg that leads
 * straight into hold music (less than 1 s before it) or straight after a SIT. A recorded
 * prompt elsewhere reads as speech. See docs/events.md for the measured accuracy.
 * Live decisions (cq_classify_params.live, off by default): on hold, `human` when speech follows
 * the hold music after 1.28 s or more of silence, or 10.5 s of speech pass with no music; from
 * the answer, `machine` when the greeting lasts 1.82 s (pauses under 0.8 s inside it), `human`
 * when it stops shorter and 0.8 s of quiet follow, `beep` for a 0.19-1.6 s steady tone at
 * 375-2062 Hz after it, and for a machine `message_end` (the moment to leave a message: the
 * beep's end, or 1.5 s of quiet after the greeting when no beep came). Each is handed out
 * once, complete, when decided, with its rule and evidence. Also on hold: `ivr_prompt` for speech
 * (0.5 s or more) before the hold that a DTMF key within 3.5 s or the hold's music within 2.5 s
 * followed, `hold_announcement` for speech in the hold after which the music came back,
 * `hold_ended` with the `human` event or after 30 s without music and hold; in both modes,
 * `silence` (open, then closed) from silence_event_sec of silence. With probe_sec (a host that can
 * play a probe back into the call), hold mode asks: once the candidate's speech pauses 0.42 s a
 * `probe` event says to play it now (two per candidate at most), and speech 0.26-1.28 s after its
 * end, after a pause, the line silent while it sounded, is a person (`probe_reply`); quiet_handover
 * then does not decide (docs/live/hold-slayer.md, "Asking the line").
 *
 * Thread safety: a classifier belongs to one stream.
 */
#ifndef CQ_CLASSIFY_H
#define CQ_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cq_status.h"
#include "cq_tones.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CQ_CLASSIFY_RATE 8000
#define CQ_CLASSIFY_FRAME 256 /* samples per frame and per VAD probability */

typedef enum cq_seg_class {
    CQ_CLS_SILENCE = 0,
    CQ_CLS_SPEECH = 1,
    CQ_CLS_MUSIC = 2,
    CQ_CLS_TONE = 3,
    CQ_CLS_NOISE = 4
} cq_seg_class;
#define CQ_CLS_COUNT 5

typedef struct cq_class_seg {
    cq_seg_class cls;
    double start_sec, end_sec;
    double confidence; /* share of the segment's frames whose own evidence agreed (0-1) */
} cq_class_seg;

typedef enum cq_event_type {
    CQ_EV_DTMF = 1,
    CQ_EV_RINGBACK = 2,
    CQ_EV_BUSY = 3, /* signal "busy" or "congestion" */
    CQ_EV_SIT = 4,
    CQ_EV_FAX = 5, /* signal "cng" or "ced" */
    CQ_EV_HOLD = 6,
    CQ_EV_IVR = 7,
    CQ_EV_HUMAN = 8,       /* live mode: a live person speaks (rule: see cq_call_event.rule) */
    CQ_EV_MACHINE = 9,     /* live mode "amd": an answering machine's greeting */
    CQ_EV_BEEP = 10,       /* live mode "amd": the tone after the greeting (start: its onset) */
    CQ_EV_PROMPT = 11,     /* live mode "hold": speech before the hold that a key or the hold's
                              music answered ("ivr_prompt") */
    CQ_EV_ANNOUNCE = 12,   /* live mode "hold": speech in the hold after which the music came
                              back ("hold_announcement") */
    CQ_EV_HOLD_ENDED = 13, /* live mode "hold": the wait is over (a person, or no hold and no
                              music frame for 30 s), from the hold's last sustained music */
    CQ_EV_SILENCE = 14,    /* both live modes: silence_event_sec or more of silence */
    CQ_EV_PROBE = 15,      /* live mode "hold" with probe_sec: play the probe into the call
                              now (start: now; end: start + probe_sec; cycles: 1 or 2) */
    CQ_EV_MESSAGE_END = 16 /* live mode "amd", a machine: leave the message now (start = end:
                              the beep's end, or 1.5 s of quiet after the greeting) */
} cq_event_type;

/* Live-call decisions (cq_classify_params.live); off by default. */
typedef enum cq_live_mode {
    CQ_LIVE_OFF = 0,
    CQ_LIVE_HOLD = 1, /* waiting on hold: `human` when a person takes the call after a hold */
    CQ_LIVE_AMD = 2   /* the stream starts at the answer: `human` or `machine` on the greeting,
                         then `beep` */
} cq_live_mode;

/* Streaming (cq_classifier_poll): an event is handed out open once, as soon as it is
 * recognised, then updated when what is known of it grows (each DTMF digit), then closed. */
typedef enum cq_event_state {
    CQ_EVENT_CLOSED = 0, /* complete: the only state cq_classifier_events() has */
    CQ_EVENT_OPEN = 1,   /* begun (end_sec < 0) */
    CQ_EVENT_UPDATE = 2  /* begun, more known (end_sec < 0): a DTMF event's digits so far */
} cq_event_state;

typedef struct cq_call_event {
    unsigned id; /* the same for an event's open, update and closed hand-outs (from 1) */
    cq_event_state state;
    cq_event_type type;
    double start_sec, end_sec;
    char digits[64];    /* DTMF */
    const char *signal; /* static: "busy", "congestion", "cng", "ced"; else NULL */
    const char *region; /* cadence table of a tone: "na", "uk", "eu", "itu"; else NULL */
    int cycles;         /* tone bursts or digits */
    double confidence;  /* hold: share of music frames over its span; tones, DTMF: 1 */
    /* the evidence of a live decision (human, machine, beep; 0 where it does not apply) */
    const char *rule;  /* static: the rule that fired ("quiet_handover", "no_music_after",
                          "short_then_pause", "long_greeting", "beep_after_greeting", "tone") */
    double speech_sec; /* human, machine: speech heard of the utterance or greeting */
    double quiet_sec;  /* hold human: quiet between the music and the speech; amd: the pause
                          after the utterance (human), the longest pause within it (machine) */
    double music_sec;  /* hold human: seconds from the last music to the decision */
    double freq_hz;    /* beep: its frequency */
    double reply_sec;  /* hold human by "probe_reply": from the probe's end to the reply */
} cq_call_event;

typedef struct cq_classify_params {
    double silence_db;        /* non-speech frames below are silence (-40 dBFS) */
    double silence_event_sec; /* live modes: a silence event from this long (5 s; 0: none) */
    double hold_min_sec;      /* shortest hold (3 s) */
    double hold_gap_sec;      /* music pieces closer than this are one hold (2 s) */
    bool have_vad;         /* probabilities will be pushed; false: no speech class (tones only) */
    cq_tones_params tones; /* the DTMF receivers (cq_tones_default_params()) */
    cq_live_mode live;     /* human / machine / beep decisions (CQ_LIVE_OFF) */
    double probe_sec;      /* hold mode: the probe's length when the host can play one back
                              into the call (0: none, the passive rules; at most 10 s) */
} cq_classify_params;

typedef struct cq_classifier cq_classifier;

CQ_API cq_classify_params cq_classify_default_params(void);

CQ_API cq_classifier *cq_classifier_create(const cq_classify_params *p, int *err);
CQ_API void cq_classifier_destroy(cq_classifier *c);

/* Add 8 kHz samples (full scale 1.0) and, in step with them, one VAD probability per 256
 * samples (either may run ahead of the other). Frames are classified once both are in. */
CQ_API CQ_NODISCARD int cq_classifier_push_audio(cq_classifier *c, const float *x, size_t n)
    CQ_NONNULL(1);
CQ_API CQ_NODISCARD int cq_classifier_push_vad(cq_classifier *c, const float *probs, size_t n)
    CQ_NONNULL(1);

/* Events since the last poll (valid until the next poll or destroy). An event is handed out
 * open, with end_sec < 0, as soon as it is recognised — a hold once 3 s confirm it, a tone
 * once its bursts match a cadence, a SIT at its first three tones, a DTMF event at its first
 * digit — updated when more is known (each later digit, with the digits so far: cq_tones.h),
 * and again, complete, when it ends; every event opened is closed, by cq_classifier_finish at
 * the latest. IVR, recognised from context once the stream ends, is handed out complete only.
 * cq_classifier_events() has only the complete ones. */
CQ_API CQ_NODISCARD int cq_classifier_poll(cq_classifier *c, const cq_call_event **ev, size_t *n)
    CQ_NONNULL(1, 2, 3);

/* End of the stream: close everything. Then the timeline and every event, in time order,
 * stay valid until destroy. */
CQ_API CQ_NODISCARD int cq_classifier_finish(cq_classifier *c) CQ_NONNULL(1);
CQ_API const cq_class_seg *cq_classifier_timeline(const cq_classifier *c, size_t *n)
    CQ_NONNULL(1, 2);
CQ_API const cq_call_event *cq_classifier_events(const cq_classifier *c, size_t *n)
    CQ_NONNULL(1, 2);

/* Hold mode's probe: the host began playing the probe the last `probe` event asked for at
 * start_sec of the stream's audio (where its own input stood when the probe's first samples
 * went out; the event's start or later). The reply is listened for from then on; until the
 * host says so, none is (speech meanwhile is the line talking over the probe). */
CQ_API int cq_classifier_probe_played(cq_classifier *c, double start_sec) CQ_NONNULL(1);

/*
 * Hold mode's remembered announcements (docs/live/hold-slayer.md, "Remembered announcements").
 * Speech in the hold after which the music came back is an announcement; its fingerprint (one
 * 16-bit word per 32 ms frame: the signs of how its spectrum changes across 17 bands from 312 to
 * 3500 Hz and in time; no audio) is learned, and so is speech a person was decided on when the
 * music comes back after it. A later candidate whose first 1.02 s (or, for sparse speech, as much
 * of its first 3 s as holds 16 frames of speech) matches one learned or remembered (under 33 % of
 * its bits differ at the best alignment) is no person: no probe is sent into it (one out is not
 * listened to), quiet_handover does not fire, no_music_after waits the announcement's length
 * more, and its hold_announcement says "remembered". While any is known, quiet_handover and a
 * probe's reply wait for that comparison.
 * cq_classifier_remember gives one heard on earlier calls (at most CQ_FP_MAX_FRAMES words, the
 * rest ignored; 16 are kept per call, the oldest learned going first); cq_classifier_learned
 * hands out the i-th learned in this call (NULL past the last; valid until the next push).
 */
#define CQ_FP_MAX_FRAMES 625 /* 20 s */
CQ_API int cq_classifier_remember(cq_classifier *c, const uint16_t *bits, size_t frames)
    CQ_NONNULL(1);
CQ_API const uint16_t *cq_classifier_learned(const cq_classifier *c, size_t i, size_t *frames)
    CQ_NONNULL(1, 3);

/* Seconds of audio classified so far (frames decided). */
CQ_API double cq_classifier_time(const cq_classifier *c) CQ_NONNULL(1);

/* "silence", "speech", "music", "tone", "noise" */
CQ_API const char *cq_seg_class_name(cq_seg_class c);
/* "dtmf", "ringback", "busy", "sit", "fax", "hold", "ivr", "human", "machine", "beep",
 * "ivr_prompt", "hold_announcement", "hold_ended", "silence", "probe", "message_end" */
CQ_API const char *cq_event_type_name(cq_event_type t);

/* An event's fields as the JSON lines of `callqa classify` and `callqa live` give them, without
 * the braces: "type", "id", "state", "start", "end", then the fields its type has, and "at"
 * (`at_sec`, the audio read when it was decided). Written into buf (always terminated when
 * size > 0); returns the length the whole text has, as snprintf does. */
CQ_API size_t cq_call_event_fields(const cq_call_event *e, double at_sec, char *buf, size_t size)
    CQ_NONNULL(1);

#ifdef __cplusplus
}
#endif
#endif /* CQ_CLASSIFY_H */
