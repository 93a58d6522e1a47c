/*
 * test_privacy_text.c - the redaction of a transcript's text (src/privacy/): a corpus of short
 * calls built here word by word (each word's time known), holding test card numbers, CVVs,
 * expiries, SSNs, national ids, IBANs, emails, phones and dates of birth in varied phrasings
 * (digit by digit, in groups, with "double", with homophones, Whisper-style digits, split
 * across segments and across the other speaker's backchannel), and as many near-misses (order
 * numbers, amounts, times, Luhn-invalid runs, references, years, a card's last four). A
 * held-out set is made by other templates and another seed. The 30 Harper Valley bank calls
 * (../shared/transcripts) are read too: their phone numbers are the entities, every other
 * number a near-miss.
 *
 * An entity is redacted only if every one of its words is; a span is right when it overlaps a
 * true entity of its type on its leg. Recall and precision per type are printed for each set;
 * the goals are asserted on both: card, CVV and SSN recall >= 99 %, every type's precision
 * >= 95 %. After redaction no Luhn-valid 13-19-digit run is left in any string.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../src/privacy/privacy.h"

/* ---- the builder of a short call ----------------------------------------------------------- */

#define MAXW 400
#define MAXE 8

typedef struct gword {
    char text[64];
    int leg;
    int ent; /* the entity it belongs to, or -1 */
    double start, end;
    size_t seg, idx; /* where it lands in the transcript */
} gword;

typedef struct gcall {
    gword w[MAXW];
    int n;
    pv_type ent_type[MAXE];
    int n_ent;
    int cur_ent;
    double clock;
    int last_leg;
    bool brk; /* the next word begins a segment */
} gcall;

static void g_init(gcall *c)
{
    memset(c, 0, sizeof(*c));
    c->cur_ent = -1;
    c->last_leg = -1;
}

static uint32_t rnd(void);

/* the third set's ASR noise: a filler inside a number, Whisper's commas and capitals, word
 * times jittered (per segment by up to +-0.3 s, per word by up to +-0.05 s) */
static int g_noise;

static bool numberish(const char *w)
{
    static const char *const k[] = {"zero", "oh",  "one",   "two",   "three", "four",
                                    "five", "six", "seven", "eight", "nine",  "double"};
    if (w[0] >= '0' && w[0] <= '9')
        return true;
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (!strcmp(w, k[i]))
            return true;
    return false;
}

/* words said by leg (split at spaces) */
static void say(gcall *c, int leg, const char *text)
{
    bool first_of_seg = leg != c->last_leg || c->brk;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        assert_true(c->n < MAXW);
        size_t n = (size_t)(p - s) < 60 ? (size_t)(p - s) : 60;
        if (g_noise && c->cur_ent >= 0 && c->n && c->w[c->n - 1].ent == c->cur_ent &&
            rnd() % 10 == 0) { /* "uh" inside a number */
            int e = c->cur_ent;
            c->cur_ent = -1;
            say(c, leg, rnd() % 2 ? "uh" : "um");
            c->cur_ent = e;
        }
        gword *g = &c->w[c->n++];
        memcpy(g->text, s, n);
        g->text[n] = 0;
        if (g_noise && first_of_seg && g->text[0] >= 'a' && g->text[0] <= 'z' && rnd() % 2)
            g->text[0] = (char)(g->text[0] - 32);
        if (g_noise && numberish(g->text) && rnd() % 8 == 0)
            strcat(g->text, ",");
        first_of_seg = false;
        if (leg != c->last_leg || c->brk) {
            c->clock += c->last_leg < 0 ? 0.5 : 0.9;
            c->brk = false;
        }
        g->leg = leg;
        g->ent = c->cur_ent;
        g->start = c->clock;
        g->end = c->clock + 0.3;
        c->clock += 0.36;
        c->last_leg = leg;
    }
}

static void pause_(gcall *c, double sec)
{
    c->clock += sec;
    c->brk = true;
}

static void ent_begin(gcall *c, pv_type t)
{
    assert_true(c->n_ent < MAXE);
    c->ent_type[c->n_ent] = t;
    c->cur_ent = c->n_ent++;
}

static void ent_end(gcall *c)
{
    c->cur_ent = -1;
}

static void sayf(gcall *c, int leg, const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    say(c, leg, b);
}

/* the call as a transcript: leg 0 the customer, leg 1 the agent; a segment is a run of one
 * leg's words without a pause (brk) */
static void to_transcript(gcall *c, tx_transcript *t)
{
    memset(t, 0, sizeof(*t));
    t->n_legs = 2;
    snprintf(t->legs[0].name, sizeof(t->legs[0].name), "inbound");
    snprintf(t->legs[1].name, sizeof(t->legs[1].name), "outbound");
    t->legs[0].role = CQ_ROLE_CUSTOMER;
    t->legs[1].role = CQ_ROLE_AGENT;
    t->unchecked = true;
    for (int i = 0; i < c->n;) {
        int leg = c->w[i].leg, j = i + 1;
        while (j < c->n && c->w[j].leg == leg && c->w[j].start - c->w[j - 1].end < 0.5)
            j++;
        if (g_noise) { /* jittered times, in order within the segment */
            double off = ((int)(rnd() % 601) - 300) / 1000.0;
            for (int k = i; k < j; k++) {
                double wj = ((int)(rnd() % 101) - 50) / 1000.0;
                c->w[k].start += off + wj;
                c->w[k].end += off + wj;
                if (c->w[k].start < 0)
                    c->w[k].end -= c->w[k].start, c->w[k].start = 0;
            }
        }
        tx_leg *L = &t->legs[leg];
        L->segs = realloc(L->segs, (L->n + 1) * sizeof(*L->segs));
        assert_non_null(L->segs);
        tx_segment *s = &L->segs[L->n];
        memset(s, 0, sizeof(*s));
        s->role = L->role;
        s->avg_logprob = s->compression_ratio = s->no_speech_prob = TX_UNKNOWN;
        s->start = c->w[i].start;
        s->end = c->w[j - 1].end;
        s->n_words = (size_t)(j - i);
        s->words = calloc(s->n_words, sizeof(*s->words));
        size_t len = 1;
        for (int k = i; k < j; k++)
            len += strlen(c->w[k].text) + 1;
        s->text = calloc(1, len);
        for (int k = i; k < j; k++) {
            tx_word *w = &s->words[k - i];
            w->text = strdup(c->w[k].text);
            w->start = c->w[k].start;
            w->end = c->w[k].end;
            w->probability = TX_UNKNOWN;
            if (k > i)
                strcat(s->text, " ");
            strcat(s->text, c->w[k].text);
            c->w[k].seg = L->n;
            c->w[k].idx = (size_t)(k - i);
        }
        L->n++;
        L->cap = L->n;
        i = j;
    }
    assert_int_equal(tx_finish(t), 0);
}

/* ---- random, digits, speech ---------------------------------------------------------------- */

static uint64_t g_rng;

static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 11);
}

static int rn(int n)
{
    return (int)(rnd() % (uint32_t)n);
}

static const char *pick(const char *const *l, int n)
{
    return l[rn(n)];
}

#define PICK(l) pick(l, (int)(sizeof(l) / sizeof((l)[0])))

static bool luhn(const char *d)
{
    return pv_luhn(d, strlen(d));
}

/* a Luhn-valid number of len digits beginning with prefix */
static void luhn_make(const char *prefix, int len, char *out)
{
    int n = (int)strlen(prefix);
    memcpy(out, prefix, (size_t)n);
    for (int i = n; i < len - 1; i++)
        out[i] = (char)('0' + rn(10));
    out[len - 1] = '0';
    out[len] = 0;
    for (int d = 0; d < 10; d++) {
        out[len - 1] = (char)('0' + d);
        if (luhn(out))
            return;
    }
}

static const char *const k_digit_words[] = {"zero", "one", "two",   "three", "four",
                                            "five", "six", "seven", "eight", "nine"};
static const char *const k_teens[] = {"ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                      "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const k_tens[] = {"",      "",      "twenty",  "thirty", "forty",
                                     "fifty", "sixty", "seventy", "eighty", "ninety"};

enum {
    SP_DIGITS, /* "four one one one" */
    SP_GROUPS, /* Whisper: "4111 1111 1111 1111" */
    SP_DASHED, /* "4111-1111-1111-1111" */
    SP_DOUBLE, /* "double one" for two alike */
    SP_HOMO,   /* "for", "to", "ate" in place of some digits */
    SP_PAIRS,  /* "forty one eleven" */
    SP_MIXED,  /* some groups written, some spoken */
    SP_ODD,    /* written groups of 1-5 digits, as an ASR cuts them: "411 11 1111111" */
    SP_COMMA,  /* Whisper's thousands: "4,111,111,111,111,111" */
    SP_N
};

/* digits as words into out (space-separated), in the style; groups: the lengths of the groups
 * (0-terminated) for the written styles */
static void speak(const char *d, int style, const int *groups, char *out, size_t cap)
{
    out[0] = 0;
    size_t n = strlen(d);
    char b[64];
#define ADD(s)                                                                                     \
    do {                                                                                           \
        if (out[0])                                                                                \
            strncat(out, " ", cap - strlen(out) - 1);                                              \
        strncat(out, (s), cap - strlen(out) - 1);                                                  \
    } while (0)
    if (style == SP_ODD) {
        for (size_t p = 0; p < n;) {
            size_t len = 1 + (size_t)rn(5);
            if (p + len > n)
                len = n - p;
            snprintf(b, sizeof(b), "%.*s", (int)len, d + p);
            ADD(b);
            p += len;
        }
        return;
    }
    if (style == SP_COMMA) {
        size_t k = 0, first = n % 3 ? n % 3 : 3;
        char word[64];
        for (size_t p = 0; p < n; p++) {
            if (p && (p - first) % 3 == 0 && p >= first)
                word[k++] = ',';
            word[k++] = d[p];
        }
        word[k] = 0;
        ADD(word);
        return;
    }
    if (style == SP_GROUPS || style == SP_DASHED || style == SP_MIXED) {
        size_t p = 0;
        char word[64] = "";
        for (int g = 0; p < n; g++) {
            int len = groups && groups[g] ? groups[g] : 4;
            if (p + (size_t)len > n)
                len = (int)(n - p);
            if (style == SP_MIXED && rn(2)) {
                for (int k = 0; k < len; k++)
                    ADD(k_digit_words[d[p + (size_t)k] - '0']);
            } else if (style == SP_DASHED) {
                if (word[0])
                    strcat(word, "-");
                strncat(word, d + p, (size_t)len);
            } else {
                snprintf(b, sizeof(b), "%.*s", len, d + p);
                ADD(b);
            }
            p += (size_t)len;
        }
        if (style == SP_DASHED)
            ADD(word);
        return;
    }
    bool last_homo = false;
    for (size_t i = 0; i < n; i++) {
        int x = d[i] - '0';
        if (style == SP_DOUBLE && i + 2 < n && d[i + 1] == d[i] && d[i + 2] == d[i]) {
            ADD("triple");
            ADD(x ? k_digit_words[x] : "oh");
            i += 2;
            continue;
        }
        if (style == SP_DOUBLE && i + 1 < n && d[i + 1] == d[i]) {
            ADD("double");
            ADD(x ? k_digit_words[x] : "oh");
            i += 1;
            continue;
        }
        if (style == SP_PAIRS && i + 1 < n) {
            int y = d[i + 1] - '0';
            if (x == 0) {
                ADD("oh");
                ADD(k_digit_words[y]);
            } else if (x == 1)
                ADD(k_teens[y]);
            else {
                ADD(k_tens[x]);
                if (y)
                    ADD(k_digit_words[y]);
                else { /* "forty" alone is 40 */
                }
            }
            i += 1;
            continue;
        }
        if (style == SP_HOMO && !last_homo && i > 0 && rn(2) && (x == 4 || x == 2 || x == 8)) {
            ADD(x == 4 ? (rn(3) ? "for" : "fore") : x == 2 ? (rn(2) ? "to" : "too") : "ate");
            last_homo = true;
            continue;
        }
        last_homo = false;
        ADD(x == 0 ? (rn(2) ? "oh" : "zero") : k_digit_words[x]);
    }
#undef ADD
}

/* the speech of a number, split into two parts at a word boundary near the middle, never
 * inside a pair ("eighty | eight" would be heard as two numbers) */
static void split_words(const char *s, char *a, char *b)
{
    static const char *const glue[] = {"twenty", "thirty", "forty",  "fifty",  "sixty", "seventy",
                                       "eighty", "ninety", "double", "triple", "oh"};
    size_t n = strlen(s), mid = n / 2;
    for (;;) {
        while (mid < n && s[mid] != ' ')
            mid++;
        size_t w = mid;
        while (w > 0 && s[w - 1] != ' ')
            w--;
        bool stuck = false;
        for (size_t i = 0; i < sizeof(glue) / sizeof(glue[0]); i++)
            if (mid - w == strlen(glue[i]) && !strncmp(s + w, glue[i], mid - w))
                stuck = true;
        if (!stuck || mid >= n)
            break;
        mid++;
    }
    memcpy(a, s, mid);
    a[mid] = 0;
    snprintf(b, 1024, "%s", mid < n ? s + mid + 1 : "");
}

/* the entity said by leg 0 in one of the ways a number is read: in one go, split across a
 * pause, or across the agent's backchannel */
static void say_number(gcall *c, pv_type t, const char *speech, int how)
{
    static const char *const bc[] = {"mm-hm", "okay", "yes", "uh-huh", "right"};
    static const char *const cut[] = {"sorry could you repeat that", "sorry go on",
                                      "hang on a second please", "wait say that again"};
    char a[1024], b[1024];
    split_words(speech, a, b);
    ent_begin(c, t);
    if (how == 0 || !b[0]) {
        say(c, 0, speech);
    } else if (how == 1) { /* across a pause of 1.5-3 s */
        say(c, 0, a);
        pause_(c, 1.5 + rn(15) / 10.0);
        say(c, 0, b);
    } else { /* across the agent's backchannel (2), or an interruption (3) */
        say(c, 0, a);
        int e = c->cur_ent;
        ent_end(c);
        say(c, 1, how == 2 ? PICK(bc) : PICK(cut));
        c->cur_ent = e;
        say(c, 0, b);
    }
    ent_end(c);
}

/* ---- the generators: entities -------------------------------------------------------------- */

static const char *const k_test_cards[] = {
    "4111111111111111", "5555555555554444", "378282246310005",  "6011111111111117",
    "4012888888881881", "5105105105105100", "371449635398431",  "3530111333300000",
    "30569309025904",   "6200000000000005", "2223003122003222", "4000056655665556"};

static void card_number(char *out)
{
    static const struct {
        const char *p;
        int len;
    } k[] = {{"4", 16},    {"4", 13},  {"51", 16}, {"53", 16},   {"55", 16}, {"2221", 16},
             {"2720", 16}, {"34", 15}, {"37", 15}, {"6011", 16}, {"65", 16}, {"3530", 16},
             {"36", 14},   {"62", 16}, {"62", 19}, {"6304", 16}, {"4", 19}};
    if (rn(3) == 0) {
        strcpy(out, PICK(k_test_cards));
        return;
    }
    int i = rn((int)(sizeof(k) / sizeof(k[0])));
    luhn_make(k[i].p, k[i].len, out);
}

/* set 0: the development templates; set 1: the held-out ones */
static void gen_card(gcall *c, int set)
{
    static const char *const ask0[] = {"can i take the long number on the card",
                                       "what is the card number please",
                                       "go ahead with the card number"};
    static const char *const lead0[] = {"sure it's", "my card number is", "okay", "yes it is", ""};
    static const char *const ask1[] = {"and the sixteen digits across the front",
                                       "could you read me the number on your visa",
                                       "i'll need the payment card details"};
    static const char *const lead1[] = {"right so", "that'll be", "uh", "the number is",
                                        "no problem"};
    char d[24], sp[1024];
    card_number(d);
    int style = rn(SP_N);
    int groups[] = {4, 4, 4, 4, 4, 0};
    if (strlen(d) == 15) /* Amex: 4-6-5 */
        groups[0] = 4, groups[1] = 6, groups[2] = 5, groups[3] = 0;
    speak(d, style, groups, sp, sizeof(sp));
    say(c, 1, set ? PICK(ask1) : PICK(ask0));
    say(c, 0, set ? PICK(lead1) : PICK(lead0));
    say_number(c, PV_CARD, sp, rn(4));
    if (rn(2))
        say(c, 0, set ? "that's the lot" : "thanks");
}

static void gen_cvv(gcall *c, int set)
{
    static const char *const ask0[] = {"and the security code",
                                       "what are the three digits on the back",
                                       "can i have the cvv", "and the cvc please"};
    static const char *const ask1[] = {"last thing the three digit code on the back of the card",
                                       "and the card verification value", "the csc please",
                                       "what's the security code on the back"};
    char d[8], sp[256];
    int len = rn(5) == 0 ? 4 : 3;
    for (int i = 0; i < len; i++)
        d[i] = (char)('0' + rn(10));
    d[len] = 0;
    int style = rn(4);
    speak(d,
          style == 0   ? SP_GROUPS
          : style == 1 ? SP_DOUBLE
          : style == 2 ? SP_HOMO
                       : SP_DIGITS,
          NULL, sp, sizeof(sp));
    say(c, 1, set ? PICK(ask1) : PICK(ask0));
    if (rn(2))
        say(c, 0, set ? "let me turn it over it's" : "it's");
    say_number(c, PV_CVV, sp, 0);
}

static void gen_expiry(gcall *c, int set)
{
    static const char *const months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};
    int m = 1 + rn(12), y = 25 + rn(10);
    char sp[256];
    switch (rn(4)) {
    case 0: /* "twelve twenty seven", "oh nine thirty" */
        if (m < 10)
            snprintf(sp, sizeof(sp), "oh %s %s%s%s", k_digit_words[m], k_tens[y / 10],
                     y % 10 ? " " : "", y % 10 ? k_digit_words[y % 10] : "");
        else
            snprintf(sp, sizeof(sp), "%s %s%s%s", k_teens[m - 10], k_tens[y / 10],
                     y % 10 ? " " : "", y % 10 ? k_digit_words[y % 10] : "");
        break;
    case 1: /* 09/27 */ snprintf(sp, sizeof(sp), "%02d/%02d", m, y); break;
    case 2: /* march twenty twenty eight */
        snprintf(sp, sizeof(sp), "%s twenty %s%s%s", months[m - 1], k_tens[y / 10],
                 y % 10 ? " " : "", y % 10 ? k_digit_words[y % 10] : "");
        break;
    default: /* "oh nine slash two seven" */
        snprintf(sp, sizeof(sp), "%s %s slash %s %s", m < 10 ? "oh" : "one", k_digit_words[m % 10],
                 k_digit_words[y / 10], k_digit_words[y % 10]);
        break;
    }
    static const char *const ask0[] = {"and the expiry date", "when does it expire",
                                       "what's the expiration date"};
    static const char *const ask1[] = {"and it's valid until when", "the end date on the card",
                                       "what expiry is printed on it"};
    say(c, 1, set ? PICK(ask1) : PICK(ask0));
    if (rn(2))
        say(c, 0, set ? "it says" : "it expires");
    say_number(c, PV_EXPIRY, sp, 0);
}

static void ssn_number(char *d)
{
    int area;
    do
        area = 1 + rn(899);
    while (area == 666);
    snprintf(d, 10, "%03d%02d%04d", area, 1 + rn(99), 1 + rn(9999));
}

static void gen_ssn(gcall *c, int set)
{
    static const char *const ask0[] = {"can you confirm your social security number",
                                       "what's your social", "i need your ssn"};
    static const char *const ask1[] = {"for verification your social security please",
                                       "could i get the social", "please state your s s n"};
    char d[16], sp[512];
    ssn_number(d);
    int groups[] = {3, 2, 4, 0};
    int style = rn(5);
    if (style == 4) {
        snprintf(sp, sizeof(sp), "%.3s-%.2s-%.4s", d, d + 3, d + 5);
    } else {
        speak(d,
              style == 0   ? SP_GROUPS
              : style == 1 ? SP_DOUBLE
              : style == 2 ? SP_HOMO
                           : SP_DIGITS,
              groups, sp, sizeof(sp));
    }
    say(c, 1, set ? PICK(ask1) : PICK(ask0));
    say(c, 0, set ? "yeah it's" : "sure");
    say_number(c, PV_SSN, sp, rn(3));
}

static void gen_national(gcall *c, int set)
{
    static const char *const ni[] = {"AB123456C", "JG103759A", "NE101046B", "ST987654D",
                                     "WP485812C"};
    char sp[256];
    const char *x = PICK(ni);
    if (rn(2)) {
        /* a Canadian SIN: 046 454 286 passes Luhn; or made */
        char d[12];
        if (rn(2))
            strcpy(d, "046454286");
        else
            luhn_make(rn(2) ? "1" : "7", 9, d);
        speak(d, rn(2) ? SP_DIGITS : SP_GROUPS, (int[]){3, 3, 3, 0}, sp, sizeof(sp));
        say(c, 1, set ? "and your s i n" : "what is your social insurance number");
        say_number(c, PV_NATIONAL_ID, sp, 0);
        return;
    }
    switch (rn(3)) {
    case 0: snprintf(sp, sizeof(sp), "%s", x); break;
    case 1: snprintf(sp, sizeof(sp), "%.2s %.2s %.2s %.2s %c", x, x + 2, x + 4, x + 6, x[8]); break;
    default:
        snprintf(sp, sizeof(sp), "%c %c %s %s %s %s %s %s %c", x[0] + 32, x[1] + 32,
                 k_digit_words[x[2] - '0'], k_digit_words[x[3] - '0'], k_digit_words[x[4] - '0'],
                 k_digit_words[x[5] - '0'], k_digit_words[x[6] - '0'], k_digit_words[x[7] - '0'],
                 x[8] + 32);
        break;
    }
    say(c, 1, set ? "and the n i number" : "what's your national insurance number");
    say_number(c, PV_NATIONAL_ID, sp, 0);
}

/* a GB IBAN with its check digits computed */
static void iban_make(char *out)
{
    static const char *const banks[] = {"WEST", "NWBK", "BARC", "MIDL", "LOYD"};
    char bban[32];
    snprintf(bban, sizeof(bban), "%s%06d%08d", PICK(banks), rn(1000000), rn(100000000));
    /* check digits: 98 - (BBAN + "GB00" as digits) mod 97 */
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%sGB00", bban);
    int rem = 0;
    for (char *p = tmp; *p; p++)
        rem = *p >= 'A' ? (rem * 100 + (*p - 'A' + 10)) % 97 : (rem * 10 + (*p - '0')) % 97;
    snprintf(out, 40, "GB%02d%.18s", 98 - rem, bban);
}

static void gen_iban(gcall *c, int set)
{
    static const char *const known[] = {
        "GB82WEST12345698765432", "DE89370400440532013000",     "FR1420041010050500013M02606",
        "NL91ABNA0417164300",     "ES9121000418450200051332",   "BE68539007547034",
        "CH9300762011623852957",  "IT60X0542811101000000123456"};
    char x[40], sp[1024];
    if (rn(2))
        strcpy(x, PICK(known));
    else
        iban_make(x);
    int style = rn(3);
    if (style == 0) {
        strcpy(sp, x);
    } else if (style == 1) { /* Whisper: groups of 4 */
        size_t n = strlen(x), o = 0;
        for (size_t i = 0; i < n; i++) {
            if (i && i % 4 == 0)
                sp[o++] = ' ';
            sp[o++] = x[i];
        }
        sp[o] = 0;
    } else { /* spelled: letters one by one, digits as words */
        sp[0] = 0;
        for (size_t i = 0; i < strlen(x); i++) {
            char b[16];
            if (x[i] >= 'A')
                snprintf(b, sizeof(b), "%c", x[i] + 32);
            else
                snprintf(b, sizeof(b), "%s", k_digit_words[x[i] - '0']);
            if (i)
                strcat(sp, " ");
            strcat(sp, b);
        }
    }
    say(c, 1, set ? "which account should the refund go to" : "what's the iban");
    say(c, 0, set ? "send it to" : "it's");
    say_number(c, PV_IBAN, sp, 0);
}

static void gen_email(gcall *c, int set)
{
    static const char *const first[] = {"john", "mary", "alex", "priya", "tom", "li"};
    static const char *const last[] = {"smith", "jones", "patel", "nguyen", "brown"};
    static const char *const dom[] = {"gmail", "yahoo", "outlook", "hotmail", "acme"};
    static const char *const tld[] = {"com", "net", "org", "co dot uk", "io"};
    char sp[256];
    const char *f = PICK(first), *l = PICK(last), *dm = PICK(dom), *td = PICK(tld);
    switch (rn(4)) {
    case 0:
        snprintf(sp, sizeof(sp), "%s.%s@%s.%s", f, l, dm, strcmp(td, "co dot uk") ? td : "co.uk");
        break;
    case 1: snprintf(sp, sizeof(sp), "%s dot %s at %s dot %s", f, l, dm, td); break;
    case 2:
        snprintf(sp, sizeof(sp), "%s underscore %s%d at %s dot %s", f, l, rn(90) + 10, dm, td);
        break;
    default:
        snprintf(sp, sizeof(sp), "%s%s at %s.%s", f, l, dm, strcmp(td, "co dot uk") ? td : "com");
        break;
    }
    say(c, 1, set ? "where should we send the receipt" : "what's your email address");
    say(c, 0, set ? "to" : "it's");
    say_number(c, PV_EMAIL, sp, 0);
}

static void gen_phone(gcall *c, int set)
{
    static const char *const ask0[] = {"what's the best phone number to reach you",
                                       "can i get a contact number", "and your mobile"};
    static const char *const ask1[] = {"which number should we call you back on",
                                       "is there a telephone number on the account",
                                       "and a cell number"};
    char d[20], sp[512];
    int kind = rn(5);
    if (kind == 0 || kind == 1) { /* US: NXX NXX XXXX */
        snprintf(d, sizeof(d), "%d%02d%d%02d%04d", 2 + rn(8), rn(100), 2 + rn(8), rn(100),
                 rn(10000));
        int groups[] = {3, 3, 4, 0};
        if (kind == 1 && rn(2))
            snprintf(sp, sizeof(sp), "(%.3s) %.3s-%.4s", d, d + 3, d + 6);
        else
            speak(d, rn(2) ? SP_DIGITS : rn(2) ? SP_DOUBLE : SP_GROUPS, groups, sp, sizeof(sp));
    } else if (kind == 2) { /* UK mobile 07700 900xxx */
        snprintf(d, sizeof(d), "07%03d%06d", rn(1000), rn(1000000));
        int groups[] = {5, 6, 0};
        speak(d, rn(2) ? SP_DOUBLE : SP_GROUPS, groups, sp, sizeof(sp));
    } else if (kind == 3) { /* E.164 */
        snprintf(sp, sizeof(sp), "+44 %04d %06d", 7000 + rn(999), rn(1000000));
    } else { /* read with homophones */
        snprintf(d, sizeof(d), "%d%02d%d%02d%04d", 2 + rn(8), rn(100), 2 + rn(8), rn(100),
                 rn(10000));
        speak(d, SP_HOMO, NULL, sp, sizeof(sp));
    }
    say(c, 1, set ? PICK(ask1) : PICK(ask0));
    say(c, 0, set ? "you can reach me on" : "it's");
    say_number(c, PV_PHONE, sp, rn(3));
}

static void gen_dob(gcall *c, int set)
{
    static const char *const months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};
    static const char *const ords[] = {"first",    "second",  "third",      "fourth",   "fifth",
                                       "sixth",    "seventh", "eighth",     "ninth",    "tenth",
                                       "eleventh", "twelfth", "thirteenth", "twentieth"};
    char sp[256];
    int y = 40 + rn(60), m = rn(12);
    switch (rn(4)) {
    case 0:
        say(c, 1, set ? "and when were you born" : "can you confirm your date of birth");
        say(c, 0, set ? "i was born on the" : "it's the");
        snprintf(sp, sizeof(sp), "%s of %s nineteen %s%s%s", PICK(ords), months[m], k_tens[y / 10],
                 y % 10 ? " " : "", y % 10 ? k_digit_words[y % 10] : "");
        say_number(c, PV_DOB, sp, 0);
        return;
    case 1: snprintf(sp, sizeof(sp), "%02d/%02d/19%02d", 1 + rn(12), 1 + rn(28), y); break;
    case 2:
        snprintf(sp, sizeof(sp), "%s %s nineteen %s%s%s", months[m], PICK(ords), k_tens[y / 10],
                 y % 10 ? " " : "", y % 10 ? k_digit_words[y % 10] : "");
        break;
    default: snprintf(sp, sizeof(sp), "%s %d 19%02d", months[m], 1 + rn(28), y); break;
    }
    say(c, 1, set ? "and when were you born" : "can you confirm your date of birth");
    say(c, 0, set ? "i was born on" : "it's");
    say_number(c, PV_DOB, sp, 0);
}

/* ---- the generators: near-misses ----------------------------------------------------------- */

static void gen_near(gcall *c, int set, int k)
{
    char d[32], sp[512];
    switch (k % 16) {
    case 0: { /* an order number */
        int len = 6 + rn(7);
        for (int i = 0; i < len; i++)
            d[i] = (char)('0' + rn(10));
        d[len] = 0;
        speak(d, rn(2) ? SP_DIGITS : SP_GROUPS, NULL, sp, sizeof(sp));
        sayf(c, 0, "%s %s", set ? "the reference on the letter is" : "my order number is", sp);
        break;
    }
    case 1: /* an amount */
        say(c, 0,
            set ? "i paid three thousand four hundred and twenty dollars"
                : "it was two hundred and fifty pounds");
        break;
    case 2: /* times */
        say(c, 0,
            set ? "the branch opens at nine thirty and closes at five fifteen"
                : "can you call back at quarter to five or five thirty");
        break;
    case 3: { /* a Luhn-invalid 16-digit run */
        do {
            for (int i = 0; i < 16; i++)
                d[i] = (char)('0' + rn(10));
            d[16] = 0;
        } while (luhn(d));
        speak(d, rn(2) ? SP_DIGITS : SP_GROUPS, NULL, sp, sizeof(sp));
        sayf(c, 0, "%s %s", set ? "the parcel tracking code is" : "the code on the box is", sp);
        break;
    }
    case 4: /* years */
        say(c, 0,
            set ? "we moved here in twenty nineteen"
                : "i've banked with you since nineteen ninety eight");
        break;
    case 5: { /* a card's last four */
        snprintf(d, sizeof(d), "%04d", rn(10000));
        speak(d, SP_DIGITS, NULL, sp, sizeof(sp));
        sayf(c, 0, "%s %s", set ? "it's the card with the last four" : "the card ending in", sp);
        break;
    }
    case 6: /* homophones among words */
        say(c, 0,
            set ? "i want to go to the bank for two hours"
                : "i need to talk to someone for a minute");
        break;
    case 7: /* an address and a zip */
        snprintf(sp, sizeof(sp), "%s %d baker street zip code %05d",
                 set ? "we're at" : "my address is", 10 + rn(900), rn(100000));
        say(c, 0, sp);
        break;
    case 8: { /* an account number */
        for (int i = 0; i < 8; i++)
            d[i] = (char)('0' + rn(10));
        d[8] = 0;
        speak(d, SP_DIGITS, NULL, sp, sizeof(sp));
        sayf(c, 0, "%s %s", set ? "the account is" : "my account number is", sp);
        break;
    }
    case 9: /* a date that is not a birth date */
        say(c, 0,
            set ? "the appointment is on the twelfth of may at two"
                : "i was charged on march third twenty twenty four");
        break;
    case 10: /* quantities, and a small amount written */
        say(c, 0,
            set ? "there were 3 charges of $45.99 and 2 of $12.50"
                : "i have two cards and three accounts with you");
        break;
    case 12: /* an amount said with "thousand" */
        say(c, 0,
            set ? "the loan was four thousand one hundred and eleven pounds"
                : "i moved one thousand two hundred and fifty dollars");
        break;
    case 13: { /* a Luhn-invalid 16-digit run across the agent's backchannel */
        do {
            for (int i = 0; i < 16; i++)
                d[i] = (char)('0' + rn(10));
            d[16] = 0;
        } while (luhn(d));
        speak(d, SP_DIGITS, NULL, sp, sizeof(sp));
        char a[1024], b[1024];
        split_words(sp, a, b);
        sayf(c, 0, "%s %s", set ? "the membership number is" : "the serial is", a);
        say(c, 1, "mm-hm");
        say(c, 0, b);
        break;
    }
    case 14: /* times and a callback */
        say(c, 0,
            set ? "you can call me back at five thirty or quarter past six"
                : "ring me after two fifteen tomorrow");
        break;
    case 15: /* a partial card, like the bank calls' */
        snprintf(sp, sizeof(sp), "%s %s %s %s %s", set ? "the last four are" : "it ends in",
                 k_digit_words[rn(10)], k_digit_words[rn(10)], k_digit_words[rn(10)],
                 k_digit_words[rn(10)]);
        say(c, 0, sp);
        break;
    default: { /* a case number in groups, with a long pause */
        for (int i = 0; i < 10; i++)
            d[i] = (char)('0' + rn(10));
        d[10] = 0;
        speak(d, SP_GROUPS, (int[]){3, 3, 4, 0}, sp, sizeof(sp));
        sayf(c, 0, "%s %s", set ? "the ticket number is" : "my case number is", sp);
        break;
    }
    }
}

/* ---- scoring ------------------------------------------------------------------------------- */

typedef struct tally {
    int ent[PV_N_TYPES], found[PV_N_TYPES];   /* recall */
    int spans[PV_N_TYPES], right[PV_N_TYPES]; /* precision */
    int calls, entity_calls, near_calls;
    int luhn_left;
} tally;

static bool is_placeholder(const char *s)
{
    return s[0] == '[' && s[strlen(s) - 1] == ']';
}

/* written digit runs (single spaces, dashes, commas or points between digits) of 13-19 digits
 * that pass Luhn in a string: a check of the redacted strings independent of the library's
 * normaliser */
static int written_luhn(const char *s)
{
    int found = 0;
    char d[64];
    size_t n = 0;
    for (const char *p = s ? s : "";; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n < sizeof(d) - 1)
                d[n++] = *p;
            continue;
        }
        if (n && (*p == ' ' || *p == '-' || *p == ',' || *p == '.') && p[1] >= '0' && p[1] <= '9')
            continue;
        if (n >= 13 && n <= 19) {
            d[n] = 0;
            found += luhn(d);
            if (luhn(d) && getenv("PV_VERBOSE"))
                printf("LUHN LEFT in \"%s\"\n", s);
        }
        n = 0;
        if (!*p)
            break;
    }
    return found;
}

static int written_luhn_transcript(const tx_transcript *t)
{
    int found = 0;
    for (int li = 0; li < t->n_legs; li++) {
        char all[8192] = "";
        for (size_t k = 0; k < t->legs[li].n; k++) {
            const tx_segment *g = &t->legs[li].segs[k];
            found += written_luhn(g->text) + written_luhn(g->norm);
            for (size_t j = 0; j < g->n_words; j++) {
                strncat(all, g->words[j].text, sizeof(all) - strlen(all) - 2);
                strcat(all, " ");
            }
        }
        found += written_luhn(all);
    }
    for (size_t u = 0; u < t->n_turns; u++)
        found += written_luhn(t->turns[u].text);
    for (size_t k = 0; k < t->n_dropped; k++)
        found += written_luhn(t->dropped[k].text);
    return found;
}

/* the call redacted and scored; verbose prints what was missed or wrong */
static void score_call(gcall *c, tally *tl, const char *name)
{
    tx_transcript t;
    to_transcript(c, &t);
    pv_settings s = pv_default_settings();
    pv_redaction r;
    assert_int_equal(pv_redact_transcript(&t, &s, &r), 0);
    tl->calls++;
    if (c->n_ent)
        tl->entity_calls++;
    else
        tl->near_calls++;
    for (int e = 0; e < c->n_ent; e++) {
        bool all = true;
        for (int k = 0; k < c->n; k++)
            if (c->w[k].ent == e) {
                const char *x = t.legs[c->w[k].leg].segs[c->w[k].seg].words[c->w[k].idx].text;
                all = all && is_placeholder(x);
            }
        tl->ent[c->ent_type[e]]++;
        if (all)
            tl->found[c->ent_type[e]]++;
        else if (getenv("PV_VERBOSE")) {
            printf("MISS %s %s:", name, pv_type_name(c->ent_type[e]));
            for (int k = 0; k < c->n; k++)
                printf(" %s%s", c->w[k].ent == e ? "*" : "", c->w[k].text);
            printf("\n");
            if (getenv("PV_VERBOSE")[0] == '2')
                for (int k = 0; k < c->n; k++)
                    printf("   %d %6.2f-%6.2f %-10s %s\n", c->w[k].leg, c->w[k].start, c->w[k].end,
                           c->w[k].text,
                           t.legs[c->w[k].leg].segs[c->w[k].seg].words[c->w[k].idx].text);
        }
    }
    for (size_t i = 0; i < r.n; i++) {
        const pv_span *sp = &r.spans[i];
        bool ok = false;
        for (int k = 0; k < c->n && !ok; k++)
            ok = c->w[k].ent >= 0 && c->ent_type[c->w[k].ent] == sp->type &&
                 c->w[k].leg == sp->leg && c->w[k].end > sp->start + s.guard_sec - 1e-9 &&
                 c->w[k].start < sp->end - s.guard_sec + 1e-9;
        tl->spans[sp->type]++;
        if (ok)
            tl->right[sp->type]++;
        else if (getenv("PV_VERBOSE")) {
            printf("FALSE %s %s:", name, pv_type_name(sp->type));
            for (int k = 0; k < c->n; k++)
                printf(" %s", c->w[k].text);
            printf("\n");
        }
    }
    size_t left = pv_luhn_runs_transcript(&t);
    tl->luhn_left += (int)left + written_luhn_transcript(&t);
    pv_redaction_free(&r);
    tx_transcript_free(&t);
}

static void print_table(const char *title, const tally *tl)
{
    printf("\n%s: %d calls (%d with entities, %d near-misses only)\n", title, tl->calls,
           tl->entity_calls, tl->near_calls);
    printf("  %-12s %8s %8s %8s %8s %8s\n", "type", "entities", "found", "recall", "spans",
           "precision");
    for (int t = 0; t < PV_N_TYPES; t++) {
        char rec[16] = "-", pre[16] = "-";
        if (tl->ent[t])
            snprintf(rec, sizeof(rec), "%.1f%%", 100.0 * tl->found[t] / tl->ent[t]);
        if (tl->spans[t])
            snprintf(pre, sizeof(pre), "%.1f%%", 100.0 * tl->right[t] / tl->spans[t]);
        printf("  %-12s %8d %8d %8s %8d %8s\n", pv_type_name((pv_type)t), tl->ent[t], tl->found[t],
               rec, tl->spans[t], pre);
    }
    printf("  Luhn-valid 13-19-digit runs left after redaction (spoken or written): %d\n",
           tl->luhn_left);
}

static void assert_goals(const tally *tl)
{
    static const pv_type k_recall[] = {PV_CARD, PV_CVV, PV_SSN};
    for (size_t i = 0; i < 3; i++) {
        pv_type t = k_recall[i];
        assert_true(tl->ent[t] > 0);
        assert_true(100.0 * tl->found[t] >= 99.0 * tl->ent[t]);
    }
    for (int t = 0; t < PV_N_TYPES; t++)
        if (tl->spans[t])
            assert_true(100.0 * tl->right[t] >= 95.0 * tl->spans[t]);
    assert_int_equal(tl->luhn_left, 0);
}

typedef void (*gen_fn)(gcall *, int);

static void run_set(int set, uint64_t seed, int per_type, tally *tl)
{
    static const gen_fn gens[] = {gen_card, gen_cvv,   gen_expiry, gen_ssn, gen_national,
                                  gen_iban, gen_email, gen_phone,  gen_dob};
    g_rng = seed;
    printf("set %d: seed %llu\n", set, (unsigned long long)seed);
    int n_ent = 0;
    char name[64];
    for (int k = 0; k < per_type; k++)
        for (size_t g = 0; g < sizeof(gens) / sizeof(gens[0]); g++) {
            gcall c;
            g_init(&c);
            if (rn(3) == 0)
                say(&c, 1, set ? "thanks for holding" : "thank you for calling how can i help");
            gens[g](&c, set);
            if (g == 0 && rn(2)) { /* a card call goes on with its expiry and CVV */
                gen_expiry(&c, set);
                gen_cvv(&c, set);
            }
            snprintf(name, sizeof(name), "set%d/%zu/%d", set, g, k);
            score_call(&c, tl, name);
            n_ent++;
        }
    for (int k = 0; k < n_ent; k++) {
        gcall c;
        g_init(&c);
        gen_near(&c, set, k + set * 5);
        if (rn(2))
            gen_near(&c, set, k + 7);
        snprintf(name, sizeof(name), "set%d/near/%d", set, k);
        score_call(&c, tl, name);
    }
}

static void test_corpus(void **state)
{
    (void)state;
    tally dev = {0}, held = {0};
    run_set(0, 0x5eed0001ULL, 40, &dev);
    print_table("development set (templates A, seed 0x5eed0001)", &dev);
    assert_true(dev.entity_calls >= 200 && dev.near_calls >= dev.entity_calls);
    assert_goals(&dev);
    run_set(1, 0x0ddba11ULL, 100, &held);
    print_table("held-out set (templates B, seed 0x0ddba11)", &held);
    assert_goals(&held);
    /* the last held-out set: templates B with ASR noise (fillers inside numbers, Whisper's
     * commas and capitals, jittered times), another seed; made after the detectors were
     * tuned and looked at last */
    tally noisy = {0};
    g_noise = 1;
    run_set(1, 0xfeedface5eedULL, 100, &noisy);
    g_noise = 0;
    print_table("held-out set 2 (templates B + ASR noise, seed 0xfeedface5eed)", &noisy);
    assert_goals(&noisy);
    /* the final held-out set: templates A with the ASR noise, a seed not used before; made
     * and run once after every change to the detectors, and not tuned on */
    tally last = {0};
    g_noise = 1;
    run_set(0, 0x7e57c0deULL, 300, &last);
    g_noise = 0;
    print_table("held-out set 3 (templates A + ASR noise, seed 0x7e57c0de)", &last);
    assert_goals(&last);
}

/* ---- the Harper Valley calls --------------------------------------------------------------- */

/* the phone numbers said in the 30 calls: file, segments (by index in the file); the rest of
 * their numbers (addresses, zip codes, amounts, times) are near-misses */
static const struct {
    const char *file;
    int segs[6];
} k_hv_phones[] = {{"0224c92b64d144d4", {10, 11, 12, -1}},
                   {"07c275cd57b84685", {5, 6, 7, -1}},
                   {"0ece8b36d4c148b0", {9, 10, 11, -1}},
                   {"0ece8b36d4c148b0", {13, 14, 15, 16, -1}}};

static bool number_word(const char *w)
{
    static const char *const k[] = {"zero",   "oh",      "one",    "two",    "three", "four",
                                    "five",   "six",     "seven",  "eight",  "nine",  "ten",
                                    "eleven", "twelve",  "twenty", "thirty", "forty", "fifty",
                                    "sixty",  "seventy", "eighty", "ninety", "to",    "too"};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (!strcmp(w, k[i]))
            return true;
    return false;
}

static void test_harper_valley(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/transcripts/transcript", CQ_SHARED_DIR);
    DIR *dp = opendir(dir);
    if (!dp) {
        printf("Harper Valley: %s is missing; skipped\n", dir);
        skip();
        return;
    }
    char *names[64];
    int nf = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && nf < 64)
        if (strstr(de->d_name, ".json"))
            names[nf++] = strdup(de->d_name);
    closedir(dp);
    tally tl = {0};
    for (int f = 0; f < nf; f++) {
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
        json_t *root = json_load_file(path, 0, NULL);
        assert_non_null(root);
        /* the segments in time order (they are nearly so) into the builder, word by word */
        gcall *c = calloc(1, sizeof(*c));
        g_init(c);
        size_t ns = json_array_size(root);
        size_t *ord = calloc(ns, sizeof(*ord));
        for (size_t i = 0; i < ns; i++)
            ord[i] = i;
        for (size_t i = 1; i < ns; i++) /* insertion sort by start */
            for (size_t j = i; j > 0; j--) {
                double a = json_number_value(
                    json_object_get(json_array_get(root, ord[j - 1]), "start_ms"));
                double b =
                    json_number_value(json_object_get(json_array_get(root, ord[j]), "start_ms"));
                if (b >= a)
                    break;
                size_t tmp = ord[j];
                ord[j] = ord[j - 1], ord[j - 1] = tmp;
            }
        int n_ent = 0;
        for (size_t oi = 0; oi < ns; oi++) {
            size_t si = ord[oi];
            json_t *s = json_array_get(root, si);
            const char *text = json_string_value(json_object_get(s, "transcript"));
            const char *role = json_string_value(json_object_get(s, "speaker_role"));
            double st = json_number_value(json_object_get(s, "start_ms")) / 1000.0;
            json_t *offs = json_object_get(s, "word_offsets_ms"),
                   *durs = json_object_get(s, "word_durations_ms");
            int leg = role && !strcmp(role, "agent") ? 1 : 0;
            int ent = -1;
            for (size_t p = 0; p < sizeof(k_hv_phones) / sizeof(k_hv_phones[0]); p++)
                if (!strncmp(names[f], k_hv_phones[p].file, 16))
                    for (int q = 0; k_hv_phones[p].segs[q] >= 0; q++)
                        if ((size_t)k_hv_phones[p].segs[q] == si) {
                            /* one entity per listed phone number */
                            ent = -2 - (int)p;
                        }
            int wi = 0;
            for (const char *p = text ? text : ""; *p;) {
                while (*p == ' ')
                    p++;
                if (!*p)
                    break;
                const char *b = p;
                while (*p && *p != ' ')
                    p++;
                if (c->n >= MAXW)
                    break;
                gword *g = &c->w[c->n++];
                size_t n = (size_t)(p - b) < 63 ? (size_t)(p - b) : 63;
                memcpy(g->text, b, n);
                g->text[n] = 0;
                g->leg = leg;
                g->start = st + json_number_value(json_array_get(offs, (size_t)wi)) / 1000.0;
                g->end = g->start + json_number_value(json_array_get(durs, (size_t)wi)) / 1000.0;
                g->ent = -1;
                if (ent <= -2 && number_word(g->text)) {
                    int p_idx = -2 - ent, e = -1;
                    for (int k = 0; k < c->n - 1; k++) /* this phone's entity, if begun */
                        if (c->w[k].ent >= 0 && c->w[k].seg == (size_t)(100 + p_idx))
                            e = c->w[k].ent;
                    if (e < 0) {
                        e = n_ent++;
                        c->ent_type[e] = PV_PHONE;
                        c->n_ent = n_ent;
                    }
                    g->ent = e;
                    g->seg = (size_t)(100 + p_idx); /* marks the phone; reset below */
                }
                wi++;
            }
        }
        /* the builder's segments: a run of one leg's words closer than 0.5 s */
        for (int k = 0; k < c->n; k++)
            if (c->w[k].ent < 0)
                c->w[k].seg = 0;
        /* the words in time order */
        for (int i = 1; i < c->n; i++)
            for (int j = i; j > 0 && c->w[j].start < c->w[j - 1].start; j--) {
                gword tmp = c->w[j];
                c->w[j] = c->w[j - 1], c->w[j - 1] = tmp;
            }
        score_call(c, &tl, names[f]);
        free(ord);
        free(c);
        json_decref(root);
        free(names[f]);
    }
    print_table("Harper Valley, 30 bank calls (phones the entities, other numbers near-misses)",
                &tl);
    assert_int_equal(tl.luhn_left, 0);
    for (int t = 0; t < PV_N_TYPES; t++)
        if (tl.spans[t])
            assert_true(100.0 * tl.right[t] >= 95.0 * tl.spans[t]);
}

/* ---- units ----------------------------------------------------------------------------------- */

static void test_types(void **state)
{
    (void)state;
    unsigned m = 0;
    char err[200];
    assert_int_equal(pv_parse_types("card, cvv,SSN", &m, err, sizeof(err)), 0);
    assert_int_equal(m, (1u << PV_CARD) | (1u << PV_CVV) | (1u << PV_SSN));
    assert_int_equal(pv_parse_types("all", &m, err, sizeof(err)), 0);
    assert_int_equal(m, PV_ALL_TYPES);
    assert_int_equal(pv_parse_types("none", &m, err, sizeof(err)), 0);
    assert_int_equal(m, 0);
    assert_int_equal(pv_parse_types("card,passport", &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown entity type \"passport\""));
    assert_int_equal(pv_parse_types("card,,cvv", &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    for (int t = 0; t < PV_N_TYPES; t++) {
        assert_int_equal(pv_parse_types(pv_type_name((pv_type)t), &m, NULL, 0), 0);
        assert_int_equal(m, 1u << t);
    }
    assert_null(pv_type_name(PV_N_TYPES));
}

/* words said by one speaker, 0.36 s apart; the detector's type per word ('-' none) */
static void detect_line(const char *text, unsigned types, char *marks)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", text);
    pv_word w[128];
    size_t n = 0;
    for (char *p = strtok(buf, " "); p && n < 128; p = strtok(NULL, " "))
        w[n] = (pv_word){p, 0.36 * (double)n, 0.36 * (double)n + 0.3, 0, CQ_ROLE_CUSTOMER}, n++;
    pv_settings s = pv_default_settings();
    s.types = types;
    pv_hits h;
    assert_int_equal(pv_detect(w, n, &s, &h), 0);
    for (size_t i = 0; i < n; i++)
        marks[i] = h.word_hit[i] < 0 ? '-' : "KCXSNIEPD"[h.hits[h.word_hit[i]].type];
    marks[n] = 0;
    pv_hits_free(&h);
}

static void test_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *marks;
    } k[] = {
        {"my card is four one one one one one one one one one one one one one one one thanks",
         "---KKKKKKKKKKKKKKKK-"},
        {"it's 4111-1111-1111-1111 okay", "-K-"},
        {"it's 4111 1111 1111 1111", "-KKKK"},
        {"five five double five five five five five five five five five four four for four",
         "KKKKKKKKKKKKKKKK"},
        {"go to the bank for two hours", "-------"},
        {"the card ending in four two four two", "--------"},
        {"the security code is one to three", "----CCC"},
        {"it expires twelve twenty seven", "--XXX"},
        {"expiry december twenty seven", "-XXX"},
        {"my social security number is 123-45-6789", "-----S"},
        {"my social security number is 666-45-6789", "------"},
        {"my order number is four one one one one one one one one one one one one one one two",
         "--------------------"},
        {"email me at john dot smith at gmail dot com", "---EEEEEEE"},
        {"it's GB82 WEST 1234 5698 7654 32", "-IIIIII"},
        {"my phone number is (555) 123-4567", "----PP"},
        {"date of birth the twelfth of may nineteen eighty four", "----DDDDDD"},
        {"it was two hundred and fifty pounds", "-------"},
        {"call me at quarter to five", "------"},
        {"my n i number is AB123456C", "-----N"},
    };
    char marks[130];
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        detect_line(k[i].text, PV_ALL_TYPES, marks);
        if (strcmp(marks, k[i].marks) != 0)
            printf("line %zu: \"%s\"\n  got  %s\n  want %s\n", i, k[i].text, marks, k[i].marks);
        assert_string_equal(marks, k[i].marks);
    }
    /* a type that is not enabled is not redacted */
    detect_line("it's 4111-1111-1111-1111 okay", 1u << PV_CVV, marks);
    assert_string_equal(marks, "---");
}

/* a transcript: the words, text, norm and turns all redacted; times kept */
static void test_transcript(void **state)
{
    (void)state;
    gcall c;
    g_init(&c);
    say(&c, 1, "can i have the card number");
    ent_begin(&c, PV_CARD);
    say(&c, 0, "four one one one one one one one");
    ent_end(&c);
    say(&c, 1, "mm-hm");
    c.cur_ent = 0;
    say(&c, 0, "one one one one one one one one");
    ent_end(&c);
    tx_transcript t;
    to_transcript(&c, &t);
    pv_settings s = pv_default_settings();
    pv_redaction r;
    double t0 = t.legs[0].segs[0].words[0].start, t1 = t.legs[0].segs[0].words[0].end;
    assert_int_equal(pv_redact_transcript(&t, &s, &r), 0);
    assert_int_equal(r.counts[PV_CARD], 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.spans[0].leg, 0);
    assert_true(r.spans[0].start <= t0 - s.guard_sec + 1e-9 + 0.0 || r.spans[0].start == 0);
    assert_true(r.words == 16);
    assert_string_equal(t.legs[0].segs[0].words[0].text, "[CARD]");
    assert_true(t.legs[0].segs[0].words[0].start == t0 && t.legs[0].segs[0].words[0].end == t1);
    assert_string_equal(t.legs[0].segs[0].text, "[CARD]");
    assert_string_equal(t.legs[0].segs[0].norm, "[CARD]");
    for (size_t u = 0; u < t.n_turns; u++)
        assert_null(strpbrk(t.turns[u].text, "0123456789"));
    assert_int_equal(pv_luhn_runs_transcript(&t), 0);
    pv_redaction_free(&r);
    tx_transcript_free(&t);
    /* a segment without words: its text is read as words */
    g_init(&c);
    say(&c, 0, "my card number is 4111 1111 1111 1111 and that's it");
    to_transcript(&c, &t);
    for (size_t k = 0; k < t.legs[0].segs[0].n_words; k++)
        free(t.legs[0].segs[0].words[k].text);
    free(t.legs[0].segs[0].words);
    t.legs[0].segs[0].words = NULL;
    t.legs[0].segs[0].n_words = 0;
    assert_int_equal(pv_redact_transcript(&t, &s, &r), 0);
    assert_string_equal(t.legs[0].segs[0].text, "my card number is [CARD] and that's it");
    assert_string_equal(t.legs[0].segs[0].norm, "my card number is [CARD] and that's it");
    assert_int_equal(pv_luhn_runs_transcript(&t), 0);
    pv_redaction_free(&r);
    tx_transcript_free(&t);
    /* a diarized mix: S1's turn, rebuilt, holds S1's words only (S2's reply, which the server
     * placed inside S1's segment's span, shares the role mixed) */
    const char *imp =
        "{\"segments\": [{\"speaker\": \"S1\", \"start\": 1, \"end\": 5, \"text\": "
        "\"my card is 4111 1111 1111 1111 thanks\"}, {\"speaker\": \"S2\", \"start\": "
        "3.2, \"end\": 3.6, \"text\": \"okay\"}]}";
    char err[200];
    assert_int_equal(tx_import(imp, strlen(imp), NULL, NULL, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n_turns, 2);
    assert_int_equal(pv_redact_transcript(&t, &s, &r), 0);
    assert_string_equal(t.turns[0].speaker, "S1");
    assert_string_equal(t.turns[0].text, "my card is [CARD] thanks");
    assert_string_equal(t.turns[1].speaker, "S2");
    assert_string_equal(t.turns[1].text, "okay");
    pv_redaction_free(&r);
    tx_transcript_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),         cmocka_unit_test(test_lines),
        cmocka_unit_test(test_transcript),    cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_harper_valley),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
