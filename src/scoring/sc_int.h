/*
 * sc_int.h - inside the scoring module: the room's ground (sc_base.c), the compiled spec of a
 * `rules` or `acoustic` category, shared by the card's loader (checked at load), the methods and
 * the scorer, and the parts of the LLM's answer.
 */
#ifndef CQ_SC_INT_H
#define CQ_SC_INT_H

#include <jansson.h>

#include "../config/config.h" /* cfg_fail: the error sentence of every loader and checker */
#include "scoring.h"

/* ---- the room's ground (sc_base.c): it calls nothing of the room ---------------------------- */

/* Every key of the object o is one of `known` (NULL-terminated); else -1 with
 * "WHERE: unknown key 'K'". */
int sc_only_keys(const json_t *o, const char *const *known, const char *where, char *err,
                 size_t errsz);

/* {type: object, additionalProperties: false, required: [], properties: {}}, and a property
 * added to it (required too; schema taken, NULL: -1). */
json_t *sc_schema_obj(void);
int sc_schema_prop(json_t *o, const char *name, json_t *schema);
/* A copy of src in dst of n bytes: at most n-1 bytes, cut on a UTF-8 character boundary. */
void sc_copy_utf8(char *dst, size_t n, const char *src);
/* The SHA-256 of text's len bytes, as 64 hex digits and a NUL in hex. */
void sc_sha256_hex(const char *text, size_t len, char hex[65]);

/* ---- a category's place in the call (sc_window.c) ------------------------------------------ */

typedef enum sc_part { SC_PART_CALL = 0, SC_PART_OPENING = 1, SC_PART_CLOSING = 2 } sc_part;
typedef struct sc_window {
    sc_part part; /* SC_PART_CALL: no window */
    double sec;   /* the opening: from the answer; the closing: before the hang-up */
} sc_window;

/* A spec's "window" ({"part": "opening"|"closing", "sec": N}; NULL: none) into out. -1 with
 * err ("WHERE: window: ..."). */
int sc_window_parse(const json_t *w, sc_window *out, const char *where, char *err, size_t errsz);
/* The window's bounds in the call t, s: the opening [answer, answer + sec], the closing
 * [duration - sec, duration], no window [0, duration]. */
void sc_window_bounds(const sc_window *w, const sc_text *t, double *from, double *to);
/* The window holds u: the opening, an utterance that starts in it or is under way at the
 * answer; the closing, one with some of it in the last sec. */
bool sc_window_holds(const sc_window *w, const sc_text *t, const sc_utt *u);
/* u was said by `speaker` ("agent", "customer", "any"): its own, a diarized speaker whose role
 * is not known, or a mixed leg's words when the speakers are not separated. */
bool sc_said_by(const sc_text *t, const sc_utt *u, const char *speaker);
/* The window in a sentence for this call ("the opening: 15 s from the answer at 8.3 s (the
 * ringback's end)"). */
void sc_window_said(const sc_window *w, const sc_text *t, char *buf, size_t n);
/* None of the agent's words (utterances with words, not tags alone) in the window: true, with
 * the sentence that says where the agent spoke ("the agent's first words at 21.4 s, after the
 * opening: ...") and *utt the utterance it names (-1: the agent said nothing). */
bool sc_window_missed(const sc_window *w, const sc_text *t, char *say, size_t n, int *utt);

/* ---- a rules or acoustic category's spec (sc_rules.c) and its evidence (sc_figures.c) ------- */

typedef struct sc_spec sc_spec; /* a compiled rules / acoustic spec */

/* Compile category c's spec with the card's vars (a JSON object, or NULL). NULL with err for a
 * bad spec (an unknown key, a bad regex, a level naming a check that is not there, a score off
 * the scale, an unknown variable or metric). */
sc_spec *sc_spec_compile(const sc_category *c, const json_t *vars, char *err, size_t errsz);
void sc_spec_free(sc_spec *s);

/* Judge category c with its compiled spec into out (report: the parsed report or NULL; sent:
 * the call's sentiment or NULL; text: the words or NULL). 0, or -1 (out of memory). */
int sc_spec_judge(const sc_spec *s, const sc_category *c, const json_t *report,
                  const sc_sentiment *sent, const sc_text *text, sc_cat_result *out);

/* Add a quote / a metric to a category's evidence. 0 or -1 (out of memory). */
int sc_add_quote(sc_cat_result *r, const char *speaker, double start, double end,
                 const char *quote);
int sc_add_metric(sc_cat_result *r, const char *name, bool known, double value);

/* The metric `name` of the report: a named figure (docs/scoring.md: overtalk_pct,
 * agent_interruptions, dead_air_sec, ...), one of the call's sentiment (customer_sentiment_drop
 * 1 or 0, customer_sentiment_shift; from sent) or a dotted path to a number
 * ("conversation.turns"). 1 and *v when known; 0 when the report (or sent) has null or nothing
 * there, or is NULL; -1 for a name that can never be a metric (checked at load with report and
 * sent NULL: 0 for a valid name). */
int sc_metric_of(const json_t *report, const sc_sentiment *sent, const char *name, double *v);

/* ---- the report read by rules (sc_assess.c) ------------------------------------------------ */

/* ---- the LLM's answer's parts (sc_llm.c, sc_summary.c, sc_sentiment_llm.c) ---------------- */

/* The answer's schema for the summary / the sentiment (over t's speakers). NULL: no memory. */
json_t *sc_summary_schema(void);
json_t *sc_sentiment_schema(const sc_text *t);
/* The prompt's sentences asking for them. */
extern const char sc_summary_ask[];
extern const char sc_sentiment_ask[];

/* The answer's `summary` (NULL: none) checked against t into out (cleared first): accepted
 * (source LLM) or refused (source NONE, out->refused says why). 0, or -1 (out of memory). */
int sc_summary_from_answer(const sc_text *t, const json_t *summary, const char *model,
                           sc_summary *out);
/* The answer's `sentiment` (NULL: none) checked against t: the figures that pass into out
 * (source "llm"), the others into chk->dropped with why. 0, or -1 (out of memory). */
int sc_sentiment_from_answer(const sc_text *t, const json_t *sentiment, const char *model,
                             sc_llm_sentiment *out, sc_sent_checks *chk);

/* As the result's JSON (new references; NULL: no memory). */
json_t *sc_summary_json(const sc_summary *s);
json_t *sc_sent_checks_json(const sc_sent_checks *c);

#endif /* CQ_SC_INT_H */
