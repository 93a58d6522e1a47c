/*
 * transcript.h - the words of a call, from its legs' speech: which audio is sent (the plan),
 * what a Whisper-class server answers (parsed from its wire format, or imported), mapped onto
 * the call's clock, checked by the hallucination guard, merged into turns, normalised for the
 * scoring rules, and rendered as the report's `transcript` block. docs/transcription.md.
 *
 * Pure: no network, no store (src/clients/asr.h sends the chunks; the worker stores the result).
 * It calls the engine's public API only (a report's legs and roles, cq_speech_audio_read for a
 * chunk's samples), with jansson. It is on floor 5, above the engine whose reports it reads;
 * pure, so it is tested on servers' answers as JSON text and on legs made by hand
 * (tests/transcript/test_transcript.c), and the clients, scoring, the jobs and the service share
 * one reading of a transcript.
 * Times are seconds on the call's clock, except in a tx_result, whose times are the server's:
 * seconds from the start of the chunk it was given.
 *
 * Thread safety: no global state; one tx_transcript belongs to one thread at a time.
 */
#ifndef CQ_TRANSCRIPT_H
#define CQ_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_report.h"

typedef struct tx_span {
    double start, end;
} tx_span;

/* ---- the plan: which audio of a leg is sent (tx_plan.c) ---------------------------------- */

typedef struct tx_plan_params {
    double pad_sec;       /* each VAD speech segment widened by this on both sides (0.2 s; at
                             most 0.3 s, what the speech audio keeps around speech) */
    double max_chunk_sec; /* a chunk's longest span on the clock (30 s) */
    double join_gap_sec;  /* a pause shorter than this stays inside a chunk (2 s) */
    double margin_sec;    /* around each excluded event (hold, tones, DTMF, fax, IVR): 0.1 s */
    double min_span_sec;  /* speech left shorter than this is not sent (0.1 s) */
    bool include_ivr;     /* send IVR prompts too (false) */
} tx_plan_params;

tx_plan_params tx_plan_default_params(void);

/* One request's audio: [start, end) of the leg, its speech parts (`sent`) as they are, zeros
 * between them (excluded events, pauses), so that chunk time t is call time start + t. */
typedef struct tx_chunk {
    double start, end;
    tx_span *sent;
    size_t n_sent;
    char file[64]; /* "ROLE_START_END.wav", e.g. "agent_12.340_41.220.wav" */
} tx_chunk;

typedef struct tx_plan {
    tx_chunk *chunks;
    size_t n;
    double speech_sec;   /* the VAD's speech of the leg, padding included */
    double excluded_sec; /* of it, under excluded events (not sent) */
    double sent_sec;     /* the sum of the `sent` parts */
} tx_plan;

/* The chunks of a leg: its VAD speech segments (padding included), widened by pad_sec, minus
 * its events of the
 * excluded kinds (each widened by margin_sec), joined across pauses shorter than join_gap_sec,
 * at most max_chunk_sec each (a longer stretch of speech is cut where the VAD's speech
 * probability is lowest in its last third). The leg needs the VAD; without the events analyzer
 * nothing is excluded. 0, or -1 (out of memory). */
int tx_plan_leg(const cq_leg_report *leg, const tx_plan_params *p, tx_plan *out);

/* The chunks of speaker s (0: S1, who spoke first; 1: S2) of a mono mix the diarize analyzer
 * split into two speakers: as tx_plan_leg, but from that speaker's segments only, each widened
 * by pad_sec no further than the other speaker's segments, so that a request holds one
 * speaker's speech (the other's turns inside a chunk are zeros, like a pause). The chunks are
 * named "S1_START_END.wav". 0, or -1 (out of memory, or no two speakers). */
int tx_plan_speaker(const cq_leg_report *leg, int s, const tx_plan_params *p, tx_plan *out);
void tx_plan_free(tx_plan *p);

/* The label of diarized speaker s: "S1" (s = 0, who spoke first), "S2" (s = 1). */
void tx_speaker_id(int s, char out[4]);

/* The chunk as a 16 kHz mono PCM16 WAV file in memory (malloc'd) from the leg's speech audio
 * (the speech_audio analyzer's product). 0, or -1 with err (out of memory, or the product does
 * not hold that audio). */
int tx_chunk_wav(const cq_speech_audio *a, const tx_chunk *c, unsigned char **wav, size_t *len,
                 char *err, size_t errsz);

/* ---- what a server answers (tx_parse.c) -------------------------------------------------- */

#define TX_UNKNOWN (-1e300) /* a figure the server did not give (or gave as -1, like vLLM) */

enum {
    TX_F_OUTSIDE_SPEECH = 1u << 0, /* its time lies away from the leg's speech */
    TX_F_OUTSIDE_CHUNK = 1u << 1,  /* its time lay outside the audio sent: clamped to it */
    TX_F_NO_TIME = 1u << 2,        /* the server gave no usable time (a segment's is used) */
};

typedef struct tx_word {
    double start, end;
    char *text;         /* as the server wrote it, without the leading space */
    double probability; /* TX_UNKNOWN when not given */
    unsigned flags;     /* TX_F_* */
} tx_word;

typedef struct tx_segment {
    double start, end;
    char *text; /* display text, trimmed */
    char *norm; /* normalised for rules: lower case, no punctuation, numbers as digits */
    tx_word *words;
    size_t n_words;
    double avg_logprob, compression_ratio, no_speech_prob; /* TX_UNKNOWN when not given */
    unsigned flags;
    cq_role role;     /* set when it joins a leg */
    char speaker[12]; /* set when it joins a leg: its leg's speaker (tx_leg.speaker) */
} tx_segment;

/* One response: the language as the server said it (a name or a code), its segments. */
typedef struct tx_result {
    char language[32];
    tx_segment *segs;
    size_t n;
    bool had_words; /* the server gave word times */
} tx_result;

/* OpenAI verbose_json (OpenAI, Groq, vLLM, faster-whisper servers): segments[] and, when given,
 * the top-level words[], placed into their segments. whisper.cpp's server: segments[] whose
 * words[] are sub-word tokens (probability; times only with its token timestamps on), merged
 * into words. Either: 0, or -1 with err (not JSON, not an object, an "error" member, a segment
 * without numbers). Empty text is not an error (n = 0). */
int tx_parse_openai(const char *body, size_t len, tx_result *out, char *err, size_t errsz);
int tx_parse_whispercpp(const char *body, size_t len, tx_result *out, char *err, size_t errsz);
void tx_result_free(tx_result *r);

/* An ISO 639-1 code for what a server said ("english", "English", "en", "en-US"): into out,
 * 0; -1 (unknown: out = ""). */
int tx_language_code(const char *said, char out[3]);

/* ---- the transcript of a call (tx_transcript.c) ------------------------------------------ */

typedef struct tx_leg {
    char name[12]; /* "inbound", "outbound", "mix" */
    cq_role role;
    char speaker[12]; /* whose speech: the role's name ("customer", "agent", "mixed"), or a
                         diarized speaker of a mono mix ("S1", "S2"; the role stays "mixed") */
    int src;          /* the report's leg it is read from: 0 inbound (or the mix), 1 outbound */
    tx_span *speech;  /* the leg's VAD speech segments (a diarized speaker: its segments as far
                         as they were sent), for the guard */
    size_t n_speech;
    tx_plan plan; /* the chunks sent (empty for an import) */
    tx_segment *segs;
    size_t n, cap;
} tx_leg;

typedef struct tx_dropped {
    cq_role role;
    char speaker[12];
    double start, end;
    char *text;
    const char *reason; /* static: "known_phrase", "repetition" */
} tx_dropped;

typedef struct tx_turn {
    cq_role role;
    char speaker[12]; /* as its segments' */
    double start, end;
    char *text;
} tx_turn;

typedef struct tx_transcript {
    char engine[16];  /* "openai", "whispercpp", "import" */
    char model[128];  /* "" when none */
    char language[3]; /* ISO 639-1, "" when unknown */
    tx_leg legs[2];
    int n_legs;
    double recorded_sec; /* the legs' durations */
    int requests;
    double seconds; /* wall time spent transcribing */
    tx_turn *turns;
    size_t n_turns;
    tx_dropped *dropped;
    size_t n_dropped;
    size_t words, flagged_words, dropped_words, dropped_segments;
    char warnings[4][160];
    int n_warnings;
    bool unchecked;  /* no speech to check against (an import without an analysis): no guard */
    bool plan_known; /* the audio was planned here (plan_params), not imported */
    tx_plan_params plan_params;
    bool diarized;          /* the legs are the speakers S1 and S2 of a mono mix, from the
                               diarize analyzer (speakers_from "diarization") */
    double diar_confidence; /* the diarization's confidence (0..1) when diarized */
} tx_transcript;

/* A transcript for the report's legs: each leg's role, speech and (when plan is not NULL) its
 * chunks (tx_plan_leg). A mono mix that the diarize analyzer split into two speakers gives two
 * legs, the speakers S1 and S2, each planned from its own segments (tx_plan_speaker) and checked
 * against them; a mono mix of one speaker, or not diarized, is one `mixed` leg with the warning
 * that both parties are one speaker. 0, or -1 (out of memory; t is left freeable). */
int tx_transcript_init(tx_transcript *t, const cq_report *r, const tx_plan_params *plan);
void tx_transcript_free(tx_transcript *t);

/* The answer for chunk `ci` of leg `li`: its times moved onto the call's clock (start + t),
 * anything outside the chunk clamped and flagged; the segments are moved out of res (res is
 * left empty). Language: the first one known. 0, or -1 (out of memory). */
int tx_add_chunk(tx_transcript *t, int li, size_t ci, tx_result *res);

/* After the last chunk: the guard (words and segments against the leg's speech; known
 * non-speech phrases and repetition loops with little acoustic evidence dropped), the
 * normalised text, the turns. 0, or -1 (out of memory). */
int tx_finish(tx_transcript *t);

/* Normalised text for rules (malloc'd): lower case, punctuation dropped (an apostrophe inside a
 * word kept), number words as digits ("twenty five" -> "25"), single spaces. NULL when out of
 * memory. */
char *tx_normalize(const char *text);

/* The words of a normalised text (runs of characters between single spaces). */
size_t tx_count_words(const char *norm);

/* hallucination_rate: words flagged or dropped / words received (0 words: -1). */
double tx_hallucination_rate(const tx_transcript *t);

/* ---- JSON (tx_json.c) -------------------------------------------------------------------- */

/* The report's `transcript` block as a JSON text (malloc'd; NULL when out of memory). */
char *tx_to_json(const tx_transcript *t);

/* A transcript made elsewhere, into t (engine "import"): callqa's own format
 *   {"segments": [{"speaker": "agent"|"customer"|"mixed"|"S1"|"S2", "start", "end", "text",
 *                  "words": [{"word", "start", "end"}]}]}   (words optional)
 * or an OpenAI verbose_json answer for the leg of `speaker` ("agent", "customer", "mixed", or a
 * diarized speaker of a mono mix, "S1" or "S2"). Times are on the call's clock. report_json
 * (the call's stored report, or NULL) gives each leg's speech for the guard (a diarized
 * speaker's: its segments in the report's speakers[]); without it the transcript is kept
 * unchecked, with a warning.
 * tx_finish is called. 0, or -1 with err. */
int tx_import(const char *body, size_t len, const char *speaker, const char *report_json,
              tx_transcript *t, char *err, size_t errsz);
/* The same with the report already parsed (a jansson json_t; NULL: none): tx_import parses its
 * text once and calls this. */
struct json_t;
int tx_import_obj(const char *body, size_t len, const char *speaker, const struct json_t *report,
                  tx_transcript *t, char *err, size_t errsz);

/* A transcript as the store keeps it (its block, tx_to_json's) read back through tx_import_obj
 * and checked against the report (parsed; NULL: none): an imported transcript against the
 * worker's analysis of the call (imported before the call was analysed), a stored one for
 * redaction. Each leg's segments are read as callqa's own import format, with the leg's
 * speaker; the engine becomes "import". 0; 1 when the block holds no segment (t is empty); -1
 * with err. */
int tx_import_stored(const char *block_json, const struct json_t *report, tx_transcript *t,
                     char *err, size_t errsz);

/* The report JSON with the transcript block added (malloc'd), or NULL with err. */
char *tx_report_with_transcript(const char *report_json, const tx_transcript *t, char *err,
                                size_t errsz);

#endif /* CQ_TRANSCRIPT_H */
