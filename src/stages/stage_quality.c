/*
 * stage_quality.c - the `quality` stage: model-free indicators of each leg at its own rate (noise
 * floor, SNR, bandwidth, dropouts, level drift; cq_quality.h), speech told from non-speech by
 * the VAD's segments when the VAD ran.
 */
#include "stage.h"

static int quality_create(void **st, const cq__stage_ctx *c)
{
    int rc = CQ_OK;
    *st = cq_quality_create(c->info->sample_rate_hz, &rc);
    return *st ? CQ_OK : rc;
}

static int quality_push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)leg, (void)r;
    return cq_quality_push(st, x, n);
}

static int quality_finish(void *st, int leg, cq_report *r)
{
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    cq_span *sp = NULL;
    if (l->has_vad && l->n_speech && !(sp = cq__malloc(sizeof(cq_span) * l->n_speech)))
        return CQ_ERR_NOMEM;
    for (size_t i = 0; sp && i < l->n_speech; i++) {
        sp[i].start_sec = (double)l->speech[i].start / l->vad_rate_hz;
        sp[i].end_sec = (double)l->speech[i].end / l->vad_rate_hz;
    }
    /* clipping_pct: the levels stage's clipped samples, as a share */
    int rc = cq_quality_finish(st, sp, l->has_vad ? l->n_speech : 0, l->has_vad, &l->quality);
    cq__free(sp);
    if (rc == CQ_OK)
        l->has_quality = true;
    if (l->has_level && l->level.samples) {
        l->has_clipping_pct = true;
        l->clipping_pct = 100.0 * (double)l->level.clipped_samples / (double)l->level.samples;
    }
    return rc;
}

static void quality_destroy(void *st)
{
    cq_quality_destroy(st);
}

static void quality_json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)r, (void)leg;
    if (!l->has_quality) {
        json_object_set_new(o, "quality", json_null());
        return;
    }
    const cq_quality_result *q = &l->quality;
    json_t *qo = json_object();
    json_object_set_new(qo, "basis", json_string(q->basis));
    json_object_set_new(qo, "noise_floor_db",
                        cq__jnum_or_null(q->has_noise_floor, q->noise_floor_db, 2));
    json_object_set_new(qo, "speech_level_db",
                        cq__jnum_or_null(q->has_speech_level, q->speech_level_db, 2));
    json_object_set_new(qo, "snr_db", cq__jnum_or_null(q->has_snr, q->snr_db, 2));
    json_object_set_new(qo, "bandwidth_hz", cq__jnum_or_null(q->has_bandwidth, q->bandwidth_hz, 1));
    json_object_set_new(qo, "clipping_pct",
                        cq__jnum_or_null(l->has_clipping_pct, l->clipping_pct, 4));
    json_object_set_new(qo, "dropouts", json_integer((json_int_t)q->dropouts));
    json_object_set_new(qo, "dropout_ms", cq__jnum(q->dropout_ms, 1));
    json_object_set_new(qo, "dropouts_per_min", cq__jnum(q->dropouts_per_min, 3));
    json_object_set_new(qo, "level_drift_db", cq__jnum_or_null(q->has_drift, q->level_drift_db, 2));
    json_object_set_new(qo, "speech_sec", cq__jnum(q->speech_sec, 3));
    json_object_set_new(o, "quality", qo);
}

static void leg_cells(const cq_leg_report *l, char c[][CQ__TEXT_CELL])
{
    const cq_quality_result *q = &l->quality;
    if (q->has_noise_floor && q->has_snr)
        snprintf(c[0], CQ__TEXT_CELL, "%.1f dBFS / %.1f dB", q->noise_floor_db, q->snr_db);
    else
        snprintf(c[0], CQ__TEXT_CELL, "-");
    if (q->has_bandwidth)
        snprintf(c[1], CQ__TEXT_CELL, "%.0f Hz", q->bandwidth_hz);
    else
        snprintf(c[1], CQ__TEXT_CELL, "-");
    snprintf(c[2], CQ__TEXT_CELL, "%zu (%.0f ms)", q->dropouts, q->dropout_ms);
}

static void quality_text_rows(const cq_report *r, cq__text *t)
{
    static const char *const rows[] = {"noise floor / SNR", "bandwidth", "dropouts", NULL};
    cq__text_leg_rows(r, t, CQ_AN_QUALITY, rows, leg_cells);
}

const cq__stage cq__stage_quality = {
    .name = "quality",
    .bit = CQ_AN_QUALITY,
    .uses = CQ_AN_VAD | CQ_AN_LEVELS,
    .stream = CQ__STREAM_NATIVE,
    .create = quality_create,
    .push = quality_push,
    .finish = quality_finish,
    .destroy = quality_destroy,
    .json_leg = quality_json_leg,
    .text_rows = quality_text_rows,
};
