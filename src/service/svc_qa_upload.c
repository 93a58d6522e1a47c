/*
 * svc_qa_upload.c - POST /api/qa/calls: a recording uploaded with its metadata (multipart,
 * streamed to temporary files; a 'capture' part is kept beside the audio, where the worker
 * looks for it), stored under a name that no other upload shares
 * (rec_name_encode), and enqueued for the worker like any ingested call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "svc_qa.h"
#include "../ingest/ingest.h"
#include "../pipeline/pipeline.h"
#include "../scoring/scoring.h"
#include "../transcript/transcript.h"
#include "../store/store_calls.h"
#include "../store/store_jobs.h"
#include "../store/store_query.h"
#include "../store/store_retain.h"
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

/* The sha256 of a file, the first 16 hex digits: an upload's identity. */
static int file_id(const char *path, char out[17])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        sha256_update(&ctx, got, buf);
    fclose(f);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof(d), d);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
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
    if (c.call_date[0]) { /* its start in UTC, from the date in its zone (else the system's) */
        char tz[64];
        if (c.tz[0])
            snprintf(tz, sizeof(tz), "%s", c.tz);
        else
            ingest_tz_system(tz, sizeof(tz));
        if (ingest_local_to_utc(c.call_date, tz, &c.call_epoch) != 0)
            c.call_epoch = -1;
    }
    if (!c.source[0])
        snprintf(c.source, sizeof(c.source), "upload");
    if (!c.recording_id[0]) { /* the same recording uploaded twice is one call */
        char id[17];
        if (file_id(r->part_path[mix ? 2 : 0], id) != 0) {
            svc_answer_error(r, 500, "internal", "the upload could not be read back");
            return svc_send(r);
        }
        snprintf(c.recording_id, sizeof(c.recording_id), "u-%s", id);
    }
    if (!c.call_date[0]) {
        time_t t = time(NULL);
        struct tm lt;
        localtime_r(&t, &lt);
        strftime(c.call_date, sizeof(c.call_date), "%Y-%m-%d %H:%M:%S", &lt);
    }
    /* keep the audio where the worker finds it: UPLOADS/SOURCE/ID[-in|-out].wav */
    char dir[1024], path[3][1024];
    rec_upload_dir(r->s->cfg, dir, sizeof(dir));
    if (!dir[0]) {
        svc_answer_error(r, 503, "unavailable",
                         "uploads need the upload_dir setting with a PostgreSQL store: a "
                         "directory every worker can read");
        return svc_send(r);
    }
    if (strlen(dir) + 2 * REC_NAME_ENC + 16 >= sizeof(path[0])) {
        svc_answer_error(r, 500, "internal", "upload_dir is too long a path");
        return svc_send(r);
    }
    mkdir(dir, 0750);
    /* one directory level per source and one file per recording, each named by a reversible
     * encoding of the name (rec_name_encode): two names never share a file */
    char sdir[1024], src_enc[REC_NAME_ENC], id_enc[REC_NAME_ENC];
    rec_name_encode(c.source, src_enc, sizeof(src_enc));
    rec_name_encode(c.recording_id, id_enc, sizeof(id_enc));
    snprintf(sdir, sizeof(sdir), "%s/%s", dir, src_enc);
    mkdir(sdir, 0750);
    static const char *const suffix[3] = {"-in", "-out", ""};
    for (int p = 0; p < 3; p++) {
        path[p][0] = 0;
        if (!r->part_path[p][0])
            continue;
        int k = snprintf(path[p], sizeof(path[p]), "%s/%s%s.rec", sdir, id_enc, suffix[p]);
        if (k < 0 || (size_t)k >= sizeof(path[p])) { /* checked above; never */
            svc_answer_error(r, 500, "internal", "upload_dir is too long a path");
            return svc_send(r);
        }
    }
    if (legs) {
        snprintf(c.audio_in, sizeof(c.audio_in), "%s", path[0]);
        snprintf(c.audio_out, sizeof(c.audio_out), "%s", path[1]);
    } else {
        snprintf(c.audio, sizeof(c.audio), "%s", path[2]);
    }
    /* a known call keeps the audio it has; a new one gets its files in place before it is
     * queued, so that no worker ever claims a call whose audio is not there yet */
    store_call known;
    int found = store_call_find(r->s->store, c.source, c.recording_id, &known);
    if (found < 0)
        return svc_qa_store_failed(r);
    for (int p = 0; p < 3 && !found; p++)
        if (path[p][0]) {
            if (rename(r->part_path[p], path[p]) != 0) {
                svc_answer_error(r, 500, "internal", "the upload could not be kept: %s",
                                 strerror(errno));
                return svc_send(r);
            }
            r->part_path[p][0] = 0; /* moved: not removed at the end of the request */
        }
    /* the call's capture beside its audio, named as the worker looks for it (ID.pcap, or
     * ID.pcapng for a pcapng: src/pipeline/network.c) */
    bool capture = false, cpath_ng = false;
    char cpath[1280] = "";
    if (!found && r->part_path[SVC_PART_CAPTURE][0]) {
        unsigned char magic[4] = {0};
        FILE *cf = fopen(r->part_path[SVC_PART_CAPTURE], "rb");
        size_t got = cf ? fread(magic, 1, 4, cf) : 0;
        if (cf)
            fclose(cf);
        bool ng = got == 4 && !memcmp(magic, "\x0a\x0d\x0d\x0a", 4);
        cpath_ng = ng;
        snprintf(cpath, sizeof(cpath), "%s/%s.%s", sdir, id_enc, ng ? "pcapng" : "pcap");
        if (rename(r->part_path[SVC_PART_CAPTURE], cpath) != 0) {
            svc_answer_error(r, 500, "internal", "the capture could not be kept: %s",
                             strerror(errno));
            return svc_send(r);
        }
        r->part_path[SVC_PART_CAPTURE][0] = 0;
        capture = true;
    }
    int64_t id = known.id;
    bool created = false;
    if (!found && store_call_put(r->s->store, &c, cq_clock_wall_sec(), &id, &created) != 0)
        return svc_qa_store_failed(r);
    /* the files written, recorded as the call's: a purge or an erasure deletes them whatever
     * folders its settings name (docs/privacy.md, "What callqa keeps of a call") */
    static const store_file_kind kinds[3] = {STORE_FILE_LEG_IN, STORE_FILE_LEG_OUT,
                                             STORE_FILE_RECORDING};
    for (int p = 0; p < 3 && !found; p++)
        if (path[p][0] &&
            store_file_record(r->s->store, id, kinds[p], path[p], cq_clock_wall_sec()) != 0)
            return svc_qa_store_failed(r);
    if (capture &&
        store_file_record(r->s->store, id, cpath_ng ? STORE_FILE_CAPTURE_NG : STORE_FILE_CAPTURE,
                          cpath, cq_clock_wall_sec()) != 0)
        return svc_qa_store_failed(r);
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
