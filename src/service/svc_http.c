/*
 * svc_http.c - the answer every route leaves on its request: a body and its type, or an error
 * {"error", "code"} whose message names no server path and no URL (the log has them whole); and
 * the one way a response is queued, with the headers every answer carries (X-Request-Id, the
 * Content-Security-Policy and the other security headers, a session's Set-Cookie), through the
 * guard (svc_guard.c), which owns libmicrohttpd's MHD_queue_response. Also the request's bearer
 * token, compared in constant time.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svc_guard.h"
#include "svc_http.h"
#include "callqa/cq_clock.h"

/* a shared body left on the request, given back */
static void drop_shared(req *r)
{
    if (r->shared)
        r->shared_release(r->shared_cls);
    r->shared = NULL;
}

void svc_answer(req *r, int status, char *body /* taken */, const char *ctype)
{
    free(r->body);
    drop_shared(r);
    r->status = status;
    r->body = body;
    r->ctype = ctype;
}

void svc_answer_shared(req *r, int status, const char *body, size_t len, void (*release)(void *cls),
                       void *cls, const char *ctype)
{
    svc_answer(r, status, NULL, ctype);
    r->shared = body;
    r->shared_len = len;
    r->shared_release = release;
    r->shared_cls = cls;
}

void svc_answer_error(req *r, int status, const char *code, const char *fmt, ...)
{
    char full[600], msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(full, sizeof(full), fmt, ap);
    va_end(ap);
    /* an answer names no server path and no upstream URL: the log has them */
    svc_redact(full, msg, sizeof(msg));
    if (strcmp(full, msg)) {
        char *j = svc_json_str(full);
        fprintf(stderr,
                "{\"ts\":%.3f,\"id\":\"%s\",\"level\":\"info\",\"msg\":\"an answer's "
                "paths and URLs left out\",\"full\":%s}\n",
                cq_clock_wall_sec(), r->id, j ? j : "null");
        free(j);
    }
    char *m = svc_json_str(msg), *body = NULL;
    if (!m || asprintf(&body, "{\"error\":%s,\"code\":\"%s\"}", m, code) < 0)
        body = NULL;
    free(m);
    svc_answer(r, status, body, "application/json");
}

enum MHD_Result svc_send(req *r)
{
    struct MHD_Response *resp;
    if (r->shared) { /* the response gives it back once sent */
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            r->shared_len, (void *)r->shared, r->shared_release, r->shared_cls);
        if (resp)
            r->shared = NULL;
    } else {
        const char *b = r->body ? r->body : "{\"error\":\"out of memory\",\"code\":\"internal\"}";
        if (!r->body)
            r->status = 500, r->ctype = "application/json";
        resp = MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", r->ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->status == 503 || r->status == 429)
        MHD_add_response_header(resp, "Retry-After", "5");
    if (r->cache)
        MHD_add_response_header(resp, "X-Cache", r->cache);
    if (r->close) /* after this answer, nothing more is read from the connection */
        MHD_add_response_header(resp, "Connection", "close");
    return svc_queue(r, (unsigned)r->status, resp);
}

/* The dashboard runs scripts and styles of its own origin only, loads nothing from elsewhere,
 * and is framed by nobody; the API's answers carry the same (a JSON answer opened in a browser
 * runs nothing either). */
static const char k_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; media-src 'self'; connect-src 'self'; "
                            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                            "form-action 'self'";

enum MHD_Result svc_queue(req *r, unsigned status, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Content-Security-Policy", k_csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (r->set_cookie[0])
        MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
    enum MHD_Result ret = svc_guard_queue(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Authorization: Bearer <token>, compared in constant time: 1 the token, -1 another, 0 none. */
int svc_bearer(const req *r)
{
    const cfg_settings *c = r->s->cfg;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    const char *t = h + 7;
    size_t a = strlen(t), b = strlen(c->token);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)(i < a ? t[i] : 0) ^ (unsigned char)c->token[i];
    return diff == 0 && b > 0 ? 1 : -1;
}
