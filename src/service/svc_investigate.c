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
 * JSON) and queues it; an analysis thread has it answered by the pipeline
 * (pl_investigate_answer, src/pipeline/pl_investigate.c: the stored answer of the same input,
 * else the request worked out in a child of the analysis host, masked, the LLM's explanation
 * held to the facts, the answer stored) and answers it. The answer's bound (max_answer_mb) goes
 * with the request; a large answer's memory is given back to the system once it is sent
 * (req.trim), so the service's size returns after it.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_ai.h"
#include "svc_analyses.h"
#include "svc_metrics.h"
#include "callqa/cq_clock.h"

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
    json_object_set_new(q, key, pl_investigate_text(text, len));
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

void svc_investigate_run(req *r)
{
    pl_ai ai = svc_ai_of(r);
    pl_inquiry q; /* the store's, or worked out in a child of the analysis host (src/pipeline/) */
    int rc = pl_investigate_answer(r->s->an, r->slot, &ai, r->inv_request, &q);
    pl_result *res = &q.res;
    r->cache = q.cached ? "hit" : "miss";
    if (res->end != PL_END_DOWN && res->end != PL_END_TIMEOUT && res->end != PL_END_CRASHED)
        r->trim = res->bytes > ((size_t)1 << 20); /* its memory back once it is sent */
    if (rc != 0) {
        const char *msg = res->err.msg;
        if (res->end == PL_END_DOWN)
            svc_answer_error(r, 503, "analysis_unavailable", "%s", msg);
        else if (res->end == PL_END_TIMEOUT)
            svc_answer_error(r, 504, "analysis_timeout", "%s", msg);
        else if (res->end == PL_END_CRASHED)
            svc_answer_error(r, 500, "analysis_crashed", "%s on this input; the service goes on",
                             msg);
        else if (res->end == PL_END_ANALYSIS)
            svc_answer_error(r, res->err.code == CQ_ERR_FORMAT ? 422 : 500,
                             res->err.code == CQ_ERR_FORMAT ? "bad_capture"
                                                            : cq_status_name(res->err.code),
                             "%s", msg);
        else
            svc_answer_error(r, 500, "internal", "%s", msg);
        return;
    }
    json_t *o = res->answer;
    json_object_set_new(o, "analysis_time_sec", json_real(cq_clock_mono_sec() - r->t0));
    json_object_set_new(o, "cached", json_boolean(q.cached));
    svc_answer(r, 200, json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)), "application/json");
    json_decref(o);
}
