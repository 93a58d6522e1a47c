/*
 * svc_log.h - the requests' log lines (one a request, svc_server.c) written to stderr in batches
 * by a thread of their own (svc_log.c), so that a request makes no write of its own. It calls
 * nothing of the service.
 */
#ifndef CQ_SVC_LOG_H
#define CQ_SVC_LOG_H

#include <stddef.h>

typedef struct svc_log svc_log;
/* The writer's thread: NULL when it cannot be had (svc_log_line then writes each line). */
svc_log *svc_log_start(void);
/* A line (len bytes, its newline included) after those handed over before it. Any thread. */
void svc_log_line(svc_log *l, const char *line, size_t len);
/* Write what is left, stop the thread and free it. NULL: nothing. */
void svc_log_stop(svc_log *l);

#endif /* CQ_SVC_LOG_H */
