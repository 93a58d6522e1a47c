/*
 * tx_plan.c - which audio of a leg is sent for transcription, and the WAV file of a chunk.
 *
 * DESIGN
 * Speech is the VAD's segments (its own padding included), widened by pad_sec: the VAD's 30 ms
 * padding leaves out the quiet onsets and tails of words, which a recogniser needs (on the
 * corpus calls 82-97 % of the labelled active speech of a leg fell inside the VAD's segments,
 * docs/transcription.md). From it go the leg's events that are not a
 * person talking: hold music, ringback, busy, SIT, DTMF, fax tones and (unless asked) IVR
 * prompts, each widened by a margin, since an event's edges are found to within a frame or two
 * and a server given the edge of a tone or of music writes words for it. What is left is joined
 * into chunks: a pause under join_gap_sec stays inside (the server hears the sentence go on), a
 * longer one starts a new chunk, and no chunk spans more than max_chunk_sec (Whisper's window).
 * Inside a chunk only the speech parts carry the leg's audio; the rest is zeros, so chunk time t
 * is call time start + t for every word the server places.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

tx_plan_params tx_plan_default_params(void)
{
    return (tx_plan_params){.pad_sec = 0.2,
                            .max_chunk_sec = 30.0,
                            .join_gap_sec = 2.0,
                            .margin_sec = 0.1,
                            .min_span_sec = 0.1,
                            .include_ivr = false};
}

typedef struct spans {
    tx_span *v;
    size_t n, cap;
} spans;

static int push(spans *s, double a, double b)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        tx_span *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -1;
        s->v = nv, s->cap = cap;
    }
    s->v[s->n++] = (tx_span){a, b};
    return 0;
}

static bool excluded_kind(cq_event_type t, bool include_ivr)
{
    switch (t) {
    case CQ_EV_DTMF:
    case CQ_EV_RINGBACK:
    case CQ_EV_BUSY:
    case CQ_EV_SIT:
    case CQ_EV_FAX:
    case CQ_EV_BEEP:
    case CQ_EV_HOLD: return true;
    case CQ_EV_IVR: return !include_ivr;
    default: return false;
    }
}

static int cmp_span(const void *a, const void *b)
{
    const tx_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* speech minus the excluded events (both sorted; events may overlap each other) */
static int subtract(const spans *speech, spans *ex, double min_len, spans *out)
{
    if (ex->n)
        qsort(ex->v, ex->n, sizeof(*ex->v), cmp_span);
    for (size_t i = 0; i < speech->n; i++) {
        double a = speech->v[i].start, b = speech->v[i].end;
        for (size_t k = 0; k < ex->n && a < b; k++) {
            const tx_span *e = &ex->v[k];
            if (e->end <= a || e->start >= b)
                continue;
            if (e->start > a) {
                if (e->start - a >= min_len && push(out, a, e->start) != 0)
                    return -1;
            }
            a = e->end;
        }
        if (b - a >= min_len && push(out, a, b) != 0)
            return -1;
    }
    return 0;
}

/* Where to cut a stretch [a, b) longer than max: the lowest VAD probability in its last third
 * before a + max (the middle of that chunk), or a + max without probabilities. */
static double cut_point(const cq_leg_report *leg, double a, double max)
{
    double lo = a + max * 2.0 / 3.0, hi = a + max - 0.05;
    if (!leg->vad_probs || !leg->vad_chunk || leg->vad_rate_hz <= 0)
        return hi;
    double step = (double)leg->vad_chunk / leg->vad_rate_hz;
    size_t i0 = (size_t)ceil(lo / step), i1 = (size_t)floor(hi / step);
    double best = 2, at = hi;
    for (size_t i = i0; i < i1 && i < leg->n_vad_probs; i++)
        if (leg->vad_probs[i] < best)
            best = leg->vad_probs[i], at = ((double)i + 0.5) * step;
    return at;
}

static int new_chunk(tx_plan *p, size_t *cap, double start)
{
    if (p->n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        tx_chunk *nv = realloc(p->chunks, c * sizeof(*nv));
        if (!nv)
            return -1;
        p->chunks = nv, *cap = c;
    }
    tx_chunk *c = &p->chunks[p->n++];
    memset(c, 0, sizeof(*c));
    c->start = floor(start * 1000.0) / 1000.0; /* on the millisecond: 16 samples at 16 kHz */
    return 0;
}

static int chunk_add(tx_chunk *c, double a, double b)
{
    tx_span *nv = realloc(c->sent, (c->n_sent + 1) * sizeof(*nv));
    if (!nv)
        return -1;
    c->sent = nv;
    c->sent[c->n_sent++] = (tx_span){a, b};
    c->end = b;
    return 0;
}

/* The chunks of `vad` (speech of one speaker, in time order, padding of the VAD included): each
 * span widened by pad_sec, minus `other` (another speaker's speech, kept out of these requests;
 * may be empty) and minus the leg's excluded events, then cut into chunks named NAME_START_END. */
static int plan_spans(const cq_leg_report *leg, const spans *vad, spans *other, const char *name,
                      const tx_plan_params *p, tx_plan *out)
{
    memset(out, 0, sizeof(*out));
    spans speech = {0}, ex = {0}, left = {0}, mine = {0};
    int rc = -1;
    double pad = fmin(fmax(p->pad_sec, 0), 0.3), dur = leg->duration_sec;
    for (size_t i = 0; i < vad->n; i++) {
        double a = vad->v[i].start, b = vad->v[i].end;
        out->speech_sec += b - a;
        a = fmax(0, a - pad), b = dur > 0 ? fmin(dur, b + pad) : b + pad;
        if (speech.n && a <= speech.v[speech.n - 1].end) /* widened into the one before */
            speech.v[speech.n - 1].end = fmax(speech.v[speech.n - 1].end, b);
        else if (push(&speech, a, b) != 0)
            goto done;
    }
    if (other->n) { /* the widening stops at the other speaker's speech */
        if (subtract(&speech, other, 1e-6, &mine) != 0)
            goto done;
        spans t = speech;
        speech = mine, mine = t;
    }
    for (size_t i = 0; i < leg->n_events; i++) {
        const cq_call_event *e = &leg->events[i];
        if (excluded_kind(e->type, p->include_ivr) &&
            push(&ex, fmax(0, e->start_sec - p->margin_sec), e->end_sec + p->margin_sec) != 0)
            goto done;
    }
    if (subtract(&speech, &ex, p->min_span_sec, &left) != 0)
        goto done;
    /* the VAD's speech under the excluded events (ex is sorted now; merged as it is read) */
    for (size_t i = 0; i < vad->n; i++) {
        double a = vad->v[i].start, b = vad->v[i].end, reach = a;
        for (size_t k = 0; k < ex.n; k++) {
            double ea = fmax(ex.v[k].start, reach), eb = fmin(ex.v[k].end, b);
            if (eb > ea) {
                out->excluded_sec += eb - ea;
                reach = eb;
            }
        }
    }
    /* a piece left of the widening alone, beside an excluded event, holds no speech: out */
    size_t kept = 0;
    for (size_t i = 0, k = 0; i < left.n; i++) {
        while (k < vad->n && vad->v[k].end <= left.v[i].start)
            k++;
        double in = 0;
        for (size_t m = k; m < vad->n && vad->v[m].start < left.v[i].end; m++)
            in += fmin(vad->v[m].end, left.v[i].end) - fmax(vad->v[m].start, left.v[i].start);
        if (in >= p->min_span_sec)
            left.v[kept++] = left.v[i];
    }
    left.n = kept;
    size_t cap = 0;
    tx_chunk *c = NULL;
    for (size_t i = 0; i < left.n; i++) {
        double a = left.v[i].start, b = left.v[i].end;
        while (b - a > 1e-6) { /* (a short span was left out before; a cut's rest is sent) */
            if (!c || a - c->end >= p->join_gap_sec ||
                a + p->min_span_sec >= c->start + p->max_chunk_sec - 0.05) {
                if (new_chunk(out, &cap, a) != 0)
                    goto done;
                c = &out->chunks[out->n - 1];
            }
            double e = b;
            if (e - c->start > p->max_chunk_sec - 0.05) { /* past the chunk's limit: cut */
                e = cut_point(leg, c->start, p->max_chunk_sec);
                if (e <= a + p->min_span_sec / 2)
                    e = c->start + p->max_chunk_sec - 0.05;
            }
            if (chunk_add(c, a, e) != 0)
                goto done;
            if (e < b)
                c = NULL; /* the rest goes into the next chunk */
            a = e;
        }
    }
    for (size_t i = 0; i < out->n; i++) {
        tx_chunk *k = &out->chunks[i];
        k->end = ceil(k->end * 1000.0) / 1000.0;
        for (size_t j = 0; j < k->n_sent; j++)
            out->sent_sec += k->sent[j].end - k->sent[j].start;
        snprintf(k->file, sizeof(k->file), "%s_%.3f_%.3f.wav", name, k->start, k->end);
    }
    rc = 0;
done:
    free(speech.v);
    free(ex.v);
    free(left.v);
    free(mine.v);
    if (rc != 0)
        tx_plan_free(out);
    return rc;
}

int tx_plan_leg(const cq_leg_report *leg, const tx_plan_params *p, tx_plan *out)
{
    spans vad = {0}, none = {0};
    double rate = leg->vad_rate_hz > 0 ? leg->vad_rate_hz : 8000;
    for (size_t i = 0; i < leg->n_speech; i++) {
        double a = (double)leg->speech[i].start / rate, b = (double)leg->speech[i].end / rate;
        if (b > a && push(&vad, a, b) != 0) {
            free(vad.v);
            memset(out, 0, sizeof(*out));
            return -1;
        }
    }
    int rc = plan_spans(leg, &vad, &none, cq_role_name(leg->role), p, out);
    free(vad.v);
    return rc;
}

int tx_plan_speaker(const cq_leg_report *leg, int s, const tx_plan_params *p, tx_plan *out)
{
    memset(out, 0, sizeof(*out));
    if (!leg->has_diarization || leg->diarization.n_speakers != 2 || s < 0 || s > 1)
        return -1;
    spans mine = {0}, other = {0};
    int rc = -1;
    for (int k = 0; k < 2; k++) {
        const cq_diar_speaker *sp = &leg->diarization.speaker[k];
        for (size_t i = 0; i < sp->n_segs; i++) {
            double a = sp->segs[i].start_sec, b = sp->segs[i].end_sec;
            if (b > a && push(k == s ? &mine : &other, a, b) != 0)
                goto done;
        }
    }
    char name[4];
    tx_speaker_id(s, name);
    rc = plan_spans(leg, &mine, &other, name, p, out);
done:
    free(mine.v);
    free(other.v);
    return rc;
}

void tx_speaker_id(int s, char out[4])
{
    out[0] = 'S', out[1] = (char)('1' + (s < 0 ? 0 : s > 8 ? 8 : s)), out[2] = 0;
}

void tx_plan_free(tx_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->chunks[i].sent);
    free(p->chunks);
    memset(p, 0, sizeof(*p));
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff), p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int tx_chunk_wav(const cq_speech_audio *a, const tx_chunk *c, unsigned char **wav, size_t *len,
                 char *err, size_t errsz)
{
    const int rate = CQ_SPEECH_AUDIO_RATE;
    uint64_t first = (uint64_t)llround(c->start * rate);
    size_t n = (size_t)(llround(c->end * rate) - (long long)first);
    size_t bytes = 44 + 2 * n;
    unsigned char *w = calloc(1, bytes);
    if (!w) {
        snprintf(err, errsz, "out of memory for a chunk's audio (%zu bytes)", bytes);
        return -1;
    }
    memcpy(w, "RIFF", 4);
    put32(w + 4, (uint32_t)(bytes - 8));
    memcpy(w + 8, "WAVEfmt ", 8);
    put32(w + 16, 16);
    put16(w + 20, 1); /* PCM */
    put16(w + 22, 1); /* mono */
    put32(w + 24, (uint32_t)rate);
    put32(w + 28, (uint32_t)rate * 2);
    put16(w + 32, 2);
    put16(w + 34, 16);
    memcpy(w + 36, "data", 4);
    put32(w + 40, (uint32_t)(2 * n));
    int16_t *pcm = malloc(n * sizeof(*pcm) + 1);
    if (!pcm) {
        free(w);
        snprintf(err, errsz, "out of memory for a chunk's audio");
        return -1;
    }
    memset(pcm, 0, n * sizeof(*pcm));
    for (size_t i = 0; i < c->n_sent; i++) {
        uint64_t s = (uint64_t)llround(c->sent[i].start * rate);
        uint64_t e = (uint64_t)llround(c->sent[i].end * rate);
        if (s < first)
            s = first;
        if (e > first + n)
            e = first + n;
        if (e <= s)
            continue;
        size_t got = 0;
        int rc = cq_speech_audio_read(a, (double)s / rate, (double)e / rate, pcm + (s - first),
                                      (size_t)(e - s), &got);
        if (rc != CQ_OK) {
            snprintf(err, errsz, "the speech audio of %.3f-%.3f s could not be read (%s)",
                     (double)s / rate, (double)e / rate, cq_strerror(rc));
            free(pcm);
            free(w);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        put16(w + 44 + 2 * i, (uint16_t)pcm[i]);
    free(pcm);
    *wav = w;
    *len = bytes;
    return 0;
}
