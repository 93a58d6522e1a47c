/*
 * pv_int.h - the privacy room's internals shared by its files: the words read as tokens, and
 * the digit runs of the normaliser (pv_numbers.c) that the detectors (pv_detect.c) read.
 */
#ifndef CQ_PV_INT_H
#define CQ_PV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privacy.h"

#define PV__LOW 48    /* a word's normalised text is cut to this */
#define PV__MAXDIG 40 /* a written word with more digits is not read as a number */

typedef enum pv__kind {
    PV__OTHER = 0,
    PV__DIGITS,   /* written digits, with separators: "4111-1111", "(555)", "+44", "12/27" */
    PV__UNIT,     /* 0-9: "zero", "oh", "nought", "nil", "one" ... "nine" */
    PV__TEEN,     /* 10-19 */
    PV__TENS,     /* 20, 30 ... 90 */
    PV__HUNDRED,  /* "hundred" */
    PV__THOUSAND, /* "thousand" */
    PV__MULT,     /* "double" (2), "triple" (3) */
    PV__HOMO,     /* a homophone of a digit: "for", "to", "ate", "won", "oh", "o" */
    PV__FILLER,   /* said inside a number: "uh", "um", "dash", "slash", "space" */
    PV__AND,      /* "and", inside an amount */
    PV__A,        /* "a", before "hundred" or "thousand" */
} pv__kind;

enum {
    PV__W_PLUS = 1u << 0,   /* written with a leading '+' */
    PV__W_PAREN = 1u << 1,  /* written with parentheses: "(555)" */
    PV__W_SLASH = 1u << 2,  /* digits and slashes: "12/27", "03/04/1985" */
    PV__W_SSN = 1u << 3,    /* ddd-dd-dddd */
    PV__W_DASHED = 1u << 4, /* groups joined by '-' */
    PV__W_MONEY = 1u << 5,  /* a currency sign, or digits with a decimal point */
    PV__W_STOP = 1u << 6,   /* the word ends with ',', '.', ';', ':', '?' or '!' */
};

typedef struct pv__tok {
    pv__kind kind;
    int val;              /* the value of a number word, the digit of a homophone */
    unsigned flags;       /* PV__W_* */
    char low[PV__LOW];    /* lower case, the edges' punctuation dropped */
    char dig[PV__MAXDIG]; /* a written word's digits */
    unsigned char ndig;
    uint64_t groups; /* bit d: digit d begins a written group ("4111-1111": bits 0 and 4) */
} pv__tok;

/* A run of digits from one leg's consecutive number words. Digit k of the run is
 * digits[k], said by the words [w0[k], w1[k]] (indices into the word array). */
typedef struct pv__run {
    int leg;
    size_t d0, nd;   /* its digits: [d0, d0 + nd) of the arrays of pv__runs */
    size_t first;    /* its first word */
    size_t last;     /* its last word */
    bool amount;     /* read as an amount: "hundred", "thousand", a currency, "dollars" after */
    bool plus;       /* "+" or "plus" before it */
    unsigned wflags; /* the PV__W_* of its written words, or'ed */
    size_t n_words;  /* number words in it */
} pv__run;

typedef struct pv__runs {
    pv__run *r;
    size_t n, cap;
    char *digits;
    size_t *w0, *w1;
    unsigned char *soft; /* soft[k]: a number may begin at digit k: 1 after a pause, the other
                            speaker's words, punctuation, or a filler; 2 where a written group
                            begins ("1111" of "4111 1111", "4111-1111") */
    unsigned char *homo; /* digit k came from a homophone */
    size_t nd, dcap;
} pv__runs;

/* Each word read as a token (tok has n entries). */
void pv__tokenize(const pv_word *w, size_t n, pv__tok *tok);

/* The digit runs of the words not claimed (claimed[i] >= 0 are skipped; claimed may be NULL).
 * 0, or -1 (out of memory). Free with pv__runs_free. */
int pv__number_runs(const pv_word *w, size_t n, const pv__tok *tok, const int *claimed,
                    const pv_settings *s, pv__runs *out);
void pv__runs_free(pv__runs *r);

/* The next word of leg `leg` after i (n when none). */
size_t pv__next_same(const pv_word *w, size_t n, size_t i, int leg);

/* A backchannel of the other speaker ("mm-hm", "okay", "yes"), from its token. */
bool pv__backchannel(const pv__tok *t);

/* "january" .. "december" and short forms: 1-12, else 0. */
int pv__month(const char *low);

/* An ordinal day word ("first" .. "thirty first" parts, "1st", "23rd"): its value, else 0. */
int pv__ordinal(const char *low);

/* The strict reading of a text: runs of written digits with single separators (' ', '-', ',',
 * '.') between them, nothing else (no spoken digit). For each run of 13-19 digits that passes
 * Luhn, cb(user, first_char, end_char) is called; returns how many. */
size_t pv__written_luhn(const char *s, size_t n, void (*cb)(void *, size_t, size_t), void *user);

/* ---- normalisation before detection (pv_norm.c, the table in pv_unicode.c) ---------------- */

/* What a code point above U+007F is read as (scripts/make-pv-unicode.py). */
enum {
    PV__U_DIGIT = 0, /* a digit of any script: '0' + val (+ its offset in the range) */
    PV__U_SPACE = 1, /* a space: ' ' */
    PV__U_DASH = 2,  /* a dash or a minus: '-' */
    PV__U_DROP = 3,  /* invisible: left out */
    PV__U_ASCII = 4, /* a compatibility form of the ASCII character val (+ its offset) */
};

typedef struct pv__urange {
    uint32_t lo, hi;    /* code points, inclusive */
    unsigned char kind; /* PV__U_* */
    unsigned char val;  /* the digit or ASCII character of lo */
} pv__urange;

extern const pv__urange pv__unicode[]; /* sorted, disjoint */
extern const size_t pv__n_unicode;

/* s[0..n) read as the detectors read it: every digit of any script as an ASCII digit, every
 * dash as '-', every space as ' ', invisible characters left out, compatibility forms (full
 * width) as their ASCII character, everything else as it is (an invalid UTF-8 byte too). out
 * (room for n + 1 bytes) gets the view, NUL-terminated; src (NULL, or room for n + 1) gets for
 * each byte of the view the offset in s of the character it came from, src[len] = n. The
 * view's length (never more than n). */
size_t pv__norm(const char *s, size_t n, char *out, size_t *src);

/* An issuer's prefix with a length it issues, of n digits d (Visa, Mastercard, Amex, Discover,
 * JCB, Diners, UnionPay, Maestro). */
bool pv__issuer(const char *d, size_t n);

#endif /* CQ_PV_INT_H */
