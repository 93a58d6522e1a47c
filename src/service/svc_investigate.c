/*
 * svc_investigate.c - POST /investigate: why did this call go wrong (docs/service.md,
 * docs/network.md). Two bodies:
 *
 *   application/json     the old service's {"sip_trace", "call_info", "status"}: at least one of
 *                        the two texts, else 400;
 *   multipart/form-data  'capture' (pcap, pcapng, or SIP as text), 'recording' (or 'audio'), or
 *                        'in' and 'out' (the call's legs), and the text fields 'sip_trace',
 *                        'call_info' and 'status': a capture, a SIP trace or a call_info, else 400;
 *                        'metadata' (JSON) may name the call.
 *
 * Either may name the call in a capture of many: call_id, uniqueid, caller_code, phone (strings),
 * call_epoch, length_sec (numbers), as net_match_call reads them.
 *
 * The HTTP thread turns the body into a request (the parts' temporary paths and the texts, as
 * JSON) and queues it; an analysis thread looks for the same input's answer in the store, else
 * has it worked out in a child of the analysis host (pl_investigate, src/pipeline/: a capture or
 * a recording that crashes the parser costs one request, not the service), where the capture is
 * read, the recording analysed and the two held together (src/net/inv_run.c), and masked as
 * every report is. With an LLM configured,
 * the thread then asks it for the explanation with the facts (not the raw text) and keeps its
 * answer only when every number and code it cites is in the facts; the explanation built from
 * the facts stays beside it. Answers are stored by a hash of the input (the texts and the
 * files' bytes), the program's version and the LLM's configuration; one whose LLM failed is not.
 *
 * Bounds (docs/network.md "Bounds"): the answer is at most max_answer_mb (the child cuts the
 * capture's lists to it and counts the rest in `truncated`), so what is stored is too; the
 * request to the LLM is held to llm_context_tokens less llm_max_tokens and the repair turn's
 * room; and a large answer's memory is given back to the system once it is sent (req.trim), so
 * the service's size returns after it.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net.h"
#include "../pipeline/pipeline.h"
#include "svc_ai.h"
#include "svc_analyses.h"
#include "svc_metrics.h"
#include "../store/store_calls.h"
#include "callqa/cq_clock.h"

#define INV_SERVER "investigate"

/* ---- the request, on the HTTP thread ------------------------------------------------------------
 */

enum MHD_Result svc_investigate_start(req *r)
{
    return svc_body_start(r);
}

/* A text for the request: as it is when UTF-8, else each byte above 0x7f as U+FFFD (the SIP and
 * call_info readers take ASCII; a name in Latin-1 stays readable). */
static void set_text(json_t *q, const char *key, const char *text, size_t len)
{
    if (!text || !len)
        return;
    json_t *v = json_stringn(text, len);
    json_object_set_new(q, key, v ? v : net_json_wire(text));
}

/* The stored call's identifiers and times, to pick its dialog in a capture of many
 * (net_match_call): from the JSON body, or the multipart 'metadata' part. NULL when none is given;
 * "" with why when one is malformed. */
static json_t *hint_of(const json_t *b, const char **why)
{
    static const char *const texts[] = {"call_id", "uniqueid", "caller_code", "phone"};
    static const char *const nums[] = {"call_epoch", "length_sec"};
    json_t *h = json_object();
    for (size_t k = 0; k < 4; k++) {
        const json_t *v = json_object_get(b, texts[k]);
        if (v && !json_is_null(v) && !json_is_string(v))
            *why = "call_id, uniqueid, caller_code and phone are strings";
        else if (json_string_length(v))
            json_object_set(h, texts[k], (json_t *)v);
    }
    for (size_t k = 0; k < 2; k++) {
        const json_t *v = json_object_get(b, nums[k]);
        if (v && !json_is_null(v) && !json_is_number(v))
            *why = "call_epoch and length_sec are numbers";
        else if (v && json_is_number(v))
            json_object_set(h, nums[k], (json_t *)v);
    }
    if (!json_object_size(h)) {
        json_decref(h);
        return NULL;
    }
    return h;
}

enum MHD_Result svc_investigate(req *r, const char *data, size_t *size)
{
    if (*size)
        return svc_body_piece(r, data, size);
    if (svc_body_done(r))
        return svc_send(r);
    json_t *q = json_object();
    if (r->multipart) {
        static const char *const files[SVC_N_PARTS] = {"in", "out", "recording", "capture"};
        for (int p = 0; p < SVC_N_PARTS; p++)
            if (r->part_path[p][0])
                json_object_set_new(q, files[p], json_string(r->part_path[p]));
        set_text(q, "sip_trace", r->field[SVC_FIELD_SIP_TRACE], r->field_len[SVC_FIELD_SIP_TRACE]);
        set_text(q, "call_info", r->field[SVC_FIELD_CALL_INFO], r->field_len[SVC_FIELD_CALL_INFO]);
        set_text(q, "status", r->field[SVC_FIELD_STATUS], r->field_len[SVC_FIELD_STATUS]);
        if (r->meta) {
            json_t *m = json_loads(r->meta, 0, NULL);
            const char *why = NULL;
            bool object = json_is_object(m);
            json_t *h = object ? hint_of(m, &why) : NULL;
            json_decref(m);
            if (!object || why) {
                json_decref(h);
                json_decref(q);
                svc_answer_error(r, 400, "bad_metadata", "%s",
                                 why ? why : "metadata is not a JSON object");
                return svc_send(r);
            }
            if (h)
                json_object_set_new(q, "hint", h);
        }
        if (!r->part_path[SVC_PART_IN][0] != !r->part_path[SVC_PART_OUT][0] ||
            (r->part_path[SVC_PART_IN][0] && r->part_path[SVC_PART_AUDIO][0])) {
            json_decref(q);
            svc_answer_error(r, 400, "bad_multipart",
                             "the recording comes as one 'recording' part, or as both 'in' "
                             "and 'out'");
            return svc_send(r);
        }
    } else {
        json_error_t je;
        json_t *b = r->upload_len ? json_loadb(r->upload, r->upload_len, 0, &je) : NULL;
        if (!json_is_object(b)) {
            json_decref(b);
            json_decref(q);
            svc_answer_error(r, 400, "bad_json",
                             "send a JSON object {\"sip_trace\", \"call_info\", \"status\"}, "
                             "or multipart/form-data with a 'capture' part");
            return svc_send(r);
        }
        static const char *const keys[] = {"sip_trace", "call_info", "status"};
        for (size_t k = 0; k < 3; k++) {
            json_t *v = json_object_get(b, keys[k]);
            if (v && !json_is_null(v) && !json_is_string(v)) {
                json_decref(b);
                json_decref(q);
                svc_answer_error(r, 400, "bad_json", "%s must be a string", keys[k]);
                return svc_send(r);
            }
            set_text(q, keys[k], json_string_value(v), json_string_length(v));
        }
        const char *why = NULL;
        json_t *h = hint_of(b, &why);
        json_decref(b);
        if (why) {
            json_decref(h);
            json_decref(q);
            svc_answer_error(r, 400, "bad_json", "%s", why);
            return svc_send(r);
        }
        if (h)
            json_object_set_new(q, "hint", h);
    }
    if (!json_object_get(q, "capture") && !json_object_get(q, "sip_trace") &&
        !json_object_get(q, "call_info")) {
        json_decref(q);
        svc_answer_error(r, 400, "missing",
                         "give a sip_trace or a call_info (or, as multipart, a 'capture')");
        return svc_send(r);
    }
    /* the answer's bound goes with the request (and into its key: another bound, another
     * answer) */
    json_object_set_new(q, "max_answer_bytes", json_integer((json_int_t)r->s->cfg->max_answer));
    r->inv_request = json_dumps(q, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(q);
    if (!r->inv_request) {
        svc_answer_error(r, 500, "internal", "out of memory");
        return svc_send(r);
    }
    return svc_enqueue(r, SVC_WORK_INVESTIGATE, svc_investigate_run);
}

/* ---- the answer, on an analysis thread ----------------------------------------------------------
 */

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
static int ask_llm(req *r, const json_t *answer, char **text, char **model, char *why, size_t whysz)
{
    char *sys = NULL, *user = NULL;
    *text = *model = NULL;
    size_t max = llm_prompt_max(r->s->llm), max_tokens = max;
    for (int attempt = 0;; attempt++) {
        if (net_explanation_prompt(answer, max_tokens, &sys, &user, why, whysz) != 0)
            return -1;
        size_t m = svc_llm_measure(r->s->llm, sys, user, NULL);
        if (m <= max || attempt == 3 || m - max >= max_tokens)
            break; /* within, or left to the client's guard to refuse */
        free(sys);
        free(user);
        sys = user = NULL;
        max_tokens -= m - max; /* the escapes' share: the facts' bound made tighter by it */
    }
    int rc = svc_llm_text(r, "investigate", sys, user, text, model, NULL, 0, why, whysz);
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

void svc_investigate_run(req *r)
{
    svc *s = r->s;
    char key[65], identity[160];
    snprintf(identity, sizeof(identity), "investigate:%s", cq_version());
    bool keyed = input_hash(r->inv_request, key) == 0;
    store_result row;
    if (keyed && store_result_latest(s->store, INV_SERVER, key, s->ai_engine, &row) == 1) {
        json_t *o = strcmp(row.identity, identity) ? NULL : json_loads(row.report, 0, NULL);
        r->trim = strlen(row.report) > ((size_t)1 << 20); /* its memory back once it is sent */
        store_result_free(&row);
        if (json_is_object(o)) {
            json_object_set_new(o, "analysis_time_sec", json_real(cq_clock_mono_sec() - r->t0));
            json_object_set_new(o, "cached", json_true());
            r->cache = "hit";
            svc_answer(r, 200, json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)),
                       "application/json");
            json_decref(o);
            return;
        }
        json_decref(o);
    }
    r->cache = "miss";
    pl_result res; /* worked out in a child of the analysis host, masked (src/pipeline/) */
    int rc = pl_investigate(s->an, r->slot, s->cfg, r->inv_request, &res);
    if (res.end != PL_END_DOWN && res.end != PL_END_TIMEOUT && res.end != PL_END_CRASHED)
        r->trim = res.bytes > ((size_t)1 << 20); /* its memory back once it is sent */
    if (rc != 0) {
        const char *msg = res.err.msg;
        if (res.end == PL_END_DOWN)
            svc_answer_error(r, 503, "analysis_unavailable", "%s", msg);
        else if (res.end == PL_END_TIMEOUT)
            svc_answer_error(r, 504, "analysis_timeout", "%s", msg);
        else if (res.end == PL_END_CRASHED)
            svc_answer_error(r, 500, "analysis_crashed", "%s on this input; the service goes on",
                             msg);
        else if (res.end == PL_END_ANALYSIS)
            svc_answer_error(r, res.err.code == CQ_ERR_FORMAT ? 422 : 500,
                             res.err.code == CQ_ERR_FORMAT ? "bad_capture"
                                                           : cq_status_name(res.err.code),
                             "%s", msg);
        else
            svc_answer_error(r, 500, "internal", "%s", msg);
        return;
    }
    json_t *o = res.answer;
    json_object_set(o, "explanation_from_facts", json_object_get(o, "explanation"));
    json_object_set_new(o, "explanation_source", json_string("facts"));
    json_object_set_new(o, "model", json_null());
    bool llm_failed = false;
    if (s->llm) {
        char *text, *model, why[600];
        if (ask_llm(r, o, &text, &model, why, sizeof(why)) == 0) {
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
                    r->id);
        }
    }
    if (keyed && !llm_failed) {
        char *stored = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
        store_result put = {0};
        snprintf(put.server, sizeof(put.server), "%s", INV_SERVER);
        snprintf(put.file, sizeof(put.file), "%s", key);
        snprintf(put.identity, sizeof(put.identity), "%s", identity);
        snprintf(put.engine, sizeof(put.engine), "%s", s->ai_engine);
        snprintf(put.source, sizeof(put.source), "investigate");
        put.created = put.checked = cq_clock_wall_sec();
        put.report = stored;
        if (!stored || store_result_put(s->store, &put, NULL) != 0)
            fprintf(stderr,
                    "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store refused an "
                    "investigation\"}\n",
                    r->id);
        free(stored);
    }
    json_object_set_new(o, "analysis_time_sec", json_real(cq_clock_mono_sec() - r->t0));
    json_object_set_new(o, "cached", json_false());
    svc_answer(r, 200, json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)), "application/json");
    json_decref(o);
}
