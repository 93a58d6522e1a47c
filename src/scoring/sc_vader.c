/*
 * sc_vader.c - VADER's sentiment of a text (scoring.h, docs/sentiment.md): the lexicon of
 * Hutto & Gilbert (2014) read from vader_lexicon.txt, and the rules of the npm package
 * vader-sentiment 1.1.3 (the reference the tests run beside this code): its tokenisation, the
 * boosters and dampeners, ALL-CAPS emphasis, negation ("never so", "without"), "but", "least",
 * "kind of", the idioms, the emphasis of '!' and '?', and the compound normalised with alpha 15.
 *
 * The reference works on JavaScript strings; this works on UTF-8 bytes and gives the same words:
 * a text is split on JavaScript's whitespace (\s, Unicode's spaces included), a word's length is
 * counted in UTF-16 units, and lower case is taken where it can decide a lookup (ASCII, Latin-1,
 * the Kelvin sign). Pure: no file is read here.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_int.h"

#define B_INCR 0.293
#define B_DECR (-0.293)
#define C_INCR 0.733
#define N_SCALAR (-0.74)

/* ---- the lexicon: an open-addressing table of word -> mean valence ------------------------ */

typedef struct lex_entry {
    char *word; /* NUL-terminated; NULL: empty slot */
    size_t len;
    double valence;
} lex_entry;

struct sc_vader {
    lex_entry *tab;
    size_t cap, n;
    char sha256[65];
};

static uint64_t hash_of(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static lex_entry *lex_slot(const sc_vader *v, const char *w, size_t n)
{
    size_t i = (size_t)(hash_of(w, n) & (v->cap - 1));
    while (v->tab[i].word && !(v->tab[i].len == n && !memcmp(v->tab[i].word, w, n)))
        i = (i + 1) & (v->cap - 1);
    return &v->tab[i];
}

static const lex_entry *lex_get(const sc_vader *v, const char *w, size_t n)
{
    const lex_entry *e = lex_slot(v, w, n);
    return e->word ? e : NULL;
}

void sc_vader_free(sc_vader *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->cap; i++)
        free(v->tab[i].word);
    free(v->tab);
    free(v);
}

static sc_vader *bad(sc_vader *v, char *err, size_t errsz, const char *fmt, size_t line)
{
    snprintf(err, errsz, fmt, line);
    sc_vader_free(v);
    return NULL;
}

sc_vader *sc_vader_parse(const char *text, size_t len, char *err, size_t errsz)
{
    if (len > SC_VADER_MAX_BYTES) {
        snprintf(err, errsz, "the lexicon is larger than %d bytes", SC_VADER_MAX_BYTES);
        return NULL;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    sc_vader *v = calloc(1, sizeof(*v));
    if (!v)
        goto oom;
    v->cap = 16;
    while (v->cap < 2 * lines)
        v->cap *= 2;
    if (!(v->tab = calloc(v->cap, sizeof(*v->tab))))
        goto oom;
    size_t line = 0;
    for (size_t at = 0; at < len;) {
        line++;
        const char *s = text + at;
        const char *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + (nl ? 1 : 0);
        if (n == 0)
            continue; /* an empty line */
        const char *tab = memchr(s, '\t', n);
        if (!tab || tab == s)
            return bad(v, err, errsz, "line %zu: not \"word<TAB>mean<TAB>...\"", line);
        size_t wn = (size_t)(tab - s);
        if (memchr(s, '\0', n))
            return bad(v, err, errsz, "line %zu: a NUL byte", line);
        const char *num = tab + 1, *end = s + n;
        const char *t2 = memchr(num, '\t', (size_t)(end - num));
        size_t nn = (size_t)((t2 ? t2 : end) - num);
        char buf[32];
        if (nn == 0 || nn >= sizeof(buf))
            return bad(v, err, errsz, "line %zu: the mean valence is missing or too long", line);
        memcpy(buf, num, nn);
        buf[nn] = '\0';
        char *stop = NULL;
        double val = strtod(buf, &stop);
        if (stop == buf || *stop || !isfinite(val) || val < -4.0 || val > 4.0)
            return bad(v, err, errsz, "line %zu: the mean valence is not a number in -4..4", line);
        lex_entry *e = lex_slot(v, s, wn);
        if (!e->word) { /* a word given twice: the later line wins, as in the reference */
            if (!(e->word = strndup(s, wn)))
                goto oom;
            e->len = wn;
            v->n++;
        }
        e->valence = val;
    }
    if (v->n == 0)
        return bad(v, err, errsz, "no entries (%zu lines)", line);
    sc_sha256_hex(text, len, v->sha256);
    return v;
oom:
    snprintf(err, errsz, "out of memory");
    sc_vader_free(v);
    return NULL;
}

size_t sc_vader_size(const sc_vader *v)
{
    return v ? v->n : 0;
}

const char *sc_vader_sha256(const sc_vader *v)
{
    return v ? v->sha256 : "";
}

const char *sc_vader_version(const sc_vader *v)
{
    return v && !strcmp(v->sha256, SC_VADER_SHA256) ? SC_VADER_VERSION : "unknown";
}

/* ---- the rules' word lists ------------------------------------------------------------------ */

static const char *const negate[] = {
    "aint",   "arent",    "cannot",  "cant",     "couldnt",  "darent",   "didnt",   "doesnt",
    "ain't",  "aren't",   "can't",   "couldn't", "daren't",  "didn't",   "doesn't", "dont",
    "hadnt",  "hasnt",    "havent",  "isnt",     "mightnt",  "mustnt",   "neither", "don't",
    "hadn't", "hasn't",   "haven't", "isn't",    "mightn't", "mustn't",  "neednt",  "needn't",
    "never",  "none",     "nope",    "nor",      "not",      "nothing",  "nowhere", "oughtnt",
    "shant",  "shouldnt", "uhuh",    "wasnt",    "werent",   "oughtn't", "shan't",  "shouldn't",
    "uh-uh",  "wasn't",   "weren't", "without",  "wont",     "wouldnt",  "won't",   "wouldn't",
    "rarely", "seldom",   "despite", NULL};

/* boosters (+) and dampeners (-): "degree adverbs" */
static const char *const boost_up[] = {"absolutely",
                                       "amazingly",
                                       "awfully",
                                       "completely",
                                       "considerably",
                                       "decidedly",
                                       "deeply",
                                       "effing",
                                       "enormously",
                                       "entirely",
                                       "especially",
                                       "exceptionally",
                                       "extremely",
                                       "fabulously",
                                       "flipping",
                                       "flippin",
                                       "fricking",
                                       "frickin",
                                       "frigging",
                                       "friggin",
                                       "fully",
                                       "fucking",
                                       "greatly",
                                       "hella",
                                       "highly",
                                       "hugely",
                                       "incredibly",
                                       "intensely",
                                       "majorly",
                                       "more",
                                       "most",
                                       "particularly",
                                       "purely",
                                       "quite",
                                       "really",
                                       "remarkably",
                                       "so",
                                       "substantially",
                                       "thoroughly",
                                       "totally",
                                       "tremendously",
                                       "uber",
                                       "unbelievably",
                                       "unusually",
                                       "utterly",
                                       "very",
                                       NULL};
static const char *const boost_down[] = {
    "almost",   "barely",   "hardly",  "just enough", "kind of",      "kinda",   "kindof",
    "kind-of",  "less",     "little",  "marginally",  "occasionally", "partly",  "scarcely",
    "slightly", "somewhat", "sort of", "sorta",       "sortof",       "sort-of", NULL};

static const struct {
    const char *phrase;
    double valence;
} idioms[] = {{"the shit", 3},      {"the bomb", 3},        {"bad ass", 1.5},
              {"yeah right", -2},   {"cut the mustard", 2}, {"kiss of death", -1.5},
              {"hand to mouth", -2}};

/* ---- the words of a text ------------------------------------------------------------------- */

typedef struct word {
    const char *s; /* as written */
    size_t n;
    char *low; /* lower case (malloc'd) */
    size_t ln;
    bool upper; /* Python's isupper: an upper-case ASCII letter and no lower-case one */
} word;

static bool eq(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n == k && !memcmp(s, lit, k);
}

static bool in_list(const char *const *l, const char *s, size_t n)
{
    for (int i = 0; l[i]; i++)
        if (eq(s, n, l[i]))
            return true;
    return false;
}

/* the booster's increment for a word in lower case, or 0 */
static double booster(const char *s, size_t n)
{
    if (in_list(boost_up, s, n))
        return B_INCR;
    if (in_list(boost_down, s, n))
        return B_DECR;
    return 0;
}

/* one code point at s[i] (invalid bytes: one unit each): its value and byte length */
static uint32_t cp_at(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    unsigned c = s[i];
    size_t k = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (k == 0 || i + k > n) {
        *len = 1;
        return c < 0x80 ? c : 0xFFFD;
    }
    uint32_t v = k == 1 ? c : k == 2 ? (c & 0x1F) : k == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t j = 1; j < k; j++) {
        if ((s[i + j] & 0xC0) != 0x80) {
            *len = 1;
            return 0xFFFD;
        }
        v = (v << 6) | (s[i + j] & 0x3F);
    }
    *len = k;
    return v;
}

/* JavaScript's \s */
static bool js_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

static bool ascii_punct(unsigned char c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

/* the length of s[0..n) in UTF-16 units */
static size_t utf16_len(const char *s, size_t n)
{
    size_t u = 0, k;
    for (size_t i = 0; i < n; i += k) {
        uint32_t c = cp_at((const unsigned char *)s, n, i, &k);
        u += c > 0xFFFF ? 2 : 1;
    }
    return u;
}

/* lower case, as far as it can decide a lookup: ASCII, Latin-1's capitals, U+0130 and the
 * Kelvin sign (the one non-ASCII capital whose lower case is ASCII) */
static char *lower_of(const char *s, size_t n, size_t *out_n)
{
    char *o = malloc(n * 2 + 1);
    if (!o)
        return NULL;
    size_t w = 0, k;
    for (size_t i = 0; i < n; i += k) {
        uint32_t c = cp_at((const unsigned char *)s, n, i, &k);
        if (c >= 'A' && c <= 'Z') {
            o[w++] = (char)(c + 32);
        } else if (k == 2 && c >= 0xC0 && c <= 0xDE && c != 0xD7) {
            c += 0x20;
            o[w++] = (char)(0xC0 | (c >> 6));
            o[w++] = (char)(0x80 | (c & 0x3F));
        } else if (c == 0x212A && k == 3) {
            o[w++] = 'k';
        } else if (c == 0x130 && k == 2) {
            memcpy(o + w, "i\xCC\x87", 3);
            w += 3;
        } else {
            memcpy(o + w, s + i, k);
            w += k;
        }
    }
    o[w] = '\0';
    *out_n = w;
    return o;
}

static bool is_upper(const char *s, size_t n)
{
    bool up = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 'a' && s[i] <= 'z')
            return false;
        up |= s[i] >= 'A' && s[i] <= 'Z';
    }
    return up;
}

typedef struct span {
    const char *s;
    size_t n;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* the pieces of s between JavaScript whitespace that are longer than one UTF-16 unit */
static int split(const char *s, size_t n, span **out, size_t *count)
{
    size_t cap = 0, k;
    *out = NULL, *count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i += k) {
        k = 1;
        bool cut = i == n || js_space(cp_at((const unsigned char *)s, n, i, &k));
        if (!cut)
            continue;
        if (utf16_len(s + start, i - start) > 1) {
            if (*count == cap) {
                cap = cap ? cap * 2 : 16;
                span *p = realloc(*out, cap * sizeof(*p));
                if (!p)
                    return -1;
                *out = p;
            }
            (*out)[(*count)++] = (span){s + start, i - start};
        }
        start = i + k;
    }
    return 0;
}

static const char *const punc_list[] = {".",   "!",   "?",   ",",    ";",    ":",
                                        "-",   "'",   "\"",  "!!",   "!!!",  "??",
                                        "???", "?!?", "!?!", "?!?!", "!?!?", NULL};

/* SentiText: the words, each stripped of one run of punctuation before or after it when what is
 * left is a word of the text with its punctuation removed */
static int words_of(const char *text, size_t len, word **out, size_t *count)
{
    *out = NULL, *count = 0;
    span *tok = NULL, *plain = NULL;
    size_t nt = 0, np = 0;
    char *bare = malloc(len + 1);
    int rc = -1;
    if (!bare)
        return -1;
    size_t bn = 0;
    for (size_t i = 0; i < len; i++)
        if (!ascii_punct((unsigned char)text[i]))
            bare[bn++] = text[i];
    if (split(text, len, &tok, &nt) != 0 || split(bare, bn, &plain, &np) != 0)
        goto done;
    if (np > 1)
        qsort(plain, np, sizeof(*plain), span_cmp);
    word *w = calloc(nt ? nt : 1, sizeof(*w));
    if (!w)
        goto done;
    *out = w;
    for (size_t i = 0; i < nt; i++) {
        span t = tok[i], keep = t;
        size_t lead = 0, trail = 0;
        while (lead < t.n && ascii_punct((unsigned char)t.s[lead]))
            lead++;
        while (trail < t.n && ascii_punct((unsigned char)t.s[t.n - 1 - trail]))
            trail++;
        span cand[2] = {{t.s + lead, t.n - lead}, {t.s, t.n - trail}};
        size_t pl[2] = {lead, trail};
        const char *ps[2] = {t.s, t.s + t.n - trail};
        for (int c = 0; c < 2; c++) {
            if (pl[c] == 0 || pl[c] == t.n)
                continue;
            bool listed = false;
            for (int p = 0; punc_list[p] && !listed; p++)
                listed = eq(ps[c], pl[c], punc_list[p]);
            if (listed && np && bsearch(&cand[c], plain, np, sizeof(*plain), span_cmp)) {
                keep = cand[c];
                break;
            }
        }
        w[i].s = keep.s, w[i].n = keep.n;
        if (!(w[i].low = lower_of(keep.s, keep.n, &w[i].ln)))
            goto done;
        w[i].upper = is_upper(keep.s, keep.n);
        *count = i + 1;
    }
    rc = 0;
done:
    free(tok);
    free(plain);
    free(bare);
    return rc;
}

/* ---- the rules --------------------------------------------------------------------------------
 */

typedef struct ctx {
    const sc_vader *v;
    const word *w;
    size_t n;
    bool cap_diff; /* some words, not all, in ALL CAPS */
} ctx;

static bool in_lex(const ctx *c, size_t i)
{
    return lex_get(c->v, c->w[i].low, c->w[i].ln) != NULL;
}

static bool raw_is(const ctx *c, size_t i, const char *lit)
{
    return eq(c->w[i].s, c->w[i].n, lit);
}

static bool low_is(const ctx *c, size_t i, const char *lit)
{
    return eq(c->w[i].low, c->w[i].ln, lit);
}

/* a negation word, or one holding "n't" (case as written) */
static bool negated(const word *w)
{
    return in_list(negate, w->s, w->n) || memmem(w->s, w->n, "n't", 3) != NULL;
}

/* the words idx[0..k) as written, joined by single spaces, equal phrase? */
static bool seq_is(const ctx *c, const size_t *idx, int k, const char *phrase)
{
    const char *p = phrase;
    for (int j = 0; j < k; j++) {
        const word *w = &c->w[idx[j]];
        if (strncmp(p, w->s, w->n) != 0 || memchr(w->s, '\0', w->n))
            return false;
        p += w->n;
        if (j < k - 1) {
            if (*p != ' ')
                return false;
            p++;
        }
    }
    return *p == '\0';
}

static bool idiom_of(const ctx *c, const size_t *idx, int k, double *val)
{
    for (size_t i = 0; i < sizeof(idioms) / sizeof(idioms[0]); i++)
        if (seq_is(c, idx, k, idioms[i].phrase)) {
            *val = idioms[i].valence;
            return true;
        }
    return false;
}

static bool booster_seq(const ctx *c, const size_t *idx, int k)
{
    for (int i = 0; boost_up[i]; i++)
        if (seq_is(c, idx, k, boost_up[i]))
            return true;
    for (int i = 0; boost_down[i]; i++)
        if (seq_is(c, idx, k, boost_down[i]))
            return true;
    return false;
}

static double scalar_inc_dec(const ctx *c, size_t j, double valence)
{
    double scalar = booster(c->w[j].low, c->w[j].ln);
    if (scalar == 0) /* not a booster or dampener */
        return 0;
    if (valence < 0)
        scalar *= -1;
    if (c->cap_diff && c->w[j].upper) {
        if (valence > 0)
            scalar += C_INCR;
        else
            scalar -= C_INCR;
    }
    return scalar;
}

static bool so_or_this(const ctx *c, size_t i)
{
    return raw_is(c, i, "so") || raw_is(c, i, "this");
}

static double never_check(const ctx *c, double valence, int start_i, size_t i)
{
    if (start_i == 0 && negated(&c->w[i - 1]))
        valence *= N_SCALAR;
    if (start_i == 1) {
        if (raw_is(c, i - 2, "never") && so_or_this(c, i - 1))
            valence *= 1.5;
        else if (negated(&c->w[i - 2]))
            valence *= N_SCALAR;
    }
    if (start_i == 2) {
        if ((raw_is(c, i - 3, "never") && so_or_this(c, i - 2)) || so_or_this(c, i - 1))
            valence *= 1.25;
        else if (negated(&c->w[i - 3]))
            valence *= N_SCALAR;
    }
    return valence;
}

static double idioms_check(const ctx *c, double valence, size_t i)
{
    const size_t seqs[5][3] = {{i - 1, i, 0},
                               {i - 2, i - 1, i},
                               {i - 2, i - 1, 0},
                               {i - 3, i - 2, i - 1},
                               {i - 3, i - 2, 0}};
    const int lens[5] = {2, 3, 2, 3, 2};
    double val;
    for (int s = 0; s < 5; s++)
        if (idiom_of(c, seqs[s], lens[s], &val)) {
            valence = val;
            break;
        }
    if (c->n - 1 > i) {
        size_t z[2] = {i, i + 1};
        if (idiom_of(c, z, 2, &val))
            valence = val;
    }
    if (c->n - 1 > i + 1) {
        size_t z[3] = {i, i + 1, i + 2};
        if (idiom_of(c, z, 3, &val))
            valence = val;
    }
    if (booster_seq(c, seqs[4], 2) || booster_seq(c, seqs[2], 2))
        valence += B_DECR;
    return valence;
}

static double least_check(const ctx *c, double valence, size_t i)
{
    bool least_in_lex = lex_get(c->v, "least", 5) != NULL;
    if (i > 1 && low_is(c, i - 1, "least") && !least_in_lex) {
        if (!low_is(c, i - 2, "at") && !low_is(c, i - 2, "very"))
            valence *= N_SCALAR;
    } else if (i > 0 && low_is(c, i - 1, "least") && !least_in_lex) {
        valence *= N_SCALAR;
    }
    return valence;
}

static double valence_of(const ctx *c, size_t i)
{
    const lex_entry *e = lex_get(c->v, c->w[i].low, c->w[i].ln);
    if (!e)
        return 0;
    double valence = e->valence;
    if (c->w[i].upper && c->cap_diff) {
        if (valence > 0)
            valence += C_INCR;
        else
            valence -= C_INCR;
    }
    for (int start_i = 0; start_i < 3; start_i++) {
        if (i > (size_t)start_i && !in_lex(c, i - (size_t)start_i - 1)) {
            double s = scalar_inc_dec(c, i - (size_t)start_i - 1, valence);
            if (start_i == 1 && s != 0)
                s = s * 0.95;
            else if (start_i == 2 && s != 0)
                s = s * 0.9;
            valence = valence + s;
            valence = never_check(c, valence, start_i, i);
            if (start_i == 2)
                valence = idioms_check(c, valence, i);
        }
    }
    return least_check(c, valence, i);
}

static size_t count_of(const char *s, size_t n, char ch)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == ch;
    return k;
}

int sc_vader_score(const sc_vader *v, const char *text, size_t len, sc_vader_scores *out)
{
    memset(out, 0, sizeof(*out));
    word *w = NULL;
    size_t n = 0;
    double *sent = NULL;
    int rc = -1;
    if (words_of(text, len, &w, &n) != 0)
        goto done;
    if (n == 0) {
        rc = 0;
        goto done;
    }
    if (!(sent = calloc(n, sizeof(*sent))))
        goto done;
    size_t caps = 0;
    for (size_t i = 0; i < n; i++)
        caps += w[i].upper;
    ctx c = {.v = v, .w = w, .n = n, .cap_diff = n - caps > 0 && n - caps < n};
    for (size_t i = 0; i < n; i++) {
        if ((i < n - 1 && low_is(&c, i, "kind") && low_is(&c, i + 1, "of")) ||
            booster(w[i].low, w[i].ln) != 0)
            sent[i] = 0;
        else
            sent[i] = valence_of(&c, i);
    }
    /* "but": what comes before it counts half, what comes after one and a half */
    size_t but = n;
    for (size_t i = 0; i < n && but == n; i++)
        if (raw_is(&c, i, "but"))
            but = i;
    for (size_t i = 0; i < n && but == n; i++)
        if (raw_is(&c, i, "BUT"))
            but = i;
    if (but < n)
        for (size_t i = 0; i < n; i++)
            sent[i] = i < but ? sent[i] * 0.5 : i > but ? sent[i] * 1.5 : sent[i];
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += sent[i];
    size_t ep = count_of(text, len, '!'), qm = count_of(text, len, '?');
    if (ep > 4)
        ep = 4;
    double amp = (double)ep * 0.292 + (qm > 1 ? (qm <= 3 ? (double)qm * 0.18 : 0.96) : 0);
    if (sum > 0)
        sum += amp;
    else if (sum < 0)
        sum -= amp;
    double comp = sum / sqrt(sum * sum + 15);
    out->compound = comp < -1 ? -1 : comp > 1 ? 1 : comp;
    double pos = 0, neg = 0, neu = 0;
    for (size_t i = 0; i < n; i++) {
        if (sent[i] > 0)
            pos += sent[i] + 1;
        else if (sent[i] < 0)
            neg += sent[i] - 1;
        else
            neu += 1;
    }
    if (pos > fabs(neg))
        pos += amp;
    else if (pos < fabs(neg))
        neg -= amp;
    double total = pos + fabs(neg) + neu;
    out->pos = fabs(pos / total), out->neg = fabs(neg / total), out->neu = fabs(neu / total);
    rc = 0;
done:
    for (size_t i = 0; i < n; i++)
        free(w[i].low);
    free(w);
    free(sent);
    return rc;
}
