/*
 * svc_metrics.h - the service's Prometheus counters and histograms (svc_metrics.c): every part
 * of the service records into them (a few additions under one mutex) and GET /metrics writes
 * them in the text exposition format. It calls nothing of the service but its clocks.
 */
#ifndef CQ_SVC_METRICS_H
#define CQ_SVC_METRICS_H

#include <stdbool.h>
#include <stdio.h>

#include "../pipeline/pl_service.h"
#include "../store/store.h"

/* A route (by its name; "other" for requests of no route) with its series from the start:
 * requests{status 200} and the latency histogram at 0, so that a dashboard has a line and rate()
 * a first sample. The server declares every route of the table, then "other". */
void svc_metrics_route(const char *name);
void svc_metrics_request(const char *route, int status, double seconds);
/* What the pipeline keeps of a report (pl_metric_figures: the legs' MOS and speech). */
void svc_metrics_analysis(const pl_metric_figures *f, double seconds, bool ok);
/* An analysis process that crashed (timeout false) or was stopped at its time limit. */
void svc_metrics_analysis_killed(bool timeout);
void svc_metrics_cache(bool hit);
/* Time of one stage of an analysis request: "fetch", "analyze" or "store". */
void svc_metrics_stage(const char *stage, double seconds);
void svc_metrics_inflight(int delta);
/* A GET /ai-analyze answer: its engine ("rules" or the provider's name), served from the store
 * or made now, and whether an LLM failure (or a cap) sent it to the rules. */
void svc_metrics_ai(const char *engine, bool hit, bool fallback);
/* The service's series in the Prometheus text exposition format onto f, with the pipeline's
 * figures from the store (queue, workers and the store's counters: every worker's work) when st
 * is not NULL. GET /metrics adds the live follower's and the audit queue's. */
void svc_metrics_write(FILE *f, store *st);
/* The routes' gauges (svc_metrics_routes.c): 0, or -1 when the store failed. */
int svc_metrics_routes(FILE *f, store *st);
/* A connection or login the guard refused, by reason (svc_guard.c). */
void svc_metrics_guard(const char *reason);

#endif /* CQ_SVC_METRICS_H */
