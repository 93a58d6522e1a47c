/*
 * analyser.c - a request's call through its life, for a process with threads (the service):
 * the engine of the settings and, isolated, the analysis host (pl_host.c) forked before any
 * thread; then, on a thread of the pool with its slot, a request's call taken through the one
 * life of a call (pl__life_run, pl_life.c) with the steps of a stored call turned off: fetched or
 * taken (fetch.c), analysed in a child of the host (here), masked as every report is, stored as
 * a result row; an investigation worked out in a child and masked the same way. The QA worker
 * runs the same life on the store's calls in its own children (worker.c).
 *
 * What the caller answers (HTTP codes, the cache, the assessment) stays the caller's: this
 * returns how the call ended (pl_end) with a code and a message, and tells the observer each
 * stage's time as it goes.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/cfg_engine.h"
#include "pl_int.h"
#include "../store/store_calls.h"

struct pl_analyser {
    cq_engine *engine;
    pl__host *host; /* analyses in its children; NULL: in the caller's process */
    char id[32];    /* the engine's fingerprint */
    pl_observer obs;
};

void pl__engine_params(const cfg_settings *c, unsigned analyzers, cq_engine_params *ep, char *dir,
                       size_t n)
{
    *ep = cq_engine_default_params();
    if (analyzers)
        ep->analyzers = analyzers;
    cfg_engine_params(c, ep); /* the analysis settings, as the command line has them */
    if (!ep->model_dir && cq_model_dir_default(dir, n) == CQ_OK)
        ep->model_dir = dir;
    ep->max_duration_sec = c->max_duration_sec;
}

/* ---- the analyser ------------------------------------------------------------------------------
 */

pl_analyser *pl_analyser_start(const cfg_settings *c, int slots, const pl_observer *obs,
                               cq_err *err)
{
    pl_analyser *a = calloc(1, sizeof(*a));
    if (!a) {
        cq_err_set(err, CQ_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (obs)
        a->obs = *obs;
    cq_engine_params ep;
    char dir[4096];
    pl__engine_params(c, 0, &ep, dir, sizeof(dir));
    int e = 0;
    if (!(a->engine = cq_engine_create(&ep, &e))) {
        cq_err_set(err, e ? e : CQ_ERR_INTERNAL,
                   "cannot start the engine: %s (check the analysis settings)", cq_strerror(e));
        free(a);
        return NULL;
    }
    /* stored results are reused only by an engine of the same version and settings */
    if (cq_engine_fingerprint(a->engine, a->id, sizeof(a->id)) != CQ_OK) {
        cq_err_set(err, CQ_ERR_NOMEM, "out of memory");
        pl_analyser_stop(a);
        return NULL;
    }
    /* the analysis host is forked now, while this process has no thread */
    char msg[300];
    if (c->isolate && !(a->host = pl__host_start(a->engine, slots, c->analysis_timeout_sec,
                                                 c->max_body, msg, sizeof(msg)))) {
        cq_err_set(err, CQ_ERR_IO, "%s", msg);
        pl_analyser_stop(a);
        return NULL;
    }
    return a;
}

const char *pl_analyser_id(const pl_analyser *a)
{
    return a->id;
}

void pl_analyser_health(const pl_analyser *a, pl_health *h)
{
    h->vad = cq_engine_vad_status(a->engine);
    h->nisqa = cq_engine_nisqa_status(a->engine);
    h->dnsmos = cq_engine_dnsmos_status(a->engine);
    h->isolated = a->host != NULL;
    h->up = !a->host || pl__host_up(a->host);
}

void pl_analyser_stop(pl_analyser *a)
{
    if (!a)
        return;
    pl__host_stop(a->host);
    cq_engine_destroy(a->engine);
    free(a);
}

void pl_result_free(pl_result *r)
{
    free(r->report);
    json_decref(r->answer);
    r->report = NULL;
    r->answer = NULL;
}

/* ---- a request's call --------------------------------------------------------------------------
 */

void pl__analyser_stage(const pl_analyser *a, const char *name, double seconds)
{
    if (a->obs.stage)
        a->obs.stage(name, seconds);
}

/* The analysis host's endings as the request's, with the host's message; an analysis's crash or
 * timeout told to the observer (killed). */
static int host_end(pl_analyser *a, pl__host_outcome how, const char *msg, bool killed,
                    pl_result *out)
{
    if (killed && how != PL__HOST_DOWN && a->obs.killed)
        a->obs.killed(how == PL__HOST_TIMEOUT);
    out->end = how == PL__HOST_DOWN      ? PL_END_DOWN
               : how == PL__HOST_TIMEOUT ? PL_END_TIMEOUT
                                         : PL_END_CRASHED;
    cq_err_set(&out->err,
               how == PL__HOST_DOWN      ? CQ_ERR_BUSY
               : how == PL__HOST_TIMEOUT ? CQ_ERR_TIMEOUT
                                         : CQ_ERR_INTERNAL,
               "%s", msg);
    return -1;
}

int pl__analyser_analyse(pl_analyser *a, int slot, const cq_call_src *src, char **json,
                         pl_result *out)
{
    double t0 = cq_clock_mono_sec();
    char *js = NULL, msg[600];
    int rc;
    pl_metric_figures fig;
    *json = NULL;
    if (a->host) {
        pl__host_outcome how =
            pl__host_analyse(a->host, slot, src, &rc, &js, &fig, msg, sizeof(msg));
        if (how != PL__HOST_DONE) {
            if (a->obs.analysis)
                a->obs.analysis(NULL, cq_clock_mono_sec() - t0, false);
            pl__analyser_stage(a, "analyze", cq_clock_mono_sec() - t0);
            return host_end(a, how, msg, true, out);
        }
    } else {
        rc = pl__analyse_here(a->engine, src, &js, &fig, msg, sizeof(msg));
    }
    if (a->obs.analysis)
        a->obs.analysis(rc == CQ_OK ? &fig : NULL, cq_clock_mono_sec() - t0, rc == CQ_OK);
    pl__analyser_stage(a, "analyze", cq_clock_mono_sec() - t0);
    if (rc != CQ_OK) {
        out->end = PL_END_ANALYSIS;
        cq_err_set(&out->err, rc, "%s", msg);
        free(js);
        return -1;
    }
    *json = js;
    return 0;
}

/* A request is a call with the steps of a stored call's life turned off (pl_life.c): fetched,
 * analysed on the slot, masked, stored as a result row. */
int pl_analyse(pl_analyser *a, int slot, const cfg_settings *c, store *st, const pl_source *src,
               pl_result *out)
{
    pl__life l = {
        .steps = PL_STEP_MASK | PL_STEP_STORE, .c = c, .src = src, .an = a, .slot = slot, .st = st};
    pl__life_out o;
    int rc = pl__life_run(&l, &o);
    *out = o.res;
    o.res.report = NULL; /* the caller's now */
    pl__life_out_free(&o);
    return rc;
}

int pl_investigate(pl_analyser *a, int slot, const cfg_settings *c, const char *request,
                   pl_result *out)
{
    memset(out, 0, sizeof(*out));
    cq_err_clear(&out->err);
    char *js = NULL, msg[700] = "";
    int rc;
    double t0 = cq_clock_mono_sec();
    if (a->host) {
        pl__host_outcome how =
            pl__host_investigate(a->host, slot, request, &rc, &js, msg, sizeof(msg));
        if (how != PL__HOST_DONE) {
            pl__analyser_stage(a, "investigate", cq_clock_mono_sec() - t0);
            return host_end(a, how, msg, false, out);
        }
    } else {
        rc = pl__investigate_here(a->engine, request, strlen(request), &js, msg, sizeof(msg));
    }
    pl__analyser_stage(a, "investigate", cq_clock_mono_sec() - t0);
    out->bytes = js ? strlen(js) : 0;
    json_t *o = rc == CQ_OK ? json_loads(js, 0, NULL) : NULL;
    free(js);
    if (!json_is_object(o)) {
        json_decref(o);
        out->end = rc == CQ_OK ? PL_END_INTERNAL : PL_END_ANALYSIS;
        if (rc == CQ_OK)
            cq_err_set(&out->err, CQ_ERR_INTERNAL, "the investigation's answer was not JSON");
        else
            cq_err_set(&out->err, rc, "%s", msg);
        return -1;
    }
    /* with redaction on, the one walk before it is stored, answered or prompted: every string,
     * the recording's in-band digits (cross_checks.dtmf.in_band) and one-digit strings too */
    if (pl_mask_report(c, NULL, o, NULL) < 0) {
        json_decref(o);
        out->end = PL_END_INTERNAL;
        cq_err_set(&out->err, CQ_ERR_NOMEM, "out of memory");
        return -1;
    }
    out->answer = o;
    return 0;
}
