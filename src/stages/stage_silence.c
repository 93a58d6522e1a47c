/*
 * stage_silence.c - the `silence` stage: silences of each leg with FFmpeg silencedetect semantics,
 * at its own rate (cq_silence.h).
 */
#include "stage.h"

static int silence_create(void **st, const cq__stage_ctx *c)
{
    cq_silence *s = cq__calloc(1, sizeof(*s));
    if (!s)
        return CQ_ERR_NOMEM;
    *st = s;
    cq_silence_params sp = cq_silence_default_params();
    sp.sample_rate_hz = c->info->sample_rate_hz;
    sp.noise_db = c->engine->p.silence_noise_db;
    sp.min_duration_sec = c->engine->p.silence_min_duration_sec;
    sp.scale = c->info->silence_scale;
    if (cq_silence_init(s, &sp) != CQ_OK) {
        cq__free(s);
        *st = NULL;
        return CQ_ERR_INTERNAL;
    }
    return CQ_OK;
}

static int silence_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)leg, (void)r;
    return cq_silence_push(st, x, n);
}

static int silence_finish(void *st, int leg, cq_report *r)
{
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    int rc = cq_silence_finish(st, &l->silence);
    if (rc == CQ_OK)
        l->has_silence = true;
    return rc;
}

static void silence_destroy(void *st)
{
    if (!st)
        return;
    cq_silence_uninit(st);
    cq__free(st);
}

static void silence_free_leg(cq_leg_report *l)
{
    cq_silence_result_free(&l->silence);
}

static void silence_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)r, (void)leg;
    if (!l->has_silence) {
        json_object_set_new(o, "silence", json_null());
        json_object_set_new(o, "silences", json_null());
        return;
    }
    const cq_silence_result *s = &l->silence;
    json_t *sum = json_object();
    json_object_set_new(sum, "count", json_integer((json_int_t)s->count));
    json_object_set_new(sum, "total_sec", cq__jnum(s->total_sec, 6));
    json_object_set_new(sum, "ratio_pct", cq__jnum(s->ratio_pct, 3));
    json_object_set_new(sum, "longest_ms", cq__jnum(s->longest_ms, 3));
    json_object_set_new(o, "silence", sum);
    json_t *arr = json_array();
    for (size_t i = 0; i < s->count; i++) {
        const cq_silence_span *sp = &s->spans[i];
        json_t *so = json_object();
        json_object_set_new(so, "start", cq__jnum(sp->start_sec, 6));
        json_object_set_new(so, "end", cq__jnum(sp->end_sec, 6));
        json_object_set_new(so, "duration", cq__jnum(sp->duration_sec, 6));
        json_array_append_new(arr, so);
    }
    json_object_set_new(o, "silences", arr);
}

/* The parameters are the engine's, shown whether the stage ran or not. */
static void silence_json_engine(const cq_report *r, json_t *eng)
{
    json_t *sd = json_object();
    json_object_set_new(sd, "noise_db", cq__jnum(r->silence_noise_db, 3));
    json_object_set_new(sd, "duration_sec", cq__jnum(r->silence_min_duration_sec, 6));
    json_object_set_new(eng, "silencedetect", sd);
}

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    const cq_silence_result *s = &l->silence;
    snprintf(c[0], CQ__TEXT_CELL, "%zu, %.1f s (%.0f%%)", s->count, s->total_sec, s->ratio_pct);
    snprintf(c[1], CQ__TEXT_CELL, "%.2f s", s->longest_ms / 1000.0);
}

static void silence_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"silences", "longest silence", NULL};
    cq__text_leg_rows(r, t, CQ_AN_SILENCE, rows, leg_cells);
}

static void silence_text_section(const cq_report *r, cq__sb *b)
{
    if (!(r->analyzers & CQ_AN_SILENCE))
        return;
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    for (int i = 0; i < n; i++) {
        const cq_silence_result *s = &L[i]->silence;
        if (!s->count)
            continue;
        cq__sb_printf(b, "\n  silences on %s (start-end, seconds):\n",
                      n == 2 ? cq__leg_name(i) : "the mix");
        const size_t show = 12;
        for (size_t k = 0; k < s->count && k < show; k++)
            cq__sb_printf(b, "    %9.2f - %9.2f  (%.2f s)\n", s->spans[k].start_sec,
                          s->spans[k].end_sec, s->spans[k].duration_sec);
        if (s->count > show)
            cq__sb_printf(b, "    ... %zu more (the JSON report lists them all)\n",
                          s->count - show);
    }
}

const cq__stage cq__stage_silence = {
    .name = "silence",
    .bit = CQ_AN_SILENCE,
    .stream = CQ__STREAM_NATIVE,
    .create = silence_create,
    .push = silence_push,
    .finish = silence_finish,
    .destroy = silence_destroy,
    .free_leg = silence_free_leg,
    .json_leg = silence_json_leg,
    .json_engine = silence_json_engine,
    .text_rows = silence_text_rows,
    .text_section = silence_text_section,
};
