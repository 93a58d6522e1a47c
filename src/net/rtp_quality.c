/*
 * rtp_quality.c - what the network did to one RTP stream's voice, as a listener behind a jitter
 * buffer would hear it (docs/network/rtp.md, "Network MOS"):
 *
 *   loss runs      the lengths of the runs of sequence numbers that never came (1 ... 9, 10+);
 *   |D|            RFC 3550's transit difference of consecutive arrivals, in 10 ms bins;
 *   jitter buffers each packet, in sequence order, is played at the first packet's arrival +
 *                  its RTP time + the buffer's delay; one that arrives after that is lost too.
 *                  Fixed 50 ms and 200 ms; and an adaptive one (ours): its delay follows the
 *                  largest lateness of the last 100 packets + 20 ms, from 20 to 500 ms;
 *   MOS            the ITU-T G.107 E-model (emodel.c) with the codec's G.113 Ie and Bpl, the
 *                  loss behind each buffer as Ppl, its burst ratio, and as delay the buffer's
 *                  mean delay + the codec's frame and look-ahead + the packet time (the network's
 *                  one-way delay is not in a capture taken at one point: not counted);
 *   per 10 s       the same for each 10 s of the stream behind the 50 ms buffer, each kept
 *                  (intervals) and the lowest.
 *
 * The burst ratio is G.107's: the mean length of the loss runs over the mean length random loss
 * at the same rate would give, from the two-state Markov model, 1 / (p + q) (p: a loss after a
 * packet that came, q: a packet that came after a loss).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_int.h"

#define JB_ADAPT_MIN 20.0
#define JB_ADAPT_MAX 500.0
#define JB_ADAPT_MARGIN 20.0
#define JB_ADAPT_WINDOW 100 /* packets */
#define MOS_WINDOW_SEC 10.0

static int by_seq(const void *a, const void *b)
{
    const net_rtp_rec *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->arrival_ms < y->arrival_ms ? -1 : x->arrival_ms > y->arrival_ms;
}

/* The codec of the stream's voice, by its first payload type with planning values. */
static bool codec_of(const net_rtp_stream *s, net_codec_plan *plan)
{
    static const char *const names[35] = {
        [0] = "PCMU", [3] = "GSM", [4] = "G723", [8] = "PCMA", [18] = "G729"};
    for (int i = 0; i < s->n_pts; i++) {
        const char *n = s->pts[i] < 35 ? names[s->pts[i]] : s->pt_names[i];
        if (n && n[0] && net_codec_planning(n, plan))
            return true;
    }
    return false;
}

/* Loss and burst ratio over lost[0..n). */
static void loss_of(const unsigned char *lost, size_t n, double *ppl, double *burst)
{
    size_t nl = 0, r2l = 0, l2r = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        nl += lost[i];
        if (i + 1 < n) {
            if (!lost[i]) {
                nr++;
                r2l += lost[i + 1];
            } else {
                l2r += !lost[i + 1];
            }
        }
    }
    *ppl = n ? 100.0 * (double)nl / (double)n : 0;
    double p = nr ? (double)r2l / (double)nr : 0, q = nl ? (double)l2r / (double)nl : 1;
    *burst = nl && p + q > 0 ? 1.0 / (p + q) : 1.0;
    if (*burst < 1)
        *burst = 1; /* G.107: 1 for random loss; more scattered than random counts as random */
}

static double mos_of(const net_codec_plan *plan, double bpl, double ppl, double burst,
                     double delay_ms)
{
    net_emodel e = net_emodel_defaults();
    e.ie = plan->ie;
    e.bpl = bpl > 0 ? bpl : plan->bpl > 0 ? plan->bpl : e.bpl;
    e.ppl = ppl;
    e.burst_r = burst;
    e.t = e.ta = delay_ms;
    e.tr = 2 * delay_ms;
    return net_emodel_mos(net_emodel_r(&e));
}

void net__rtp_quality(const net_limits *lim, net_rtp_stream *s, net_rtp_rec *rec, size_t *n_io,
                      bool full)
{
    size_t n = *n_io;
    /* |D| of consecutive arrivals, in arrival order (the records are in it) */
    uint32_t rate = s->clock_rate;
    for (size_t i = 0, prev = SIZE_MAX; rate && i < n; i++) {
        if (!rec[i].voice)
            continue;
        if (prev != SIZE_MAX) {
            double d = (rec[i].arrival_ms - rec[prev].arrival_ms) -
                       (double)(rec[i].ts - rec[prev].ts) * 1000.0 / rate;
            int bin = (int)(fabs(d) / 10);
            s->dv_hist[bin < NET_DV_BINS ? bin : NET_DV_BINS - 1]++;
        }
        prev = i;
    }
    if (n < 2)
        return;
    qsort(rec, n, sizeof(*rec), by_seq);
    size_t k = 0; /* the first arrival of each sequence number */
    for (size_t i = 0; i < n; i++)
        if (!k || rec[i].seq != rec[k - 1].seq)
            rec[k++] = rec[i];
    n = *n_io = k;
    int64_t first = rec[0].seq, span = rec[n - 1].seq - first + 1;
    if (span < 2 || span > (int64_t)n * 64 + 1000)
        return; /* not a voice stream's sequence (a restart, a wild jump): no MOS */
    /* the runs of sequence numbers that never came */
    size_t net_lost = 0;
    for (size_t i = 1; i < n; i++) {
        int64_t gap = rec[i].seq - rec[i - 1].seq - 1;
        if (gap > 0) {
            s->loss_hist[gap < NET_LOSS_BINS ? gap - 1 : NET_LOSS_BINS - 1]++;
            net_lost += (size_t)gap;
        }
    }
    s->net_loss_pct = 100.0 * (double)net_lost / (double)span;
    net_codec_plan plan;
    if (full || !rate || !codec_of(s, &plan))
        return;
    snprintf(s->mos_codec, sizeof(s->mos_codec), "%s", plan.name);
    /* the packet time, from the median timestamp step */
    double frame_ms = 20;
    if (n > 2) {
        double steps[64];
        size_t m = 0;
        for (size_t i = 1; i < n && m < 64; i++)
            if (rec[i].seq == rec[i - 1].seq + 1 && rec[i].voice && rec[i - 1].voice)
                steps[m++] = (double)(rec[i].ts - rec[i - 1].ts) * 1000.0 / rate;
        for (size_t i = 1; i < m; i++) /* a small insertion sort */
            for (size_t j = i; j > 0 && steps[j] < steps[j - 1]; j--) {
                double t = steps[j];
                steps[j] = steps[j - 1], steps[j - 1] = t;
            }
        if (m && steps[m / 2] > 0 && steps[m / 2] <= 200)
            frame_ms = steps[m / 2];
    }
    size_t v0 = 0, n_voice = 0; /* the first voice packet: the buffer's clock starts there */
    for (size_t i = n; i-- > 0;)
        if (rec[i].voice)
            v0 = i, n_voice++;
    unsigned char *lost = n_voice ? malloc((size_t)span) : NULL,
                  *gone = lost ? malloc((size_t)span) : NULL; /* never came */
    if (!gone) {
        free(lost);
        return;
    }
    memset(gone, 1, (size_t)span);
    for (size_t i = 0; i < n; i++)
        gone[rec[i].seq - first] = 0;
    double t0 = rec[v0].arrival_ms;
    int64_t ts0 = rec[v0].ts;
    for (int jb = 0; jb < NET_JB_N; jb++) {
        memset(lost, 1, (size_t)span);
        double target = jb == 0 ? 50 : jb == 1 ? 200 : 60, delay_sum = 0;
        /* the largest lateness of the last JB_ADAPT_WINDOW packets: a monotonic queue of their
         * indices (lateness decreasing from its head), each packet in and out once */
        double recent[JB_ADAPT_WINDOW];
        size_t dq[JB_ADAPT_WINDOW + 1], head = 0, tail = 0;
        for (size_t i = 0; i < n; i++) {
            if (!rec[i].voice) { /* an event or comfort noise: present, not played */
                lost[rec[i].seq - first] = 0;
                continue;
            }
            double late = rec[i].arrival_ms - (t0 + (double)(rec[i].ts - ts0) * 1000.0 / rate);
            delay_sum += target;
            lost[rec[i].seq - first] = late > target;
            if (jb == 2) { /* the adaptive buffer follows the recent lateness */
                recent[i % JB_ADAPT_WINDOW] = late;
                while (tail > head &&
                       recent[dq[(tail - 1) % (JB_ADAPT_WINDOW + 1)] % JB_ADAPT_WINDOW] <= late)
                    tail--;
                dq[tail++ % (JB_ADAPT_WINDOW + 1)] = i;
                if (dq[head % (JB_ADAPT_WINDOW + 1)] + JB_ADAPT_WINDOW <= i)
                    head++;
                double peak = recent[dq[head % (JB_ADAPT_WINDOW + 1)] % JB_ADAPT_WINDOW];
                target = (peak > 0 ? peak : 0) + JB_ADAPT_MARGIN;
                target = target < JB_ADAPT_MIN   ? JB_ADAPT_MIN
                         : target > JB_ADAPT_MAX ? JB_ADAPT_MAX
                                                 : target;
            }
        }
        double ppl, burst;
        loss_of(lost, (size_t)span, &ppl, &burst);
        s->jb_loss_pct[jb] = ppl;
        s->jb_delay_ms[jb] = delay_sum / (double)n_voice;
        double delay = s->jb_delay_ms[jb] + plan.algo_ms + frame_ms;
        s->mos[jb] = mos_of(&plan, lim->bpl, ppl, burst, delay);
        if (jb == 0) {
            s->burst_ratio = burst;
            /* each 10 s of the stream, behind the 50 ms buffer */
            int64_t per = (int64_t)(MOS_WINDOW_SEC * 1000 / frame_ms);
            s->min_mos_10s = 5;
            free(s->intervals);
            s->intervals = per > 0 ? calloc((size_t)(span / per + 1), sizeof(*s->intervals)) : NULL;
            s->n_intervals = 0;
            for (int64_t w = 0; per > 0 && w < span; w += per) {
                int64_t len = span - w < per ? span - w : per;
                if (len < per / 2 && w > 0)
                    break; /* a last scrap shorter than 5 s says little */
                double wp, wb, np, nb;
                loss_of(lost + w, (size_t)len, &wp, &wb);
                loss_of(gone + w, (size_t)len, &np, &nb);
                double m = mos_of(&plan, lim->bpl, wp, wb, delay);
                double at = (t0 + (double)w * frame_ms) / 1000.0;
                if (m < s->min_mos_10s) {
                    s->min_mos_10s = m;
                    s->min_mos_at_sec = at;
                }
                if (s->intervals)
                    s->intervals[s->n_intervals++] =
                        (net_rtp_interval){.start_sec = at,
                                           .end_sec = at + (double)len * frame_ms / 1000.0,
                                           .net_loss_pct = np,
                                           .loss_pct = wp,
                                           .mos = m};
            }
        }
    }
    free(lost);
    free(gone);
    s->has_mos = true;
}
