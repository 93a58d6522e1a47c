/*
 * svc_ai.c - GET /ai-analyze: the assessment of a call's report for a supervisor, in the old
 * service's shape (ai_analysis, model, has_legs, analysis_time_sec) plus engine and findings.
 * The assessment is the pipeline's (pl_assess, src/pipeline/pl_assess.c: the rules' findings,
 * the LLM's text or the rules', the row stored apart from the reports, served only for the same
 * report row); this file answers it, and sets up the LLM client the routes' work uses (none:
 * the assessment by rules). docs/service.md.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_ai.h"
#include "svc_metrics.h"
#include "../store/store_calls.h"
#include "callqa/cq_clock.h"

int svc_ai_start(svc *s, char *msg, size_t msgsz)
{
    return pl_ai_client_open(s->cfg, &s->llm, s->ai_engine, sizeof(s->ai_engine), msg, msgsz) < 0
               ? -1
               : 0;
}

void svc_ai_stop(svc *s)
{
    pl_ai_client_close(s->llm);
    s->llm = NULL;
}

bool svc_ai_is_row(const store_result *row)
{
    return pl_assess_is_row(row->source);
}

pl_ai svc_ai_of(const req *r)
{
    return (pl_ai){.cfg = r->s->cfg,
                   .st = r->s->store,
                   .llm = r->s->llm,
                   .engine = r->s->ai_engine,
                   .id = r->id};
}

/* The answer: the stored fields, with the request's time and whether it came from the store. */
static char *answer_json(const char *text, const char *model, bool has_legs, double secs,
                         const char *engine, json_t *findings /* borrowed */, bool cached,
                         const char *llm_error, json_t *left_out /* borrowed, NULL: none */)
{
    json_t *o = json_object();
    json_object_set_new(o, "ai_analysis", json_string(text));
    json_object_set_new(o, "model", model ? json_string(model) : json_null());
    json_object_set_new(o, "has_legs", json_boolean(has_legs));
    json_object_set_new(o, "analysis_time_sec", json_real(secs > 0 ? secs : 0));
    json_object_set_new(o, "engine", json_string(engine));
    json_object_set_new(o, "findings", findings ? json_incref(findings) : json_array());
    json_object_set_new(o, "cached", json_boolean(cached));
    if (llm_error)
        json_object_set_new(o, "llm_error", json_string(llm_error));
    if (left_out) /* what of the report the LLM's prompt left out to fit its context */
        json_object_set(o, "prompt_left_out", left_out);
    char *out = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
    return out;
}

/* The answer of an assessment, made now or from the store (cached): 0, or -1 out of memory
 * (nothing answered). */
static int answer(req *r, const pl_assessment *a, bool cached)
{
    char *b = answer_json(a->text, a->model, a->has_legs, cq_clock_mono_sec() - r->t0, a->engine,
                          a->findings, cached, a->fallback ? a->why : NULL, a->left_out);
    if (!b)
        return -1;
    if (cached)
        r->cache = "hit";
    svc_metrics_ai(a->engine, cached, a->fallback);
    svc_answer(r, 200, b, "application/json");
    return 0;
}

int svc_ai_serve_stored(req *r, int64_t report_id)
{
    pl_ai ai = svc_ai_of(r);
    pl_assessment a;
    if (pl_assess_stored(&ai, r->srv->name, r->file, report_id, &a) != 1)
        return 0;
    int served = answer(r, &a, true) == 0;
    pl_assessment_free(&a);
    return served;
}

void svc_ai_answer(req *r, const char *report, int64_t report_id)
{
    pl_ai ai = svc_ai_of(r);
    pl_assessment a;
    cq_err err;
    cq_err_clear(&err);
    if (pl_assess(&ai, r->srv->name, r->file, report, report_id, &a, &err) != 0) {
        svc_answer_error(r, 500, "assessment", "%s", err.msg);
        return;
    }
    if (answer(r, &a, false) != 0)
        svc_answer_error(r, 500, "internal", "out of memory");
    pl_assessment_free(&a);
}
