/*
 * svc_auditq.h - the audit trail's queue (svc_auditq.c): requests hand their rows over as they
 * end; one thread writes them in group commits on a store connection of its own
 * (docs/privacy/access.md, "The audit trail"). It calls nothing of the service.
 */
#ifndef CQ_SVC_AUDITQ_H
#define CQ_SVC_AUDITQ_H

#include <stdio.h>

#include "../config/config.h"
#include "../store/store.h"
#include "../store/store_users.h"

typedef struct svc_auditq svc_auditq;
/* The queue (audit_queue_rows) and its writer on a connection of its own to db_path: NULL with
 * msg when the store cannot be opened or no thread started. */
svc_auditq *svc_auditq_start(const cfg_settings *c, char *msg, size_t msgsz);
/* Queue copies of n rows. A full queue is waited on for audit_queue_wait_sec; the rows it has no
 * room for then are dropped, counted (callqa_audit_rows_total{outcome="dropped"}) and logged.
 * Returns the rows dropped (0: all queued). Any thread. */
int svc_auditq_put(svc_auditq *q, const store_audit_row *rows, int n);
/* Wait until every row queued before this call is written (or dropped), at most timeout_sec:
 * 0, or -1 at the timeout. */
int svc_auditq_sync(svc_auditq *q, double timeout_sec);
/* Write what is queued (a failing store is tried for 10 s; what is left is counted and logged),
 * stop the writer and free the queue. Call after the HTTP server stopped. NULL: nothing. */
void svc_auditq_stop(svc_auditq *q);
/* The queue's metrics (callqa_audit_*) in the Prometheus text format onto f. */
void svc_auditq_metrics(svc_auditq *q, FILE *f);

#endif /* CQ_SVC_AUDITQ_H */
