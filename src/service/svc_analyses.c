/*
 * svc_analyses.c - the service's long work: suspended requests wait in a bounded proc_queue
 * (src/proc/, the queue a batch's calls wait in) for one of `max_concurrent` analysis threads,
 * which fetches the recording, has it analysed (in the analysis host's children, svc_isolate.c,
 * under the program's one child host) and stores the result, then resumes the request with its
 * answer; for GET /ai-analyze, the answer is the report's assessment (svc_ai.c: the LLM is
 * called here, never on the HTTP threads). Identical GET /analyze (or /ai-analyze) requests in
 * flight share one analysis. A full queue answers 503. (A "job" is the QA worker's, a row of the
 * store's queue: these are requests.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../jobs/jobs.h"
#include "svc_ai.h"
#include "svc_analyses.h"
#include "svc_hot.h"
#include "svc_metrics.h"
#include "../store/store_calls.h"

#define UPLOAD_SERVER "upload"

/* The analysis of fetched files (or an upload) into the answer, and the store. */
static void analyze_into(req *r, const cq_call_src *src, const char *server, const char *file,
                         const char *identity, const char *validators, const char *source)
{
    svc *s = r->s;
    double t0 = svc_mono_sec();
    char *js = NULL, msg[600];
    int rc;
    svc_figures fig;
    if (s->iso) {
        svc_iso_outcome how =
            svc_isolate_analyze(s->iso, r->slot, src, &rc, &js, &fig, msg, sizeof(msg));
        if (how != SVC_ISO_DONE) {
            svc_metrics_analysis(NULL, svc_mono_sec() - t0, false);
            svc_metrics_stage("analyze", svc_mono_sec() - t0);
            if (how == SVC_ISO_DOWN) {
                svc_answer_error(r, 503, "analysis_unavailable", "%s", msg);
                return;
            }
            svc_metrics_analysis_killed(how == SVC_ISO_TIMEOUT);
            if (how == SVC_ISO_TIMEOUT)
                svc_answer_error(r, 504, "analysis_timeout", "%s: %s", file, msg);
            else
                svc_answer_error(r, 500, "analysis_crashed",
                                 "%s: %s on this recording; the service "
                                 "goes on",
                                 file, msg);
            return;
        }
    } else {
        rc = svc_analyze_here(s->engine, src, &js, &fig, msg, sizeof(msg));
    }
    svc_metrics_analysis(rc == CQ_OK ? &fig : NULL, svc_mono_sec() - t0, rc == CQ_OK);
    svc_metrics_stage("analyze", svc_mono_sec() - t0);
    if (rc != CQ_OK) {
        int st = rc == CQ_ERR_NOMEM || rc == CQ_ERR_INTERNAL ? 500
                 : rc == CQ_ERR_TOO_LARGE                    ? 413
                                                             : 422;
        svc_answer_error(r, st, st == 422 ? "bad_recording" : cq_status_name(rc), "%s", msg);
        free(js);
        return;
    }
    if (qa_redact_any(s->cfg)) { /* the one walk before it is stored or answered */
        json_t *o = json_loads(js, 0, NULL);
        char *m = json_is_object(o) && qa_redact_mask_report(o, qa_redact_types(s->cfg), NULL) == 0
                      ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10))
                      : NULL;
        json_decref(o);
        free(js);
        if (!(js = m)) {
            svc_answer_error(r, 500, "internal", "out of memory");
            return;
        }
    }
    store_result row = {0};
    snprintf(row.server, sizeof(row.server), "%s", server);
    snprintf(row.file, sizeof(row.file), "%s", file);
    snprintf(row.identity, sizeof(row.identity), "%s", identity);
    snprintf(row.engine, sizeof(row.engine), "%s", s->engine_version);
    snprintf(row.source, sizeof(row.source), "%s", source);
    snprintf(row.validators, sizeof(row.validators), "%s", validators);
    row.created = row.checked = svc_now_sec();
    row.report = js;
    double ts = svc_mono_sec();
    int64_t id = 0;
    int put = store_result_put(s->store, &row, &id);
    svc_hot_forget(s->hot, row.server, row.file); /* the next answer reads the new row */
    svc_metrics_stage("store", svc_mono_sec() - ts);
    if (put != 0)
        fprintf(stderr,
                "{\"level\":\"warn\",\"id\":\"%s\",\"msg\":\"the store refused a "
                "result\"}\n",
                r->id);
    if (r->ai) { /* GET /ai-analyze: the report's assessment is the answer */
        svc_ai_answer(r, js, put == 0 ? id : 0);
        free(js);
        return;
    }
    svc_answer(r, 200, js, "application/json");
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
    rec_fetched f;
    double tf = svc_mono_sec();
    rec_fetch_status st = rec_fetch(c, r->srv, r->file, &f, msg, sizeof(msg));
    svc_metrics_stage("fetch", svc_mono_sec() - tf);
    switch (st) {
    case REC_FETCH_OK: break;
    case REC_FETCH_NOT_FOUND: svc_answer_error(r, 404, "not_found", "%s", msg); return;
    case REC_FETCH_TOO_LARGE: svc_answer_error(r, 502, "recording_too_large", "%s", msg); return;
    case REC_FETCH_TIMEOUT: svc_answer_error(r, 504, "upstream_timeout", "%s", msg); return;
    case REC_FETCH_BAD_UPSTREAM: svc_answer_error(r, 502, "bad_upstream", "%s", msg); return;
    default: svc_answer_error(r, 500, "internal", "%s", msg); return;
    }
    char note[1600] = "";
    if (f.cand.rel[1][0])
        snprintf(note, sizeof(note), "%s: analysed the ViciDial legs %s and %s", r->file,
                 f.cand.rel[0], f.cand.rel[1]);
    else if (f.cand.mixed)
        snprintf(note, sizeof(note),
                 "%s: only the mixed recording %s was found (ViciDial "
                 "removes the ORIG legs after a day): one-way audio cannot be judged",
                 r->file, f.cand.rel[0]);
    else
        snprintf(note, sizeof(note), "%s: analysed %s", r->file, f.cand.rel[0]);
    /* the legs named as the caller named the recording: the server's name and the file on it,
     * never its URL (docs/report.md, `source`) */
    char name[2][sizeof(f.cand.rel[0]) + 80];
    for (int p = 0; p < 2; p++)
        snprintf(name[p], sizeof(name[p]), "%s:%s", r->srv->name, f.cand.rel[p]);
    cq_call_src src = {.name = r->file, .note = note};
    if (f.cand.rel[1][0]) {
        src.in_path = f.path[0], src.out_path = f.path[1];
        src.in_name = name[0], src.out_name = name[1];
    } else {
        src.path = f.path[0], src.source_name = name[0];
    }
    analyze_into(r, &src, r->srv->name, r->file, f.identity, f.validators, f.cand.what);
    rec_fetched_cleanup(&f);
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
        cq_call_src src = {.in_path = r->part_path[0],
                           .out_path = r->part_path[1],
                           .name = r->upload_name,
                           .in_name = "upload:in",
                           .out_name = "upload:out"};
        analyze_into(r, &src, UPLOAD_SERVER, r->upload_name, hex, "", "upload legs");
    } else {
        cq_call_src src = {.data = r->upload,
                           .size = r->upload_len,
                           .name = r->upload_name,
                           .source_name = "upload"};
        analyze_into(r, &src, UPLOAD_SERVER, r->upload_name, hex, "", "upload");
    }
}

static void *analysis_thread(void *arg)
{
    struct slot *me = arg;
    svc *s = me->s;
    req *r;
    while ((r = proc_queue_pop(s->requests, 1))) { /* NULL: stopping, and nothing left */
        r->slot = me->k;
        if (r->work == SVC_WORK_FETCH)
            run_fetch(r);
        else if (r->work == SVC_WORK_INVESTIGATE)
            svc_investigate_run(r);
        else if (r->work == SVC_WORK_ASK)
            svc_ask_run(r);
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
    return NULL;
}

enum MHD_Result svc_enqueue(req *r, svc_work kind)
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
    size_t waiting = proc_queue_len(s->requests);
    if (waiting >= cap || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        svc_answer_error(r, 503, "busy", "%zu analyses are running or waiting; try again shortly",
                         waiting);
        return svc_send(r);
    }
    r->work = kind;
    MHD_suspend_connection(r->conn);
    if (kind == SVC_WORK_FETCH) {
        r->next = s->pending;
        s->pending = r;
    }
    proc_queue_push(s->requests, r); /* suspended first: a thread may take it at once */
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
}

int svc_analyses_start(svc *s)
{
    const cfg_settings *c = s->cfg;
    pthread_mutex_init(&s->mu, NULL);
    s->requests = proc_queue_create((size_t)(c->max_queue + c->max_concurrent));
    s->workers = calloc((size_t)c->max_concurrent, sizeof(pthread_t));
    s->slots = calloc((size_t)c->max_concurrent, sizeof(*s->slots));
    if (!s->requests || !s->workers || !s->slots)
        return -1;
    for (int i = 0; i < c->max_concurrent; i++) {
        s->slots[i] = (struct slot){s, i};
        if (pthread_create(&s->workers[s->nworkers], NULL, analysis_thread, &s->slots[i]) == 0)
            s->nworkers++;
    }
    return s->nworkers ? 0 : -1;
}

void svc_analyses_stop(svc *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    if (s->requests)
        proc_queue_close(s->requests); /* the threads finish what is queued, then end */
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    proc_queue_destroy(s->requests);
    free(s->workers);
    free(s->slots);
    pthread_mutex_destroy(&s->mu);
}
