/*
 * engine.c - one call through the pipeline: decode -> legs -> stages -> report.
 *
 * DESIGN
 * A call has one or two sources (one file, or an inbound and an outbound leg file). Each source
 * is decoded in blocks; each block is split into its legs and offered to the selected stages
 * (src/stages/stage.h) on the streams they read: the leg's native rate, and 8 kHz and 16 kHz
 * streams resampled once per leg when a stage reads them. Nothing holds a whole leg, so the
 * cost per call is a few blocks plus the stages' results. When a leg's audio ends the resamplers
 * are drained and its stages finish in table order; once every leg did, the per-call stages
 * finish and each stage may sum the legs up. The engine knows no analyzer by name: the stage
 * table is the whole list. Two checks belong to the decoding itself and stay here: stereo
 * channels that are sample-identical (fake stereo), and the warnings about the sources.
 *
 * ROOM
 * src/engine/ is this file and report.c (the report's frame and its renderers), the code behind
 * cq_engine.h and cq_report.h. It calls the stage table (src/stages/stage.h), base, audio
 * through the public API (cq_audio.h to decode, cq_resample.h for the 8 and 16 kHz streams) and
 * dsp's cq_speech.h (the VAD's parameters, checked at create), with jansson (report.c); libsoxr
 * and libsndfile only through audio. It is on floor 4, above the stages it runs, with no network
 * and no store: files or a buffer in, a report out, so the command line, the worker and the
 * service all analyse a call the same way (cq_engine_analyze) and it is tested on recordings
 * alone.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "../stages/stage.h"
#include "callqa/callqa.h"

static const int k_stream_rate[CQ__N_STREAMS] = {0, 0, 8000, 16000};

/* One leg while it streams: its block, its resampled streams, its stages' states. */
typedef struct leg_run {
    cq_leg_report *rep;
    int leg;  /* 0 inbound, 1 outbound */
    int rate; /* native */
    float *buf;
    struct {
        cq_resample *rs; /* NULL: the leg is at the stream's rate already */
        float *buf;
        size_t cap;
    } conv[CQ__N_STREAMS];
    void *st[CQ_STAGE_SLOTS];
} leg_run;

/* One call while it runs. */
typedef struct call_run {
    const cq_engine *e;
    cq_report *r;
    leg_run legs[2];
    void *st[CQ_STAGE_SLOTS]; /* per-call states */
    const char *failed;       /* the stage that failed, for the error message */
    unsigned streams;         /* 1 << cq__stream of every stream a selected stage reads */
} call_run;

/* The profile (cq_engine_params.profile): the thread's CPU clock before a step, and the step's
 * CPU time added to its account after it (CPU, not wall: a busy machine does not inflate it).
 * Without the profile, neither reads the clock. */
static double prof_start(const call_run *cr)
{
    return cr->e->p.profile ? cq__thread_cpu_sec() : 0.0;
}

static void prof_add(const call_run *cr, double *account, double t0)
{
    if (cr->e->p.profile)
        *account += cq__thread_cpu_sec() - t0;
}

cq_engine_params cq_engine_default_params(void)
{
    cq_engine_params p = {
        .analyzers = cq__stages_default(),
        .silence_noise_db = -35.0,
        .silence_min_duration_sec = 0.5,
        .clip_min_run = 3,
        .channel_map = CQ_MAP_IN_OUT,
        .max_duration_sec = 24.0 * 3600.0,
        .block_frames = 4096,
        .model_dir = NULL,
        .vad_model = "v6.2",
        .nisqa_mode = CQ_NISQA_WINDOWED,
        .nisqa_window_sec = 8.0,
        .nisqa_max_file_sec = 1200.0,
        .nisqa_threads = 1,
        .mos_model = CQ_MOS_AUTO,
        .dnsmos_mode = CQ_DNSMOS_WINDOWED,
        .dnsmos_max_file_sec = 7200.0,
        .dnsmos_threads = 1,
        .speech_audio_mem_bytes = (size_t)32 << 20,
        .tmp_dir = NULL,
        .envelope_ms = 0,
    };
    p.speech = cq_speech_default_params();
    p.diarization = cq_diar_default_params();
    return p;
}

int cq_model_dir_default(char *buf, size_t size)
{
    const char *env = getenv("CALLQA_MODEL_DIR");
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(buf, size, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(buf, size, "%s/callqa/models", xdg);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.local/share/callqa/models", home);
    else
        return CQ_ERR_NOT_FOUND;
    return n >= 0 && (size_t)n < size ? CQ_OK : CQ_ERR_TOO_LARGE;
}

static bool selected(const cq_engine *e, const cq__stage *s)
{
    return (e->p.analyzers & s->bit) != 0;
}

/* The stream a stage reads with this engine. */
static cq__stream stream_of(const cq_engine *e, const cq__stage *s)
{
    return s->stream_for ? s->stream_for(e) : s->stream;
}

static bool params_valid(const cq_engine_params *p)
{
    return !(p->analyzers & ~cq__stages_known()) && p->analyzers != 0 && p->silence_noise_db < 0 &&
           p->silence_noise_db > -200 && p->silence_min_duration_sec > 0 &&
           p->silence_min_duration_sec < 86400 && p->clip_min_run >= 1 && p->max_duration_sec > 0 &&
           p->block_frames >= 64 && p->block_frames <= (1u << 20) &&
           (p->channel_map == CQ_MAP_IN_OUT || p->channel_map == CQ_MAP_OUT_IN) &&
           (p->nisqa_mode == CQ_NISQA_WINDOWED || p->nisqa_mode == CQ_NISQA_FILE) &&
           p->nisqa_window_sec >= 1 && p->nisqa_window_sec <= 600 && p->nisqa_max_file_sec > 0 &&
           p->nisqa_threads >= 1 && p->nisqa_threads <= 64 && p->mos_model >= CQ_MOS_AUTO &&
           p->mos_model <= CQ_MOS_BOTH &&
           (p->dnsmos_mode == CQ_DNSMOS_WINDOWED || p->dnsmos_mode == CQ_DNSMOS_REFERENCE) &&
           p->dnsmos_max_file_sec > 0 && p->dnsmos_threads >= 1 && p->dnsmos_threads <= 64 &&
           p->envelope_ms >= 0 && p->envelope_ms <= 60000;
}

cq_engine *cq_engine_create(const cq_engine_params *p, int *err)
{
    int rc = CQ_OK;
    cq_engine *e = NULL;
    if (!params_valid(p)) {
        rc = CQ_ERR_INVALID;
        goto done;
    }
    cq_speech_seg *none = NULL;
    size_t n_none = 0;
    rc = cq_speech_timestamps(NULL, 0, 256, 8000, 0, &p->speech, &none, &n_none);
    cq_speech_free(none); /* that call only validated the speech parameters */
    if (rc != CQ_OK)
        goto done;
    const char *vm = p->vad_model ? p->vad_model : "v6.2";
    if (!*vm || strchr(vm, '/') || strstr(vm, "..")) { /* a directory name, nothing more */
        rc = CQ_ERR_INVALID;
        goto done;
    }
    e = cq__calloc(1, sizeof(*e));
    if (!e) {
        rc = CQ_ERR_NOMEM;
        goto done;
    }
    e->p = *p;
    e->p.analyzers = cq__stages_close(p->analyzers);
    /* the envelope runs when it has a step; named without one, it takes the usual 50 ms */
    if (p->envelope_ms > 0)
        e->p.analyzers |= CQ_AN_ENVELOPE;
    else if (e->p.analyzers & CQ_AN_ENVELOPE)
        e->p.envelope_ms = 50;
    e->vad_model_name = cq__strdup(vm);
    e->model_dir = p->model_dir ? cq__strdup(p->model_dir) : NULL;
    e->tmp_dir = p->tmp_dir ? cq__strdup(p->tmp_dir) : NULL;
    e->p.vad_model = e->vad_model_name;
    e->p.model_dir = e->model_dir;
    e->p.tmp_dir = e->tmp_dir;
    if (!e->vad_model_name || (p->model_dir && !e->model_dir) || (p->tmp_dir && !e->tmp_dir))
        rc = CQ_ERR_NOMEM;
    for (size_t i = 0; rc == CQ_OK && i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (s->load && selected(e, s))
            rc = s->load(e);
    }
    if (rc != CQ_OK) {
        cq_engine_destroy(e);
        e = NULL;
    }
done:
    if (err)
        *err = rc;
    return e;
}

void cq_engine_destroy(cq_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->model)
            cq__stage_model_unload(e, cq__stage_at(i)->model);
    cq__free(e->model_dir);
    cq__free(e->tmp_dir);
    cq__free(e->vad_model_name);
    cq__free(e);
}

const char *cq_engine_vad_status(const cq_engine *e)
{
    return e->vad_status;
}

const char *cq_engine_nisqa_status(const cq_engine *e)
{
    return e->nisqa_status;
}

const char *cq_engine_dnsmos_status(const cq_engine *e)
{
    return e->dnsmos_status;
}

int cq_engine_fingerprint(const cq_engine *e, char *buf, size_t size)
{
    const cq_engine_params *p = &e->p;
    const cq_speech_params *sp = &p->speech;
    char *text = cq__printf(
        "%s|%x|%.6g|%.6g|%d|%d|%s|%s|%.6g|%.6g|%d|%d|%d|%.6g|%d|%.6g|%.6g|%s", cq_version(),
        p->analyzers, p->silence_noise_db, p->silence_min_duration_sec, p->clip_min_run,
        (int)p->channel_map, e->vad_model_name, e->vad ? cq_vad_model_sha256(e->vad) : "-",
        (double)sp->threshold, (double)sp->neg_threshold, sp->min_speech_ms, sp->min_silence_ms,
        sp->speech_pad_ms, sp->max_speech_sec, (int)p->nisqa_mode, p->nisqa_window_sec,
        p->nisqa_max_file_sec, e->nisqa ? cq_nisqa_model_sha256(e->nisqa) : "-");
    if (text && (e->dnsmos || p->mos_model != CQ_MOS_AUTO)) { /* appended, as below */
        char *more = cq__printf("%s|mos%d,%d,%.6g,%s,%s", text, (int)p->mos_model,
                                (int)p->dnsmos_mode, p->dnsmos_max_file_sec,
                                e->dnsmos ? cq_dnsmos_model_sha256(e->dnsmos, 0) : "-",
                                e->dnsmos ? cq_dnsmos_model_sha256(e->dnsmos, 1) : "-");
        cq__free(text);
        text = more;
    }
    if (text && (p->analyzers & CQ_AN_ENVELOPE)) { /* appended: other fingerprints unchanged */
        char *more = cq__printf("%s|env%d", text, p->envelope_ms);
        cq__free(text);
        text = more;
    }
    if (text && (p->analyzers & CQ_AN_DIARIZE)) {
        const cq_diar_params *d = &p->diarization;
        char *more = cq__printf("%s|dia%.6g,%.6g,%.6g,%.6g,%d,%d,%.6g,%d", text, d->piece_sec,
                                d->change_glr, d->bic_lambda, d->min_second_sec, d->gmm_components,
                                d->iterations, d->switch_penalty, p->voiceprints);
        cq__free(text);
        text = more;
    }
    if (text && (p->analyzers & CQ_AN_EVENTS) && (p->dtmf_speech || p->dtmf_voice_cancel)) {
        char *more = cq__printf("%s|dtmf%d%d", text, p->dtmf_speech, p->dtmf_voice_cancel);
        cq__free(text);
        text = more;
    }
    if (!text)
        return CQ_ERR_NOMEM;
    char hex[65];
    int rc = cq__sha256_hex(text, strlen(text), hex, NULL);
    cq__free(text);
    if (rc != CQ_OK)
        return rc;
    int n = snprintf(buf, size, "%s+%.12s", cq_version(), hex);
    return n > 0 && (size_t)n < size ? CQ_OK : CQ_ERR_TOO_LARGE;
}

const cq_engine_params *cq_engine_get_params(const cq_engine *e)
{
    return &e->p;
}

/* ---- legs ------------------------------------------------------------------------------------ */

/* Create the leg report `leg` for `channel` (1-based, 0 = mono) and its stages' states. */
static int leg_start(call_run *cr, leg_run *lr, int leg, const char *source, int channel,
                     const cq_audio_info *info)
{
    const cq_engine *e = cr->e;
    memset(lr, 0, sizeof(*lr));
    lr->leg = leg;
    lr->rate = info->sample_rate_hz;
    if (!(lr->rep = cq__calloc(1, sizeof(*lr->rep))))
        return CQ_ERR_NOMEM;
    if (leg) /* the report owns the leg from here on, whatever fails next */
        cr->r->outbound = lr->rep;
    else
        cr->r->inbound = lr->rep;
    if (!(lr->rep->source = cq__strdup(source)))
        return CQ_ERR_NOMEM;
    lr->rep->channel = channel;
    lr->rep->role = !cr->r->has_legs ? CQ_ROLE_MIXED : leg ? CQ_ROLE_AGENT : CQ_ROLE_CUSTOMER;
    lr->rep->format = *info;
    const size_t bf = e->p.block_frames;
    if (!(lr->buf = cq__malloc(bf * sizeof(float))))
        return CQ_ERR_NOMEM;
    for (int s = CQ__STREAM_8K; s < CQ__N_STREAMS; s++) {
        int to = k_stream_rate[s];
        if (!(cr->streams & (1u << s)) || to == lr->rate)
            continue;
        int rc = CQ_OK;
        if (!(lr->conv[s].rs = cq_resample_create(lr->rate, to, &rc)))
            return rc;
        lr->conv[s].cap = (size_t)((double)bf * to / lr->rate) + 1024;
        if (!(lr->conv[s].buf = cq__malloc(lr->conv[s].cap * sizeof(float))))
            return CQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (!selected(e, s) || s->per_call || !s->create)
            continue;
        const cq__stream st = stream_of(e, s);
        cq__stage_ctx c = {.engine = e,
                           .report = cr->r,
                           .leg = leg,
                           .info = info,
                           .rate_hz = st >= CQ__STREAM_8K ? k_stream_rate[st] : lr->rate,
                           .max_block = st >= CQ__STREAM_8K ? lr->conv[st].cap : bf};
        if (c.max_block == 0)
            c.max_block = bf; /* the leg is at the stream's rate already */
        double t0 = prof_start(cr);
        int rc = s->create(&lr->st[i], &c);
        prof_add(cr, &cr->r->profile_stage_sec[i], t0);
        if (rc != CQ_OK) {
            cr->failed = s->name;
            return rc;
        }
    }
    return CQ_OK;
}

/* The per-call states, once the legs exist. */
static int call_start(call_run *cr)
{
    for (size_t i = 0; i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (!selected(cr->e, s) || !s->per_call || !s->create)
            continue;
        cq__stage_ctx c = {.engine = cr->e,
                           .report = cr->r,
                           .leg = -1,
                           .rate_hz = k_stream_rate[stream_of(cr->e, s)],
                           .max_block = cr->e->p.block_frames};
        double t0 = prof_start(cr);
        int rc = s->create(&cr->st[i], &c);
        prof_add(cr, &cr->r->profile_stage_sec[i], t0);
        if (rc != CQ_OK) {
            cr->failed = s->name;
            return rc;
        }
    }
    return CQ_OK;
}

/* x (n samples of `stream`) to every selected stage that reads it. */
static int offer(call_run *cr, leg_run *lr, int stream, const float *x, size_t n)
{
    for (size_t i = 0; i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if ((int)stream_of(cr->e, s) != stream || !selected(cr->e, s) || !s->push)
            continue;
        double t0 = prof_start(cr);
        int rc = s->push(s->per_call ? cr->st[i] : lr->st[i], lr->leg, x, n, cr->r);
        prof_add(cr, &cr->r->profile_stage_sec[i], t0);
        if (rc != CQ_OK) {
            cr->failed = s->name;
            return rc;
        }
    }
    return CQ_OK;
}

/* A block of the leg at its own rate, offered on every stream some stage reads. */
static int leg_push(call_run *cr, leg_run *lr, const float *x, size_t n)
{
    int rc = offer(cr, lr, CQ__STREAM_NATIVE, x, n);
    for (int s = CQ__STREAM_8K; rc == CQ_OK && s < CQ__N_STREAMS; s++) {
        if (!(cr->streams & (1u << s)))
            continue;
        if (!lr->conv[s].rs) {
            rc = offer(cr, lr, s, x, n);
            continue;
        }
        double t0 = prof_start(cr);
        long got = cq_resample_process(lr->conv[s].rs, x, n, lr->conv[s].buf, lr->conv[s].cap);
        prof_add(cr, &cr->r->profile_resample_sec, t0);
        rc = got < 0 ? (int)got : offer(cr, lr, s, lr->conv[s].buf, (size_t)got);
    }
    return rc;
}

/* The leg's audio ended: drain the resamplers, then its stages finish in table order. */
static int leg_finish(call_run *cr, leg_run *lr, uint64_t frames)
{
    cq_leg_report *l = lr->rep;
    l->frames = frames;
    l->duration_sec = (double)frames / l->format.sample_rate_hz;
    int rc = CQ_OK;
    for (int s = CQ__STREAM_8K; rc == CQ_OK && s < CQ__N_STREAMS; s++) {
        long got;
        if (!lr->conv[s].rs)
            continue;
        double t0 = prof_start(cr);
        while (rc == CQ_OK && (got = cq_resample_process(lr->conv[s].rs, NULL, 0, lr->conv[s].buf,
                                                         lr->conv[s].cap)) != 0) {
            prof_add(cr, &cr->r->profile_resample_sec, t0);
            rc = got < 0 ? (int)got : offer(cr, lr, s, lr->conv[s].buf, (size_t)got);
            t0 = prof_start(cr);
        }
        prof_add(cr, &cr->r->profile_resample_sec, t0);
    }
    for (size_t i = 0; rc == CQ_OK && i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (!selected(cr->e, s) || s->per_call || !s->finish)
            continue;
        double t0 = prof_start(cr);
        if ((rc = s->finish(lr->st[i], lr->leg, cr->r)) != CQ_OK)
            cr->failed = s->name;
        prof_add(cr, &cr->r->profile_stage_sec[i], t0);
    }
    return rc;
}

static void leg_end(const call_run *cr, leg_run *lr)
{
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (lr->st[i] && cq__stage_at(i)->destroy) {
            double t0 = prof_start(cr);
            cq__stage_at(i)->destroy(lr->st[i]);
            prof_add(cr, &cr->r->profile_stage_sec[i], t0);
        }
    for (int s = 0; s < CQ__N_STREAMS; s++) {
        cq_resample_destroy(lr->conv[s].rs);
        cq__free(lr->conv[s].buf);
    }
    cq__free(lr->buf);
    memset(lr, 0, sizeof(*lr));
}

/* Every leg finished: the per-call stages finish, then every stage sums the call up. */
static int call_finish(call_run *cr)
{
    int rc = CQ_OK;
    for (size_t i = 0; rc == CQ_OK && i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (!selected(cr->e, s) || !s->per_call || !s->finish)
            continue;
        double t0 = prof_start(cr);
        if ((rc = s->finish(cr->st[i], -1, cr->r)) != CQ_OK)
            cr->failed = s->name;
        prof_add(cr, &cr->r->profile_stage_sec[i], t0);
    }
    for (size_t i = 0; rc == CQ_OK && i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (!selected(cr->e, s) || !s->summarize)
            continue;
        double t0 = prof_start(cr);
        if ((rc = s->summarize(cr->e, cr->r)) != CQ_OK)
            cr->failed = s->name;
        prof_add(cr, &cr->r->profile_stage_sec[i], t0);
    }
    return rc;
}

static void call_end(call_run *cr)
{
    for (int l = 0; l < 2; l++)
        leg_end(cr, &cr->legs[l]);
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cr->st[i] && cq__stage_at(i)->destroy) {
            double t0 = prof_start(cr);
            cq__stage_at(i)->destroy(cr->st[i]);
            prof_add(cr, &cr->r->profile_stage_sec[i], t0);
        }
}

/* "NAME: STAGE: reason" (the stage when one failed). Returns rc. */
static int fail(const call_run *cr, cq_err *err, int rc, const char *name)
{
    return cq__err_set(err, rc, "%s: %s%s%s", name, cr->failed ? cr->failed : "",
                       cr->failed ? ": " : "", cq_strerror(rc));
}

/* ---- sources --------------------------------------------------------------------------------- */

/*
 * Decode `a` to the end, pushing channel c into legs[c] (NULL: channel not used).
 * Sets *identical to whether the two channels of a stereo source were sample-identical.
 */
static int run_source(call_run *cr, cq_audio *a, leg_run *legs[2], bool *identical,
                      uint64_t *frames_out, cq_err *err)
{
    const cq_engine *e = cr->e;
    const cq_audio_info *info = cq_audio_get_info(a);
    const int ch = info->channels;
    const size_t bf = e->p.block_frames;
    const double max_frames = e->p.max_duration_sec * info->sample_rate_hz;
    const char *name = legs[0] ? legs[0]->rep->source : legs[1]->rep->source;
    if (info->frames > 0 && (double)info->frames > max_frames)
        return cq__err_set(err, CQ_ERR_TOO_LARGE, "%s: %.0f s of audio is over the %.0f s limit",
                           name, (double)info->frames / info->sample_rate_hz,
                           e->p.max_duration_sec);
    /* a channel no leg wants (the second channel of a stereo leg file) is read into scratch */
    float *scratch = NULL;
    float *planes[2] = {legs[0] ? legs[0]->buf : NULL, ch == 2 && legs[1] ? legs[1]->buf : NULL};
    for (int c = 0; c < ch; c++) {
        if (!planes[c]) {
            if (!scratch && !(scratch = cq__malloc(bf * sizeof(float))))
                return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", name);
            planes[c] = scratch;
        }
    }
    uint64_t total = 0;
    bool same = ch == 2;
    int rc = CQ_OK;
    for (;;) {
        double t0 = prof_start(cr);
        int64_t got = cq_audio_read_planar(a, planes, bf, err);
        prof_add(cr, &cr->r->profile_decode_sec, t0);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if (got == 0)
            break;
        total += (uint64_t)got;
        if ((double)total > max_frames) {
            rc = cq__err_set(err, CQ_ERR_TOO_LARGE, "%s: longer than the %.0f s limit", name,
                             e->p.max_duration_sec);
            break;
        }
        size_t n = (size_t)got;
        if (same && legs[0] && legs[1])
            same = memcmp(planes[0], planes[1], n * sizeof(float)) == 0;
        for (int c = 0; c < 2 && rc == CQ_OK; c++)
            if (legs[c])
                rc = leg_push(cr, legs[c], legs[c]->buf, n);
        if (rc != CQ_OK) {
            fail(cr, err, rc, name);
            break;
        }
    }
    cq__free(scratch);
    if (rc == CQ_OK && total == 0)
        rc = cq__err_set(err, CQ_ERR_EMPTY, "%s: no audio frames could be decoded", name);
    *identical = same && total > 0;
    *frames_out = total;
    return rc;
}

/* Copy the decoder's warnings into the report. */
static int take_decoder_warnings(cq_report *r, const cq_audio *a, const char *source)
{
    for (size_t i = 0; i < cq_audio_warning_count(a); i++)
        if (cq__warn(r, "header_repaired", NULL, 0, "%s", cq_audio_warning(a, i)) != CQ_OK)
            return CQ_ERR_NOMEM;
    uint64_t nf = cq_audio_nonfinite_count(a);
    if (nf) {
        cq_value v[] = {CQ_VINT("samples", nf)};
        return cq__warn(r, "nonfinite_samples", v, 1,
                        "%s: %llu non-finite float samples (NaN/Inf) were replaced by 0", source,
                        (unsigned long long)nf);
    }
    return CQ_OK;
}

static int analyze_one_file(call_run *cr, const cq_call_src *src, cq_err *err)
{
    const cq_engine *e = cr->e;
    cq_report *r = cr->r;
    const char *name = src->path ? src->path : r->file;
    const char *shown = src->source_name ? src->source_name : name;
    double t0 = prof_start(cr);
    cq_audio *a = src->path ? cq_audio_open(src->path, err)
                            : cq_audio_open_memory(src->data, src->size, name, err);
    prof_add(cr, &r->profile_decode_sec, t0);
    if (!a)
        return err ? err->code : CQ_ERR_FORMAT;
    const cq_audio_info *info = cq_audio_get_info(a);
    int rc = CQ_OK;
    bool identical = false;
    uint64_t frames = 0;
    leg_run *legs[2] = {&cr->legs[0], NULL};
    if (info->channels == 2) {
        r->has_legs = true;
        r->layout = "stereo";
        r->channel_map = e->p.channel_map;
        /* legs[c] analyses channel c+1; the map says which one is inbound */
        int in_ch = e->p.channel_map == CQ_MAP_IN_OUT ? 0 : 1;
        legs[1] = &cr->legs[1];
        rc = leg_start(cr, legs[0], in_ch == 0 ? 0 : 1, shown, 1, info);
        if (rc == CQ_OK)
            rc = leg_start(cr, legs[1], in_ch == 1 ? 0 : 1, shown, 2, info);
    } else {
        r->has_legs = false;
        r->layout = "mono_mix";
        rc = leg_start(cr, legs[0], 0, shown, 0, info);
    }
    if (rc == CQ_OK)
        rc = call_start(cr);
    if (rc == CQ_OK)
        rc = run_source(cr, a, legs, &identical, &frames, err);
    for (int c = 0; c < info->channels && rc == CQ_OK; c++)
        rc = leg_finish(cr, legs[c], frames);
    if (rc == CQ_OK)
        rc = take_decoder_warnings(r, a, shown);
    if (rc == CQ_OK && !r->has_legs)
        rc = cq__warn(r, "mono_mix", NULL, 0,
                      "%s: mono recording: both parties are mixed into one signal, which hides "
                      "one-way audio; analyse the -in/-out leg files or a stereo recording where "
                      "available",
                      shown);
    if (rc == CQ_OK && identical) {
        r->fake_stereo = true;
        rc = cq__warn(r, "fake_stereo", NULL, 0,
                      "%s: fake stereo: both channels are sample-identical, so the legs cannot "
                      "be told apart",
                      shown);
    }
    if (rc != CQ_OK && err && err->code == CQ_OK)
        fail(cr, err, rc, name);
    cq_audio_close(a);
    return rc;
}

/*
 * Two leg files, decoded in step (a block of each in turn, blocks of equal duration), so that
 * the two-leg stages see both legs at once in bounded memory. A stereo leg file gives its first
 * channel.
 */
static int analyze_leg_files(call_run *cr, const char *paths[2], const char *shown[2], cq_err *err)
{
    const cq_engine *e = cr->e;
    cq_report *r = cr->r;
    cq_audio *a[2] = {NULL, NULL};
    float *scratch = NULL;
    uint64_t frames[2] = {0, 0};
    int rc = CQ_OK;
    for (int l = 0; l < 2 && rc == CQ_OK; l++) {
        double t0 = prof_start(cr);
        a[l] = cq_audio_open(paths[l], err);
        prof_add(cr, &r->profile_decode_sec, t0);
        if (!a[l]) {
            rc = err && err->code ? err->code : CQ_ERR_FORMAT;
            break;
        }
        rc = leg_start(cr, &cr->legs[l], l, shown[l] ? shown[l] : paths[l],
                       cq_audio_get_info(a[l])->channels == 2 ? 1 : 0, cq_audio_get_info(a[l]));
    }
    if (rc == CQ_OK)
        rc = call_start(cr);
    const size_t bf = e->p.block_frames;
    if (rc == CQ_OK && !(scratch = cq__malloc(bf * sizeof(float))))
        rc = cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", paths[0]);
    if (rc == CQ_OK) {
        int rate[2] = {cq_audio_get_info(a[0])->sample_rate_hz,
                       cq_audio_get_info(a[1])->sample_rate_hz};
        int top = rate[0] > rate[1] ? rate[0] : rate[1];
        bool ended[2] = {false, false};
        while (rc == CQ_OK && !(ended[0] && ended[1])) {
            for (int l = 0; l < 2 && rc == CQ_OK; l++) {
                if (ended[l])
                    continue;
                const cq_audio_info *info = cq_audio_get_info(a[l]);
                size_t want = (size_t)((double)bf * rate[l] / top);
                if (want < 64)
                    want = 64;
                leg_run *lr = &cr->legs[l];
                float *planes[2] = {lr->buf, scratch};
                double t0 = prof_start(cr);
                int64_t got = cq_audio_read_planar(a[l], planes, want, err);
                prof_add(cr, &cr->r->profile_decode_sec, t0);
                if (got < 0) {
                    rc = (int)got;
                    break;
                }
                if (got == 0) {
                    ended[l] = true;
                    continue;
                }
                frames[l] += (uint64_t)got;
                if ((double)frames[l] > e->p.max_duration_sec * info->sample_rate_hz) {
                    rc = cq__err_set(err, CQ_ERR_TOO_LARGE, "%s: longer than the %.0f s limit",
                                     paths[l], e->p.max_duration_sec);
                    break;
                }
                if ((rc = leg_push(cr, lr, lr->buf, (size_t)got)) != CQ_OK)
                    fail(cr, err, rc, paths[l]);
            }
        }
    }
    for (int l = 0; l < 2 && rc == CQ_OK; l++)
        if (frames[l] == 0)
            rc = cq__err_set(err, CQ_ERR_EMPTY, "%s: no audio frames could be decoded", paths[l]);
    for (int l = 0; l < 2 && rc == CQ_OK; l++)
        rc = leg_finish(cr, &cr->legs[l], frames[l]);
    for (int l = 0; l < 2 && rc == CQ_OK; l++) {
        const char *nm = shown[l] ? shown[l] : paths[l];
        rc = take_decoder_warnings(r, a[l], nm);
        if (rc == CQ_OK && cq_audio_get_info(a[l])->channels == 2)
            rc = cq__warn(r, "stereo_leg_file", NULL, 0,
                          "%s: leg file is stereo; its first channel was analysed", nm);
    }
    cq__free(scratch);
    for (int l = 0; l < 2; l++)
        cq_audio_close(a[l]);
    if (rc != CQ_OK && err && err->code == CQ_OK)
        fail(cr, err, rc, paths[0]);
    return rc;
}

/* What the report states before any audio: the parameters, and each stage's own (models). */
static int report_start(const cq_engine *e, cq_report *r)
{
    r->analyzers = e->p.analyzers;
    r->speech_params = e->p.speech;
    r->nisqa_mode = e->p.nisqa_mode;
    r->nisqa_window_sec = e->p.nisqa_window_sec;
    r->dnsmos_mode = e->p.dnsmos_mode;
    r->mos_model = e->p.mos_model;
    r->silence_noise_db = e->p.silence_noise_db;
    r->dtmf_speech = e->p.dtmf_speech || e->p.dtmf_voice_cancel;
    r->dtmf_voice_cancel = e->p.dtmf_voice_cancel;
    r->silence_min_duration_sec = e->p.silence_min_duration_sec;
    for (size_t i = 0; i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (!selected(e, s))
            continue;
        int rc = s->model ? cq__stage_model_prepare(e, s->model, r) : CQ_OK;
        if (rc == CQ_OK && s->prepare)
            rc = s->prepare(e, r);
        if (rc != CQ_OK)
            return rc;
    }
    return CQ_OK;
}

/* An error names each source as the caller named it (source_name, in_name, out_name), never by
 * the path it was read from: a service reads uploads from temporary files and recordings from
 * its folders, and its answers name no server path. */
static void err_names(cq_err *err, const cq_call_src *src)
{
    const char *path[3] = {src->path, src->in_path, src->out_path};
    const char *shown[3] = {src->source_name ? src->source_name : src->name, src->in_name,
                            src->out_name};
    for (int k = 0; k < 3; k++) {
        if (!path[k] || !shown[k] || !path[k][0] || !strcmp(path[k], shown[k]))
            continue;
        char out[sizeof(err->msg)];
        size_t o = 0, pl = strlen(path[k]), sl = strlen(shown[k]);
        for (const char *m = err->msg; *m && o + 1 < sizeof(out);) {
            if (!strncmp(m, path[k], pl)) {
                size_t c = sl < sizeof(out) - 1 - o ? sl : sizeof(out) - 1 - o;
                memcpy(out + o, shown[k], c);
                o += c, m += pl;
            } else {
                out[o++] = *m++;
            }
        }
        out[o] = 0;
        memcpy(err->msg, out, o + 1);
    }
}

static int analyze(const cq_engine *e, const cq_call_src *src, cq_report **out, cq_err *err);

int cq_engine_analyze(const cq_engine *e, const cq_call_src *src, cq_report **out, cq_err *err)
{
    cq_err local;
    if (!err)
        err = &local;
    int rc = analyze(e, src, out, err);
    if (rc != CQ_OK)
        err_names(err, src);
    return rc;
}

static int analyze(const cq_engine *e, const cq_call_src *src, cq_report **out, cq_err *err)
{
    double t0 = cq_clock_mono_sec();
    cq_err local;
    if (!err)
        err = &local;
    cq_err_clear(err);
    *out = NULL;
    bool one = src->path || src->data;
    bool two = src->in_path && src->out_path;
    if (one == two || (src->path && src->data) || (!two && (src->in_path || src->out_path)))
        return cq__err_set(err, CQ_ERR_INVALID,
                           "a call is one file, or an inbound and an outbound leg file");
    cq_report *r = cq__calloc(1, sizeof(*r));
    const char *name = src->name      ? src->name
                       : src->path    ? src->path
                       : src->in_path ? src->in_path
                                      : "(upload)";
    if (!r || !(r->file = cq__strdup(name)) || report_start(e, r) != CQ_OK) {
        cq_report_destroy(r);
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", name);
    }
    call_run cr = {.e = e, .r = r};
    r->has_profile = e->p.profile;
    for (size_t i = 0; i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (selected(e, s) && stream_of(e, s) != CQ__STREAM_NONE && (!s->idle || !s->idle(e)))
            cr.streams |= 1u << stream_of(e, s); /* an idle stage's stream is not made for it */
    }
    int rc = src->note ? cq__warn(r, "sources_chosen", NULL, 0, "%s", src->note) : CQ_OK;
    if (rc == CQ_OK && one) {
        rc = analyze_one_file(&cr, src, err);
    } else if (rc == CQ_OK) {
        r->has_legs = true;
        r->layout = "leg_files";
        const char *paths[2] = {src->in_path, src->out_path};
        const char *shown[2] = {src->in_name, src->out_name};
        rc = analyze_leg_files(&cr, paths, shown, err);
        if (rc == CQ_OK && fabs(r->inbound->duration_sec - r->outbound->duration_sec) > 1.0) {
            cq_value v[] = {CQ_VNUM("inbound_sec", r->inbound->duration_sec, 3),
                            CQ_VNUM("outbound_sec", r->outbound->duration_sec, 3)};
            rc = cq__warn(r, "leg_durations_differ", v, 2,
                          "leg durations differ: inbound %.2f s, outbound %.2f s",
                          r->inbound->duration_sec, r->outbound->duration_sec);
        }
    }
    if (rc == CQ_OK) {
        r->duration_sec = r->inbound->duration_sec;
        if (r->outbound && r->outbound->duration_sec > r->duration_sec)
            r->duration_sec = r->outbound->duration_sec;
        if ((rc = call_finish(&cr)) != CQ_OK)
            fail(&cr, err, rc, name);
    }
    call_end(&cr);
    if (rc != CQ_OK) {
        if (err->code == CQ_OK)
            fail(&cr, err, rc, name);
        cq_report_destroy(r);
        return rc;
    }
    r->analysis_time_sec = cq_clock_mono_sec() - t0;
    *out = r;
    return CQ_OK;
}
