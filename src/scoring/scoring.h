/*
 * scoring.h - a call scored on a weighted scorecard: the card a user edits (JSON), checked when
 * it is loaded, and the totals and flags of a call's category results. Pure: no network, no
 * store (docs/scoring.md). The categories' own methods (acoustic thresholds, transcript rules,
 * an LLM's rubric) fill the category results; this module adds them up.
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
    char key[33];      /* [a-z0-9_]{1,32} */
    char name[81];
    double weight;     /* > 0; the card's weights sum to 1 */
    double lo, hi;     /* the scale (default 1-5) */
    sc_method method;
    bool critical;     /* a failed critical item sets the total to 0 and flags the call */
    char *spec;        /* the method's own settings, as JSON text (malloc'd) */
} sc_category;

typedef struct sc_card {
    char name[81];
    double flag_threshold; /* default 60 */
    sc_category cats[SC_MAX_CATEGORIES];
    int n;
    char hash[65];         /* SHA-256 of the card's text */
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

/* One category's result, as its method gave it. */
typedef struct sc_result {
    bool scored;          /* false: not judged (e.g. "not scored: no LLM configured") */
    double score;         /* on the category's scale, when scored */
    bool critical_failed; /* a critical item of it failed */
} sc_result;

typedef struct sc_totals {
    bool has_total;       /* every category scored */
    double total;         /* 20 x sum(weight x score on 1-5), 0-100; 0 after a critical failure */
    bool has_partial;     /* at least one category scored */
    double partial;       /* the same over the scored categories, normalised by their weight */
    double coverage;      /* the weight scored, 0-1 */
    bool flagged;
    char flag_reason[512]; /* "" when not flagged */
} sc_totals;

/* The totals of results (one per category of the card, in the card's order). */
void sc_totals_of(const sc_card *c, const sc_result *r, sc_totals *out);

#endif /* CQ_SCORING_H */
