/*
 * speech.c - speech segments from chunk probabilities (see cq_speech.h).
 *
 * DESIGN
 * A walk over the chunks with Silero's state machine, in samples:
 *  - not in speech: a chunk with prob >= threshold starts a segment at its first sample;
 *  - in speech: a chunk with prob < neg_threshold opens a tentative end (its first sample); the
 *    end is confirmed once the pause has lasted min_silence samples, measured from the start
 *    of the chunk being examined; a chunk with prob >= threshold cancels the tentative end.
 *    A confirmed segment is kept when longer than min_speech samples (strictly).
 *  - with a finite max_speech, a segment that grows past it is cut at its longest pause of
 *    more than 98 ms (the first of equals; speech resumes where that pause ended), else at the
 *    current chunk (Silero v6's default, use_max_poss_sil_at_max_speech);
 *  - at the end of the stream an open segment ends at the last sample, if long enough.
 * Then padding: the first segment starts pad samples earlier (not before 0); between
 * neighbours, a gap under 2 pad is split at its middle (integer halving), otherwise each side
 * gets pad; the last segment ends pad later (not after the stream).
 * Sample conversions truncate as Python's int() does on sample_rate * ms / 1000.
 */
#include <math.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_speech.h"

cq_speech_params cq_speech_default_params(void)
{
    cq_speech_params p = {
        .threshold = 0.5f,
        .neg_threshold = -1.0f,
        .min_speech_ms = 250,
        .min_silence_ms = 300,
        .speech_pad_ms = 30,
        .max_speech_sec = INFINITY,
    };
    return p;
}

typedef struct segs {
    cq_speech_seg *v;
    size_t n, cap;
} segs;

static int push(segs *s, uint64_t start, uint64_t end)
{
    if (cq__grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) != CQ_OK)
        return CQ_ERR_NOMEM;
    s->v[s->n].start = start;
    s->v[s->n].end = end;
    s->n++;
    return CQ_OK;
}

int cq_speech_timestamps(const float *probs, size_t n_chunks, size_t chunk_samples,
                         int sample_rate_hz, uint64_t n_samples, const cq_speech_params *p,
                         cq_speech_seg **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (sample_rate_hz <= 0 || chunk_samples == 0 || !(p->threshold > 0 && p->threshold < 1) ||
        p->min_speech_ms < 0 || p->min_silence_ms < 0 || p->speech_pad_ms < 0 ||
        !(p->max_speech_sec > 0) || (n_chunks && !probs))
        return CQ_ERR_INVALID;
    const double sr = sample_rate_hz;
    const double neg =
        p->neg_threshold >= 0 ? p->neg_threshold : fmax((double)p->threshold - 0.15, 0.01);
    const float thr = p->threshold;
    const double min_speech = sr * p->min_speech_ms / 1000.0; /* compared as real numbers */
    const double min_silence = sr * p->min_silence_ms / 1000.0;
    const double min_sil_at_max = sr * 98 / 1000.0;
    const int64_t pad = (int64_t)(sr * p->speech_pad_ms / 1000.0);
    const double max_speech = isinf(p->max_speech_sec)
                                  ? INFINITY
                                  : sr * p->max_speech_sec - (double)chunk_samples - 2.0 * pad;
    segs s = {0};
    /* pauses longer than 98 ms inside the current segment: where a too-long segment is cut */
    typedef struct pause {
        uint64_t at, len;
    } pause;
    pause *pauses = NULL;
    size_t n_pauses = 0, cap_pauses = 0;
    int triggered = 0;
    uint64_t start = 0, temp_end = 0;
    for (size_t i = 0; i < n_chunks; i++) {
        const double pr = probs[i];
        const uint64_t at = (uint64_t)i * chunk_samples;
        if (pr >= thr && temp_end) { /* a pause inside speech ended */
            uint64_t len = at - temp_end;
            if ((double)len > min_sil_at_max) {
                if (cq__grow((void **)&pauses, &cap_pauses, n_pauses + 1, sizeof(pause)) != CQ_OK)
                    goto nomem;
                pauses[n_pauses++] = (pause){temp_end, len};
            }
            temp_end = 0;
        }
        if (pr >= thr && !triggered) {
            triggered = 1;
            start = at;
            continue;
        }
        if (triggered && (double)(at - start) > max_speech) {
            if (n_pauses) { /* cut at the longest pause (the first of equals), resume after it */
                size_t best = 0;
                for (size_t k = 1; k < n_pauses; k++)
                    if (pauses[k].len > pauses[best].len)
                        best = k;
                if (push(&s, start, pauses[best].at) != CQ_OK)
                    goto nomem;
                start = pauses[best].at + pauses[best].len;
                temp_end = 0;
                n_pauses = 0;
            } else { /* no pause to cut at: cut here */
                if (push(&s, start, at) != CQ_OK)
                    goto nomem;
                temp_end = 0;
                n_pauses = 0;
                triggered = 0;
                continue;
            }
        }
        if (pr < neg && triggered) {
            if (!temp_end)
                temp_end = at;
            if ((double)(at - temp_end) < min_silence)
                continue;
            if ((double)(temp_end - start) > min_speech && push(&s, start, temp_end) != CQ_OK)
                goto nomem;
            temp_end = 0;
            n_pauses = 0;
            triggered = 0;
        }
    }
    cq__free(pauses);
    pauses = NULL;
    if (triggered && (double)n_samples - (double)start > min_speech &&
        push(&s, start, n_samples) != CQ_OK)
        goto nomem;

    for (size_t i = 0; i < s.n; i++) {
        cq_speech_seg *g = &s.v[i];
        if (i == 0)
            g->start = (int64_t)g->start > pad ? g->start - (uint64_t)pad : 0;
        if (i + 1 < s.n) {
            int64_t gap = (int64_t)s.v[i + 1].start - (int64_t)g->end;
            if (gap < 2 * pad) {
                /* Python's // floors: a negative gap halves towards -inf */
                int64_t half = gap >= 0 ? gap / 2 : -((-gap + 1) / 2);
                g->end = (uint64_t)((int64_t)g->end + half);
                int64_t ns = (int64_t)s.v[i + 1].start - half;
                s.v[i + 1].start = (uint64_t)(ns > 0 ? ns : 0);
            } else {
                uint64_t e = g->end + (uint64_t)pad;
                g->end = e < n_samples ? e : n_samples;
                int64_t ns = (int64_t)s.v[i + 1].start - pad;
                s.v[i + 1].start = (uint64_t)(ns > 0 ? ns : 0);
            }
        } else {
            uint64_t e = g->end + (uint64_t)pad;
            g->end = e < n_samples ? e : n_samples;
        }
    }
    *out = s.v;
    *n_out = s.n;
    return CQ_OK;
nomem:
    cq__free(pauses);
    cq__free(s.v);
    return CQ_ERR_NOMEM;
}

void cq_speech_free(cq_speech_seg *v)
{
    cq__free(v);
}
