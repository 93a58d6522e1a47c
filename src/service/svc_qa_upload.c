/*
 * svc_qa_upload.c - POST /api/qa/calls: a recording uploaded with its metadata (multipart,
 * streamed to temporary files), checked here and handed to the ingest's one way of creating a
 * call (ingest_call_create, src/ingest/intake.c), which keeps the files under names no other
 * upload shares (a 'capture' part beside the audio, where the worker looks for it) and enqueues
 * the call for the worker like any ingested call.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc_qa.h"
#include "../ingest/ingest.h"
#include "../store/store_calls.h"
#include "../store/store_jobs.h"
#include "../store/store_query.h"
#include "callqa/cq_clock.h"

/* ---- POST /api/qa/calls -------------------------------------------------------------------- */

/* The metadata part into c; -1 with the reason. */
static int read_metadata(const char *text, store_call *c, char *why, size_t n)
{
    json_error_t je;
    json_t *m = json_loads(text, 0, &je);
    if (!m || !json_is_object(m)) {
        snprintf(why, n, "metadata is not a JSON object: %s", m ? "" : je.text);
        json_decref(m);
        return -1;
    }
    struct {
        const char *key;
        char *dst;
        size_t size;
    } texts[] = {
        {"source", c->source, sizeof(c->source)},
        {"recording_id", c->recording_id, sizeof(c->recording_id)},
        {"uniqueid", c->uniqueid, sizeof(c->uniqueid)},
        {"vicidial_id", c->vicidial_id, sizeof(c->vicidial_id)},
        {"lead_id", c->lead_id, sizeof(c->lead_id)},
        {"agent_user", c->agent_user, sizeof(c->agent_user)},
        {"agent_name", c->agent_name, sizeof(c->agent_name)},
        {"campaign_id", c->campaign_id, sizeof(c->campaign_id)},
        {"campaign_name", c->campaign_name, sizeof(c->campaign_name)},
        {"direction", c->direction, sizeof(c->direction)},
        {"call_date", c->call_date, sizeof(c->call_date)},
        {"tz", c->tz, sizeof(c->tz)},
        {"disposition", c->disposition, sizeof(c->disposition)},
        {"term_reason", c->term_reason, sizeof(c->term_reason)},
    };
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(m, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
            if (strcmp(k, texts[i].key))
                continue;
            known = true;
            if (json_is_null(v))
                break;
            if (!json_is_string(v) || strlen(json_string_value(v)) >= texts[i].size) {
                snprintf(why, n, "metadata.%s must be a string under %zu bytes", k, texts[i].size);
                rc = -1;
            } else {
                snprintf(texts[i].dst, texts[i].size, "%s", json_string_value(v));
            }
        }
        if (!strcmp(k, "length_sec")) {
            known = true;
            if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1 << 30)
                c->length_sec = (int)json_integer_value(v);
            else if (!json_is_null(v)) {
                snprintf(why, n, "metadata.length_sec must be a whole number of seconds");
                rc = -1;
            }
        }
        if (!known) {
            snprintf(why, n, "metadata: unknown key '%.40s'", k);
            rc = -1;
        }
        if (rc)
            break;
    }
    json_decref(m);
    if (rc == 0 && c->call_date[0]) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(c->call_date, "%Y-%m-%d %H:%M:%S", &tm);
        if (!end || *end) {
            snprintf(why, n, "metadata.call_date must be YYYY-MM-DD HH:MM:SS");
            rc = -1;
        }
    }
    if (rc == 0 && c->direction[0] && strcmp(c->direction, "inbound") &&
        strcmp(c->direction, "outbound")) {
        snprintf(why, n, "metadata.direction is inbound or outbound");
        rc = -1;
    }
    return rc;
}

enum MHD_Result svc_qa_upload_start(req *r)
{
    return svc_body_start(r);
}

enum MHD_Result svc_qa_upload(req *r, const char *data, size_t *size)
{
    if (*size)
        return svc_body_piece(r, data, size);
    if (svc_body_done(r))
        return svc_send(r);
    if (!r->multipart) {
        svc_answer_error(r, 400, "bad_multipart",
                         "send multipart/form-data: a 'metadata' JSON "
                         "part and 'audio', or 'in' and 'out'");
        return svc_send(r);
    }
    bool mix = r->part_path[2][0], legs = r->part_path[0][0] && r->part_path[1][0];
    if (mix == legs || (!legs && (r->part_path[0][0] || r->part_path[1][0]))) {
        svc_answer_error(r, 400, "bad_multipart",
                         "give either an 'audio' part or both 'in' and "
                         "'out'");
        return svc_send(r);
    }
    store_call c;
    memset(&c, 0, sizeof(c));
    c.call_epoch = -1;
    c.length_sec = -1;
    char why[300];
    if (r->meta && read_metadata(r->meta, &c, why, sizeof(why))) {
        svc_answer_error(r, 400, "bad_metadata", "%s", why);
        return svc_send(r);
    }
    /* created (or found) by the ingest's one way, its files moved where the worker finds them */
    ingest_upload up = {.cfg = r->s->cfg,
                        .part = {[INGEST_PART_IN] = r->part_path[SVC_PART_IN],
                                 [INGEST_PART_OUT] = r->part_path[SVC_PART_OUT],
                                 [INGEST_PART_MIX] = r->part_path[SVC_PART_AUDIO],
                                 [INGEST_PART_CAPTURE] = r->part_path[SVC_PART_CAPTURE]}};
    ingest_created made;
    cq_err err;
    if (ingest_call_create(r->s->store, &c, &up, &made, &err) != 0) {
        if (err.code == CQ_ERR_STORE)
            return svc_qa_store_failed(r);
        svc_answer_error(r, err.code == CQ_ERR_UNSUPPORTED ? 503 : 500,
                         err.code == CQ_ERR_UNSUPPORTED ? "unavailable" : "internal", "%s",
                         err.msg);
        return svc_send(r);
    }
    int64_t id = made.id;
    bool created = made.created, capture = made.capture;
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer(id));
    json_object_set_new(o, "source", json_string(c.source));
    json_object_set_new(o, "recording_id", json_string(c.recording_id));
    json_object_set_new(o, "created", json_boolean(created));
    json_object_set_new(o, "capture", json_boolean(capture));
    store_job j;
    json_object_set_new(o, "processing_status",
                        store_job_get(r->s->store, id, &j) == 1
                            ? json_string(job_state_name(j.state))
                            : json_null());
    return svc_qa_send(r, created ? 201 : 200, o);
}
