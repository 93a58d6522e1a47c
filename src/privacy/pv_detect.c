/*
 * pv_detect.c - the detectors, each with its validation, over a call's words.
 *
 * DESIGN
 * Four detectors read the words themselves and claim them first: email (written with '@', or
 * spoken "john dot smith at gmail dot com"), IBAN (a country's length and mod-97, written or
 * spoken in groups and letters), the UK NI number (its letter rules; written, or spoken as
 * letters) and dates of birth (the date said after "date of birth", "born", "DOB",
 * "birthday"). The numbers of the words left are then read into digit runs (pv_numbers.c) and
 * each run is judged:
 *   - CARD: a whole run of 13-19 digits that passes Luhn; or, inside a longer run, a part of
 *     13-19 digits between two places a number may end (its ends, a soft break, a homophone's
 *     digit) that passes Luhn and has an issuer's prefix and length (Visa, Mastercard 51-55
 *     and 2221-2720, Amex 34/37, Discover, JCB, Diners, UnionPay, Maestro).
 *   - the others by the nearest cue before the run (either speaker, within context_words words
 *     and context_sec seconds): a CVV cue and 3-4 digits; an expiry cue and MMYY, MYY, MMYYYY
 *     or a month and a year; an SSN cue and 9 digits outside the ranges never issued (area 000,
 *     666, 900-999; group 00; serial 0000); a SIN cue and 9 digits passing Luhn (NATIONAL_ID);
 *     a phone cue and 7-15 digits; a date of birth cue and 4-8 digits. A cue for something
 *     else (order, reference, account, amount, address, zip, "ending in", "last four")
 *     stops the search: its digits are not redacted.
 *   - without a cue, by shape only: a written SSN (123-45-6789, valid), a phone written with
 *     "+" (or said after "plus") of 8-15 digits, "(555) 123-4567", ddd-ddd-dddd, and an
 *     11-digit UK number beginning 07; right after a card (same speaker, within 10 s, before
 *     any cue): 4 digits that are a month and year (EXPIRY), 3 digits (CVV).
 *   - an amount (said with "hundred", "thousand", a currency) is never a CVV, expiry, SSN or
 *     phone.
 *   - a card read in parts with the other speaker's words between ("sorry, go on"): up to four
 *     runs of one speaker, 3-12 digits each, within 10 s of each other, nothing but the other
 *     speaker's words between them, whose digits together
 *     are 13-19 long, pass Luhn and have an issuer's prefix.
 *   - a phone, SSN or SIN in context read in two parts with a pause longer than join_gap_sec
 *     between them (and nothing else): the two runs together, within 2 x join_gap_sec.
 *   - a phone or SSN read with a slip of the ASR inside ("two four sides four nine six ...")
 *     takes in a run of at most 3 digits just before it, one unknown word between.
 * Last, the strict reading a verifier makes of a stored text: each leg's words joined, a
 * written run of 13-19 digits (single separators between) that passes Luhn is a card too.
 * The last four digits of a card ("ending in 4242") are not a card number: PCI DSS allows a
 * truncated PAN to be shown, and they are left as they are.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NEAR_CARD_SEC 10.0

/* the cues: what a run's nearest cue says it is */
typedef enum cue {
    CUE_NONE = 0,
    CUE_CVV,
    CUE_EXPIRY,
    CUE_SSN,
    CUE_SIN,
    CUE_PHONE,
    CUE_DOB,
    CUE_NEG /* something else: an order, a reference, an amount, a card's last four */
} cue;

static const struct {
    const char *phrase;
    cue c;
} k_cues[] = {
    {"security code", CUE_CVV},
    {"cvv", CUE_CVV},
    {"cvv2", CUE_CVV},
    {"cvc", CUE_CVV},
    {"cv2", CUE_CVV},
    {"csc", CUE_CVV},
    {"c v v", CUE_CVV},
    {"verification code", CUE_CVV},
    {"card verification", CUE_CVV},
    {"on the back", CUE_CVV},
    {"back of the card", CUE_CVV},
    {"back of your card", CUE_CVV},
    {"three digit code", CUE_CVV},
    {"three digit number", CUE_CVV},
    {"security digits", CUE_CVV},
    {"expires", CUE_EXPIRY},
    {"expire", CUE_EXPIRY},
    {"expiry", CUE_EXPIRY},
    {"expiration", CUE_EXPIRY},
    {"expiring", CUE_EXPIRY},
    {"exp", CUE_EXPIRY},
    {"valid until", CUE_EXPIRY},
    {"valid thru", CUE_EXPIRY},
    {"valid through", CUE_EXPIRY},
    {"good thru", CUE_EXPIRY},
    {"good through", CUE_EXPIRY},
    {"end date", CUE_EXPIRY},
    {"social security", CUE_SSN},
    {"ssn", CUE_SSN},
    {"social", CUE_SSN},
    {"s s n", CUE_SSN},
    {"social insurance", CUE_SIN},
    {"sin", CUE_SIN},
    {"s i n", CUE_SIN},
    {"phone", CUE_PHONE},
    {"telephone", CUE_PHONE},
    {"mobile", CUE_PHONE},
    {"cell", CUE_PHONE},
    {"cellphone", CUE_PHONE},
    {"landline", CUE_PHONE},
    {"contact number", CUE_PHONE},
    {"call you", CUE_PHONE},
    {"call me", CUE_PHONE},
    {"call back", CUE_PHONE},
    {"callback", CUE_PHONE},
    {"reach you", CUE_PHONE},
    {"reach me", CUE_PHONE},
    {"text me", CUE_PHONE},
    {"fax", CUE_PHONE},
    {"date of birth", CUE_DOB},
    {"birth", CUE_DOB},
    {"born", CUE_DOB},
    {"dob", CUE_DOB},
    {"d o b", CUE_DOB},
    {"birthday", CUE_DOB},
    {"birthdate", CUE_DOB},
    {"order", CUE_NEG},
    {"reference", CUE_NEG},
    {"ref", CUE_NEG},
    {"invoice", CUE_NEG},
    {"tracking", CUE_NEG},
    {"confirmation", CUE_NEG},
    {"case", CUE_NEG},
    {"ticket", CUE_NEG},
    {"policy", CUE_NEG},
    {"booking", CUE_NEG},
    {"account", CUE_NEG},
    {"member", CUE_NEG},
    {"membership", CUE_NEG},
    {"claim", CUE_NEG},
    {"customer number", CUE_NEG},
    {"transaction", CUE_NEG},
    {"receipt", CUE_NEG},
    {"serial", CUE_NEG},
    {"ending in", CUE_NEG},
    {"ends in", CUE_NEG},
    {"ending with", CUE_NEG},
    {"last four", CUE_NEG},
    {"last 4", CUE_NEG},
    {"zip", CUE_NEG},
    {"postcode", CUE_NEG},
    {"post code", CUE_NEG},
    {"postal code", CUE_NEG},
    {"address", CUE_NEG},
    {"street", CUE_NEG},
    {"amount", CUE_NEG},
    {"balance", CUE_NEG},
    {"total", CUE_NEG},
    {"price", CUE_NEG},
    {"cost", CUE_NEG},
    {"costs", CUE_NEG},
    {"pay", CUE_NEG},
    {"paid", CUE_NEG},
    {"bill", CUE_NEG},
    {"flight", CUE_NEG},
    {"room", CUE_NEG},
    {"extension", CUE_NEG},
    {"since", CUE_NEG},
    {"year", CUE_NEG},
    {"o'clock", CUE_NEG},
    {"quarter", CUE_NEG},
    {"half", CUE_NEG},
    {"past", CUE_NEG},
    {"minutes", CUE_NEG},
    /* a question of time: the numbers that answer it are times ("what time suits you for the
     * appointment"). Words said in passing ("today", "morning", "when") are not cues: said
     * between a cue and its number ("valid until when"), they would hide the number. */
    {"time", CUE_NEG},
    {"appointment", CUE_NEG},
};

typedef struct det {
    const pv_word *w;
    size_t n;
    const pv__tok *tok;
    const pv_settings *s;
    pv_hits *out;
    size_t hcap;
} det;

static bool on(const det *d, pv_type t)
{
    return (d->s->types >> t) & 1u;
}

/* a new hit of type t on leg; its words are claimed with pv_claim. Index, or -1. */
static int new_hit(det *d, pv_type t, int leg)
{
    pv_hits *h = d->out;
    if (h->n == d->hcap) {
        size_t cap = d->hcap ? d->hcap * 2 : 16;
        pv_hit *nh = realloc(h->hits, cap * sizeof(*nh));
        if (!nh)
            return -1;
        h->hits = nh, d->hcap = cap;
    }
    h->hits[h->n] = (pv_hit){.type = t, .leg = leg, .first = (size_t)-1};
    h->counts[t]++;
    return (int)h->n++;
}

/* the words of leg `leg` in [a, b] (flat, inclusive) not yet claimed, into hit id */
static void claim(det *d, int id, size_t a, size_t b)
{
    pv_hit *h = &d->out->hits[id];
    for (size_t i = a; i <= b && i < d->n; i++) {
        if (d->w[i].leg != h->leg || d->out->word_hit[i] >= 0)
            continue;
        d->out->word_hit[i] = id;
        if (h->first == (size_t)-1) {
            h->first = h->last = i;
            h->start = d->w[i].start, h->end = d->w[i].end;
            h->role = d->w[i].role;
            continue;
        }
        if (i < h->first)
            h->first = i, h->start = d->w[i].start;
        if (i > h->last)
            h->last = i, h->end = d->w[i].end;
    }
}

/* a hit of type t over the free words of leg in [a, b]; *id its index, or -1 when every word
 * was taken (id may be NULL). 0, or -1 (out of memory). */
static int add_hit(det *d, pv_type t, int leg, size_t a, size_t b, int *id)
{
    int k = new_hit(d, t, leg);
    if (id)
        *id = -1;
    if (k < 0)
        return -1;
    claim(d, k, a, b);
    if (d->out->hits[k].first == (size_t)-1) { /* nothing left to claim */
        d->out->n--;
        d->out->counts[t]--;
    } else if (id) {
        *id = k;
    }
    return 0;
}

static bool free_word(const det *d, size_t i)
{
    return d->out->word_hit[i] < 0;
}

/* ---- the cues ------------------------------------------------------------------------------ */

/* whether the phrase's words end at word p */
static bool phrase_at(const det *d, const char *phrase, size_t p)
{
    char words[6][24];
    int nw = 0;
    for (const char *s = phrase; *s && nw < 6;) {
        size_t k = 0;
        while (*s && *s != ' ' && k < 23)
            words[nw][k++] = *s++;
        words[nw++][k] = 0;
        while (*s == ' ')
            s++;
    }
    if ((size_t)nw > p + 1)
        return false;
    for (int k = 0; k < nw; k++)
        if (strcmp(d->tok[p - (size_t)(nw - 1 - k)].low, words[k]) != 0)
            return false;
    return true;
}

/* the cue nearest before word i (within the window), CUE_NONE when none; *at its last word */
static cue cue_before(const det *d, size_t i, size_t *at)
{
    size_t lim = (size_t)d->s->context_words;
    /* the other speaker's cue said over the first words of the number (crosstalk) */
    for (size_t p = i + 1; p < d->n && d->w[p].start <= d->w[i].start + 1.0; p++)
        if (d->w[p].leg != d->w[i].leg)
            for (size_t c = 0; c < N_OF(k_cues); c++)
                if (phrase_at(d, k_cues[c].phrase, p)) {
                    if (at)
                        *at = p;
                    return k_cues[c].c;
                }
    for (size_t k = 1; k <= lim && k <= i; k++) {
        size_t p = i - k;
        if (d->w[i].start - d->w[p].end > d->s->context_sec)
            break;
        for (size_t c = 0; c < N_OF(k_cues); c++)
            if (phrase_at(d, k_cues[c].phrase, p)) {
                if (at)
                    *at = p;
                return k_cues[c].c;
            }
    }
    return CUE_NONE;
}

/* ---- card ---------------------------------------------------------------------------------- */

static int pre(const char *d, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

/* ---- the judging of a run ------------------------------------------------------------------ */

typedef struct piece_ctx {
    det *d;
    const pv__runs *R;
    const pv__run *r;
    double card_end[8];  /* per leg (mod 8): when its last card ended */
    unsigned char *done; /* runs already judged */
} piece_ctx;

static int hit_digits_id(piece_ctx *pc, pv_type t, size_t a, size_t b, int *id);

/* A number of a cued type read in two parts with a pause between them longer than a run goes
 * on across ("four four two seven ... six nine nine oh"): the digits [a, b) of this run and
 * the next run of the same speaker, nothing of theirs between (fillers aside), within
 * 2 x join_gap_sec, when together they are min-max long and pass ok (NULL: any). Hit type t;
 * *took set when it was. */
static int join_next(piece_ctx *pc, size_t a, size_t b, size_t min, size_t max,
                     bool (*ok)(const char *, size_t), pv_type t, bool *took)
{
    det *d = pc->d;
    const pv__runs *R = pc->R;
    const pv__run *r = pc->r;
    size_t k = (size_t)(r - R->r);
    *took = false;
    if (b != r->d0 + r->nd)
        return 0;
    for (size_t m = k + 1; m < R->n; m++) {
        const pv__run *x = &R->r[m];
        if (x->leg != r->leg)
            continue;
        if (pc->done[m] || x->amount ||
            d->w[x->first].start - d->w[r->last].end > 2 * d->s->join_gap_sec)
            return 0;
        for (size_t i = r->last + 1; i < x->first; i++)
            if (d->w[i].leg == r->leg && d->tok[i].kind != PV__FILLER)
                return 0;
        size_t n = (b - a) + x->nd;
        if (n < min || n > max || n > 24)
            return 0;
        char dig[24];
        memcpy(dig, R->digits + a, b - a);
        memcpy(dig + (b - a), R->digits + x->d0, x->nd);
        if (ok && !ok(dig, n))
            return 0;
        int id;
        if (hit_digits_id(pc, t, a, b, &id) != 0)
            return -1;
        if (id >= 0)
            claim(d, id, x->first, x->last);
        pc->done[m] = 1;
        *took = true;
        return 0;
    }
    return 0;
}

static bool ssn_ok9(const char *d, size_t n);
static bool sin_ok9(const char *d, size_t n)
{
    return n == 9 && pv_luhn(d, 9);
}

static int hit_digits_id(piece_ctx *pc, pv_type t, size_t a, size_t b, int *id)
{
    const pv__runs *R = pc->R;
    return add_hit(pc->d, t, pc->r->leg, R->w0[a], R->w1[b - 1], id);
}

static int hit_digits(piece_ctx *pc, pv_type t, size_t a, size_t b)
{
    return hit_digits_id(pc, t, a, b, NULL);
}

static bool mm_ok(const char *d)
{
    int m = pre(d, 2);
    return m >= 1 && m <= 12;
}

static bool ssn_ok(const char *d)
{
    int area = pre(d, 3), group = pre(d + 3, 2), serial = pre(d + 5, 4);
    return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

static bool ssn_ok9(const char *d, size_t n)
{
    return n == 9 && ssn_ok(d);
}

static bool expiry_ok(const char *d, size_t n)
{
    if (n == 4)
        return mm_ok(d);
    if (n == 3)
        return d[0] != '0';
    if (n == 6)
        return mm_ok(d) && d[2] == '2' && d[3] == '0';
    return false;
}

static int piece(piece_ctx *pc, size_t a, size_t b, bool after_card);

/* leading digits from homophones (or "oh") dropped: where the number may begin */
static size_t skip_homo(const pv__runs *R, size_t a, size_t b)
{
    while (a < b && R->homo[a])
        a++;
    return a;
}

static bool boundary(const pv__runs *R, const pv__run *r, size_t k)
{
    size_t a = r->d0, b = r->d0 + r->nd;
    if (k == a || k == b || R->soft[k])
        return true;
    bool all = true; /* only homophones' digits before or after */
    for (size_t i = a; i < k; i++)
        all = all && R->homo[i];
    if (all)
        return true;
    all = true;
    for (size_t i = k; i < b; i++)
        all = all && R->homo[i];
    return all;
}

static int card(piece_ctx *pc, size_t a, size_t b, bool *found)
{
    const pv__runs *R = pc->R;
    size_t len = b - a;
    *found = false;
    if (!on(pc->d, PV_CARD) || len < 13)
        return 0;
    if (len <= 19 && pv_luhn(R->digits + a, len)) {
        *found = true;
        pc->card_end[pc->r->leg & 7] = pc->d->w[R->w1[b - 1]].end;
        return hit_digits(pc, PV_CARD, a, b);
    }
    size_t bi = 0, bj = 0;
    for (size_t i = a; i + 13 <= b; i++) {
        if (!boundary(R, pc->r, i))
            continue;
        for (size_t j = i + 13; j <= b && j - i <= 19; j++)
            if (boundary(R, pc->r, j) && j - i > bj - bi && pv__issuer(R->digits + i, j - i) &&
                pv_luhn(R->digits + i, j - i))
                bi = i, bj = j;
    }
    if (bj == 0)
        return 0;
    *found = true;
    pc->card_end[pc->r->leg & 7] = pc->d->w[R->w1[bj - 1]].end;
    if (hit_digits(pc, PV_CARD, bi, bj) != 0)
        return -1;
    if (piece(pc, a, bi, false) != 0)
        return -1;
    return piece(pc, bj, b, true);
}

/* a phone or SSN said with one ASR slip: a run of at most 3 digits just before it, at most
 * one word between, joins hit id */
static void take_before(piece_ctx *pc, int id)
{
    det *d = pc->d;
    const pv__run *r = pc->r;
    if (id < 0)
        return;
    for (size_t k = 0; k < pc->R->n; k++) {
        const pv__run *p = &pc->R->r[k];
        if (p == r || p->leg != r->leg || p->last >= r->first || p->nd > 3)
            continue;
        size_t between = 0;
        for (size_t i = p->last + 1; i < r->first; i++)
            if (d->w[i].leg == r->leg)
                between++;
        if (between > 1 || d->w[r->first].start - d->w[p->last].end > d->s->join_gap_sec)
            continue;
        bool free_all = true;
        for (size_t i = p->first; i <= p->last; i++)
            free_all = free_all && (d->w[i].leg != r->leg || free_word(d, i));
        if (free_all)
            claim(d, id, p->first, r->first);
    }
}

static int piece(piece_ctx *pc, size_t a, size_t b, bool after_card)
{
    det *d = pc->d;
    const pv__runs *R = pc->R;
    const pv__run *r = pc->r;
    if (a >= b)
        return 0;
    bool found;
    if (card(pc, a, b, &found) != 0)
        return -1;
    if (found)
        return 0;
    size_t len = b - a;
    const char *D = R->digits + a;
    size_t first = R->w0[a];
    for (size_t i = a; i < b; i++)
        if (!free_word(d, R->w0[i]))
            return 0; /* already taken */
    cue c = cue_before(d, first, NULL);
    bool near_card = after_card || (c == CUE_NONE && pc->card_end[r->leg & 7] > 0 &&
                                    d->w[first].start - pc->card_end[r->leg & 7] <= NEAR_CARD_SEC);
    if (r->amount && !after_card)
        return 0;
    if (c == CUE_NONE && near_card) {
        if (len == 4 && mm_ok(D) && on(d, PV_EXPIRY))
            return hit_digits(pc, PV_EXPIRY, a, b);
        if (len == 3 && on(d, PV_CVV))
            return hit_digits(pc, PV_CVV, a, b);
        if (len == 7 && mm_ok(D) && on(d, PV_EXPIRY) && on(d, PV_CVV)) {
            if (hit_digits(pc, PV_EXPIRY, a, a + 4) != 0)
                return -1;
            return hit_digits(pc, PV_CVV, a + 4, b);
        }
    }
    size_t h = skip_homo(R, a, b);
    size_t hl = b - h;
    switch (c) {
    case CUE_CVV:
        if (on(d, PV_CVV) && len >= 3 && len <= 4)
            return hit_digits(pc, PV_CVV, a, b);
        if (on(d, PV_CVV) && hl >= 3 && hl <= 4)
            return hit_digits(pc, PV_CVV, h, b);
        return 0;
    case CUE_EXPIRY:
        if (!on(d, PV_EXPIRY))
            return 0;
        if (expiry_ok(D, len))
            return hit_digits(pc, PV_EXPIRY, a, b);
        if (len == 2 || len == 4) { /* "december twenty seven" */
            size_t m = first;       /* the month before it, fillers skipped */
            while (m > 0) {
                m--;
                if (d->w[m].leg == r->leg && d->tok[m].kind != PV__FILLER)
                    break;
            }
            if (d->w[m].leg == r->leg && pv__month(d->tok[m].low) && free_word(d, m))
                return add_hit(d, PV_EXPIRY, r->leg, m, R->w1[b - 1], NULL);
        }
        return 0;
    case CUE_SSN:
        if (!on(d, PV_SSN))
            return 0;
        if (len == 9 && ssn_ok(D))
            return hit_digits(pc, PV_SSN, a, b);
        if (hl == 9 && ssn_ok(R->digits + h))
            return hit_digits(pc, PV_SSN, h, b);
        if (len < 9) {
            bool took;
            if (join_next(pc, a, b, 9, 9, ssn_ok9, PV_SSN, &took) != 0)
                return -1;
            if (took)
                return 0;
        }
        if (len < 9 && len >= 6) { /* a slip of the ASR: the short run before joins it */
            int id;
            if (hit_digits_id(pc, PV_SSN, a, b, &id) != 0)
                return -1;
            take_before(pc, id);
        }
        return 0;
    case CUE_SIN:
        if (on(d, PV_NATIONAL_ID) && len == 9 && pv_luhn(D, 9))
            return hit_digits(pc, PV_NATIONAL_ID, a, b);
        if (on(d, PV_NATIONAL_ID) && len < 9) {
            bool took;
            return join_next(pc, a, b, 9, 9, sin_ok9, PV_NATIONAL_ID, &took);
        }
        return 0;
    case CUE_PHONE:
        if (on(d, PV_PHONE) && len >= 3 && len < 7) {
            bool took;
            if (join_next(pc, a, b, 7, 15, NULL, PV_PHONE, &took) != 0)
                return -1;
            if (took)
                return 0;
        }
        if (on(d, PV_PHONE) && len >= 7 && len <= 15) {
            int id;
            if (hit_digits_id(pc, PV_PHONE, a, b, &id) != 0)
                return -1;
            take_before(pc, id);
        }
        return 0;
    case CUE_DOB:
        if (on(d, PV_DOB) && len >= 4 && len <= 8)
            return hit_digits(pc, PV_DOB, a, b);
        return 0;
    case CUE_NEG: return 0;
    case CUE_NONE: break;
    }
    /* by shape */
    if ((r->wflags & PV__W_SSN) && len == 9 && ssn_ok(D) && on(d, PV_SSN))
        return hit_digits(pc, PV_SSN, a, b);
    if (!on(d, PV_PHONE))
        return 0;
    if (r->plus && len >= 8 && len <= 15)
        return hit_digits(pc, PV_PHONE, a, b);
    if ((r->wflags & (PV__W_PAREN | PV__W_DASHED)) && len == 10 && r->n_words <= 4)
        return hit_digits(pc, PV_PHONE, a, b);
    if (len == 11 && D[0] == '0' && D[1] == '7')
        return hit_digits(pc, PV_PHONE, a, b);
    return 0;
}

/* A card read in parts with the other speaker's words between ("sorry, go on"): up to four runs
 * of one speaker, each of 3-12 digits, within 2 x join_gap_sec of each other with only the
 * other speaker's words (and fillers) between them, whose digits
 * together are 13-19 long, pass Luhn and have an issuer's prefix. done[k] is set for the runs
 * taken. */
static int joined_cards(piece_ctx *pc, unsigned char *done)
{
    det *d = pc->d;
    const pv__runs *R = pc->R;
    if (!on(d, PV_CARD))
        return 0;
    for (size_t k = 0; k < R->n; k++) {
        const pv__run *a = &R->r[k];
        if (done[k] || a->nd < 3 || a->nd > 12 || a->amount)
            continue;
        /* parts are a guess: not after a cue for something else ("the order number is") */
        if (cue_before(d, a->first, NULL) == CUE_NEG)
            continue;
        char dig[24];
        size_t nd = 0, take[4], nt = 0, prev = k;
        memcpy(dig, R->digits + a->d0, a->nd);
        nd = a->nd;
        take[nt++] = k;
        for (size_t m = k + 1; m < R->n && nt < 4 && nd < 13; m++) {
            const pv__run *b = &R->r[m];
            if (b->leg != a->leg || done[m])
                continue;
            if (d->w[b->first].start - d->w[R->r[prev].last].end > 2 * d->s->join_gap_sec ||
                b->nd < 3 || b->amount || nd + b->nd > 19)
                break;
            bool own = false, other = false; /* only the other speaker between them */
            for (size_t i = R->r[prev].last + 1; i < b->first; i++) {
                if (d->w[i].leg != a->leg)
                    other = true;
                else if (d->tok[i].kind != PV__FILLER)
                    own = true;
            }
            /* nor across the other speaker's cue ("what time suits you?"): a new question */
            size_t cue_at = 0;
            if (!own && other && cue_before(d, b->first, &cue_at) != CUE_NONE &&
                cue_at > R->r[prev].last)
                own = true;
            if (own || !other)
                break;
            memcpy(dig + nd, R->digits + b->d0, b->nd);
            nd += b->nd;
            take[nt++] = m;
            prev = m;
        }
        if (nt < 2 || nd < 13 || !pv__issuer(dig, nd) || !pv_luhn(dig, nd))
            continue;
        int id = new_hit(d, PV_CARD, a->leg);
        if (id < 0)
            return -1;
        for (size_t q = 0; q < nt; q++) {
            claim(d, id, R->r[take[q]].first, R->r[take[q]].last);
            done[take[q]] = 1;
        }
        pc->card_end[a->leg & 7] = d->w[R->r[take[nt - 1]].last].end;
    }
    return 0;
}

/* ---- word detectors ------------------------------------------------------------------------ */

static const char *const k_tlds[] = {"com", "net", "org", "edu", "gov",  "io",  "co",  "uk",
                                     "de",  "fr",  "us",  "ca",  "info", "biz", "me",  "ie",
                                     "au",  "nz",  "es",  "it",  "nl",   "ch",  "mil", "ai"};
static const char *const k_local_stop[] = {"me",   "us",      "it",    "is",     "email", "mail",
                                           "that", "address", "this",  "be",     "you",   "him",
                                           "her",  "them",    "was",   "are",    "look",  "home",
                                           "work", "here",    "there", "arrive", "one",   "e-mail"};

static bool label(const char *s)
{
    if (!s[0] || strlen(s) > 40)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return false;
    return true;
}

static bool in(const char *s, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, l[i]))
            return true;
    return false;
}

static bool ends_tld(const char *s)
{
    const char *dot = strrchr(s, '.');
    return dot && dot != s && in(dot + 1, k_tlds, N_OF(k_tlds));
}

static bool joiner(const char *s)
{
    return !strcmp(s, "dot") || !strcmp(s, "underscore") || !strcmp(s, "dash") ||
           !strcmp(s, "hyphen") || !strcmp(s, "period") || !strcmp(s, "point");
}

/* the previous word of leg before i, fillers ("uh") skipped; (size_t)-1 when none */
static size_t prev_leg(const det *d, size_t i, int leg)
{
    while (i > 0) {
        i--;
        if (d->w[i].leg == leg && d->tok[i].kind != PV__FILLER)
            return i;
    }
    return (size_t)-1;
}

/* the next word of leg after i, fillers skipped; d->n when none */
static size_t next_leg(const det *d, size_t i, int leg)
{
    size_t j = pv__next_same(d->w, d->n, i, leg);
    while (j < d->n && d->tok[j].kind == PV__FILLER)
        j = pv__next_same(d->w, d->n, j, leg);
    return j;
}

static int emails(det *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const char *s = d->tok[i].low;
        int leg = d->w[i].leg;
        if (!free_word(d, i))
            continue;
        const char *at = strchr(s, '@');
        if (at && at != s && strchr(at, '.')) { /* written */
            if (add_hit(d, PV_EMAIL, leg, i, i, NULL) != 0)
                return -1;
            continue;
        }
        if (strcmp(s, "at") != 0)
            continue;
        /* the domain: label (dot label)+ ending in a TLD, or "gmail.com" */
        size_t j = next_leg(d, i, leg), end = (size_t)-1;
        if (j < d->n && label(d->tok[j].low)) {
            if (ends_tld(d->tok[j].low))
                end = j;
            size_t k = j;
            for (;;) {
                size_t dt = next_leg(d, k, leg);
                if (dt >= d->n || strcmp(d->tok[dt].low, "dot") != 0)
                    break;
                size_t l = next_leg(d, dt, leg);
                if (l >= d->n || !label(d->tok[l].low))
                    break;
                k = l;
                if (in(d->tok[l].low, k_tlds, N_OF(k_tlds)) || ends_tld(d->tok[l].low))
                    end = l;
            }
        }
        if (end == (size_t)-1)
            continue;
        /* the local part: a label before "at", and labels joined to it by "dot", "underscore",
         * or spelled letter by letter */
        size_t p = prev_leg(d, i, leg);
        if (p == (size_t)-1 || !label(d->tok[p].low) ||
            in(d->tok[p].low, k_local_stop, N_OF(k_local_stop)) || !free_word(d, p))
            continue;
        size_t start = p;
        for (;;) {
            size_t q = prev_leg(d, start, leg);
            if (q == (size_t)-1 || !free_word(d, q))
                break;
            if (joiner(d->tok[q].low)) {
                size_t r = prev_leg(d, q, leg);
                if (r == (size_t)-1 || !label(d->tok[r].low) ||
                    in(d->tok[r].low, k_local_stop, N_OF(k_local_stop)))
                    break;
                start = r;
                continue;
            }
            if (strlen(d->tok[q].low) == 1 && strlen(d->tok[start].low) == 1 &&
                isalpha((unsigned char)d->tok[q].low[0]) && strcmp(d->tok[q].low, "a") != 0) {
                start = q; /* "j o h n" */
                continue;
            }
            break;
        }
        if (add_hit(d, PV_EMAIL, leg, start, end, NULL) != 0)
            return -1;
    }
    return 0;
}

/* written digits with single separators between them, as an ASR groups them ("1234-5698",
 * "89,370,400"): the separators '-', ',' and '.' only between two digits */
static bool grouped_digits(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return false;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) &&
            (!strchr("-,.", *p) || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[-1])))
            return false;
    return true;
}

/* the characters word i gives to a spelled code (IBAN, NI): letters and digits, upper case;
 * *upper when written in capitals; *amb when it is "o" or "oh" (a letter or a zero); *used: the
 * words it took ("forty two" takes two). in_run: the code has begun (a homophone of a digit,
 * "too" or "ate", is one there). 0 chars when it gives none. */
static size_t code_chars(const det *d, size_t i, bool in_run, char *out, size_t cap, bool *upper,
                         bool *amb, size_t *used)
{
    const pv__tok *t = &d->tok[i];
    const char *raw = d->w[i].text ? d->w[i].text : "";
    size_t n = 0;
    *upper = *amb = false;
    *used = i;
    switch (t->kind) {
    case PV__UNIT: out[n++] = (char)('0' + t->val); return n;
    case PV__HOMO:
        if (strcmp(t->low, "oh") != 0 && strcmp(t->low, "o") != 0) {
            if (!in_run) /* "to", "for": words, unless among a code's characters */
                return 0;
            out[n++] = (char)('0' + t->val);
            return n;
        }
        *amb = true;
        out[n++] = '0';
        return n;
    case PV__TEEN: out[n++] = '1', out[n++] = (char)('0' + t->val - 10); return n;
    case PV__TENS: {
        out[n++] = (char)('0' + t->val / 10);
        size_t j = pv__next_same(d->w, d->n, i, d->w[i].leg);
        if (j < d->n && d->tok[j].kind == PV__UNIT && d->tok[j].val > 0) {
            out[n++] = (char)('0' + d->tok[j].val);
            *used = j;
        } else {
            out[n++] = '0';
        }
        return n;
    }
    default: break;
    }
    size_t L = strlen(t->low);
    if (!L || L > 34)
        return 0;
    if (t->ndig && grouped_digits(t->low)) { /* "1234-5698-7654-32", "89,370,400" */
        for (size_t k = 0; k < t->ndig && n < cap; k++)
            out[n++] = t->dig[k];
        return n;
    }
    bool all_alpha = true;
    for (size_t k = 0; k < L; k++) {
        if (!isalnum((unsigned char)t->low[k]))
            return 0;
        all_alpha &= isalpha((unsigned char)t->low[k]) != 0;
    }
    if (all_alpha && L > 4)
        return 0;
    bool up = true;
    for (const char *p = raw; *p; p++)
        if (islower((unsigned char)*p))
            up = false;
    *upper = up;
    for (size_t k = 0; k < L && n < cap; k++)
        out[n++] = (char)toupper((unsigned char)t->low[k]);
    return n;
}

static const struct {
    char cc[3];
    int len;
} k_iban[] = {{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
              {"BG", 22}, {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
              {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
              {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
              {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27},
              {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21}, {"LT", 20}, {"LU", 20},
              {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31},
              {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
              {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24},
              {"SM", 27}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20}};

static bool iban_ok(const char *s, size_t n)
{
    int len = 0;
    for (size_t i = 0; i < N_OF(k_iban); i++)
        if (s[0] == k_iban[i].cc[0] && s[1] == k_iban[i].cc[1])
            len = k_iban[i].len;
    if (len == 0 || (size_t)len != n || !isdigit((unsigned char)s[2]) ||
        !isdigit((unsigned char)s[3]))
        return false;
    int rem = 0; /* the first four characters moved to the end, letters as 10-35, mod 97 */
    for (size_t k = 0; k < n; k++) {
        char c = s[(k + 4) % n];
        if (isdigit((unsigned char)c))
            rem = (rem * 10 + (c - '0')) % 97;
        else if (c >= 'A' && c <= 'Z')
            rem = (rem * 100 + (c - 'A' + 10)) % 97;
        else
            return false;
    }
    return rem == 1;
}

static bool ni_ok(const char *s)
{
    static const char *const bad[] = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"};
    if (!isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) || strchr("DFIQUV", s[0]) ||
        strchr("DFIOQUV", s[1]))
        return false;
    for (size_t i = 0; i < N_OF(bad); i++)
        if (s[0] == bad[i][0] && s[1] == bad[i][1])
            return false;
    for (int k = 2; k < 8; k++)
        if (!isdigit((unsigned char)s[k]))
            return false;
    return s[8] >= 'A' && s[8] <= 'D';
}

/* IBANs and NI numbers: codes written in capitals, or spelled letter by letter, from word i
 * on. An "o" or "oh" next to a letter is the letter O, else a zero. */
static int codes(det *d)
{
    char buf[48];
    size_t endw[48];
    bool amb[48];
    for (size_t i = 0; i < d->n; i++) {
        if (!free_word(d, i))
            continue;
        int leg = d->w[i].leg;
        size_t n = 0, k = i;
        bool first_upper = false, spelled_prefix = false;
        while (k < d->n && n < 40 && free_word(d, k)) {
            char c[40];
            bool up, am;
            size_t used;
            size_t m = code_chars(d, k, k != i, c, sizeof(c), &up, &am, &used);
            if (!m || n + m > 40)
                break;
            if (k == i) {
                first_upper = up && m >= 2 && isalpha((unsigned char)c[0]);
                spelled_prefix = m == 1 && isalpha((unsigned char)c[0]);
                if (!first_upper && !spelled_prefix)
                    break;
            }
            for (size_t q = 0; q < m; q++) {
                buf[n] = c[q];
                amb[n] = am;
                endw[n++] = used;
            }
            size_t nx = pv__next_same(d->w, d->n, used, leg);
            while (nx < d->n && d->tok[nx].kind == PV__FILLER)
                nx = pv__next_same(d->w, d->n, nx, leg);
            if (nx >= d->n || d->w[nx].start - d->w[used].end > d->s->join_gap_sec)
                break;
            k = nx;
        }
        if (n < 9 || !isalpha((unsigned char)buf[0]) || !isalpha((unsigned char)buf[1]))
            continue;
        for (size_t q = 0; q < n; q++)
            if (amb[q] && ((q > 0 && !amb[q - 1] && isalpha((unsigned char)buf[q - 1])) ||
                           (q + 1 < n && !amb[q + 1] && isalpha((unsigned char)buf[q + 1]))))
                buf[q] = 'O';
        /* the longest IBAN that ends where a word ends */
        bool done = false;
        for (size_t L = n; L >= 15 && on(d, PV_IBAN); L--)
            if ((L == n || endw[L] != endw[L - 1]) && iban_ok(buf, L)) {
                if (add_hit(d, PV_IBAN, leg, i, endw[L - 1], NULL) != 0)
                    return -1;
                done = true;
                break;
            }
        if (done || !on(d, PV_NATIONAL_ID))
            continue;
        /* a UK NI number */
        if ((n == 9 || endw[9] != endw[8]) && ni_ok(buf) && (!spelled_prefix || endw[1] != endw[0]))
            if (add_hit(d, PV_NATIONAL_ID, leg, i, endw[8], NULL) != 0)
                return -1;
    }
    return 0;
}

/* a word of a date: a month, an ordinal, a number, "of", "the", a filler */
static int date_word(const det *d, size_t i)
{
    const pv__tok *t = &d->tok[i];
    if (pv__month(t->low) || pv__ordinal(t->low))
        return 2;
    if (t->kind == PV__DIGITS || t->kind == PV__UNIT || t->kind == PV__TEEN ||
        t->kind == PV__TENS || t->kind == PV__THOUSAND || t->kind == PV__HUNDRED ||
        t->kind == PV__HOMO)
        return 2;
    if (!strcmp(t->low, "of") || !strcmp(t->low, "the") || t->kind == PV__FILLER ||
        t->kind == PV__AND)
        return 1;
    return 0;
}

static int dobs(det *d)
{
    static const char *const cues[] = {"date of birth", "born",      "dob",       "d o b",
                                       "birthday",      "birthdate", "birth date"};
    for (size_t c = 0; c < d->n; c++) {
        bool cued = false;
        for (size_t k = 0; k < N_OF(cues) && !cued; k++)
            cued = phrase_at(d, cues[k], c);
        if (!cued)
            continue;
        /* the first word of a date after it, any speaker, within 12 words */
        size_t s = d->n;
        for (size_t j = c + 1; j < d->n && j <= c + 12; j++)
            if (free_word(d, j) && date_word(d, j) == 2 && d->tok[j].kind != PV__HOMO) {
                s = j;
                break;
            }
        if (s >= d->n || d->w[s].start - d->w[c].end > d->s->context_sec)
            continue;
        int leg = d->w[s].leg;
        size_t e = s, k = s;
        int strong = 1;
        for (;;) {
            size_t nx = pv__next_same(d->w, d->n, k, leg);
            if (nx >= d->n || !free_word(d, nx) || !date_word(d, nx) ||
                d->w[nx].start - d->w[k].end > d->s->join_gap_sec || strong >= 6)
                break;
            bool other = false;
            for (size_t p = k + 1; p < nx; p++)
                if (d->w[p].leg != leg && !pv__backchannel(&d->tok[p]))
                    other = true;
            if (other)
                break;
            k = nx;
            if (date_word(d, k) == 2)
                e = k, strong++;
        }
        if (add_hit(d, PV_DOB, leg, s, e, NULL) != 0)
            return -1;
    }
    return 0;
}

/* ---- written runs ----------------------------------------------------------------------- */

typedef struct strict_ctx {
    det *d;
    const size_t *wof; /* the word of each character of the joined text */
    int leg;
    int rc;
} strict_ctx;

static void strict_hit(void *user, size_t a, size_t b)
{
    strict_ctx *sc = user;
    if (sc->rc == 0 && add_hit(sc->d, PV_CARD, sc->leg, sc->wof[a], sc->wof[b - 1], NULL) != 0)
        sc->rc = -1;
}

/* The strict reading, as a verifier reads a stored text: each leg's words joined by single
 * spaces, and a written run of 13-19 digits that passes Luhn (pv__written_luhn) is a card,
 * whatever the normaliser read there ("3 oh 9" is 309 to it, two runs to a strict reader). */
static int written_cards(det *d)
{
    if (!on(d, PV_CARD) || !d->n)
        return 0;
    size_t len = 0;
    for (size_t i = 0; i < d->n; i++)
        len += strlen(d->w[i].text ? d->w[i].text : "") + 1;
    char *text = malloc(len + 1);
    size_t *wof = malloc((len + 1) * sizeof(*wof));
    if (!text || !wof) {
        free(text);
        free(wof);
        return -1;
    }
    int rc = 0;
    int legs[2] = {d->w[0].leg, d->w[0].leg};
    for (size_t i = 0; i < d->n; i++)
        if (d->w[i].leg != legs[0])
            legs[1] = d->w[i].leg;
    for (int li = 0; li < 2 && rc == 0; li++) {
        if (li == 1 && legs[1] == legs[0])
            break;
        /* legs other than the first two are read with the second */
        size_t k = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (li == 0 ? d->w[i].leg != legs[0] : d->w[i].leg == legs[0])
                continue;
            const char *t = d->w[i].text ? d->w[i].text : "";
            if (k)
                wof[k] = i, text[k++] = ' ';
            size_t m = pv__norm(t, strlen(t), text + k, NULL); /* as the tokens read it */
            for (size_t q = 0; q < m; q++)
                wof[k++] = i;
        }
        text[k] = 0;
        strict_ctx sc = {d, wof, legs[li], 0};
        pv__written_luhn(text, k, strict_hit, &sc);
        rc = sc.rc;
    }
    free(text);
    free(wof);
    return rc;
}

/* ---- the entry point ----------------------------------------------------------------------- */

int pv_detect(const pv_word *w, size_t n, const pv_settings *s, pv_hits *out)
{
    memset(out, 0, sizeof(*out));
    pv__tok *tok = n ? malloc(n * sizeof(*tok)) : NULL;
    out->word_hit = n ? malloc(n * sizeof(*out->word_hit)) : NULL;
    if (n && (!tok || !out->word_hit)) {
        free(tok);
        pv_hits_free(out);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        out->word_hit[i] = -1;
    pv__tokenize(w, n, tok);
    det d = {w, n, tok, s, out, 0};
    int rc = 0;
    if (on(&d, PV_EMAIL))
        rc = emails(&d);
    if (rc == 0 && (on(&d, PV_IBAN) || on(&d, PV_NATIONAL_ID)))
        rc = codes(&d);
    if (rc == 0 && on(&d, PV_DOB))
        rc = dobs(&d);
    pv__runs R;
    if (rc == 0)
        rc = pv__number_runs(w, n, tok, out->word_hit, s, &R);
    if (rc == 0) {
        piece_ctx pc = {.d = &d, .R = &R};
        unsigned char *done = R.n ? calloc(R.n, 1) : NULL;
        if (R.n && !done)
            rc = -1;
        pc.done = done;
        if (rc == 0)
            rc = joined_cards(&pc, done);
        for (size_t k = 0; k < R.n && rc == 0; k++) {
            pc.r = &R.r[k];
            if (!done[k]) {
                done[k] = 1;
                rc = piece(&pc, R.r[k].d0, R.r[k].d0 + R.r[k].nd, false);
            }
        }
        free(done);
        pv__runs_free(&R);
        if (rc == 0)
            rc = written_cards(&d);
    }
    free(tok);
    if (rc)
        pv_hits_free(out);
    return rc;
}

void pv_hits_free(pv_hits *h)
{
    free(h->hits);
    free(h->word_hit);
    memset(h, 0, sizeof(*h));
}
