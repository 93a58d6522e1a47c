/*
 * pl_investigate.c - an investigation (POST /investigate, docs/network.md) from the request the
 * service made of its body (the parts' temporary paths and the texts, as JSON) to its answer.
 *
 * The answer of the same input is looked up in the store first: answers are stored by a hash of
 * the input (the texts and the files' bytes), the program's version and the LLM's
 * configuration; one whose LLM failed is not. Else the request is worked out in a child of the
 * analysis host (host.c, pl_investigate in analyser.c; in the caller's process without one): the
 * capture or the SIP text read, the recording analysed by the engine, and the two held together
 * (net_investigate_run, src/net/inv_run.c; pl__investigate_here below). A capture or a
 * recording that crashes the parser costs one request, not the service. The answer is masked as
 * every report is by the analyser, once it is back. With an LLM configured, the thread then asks
 * it for the explanation with the facts (not the raw text) and keeps its answer only when every
 * number and code it cites is in the facts; the explanation built from the facts stays beside
 * it.
 *
 * Bounds (docs/network/bounds.md "Bounds"): the answer is at most max_answer_mb (the child cuts the
 * capture's lists to it and counts the rest in `truncated`), so what is stored is too; the
 * request to the LLM is held to llm_context_tokens less llm_max_tokens and the repair turn's
 * room.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net.h"
#include "pl_int.h"
#include "../store/store_calls.h"

#define INV_SERVER "investigate"

json_t *pl_investigate_text(const char *text, size_t len)
{
    json_t *v = json_stringn(text, len);
    return v ? v : net_json_wire(text);
}

int pl__investigate_here(const cq_engine *e, const void *request, size_t len, char **json,
                         char *msg, size_t msgsz)
{
    *json = NULL;
    json_t *q = json_loadb(request, len, 0, NULL);
    if (!json_is_object(q)) {
        json_decref(q);
        snprintf(msg, msgsz, "a malformed investigation request");
        return CQ_ERR_INTERNAL;
    }
    const char *rec = json_string_value(json_object_get(q, "recording"));
    const char *in = json_string_value(json_object_get(q, "in"));
    const char *out = json_string_value(json_object_get(q, "out"));
    json_t *sip = json_object_get(q, "sip_trace");
    const json_t *h = json_object_get(q, "hint");
    net_call_hint hint = {.call_id = json_string_value(json_object_get(h, "call_id")),
                          .uniqueid = json_string_value(json_object_get(h, "uniqueid")),
                          .caller_code = json_string_value(json_object_get(h, "caller_code")),
                          .phone = json_string_value(json_object_get(h, "phone")),
                          .epoch = json_is_number(json_object_get(h, "call_epoch"))
                                       ? json_number_value(json_object_get(h, "call_epoch"))
                                       : -1,
                          .length_sec = json_is_number(json_object_get(h, "length_sec"))
                                            ? json_number_value(json_object_get(h, "length_sec"))
                                            : -1};
    net_limits lim = net_default_limits();
    json_int_t max = json_integer_value(json_object_get(q, "max_answer_bytes"));
    if (max > 0)
        lim.max_answer_bytes = (size_t)max;
    cq_call_src src = {.path = rec,
                       .in_path = in,
                       .out_path = out,
                       .name = "recording",
                       .source_name = "upload:recording",
                       .in_name = "upload:in",
                       .out_name = "upload:out"};
    net_inv_input inp = {.capture_path = json_string_value(json_object_get(q, "capture")),
                         .sip_text = json_string_value(sip),
                         .sip_len = json_string_length(sip),
                         .call_info = json_string_value(json_object_get(q, "call_info")),
                         .call_info_len = json_string_length(json_object_get(q, "call_info")),
                         .recording = rec || (in && out) ? &src : NULL,
                         .status = json_string_value(json_object_get(q, "status")),
                         .lim = &lim,
                         .hint = h ? &hint : NULL};
    json_t *o = NULL;
    int rc = net_investigate_run(e, &inp, &o, msg, msgsz) == 0 ? CQ_OK : CQ_ERR_FORMAT;
    json_decref(q);
    if (rc == CQ_OK) {
        *json = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(o);
        if (!*json) {
            snprintf(msg, msgsz, "out of memory");
            return CQ_ERR_NOMEM;
        }
    }
    return rc;
}

/* ---- the answer, on the caller's thread ---------------------------------------------------- */

/* The input's hash: each key of the request (sorted) with its text (the hint as JSON), or its
 * file's bytes. */
static int input_hash(const char *request, char hex[65])
{
    json_t *q = json_loads(request, 0, NULL);
    if (!q)
        return -1;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(q, k, v)
    {
        bool file = !strcmp(k, "capture") || !strcmp(k, "recording") || !strcmp(k, "in") ||
                    !strcmp(k, "out");
        uint64_t n = strlen(k) + 1;
        sha256_update(&ctx, sizeof(n), (const uint8_t *)&n);
        sha256_update(&ctx, (size_t)n, (const uint8_t *)k);
        if (!file) { /* a text as it is; the hint (an object) as sorted, compact JSON */
            char *dump = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
            const char *t = json_is_string(v) ? json_string_value(v) : dump ? dump : "";
            n = json_is_string(v) ? json_string_length(v) : strlen(t);
            sha256_update(&ctx, sizeof(n), (const uint8_t *)&n);
            sha256_update(&ctx, (size_t)n, (const uint8_t *)t);
            free(dump);
            continue;
        }
        FILE *f = fopen(json_string_value(v), "rb");
        if (!f) {
            rc = -1;
            break;
        }
        uint8_t buf[65536];
        size_t got;
        while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
            sha256_update(&ctx, got, buf);
        fclose(f);
    }
    json_decref(q);
    uint8_t dg[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof(dg), dg);
    for (size_t i = 0; i < sizeof(dg); i++)
        snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    return rc;
}

/* The LLM's explanation, held to the facts: 0 with *text and *model (malloc'd), or -1 with why
 * (the call failed, or the answer cites what the facts do not hold). The request is held to the
 * model's context less the answer's tokens (llm_prompt_max): the facts' share is counted in
 * bytes of prompt, and the request's body, with its JSON escapes, measured and held to it. */
static int ask_llm(const pl_ai *ai, const json_t *answer, char **text, char **model, char *why,
                   size_t whysz)
{
    char *sys = NULL, *user = NULL;
    *text = *model = NULL;
    size_t max = llm_prompt_max(ai->llm), max_tokens = max;
    for (int attempt = 0;; attempt++) {
        if (net_explanation_prompt(answer, max_tokens, &sys, &user, why, whysz) != 0)
            return -1;
        size_t m = pl__llm_measure(ai->llm, sys, user, NULL);
        if (m <= max || attempt == 3 || m - max >= max_tokens)
            break; /* within, or left to the client's guard to refuse */
        free(sys);
        free(user);
        sys = user = NULL;
        max_tokens -= m - max; /* the escapes' share: the facts' bound made tighter by it */
    }
    int rc = pl__llm_text(ai, "investigate", sys, user, text, model, NULL, 0, why, whysz);
    free(sys);
    free(user);
    if (rc == 0 && net_explanation_check(*text, answer, max_tokens, why, whysz) != 0) {
        free(*text);
        free(*model);
        *text = *model = NULL;
        rc = -1;
    }
    return rc;
}

int pl_investigate_answer(pl_analyser *a, int slot, const pl_ai *ai, const char *request,
                          pl_inquiry *out)
{
    memset(out, 0, sizeof(*out));
    char key[65], identity[160];
    snprintf(identity, sizeof(identity), "investigate:%s", cq_version());
    bool keyed = input_hash(request, key) == 0;
    store_result row;
    if (keyed && store_result_latest(ai->st, INV_SERVER, key, ai->engine, &row) == 1) {
        json_t *o = strcmp(row.identity, identity) ? NULL : json_loads(row.report, 0, NULL);
        out->res.bytes = strlen(row.report);
        store_result_free(&row);
        if (json_is_object(o)) {
            out->res.answer = o;
            out->cached = true;
            return 0;
        }
        json_decref(o);
    }
    int rc = pl_investigate(a, slot, ai->cfg, request, &out->res);
    if (rc != 0)
        return rc;
    json_t *o = out->res.answer;
    json_object_set(o, "explanation_from_facts", json_object_get(o, "explanation"));
    json_object_set_new(o, "explanation_source", json_string("facts"));
    json_object_set_new(o, "model", json_null());
    bool llm_failed = false;
    if (ai->llm) {
        char *text, *model, why[600];
        if (ask_llm(ai, o, &text, &model, why, sizeof(why)) == 0) {
            json_object_set_new(o, "explanation", json_string(text));
            json_object_set_new(o, "explanation_source", json_string("llm"));
            json_object_set_new(o, "model", json_string(model));
            free(text);
            free(model);
        } else {
            llm_failed = true;
            json_object_set_new(o, "llm_error", json_string(why));
            fprintf(stderr,
                    "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the LLM's explanation was not "
                    "used; the one from the facts is\"}\n",
                    ai->id);
        }
    }
    if (keyed && !llm_failed) {
        char *stored = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
        pl__ai_store(ai, INV_SERVER, key, identity, "investigate", stored, "investigation");
        free(stored);
    }
    return 0;
}
