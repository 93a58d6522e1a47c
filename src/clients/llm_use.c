/*
 * llm_use.c - the LLM client's configuration from the settings (the llm_* keys of
 * docs/config.md), today's use against the daily caps, and the record of every attempt in the
 * store: shared by the service's GET /ai-analyze and the worker's scoring.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "callqa/cq_clock.h"
#include "llm.h"
#include "../store/store_calls.h"

/* One provider's block from its settings: 1 set, 0 nothing set, -1 with err. */
static int provider_from(const char *which, const char *prov, const char *url, const char *model,
                         const char *key_file, llm_provider_config *out, char *err, size_t errsz)
{
    if (!prov[0]) {
        if (url[0] || model[0] || key_file[0])
            return cfg_fail(err, errsz,
                            "llm%s_url, llm%s_model or llm%s_key_file is set but "
                            "llm%s_provider is not",
                            which, which, which, which);
        return 0;
    }
    if (llm_provider_parse(prov, &out->provider) != 0)
        return cfg_fail(err, errsz, "llm%s_provider: '%s' is not anthropic, openai or gemini",
                        which, prov);
    if (!url[0])
        return cfg_fail(err, errsz, "llm%s_provider is %s but llm%s_url is not set", which, prov,
                        which);
    if (!model[0])
        return cfg_fail(err, errsz, "llm%s_provider is %s but llm%s_model is not set", which, prov,
                        which);
    if (strlen(url) >= sizeof(out->url) || strlen(model) >= sizeof(out->model) ||
        strlen(key_file) >= sizeof(out->key_file))
        return cfg_fail(err, errsz, "llm%s_url, llm%s_model or llm%s_key_file is too long", which,
                        which, which);
    snprintf(out->url, sizeof(out->url), "%s", url);
    snprintf(out->model, sizeof(out->model), "%s", model);
    snprintf(out->key_file, sizeof(out->key_file), "%s", key_file);
    return 1;
}

int llm_config_from_settings(const cfg_settings *c, llm_config *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    llm_provider_config p = llm_default_provider_config();
    p.connect_timeout_sec = c->llm_connect_timeout_sec;
    p.timeout_sec = c->llm_timeout_sec;
    p.retries = c->llm_retries;
    p.max_tokens = c->llm_max_tokens;
    p.context_tokens = c->llm_context_tokens;
    p.temperature = c->llm_temperature;
    out->primary = out->fallback = p;
    out->primary.price_in = c->llm_price_in;
    out->primary.price_out = c->llm_price_out;
    out->fallback.price_in = c->llm_fallback_price_in;
    out->fallback.price_out = c->llm_fallback_price_out;
    int prim = provider_from("", c->llm_provider, c->llm_url, c->llm_model, c->llm_key_file,
                             &out->primary, err, errsz);
    if (prim < 0)
        return -1;
    int fb =
        provider_from("_fallback", c->llm_fallback_provider, c->llm_fallback_url,
                      c->llm_fallback_model, c->llm_fallback_key_file, &out->fallback, err, errsz);
    if (fb < 0)
        return -1;
    if (!prim && fb)
        return cfg_fail(err, errsz, "llm_fallback_provider is set but llm_provider is not");
    out->has_fallback = fb == 1;
    return prim;
}

int llm_budget_today(const cfg_settings *c, store *st, double now, llm_budget *out)
{
    memset(out, 0, sizeof(*out));
    out->token_cap = (long)c->llm_daily_token_cap;
    out->cost_cap_usd = c->llm_daily_cost_cap;
    time_t t = (time_t)now;
    struct tm tm;
    char day[16];
    if (!localtime_r(&t, &tm) || strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
        return -1;
    long long tokens = 0;
    double cost = 0;
    if (store_llm_usage_day(st, day, &tokens, &cost) != 0)
        return -1;
    out->tokens_today = (long)tokens;
    out->cost_today_usd = cost;
    return 0;
}

void llm_record_to_store(const llm_attempt *a, void *user)
{
    const llm_store_rec *r = user;
    store_llm_call c = {
        .ts = cq_clock_wall_sec() - a->latency_sec,
        .call_id = r->call_id,
        .purpose = r->purpose,
        .provider = a->provider,
        .model = a->model,
        .input_tokens = a->input_tokens,
        .output_tokens = a->output_tokens,
        .latency_sec = a->latency_sec,
        .cost_usd = a->cost_usd,
        .outcome = a->outcome,
    };
    if (store_llm_record(r->st, &c) != 0)
        fprintf(stderr, "{\"level\":\"warn\",\"msg\":\"the store refused an LLM record\"}\n");
}
