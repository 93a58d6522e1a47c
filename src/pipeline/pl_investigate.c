/*
 * pl_investigate.c - the work of an investigation (POST /investigate, docs/network.md), in a child
 * of the analysis host (host.c; in the caller's process without one): the request the service
 * made of the body (the parts' temporary paths and the texts, as JSON) read back, the capture or
 * the SIP text read, the recording analysed by the engine, and the two held together
 * (net_investigate_run, src/net/inv_run.c). A capture or a recording that crashes the parser
 * costs one request, not the service. The answer is masked as every report is by the analyser
 * (analyser.c), once it is back.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/net.h"
#include "pl_int.h"

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
