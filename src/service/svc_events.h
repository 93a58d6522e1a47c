/*
 * svc_events.h - GET /api/qa/events (svc_events.c): the store's job events as server-sent
 * events, on a hub of their own.
 */
#ifndef CQ_SVC_EVENTS_H
#define CQ_SVC_EVENTS_H

#include "svc_http.h"

enum MHD_Result svc_qa_events(req *r, const char *data, size_t *size);
/* Start the hub (after the store is open); stop it (every stream ends: call before waiting for
 * the requests in flight); free it (after the HTTP server stopped). */
int svc_events_start(svc *s);
void svc_events_stop(svc *s);
void svc_events_free(svc *s);
int svc_events_clients(svc *s); /* streams open */

#endif /* CQ_SVC_EVENTS_H */
