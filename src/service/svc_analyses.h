/*
 * svc_analyses.h - the analysis path of the service: the suspended requests queued for the
 * analysis threads (svc_analyses.c), the analysis host that runs each analysis in a child
 * process (svc_isolate.c), and POST /investigate, worked out there (svc_investigate.c).
 */
#ifndef CQ_SVC_ANALYSES_H
#define CQ_SVC_ANALYSES_H

#include "../proc/proc.h"
#include "svc_http.h"
#include "svc_metrics.h"

/* ---- isolated analyses (svc_isolate.c) ---------------------------------------------------- */

/* Analyse src in this process: the engine's status; CQ_OK gives *json (malloc'd) and fig,
 * anything else a reason in msg. The isolated children run the same function. */
int svc_analyze_here(const cq_engine *e, const cq_call_src *src, char **json, svc_figures *fig,
                     char *msg, size_t msgsz);

typedef enum svc_iso_outcome {
    SVC_ISO_DONE = 0, /* the analysis ran: see rc */
    SVC_ISO_CRASHED,  /* its process died (a signal, or a broken answer) */
    SVC_ISO_TIMEOUT,  /* it ran past analysis_timeout_sec and was killed */
    SVC_ISO_DOWN      /* no analysis host to ask (it died, or the slot broke) */
} svc_iso_outcome;

/* Fork the analysis host with `slots` slots (one per worker thread). Call it before the
 * process starts any thread. NULL with msg on failure. */
typedef struct svc_isolate svc_isolate;
/* An investigation's request (svc_investigate.c) worked out here: CQ_OK with *json (malloc'd),
 * the answer before the LLM's part; CQ_ERR_FORMAT when its capture or SIP text cannot be read,
 * with msg. */
int svc_investigate_here(const cq_engine *e, const void *request, size_t len, char **json,
                         char *msg, size_t msgsz);
svc_isolate *svc_isolate_start(const cq_engine *e, int slots, double timeout_sec, size_t max_data,
                               char *msg, size_t msgsz);
/* Analyse src in a child of the host; only the worker owning `slot` calls this with it.
 * DONE: *rc is the engine's status; CQ_OK gives *json (malloc'd) and fig; else msg says. */
svc_iso_outcome svc_isolate_analyze(svc_isolate *h, int slot, const cq_call_src *src, int *rc,
                                    char **json, svc_figures *fig, char *msg, size_t msgsz);
/* The same for an investigation (svc_investigate.c): request its JSON; DONE: *rc CQ_OK gives
 * *json, the answer before the LLM's part; else msg says. */
svc_iso_outcome svc_isolate_investigate(svc_isolate *h, int slot, const char *request, int *rc,
                                        char **json, char *msg, size_t msgsz);
bool svc_isolate_up(const svc_isolate *h);
/* Close every slot and wait for the host to finish its analyses and exit. */
void svc_isolate_stop(svc_isolate *h);

/* ---- POST /investigate (svc_investigate.c) ------------------------------------------------ */

/* POST /investigate (svc_investigate.c): the route's start and body, and its work on an analysis
 * thread. */
enum MHD_Result svc_investigate_start(req *r);
enum MHD_Result svc_investigate(req *r, const char *data, size_t *size);
void svc_investigate_run(req *r);

/* ---- the queue of analyses (svc_analyses.c) ------------------------------------------------ */

/* Queue r for an analysis thread (the connection is suspended), or answer 503. A GET /analyze
 * for a call that is already being fetched and analysed waits for that analysis instead. */
enum MHD_Result svc_enqueue(req *r, svc_work kind);
/* Start, stop the analysis threads (max_concurrent). */
int svc_analyses_start(svc *s);
void svc_analyses_stop(svc *s);

#endif /* CQ_SVC_ANALYSES_H */
