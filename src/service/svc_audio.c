/*
 * svc_audio.c - GET /api/qa/call/{id}/audio: a call's recording for the browser's player, and
 * the "audio" block of GET /api/qa/call/{id} (which legs can be asked for).
 *
 * DESIGN
 * The call's legs and where they lie, what a file holds and the transcodes of what a browser
 * cannot play are the media room's (src/media/media.h): this file is the route. It finds the
 * call (by recording_id or uniqueid), says what of its audio the caller may hear (a redacted
 * copy only, or nothing while the redaction is pending or failed: docs/privacy.md), opens the
 * leg as the worker opens it (beneath the configured folders, no symbolic link, a regular file,
 * without waiting), and serves WAV of PCM, float, u-law or A-law, MP3, FLAC and Ogg as they are;
 * anything else is served from the media room's cache of transcodes, made while the request's
 * connection is suspended (at most MD_MAX_TRANSCODES at once: 503 busy beyond). The body is
 * always the file itself (MHD_create_response_from_fd_at_offset64): one byte range (206), the
 * whole (200), 416 for a range past the end, 304 for a matching If-None-Match.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../pipeline/pl_service.h"
#include "../media/media.h"
#include "svc_audio.h"
#include "../store/store.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "../store/store_retain.h"

/* ---- the Range header (pure) ---------------------------------------------------------------- */

/* digits into *v; false on none or overflow */
static bool read_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *p = s, *v = x;
    return true;
}

svc_range svc_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    *first = *last = 0;
    if (!h)
        return SVC_RANGE_NONE;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncasecmp(h, "bytes", 5))
        return SVC_RANGE_NONE;
    h += 5;
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h++ != '=')
        return SVC_RANGE_NONE;
    while (*h == ' ' || *h == '\t')
        h++;
    uint64_t a = 0, b = 0;
    bool suffix = *h == '-', has_b = false;
    if (suffix) {
        h++;
        if (!read_u64(&h, &b))
            return SVC_RANGE_NONE;
    } else {
        if (!read_u64(&h, &a) || *h++ != '-')
            return SVC_RANGE_NONE;
        has_b = read_u64(&h, &b);
    }
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h) /* several ranges, or anything after the one: the whole body */
        return SVC_RANGE_NONE;
    if (has_b && b < a)
        return SVC_RANGE_NONE; /* an invalid range-spec: the header is ignored */
    if (suffix) {
        if (b == 0 || size == 0)
            return SVC_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return SVC_RANGE_OK;
    }
    if (a >= size)
        return SVC_RANGE_UNSATISFIABLE;
    *first = a;
    *last = has_b && b < size ? b : size - 1;
    return SVC_RANGE_OK;
}

static int call_id_row(void *user, const store_val *c, int n)
{
    for (int i = 0; i < n; i++)
        if (c[i].name && !strcmp(c[i].name, "call_id") && c[i].t == SV_INT)
            *(int64_t *)user = c[i].i;
    return 0;
}

/* The call named by recording_id or uniqueid: 1 with *c, 0 none, -1 the store failed. */
static int find_call(req *r, store_call *c)
{
    int64_t id = 0;
    store_val p[1] = {SV_S(r->param)};
    if (store_query(r->s->store, SQ_CALL, p, 1, call_id_row, &id) != 0)
        return -1;
    return id > 0 ? store_call_get(r->s->store, id, c) : 0;
}

/* What a call's audio may be served as (docs/privacy.md): */
enum {
    RED_NONE = 0, /* the recording as it is: not redacted, nor in a campaign whose audio is */
    RED_COPY,     /* the redacted copy (at *copy), and nothing else */
    RED_HELD,     /* nothing: the redaction's check failed */
    RED_PENDING,  /* nothing: its campaign's audio is redacted, and it has no copy yet */
    RED_ERR       /* the store failed */
};

static int redaction_of(req *r, const store_call *c, char state[8], char *copy, size_t n)
{
    int got = store_redaction_get(r->s->store, c->id, state, copy, n);
    if (got < 0)
        return RED_ERR;
    if (!strcmp(state, "failed"))
        return RED_HELD;
    if (!strcmp(state, "ok") && copy[0])
        return RED_COPY;
    if (pl_redact_audio_pending(r->s->cfg, c->campaign_id))
        return RED_PENDING;
    return RED_NONE;
}

json_t *svc_audio_legs(req *r, int64_t call_id)
{
    store_call c;
    int got = store_call_get(r->s->store, call_id, &c);
    if (got < 0)
        return NULL;
    json_t *legs = json_array(), *o = json_object();
    bool has[3] = {false, false, false};
    char state[8] = "", copy[1100];
    int red = got == 1 ? redaction_of(r, &c, state, copy, sizeof(copy)) : RED_NONE;
    if (red == RED_COPY) { /* the redacted copy only, both legs in one file */
        json_array_append_new(legs, json_string(md_leg_name(MD_LEG_MIX)));
        json_object_set_new(o, "legs", legs);
        json_object_set_new(o, "default", json_string(md_leg_name(MD_LEG_MIX)));
        json_object_set_new(o, "redacted", json_true());
        return o;
    }
    for (int l = 0; l < MD_N_LEGS && got == 1 && red == RED_NONE; l++)
        if ((has[l] = md_servable(r->s->cfg, md_leg_ref(&c, l))))
            json_array_append_new(legs, json_string(md_leg_name(l)));
    int def = has[MD_LEG_MIX]   ? MD_LEG_MIX
              : has[MD_LEG_IN]  ? MD_LEG_IN
              : has[MD_LEG_OUT] ? MD_LEG_OUT
                                : -1;
    json_object_set_new(o, "legs", legs);
    json_object_set_new(o, "default", def >= 0 ? json_string(md_leg_name(def)) : json_null());
    json_object_set_new(o, "redacted", json_false());
    if (red == RED_HELD || red == RED_PENDING)
        json_object_set_new(
            o, "held_back",
            json_string(red == RED_HELD ? "the redaction check failed" : "not redacted yet"));
    return o;
}

/* ---- the answer ----------------------------------------------------------------------------- */

/* If-None-Match: "*" or a list of entity tags, compared weakly */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == el && !memcmp(p, etag, el))
            return true;
        p = e;
    }
    return false;
}

static enum MHD_Result queue(req *r, int status, struct MHD_Response *resp, const char *ctype,
                             const char *etag)
{
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (etag) {
        MHD_add_response_header(resp, "ETag", etag);
        MHD_add_response_header(resp, "Cache-Control", "private, no-cache");
    } else {
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    }
    r->status = status;
    return svc_queue(r, (unsigned)status, resp); /* the service's headers, as every answer */
}

/* fd (taken): the whole file, one range of it, 304 or 416 */
static enum MHD_Result serve_fd(req *r, int fd, const char *ctype, const char *etag)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        svc_answer_error(r, 500, "internal", "the recording could not be read");
        return svc_send(r);
    }
    uint64_t size = (uint64_t)st.st_size;
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    if (etag_matches(inm, etag)) {
        close(fd);
        return queue(r, 304, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                     ctype, etag);
    }
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    const char *ifr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Range");
    if (ifr && strcmp(ifr, etag)) /* another version than the client holds: the whole */
        range = NULL;
    uint64_t a, b;
    svc_range k = svc_range_parse(range, size, &a, &b);
    char cr[80];
    if (k == SVC_RANGE_UNSATISFIABLE) {
        close(fd);
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"error\":\"the range is outside the recording's %" PRIu64
                 " bytes\",\"code\":\"range_not_satisfiable\"}",
                 size);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        if (resp)
            MHD_add_response_header(resp, "Content-Range", cr);
        return queue(r, 416, resp, "application/json", etag);
    }
    if (k == SVC_RANGE_OK) {
        struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(b - a + 1, fd, a);
        if (!resp)
            close(fd);
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, a, b, size);
        if (resp)
            MHD_add_response_header(resp, "Content-Range", cr);
        return queue(r, 206, resp, ctype, etag);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(size, fd, 0);
    if (!resp)
        close(fd);
    return queue(r, 200, resp, ctype, etag);
}

static enum MHD_Result transcode_failed(req *r, int leg, int status, const char *msg)
{
    svc_answer_error(r, status,
                     status == 415   ? "audio_unsupported"
                     : status == 422 ? "audio_too_long"
                     : status == 503 ? "busy"
                                     : "internal",
                     "the '%s' recording of call %.64s: %s", md_leg_name(leg), r->param, msg);
    return svc_send(r);
}

/* A recording on local disk (rec_open), the folders read again at most once a second when it
 * lies outside them (a folder registered since). */
static int svc_open_local(svc *s, const char *path, char *why, size_t n)
{
    pthread_mutex_lock(&s->roots_mu);
    int fd = rec_open(s->roots, path, why, n);
    if (fd < 0 && !strcmp(why, "outside the folders recordings are read from") &&
        svc_mono_sec() - s->roots_loaded >= 1) {
        rec_roots_load(s->roots, s->cfg, NULL, s->store);
        s->roots_loaded = svc_mono_sec();
        fd = rec_open(s->roots, path, why, n);
    }
    pthread_mutex_unlock(&s->roots_mu);
    return fd;
}

/* The media room's transcode waits with the request's connection suspended. */
static void hold(void *arg)
{
    MHD_suspend_connection(((req *)arg)->conn);
}

static void wake(void *arg)
{
    MHD_resume_connection(((req *)arg)->conn);
}

/* A call whose audio retention deleted: 410 Gone said (true), else nothing (false). */
static bool audio_deleted(req *r, const store_call *c)
{
    if (store_audio_deleted(r->s->store, c->id) != 1)
        return false;
    svc_answer_error(r, 410, "audio_deleted",
                     "the audio of call %.64s was deleted when its retention period ended",
                     r->param);
    return true;
}

enum MHD_Result svc_qa_audio(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const cfg_settings *cfg = r->s->cfg;
    md_outcome done;
    switch (md_transcode_take(r, r->id, &done)) {
    case 1: return MHD_YES; /* being made: the connection is resumed when it is done */
    case 2:                 /* resumed: the transcode is done */
        return done.status ? transcode_failed(r, done.leg, done.status, done.msg)
                           : serve_fd(r, done.fd, "audio/wav", done.etag);
    default: break;
    }
    const char *lg = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "leg");
    int leg = -1;
    if (lg) {
        for (int l = 0; l < MD_N_LEGS; l++)
            if (!strcmp(lg, md_leg_name(l)))
                leg = l;
        if (leg < 0) {
            svc_answer_error(r, 400, "bad_leg",
                             "leg is in (the caller's leg), out (the "
                             "agent's) or mix (the mixed or stereo file)");
            return svc_send(r);
        }
    }
    store_call c;
    int got = find_call(r, &c);
    if (got != 1) {
        if (got < 0)
            svc_answer_error(r, 500, "store", "the store could not answer: %s",
                             store_errmsg(r->s->store));
        else
            svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                             r->param);
        return svc_send(r);
    }
    /* its audio deleted by retention (the rows name none of it, or only what its redaction
     * holds back): 410, whatever the redaction said */
    char state[8] = "", copy[1100];
    int red = redaction_of(r, &c, state, copy, sizeof(copy));
    if (((!c.audio[0] && !c.audio_in[0] && !c.audio_out[0]) || red == RED_HELD ||
         red == RED_PENDING) &&
        audio_deleted(r, &c))
        return svc_send(r);
    switch (red) {
    case RED_ERR:
        svc_answer_error(r, 500, "store", "the store could not answer: %s",
                         store_errmsg(r->s->store));
        return svc_send(r);
    case RED_HELD:
        svc_answer_error(r, 403, "held_back",
                         "call %.64s failed its redaction check: its audio is held back "
                         "(its report's redaction.verify says why)",
                         r->param);
        return svc_send(r);
    case RED_PENDING:
        svc_answer_error(r, 403, "not_redacted",
                         "call %.64s is in a campaign whose audio is redacted, and it has no "
                         "redacted copy yet",
                         r->param);
        return svc_send(r);
    case RED_COPY: {
        /* the copy the worker wrote (a path from the store, never from the request) */
        int rfd = open(copy, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat rst;
        if (rfd < 0 || fstat(rfd, &rst) != 0 || !S_ISREG(rst.st_mode)) {
            if (rfd >= 0)
                close(rfd);
            svc_answer_error(r, 404, "audio_missing",
                             "the redacted copy of call %.64s is no longer on disk", r->param);
            return svc_send(r);
        }
        char retag[80];
        snprintf(retag, sizeof(retag), "\"r%jx-%jx.%lx-%jx\"", (uintmax_t)rst.st_size,
                 (uintmax_t)rst.st_mtim.tv_sec, (unsigned long)rst.st_mtim.tv_nsec,
                 (uintmax_t)rst.st_ino);
        return serve_fd(r, rfd, "audio/wav", retag);
    }
    default: break;
    }
    if (leg < 0) /* the mix when there is one, else the caller's leg */
        leg = c.audio[0]       ? MD_LEG_MIX
              : c.audio_in[0]  ? MD_LEG_IN
              : c.audio_out[0] ? MD_LEG_OUT
                               : -1;
    if (leg < 0) {
        svc_answer_error(r, 404, "no_audio", "call %.64s has no recording", r->param);
        return svc_send(r);
    }
    const char *ref = md_leg_ref(&c, leg);
    if (!ref[0]) {
        svc_answer_error(r, 404, "no_such_leg", "call %.64s has no '%s' leg: it has %s", r->param,
                         md_leg_name(leg),
                         c.audio_in[0] && c.audio_out[0] ? "the legs in and out"
                         : c.audio[0]                    ? "a mixed or stereo recording (mix)"
                         : c.audio_in[0]                 ? "the leg in only"
                                                         : "the leg out only");
        return svc_send(r);
    }
    const cfg_server *srv = md_remote_server(cfg, ref);
    if (srv) {
        svc_answer_error(r, 404, "remote_audio",
                         "the '%s' recording of call %.64s is on "
                         "recording server %s: the service does not serve recordings from "
                         "recording servers yet",
                         md_leg_name(leg), r->param, srv->name);
        return svc_send(r);
    }
    char path[2100], why[300];
    md_local_path(cfg, ref, path, sizeof(path));
    /* opened as the worker opens it: beneath the configured folders, no symbolic link, a
     * regular file, and without waiting (a FIFO put in its place would block this thread) */
    int fd = svc_open_local(r->s, path, why, sizeof(why));
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || md_stub(st.st_size)) {
        bool stub = fd >= 0;
        if (fd >= 0)
            close(fd);
        else if (strcmp(why, "no such file")) /* the log has the path; the answer names none */
            fprintf(stderr,
                    "{\"ts\":%.3f,\"id\":\"%s\",\"level\":\"warn\",\"msg\":\"a "
                    "recording is refused: %s\",\"call\":%lld}\n",
                    svc_now_sec(), r->id, why, (long long)c.id);
        svc_answer_error(r, 404, "audio_missing", "the '%s' recording of call %.64s is %s",
                         md_leg_name(leg), r->param,
                         stub ? "a stub of a failed recording (no audio)"
                         : !strcmp(why, "no such file")
                             ? "no longer on disk (removed or moved since the call was queued)"
                             : "not readable: it is not a regular file beneath the folders "
                               "recordings are read from (a symbolic link, a FIFO?)");
        return svc_send(r);
    }
    uint8_t head[4096];
    ssize_t hn = pread(fd, head, sizeof(head), 0);
    md_kind kind = md_sniff(head, hn > 0 ? (size_t)hn : 0, (uint64_t)st.st_size);
    if (kind == MD_DECODE) { /* a raw GSM file named so, whatever its frames say */
        size_t pl = strlen(path);
        if (pl > 4 && !strcasecmp(path + pl - 4, ".gsm"))
            kind = MD_RAW_GSM;
    }
    char etag[80], msg[600], dir[1100], hex[33];
    if (kind == MD_DECODE || kind == MD_RAW_GSM) {
        int status = md_cache_name(cfg, path, &st, dir, sizeof(dir), hex, etag, sizeof(etag), msg,
                                   sizeof(msg));
        if (status) {
            close(fd);
            return transcode_failed(r, leg, status, msg);
        }
        int out = md_cache_open(dir, hex);
        if (out >= 0) { /* made before */
            close(fd);
            return serve_fd(r, out, "audio/wav", etag);
        }
        /* made now, by a thread of the media room while the connection waits; recorded as
         * the call's file first, so that a purge or an erasure with any settings finds it */
        char tc[1200];
        snprintf(tc, sizeof(tc), "%s/%s.wav", dir, hex);
        if (store_file_record(r->s->store, c.id, STORE_FILE_TRANSCODE, tc, svc_now_sec()) != 0)
            fprintf(stderr,
                    "{\"ts\":%.3f,\"id\":\"%s\",\"level\":\"warn\",\"msg\":\"a transcode "
                    "is not recorded as the call's file\",\"call\":%lld}\n",
                    svc_now_sec(), r->id, (long long)c.id);
        md_transcode t = {.cfg = cfg,
                          .src = fd,
                          .st = st,
                          .raw_gsm = kind == MD_RAW_GSM,
                          .leg = leg,
                          .dir = dir,
                          .hex = hex,
                          .etag = etag,
                          .owner = r,
                          .id = r->id,
                          .hold = hold,
                          .wake = wake,
                          .arg = r};
        int started = md_transcode_start(&t); /* fd taken */
        if (started == 0)
            return MHD_YES; /* the connection is resumed when it is done: this handler again */
        if (started == -2)
            svc_answer_error(r, 500, "internal", "out of memory");
        else
            svc_answer_error(r, 503, "busy",
                             "%d recordings are being transcoded already: try again "
                             "in a few seconds",
                             MD_MAX_TRANSCODES);
        return svc_send(r);
    }
    snprintf(etag, sizeof(etag), "\"%jx-%jx.%lx-%jx\"", (uintmax_t)st.st_size,
             (uintmax_t)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec, (uintmax_t)st.st_ino);
    return serve_fd(r, fd, md_ctype(kind), etag);
}
