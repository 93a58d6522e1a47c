/*
 * pl_assess.c - GET /ai-analyze's assessment of a stored report for a supervisor (docs/service.md),
 * made and stored here; the route answers it in the old service's shape.
 *
 *   an LLM configured:  sc_assess_prompt's system and user text (the report inside its data
 *                       block) to llm_call; the answer is ai_analysis, `model` the model that
 *                       answered, `engine` its provider's name. Any failure, or a daily cap:
 *                       the rules' text, engine "rules", `llm_error` says why.
 *   no LLM:             sc_assess_report's text, model null, engine "rules".
 *   always:             findings from sc_assess_report (rules, so they are deterministic).
 *
 * Stored apart from the reports: a row of the results store with source "ai-analyze", engine
 * ai->engine ("ai-rules", or "ai-llm-" and the LLM configuration's hash) and identity
 * "report:<id>", the stored report it was made from. It is read back only for that same report
 * row, so a report analysed again (refresh, other settings, a changed recording) is assessed
 * again. An assessment that fell back to the rules because the LLM failed is not stored: the
 * next request asks the LLM again.
 *
 * And the one LLM request of the routes' work (pl__llm_text), which /investigate's explanation
 * (pl_investigate.c) makes too.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_int.h"
#include "../store/store_calls.h"

#define AI_SOURCE "ai-analyze"

int pl_ai_client_open(const cfg_settings *c, llm_client **llm, char *engine, size_t n, char *msg,
                      size_t msgsz)
{
    *llm = NULL;
    llm_config lc;
    char err[600];
    int got = llm_config_from_settings(c, &lc, err, sizeof(err));
    if (got < 0)
        return cfg_fail(msg, msgsz, "the LLM settings: %s", err);
    if (got == 0) {
        snprintf(engine, n, "ai-rules");
        return 0;
    }
    if (!(*llm = llm_create(&lc, err, sizeof(err))))
        return cfg_fail(msg, msgsz, "the LLM: %s", err);
    char hash[65];
    llm_config_hash(&lc, hash);
    snprintf(engine, n, "ai-llm-%.16s", hash);
    return 1;
}

void pl_ai_client_close(llm_client *llm)
{
    llm_destroy(llm);
}

bool pl_assess_is_row(const char *source)
{
    return !strcmp(source, AI_SOURCE) || !strcmp(source, "investigate");
}

void pl_assessment_free(pl_assessment *a)
{
    free(a->text);
    free(a->model);
    json_decref(a->findings);
    json_decref(a->left_out);
    a->text = a->model = NULL;
    a->findings = a->left_out = NULL;
}

int pl_assess_stored(const pl_ai *ai, const char *server, const char *file, int64_t report_id,
                     pl_assessment *out)
{
    memset(out, 0, sizeof(*out));
    store_result row;
    if (report_id <= 0 || store_result_latest(ai->st, server, file, ai->engine, &row) != 1)
        return 0;
    char want[40];
    snprintf(want, sizeof(want), "report:%lld", (long long)report_id);
    json_t *j = strcmp(row.identity, want) ? NULL : json_loads(row.report, 0, NULL);
    store_result_free(&row);
    const char *text = json_string_value(json_object_get(j, "ai_analysis"));
    const char *engine = json_string_value(json_object_get(j, "engine"));
    const char *model = json_string_value(json_object_get(j, "model"));
    json_t *legs = json_object_get(j, "has_legs"), *findings = json_object_get(j, "findings");
    json_t *left = json_object_get(j, "prompt_left_out");
    int got = 0;
    if (text && engine && json_is_boolean(legs) && json_is_array(findings) &&
        (out->text = strdup(text)) && (!model || (out->model = strdup(model)))) {
        out->has_legs = json_is_true(legs);
        snprintf(out->engine, sizeof(out->engine), "%s", engine);
        out->findings = json_incref(findings);
        out->left_out = json_is_object(left) ? json_incref(left) : NULL;
        got = 1;
    } else {
        pl_assessment_free(out);
    }
    json_decref(j);
    return got;
}

int pl__llm_text(const pl_ai *ai, const char *purpose, const char *system, const char *user,
                 char **text, char **model, char *provider, size_t provsz, char *why, size_t whysz)
{
    *text = *model = NULL;
    llm_message m = {.role = LLM_USER, .text = user};
    llm_request rq = {.system = system, .messages = &m, .n_messages = 1};
    llm_budget b;
    if (llm_budget_today(ai->cfg, ai->st, cq_clock_wall_sec(), &b) != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM's use today is not "
                "known (the store); the caps count from 0\"}\n",
                ai->id);
    llm_store_rec rec = {ai->st, purpose, 0};
    llm_response out;
    memset(&out, 0, sizeof(out));
    llm_status st = llm_call(ai->llm, &rq, &b, llm_record_to_store, &rec, &out, why, whysz);
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

size_t pl__llm_measure(void *client, const char *system, const char *text, const char *schema)
{
    llm_message m = {.role = LLM_USER, .text = text};
    llm_request rq = {.system = system, .messages = &m, .n_messages = 1, .schema = schema};
    return llm_request_size(client, &rq);
}

/* The LLM's text for this report: 0 with *text and *model (malloc'd), or -1 with why. The prompt
 * is held within the model's context: what of the report it left out in *left_out (JSON text,
 * malloc'd; NULL: nothing). */
static int ask_llm(const pl_ai *ai, const json_t *report, char **text, char **model, char *provider,
                   size_t provsz, char **left_out, char *why, size_t whysz)
{
    char *sys = NULL, *user = NULL;
    sc_fit fit = {
        .max_bytes = llm_prompt_max(ai->llm), .measure = pl__llm_measure, .user = ai->llm};
    if (sc_assess_prompt_fit_obj(report, &fit, &sys, &user, left_out, why, whysz) != 0)
        return -1;
    int rc = pl__llm_text(ai, AI_SOURCE, sys, user, text, model, provider, provsz, why, whysz);
    free(sys);
    free(user);
    return rc;
}

void pl__ai_store(const pl_ai *ai, const char *server, const char *file, const char *identity,
                  const char *source, const char *js, const char *what)
{
    store_result row = {0};
    snprintf(row.server, sizeof(row.server), "%s", server);
    snprintf(row.file, sizeof(row.file), "%s", file);
    snprintf(row.identity, sizeof(row.identity), "%s", identity);
    snprintf(row.engine, sizeof(row.engine), "%s", ai->engine);
    snprintf(row.source, sizeof(row.source), "%s", source);
    row.created = row.checked = cq_clock_wall_sec();
    row.report = (char *)js;
    if (!js || store_result_put(ai->st, &row, NULL) != 0)
        fprintf(stderr, "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store refused an %s\"}\n",
                ai->id, what);
}

/* The assessment stored as a result row (without the request's own figures). */
static void store_assessment(const pl_ai *ai, const char *server, const char *file,
                             int64_t report_id, const pl_assessment *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "ai_analysis", json_string(a->text));
    json_object_set_new(o, "model", a->model ? json_string(a->model) : json_null());
    json_object_set_new(o, "has_legs", json_boolean(a->has_legs));
    json_object_set_new(o, "engine", json_string(a->engine));
    json_object_set(o, "findings", a->findings);
    if (a->left_out)
        json_object_set(o, "prompt_left_out", a->left_out);
    char *js = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(o);
    char identity[40];
    snprintf(identity, sizeof(identity), "report:%lld", (long long)report_id);
    pl__ai_store(ai, server, file, identity, AI_SOURCE, js, "assessment");
    free(js);
}

int pl_assess(const pl_ai *ai, const char *server, const char *file, const char *report,
              int64_t report_id, pl_assessment *out, cq_err *err)
{
    memset(out, 0, sizeof(*out));
    char msg[600];
    char *rules = NULL, *findings_txt = NULL;
    json_t *rep = sc_report_parse(report, msg, sizeof(msg)); /* parsed once, for each step */
    if (!rep || sc_assess_report_obj(rep, &rules, &findings_txt, msg, sizeof(msg)) != 0) {
        json_decref(rep);
        return cq_err_set(err, CQ_ERR_INTERNAL, "the report could not be assessed: %s", msg), -1;
    }
    out->has_legs = json_is_true(json_object_get(rep, "has_legs"));
    out->findings = json_loads(findings_txt, 0, NULL);
    free(findings_txt);
    if (!json_is_array(out->findings)) {
        json_decref(rep);
        free(rules);
        pl_assessment_free(out);
        return cq_err_set(err, CQ_ERR_INTERNAL, "the findings are not a JSON array"), -1;
    }
    snprintf(out->engine, sizeof(out->engine), "rules");
    char *left_txt = NULL;
    if (ai->llm && ask_llm(ai, rep, &out->text, &out->model, out->engine, sizeof(out->engine),
                           &left_txt, out->why, sizeof(out->why)) != 0) {
        out->fallback = true;
        snprintf(out->engine, sizeof(out->engine), "rules");
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM failed; the "
                "assessment is by rules\"}\n",
                ai->id);
    }
    if (out->text)
        free(rules);
    else
        out->text = rules;
    out->left_out = !out->fallback && left_txt ? json_loads(left_txt, 0, NULL) : NULL;
    free(left_txt);
    json_decref(rep);
    if (!out->fallback && report_id > 0)
        store_assessment(ai, server, file, report_id, out);
    return 0;
}
