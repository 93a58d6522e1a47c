/*
 * levels.c - the `levels` stage: RMS, sample peak, DC offset, clipping, crest factor and the
 * ITU-T P.56 active speech level of each leg, at its own rate (cq_level.h).
 */
#include "stage.h"

static int levels_create(void **st, const cq__stage_ctx *c)
{
    cq_level *lv = cq__calloc(1, sizeof(*lv));
    if (!lv)
        return CQ_ERR_NOMEM;
    cq_level_params lp = cq_level_default_params();
    lp.sample_rate_hz = c->info->sample_rate_hz;
    lp.clip_level = c->info->clip_level;
    lp.clip_min_run = c->engine->p.clip_min_run;
    *st = lv;
    return cq_level_init(lv, &lp) == CQ_OK ? CQ_OK : CQ_ERR_INTERNAL;
}

static int levels_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)leg, (void)r;
    cq_level_push(st, x, n);
    return CQ_OK;
}

static int levels_finish(void *st, int leg, cq_report *r)
{
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    cq_level_finish(st, &l->level);
    l->has_level = true;
    return CQ_OK;
}

static void levels_destroy(void *st)
{
    cq__free(st);
}

static void levels_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)r, (void)leg;
    const cq_level_result *lv = &l->level;
    const bool has = l->has_level;
    json_object_set_new(o, "rms_db", cq__jnum_or_null(has && lv->has_rms, lv->rms_db, 3));
    json_object_set_new(o, "peak_db", cq__jnum_or_null(has && lv->has_peak, lv->peak_db, 3));
    json_object_set_new(o, "max_amplitude", cq__jnum_or_null(has, lv->max_amplitude, 6));
    json_object_set_new(o, "min_amplitude", cq__jnum_or_null(has, lv->min_amplitude, 6));
    json_object_set_new(o, "dc_offset", cq__jnum_or_null(has, lv->dc_offset, 7));
    json_object_set_new(o, "crest_factor_db",
                        cq__jnum_or_null(has && lv->has_crest, lv->crest_db, 3));
    json_object_set_new(o, "clipped_samples",
                        has ? json_integer((json_int_t)lv->clipped_samples) : json_null());
    json_object_set_new(o, "clipped_runs",
                        has ? json_integer((json_int_t)lv->clipped_runs) : json_null());
    json_object_set_new(o, "active_level_db",
                        cq__jnum_or_null(has && lv->has_active_level, lv->active_level_db, 3));
    json_object_set_new(o, "activity_pct",
                        cq__jnum_or_null(has && lv->has_active_level, lv->activity_pct, 3));
}

static void fmt_db(char *buf, size_t n, bool has, double v, const char *unit)
{
    if (has)
        snprintf(buf, n, "%.1f %s", v, unit);
    else
        snprintf(buf, n, "-");
}

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    const cq_level_result *lv = &l->level;
    fmt_db(c[0], CQ__TEXT_CELL, lv->has_rms, lv->rms_db, "dBFS");
    fmt_db(c[1], CQ__TEXT_CELL, lv->has_peak, lv->peak_db, "dBFS");
    if (lv->has_active_level)
        snprintf(c[2], CQ__TEXT_CELL, "%.1f dBFS, %.0f%% active", lv->active_level_db,
                 lv->activity_pct);
    else
        snprintf(c[2], CQ__TEXT_CELL, "-");
    fmt_db(c[3], CQ__TEXT_CELL, lv->has_crest, lv->crest_db, "dB");
    snprintf(c[4], CQ__TEXT_CELL, "%.5f", lv->dc_offset);
    snprintf(c[5], CQ__TEXT_CELL, "%llu in %llu runs", (unsigned long long)lv->clipped_samples,
             (unsigned long long)lv->clipped_runs);
}

static void levels_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"RMS level",
                                       "peak (sample)",
                                       "active speech level (P.56)",
                                       "crest factor",
                                       "DC offset",
                                       "clipped samples",
                                       NULL};
    cq__text_leg_rows(r, t, CQ_AN_LEVELS, rows, leg_cells);
}

const cq__stage cq__stage_levels = {
    .name = "levels",
    .bit = CQ_AN_LEVELS,
    .stream = CQ__STREAM_NATIVE,
    .create = levels_create,
    .push = levels_push,
    .finish = levels_finish,
    .destroy = levels_destroy,
    .json_leg = levels_json_leg,
    .text_rows = levels_text_rows,
};
