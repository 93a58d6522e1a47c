/*
 * redact_place.c - a transcript's redacted spans placed on the audio of a call: the levels of
 * its recording frame by frame, each span's edges laid on the pauses of its own channel, and the
 * other channel muted where it carries the value as echo (docs/privacy.md). The copy is written
 * by redact_copy.c.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact_int.h"

/* ---- the spans placed on the audio ------------------------------------------------------------
 * A transcript's word times are the ASR's: off by up to a few hundred ms, mostly by one shift
 * shared by a segment's words. A span widened by a fixed guard band to cover that error also
 * covered what lies beside the value: the words before it ("sure, it's") and the other party's
 * reply. So each span is placed on its own leg's audio:
 *   - the leg's words around the span (RD_CONTEXT_SEC either side) are laid on the channel's
 *     speech (5 ms frames above its noise floor + RD_FLOOR_DB): the shift, within
 *     +/-RD_SHIFT_SEC, under which they agree best with it;
 *   - each edge, so shifted, goes to the pause nearest it (within RD_EDGE_SEC): the span starts
 *     in the pause before the value's first word and ends in the pause after its last, at most
 *     RD_INTO_PAUSE_SEC (or half the pause) into it; an end in a stop's closure ("eight": a
 *     pause, a quiet burst no longer than RD_BURST_SEC, a pause) goes past its release; never
 *     inside what the shifted times give the value (less RD_JITTER_SEC, an ASR's error on one
 *     word beyond the shared shift). An edge with no pause near it (speech running on) is
 *     widened by the guard band instead;
 *   - the other channel, over the span, is muted where it carries the value as echo or
 *     crosstalk, and kept where its own party speaks: a run of its speech louder there than the
 *     value's channel (an echo is never louder than its source). */

#define RD_FRAME_SEC 0.005
#define RD_FLOOR_DB 12.0
#define RD_SHIFT_SEC 0.5
#define RD_CONTEXT_SEC 2.0
#define RD_EDGE_SEC 0.12
#define RD_PAUSE_SEC 0.02
#define RD_INTO_PAUSE_SEC 0.1
#define RD_JITTER_SEC 0.05
#define RD_BRIDGE_SEC 0.03 /* a gap this short inside the other party's run of speech */
#define RD_BURST_SEC 0.2   /* speech this short between two pauses: a stop's release */
#define RD_RELEASE_DB 10.0 /* ... when this far under the word before it */

void pl__lv_free(pl__lv_map *m)
{
    free(m->db[0]);
    free(m->db[1]);
}

/* The noise floor of a channel: the level 10 % of its frames are under (0.5 dB steps). */
static float noise_floor(const float *db, size_t n)
{
    size_t hist[241] = {0};
    for (size_t i = 0; i < n; i++) {
        int b = (int)lrintf((db[i] + 120.0f) * 2.0f);
        hist[b < 0 ? 0 : b > 240 ? 240 : b]++;
    }
    size_t want = n / 10, seen = 0;
    for (int b = 0; b <= 240; b++)
        if ((seen += hist[b]) > want)
            return (float)b / 2.0f - 120.0f;
    return -120.0f;
}

/* The recording's levels, frame by frame and channel by channel. 0, or -1 with why. */
int pl__levels_of(const cq_call_src *c, const cq_report *rep, pl__lv_map *m, char *why, size_t n)
{
    memset(m, 0, sizeof(*m));
    pl__src_pair s;
    if (pl__src_open(c, &s, why, n) != 0)
        return -1;
    int ch = s.channels > 2 ? 2 : s.channels;
    int fl = (int)lround(s.rate * RD_FRAME_SEC);
    if (fl < 1)
        fl = 1;
    m->ch = ch;
    m->fs = (double)fl / s.rate;
    m->in_ch = s.n == 2 || rep->channel_map == CQ_MAP_IN_OUT ? 0 : 1;
    float *buf[2][2] = {{NULL, NULL}, {NULL, NULL}};
    int rc = 0;
    for (int f = 0; f < s.n && rc == 0; f++)
        for (int k = 0; k < 2 && rc == 0; k++)
            if (!(buf[f][k] = calloc(PL__RD_BLOCK, sizeof(float))))
                rc = -1;
    size_t cap = 0;
    double acc[2] = {0, 0};
    int filled = 0;
    bool more[2] = {true, s.n == 2};
    while (rc == 0 && (more[0] || more[1])) {
        int64_t got[2] = {0, 0};
        for (int f = 0; f < s.n; f++) {
            if (!more[f])
                continue;
            cq_err e;
            cq_err_clear(&e);
            got[f] = cq_audio_read_planar(s.a[f], buf[f], PL__RD_BLOCK, &e);
            if (got[f] < 0) {
                snprintf(why, n, "the recording could not be read again: %s", e.msg);
                rc = -2;
            } else if (got[f] == 0) {
                more[f] = false;
            }
        }
        int64_t mm = got[0] > got[1] ? got[0] : got[1];
        if (rc != 0 || mm == 0)
            break;
        for (int64_t i = 0; i < mm && rc == 0; i++) {
            for (int c2 = 0; c2 < ch; c2++) {
                float x = s.n == 2 ? (i < got[c2] ? buf[c2][0][i] : 0.0f) : buf[0][c2][i];
                acc[c2] += (double)x * x;
            }
            if (++filled < fl)
                continue;
            if (m->n == cap) {
                cap = cap ? cap * 2 : 4096;
                for (int c2 = 0; c2 < ch && rc == 0; c2++) {
                    float *d = realloc(m->db[c2], cap * sizeof(float));
                    if (!d)
                        rc = -1;
                    else
                        m->db[c2] = d;
                }
                if (rc != 0)
                    break;
            }
            for (int c2 = 0; c2 < ch; c2++) {
                m->db[c2][m->n] = (float)(10.0 * log10(acc[c2] / fl + 1e-12));
                acc[c2] = 0;
            }
            m->n++;
            filled = 0;
        }
    }
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < 2; k++)
            free(buf[f][k]);
    pl__src_close(&s);
    for (int c2 = 0; c2 < ch && rc == 0; c2++) {
        float t = noise_floor(m->db[c2], m->n) + (float)RD_FLOOR_DB;
        m->thr[c2] = t < -60.0f ? -60.0f : t;
    }
    if (rc == -1)
        snprintf(why, n, "out of memory");
    if (rc != 0)
        pl__lv_free(m);
    return rc == 0 ? 0 : -1;
}

/* The channel a transcript leg's speech is on. */
int pl__chan_of(const pl__lv_map *m, const tx_transcript *tx, int leg)
{
    if (m->ch < 2)
        return 0;
    int src = tx && leg >= 0 && leg < tx->n_legs ? tx->legs[leg].src : leg;
    return src == 0 ? m->in_ch : 1 - m->in_ch;
}

/* speech on channel c at frame f: 1, a pause: -1, outside the recording: 0 */
static int spoken(const pl__lv_map *m, int c, long f)
{
    if (f < 0 || (size_t)f >= m->n)
        return 0;
    return m->db[c][f] > m->thr[c] ? 1 : -1;
}

/* The shift (seconds) under which the words of leg L around [a, b] agree best with channel c's
 * speech: each frame scores +1 where both say speech or both a pause, -1 where they differ. A
 * tie goes to the smaller shift. -1e9: no word near (nothing to align). */
static double align(const pl__lv_map *m, int c, const tx_leg *L, double a, double b)
{
    long D = lround(RD_SHIFT_SEC / m->fs);
    long f0 = lround((a - RD_CONTEXT_SEC) / m->fs), f1 = lround((b + RD_CONTEXT_SEC) / m->fs);
    long g0 = f0 - D, ng = f1 + D - g0 + 1; /* the words' frames, as the ASR placed them */
    signed char *P = calloc((size_t)ng, 1);
    if (!P)
        return 0; /* out of memory: the ASR's times as they are */
    for (long g = 0; g < ng; g++)
        P[g] = -1;
    bool any = false;
    for (size_t k = 0; k < L->n; k++) {
        const tx_segment *g = &L->segs[k];
        size_t nw = g->n_words ? g->n_words : 1;
        for (size_t j = 0; j < nw; j++) {
            double ws = g->n_words ? g->words[j].start : g->start;
            double we = g->n_words ? g->words[j].end : g->end;
            long s0 = lround(ws / m->fs) - g0, s1 = lround(we / m->fs) - g0;
            if (s1 < 0 || s0 >= ng || !(we > ws))
                continue;
            any = true;
            for (long x = s0 < 0 ? 0 : s0; x <= s1 && x < ng; x++)
                P[x] = 1;
        }
    }
    double best_at = 0;
    if (any) {
        long best = LONG_MIN, best_d = 0;
        for (long d = -D; d <= D; d++) {
            long sc = 0;
            for (long f = f0; f <= f1; f++)
                sc += spoken(m, c, f) * P[f - d - g0];
            if (sc > best || (sc == best && labs(d) < labs(best_d)))
                best = sc, best_d = d;
        }
        best_at = (double)best_d * m->fs;
    }
    free(P);
    return any ? best_at : -1e9;
}

/* The pause on channel c nearest t (within RD_EDGE_SEC) at its end (start: the value begins
 * after it) or at its start (!start: the value ends before it): 1 with *at, the edge, that far
 * into the pause; 0 none. The recording's start and end are pauses. */
static int edge(const pl__lv_map *m, int c, double t, bool start, double *at)
{
    long R = lround(RD_EDGE_SEC / m->fs), ft = lround(t / m->fs);
    long minp = lround(RD_PAUSE_SEC / m->fs);
    double best = 1e9;
    int found = 0;
    for (long f = ft - R; f <= ft + R; f++) {
        /* an edge of a pause at f: start: f the first speech frame after a pause; else the
         * first pause frame after speech */
        if (spoken(m, c, f) != (start ? 1 : -1) || spoken(m, c, f - 1) == (start ? 1 : -1))
            continue;
        long len = 0, g = start ? f - 1 : f;
        while (spoken(m, c, g) == -1 && len <= lround(RD_INTO_PAUSE_SEC * 2 / m->fs))
            len++, g += start ? -1 : 1;
        bool whole = spoken(m, c, g) == 0; /* the pause reaches the recording's edge */
        if (len < minp && !whole)
            continue;
        double d = fabs((double)(f - ft));
        if (d < best) {
            double into = (double)len * m->fs / 2;
            if (into > RD_INTO_PAUSE_SEC || whole)
                into = RD_INTO_PAUSE_SEC;
            best = d;
            *at = (double)f * m->fs + (start ? -into : into);
            found = 1;
        }
    }
    return found;
}

/* The end edge at *at past a stop's release: when the speech after it is a burst no longer than
 * RD_BURST_SEC (gaps shorter than a pause inside it bridged: a weak release's frames flicker
 * about the threshold), every frame RD_RELEASE_DB or more under the loudest frame of the 0.3 s
 * before it, then a pause or the recording's end ("eight": its closure, then its release), the
 * edge goes into that pause instead. */
static void past_release(const pl__lv_map *m, int c, double *at)
{
    long f = lround(*at / m->fs), minp = lround(RD_PAUSE_SEC / m->fs);
    long maxb = lround(RD_BURST_SEC / m->fs);
    while (spoken(m, c, f) == -1)
        f++;
    if (spoken(m, c, f) != 1)
        return;
    long p0 = f; /* the pause's start, and the loudest of the 0.3 s before it */
    while (spoken(m, c, p0 - 1) == -1)
        p0--;
    float top = -120.0f, rel = -120.0f;
    for (long g = p0 - lround(0.3 / m->fs); g < p0; g++)
        if (spoken(m, c, g) != 0 && m->db[c][g] > top)
            top = m->db[c][g];
    long e = f; /* one past the burst's last frame of speech */
    for (long g = f; g - f <= maxb;) {
        int sg = spoken(m, c, g);
        if (sg == 1) {
            if (m->db[c][g] > rel)
                rel = m->db[c][g];
            e = ++g;
            continue;
        }
        long q = 0; /* a gap: bridged when shorter than a pause and speech follows */
        while (spoken(m, c, g + q) == -1 && q < minp)
            q++;
        if (sg == 0 || q >= minp || spoken(m, c, g + q) != 1)
            break;
        g += q;
    }
    long q = 0;
    while (spoken(m, c, e + q) == -1 && q < lround(RD_INTO_PAUSE_SEC * 2 / m->fs))
        q++;
    if (e - f > maxb || rel > top - RD_RELEASE_DB || (q < minp && spoken(m, c, e + q) != 0))
        return;
    double into = (double)q * m->fs / 2;
    *at = (double)e * m->fs + (into > RD_INTO_PAUSE_SEC ? RD_INTO_PAUSE_SEC : into);
}

/* Span i placed on the audio: [*a, *b] on its channel. */
void pl__place_span(const pl__lv_map *m, const tx_transcript *tx, const pv_span *sp, double guard,
                    double *a, double *b)
{
    double ws = sp->words_start, we = sp->words_end;
    int c = pl__chan_of(m, tx, sp->leg);
    const tx_leg *L = tx && sp->leg >= 0 && sp->leg < tx->n_legs ? &tx->legs[sp->leg] : NULL;
    double d = L ? align(m, c, L, ws, we) : -1e9;
    if (d < -1e8) { /* nothing to lay on the audio: the words' times and the guard band */
        *a = ws - guard, *b = we + guard;
        return;
    }
    double s = ws + d, e = we + d, x;
    *a = edge(m, c, s, true, &x) ? x : s - guard;
    if (edge(m, c, e, false, &x)) {
        past_release(m, c, &x);
        *b = x;
    } else {
        *b = e + guard;
    }
    /* never inside the value as the shifted times give it */
    if (*a > s + RD_JITTER_SEC)
        *a = s + RD_JITTER_SEC;
    if (*b < e - RD_JITTER_SEC)
        *b = e - RD_JITTER_SEC;
    if (*b < *a)
        *b = *a;
}

/* The other channel o over [a, b] (the value on channel c): the stretches muted appended to out,
 * those where o's own party speaks left out. 0, or -1 (memory). */
int pl__other_channel(const pl__lv_map *m, int c, int o, double a, double b, pl__ivl_list *out)
{
    long fa = (long)floor(a / m->fs), fb = (long)ceil(b / m->fs);
    long bridge = lround(RD_BRIDGE_SEC / m->fs), pad = 2;
    double from = a; /* the muted stretch under way */
    long f = fa;
    while (f < fb) {
        if (spoken(m, o, f) != 1) {
            f++;
            continue;
        }
        /* the whole run of o's speech, gaps up to RD_BRIDGE_SEC bridged, before a and after b
         * too */
        long r0 = f, r1 = f + 1, gap = 0;
        for (long g = r1; gap <= bridge && spoken(m, o, g) != 0; g++)
            if (spoken(m, o, g) == 1)
                r1 = g + 1, gap = 0;
            else
                gap++;
        gap = 0;
        for (long g = r0 - 1; gap <= bridge && spoken(m, o, g) != 0; g--)
            if (spoken(m, o, g) == 1)
                r0 = g, gap = 0;
            else
                gap++;
        double eo = 0, ec = 0;
        for (long g = r0; g < r1; g++) {
            eo += pow(10.0, m->db[o][g] / 10.0);
            ec += pow(10.0, m->db[c][g] / 10.0);
        }
        if (eo > ec) { /* its own speech: kept */
            double k0 = (double)(r0 - pad) * m->fs, k1 = (double)(r1 + pad) * m->fs;
            if (k0 > from && pl__ivl_add(out, from, k0 < b ? k0 : b, "span") != 0)
                return -1;
            if (k1 > from)
                from = k1;
        }
        f = r1;
    }
    if (b > from && pl__ivl_add(out, from, b, "span") != 0)
        return -1;
    return 0;
}
