/*
 * privacy.h - redaction of a transcript's text before anything is stored: spoken numbers read
 * into digit runs (each digit tied to the words it came from, so its time is known), detectors
 * with their validation (card numbers with Luhn and issuer prefixes, CVV and expiry in context,
 * SSN and other national ids, IBAN with mod-97, email, phone numbers, dates of birth in
 * context), and each hit's words replaced by its type ("[CARD]") with their times kept, so that
 * audio redaction can take the spans. docs/privacy.md.
 *
 * Pure: no network, no store, no globals; (words or transcript, settings) -> hits, spans and
 * counts. The worker calls pv_redact_transcript on a finished transcript (tx_finish) before it
 * stores, logs or prompts with it. It reads the transcript's types (src/transcript, floor 5) and
 * stands on floor 7 beside `ask`.
 *
 * Thread safety: no global state; the objects passed belong to one thread at a time.
 */
#ifndef CQ_PRIVACY_H
#define CQ_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>

#include "../transcript/transcript.h"

/* The entity types, in the order of their names ("CARD", ...). Numbers are stable. */
typedef enum pv_type {
    PV_CARD = 0,        /* a payment card number (PAN) */
    PV_CVV = 1,         /* a card's security code */
    PV_EXPIRY = 2,      /* a card's expiry date */
    PV_SSN = 3,         /* a US social security number */
    PV_NATIONAL_ID = 4, /* another country's id: UK NI number, Canadian SIN */
    PV_IBAN = 5,        /* an international bank account number */
    PV_EMAIL = 6,       /* an email address, written or spoken */
    PV_PHONE = 7,       /* a phone number */
    PV_DOB = 8,         /* a date of birth */
    PV_N_TYPES = 9
} pv_type;

#define PV_ALL_TYPES ((1u << PV_N_TYPES) - 1u)

/* "CARD", "CVV", ... (static); NULL for a number out of range. */
const char *pv_type_name(pv_type t);

/* The enabled set from a comma-separated list of names, case and spaces ignored
 * ("card, cvv,SSN"), or "all" / "none". 0 and *mask; -1 with err naming the unknown or empty
 * name (err may be NULL). */
int pv_parse_types(const char *list, unsigned *mask, char *err, size_t errsz);

typedef struct pv_settings {
    unsigned types;      /* the enabled types: bit 1u << pv_type (PV_ALL_TYPES) */
    double guard_sec;    /* each span widened by this on both sides, for audio (0.25 s) */
    double join_gap_sec; /* a digit run goes on across a pause up to this (5 s) */
    double soft_gap_sec; /* a pause this long inside a run is a place a number may end,
                            as the other speaker's words and punctuation are (0.8 s) */
    int max_backchannel; /* the other speaker's words a run may go on across, if each is a
                            backchannel ("mm-hm", "okay", "yes"): 3 */
    int context_words;   /* how far back a context cue is looked for, in words (30) */
    double context_sec;  /* and in seconds (20 s) */
} pv_settings;

pv_settings pv_default_settings(void);

/* One word of the call, in the order of the call's clock (both legs interleaved by start). */
typedef struct pv_word {
    const char *text;  /* as the ASR wrote it (borrowed) */
    double start, end; /* seconds on the call's clock */
    int leg;           /* which speaker (leg) said it: a run never mixes two */
    cq_role role;
} pv_word;

/* One detected entity. Its words are those whose word_hit is this hit's index; they are all on
 * one leg, from `first` to `last` (the other leg's words between them are not part of it). */
typedef struct pv_hit {
    pv_type type;
    int leg;
    cq_role role;
    size_t first, last; /* word indices, inclusive */
    double start, end;  /* its words' times, without the guard band */
} pv_hit;

typedef struct pv_hits {
    pv_hit *hits;
    size_t n;
    int *word_hit;             /* per input word: the index of its hit, or -1 */
    size_t counts[PV_N_TYPES]; /* hits per type */
} pv_hits;

/* The detectors over n words (only the enabled types). 0, or -1 (out of memory; out is left
 * freeable). out is overwritten; free with pv_hits_free. */
int pv_detect(const pv_word *w, size_t n, const pv_settings *s, pv_hits *out);
void pv_hits_free(pv_hits *h);

/* A redacted span, for audio redaction: one leg's [start, end], the guard band included
 * (start never below 0), and its words' times (the audio copy places these on the leg's own
 * speech: src/pipeline/redact.c). */
typedef struct pv_span {
    pv_type type;
    int leg; /* index into tx_transcript.legs */
    cq_role role;
    double start, end;
    double words_start, words_end; /* its first word's start, its last word's end */
} pv_span;

typedef struct pv_redaction {
    pv_span *spans; /* one per hit, in the order of the call's clock */
    size_t n;
    size_t counts[PV_N_TYPES]; /* hits per type, in the words and in texts read as words */
    size_t words;              /* the transcript's words replaced */
} pv_redaction;

/* Redacts t in place: each hit's words become "[TYPE]" (times kept), and every segment with a
 * redacted word gets its text rebuilt from its words (a run of one type's words shown once) and
 * its norm from that text; each turn's text is rebuilt from its segments. A segment without
 * words is read as words spread evenly over its span. The dropped segments' text is redacted
 * the same way. Call after tx_finish, before anything is stored. 0, or -1 (out of memory: t may
 * be partly redacted and must not be stored). out: free with pv_redaction_free. */
int pv_redact_transcript(tx_transcript *t, const pv_settings *s, pv_redaction *out);
void pv_redaction_free(pv_redaction *r);

/* The Luhn-valid runs of 13-19 digits in a text, read as the normaliser reads words (spoken
 * digits, written groups) and read strictly (written digits with single separators between):
 * the verification of a redacted text. */
size_t pv_luhn_runs_text(const char *text);

/* The same over every string of a transcript: words, segments' text and norm, turns, dropped
 * segments. 0 after a redaction with PV_CARD enabled. */
size_t pv_luhn_runs_transcript(const tx_transcript *t);

/* The detectors over a transcript's words once more, changing nothing: the hits of s's types
 * among them (a hit of placeholders only is not counted), or -1 (out of memory). 0 after
 * pv_redact_transcript with the same settings: the verification of a stored transcript. */
long pv_scan_transcript(const tx_transcript *t, const pv_settings *s);

/* One text on its own (a quote kept elsewhere: a score's evidence), redacted in place as its
 * words: the hits' words become "[TYPE]", then a Luhn-valid run left is redacted again (with
 * PV_CARD). *text is replaced (malloc'd) when it changes; counts gets the hits. 0, or -1 (out
 * of memory: *text unchanged or redacted, never freed). */
int pv_redact_string(char **text, const pv_settings *s, cq_role role, size_t counts[PV_N_TYPES]);

/* A text as the detectors read it (docs/privacy/pipeline.md, "Normalisation before detection"):
 * every digit of any script as its ASCII digit ("４", "٤" and "⁴" are "4"), every dash and minus as
 * '-', every space separator (no-break, narrow, thin) as ' ', invisible characters (zero-width
 * space and joiners, word joiner, byte order mark, soft hyphen, variation selectors) left out,
 * full-width forms as their ASCII character. malloc'd, or NULL (out of memory). */
char *pv_normalize(const char *text);

/* ---- masking the strings of an answer (pv_mask.c) ------------------------------------------ */

/* The types a masker finds in any string: numbers that are never an identifier's. */
#define PV_MASK_TYPES ((1u << PV_CARD) | (1u << PV_SSN) | (1u << PV_NATIONAL_ID) | (1u << PV_IBAN))

/* What a masker masked, over every string it was given. */
typedef struct pv_masked {
    size_t keyed;              /* runs of keyed digits */
    size_t counts[PV_N_TYPES]; /* entities, by type */
} pv_masked;

/* A masker: the keyed digit strings of one answer (a set), the types, and its scratch. One
 * string at a time; not shared between threads. */
typedef struct pv_masker pv_masker;

/* types: those of PV_MASK_TYPES to find (0: keyed digits only). NULL when out of memory. */
pv_masker *pv_masker_create(unsigned types);
void pv_masker_destroy(pv_masker *m); /* NULL: nothing */
/* A keyed digit string of the answer (a DTMF field's value) whose mentions are masked: s[0..n)
 * as written, as normalised, and without a closing '#' or '*'. 0, or -1 (out of memory). */
int pv_masker_add_keyed(pv_masker *m, const char *s, size_t n);
size_t pv_masker_keyed(const pv_masker *m); /* the strings in the set */
const pv_masked *pv_masker_counts(const pv_masker *m);

/* text[0..n) masked (docs/privacy/pipeline.md, "One walk"): read through pv_normalize, then
 *   - a card number (13-19 digits passing Luhn, or a card with a stray digit) written in any
 *     form is "[CARD]", an SSN written 123-45-6789 in the issued ranges "[SSN]";
 *   - a run of keyed symbols (0-9 * # A-D) holding a digit and a '*' or '#', or equal to a
 *     keyed string of the set (one or two digits only in a sentence that speaks of keyed
 *     digits), has each symbol as '*';
 *   - with 5 number words or 9 written digits left, its words go through the detectors (the
 *     types: spoken and cued numbers);
 * a number that touches an identifier (a letter or digit beside it, or a joining character
 * such as '@', ':', '/', '_', '.', '-' with a letter or digit beyond it: uniqueids, Call-IDs,
 * SIP and tel URIs, channels, addresses, timestamps, hex) is left alone. Linear in n.
 * 1 with *out (malloc'd, NUL-terminated, *out_n bytes) the masked text; 0 nothing to mask (*out
 * NULL); -1 out of memory. */
int pv_masker_text(pv_masker *m, const char *text, size_t n, char **out, size_t *out_n);

/* Luhn's check over n digits ('0'-'9'). */
bool pv_luhn(const char *digits, size_t n);

#endif /* CQ_PRIVACY_H */
