/*
 * stage_window.c - what the model stages share about their windows of a leg: how much of the
 * VAD's speech a window holds, how far Silero's speech reaches from a chunk of its
 * probabilities (a window further from any chunk at or over the end-of-speech threshold holds
 * none), and the leg's scores as the mean of its windows weighted by their speech (NISQA's and
 * DNSMOS's windowed modes: nisqa.c, dnsmos.c).
 */
#include <math.h>

#include "stage.h"

double cq__speech_in(const cq_leg_report *l, double a, double b)
{
    double s = 0;
    for (size_t i = 0; l->has_vad && i < l->n_speech; i++) {
        double x = (double)l->speech[i].start / l->vad_rate_hz;
        double y = (double)l->speech[i].end / l->vad_rate_hz;
        double lo = x > a ? x : a, hi = y < b ? y : b;
        s += hi > lo ? hi - lo : 0;
    }
    return s;
}

double cq__speech_neg(const cq_speech_params *p)
{
    return p->neg_threshold >= 0 ? p->neg_threshold : fmax((double)p->threshold - 0.15, 0.01);
}

int cq__speech_reach_ms(const cq_speech_params *p)
{
    return p->speech_pad_ms + p->min_silence_ms + 100;
}

void cq__window_mean_start(cq__window_mean *m, double speech_sec)
{
    memset(m, 0, sizeof(*m));
    m->uniform = !(speech_sec > 0);
}

void cq__window_mean_add(cq__window_mean *m, double speech_sec, const double *score, int k)
{
    double w = m->uniform ? 1.0 : speech_sec;
    for (int j = 0; j < k && j < CQ__WINDOW_SCORES; j++)
        m->sum[j] += w * score[j];
    m->weight += w;
}

double cq__window_mean_of(const cq__window_mean *m, int j)
{
    return m->sum[j] / m->weight;
}
