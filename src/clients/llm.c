/*
 * llm.c - the LLM client (llm.h): three providers' request bodies and answers, the HTTP
 * exchange (cl_http.h), and the call's retries, repair turn, fallback, caps and records.
 *
 * DESIGN: a request is built afresh for every attempt from the caller's turns plus, after a
 * repair, two turns of our own (the bad answer, what was wrong with it). The turns are mapped
 * to each provider's shape by one builder each; the answers come back through one parser each
 * into an llm_parsed (text, tool calls, why it stopped, tokens), so the call's logic never
 * sees a provider's JSON.
 */
#define _GNU_SOURCE
#include "llm.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../schema/js.h"
#include "callqa/cq_clock.h"
#include "cl_http.h"

#define MAX_BACKOFF_SEC 30.0
#define MAX_RETRY_AFTER_SEC 120.0
#define ANTHROPIC_VERSION "2023-06-01"

struct llm_client {
    llm_config c;
    char key[2][512]; /* the primary's and the fallback's */
};

/* ---- configuration ------------------------------------------------------------------------ */

int llm_provider_parse(const char *s, llm_provider *out)
{
    if (!strcmp(s, "anthropic"))
        *out = LLM_ANTHROPIC;
    else if (!strcmp(s, "openai"))
        *out = LLM_OPENAI;
    else if (!strcmp(s, "gemini"))
        *out = LLM_GEMINI;
    else
        return -1;
    return 0;
}

const char *llm_provider_name(llm_provider p)
{
    return p == LLM_ANTHROPIC ? "anthropic" : p == LLM_GEMINI ? "gemini" : "openai";
}

static llm_provider_config k_default;

static void llm_defaults_once(void)
{
    static cfg_settings s;
    cfg_defaults(&s);
    llm_provider_config c;
    memset(&c, 0, sizeof(c));
    c.provider = LLM_OPENAI;
    c.connect_timeout_sec = s.llm_connect_timeout_sec;
    c.timeout_sec = s.llm_timeout_sec;
    c.retries = s.llm_retries;
    c.backoff_sec = 1;
    c.max_tokens = s.llm_max_tokens;
    c.temperature = s.llm_temperature;
    c.max_response = (size_t)4 << 20;
    c.context_tokens = s.llm_context_tokens;
    k_default = c;
}

llm_provider_config llm_default_provider_config(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, llm_defaults_once); /* the settings' defaults (config.h), read once */
    return k_default;
}

static void hash_provider(struct sha256_ctx *ctx, const llm_provider_config *p)
{
    char num[64];
    snprintf(num, sizeof(num), "%d/%.3f", p->max_tokens,
             p->temperature < 0 ? -1.0 : p->temperature);
    const char *parts[] = {llm_provider_name(p->provider), p->url, p->model, num};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        sha256_update(ctx, strlen(parts[i]) + 1, (const uint8_t *)parts[i]); /* with the NUL */
}

void llm_config_hash(const llm_config *c, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    hash_provider(&ctx, &c->primary);
    if (c->has_fallback) {
        sha256_update(&ctx, 9, (const uint8_t *)"fallback");
        hash_provider(&ctx, &c->fallback);
    }
    sha256_digest(&ctx, sizeof(d), d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int check_provider(const llm_provider_config *p, const char *which, char *err, size_t errsz)
{
    if (strncmp(p->url, "http://", 7) && strncmp(p->url, "https://", 8))
        return cfg_fail(err, errsz,
                        "the %s LLM URL must begin with http:// or https:// (got "
                        "'%.200s')",
                        which, p->url);
    if (!p->model[0])
        return cfg_fail(err, errsz, "the %s LLM needs a model name", which);
    for (const char *m = p->model; *m; m++)
        if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') || (*m >= '0' && *m <= '9') ||
              strchr("._-:/@", *m)))
            return cfg_fail(err, errsz,
                            "the %s LLM's model name may hold letters, digits and "
                            "._-:/@ only",
                            which);
    if (p->provider == LLM_GEMINI && (strchr(p->model, '/') || strchr(p->model, ':')))
        return cfg_fail(err, errsz,
                        "the %s Gemini model is a bare name (gemini-2.5-flash, not "
                        "models/...)",
                        which);
    if (p->provider != LLM_OPENAI && !p->key_file[0])
        return cfg_fail(err, errsz, "the %s LLM (%s) needs a key file", which,
                        llm_provider_name(p->provider));
    if (p->max_tokens < 1 || p->max_tokens > 1000000)
        return cfg_fail(err, errsz, "the %s LLM's max_tokens must be 1-1000000", which);
    if (p->context_tokens <= p->max_tokens)
        return cfg_fail(err, errsz,
                        "the %s LLM's llm_context_tokens (%d) leaves no room for a prompt "
                        "beside llm_max_tokens (%d)",
                        which, p->context_tokens, p->max_tokens);
    if (p->temperature > 2 || !(p->timeout_sec > 0) || p->retries < 0 || p->retries > 10 ||
        p->price_in < 0 || p->price_out < 0 || p->max_response < 1024)
        return cfg_fail(err, errsz,
                        "the %s LLM's temperature (<= 2), timeout (> 0), retries "
                        "(0-10), prices (>= 0) or answer limit is out of range",
                        which);
    return 0;
}

llm_client *llm_create(const llm_config *c, char *err, size_t errsz)
{
    if (check_provider(&c->primary, "primary", err, errsz) != 0 ||
        (c->has_fallback && check_provider(&c->fallback, "fallback", err, errsz) != 0))
        return NULL;
    llm_client *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    l->c = *c;
    llm_provider_config *ps[2] = {&l->c.primary, &l->c.fallback};
    for (int i = 0; i < (c->has_fallback ? 2 : 1); i++) {
        size_t ul = strlen(ps[i]->url);
        while (ul && ps[i]->url[ul - 1] == '/')
            ps[i]->url[--ul] = 0;
        if (ps[i]->key_file[0] &&
            cfg_read_secret(ps[i]->key_file, l->key[i], sizeof(l->key[i]), err, errsz) != 0) {
            llm_destroy(l);
            return NULL;
        }
    }
    return l;
}

void llm_destroy(llm_client *l)
{
    if (!l)
        return;
    memset(l->key, 0, sizeof(l->key));
    free(l);
}

/* ---- answers and calls ----------------------------------------------------------------------- */

static void calls_free(llm_tool_call *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].id);
        free(c[i].name);
        free(c[i].arguments);
    }
    free(c);
}

void llm_response_free(llm_response *r)
{
    if (!r)
        return;
    free(r->text);
    calls_free(r->calls, r->n_calls);
    r->text = NULL, r->calls = NULL, r->n_calls = 0;
}

void llm_parsed_free(llm_parsed *p)
{
    if (!p)
        return;
    free(p->text);
    calls_free(p->calls, p->n_calls);
    memset(p, 0, sizeof(*p));
}

/* append text to p->text (joined with nothing: the blocks of one answer) */
static int add_text(llm_parsed *p, const char *t, size_t n)
{
    size_t have = p->text ? strlen(p->text) : 0;
    char *np = realloc(p->text, have + n + 1);
    if (!np)
        return -1;
    memcpy(np + have, t, n);
    np[have + n] = 0;
    p->text = np;
    return 0;
}

/* one tool call: args is a JSON object (Anthropic's input, Gemini's args) or JSON text
 * (OpenAI's arguments string, kept as given) */
static int add_call(llm_parsed *p, const char *id, const char *name, const json_t *args,
                    const char *args_text)
{
    llm_tool_call *nc = realloc(p->calls, (p->n_calls + 1) * sizeof(*nc));
    if (!nc)
        return -1;
    p->calls = nc;
    llm_tool_call *c = &nc[p->n_calls];
    char made[32];
    if (!id || !*id) {
        snprintf(made, sizeof(made), "call_%zu", p->n_calls + 1);
        id = made;
    }
    c->id = strdup(id);
    c->name = strdup(name);
    c->arguments = args_text ? strdup(args_text) : json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
    p->n_calls++;
    return c->id && c->name && c->arguments ? 0 : -1;
}

static void usage(llm_parsed *p, const json_t *u, const char *in, const char *out)
{
    const json_t *a = json_object_get(u, in), *b = json_object_get(u, out);
    p->input_tokens =
        json_is_integer(a) && json_integer_value(a) > 0 ? (long)json_integer_value(a) : 0;
    p->output_tokens =
        json_is_integer(b) && json_integer_value(b) > 0 ? (long)json_integer_value(b) : 0;
}

static int parse_anthropic(const json_t *j, llm_parsed *p, char *err, size_t errsz)
{
    const json_t *content = json_object_get(j, "content");
    const char *stop = json_string_value(json_object_get(j, "stop_reason"));
    if (!json_is_array(content))
        return cfg_fail(err, errsz, "the Messages answer has no content array");
    usage(p, json_object_get(j, "usage"), "input_tokens", "output_tokens");
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!type)
            return cfg_fail(err, errsz, "content[%zu] has no type", i);
        if (!strcmp(type, "text")) {
            const json_t *t = json_object_get(b, "text");
            if (!json_is_string(t))
                return cfg_fail(err, errsz, "content[%zu] (text) has no text", i);
            if (add_text(p, json_string_value(t), json_string_length(t)) != 0)
                return cfg_fail(err, errsz, "out of memory");
        } else if (!strcmp(type, "tool_use")) {
            const char *id = json_string_value(json_object_get(b, "id")),
                       *name = json_string_value(json_object_get(b, "name"));
            const json_t *in = json_object_get(b, "input");
            if (!id || !name || !json_is_object(in))
                return cfg_fail(err, errsz,
                                "content[%zu] (tool_use) needs id, name and an input "
                                "object",
                                i);
            if (add_call(p, id, name, in, NULL) != 0)
                return cfg_fail(err, errsz, "out of memory");
        } /* thinking and other blocks are not the answer */
    }
    snprintf(p->why, sizeof(p->why), "stop_reason %.40s", stop ? stop : "(none)");
    if (stop && (!strcmp(stop, "max_tokens") || !strcmp(stop, "model_context_window_exceeded") ||
                 !strcmp(stop, "pause_turn")))
        p->stop = LLM_STOP_TRUNCATED;
    else if (stop && !strcmp(stop, "refusal"))
        p->stop = LLM_STOP_REFUSED;
    else if (p->n_calls)
        p->stop = LLM_STOP_TOOLS;
    else
        p->stop = LLM_STOP_DONE;
    return 0;
}

static int parse_openai(const json_t *j, llm_parsed *p, char *err, size_t errsz)
{
    const json_t *ch = json_object_get(j, "choices");
    const json_t *c0 = json_array_get(ch, 0), *msg = json_object_get(c0, "message");
    if (!json_is_object(msg))
        return cfg_fail(err, errsz, "the chat completion has no choices[0].message");
    usage(p, json_object_get(j, "usage"), "prompt_tokens", "completion_tokens");
    const char *fin = json_string_value(json_object_get(c0, "finish_reason"));
    const json_t *content = json_object_get(msg, "content"),
                 *refusal = json_object_get(msg, "refusal"),
                 *tc = json_object_get(msg, "tool_calls");
    if (content && !json_is_null(content) && !json_is_string(content))
        return cfg_fail(err, errsz, "choices[0].message.content is not a string");
    if (json_is_string(content) &&
        add_text(p, json_string_value(content), json_string_length(content)) != 0)
        return cfg_fail(err, errsz, "out of memory");
    if (tc && !json_is_null(tc)) {
        if (!json_is_array(tc))
            return cfg_fail(err, errsz, "choices[0].message.tool_calls is not an array");
        size_t i;
        json_t *t;
        json_array_foreach(tc, i, t)
        {
            const json_t *f = json_object_get(t, "function");
            const char *id = json_string_value(json_object_get(t, "id")),
                       *name = json_string_value(json_object_get(f, "name")),
                       *args = json_string_value(json_object_get(f, "arguments"));
            if (!name || !args)
                return cfg_fail(err, errsz,
                                "tool_calls[%zu] needs function.name and "
                                "function.arguments",
                                i);
            if (add_call(p, id, name, NULL, args) != 0)
                return cfg_fail(err, errsz, "out of memory");
        }
    }
    snprintf(p->why, sizeof(p->why), "finish_reason %.40s", fin ? fin : "(none)");
    if (json_is_string(refusal) && json_string_length(refusal)) {
        p->stop = LLM_STOP_REFUSED;
        snprintf(p->why, sizeof(p->why), "refusal: %.140s", json_string_value(refusal));
    } else if (fin && !strcmp(fin, "length")) {
        p->stop = LLM_STOP_TRUNCATED;
    } else if (fin && !strcmp(fin, "content_filter")) {
        p->stop = LLM_STOP_REFUSED;
    } else if (p->n_calls) {
        p->stop = LLM_STOP_TOOLS;
    } else {
        p->stop = LLM_STOP_DONE;
    }
    return 0;
}

static int parse_gemini(const json_t *j, llm_parsed *p, char *err, size_t errsz)
{
    usage(p, json_object_get(j, "usageMetadata"), "promptTokenCount", "candidatesTokenCount");
    const json_t *cands = json_object_get(j, "candidates");
    const char *block =
        json_string_value(json_object_get(json_object_get(j, "promptFeedback"), "blockReason"));
    if (!json_is_array(cands) || json_array_size(cands) == 0) {
        if (block) {
            p->stop = LLM_STOP_REFUSED;
            snprintf(p->why, sizeof(p->why), "promptFeedback.blockReason %.40s", block);
            return 0;
        }
        return cfg_fail(err, errsz, "the generateContent answer has no candidates");
    }
    const json_t *c0 = json_array_get(cands, 0);
    const char *fin = json_string_value(json_object_get(c0, "finishReason"));
    const json_t *parts = json_object_get(json_object_get(c0, "content"), "parts");
    if (parts && !json_is_array(parts))
        return cfg_fail(err, errsz, "candidates[0].content.parts is not an array");
    size_t i;
    json_t *pt;
    json_array_foreach(parts, i, pt)
    {
        const json_t *t = json_object_get(pt, "text"), *fc = json_object_get(pt, "functionCall");
        if (json_is_true(json_object_get(pt, "thought")))
            continue; /* the model's thinking, not its answer */
        if (json_is_string(t)) {
            if (add_text(p, json_string_value(t), json_string_length(t)) != 0)
                return cfg_fail(err, errsz, "out of memory");
        } else if (fc) {
            const char *name = json_string_value(json_object_get(fc, "name"));
            const json_t *args = json_object_get(fc, "args");
            if (!name || (args && !json_is_object(args)))
                return cfg_fail(err, errsz, "parts[%zu].functionCall needs a name and args", i);
            json_t *empty = args ? NULL : json_object();
            int rc = add_call(p, json_string_value(json_object_get(fc, "id")), name,
                              args ? args : empty, NULL);
            json_decref(empty);
            if (rc != 0)
                return cfg_fail(err, errsz, "out of memory");
        }
    }
    snprintf(p->why, sizeof(p->why), "finishReason %.40s", fin ? fin : "(none)");
    if (!fin || !strcmp(fin, "STOP") || !strcmp(fin, "FINISH_REASON_UNSPECIFIED"))
        p->stop = p->n_calls ? LLM_STOP_TOOLS : LLM_STOP_DONE;
    else if (!strcmp(fin, "MAX_TOKENS"))
        p->stop = LLM_STOP_TRUNCATED;
    else if (!strcmp(fin, "MALFORMED_FUNCTION_CALL"))
        return cfg_fail(err, errsz, "finishReason MALFORMED_FUNCTION_CALL");
    else
        p->stop = LLM_STOP_REFUSED; /* SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, ... */
    return 0;
}

int llm_parse_answer(llm_provider pv, const char *body, size_t n, llm_parsed *out, char *err,
                     size_t errsz)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return cfg_fail(err, errsz, "not JSON (%.80s)", je.text);
    }
    int rc = pv == LLM_ANTHROPIC ? parse_anthropic(j, out, err, errsz)
             : pv == LLM_GEMINI  ? parse_gemini(j, out, err, errsz)
                                 : parse_openai(j, out, err, errsz);
    json_decref(j);
    if (rc != 0)
        llm_parsed_free(out);
    return rc;
}

/* ---- request bodies -------------------------------------------------------------------------- */

/* o[k] = v (v's reference taken); false when out of memory */
static bool put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

static bool push(json_t *a, json_t *v)
{
    return v && json_array_append_new(a, v) == 0;
}

/* tool-call arguments as an object (an unparseable text becomes {}) */
static json_t *args_object(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_object(j))
        return j;
    json_decref(j);
    return json_object();
}

/* a tool result's content as Gemini's response object */
static json_t *result_object(const char *text)
{
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (json_is_object(j))
        return j;
    json_t *o = json_object();
    if (!o || !put(o, "result", j ? j : json_string(text ? text : ""))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* the last turn of msgs when it has `role`, for merging (Anthropic and Gemini alternate) */
static json_t *last_with_role(json_t *msgs, const char *role, const char *items)
{
    json_t *l = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *r = json_string_value(json_object_get(l, "role"));
    return r && !strcmp(r, role) ? json_object_get(l, items) : NULL;
}

/* a turn {role, items: []} appended (or the previous one with that role reused) */
static json_t *turn(json_t *msgs, const char *role, const char *items)
{
    json_t *a = last_with_role(msgs, role, items);
    if (a)
        return a;
    json_t *m = json_object(), *arr = json_array();
    if (!m || !arr || !put(m, "role", json_string(role)) || json_object_set(m, items, arr) != 0 ||
        !push(msgs, m)) {
        json_decref(arr);
        return NULL;
    }
    json_decref(arr); /* msgs holds m, m holds arr */
    return arr;
}

static bool anthropic_messages(json_t *body, const llm_request *rq, const llm_message *ms, size_t n)
{
    json_t *msgs = json_array();
    if (!put(body, "messages", msgs))
        return false;
    for (size_t i = 0; i < n; i++) {
        const llm_message *m = &ms[i];
        json_t *blocks = turn(msgs, m->role == LLM_ASSISTANT ? "assistant" : "user", "content");
        if (!blocks)
            return false;
        if (m->role == LLM_TOOL_RESULT) {
            json_t *b = json_object();
            if (!push(blocks, b) || !put(b, "type", json_string("tool_result")) ||
                !put(b, "tool_use_id", json_string(m->tool_call_id ? m->tool_call_id : "")) ||
                !put(b, "content", json_string(m->text ? m->text : "")))
                return false;
            continue;
        }
        if (m->text && *m->text) {
            json_t *b = json_object();
            if (!push(blocks, b) || !put(b, "type", json_string("text")) ||
                !put(b, "text", json_string(m->text)))
                return false;
        }
        for (size_t k = 0; m->role == LLM_ASSISTANT && k < m->n_calls; k++) {
            json_t *b = json_object();
            if (!push(blocks, b) || !put(b, "type", json_string("tool_use")) ||
                !put(b, "id", json_string(m->calls[k].id)) ||
                !put(b, "name", json_string(m->calls[k].name)) ||
                !put(b, "input", args_object(m->calls[k].arguments)))
                return false;
        }
    }
    (void)rq;
    return true;
}

static bool openai_messages(json_t *body, const llm_request *rq, const llm_message *ms, size_t n)
{
    json_t *msgs = json_array();
    if (!put(body, "messages", msgs))
        return false;
    if (rq->system) {
        json_t *m = json_object();
        if (!push(msgs, m) || !put(m, "role", json_string("system")) ||
            !put(m, "content", json_string(rq->system)))
            return false;
    }
    for (size_t i = 0; i < n; i++) {
        const llm_message *mm = &ms[i];
        json_t *m = json_object();
        if (!push(msgs, m))
            return false;
        if (mm->role == LLM_TOOL_RESULT) {
            if (!put(m, "role", json_string("tool")) ||
                !put(m, "tool_call_id", json_string(mm->tool_call_id ? mm->tool_call_id : "")) ||
                !put(m, "content", json_string(mm->text ? mm->text : "")))
                return false;
            continue;
        }
        if (!put(m, "role", json_string(mm->role == LLM_ASSISTANT ? "assistant" : "user")) ||
            !put(m, "content", mm->text ? json_string(mm->text) : json_null()))
            return false;
        if (mm->role == LLM_ASSISTANT && mm->n_calls) {
            json_t *tc = json_array();
            if (!put(m, "tool_calls", tc))
                return false;
            for (size_t k = 0; k < mm->n_calls; k++) {
                json_t *c = json_object(), *f = json_object();
                if (!push(tc, c) || !put(c, "id", json_string(mm->calls[k].id)) ||
                    !put(c, "type", json_string("function")) || !put(c, "function", f) ||
                    !put(f, "name", json_string(mm->calls[k].name)) ||
                    !put(f, "arguments", json_string(mm->calls[k].arguments)))
                    return false;
            }
        }
    }
    return true;
}

static bool gemini_contents(json_t *body, const llm_request *rq, const llm_message *ms, size_t n)
{
    json_t *contents = json_array();
    if (!put(body, "contents", contents))
        return false;
    if (rq->system) {
        json_t *si = json_object(), *parts = json_array(), *p = json_object();
        if (!put(body, "systemInstruction", si) || !put(si, "parts", parts) || !push(parts, p) ||
            !put(p, "text", json_string(rq->system)))
            return false;
    }
    for (size_t i = 0; i < n; i++) {
        const llm_message *m = &ms[i];
        json_t *parts = turn(contents, m->role == LLM_ASSISTANT ? "model" : "user", "parts");
        if (!parts)
            return false;
        if (m->role == LLM_TOOL_RESULT) {
            json_t *p = json_object(), *fr = json_object();
            if (!push(parts, p) || !put(p, "functionResponse", fr) ||
                !put(fr, "name", json_string(m->tool_name ? m->tool_name : "")) ||
                !put(fr, "response", result_object(m->text)))
                return false;
            continue;
        }
        if (m->text && *m->text) {
            json_t *p = json_object();
            if (!push(parts, p) || !put(p, "text", json_string(m->text)))
                return false;
        }
        for (size_t k = 0; m->role == LLM_ASSISTANT && k < m->n_calls; k++) {
            json_t *p = json_object(), *fc = json_object();
            if (!push(parts, p) || !put(p, "functionCall", fc) ||
                !put(fc, "name", json_string(m->calls[k].name)) ||
                !put(fc, "args", args_object(m->calls[k].arguments)))
                return false;
        }
    }
    return true;
}

/* the keywords each provider is not sent (docs/llm.md; the answer is checked against all) */
static unsigned wire_drop(llm_provider p)
{
    return p == LLM_ANTHROPIC ? JS_DROP_BOUNDS | JS_DROP_LENGTH | JS_DROP_ITEMS : JS_DROP_LENGTH;
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static char *body_of(const llm_provider_config *pc, const llm_request *rq, const llm_message *ms,
                     size_t n, char *err, size_t errsz)
{
    json_t *body = json_object(), *schema = NULL;
    bool ok = body != NULL;
    if (ok && rq->schema) {
        json_error_t je;
        json_t *s = json_loads(rq->schema, 0, &je);
        if (!s || js_schema_supported(s, err, errsz) != 0) {
            if (!s)
                snprintf(err, errsz, "the answer schema is not JSON: %.100s", je.text);
            json_decref(s);
            json_decref(body);
            return NULL;
        }
        schema = js_wire_schema(s, wire_drop(pc->provider));
        json_decref(s);
        ok = schema != NULL;
    }
    json_t *tools = rq->n_tools ? json_array() : NULL;
    for (size_t i = 0; ok && i < rq->n_tools; i++) {
        const llm_tool *t = &rq->tools[i];
        json_error_t je;
        json_t *params = t->parameters ? json_loads(t->parameters, 0, &je) : NULL;
        if (!name_ok(t->name) || !json_is_object(params)) {
            snprintf(err, errsz,
                     "tool %zu: a name of [A-Za-z0-9_-]{1,64} and a JSON schema object "
                     "of its arguments are needed",
                     i);
            json_decref(params);
            json_decref(tools);
            json_decref(schema);
            json_decref(body);
            return NULL;
        }
        json_t *d = json_object();
        if (pc->provider == LLM_ANTHROPIC) {
            ok = push(tools, d) && put(d, "name", json_string(t->name)) &&
                 put(d, "description", json_string(t->description ? t->description : "")) &&
                 put(d, "input_schema", params);
        } else if (pc->provider == LLM_OPENAI) {
            json_t *f = json_object();
            ok = push(tools, d) && put(d, "type", json_string("function")) &&
                 put(d, "function", f) && put(f, "name", json_string(t->name)) &&
                 put(f, "description", json_string(t->description ? t->description : "")) &&
                 put(f, "parameters", params);
        } else {
            ok = push(tools, d) && put(d, "name", json_string(t->name)) &&
                 put(d, "description", json_string(t->description ? t->description : "")) &&
                 put(d, "parametersJsonSchema", params);
        }
    }
    if (ok && pc->provider == LLM_ANTHROPIC) {
        ok = put(body, "model", json_string(pc->model)) &&
             put(body, "max_tokens", json_integer(pc->max_tokens)) &&
             (pc->temperature < 0 || put(body, "temperature", json_real(pc->temperature))) &&
             (!rq->system || put(body, "system", json_string(rq->system))) &&
             anthropic_messages(body, rq, ms, n);
        if (ok && tools)
            ok = json_object_set(body, "tools", tools) == 0;
        if (ok && schema) {
            json_t *oc = json_object(), *f = json_object();
            ok = put(body, "output_config", oc) && put(oc, "format", f) &&
                 put(f, "type", json_string("json_schema")) &&
                 json_object_set(f, "schema", schema) == 0;
        }
    } else if (ok && pc->provider == LLM_OPENAI) {
        /* OpenAI itself takes max_completion_tokens (its reasoning models refuse max_tokens);
         * the compatible servers (llama.cpp, Ollama, vLLM, Groq) read max_tokens */
        bool openai = strstr(pc->url, "://api.openai.com") != NULL;
        ok = put(body, "model", json_string(pc->model)) &&
             put(body, openai ? "max_completion_tokens" : "max_tokens",
                 json_integer(pc->max_tokens)) &&
             (pc->temperature < 0 || put(body, "temperature", json_real(pc->temperature))) &&
             openai_messages(body, rq, ms, n);
        if (ok && tools)
            ok = json_object_set(body, "tools", tools) == 0;
        if (ok && schema) {
            json_t *rf = json_object(), *js = json_object();
            ok = put(body, "response_format", rf) && put(rf, "type", json_string("json_schema")) &&
                 put(rf, "json_schema", js) &&
                 put(js, "name",
                     json_string(name_ok(rq->schema_name) ? rq->schema_name : "answer")) &&
                 put(js, "strict", json_true()) && json_object_set(js, "schema", schema) == 0;
        }
    } else if (ok) {
        json_t *gc = json_object();
        ok = gemini_contents(body, rq, ms, n) && put(body, "generationConfig", gc) &&
             put(gc, "maxOutputTokens", json_integer(pc->max_tokens)) &&
             (pc->temperature < 0 || put(gc, "temperature", json_real(pc->temperature)));
        if (ok && tools) {
            json_t *t = json_array(), *fd = json_object();
            ok = put(body, "tools", t) && push(t, fd) &&
                 json_object_set(fd, "functionDeclarations", tools) == 0;
        }
        if (ok && schema)
            ok = put(gc, "responseMimeType", json_string("application/json")) &&
                 json_object_set(gc, "responseJsonSchema", schema) == 0;
    }
    char *text = ok ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(tools);
    json_decref(schema);
    json_decref(body);
    if (!text && ok)
        snprintf(err, errsz, "out of memory");
    else if (!text)
        snprintf(err, errsz,
                 "the request could not be built (out of memory, or text that is not "
                 "UTF-8)");
    return text;
}

char *llm_request_body(const llm_provider_config *pc, const llm_request *rq, char *err,
                       size_t errsz)
{
    return body_of(pc, rq, rq->messages, rq->n_messages, err, errsz);
}

static size_t body_room(const llm_provider_config *pc);

size_t llm_body_max(const llm_client *c)
{
    size_t m = body_room(&c->c.primary);
    if (c->c.has_fallback && body_room(&c->c.fallback) < m)
        m = body_room(&c->c.fallback);
    return m;
}

size_t llm_prompt_max(const llm_client *c)
{
    size_t m = llm_body_max(c), keep = m / 4 < LLM_REPAIR_ROOM ? m / 4 : LLM_REPAIR_ROOM;
    return m - keep;
}

size_t llm_request_size(const llm_client *c, const llm_request *rq)
{
    char err[300];
    size_t most = 0;
    for (int i = 0; i < (c->c.has_fallback ? 2 : 1); i++) {
        char *b = body_of(i ? &c->c.fallback : &c->c.primary, rq, rq->messages, rq->n_messages, err,
                          sizeof(err));
        if (!b)
            return 0;
        size_t n = strlen(b);
        free(b);
        most = n > most ? n : most;
    }
    return most;
}

/* ---- one HTTP exchange ----------------------------------------------------------------------- */

typedef enum verdict { V_OK, V_RETRY, V_FINAL } verdict;

static const char *url_of(const llm_provider_config *pc, char *out, size_t n)
{
    if (pc->provider == LLM_ANTHROPIC)
        snprintf(out, n, "%s/v1/messages", pc->url);
    else if (pc->provider == LLM_OPENAI)
        snprintf(out, n, "%s/chat/completions", pc->url);
    else
        snprintf(out, n, "%s/v1beta/models/%s:generateContent", pc->url, pc->model);
    return out;
}

static verdict exchange(const llm_provider_config *pc, const char *key, const char *json,
                        long *code, cl_body *b, cl_hdrs *h, char outcome[24], char *err,
                        size_t errsz)
{
    const char *who = llm_provider_name(pc->provider);
    CURL *k = curl_easy_init();
    if (!k) {
        snprintf(outcome, 24, "network");
        snprintf(err, errsz, "cannot start an HTTP transfer");
        return V_FINAL;
    }
    struct curl_slist *hl = NULL;
    char line[600];
    if (key[0]) {
        if (pc->provider == LLM_ANTHROPIC)
            snprintf(line, sizeof(line), "x-api-key: %s", key);
        else if (pc->provider == LLM_GEMINI)
            snprintf(line, sizeof(line), "x-goog-api-key: %s", key);
        else
            snprintf(line, sizeof(line), "Authorization: Bearer %s", key);
        hl = curl_slist_append(hl, line);
        memset(line, 0, sizeof(line));
    }
    if (pc->provider == LLM_ANTHROPIC)
        hl = curl_slist_append(hl, "anthropic-version: " ANTHROPIC_VERSION);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    char url[800];
    url_of(pc, url, sizeof(url));
    cl_limits lim = {pc->connect_timeout_sec, pc->timeout_sec, pc->max_response};
    cl_http_setup(k, url, &lim, b, h);
    curl_easy_setopt(k, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    CURLcode rc = cl_http_perform(k, hl, code);
    if (b->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(outcome, 24, "too_large");
        snprintf(err, errsz, "the %s answer is over the %zu KiB limit", who,
                 pc->max_response >> 10);
        return V_FINAL;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(outcome, 24, "timeout");
        snprintf(err, errsz, "timeout: %s did not answer within %.0f s", who, pc->timeout_sec);
        return V_RETRY;
    }
    if (rc != CURLE_OK) {
        snprintf(outcome, 24, "network");
        snprintf(err, errsz, "%s could not be reached at %s: %s", who, pc->url,
                 curl_easy_strerror(rc));
        return V_RETRY;
    }
    snprintf(outcome, 24, "http_%ld", *code);
    char sm[300];
    cl_server_message(b, sm, sizeof(sm));
    cl_scrub(key, sm);
    const char *sep = sm[0] ? ": " : "";
    if (*code == 401 || *code == 403) {
        snprintf(err, errsz, "%s refused the key (HTTP %ld%s%s): check the key file", who, *code,
                 sep, sm);
        return V_FINAL;
    }
    if (*code == 429) {
        snprintf(err, errsz, "%s is rate limiting (HTTP 429%s%s)", who, sep, sm);
        return V_RETRY;
    }
    if (*code >= 500 || *code == 408) {
        snprintf(err, errsz, "%s failed (HTTP %ld%s%s)", who, *code, sep, sm);
        return V_RETRY;
    }
    if (*code == 404) {
        snprintf(err, errsz,
                 "no such endpoint or model at %s (HTTP 404 for %s%s%s): check the URL, "
                 "the provider and the model",
                 who, url, sep, sm);
        return V_FINAL;
    }
    if (*code != 200) {
        snprintf(err, errsz, "%s refused the request (HTTP %ld%s%s)", who, *code, sep, sm);
        return V_FINAL;
    }
    if (cl_looks_html(b, h)) {
        snprintf(outcome, 24, "bad_response");
        snprintf(err, errsz, "%s answered an HTML page, not JSON (a proxy or a wrong URL?)", who);
        return V_RETRY;
    }
    snprintf(outcome, 24, "ok");
    return V_OK;
}

/* ---- a call -----------------------------------------------------------------------------------
 */

typedef struct run {
    llm_client *l;
    const llm_request *rq;
    json_t *schema; /* parsed, or NULL */
    const llm_budget *budget;
    llm_record_fn rec;
    void *user;
    llm_response *out;
} run;

static double cost_of(const llm_provider_config *pc, long in, long out)
{
    return ((double)in * pc->price_in + (double)out * pc->price_out) / 1e6;
}

/* LLM_CAP with err when a cap is reached, counting what this call spent */
static int capped(const run *u, char *err, size_t errsz)
{
    const llm_budget *b = u->budget;
    if (!b)
        return 0;
    long tokens = b->tokens_today + u->out->input_tokens + u->out->output_tokens;
    double cost = b->cost_today_usd + u->out->cost_usd;
    if (b->token_cap > 0 && tokens >= b->token_cap) {
        snprintf(err, errsz,
                 "llm_cap: the daily token cap is reached (%ld of %ld tokens used "
                 "today)",
                 tokens, b->token_cap);
        return 1;
    }
    if (b->cost_cap_usd > 0 && cost >= b->cost_cap_usd) {
        snprintf(err, errsz,
                 "llm_cap: the daily cost cap is reached (%.4f of %.4f USD spent "
                 "today)",
                 cost, b->cost_cap_usd);
        return 1;
    }
    return 0;
}

/* a text answer without a Markdown fence around it (some compatible servers add one) */
static void unfence(char *t)
{
    char *p = t;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (strncmp(p, "```", 3))
        return;
    char *nl = strchr(p, '\n');
    if (!nl)
        return;
    char *end = t + strlen(t);
    while (end > nl && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\t'))
        end--;
    if (end - nl < 4 || strncmp(end - 3, "```", 3))
        return;
    end -= 3;
    size_t n = (size_t)(end - (nl + 1));
    memmove(t, nl + 1, n);
    t[n] = 0;
}

/* Is the parsed answer usable? outcome "ok", or why not ("refused", ...) with why. */
static const char *judge(const run *u, llm_parsed *p, char *why, size_t whysz)
{
    if (p->stop == LLM_STOP_REFUSED) {
        snprintf(why, whysz, "the model refused (%s)", p->why);
        return "refused";
    }
    if (p->stop == LLM_STOP_TRUNCATED) {
        snprintf(why, whysz, "the answer was cut off (%s)", p->why);
        return "truncated";
    }
    if (p->n_calls) {
        for (size_t i = 0; i < p->n_calls; i++) {
            const llm_tool *t = NULL;
            for (size_t k = 0; k < u->rq->n_tools; k++)
                if (!strcmp(u->rq->tools[k].name, p->calls[i].name))
                    t = &u->rq->tools[k];
            json_t *a = json_loads(p->calls[i].arguments, 0, NULL);
            bool obj = json_is_object(a);
            char e[300] = "";
            int bad = 0;
            if (obj && t) {
                json_t *s = json_loads(t->parameters, 0, NULL);
                if (s && js_schema_supported(s, e, sizeof(e)) == 0)
                    bad = js_check(s, a, e, sizeof(e));
                json_decref(s);
            }
            json_decref(a);
            if (!t) {
                snprintf(why, whysz, "the model called '%.60s', which is not one of the tools",
                         p->calls[i].name);
                return "schema_invalid";
            }
            if (!obj) {
                snprintf(why, whysz, "the arguments of the call of '%.60s' are not a JSON object",
                         p->calls[i].name);
                return "invalid_json";
            }
            if (bad) {
                snprintf(why, whysz,
                         "the arguments of the call of '%.60s' do not follow its "
                         "schema: %s",
                         p->calls[i].name, e);
                return "schema_invalid";
            }
        }
        return "ok";
    }
    if (!u->schema)
        return p->text ? "ok" : (snprintf(why, whysz, "the answer is empty"), "bad_response");
    if (!p->text) {
        snprintf(why, whysz, "the answer is empty, where JSON was asked for");
        return "invalid_json";
    }
    unfence(p->text);
    json_error_t je;
    json_t *a = json_loads(p->text, JSON_REJECT_DUPLICATES, &je);
    if (!a) {
        snprintf(why, whysz, "the answer is not JSON (%.100s)", je.text);
        return "invalid_json";
    }
    char e[300];
    int bad = js_check(u->schema, a, e, sizeof(e));
    json_decref(a);
    if (bad) {
        snprintf(why, whysz, "the answer does not follow the schema: %s", e);
        return "schema_invalid";
    }
    return "ok";
}

static void record(const run *u, const llm_provider_config *pc, bool fallback, bool repair, long in,
                   long out, double sec, const char *outcome, long code)
{
    if (!u->rec)
        return;
    llm_attempt a = {.provider = llm_provider_name(pc->provider),
                     .model = pc->model,
                     .input_tokens = in,
                     .output_tokens = out,
                     .latency_sec = sec,
                     .cost_usd = cost_of(pc, in, out),
                     .outcome = outcome,
                     .http_status = (int)code,
                     .fallback = fallback,
                     .repair = repair};
    u->rec(&a, u->user);
}

/* The bytes a body may have for this provider: its context less its answer's tokens. */
static size_t body_room(const llm_provider_config *pc)
{
    return pc->context_tokens > pc->max_tokens ? (size_t)(pc->context_tokens - pc->max_tokens) : 0;
}

/* The repair turn's copy of the bad answer made at least `over` bytes shorter: its head (cut on
 * a UTF-8 boundary) and what was left out; a stub once nothing of it is left. 0, or -1 (already
 * the stub, or out of memory). */
static int shorten(char **answer, size_t over)
{
    static const char stub[] = "(the answer, left out: it does not fit the model's context)";
    size_t len = strlen(*answer);
    if (!strcmp(*answer, stub))
        return -1;
    char note[80];
    char *n = NULL;
    int k = snprintf(note, sizeof(note), " [... %zu bytes of this answer left out ...]", len);
    if (len > over + (size_t)k + 16) {
        size_t keep = len - over - (size_t)k;
        while (keep && ((unsigned char)(*answer)[keep] & 0xC0) == 0x80)
            keep--;
        snprintf(note, sizeof(note), " [... %zu bytes of this answer left out ...]", len - keep);
        if (asprintf(&n, "%.*s%s", (int)keep, *answer, note) < 0)
            n = NULL;
    } else {
        n = strdup(stub);
    }
    if (!n)
        return -1;
    free(*answer);
    *answer = n;
    return 0;
}

/* One provider: 0 (out filled), -1 (failed, err), LLM_CAP, LLM_TOO_LARGE. */
static int one_provider(run *u, int which, char *err, size_t errsz)
{
    const llm_provider_config *pc = which ? &u->l->c.fallback : &u->l->c.primary;
    const char *key = u->l->key[which];
    size_t n = u->rq->n_messages;
    llm_message *ms = calloc(n + 2, sizeof(*ms));
    if (!ms)
        return cfg_fail(err, errsz, "out of memory");
    memcpy(ms, u->rq->messages, n * sizeof(*ms));
    char *bad_answer = NULL, *fix = NULL;
    bool repair = false;
    int rc = -1;
    double wait = pc->backoff_sec;
    for (int attempt = 0;;) {
        if (capped(u, err, errsz)) {
            rc = LLM_CAP;
            break;
        }
        char *json = body_of(pc, u->rq, ms, n, err, errsz);
        if (!json)
            break;
        size_t len = strlen(json), room = body_room(pc);
        /* a repair turn carries what of the bad answer fits beside the prompt */
        for (int cut = 0; len > room && repair && cut < 3; cut++) {
            if (shorten(&bad_answer, len - room) != 0)
                break; /* nothing of it left to leave out: no repair turn (below) */
            ms[n - 2].text = bad_answer;
            free(json);
            if (!(json = body_of(pc, u->rq, ms, n, err, errsz)))
                break;
            len = strlen(json);
        }
        if (!json)
            break; /* err: why the body could not be built */
        if (len > room) {
            free(json);
            record(u, pc, which, repair, 0, 0, 0, "prompt_too_large", 0);
            if (repair) { /* err holds what was wrong with the answer */
                size_t l = strlen(err);
                snprintf(err + l, errsz - l,
                         "; no repair turn: it would not fit the model's context (%zu bytes, "
                         "over %zu)",
                         len, room);
                break;
            }
            snprintf(err, errsz,
                     "prompt_too_large: the request is %zu bytes, over the %zu that the "
                     "model's context leaves (llm_context_tokens %d less llm_max_tokens %d, "
                     "one token counted a byte): not sent",
                     len, room, pc->context_tokens, pc->max_tokens);
            rc = LLM_TOO_LARGE;
            break;
        }
        cl_body b = {.max = pc->max_response};
        cl_hdrs h = {.retry_after = -1};
        long code = 0;
        char outcome[24];
        double t0 = cq_clock_mono_sec();
        verdict v = exchange(pc, key, json, &code, &b, &h, outcome, err, errsz);
        double sec = cq_clock_mono_sec() - t0;
        free(json);
        u->out->attempts++;
        if (v != V_OK) {
            free(b.p);
            record(u, pc, which, repair, 0, 0, sec, outcome, code);
            if (v == V_FINAL || attempt >= pc->retries) {
                if (v == V_RETRY && attempt > 0) {
                    size_t l = strlen(err);
                    snprintf(err + l, errsz - l, " (after %d attempts)", attempt + 1);
                }
                break;
            }
            double w = fmin(wait, MAX_BACKOFF_SEC);
            if (h.retry_after >= 0)
                w = fmax(w, fmin(h.retry_after, MAX_RETRY_AFTER_SEC));
            cq_clock_sleep_all(w);
            wait *= 2;
            attempt++;
            continue;
        }
        llm_parsed p;
        char pe[200];
        if (llm_parse_answer(pc->provider, b.p, b.n, &p, pe, sizeof(pe)) != 0) {
            free(b.p);
            cl_scrub(key, pe);
            record(u, pc, which, repair, 0, 0, sec, "bad_response", code);
            snprintf(err, errsz, "%s's answer is not its protocol's: %s",
                     llm_provider_name(pc->provider), pe);
            if (attempt >= pc->retries)
                break;
            cq_clock_sleep_all(fmin(wait, MAX_BACKOFF_SEC));
            wait *= 2;
            attempt++;
            continue;
        }
        free(b.p);
        u->out->input_tokens += p.input_tokens;
        u->out->output_tokens += p.output_tokens;
        u->out->cost_usd += cost_of(pc, p.input_tokens, p.output_tokens);
        char why[400] = "";
        const char *verdict_s = judge(u, &p, why, sizeof(why));
        cl_scrub(key, why);
        record(u, pc, which, repair, p.input_tokens, p.output_tokens, sec, verdict_s, code);
        if (!strcmp(verdict_s, "ok")) {
            u->out->text = p.text, u->out->calls = p.calls, u->out->n_calls = p.n_calls;
            p.text = NULL, p.calls = NULL, p.n_calls = 0;
            snprintf(u->out->provider, sizeof(u->out->provider), "%s",
                     llm_provider_name(pc->provider));
            snprintf(u->out->model, sizeof(u->out->model), "%s", pc->model);
            u->out->repaired = repair;
            llm_parsed_free(&p);
            rc = 0;
            break;
        }
        snprintf(err, errsz, "%s (%s): %s", llm_provider_name(pc->provider), verdict_s, why);
        if (repair || !strcmp(verdict_s, "bad_response")) {
            llm_parsed_free(&p);
            break; /* the repair turn was used */
        }
        /* the repair turn: the bad answer as the model's, then what was wrong with it */
        free(bad_answer);
        free(fix);
        bad_answer = strdup(p.text && *p.text ? p.text : "(no answer)");
        llm_parsed_free(&p);
        if (asprintf(&fix, "Your previous answer could not be used: %s. Answer again%s.", why,
                     u->schema ? " with only a JSON object that follows the schema given" : "") < 0)
            fix = NULL;
        if (!bad_answer || !fix) {
            snprintf(err, errsz, "out of memory");
            break;
        }
        ms[n] = (llm_message){.role = LLM_ASSISTANT, .text = bad_answer};
        ms[n + 1] = (llm_message){.role = LLM_USER, .text = fix};
        n += 2;
        repair = true;
    }
    free(bad_answer);
    free(fix);
    free(ms);
    return rc;
}

llm_status llm_call(llm_client *l, const llm_request *rq, const llm_budget *budget,
                    llm_record_fn rec, void *user, llm_response *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    err[0] = 0;
    if (!rq->n_messages || rq->messages[0].role != LLM_USER) {
        snprintf(err, errsz, "a request needs turns, the first one the user's");
        return LLM_ERROR;
    }
    run u = {.l = l, .rq = rq, .budget = budget, .rec = rec, .user = user, .out = out};
    if (rq->schema) {
        json_error_t je;
        u.schema = json_loads(rq->schema, 0, &je);
        if (!u.schema) {
            snprintf(err, errsz, "the answer schema is not JSON: %.100s", je.text);
            return LLM_ERROR;
        }
        if (js_schema_supported(u.schema, err, errsz) != 0) {
            json_decref(u.schema);
            return LLM_ERROR;
        }
    }
    int rc = one_provider(&u, 0, err, errsz);
    if ((rc == -1 || rc == LLM_TOO_LARGE) && l->c.has_fallback) {
        char first[512];
        snprintf(first, sizeof(first), "%s", err);
        rc = one_provider(&u, 1, err, errsz);
        if (rc == -1 || rc == LLM_TOO_LARGE) {
            char second[512];
            snprintf(second, sizeof(second), "%s", err);
            snprintf(err, errsz, "%s; the fallback: %s", first, second);
        }
    }
    json_decref(u.schema);
    return rc == 0               ? LLM_OK
           : rc == LLM_CAP       ? LLM_CAP
           : rc == LLM_TOO_LARGE ? LLM_TOO_LARGE
                                 : LLM_ERROR;
}
