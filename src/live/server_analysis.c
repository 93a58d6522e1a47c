/*
 * server_analysis.c - the analysis threads of `callqa live` (server_int.h; server.c's opening
 * comment: what each thread may wait for). `threads` of them take calls with work from the run
 * queue in groups of up to vad_batch (one thread per call at a time, at most a take of its audio
 * per turn, then back to the tail), run the VAD of a group's calls as one batch
 * (cq_vad_process_many) and the streaming classifier per call, write the recording, and queue
 * the event lines; the one that finds a call ended with its ring empty finishes it and writes its
 * call_end. The remembered announcements of the call's destination go to its classifier, and
 * what it learned back to them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "server_int.h"

#define RS_CAP (LV__TURN_SAMPLES + 1024)
#define Q8_CAP (RS_CAP + CQ_CLASSIFY_FRAME) /* a take at 8 kHz and a chunk's remainder */

/* Put a call with work on the run queue unless it is there or being run. Caller holds c->mu. */
void lv__schedule_locked(lv__call *c)
{
    if (c->queued)
        return;
    c->queued = true;
    c->t_queued = cq_clock_mono_sec();
    lv_server *s = c->srv;
    pthread_mutex_lock(&s->rq_mu);
    c->next_run = NULL;
    if (s->rq_tail)
        s->rq_tail->next_run = c;
    else
        s->rq_head = c;
    s->rq_tail = c;
    /* a thread is woken when the queue starts (its wait for a batch begins) and when a batch
     * is full, not for every call in between */
    if (++s->rq_len == 1 || s->rq_len == (size_t)s->p.vad_batch)
        pthread_cond_signal(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
}

/* Per worker: a take's samples on their way to 8 kHz, and the VAD jobs of a group. */
typedef struct wbuf {
    int16_t pcm[LV__TURN_SAMPLES];
    float x[LV__TURN_SAMPLES];
    float y[RS_CAP];
} wbuf;

struct lv__worker {
    lv_server *s;
    wbuf w;
    lv__call *group[LV_VAD_BATCH_MAX];
    cq_vad_job jobs[LV_VAD_BATCH_MAX];
    float probs[LV_VAD_BATCH_MAX * (Q8_CAP / CQ_CLASSIFY_FRAME)];
};

static int drain(lv__call *c)
{
    const cq_call_event *ev;
    size_t n;
    int rc = cq_classifier_poll(c->cls, &ev, &n);
    for (size_t i = 0; rc == CQ_OK && i < n; i++)
        lv__emit_event(c, &ev[i]);
    return rc;
}

/* 8 kHz samples into the classifier and onto the call's queue for the VAD (whole chunks go to
 * the VAD with the group's, in group_vad). */
static int feed8k(lv__call *c, const float *x, size_t n)
{
    int rc = cq_classifier_push_audio(c->cls, x, n);
    if (rc != CQ_OK)
        return rc;
    c->pushed += n;
    if (c->nq8 + n > Q8_CAP)
        return CQ_ERR_INTERNAL; /* a take never holds more than RS_CAP samples */
    memcpy(c->q8 + c->nq8, x, n * sizeof(float));
    c->nq8 += n;
    return CQ_OK;
}

/* The probabilities of the call's whole chunks (computed), into the classifier; the chunks
 * off the queue. */
static int after_vad(lv__call *c, const float *probs, size_t k)
{
    int rc = cq_classifier_push_vad(c->cls, probs, k);
    size_t used = k * CQ_CLASSIFY_FRAME;
    memmove(c->q8, c->q8 + used, (c->nq8 - used) * sizeof(float));
    c->nq8 -= used;
    return rc == CQ_OK ? drain(c) : rc;
}

static int start(lv__call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    cq_classify_params cp = cq_classify_default_params();
    cp.live = (cq_live_mode)s->p.live_mode;
    cp.silence_event_sec = s->p.silence_sec;
    /* the probe, where it can be played back (docs/live.md): AudioSocket and RTP at 8 kHz, the
     * WebSocket at either rate (playAudio says the probe's) */
    if (s->p.probe_len &&
        (rate == CQ_CLASSIFY_RATE || (c->input == LV_INPUT_WEBSOCKET && s->ws_probe)))
        cp.probe_sec = (double)s->p.probe_len / CQ_CLASSIFY_RATE;
    int rc = CQ_OK;
    c->started = true;
    if (!(c->q8 = malloc(Q8_CAP * sizeof(float))))
        return CQ_ERR_NOMEM;
    lv__rec_open(c, rate);
    if (!(c->vad = cq_vad_create(s->p.vad_model, CQ_CLASSIFY_RATE, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    if (!(c->cls = cq_classifier_create(&cp, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    if (rate && rate != CQ_CLASSIFY_RATE &&
        !(c->rs = cq_resample_create((double)rate, CQ_CLASSIFY_RATE, &rc)))
        return rc ? rc : CQ_ERR_NOMEM;
    return CQ_OK;
}

static int analyse(lv__call *c, wbuf *w, size_t n)
{
    lv_pcm_to_float(w->pcm, n, w->x);
    if (!c->rs)
        return feed8k(c, w->x, n);
    long got = cq_resample_process(c->rs, w->x, n, w->y, RS_CAP);
    return got < 0 ? (int)got : feed8k(c, w->y, (size_t)got);
}

static void remember_learned(lv__call *c);

/* The end of a call's audio: the resampler's tail, the last chunk zero-padded (as the engine
 * does), the classifier's last events, and what it learned of the destination's
 * announcements. The VAD runs on this call alone. */
static int finish(lv__call *c, wbuf *w)
{
    int rc = CQ_OK;
    long got;
    while (c->rs && rc == CQ_OK && (got = cq_resample_process(c->rs, NULL, 0, w->y, RS_CAP)) > 0) {
        rc = feed8k(c, w->y, (size_t)got);
        size_t k = c->nq8 / CQ_CLASSIFY_FRAME;
        float p[Q8_CAP / CQ_CLASSIFY_FRAME];
        if (rc == CQ_OK && k && (rc = cq_vad_process(c->vad, c->q8, k, p)) == CQ_OK)
            rc = after_vad(c, p, k);
    }
    if (rc == CQ_OK && c->nq8) {
        float p;
        memset(c->q8 + c->nq8, 0, (CQ_CLASSIFY_FRAME - c->nq8) * sizeof(float));
        c->nq8 = CQ_CLASSIFY_FRAME;
        if ((rc = cq_vad_process(c->vad, c->q8, 1, &p)) == CQ_OK)
            rc = after_vad(c, &p, 1);
    }
    if (rc == CQ_OK && (rc = cq_classifier_finish(c->cls)) == CQ_OK)
        rc = drain(c);
    if (rc == CQ_OK)
        remember_learned(c);
    return rc;
}

/* The frames whose samples the analysis has now taken in: how long each waited since it came
 * off the socket, into the server's histogram. Caller holds c->mu. */
static void stamps_done_locked(lv__call *c, double now)
{
    lv_server *s = c->srv;
    while (c->st_len && c->st[c->st_head].end <= c->taken) {
        double ms = (now - c->st[c->st_head].t) * 1000.0;
        size_t b = ms < 0 ? 0 : ms >= LV__LAT_BUCKETS - 1 ? LV__LAT_BUCKETS - 1 : (size_t)ms;
        atomic_fetch_add(&s->lat[b], 1);
        c->st_head = (c->st_head + 1) % LV__ST_CAP;
        c->st_len--;
    }
}

/* A call's share of a group's turn, before the VAD: one take of its queued audio (a bounded
 * amount) through the resampler into the classifier and its VAD queue. Sets *ended when the
 * call has ended and its audio is all taken; returns false when it had nothing to do (it is
 * off the run queue until audio comes). */
static void remembered_one(void *user, const uint16_t *bits, size_t frames)
{
    lv__call *c = user;
    if (cq_classifier_remember(c->cls, bits, frames) == CQ_OK)
        c->remembered++;
}

/* The call's destination known (from its WebSocket metadata, dest; or named by FastAGI since
 * the last look): the announcements remembered for it go to its classifier, once. */
static void remember_for(lv__call *c, const char *dest)
{
    lv_server *s = c->srv;
    char d[LV_FPS_DEST_MAX + 1];
    snprintf(d, sizeof(d), "%s", dest);
    const uint64_t gen = atomic_load(&s->dest_gen);
    if (!d[0] && gen != c->dest_gen) {
        c->dest_gen = gen;
        pthread_mutex_lock(&s->dest_mu);
        for (size_t i = 0; i < s->ndest && i < LV__DEST_RING; i++)
            if (!strcasecmp(s->dests[i].call, c->name))
                memcpy(d, s->dests[i].dest, sizeof(d));
        pthread_mutex_unlock(&s->dest_mu);
    }
    if (!d[0])
        return;
    memcpy(c->an_dest, d, sizeof(d));
    (void)lv_fps_get(s->p.announce, d, remembered_one, c);
}

/* What the call's classifier learned: kept under its destination for the next call. */
static void remember_learned(lv__call *c)
{
    lv_server *s = c->srv;
    if (!s->p.announce || !c->cls)
        return;
    if (!c->an_dest[0]) { /* named at the very end: looked up once more */
        char d[LV_FPS_DEST_MAX + 1];
        pthread_mutex_lock(&c->mu);
        memcpy(d, c->dest, sizeof(d));
        pthread_mutex_unlock(&c->mu);
        remember_for(c, d);
    }
    if (!c->an_dest[0])
        return;
    const double now = cq_clock_wall_sec();
    size_t frames;
    const uint16_t *b;
    for (size_t i = 0; (b = cq_classifier_learned(c->cls, i, &frames)); i++)
        (void)lv_fps_put(s->p.announce, c->an_dest, b, frames, now);
}

static bool take(lv__call *c, wbuf *w, bool *ended)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->len < LV__TURN_SAMPLES ? c->len : LV__TURN_SAMPLES;
    if (n) { /* to the ring's end, then from its start */
        size_t first = c->cap - c->head < n ? c->cap - c->head : n;
        memcpy(w->pcm, c->ring + c->head, first * sizeof(int16_t));
        memcpy(w->pcm + first, c->ring, (n - first) * sizeof(int16_t));
        c->head = (c->head + n) % c->cap;
        c->len -= n;
    }
    uint32_t rate = c->rate;
    *ended = c->ended && !c->len;
    if (!n && !*ended) {
        c->queued = false; /* audio that comes now schedules it again */
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    const bool began = c->probe_began;
    const uint64_t probe_at = c->probe_at;
    c->probe_began = false;
    char dest[LV_FPS_DEST_MAX + 1] = "";
    if (c->srv->p.announce && !c->an_dest[0])
        memcpy(dest, c->dest, sizeof(dest));
    pthread_mutex_unlock(&c->mu);
    if (c->srv->p.announce && !c->an_dest[0] && c->cls)
        remember_for(c, dest);
    /* the probe began on the line: the classifier listens for the reply from there */
    if (began && c->cls && rate && !c->werr)
        c->werr = cq_classifier_probe_played(c->cls, (double)probe_at / rate);
    if (!c->started && !c->werr)
        c->werr = start(c, rate);
    if (n)
        lv__rec_write(c, w->pcm, n); /* recorded whether or not the analysis goes on */
    if (n && !c->werr)
        c->werr = analyse(c, w, n);
    c->taking = n;
    return true;
}

/* A group's turn: a take of each call, then one VAD run over the whole chunks of all of them
 * (cq_vad_process_many: the weights read once for the group), then each call's probabilities,
 * events and, for a call that has ended, its end. Calls with audio left go back to the run
 * queue's tail. */
static void group_turn(lv__worker *wk, size_t n)
{
    lv_server *s = wk->s;
    bool ended[LV_VAD_BATCH_MAX], live[LV_VAD_BATCH_MAX];
    size_t nj = 0, np = 0, chunks[LV_VAD_BATCH_MAX];
    for (size_t i = 0; i < n; i++)
        live[i] = take(wk->group[i], &wk->w, &ended[i]);
    for (size_t i = 0; i < n; i++) {
        lv__call *c = wk->group[i];
        chunks[i] = live[i] && !c->werr ? c->nq8 / CQ_CLASSIFY_FRAME : 0;
        if (chunks[i]) {
            wk->jobs[nj++] = (cq_vad_job){
                .v = c->vad, .x = c->q8, .n_chunks = chunks[i], .probs = wk->probs + np};
            np += chunks[i];
        }
    }
    int vrc = cq_vad_process_many(wk->jobs, nj);
    if (nj) {
        atomic_fetch_add(&s->vad_runs, 1);
        atomic_fetch_add(&s->vad_chunks, np);
    }
    np = 0;
    lv__call *back = NULL, *last = NULL;
    size_t nback = 0;
    const double now = cq_clock_mono_sec();
    for (size_t i = 0; i < n; i++) {
        lv__call *c = wk->group[i];
        if (!live[i])
            continue;
        if (chunks[i] && !c->werr)
            c->werr = vrc != CQ_OK ? vrc : after_vad(c, wk->probs + np, chunks[i]);
        np += chunks[i];
        pthread_mutex_lock(&c->mu);
        if (c->rate)
            atomic_fetch_add(&s->analysed_us, c->taking * 1000000u / c->rate);
        c->taken += c->taking;
        stamps_done_locked(c, now);
        bool more = c->len > 0 || c->ended;
        if (!more && !ended[i])
            c->queued = false; /* audio that comes now schedules it again */
        pthread_mutex_unlock(&c->mu);
        if (ended[i]) {
            if (!c->werr)
                c->werr = finish(c, &wk->w);
            lv__rec_close(c);
            lv__emit_end(c);
            c->finished = true;
            lv__call_release(c); /* the analysis side's reference */
        } else if (more) {
            c->next_run = NULL;
            c->t_queued = now;
            if (last)
                last->next_run = c;
            else
                back = c;
            last = c;
            nback++;
        }
    }
    if (back) {
        pthread_mutex_lock(&s->rq_mu);
        if (s->rq_tail)
            s->rq_tail->next_run = back;
        else
            s->rq_head = back;
        s->rq_tail = last;
        s->rq_len += nback;
        pthread_cond_signal(&s->rq_cv);
        pthread_mutex_unlock(&s->rq_mu);
    }
}

/* Until the run queue holds a batch of calls, or its oldest call has waited batch_wait_sec, or
 * the server is stopping; false when stopping with nothing queued. Caller holds rq_mu. */
static bool wait_for_batch(lv_server *s)
{
    for (;;) {
        if (!s->rq_head) {
            if (s->rq_quit)
                return false;
            pthread_cond_wait(&s->rq_cv, &s->rq_mu);
            continue;
        }
        if (s->rq_len >= (size_t)s->p.vad_batch || s->rq_quit)
            return true;
        const double until = s->rq_head->t_queued + s->p.batch_wait_sec;
        if (cq_clock_mono_sec() >= until)
            return true;
        struct timespec ts = cq_clock_timespec(until); /* rq_cv's clock is CLOCK_MONOTONIC */
        (void)pthread_cond_timedwait(&s->rq_cv, &s->rq_mu, &ts);
    }
}

static void *worker_main(void *arg)
{
    lv__worker *wk = arg;
    lv_server *s = wk->s;
    const size_t g = (size_t)s->p.vad_batch;
    for (;;) {
        pthread_mutex_lock(&s->rq_mu);
        if (!wait_for_batch(s)) {
            pthread_mutex_unlock(&s->rq_mu);
            return NULL;
        }
        size_t n = 0;
        while (s->rq_head && n < g) {
            lv__call *c = s->rq_head;
            s->rq_head = c->next_run;
            wk->group[n++] = c;
        }
        s->rq_len -= n;
        if (!s->rq_head)
            s->rq_tail = NULL;
        else
            pthread_cond_signal(&s->rq_cv); /* more for another thread */
        pthread_mutex_unlock(&s->rq_mu);
        group_turn(wk, n);
    }
}

int lv__analysis_start(lv_server *s, lv_error *e)
{
    s->workers = calloc((size_t)s->p.threads, sizeof(pthread_t));
    s->wks = calloc((size_t)s->p.threads, sizeof(lv__worker));
    if (!s->workers || !s->wks)
        return lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
    for (int i = 0; i < s->p.threads; i++) {
        s->wks[i].s = s;
        if (pthread_create(&s->workers[i], NULL, worker_main, &s->wks[i]) != 0)
            return lv__fail(e, LV_ERR_NOMEM, 0, "no thread for analysis %d", i);
        s->nworkers++;
    }
    return LV_OK;
}

void lv__analysis_stop(lv_server *s)
{
    pthread_mutex_lock(&s->rq_mu);
    s->rq_quit = true;
    pthread_cond_broadcast(&s->rq_cv);
    pthread_mutex_unlock(&s->rq_mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    free(s->wks);
    s->workers = NULL, s->wks = NULL, s->nworkers = 0;
}
