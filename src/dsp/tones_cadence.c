/*
 * tones_cadence.c - the cadences of cq_tones (tones.c names the runs of table tones): the named
 * runs taken in order into chains and matched to the cadences of ringback, busy, congestion,
 * CNG, CED and SIT, each event handed out open once matched and completed once its chain ends.
 */
#include <math.h>
#include <string.h>

#include "tones_int.h"

/*
 * CADENCES. The named runs (segs) are taken in order into a chain: runs of one tone (the SIT's
 * three tones count as one), each under CHAIN_GAP_SEC after the last. A chain is matched to a
 * cadence of the tables (k_cad) as it grows:
 *   - every burst and gap within the cadence's tolerance of nominal, or within SLACK_SEC more
 *     (a lost packet or three shorten one), the first burst shorter when the recording starts
 *     inside it, the last shorter once the chain is complete (the call was answered, or the
 *     recording ended); a gap may span one lost burst of a cadence of one burst and one gap;
 *   - more of them within the tolerance than only within the slack, at least one whole burst
 *     within it, and the cadence's least number of bursts (two for busy and congestion, one for
 *     a ringback or CNG; a SIT needs its three tones in order).
 * A chain that no cadence can still match loses its first burst until one can. Once matched,
 * the event is handed out open (with its id) and the chain grows while each burst keeps the
 * cadence; a burst that breaks it, another tone, CHAIN_GAP_SEC without a burst, or the end of
 * the stream completes the event, and the next burst starts a chain of its own. So a signal
 * that goes on for many periods is one event whatever happens to one of its bursts, and what
 * the stream opens is what the batch reports: every event opened is completed, with its id,
 * and nothing is reported that was not opened first. A fragment of a burst too short to name
 * (under 0.16 s) that the recording's start or end cut joins the chain beside it when it holds
 * the chain's tone and its gap fits, so that an event reaches back to where the tone began and
 * on to where it ended.
 */
typedef struct cadence {
    int id; /* the tone (T_SIT1A: the SIT's tones) */
    cq_tone_kind kind;
    const char *region;
    int n;                /* on/off pairs in the pattern */
    double on[2], off[2]; /* s */
    double tol;           /* share of nominal */
    int min_bursts;
} cadence;

static const cadence k_cad[] = {
    {T_NA_RING, CQ_TONE_RINGBACK, "na", 1, {2.0}, {4.0}, 0.2, 1},
    {T_NA_BUSY, CQ_TONE_BUSY, "na", 1, {0.5}, {0.5}, 0.2, 2},
    {T_NA_BUSY, CQ_TONE_CONGESTION, "na", 1, {0.25}, {0.25}, 0.2, 2},
    {T_UK_RING, CQ_TONE_RINGBACK, "uk", 2, {0.4, 0.4}, {0.2, 2.0}, 0.25, 2},
    {T_UK_BUSY, CQ_TONE_BUSY, "uk", 1, {0.375}, {0.375}, 0.2, 2},
    /* 400 Hz alone: the double ring of networks that ring on 400 Hz too */
    {T_UK_BUSY, CQ_TONE_RINGBACK, "uk", 2, {0.4, 0.4}, {0.2, 2.0}, 0.25, 2},
    {T_EU, CQ_TONE_RINGBACK, "eu", 1, {1.0}, {4.0}, 0.2, 1},
    {T_EU, CQ_TONE_BUSY, "eu", 1, {0.5}, {0.5}, 0.2, 2},
    {T_EU, CQ_TONE_CONGESTION, "eu", 1, {0.25}, {0.25}, 0.2, 2},
    {T_CNG, CQ_TONE_FAX_CNG, "itu", 1, {0.5}, {3.0}, 0.25, 1},
    /* CED: 2.6-4 s of 2100 Hz (T.30), repeated or not: checked by ced_fits */
    {T_CED, CQ_TONE_FAX_CED, "itu", 1, {0}, {0}, 0, 1},
    /* SIT: 913.8 or 985.2, then 1370.6 or 1428.5, then 1776.7 Hz: checked by sit_fits */
    {T_SIT1A, CQ_TONE_SIT, "itu", 0, {0}, {0}, 0, 3},
};
#define N_CAD ((int)(sizeof(k_cad) / sizeof(k_cad[0])))

/* Which of the SIT's three tones a table tone is, or -1. */
static int sit_index(int id)
{
    return id == T_SIT1A || id == T_SIT1B   ? 0
           : id == T_SIT2A || id == T_SIT2B ? 1
           : id == T_SIT3                   ? 2
                                            : -1;
}

/* The chain a tone belongs to: the SIT's tones are one. */
static int family(int id)
{
    return sit_index(id) >= 0 ? T_SIT1A : id;
}

static int strict_fit(double v, double want, double tol)
{
    return fabs(v - want) <= tol * want + EDGE_Q;
}

static int loose_fit(double v, double want, double tol)
{
    return fabs(v - want) <= tol * want + SLACK_SEC;
}

/* How bursts s[0..m) fit the cadence c from phase ph of its pattern: -1 not at all; else
 * 2 when it is matched (the tests of the comment above), 1 when it may still become so; *score
 * is the bursts and gaps within the tolerance less those only within the slack. head: s[0] may
 * be cut short; tail: s[m - 1] may. */
static int pattern_fits(const seg *s, size_t m, const cadence *c, int ph, int head, int tail,
                        int *score)
{
    int strict = 0, loose = 0, whole = 0;
    for (size_t i = 0; i < m; i++) {
        const double on = s[i].end - s[i].start, want = c->on[((size_t)ph + i) % (size_t)c->n];
        const int cut = (i == 0 && head) || (i + 1 == m && tail);
        if (strict_fit(on, want, c->tol))
            strict++, whole++;
        else if (cut && on < want * (1 + c->tol))
            ;
        else if (loose_fit(on, want, c->tol))
            loose++;
        else
            return -1;
        if (i + 1 == m)
            break;
        const double gap = s[i + 1].start - s[i].end,
                     want_off = c->off[((size_t)ph + i) % (size_t)c->n];
        if (strict_fit(gap, want_off, c->tol))
            strict++;
        else if (loose_fit(gap, want_off, c->tol) ||
                 /* a burst lost (a codec at a low level, a word over it) in a pattern of one
                  * burst and one gap: the gap spans it */
                 (c->n == 1 && loose_fit(gap, 2 * want_off + c->on[0], c->tol)))
            loose++;
        else
            return -1;
    }
    *score = strict - loose;
    return whole && strict > loose && (int)m >= c->min_bursts ? 2 : 1;
}

/* CED: every whole burst 2.4 s or longer (T.30: 2.6-4 s), gaps under CHAIN_GAP_SEC. */
static int ced_fits(const seg *s, size_t m, int head, int tail)
{
    int whole = 0;
    for (size_t i = 0; i < m; i++) {
        const int cut = (i == 0 && head) || (i + 1 == m && tail);
        if (s[i].end - s[i].start >= 2.4)
            whole++;
        else if (!cut && i + 1 < m)
            return -1;
    }
    return whole ? 2 : 1;
}

/* SIT: its tones in order, 0.15-0.5 s each, under SIT_GAP apart within one SIT (after a third
 * tone, the next SIT may follow up to CHAIN_GAP_SEC later); matched once three tones in order
 * are in, the first of them the SIT's first. */
static int sit_fits(const seg *s, size_t m, int head, int tail)
{
    int run = 0, full = 0;
    for (size_t i = 0; i < m; i++) {
        const double on = s[i].end - s[i].start;
        const int k = sit_index(s[i].id), cut = (i == 0 && head) || (i + 1 == m && tail);
        if (on > 0.5 || (on < 0.15 && !cut))
            return -1;
        if (i > 0) {
            const int prev = sit_index(s[i - 1].id);
            if (k != (prev + 1) % 3 || (prev != 2 && s[i].start - s[i - 1].end >= SIT_GAP))
                return -1;
        }
        run = k == 0 ? 1 : run ? run + 1 : 0;
        full |= run == 3;
    }
    return full ? 2 : 1;
}

/* How the chain s[0..m) fits cadence k from phase ph (pattern_fits' answer and *score). */
static int cad_fits(const seg *s, size_t m, int k, int ph, int head, int tail, int *score)
{
    const cadence *c = &k_cad[k];
    *score = 0;
    if (family(s[0].id) != c->id)
        return -1;
    if (c->kind == CQ_TONE_SIT)
        return sit_fits(s, m, head, tail);
    if (c->kind == CQ_TONE_FAX_CED)
        return ced_fits(s, m, head, tail);
    return pattern_fits(s, m, c, ph, head, tail, score);
}

/* The cadence and phase that match segs [c0, c1) (*cad, *ph; 2), or whether one still may
 * (1) or none can (-1). While the chain grows, a match is taken only when no other cadence
 * could still fit (two bursts of a 400 Hz tone, one of them smeared by a codec, may fit both the
 * UK busy tone and the double ring: the next burst tells); once it is complete (tail: its last
 * burst may be cut short), the match with the most bursts and gaps within the tolerance. */
static int chain_match(const cq_tones *t, int tail, int *cad, int *ph)
{
    const seg *s = t->segs + t->c0;
    const size_t m = t->c1 - t->c0;
    const int head = t->c0 == 0 && s[0].start * RATE < FRAG_EDGE;
    int best = -1, viable = 0, best_score = 0, bk = -1, bp = 0;
    for (int k = 0; k < N_CAD; k++)
        for (int p = 0; p < (k_cad[k].n > 1 ? k_cad[k].n : 1); p++) {
            int score, r = cad_fits(s, m, k, p, head, tail, &score);
            if (r == 2 && k_cad[k].kind == CQ_TONE_FAX_CNG &&
                !cq__tones_fax_confirmed(t, 0, s[0].start, s[m - 1].end))
                r = 1; /* libspandsp's receiver has not (yet) heard it */
            if (r == 2 && k_cad[k].kind == CQ_TONE_FAX_CED &&
                !cq__tones_fax_confirmed(t, 1, s[0].start, s[m - 1].end))
                r = 1;
            viable += r >= 1;
            if (r == 2 && (best < 2 || score > best_score))
                bk = k, bp = p, best_score = score;
            best = r > best ? r : best;
        }
    if (best == 2 && !tail && viable > 1)
        return 1; /* another cadence may still fit: the next burst tells */
    if (best == 2)
        *cad = bk, *ph = bp;
    return best;
}

/* Whether the fragment f holds the tone the chain's first (before = 1) or last burst s
 * implies next to it, and sits where the cadence puts it: then the chain reaches it. */
static int frag_fits(const frag *f, const seg *s, const cadence *c, int ph, int before)
{
    if (!f->n)
        return 0;
    const double gap = before ? s->start - f->end : f->start - s->end;
    if (gap < 0)
        return 0;
    if (c->kind == CQ_TONE_SIT) {
        const int k = (sit_index(s->id) + (before ? 2 : 1)) % 3;
        static const int ids[3][2] = {{T_SIT1A, T_SIT1B}, {T_SIT2A, T_SIT2B}, {T_SIT3, T_SIT3}};
        const int between = before ? k == 2 : sit_index(s->id) == 2;
        if (gap >= (between ? CHAIN_GAP_SEC : SIT_GAP))
            return 0;
        return cq__tones_share(f->x, f->n, ids[k][0]) >= 0.5 ||
               cq__tones_share(f->x, f->n, ids[k][1]) >= 0.5;
    }
    if (c->kind == CQ_TONE_FAX_CED) {
        if (gap >= CHAIN_GAP_SEC)
            return 0;
    } else {
        /* the gap before the chain's first burst ends the pattern's previous step */
        const int step = before ? (ph + c->n - 1) % c->n : ph;
        if (!loose_fit(gap, c->off[step], c->tol))
            return 0;
    }
    return cq__tones_share(f->x, f->n, c->id) >= 0.5;
}

/* The chain as an event: its first burst's start (or the head fragment's) to its last
 * burst's end (or, once the stream ended, the tail fragment's). */
static cq_tone_event chain_event(const cq_tones *t, int with_tail)
{
    const cadence *c = &k_cad[t->cad];
    const seg *last = &t->segs[t->c1 - 1];
    double b = last->end;
    int cycles = (int)(t->c1 - t->c0) + (t->cstart < t->segs[t->c0].start);
    if (with_tail && t->tail.end * RATE + FRAG_EDGE >= (double)t->pos) {
        const int ph_last = (t->phase + (int)(t->c1 - t->c0) - 1) % (c->n > 0 ? c->n : 1);
        if (frag_fits(&t->tail, last, c, ph_last, 0))
            b = t->tail.end, cycles++;
    }
    if (c->kind == CQ_TONE_SIT || c->kind == CQ_TONE_FAX_CED) { /* SITs, CED tones */
        int n = 0;
        for (size_t i = t->c0; i < t->c1; i++)
            n += c->kind == CQ_TONE_SIT ? sit_index(t->segs[i].id) == 0 : 1;
        cycles = n ? n : 1;
    }
    return (cq_tone_event){.id = t->cid,
                           .kind = c->kind,
                           .start_sec = t->cstart,
                           .end_sec = b,
                           .region = c->region,
                           .cycles = cycles};
}

/* The chain matched: its event is handed out open. */
static int announce(cq_tones *t)
{
    const cadence *c = &k_cad[t->cad];
    t->cstart = t->segs[t->c0].start;
    if (t->c0 == 0 && frag_fits(&t->head, &t->segs[0], c, t->phase, 1)) {
        t->cstart = t->head.start;
        t->used[0] = (seg){t->segs[0].id, t->head.start, t->head.end};
    }
    t->cid = ++t->next_id;
    cq_tone_event e = chain_event(t, 0);
    e.open = true;
    return cq__tones_box_event(t, &e);
}

/* The chain can grow no more: its event, if it has one, is complete (matched now at the
 * latest, with its last burst allowed short); the next chain starts after it. */
static int close_chain(cq_tones *t, int final)
{
    int rc = CQ_OK;
    while (t->cad < 0 && t->c0 < t->c1) { /* not matched while it grew: perhaps now */
        if (chain_match(t, 1, &t->cad, &t->phase) == 2) {
            rc = announce(t);
            break;
        }
        t->c0++;
    }
    if (t->cad >= 0 && rc == CQ_OK) {
        cq_tone_event e = chain_event(t, final);
        if (e.end_sec > t->segs[t->c1 - 1].end)
            t->used[1] = (seg){t->segs[t->c1 - 1].id, t->tail.start, t->tail.end};
        rc = cq__tones_keep_event(t, &e);
    }
    t->c0 = t->c1;
    t->cad = -1;
    return rc;
}

/*
 * Take the segments not yet in a chain into chains (above); complete the chain that can grow
 * no more: another tone or CHAIN_GAP_SEC since its last burst (and no run under way), or the
 * stream ended (`final`).
 */

int cq__tones_chains(cq_tones *t, double now, int final)
{
    while (t->c1 < t->nsegs) {
        const seg *s = &t->segs[t->c1];
        if (t->c1 > t->c0 && (family(s->id) != family(t->segs[t->c0].id) ||
                              s->start - t->segs[t->c1 - 1].end > CHAIN_GAP_SEC)) {
            if (close_chain(t, 0) != CQ_OK) /* another tone, or too far */
                return CQ_ERR_NOMEM;
            continue;
        }
        t->c1++;
        if (t->cad >= 0) { /* matched: the burst keeps the cadence, or the event is complete */
            /* (the newest burst may be cut short, by the answer or the stream's end: when
             * another follows, it is judged whole with the rest) */
            int score;
            if (cad_fits(t->segs + t->c0, t->c1 - t->c0, t->cad, t->phase,
                         t->c0 == 0 && t->segs[0].start * RATE < FRAG_EDGE, 1, &score) == 2)
                continue;
            t->c1--;
            if (close_chain(t, 0) != CQ_OK)
                return CQ_ERR_NOMEM;
            continue;
        }
        int r;
        while ((r = chain_match(t, 0, &t->cad, &t->phase)) < 0 && t->c0 + 1 < t->c1)
            t->c0++; /* no cadence can start with the first burst */
        if (r < 0)
            t->c0 = t->c1;
        else if (r == 2 && announce(t) != CQ_OK)
            return CQ_ERR_NOMEM;
    }
    if (t->c0 < t->c1 && (final || (!t->in_run && now - t->segs[t->c1 - 1].end > CHAIN_GAP_SEC)) &&
        close_chain(t, final) != CQ_OK)
        return CQ_ERR_NOMEM;
    return CQ_OK;
}
