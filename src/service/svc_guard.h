/*
 * svc_guard.h - what one client may hold of the service before it has said what it wants
 * (svc_guard.c): connections still sending headers, failed logins, and the answers
 * libmicrohttpd would make itself. Every answer of the service is queued through
 * svc_guard_queue.
 */
#ifndef CQ_SVC_GUARD_H
#define CQ_SVC_GUARD_H

#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../config/config.h"

typedef struct svc_guard svc_guard;
/* NULL: out of memory, or libmicrohttpd's own answers cannot be taken over (the program is
 * linked so that its MHD_queue_response is not the one the library calls). */
svc_guard *svc_guard_create(const cfg_settings *c, atomic_uint_fast64_t *next_id);
void svc_guard_destroy(svc_guard *g);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the guard) */
void svc_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);
/* A request's headers are in: false when the guard has cut the connection already. */
bool svc_guard_headers(svc_guard *g, struct MHD_Connection *conn);
/* The request's headers are in and its body is still coming (coming), or its body is whole
 * (!coming): while it comes, a client that has gone is found by the tick. */
void svc_guard_body(svc_guard *g, struct MHD_Connection *conn, bool coming);
/* A request ended: the connection, kept alive, waits for the next one's headers. */
void svc_guard_request_done(svc_guard *g, struct MHD_Connection *conn);
/* Once a second: the header deadline; the clients gone; the refused connections' lingering. */
void svc_guard_tick(svc_guard *g);
/* libmicrohttpd's MHD_queue_response: every answer of the service is queued through here (the
 * name MHD_queue_response is the guard's: it answers the library's own refusals). */
enum MHD_Result svc_guard_queue(struct MHD_Connection *conn, unsigned int status,
                                struct MHD_Response *resp);
/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER: its messages as JSON lines on stderr. */
void svc_guard_mhd_log(void *cls, const char *fmt, va_list ap);
/* Seconds before a login from this client (or to this account; NULL: the client only) may be
 * tried again; 0 now. */
double svc_guard_login_wait(svc_guard *g, struct MHD_Connection *conn, const char *account);
void svc_guard_login_failed(svc_guard *g, struct MHD_Connection *conn, const char *account);
/* The client's address: the peer, or, when the peer is a trusted proxy (nginx in front: every
 * client would be 127.0.0.1), the last address its X-Forwarded-For adds. */
void svc_guard_client(const cfg_settings *c, struct MHD_Connection *conn, char *out, size_t n);

#endif /* CQ_SVC_GUARD_H */
