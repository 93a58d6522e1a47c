/*
 * stage_model.c - what the stages backed by a model file (vad.c, stage_nisqa.c, stage_dnsmos.c)
 * share: the model's load into the engine and its unload, once per engine (the one place that
 * knows each model's loader, free and slot in struct cq_engine: a stage names only its
 * cq__model_kind), the report's copy of the model's identity or status and its free, once per
 * call, and the sentences that say why a stage's figures are null (the engine's
 * status when its model is not loaded, a leg's note when it gave no scores).
 *
 * A missing or rejected model is not an error: the stage runs without it (the VAD on its DSP
 * fallback, NISQA and DNSMOS with null scores) and its status says why, in words that name the
 * model's file within the model directory only (cq__model_msg): the status is shown in reports
 * and in the service's /health answer, which name no server path. Only running out of memory is
 * an error (CQ_ERR_NOMEM).
 */
#include <jansson.h>
#include <stdio.h>

#include "../base/base_int.h"
#include "stage.h"

int cq__note(char **dst, const char *text)
{
    *dst = cq__strdup(text);
    return *dst ? CQ_OK : CQ_ERR_NOMEM;
}

/* The status of a model that did not load: the loader's message without the server's folders,
 * in the stage's words. NULL when memory ran out. */
static char *why_not_loaded(const cq_engine *e, const cq__stage_model *m, const char *file,
                            const cq_err *err)
{
    char *why = cq__model_msg(e->model_dir, err->msg);
    char *status = NULL;
    if (err->code != CQ_ERR_NOT_FOUND)
        status = why ? cq__printf("%s model rejected: %s; %s", m->name, why, m->without) : NULL;
    else if (m->names_missing)
        status = why ? cq__printf("%s model not installed (in the model directory: %s): %s%s",
                                  m->name, why, m->without, m->install)
                     : NULL;
    else
        status = cq__printf("%s model not installed (%s in the model directory): %s%s", m->name,
                            file, m->without, m->install);
    cq__free(why);
    return status;
}

/* The engine's slot of a model's status. */
static char **status_of(cq_engine *e, cq__model_kind k)
{
    switch (k) {
    case CQ__MODEL_VAD: return &e->vad_status;
    case CQ__MODEL_NISQA: return &e->nisqa_status;
    case CQ__MODEL_DNSMOS: break;
    }
    return &e->dnsmos_status;
}

/* Read the model at path into its slot of the engine: false, with *err, when it did not load. */
static bool open_model(cq_engine *e, cq__model_kind k, const char *path, cq_err *err)
{
    switch (k) {
    case CQ__MODEL_VAD: return (e->vad = cq_vad_model_load(path, err)) != NULL;
    case CQ__MODEL_NISQA: return (e->nisqa = cq_nisqa_model_load(path, err)) != NULL;
    case CQ__MODEL_DNSMOS: break;
    }
    return (e->dnsmos = cq_dnsmos_model_load(path, err)) != NULL;
}

int cq__stage_model_load(cq_engine *e, const cq__stage_model *m, const char *file)
{
    char **status = status_of(e, m->kind);
    *status = NULL;
    if (!e->model_dir)
        return cq__note(status, m->no_dir);
    char *path = cq__printf("%s/%s", e->model_dir, file);
    if (!path)
        return CQ_ERR_NOMEM;
    cq_err err;
    bool loaded = open_model(e, m->kind, path, &err);
    if (!loaded && err.code != CQ_ERR_NOMEM) {
        *status = why_not_loaded(e, m, file, &err);
        if (m->log) /* the log names the whole path; the status, the file within the directory */
            cq__log(CQ_LOG_WARN, "%s model %s: %s", m->name, path, err.msg);
    }
    cq__free(path);
    return loaded || *status ? CQ_OK : CQ_ERR_NOMEM;
}

void cq__stage_model_unload(cq_engine *e, const cq__stage_model *m)
{
    switch (m->kind) {
    case CQ__MODEL_VAD: cq_vad_model_free(e->vad), e->vad = NULL; break;
    case CQ__MODEL_NISQA: cq_nisqa_model_free(e->nisqa), e->nisqa = NULL; break;
    case CQ__MODEL_DNSMOS: cq_dnsmos_model_free(e->dnsmos), e->dnsmos = NULL; break;
    }
    char **status = status_of(e, m->kind);
    cq__free(*status);
    *status = NULL;
}

/* The report's copy of the engine's model: whether it is loaded, and its identity when it is. */
static bool identity_into(const cq_engine *e, cq__model_kind kind, cq_report *r)
{
    switch (kind) {
    case CQ__MODEL_VAD:
        r->vad_engine = e->vad ? CQ_VAD_SILERO : CQ_VAD_DSP;
        if (e->vad) {
            r->vad_version = cq_vad_model_version(e->vad);
            snprintf(r->vad_sha256, sizeof(r->vad_sha256), "%s", cq_vad_model_sha256(e->vad));
        }
        return e->vad != NULL;
    case CQ__MODEL_NISQA:
        if ((r->nisqa_loaded = e->nisqa != NULL))
            snprintf(r->nisqa_sha256, sizeof(r->nisqa_sha256), "%s",
                     cq_nisqa_model_sha256(e->nisqa));
        return r->nisqa_loaded;
    case CQ__MODEL_DNSMOS: break;
    }
    if ((r->dnsmos_loaded = e->dnsmos != NULL))
        for (int k = 0; k < 2; k++)
            snprintf(r->dnsmos_sha256[k], sizeof(r->dnsmos_sha256[k]), "%s",
                     cq_dnsmos_model_sha256(e->dnsmos, k));
    return r->dnsmos_loaded;
}

int cq__stage_model_prepare(const cq_engine *e, const cq__stage_model *m, cq_report *r)
{
    if (identity_into(e, m->kind, r))
        return CQ_OK;
    switch (m->kind) {
    case CQ__MODEL_VAD: return cq__note(&r->vad_status, e->vad_status);
    case CQ__MODEL_NISQA: return cq__note(&r->nisqa_status, e->nisqa_status);
    case CQ__MODEL_DNSMOS: break;
    }
    return cq__note(&r->dnsmos_status, e->dnsmos_status);
}

void cq__stage_model_free_call(cq_report *r, const cq__stage_model *m)
{
    switch (m->kind) {
    case CQ__MODEL_VAD: cq__free(r->vad_status); break;
    case CQ__MODEL_NISQA: cq__free(r->nisqa_status); break;
    case CQ__MODEL_DNSMOS: cq__free(r->dnsmos_status); break;
    }
}

int cq__stage_model_leg_note(char **note, const cq__stage_model *m, int rc, const char *too_large)
{
    if (rc == CQ_ERR_TOO_LARGE && too_large)
        return cq__note(note, too_large);
    *note = cq__printf("%s failed: %s", m->name, cq_strerror(rc));
    return *note ? CQ_OK : CQ_ERR_NOMEM;
}

/* Whether the call ran with the model (cq__stage_model_prepare), with the report's status when it
 * did not and the selection bit of the model's stage. */
static bool ran_with(const cq_report *r, cq__model_kind k, const char **status, unsigned *bit)
{
    switch (k) {
    case CQ__MODEL_VAD:
        *status = r->vad_status, *bit = CQ_AN_VAD;
        return r->vad_engine == CQ_VAD_SILERO;
    case CQ__MODEL_NISQA: *status = r->nisqa_status, *bit = CQ_AN_NISQA; return r->nisqa_loaded;
    case CQ__MODEL_DNSMOS: break;
    }
    *status = r->dnsmos_status, *bit = CQ_AN_DNSMOS;
    return r->dnsmos_loaded;
}

bool cq__stage_model_text(const cq_report *r, const cq__stage_model *m, cq__sb *b,
                          const char *without)
{
    const char *status;
    unsigned bit;
    bool ran = ran_with(r, m->kind, &status, &bit);
    if (!(r->analyzers & bit))
        return true;
    if (ran)
        return false;
    cq__sb_printf(b, without, status);
    return true;
}

bool cq__stage_model_json_null(json_t *eng, const char *key, bool selected, bool loaded,
                               const char *status)
{
    if (selected && loaded)
        return false;
    char status_key[64];
    snprintf(status_key, sizeof(status_key), "%s_status", key);
    json_object_set_new(eng, status_key, json_string(selected ? status : "not selected"));
    json_object_set_new(eng, key, json_null());
    return true;
}
