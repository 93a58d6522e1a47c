/*
 * fuzz_llm.c - libFuzzer harness over what an LLM provider answers and how it is checked: the
 * three answer parsers (llm_parse_answer: Anthropic Messages, OpenAI chat completions, Gemini
 * generateContent) and the JSON-Schema checker (js_schema_supported, js_check,
 * js_wire_schema). Oracles: a refused answer says why and holds nothing; an accepted one has
 * tool calls with an id, a name and arguments, a stop reason in range and tokens >= 0; a
 * schema the checker accepts is accepted again after js_wire_schema, and checking any
 * instance against it gives 0 or -1 with a message starting at "$"; the answer's text, when
 * it is JSON, is checked against a fixed scoring-like schema the same way.
 * The first byte picks the target; for the checker, the input is "SCHEMA\0INSTANCE".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../src/clients/llm.h"
#include "../../src/schema/js.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char k_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"categories\",\"summary\"],"
    "\"properties\":{\"summary\":{\"type\":[\"string\",\"null\"],\"maxLength\":100},"
    "\"categories\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
    "\"properties\":{\"a\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"score\",\"evidence\"],\"properties\":{\"score\":{\"type\":\"integer\","
    "\"minimum\":1,\"maximum\":5},\"evidence\":{\"type\":\"array\",\"maxItems\":3,\"items\":{"
    "\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"quote\",\"start\"],"
    "\"properties\":{\"quote\":{\"type\":\"string\"},\"start\":{\"type\":\"number\","
    "\"minimum\":0}}}}}}}}}}";

static void check_one(const json_t *schema, const json_t *inst)
{
    char err[300];
    err[0] = 0;
    int rc = js_check(schema, inst, err, sizeof(err));
    if (rc != 0 && (rc != -1 || err[0] != '$'))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sel = data[0] % 4;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    if (sel < 3) {
        llm_parsed p;
        char err[200];
        err[0] = 0;
        if (llm_parse_answer((llm_provider)sel, body, n, &p, err, sizeof(err)) != 0) {
            if (!err[0] || p.text || p.calls || p.n_calls)
                __builtin_trap();
            return 0;
        }
        if ((int)p.stop < LLM_STOP_DONE || p.stop > LLM_STOP_REFUSED || p.input_tokens < 0 ||
            p.output_tokens < 0)
            __builtin_trap();
        for (size_t i = 0; i < p.n_calls; i++)
            if (!p.calls[i].id || !p.calls[i].id[0] || !p.calls[i].name || !p.calls[i].arguments)
                __builtin_trap();
        if (p.text) {
            json_t *a = json_loads(p.text, 0, NULL), *s = json_loads(k_schema, 0, NULL);
            if (!s)
                __builtin_trap();
            if (a)
                check_one(s, a);
            json_decref(a);
            json_decref(s);
        }
        llm_parsed_free(&p);
        return 0;
    }
    /* the checker: SCHEMA \0 INSTANCE */
    const char *nul = memchr(body, 0, n);
    size_t sl = nul ? (size_t)(nul - body) : n;
    json_t *s = json_loadb(body, sl, JSON_DECODE_ANY, NULL);
    json_t *v = nul ? json_loadb(nul + 1, n - sl - 1, JSON_DECODE_ANY, NULL) : NULL;
    char err[300];
    if (s && js_schema_supported(s, err, sizeof(err)) == 0) {
        json_t *w = js_wire_schema(s, JS_DROP_BOUNDS | JS_DROP_LENGTH | JS_DROP_ITEMS);
        if (w && js_schema_supported(w, err, sizeof(err)) != 0)
            __builtin_trap();
        if (v) {
            check_one(s, v);
            if (w)
                check_one(w, v);
        }
        json_decref(w);
    } else if (s && v) {
        check_one(s, v); /* an unsupported schema is refused cleanly, never followed */
    }
    json_decref(s);
    json_decref(v);
    return 0;
}
