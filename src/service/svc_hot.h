/*
 * svc_hot.h - GET /analyze's stored rows kept in memory for 1 s after they were read (svc_hot.c),
 * so that a result asked again is served without the store; what this process changes in the
 * store is forgotten at once. Any thread; NULL (none made) serves nothing.
 */
#ifndef CQ_SVC_HOT_H
#define CQ_SVC_HOT_H

#include <stdint.h>

#include "../store/store.h"
#include "../store/store_calls.h"

typedef struct svc_hot svc_hot;
/* A kept report, shared by the answers that send it: the last to let go frees it. */
typedef struct svc_hot_body svc_hot_body;
svc_hot *svc_hot_create(void);
void svc_hot_destroy(svc_hot *h);
/* The row of (server, file, engine) read within the last second: 1 with *out, whose report is
 * the kept one's, *body (not to be freed: svc_hot_release(*body) when done with it), or 0. */
int svc_hot_get(svc_hot *h, const char *server, const char *file, const char *engine,
                store_result *out, svc_hot_body **body);
/* The report's length, without its NUL. */
size_t svc_hot_len(const svc_hot_body *b);
/* Let go of a kept report (a void * for libmicrohttpd's free callback). */
void svc_hot_release(void *body);
/* The generation to give svc_hot_put: take it before reading the store. */
uint64_t svc_hot_gen(svc_hot *h);
/* Keep a copy of a row read from the store at `loaded` (monotonic s), unless a forget came
 * since gen was taken or its report is over 256 KiB. */
void svc_hot_put(svc_hot *h, const store_result *row, double loaded, uint64_t gen);
/* Forget the rows of (server, file) (file NULL: of the server; server NULL: all): the store
 * changed here. */
void svc_hot_forget(svc_hot *h, const char *server, const char *file);
/* Free the rows past their second (the main loop, once a second). */
void svc_hot_tick(svc_hot *h);

#endif /* CQ_SVC_HOT_H */
