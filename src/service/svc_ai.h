/*
 * svc_ai.h - the routes whose work asks an LLM: GET /ai-analyze (svc_ai.c: the assessment of a
 * report, by the LLM or by rules, made and stored by the pipeline, pl_assess) and POST /ask
 * (svc_ask.c), with the LLM client they share (svc_ai_start) and what the pipeline's work of a
 * request needs of the service (svc_ai_of).
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
/* The assessment of the report (row report_id; 0: not stored) made now and stored by the
 * pipeline (pl_assess), and answered on r. The LLM is called there: a worker only. */
void svc_ai_answer(req *r, const char *report, int64_t report_id);
/* What the pipeline's LLM work of r needs: the settings, the store, the LLM client, the stored
 * rows' engine, r's id. */
pl_ai svc_ai_of(const req *r);
/* POST /ask (svc_ask.c): its sources opened from the settings when an LLM is configured (0, or -1
 * with msg: a source's check failed, the service does not start), the route, and its work on an
 * analysis thread. */
int svc_ask_start(svc *s, char *msg, size_t msgsz);
void svc_ask_stop(svc *s);
enum MHD_Result svc_ask_route_start(req *r);
enum MHD_Result svc_ask_route(req *r, const char *data, size_t *size);
void svc_ask_run(req *r);
/* A stored row that is an assessment or an investigation (pl_assess_is_row), not a report
 * (GET /calls leaves it out). */
bool svc_ai_is_row(const store_result *row);

#endif /* CQ_SVC_AI_H */
