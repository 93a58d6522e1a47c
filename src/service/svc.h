/*
 * svc.h - the service (`callqa serve`), internal to the program: the HTTP layer only, and its
 * entry for the command line. The library (include/callqa) knows nothing of it; outside
 * src/service/ only src/cli/serve_cmd.c and src/cli/service_main.c include a service header
 * (tests/arch/check_includes.py).
 *
 * Its files call one way, from the server down to the text it writes; a file never calls a file
 * that calls it back (docs/ARCHITECTURE.md, section 8):
 *
 *   svc_server.c    the server: connections, framing, dispatch, the life cycle (svc_run, here)
 *   svc_routes.h    the route table, checked against docs/openapi.json
 *   handlers        svc_qa.h (the QA API), svc_audio.h, svc_events.h, svc_live.h, svc_ui.h,
 *                   svc_ai.h (/ai-analyze, /ask), svc_analyses.h (/analyze, /investigate)
 *   svc_access.h    who a request is, the route's role and scope, the audit trail
 *   svc_hub.h       the server-sent-event streams
 *   svc_http.h      the request and its answer, bodies
 *   svc_guard.h, svc_session.h, svc_hot.h, svc_auditq.h, svc_metrics.h, svc_text.h
 *                   what knows no request: the guard, the session cookie, the results of the
 *                   last second, the audit trail's queue, the metrics, text and clocks
 *
 * The work on a call (analysis, recordings, transcripts, scores, the store) is done in the rooms
 * below it, which the command line and the worker use without HTTP.
 */
#ifndef CQ_SVC_H
#define CQ_SVC_H

#include "../config/config.h"
#include "svc_routes.h"

/* Run until SIGTERM/SIGINT; in-flight requests finish. tick (optional) is called about once a
 * second on the main thread while the service runs (the command's sidecars). Returns a process
 * exit status. */
int svc_run(const cfg_settings *c, void (*tick)(void *arg), void *tick_arg);

#endif /* CQ_SVC_H */
