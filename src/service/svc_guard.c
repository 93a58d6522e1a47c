/*
 * svc_guard.c - what one client may hold of the service before it has said what it wants:
 * connections still sending their headers, and login attempts.
 *
 * DESIGN
 * libmicrohttpd tells us when a connection starts and ends (svc_guard_notify), before any of
 * its headers; each is kept here with its client's address and when it began (or when its last
 * request ended: a kept-alive connection waits for the next one). A connection is "pending"
 * until a request's headers are all in (svc_guard_headers, from on_request's first call).
 *   - Header deadline: a pending connection older than header_timeout_sec is answered 408 (on
 *     its first request; a kept-alive one is only closed) and shut down (the event-loop thread
 *     that owns it sees the socket end and closes it). Checked every second by the main loop.
 *   - Per-client cap: when a client has more than max_pending_per_client pending connections,
 *     its oldest is answered 503 with Retry-After and shut down. A new connection is never the
 *     one refused, so one client's half-sent requests cannot keep anyone else out, and its own
 *     next request (a health check from the same host) still gets through.
 * The answers are written to the socket by the guard itself: libmicrohttpd has not parsed a
 * request yet, and writes nothing on a pending connection. A connection is marked under the
 * guard's lock before it can answer anything (svc_guard_headers), and one the guard shut down
 * is refused there.
 *   - Logins: failed attempts per client address and per account are counted in a window
 *     (login_window_sec); past login_max_failures from one address, or
 *     login_max_failures_account to the account from all, 429 with Retry-After until the
 *     window has passed (svc_guard_login_*); behind a proxy named in trusted_proxies the
 *     client is the last address of its X-Forwarded-For. The bearer tokens of scripts count against
 * their address only (account NULL): an account's lock would let anyone stop every integration.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "svc.h"

typedef struct gconn {
    struct gconn *next, *prev;
    MHD_socket fd;
    char ip[64];
    double since; /* connected, or its last request ended (monotonic s) */
    bool pending; /* its current request's headers are not all in */
    bool served;  /* a request was answered on it already (kept alive) */
    bool cut;     /* the guard shut it down */
} gconn;

#define LOGIN_SLOTS 256
typedef struct login_slot {
    char key[80]; /* "ip:ADDR" or "acct:NAME" */
    double first; /* the window's start */
    int failures;
} login_slot;

struct svc_guard {
    pthread_mutex_t mu;
    gconn *head;
    int n;
    const cfg_settings *cfg;
    login_slot logins[LOGIN_SLOTS];
};

svc_guard *svc_guard_create(const cfg_settings *c)
{
    svc_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    pthread_mutex_init(&g->mu, NULL);
    g->cfg = c;
    return g;
}

void svc_guard_destroy(svc_guard *g)
{
    if (!g)
        return;
    for (gconn *c = g->head, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void addr_of(const struct sockaddr *sa, char *out, size_t n)
{
    out[0] = 0;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

/* Write a whole JSON answer to a connection nothing else writes to, then shut it down. */
static void cut(gconn *c, int status, const char *reason, const char *code, const char *msg)
{
    if (status) {
        char body[300], head[900];
        int bn = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"code\":\"%s\"}", msg, code);
        int hn = snprintf(head, sizeof(head),
                          "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                          "%sX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                          "Referrer-Policy: no-referrer\r\n"
                          "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
                          "\r\n",
                          status, reason, bn, status == 503 ? "Retry-After: 10\r\n" : "");
        /* a best effort: the socket is the client's, and it may be gone */
        if (send(c->fd, head, (size_t)hn, MSG_NOSIGNAL | MSG_DONTWAIT) == hn)
            (void)send(c->fd, body, (size_t)bn, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    shutdown(c->fd, SHUT_RDWR);
    c->cut = true;
    c->pending = false;
}

void svc_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
    svc_guard *g = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        gconn *c = *socket_context;
        if (!c)
            return;
        pthread_mutex_lock(&g->mu);
        if (c->prev)
            c->prev->next = c->next;
        else
            g->head = c->next;
        if (c->next)
            c->next->prev = c->prev;
        g->n--;
        pthread_mutex_unlock(&g->mu);
        free(c);
        *socket_context = NULL;
        return;
    }
    gconn *c = calloc(1, sizeof(*c));
    if (!c)
        return; /* not guarded: it still has the server's own limits */
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!fi) {
        free(c);
        return;
    }
    c->fd = fi->connect_fd;
    addr_of(ai ? ai->client_addr : NULL, c->ip, sizeof(c->ip));
    c->since = svc_mono_sec();
    c->pending = true;
    *socket_context = c;
    pthread_mutex_lock(&g->mu);
    c->next = g->head;
    if (g->head)
        g->head->prev = c;
    g->head = c;
    g->n++;
    /* past the client's cap of pending connections: its oldest goes (never this one) */
    int pend = 0;
    gconn *oldest = NULL;
    for (gconn *o = g->head; o; o = o->next)
        if (o->pending && !strcmp(o->ip, c->ip)) {
            pend++;
            if (o != c && (!oldest || o->since < oldest->since))
                oldest = o;
        }
    if (pend > g->cfg->max_pending_per_client && oldest) {
        cut(oldest, 503, "Service Unavailable", "too_many_pending",
            "too many connections from this client are still sending their headers");
        svc_metrics_guard("too_many_pending");
    }
    pthread_mutex_unlock(&g->mu);
}

bool svc_guard_headers(svc_guard *g, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *si =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    gconn *c = si ? si->socket_context : NULL;
    if (!c)
        return true;
    pthread_mutex_lock(&g->mu);
    bool ok = !c->cut;
    c->pending = false;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void svc_guard_request_done(svc_guard *g, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *si =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    gconn *c = si ? si->socket_context : NULL;
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    if (!c->cut) { /* kept alive: the next request's headers have the same deadline */
        c->pending = true;
        c->served = true;
        c->since = svc_mono_sec();
    }
    pthread_mutex_unlock(&g->mu);
}

void svc_guard_tick(svc_guard *g)
{
    const double now = svc_mono_sec(), limit = g->cfg->header_timeout_sec;
    pthread_mutex_lock(&g->mu);
    for (gconn *c = g->head; c; c = c->next)
        if (c->pending && now - c->since > limit) {
            if (c->served) { /* an idle kept-alive connection: closed, nothing said */
                cut(c, 0, NULL, NULL, NULL);
            } else {
                char m[120];
                snprintf(m, sizeof(m), "the request's headers did not arrive within %.0f s", limit);
                cut(c, 408, "Request Timeout", "header_timeout", m);
                svc_metrics_guard("header_timeout");
            }
        }
    pthread_mutex_unlock(&g->mu);
}

/* ---- logins -------------------------------------------------------------------------------- */

static login_slot *slot_of(svc_guard *g, const char *key, double now, bool make)
{
    login_slot *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < LOGIN_SLOTS; i++) {
        login_slot *s = &g->logins[i];
        if (s->key[0] && now - s->first > g->cfg->login_window_sec)
            s->key[0] = 0; /* its window has passed */
        if (!s->key[0]) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (!strcmp(s->key, key))
            return s;
        if (!oldest || s->first < oldest->first)
            oldest = s;
    }
    if (!make)
        return NULL;
    login_slot *s = free_slot ? free_slot : oldest; /* full: the oldest window is forgotten */
    snprintf(s->key, sizeof(s->key), "%s", key);
    s->first = now, s->failures = 0;
    return s;
}

/* Whether addr is one of the trusted proxies (a comma-separated list). */
static bool trusted(const char *list, const char *addr)
{
    size_t n = strlen(addr);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t l = strcspn(p, ", ");
        if (l && l == n && !strncmp(p, addr, n))
            return true;
        p += l;
    }
    return false;
}

void svc_guard_client(const cfg_settings *c, struct MHD_Connection *conn, char *a, size_t n)
{
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    addr_of(ai ? ai->client_addr : NULL, a, n);
    const char *xff = c->trusted_proxies[0] && trusted(c->trusted_proxies, a)
                          ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For")
                          : NULL;
    if (xff) {
        const char *last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        snprintf(a, n, "%.*s", (int)strcspn(last, " "), last);
    }
}

/* The client a login comes from: svc_guard_client. */
static void login_keys(struct MHD_Connection *conn, const char *account, char ip[80], char acct[80],
                       const cfg_settings *c)
{
    char a[64];
    svc_guard_client(c, conn, a, sizeof(a));
    snprintf(ip, 80, "ip:%s", a);
    snprintf(acct, 80, "acct:%.70s", account && *account ? account : "-");
}

double svc_guard_login_wait(svc_guard *g, struct MHD_Connection *conn, const char *account)
{
    char ip[80], acct[80];
    login_keys(conn, account, ip, acct, g->cfg);
    const double now = svc_mono_sec();
    double wait = 0;
    pthread_mutex_lock(&g->mu);
    const char *keys[2] = {ip, acct};
    for (int k = 0; k < (account ? 2 : 1); k++) {
        login_slot *s = slot_of(g, keys[k], now, false);
        const int max = k ? g->cfg->login_max_failures_account : g->cfg->login_max_failures;
        if (s && s->failures >= max) {
            double w = g->cfg->login_window_sec - (now - s->first);
            wait = w > wait ? w : wait;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return wait;
}

void svc_guard_login_failed(svc_guard *g, struct MHD_Connection *conn, const char *account)
{
    char ip[80], acct[80];
    login_keys(conn, account, ip, acct, g->cfg);
    const double now = svc_mono_sec();
    pthread_mutex_lock(&g->mu);
    const char *keys[2] = {ip, acct};
    for (int k = 0; k < (account ? 2 : 1); k++) {
        login_slot *s = slot_of(g, keys[k], now, true);
        s->failures++;
    }
    pthread_mutex_unlock(&g->mu);
    svc_metrics_guard("login_failed");
}
