/*
 * llm_probe.c - drives the LLM client (src/clients/llm.c) against the fake providers
 * (fake_llm.py) for tests/clients/test_llm_fake.sh, and prints what happened as one JSON object.
 *
 *   llm_probe --provider P --url U --model M [--key-file F] [--retries N] [--timeout S]
 *             [--fallback-provider P --fallback-url U --fallback-model M --fallback-key-file F]
 *             [--price-in X --price-out X] [--tokens-today N --token-cap N --cost-today X
 *             --cost-cap X] [--transcript FILE --card FILE] [--tools] [--no-schema]
 *
 * With --card and --transcript, the request is scoring's (sc_llm_prompt_build over the
 * transcript, a JSON [{speaker, start, end, text}]) and the answer is applied (sc_llm_apply);
 * otherwise a small request of its own ("Say hello", with a tiny schema unless --no-schema).
 * With --tools, a tool "lookup" is offered; when the model calls it, its result is sent back in
 * a second call (user, assistant with the call, tool result), whose answer is printed too.
 *
 * Output: {"status": "ok"|"error"|"cap", "err", "text", "provider", "model", "input_tokens",
 * "output_tokens", "cost_usd", "attempts", "repaired", "calls": [{id, name, arguments}],
 * "records": [{provider, model, outcome, http_status, input_tokens, output_tokens, cost_usd,
 * latency_sec, fallback, repair}], "tool_round": {...the second call...}, "scores":
 * {key: {score, quotes, dropped, no_evidence}}, "apply_err", "config_hash"}. Exit 0 whenever it
 * ran (the status tells), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/clients/llm.h"
#include "../../src/scoring/scoring.h"
#include "../../src/transcript/transcript.h"

static void on_record(const llm_attempt *a, void *user)
{
    json_array_append_new(
        (json_t *)user,
        json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:f, s:f, s:b, s:b}", "provider", a->provider,
                  "model", a->model, "outcome", a->outcome, "http_status", a->http_status,
                  "input_tokens", (json_int_t)a->input_tokens, "output_tokens",
                  (json_int_t)a->output_tokens, "cost_usd", a->cost_usd, "latency_sec",
                  a->latency_sec, "fallback", a->fallback, "repair", a->repair));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    char tmp[4096];
    size_t got;
    while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
        fwrite(tmp, 1, got, m);
    fclose(f);
    fclose(m);
    return buf;
}

static int load_text(const char *path, sc_text *t)
{
    memset(t, 0, sizeof(*t));
    json_t *j = json_load_file(path, 0, NULL);
    if (!json_is_array(j))
        return -1;
    t->n = json_array_size(j);
    t->u = calloc(t->n ? t->n : 1, sizeof(sc_utt));
    for (size_t i = 0; i < t->n; i++) {
        json_t *e = json_array_get(j, i);
        snprintf(t->u[i].speaker, sizeof(t->u[i].speaker), "%s",
                 json_string_value(json_object_get(e, "speaker")));
        t->u[i].start = json_number_value(json_object_get(e, "start"));
        t->u[i].end = json_number_value(json_object_get(e, "end"));
        t->u[i].text = strdup(json_string_value(json_object_get(e, "text")));
        t->u[i].norm = tx_normalize(t->u[i].text);
        t->duration = t->u[i].end;
    }
    t->separated = true;
    json_decref(j);
    return 0;
}

static json_t *response_json(llm_status st, const llm_response *r, const char *err)
{
    json_t *calls = json_array();
    for (size_t i = 0; i < r->n_calls; i++)
        json_array_append_new(calls,
                              json_pack("{s:s, s:s, s:s}", "id", r->calls[i].id, "name",
                                        r->calls[i].name, "arguments", r->calls[i].arguments));
    return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:I, s:I, s:f, s:i, s:b, s:o}", "status",
                     st == LLM_OK    ? "ok"
                     : st == LLM_CAP ? "cap"
                                     : "error",
                     "err", err, "text", r->text, "provider", r->provider, "model", r->model,
                     "input_tokens", (json_int_t)r->input_tokens, "output_tokens",
                     (json_int_t)r->output_tokens, "cost_usd", r->cost_usd, "attempts", r->attempts,
                     "repaired", r->repaired, "calls", calls);
}

int main(int argc, char **argv)
{
    llm_config c = {.primary = llm_default_provider_config(),
                    .fallback = llm_default_provider_config()};
    c.primary.backoff_sec = 0.2;
    c.fallback.backoff_sec = 0.2;
    llm_budget b = {0};
    const char *transcript = NULL, *cardf = NULL;
    bool tools = false, schema = true;
    enum {
        O_P = 1,
        O_U,
        O_M,
        O_K,
        O_R,
        O_T,
        O_FP,
        O_FU,
        O_FM,
        O_FK,
        O_PI,
        O_PO,
        O_TT,
        O_TC,
        O_CT,
        O_CC,
        O_TR,
        O_CA,
        O_TO,
        O_NS,
        O_MX
    };
    static const struct option opts[] = {{"provider", 1, 0, O_P},
                                         {"url", 1, 0, O_U},
                                         {"model", 1, 0, O_M},
                                         {"key-file", 1, 0, O_K},
                                         {"retries", 1, 0, O_R},
                                         {"timeout", 1, 0, O_T},
                                         {"fallback-provider", 1, 0, O_FP},
                                         {"fallback-url", 1, 0, O_FU},
                                         {"fallback-model", 1, 0, O_FM},
                                         {"fallback-key-file", 1, 0, O_FK},
                                         {"price-in", 1, 0, O_PI},
                                         {"price-out", 1, 0, O_PO},
                                         {"tokens-today", 1, 0, O_TT},
                                         {"token-cap", 1, 0, O_TC},
                                         {"cost-today", 1, 0, O_CT},
                                         {"cost-cap", 1, 0, O_CC},
                                         {"transcript", 1, 0, O_TR},
                                         {"card", 1, 0, O_CA},
                                         {"tools", 0, 0, O_TO},
                                         {"no-schema", 0, 0, O_NS},
                                         {"max-response", 1, 0, O_MX},
                                         {0, 0, 0, 0}};
    int o;
#define STR(dst) snprintf(dst, sizeof(dst), "%s", optarg)
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_P:
            if (llm_provider_parse(optarg, &c.primary.provider))
                return 2;
            break;
        case O_U: STR(c.primary.url); break;
        case O_M: STR(c.primary.model); break;
        case O_K: STR(c.primary.key_file); break;
        case O_R: c.primary.retries = c.fallback.retries = (int)strtol(optarg, NULL, 10); break;
        case O_T: c.primary.timeout_sec = c.fallback.timeout_sec = strtod(optarg, NULL); break;
        case O_FP:
            c.has_fallback = true;
            if (llm_provider_parse(optarg, &c.fallback.provider))
                return 2;
            break;
        case O_FU: STR(c.fallback.url); break;
        case O_FM: STR(c.fallback.model); break;
        case O_FK: STR(c.fallback.key_file); break;
        case O_PI: c.primary.price_in = c.fallback.price_in = strtod(optarg, NULL); break;
        case O_PO: c.primary.price_out = c.fallback.price_out = strtod(optarg, NULL); break;
        case O_TT: b.tokens_today = strtol(optarg, NULL, 10); break;
        case O_TC: b.token_cap = strtol(optarg, NULL, 10); break;
        case O_CT: b.cost_today_usd = strtod(optarg, NULL); break;
        case O_CC: b.cost_cap_usd = strtod(optarg, NULL); break;
        case O_TR: transcript = optarg; break;
        case O_CA: cardf = optarg; break;
        case O_TO: tools = true; break;
        case O_NS: schema = false; break;
        case O_MX:
            c.primary.max_response = c.fallback.max_response = strtoul(optarg, NULL, 10);
            break;
        default: return 2;
        }
    }
#undef STR
    char err[1024] = "";
    json_t *out = json_object(), *records = json_array();
    char hash[65];
    llm_config_hash(&c, hash);
    llm_client *l = llm_create(&c, err, sizeof(err));
    if (!l) {
        json_object_set_new(out, "status", json_string("create_failed"));
        json_object_set_new(out, "err", json_string(err));
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(out);
        json_decref(records);
        return 0;
    }
    sc_card card;
    memset(&card, 0, sizeof(card));
    sc_text text;
    memset(&text, 0, sizeof(text));
    sc_llm_prompt p = {0};
    llm_request rq = {.schema_name = "probe"};
    llm_message first = {.role = LLM_USER, .text = "Say hello."};
    static const llm_tool k_tool = {"lookup", "Looks up an account figure.",
                                    "{\"type\":\"object\",\"additionalProperties\":false,"
                                    "\"required\":[\"query\"],\"properties\":{\"query\":{\"type\":"
                                    "\"string\"}}}"};
    if (cardf && transcript) {
        char *ct = slurp(cardf);
        if (!ct || sc_card_load(ct, strlen(ct), &card, err, sizeof(err)) != 0 ||
            load_text(transcript, &text) != 0 ||
            sc_llm_prompt_build(&card, &text, NULL, NULL, &p, err, sizeof(err)) != 0) {
            fprintf(stderr, "llm_probe: the card, the transcript or the prompt: %s\n", err);
            return 2;
        }
        free(ct);
        rq.system = p.system;
        first.text = p.user;
        rq.schema = p.schema;
    } else {
        rq.system = "You are a test.";
        if (schema)
            rq.schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":"
                        "[\"greeting\"],\"properties\":{\"greeting\":{\"type\":\"string\","
                        "\"maxLength\":50}}}";
    }
    rq.messages = &first;
    rq.n_messages = 1;
    if (tools) {
        rq.tools = &k_tool;
        rq.n_tools = 1;
    }
    llm_response r;
    llm_status st = llm_call(l, &rq, &b, on_record, records, &r, err, sizeof(err));
    json_t *res = response_json(st, &r, err);
    json_object_update(out, res);
    json_decref(res);
    if (st == LLM_OK && r.n_calls) {
        /* the tool's result back, in the next turn */
        llm_message turns[3] = {
            first,
            {.role = LLM_ASSISTANT, .text = r.text, .calls = r.calls, .n_calls = r.n_calls},
            {.role = LLM_TOOL_RESULT,
             .text = "{\"balance\": 12.5}",
             .tool_call_id = r.calls[0].id,
             .tool_name = r.calls[0].name}};
        llm_request rq2 = rq;
        rq2.messages = turns;
        rq2.n_messages = 3;
        llm_response r2;
        char err2[1024] = "";
        llm_status st2 = llm_call(l, &rq2, &b, on_record, records, &r2, err2, sizeof(err2));
        json_object_set_new(out, "tool_round", response_json(st2, &r2, err2));
        llm_response_free(&r2);
    }
    if (st == LLM_OK && card.n && r.text) {
        sc_call call;
        memset(&call, 0, sizeof(call));
        call.n = card.n;
        json_t *scores = json_object();
        if (sc_llm_apply(&card, &text, NULL, r.text, r.provider, r.model, &call, err,
                         sizeof(err)) != 0) {
            json_object_set_new(out, "apply_err", json_string(err));
        } else {
            for (int i = 0; i < card.n; i++)
                if (call.cats[i].r.scored)
                    json_object_set_new(scores, card.cats[i].key,
                                        json_pack("{s:f, s:i, s:i, s:b}", "score",
                                                  call.cats[i].r.score, "quotes",
                                                  (int)call.cats[i].n_quotes, "dropped",
                                                  call.cats[i].quotes_dropped, "no_evidence",
                                                  call.cats[i].no_evidence));
        }
        json_object_set_new(out, "scores", scores);
        sc_call_free(&call);
    }
    json_object_set_new(out, "records", records);
    json_object_set_new(out, "config_hash", json_string(hash));
    char *s = json_dumps(out, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(out);
    llm_response_free(&r);
    sc_llm_prompt_free(&p);
    sc_text_free(&text);
    sc_card_free(&card);
    llm_destroy(l);
    return 0;
}
