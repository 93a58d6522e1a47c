/*
 * svc_metrics.c - Prometheus counters and histograms of the service, rendered in the text
 * exposition format (GET /metrics). One mutex; every update is a few additions.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_metrics.h"
#include "svc_text.h"
#include "../store/store_jobs.h"
#include "callqa/cq_clock.h"

#define MAX_SERIES 256
#define MAX_ROUTES 64
#define N_STAGES 4 /* k_stages: fetch, analyze, store, investigate */

static const double k_time_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
#define N_TB (sizeof(k_time_buckets) / sizeof(k_time_buckets[0]))
static const double k_mos_buckets[] = {1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5};
#define N_MB (sizeof(k_mos_buckets) / sizeof(k_mos_buckets[0]))
static const double k_pct_buckets[] = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
#define N_PB (sizeof(k_pct_buckets) / sizeof(k_pct_buckets[0]))

typedef struct hist {
    uint64_t counts[24]; /* per bucket (not cumulative) + overflow */
    double sum;
    uint64_t n;
} hist;

static void hist_add(hist *h, const double *b, size_t nb, double v)
{
    size_t i = 0;
    while (i < nb && v > b[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->n++;
}

typedef struct series {
    char route[24];
    int status;
    uint64_t n;
} series;

typedef struct route_hist {
    char route[24];
    hist h;
} route_hist;

/* callqa_guard_total's reasons (svc_metrics_guard) */
static const char *const k_guard_reasons[] = {"header_timeout", "too_many_pending", "login_failed",
                                              "bad_request",    "too_many_idle",    "client_gone"};
#define N_GUARD (sizeof(k_guard_reasons) / sizeof(k_guard_reasons[0]))

static struct {
    pthread_mutex_t mu;
    series req[MAX_SERIES];
    int nreq;
    route_hist lat[MAX_ROUTES];
    int nlat;
    uint64_t analyses_ok, analyses_failed, cache_hit, cache_miss;
    uint64_t killed_crash, killed_timeout;
    int inflight;
    hist analysis, mos, speech;
    hist stage[N_STAGES]; /* k_stages */
    uint64_t ai[4][2];    /* GET /ai-analyze: by engine (k_ai_engines) and made/stored */
    uint64_t ai_fallback;
    uint64_t guard[N_GUARD]; /* k_guard_reasons */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

void svc_metrics_guard(const char *reason)
{
    pthread_mutex_lock(&g.mu);
    for (size_t i = 0; i < N_GUARD; i++)
        if (!strcmp(reason, k_guard_reasons[i]))
            g.guard[i]++;
    pthread_mutex_unlock(&g.mu);
}

void svc_metrics_route(const char *name)
{
    pthread_mutex_lock(&g.mu);
    int k = 0;
    while (k < g.nlat && strcmp(g.lat[k].route, name))
        k++;
    if (k == g.nlat && g.nlat < MAX_ROUTES && g.nreq < MAX_SERIES) {
        snprintf(g.lat[g.nlat++].route, sizeof(g.lat[k].route), "%s", name);
        snprintf(g.req[g.nreq].route, sizeof(g.req[g.nreq].route), "%s", name);
        g.req[g.nreq++].status = 200;
    }
    pthread_mutex_unlock(&g.mu);
}

void svc_metrics_request(const char *route, int status, double seconds)
{
    pthread_mutex_lock(&g.mu);
    int i = 0;
    while (i < g.nreq && (strcmp(g.req[i].route, route) || g.req[i].status != status))
        i++;
    if (i == g.nreq && g.nreq < MAX_SERIES) {
        snprintf(g.req[i].route, sizeof(g.req[i].route), "%s", route);
        g.req[i].status = status;
        g.nreq++;
    }
    if (i < g.nreq)
        g.req[i].n++;
    int k = 0;
    while (k < g.nlat && strcmp(g.lat[k].route, route))
        k++;
    if (k == g.nlat && g.nlat < MAX_ROUTES)
        snprintf(g.lat[g.nlat++].route, sizeof(g.lat[k].route), "%s", route);
    if (k < g.nlat)
        hist_add(&g.lat[k].h, k_time_buckets, N_TB, seconds);
    pthread_mutex_unlock(&g.mu);
}

void svc_metrics_analysis(const pl_metric_figures *f, double seconds, bool ok)
{
    pthread_mutex_lock(&g.mu);
    if (ok)
        g.analyses_ok++;
    else
        g.analyses_failed++;
    hist_add(&g.analysis, k_time_buckets, N_TB, seconds);
    for (int l = 0; f && l < 2; l++) {
        if (!f->leg[l].present)
            continue;
        if (f->leg[l].has_mos)
            hist_add(&g.mos, k_mos_buckets, N_MB, f->leg[l].mos);
        if (f->leg[l].has_speech)
            hist_add(&g.speech, k_pct_buckets, N_PB, f->leg[l].speech_pct);
    }
    pthread_mutex_unlock(&g.mu);
}

void svc_metrics_analysis_killed(bool timeout)
{
    pthread_mutex_lock(&g.mu);
    if (timeout)
        g.killed_timeout++;
    else
        g.killed_crash++;
    pthread_mutex_unlock(&g.mu);
}

void svc_metrics_cache(bool hit)
{
    pthread_mutex_lock(&g.mu);
    if (hit)
        g.cache_hit++;
    else
        g.cache_miss++;
    pthread_mutex_unlock(&g.mu);
}

static const char *const k_ai_engines[4] = {"rules", "anthropic", "openai", "gemini"};

void svc_metrics_ai(const char *engine, bool hit, bool fallback)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(engine, k_ai_engines[i])) {
            pthread_mutex_lock(&g.mu);
            g.ai[i][hit]++;
            g.ai_fallback += fallback;
            pthread_mutex_unlock(&g.mu);
        }
}

static const char *const k_stages[N_STAGES] = {"fetch", "analyze", "store", "investigate"};

void svc_metrics_stage(const char *stage, double seconds)
{
    for (int i = 0; i < N_STAGES; i++)
        if (!strcmp(stage, k_stages[i])) {
            pthread_mutex_lock(&g.mu);
            hist_add(&g.stage[i], k_time_buckets, N_TB, seconds);
            pthread_mutex_unlock(&g.mu);
        }
}

void svc_metrics_inflight(int delta)
{
    pthread_mutex_lock(&g.mu);
    g.inflight += delta;
    pthread_mutex_unlock(&g.mu);
}

static void put_hist(FILE *f, const char *name, const char *labels, const hist *h, const double *b,
                     size_t nb)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < nb; i++) {
        cum += h->counts[i];
        fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, *labels ? "," : "", b[i],
                (unsigned long long)cum);
    }
    cum += h->counts[nb];
    fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, *labels ? "," : "",
            (unsigned long long)cum);
    fprintf(f, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", h->sum);
    fprintf(f, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
            (unsigned long long)h->n);
}

/* ---- the pipeline, from the store: every worker process's work, not only this one's ------- */

typedef struct family {
    const char *name, *type, *help;
} family;

static const family k_families[] = {
    {"qa_jobs_finished_total", "counter", "Jobs that reached an end, by state."},
    {"qa_errors_total", "counter", "Jobs ended in error, by stage and reason."},
    {"qa_retries_total", "counter", "Failures retried after a backoff, by stage and reason."},
    {"qa_skipped_total", "counter", "Jobs skipped, by reason."},
    {"qa_queue_to_complete_seconds", "histogram", "Time from queued to complete."},
    {"qa_worker_pauses_total", "counter", "Times a worker paused, by reason (load, window)."},
    {"qa_llm_requests_total", "counter",
     "LLM requests (each attempt), by purpose, provider and "
     "outcome."},
    {"qa_llm_tokens_total", "counter", "LLM tokens, by provider and direction."},
    {"qa_llm_cost_usd_total", "counter", "LLM cost in USD (from the configured prices)."},
    {"qa_llm_latency_seconds", "summary", "LLM request latency, by provider."},
    {"qa_ask_requests_total", "counter", "POST /ask requests answered, by status."},
    {"qa_ask_queries_refused_total", "counter", "POST /ask queries refused by a layer."},
};

typedef struct counter_out {
    FILE *f;
    const char *family; /* the last family given its HELP and TYPE */
} counter_out;

static int put_counter(void *user, const char *name, const char *labels, double v)
{
    counter_out *o = user;
    const family *fam = NULL;
    for (size_t i = 0; i < sizeof(k_families) / sizeof(k_families[0]) && !fam; i++)
        if (!strncmp(name, k_families[i].name, strlen(k_families[i].name)))
            fam = &k_families[i];
    if (!fam)
        return 0; /* a counter of a newer callqa: not described here */
    if (o->family != fam->name) {
        fprintf(o->f, "# HELP callqa_%s %s\n# TYPE callqa_%s %s\n", fam->name, fam->help, fam->name,
                fam->type);
        o->family = fam->name;
    }
    fprintf(o->f, "callqa_%s%s%s%s %.17g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
            v);
    return 0;
}

static int qa_section(FILE *f, store *st)
{
    int64_t counts[JOB_N_STATES];
    if (store_job_counts(st, counts, 0, NULL) != 0)
        return -1;
    fprintf(f, "# HELP callqa_qa_jobs Jobs in the queue by state.\n# TYPE callqa_qa_jobs gauge\n");
    for (int i = 0; i < JOB_N_STATES; i++)
        fprintf(f, "callqa_qa_jobs{state=\"%s\"} %lld\n", job_state_name((job_state)i),
                (long long)counts[i]);
    store_worker *w = NULL;
    int n = 0;
    if (store_worker_list(st, &w, &n) != 0)
        return -1;
    static const char *const states[] = {"running", "paused", "stopped", "gone"};
    int by_state[4] = {0}, load = 0, window = 0;
    double now = cq_clock_wall_sec();
    for (int i = 0; i < n; i++) {
        const char *ws = store_worker_status(&w[i], now);
        for (int k = 0; k < 4; k++)
            by_state[k] += !strcmp(ws, states[k]);
        if (!strcmp(ws, "paused")) {
            char why[32];
            store_reason_class(w[i].pause_reason, why);
            load += !strcmp(why, "load");
            window += !strcmp(why, "window");
        }
    }
    free(w);
    fprintf(f,
            "# HELP callqa_qa_workers Workers by state (gone: no heartbeat for %d s).\n"
            "# TYPE callqa_qa_workers gauge\n",
            STORE_WORKER_GONE_SEC);
    for (int k = 0; k < 4; k++)
        fprintf(f, "callqa_qa_workers{state=\"%s\"} %d\n", states[k], by_state[k]);
    fprintf(f,
            "# HELP callqa_qa_workers_paused Workers paused now, by reason.\n"
            "# TYPE callqa_qa_workers_paused gauge\n"
            "callqa_qa_workers_paused{reason=\"load\"} %d\n"
            "callqa_qa_workers_paused{reason=\"window\"} %d\n",
            load, window);
    counter_out o = {f, NULL};
    if (store_counters(st, put_counter, &o) != 0)
        return -1;
    return svc_metrics_routes(f, st);
}

void svc_metrics_write(FILE *f, store *st)
{
    pthread_mutex_lock(&g.mu);
    fprintf(f, "# HELP callqa_http_requests_total HTTP requests by route and status.\n"
               "# TYPE callqa_http_requests_total counter\n");
    for (int i = 0; i < g.nreq; i++)
        fprintf(f, "callqa_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", g.req[i].route,
                g.req[i].status, (unsigned long long)g.req[i].n);
    fprintf(f, "# HELP callqa_http_request_seconds HTTP request latency by route.\n"
               "# TYPE callqa_http_request_seconds histogram\n");
    for (int k = 0; k < g.nlat; k++) {
        char lab[48];
        snprintf(lab, sizeof(lab), "route=\"%s\"", g.lat[k].route);
        put_hist(f, "callqa_http_request_seconds", lab, &g.lat[k].h, k_time_buckets, N_TB);
    }
    fprintf(f,
            "# HELP callqa_analyses_total Analyses run, by result.\n"
            "# TYPE callqa_analyses_total counter\n"
            "callqa_analyses_total{result=\"ok\"} %llu\n"
            "callqa_analyses_total{result=\"failed\"} %llu\n",
            (unsigned long long)g.analyses_ok, (unsigned long long)g.analyses_failed);
    fprintf(f,
            "# HELP callqa_analysis_processes_lost_total Analysis processes that crashed or "
            "were stopped at the time limit.\n"
            "# TYPE callqa_analysis_processes_lost_total counter\n"
            "callqa_analysis_processes_lost_total{reason=\"crash\"} %llu\n"
            "callqa_analysis_processes_lost_total{reason=\"timeout\"} %llu\n",
            (unsigned long long)g.killed_crash, (unsigned long long)g.killed_timeout);
    fprintf(f,
            "# HELP callqa_cache_requests_total Cached results asked for, by outcome.\n"
            "# TYPE callqa_cache_requests_total counter\n"
            "callqa_cache_requests_total{outcome=\"hit\"} %llu\n"
            "callqa_cache_requests_total{outcome=\"miss\"} %llu\n",
            (unsigned long long)g.cache_hit, (unsigned long long)g.cache_miss);
    fprintf(f, "# HELP callqa_ai_assessments_total GET /ai-analyze answers, by engine and "
               "whether the stored assessment was served.\n"
               "# TYPE callqa_ai_assessments_total counter\n");
    for (int i = 0; i < 4; i++)
        for (int h = 0; h < 2; h++)
            fprintf(f, "callqa_ai_assessments_total{engine=\"%s\",cache=\"%s\"} %llu\n",
                    k_ai_engines[i], h ? "hit" : "miss", (unsigned long long)g.ai[i][h]);
    fprintf(f,
            "# HELP callqa_ai_llm_fallbacks_total GET /ai-analyze assessments by rules because "
            "the LLM failed or a daily cap was reached.\n"
            "# TYPE callqa_ai_llm_fallbacks_total counter\n"
            "callqa_ai_llm_fallbacks_total %llu\n",
            (unsigned long long)g.ai_fallback);
    fprintf(f, "# HELP callqa_guard_total Connections cut before their headers were in (the "
               "header deadline, a client's cap of pending connections or of idle kept-alive "
               "ones), failed logins, requests refused for their framing, and requests ended "
               "whose client had gone mid-way.\n"
               "# TYPE callqa_guard_total counter\n");
    for (size_t i = 0; i < N_GUARD; i++)
        fprintf(f, "callqa_guard_total{reason=\"%s\"} %llu\n", k_guard_reasons[i],
                (unsigned long long)g.guard[i]);
    fprintf(f,
            "# HELP callqa_inflight_requests Requests being served now.\n"
            "# TYPE callqa_inflight_requests gauge\n"
            "callqa_inflight_requests %d\n",
            g.inflight);
    fprintf(f, "# HELP callqa_analysis_seconds Time of one analysis (fetch, decode, analyse, "
               "store).\n# TYPE callqa_analysis_seconds histogram\n");
    put_hist(f, "callqa_analysis_seconds", "", &g.analysis, k_time_buckets, N_TB);
    fprintf(f, "# HELP callqa_stage_seconds Time of each stage of an analysis request.\n"
               "# TYPE callqa_stage_seconds histogram\n");
    for (int i = 0; i < N_STAGES; i++) {
        char lab[32];
        snprintf(lab, sizeof(lab), "stage=\"%s\"", k_stages[i]);
        put_hist(f, "callqa_stage_seconds", lab, &g.stage[i], k_time_buckets, N_TB);
    }
    fprintf(f, "# HELP callqa_leg_mos NISQA MOS of analysed legs.\n"
               "# TYPE callqa_leg_mos histogram\n");
    put_hist(f, "callqa_leg_mos", "", &g.mos, k_mos_buckets, N_MB);
    fprintf(f, "# HELP callqa_leg_speech_pct Speech (VAD) percentage of analysed legs.\n"
               "# TYPE callqa_leg_speech_pct histogram\n");
    put_hist(f, "callqa_leg_speech_pct", "", &g.speech, k_pct_buckets, N_PB);
    pthread_mutex_unlock(&g.mu);
    int qa = st ? qa_section(f, st) : 0;
    fprintf(f,
            "# HELP callqa_store_up Whether the store answered this scrape.\n"
            "# TYPE callqa_store_up gauge\ncallqa_store_up %d\n",
            qa == 0);
}
