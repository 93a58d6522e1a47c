/*
 * scored.c - the worker's scoring stage (pipeline.h, docs/scoring.md): the card and topics loaded
 * once at start, a call scored in the analysis child from its report and transcript, and the
 * result (the scoring module's JSON) turned into the store's row in the parent.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pl_int.h"
#include "../store/store_calls.h"

/* VADER's lexicon from the model directory; without it, why the sentiment is null */
static void pl_vader_load(const char *model_dir, pl_scoring *out)
{
    char dir[4096], path[4200], why[400];
    if (model_dir && model_dir[0])
        snprintf(dir, sizeof(dir), "%s", model_dir);
    else if (cq_model_dir_default(dir, sizeof(dir)) != CQ_OK) {
        snprintf(out->vader_why, sizeof(out->vader_why),
                 "the VADER lexicon is not installed: no model directory (set model_dir or "
                 "CALLQA_MODEL_DIR, and run scripts/fetch-models)");
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, SC_VADER_FILE);
    size_t len = 0;
    /* the note names the lexicon within the model directory: it is stored and answered, and
     * names no server path */
    char *text = cfg_read_file(path, SC_VADER_MAX_BYTES, &len, why, sizeof(why));
    if (!text) {
        size_t pl = strlen(path); /* why is "PATH: reason": the reason */
        const char *reason = strncmp(why, path, pl) ? why : why + pl + (why[pl] == ':' ? 2 : 0);
        snprintf(out->vader_why, sizeof(out->vader_why),
                 "the VADER lexicon is not installed (%s in the model directory: %.200s; "
                 "scripts/fetch-models installs it)",
                 SC_VADER_FILE, reason);
        return;
    }
    out->vader = sc_vader_parse(text, len, why, sizeof(why));
    free(text);
    if (!out->vader)
        snprintf(out->vader_why, sizeof(out->vader_why),
                 "the VADER lexicon %s in the model directory is refused: %.150s", SC_VADER_FILE,
                 why);
}

int pl_scoring_setup(const cfg_settings *c, pl_scoring *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    out->on = c->scoring;
    if (!out->on)
        return 0;
    size_t len = 0;
    char *text =
        c->scorecard[0] ? cfg_read_file(c->scorecard, (size_t)16 << 20, &len, err, errsz) : NULL;
    if (c->scorecard[0] && !text)
        return -1;
    const char *card = text ? text : sc_default_card(&len);
    char why[400];
    int rc = sc_card_load(card, len, &out->card, why, sizeof(why));
    free(text);
    if (rc != 0) {
        snprintf(err, errsz, "scorecard %s: %s", c->scorecard[0] ? c->scorecard : "(default)", why);
        return -1;
    }
    if (c->topics_file[0]) {
        char *t = cfg_read_file(c->topics_file, (size_t)16 << 20, &len, err, errsz);
        if (!t) {
            pl_scoring_free(out);
            return -1;
        }
        out->topics = sc_topics_load(t, len, why, sizeof(why));
        free(t);
        if (!out->topics) {
            snprintf(err, errsz, "topics_file %s: %s", c->topics_file, why);
            pl_scoring_free(out);
            return -1;
        }
    }
    pl_vader_load(c->model_dir, out);
    int lc = llm_config_from_settings(c, &out->llm, why, sizeof(why));
    if (lc < 0) {
        snprintf(err, errsz, "llm: %s", why);
        pl_scoring_free(out);
        return -1;
    }
    if (lc == 1) { /* the keys are read now: a missing or open key file stops the start */
        llm_client *probe = llm_create(&out->llm, why, sizeof(why));
        if (!probe) {
            snprintf(err, errsz, "llm: %s", why);
            pl_scoring_free(out);
            return -1;
        }
        llm_destroy(probe);
        out->llm_on = true;
        llm_config_hash(&out->llm, out->llm_hash);
    }
    return 0;
}

void pl_scoring_free(pl_scoring *s)
{
    if (!s)
        return;
    sc_card_free(&s->card);
    sc_topics_free(s->topics);
    sc_vader_free(s->vader);
    memset(s, 0, sizeof(*s));
}

/* the card's llm categories still unscored: "not scored: <why>"; the summary and the
 * sentiment say why the LLM's are not there */
static void llm_unscored(const sc_card *c, sc_call *call, const char *why)
{
    for (int i = 0; i < c->n && i < call->n; i++)
        if (c->cats[i].method == SC_LLM && !call->cats[i].r.scored)
            snprintf(call->cats[i].reason, sizeof(call->cats[i].reason), "not scored: %.300s", why);
    if (call->summary.source != SC_SUMMARY_LLM)
        snprintf(call->summary.refused, sizeof(call->summary.refused), "%.390s", why);
    call->sentiment_checks.asked = true;
    snprintf(call->sentiment_checks.why, sizeof(call->sentiment_checks.why), "%.390s", why);
}

static void record_attempt(const llm_attempt *a, void *user)
{
    json_t *arr = user;
    json_array_append_new(
        arr, json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:s,s:i,s:b,s:b}", "provider",
                       a->provider ? a->provider : "", "model", a->model ? a->model : "",
                       "input_tokens", (json_int_t)a->input_tokens, "output_tokens",
                       (json_int_t)a->output_tokens, "latency_sec", a->latency_sec, "cost_usd",
                       a->cost_usd, "outcome", a->outcome ? a->outcome : "", "http_status",
                       a->http_status, "fallback", a->fallback, "repair", a->repair));
}

/* a scoring request's body as the client sends it (sc_fit's measure) */
static size_t measure_request(void *user, const char *system, const char *text, const char *schema)
{
    llm_message m = {.role = LLM_USER, .text = text};
    llm_request rq = {.system = system,
                      .messages = &m,
                      .n_messages = 1,
                      .schema = schema,
                      .schema_name = "score"};
    return llm_request_size(user, &rq);
}

/* the LLM's part: its categories (and the topic) asked for and taken into call, the prompt held
 * within the model's context (what it left out said in the result) */
static void llm_part(const pl_scoring *s, const json_t *report, const sc_text *text,
                     const llm_budget *budget, json_t *attempts, sc_call *call)
{
    char err[600];
    snprintf(call->provider_hash, sizeof(call->provider_hash), "%s", s->llm_hash);
    llm_client *cl = llm_create(&s->llm, err, sizeof(err));
    if (!cl) {
        char why[700];
        snprintf(why, sizeof(why), "LLM failed: %s", err);
        llm_unscored(&s->card, call, why);
        return;
    }
    sc_fit fit = {.max_bytes = llm_prompt_max(cl), .measure = measure_request, .user = cl};
    sc_llm_prompt p;
    if (sc_llm_prompt_fit_obj(&s->card, text, report, s->topics, &fit, &p, err, sizeof(err)) != 0) {
        char why[700];
        /* a prompt that cannot fit reads "prompt_too_large: ...", as the client's refusal, and
         * is recorded as its attempt would be (nothing sent) */
        bool too_large = !strncmp(err, "prompt_too_large", 16);
        snprintf(why, sizeof(why), "%s%s", too_large ? "" : "the request could not be made: ", err);
        if (too_large) {
            llm_attempt a = {.provider = llm_provider_name(s->llm.primary.provider),
                             .model = s->llm.primary.model,
                             .outcome = "prompt_too_large"};
            record_attempt(&a, attempts);
        }
        llm_unscored(&s->card, call, why);
        llm_destroy(cl);
        return;
    }
    llm_message m = {.role = LLM_USER, .text = p.user};
    llm_request rq = {.system = p.system,
                      .messages = &m,
                      .n_messages = 1,
                      .schema = p.schema,
                      .schema_name = "score"};
    llm_response resp;
    llm_status st = llm_call(cl, &rq, budget, record_attempt, attempts, &resp, err, sizeof(err));
    char why[700];
    if (st == LLM_OK) {
        if (sc_llm_apply(&s->card, text, s->topics, resp.text, resp.provider, resp.model, call, err,
                         sizeof(err)) != 0) {
            snprintf(why, sizeof(why), "the LLM's answer was refused: %s", err);
            llm_unscored(&s->card, call, why);
        } else {
            sc_call_note_cut(call, &p.cut);
        }
    } else {
        /* at a cap the reason already reads "llm_cap: ...", over the context
         * "prompt_too_large: ..." */
        snprintf(why, sizeof(why), "%s%s",
                 st == LLM_CAP || st == LLM_TOO_LARGE ? "" : "LLM failed: ", err);
        llm_unscored(&s->card, call, why);
    }
    llm_response_free(&resp);
    llm_destroy(cl);
    sc_llm_prompt_free(&p);
}

char *pl_score_text(const pl_scoring *s, const json_t *report, const sc_text *text,
                    const llm_budget *budget, char **attempts, char *why, size_t n)
{
    if (attempts)
        *attempts = NULL;
    bool words = text && text->n > 0;
    const char *llm_why = !s->llm_on ? NULL : words ? "the LLM was not asked" : "no transcript";
    sc_call call;
    char *js = NULL;
    json_t *arr = json_array();
    if (!arr) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    if (sc_score_obj(&s->card, report, text, s->topics, s->vader, llm_why, &call, why, n) == 0) {
        if (!s->vader && s->vader_why[0])
            snprintf(call.sentiment.why, sizeof(call.sentiment.why), "%.399s", s->vader_why);
        if (s->llm_on && words)
            llm_part(s, report, text, budget, arr, &call);
        char swhy[300];
        if (pl_summary_choose(report, &call, swhy, sizeof(swhy)) != 0 && !call.summary.refused[0])
            snprintf(call.summary.refused, sizeof(call.summary.refused),
                     "no summary: the report could not be assessed: %.200s", swhy);
        if (pl_sentiment_choose(&call, text) != 0)
            snprintf(call.sentiment_checks.why, sizeof(call.sentiment_checks.why), "out of memory");
        sc_finish(&s->card, &call);
        if (!(js = sc_call_to_json(&s->card, &call)))
            snprintf(why, n, "out of memory");
        if (js && attempts && json_array_size(arr) &&
            !(*attempts = json_dumps(arr, JSON_COMPACT))) {
            free(js);
            js = NULL;
            snprintf(why, n, "out of memory");
        }
    }
    json_decref(arr);
    sc_call_free(&call);
    return js;
}

char *pl_score_call(const pl_scoring *s, const json_t *r, const char *tx_block,
                    const llm_budget *budget, char **attempts, char *why, size_t n)
{
    double duration = 0;
    if (json_is_number(json_object_get(r, "duration")))
        duration = json_number_value(json_object_get(r, "duration"));
    sc_text text = {0};
    bool have_text = false;
    if (attempts)
        *attempts = NULL;
    if (tx_block && tx_block[0]) {
        if (sc_text_from_block(tx_block, duration, &text, why, n) != 0)
            return NULL;
        sc_text_answer(&text, r);
        have_text = true;
    }
    char *js = pl_score_text(s, r, have_text ? &text : NULL, budget, attempts, why, n);
    sc_text_free(&text);
    return js;
}

int pl_record_llm(store *st, int64_t call, const char *purpose, const char *attempts)
{
    json_t *a = attempts && *attempts ? json_loads(attempts, 0, NULL) : NULL;
    int rc = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        store_llm_call c = {
            .ts = (double)time(NULL),
            .call_id = call,
            .purpose = purpose,
            .provider = json_string_value(json_object_get(e, "provider")),
            .model = json_string_value(json_object_get(e, "model")),
            .input_tokens = (int64_t)json_integer_value(json_object_get(e, "input_tokens")),
            .output_tokens = (int64_t)json_integer_value(json_object_get(e, "output_tokens")),
            .latency_sec = json_number_value(json_object_get(e, "latency_sec")),
            .cost_usd = json_number_value(json_object_get(e, "cost_usd")),
            .outcome = json_string_value(json_object_get(e, "outcome")),
        };
        if (store_llm_record(st, &c) != 0)
            rc = -1;
    }
    json_decref(a);
    return rc;
}

/* ---- the result as the store keeps it ------------------------------------------------------ */

static const char *str_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool num_of(const json_t *o, const char *k, double *v)
{
    const json_t *j = json_object_get(o, k);
    if (!json_is_number(j))
        return false;
    *v = json_number_value(j);
    return isfinite(*v);
}

int pl_stored_score_from_json(const char *detail, pl_stored_score *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *o = json_loads(detail, 0, &je);
    if (!json_is_object(o) || !json_is_object(json_object_get(o, "categories"))) {
        json_decref(o);
        snprintf(err, errsz, "the score is not a scoring result: %s", je.text);
        return -1;
    }
    out->json = o;
    store_score *s = &out->s;
    s->has_total = num_of(o, "total_score", &s->total_score);
    s->has_partial = num_of(o, "partial_score", &s->partial_score);
    num_of(o, "coverage", &s->coverage);
    s->flagged = json_is_true(json_object_get(o, "flagged"));
    s->flag_reason = str_of(o, "flag_reason");
    const json_t *cats = json_object_get(o, "categories"), *card = json_object_get(o, "scorecard");
    for (int i = 0; i < STORE_SCORE_CATS; i++)
        s->has_cat[i] = num_of(json_object_get(cats, store_score_cats[i]), "score", &s->cat[i]);
    /* the store's summary column: the LLM's checked summary only (the deterministic text is in
     * the detail, labelled) */
    const json_t *sm = json_object_get(o, "summary");
    const char *src = str_of(sm, "source");
    s->summary = src && !strcmp(src, "llm") ? str_of(sm, "text") : NULL;
    out->strengths = json_dumps(json_object_get(o, "strengths"), JSON_COMPACT);
    out->improvements = json_dumps(json_object_get(o, "improvements"), JSON_COMPACT);
    s->strengths = out->strengths, s->improvements = out->improvements;
    s->llm_provider = str_of(o, "llm_provider");
    s->llm_model = str_of(o, "llm_model");
    s->scorecard = str_of(card, "name");
    s->scorecard_hash = str_of(card, "hash");
    s->provider_hash = str_of(o, "provider_hash");
    s->backend = s->llm_provider ? s->llm_provider : "rules";
    const json_t *topic = json_object_get(o, "topic");
    s->topic_class = str_of(topic, "class");
    s->topic_subclass = str_of(topic, "subclass");
    /* the customer's sentiment (docs/sentiment.md): its shift and drop, NULL when not known */
    const json_t *sent = json_object_get(o, "sentiment"), *sp;
    size_t i;
    json_array_foreach(json_object_get(sent, "speakers"), i, sp)
    {
        if (!json_is_string(json_object_get(sp, "speaker")) ||
            strcmp(json_string_value(json_object_get(sp, "speaker")), SC_CUSTOMER))
            continue;
        s->has_customer_shift = num_of(sp, "shift", &s->customer_shift);
        break;
    }
    const json_t *drop = json_object_get(sent, "customer_drop");
    s->has_customer_drop = json_is_boolean(drop);
    s->customer_drop = json_is_true(drop);
    s->detail = detail;
    return 0;
}

void pl_stored_score_free(pl_stored_score *x)
{
    if (!x)
        return;
    json_decref(x->json);
    free(x->strengths);
    free(x->improvements);
    memset(x, 0, sizeof(*x));
}
