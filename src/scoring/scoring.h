/*
 * scoring.h - a call scored on a weighted scorecard: the card a user edits (JSON), checked when
 * it is loaded, and the totals and flags of a call's category results (docs/scoring.md). The
 * categories' methods are here too: acoustic thresholds on the report's figures and transcript
 * rules (sc_rules.c), and an LLM's rubric, as the request to send and the answer taken in
 * (sc_llm.c; src/clients/llm.h sends it). Beside the card: call topics (sc_topics.c), and the
 * assessment of a report without an LLM, with the thresholds and problem badges the calls list
 * shares (sc_assess.c).
 *
 * It calls the transcript module (a call's words) and nothing else of the program, with
 * jansson, nettle (the card's hash) and libc's regex. It is on floor 6, above the transcript;
 * pure: no network, no store, so it is tested from JSON fixtures and hand-made cards
 * (tests/scoring/: test_scoring.c and the rest), and the worker and the service, above it, join it
 * to the LLM client and the store.
 *
 * The old scorer's formula (../shared/reference/compat-api.md): each category 1-5,
 * total = 20 x sum(weight x score), flagged below the threshold (60), "Score NN below 60", and
 * "; critical: a, b" for the categories at 2 or below.
 *
 * Thread safety: no global state; a loaded card is read-only.
 */
#ifndef CQ_SCORING_H
#define CQ_SCORING_H

#include <stdbool.h>
#include <stddef.h>

#define SC_MAX_CATEGORIES 32

typedef enum sc_method { SC_ACOUSTIC = 0, SC_RULES = 1, SC_LLM = 2 } sc_method;

typedef struct sc_category {
    char key[33]; /* [a-z0-9_]{1,32} */
    char name[81];
    double weight; /* > 0; the card's weights sum to 1 */
    double lo, hi; /* the scale (default 1-5) */
    sc_method method;
    bool critical; /* a failed critical item sets the total to 0 and flags the call */
    char *spec;    /* the method's own settings, as JSON text (malloc'd) */
} sc_category;

typedef struct sc_card {
    char name[81];
    double flag_threshold; /* default 60 */
    sc_category cats[SC_MAX_CATEGORIES];
    int n;
    char hash[65]; /* SHA-256 of the card's text */
    char *vars;    /* the card's vars as JSON text, or NULL (malloc'd) */
} sc_card;

/* Load a card from its JSON text:
 *   {"name": "...", "flag_threshold": 60,
 *    "categories": [{"key", "name", "weight", "scale": [1, 5], "method": "acoustic"|"rules"|
 *                    "llm", "critical": false, "spec": {...}}]}
 * Refused, with err, for: not JSON, an unknown key at either level, a missing or malformed
 * field, a duplicate category key, weights that do not sum to 1 (within 1e-6), a scale that is
 * not lo < hi. 0, or -1 (out is left freeable). */
int sc_card_load(const char *text, size_t len, sc_card *out, char *err, size_t errsz);
void sc_card_free(sc_card *c);

/* The shipped default card (scorecards/default.json, compiled in): its text and length. */
const char *sc_default_card(size_t *len);

/* One category's result, as its method gave it. */
typedef struct sc_result {
    bool scored;          /* false: not judged (e.g. "not scored: no LLM configured") */
    double score;         /* on the category's scale, when scored */
    bool critical_failed; /* a critical item of it failed */
} sc_result;

typedef struct sc_totals {
    bool has_total;   /* every category scored */
    double total;     /* 20 x sum(weight x score on 1-5), 0-100; 0 after a critical failure */
    bool has_partial; /* at least one category scored */
    double partial;   /* the same over the scored categories, normalised by their weight */
    double coverage;  /* the weight scored, 0-1 */
    bool flagged;
    char flag_reason[512]; /* "" when not flagged */
} sc_totals;

/* The totals of results (one per category of the card, in the card's order). */
void sc_totals_of(const sc_card *c, const sc_result *r, sc_totals *out);

/* ---- a call's words, for rules and evidence (sc_text.c) ---------------------------------- */

#define SC_AGENT "agent"
#define SC_CUSTOMER "customer"
#define SC_MIXED "mixed" /* one leg holding both parties: speakers not separated */

typedef struct sc_utt {
    char speaker[10];  /* SC_AGENT, SC_CUSTOMER or SC_MIXED; or a diarized speaker of a mono
                          mix ("S1", "S2") whose role is not known (sc_role_unknown) */
    double start, end; /* on the call's clock, s */
    char *text;        /* as transcribed (display text) */
    char *norm;        /* the words for rules: non-speech tags ([noise], <unk>, (music)) out,
                        * then tx_normalize: lower case, no punctuation, numbers as digits */
} sc_utt;

typedef struct sc_text {
    sc_utt *u; /* in time order */
    size_t n;
    double duration;       /* the call's length, s (the recording's, else the last word's end) */
    bool separated;        /* the speakers are on legs of their own (no SC_MIXED utterance), or
                              diarized apart (S1, S2) */
    bool roles_unknown;    /* some utterance's speaker is a diarized S1/S2 without a role: a rule
                              or a quote that names agent or customer may match either */
    double answer;         /* where the call starts for the people in it, s: the report's
                              call_events.answer_sec (sc_text_answer); 0, the recording's start,
                              when it has none */
    char answer_after[12]; /* what the recording starts with before the answer: "ringback",
                              "ivr", "hold", "dtmf"; "" nothing (it starts at the answer) */
} sc_text;

/* A speaker that is none of agent, customer, mixed: a diarized speaker (S1, S2) whose role is
 * not known; rules and quotes naming a party accept its words, as said by either. */
bool sc_role_unknown(const char *speaker);

struct tx_transcript;
/* The transcript's segments as utterances, in time order (dropped segments are not there).
 * duration: the report's length when known (> 0), else the last segment's end. 0, or -1 (out
 * of memory; out is left freeable). */
int sc_text_from_transcript(const struct tx_transcript *t, double duration, sc_text *out);
/* The same from the report's transcript block (JSON: legs[] with role and segments[] of start,
 * end and text), as the store keeps it. 0, or -1 with err. */
int sc_text_from_block(const char *block, double duration, sc_text *out, char *err, size_t errsz);
struct json_t;
/* The answer from the report (parsed, or NULL): call_events.answer_sec and answer_after when
 * the report has them, else 0 and "" (the recording's start). */
void sc_text_answer(sc_text *t, const struct json_t *report);
void sc_text_free(sc_text *t);

/* One piece of evidence from the transcript. */
typedef struct sc_quote {
    char speaker[10];
    double start, end;
    char *quote; /* a verbatim span of the utterance's text (malloc'd) */
} sc_quote;

/* Is `quote` a verbatim span of what `speaker` said between start and end (within tol s)?
 * Compared on normalised words (case, punctuation and number words do not matter); the
 * utterance must overlap [start - tol, end + tol]. On a match, out (when not NULL) gets the
 * utterance's speaker and times and the quote as given (malloc'd): 0. No match: 1. Out of
 * memory: -1. */
int sc_quote_check(const sc_text *t, const char *speaker, double start, double end,
                   const char *quote, double tol, sc_quote *out);
void sc_quote_free(sc_quote *q);

/* ---- sentiment: VADER's lexicon and rules (sc_vader.c), the trend of a call (sc_sentiment.c) */

/* The lexicon file in the model directory, and the one scripts/fetch-models installs: the
 * vader_lexicon.txt of the npm package vader-sentiment 1.1.3 (the lexicon is MIT, C.J. Hutto;
 * the package an Apache-2.0 port). Another file loads too: its version is then "unknown". */
#define SC_VADER_FILE "vader/vader_lexicon.txt"
#define SC_VADER_SHA256 "ffb6117bfccf798a34e91d72f50604329946e6fd763668092618d5c5b340a298"
#define SC_VADER_VERSION "1.1.3"
#define SC_VADER_LICENCE "MIT lexicon; Apache-2.0 port"
#define SC_VADER_MAX_BYTES (8 << 20)

typedef struct sc_vader sc_vader; /* a loaded lexicon: read-only, shared by threads */

/* The lexicon from its text: one entry a line, "word<TAB>mean<TAB>sd<TAB>[ratings]" (only the
 * word and the mean are read; a word given twice keeps its later line, as the reference does).
 * NULL with err (the line) for a line without a word and a mean in -4..4, a NUL byte, no entry,
 * a text over SC_VADER_MAX_BYTES. */
sc_vader *sc_vader_parse(const char *text, size_t len, char *err, size_t errsz);
void sc_vader_free(sc_vader *v);
size_t sc_vader_size(const sc_vader *v);         /* its entries */
const char *sc_vader_sha256(const sc_vader *v);  /* of the file's bytes, hex */
const char *sc_vader_version(const sc_vader *v); /* SC_VADER_VERSION for the pinned file, else
                                                  * "unknown" */

typedef struct sc_vader_scores {
    double neg, neu, pos; /* the shares of the text's words, 0-1 */
    double compound;      /* -1..1: the valences' sum with punctuation's emphasis, x/sqrt(x^2+15) */
} sc_vader_scores;

/* VADER's scores of a UTF-8 text, as the npm package vader-sentiment 1.1.3 gives them (its
 * polarity_scores; this is not rounded). A text without words scores 0. 0, or -1 (out of
 * memory). */
int sc_vader_score(const sc_vader *v, const char *text, size_t len, sc_vader_scores *out);

#define SC_SENT_SPEAKERS 4
#define SC_SENT_SCALE 5.0 /* the trend's scale: -5..+5 */

/* One speaker's sentiment over the call's four quarters (by time; an utterance counts in the
 * quarter that holds its midpoint): SC_SENT_SCALE x the duration-weighted mean compound of its
 * utterances there, or not known (has_q false) when it said nothing in that quarter. */
typedef struct sc_sent_speaker {
    char speaker[10]; /* SC_AGENT, SC_CUSTOMER, SC_MIXED, as the transcript labels it */
    char source[16];  /* "vader", or what else gave the figures (an LLM's provider) */
    bool has_q[4];
    double q[4];
    bool has_first;            /* at least one quarter known: first, last and shift are too */
    double first, last, shift; /* first and last known quarter, shift = last - first */
    sc_quote *quotes;          /* what backs the figures, when their source gives quotes */
    size_t n_quotes;
} sc_sent_speaker;

typedef struct sc_sentiment {
    bool known; /* false: `why` says why there is none (never zeros in its place) */
    char why[400];
    char name[16];     /* the source: "vader", "llm" */
    char version[128]; /* the lexicon's package version; the LLM's model */
    char licence[64];
    sc_sent_speaker sp[SC_SENT_SPEAKERS];
    int n;
    int customer_drop; /* 1: the customer starts at >= 0 and ends at <= -2; 0: not; -1: null (no
                        * customer, or fewer than two of its quarters known) */
    double duration;   /* the call's, for the quotes' quarters (0: not known) */
} sc_sentiment;

/* The trend of the call's words by VADER (v NULL: not known, "the VADER lexicon is not
 * installed ..."; no words or no duration: not known, with why). 0, or -1 (out of memory). */
int sc_sentiment_vader(const sc_vader *v, const sc_text *t, sc_sentiment *out);
/* first, last, shift of each speaker and customer_drop, from the quarters (for a source that
 * fills the quarters itself). */
void sc_sentiment_finish(sc_sentiment *s);
void sc_sentiment_free(sc_sentiment *s);
/* The "sentiment" object of docs/report.md (scale, source, speakers, customer_drop), or JSON
 * null when not known; NULL when out of memory. The caller owns it (a jansson json_t *). */
void *sc_sentiment_json(const sc_sentiment *s);

/* ---- a call's result (sc_score.c) --------------------------------------------------------- */

/* A measured figure a score was judged on. */
typedef struct sc_metric {
    char name[64]; /* the report's path, e.g. "conversation.overtalk_sec" */
    double value;
    bool known; /* false: the report had null there (never shown as 0) */
} sc_metric;

typedef struct sc_cat_result {
    sc_result r;
    sc_method method;
    char engine[32];  /* "rules", "acoustic", or the LLM provider's name */
    char reason[320]; /* short; for an unscored category: "not scored: no LLM configured" */
    sc_quote *quotes;
    size_t n_quotes;
    sc_metric *metrics;
    size_t n_metrics;
    int quotes_dropped; /* quotes an LLM gave that are not in the transcript */
    bool no_evidence;   /* scored, but nothing checkable backs it */
} sc_cat_result;

#define SC_MAX_TOPIC_PHRASES 8

typedef struct sc_topic {
    bool known; /* false: no topics file, or nothing matched */
    char cls[64], subclass[64];
    double confidence;                   /* 0-1 */
    char engine[32];                     /* "rules" or the LLM provider's name */
    char *phrases[SC_MAX_TOPIC_PHRASES]; /* what decided it, verbatim from the transcript */
    int n_phrases;
} sc_topic;

/* ---- the call's summary (sc_summary.c) -------------------------------------------------------
 * With an LLM: 2-4 sentences, the reason for the call and its outcome, the reason and the
 * outcome each backed by quotes checked like the scorecard's evidence; an answer that fails any
 * check is refused whole (never kept), with why. Without one, or after a refusal: the
 * deterministic assessment of the report (sc_assess_report), labelled as such. */

#define SC_SUMMARY_MIN_SENTENCES 2
#define SC_SUMMARY_MAX_SENTENCES 4
#define SC_SUMMARY_MAX_QUOTES 6

typedef enum sc_summary_source {
    SC_SUMMARY_NONE = 0,
    SC_SUMMARY_LLM,
    SC_SUMMARY_RULES
} sc_summary_source;

typedef struct sc_summary {
    sc_summary_source source; /* NONE: no summary (no LLM's that passed, and no report) */
    char model[128];          /* the LLM's model (source LLM) */
    char *text;               /* malloc'd; NULL with source NONE */
    char *reason;             /* the reason for the call (LLM), else NULL */
    char outcome[16];         /* resolved, follow_up, transferred, unresolved (LLM), else "" */
    sc_quote *quotes;         /* the LLM's quotes, checked */
    bool *backs_outcome;      /* per quote: backs the outcome (else the reason) */
    size_t n_quotes;
    char refused[400]; /* why the LLM's summary is not the one given, "" when it is or none asked */
    char note[200];    /* the LLM's summary was made from a transcript cut to fit ("" none) */
} sc_summary;

void sc_summary_free(sc_summary *s);
/* The number of sentences of text, by the rule of docs/llm.md: a sentence ends at '.', '!' or
 * '?' (a run of them, then any closing quote or bracket) followed by white space or the end; a
 * '.' between two digits or after a listed abbreviation (Mr, Mrs, Ms, Dr, St, Jr, Sr, vs, e.g,
 * i.e, a.m, p.m, No before a digit) ends nothing; words after the last end make one more. */
int sc_sentences(const char *text);
/* Is outcome one of the four? */
bool sc_summary_outcome_ok(const char *outcome);
/* The deterministic summary when s holds no LLM summary: the assessment of the report by rules
 * (sc_assess_report's text), source RULES; s->refused is kept. No report: s stays NONE. 0, or -1
 * with err (the report could not be assessed: s stays NONE). */
int sc_summary_rules(const char *report_json, sc_summary *s, char *err, size_t errsz);
/* The same with the report already parsed (NULL: none). */
int sc_summary_rules_obj(const struct json_t *report, sc_summary *s, char *err, size_t errsz);

/* ---- the sentiment trend (sc_sentiment_llm.c: the LLM's figures, checked) ------------------
 * Per speaker, per quarter of the call (the duration split in 4 by time; an utterance counts in
 * the quarter holding its midpoint), on -5..+5. The LLM gives each figure with a quote of that
 * speaker in that quarter; a figure out of range, or whose quote is not that speaker's words in
 * that quarter, is dropped with why (the quarter is then null, never 0). The lexicon fills the
 * same shape with source "vader". */

#define SC_SENT_MIN (-5.0)
#define SC_SENT_MAX 5.0

typedef struct sc_sent_quote {
    int quarter; /* 1-4; 0: none */
    double start, end;
    char *quote; /* malloc'd */
} sc_sent_quote;

/* The LLM's figures of one speaker, as they passed the checks. */
typedef struct sc_llm_sent_speaker {
    char speaker[10];
    bool known[4];
    double q[4];
    sc_sent_quote quotes[4]; /* one per quarter at most, by quarter */
} sc_llm_sent_speaker;

typedef struct sc_sent_drop {
    char speaker[10];
    int quarter; /* as given (may be out of 1-4) */
    bool has_figure;
    double figure; /* as given */
    char *quote;   /* as given (malloc'd), NULL when none */
    char why[200];
} sc_sent_drop;

/* The LLM's sentiment, checked; shown through sc_llm_sentiment_to (the trend's one shape). */
typedef struct sc_llm_sentiment {
    bool present;    /* false: no figure passed the checks */
    char model[128]; /* the LLM's model */
    sc_llm_sent_speaker sp[SC_SENT_SPEAKERS];
    int n;
    int n_figures;
} sc_llm_sentiment;

/* What became of the LLM's sentiment: asked, the figures dropped and why, used or not. */
typedef struct sc_sent_checks {
    bool asked;
    char model[128];
    sc_sent_drop *dropped;
    size_t n_dropped;
    bool used;      /* its figures are the ones shown */
    char why[400];  /* why they are not ("" when used) */
    char note[200]; /* the figures were read from a transcript cut to fit ("" none) */
} sc_sent_checks;

void sc_llm_sentiment_free(sc_llm_sentiment *s);
void sc_sent_checks_free(sc_sent_checks *c);
/* The LLM's checked figures as the call's trend (sc_sentiment: source "llm", the model as its
 * version, each figure's quote; first, last, shift and the customer's drop computed as the
 * lexicon's are). duration: the call's, for the quotes' quarters. 0, or -1 (out of memory). */
int sc_llm_sentiment_to(const sc_llm_sentiment *l, double duration, sc_sentiment *out);
/* The quarter (1-4) of an utterance from start to end in a call of duration s; 0 when the
 * duration is not > 0. */
int sc_quarter_of(double start, double end, double duration);

/* ---- a prompt within the model's context (docs/llm.md "Every prompt within the context") ------
 * A builder is given the bound of its request's body and a way to measure a request as the LLM
 * client sends it (llm_prompt_max and llm_request_size, joined by the caller: scoring knows no
 * client); it fits its prompt to it, leaving out what it must, and says what it left out. */
typedef struct sc_fit {
    size_t max_bytes; /* the request's body at most this; 0: no bound (measure not called) */
    /* The body's bytes of a request of this system text, one user turn of `text` and this
     * answer schema (NULL: none); 0 when it cannot tell (the prompt is then left whole: the
     * client's own guard refuses it if it is over). */
    size_t (*measure)(void *user, const char *system, const char *text, const char *schema);
    void *user;
} sc_fit;

/* What of the call a scoring prompt left out to fit (all 0: the whole transcript was given). */
typedef struct sc_prompt_cut {
    size_t turns;            /* the transcript's turns */
    size_t turns_left_out;   /* whole turns left out of the middle (the opening and closing
                                turns are kept: the greeting and the closing are judged on them) */
    double seconds_left_out; /* the call's time from the last opening turn kept to the first
                                closing turn kept, s */
    size_t bytes_left_out;   /* bytes of the words of an opening or closing turn too long for the
                                room by itself, kept cut to its head */
    bool figures_left_out;   /* the report's figures but the duration left out */
} sc_prompt_cut;

/* Anything left out? */
bool sc_prompt_was_cut(const sc_prompt_cut *c);
/* "transcript cut for the LLM: N of T turns left out (S s)..." into out. */
void sc_prompt_cut_note(const sc_prompt_cut *c, char *out, size_t n);

typedef struct sc_call {
    sc_cat_result cats[SC_MAX_CATEGORIES]; /* in the card's order */
    int n;
    sc_totals totals;
    char card_hash[65];     /* the scorecard's SHA-256 */
    char provider_hash[65]; /* SHA-256 of the LLM configuration used ("" without one) */
    char llm_provider[32], llm_model[128]; /* "" when no LLM answered */
    sc_summary summary;                    /* the LLM's checked summary, or the rules' */
    sc_llm_sentiment sentiment_llm;        /* the LLM's figures that passed the checks */
    sc_sent_checks sentiment_checks;       /* what became of the LLM's sentiment */
    char *strengths[5], *improvements[5];
    int n_strengths, n_improvements;
    sc_topic topic;
    sc_sentiment sentiment; /* the trend shown: the lexicon's (sc_sentiment_vader, at sc_score),
                               replaced by the LLM's when it passed (pl_sentiment_choose); or
                               not known, with why */
    sc_prompt_cut llm_cut;  /* what the LLM's prompt left out of the call (sc_call_note_cut) */
} sc_call;

/* The LLM's answer taken into call was made from a prompt that left `cut` out: the call keeps it
 * (the result's transcript_cut) and its LLM summary and sentiment say so in a note. */
void sc_call_note_cut(sc_call *call, const sc_prompt_cut *cut);

void sc_call_free(sc_call *c);

/* ---- matching normalised text (sc_text.c) -------------------------------------------------- */

/* Does the normalised phrase occur in the normalised text on word boundaries? Its byte offset
 * into *at (when not NULL): true. Both are tx_normalize output (single spaces). */
bool sc_phrase_at(const char *norm, const char *phrase, size_t *at);

/* ---- call topics (sc_topics.c) ------------------------------------------------------------- */

typedef struct sc_topics sc_topics; /* a loaded topics file: class -> subclass, with phrases */

/* Load a topics file (JSON, docs/topics.md); refused with err for a bad one. NULL on error. */
sc_topics *sc_topics_load(const char *text, size_t len, char *err, size_t errsz);
void sc_topics_free(sc_topics *t);
/* The topics as a JSON array of {"class", "subclass"} for a prompt (malloc'd; NULL: no memory). */
char *sc_topics_list_json(const sc_topics *t);
/* Is class/subclass one of the file's? */
bool sc_topics_has(const sc_topics *t, const char *cls, const char *subclass);
/* Classified by the file's phrases (engine "rules"): out->known false when nothing matched.
 * 0, or -1 (out of memory). */
int sc_topics_classify(const sc_topics *t, const sc_text *text, sc_topic *out);
void sc_topic_free(sc_topic *t);

/* ---- scoring a call (sc_score.c) ----------------------------------------------------------- */

/* The categories that acoustics and rules can judge, from the report (JSON text, or NULL when
 * there is none) and the words (NULL when there is no transcript); `llm` categories are left
 * "not scored: <why>" (why: "no LLM configured", "llm_cap: ...", ...). Topics by rules when
 * topics is not NULL; the sentiment trend by VADER (vader NULL: not known, and why). The totals
 * are not yet computed: call sc_finish after any LLM answer was applied. 0, or -1 with err (out is
 * left freeable). */
int sc_score(const sc_card *c, const char *report_json, const sc_text *text,
             const sc_topics *topics, const sc_vader *vader, const char *llm_why, sc_call *out,
             char *err, size_t errsz);
/* The same with the report already parsed (NULL: none): sc_score parses its text once (text
 * that is not JSON: -1 with err) and calls this. */
int sc_score_obj(const sc_card *c, const struct json_t *report, const sc_text *text,
                 const sc_topics *topics, const sc_vader *vader, const char *llm_why, sc_call *out,
                 char *err, size_t errsz);

/* ---- the LLM's part (sc_llm.c): what to ask, and what to take from the answer ------------ */

typedef struct sc_llm_prompt {
    char *system; /* the rubric and the rules of the answer (malloc'd) */
    char *user;   /* the call: report figures and the transcript inside a delimited data block */
    char *schema; /* the JSON schema the answer must follow (JSON text) */
    sc_prompt_cut cut; /* what the user turn left out to fit (sc_llm_prompt_fit) */
} sc_llm_prompt;

/* The request for the card's `llm` categories (and the topic, when topics is not NULL), the
 * call's summary and its sentiment trend (asked on every card), the whole transcript. 0, or -1
 * with err. */
int sc_llm_prompt_build(const sc_card *c, const sc_text *t, const char *report_json,
                        const sc_topics *topics, sc_llm_prompt *out, char *err, size_t errsz);
/* The same held to fit (NULL: not held). When the whole call does not fit: the opening and
 * closing turns are kept and whole turns of the middle left out, by turns from either end, the
 * cut marked in the transcript block by a line "[... N turns, S seconds left out ...]"; the
 * report's figures give way to its duration alone before the first and last turn would; a first
 * or last turn too long for the room by itself is kept cut to its head ("[... N bytes of this
 * turn left out ...]"). out->cut says what was left out. -1 with err when the instructions and
 * the schema alone leave no room for the call's words (nothing to send). */
int sc_llm_prompt_fit(const sc_card *c, const sc_text *t, const char *report_json,
                      const sc_topics *topics, const sc_fit *fit, sc_llm_prompt *out, char *err,
                      size_t errsz);
/* The same with the report already parsed (NULL: none): sc_llm_prompt_fit parses its text once
 * and calls this. */
int sc_llm_prompt_fit_obj(const sc_card *c, const sc_text *t, const struct json_t *report,
                          const sc_topics *topics, const sc_fit *fit, sc_llm_prompt *out, char *err,
                          size_t errsz);
void sc_llm_prompt_free(sc_llm_prompt *p);

/* The answer (JSON text already checked against the prompt's schema) into call: each llm
 * category's score, reason and quotes, each quote checked verbatim against t (not found:
 * dropped and counted; a score left with none is marked no_evidence); a score out of the
 * category's scale refuses the answer (-1 with err, call unchanged); strengths, improvements;
 * the topic when asked. The summary and the sentiment are checked on their own: a summary that
 * fails a check is refused (call->summary.refused says why, nothing of it kept), a sentiment
 * figure that fails one is dropped (call->sentiment_checks). engine = provider. 0 or -1 with
 * err. */
int sc_llm_apply(const sc_card *c, const sc_text *t, const sc_topics *topics, const char *answer,
                 const char *provider, const char *model, sc_call *call, char *err, size_t errsz);

/* The totals and flags of call (sc_totals_of over its categories). */
void sc_finish(const sc_card *c, sc_call *call);

/* The result as JSON (malloc'd, NULL when out of memory): total_score, partial_score,
 * coverage, flagged, flag_reason, scorecard (name, hash), categories keyed by key (score,
 * method, engine, reason, evidence: quotes or metrics, quotes_dropped, no_evidence), topic,
 * summary {source, model, text, reason, outcome, quotes, refused} (null: none), strengths,
 * improvements, llm_provider, llm_model, sentiment (the shape of docs/report.md, null: none)
 * and sentiment_llm (null when the LLM was not asked: {model, used, why, dropped}). A score not
 * judged is null. */
char *sc_call_to_json(const sc_card *c, const sc_call *call);

/* ---- the thresholds a call is judged by, and its problem badges (sc_assess.c) --------------- */

/* What the assessment calls a problem of a leg, and the calls list's badges with it: one place
 * for the findings of /ai-analyze, the badges of /api/qa/calls and, through GET
 * /api/qa/badges, the dashboard's legend. */
#define SC_QUIET_DB (-35.0)  /* a talking leg's speech level below it: too quiet */
#define SC_LOUD_DB (-10.0)   /* above it: too loud */
#define SC_CLIPPING_PCT 0.1  /* clipped samples of a leg, %, from it: clipping */
#define SC_LOW_MOS 3.0       /* a leg's NISQA MOS below it: low MOS */
#define SC_LOW_NET_MOS 3.6   /* the network's E-model MOS below it (R 70, G.107 Annex B) */
#define SC_DEAD_AIR_SEC 10.0 /* dead air in all, s, from it: dead air */

/* A call's stored figures (NAN: not measured) and its report's warning codes (comma-separated,
 * "" none). */
typedef struct sc_badge_figures {
    double one_way; /* 1 one-way audio, 0 not */
    double dead_air_sec, clipping_pct, level_db, mos_in, mos_out;
    double net_mos; /* the network's MOS (the E-model's), NAN without a capture */
    const char *warning_codes;
    /* the model of mos_in and mos_out ("NISQA v2", "DNSMOS P.835 OVRL"; NULL: a row stored
     * before the model was, when NISQA was the only one): the low-MOS badge is NISQA's */
    const char *mos_model;
} sc_badge_figures;
/* Whether a stored MOS is on NISQA's scale, the one SC_LOW_MOS is a threshold of. */
bool sc_mos_is_nisqa(const char *mos_model);
#define SC_MAX_BADGES 8
/* The call's badges, as codes (static strings) into out[SC_MAX_BADGES], in the order of
 * sc_badges_json's table. Their count. */
int sc_badges(const sc_badge_figures *f, const char *out[SC_MAX_BADGES]);
/* The badges and their rules, [{code, rule, threshold (null: none), unit, model (the MOS model a
 * threshold is on's, else null)}], JSON text
 * (malloc'd), or NULL when out of memory. */
char *sc_badges_json(void);

/* ---- /ai-analyze without an LLM, and the prompt for one (sc_assess.c) ---------------------- */

/* The report's text parsed as each *_obj function of this header reads it, duplicate keys
 * refused: NULL with err ("no report", "the report is not JSON: ..."). */
struct json_t *sc_report_parse(const char *report_json, char *err, size_t errsz);

/* The assessment of a callqa report (`callqa analyze --json`, one call) by fixed rules that
 * carry the old /ai-analyze prompt's domain knowledge (docs/assess.md):
 *   text:     a one-sentence verdict and 2-3 bullets ("\n- ...") citing the report's figures,
 *             under 80 words, for a supervisor (malloc'd);
 *   findings: a JSON array of the report's finding shape, {code, message, values}, the most
 *             serious first (malloc'd).
 * A figure that is null or missing in the report is "not measured": never read as 0. Either
 * out pointer may be NULL. 0, or -1 with err (not JSON, not a report, an error line, out of
 * memory); both outputs NULL then. */
int sc_assess_report(const char *report_json, char **text, char **findings, char *err,
                     size_t errsz);
/* The same with the report already parsed: sc_assess_report parses its text once and calls
 * this. */
int sc_assess_report_obj(const struct json_t *report, char **text, char **findings, char *err,
                         size_t errsz);

/* The LLM request for the same text: system (the task, the answer's form, the domain
 * knowledge) and user (the report's figures and the rules' findings as JSON inside
 * <call_report> ... </call_report>; '<' and '>' inside the data are \u-escaped, so nothing in
 * the report can close the block). Both malloc'd. 0, or -1 with err (both NULL). */
int sc_assess_prompt(const char *report_json, char **system, char **user, char *err, size_t errsz);
/* The same held to fit (NULL: not held): while the request is over, the report's longest arrays
 * lose their last items and its longest strings their tails (js_fit, src/schema/js.h), and the
 * data block gets "left_out": {path: items or bytes} so that the model knows; *left_out (when
 * not NULL) gets that object as JSON text (malloc'd), or NULL when nothing was left out. -1 with
 * err when the instructions alone leave no room. */
int sc_assess_prompt_fit(const char *report_json, const sc_fit *fit, char **system, char **user,
                         char **left_out, char *err, size_t errsz);
/* The same with the report already parsed (sc_assess_prompt_fit parses its text and calls
 * this). */
int sc_assess_prompt_fit_obj(const struct json_t *report, const sc_fit *fit, char **system,
                             char **user, char **left_out, char *err, size_t errsz);

/* ---- who is the agent of a diarized mono mix (sc_roles.c, docs/report/conversation.md) ---- */

/* The voice-profile rule's margin: the agent's profile must be at least this much more alike
 * (cq_voiceprint_similarity: minus the symmetric KL divergence per dimension, 0 = the same) to
 * one speaker than to the other. Measured on 60 mixes of six agent voices with ten customers
 * (tests/pipeline/measure_profiles.py, the profile from another recording of the agent): the
 * agent closer by a median 0.45; the customer closer on 3 mixes (by 0.05, 0.17 and 0.38). At
 * 0.25: 43 right, 1 wrong, 10 unknown of 54 two-speaker mixes (docs/report/conversation.md,
 * "roles"). */
#define SC_ROLE_PROFILE_MARGIN 0.25
/* The transcript rule: the winning side's phrase weight at least this, and at least
 * SC_ROLE_TEXT_RATIO times the other side's. */
#define SC_ROLE_TEXT_MIN 2.0
#define SC_ROLE_TEXT_RATIO 3.0
#define SC_ROLE_MAX_EVIDENCE 24

typedef enum sc_role { SC_ROLE_UNKNOWN = 0, SC_ROLE_AGENT = 1, SC_ROLE_CUSTOMER = 2 } sc_role;
typedef enum sc_direction {
    SC_DIR_UNKNOWN = 0,
    SC_DIR_INBOUND = 1,
    SC_DIR_OUTBOUND = 2
} sc_direction;

/* What is known of one diarized speaker (S1: index 0, spoke first; S2: index 1). */
typedef struct sc_role_speaker {
    double first_sec;    /* its first speech after the answer (or the call's start), s; NAN
                            unknown */
    double talk_sec;     /* its speech, s (< 0 unknown) */
    const char *text;    /* the words it spoke (display text; NULL: no transcript) */
    bool has_similarity; /* the call's agent has a voice profile, compared with this speaker */
    double similarity;   /* cq_voiceprint_similarity(profile, speaker's print) */
} sc_role_speaker;

typedef struct sc_role_input {
    sc_role_speaker s[2];
    sc_direction direction;
    double answer_sec;     /* call_events.time_to_answer_sec; NAN unknown */
    const char *agent;     /* the profile's agent (for the evidence), NULL none */
    int profile_calls;     /* the calls the profile was made from */
    double profile_margin; /* 0: SC_ROLE_PROFILE_MARGIN */
} sc_role_input;

typedef struct sc_role_evidence {
    char kind[16];     /* profile, greeting, closing, customer_phrase, first_speaker, talk_share */
    char detail[256];  /* what was seen, with its figures or the phrase */
    char supports[16]; /* "S1 agent", "S2 agent", or "none" */
} sc_role_evidence;

typedef struct sc_roles {
    sc_role role[2];
    double confidence[2]; /* 0..1; NAN when the role is unknown */
    char decided_by[24];  /* "profile", "transcript", "profile+transcript", "" (unknown) */
    char rule[240];       /* why it was decided, or why not */
    sc_role_evidence ev[SC_ROLE_MAX_EVIDENCE];
    int n_ev;
} sc_roles;

/* The roles of a two-speaker mix by the stated rules: (a) a voice profile decides when it is
 * clearly closer to one speaker (profile_margin); (b) the transcript decides when the agent's
 * phrases (greeting, closing) and the customer's phrases fall clearly on one side
 * (SC_ROLE_TEXT_MIN, SC_ROLE_TEXT_RATIO); (c) who spoke first after the answer, with the
 * direction, and the talk share are listed as evidence but never decide; (d) a profile and a
 * transcript that disagree leave both unknown; (e) without deciding evidence both are unknown.
 */
void sc_roles_decide(const sc_role_input *in, sc_roles *out);
const char *sc_role_name(sc_role r); /* "agent", "customer", "unknown" */

/* The agent-side and customer-side phrase weight of a text (for tests and the docs' tables):
 * the phrases found go into ev (when not NULL, up to max; *n counts them), supports naming
 * speaker "S1" or "S2". */
double sc_roles_text_weight(const char *text, const char *speaker, bool agent_side,
                            sc_role_evidence *ev, int max, int *n);

struct json_t;
/* {S1: {role, confidence (null when unknown), evidence[]}, S2: {...}, decided_by, rule}
 * (a new reference; NULL when out of memory). */
struct json_t *sc_roles_to_json(const sc_roles *r);

#endif /* CQ_SCORING_H */
