/*
 * svc_live.h - the calls in progress (svc_live.c): GET /api/live/calls and GET /api/live/events,
 * from the live room's follower of `callqa live`'s event lines (lv_follow_*), its header read
 * through the pipeline's (pl_service.h).
 */
#ifndef CQ_SVC_LIVE_H
#define CQ_SVC_LIVE_H

#include "svc_http.h"

enum MHD_Result svc_live_calls(req *r, const char *data, size_t *size);
enum MHD_Result svc_live_events(req *r, const char *data, size_t *size);
/* Start following the live_events file (nothing to do without it; -1: out of memory or no
 * thread); stop (every stream ends: before waiting for the requests in flight); free (after the
 * HTTP server stopped). */
int svc_live_start(svc *s);
void svc_live_stop(svc *s);
void svc_live_free(svc *s);
/* The follower's metrics in the Prometheus text format (callqa_live_*), onto f; nothing without
 * a live_events file. */
void svc_live_metrics(svc *s, FILE *f);

#endif /* CQ_SVC_LIVE_H */
