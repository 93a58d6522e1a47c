/*
 * svc_analyses.c - the service's long work: suspended requests wait on the pipeline's threads
 * (pl_pool: a bounded FIFO, `max_concurrent` threads, each with its slot of the analysis host)
 * for a thread, which takes the call through its life (pl_analyse: the recording fetched,
 * analysed in a child of the analysis host, masked and stored, src/pipeline/), then answers and
 * resumes the request; for GET /ai-analyze, the answer is the report's assessment (svc_ai.c: the
 * LLM is called here, never on the HTTP threads). Identical GET /analyze (or /ai-analyze)
 * requests in flight share one analysis. A full queue answers 503. (A "job" is the QA worker's,
 * a row of the store's queue: these are requests.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pipeline/pl_service.h"
#include "svc_ai.h"
#include "svc_analyses.h"
#include "svc_hot.h"
#include "svc_metrics.h"
#include "../store/store_calls.h"

#define UPLOAD_SERVER "upload"

/* A call through its life (pl_analyse: fetched or uploaded, analysed, masked, stored), answered;
 * what is shown of a failure names `file`. */
static void analyze_into(req *r, const pl_source *src, const char *file)
{
    svc *s = r->s;
    pl_result res;
    if (pl_analyse(s->an, r->slot, s->cfg, s->store, src, &res) != 0) {
        const char *msg = res.err.msg;
        int rc = res.err.code;
        switch (res.end) {
        case PL_END_FETCH:
            if (rc == CQ_ERR_NOT_FOUND)
                svc_answer_error(r, 404, "not_found", "%s", msg);
            else if (rc == CQ_ERR_TOO_LARGE)
                svc_answer_error(r, 502, "recording_too_large", "%s", msg);
            else if (rc == CQ_ERR_TIMEOUT)
                svc_answer_error(r, 504, "upstream_timeout", "%s", msg);
            else if (rc == CQ_ERR_REMOTE)
                svc_answer_error(r, 502, "bad_upstream", "%s", msg);
            else
                svc_answer_error(r, 500, "internal", "%s", msg);
            break;
        case PL_END_DOWN: svc_answer_error(r, 503, "analysis_unavailable", "%s", msg); break;
        case PL_END_TIMEOUT:
            svc_answer_error(r, 504, "analysis_timeout", "%s: %s", file, msg);
            break;
        case PL_END_CRASHED:
            svc_answer_error(r, 500, "analysis_crashed",
                             "%s: %s on this recording; the service "
                             "goes on",
                             file, msg);
            break;
        case PL_END_ANALYSIS: {
            int st = rc == CQ_ERR_NOMEM || rc == CQ_ERR_INTERNAL ? 500
                     : rc == CQ_ERR_TOO_LARGE                    ? 413
                                                                 : 422;
            svc_answer_error(r, st, st == 422 ? "bad_recording" : cq_status_name(rc), "%s", msg);
            break;
        }
        default: svc_answer_error(r, 500, "internal", "%s", msg); break;
        }
        return;
    }
    svc_hot_forget(s->hot, src->kind == PL_SOURCE_SERVER ? src->srv->name : UPLOAD_SERVER,
                   src->file); /* the next answer reads the new row */
    if (res.put != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store refused a "
                "result\"}\n",
                r->id);
    if (r->ai) { /* GET /ai-analyze: the report's assessment is the answer */
        svc_ai_answer(r, res.report, res.put == 0 ? res.id : 0);
        pl_result_free(&res);
        return;
    }
    svc_answer(r, 200, res.report, "application/json"); /* the answer takes it */
}

static void run_fetch(req *r)
{
    svc *s = r->s;
    const cfg_settings *c = s->cfg;
    char msg[700];
    if (r->report_fresh) { /* GET /ai-analyze of a fresh stored report: its assessment only */
        r->cache = "miss";
        svc_ai_answer(r, r->cached.report, r->cached.id);
        return;
    }
    if (r->have_cached && !r->refresh) {
        rec_fetch_status st = rec_revalidate(c, r->srv, r->cached.validators, msg, sizeof(msg));
        if (st == REC_FETCH_NOT_MODIFIED) {
            store_result_touch(s->store, r->cached.id, svc_now_sec());
            svc_hot_forget(s->hot, r->cached.server, r->cached.file);
            svc_metrics_cache(true);
            if (r->ai) {
                if (svc_ai_serve_stored(r, r->cached.id)) {
                    r->cache = "revalidated";
                } else {
                    r->cache = "miss";
                    svc_ai_answer(r, r->cached.report, r->cached.id);
                }
                return;
            }
            r->cache = "revalidated";
            svc_answer(r, 200, strdup(r->cached.report), "application/json");
            return;
        }
    }
    svc_metrics_cache(false);
    r->cache = "miss";
    pl_source src = {.kind = PL_SOURCE_SERVER, .srv = r->srv, .file = r->file};
    analyze_into(r, &src, r->file);
}

static void run_upload(req *r)
{
    svc_metrics_cache(false);
    char hex[80];
    snprintf(hex, sizeof(hex), "upload:%s", r->id);
    if (r->multipart) {
        if (!r->part_path[0][0] || !r->part_path[1][0]) {
            svc_answer_error(r, 400, "bad_multipart",
                             "multipart upload needs both an 'in' and an "
                             "'out' part");
            return;
        }
        pl_source src = {.kind = PL_SOURCE_UPLOAD_LEGS,
                         .in_path = r->part_path[0],
                         .out_path = r->part_path[1],
                         .file = r->upload_name,
                         .identity = hex};
        analyze_into(r, &src, r->upload_name);
    } else {
        pl_source src = {.kind = PL_SOURCE_UPLOAD,
                         .data = r->upload,
                         .size = r->upload_len,
                         .file = r->upload_name,
                         .identity = hex};
        analyze_into(r, &src, r->upload_name);
    }
}

/* One request on an analysis thread (of the pipeline's pool, with its slot). */
static void analysis_run(void *item, int slot, void *user)
{
    svc *s = user;
    req *r = item;
    r->slot = slot;
    if (r->run)
        r->run(r); /* the route's own work (POST /investigate's) */
    else if (r->work == SVC_WORK_FETCH)
        run_fetch(r);
    else
        run_upload(r);
    pthread_mutex_lock(&s->mu);
    for (req **pp = &s->pending; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    req *w = r->waiters;
    r->waiters = NULL;
    r->done = 1;
    pthread_mutex_unlock(&s->mu);
    while (w) { /* the same answer for everyone who asked for the same call meanwhile */
        req *nx = w->next;
        svc_answer(w, r->status, r->body ? strdup(r->body) : NULL, r->ctype);
        w->cache = "shared";
        w->done = 1;
        MHD_resume_connection(w->conn);
        w = nx;
    }
    MHD_resume_connection(r->conn);
}

enum MHD_Result svc_enqueue(req *r, svc_work kind, void (*run)(req *r))
{
    svc *s = r->s;
    size_t cap = (size_t)(s->cfg->max_queue + s->cfg->max_concurrent);
    pthread_mutex_lock(&s->mu); /* the only pusher: a push under it finds the room it saw */
    if (kind == SVC_WORK_FETCH && !s->stopping)
        for (req *p = s->pending; p; p = p->next)
            if (p->srv == r->srv && !strcmp(p->file, r->file) && p->ai == r->ai) {
                r->work = kind;
                MHD_suspend_connection(r->conn);
                r->next = p->waiters;
                p->waiters = r;
                pthread_mutex_unlock(&s->mu);
                return MHD_YES;
            }
    size_t waiting = pl_pool_len(s->requests);
    if (waiting >= cap || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        svc_answer_error(r, 503, "busy", "%zu analyses are running or waiting; try again shortly",
                         waiting);
        return svc_send(r);
    }
    r->work = kind;
    r->run = run;
    MHD_suspend_connection(r->conn);
    if (kind == SVC_WORK_FETCH) {
        r->next = s->pending;
        s->pending = r;
    }
    pl_pool_push(s->requests, r); /* suspended first: a thread may take it at once */
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
}

int svc_analyses_start(svc *s)
{
    const cfg_settings *c = s->cfg;
    pthread_mutex_init(&s->mu, NULL);
    s->requests = pl_pool_start(c->max_concurrent, (size_t)(c->max_queue + c->max_concurrent),
                                analysis_run, s);
    return s->requests ? 0 : -1;
}

void svc_analyses_stop(svc *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pl_pool_close(s->requests); /* the threads finish what is queued, then end */
    pthread_mutex_unlock(&s->mu);
    pl_pool_stop(s->requests);
    s->requests = NULL;
    pthread_mutex_destroy(&s->mu);
}
