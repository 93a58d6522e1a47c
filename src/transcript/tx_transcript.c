/*
 * tx_transcript.c - a call's transcript: the answers moved onto the call's clock, the
 * hallucination guard, the normalised text and the turns.
 *
 * DESIGN (the guard)
 * Whisper writes text where nobody speaks: on silence, music and noise it produces stock phrases
 * of its training subtitles ("thank you for watching") and loops of one phrase. callqa sends only
 * speech, but a chunk still holds pauses (zeros) and the edges of the speech, so every answer is
 * checked against the leg's own acoustic evidence:
 *   - a word whose middle lies further than TOL_SEC from the leg's speech is flagged
 *     (outside_speech); a word the server placed outside the audio it was sent is clamped to the
 *     chunk and flagged (outside_chunk);
 *   - a segment is checked as a whole too: its evidence is the share of its span within TOL_SEC
 *     of speech; under half, it is flagged (and, when the server gave no word times, so are its
 *     words);
 *   - a segment that is a known non-speech phrase, or a loop of one to four words repeated, is
 *     dropped when its evidence is low: evidence under half, no_speech_prob at least 0.6, an
 *     average log probability under -1, or all its words flagged. The server's figures are
 *     used only where it gave them (vLLM's -1 are read as unknown when parsed).
 * Dropped segments leave the transcript and are listed with the reason; flagged ones stay,
 * marked. hallucination_rate = (flagged + dropped words) / words received.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

#define TOL_SEC 0.15       /* how far from speech a word's middle may lie */
#define CLAMP_TOL_SEC 0.02 /* how far past its chunk a time may lie before it is clamped */
#define TURN_GAP_SEC 1.5   /* one speaker's segments closer than this are one turn */

static const char *const k_phrases[] = {
    "thank you for watching",
    "thanks for watching",
    "thank you so much for watching",
    "thank you very much for watching",
    "please subscribe",
    "please subscribe to my channel",
    "like and subscribe",
    "don't forget to like and subscribe",
    "subscribe to my channel",
    "subtitles by the amara org community",
    "subtitles by",
    "subtitled by",
    "captions by",
    "transcribed by",
    "transcription by",
    "translated by",
    "amara org",
    "see you in the next video",
    "see you next time",
    "thank you",
    "thanks",
    "you",
    "bye",
    "the end",
    "music",
    "applause",
    "silence",
    "foreign",
};

static void seg_free(tx_segment *s)
{
    for (size_t k = 0; k < s->n_words; k++)
        free(s->words[k].text);
    free(s->words);
    free(s->text);
    free(s->norm);
    memset(s, 0, sizeof(*s));
}

/* A diarized speaker's speech, for the guard: its segments as far as they were sent. A
 * fragment the diarization gave it inside the other's turn, too short to be sent (under
 * min_span_sec once the cut is made), is zeros in the chunk: a word there is not its. */
static int sent_only(tx_leg *L)
{
    size_t n = 0, cap = L->n_speech + 1;
    for (size_t c = 0; c < L->plan.n; c++)
        cap += L->plan.chunks[c].n_sent;
    tx_span *out = malloc(cap * sizeof(*out));
    if (!out)
        return -1;
    for (size_t c = 0; c < L->plan.n; c++) {
        const tx_chunk *k = &L->plan.chunks[c];
        for (size_t j = 0; j < k->n_sent; j++)
            for (size_t i = 0; i < L->n_speech && n < cap; i++) {
                double a = fmax(L->speech[i].start, k->sent[j].start);
                double b = fmin(L->speech[i].end, k->sent[j].end);
                if (b > a)
                    out[n++] = (tx_span){a, b};
            }
    }
    free(L->speech);
    L->speech = out;
    L->n_speech = n;
    return 0;
}

/* the two speakers of a diarized mono mix as legs S1 and S2 (planned when plan is not NULL) */
static int init_speakers(tx_transcript *t, const cq_leg_report *lg, const tx_plan_params *plan)
{
    const cq_diarization *d = &lg->diarization;
    for (int s = 0; s < 2; s++) {
        tx_leg *L = &t->legs[t->n_legs++];
        snprintf(L->name, sizeof(L->name), "mix");
        L->role = lg->role;
        L->src = 0;
        char id[4];
        tx_speaker_id(s, id);
        snprintf(L->speaker, sizeof(L->speaker), "%s", id);
        const cq_diar_speaker *sp = &d->speaker[s];
        if (sp->n_segs) {
            L->speech = malloc(sp->n_segs * sizeof(*L->speech));
            if (!L->speech)
                return -1;
            for (size_t k = 0; k < sp->n_segs; k++)
                L->speech[k] = (tx_span){sp->segs[k].start_sec, sp->segs[k].end_sec};
            L->n_speech = sp->n_segs;
        }
        if (plan && (tx_plan_speaker(lg, s, plan, &L->plan) != 0 || sent_only(L) != 0))
            return -1;
    }
    t->recorded_sec += lg->duration_sec;
    t->diarized = true;
    t->diar_confidence = d->confidence;
    return 0;
}

int tx_transcript_init(tx_transcript *t, const cq_report *r, const tx_plan_params *plan)
{
    memset(t, 0, sizeof(*t));
    const cq_leg_report *legs[2] = {r->inbound, r->outbound};
    const cq_leg_report *mix = !r->has_legs ? r->inbound : NULL;
    bool two = mix && mix->has_diarization && mix->diarization.n_speakers == 2;
    if (plan) {
        t->plan_known = true;
        t->plan_params = *plan;
    }
    if (two)
        return init_speakers(t, mix, plan);
    for (int i = 0; i < 2; i++) {
        const cq_leg_report *lg = legs[i];
        if (!lg)
            continue;
        tx_leg *L = &t->legs[t->n_legs++];
        snprintf(L->name, sizeof(L->name), "%s", !r->has_legs ? "mix" : i ? "outbound" : "inbound");
        L->role = lg->role;
        L->src = i;
        snprintf(L->speaker, sizeof(L->speaker), "%s", cq_role_name(lg->role));
        t->recorded_sec += lg->duration_sec;
        double rate = lg->vad_rate_hz > 0 ? lg->vad_rate_hz : 8000;
        if (lg->n_speech) {
            L->speech = malloc(lg->n_speech * sizeof(*L->speech));
            if (!L->speech)
                return -1;
            for (size_t k = 0; k < lg->n_speech; k++)
                L->speech[k] =
                    (tx_span){(double)lg->speech[k].start / rate, (double)lg->speech[k].end / rate};
            L->n_speech = lg->n_speech;
        }
        if (plan && tx_plan_leg(lg, plan, &L->plan) != 0)
            return -1;
    }
    if (!r->has_legs && t->n_warnings < 4)
        snprintf(t->warnings[t->n_warnings++], sizeof(t->warnings[0]),
                 "a mono mix: both parties are transcribed as one speaker (mixed)");
    return 0;
}

void tx_transcript_free(tx_transcript *t)
{
    for (int i = 0; i < t->n_legs; i++) {
        tx_leg *L = &t->legs[i];
        for (size_t k = 0; k < L->n; k++)
            seg_free(&L->segs[k]);
        free(L->segs);
        free(L->speech);
        tx_plan_free(&L->plan);
    }
    for (size_t i = 0; i < t->n_turns; i++)
        free(t->turns[i].text);
    free(t->turns);
    for (size_t i = 0; i < t->n_dropped; i++)
        free(t->dropped[i].text);
    free(t->dropped);
    memset(t, 0, sizeof(*t));
}

/* x moved onto the clock and into [a, b]; *flag set when it lay outside */
static double place(double x, double off, double a, double b, unsigned *flags)
{
    double v = x + off;
    if (v < a - CLAMP_TOL_SEC || v > b + CLAMP_TOL_SEC)
        *flags |= TX_F_OUTSIDE_CHUNK;
    return fmin(fmax(v, a), b);
}

int tx_add_chunk(tx_transcript *t, int li, size_t ci, tx_result *res)
{
    tx_leg *L = &t->legs[li];
    const tx_chunk *c = &L->plan.chunks[ci];
    t->requests++;
    char code[3];
    if (!t->language[0] && res->language[0] && tx_language_code(res->language, code) == 0)
        memcpy(t->language, code, sizeof(code));
    if (L->n + res->n > L->cap) {
        size_t cap = L->cap ? L->cap : 16;
        while (cap < L->n + res->n)
            cap *= 2;
        tx_segment *nv = realloc(L->segs, cap * sizeof(*nv));
        if (!nv)
            return -1;
        L->segs = nv, L->cap = cap;
    }
    for (size_t i = 0; i < res->n; i++) {
        tx_segment s = res->segs[i];
        s.role = L->role;
        snprintf(s.speaker, sizeof(s.speaker), "%s", L->speaker);
        s.start = place(s.start, c->start, c->start, c->end, &s.flags);
        s.end = place(s.end, c->start, c->start, c->end, &s.flags);
        for (size_t k = 0; k < s.n_words; k++) {
            tx_word *w = &s.words[k];
            w->start = place(w->start, c->start, c->start, c->end, &w->flags);
            w->end = place(w->end, c->start, c->start, c->end, &w->flags);
        }
        L->segs[L->n++] = s;
    }
    free(res->segs);
    memset(res, 0, sizeof(*res));
    return 0;
}

/* ---- the guard ----------------------------------------------------------------------------- */

/* the part of [a, b] within TOL_SEC of the leg's speech */
static double near_speech(const tx_leg *L, double a, double b)
{
    double got = 0;
    for (size_t i = 0; i < L->n_speech; i++) {
        double s = L->speech[i].start - TOL_SEC, e = L->speech[i].end + TOL_SEC;
        if (e > a && s < b)
            got += fmin(e, b) - fmax(s, a);
    }
    return got;
}

static bool point_near_speech(const tx_leg *L, double x)
{
    for (size_t i = 0; i < L->n_speech; i++)
        if (x >= L->speech[i].start - TOL_SEC && x <= L->speech[i].end + TOL_SEC)
            return true;
    return false;
}

static double evidence(const tx_leg *L, const tx_segment *s)
{
    if (s->end - s->start < 1e-3)
        return point_near_speech(L, s->start) ? 1 : 0;
    return near_speech(L, s->start, s->end) / (s->end - s->start);
}

size_t tx_count_words(const char *norm)
{
    size_t n = 0;
    for (const char *p = norm; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static bool known_phrase(const char *norm)
{
    if (!norm[0])
        return false;
    for (size_t i = 0; i < sizeof(k_phrases) / sizeof(k_phrases[0]); i++)
        if (!strcmp(norm, k_phrases[i]))
            return true;
    /* a subtitle credit: "subtitles by ..." */
    return !strncmp(norm, "subtitles by ", 13) || !strncmp(norm, "captions by ", 12) ||
           !strncmp(norm, "transcribed by ", 15) || strstr(norm, "amara org") != NULL;
}

/* A loop: one to four words said three times or more in a row, over most of the segment. */
static bool repetition(const char *norm)
{
    const char *w[256];
    size_t lens[256], n = 0;
    for (const char *p = norm; *p && n < 256;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        w[n] = p;
        while (*p && *p != ' ')
            p++;
        lens[n] = (size_t)(p - w[n]);
        n++;
    }
    if (n < 3)
        return false;
    for (size_t unit = 1; unit <= 4 && unit * 3 <= n; unit++)
        for (size_t i = 0; i + unit * 3 <= n; i++) {
            size_t reps = 1;
            for (size_t j = i + unit; j + unit <= n; j += unit) {
                bool same = true;
                for (size_t k = 0; k < unit && same; k++)
                    same = lens[j + k] == lens[i + k] && !memcmp(w[j + k], w[i + k], lens[i + k]);
                if (!same)
                    break;
                reps++;
            }
            if (reps >= 3 && reps * unit * 10 >= n * 6)
                return true;
        }
    return false;
}

static int drop(tx_transcript *t, tx_segment *s, const char *reason)
{
    tx_dropped *nv = realloc(t->dropped, (t->n_dropped + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    t->dropped = nv;
    tx_dropped *d = &t->dropped[t->n_dropped++];
    *d = (tx_dropped){
        .role = s->role, .start = s->start, .end = s->end, .text = s->text, .reason = reason};
    snprintf(d->speaker, sizeof(d->speaker), "%s", s->speaker);
    s->text = NULL;
    t->dropped_segments++;
    return 0;
}

static int guard_leg(tx_transcript *t, tx_leg *L)
{
    size_t kept = 0;
    for (size_t i = 0; i < L->n; i++) {
        tx_segment *s = &L->segs[i];
        if (!s->norm && !(s->norm = tx_normalize(s->text)))
            return -1;
        if (t->unchecked) { /* nothing to check against */
            t->words += s->n_words ? s->n_words : tx_count_words(s->norm);
            L->segs[kept++] = *s;
            continue;
        }
        double ev = evidence(L, s);
        bool timed = false;
        size_t flagged = 0, n_words = s->n_words ? s->n_words : tx_count_words(s->norm);
        for (size_t k = 0; k < s->n_words; k++) {
            tx_word *w = &s->words[k];
            if (!(w->flags & TX_F_NO_TIME)) {
                timed = true;
                if (!point_near_speech(L, (w->start + w->end) / 2))
                    w->flags |= TX_F_OUTSIDE_SPEECH;
            }
        }
        if (ev < 0.5) {
            s->flags |= TX_F_OUTSIDE_SPEECH;
            for (size_t k = 0; k < s->n_words; k++)
                if (!timed)
                    s->words[k].flags |= TX_F_OUTSIDE_SPEECH;
        }
        for (size_t k = 0; k < s->n_words; k++)
            if (s->words[k].flags & (TX_F_OUTSIDE_SPEECH | TX_F_OUTSIDE_CHUNK))
                flagged++;
        if (!s->n_words && (s->flags & (TX_F_OUTSIDE_SPEECH | TX_F_OUTSIDE_CHUNK)))
            flagged = n_words;
        bool low = ev < 0.5 || (s->no_speech_prob != TX_UNKNOWN && s->no_speech_prob >= 0.6) ||
                   (s->avg_logprob != TX_UNKNOWN && s->avg_logprob < -1.0) ||
                   (s->n_words && flagged == s->n_words);
        const char *reason = !low                    ? NULL
                             : known_phrase(s->norm) ? "known_phrase"
                             : repetition(s->norm) || (s->compression_ratio != TX_UNKNOWN &&
                                                       s->compression_ratio > 2.4)
                                 ? "repetition"
                                 : NULL;
        t->words += n_words;
        if (reason) {
            if (drop(t, s, reason) != 0)
                return -1;
            t->dropped_words += n_words;
            seg_free(s);
            continue;
        }
        t->flagged_words += flagged;
        L->segs[kept++] = *s;
    }
    L->n = kept;
    return 0;
}

static int cmp_turn(const void *a, const void *b)
{
    const tx_segment *x = *(tx_segment *const *)a, *y = *(tx_segment *const *)b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->role != y->role)
        return (int)x->role - (int)y->role;
    return strcmp(x->speaker, y->speaker);
}

static int turns(tx_transcript *t)
{
    size_t n = 0;
    for (int i = 0; i < t->n_legs; i++)
        n += t->legs[i].n;
    if (!n)
        return 0;
    tx_segment **all = malloc(n * sizeof(*all));
    t->turns = calloc(n, sizeof(*t->turns));
    if (!all || !t->turns) {
        free(all);
        return -1;
    }
    size_t k = 0;
    for (int i = 0; i < t->n_legs; i++)
        for (size_t j = 0; j < t->legs[i].n; j++)
            all[k++] = &t->legs[i].segs[j];
    qsort(all, n, sizeof(*all), cmp_turn);
    for (size_t i = 0; i < n; i++) {
        const tx_segment *s = all[i];
        if (!s->text[0])
            continue;
        tx_turn *last = t->n_turns ? &t->turns[t->n_turns - 1] : NULL;
        if (last && last->role == s->role && !strcmp(last->speaker, s->speaker) &&
            s->start - last->end < TURN_GAP_SEC) {
            size_t a = strlen(last->text), b = strlen(s->text);
            char *nt = realloc(last->text, a + b + 2);
            if (!nt) {
                free(all);
                return -1;
            }
            nt[a] = ' ';
            memcpy(nt + a + 1, s->text, b + 1);
            last->text = nt;
            last->end = fmax(last->end, s->end);
            continue;
        }
        char *tx = strdup(s->text);
        if (!tx) {
            free(all);
            return -1;
        }
        tx_turn *u = &t->turns[t->n_turns++];
        *u = (tx_turn){.role = s->role, .start = s->start, .end = s->end, .text = tx};
        snprintf(u->speaker, sizeof(u->speaker), "%s", s->speaker);
    }
    free(all);
    return 0;
}

int tx_finish(tx_transcript *t)
{
    for (int i = 0; i < t->n_legs; i++)
        if (guard_leg(t, &t->legs[i]) != 0)
            return -1;
    return turns(t);
}

double tx_hallucination_rate(const tx_transcript *t)
{
    if (!t->words || t->unchecked)
        return -1;
    return (double)(t->flagged_words + t->dropped_words) / (double)t->words;
}

/* ---- normalised text ----------------------------------------------------------------------- */

static const char *const k_units[] = {"zero",    "one",     "two",       "three",    "four",
                                      "five",    "six",     "seven",     "eight",    "nine",
                                      "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                      "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const k_tens[] = {"",      "",      "twenty",  "thirty", "forty",
                                     "fifty", "sixty", "seventy", "eighty", "ninety"};

/* the value of a number word: 0-90, 100 (hundred), 1000, 1000000; -1 when not one */
static long number_word(const char *w, size_t n)
{
    for (size_t i = 0; i < 20; i++)
        if (strlen(k_units[i]) == n && !memcmp(w, k_units[i], n))
            return (long)i;
    for (size_t i = 2; i < 10; i++)
        if (strlen(k_tens[i]) == n && !memcmp(w, k_tens[i], n))
            return (long)i * 10;
    if (n == 7 && !memcmp(w, "hundred", 7))
        return 100;
    if (n == 8 && !memcmp(w, "thousand", 8))
        return 1000;
    if (n == 7 && !memcmp(w, "million", 7))
        return 1000000;
    return -1;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 2)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np, b->cap = cap;
    }
    if (b->n && n)
        b->p[b->n++] = ' ';
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

char *tx_normalize(const char *text)
{
    /* 1: lower case, punctuation out (an apostrophe between letters and a comma or point
     * between digits stay: "don't", "1,000", "3.5"), into single-spaced words */
    size_t n = strlen(text);
    char *w = malloc(n + 1);
    if (!w)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        unsigned char prev = i ? (unsigned char)text[i - 1] : 0, next = (unsigned char)text[i + 1];
        if (c >= 0x80 || isalnum(c))
            w[k++] = (char)tolower(c);
        else if (c == '\'' && isalpha(prev) && isalpha(next))
            w[k++] = '\'';
        else if ((c == ',' && isdigit(prev) && isdigit(next)))
            continue; /* 1,000 */
        else if (c == '.' && isdigit(prev) && isdigit(next))
            w[k++] = '.';
        else if (k && w[k - 1] != ' ')
            w[k++] = ' ';
    }
    while (k && w[k - 1] == ' ')
        k--;
    w[k] = 0;
    /* 2: runs of number words as digits */
    sbuf out = {0};
    const char *p = w;
    int rc = 0;
    if (sb_put(&out, "", 0) != 0) {
        free(w);
        return NULL;
    }
    while (*p && rc == 0) {
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - s);
        long v = number_word(s, len);
        if (v < 0 || v >= 100) { /* "hundred" alone is a word */
            rc = sb_put(&out, s, len);
        } else {
            long total = 0, cur = v;
            for (;;) {
                const char *q = p;
                while (*q == ' ')
                    q++;
                const char *e = q;
                while (*e && *e != ' ')
                    e++;
                long x = number_word(q, (size_t)(e - q));
                if (x < 0 && (size_t)(e - q) == 3 && !memcmp(q, "and", 3) && cur >= 100) {
                    const char *q2 = e;
                    while (*q2 == ' ')
                        q2++;
                    const char *e2 = q2;
                    while (*e2 && *e2 != ' ')
                        e2++;
                    long y = number_word(q2, (size_t)(e2 - q2));
                    if (y < 0 || y >= 100)
                        break;
                    e = e2, x = y;
                }
                if (x < 0)
                    break;
                if (x == 100 && cur > 0 && cur < 100)
                    cur *= 100;
                else if ((x == 1000 || x == 1000000) && cur > 0)
                    total += cur * x, cur = 0;
                else if (x < 100 && cur == 0 && total > 0)
                    cur = x; /* "two thousand twenty" */
                else if (x >= 20 && x < 100 && cur % 100 == 0 && cur >= 100)
                    cur += x;
                else if (x < 10 && cur % 10 == 0 && cur % 100 >= 20)
                    cur += x;
                else if (x < 20 && cur >= 100 && cur % 100 == 0)
                    cur += x;
                else
                    break; /* "one two": two numbers, read one at a time */
                p = e;
            }
            char num[32];
            int m = snprintf(num, sizeof(num), "%ld", total + cur);
            rc = sb_put(&out, num, (size_t)m);
        }
        while (*p == ' ')
            p++;
    }
    free(w);
    if (rc) {
        free(out.p);
        return NULL;
    }
    return out.p;
}
