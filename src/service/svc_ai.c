/*
 * svc_ai.c - GET /ai-analyze: the assessment of a call's report for a supervisor, in the old
 * service's shape (ai_analysis, model, has_legs, analysis_time_sec) plus engine and findings.
 *
 *   an LLM configured:  sc_assess_prompt's system and user text (the report inside its data
 *                       block) to llm_call; the answer is ai_analysis, `model` the model that
 *                       answered, `engine` its provider's name. Any failure, or a daily cap:
 *                       the rules' text, engine "rules", `llm_error` says why.
 *   no LLM:             sc_assess_report's text, model null, engine "rules".
 *   always:             findings from sc_assess_report (rules, so they are deterministic).
 *
 * Stored apart from the reports: a row of the results store with source "ai-analyze", engine
 * s->ai_engine ("ai-rules", or "ai-llm-" and the LLM configuration's hash) and identity
 * "report:<id>", the stored report it was made from. It is served only for that same report
 * row, so a report analysed again (refresh, other settings, a changed recording) is assessed
 * again. An assessment that fell back to the rules because the LLM failed is not stored: the
 * next request asks the LLM again. docs/service.md.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scoring/scoring.h"
#include "svc_ai.h"
#include "svc_metrics.h"
#include "../store/store_calls.h"
#include "callqa/cq_clock.h"

#define AI_SOURCE "ai-analyze"

int svc_ai_start(svc *s, char *msg, size_t msgsz)
{
    llm_config lc;
    char err[600];
    int got = llm_config_from_settings(s->cfg, &lc, err, sizeof(err));
    if (got < 0)
        return cfg_fail(msg, msgsz, "the LLM settings: %s", err);
    if (got == 0) {
        snprintf(s->ai_engine, sizeof(s->ai_engine), "ai-rules");
        return 0;
    }
    if (!(s->llm = llm_create(&lc, err, sizeof(err))))
        return cfg_fail(msg, msgsz, "the LLM: %s", err);
    char hash[65];
    llm_config_hash(&lc, hash);
    snprintf(s->ai_engine, sizeof(s->ai_engine), "ai-llm-%.16s", hash);
    return 0;
}

void svc_ai_stop(svc *s)
{
    llm_destroy(s->llm);
    s->llm = NULL;
}

bool svc_ai_is_row(const store_result *row)
{
    return !strcmp(row->source, AI_SOURCE) || !strcmp(row->source, "investigate");
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

int svc_ai_serve_stored(req *r, int64_t report_id)
{
    svc *s = r->s;
    store_result row;
    if (report_id <= 0 ||
        store_result_latest(s->store, r->srv->name, r->file, s->ai_engine, &row) != 1)
        return 0;
    char want[40];
    snprintf(want, sizeof(want), "report:%lld", (long long)report_id);
    int served = 0;
    json_t *j = strcmp(row.identity, want) ? NULL : json_loads(row.report, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "ai_analysis"));
    const char *engine = json_string_value(json_object_get(j, "engine"));
    json_t *model = json_object_get(j, "model"), *legs = json_object_get(j, "has_legs");
    json_t *findings = json_object_get(j, "findings");
    if (text && engine && json_is_boolean(legs) && json_is_array(findings)) {
        json_t *left = json_object_get(j, "prompt_left_out");
        char *b = answer_json(text, json_string_value(model), json_is_true(legs),
                              cq_clock_mono_sec() - r->t0, engine, findings, true, NULL,
                              json_is_object(left) ? left : NULL);
        if (b) {
            svc_answer(r, 200, b, "application/json");
            r->cache = "hit";
            svc_metrics_ai(engine, true, false);
            served = 1;
        }
    }
    json_decref(j);
    store_result_free(&row);
    return served;
}

int svc_llm_text(req *r, const char *purpose, const char *system, const char *user, char **text,
                 char **model, char *provider, size_t provsz, char *why, size_t whysz)
{
    svc *s = r->s;
    *text = *model = NULL;
    llm_message m = {.role = LLM_USER, .text = user};
    llm_request rq = {.system = system, .messages = &m, .n_messages = 1};
    llm_budget b;
    if (llm_budget_today(s->cfg, s->store, cq_clock_wall_sec(), &b) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM's use today is not "
                "known (the store); the caps count from 0\"}\n",
                r->id);
    llm_store_rec rec = {s->store, purpose, 0};
    llm_response out;
    memset(&out, 0, sizeof(out));
    llm_status st = llm_call(s->llm, &rq, &b, llm_record_to_store, &rec, &out, why, whysz);
    int rc = -1;
    if (st == LLM_OK) {
        const char *t = out.text ? out.text : "";
        while (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t')
            t++;
        size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == '\t'))
            n--;
        if (!n) {
            snprintf(why, whysz, "%s answered no text", out.provider);
        } else if ((*text = strndup(t, n)) && (*model = strdup(out.model))) {
            if (provider)
                snprintf(provider, provsz, "%s", out.provider);
            rc = 0;
        } else {
            free(*text);
            *text = NULL;
            snprintf(why, whysz, "out of memory");
        }
    }
    llm_response_free(&out);
    return rc;
}

size_t svc_llm_measure(void *client, const char *system, const char *text, const char *schema)
{
    llm_message m = {.role = LLM_USER, .text = text};
    llm_request rq = {.system = system, .messages = &m, .n_messages = 1, .schema = schema};
    return llm_request_size(client, &rq);
}

/* The LLM's text for this report: 0 with *text and *model (malloc'd), or -1 with why. The prompt
 * is held within the model's context: what of the report it left out in *left_out (JSON text,
 * malloc'd; NULL: nothing). */
static int ask_llm(req *r, const char *report, char **text, char **model, char *provider,
                   size_t provsz, char **left_out, char *why, size_t whysz)
{
    char *sys = NULL, *user = NULL;
    sc_fit fit = {
        .max_bytes = llm_prompt_max(r->s->llm), .measure = svc_llm_measure, .user = r->s->llm};
    if (sc_assess_prompt_fit(report, &fit, &sys, &user, left_out, why, whysz) != 0)
        return -1;
    int rc = svc_llm_text(r, "ai-analyze", sys, user, text, model, provider, provsz, why, whysz);
    free(sys);
    free(user);
    return rc;
}

void svc_ai_answer(req *r, const char *report, int64_t report_id)
{
    svc *s = r->s;
    char err[600];
    char *rules = NULL, *findings_txt = NULL;
    if (sc_assess_report(report, &rules, &findings_txt, err, sizeof(err)) != 0) {
        svc_answer_error(r, 500, "assessment", "the report could not be assessed: %s", err);
        return;
    }
    json_t *rep = json_loads(report, 0, NULL);
    bool has_legs = json_is_true(json_object_get(rep, "has_legs"));
    json_decref(rep);
    json_t *findings = json_loads(findings_txt, 0, NULL);
    free(findings_txt);
    if (!json_is_array(findings)) {
        json_decref(findings);
        free(rules);
        svc_answer_error(r, 500, "assessment", "the findings are not a JSON array");
        return;
    }
    char *text = NULL, *model = NULL, provider[16] = "rules", why[600] = "", *left_txt = NULL;
    bool fallback = false;
    if (s->llm) {
        if (ask_llm(r, report, &text, &model, provider, sizeof(provider), &left_txt, why,
                    sizeof(why)) != 0) {
            fallback = true;
            snprintf(provider, sizeof(provider), "rules");
            fprintf(stderr,
                    "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM failed; the "
                    "assessment is by rules\"}\n",
                    r->id);
        }
    }
    const char *ai_text = text ? text : rules;
    json_t *left = !fallback && left_txt ? json_loads(left_txt, 0, NULL) : NULL;
    free(left_txt);
    if (!fallback && report_id > 0) { /* stored, without the request's own figures */
        json_t *o = json_object();
        json_object_set_new(o, "ai_analysis", json_string(ai_text));
        json_object_set_new(o, "model", model ? json_string(model) : json_null());
        json_object_set_new(o, "has_legs", json_boolean(has_legs));
        json_object_set_new(o, "engine", json_string(provider));
        json_object_set(o, "findings", findings);
        if (left)
            json_object_set(o, "prompt_left_out", left);
        char *js = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
        json_decref(o);
        store_result row = {0};
        snprintf(row.server, sizeof(row.server), "%s", r->srv->name);
        snprintf(row.file, sizeof(row.file), "%s", r->file);
        snprintf(row.identity, sizeof(row.identity), "report:%lld", (long long)report_id);
        snprintf(row.engine, sizeof(row.engine), "%s", s->ai_engine);
        snprintf(row.source, sizeof(row.source), "%s", AI_SOURCE);
        row.created = row.checked = cq_clock_wall_sec();
        row.report = js;
        if (!js || store_result_put(s->store, &row, NULL) != 0)
            fprintf(stderr,
                    "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store refused an "
                    "assessment\"}\n",
                    r->id);
        free(js);
    }
    char *b = answer_json(ai_text, model, has_legs, cq_clock_mono_sec() - r->t0, provider, findings,
                          false, fallback ? why : NULL, left);
    json_decref(left);
    json_decref(findings);
    free(text);
    free(model);
    free(rules);
    if (!b) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return;
    }
    svc_metrics_ai(provider, false, fallback);
    svc_answer(r, 200, b, "application/json");
}
