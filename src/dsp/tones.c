/*
 * tones.c - DTMF (libspandsp's receiver and ours), call-progress and fax tones (ours) on one
 * 8 kHz leg.
 *
 * DTMF: three receivers hear every frame, libspandsp's ITU-T Q.24 receiver (fed the 8 DTMF
 * bands, below) and ours (dtmf.c), once on the signal and once on the signal with the voice
 * cancelled, which find digits under speech that libspandsp's rejects. A key two report (their
 * digits overlap by 10 ms or more) is taken once, from the first to report it; the receivers
 * report with different delays, so digits are taken in order of start once no receiver can
 * still report an earlier one. Under speech at 0 / -7 / -12 dB (tests/dsp/test_dtmf_speech.c,
 * 880 digits each): libspandsp's alone 76 / 60 / 49 %, ours on the signal alone 88 / 74 / 61 %,
 * libspandsp's and ours on the signal 91 / 76 / 63 %, all three 95 / 85 / 75 %, with the
 * gated fit of the runs ours refuse (dtmf.c) 98 / 91 / 80 %, and with the empty slots of trains
 * probed (train_fill) 99 / 95 / 88 % (874 / 834 / 772), and with the train's level asked of
 * them 99.5 / 95 / 89 % (876 / 839 / 785), never a wrong digit, and no digit on the corpus's
 * speech, music and calls.
 * A digit libspandsp's receiver alone reports must have been pressed (pressed): a held musical
 * note on a row with another on a column sounds like a key to it.
 *
 * DESIGN
 * Frames: 20 ms (160 samples), Hann window. For every tone the tables know (a single frequency
 * or a pair), the frame's power at those frequencies (Goertzel lanes, kernels.c: a pure tone of
 * power P reads P) over the frame's power is its purity; a frame at -50 dBFS or louder whose
 * best purity reaches 0.6 is "tonal" (within a run, at -60 dBFS or louder: at low levels GSM
 * 06.10 moves a steady tone's frame level by +-6 dB). 20 ms cannot tell 440 from 450 Hz, so a
 * run of tonal frames (gaps of one frame bridged) is measured again over its first 0.25 s,
 * where the resolution is a few Hz: the table tone with the most power at its nominal
 * frequencies (each component of a pair at least 10 % of the pair) names the run when at least
 * 0.7 of the run's power lies within 50 Hz of those frequencies, at least 0.35 of it at them,
 * and the strongest part of that band at one of them; otherwise the run is dropped. The 50 Hz
 * band is for codecs: GSM 06.10 at low levels steps a tone's amplitude and phase at its 20 ms
 * frame rate, which moves up to 60 % of the tone's power into sidebands within 50 Hz of it
 * (400 and 425 Hz bursts at -45 dBFS peak: 0.39-0.84 of the power at the tone, over 0.9 within
 * 50 Hz). The peak test keeps out musical notes and voice harmonics a few Hz off a table
 * frequency (G4 = 392 Hz beside 400 Hz), which leak into the nominal reading but peak
 * elsewhere; voice harmonics right at a table frequency that pass it (0.37-0.48 at the tone
 * in the corpus) are left to the cadence.
 * Named runs become events by their cadence (tones_cadence.c, which shares tones_int.h):
 *   na ringback 440+480 Hz 2 s on / 4 s off     na busy 480+620 0.5/0.5   congestion 0.25/0.25
 *   uk ringback 400+450 or 400 0.4/0.2/0.4/2.0  uk busy 400 0.375/0.375
 *   eu ringback 425 1/4                          eu busy 425 0.5/0.5        congestion 0.25/0.25
 *   sit: 913.8 or 985.2, then 1370.6 or 1428.5, then 1776.7 Hz, 274-380 ms each
 *   fax cng 1100 0.5 on / 3 off                  fax ced 2100 Hz, 2.6 s or more
 * Durations are accepted within about 20 % and one 20 ms frame, the last burst of a run may be cut
 * short (the call was answered or the recording ended).
 */
#include <math.h>
#include <spandsp.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_tones.h"
#include "dtmf_int.h"
#include "kernels_int.h"
#include "tones_int.h"

typedef struct tone_id {
    double f1, f2; /* f2 = 0 for a single frequency */
} tone_id;

static const tone_id k_ids[N_IDS] = {
    [T_NA_RING] = {440, 480}, [T_NA_BUSY] = {480, 620}, [T_UK_RING] = {400, 450},
    [T_UK_BUSY] = {400, 0},   [T_EU] = {425, 0},        [T_SIT1A] = {913.8, 0},
    [T_SIT1B] = {985.2, 0},   [T_SIT2A] = {1370.6, 0},  [T_SIT2B] = {1428.5, 0},
    [T_SIT3] = {1776.7, 0},   [T_CNG] = {1100, 0},      [T_CED] = {2100, 0},
    [T_DIAL] = {350, 440}, /* North American dial tone: recognised, never reported */
};

/* Centre frequency of a table tone. */
static double centre(int id)
{
    return k_ids[id].f2 > 0 ? 0.5 * (k_ids[id].f1 + k_ids[id].f2) : k_ids[id].f1;
}

/* The DTMF keys as libspandsp names them, row by row, and their frequencies (Hz) */
static const char k_dtmf_keys[] = "123A456B789C*0#D";
static const double k_dtmf_rows[4] = {697, 770, 852, 941},
                    k_dtmf_cols[4] = {1209, 1336, 1477, 1633};

const char *cq_tone_kind_name(cq_tone_kind k)
{
    switch (k) {
    case CQ_TONE_DTMF: return "dtmf";
    case CQ_TONE_RINGBACK: return "ringback";
    case CQ_TONE_BUSY: return "busy";
    case CQ_TONE_CONGESTION: return "congestion";
    case CQ_TONE_SIT: return "sit";
    case CQ_TONE_FAX_CNG: return "fax_cng";
    case CQ_TONE_FAX_CED: return "fax_ced";
    }
    return "unknown";
}

/* Hand e out at the next poll. */
int cq__tones_box_event(cq_tones *t, const cq_tone_event *e)
{
    if (cq__grow((void **)&t->box, &t->capbox, t->nbox + 1, sizeof(*e)) != CQ_OK)
        return CQ_ERR_NOMEM;
    t->box[t->nbox++] = *e;
    return CQ_OK;
}

/* A complete event: kept, and handed out. */
int cq__tones_keep_event(cq_tones *t, const cq_tone_event *e)
{
    if (cq__grow((void **)&t->ev, &t->capev, t->nev + 1, sizeof(*e)) != CQ_OK)
        return CQ_ERR_NOMEM;
    t->ev[t->nev++] = *e;
    return cq__tones_box_event(t, e);
}

static int commit_dtmf(cq_tones *t)
{
    if (!t->dtmf_open)
        return CQ_OK;
    t->dtmf_open = 0;
    t->dtmf_ev.open = false;
    return cq__tones_keep_event(t, &t->dtmf_ev);
}

/* Where a digit starting at `a` goes among those taken: how many taken digits of the open
 * event start after it (0: it follows them all), or -1 when that is not in the open event
 * (which has no room, or began before the digits remembered in `recent`). */
static int digit_place(const cq_tones *t, double a)
{
    int later = 0;
    while (later < t->nrecent && t->recent[later].a > a)
        later++;
    if (!later)
        return 0;
    if (!t->dtmf_open || strlen(t->dtmf_ev.digits) + 1 >= sizeof(t->dtmf_ev.digits) ||
        later == TRAIN_KEEP || t->recent[later - 1].a < t->dtmf_ev.start_sec)
        return -1;
    return later;
}

/* A digit taken into the DTMF event: after those taken (later = 0; merged in queue_digit), or,
 * a train's slot heard once later digits were taken, before the last `later` of them
 * (digit_place). The open event is handed out again, with the digits so far (an update:
 * cq_classify.h). */
static void take_digit(cq_tones *t, const heard *h, int later)
{
    const char symbol = h->symbol;
    const double a = h->a, b = h->b;
    memmove(t->recent + later + 1, t->recent + later,
            sizeof(t->recent[0]) * (size_t)(TRAIN_KEEP - 1 - later));
    t->recent[later] = *h;
    if (t->nrecent < TRAIN_KEEP)
        t->nrecent++;
    cq_tone_event *e = &t->dtmf_ev;
    size_t l = strlen(e->digits);
    if (later > 0) {
        char *at = e->digits + l - (size_t)later;
        memmove(at + 1, at, (size_t)later + 1);
        *at = symbol;
        e->start_sec = fmin(e->start_sec, a);
        e->end_sec = fmax(e->end_sec, b);
        e->cycles++;
    } else if (t->dtmf_open && a - e->end_sec < DTMF_GAP_SEC && l + 1 < sizeof(e->digits)) {
        e->digits[l] = symbol;
        e->digits[l + 1] = 0;
        if (b > e->end_sec)
            e->end_sec = b;
        e->cycles++;
    } else {
        if (commit_dtmf(t) != CQ_OK)
            t->nomem = 1;
        memset(e, 0, sizeof(*e));
        *e = (cq_tone_event){
            .id = ++t->next_id, .kind = CQ_TONE_DTMF, .start_sec = a, .end_sec = b, .cycles = 1};
        e->digits[0] = symbol;
        t->dtmf_open = 1;
    }
    cq_tone_event open = *e; /* the string so far, for streaming */
    open.open = true;
    if (cq__tones_box_event(t, &open) != CQ_OK)
        t->nomem = 1;
}

/* The earliest start (s) of a digit any receiver may still report. */
static double dtmf_floor(const cq_tones *t)
{
    double f = (double)(t->digit ? t->digit_start : t->pos) / RATE;
    if (t->rx2)
        f = fmin(f, (double)cq__dtmf_floor(t->rx2) / RATE);
    return t->rx3 ? fmin(f, (double)cq__dtmf_floor(t->rx3) / RATE) : f;
}

static void queue_digit(cq_tones *t, char symbol, double a, double b, int from);

/* Are the digits i0..i1 whose midpoints are M a train with spacings of 1 to TRAIN_GAP times p?
 * Their slot numbers (from 0) go in slot; a least-squares line through the midpoints against
 * them gives the period *P and the first slot's midpoint *mid0, and every midpoint must lie
 * within TRAIN_TOL of it. */
static int train_fits(const double *M, int i0, int i1, double p, int *slot, double *P, double *mid0)
{
    double sn = 0, sm = 0, snn = 0, snm = 0;
    for (int i = i0; i <= i1; i++) {
        const double k = i == i0 ? 0 : round((M[i] - M[i - 1]) / p);
        if (i > i0 && (k < 1 || k > TRAIN_GAP))
            return 0;
        slot[i] = i == i0 ? 0 : slot[i - 1] + (int)k;
        sn += slot[i], sm += M[i], snn += slot[i] * slot[i], snm += slot[i] * M[i];
    }
    const double m = i1 - i0 + 1, den = m * snn - sn * sn;
    *P = den > 0 ? (m * snm - sn * sm) / den : p;
    *mid0 = (sm - *P * sn) / m;
    for (int i = i0; i <= i1; i++)
        if (fabs(M[i] - *mid0 - slot[i] * *P) > TRAIN_TOL)
            return 0;
    return 1;
}

/* The key's own span of a digit heard (cq__dtmf_refine, once its samples are in): its midpoint
 * in *mid and its length in *len (s); its tones' amplitudes there go to h->lv. */
static void key_span(cq_tones *t, heard *h, double *mid, double *len)
{
    if (!h->refined) {
        uint64_t a = (uint64_t)(h->a * RATE), b = (uint64_t)(h->b * RATE);
        const int r = cq__dtmf_refine(t->rx3, h->symbol, &a, &b, h->lv);
        if (r >= 0)
            h->refined = 1;
        if (r > 0)
            h->ka = (double)a / RATE, h->kb = (double)b / RATE;
    }
    *mid = (h->ka + h->kb) / 2, *len = h->kb - h->ka;
}

/* The median (the upper one of an even count) of v[0..n), n > 0, which it sorts. */
static double median(double *v, int n)
{
    for (int i = 1; i < n; i++) {
        const double x = v[i];
        int j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    return v[n / 2];
}

/* The train i0..i1's level: the median of its digits' row (lv[0]) and column (lv[1])
 * amplitudes, where measured (key_span); 0 where none is. A dialer or an IVR sends every digit
 * of a train at one level (its two tones each at their own), so a key in an empty slot sounds
 * there too, and a voice harmonic seldom does. */
static void train_level(const heard *const *H, int i0, int i1, double *lv)
{
    for (int g = 0; g < 2; g++) {
        double v[TRAIN_KEEP + DTMF_QUEUE];
        int nv = 0;
        for (int i = i0; i <= i1; i++)
            if (H[i]->lv[g] > 0)
                v[nv++] = H[i]->lv[g];
        lv[g] = nv ? median(v, nv) : 0;
    }
}

/*
 * A train: digits that a dialer or an IVR sends at a fixed cadence. The digits taken last and
 * those queued, in order of start, are searched for three or more whose midpoints are 1 to
 * TRAIN_GAP times one period P (TRAIN_PMIN-TRAIN_PMAX) apart, each within TRAIN_TOL of a
 * least-squares line through them (the cadence), tones no longer than TRAIN_MAX_TONE. A digit
 * is placed by its key's own span (key_span), not by the receiver's: their spans of one tone
 * differ by up to 30 ms, and split a train where a midpoint is 10 ms off. The cadence places
 * the slots the train leaves empty, two before it and two after it (as many as it may skip
 * within); each is probed (cq__dtmf_probe on the voice-cancelled receiver, whose tests for a
 * known gate are looser than for its runs, and looser again for a key at the train's level,
 * train_level) when no receiver can report a digit there any more,
 * and once more, by the looser tests for a slot between two digits, when the train grows past
 * a slot probed at its end (most empty slots within a train are first probed at its end). A
 * slot is not probed once its end is TRAIN_LATE behind. A key it hears there is queued, or,
 * when later digits were taken already (the slot before a train is known only once the
 * train's third digit is), taken in its place among them. A digit found extends the train by a
 * slot. On `final` the slots not TRAIN_LATE behind are probed if their samples are in.
 */
static void train_fill(cq_tones *t, double floor_s, int final)
{
    double M[TRAIN_KEEP + DTMF_QUEUE], L[TRAIN_KEEP + DTMF_QUEUE];
    const heard *H[TRAIN_KEEP + DTMF_QUEUE];
    int n = 0;
    for (int i = t->nrecent - 1; i >= 0; i--, n++)
        key_span(t, &t->recent[i], &M[n], &L[n]), H[n] = &t->recent[i];
    for (int i = 0; i < t->nqueue; i++, n++)
        key_span(t, &t->queue[i], &M[n], &L[n]), H[n] = &t->queue[i];
    const double now = (double)t->pos / RATE;
    for (int i0 = 0; i0 + 2 < n;) {
        /* the longest run of digits from i0 whose spacings are 1 to TRAIN_GAP times the
         * smallest, each within TRAIN_TOL of the cadence */
        int i1 = i0 + 1, slot[TRAIN_KEEP + DTMF_QUEUE];
        double P = M[i1] - M[i0], Pf, mid0;
        while (i1 + 1 < n) {
            const double p2 = fmin(P, M[i1 + 1] - M[i1]);
            if (p2 < TRAIN_PMIN || p2 > TRAIN_PMAX ||
                !train_fits(M, i0, i1 + 1, p2, slot, &Pf, &mid0))
                break;
            P = p2, i1++;
        }
        if (i1 - i0 < 2 || !train_fits(M, i0, i1, P, slot, &Pf, &mid0) || Pf < TRAIN_PMIN ||
            Pf > TRAIN_PMAX) {
            i0++;
            continue;
        }
        /* the tones' median length */
        double lens[TRAIN_KEEP + DTMF_QUEUE];
        memcpy(lens, L + i0, sizeof(lens[0]) * (size_t)(i1 - i0 + 1));
        const double len = fmax(median(lens, i1 - i0 + 1), TRAIN_MIN_TONE);
        if (len > TRAIN_MAX_TONE) {
            i0 = i1;
            continue;
        }
        double lv[2];
        train_level(H, i0, i1, lv);
        for (int k = -(TRAIN_GAP - 1); k <= slot[i1] + TRAIN_GAP - 1; k++) {
            const double a = mid0 + k * Pf - len / 2, b = a + len;
            /* probed already (a slot probed at the train's end is probed again once digits
             * follow it), before the digits that could place it, or too late to stream */
            const int later = digit_place(t, a), between = k > 0 && k < slot[i1];
            int taken = a <= (between ? t->probed_in : t->probed) + TRAIN_TOL || later < 0 ||
                        now - b > TRAIN_LATE;
            for (int i = 0; i < n && !taken; i++) /* a digit is there */
                taken = fabs(M[i] - (a + b) / 2) < Pf / 2;
            if (taken)
                continue;
            if (!final && (b > floor_s || b + TRAIN_AFTER > now))
                return; /* a receiver may still report one there, or its samples are not in */
            t->probed = fmax(t->probed, a);
            if (between)
                t->probed_in = a;
            const int sym = a > 0
                                ? cq__dtmf_probe(t->rx3, (uint64_t)(a * RATE), (uint64_t)(b * RATE),
                                                 between, lv[0] > 0 ? lv : NULL)
                                : -1;
            if (sym > 0) {
                const heard h = {.symbol = (char)sym, .a = a, .b = b, .ka = a, .kb = b};
                if (later > 0)
                    take_digit(t, &h, later);
                else
                    queue_digit(t, (char)sym, a, b, FROM_SLOT);
                train_fill(t, floor_s, final); /* the train may now reach further */
                return;
            }
        }
        i0 = i1;
    }
}

static double tone_power(const float *x, const float *w, size_t n, double wsum, double f);

/* A tone's power at f (Hz) over the PRESS_WIN samples of the ring from sample `at`. */
static double press_power(const cq_tones *t, uint64_t at, double f)
{
    float x[PRESS_WIN];
    for (int i = 0; i < PRESS_WIN; i++)
        x[i] = t->ring[(at + (uint64_t)i) % PRESS_RING];
    return tone_power(x, t->press_win, PRESS_WIN, t->press_wsum, f);
}

/*
 * Is a digit pressed and released? Asked of one that libspandsp's receiver alone reported (the
 * others ask it themselves: dtmf.c). Its row and its column, read over 20 ms windows every
 * 5 ms, must each peak inside its span PRESS_EDGE_DB over their quietest window within
 * PRESS_REACH before or after it: a key is pressed and released (40 ms pauses between keys
 * leave such a window), while a held musical note, or the harmonic of one, that falls within
 * Q.24's tolerance of a row or a column sounds on through the piece libspandsp takes for a key
 * (docs/events/measured.md, "Tone or music"). The side before is read as soon as the digit's
 * samples are in, and settles most digits (a key after a pause); the side after is waited for only
 * when it does not. Either way the answer is the one both sides give (a tone that rises over the
 * side before rises over the quieter of the two), so it does not depend on when it is asked.
 * 1: a digit, 0: none, -1: not yet known (final: judged on the samples in).
 */
static int pressed(const cq_tones *t, const heard *h, int final)
{
    if (!h->alone)
        return 1;
    const uint64_t a = (uint64_t)(h->a * RATE), b = (uint64_t)(h->b * RATE);
    if (!final && t->pos < b + PRESS_WIN)
        return -1;
    const int both = final || t->pos >= b + PRESS_REACH + PRESS_WIN;
    /* the oldest sample read: the ring holds it while the side after is waited for */
    const uint64_t lo =
        b + PRESS_REACH + PRESS_WIN > PRESS_RING ? b + PRESS_REACH + PRESS_WIN - PRESS_RING : 0;
    const char *k = strchr(k_dtmf_keys, h->symbol);
    if (!k)
        return 1;
    const double f[2] = {k_dtmf_rows[(k - k_dtmf_keys) / 4], k_dtmf_cols[(k - k_dtmf_keys) % 4]};
    for (int g = 0; g < 2; g++) {
        double in = 0, pre = -1, post = -1;
        const uint64_t w0 = a > PRESS_REACH + PRESS_WIN / 2 ? a - PRESS_REACH - PRESS_WIN / 2 : 0;
        for (uint64_t w = w0 > lo ? w0 : lo;
             w + PRESS_WIN <= t->pos && w + PRESS_WIN / 2 <= b + PRESS_REACH; w += PRESS_HOP) {
            if (t->pos - w > PRESS_RING)
                continue; /* overwritten (a digit of seconds, asked late) */
            const uint64_t mid = w + PRESS_WIN / 2;
            const double p = press_power(t, w, f[g]);
            if (mid >= a && mid <= b)
                in = fmax(in, p);
            else if (mid < a)
                pre = pre < 0 || p < pre ? p : pre;
            else
                post = post < 0 || p < post ? p : post;
        }
        const double q = pre < 0 ? post : post < 0 || !both ? pre : fmin(pre, post);
        if (q >= 0 && 10 * log10((in + 1e-20) / (q + 1e-20)) >= PRESS_EDGE_DB)
            continue; /* it rose */
        if (!both)
            return -1; /* the side after may yet tell */
        if (q >= 0)
            return 0;
    }
    return 1;
}

/* Take the queued digits that no receiver can now precede and that no train can still grow
 * before (all of them when final). */
static void flush_digits(cq_tones *t, int final)
{
    const double fl = final ? 1e300 : dtmf_floor(t);
    if (t->rx3) /* the trains' slots are probed on the voice-cancelled signal */
        train_fill(t, fl, final);
    int n = 0;
    for (; n < t->nqueue && t->queue[n].a <= fl; n++) {
        const int p = pressed(t, &t->queue[n], final);
        if (p < 0)
            break; /* its samples are not all in: it, and those after it, wait */
        if (p)
            take_digit(t, &t->queue[n], 0);
    }
    memmove(t->queue, t->queue + n, sizeof(t->queue[0]) * (size_t)(t->nqueue - n));
    t->nqueue -= n;
}

/* A digit from any receiver. The receivers report with different delays, so digits wait in a
 * queue and are taken in order of start. Digits that overlap in time by 10 ms or more are one
 * key, taken once: two symbols at once, the longer one; the same symbol from two receivers,
 * over the span of the first to report it from the signal itself (`exact`), else over both
 * spans (the voice canceller spreads a tone's edges by up to a voice period, and may report a
 * long tone in pieces). */
static void queue_digit(cq_tones *t, char symbol, double a, double b, int from)
{
    const int exact = from == FROM_SPANDSP || from == FROM_RX2;
    int alone = from == FROM_SPANDSP;
    for (int i = 0; i < t->nrecent; i++)
        if (fmin(b, t->recent[i].b) - fmax(a, t->recent[i].a) >= 0.01)
            return;
    for (int i = 0; i < t->nqueue; i++) {
        if (fmin(b, t->queue[i].b) - fmax(a, t->queue[i].a) < 0.01)
            continue;
        if (t->queue[i].symbol == symbol) {
            if (t->queue[i].exact || !exact) {
                if (t->queue[i].exact) { /* the first exact span stands, now heard twice */
                    t->queue[i].alone = 0;
                    return;
                }
                a = fmin(a, t->queue[i].a), b = fmax(b, t->queue[i].b);
            }
            alone = 0; /* the same key, from another receiver */
        } else if (b - a <= t->queue[i].b - t->queue[i].a) {
            return;
        }
        memmove(t->queue + i, t->queue + i + 1, sizeof(t->queue[0]) * (size_t)(t->nqueue - i - 1));
        t->nqueue--;
        i = -1; /* the merged digit may now overlap others */
    }
    if (t->nqueue == DTMF_QUEUE) { /* full: the oldest goes now */
        if (pressed(t, &t->queue[0], 1))
            take_digit(t, &t->queue[0], 0);
        memmove(t->queue, t->queue + 1, sizeof(t->queue[0]) * (DTMF_QUEUE - 1));
        t->nqueue--;
    }
    int i = t->nqueue;
    for (; i > 0 && t->queue[i - 1].a > a; i--)
        t->queue[i] = t->queue[i - 1];
    t->queue[i] =
        (heard){.symbol = symbol, .exact = exact, .alone = alone, .a = a, .b = b, .ka = a, .kb = b};
    t->nqueue++;
}

/* DTMF from spandsp's realtime callback: a digit code when a tone starts, 0 when it ends. */
static void dtmf_report(void *user, int code, int level, int delay)
{
    (void)level;
    cq_tones *t = user;
    (void)delay; /* in this interface: how long the previous state lasted */
    const uint64_t lag = t->closing ? 0 : DTMF_LAG; /* at the end of the stream: there */
    uint64_t at = t->pos > lag ? t->pos - lag : 0;
    if (code) {
        t->digit = code;
        t->digit_start = at;
        return;
    }
    if (!t->digit)
        return;
    double a = (double)t->digit_start / RATE, b = (double)at / RATE;
    char symbol = (char)t->digit;
    t->digit = 0;
    queue_digit(t, symbol, a, b, FROM_SPANDSP);
}

/* A digit from our receiver, once it has been judged (rx3: on the voice-cancelled signal). */
static void rx2_report(void *user, const cq__dtmf_digit *dg)
{
    cq_tones *t = user;
    queue_digit(t, dg->symbol, (double)dg->start / RATE, (double)dg->end / RATE, FROM_RX2);
}

static void rx3_report(void *user, const cq__dtmf_digit *dg)
{
    cq_tones *t = user;
    queue_digit(t, dg->symbol, (double)dg->start / RATE, (double)dg->end / RATE, FROM_RX3);
}

/* libspandsp's CNG and ANS (CED) receivers: note when each fires. */
static void fax_report(cq_tones *t, int which, int tone, int delay)
{
    if (tone == MODEM_CONNECT_TONES_NONE)
        return;
    if (cq__grow((void **)&t->fax_at[which], &t->capfax[which], t->nfax[which] + 1,
                 sizeof(double)) != CQ_OK) {
        t->nomem = 1;
        return;
    }
    uint64_t at = t->pos > (uint64_t)(delay > 0 ? delay : 0) ? t->pos - (uint64_t)delay : 0;
    t->fax_at[which][t->nfax[which]++] = (double)at / RATE;
}

static void cng_report(void *user, int tone, int level, int delay)
{
    (void)level;
    fax_report(user, 0, tone, delay);
}

static void ced_report(void *user, int tone, int level, int delay)
{
    (void)level;
    fax_report(user, 1, tone, delay);
}

/* libspandsp confirmed a fax tone of kind `which` between a and b (s). */
int cq__tones_fax_confirmed(const cq_tones *t, int which, double a, double b)
{
    for (size_t i = 0; i < t->nfax[which]; i++)
        if (t->fax_at[which][i] >= a - 0.5 && t->fax_at[which][i] <= b + 1.0)
            return 1;
    return 0;
}

cq_tones_params cq_tones_default_params(void)
{
    return (cq_tones_params){.dtmf_speech = false, .dtmf_voice_cancel = false};
}

cq_tones *cq_tones_create(const cq_tones_params *p, int *err)
{
    const cq_tones_params par = p ? *p : cq_tones_default_params();
    int rc = CQ_OK;
    cq_tones *t = cq__calloc(1, sizeof(*t));
    if (!t || !(t->run = cq__malloc(sizeof(float) * RUN_MAX)) ||
        !(t->ring = cq__calloc(PRESS_RING, sizeof(float)))) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    t->cad = -1;
    t->dtmf = dtmf_rx_init(NULL, NULL, NULL);
    if (!t->dtmf) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    dtmf_rx_set_realtime_callback(t->dtmf, dtmf_report, t);
    /* ours only on request (cq_tones.h); the voice-cancelled receiver reads the other's
     * half-band output */
    if (((par.dtmf_speech || par.dtmf_voice_cancel) &&
         !(t->rx2 = cq__dtmf_create(rx2_report, t, NULL))) ||
        (par.dtmf_voice_cancel && !(t->rx3 = cq__dtmf_create(rx3_report, t, t->rx2)))) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    static const double band_f[8] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
    for (int b = 0; b < 8; b++) { /* constant-Q band-pass resonators, 0 dB at each centre */
        double w0 = 2 * 3.14159265358979323846 * band_f[b] / RATE, al = sin(w0) / (2 * DTMF_BAND_Q);
        t->band_c[0][b] = (float)(al / (1 + al));
        t->band_c[1][b] = (float)(-2 * cos(w0) / (1 + al));
        t->band_c[2][b] = (float)((1 - al) / (1 + al));
    }
    t->cng = modem_connect_tones_rx_init(NULL, MODEM_CONNECT_TONES_FAX_CNG, cng_report, t);
    t->ced = modem_connect_tones_rx_init(NULL, MODEM_CONNECT_TONES_ANS, ced_report, t);
    if (!t->cng || !t->ced) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    int lanes = 0;
    for (int i = 0; i < N_IDS; i++)
        for (int k = 0; k < 2; k++) {
            double f = k ? k_ids[i].f2 : k_ids[i].f1;
            t->id_lane[i][k] = -1;
            if (f <= 0)
                continue;
            int l = 0;
            while (l < lanes &&
                   fabs(t->bank_sin[l] - sin(2 * 3.14159265358979323846 * f / RATE)) > 1e-12)
                l++;
            if (l == lanes) { /* a new frequency (the table has 14 distinct ones) */
                t->bank_c[l] = (float)(2 * cos(2 * 3.14159265358979323846 * f / RATE));
                t->bank_sin[l] = sin(2 * 3.14159265358979323846 * f / RATE);
                lanes++;
            }
            t->id_lane[i][k] = l;
        }
    for (int i = 0; i < FR; i++) {
        t->win[i] = (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * (i + 0.5) / FR));
        t->win_sum += t->win[i];
        t->win2_sum += (double)t->win[i] * t->win[i];
    }
    for (int i = 0; i < PRESS_WIN; i++) {
        t->press_win[i] =
            (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * (i + 0.5) / PRESS_WIN));
        t->press_wsum += t->press_win[i];
    }
done:
    if (rc != CQ_OK) {
        cq_tones_destroy(t);
        t = NULL;
    }
    if (err)
        *err = rc;
    return t;
}

void cq_tones_destroy(cq_tones *t)
{
    if (!t)
        return;
    if (t->dtmf)
        dtmf_rx_free(t->dtmf);
    cq__dtmf_destroy(t->rx2);
    cq__dtmf_destroy(t->rx3);
    if (t->cng)
        modem_connect_tones_rx_free(t->cng);
    if (t->ced)
        modem_connect_tones_rx_free(t->ced);
    cq__free(t->fax_at[0]);
    cq__free(t->fax_at[1]);
    cq__free(t->run);
    cq__free(t->ring);
    cq__free(t->segs);
    cq__free(t->ev);
    cq__free(t->box);
    cq__free(t->polled);
    cq__free(t->sorted);
    cq__free(t);
}

/* Power at f of x[0..n) windowed by w (Goertzel), normalised: a sine of power P reads P. */
static double tone_power(const float *x, const float *w, size_t n, double wsum, double f)
{
    const double c = 2 * cos(2 * 3.14159265358979323846 * f / RATE);
    double s1 = 0, s2 = 0;
    cq__k_goertzel(x, w, n, c, &s1, &s2);
    double re = s1 - s2 * c / 2, im = s2 * sin(2 * 3.14159265358979323846 * f / RATE);
    return 2 * (re * re + im * im) / (wsum * wsum);
}

/* tone_power at each of f[0..nf) into p[0..nf), the filters side by side (cq__k_goertzel_many):
 * the same readings, one pass over x per 64 of them. */
static void tone_powers(const float *x, const float *w, size_t n, double wsum, const double *f,
                        size_t nf, double *p)
{
    enum { MAXF = 64 };
    for (size_t at = 0; at < nf; at += MAXF) {
        const size_t m = nf - at < MAXF ? nf - at : MAXF;
        double c[MAXF], s1[MAXF] = {0}, s2[MAXF] = {0};
        for (size_t k = 0; k < m; k++)
            c[k] = 2 * cos(2 * 3.14159265358979323846 * f[at + k] / RATE);
        cq__k_goertzel_many(x, w, n, c, m, s1, s2);
        for (size_t k = 0; k < m; k++) {
            double re = s1[k] - s2[k] * c[k] / 2,
                   im = s2[k] * sin(2 * 3.14159265358979323846 * f[at + k] / RATE);
            p[at + k] = 2 * (re * re + im * im) / (wsum * wsum);
        }
    }
}

/* Every lane of the frame bank over one windowed frame, in one pass (cq__k_goertzel_bank).
 * Powers in tone_power's normalisation. */
static void bank_powers(const cq_tones *t, const float *x, float *pw)
{
    float s1[NBANK] = {0}, s2[NBANK] = {0};
    cq__k_goertzel_bank(x, t->win, FR, t->bank_c, NBANK, NULL, 0, s1, s2, NULL);
    const double norm = 2 / (t->win_sum * t->win_sum);
    for (int k = 0; k < NBANK; k++) {
        double re = s1[k] - s2[k] * t->bank_c[k] / 2, im = s2[k] * t->bank_sin[k];
        pw[k] = (float)(norm * (re * re + im * im));
    }
}

/* The table tone that best explains a frame (purity at least FRAME_PURITY), or -1. */
static int frame_best(const cq_tones *t, const float *pw, double power)
{
    int best = -1;
    double best_pur = FRAME_PURITY;
    for (int i = 0; i < N_IDS; i++) {
        double p = pw[t->id_lane[i][0]] + (t->id_lane[i][1] >= 0 ? pw[t->id_lane[i][1]] : 0);
        if (p / power > best_pur) {
            best_pur = p / power;
            best = i;
        }
    }
    return best;
}

/* Strongest reading of a tone near f: generators are off their nominal frequency by up to
 * about 1 %, more than a long window's resolution, so the run is searched within 1.5 % of
 * f in 2 Hz steps (the window is at most RUN_MAX samples: its main lobe is +-8 Hz wide). */
#define NEAR_MAX 64 /* readings within 1.5 % of f in 2 Hz steps: 60 at most, below 4 kHz */
/* tone_power_near of each of f[0..nf) into best[0..nf), every reading of them in one
 * tone_powers (nf at most NEAR_N) */
#define NEAR_N 26 /* the components of the table tones, or of their harmonics */
static void tone_powers_near(const float *x, const float *w, size_t n, double wsum, const double *f,
                             size_t nf, double *best)
{
    double g[NEAR_N * NEAR_MAX] = {0}, p[NEAR_N * NEAR_MAX];
    size_t m = 0, end[NEAR_N];
    for (size_t j = 0; j < nf && j < NEAR_N; j++) {
        for (double at = f[j] * 0.985, stop = f[j] * 1.015 + 1e-9;
             at <= stop && m < (j + 1) * NEAR_MAX; at += 2.0)
            g[m++] = at;
        end[j] = m;
    }
    tone_powers(x, w, n, wsum, g, m, p);
    for (size_t j = 0, k = 0; j < nf && j < NEAR_N; j++) {
        best[j] = 0;
        for (; k < end[j]; k++)
            if (p[k] > best[j])
                best[j] = p[k];
    }
}

static double tone_power_near(const float *x, const float *w, size_t n, double wsum, double f)
{
    double best;
    tone_powers_near(x, w, n, wsum, &f, 1, &best);
    return best;
}

/* Power of x within RUN_BAND_HZ of the components of table tone id: the long window's bins
 * (RATE / n apart) summed, over the Hann window's noise bandwidth (1.5 bins), so that a pure
 * tone reads its power. *peak_f: where that band is strongest. */
static double band_power(const float *x, const float *w, size_t n, double wsum, int id,
                         double *peak_f)
{
    const double step = (double)RATE / (double)n;
    double f1 = k_ids[id].f1, f2 = k_ids[id].f2 > 0 ? k_ids[id].f2 : f1, sum = 0, top = -1;
    /* the readings of either search below: (f2 - f1 + 2 RUN_BAND_HZ) / step + 1, 4 step + 1 */
    const size_t most = (size_t)((f2 - f1 + 2 * RUN_BAND_HZ) / step + 4 * step) + 4;
    double *g = cq__malloc(sizeof(double) * 2 * most), *p = g ? g + most : NULL;
    if (!g)
        return 0; /* no memory: no reading, no tone named */
    size_t m = 0;
    for (double at = f1 - RUN_BAND_HZ; at <= f2 + RUN_BAND_HZ + 1e-9 && m < most; at += step)
        if (!(at > f1 + RUN_BAND_HZ && at < f2 - RUN_BAND_HZ)) /* not between a wide pair's bands */
            g[m++] = at;
    tone_powers(x, w, n, wsum, g, m, p);
    for (size_t k = 0; k < m; k++) {
        sum += p[k];
        if (p[k] > top) {
            top = p[k];
            *peak_f = g[k];
        }
    }
    /* the peak to 0.5 Hz: the bins alone would put G4 (392 Hz) at 394, within 1.5 % of 400 */
    const double coarse = *peak_f;
    m = 0;
    for (double at = coarse - step; at <= coarse + step + 1e-9 && m < most; at += 0.5)
        g[m++] = at;
    tone_powers(x, w, n, wsum, g, m, p);
    for (size_t k = 0; k < m; k++)
        if (p[k] > top) {
            top = p[k];
            *peak_f = g[k];
        }
    cq__free(g);
    return sum / 1.5;
}

/*
 * The table tone that names a run x, or -1: of the tones within 150 Hz of the run's own
 * (near_f), the one with the most power at its nominal frequencies (each component searched
 * within 1.5 % of it; each component of a pair must carry at least 10 % of the pair). It names
 * the run when RUN_PEAK of the run's power is at those frequencies, RUN_PURITY within
 * RUN_BAND_HZ of them, and the strongest part of that band is at one of them (a note or a
 * harmonic a little off the table frequency, e.g. G4 = 392 Hz beside 400 Hz, leaks into the
 * nominal reading but peaks elsewhere).
 */
static int best_tone(const float *x, const float *w, size_t n, double wsum, double power,
                     double near_f)
{
    int best = -1;
    double best_p = 0;
    /* the components of the tones within 150 Hz of the run's, read in one pass */
    double fs[2 * N_IDS], ps[2 * N_IDS];
    int at[N_IDS];
    size_t nf = 0;
    for (int i = 0; i < N_IDS; i++) {
        at[i] = (int)nf;
        if (fabs(centre(i) - near_f) > 150)
            continue;
        fs[nf++] = k_ids[i].f1;
        if (k_ids[i].f2 > 0)
            fs[nf++] = k_ids[i].f2;
    }
    tone_powers_near(x, w, n, wsum, fs, nf, ps);
    for (int i = 0; i < N_IDS; i++) {
        double p0, p1 = 0;
        if (fabs(centre(i) - near_f) > 150)
            continue;
        p0 = ps[at[i]];
        if (k_ids[i].f2 > 0) {
            p1 = ps[at[i] + 1];
            if (p0 < 0.1 * (p0 + p1) || p1 < 0.1 * (p0 + p1))
                continue;
        }
        if (p0 + p1 > best_p) {
            best_p = p0 + p1;
            best = i;
        }
    }
    if (best < 0 || best_p < RUN_PEAK * power)
        return -1;
    double peak_f = 0;
    if (band_power(x, w, n, wsum, best, &peak_f) < RUN_PURITY * power)
        return -1;
    const double f1 = k_ids[best].f1, f2 = k_ids[best].f2;
    if (fabs(peak_f - f1) > 0.015 * f1 && !(f2 > 0 && fabs(peak_f - f2) <= 0.015 * f2))
        return -1;
    /* a generator's tone has no harmonics; an instrument's note has them (an organ's second
     * partial is a few dB under its first, a flute's 10-15 dB) */
    double harm = 0, fh[4], ph[4];
    size_t nh = 0;
    for (int h = 2; h <= 3; h++)
        for (int k = 0; k < (f2 > 0 ? 2 : 1); k++)
            if (h * (k ? f2 : f1) < RATE / 2 - 100)
                fh[nh++] = h * (k ? f2 : f1);
    tone_powers_near(x, w, n, wsum, fh, nh, ph);
    for (size_t k = 0; k < nh; k++)
        harm += ph[k];
    if (harm > HARM_MAX * best_p)
        return -1;
    return best;
}

/* The share of x[0..n)'s power (Hann-windowed) at the frequencies of table tone id, each
 * component sought within 1.5 % of nominal; 0 when a component of a pair carries under 10 %
 * of the pair. For the short pieces of a tone cut by the recording's ends. */
double cq__tones_share(const float *x, size_t n, int id)
{
    float *w = cq__malloc(sizeof(float) * n);
    if (!w || n < FR / 2) {
        cq__free(w);
        return 0;
    }
    double wsum = 0, w2sum = 0, pw = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * (i + 0.5) / n));
        wsum += w[i];
        w2sum += (double)w[i] * w[i];
        pw += (double)w[i] * w[i] * x[i] * x[i];
    }
    const double power = pw / w2sum;
    double p0 = tone_power_near(x, w, n, wsum, k_ids[id].f1), p1 = 0;
    if (k_ids[id].f2 > 0) {
        p1 = tone_power_near(x, w, n, wsum, k_ids[id].f2);
        if (p0 < 0.1 * (p0 + p1) || p1 < 0.1 * (p0 + p1))
            p0 = p1 = 0;
    }
    cq__free(w);
    return power > 0 ? (p0 + p1) / power : 0;
}

/* The run's first n samples as the fragment f, the part that sounds, to 2.5 ms: blocks within
 * 6 dB of the loudest. Pieces under 20 ms are not kept (through a codec they cannot be told
 * from its smear). */
static void keep_frag(cq_tones *t, frag *f, size_t n)
{
    enum { B = RATE / 400 };
    /* the frame before the run's first too: a piece of a tone that starts late in a frame
     * does not make it tonal */
    float x[sizeof(f->x) / sizeof(f->x[0])];
    const size_t pre = t->run_x0 >= FR ? FR : 0;
    if (n > sizeof(x) / sizeof(x[0]) - pre)
        n = sizeof(x) / sizeof(x[0]) - pre;
    memcpy(x, t->run_pre, pre * sizeof(float));
    memcpy(x + pre, t->run, n * sizeof(float));
    n += pre;
    double db[sizeof(x) / sizeof(x[0]) / B], top = -200;
    const size_t nb = n / B;
    for (size_t k = 0; k < nb; k++) {
        double e = 0;
        for (size_t i = 0; i < B; i++)
            e += (double)x[k * B + i] * x[k * B + i];
        db[k] = 10 * log10(e / B + 1e-20);
        top = fmax(top, db[k]);
    }
    /* a block sounds when it is within 6 dB of the loudest, or, at the piece's ends, within
     * 12 dB when the block inside it is within 6: a pair of tones beats, its envelope dipping
     * to nothing every 1 / (f2 - f1) s (7 ms for 480 + 620 Hz; a 2.5 ms block over the dip is
     * 10 dB down), which must not cut a piece of it short; the silence or the smear beside a
     * tone's edge is further down */
    size_t a = 0, b = nb;
    while (a < nb && db[a] < top - 6 && !(db[a] >= top - 12 && a + 1 < nb && db[a + 1] >= top - 6))
        a++;
    while (b > a && db[b - 1] < top - 6 &&
           !(db[b - 1] >= top - 12 && b >= 2 && db[b - 2] >= top - 6))
        b--;
    if ((b - a) * B < RATE / 50)
        return;
    memcpy(f->x, x + a * B, (b - a) * B * sizeof(float));
    f->n = (b - a) * B;
    f->start = (double)(t->run_x0 - pre + a * B) / RATE;
    f->end = (double)(t->run_x0 - pre + b * B) / RATE;
}

/* A run is a table tone (named), or not: then it is one of the refused (cq_tones_refused), from
 * its first sample to the last pushed. */
static void judge(cq_tones *t, int named)
{
    t->run_judged = named ? 1 : -1;
    if (!named) {
        t->nrefused++;
        t->refused_a = t->run_x0;
        t->refused_b = t->in_run ? t->pos : t->run_end;
    }
}

/* The table tone the run's first n samples are (best_tone over them, Hann-windowed, their DC
 * offset aside), into *id, -1 for none; the run is judged by it (run_judged), once. */
static int name_run(cq_tones *t, size_t n, int *id)
{
    float *x = cq__malloc(sizeof(float) * 2 * (n ? n : 1));
    if (!x)
        return CQ_ERR_NOMEM;
    float *w = x + n;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += t->run[i];
    mean /= (double)(n ? n : 1);
    double wsum = 0, w2sum = 0, pw = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = t->run[i] - (float)mean; /* a DC offset is not part of any tone */
        w[i] = (float)(0.5 - 0.5 * cos(2 * 3.14159265358979323846 * (i + 0.5) / n));
        wsum += w[i];
        w2sum += (double)w[i] * w[i];
        pw += (double)w[i] * w[i] * x[i] * x[i];
    }
    /* the windowed mean power, which tone_power reads in full for a pure tone */
    const double power = n ? pw / w2sum : 0;
    *id = power > 0 ? best_tone(x, w, n, wsum, power, t->run_f) : -1;
    cq__free(x);
    if (!t->run_judged)
        judge(t, *id >= 0);
    return CQ_OK;
}

/* A run of tonal frames ended: name it over its length and keep it as a segment. A run too
 * short to name that the recording's start or end cut is kept as the fragment there, to be
 * joined to the cadence beside it (settle). */
static int close_run(cq_tones *t)
{
    t->in_run = 0;
    if (t->stream_end && t->run_end > t->stream_end) /* the padding of the last frame */
        t->run_end = t->stream_end;
    /* the edges: MP3 and GSM 06.10 smear a burst over 40-60 ms either side, still at the
     * tone's frequency, tens of dB down */
    float top = -200;
    for (int k = 0; k < t->nhead_fr; k++)
        top = fmaxf(top, t->head_fr[k].db);
    for (int k = 0; k < t->nhead_fr; k++)
        if (t->head_fr[k].db >= top - EDGE_DB) {
            t->run_start = t->head_fr[k].a;
            break;
        }
    const int nt = t->ntail_fr < EDGE_N ? t->ntail_fr : EDGE_N;
    top = -200;
    for (int k = 0; k < nt; k++)
        top = fmaxf(top, t->tail_fr[k].db);
    for (int k = 0; k < nt; k++) { /* from the last frame back */
        const struct edge *e = &t->tail_fr[(t->ntail_fr - 1 - k) % EDGE_N];
        if (e->db >= top - EDGE_DB) {
            t->run_end = e->b > t->run_start ? e->b : t->run_end;
            break;
        }
    }
    size_t n = t->run_len;
    if (t->run_end - t->run_start < MIN_RUN * FR) {
        /* under 0.16 s: shorter than any burst the tables know (within 20 %, and a lost 20 ms
         * frame or three): unless the recording's own start or end cut it */
        /* the first run at the start may be the head; the last short run, the tail (once the
         * stream ends, if it is near the end) */
        frag *f = t->run_start < FRAG_EDGE && !t->nsegs && !t->head.n ? &t->head : &t->tail;
        if (n)
            keep_frag(t, f, n);
        if (!t->run_judged)
            judge(t, 0);
        return CQ_OK;
    }
    int id;
    if (name_run(t, n, &id) != CQ_OK)
        return CQ_ERR_NOMEM;
    if (id < 0)
        return CQ_OK;
    if (cq__grow((void **)&t->segs, &t->capsegs, t->nsegs + 1, sizeof(seg)) != CQ_OK)
        return CQ_ERR_NOMEM;
    t->segs[t->nsegs++] = (seg){id, (double)t->run_start / RATE, (double)t->run_end / RATE};
    return CQ_OK;
}

static int end_frame(cq_tones *t)
{
    double p = 0;
    float xw[FR];
    for (int i = 0; i < FR; i++) {
        p += (double)t->frame[i] * t->frame[i];
        xw[i] = t->frame[i];
    }
    p /= FR;
    uint64_t fstart = t->pos - FR;
    int tonal = 0;
    /* a run begins at MIN_DB and goes on down to RUN_HOLD_DB under it: at low levels GSM
     * 06.10 moves a steady tone's frame level by +-6 dB, frame to frame */
    if (10 * log10(p + 1e-20) >= MIN_DB - (t->in_run ? RUN_HOLD_DB : 0)) {
        /* windowed power in tone_power's normalisation: mean of (w x)^2 over mean w^2 */
        double pw = 0;
        for (int i = 0; i < FR; i++)
            pw += (double)t->win[i] * t->win[i] * xw[i] * xw[i];
        double power = pw / t->win2_sum;
        float pwb[NBANK];
        bank_powers(t, xw, pwb);
        int id = frame_best(t, pwb, power);
        tonal = id >= 0;
        if (tonal && t->in_run && fabs(centre(id) - t->run_f) > 150) {
            /* a different tone follows at once (SIT): the run ends here */
            size_t keep = (size_t)(t->run_end - t->run_start);
            if (t->run_len > keep)
                t->run_len = keep;
            if (close_run(t) != CQ_OK)
                return CQ_ERR_NOMEM;
        }
        if (tonal && !t->in_run)
            t->run_f = centre(id);
    }
    if (tonal) {
        if (!t->in_run) {
            t->in_run = 1;
            t->run_start = t->run_x0 = fstart;
            t->run_len = 0;
            t->run_judged = 0;
            memcpy(t->run_pre, t->prev, sizeof(t->prev));
            t->nhead_fr = t->ntail_fr = 0;
        }
        const struct edge e = {(float)(10 * log10(p + 1e-20)), fstart, t->pos};
        if (t->nhead_fr < EDGE_N)
            t->head_fr[t->nhead_fr++] = e;
        t->tail_fr[t->ntail_fr++ % EDGE_N] = e;
        t->gap_frames = 0;
        t->run_end = t->pos;
        for (int i = 0; i < FR && t->run_len < RUN_MAX; i++)
            t->run[t->run_len++] = t->frame[i];
        int id;
        if (t->run_len == RUN_MAX && !t->run_judged && name_run(t, RUN_MAX, &id) != CQ_OK)
            return CQ_ERR_NOMEM;
    } else if (t->in_run && ++t->gap_frames > BRIDGE) {
        /* drop the bridged frame's samples: the run ended at run_end */
        size_t keep = (size_t)(t->run_end - t->run_start);
        if (t->run_len > keep)
            t->run_len = keep;
        const int rc = close_run(t);
        memcpy(t->prev, t->frame, sizeof(t->prev));
        return rc;
    } else if (t->in_run) {
        for (int i = 0; i < FR && t->run_len < RUN_MAX; i++)
            t->run[t->run_len++] = t->frame[i]; /* a bridged frame */
    }
    memcpy(t->prev, t->frame, sizeof(t->prev));
    return CQ_OK;
}

/*
 * What libspandsp's DTMF receiver hears: the sum of 8 band-pass resonators, one on each DTMF
 * frequency (Q 5: 140 Hz wide at 697 Hz, 330 Hz at 1633 Hz; each 0 dB at its centre). The bands
 * overlap, so the sum reads a DTMF tone 5.4-7.7 dB over its level, the rows up to 2.3 dB more
 * than the columns: the receiver takes keys whose column is up to 5 dB under the row or 3 dB
 * over it (Q.24 asks for 8 and 4). Summed to read each tone at 0 dB, it took 7 and 3.5 dB,
 * lost the digits at -50 dBFS, and made a 'D' of call06's hold music: kept as it is. libspandsp's
 * receiver asks that the two tones carry 82 % (-0.85 dB) of a 12.75 ms block's energy, a fixed test
 * its settings do not reach: under speech at the tone's level most blocks fail it, and a 50 ms
 * digit has three. Speech outside the DTMF bands (its pitch, first formant and highs) is kept
 * out of that energy. Measured on the corpus
 * (tests/dsp/test_dtmf_speech.c, 880 digits per level): found under speech at 0 / -7 /
 * -12 dB, spandsp alone 52 / 39 / 33 %; with its dial-tone notches 54 / 40 / 33 %; twist 8-12
 * dB, reverse twist 4-8 dB and threshold -50 to -42 dBm0 changed nothing (-30 dBm0 lost
 * digits). With the bands 76 / 60 / 49 %, and no digit on the corpus's speech, prompts, music
 * and calls; bands of Q 7 and narrower let one in, and so does adding the dial-tone notches
 * to the bands (78 / 63 / 51 %, but a 30 ms "D" in call06's hold music). Our receiver
 * (dtmf.c) finds most of the rest.
 */
CQ_CLONES static void dtmf_bands(cq_tones *t, const float *x, int16_t *out)
{
    /* the 8 resonators are independent lanes: the first loop vectorises across them; their
     * outputs, kept, are summed in a second loop that vectorises across the samples, each
     * sample's sum in the resonators' order (band 0 first) */
    float z0[8], z1[8], y[8][FR];
    memcpy(z0, t->band_z[0], sizeof(z0));
    memcpy(z1, t->band_z[1], sizeof(z1));
    for (int i = 0; i < FR; i++) {
        const float v = x[i] * 32768.0f;
        for (int b = 0; b < 8; b++) {
            float yb = t->band_c[0][b] * v + z0[b];
            z0[b] = -t->band_c[1][b] * yb + z1[b];
            z1[b] = -t->band_c[0][b] * v - t->band_c[2][b] * yb;
            y[b][i] = yb;
        }
    }
    for (int i = 0; i < FR; i++) {
        float sum = 0;
        for (int b = 0; b < 8; b++)
            sum += y[b][i];
        out[i] = (int16_t)(sum > 32767.0f ? 32767 : sum < -32768.0f ? -32768 : sum);
    }
    memcpy(t->band_z[0], z0, sizeof(z0));
    memcpy(t->band_z[1], z1, sizeof(z1));
}

static int settle(cq_tones *t, int final);

int cq_tones_push(cq_tones *t, const float *x, size_t n)
{
    int16_t s16[FR];
    for (size_t i = 0; i < n; i++) {
        t->frame[t->nframe++] = x[i];
        t->ring[t->pos % PRESS_RING] = x[i];
        t->pos++;
        if (t->nframe == FR) {
            int16_t band16[FR];
            for (int k = 0; k < FR; k++) {
                float v = t->frame[k] * 32768.0f;
                s16[k] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
            }
            dtmf_bands(t, t->frame, band16);
            /* spandsp's callback reads t->pos: feed it in 10 ms halves for its timing */
            t->pos -= FR / 2;
            dtmf_rx(t->dtmf, band16, FR / 2);
            t->pos += FR / 2;
            dtmf_rx(t->dtmf, band16 + FR / 2, FR / 2);
            if (t->rx2)
                cq__dtmf_push(t->rx2, t->frame, FR);
            if (t->rx3)
                cq__dtmf_push(t->rx3, t->frame, FR);
            modem_connect_tones_rx(t->cng, s16, FR);
            modem_connect_tones_rx(t->ced, s16, FR);
            t->nframe = 0;
            if (end_frame(t) != CQ_OK || t->nomem)
                return CQ_ERR_NOMEM;
            if (settle(t, 0) != CQ_OK)
                return CQ_ERR_NOMEM;
        }
    }
    return CQ_OK;
}

static int settle(cq_tones *t, int final)
{
    double now = (double)t->pos / RATE;
    if (final && t->digit) { /* a digit still sounding when the stream ended ends with it */
        t->closing = 1;
        dtmf_report(t, 0, 0, 0);
        t->closing = 0;
    }
    if (final) {
        if (t->rx2)
            cq__dtmf_finish(t->rx2);
        if (t->rx3)
            cq__dtmf_finish(t->rx3);
    }
    flush_digits(t, final);
    if (t->dtmf_open && (final || now - t->dtmf_ev.end_sec >= DTMF_GAP_SEC) && !t->digit &&
        !t->nqueue && !(t->rx2 && cq__dtmf_active(t->rx2)) &&
        !(t->rx3 && cq__dtmf_active(t->rx3)) && commit_dtmf(t) != CQ_OK)
        return CQ_ERR_NOMEM;
    return cq__tones_chains(t, now, final);
}

int cq_tones_poll(cq_tones *t, const cq_tone_event **events, size_t *n)
{
    cq_tone_event *p = t->polled; /* swap the box and the last poll's buffer */
    size_t cp = t->cappolled;
    t->polled = t->box, t->cappolled = t->capbox;
    *events = t->polled;
    *n = t->nbox;
    t->box = p, t->capbox = cp, t->nbox = 0;
    return CQ_OK;
}

int cq_tones_finish(cq_tones *t, const cq_tone_event **events, size_t *n)
{
    if (!t->finished) {
        if (t->nframe) {
            /* the last, partial frame, zero-padded: a tone's last piece may be all in it (for
             * the call-progress tones; the DTMF receivers end with the stream as they are) */
            const uint64_t end = t->pos;
            memset(t->frame + t->nframe, 0, sizeof(float) * (size_t)(FR - t->nframe));
            t->pos += (uint64_t)(FR - t->nframe);
            t->stream_end = end;
            const int rc = end_frame(t);
            t->pos = end;
            t->nframe = 0;
            if (rc != CQ_OK)
                return rc;
        }
        t->stream_end = t->pos;
        if (t->in_run && close_run(t) != CQ_OK)
            return CQ_ERR_NOMEM;
        if (settle(t, 1) != CQ_OK)
            return CQ_ERR_NOMEM;
        /* a copy in time order; ev stays in completion order for cq_tones_poll */
        if (t->nev && !(t->sorted = cq__malloc(t->nev * sizeof(*t->sorted))))
            return CQ_ERR_NOMEM;
        for (size_t a = 0; a < t->nev; a++) {
            size_t b = a;
            for (; b > 0 && t->ev[a].start_sec < t->sorted[b - 1].start_sec; b--)
                t->sorted[b] = t->sorted[b - 1];
            t->sorted[b] = t->ev[a];
        }
        t->finished = 1;
    }
    *events = t->sorted;
    *n = t->nev;
    return CQ_OK;
}

size_t cq_tones_runs(const cq_tones *t, cq_tone_run *out, size_t max)
{
    size_t n = 0;
    const int head = t->used[0].end > 0, tail = t->used[1].end > 0;
    if (head && n < max)
        out[n] = (cq_tone_run){t->used[0].start, t->used[0].end};
    n += head;
    for (size_t i = 0; i < t->nsegs; i++, n++)
        if (n < max)
            out[n] = (cq_tone_run){t->segs[i].start, t->segs[i].end};
    if (tail && n < max)
        out[n] = (cq_tone_run){t->used[1].start, t->used[1].end};
    return n + tail;
}

bool cq_tones_dtmf_active(const cq_tones *t)
{
    return t->digit != 0 || t->nqueue || (t->rx2 && cq__dtmf_active(t->rx2)) ||
           (t->rx3 && cq__dtmf_active(t->rx3));
}

bool cq_tones_active(const cq_tones *t)
{
    return t->in_run || cq_tones_dtmf_active(t);
}

bool cq_tones_signal(const cq_tones *t)
{
    return (t->in_run && t->run_judged >= 0) || cq_tones_dtmf_active(t);
}

uint64_t cq_tones_unjudged_from(const cq_tones *t)
{
    return t->in_run && !t->run_judged ? t->run_x0 : UINT64_MAX;
}

unsigned cq_tones_refused(const cq_tones *t, uint64_t *start, uint64_t *end)
{
    *start = t->refused_a;
    *end = t->refused_b;
    return t->nrefused;
}
