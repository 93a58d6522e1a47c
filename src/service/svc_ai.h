/*
 * svc_ai.h - the routes that ask an LLM: GET /ai-analyze (svc_ai.c: the assessment of a report,
 * by the LLM or by rules, stored) and POST /ask (svc_ask.c), with the service's one way to make
 * an LLM request (svc_llm_text).
 */
#ifndef CQ_SVC_AI_H
#define CQ_SVC_AI_H

#include "svc_http.h"
#include "../store/store_calls.h"

/* The LLM client from the settings (none: the assessment by rules) and the stored
 * assessments' engine string. 0, or -1 with msg (bad LLM settings: the service does not
 * start). */
int svc_ai_start(svc *s, char *msg, size_t msgsz);
void svc_ai_stop(svc *s);
/* The stored assessment of that report (row report_id), answered on r: 1, or 0 when there is
 * none (or it is of another report). Quick: any thread. */
int svc_ai_serve_stored(req *r, int64_t report_id);
/* The assessment of the report (row report_id; 0: not stored) made now, stored, and answered
 * on r. The LLM is called here: a worker only. */
void svc_ai_answer(req *r, const char *report, int64_t report_id);
/* One LLM request of the service (svc_ai.c): today's budget, the call recorded in the store under
 * `purpose`, the answer's text trimmed. 0 with *text and *model (malloc'd) and the provider's
 * name in provider (NULL: not wanted), or -1 with why. On an analysis thread only. */
int svc_llm_text(req *r, const char *purpose, const char *system, const char *user, char **text,
                 char **model, char *provider, size_t provsz, char *why, size_t whysz);
/* A one-turn request's body as the LLM client (client) sends it, in bytes (sc_fit's measure:
 * llm_request_size), for a prompt held within the model's context. */
size_t svc_llm_measure(void *client, const char *system, const char *text, const char *schema);
/* POST /ask (svc_ask.c): its sources opened from the settings when an LLM is configured (0, or -1
 * with msg: a source's check failed, the service does not start), the route, and its work on an
 * analysis thread. */
int svc_ask_start(svc *s, char *msg, size_t msgsz);
void svc_ask_stop(svc *s);
enum MHD_Result svc_ask_route_start(req *r);
enum MHD_Result svc_ask_route(req *r, const char *data, size_t *size);
void svc_ask_run(req *r);
/* A stored row that is an assessment or an investigation (svc_investigate.c), not a report
 * (GET /calls leaves it out). */
bool svc_ai_is_row(const store_result *row);

#endif /* CQ_SVC_AI_H */
