/*
 * speech_audio.c - the `speech_audio` stage, run only on request: each leg's speech at 16 kHz,
 * kept while the call is decoded for the other stages and handed over in the leg report with
 * the VAD's speech segments (cq_speech_audio.h).
 *
 * DESIGN
 * Only audio near speech is kept. The VAD's probabilities reach the leg report while the audio
 * streams in (a batch of 32 chunks, about 1 s, behind it), and a speech segment never reaches
 * further from a chunk whose probability is at least neg_threshold than the segment padding
 * plus the shortest pause that ends a segment (Silero's rules, src/dsp/speech.c). So the 16 kHz
 * samples wait in a short queue until the probabilities around them are known; those within
 * `reach` (padding + min_silence + 100 ms) of such a chunk are kept, the others dropped. Every
 * speech segment then lies inside what is kept, with room to spare, in memory that grows with the
 * speech and not with the leg.
 *
 * What is kept goes into blocks of 512 KiB that never move, up to speech_audio_mem_bytes; the
 * rest into a temporary file opened in tmp_dir and unlinked at once, so nothing is left behind
 * even if the process dies. Reads copy from the blocks and pread() the file: several threads
 * may read at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage.h"

#define RATE CQ_SPEECH_AUDIO_RATE
#define BLOCK_SAMPLES ((size_t)1 << 18) /* 512 KiB of PCM16 per memory block */

/* A run of kept samples: leg samples [start, start + len) at `at` in the store. */
typedef struct run {
    uint64_t start, len, at;
} run;

struct cq_speech_audio {
    /* the store: kept samples one after the other */
    int16_t **blocks; /* the first cap_mem of them, in blocks that never move */
    size_t n_blocks;
    size_t n_mem, cap_mem;
    int fd; /* the rest; -1 until needed */
    uint64_t n_file;
    run *runs; /* in time order */
    size_t n_runs, cap_runs;
    uint64_t n; /* samples of the leg */
    cq_speech_span *spans;
    size_t n_spans;
    /* while streaming */
    char *tmp_dir;
    int16_t *q; /* leg samples [q_start, q_start + n_q) waiting for the VAD, at q + q_off */
    size_t q_off, n_q, cap_q;
    uint64_t q_start;
    uint64_t reach; /* samples kept either side of a chunk at or over neg_threshold */
    double neg;     /* neg_threshold */
    size_t probs_seen;
    uint64_t keep_until; /* keep samples before this (the last active chunk's reach) */
    bool in_report;      /* moved into its leg report, which frees it */
};

static void product_free(cq_speech_audio *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    for (size_t i = 0; i < a->n_blocks; i++)
        cq__free(a->blocks[i]);
    cq__free(a->blocks);
    cq__free(a->runs);
    cq__free(a->spans);
    cq__free(a->q);
    cq__free(a->tmp_dir);
    cq__free(a);
}

static int speech_audio_create(void **st, const cq__stage_ctx *c)
{
    const cq_engine *e = c->engine;
    cq_speech_audio *a = cq__calloc(1, sizeof(*a));
    if (!a)
        return CQ_ERR_NOMEM;
    *st = a;
    a->fd = -1;
    const char *env = getenv("TMPDIR");
    a->tmp_dir = cq__strdup(e->p.tmp_dir ? e->p.tmp_dir : env && *env ? env : "/tmp");
    a->cap_mem = e->p.speech_audio_mem_bytes / sizeof(int16_t);
    const cq_speech_params *sp = &e->p.speech;
    a->neg = cq__speech_neg(sp);
    a->reach = (uint64_t)cq__speech_reach_ms(sp) * (RATE / 1000);
    if (!a->tmp_dir)
        return CQ_ERR_NOMEM;
    if (access(a->tmp_dir, W_OK | X_OK) != 0) { /* say so now, not an hour into a long leg */
        cq__log(CQ_LOG_ERROR, "speech audio: cannot write temporary files in %s: %s", a->tmp_dir,
                strerror(errno));
        return CQ_ERR_IO;
    }
    return CQ_OK;
}

/* ---- the store ------------------------------------------------------------------------------ */

/* An unnamed file in tmp_dir: created, then unlinked at once. */
static int open_spill(cq_speech_audio *a)
{
    char *path = cq__printf("%s/callqa-speech-XXXXXX", a->tmp_dir);
    if (!path)
        return CQ_ERR_NOMEM;
    a->fd = mkstemp(path);
    int rc = a->fd >= 0 ? CQ_OK : CQ_ERR_IO;
    if (a->fd >= 0)
        unlink(path);
    else
        cq__log(CQ_LOG_ERROR, "speech audio: cannot create a temporary file in %s: %s", a->tmp_dir,
                strerror(errno));
    cq__free(path);
    return rc;
}

static int spill(cq_speech_audio *a, const int16_t *x, size_t n)
{
    if (a->fd < 0) {
        int rc = open_spill(a);
        if (rc != CQ_OK)
            return rc;
    }
    const char *p = (const char *)x;
    size_t left = n * sizeof(int16_t);
    while (left) {
        ssize_t w = write(a->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            cq__log(CQ_LOG_ERROR, "speech audio: writing the temporary file: %s", strerror(errno));
            return CQ_ERR_IO;
        }
        p += w, left -= (size_t)w;
    }
    a->n_file += n;
    return CQ_OK;
}

/* Append leg samples [start, start + n) to the store. */
static int keep(cq_speech_audio *a, uint64_t start, const int16_t *x, size_t n)
{
    if (!n)
        return CQ_OK;
    run *last = a->n_runs ? &a->runs[a->n_runs - 1] : NULL;
    if (last && last->start + last->len == start) {
        last->len += n;
    } else {
        if (cq__grow((void **)&a->runs, &a->cap_runs, a->n_runs + 1, sizeof(run)) != CQ_OK)
            return CQ_ERR_NOMEM;
        a->runs[a->n_runs++] = (run){start, n, a->n_mem + a->n_file};
    }
    while (n && a->n_mem < a->cap_mem) {
        size_t off = a->n_mem % BLOCK_SAMPLES;
        if (off == 0) { /* a new block, no larger than the limit leaves room for */
            size_t want =
                a->cap_mem - a->n_mem < BLOCK_SAMPLES ? a->cap_mem - a->n_mem : BLOCK_SAMPLES;
            int16_t **nb = cq__realloc(a->blocks, (a->n_blocks + 1) * sizeof(*nb));
            if (!nb)
                return CQ_ERR_NOMEM;
            a->blocks = nb;
            if (!(a->blocks[a->n_blocks] = cq__malloc(want * sizeof(int16_t))))
                return CQ_ERR_NOMEM;
            a->n_blocks++;
        }
        size_t room = BLOCK_SAMPLES - off;
        if (room > a->cap_mem - a->n_mem)
            room = a->cap_mem - a->n_mem;
        size_t k = n < room ? n : room;
        memcpy(a->blocks[a->n_blocks - 1] + off, x, k * sizeof(int16_t));
        a->n_mem += k, x += k, n -= k;
    }
    return n ? spill(a, x, n) : CQ_OK;
}

/* ---- deciding what to keep ------------------------------------------------------------------ */

/* Leg samples [q_start, upto) leave the queue: kept when before keep_until. */
static int decide(cq_speech_audio *a, uint64_t upto)
{
    if (upto > a->q_start + a->n_q)
        upto = a->q_start + a->n_q;
    if (upto <= a->q_start)
        return CQ_OK;
    size_t n = (size_t)(upto - a->q_start);
    if (a->keep_until > a->q_start) {
        size_t k = a->keep_until - a->q_start < n ? (size_t)(a->keep_until - a->q_start) : n;
        int rc = keep(a, a->q_start, a->q + a->q_off, k);
        if (rc != CQ_OK)
            return rc;
    }
    a->q_off += n, a->n_q -= n;
    a->q_start = upto;
    return CQ_OK;
}

/* The probabilities that reached the leg report: each active chunk keeps `reach` around it.
 * Samples before the first chunk's reach that no later chunk can touch are decided. */
static int take_probs(cq_speech_audio *a, const cq_leg_report *l, bool all)
{
    const uint64_t chunk = (uint64_t)l->vad_chunk * (RATE / CQ__VAD_RATE);
    for (; a->probs_seen < l->n_vad_probs; a->probs_seen++) {
        if (!(l->vad_probs[a->probs_seen] >= a->neg))
            continue;
        uint64_t c0 = a->probs_seen * chunk;
        uint64_t from = c0 > a->reach ? c0 - a->reach : 0;
        int rc = decide(a, from); /* what lies before this chunk's reach is settled */
        if (rc != CQ_OK)
            return rc;
        a->keep_until = c0 + chunk + a->reach;
    }
    /* no later chunk reaches back before its own start minus `reach` */
    uint64_t known = (uint64_t)l->n_vad_probs * chunk;
    return decide(a, all ? UINT64_MAX : known > a->reach ? known - a->reach : 0);
}

/* Full scale 1.0 to PCM16, rounded half away from zero, clamped; written to vectorise. */
static void to_pcm16(const float *x, int16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * 32768.0f;
        v = v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v;
        out[i] = (int16_t)(int32_t)(v + (v < 0 ? -0.5f : 0.5f));
    }
}

static int speech_audio_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    cq_speech_audio *a = st;
    if (a->q_off) { /* what was decided leaves the front of the queue */
        memmove(a->q, a->q + a->q_off, a->n_q * sizeof(int16_t));
        a->q_off = 0;
    }
    if (cq__grow((void **)&a->q, &a->cap_q, a->n_q + n, sizeof(int16_t)) != CQ_OK)
        return CQ_ERR_NOMEM;
    to_pcm16(x, a->q + a->n_q, n);
    a->n_q += n;
    a->n += n;
    return take_probs(a, leg ? r->outbound : r->inbound, false);
}

/* The VAD finished before this stage: every probability is known. */
static int speech_audio_finish(void *st, int leg, cq_report *r)
{
    cq_speech_audio *a = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    int rc = take_probs(a, l, true);
    if (rc != CQ_OK)
        return rc;
    if (l->n_speech && !(a->spans = cq__malloc(l->n_speech * sizeof(*a->spans))))
        return CQ_ERR_NOMEM;
    for (size_t i = 0; i < l->n_speech; i++)
        a->spans[i] = (cq_speech_span){(double)l->speech[i].start / l->vad_rate_hz,
                                       (double)l->speech[i].end / l->vad_rate_hz};
    a->n_spans = l->n_speech;
    cq__free(a->q);
    a->q = NULL;
    a->q_off = a->n_q = a->cap_q = 0;
    l->speech_audio = a;
    a->in_report = true;
    return CQ_OK;
}

/* A state that never reached its leg report (the call failed) is freed here; once there, the
 * report frees it. */
static void speech_audio_destroy(void *st)
{
    cq_speech_audio *a = st;
    if (a && !a->in_report)
        product_free(a);
}

static void speech_audio_free_leg(cq_leg_report *l)
{
    product_free(l->speech_audio);
    l->speech_audio = NULL;
}

/* ---- the product ---------------------------------------------------------------------------- */

const cq_speech_span *cq_speech_audio_spans(const cq_speech_audio *a, size_t *n)
{
    *n = a->n_spans;
    return a->spans;
}

uint64_t cq_speech_audio_samples(const cq_speech_audio *a)
{
    return a->n;
}

uint64_t cq_speech_audio_kept_samples(const cq_speech_audio *a)
{
    return a->n_mem + a->n_file;
}

size_t cq_speech_audio_memory_bytes(const cq_speech_audio *a)
{
    return a->n_mem * sizeof(int16_t);
}

uint64_t cq_speech_audio_spilled_bytes(const cq_speech_audio *a)
{
    return a->n_file * sizeof(int16_t);
}

/* n stored samples from store position `at` into out. */
static int load(const cq_speech_audio *a, uint64_t at, int16_t *out, size_t n)
{
    while (n && at < a->n_mem) {
        size_t off = (size_t)(at % BLOCK_SAMPLES), left = BLOCK_SAMPLES - off;
        size_t m = n < left ? n : left;
        if (m > a->n_mem - at)
            m = (size_t)(a->n_mem - at);
        memcpy(out, a->blocks[at / BLOCK_SAMPLES] + off, m * sizeof(int16_t));
        out += m, at += m, n -= m;
    }
    while (n) {
        ssize_t r =
            pread(a->fd, out, n * sizeof(int16_t), (off_t)((at - a->n_mem) * sizeof(int16_t)));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || r % (ssize_t)sizeof(int16_t))
            return CQ_ERR_IO;
        size_t m = (size_t)r / sizeof(int16_t);
        out += m, at += m, n -= m;
    }
    return CQ_OK;
}

int cq_speech_audio_read(const cq_speech_audio *a, double start_sec, double end_sec, int16_t *out,
                         size_t max, size_t *got)
{
    *got = 0;
    if (!(end_sec >= start_sec) || !(start_sec >= 0) || !isfinite(end_sec))
        return CQ_ERR_INVALID;
    uint64_t s = (uint64_t)llround(start_sec * RATE), e = (uint64_t)llround(end_sec * RATE);
    if (e > a->n)
        e = a->n;
    if (e - s > max && e > s)
        e = s + max;
    /* the run holding s, then on through adjacent runs */
    size_t lo = 0, hi = a->n_runs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->runs[mid].start + a->runs[mid].len <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = 0;
    for (size_t i = lo; s < e; i++) {
        if (i >= a->n_runs || a->runs[i].start > s)
            return CQ_ERR_NOT_FOUND; /* not kept: no speech near it */
        const run *rn = &a->runs[i];
        uint64_t stop = rn->start + rn->len < e ? rn->start + rn->len : e;
        int rc = load(a, rn->at + (s - rn->start), out + k, (size_t)(stop - s));
        if (rc != CQ_OK)
            return rc;
        k += (size_t)(stop - s);
        s = stop;
    }
    *got = k;
    return CQ_OK;
}

const cq__stage cq__stage_speech_audio = {
    .name = "speech_audio",
    .bit = CQ_AN_SPEECH_AUDIO,
    .needs = CQ_AN_VAD,
    .on_request = true,
    .stream = CQ__STREAM_16K,
    .create = speech_audio_create,
    .push = speech_audio_push,
    .finish = speech_audio_finish,
    .destroy = speech_audio_destroy,
    .free_leg = speech_audio_free_leg,
};
