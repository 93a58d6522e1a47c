/*
 * svc_hub.h - the one hub of the service's server-sent-event streams (svc_hub.c), for each
 * stream route (GET /api/qa/events, GET /api/live/events): the streams, what each has not been
 * sent yet, their heartbeats, their end. A producer publishes its events in the order of their
 * ids, under its own lock (taken before the hub's).
 */
#ifndef CQ_SVC_HUB_H
#define CQ_SVC_HUB_H

#include "svc_http.h"

typedef struct svc_hub svc_hub;
typedef struct svc_hub_sub svc_hub_sub;
/* A hub whose events are named `event` ("job", "live"): a stream more than max_buffer bytes
 * behind is ended, a comment line goes to one silent for heartbeat_sec, at most max_clients
 * streams. NULL: out of memory. */
svc_hub *svc_hub_create(const char *event, size_t max_buffer, double heartbeat_sec,
                        int max_clients);
/* Every stream ends (before waiting for the requests in flight); new ones are refused. */
void svc_hub_stop(svc_hub *h);
/* After the HTTP server stopped. NULL: no-op. */
void svc_hub_free(svc_hub *h);
/* The event id a request resumes after: its Last-Event-ID, else ?after; -1: none. 0, or -1 with
 * the answer set (400). */
int svc_hub_after(req *r, int64_t *after);
/* A stream for r of the events of `key` ("" or NULL: every event) after the id `after`: NULL
 * with r's answer set (503 stopping or busy, 500). The producer may then give it what it holds
 * after `after` (svc_hub_send) before its next publish, and answers r with it (svc_hub_answer). */
svc_hub_sub *svc_hub_join(svc_hub *h, req *r, const char *key, int64_t after);
enum MHD_Result svc_hub_answer(svc_hub_sub *u, req *r);
/* An event (its data: one line of JSON) to one stream, or to every stream, when it has not had
 * it and takes its key. */
void svc_hub_send(svc_hub_sub *u, int64_t id, const char *key, const char *data);
void svc_hub_publish(svc_hub *h, int64_t id, const char *key, const char *data);
/* The oldest id a stream waits after, or `last` when none waits further back. */
int64_t svc_hub_oldest(svc_hub *h, int64_t last);
/* Resume the streams that have bytes (svc_hub_tick: first a heartbeat to the silent ones). */
void svc_hub_wake(svc_hub *h);
void svc_hub_tick(svc_hub *h);
/* Whether a stream is more than half its bound behind (a producer's burst may wait). */
bool svc_hub_behind(svc_hub *h);
int svc_hub_clients(svc_hub *h); /* streams open */

#endif /* CQ_SVC_HUB_H */
