/*
 * pv_numbers.c - spoken and written numbers read into digit runs, each digit tied to the words
 * it came from.
 *
 * DESIGN
 * A word is read as a token: written digits ("4111-1111-1111-1111", "4,111", "(555)", "+44",
 * "12/27"), a number word (units with "oh", "o", "nought", "nil"; teens; tens), a multiplier
 * ("hundred", "thousand"), "double"/"triple", a homophone of a digit ("for", "fore", "to",
 * "too", "ate", "won", and "oh"/"o" too), a filler said inside a number ("uh", "um", "dash",
 * "slash", "space"), or another word.
 *   - A homophone is a digit only next to a number word or written digits of the same speaker
 *     (fillers skipped): "four one for two" reads 4142, "go to the bank" stays words.
 *   - Number words are read as they are said: "four one one one" is 4111, "forty two" is 42,
 *     "nineteen eighty four" is 1984, "double seven" is 77, "forty" alone is 40. With
 *     "hundred" or "thousand" they are an amount: "two hundred and fifty" is 250, "four
 *     thousand one hundred eleven" is 4111; "a hundred" is 100.
 *   - A run is the number words of one speaker that follow each other, fillers allowed between
 *     them. It goes on across a pause of up to join_gap_sec (5 s), across the end of a segment
 *     or a turn, and across the other speaker's words when they are at most max_backchannel (3)
 *     backchannels ("mm-hm", "okay", "yes", "right"): a customer reading a card in groups while
 *     the agent says "mm-hm" gives one run. Any other word of either speaker ends it.
 *   - Inside a run, a pause of soft_gap_sec (0.8 s), the other speaker's words, a filler or
 *     punctuation after a written group mark a soft break: a place where one number may end
 *     and the next begin (a card followed by its expiry in one breath).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pv_int.h"

static const char *const k_units[] = {"zero", "one", "two",   "three", "four",
                                      "five", "six", "seven", "eight", "nine"};
static const char *const k_teens[] = {"ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                      "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const k_tens[] = {"",      "",      "twenty",  "thirty", "forty",
                                     "fifty", "sixty", "seventy", "eighty", "ninety"};
static const struct {
    const char *w;
    int d;
} k_homo[] = {{"for", 4}, {"fore", 4}, {"to", 2}, {"too", 2}, {"ate", 8},
              {"won", 1}, {"oh", 0},   {"o", 0},  {"owe", 0}};
static const char *const k_fillers[] = {"uh",   "um",     "er",    "erm",   "ah",
                                        "dash", "hyphen", "slash", "space", "uhm",
                                        "hmm",  "-",      "/",     "comma", "point"};
static const char *const k_backchannels[] = {
    "mm-hm", "mm-hmm", "mhm",  "mm",    "hmm",     "uh-huh", "uh",      "huh",     "um",
    "okay",  "ok",     "yes",  "yeah",  "yep",     "right",  "alright", "sure",    "got",
    "it",    "go",     "on",   "ahead", "ah",      "noise",  "<unk>",   "[noise]", "thanks",
    "thank", "you",    "good", "great", "perfect", "mmhm",   "aha"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

bool pv__backchannel(const pv__tok *t)
{
    return t->low[0] == 0 || in_list(t->low, k_backchannels, N_OF(k_backchannels));
}

int pv__month(const char *low)
{
    static const char *const full[] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};
    static const char *const shrt[] = {"jan", "feb", "mar", "apr", "",    "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; i++)
        if (!strcmp(low, full[i]) || (shrt[i][0] && !strcmp(low, shrt[i])))
            return i + 1;
    if (!strcmp(low, "sept"))
        return 9;
    return 0;
}

int pv__ordinal(const char *low)
{
    static const char *const ord[] = {
        "",           "first",      "second",     "third",     "fourth",    "fifth",
        "sixth",      "seventh",    "eighth",     "ninth",     "tenth",     "eleventh",
        "twelfth",    "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
        "eighteenth", "nineteenth", "twentieth",  "",          "",          "",
        "",           "",           "",           "",          "",          "",
        "thirtieth"};
    for (int i = 1; i < (int)N_OF(ord); i++)
        if (ord[i][0] && !strcmp(low, ord[i]))
            return i;
    /* "1st", "22nd", "3rd", "12th" */
    size_t n = strlen(low), k = 0;
    int v = 0;
    while (k < n && k < 2 && isdigit((unsigned char)low[k]))
        v = v * 10 + (low[k++] - '0');
    if (k && v >= 1 && v <= 31 && n == k + 2 &&
        (!strcmp(low + k, "st") || !strcmp(low + k, "nd") || !strcmp(low + k, "rd") ||
         !strcmp(low + k, "th")))
        return v;
    return 0;
}

/* A written word of digits: digits with separators ",", ".", "-", "/", "(", ")", "+", a
 * currency sign; at least one digit. */
static bool read_written(const char *low, pv__tok *t)
{
    size_t n = strlen(low), nd = 0, groups = 0, glen[8] = {0};
    bool dash = false, slash = false, other = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)low[i];
        if (isdigit(c)) {
            if (nd >= PV__MAXDIG)
                return false;
            if (i == 0 || !isdigit((unsigned char)low[i - 1])) {
                groups++;
                t->groups |= (uint64_t)1 << nd;
            }
            if (groups <= 8)
                glen[groups - 1]++;
            t->dig[nd++] = (char)c;
        } else if (c == '-') {
            dash = true;
        } else if (c == '/') {
            slash = true;
        } else if (c == '$' || c == 0xc2 || c == 0xa3 || c == 0xe2 || c == 0x82 || c == 0xac) {
            t->flags |= PV__W_MONEY; /* $, and the bytes of the UTF-8 pound and euro signs */
        } else if (c == '+') {
            t->flags |= PV__W_PLUS;
        } else if (c == '(' || c == ')') {
            t->flags |= PV__W_PAREN;
        } else if (c == '.' && i && i + 1 < n && isdigit((unsigned char)low[i + 1]) &&
                   n - i - 1 == 2 && groups >= 1) {
            t->flags |= PV__W_MONEY;                   /* 12.50 */
        } else if (c != ',' && c != '.' && c != ' ') { /* ' ': a no-break space between groups */
            other = true;
        }
    }
    if (!nd || other)
        return false;
    t->kind = PV__DIGITS;
    t->ndig = (unsigned char)nd;
    if (slash)
        t->flags |= PV__W_SLASH;
    if (dash)
        t->flags |= PV__W_DASHED;
    if (dash && groups == 3 && glen[0] == 3 && glen[1] == 2 && glen[2] == 4)
        t->flags |= PV__W_SSN;
    return true;
}

static void read_norm(const char *text, pv__tok *t);

static void read_token(const char *raw, pv__tok *t)
{
    memset(t, 0, sizeof(*t));
    /* read as normalised (pv_norm.c): "４１１１–１１１１" is "4111-1111" */
    char buf[256], *big = NULL;
    size_t rn = strlen(raw);
    char *text = rn < sizeof(buf) ? buf : (big = malloc(rn + 1));
    if (!text) /* out of memory: read as it came */
        text = (char *)raw;
    else
        pv__norm(raw, rn, text, NULL);
    read_norm(text, t);
    free(big);
}

/* read_token of a normalised word */
static void read_norm(const char *text, pv__tok *t)
{
    size_t n = strlen(text), a = 0, b = n;
    /* the edges' punctuation: kept are a leading '+', '(', '$' and a trailing ')' */
    while (a < b) {
        unsigned char c = (unsigned char)text[a];
        if (isalnum(c) || c >= 0x80 || c == '+' || c == '(' || c == '$' || c == '<' || c == '[')
            break;
        a++;
    }
    while (b > a) {
        unsigned char c = (unsigned char)text[b - 1];
        if (isalnum(c) || c >= 0x80 || c == ')' || c == '>' || c == ']')
            break;
        if (c == ',' || c == '.' || c == ';' || c == ':' || c == '?' || c == '!')
            t->flags |= PV__W_STOP;
        b--;
    }
    size_t k = 0;
    for (size_t i = a; i < b && k + 1 < PV__LOW; i++)
        t->low[k++] = (char)tolower((unsigned char)text[i]);
    t->low[k] = 0;
    const char *s = t->low;
    if (!s[0]) {
        /* a lone "-" or "/" between digits: a filler */
        if (n == 1 && (text[0] == '-' || text[0] == '/'))
            t->kind = PV__FILLER;
        return;
    }
    for (int i = 0; i < 10; i++)
        if (!strcmp(s, k_units[i])) {
            t->kind = PV__UNIT, t->val = i;
            return;
        }
    if (!strcmp(s, "nought") || !strcmp(s, "nil")) {
        t->kind = PV__UNIT, t->val = 0;
        return;
    }
    for (int i = 0; i < 10; i++)
        if (!strcmp(s, k_teens[i])) {
            t->kind = PV__TEEN, t->val = 10 + i;
            return;
        }
    for (int i = 2; i < 10; i++)
        if (!strcmp(s, k_tens[i])) {
            t->kind = PV__TENS, t->val = i * 10;
            return;
        }
    if (!strcmp(s, "hundred")) {
        t->kind = PV__HUNDRED, t->val = 100;
        return;
    }
    if (!strcmp(s, "thousand")) {
        t->kind = PV__THOUSAND, t->val = 1000;
        return;
    }
    if (!strcmp(s, "double") || !strcmp(s, "triple")) {
        t->kind = PV__MULT, t->val = s[0] == 'd' ? 2 : 3;
        return;
    }
    for (size_t i = 0; i < N_OF(k_homo); i++)
        if (!strcmp(s, k_homo[i].w)) {
            t->kind = PV__HOMO, t->val = k_homo[i].d;
            return;
        }
    if (in_list(s, k_fillers, N_OF(k_fillers))) {
        t->kind = PV__FILLER;
        return;
    }
    if (!strcmp(s, "and")) {
        t->kind = PV__AND;
        return;
    }
    if (!strcmp(s, "a")) {
        t->kind = PV__A;
        return;
    }
    if (read_written(s, t))
        return;
    t->kind = PV__OTHER;
}

void pv__tokenize(const pv_word *w, size_t n, pv__tok *tok)
{
    for (size_t i = 0; i < n; i++)
        read_token(w[i].text ? w[i].text : "", &tok[i]);
}

size_t pv__next_same(const pv_word *w, size_t n, size_t i, int leg)
{
    for (size_t j = i + 1; j < n; j++)
        if (w[j].leg == leg)
            return j;
    return n;
}

static size_t prev_same(const pv_word *w, size_t i, int leg)
{
    while (i > 0) {
        i--;
        if (w[i].leg == leg)
            return i;
    }
    return (size_t)-1;
}

/* a definite number token (a homophone is not) */
static bool definite(const pv__tok *t)
{
    return t->kind == PV__DIGITS || t->kind == PV__UNIT || t->kind == PV__TEEN ||
           t->kind == PV__TENS || t->kind == PV__MULT || t->kind == PV__HUNDRED;
}

/* ---- the runs ------------------------------------------------------------------------------ */

typedef struct ctx {
    const pv_word *w;
    size_t n;
    const pv__tok *tok;
    const pv__kind *kind; /* homophones resolved */
    const int *claimed;
    const pv_settings *s;
} ctx;

static bool taken(const ctx *c, size_t i)
{
    return c->claimed && c->claimed[i] >= 0;
}

/* The other speaker's words between i and j (flat positions, i < j): whether the run may go on
 * across them; *other set when there are any. */
static bool across(const ctx *c, size_t i, size_t j, int leg, bool *other)
{
    int k = 0;
    *other = false;
    for (size_t p = i + 1; p < j; p++) {
        /* the other speaker's words begun while this word was said are crosstalk */
        if (c->w[p].leg == leg || c->w[p].start < c->w[i].end)
            continue;
        *other = true;
        if (!pv__backchannel(&c->tok[p]) || ++k > c->s->max_backchannel)
            return false;
    }
    return true;
}

/* The next word of the leg after i that may continue a run: fillers skipped (when allow_fill);
 * n when the run cannot go on. *soft set when a soft break lies between. */
static size_t cont_hard(const ctx *c, size_t i, bool allow_fill, bool *soft, bool *hard)
{
    int leg = c->w[i].leg;
    size_t j = i;
    bool filler = false;
    for (;;) {
        size_t k = pv__next_same(c->w, c->n, j, leg);
        if (k >= c->n || taken(c, k))
            return c->n;
        bool other = false;
        if (!across(c, i, k, leg, &other))
            return c->n;
        if (!(c->w[k].start - c->w[i].end <= c->s->join_gap_sec))
            return c->n;
        if (c->kind[k] == PV__FILLER && allow_fill) {
            filler = true;
            j = k;
            continue;
        }
        *hard = other || (c->tok[i].flags & PV__W_STOP) ||
                !(c->w[k].start - c->w[i].end < c->s->soft_gap_sec);
        *soft = filler || *hard;
        return k;
    }
}

static size_t cont(const ctx *c, size_t i, bool allow_fill, bool *soft)
{
    bool hard;
    return cont_hard(c, i, allow_fill, soft, &hard);
}

static int push_digit(pv__runs *r, char d, size_t w0, size_t w1, unsigned char soft, bool homo)
{
    if (r->nd >= r->dcap) {
        size_t cap = r->dcap ? r->dcap * 2 : 256;
        char *nd = realloc(r->digits, cap);
        if (!nd)
            return -1;
        r->digits = nd;
        size_t *a = realloc(r->w0, cap * sizeof(*a));
        if (!a)
            return -1;
        r->w0 = a;
        a = realloc(r->w1, cap * sizeof(*a));
        if (!a)
            return -1;
        r->w1 = a;
        unsigned char *s = realloc(r->soft, cap);
        if (!s)
            return -1;
        r->soft = s;
        s = realloc(r->homo, cap);
        if (!s)
            return -1;
        r->homo = s;
        r->dcap = cap;
    }
    r->digits[r->nd] = d;
    r->w0[r->nd] = w0;
    r->w1[r->nd] = w1;
    r->soft[r->nd] = soft;
    r->homo[r->nd] = homo;
    r->nd++;
    return 0;
}

static int push_value(pv__runs *r, long v, size_t w0, size_t w1, bool soft)
{
    char b[24];
    int k = 0;
    do {
        b[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && k < 23);
    for (int i = k - 1; i >= 0; i--)
        if (push_digit(r, b[i], w0, w1, soft && i == k - 1, false) != 0)
            return -1;
    return 0;
}

/* below 100 at i: "forty two" (42), "nineteen", "seven", "forty". *end: its last word. */
static long below_100(const ctx *c, size_t i, size_t *end, int *ndig)
{
    *end = i;
    if (c->kind[i] == PV__TENS) { /* "forty two", "twenty uh eight" */
        bool soft = false, hard = false;
        size_t j = cont_hard(c, i, true, &soft, &hard);
        /* a homophone that counts as a digit joins too: "twenty ate" 28, "thirty won" 31 */
        if (j < c->n && !hard && c->kind[j] == PV__UNIT && c->tok[j].val > 0 &&
            (c->tok[j].kind == PV__UNIT || c->tok[j].kind == PV__HOMO)) {
            *end = j, *ndig = 2;
            return c->tok[i].val + c->tok[j].val;
        }
        *ndig = 2;
        return c->tok[i].val;
    }
    *ndig = c->kind[i] == PV__TEEN ? 2 : 1;
    return c->tok[i].val;
}

static bool below_100_start(const ctx *c, size_t i)
{
    return c->kind[i] == PV__UNIT || c->kind[i] == PV__TEEN || c->kind[i] == PV__TENS;
}

/* "[and] below_100" after i, for an amount; *end moves when found. */
static long amount_tail(const ctx *c, size_t i, size_t *end)
{
    bool soft = false;
    size_t j = cont(c, i, false, &soft);
    if (j < c->n && c->kind[j] == PV__AND)
        j = cont(c, j, false, &soft);
    if (j < c->n && below_100_start(c, j)) {
        int nd;
        return below_100(c, j, end, &nd);
    }
    return 0;
}

/* One number expression at i, its digits pushed. *end: its last word; *amount when it used
 * "hundred" or "thousand". 0, or -1 (out of memory). */
static int expression(const ctx *c, size_t i, bool soft, pv__runs *r, size_t *end, bool *amount)
{
    const pv__tok *t = &c->tok[i];
    pv__kind k = c->kind[i];
    *end = i;
    if (k == PV__DIGITS) { /* a written group begins a place a card may begin or end */
        for (size_t d = 0; d < t->ndig; d++) {
            unsigned char sb = d == 0 && soft ? 1 : (t->groups >> d) & 1 ? 2 : 0;
            if (push_digit(r, t->dig[d], i, i, sb, false) != 0)
                return -1;
        }
        return 0;
    }
    if (k == PV__MULT) { /* "double seven", "double uh seven": the unit after it, twice */
        bool s2 = false;
        size_t j = cont(c, i, true, &s2);
        for (int m = 0; m < t->val; m++)
            if (push_digit(r, (char)('0' + c->tok[j].val), i, j, soft && m == 0, false) != 0)
                return -1;
        *end = j;
        return 0;
    }
    long v;
    int nd = 1;
    size_t e = i;
    if (k == PV__A)
        v = 1;
    else
        v = below_100(c, i, &e, &nd);
    bool s2 = false;
    size_t j = cont(c, e, false, &s2);
    bool mult = false;
    if (j < c->n && c->kind[j] == PV__HUNDRED && v >= 1 && v <= 99) {
        v *= 100, e = j, mult = true;
        v += amount_tail(c, e, &e);
        j = cont(c, e, false, &s2);
    }
    if (j < c->n && c->kind[j] == PV__THOUSAND && v >= 1 && v <= 999) {
        v *= 1000, e = j, mult = true;
        size_t j2 = cont(c, e, false, &s2);
        if (j2 < c->n && c->kind[j2] == PV__AND)
            j2 = cont(c, j2, false, &s2);
        if (j2 < c->n && below_100_start(c, j2)) {
            int nd2;
            size_t e2;
            long u = below_100(c, j2, &e2, &nd2);
            size_t j3 = cont(c, e2, false, &s2);
            if (j3 < c->n && c->kind[j3] == PV__HUNDRED && u >= 1 && u <= 9) {
                u *= 100, e2 = j3;
                u += amount_tail(c, e2, &e2);
            }
            v += u, e = e2;
        }
    }
    *end = e;
    if (mult) {
        *amount = true;
        return push_value(r, v, i, e, soft);
    }
    if (k == PV__A) /* "a" alone is a word: never reached (the caller checks) */
        return 0;
    /* a homophone's digit may be left out of a number ("it's for 4111 ..."); "oh" may not */
    bool homo = c->tok[i].kind == PV__HOMO && c->tok[i].val != 0;
    if (nd == 2 || v >= 10) { /* "forty" 40, "forty two" 42, "twelve" 12 */
        if (push_digit(r, (char)('0' + v / 10), i, e, soft, false) != 0)
            return -1;
        return push_digit(r, (char)('0' + v % 10), i, e, false, false);
    }
    return push_digit(r, (char)('0' + v), i, e, soft, homo);
}

/* whether a run may begin at i */
static bool starts(const ctx *c, size_t i)
{
    pv__kind k = c->kind[i];
    if (k == PV__DIGITS || k == PV__UNIT || k == PV__TEEN || k == PV__TENS)
        return true;
    if (k == PV__MULT || k == PV__A) { /* "double seven", "a hundred" */
        bool soft = false;
        size_t j = cont(c, i, k == PV__MULT, &soft);
        if (j >= c->n)
            return false;
        return k == PV__MULT ? c->kind[j] == PV__UNIT
                             : c->kind[j] == PV__HUNDRED || c->kind[j] == PV__THOUSAND;
    }
    return false;
}

static const char *const k_money_after[] = {"dollars", "dollar",  "pounds", "pound", "euros",
                                            "euro",    "cents",   "cent",   "pence", "quid",
                                            "bucks",   "percent", "grand",  "k"};

int pv__number_runs(const pv_word *w, size_t n, const pv__tok *tok, const int *claimed,
                    const pv_settings *s, pv__runs *out)
{
    memset(out, 0, sizeof(*out));
    if (!n)
        return 0;
    pv__kind *kind = malloc(n * sizeof(*kind));
    unsigned char *used = calloc(n, 1);
    if (!kind || !used) {
        free(kind);
        free(used);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        kind[i] = tok[i].kind;
    ctx c = {w, n, tok, kind, claimed, s};
    /* homophones: a digit next to a definite number of the same speaker, or next to a
     * homophone that is one ("five to oh ate"), fillers skipped */
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < n; i++) {
            if (tok[i].kind != PV__HOMO || kind[i] != PV__HOMO || taken(&c, i))
                continue;
            bool num = false;
            size_t p = i;
            while ((p = prev_same(w, p, w[i].leg)) != (size_t)-1 && tok[p].kind == PV__FILLER)
                ;
            if (p != (size_t)-1 && !taken(&c, p) && (definite(&tok[p]) || kind[p] == PV__UNIT) &&
                w[i].start - w[p].end <= s->join_gap_sec)
                num = true;
            size_t q = i;
            while ((q = pv__next_same(w, n, q, w[i].leg)) < n && tok[q].kind == PV__FILLER)
                ;
            if (q < n && !taken(&c, q) && (definite(&tok[q]) || kind[q] == PV__UNIT) &&
                w[q].start - w[i].end <= s->join_gap_sec)
                num = true;
            if (num)
                kind[i] = PV__UNIT, again = true;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (used[i] || taken(&c, i) || !starts(&c, i))
            continue;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 16;
            pv__run *nr = realloc(out->r, cap * sizeof(*nr));
            if (!nr) {
                rc = -1;
                break;
            }
            out->r = nr, out->cap = cap;
        }
        pv__run run = {.leg = w[i].leg, .d0 = out->nd, .first = i};
        size_t p = i;
        bool soft = true;
        for (;;) {
            size_t e;
            bool amount = false;
            if (expression(&c, p, soft, out, &e, &amount) != 0) {
                rc = -1;
                break;
            }
            run.amount |= amount || (tok[p].flags & PV__W_MONEY);
            run.wflags |= tok[p].flags;
            run.n_words++;
            for (size_t u = p; u <= e; u++)
                if (w[u].leg == run.leg)
                    used[u] = 1;
            run.last = e;
            size_t q = cont(&c, e, true, &soft);
            if (q >= n || !starts(&c, q) || used[q])
                break;
            p = q;
        }
        run.nd = out->nd - run.d0;
        if (!run.nd)
            continue;
        /* "plus" before it; a currency word after it */
        size_t b = prev_same(w, i, run.leg);
        if ((b != (size_t)-1 && !strcmp(tok[b].low, "plus")) || (tok[i].flags & PV__W_PLUS))
            run.plus = true;
        size_t a = pv__next_same(w, n, run.last, run.leg);
        if (a < n && in_list(tok[a].low, k_money_after, N_OF(k_money_after)))
            run.amount = true;
        out->r[out->n++] = run;
    }
    free(kind);
    free(used);
    if (rc)
        pv__runs_free(out);
    return rc;
}

void pv__runs_free(pv__runs *r)
{
    free(r->r);
    free(r->digits);
    free(r->w0);
    free(r->w1);
    free(r->soft);
    free(r->homo);
    memset(r, 0, sizeof(*r));
}

static int prefix(const char *d, int k)
{
    int v = 0;
    for (int i = 0; i < k; i++)
        v = v * 10 + (d[i] - '0');
    return v;
}

bool pv__issuer(const char *d, size_t n)
{
    if (n < 6)
        return false;
    int p1 = prefix(d, 1), p2 = prefix(d, 2), p3 = prefix(d, 3), p4 = prefix(d, 4),
        p6 = prefix(d, 6);
    if (p1 == 4 && (n == 13 || n == 16 || n == 19))
        return true; /* Visa */
    if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n == 16)
        return true; /* Mastercard */
    if ((p2 == 34 || p2 == 37) && n == 15)
        return true; /* Amex */
    if ((p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925)) &&
        n >= 16 && n <= 19)
        return true; /* Discover */
    if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19)
        return true; /* JCB */
    if (((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) && n >= 14 && n <= 19)
        return true; /* Diners Club */
    if (p2 == 62 && n >= 16 && n <= 19)
        return true; /* UnionPay */
    if ((p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 67 || p4 == 6304) && n >= 13 && n <= 19)
        return true; /* Maestro */
    return false;
}

bool pv_luhn(const char *d, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int x = d[n - 1 - i] - '0';
        if (x < 0 || x > 9)
            return false;
        if (i & 1) {
            x *= 2;
            if (x > 9)
                x -= 9;
        }
        sum += x;
    }
    return n > 0 && sum % 10 == 0;
}

/* Whether digit k of a run (nd digits with single separators; at: the place of digit k, the
 * run's end for k = nd) is where a card inside it may begin or end: a written group's edge
 * ("4111 1111 1111 1111 7": the stray digit is a group of its own), or, in a run written as
 * one group, one digit in from its ends ("41111111111111117"). */
static bool written_edge(const char *s, size_t k, size_t nd, size_t at, bool one_group)
{
    if (k == 0 || k == nd)
        return true;
    if (one_group)
        return k == 1 || k + 1 == nd;
    return !isdigit((unsigned char)s[at - 1]); /* a separator before digit k */
}

/* The parts of the run s[a, b) of nd digits that are a card inside a longer number: 13-19
 * digits that begin and end at written_edge places, with an issuer's prefix and length,
 * passing Luhn; greedy from the left, the longest at each place. Each place costs at most 20
 * digits read and 7 prefix checks: linear in the run. */
static size_t written_parts(const char *s, size_t a, size_t b, size_t nd,
                            void (*cb)(void *, size_t, size_t), void *user)
{
    size_t found = 0, k = 0;
    bool one_group = b - a == nd;
    for (size_t p = a; p < b; k++) { /* p: the place of digit k */
        char d[20];
        size_t pos[20], m = 0;
        for (size_t q = p; q < b && m < 20; q++)
            if (isdigit((unsigned char)s[q]))
                d[m] = s[q], pos[m++] = q;
        size_t hit = 0;
        if (written_edge(s, k, nd, p, one_group))
            for (size_t len = m < 19 ? m : 19; len >= 13 && !hit; len--)
                if (written_edge(s, k + len, nd, len < m ? pos[len] : b, one_group) &&
                    pv__issuer(d, len) && pv_luhn(d, len))
                    hit = len;
        size_t next = hit ? hit : 1; /* digits to step over */
        if (hit) {
            found++;
            if (cb)
                cb(user, p, pos[hit - 1] + 1);
        }
        k += next - 1;
        p = next < m ? pos[next] : b;
    }
    return found;
}

size_t pv__written_luhn(const char *s, size_t n, void (*cb)(void *, size_t, size_t), void *user)
{
    size_t found = 0, nd = 0, first = 0;
    char d[24];
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : 0;
        if (c >= '0' && c <= '9') {
            if (!nd)
                first = i;
            if (nd < sizeof(d))
                d[nd] = c;
            nd++;
            continue;
        }
        if (nd && i + 1 < n && (c == ' ' || c == '-' || c == ',' || c == '.') && s[i + 1] >= '0' &&
            s[i + 1] <= '9')
            continue;
        if (nd >= 13 && nd <= 19 && pv_luhn(d, nd)) {
            found++;
            if (cb)
                cb(user, first, i);
        } else if (nd >= 14) { /* a card and a stray digit: "4111 1111 1111 1111 7" */
            found += written_parts(s, first, i, nd, cb, user);
        }
        nd = 0;
    }
    return found;
}
