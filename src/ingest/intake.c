/*
 * intake.c - a call created in the store, the one way every source creates one: the folder
 * watch (watch.c) and the ViciDial ingest (vicidial.c) with the audio where it lies, and an
 * upload (POST /api/qa/calls: the route hands over its temporary files and the metadata it
 * read) with its files moved where the worker finds them and recorded as the call's.
 *
 * An upload's files: UPLOADS/SOURCE/ID[-in|-out].rec, one folder level per source and one file
 * per recording, each named by a reversible encoding of the name (rec_name_encode), so that two
 * names never share a file; its capture beside them as ID.pcap (ID.pcapng for a pcapng), where
 * the worker looks for it (src/pipeline/network.c). A known call keeps the audio it has; a new
 * one gets its files in place before it is queued, so that no worker ever claims a call whose
 * audio is not there yet. The files written are recorded as the call's, so that a purge or an
 * erasure deletes them whatever folders its settings name (docs/privacy.md, "What callqa keeps
 * of a call").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ingest.h"
#include "../clients/recording.h"
#include "../store/store_retain.h"
#include "callqa/cq_clock.h"

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

/* What an upload's metadata left out: its start in UTC (from the date in its zone, else the
 * system's), its source ("upload"), its recording id (the audio's hash: the same recording
 * uploaded twice is one call), its date (now). 0, or -1 with err. */
static int upload_defaults(store_call *c, const char *audio, cq_err *err)
{
    if (c->call_date[0]) {
        char tz[64];
        if (c->tz[0])
            snprintf(tz, sizeof(tz), "%s", c->tz);
        else
            ingest_tz_system(tz, sizeof(tz));
        if (ingest_local_to_utc(c->call_date, tz, &c->call_epoch) != 0)
            c->call_epoch = -1;
    }
    if (!c->source[0])
        snprintf(c->source, sizeof(c->source), "upload");
    if (!c->recording_id[0]) {
        char id[17];
        if (file_id(audio, id) != 0)
            return cq_err_set(err, CQ_ERR_IO, "the upload could not be read back");
        snprintf(c->recording_id, sizeof(c->recording_id), "u-%s", id);
    }
    if (!c->call_date[0]) {
        time_t t = time(NULL);
        struct tm lt;
        localtime_r(&t, &lt);
        strftime(c->call_date, sizeof(c->call_date), "%Y-%m-%d %H:%M:%S", &lt);
    }
    return 0;
}

/* The upload's paths in the upload folder: its audio's into path[] (and c's audio fields), its
 * source's folder into sdir, the recording's encoded name into id_enc. 0, or -1 with err. */
static int upload_paths(const ingest_upload *up, store_call *c, char path[3][1024], char sdir[1024],
                        char id_enc[REC_NAME_ENC], cq_err *err)
{
    char dir[1024];
    rec_upload_dir(up->cfg, dir, sizeof(dir));
    if (!dir[0])
        return cq_err_set(err, CQ_ERR_UNSUPPORTED,
                          "uploads need the upload_dir setting with a PostgreSQL store: a "
                          "directory every worker can read");
    if (strlen(dir) + 2 * REC_NAME_ENC + 16 >= 1024)
        return cq_err_set(err, CQ_ERR_RANGE, "upload_dir is too long a path");
    mkdir(dir, 0750);
    char src_enc[REC_NAME_ENC];
    rec_name_encode(c->source, src_enc, sizeof(src_enc));
    rec_name_encode(c->recording_id, id_enc, REC_NAME_ENC);
    snprintf(sdir, 1024, "%s/%s", dir, src_enc);
    mkdir(sdir, 0750);
    static const char *const suffix[3] = {"-in", "-out", ""};
    for (int p = 0; p < 3; p++) {
        path[p][0] = 0;
        if (!up->part[p] || !up->part[p][0])
            continue;
        int k = snprintf(path[p], 1024, "%s/%s%s.rec", sdir, id_enc, suffix[p]);
        if (k < 0 || k >= 1024) /* checked above; never */
            return cq_err_set(err, CQ_ERR_RANGE, "upload_dir is too long a path");
    }
    /* each path is shorter than 1024 (above), the size of the call's fields */
    _Static_assert(sizeof(c->audio_in) == 1024 && sizeof(c->audio_out) == 1024 &&
                       sizeof(c->audio) == 1024,
                   "the call's audio fields hold an upload's paths");
    if (path[INGEST_PART_IN][0] && path[INGEST_PART_OUT][0]) {
        memcpy(c->audio_in, path[INGEST_PART_IN], strlen(path[INGEST_PART_IN]) + 1);
        memcpy(c->audio_out, path[INGEST_PART_OUT], strlen(path[INGEST_PART_OUT]) + 1);
    } else {
        memcpy(c->audio, path[INGEST_PART_MIX], strlen(path[INGEST_PART_MIX]) + 1);
    }
    return 0;
}

/* The upload's files moved into their places (path[]; the capture beside them, its name in
 * cpath and whether it is a pcapng in *ng), each part moved emptied. 0, or -1 with err. */
static int upload_move(ingest_upload *up, char path[3][1024], const char *sdir, const char *id_enc,
                       char *cpath, size_t cn, bool *ng, cq_err *err)
{
    for (int p = 0; p < 3; p++)
        if (path[p][0]) {
            if (rename(up->part[p], path[p]) != 0)
                return cq_err_set(err, CQ_ERR_IO, "the upload could not be kept: %s",
                                  strerror(errno));
            up->part[p][0] = 0;
        }
    char *cap = up->part[INGEST_PART_CAPTURE];
    if (!cap || !cap[0])
        return 0;
    unsigned char magic[4] = {0};
    FILE *cf = fopen(cap, "rb");
    size_t got = cf ? fread(magic, 1, 4, cf) : 0;
    if (cf)
        fclose(cf);
    *ng = got == 4 && !memcmp(magic, "\x0a\x0d\x0d\x0a", 4);
    snprintf(cpath, cn, "%s/%s.%s", sdir, id_enc, *ng ? "pcapng" : "pcap");
    if (rename(cap, cpath) != 0)
        return cq_err_set(err, CQ_ERR_IO, "the capture could not be kept: %s", strerror(errno));
    cap[0] = 0;
    return 0;
}

static int store_failed(store *st, cq_err *err)
{
    return cq_err_set(err, CQ_ERR_STORE, "%s", store_errmsg(st));
}

int ingest_call_create(store *st, store_call *c, ingest_upload *up, ingest_created *out,
                       cq_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!up) { /* the audio where it lies */
        if (store_call_put(st, c, cq_clock_wall_sec(), &out->id, &out->created) != 0)
            return store_failed(st, err);
        return 0;
    }
    char path[3][1024], sdir[1024], id_enc[REC_NAME_ENC], cpath[1280] = "";
    const char *audio = up->part[INGEST_PART_MIX] && up->part[INGEST_PART_MIX][0]
                            ? up->part[INGEST_PART_MIX]
                            : up->part[INGEST_PART_IN];
    if (upload_defaults(c, audio, err) != 0 || upload_paths(up, c, path, sdir, id_enc, err) != 0)
        return -1;
    store_call known;
    int found = store_call_find(st, c->source, c->recording_id, &known);
    if (found < 0)
        return store_failed(st, err);
    out->id = known.id;
    if (found)
        return 0;
    bool ng = false;
    if (upload_move(up, path, sdir, id_enc, cpath, sizeof(cpath), &ng, err) != 0)
        return -1;
    out->capture = cpath[0] != 0;
    if (store_call_put(st, c, cq_clock_wall_sec(), &out->id, &out->created) != 0)
        return store_failed(st, err);
    static const store_file_kind kinds[3] = {STORE_FILE_LEG_IN, STORE_FILE_LEG_OUT,
                                             STORE_FILE_RECORDING};
    for (int p = 0; p < 3; p++)
        if (path[p][0] &&
            store_file_record(st, out->id, kinds[p], path[p], cq_clock_wall_sec()) != 0)
            return store_failed(st, err);
    if (out->capture &&
        store_file_record(st, out->id, ng ? STORE_FILE_CAPTURE_NG : STORE_FILE_CAPTURE, cpath,
                          cq_clock_wall_sec()) != 0)
        return store_failed(st, err);
    return 0;
}
