/*
 * svc_analyses.h - the analysis path of the service: the suspended requests queued for the
 * pipeline's threads (svc_analyses.c), each call analysed in a child of the pipeline's analysis
 * host (pl_analyse, src/pipeline/), and POST /investigate, worked out there (svc_investigate.c).
 */
#ifndef CQ_SVC_ANALYSES_H
#define CQ_SVC_ANALYSES_H

#include "../pipeline/pl_service.h"
#include "svc_http.h"
#include "svc_metrics.h"

/* ---- POST /investigate (svc_investigate.c) ------------------------------------------------ */

/* POST /investigate (svc_investigate.c): the route's start and body, and its work on an analysis
 * thread. */
enum MHD_Result svc_investigate_start(req *r);
enum MHD_Result svc_investigate(req *r, const char *data, size_t *size);
void svc_investigate_run(req *r);

/* ---- the queue of analyses (svc_analyses.c) ------------------------------------------------ */

/* Queue r for an analysis thread (the connection is suspended), or answer 503; there it runs
 * `run`, or, NULL, the queue's own work of its kind (a fetched call's analysis, an upload's). A
 * GET /analyze for a call that is already being fetched and analysed waits for that analysis
 * instead. */
enum MHD_Result svc_enqueue(req *r, svc_work kind, void (*run)(req *r));
/* Start, stop the analysis threads (max_concurrent). */
int svc_analyses_start(svc *s);
void svc_analyses_stop(svc *s);

#endif /* CQ_SVC_ANALYSES_H */
