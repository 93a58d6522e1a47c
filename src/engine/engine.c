/*
 * engine.c - one call through the pipeline: decode -> legs -> per-leg analyzers -> report.
 *
 * DESIGN
 * A call has one or two sources (one file, or an inbound and an outbound leg file). Each
 * source is decoded in blocks; each block is split into its legs and pushed into the streaming
 * state of every selected analyzer of that leg. Nothing holds a whole leg in memory, so the
 * cost per call is two blocks plus the analyzers' results. Two-leg checks that need both legs'
 * samples at once (fake stereo: identical channels) run on the interleaved block of a stereo
 * file before it is split.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/callqa.h"
#include "nisqa_run.h"
#include "vad_run.h"

struct cq_engine {
    cq_engine_params p;
    char *model_dir;        /* copies of the strings p points to */
    char *vad_model_name;
    cq_vad_model *vad;      /* NULL: the VAD runs its DSP fallback */
    char *vad_status;       /* why, when vad is NULL and the VAD is selected */
    cq_nisqa_model *nisqa;  /* NULL: no NISQA scores */
    char *nisqa_status;     /* why, when nisqa is NULL and NISQA is selected */
};

/* Per-leg streaming state. */
typedef struct leg_run {
    cq_leg_report *rep;
    cq_level level;
    cq_silence silence;
    bool silence_ready;
    float *buf; /* this leg's samples of the current block */
    cq__vad_run vad;
    bool vad_ready;
    cq__nisqa_run nisqa;
    bool nisqa_ready;
    cq_quality *quality;
} leg_run;

cq_engine_params cq_engine_default_params(void)
{
    cq_engine_params p = {
        .analyzers = CQ_AN_ALL,
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
    };
    p.speech = cq_speech_default_params();
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

/* Load NISQA's checkpoint when it is installed, or say why its scores will be null. */
static int load_nisqa(cq_engine *e)
{
    if (!(e->p.analyzers & CQ_AN_NISQA))
        return CQ_OK;
    if (!e->model_dir) {
        e->nisqa_status = cq__strdup("no model directory given: NISQA scores are null");
        return e->nisqa_status ? CQ_OK : CQ_ERR_NOMEM;
    }
    char *path = cq__printf("%s/nisqa/nisqa.tar", e->model_dir);
    if (!path)
        return CQ_ERR_NOMEM;
    cq_err err;
    e->nisqa = cq_nisqa_model_load(path, &err);
    if (!e->nisqa) {
        if (err.code == CQ_ERR_NOMEM) {
            cq__free(path);
            return CQ_ERR_NOMEM;
        }
        e->nisqa_status =
            err.code == CQ_ERR_NOT_FOUND
                ? cq__printf("NISQA model not installed (%s): quality scores are null. Its "
                             "weights are licensed CC BY-NC-SA 4.0 (non-commercial) and are "
                             "obtained by the user; see models/README.md",
                             path)
                : cq__printf("NISQA model rejected: %s; quality scores are null", err.msg);
    }
    cq__free(path);
    return e->nisqa || e->nisqa_status ? CQ_OK : CQ_ERR_NOMEM;
}

/* Load the Silero model the parameters name, or say why the DSP fallback will run. */
static int load_vad(cq_engine *e)
{
    if (!(e->p.analyzers & CQ_AN_VAD))
        return CQ_OK;
    if (!e->model_dir) {
        e->vad_status = cq__strdup("no model directory given: speech activity from the DSP "
                                   "fallback, not Silero");
        return e->vad_status ? CQ_OK : CQ_ERR_NOMEM;
    }
    char *path = cq__printf("%s/silero_vad/%s/silero_vad.onnx", e->model_dir,
                            e->vad_model_name);
    if (!path)
        return CQ_ERR_NOMEM;
    cq_err err;
    e->vad = cq_vad_model_load(path, &err);
    if (!e->vad) {
        if (err.code == CQ_ERR_NOMEM) {
            cq__free(path);
            return CQ_ERR_NOMEM;
        }
        e->vad_status = err.code == CQ_ERR_NOT_FOUND
                            ? cq__printf("Silero VAD model not installed (%s): speech activity "
                                         "from the DSP fallback; scripts/fetch-models installs it",
                                         path)
                            : cq__printf("Silero VAD model rejected: %s; speech activity from "
                                         "the DSP fallback",
                                         err.msg);
        cq__log(CQ_LOG_WARN, "%s", e->vad_status ? e->vad_status : err.msg);
    }
    cq__free(path);
    return e->vad || e->vad_status ? CQ_OK : CQ_ERR_NOMEM;
}

cq_engine *cq_engine_create(const cq_engine_params *p, int *err)
{
    int rc = CQ_OK;
    cq_engine *e = NULL;
    if ((p->analyzers & ~(unsigned)CQ_AN_ALL) || p->analyzers == 0 ||
        !(p->silence_noise_db < 0 && p->silence_noise_db > -200) ||
        !(p->silence_min_duration_sec > 0 && p->silence_min_duration_sec < 86400) ||
        p->clip_min_run < 1 || !(p->max_duration_sec > 0) || p->block_frames < 64 ||
        p->block_frames > (1u << 20) ||
        (p->channel_map != CQ_MAP_IN_OUT && p->channel_map != CQ_MAP_OUT_IN) ||
        (p->nisqa_mode != CQ_NISQA_WINDOWED && p->nisqa_mode != CQ_NISQA_FILE) ||
        !(p->nisqa_window_sec >= 1 && p->nisqa_window_sec <= 600) ||
        !(p->nisqa_max_file_sec > 0) || p->nisqa_threads < 1 || p->nisqa_threads > 64) {
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
    /* events are classified with the VAD's probabilities; the conversation is made of them */
    if (e->p.analyzers & (CQ_AN_EVENTS | CQ_AN_CONVERSATION))
        e->p.analyzers |= CQ_AN_VAD;
    e->vad_model_name = cq__strdup(vm);
    e->model_dir = p->model_dir ? cq__strdup(p->model_dir) : NULL;
    e->p.vad_model = e->vad_model_name;
    e->p.model_dir = e->model_dir;
    if (!e->vad_model_name || (p->model_dir && !e->model_dir))
        rc = CQ_ERR_NOMEM;
    else
        rc = load_vad(e);
    if (rc == CQ_OK)
        rc = load_nisqa(e);
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
    cq_vad_model_free(e->vad);
    cq__free(e->vad_status);
    cq_nisqa_model_free(e->nisqa);
    cq__free(e->nisqa_status);
    cq__free(e->model_dir);
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

const cq_engine_params *cq_engine_get_params(const cq_engine *e)
{
    return &e->p;
}

static int add_warning(cq_report *r, char *w /* taken */)
{
    if (!w)
        return CQ_ERR_NOMEM;
    size_t cap = r->n_warnings; /* exact growth: warnings are few */
    char **nw = cq__realloc(r->warnings, (cap + 1) * sizeof(*nw));
    if (!nw) {
        cq__free(w);
        return CQ_ERR_NOMEM;
    }
    r->warnings = nw;
    r->warnings[r->n_warnings++] = w;
    return CQ_OK;
}

static void leg_free(cq_leg_report *l)
{
    if (!l)
        return;
    cq__free(l->source);
    cq_silence_result_free(&l->silence);
    cq_speech_free(l->speech);
    cq__free(l->vad_probs);
    cq__free(l->nisqa_windows);
    cq__free(l->nisqa_note);
    cq__free(l->events);
    cq__free(l->timeline);
    cq__free(l);
}

void cq_report_destroy(cq_report *r)
{
    if (!r)
        return;
    cq__free(r->file);
    leg_free(r->inbound);
    leg_free(r->outbound);
    for (size_t i = 0; i < r->n_warnings; i++)
        cq__free(r->warnings[i]);
    cq__free(r->warnings);
    cq__free(r->vad_status);
    cq__free(r->nisqa_status);
    cq_conversation_free(&r->conversation);
    cq__free(r);
}

/* Create a leg report and its analyzer states for `channel` (1-based, 0 = mono) of `a`. */
static int leg_start(const cq_engine *e, leg_run *lr, const char *source, int channel,
                     const cq_audio_info *info)
{
    memset(lr, 0, sizeof(*lr));
    lr->rep = cq__calloc(1, sizeof(*lr->rep));
    if (!lr->rep || !(lr->rep->source = cq__strdup(source)))
        return CQ_ERR_NOMEM;
    lr->rep->channel = channel;
    lr->rep->format = *info;
    if (e->p.analyzers & CQ_AN_LEVELS) {
        cq_level_params lp = cq_level_default_params();
        lp.sample_rate_hz = info->sample_rate_hz;
        lp.clip_level = info->clip_level;
        lp.clip_min_run = e->p.clip_min_run;
        if (cq_level_init(&lr->level, &lp) != CQ_OK)
            return CQ_ERR_INTERNAL;
    }
    if (e->p.analyzers & CQ_AN_SILENCE) {
        cq_silence_params sp = cq_silence_default_params();
        sp.sample_rate_hz = info->sample_rate_hz;
        sp.noise_db = e->p.silence_noise_db;
        sp.min_duration_sec = e->p.silence_min_duration_sec;
        sp.scale = info->silence_scale;
        if (cq_silence_init(&lr->silence, &sp) != CQ_OK)
            return CQ_ERR_INTERNAL;
        lr->silence_ready = true;
    }
    lr->buf = cq__malloc(e->p.block_frames * sizeof(float));
    if (!lr->buf)
        return CQ_ERR_NOMEM;
    if (e->p.analyzers & CQ_AN_VAD) {
        lr->vad_ready = true; /* uninit is safe on a half-initialised run */
        int rc = cq__vad_run_init(&lr->vad, e->vad, info->sample_rate_hz, e->p.block_frames);
        if (rc != CQ_OK)
            return rc;
        if ((e->p.analyzers & CQ_AN_EVENTS) && !(lr->vad.cls = cq_classifier_create(NULL, &rc)))
            return rc;
    }
    if (e->p.analyzers & CQ_AN_QUALITY) {
        int rc = CQ_OK;
        if (!(lr->quality = cq_quality_create(info->sample_rate_hz, &rc)))
            return rc;
    }
    if ((e->p.analyzers & CQ_AN_NISQA) && e->nisqa) {
        lr->nisqa_ready = true;
        int rc = cq__nisqa_run_init(&lr->nisqa, e->nisqa, info->sample_rate_hz, e->p.nisqa_mode,
                                    e->p.nisqa_window_sec, e->p.nisqa_max_file_sec);
        if (rc != CQ_OK)
            return rc;
        cq_nisqa_set_threads(lr->nisqa.s, e->p.nisqa_threads);
    }
    return CQ_OK;
}

static int leg_push(const cq_engine *e, leg_run *lr, const float *x, size_t n)
{
    if (e->p.analyzers & CQ_AN_LEVELS)
        cq_level_push(&lr->level, x, n);
    int rc = CQ_OK;
    if (lr->silence_ready)
        rc = cq_silence_push(&lr->silence, x, n);
    if (rc == CQ_OK && lr->vad_ready)
        rc = cq__vad_run_push(&lr->vad, x, n);
    if (rc == CQ_OK && lr->nisqa_ready)
        rc = cq__nisqa_run_push(&lr->nisqa, x, n);
    if (rc == CQ_OK && lr->quality)
        rc = cq_quality_push(lr->quality, x, n);
    return rc;
}

/* Finish the analyzers; the leg report then owns their results. */
static int leg_finish(const cq_engine *e, leg_run *lr, uint64_t frames)
{
    cq_leg_report *l = lr->rep;
    l->frames = frames;
    l->duration_sec = (double)frames / l->format.sample_rate_hz;
    if (e->p.analyzers & CQ_AN_LEVELS) {
        cq_level_finish(&lr->level, &l->level);
        l->has_level = true;
    }
    if (lr->silence_ready) {
        int rc = cq_silence_finish(&lr->silence, &l->silence);
        if (rc != CQ_OK)
            return rc;
        l->has_silence = true;
    }
    if (lr->vad_ready) {
        int rc = cq__vad_run_finish(&lr->vad, &e->p.speech, l);
        if (rc != CQ_OK)
            return rc;
    }
    if (lr->nisqa_ready) { /* after the VAD: windows are weighted by its speech */
        int rc = cq__nisqa_run_finish(&lr->nisqa, l);
        if (rc != CQ_OK)
            return rc;
    }
    if (lr->quality) { /* after the VAD: speech vs non-speech */
        cq_span *sp = NULL;
        if (l->has_vad && l->n_speech &&
            !(sp = cq__malloc(sizeof(cq_span) * l->n_speech)))
            return CQ_ERR_NOMEM;
        for (size_t i = 0; sp && i < l->n_speech; i++) {
            sp[i].start_sec = (double)l->speech[i].start / l->vad_rate_hz;
            sp[i].end_sec = (double)l->speech[i].end / l->vad_rate_hz;
        }
        int rc = cq_quality_finish(lr->quality, sp, l->has_vad ? l->n_speech : 0, l->has_vad,
                                   &l->quality);
        cq__free(sp);
        if (rc != CQ_OK)
            return rc;
        l->has_quality = true;
    }
    return CQ_OK;
}

static void leg_uninit(leg_run *lr)
{
    if (lr->silence_ready)
        cq_silence_uninit(&lr->silence);
    if (lr->vad_ready)
        cq__vad_run_uninit(&lr->vad);
    if (lr->nisqa_ready)
        cq__nisqa_run_uninit(&lr->nisqa);
    cq_quality_destroy(lr->quality);
    lr->quality = NULL;
    cq__free(lr->buf);
    lr->buf = NULL;
}

/*
 * Decode `a` to the end, pushing channel c into legs[c] (NULL: channel not used).
 * Sets *identical to whether the two channels of a stereo source were sample-identical.
 */
static int run_source(const cq_engine *e, cq_audio *a, leg_run *legs[2], bool *identical,
                      uint64_t *frames_out, cq_err *err)
{
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
        int64_t got = cq_audio_read_planar(a, planes, bf, err);
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
                rc = leg_push(e, legs[c], legs[c]->buf, n);
        if (rc != CQ_OK) {
            cq__err_set(err, rc, "%s: %s", name, cq_strerror(rc));
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
        if (add_warning(r, cq__strdup(cq_audio_warning(a, i))) != CQ_OK)
            return CQ_ERR_NOMEM;
    uint64_t nf = cq_audio_nonfinite_count(a);
    if (nf && add_warning(r, cq__printf("%s: %llu non-finite float samples (NaN/Inf) were "
                                        "replaced by 0",
                                        source, (unsigned long long)nf)) != CQ_OK)
        return CQ_ERR_NOMEM;
    return CQ_OK;
}

/* With the conversation analyzer, the two legs' 8 kHz streams also go to the two-leg checks. */
static int xleg_attach(const cq_engine *e, cq_xleg **xl, leg_run *in, leg_run *out)
{
    if (!(e->p.analyzers & CQ_AN_CONVERSATION))
        return CQ_OK;
    int rc = CQ_OK;
    if (!(*xl = cq_xleg_create(&rc)))
        return rc;
    in->vad.xleg = *xl, in->vad.xleg_leg = 0;
    out->vad.xleg = *xl, out->vad.xleg_leg = 1;
    return CQ_OK;
}

static int analyze_one_file(const cq_engine *e, const cq_call_src *src, cq_report *r,
                            cq_err *err)
{
    const char *name = src->path ? src->path : r->file;
    const char *shown = src->source_name ? src->source_name : name;
    cq_audio *a = src->path ? cq_audio_open(src->path, err)
                            : cq_audio_open_memory(src->data, src->size, name, err);
    if (!a)
        return err ? err->code : CQ_ERR_FORMAT;
    const cq_audio_info *info = cq_audio_get_info(a);
    leg_run runs[2];
    memset(runs, 0, sizeof(runs));
    int rc = CQ_OK;
    bool identical = false;
    uint64_t frames = 0;
    cq_xleg *xl = NULL;

    if (info->channels == 2) {
        r->has_legs = true;
        r->layout = "stereo";
        r->channel_map = e->p.channel_map;
        /* runs[c] analyses channel c+1; the map says which one is inbound */
        rc = leg_start(e, &runs[0], shown, 1, info);
        if (rc == CQ_OK)
            rc = leg_start(e, &runs[1], shown, 2, info);
        if (rc == CQ_OK) {
            int in_idx = e->p.channel_map == CQ_MAP_IN_OUT ? 0 : 1;
            r->inbound = runs[in_idx].rep;
            r->outbound = runs[1 - in_idx].rep;
            rc = xleg_attach(e, &xl, &runs[in_idx], &runs[1 - in_idx]);
            leg_run *legs[2] = {&runs[0], &runs[1]};
            if (rc == CQ_OK)
                rc = run_source(e, a, legs, &identical, &frames, err);
        }
    } else {
        r->has_legs = false;
        r->layout = "mono_mix";
        rc = leg_start(e, &runs[0], shown, 0, info);
        if (rc == CQ_OK) {
            r->inbound = runs[0].rep;
            leg_run *legs[2] = {&runs[0], NULL};
            rc = run_source(e, a, legs, &identical, &frames, err);
        }
    }
    for (int c = 0; c < info->channels && rc == CQ_OK; c++)
        rc = leg_finish(e, &runs[c], frames);
    if (rc == CQ_OK && xl && !(rc = cq_xleg_finish(xl, &r->xleg)))
        r->has_xleg = true;
    cq_xleg_destroy(xl);
    if (rc == CQ_OK)
        rc = take_decoder_warnings(r, a, shown);
    if (rc == CQ_OK && !r->has_legs)
        rc = add_warning(r, cq__printf("%s: mono recording: both parties are mixed into one "
                                       "signal, which hides one-way audio; analyse the -in/-out "
                                       "leg files or a stereo recording where available",
                                       shown));
    if (rc == CQ_OK && identical) {
        r->fake_stereo = true;
        rc = add_warning(r, cq__printf("%s: fake stereo: both channels are sample-identical, so "
                                       "the legs cannot be told apart",
                                       shown));
    }
    /* reports that were not attached to r are freed here */
    for (int c = 0; c < 2; c++) {
        leg_uninit(&runs[c]);
        if (runs[c].rep && runs[c].rep != r->inbound && runs[c].rep != r->outbound)
            leg_free(runs[c].rep);
    }
    if (rc != CQ_OK && err && err->code == CQ_OK)
        cq__err_set(err, rc, "%s: %s", name, cq_strerror(rc));
    cq_audio_close(a);
    return rc;
}

/*
 * Two leg files, decoded in step (a block of each in turn, blocks of equal duration), so that
 * the two-leg checks see both legs at once in bounded memory. A stereo leg file gives its
 * first channel.
 */
static int analyze_leg_files(const cq_engine *e, const char *paths[2], const char *shown[2],
                             cq_report *r, cq_err *err)
{
    cq_audio *a[2] = {NULL, NULL};
    leg_run runs[2];
    memset(runs, 0, sizeof(runs));
    float *scratch = NULL;
    cq_xleg *xl = NULL;
    uint64_t frames[2] = {0, 0};
    int rc = CQ_OK, started = 0;
    for (int l = 0; l < 2 && rc == CQ_OK; l++) {
        if (!(a[l] = cq_audio_open(paths[l], err))) {
            rc = err && err->code ? err->code : CQ_ERR_FORMAT;
            break;
        }
        rc = leg_start(e, &runs[l], shown[l] ? shown[l] : paths[l],
                       cq_audio_get_info(a[l])->channels == 2 ? 1 : 0,
                       cq_audio_get_info(a[l]));
        started = l + 1;
        if (l == 0)
            r->inbound = runs[0].rep;
        else
            r->outbound = runs[1].rep;
    }
    if (rc == CQ_OK)
        rc = xleg_attach(e, &xl, &runs[0], &runs[1]);
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
                float *planes[2] = {runs[l].buf, scratch};
                int64_t got = cq_audio_read_planar(a[l], planes, want, err);
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
                if ((rc = leg_push(e, &runs[l], runs[l].buf, (size_t)got)) != CQ_OK)
                    cq__err_set(err, rc, "%s: %s", paths[l], cq_strerror(rc));
            }
        }
    }
    for (int l = 0; l < 2 && rc == CQ_OK; l++)
        if (frames[l] == 0)
            rc = cq__err_set(err, CQ_ERR_EMPTY, "%s: no audio frames could be decoded", paths[l]);
    for (int l = 0; l < 2 && rc == CQ_OK; l++)
        rc = leg_finish(e, &runs[l], frames[l]);
    if (rc == CQ_OK && xl && !(rc = cq_xleg_finish(xl, &r->xleg)))
        r->has_xleg = true;
    for (int l = 0; l < 2 && rc == CQ_OK; l++) {
        const char *nm = shown[l] ? shown[l] : paths[l];
        rc = take_decoder_warnings(r, a[l], nm);
        if (rc == CQ_OK && cq_audio_get_info(a[l])->channels == 2)
            rc = add_warning(r, cq__printf("%s: leg file is stereo; its first channel was "
                                           "analysed", nm));
    }
    for (int l = 0; l < started; l++)
        leg_uninit(&runs[l]);
    cq_xleg_destroy(xl);
    cq__free(scratch);
    for (int l = 0; l < 2; l++)
        cq_audio_close(a[l]);
    if (rc != CQ_OK && err && err->code == CQ_OK)
        cq__err_set(err, rc, "%s: %s", paths[0], cq_strerror(rc));
    return rc;
}

/* The call-level stage: conversation dynamics and one-way audio from the legs' results. */
static int call_stage(const cq_engine *e, cq_report *r)
{
    if (!(e->p.analyzers & CQ_AN_CONVERSATION))
        return CQ_OK;
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    cq_conv_leg_in in[2];
    cq_conv_span *sp[2] = {NULL, NULL};
    int n = r->outbound ? 2 : 1, rc = CQ_OK;
    memset(in, 0, sizeof(in));
    for (int l = 0; l < n && rc == CQ_OK; l++) {
        const cq_leg_report *lg = L[l];
        if (!lg->has_vad)
            return CQ_OK;
        if (lg->n_speech && !(sp[l] = cq__malloc(lg->n_speech * sizeof(cq_conv_span)))) {
            rc = CQ_ERR_NOMEM;
            break;
        }
        for (size_t i = 0; i < lg->n_speech; i++)
            sp[l][i] = (cq_conv_span){(double)lg->speech[i].start / lg->vad_rate_hz,
                                      (double)lg->speech[i].end / lg->vad_rate_hz};
        in[l] = (cq_conv_leg_in){.duration_sec = lg->duration_sec, .speech_pct = lg->speech_pct,
                                 .speech = sp[l], .n_speech = lg->n_speech,
                                 .events = lg->events, .n_events = lg->n_events,
                                 .timeline = lg->timeline, .n_timeline = lg->n_timeline};
    }
    if (rc == CQ_OK && (rc = cq_conversation_analyze(in, n, NULL, &r->conversation)) == CQ_OK)
        r->has_conversation = true;
    cq__free(sp[0]);
    cq__free(sp[1]);
    if (rc == CQ_OK && r->has_conversation && r->conversation.swapped_suspected)
        rc = add_warning(r, cq__printf("legs probably swapped: %s (stereo: --channel-map "
                                       "out,in)", r->conversation.swapped_detail));
    if (rc != CQ_OK || !r->has_xleg || r->fake_stereo)
        return rc;
    const cq_xleg_result *x = &r->xleg;
    if (x->near_identical)
        rc = add_warning(r, cq__printf("near-identical legs: the two channels correlate at %.3f "
                                       "(lag 0); they are probably one signal, and the legs "
                                       "cannot be told apart", x->corr_lag0));
    else if (x->bleed_from >= 0)
        rc = add_warning(r, cq__printf("the %s leg carries the %s leg's audio %.0f ms later at "
                                       "%.1f dB (correlation %.2f): echo or cross-talk",
                                       x->bleed_from ? "inbound" : "outbound",
                                       x->bleed_from ? "outbound" : "inbound", x->bleed_lag_ms,
                                       x->bleed_db, x->bleed_corr));
    return rc;
}

int cq_engine_analyze(const cq_engine *e, const cq_call_src *src, cq_report **out, cq_err *err)
{
    double t0 = cq__now_sec();
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
    const char *name = src->name       ? src->name
                       : src->path     ? src->path
                       : src->in_path  ? src->in_path
                                       : "(upload)";
    if (!r || !(r->file = cq__strdup(name))) {
        cq_report_destroy(r);
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", name);
    }
    r->analyzers = e->p.analyzers;
    r->speech_params = e->p.speech;
    if (e->p.analyzers & CQ_AN_VAD) {
        r->vad_engine = e->vad ? CQ_VAD_SILERO : CQ_VAD_DSP;
        if (e->vad) {
            r->vad_version = cq_vad_model_version(e->vad);
            snprintf(r->vad_sha256, sizeof(r->vad_sha256), "%s", cq_vad_model_sha256(e->vad));
        } else if (!(r->vad_status = cq__strdup(e->vad_status))) {
            cq_report_destroy(r);
            return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", name);
        }
    }
    r->nisqa_mode = e->p.nisqa_mode;
    r->nisqa_window_sec = e->p.nisqa_window_sec;
    if (e->p.analyzers & CQ_AN_NISQA) {
        r->nisqa_loaded = e->nisqa != NULL;
        if (e->nisqa)
            snprintf(r->nisqa_sha256, sizeof(r->nisqa_sha256), "%s", cq_nisqa_model_sha256(e->nisqa));
        else if (!(r->nisqa_status = cq__strdup(e->nisqa_status))) {
            cq_report_destroy(r);
            return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", name);
        }
    }
    r->silence_noise_db = e->p.silence_noise_db;
    r->silence_min_duration_sec = e->p.silence_min_duration_sec;
    int rc = src->note ? add_warning(r, cq__strdup(src->note)) : CQ_OK;
    if (rc == CQ_OK && one) {
        rc = analyze_one_file(e, src, r, err);
    } else if (rc == CQ_OK) {
        r->has_legs = true;
        r->layout = "leg_files";
        const char *paths[2] = {src->in_path, src->out_path};
        const char *shown[2] = {src->in_name, src->out_name};
        rc = analyze_leg_files(e, paths, shown, r, err);
        if (rc == CQ_OK && fabs(r->inbound->duration_sec - r->outbound->duration_sec) > 1.0)
            rc = add_warning(r, cq__printf("leg durations differ: inbound %.2f s, outbound "
                                           "%.2f s",
                                           r->inbound->duration_sec,
                                           r->outbound->duration_sec));
    }
    if (rc != CQ_OK) {
        if (err->code == CQ_OK)
            cq__err_set(err, rc, "%s: %s", name, cq_strerror(rc));
        cq_report_destroy(r);
        return rc;
    }
    r->duration_sec = r->inbound->duration_sec;
    if (r->outbound && r->outbound->duration_sec > r->duration_sec)
        r->duration_sec = r->outbound->duration_sec;
    if ((rc = call_stage(e, r)) != CQ_OK) {
        cq__err_set(err, rc, "%s: %s", name, cq_strerror(rc));
        cq_report_destroy(r);
        return rc;
    }
    r->analysis_time_sec = cq__now_sec() - t0;
    *out = r;
    return CQ_OK;
}
