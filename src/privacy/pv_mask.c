/*
 * pv_mask.c - one string of an answer, a report, a prompt or an audit detail masked: keyed
 * digits, card numbers, SSNs (and, in words, national ids and IBANs), wherever they stand,
 * while the identifiers of the phone system and the figures stay as they are.
 *
 * DESIGN
 * The string is read through the normaliser (pv_norm.c): what is found in that view is masked
 * in the string as it was written. Four steps, each one pass over the view:
 *   A. Written numbers. A run of digit groups joined by single separators (spaces, dashes and
 *      commas, or points alone) is a candidate. A group that touches an identifier at the
 *      run's edge is not part of it: a letter or digit beside it, a '+', or a joining
 *      character ('@', ':', '/', '_', '=', '.', '-', ...) with a letter or digit beyond it.
 *      So a uniqueid (1700000000.12345: two groups joined by a point, a decimal), an address
 *      and port (10.0.0.1:5060), a timestamp (2026-11-25 09:00:00, 2026-11-25T09:00:00Z), a
 *      Call-ID (a84b4c76e66710@pc33), a SIP or tel URI's user part, a channel
 *      (SIP/1001-0000002a), an SSRC (0x0000ABCD) or a hex hash are never candidates. A
 *      candidate of 13-19 digits that passes Luhn, or holding a card with a stray digit
 *      (pv__written_luhn), is "[CARD]"; three dashed groups of 3, 2 and 4 digits in the
 *      issued ranges are "[SSN]".
 *   B. Keyed digits. A run of DTMF symbols (0-9 * # A-D) not touching an identifier is masked,
 *      each symbol as '*', when it holds a digit and a '*' or '#' ("8275#", "*72"), or when it
 *      is one of the keyed digit strings the caller collected (the report's DTMF fields): those
 *      of three symbols or more wherever they stand, those of one or two digits (which a figure
 *      may equal: "5 s") only in a sentence that speaks of keyed digits ("DTMF", "digit",
 *      "keyed", "pressed", "telephone event", "RFC 4733", "SIP INFO").
 *   C. Numbers in words. When the string holds 5 number words or more, or 9 written digits
 *      outside identifiers and not yet masked, its words go through the detectors (pv_detect:
 *      spoken and cued cards, SSNs, national ids, IBANs), identifiers read as a neutral word,
 *      in windows of 200 words that overlap by 50, so that one string costs time in proportion
 *      to its length whatever it holds.
 *   D. The string rebuilt once from the marks.
 * Every step is linear in the string, so a walk over an answer is linear in its size.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pv_int.h"

#define WIN_WORDS 200  /* words the detectors read at once */
#define WIN_OVERLAP 50 /* a number said across a window's edge is read whole by the next */
#define GATE_WORDS 5   /* number words that send a string to the detectors */
#define GATE_DIGITS 9  /* or written digits outside identifiers, not yet masked */
#define MK_STAR 1      /* a keyed symbol: '*' */
#define MK_TYPE 2      /* MK_TYPE + pv_type: the type's placeholder */

/* ---- the keyed digit strings: a set -------------------------------------------------------- */

typedef struct kslot {
    uint64_t h;
    size_t off, len; /* in the set's arena */
    bool used;
} kslot;

struct pv_masker {
    unsigned types; /* PV_MASK_TYPES of them */
    /* the keyed digit strings: open addressing */
    kslot *slot;
    size_t nslot, nkeys;
    char *arena;
    size_t alen, acap;
    /* scratch, grown as needed */
    char *view;
    size_t *src;
    unsigned char *mk;
    size_t cap;
    char *out;
    size_t ocap;
    pv_masked counts;
};

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static bool keyed_has(const pv_masker *m, const char *s, size_t n)
{
    if (!m->nkeys)
        return false;
    uint64_t h = fnv(s, n);
    for (size_t i = h & (m->nslot - 1);; i = (i + 1) & (m->nslot - 1)) {
        const kslot *k = &m->slot[i];
        if (!k->used)
            return false;
        if (k->h == h && k->len == n && !memcmp(m->arena + k->off, s, n))
            return true;
    }
}

static int keyed_put(pv_masker *m, const char *s, size_t n)
{
    if (!n || keyed_has(m, s, n))
        return 0;
    if ((m->nkeys + 1) * 2 > m->nslot) { /* at most half full */
        size_t ns = m->nslot ? m->nslot * 2 : 64;
        kslot *nk = calloc(ns, sizeof(*nk));
        if (!nk)
            return -1;
        for (size_t i = 0; i < m->nslot; i++) {
            if (!m->slot[i].used)
                continue;
            size_t j = m->slot[i].h & (ns - 1);
            while (nk[j].used)
                j = (j + 1) & (ns - 1);
            nk[j] = m->slot[i];
        }
        free(m->slot);
        m->slot = nk, m->nslot = ns;
    }
    if (m->alen + n > m->acap) {
        size_t nc = m->acap ? m->acap : 1024;
        while (nc < m->alen + n)
            nc *= 2;
        char *na = realloc(m->arena, nc);
        if (!na)
            return -1;
        m->arena = na, m->acap = nc;
    }
    memcpy(m->arena + m->alen, s, n);
    uint64_t h = fnv(s, n);
    size_t j = h & (m->nslot - 1);
    while (m->slot[j].used)
        j = (j + 1) & (m->nslot - 1);
    m->slot[j] = (kslot){h, m->alen, n, true};
    m->alen += n;
    m->nkeys++;
    return 0;
}

static bool dtmf_sym(char c)
{
    return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

pv_masker *pv_masker_create(unsigned types)
{
    pv_masker *m = calloc(1, sizeof(*m));
    if (m)
        m->types = types & PV_MASK_TYPES;
    return m;
}

void pv_masker_destroy(pv_masker *m)
{
    if (!m)
        return;
    free(m->slot);
    free(m->arena);
    free(m->view);
    free(m->src);
    free(m->mk);
    free(m->out);
    free(m);
}

int pv_masker_add_keyed(pv_masker *m, const char *s, size_t n)
{
    /* as written, in the normaliser's view, and without a closing '#' or '*' (a reader quotes
     * "8275" of "8275#") */
    char buf[64];
    if (n >= sizeof(buf)) { /* a long one: as written only */
        return keyed_put(m, s, n);
    }
    size_t k = pv__norm(s, n, buf, NULL);
    if (keyed_put(m, s, n) != 0 || keyed_put(m, buf, k) != 0)
        return -1;
    while (k > 1 && (buf[k - 1] == '#' || buf[k - 1] == '*'))
        k--;
    bool digits = false;
    for (size_t i = 0; i < k; i++)
        digits |= buf[i] >= '0' && buf[i] <= '9';
    return digits ? keyed_put(m, buf, k) : 0;
}

size_t pv_masker_keyed(const pv_masker *m)
{
    return m->nkeys;
}

const pv_masked *pv_masker_counts(const pv_masker *m)
{
    return &m->counts;
}

/* ---- identifiers: what a number touching them is part of ----------------------------------- */

static bool alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

/* characters that join the parts of an identifier when letters or digits stand on both sides */
static bool glue(char c)
{
    return c && strchr("@_/\\=.-+&%~|^,:;#*", c) != NULL;
}

static bool scheme_before(const char *v, size_t colon)
{
    static const char *const k[] = {"sip", "sips", "tel", "urn",  "http",  "https", "mailto", "ws",
                                    "wss", "h323", "iax", "iax2", "pjsip", "dahdi", "local"};
    size_t a = colon;
    while (a > 0 && isalnum((unsigned char)v[a - 1]))
        a--;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (strlen(k[i]) == colon - a && !strncasecmp(v + a, k[i], colon - a))
            return true;
    return false;
}

/* Whether the number beginning at a touches an identifier on its left. */
static bool left_blocked(const char *v, size_t a)
{
    if (a == 0)
        return false;
    char c = v[a - 1];
    if (alnum(c) || c == '+')
        return true;
    if (!glue(c) || a < 2 || !alnum(v[a - 2]))
        return false;
    /* "card:4111..." is a label; "sip:1001", "10:30" are identifiers */
    if (c == ':')
        return isdigit((unsigned char)v[a - 2]) || scheme_before(v, a - 1);
    return true;
}

/* Whether the number ending before b (of m) touches an identifier on its right. */
static bool right_blocked(const char *v, size_t m, size_t b)
{
    if (b >= m)
        return false;
    char c = v[b];
    if (alnum(c))
        return true;
    return glue(c) && b + 1 < m && alnum(v[b + 1]);
}

/* ---- A: written numbers --------------------------------------------------------------------- */

typedef struct mctx {
    pv_masker *m;
    const char *v;
    size_t n;
    unsigned char *mk;
    size_t base; /* of the candidate pv__written_luhn reads */
} mctx;

static void mark(mctx *c, size_t a, size_t b, unsigned char t)
{
    for (size_t i = a; i < b; i++)
        if (!c->mk[i])
            c->mk[i] = t;
}

static void card_hit(void *user, size_t a, size_t b)
{
    mctx *c = user;
    mark(c, c->base + a, c->base + b, MK_TYPE + PV_CARD);
    c->m->counts.counts[PV_CARD]++;
}

static bool ssn_issued(const char *v, const size_t *g)
{
    int area = 0, group = 0, serial = 0;
    for (size_t i = 0; i < 3; i++)
        area = area * 10 + (v[g[0] + i] - '0');
    for (size_t i = 0; i < 2; i++)
        group = group * 10 + (v[g[2] + i] - '0');
    for (size_t i = 0; i < 4; i++)
        serial = serial * 10 + (v[g[4] + i] - '0');
    return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

/* One candidate: its groups [g[2k], g[2k+1]) in the view, ng of them. */
static void candidate(mctx *c, size_t *g, size_t ng)
{
    const char *v = c->v;
    size_t first = 0, last = ng; /* the groups kept: [first, last) */
    while (first < last && left_blocked(v, g[2 * first]))
        first++;
    while (last > first && right_blocked(v, c->n, g[2 * (last - 1) + 1]))
        last--;
    if (first >= last)
        return;
    size_t nd = 0;
    bool point = false;
    for (size_t k = first; k < last; k++) {
        nd += g[2 * k + 1] - g[2 * k];
        if (k > first && v[g[2 * k] - 1] == '.')
            point = true;
    }
    /* two groups and a point: a decimal, a uniqueid (cards are written in three groups or
     * more) */
    if (nd < 9 || (point && last - first < 3))
        return;
    size_t a = g[2 * first], b = g[2 * (last - 1) + 1];
    if (c->m->types & (1u << PV_CARD)) {
        c->base = a;
        if (pv__written_luhn(v + a, b - a, card_hit, c))
            return;
    }
    if ((c->m->types & (1u << PV_SSN)) && last - first == 3) {
        size_t *h = g + 2 * first;
        if (h[1] - h[0] == 3 && h[3] - h[2] == 2 && h[5] - h[4] == 4 && v[h[2] - 1] == '-' &&
            v[h[4] - 1] == '-' && ssn_issued(v, h)) {
            mark(c, a, b, MK_TYPE + PV_SSN);
            c->m->counts.counts[PV_SSN]++;
        }
    }
}

static int written(mctx *c, size_t **gbuf, size_t *gcap)
{
    const char *v = c->v;
    for (size_t j = 0; j < c->n;) {
        if (!isdigit((unsigned char)v[j])) {
            j++;
            continue;
        }
        size_t ng = 0, p = j, q;
        char point = 0; /* 1: the groups are joined by points, 2: by other separators */
        for (;;) {
            q = p;
            while (q < c->n && isdigit((unsigned char)v[q]))
                q++;
            if (2 * ng + 2 > *gcap) {
                size_t nc = *gcap ? *gcap * 2 : 64;
                size_t *ngb = realloc(*gbuf, nc * sizeof(*ngb));
                if (!ngb)
                    return -1;
                *gbuf = ngb, *gcap = nc;
            }
            (*gbuf)[2 * ng] = p, (*gbuf)[2 * ng + 1] = q, ng++;
            /* one kind of joint: "1700000000.12345 2" is a uniqueid and a figure, not one
             * number */
            char kind = v[q] == '.' ? 1 : 2;
            if (q + 1 < c->n && strchr(" -.,", v[q]) && v[q] && isdigit((unsigned char)v[q + 1]) &&
                (!point || point == kind)) {
                point = kind;
                p = q + 1;
                continue;
            }
            break;
        }
        candidate(c, *gbuf, ng);
        j = q;
    }
    return 0;
}

/* ---- B: keyed digits ------------------------------------------------------------------------ */

static bool has_ci(const char *v, size_t a, size_t b, const char *w)
{
    size_t l = strlen(w);
    for (size_t i = a; i + l <= b; i++)
        if (!strncasecmp(v + i, w, l) && (i == a || !alnum(v[i - 1])))
            return true;
    return false;
}

/* the sentence around position a (a cursor that only moves forward): whether it speaks of
 * keyed digits */
typedef struct sentence {
    size_t s0, s1;
    bool dtmf;
} sentence;

static bool speaks_of_digits(const char *v, size_t n, sentence *st, size_t a)
{
    static const char *const k[] = {"dtmf",      "digit",           "keyed",           "pressed",
                                    "key press", "telephone event", "telephone-event", "rfc 4733",
                                    "rfc4733",   "sip info"};
    while (a >= st->s1) {
        st->s0 = st->s1;
        size_t e = st->s0;
        while (e < n &&
               !(v[e] == '\n' || (strchr(".!?;", v[e]) && (e + 1 >= n || v[e + 1] == ' '))))
            e++;
        st->s1 = e < n ? e + 1 : n;
        st->dtmf = false;
        for (size_t i = 0; i < sizeof(k) / sizeof(k[0]) && !st->dtmf; i++)
            st->dtmf = has_ci(v, st->s0, st->s1, k[i]);
        if (st->s1 >= n)
            break;
    }
    return st->dtmf;
}

static void keyed(mctx *c)
{
    const char *v = c->v;
    sentence st = {0, 0, false};
    for (size_t j = 0; j < c->n;) {
        if (!dtmf_sym(v[j])) {
            j++;
            continue;
        }
        size_t a = j;
        bool digit = false, star = false, all_digits = true;
        while (j < c->n && dtmf_sym(v[j])) {
            bool d = v[j] >= '0' && v[j] <= '9';
            digit |= d, all_digits &= d;
            star |= v[j] == '*' || v[j] == '#';
            j++;
        }
        /* a run joined to an identifier, and one already masked ("****"), are left */
        if (!digit || left_blocked(v, a) || right_blocked(v, c->n, j))
            continue;
        bool hit = star;
        if (!hit && keyed_has(c->m, v + a, j - a))
            hit = j - a >= 3 || !all_digits || speaks_of_digits(v, c->n, &st, a);
        if (!hit)
            continue;
        mark(c, a, j, MK_STAR);
        c->m->counts.keyed++;
    }
}

/* ---- C: numbers in words -------------------------------------------------------------------- */

static bool number_word(const char *w, size_t n)
{
    static const char *const k[] = {
        "zero",     "oh",       "one",     "two",     "three",     "four",     "five",
        "six",      "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty",   "thirty",   "forty",   "fifty",   "sixty",     "seventy",  "eighty",
        "ninety",   "double",   "triple",  "hundred", "nought"};
    while (n && !alnum(w[n - 1]))
        n--;
    while (n && !alnum(*w))
        w++, n--;
    if (n < 2 || n > 9)
        return false;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (strlen(k[i]) == n && !strncasecmp(w, k[i], n))
            return true;
    return false;
}

/* an identifier read as a neutral word by the detectors: a mail or SIP address, a URI, a path,
 * a name with digits in it, a decimal or uniqueid */
static bool ident_word(const char *w, size_t n)
{
    bool letter = false, digit = false, touch = false;
    size_t points = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = w[i];
        if (strchr("@:/\\_=", ch))
            return true;
        bool l = isalpha((unsigned char)ch), d = isdigit((unsigned char)ch);
        if (i &&
            ((l && isdigit((unsigned char)w[i - 1])) || (d && isalpha((unsigned char)w[i - 1]))))
            touch = true;
        letter |= l, digit |= d;
        if (ch == '.' && i + 1 < n && isdigit((unsigned char)w[i + 1]))
            points++;
        if (d && !points)
            first++;
    }
    return (letter && digit && touch) || (points == 1 && first >= 6);
}

typedef struct wspan {
    size_t a, b;
} wspan;

static int words_detect(mctx *c)
{
    const char *v = c->v;
    size_t n = c->n;
    /* the words and the gate */
    size_t nw = 0, wcap = 0, nwords = 0, ndig = 0;
    wspan *ws = NULL;
    for (size_t j = 0; j < n;) {
        if (isspace((unsigned char)v[j])) {
            j++;
            continue;
        }
        size_t a = j;
        while (j < n && !isspace((unsigned char)v[j]))
            j++;
        if (nw == wcap) {
            size_t nc = wcap ? wcap * 2 : 64;
            wspan *nws = realloc(ws, nc * sizeof(*nws));
            if (!nws) {
                free(ws);
                return -1;
            }
            ws = nws, wcap = nc;
        }
        ws[nw++] = (wspan){a, j};
        if (ident_word(v + a, j - a))
            continue;
        nwords += number_word(v + a, j - a);
        for (size_t i = a; i < j; i++)
            ndig += isdigit((unsigned char)v[i]) && !c->mk[i];
    }
    if (nwords < GATE_WORDS && ndig < GATE_DIGITS) {
        free(ws);
        return 0;
    }
    /* the words as the detectors take them: a copy with NULs, identifiers and masked words as
     * "~" */
    char *buf = malloc(n + 2 * nw + 1);
    pv_word *pw = malloc((nw < WIN_WORDS ? nw : WIN_WORDS) * sizeof(*pw) + 1);
    const char **text = malloc(nw * sizeof(*text) + 1);
    int rc = buf && pw && text ? 0 : -1;
    size_t k = 0;
    for (size_t i = 0; i < nw && rc == 0; i++) {
        bool masked = false;
        for (size_t q = ws[i].a; q < ws[i].b; q++)
            masked |= c->mk[q] != 0;
        text[i] = buf + k;
        if (masked || ident_word(v + ws[i].a, ws[i].b - ws[i].a)) {
            buf[k++] = '~';
        } else {
            memcpy(buf + k, v + ws[i].a, ws[i].b - ws[i].a);
            k += ws[i].b - ws[i].a;
        }
        buf[k++] = 0;
    }
    pv_settings s = pv_default_settings();
    s.types = c->m->types;
    for (size_t w0 = 0; rc == 0 && w0 < nw; w0 += WIN_WORDS - WIN_OVERLAP) {
        size_t wn = nw - w0 < WIN_WORDS ? nw - w0 : WIN_WORDS;
        for (size_t i = 0; i < wn; i++)
            pw[i] = (pv_word){.text = text[w0 + i],
                              .start = 0.3 * (double)i,
                              .end = 0.3 * (double)i + 0.25,
                              .leg = 0,
                              .role = CQ_ROLE_MIXED};
        pv_hits h;
        if (pv_detect(pw, wn, &s, &h) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < wn; i++) {
            int id = h.word_hit[i];
            if (id < 0)
                continue;
            unsigned char t = (unsigned char)(MK_TYPE + h.hits[id].type);
            size_t a = ws[w0 + i].a;
            if (i > 0 && h.word_hit[i - 1] == id) /* one hit's words: one placeholder */
                a = ws[w0 + i - 1].b;
            bool fresh = !c->mk[ws[w0 + i].a];
            for (size_t q = a; q < ws[w0 + i].b; q++)
                c->mk[q] = t;
            if (fresh && (i == 0 || h.word_hit[i - 1] != id))
                c->m->counts.counts[h.hits[id].type]++;
        }
        pv_hits_free(&h);
        if (w0 + wn >= nw)
            break;
    }
    free(buf);
    free(pw);
    free(text);
    free(ws);
    return rc;
}

/* ---- the string ----------------------------------------------------------------------------- */

static const char *placeholder(int t)
{
    switch (t) {
    case PV_CARD: return "[CARD]";
    case PV_SSN: return "[SSN]";
    case PV_NATIONAL_ID: return "[NATIONAL_ID]";
    case PV_IBAN: return "[IBAN]";
    case PV_CVV: return "[CVV]";
    case PV_EXPIRY: return "[EXPIRY]";
    case PV_EMAIL: return "[EMAIL]";
    case PV_PHONE: return "[PHONE]";
    default: return "[DOB]";
    }
}

static int grow(pv_masker *m, size_t n)
{
    if (n + 1 <= m->cap)
        return 0;
    size_t nc = m->cap ? m->cap : 256;
    while (nc < n + 1)
        nc *= 2;
    char *v = realloc(m->view, nc);
    if (v)
        m->view = v;
    size_t *s = realloc(m->src, nc * sizeof(*s));
    if (s)
        m->src = s;
    unsigned char *k = realloc(m->mk, nc);
    if (k)
        m->mk = k;
    if (!v || !s || !k)
        return -1;
    m->cap = nc;
    return 0;
}

int pv_masker_text(pv_masker *m, const char *text, size_t n, char **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    /* nothing to look at: no digit, no character beyond ASCII, fewer words than a spoken number
     * needs, and no keyed string without a digit ("#") */
    bool any = false;
    size_t spaces = 0;
    for (size_t i = 0; i < n && !any; i++) {
        unsigned char ch = (unsigned char)text[i];
        any = (ch >= '0' && ch <= '9') || ch >= 0x80;
        spaces += ch == ' ';
    }
    if (!any && (spaces + 1 < GATE_WORDS || !m->types))
        return 0;
    if (grow(m, n) != 0)
        return -1;
    size_t vn = pv__norm(text, n, m->view, m->src);
    memset(m->mk, 0, vn);
    mctx c = {m, m->view, vn, m->mk, 0};
    size_t *g = NULL, gcap = 0;
    int rc = m->types ? written(&c, &g, &gcap) : 0;
    free(g);
    if (rc == 0)
        keyed(&c);
    if (rc == 0 && m->types)
        rc = words_detect(&c);
    if (rc != 0)
        return -1;
    bool changed = false;
    for (size_t i = 0; i < vn && !changed; i++)
        changed = m->mk[i] != 0;
    if (!changed)
        return 0;
    /* D: rebuilt: unmarked characters as they were written, a keyed symbol as '*', a run of
     * one type's marks as its placeholder */
    size_t cap = n + 16, k = 0;
    char *o = malloc(cap);
    if (!o)
        return -1;
    memcpy(o, text, m->src[0]); /* invisible characters before the first one read */
    k = m->src[0];
    for (size_t j = 0; j < vn;) {
        const char *piece;
        size_t plen, next = j + 1;
        unsigned char t = m->mk[j];
        if (!t) {
            piece = text + m->src[j], plen = m->src[j + 1] - m->src[j];
        } else if (t == MK_STAR) {
            piece = "*", plen = 1;
        } else {
            while (next < vn && m->mk[next] == t)
                next++;
            piece = placeholder(t - MK_TYPE), plen = strlen(piece);
        }
        if (k + plen + 1 > cap) {
            while (k + plen + 1 > cap)
                cap *= 2;
            char *no = realloc(o, cap);
            if (!no) {
                free(o);
                return -1;
            }
            o = no;
        }
        memcpy(o + k, piece, plen);
        k += plen;
        j = next;
    }
    o[k] = 0;
    *out = o;
    *out_n = k;
    return 1;
}
