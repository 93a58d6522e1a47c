/*
 * fetch.c - a call's recording, from its source to what the engine reads (pipeline.h, steps 0
 * and 1): the one place callqa turns a call into files to analyse.
 *
 *   a stored call (the worker's child)  NAME:FILE fetched from the recording server NAME, the
 *                                        files opened and their names removed at once; else its
 *                                        legs or its mix (with the ViciDial legs beside it) on
 *                                        disk under recordings_dir, each opened beneath the
 *                                        configured folders (rec_open); a failed recording's
 *                                        stub skipped;
 *   a request (the service's threads)   a file of a configured recording server fetched
 *                                        (rec_fetch: the ViciDial candidates, legs first), or an
 *                                        upload taken as it came.
 *
 * Either way the report names each recording as its caller named it, never by a server path or
 * the descriptor it was read through: the stored report and the answers hold no path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pl_int.h"

/* ---- a request's recording ------------------------------------------------------------------- */

/* rec_fetch's failures as the codes of PL_END_FETCH */
static int fetch_code(rec_fetch_status st)
{
    switch (st) {
    case REC_FETCH_NOT_FOUND: return CQ_ERR_NOT_FOUND;
    case REC_FETCH_TOO_LARGE: return CQ_ERR_TOO_LARGE;
    case REC_FETCH_TIMEOUT: return CQ_ERR_TIMEOUT;
    case REC_FETCH_BAD_UPSTREAM: return CQ_ERR_REMOTE;
    default: return CQ_ERR_INTERNAL;
    }
}

int pl__fetch(const cfg_settings *c, const pl_source *s, pl__fetched *out, cq_err *err)
{
    memset(out, 0, sizeof(*out));
    out->identity = s->identity ? s->identity : "";
    out->validators = "";
    if (s->kind == PL_SOURCE_UPLOAD_LEGS) {
        out->src = (cq_call_src){.in_path = s->in_path,
                                 .out_path = s->out_path,
                                 .name = s->file,
                                 .in_name = "upload:in",
                                 .out_name = "upload:out"};
        out->server = "upload";
        out->what = "upload legs";
        return 0;
    }
    if (s->kind == PL_SOURCE_UPLOAD) {
        out->src = (cq_call_src){
            .data = s->data, .size = s->size, .name = s->file, .source_name = "upload"};
        out->server = "upload";
        out->what = "upload";
        return 0;
    }
    char msg[700];
    rec_fetch_status st = rec_fetch(c, s->srv, s->file, &out->f, msg, sizeof(msg));
    if (st != REC_FETCH_OK) {
        cq_err_set(err, fetch_code(st), "%s", msg);
        return -1;
    }
    out->have_f = true;
    rec_fetched *f = &out->f;
    if (f->cand.rel[1][0])
        snprintf(out->note, sizeof(out->note), "%s: analysed the ViciDial legs %s and %s", s->file,
                 f->cand.rel[0], f->cand.rel[1]);
    else if (f->cand.mixed)
        snprintf(out->note, sizeof(out->note),
                 "%s: only the mixed recording %s was found (ViciDial "
                 "removes the ORIG legs after a day): one-way audio cannot be judged",
                 s->file, f->cand.rel[0]);
    else
        snprintf(out->note, sizeof(out->note), "%s: analysed %s", s->file, f->cand.rel[0]);
    /* the legs named as the caller named the recording: the server's name and the file on it,
     * never its URL (docs/report.md, `source`) */
    for (int p = 0; p < 2; p++)
        snprintf(out->name[p], sizeof(out->name[p]), "%s:%s", s->srv->name, f->cand.rel[p]);
    out->src = (cq_call_src){.name = s->file, .note = out->note};
    if (f->cand.rel[1][0]) {
        out->src.in_path = f->path[0], out->src.out_path = f->path[1];
        out->src.in_name = out->name[0], out->src.out_name = out->name[1];
    } else {
        out->src.path = f->path[0], out->src.source_name = out->name[0];
    }
    out->server = s->srv->name;
    out->what = f->cand.what;
    out->identity = f->identity;
    out->validators = f->validators;
    return 0;
}

void pl__fetched_free(pl__fetched *f)
{
    if (f->have_f)
        rec_fetched_cleanup(&f->f);
    f->have_f = false;
}

/* ---- a stored call's recording, in the worker's child ---------------------------------------- */

/* A local audio reference as a path (relative ones under recordings_dir). */
static void local_path(const char *recordings_dir, const char *ref, char *out, size_t n)
{
    if (ref[0] == '/' || !recordings_dir[0])
        snprintf(out, n, "%s", ref);
    else
        snprintf(out, n, "%s/%s", recordings_dir, ref);
}

static bool usable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= CQ_LEGS_STUB_BYTES;
}

/* The size of a regular file too small to hold audio (a failed recording's stub), else -1. */
static long long stub_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < CQ_LEGS_STUB_BYTES
               ? (long long)st.st_size
               : -1;
}

/* "NAME:REL" names a file on recording server NAME: the server, and REL's file name. */
static const cfg_server *remote(const cfg_settings *svc, const char *ref, const char **file)
{
    const char *colon = strchr(ref, ':');
    if (!colon || colon == ref || colon - ref > 64 || !strncmp(colon, "://", 3))
        return NULL;
    char name[65];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - ref), ref);
    const char *slash = strrchr(colon + 1, '/');
    *file = slash ? slash + 1 : colon + 1;
    return cfg_find_server(svc, name);
}

/* A note for the report with each absolute path as its file's name: the report is stored and
 * answered, and names no server path (the legs' note of cq_legs_resolve names whole paths). */
static void note_names(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = in; *p && k + 1 < n;) {
        if (*p == '/' && (p == in || p[-1] == ' ')) { /* a path: up to its last '/' dropped */
            const char *end = p + strcspn(p, " ");
            const char *base = p;
            for (const char *q = p; q < end; q++)
                if (*q == '/')
                    base = q + 1;
            p = base;
            continue;
        }
        out[k++] = *p++;
    }
    out[k] = 0;
}

int pl__call_audio_open(pl__call_audio *a, const cfg_settings *svc, const char *recordings_dir,
                        const rec_roots *roots, const store_call *call, char *msg, size_t n)
{
    memset(a, 0, sizeof(*a));
    a->src = (cq_call_src){.name = call->recording_id};
    const char *file = NULL;
    const cfg_server *srv = call->audio[0] ? remote(svc, call->audio, &file) : NULL;
    if (srv) { /* the recording server: legs first, then the mix (rec_fetch's candidates) */
        rec_fetch_status st = rec_fetch(svc, srv, file, &a->f, msg, n);
        if (st != REC_FETCH_OK) {
            char why[5000];
            snprintf(why, sizeof(why), "fetch: %s", msg);
            snprintf(msg, n, "%s",
                     st == REC_FETCH_NOT_FOUND ? "missing: the recording server has no such "
                                                 "recording"
                                               : why);
            return st == REC_FETCH_NOT_FOUND ? PL__OUT_FAIL : PL__OUT_RETRY;
        }
        a->fetched = true;
        /* the fetched files are this child's: opened, and their names removed at once, so that
         * a child killed at its time limit leaves nothing in tmp_dir */
        for (int p = 0; p < 2; p++) {
            if (!a->f.path[p][0])
                continue;
            int f = open(a->f.path[p], O_RDONLY | O_CLOEXEC);
            unlink(a->f.path[p]);
            if (f < 0) {
                snprintf(msg, n, "fetch: the fetched file cannot be read back: %s",
                         strerror(errno));
                a->fetched = false; /* the child ends: nothing more is removed */
                return PL__OUT_RETRY;
            }
            snprintf(a->fd_path[p], sizeof(a->fd_path[p]), "/proc/self/fd/%d", f);
            a->f.path[p][0] = 0; /* nothing left to remove */
        }
        if (a->f.cand.rel[1][0]) {
            a->src.in_path = a->fd_path[0], a->src.out_path = a->fd_path[1];
            a->src.in_name = a->f.url[0], a->src.out_name = a->f.url[1];
        } else {
            a->src.path = a->fd_path[0], a->src.source_name = a->f.url[0];
            if (a->f.cand.mixed)
                snprintf(a->note, sizeof(a->note),
                         "the leg files are gone (ViciDial deletes them after "
                         "a day): analysed the mixed recording %s",
                         a->f.cand.rel[0]);
        }
    } else {
        local_path(recordings_dir, call->audio_in, a->p_in, sizeof(a->p_in));
        local_path(recordings_dir, call->audio_out, a->p_out, sizeof(a->p_out));
        local_path(recordings_dir, call->audio, a->p_mix, sizeof(a->p_mix));
        if (call->audio_in[0] && call->audio_out[0] && usable(a->p_in) && usable(a->p_out)) {
            a->src.in_path = a->p_in, a->src.out_path = a->p_out;
        } else if (call->audio[0] && cq_legs_resolve(a->p_mix, &a->lr, NULL) == CQ_OK) {
            a->src.path = a->lr.path, a->src.in_path = a->lr.in_path,
            a->src.out_path = a->lr.out_path;
            if (a->lr.note)
                snprintf(a->note, sizeof(a->note), "%s", a->lr.note);
            if (call->audio_in[0] && !a->lr.in_path)
                snprintf(a->note, sizeof(a->note),
                         "the leg files %s and %s are gone: analysed the "
                         "mixed recording",
                         call->audio_in, call->audio_out);
        } else if (call->audio[0] && stub_size(a->p_mix) >= 0) {
            /* what ViciDial leaves of a recording that failed: a header, no audio */
            snprintf(msg, n, "stub: %s is %lld bytes, a recording that failed", a->p_mix,
                     stub_size(a->p_mix));
            return PL__OUT_SKIP;
        } else {
            snprintf(msg, n, "missing: no recording at %s%s%s",
                     call->audio[0] ? a->p_mix : "(no location)", call->audio_in[0] ? " nor " : "",
                     call->audio_in[0] ? a->p_in : "");
            return PL__OUT_FAIL;
        }
        a->rec_path = call->audio[0] ? a->p_mix : a->p_in; /* the call's own names */
    }
    if (a->note[0]) {
        note_names(a->note, a->shown, sizeof(a->shown));
        a->src.note = a->shown;
    }
    if (!a->fetched) {
        /* the local files as a caller or the dialer placed them: each opened beneath the
         * configured folders, with no symbolic link below them, regular (a FIFO in its place
         * never blocks), and handed to the engine as that open file */
        const char **paths[3] = {&a->src.path, &a->src.in_path, &a->src.out_path};
        const char **names[3] = {&a->src.source_name, &a->src.in_name, &a->src.out_name};
        for (int k = 0; k < 3; k++) {
            if (!*paths[k])
                continue;
            char why[300];
            int f = rec_open(roots, *paths[k], why, sizeof(why));
            if (f < 0) {
                snprintf(msg, n, "refused: %s: %s", *paths[k], why);
                cq_legs_resolved_free(&a->lr);
                return PL__OUT_FAIL;
            }
            snprintf(a->fd_path[k], sizeof(a->fd_path[k]), "/proc/self/fd/%d", f);
            if (!*names[k]) { /* the report names the recording by its file's name: no server
                               * path in what is stored and answered */
                const char *slash = strrchr(*paths[k], '/');
                *names[k] = slash ? slash + 1 : *paths[k];
            }
            *paths[k] = a->fd_path[k]; /* the child ends with the job: its fds with it */
        }
    }
    return PL__OUT_DONE;
}

void pl__call_audio_name_error(const pl__call_audio *a, cq_err *err)
{
    if (a->fetched) /* the fetched files are named by their URLs already */
        return;
    const cq_call_src *src = &a->src;
    for (int k = 0; k < 3; k++) {
        const char *orig = k == 0 ? src->source_name : k == 1 ? src->in_name : src->out_name;
        const char *fdp = k == 0 ? src->path : k == 1 ? src->in_path : src->out_path;
        char *at = fdp && orig ? strstr(err->msg, fdp) : NULL;
        if (at) {
            char rest[sizeof(err->msg)];
            snprintf(rest, sizeof(rest), "%s", at + strlen(fdp));
            snprintf(at, sizeof(err->msg) - (size_t)(at - err->msg), "%s%s", orig, rest);
        }
    }
}

void pl__call_audio_close(pl__call_audio *a)
{
    if (a->fetched)
        rec_fetched_cleanup(&a->f);
    a->fetched = false;
    cq_legs_resolved_free(&a->lr);
}
