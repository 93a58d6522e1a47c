/*
 * svc_body.c - request bodies, for the routes that take one: a declared size over the route's
 * limit refused at once (413), the pieces kept in memory within the limit and the service's
 * budget of bodies held at once (max_body_memory), multipart/form-data parsed as it comes (the
 * parts 'in', 'out', 'audio' or 'recording' and 'capture' streamed to temporary files, the
 * 'metadata' and the text fields kept in memory within their bounds), the connection's idle
 * limit while a body comes (upload_idle_sec, within upload_timeout_sec), and the end: parts
 * closed, or the answer set when the body was too large, too slow or malformed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "svc_http.h"

/* A text field's bytes, appended in memory within `cap`; -1 over it, or out of memory. */
static int append_text(char **buf, size_t *len, size_t cap, const char *data, size_t size)
{
    if (*len + size > cap)
        return -1;
    char *nb = realloc(*buf, *len + size + 1);
    if (!nb)
        return -1;
    *buf = nb;
    memcpy(nb + *len, data, size);
    *len += size;
    nb[*len] = 0;
    return 0;
}

/* multipart parts 'in', 'out', 'audio' (or 'recording') and 'capture' stream to temporary files;
 * 'metadata', 'sip_trace', 'call_info' and 'status' to memory; other fields are ignored */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *ctype, const char *enc,
                               const char *data, uint64_t off, size_t size)
{
    (void)kind, (void)filename, (void)ctype, (void)enc;
    req *r = cls;
    static const struct {
        const char *name;
        int bit;   /* in part_seen */
        int file;  /* its req.part[], or -1 */
        int field; /* its req.field[], -1; -2: metadata */
        size_t cap;
    } parts[] = {
        {"in", 0, SVC_PART_IN, -1, 0},
        {"out", 1, SVC_PART_OUT, -1, 0},
        {"audio", 2, SVC_PART_AUDIO, -1, 0},
        {"recording", 2, SVC_PART_AUDIO, -1, 0},
        {"metadata", 3, -1, -2, SVC_MAX_METADATA},
        {"capture", 4, SVC_PART_CAPTURE, -1, 0},
        {"sip_trace", 5, -1, SVC_FIELD_SIP_TRACE, SVC_MAX_FIELD},
        {"call_info", 6, -1, SVC_FIELD_CALL_INFO, SVC_MAX_FIELD},
        {"status", 7, -1, SVC_FIELD_STATUS, 256},
    };
    int k = -1;
    for (int i = 0; i < (int)(sizeof(parts) / sizeof(parts[0])); i++)
        if (!strcmp(key, parts[i].name))
            k = i;
    if (k < 0)
        return MHD_YES;
    /* a part begins at offset 0: a second part of a name already seen is refused (50,000
     * 'audio' parts were joined into one file) */
    if (off == 0) {
        if (r->part_seen & (1u << parts[k].bit)) {
            r->bad_multipart = 1, r->duplicate_part = 1;
            return MHD_NO;
        }
        r->part_seen |= 1u << parts[k].bit;
    }
    if (parts[k].field != -1) {
        int f = parts[k].field;
        /* text held in memory counts against max_body_memory, as a body in memory does */
        if (atomic_fetch_add(&r->s->body_bytes, size) + size > r->s->cfg->max_body_memory) {
            atomic_fetch_sub(&r->s->body_bytes, size);
            r->over_budget = 1;
            return MHD_NO;
        }
        r->field_bytes += size;
        if (append_text(f == -2 ? &r->meta : &r->field[f],
                        f == -2 ? &r->meta_len : &r->field_len[f], parts[k].cap, data, size)) {
            r->bad_multipart = 1;
            return MHD_NO;
        }
        return MHD_YES;
    }
    int p = parts[k].file;
    if (!r->part[p]) {
        if (r->part_path[p][0]) { /* a second part of the same name */
            r->bad_multipart = 1;
            return MHD_NO;
        }
        /* the request owns it: on_completed removes it on every ending (answered, refused,
         * timed out, the client gone); a process that died first leaves it to rec_tmp_sweep */
        int fd = rec_tmp_make(r->s->cfg, "upload", r->part_path[p], sizeof(r->part_path[p]));
        if (fd < 0 || !(r->part[p] = fdopen(fd, "wb"))) {
            if (fd >= 0)
                close(fd);
            r->part_path[p][0] = 0;
            return MHD_NO;
        }
    }
    r->part_len[p] += size;
    size_t total = 0;
    for (int i = 0; i < SVC_N_PARTS; i++)
        total += r->part_len[i];
    if (total > r->s->cfg->max_body) {
        r->upload_too_large = 1;
        return MHD_NO;
    }
    return size && fwrite(data, 1, size, r->part[p]) != size ? MHD_NO : MHD_YES;
}

/* While a body comes, the connection's idle limit is the nearer of upload_idle_sec and what is
 * left of upload_timeout_sec (whole seconds, at least 1): a client that stops sending is let go
 * by then, and the request ends (on_completed removes its temporary files). A client that keeps
 * sending is cut by svc_body_piece at upload_timeout_sec. */
void svc_body_deadline(req *r)
{
    const cfg_settings *c = r->s->cfg;
    double left = c->upload_timeout_sec - (svc_mono_sec() - r->t0);
    double t = left < c->upload_idle_sec ? left : c->upload_idle_sec;
    MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              t < 1 ? 1u : (unsigned)(t + 0.999));
}

enum MHD_Result svc_body_start(req *r)
{
    svc_body_deadline(r);
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    if (!r->body_limit)
        r->body_limit = r->s->cfg->max_body;
    if (cl && strtoull(cl, NULL, 10) > r->body_limit) {
        r->close = true; /* its body is not read */
        svc_answer_error(r, 413, "too_large", "the body is over the %zu MiB limit",
                         r->body_limit >> 20);
        return svc_send(r);
    }
    if (ct && !strncasecmp(ct, "multipart/form-data", 19)) {
        r->multipart = 1;
        if (!(r->pp = MHD_create_post_processor(r->conn, 65536, on_part, r))) {
            svc_answer_error(r, 400, "bad_multipart", "multipart/form-data without a boundary");
            return svc_send(r);
        }
    }
    return MHD_YES;
}

enum MHD_Result svc_body_piece(req *r, const char *data, size_t *size)
{
    if (!r->body_limit)
        r->body_limit = r->s->cfg->max_body;
    if (svc_mono_sec() - r->t0 > r->s->cfg->upload_timeout_sec) {
        /* a body that trickles in is cut: libmicrohttpd 0.9.75 cannot send an answer before the
         * body is complete, so the connection is closed (logged and counted as 408) */
        svc_answer_error(r, 408, "upload_timeout", "the upload took longer than %.0f s",
                         r->s->cfg->upload_timeout_sec);
        return MHD_NO;
    }
    svc_body_deadline(r);
    if (r->multipart) {
        if (!r->upload_too_large && !r->bad_multipart &&
            MHD_post_process(r->pp, data, *size) != MHD_YES && !r->upload_too_large)
            r->bad_multipart = 1;
    } else if (!r->upload_too_large && !r->over_budget) {
        if (r->upload_len + *size > r->body_limit) {
            r->upload_too_large = 1;
        } else {
            if (r->upload_len + *size > r->upload_cap) {
                size_t cap = (r->upload_len + *size) * 2;
                if (cap > r->body_limit)
                    cap = r->body_limit;
                /* the bodies held in memory by all requests together stay within
                 * max_body_memory_mb: past it, this one is drained and answered 503 */
                size_t more = cap - r->upload_cap;
                if (atomic_fetch_add(&r->s->body_bytes, more) + more > r->s->cfg->max_body_memory) {
                    atomic_fetch_sub(&r->s->body_bytes, more);
                    r->over_budget = 1;
                    *size = 0;
                    return MHD_YES;
                }
                char *nb = realloc(r->upload, cap);
                if (!nb) {
                    atomic_fetch_sub(&r->s->body_bytes, more);
                    r->upload_too_large = 1;
                    *size = 0;
                    return MHD_YES;
                }
                r->upload = nb, r->upload_cap = cap;
            }
            memcpy(r->upload + r->upload_len, data, *size);
            r->upload_len += *size;
        }
    }
    *size = 0;
    return MHD_YES;
}

int svc_body_done(req *r)
{
    /* the body is in: the connection's own idle limit again (kept alive after the answer) */
    MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned)(r->s->cfg->request_timeout_sec + 0.999));
    for (int p = 0; p < SVC_N_PARTS; p++)
        if (r->part[p]) {
            fclose(r->part[p]);
            r->part[p] = NULL;
        }
    /* the parser, done with: it says whether the body reached its closing boundary */
    bool unfinished = false;
    if (r->pp) {
        unfinished = MHD_destroy_post_processor(r->pp) != MHD_YES;
        r->pp = NULL;
    }
    if (r->upload_too_large)
        svc_answer_error(r, 413, "too_large", "the body is over the %zu MiB limit",
                         (r->body_limit ? r->body_limit : r->s->cfg->max_body) >> 20);
    else if (r->over_budget)
        svc_answer_error(r, 503, "busy",
                         "the uploads being received hold the %zu MiB they may "
                         "hold in memory: try again in a few seconds",
                         r->s->cfg->max_body_memory >> 20);
    else if (r->duplicate_part)
        svc_answer_error(r, 400, "bad_multipart",
                         "a part of the same name came twice (each part "
                         "comes once; 'audio' and 'recording' are one part)");
    else if (r->bad_multipart)
        svc_answer_error(r, 400, "bad_multipart", "the multipart body could not be parsed");
    else if (unfinished && r->multipart)
        svc_answer_error(r, 400, "bad_multipart",
                         "the multipart body ended before its closing "
                         "boundary (a cut upload)");
    else
        return 0;
    return -1;
}
