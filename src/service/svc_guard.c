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
 *     next request (a health check from the same host) still gets through. "Oldest" is by
 *     when an event-loop thread took the connection: with several threads, connections made
 *     within the same milliseconds may be taken in another order than they were made.
 *   - A client gone: libmicrohttpd 0.9.75 under epoll takes a read shorter than its buffer to
 *     mean the socket is drained, so a client's close that came with its last bytes (sent,
 *     then closed, before the event loop woke) is never read, and the request waits for its
 *     idle limit (an upload's temporary files with it). The tick looks at the connections
 *     whose request cannot be answered yet (headers or body still coming): one whose client's
 *     end is closed with nothing left to read on two ticks in a row is shut down, which wakes
 *     the library to end the request (client_gone).
 * The answers are written to the socket by the guard itself: libmicrohttpd has not parsed a
 * request yet, and writes nothing on a pending connection. A connection is marked under the
 * guard's lock before it can answer anything (svc_guard_headers), and one the guard shut down
 * is refused there.
 *   - The HTTP library's own answers: libmicrohttpd refuses some requests itself, before the
 *     service sees them (a malformed request line, header line, Content-Length or chunked body:
 *     400; a Content-Length past 2^64 or a chunk too large: 413; a request line or headers past
 *     its 32 KiB read buffer: 414, 431; an HTTP version other than 1.x: 505; no memory left in
 *     the connection's pool: 500). Version 0.9.75 has no hook for these answers, sends them
 *     without the service's headers, and after a bad Content-Length builds the header twice
 *     (two status lines on one connection). It queues each with MHD_queue_response, through
 *     its procedure linkage table, so the service's own MHD_queue_response (below) is the one
 *     it calls: the service's answers go to the library's through svc_guard_queue, and any
 *     other call is one of the library's own. That call is refused (MHD_NO: the library then
 *     closes the connection without writing anything), and the guard writes the answer itself
 *     instead: one status line, JSON, the service's security headers, X-Request-Id,
 *     Connection: close. The socket is kept open a little (its duplicate, read and dropped
 *     for up to 2 s) so that a client still sending gets the answer, not a reset.
 *   - Logins: failed attempts per client address and per account are counted in a window
 *     (login_window_sec); past login_max_failures from one address, or
 *     login_max_failures_account to the account from all, 429 with Retry-After until the
 *     window has passed (svc_guard_login_*); behind a proxy named in trusted_proxies the
 *     client is the last address of its X-Forwarded-For. The bearer tokens of scripts count against
 * their address only (account NULL): an account's lock would let anyone stop every integration.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "svc_guard.h"
#include "svc_metrics.h"
#include "svc_text.h"
#include "callqa/cq_clock.h"

typedef struct gconn {
    struct gconn *next, *prev;
    MHD_socket fd;
    char ip[64];
    double since; /* connected, or its last request ended (monotonic s) */
    bool pending; /* its current request's headers are not all in */
    bool served;  /* a request was answered on it already (kept alive) */
    bool cut;     /* the guard shut it down */
    bool body;    /* its request's headers are in, its body is still coming */
    int gone;     /* ticks in a row that found its client's end closed, nothing left to read */
} gconn;

#define LOGIN_SLOTS 256
/* kept-alive connections idle per client: this many times the pending cap */
#define IDLE_PER_CAP 16
/* a pending connection younger than this is not counted in the client's cap */
#define PENDING_GRACE_SEC 0.5
#define LINGER_SLOTS 64 /* refused connections kept open while their answer is read */
#define LINGER_SEC 2.0  /* at most this long */
/* ticks in a row that find a request's client gone before its connection is shut down: two,
 * so that a request whose last bytes were just read, its client having half-closed to wait
 * for the answer, has had a second to be seen whole */
#define GONE_TICKS 2
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
    atomic_uint_fast64_t *next_id; /* the service's request ids */
    login_slot logins[LOGIN_SLOTS];
    struct {
        int fd; /* a duplicate of a refused connection's socket; -1: free */
        double since;
    } linger[LINGER_SLOTS];
};

/* libmicrohttpd's own MHD_queue_response, found after this program in the lookup order */
typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
static queue_fn g_queue;
static pthread_once_t g_queue_once = PTHREAD_ONCE_INIT;
static svc_guard *_Atomic g_running; /* the guard of the service running in this process */

static void find_queue(void)
{
    void *f = dlsym(RTLD_NEXT, "MHD_queue_response");
    memcpy(&g_queue, &f, sizeof(g_queue));
}

svc_guard *svc_guard_create(const cfg_settings *c, atomic_uint_fast64_t *next_id)
{
    pthread_once(&g_queue_once, find_queue);
    if (!g_queue) /* linked so that libmicrohttpd's answers cannot be taken: refuse to run */
        return NULL;
    svc_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    pthread_mutex_init(&g->mu, NULL);
    g->cfg = c;
    g->next_id = next_id;
    for (int i = 0; i < LINGER_SLOTS; i++)
        g->linger[i].fd = -1;
    atomic_store(&g_running, g);
    return g;
}

void svc_guard_destroy(svc_guard *g)
{
    if (!g)
        return;
    svc_guard *running = g;
    atomic_compare_exchange_strong(&g_running, &running, NULL);
    for (gconn *c = g->head, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    for (int i = 0; i < LINGER_SLOTS; i++)
        if (g->linger[i].fd >= 0)
            close(g->linger[i].fd);
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

/* Write a whole JSON answer, with the headers every answer of the service carries, to a socket
 * nothing else writes to (a best effort: the socket is the client's, and it may be gone). */
static void write_answer(int fd, int status, const char *reason, const char *code, const char *msg,
                         const char *id)
{
    char body[400], head[1600], extra[80], date[64];
    snprintf(extra, sizeof(extra), "%s%s%s%s", status == 503 ? "Retry-After: 10\r\n" : "",
             id ? "X-Request-Id: " : "", id ? id : "", id ? "\r\n" : "");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int bn = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"code\":\"%s\"}", msg, code);
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                      "%sX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                      "Referrer-Policy: no-referrer\r\n"
                      "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
                      "\r\n%s",
                      status, reason, date, bn, extra, body);
    if (hn < 0 || (size_t)hn >= sizeof(head) || bn < 0 || (size_t)bn >= sizeof(body))
        return; /* never: the texts are the guard's own */
    (void)send(fd, head, (size_t)hn, MSG_NOSIGNAL | MSG_DONTWAIT); /* one write: one segment */
}

/* Write a whole JSON answer to a connection nothing else writes to, then shut it down. */
static void cut(gconn *c, int status, const char *reason, const char *code, const char *msg)
{
    if (status)
        write_answer(c->fd, status, reason, code, msg, NULL);
    shutdown(c->fd, SHUT_RDWR);
    c->cut = true;
    c->pending = false;
    c->body = false;
}

/* The per-client cap of pending connections (never answered yet, still sending their first
 * request's headers), over those pending longer than PENDING_GRACE_SEC: a client that opens many
 * connections at once (a proxy's pool, a browser, a load test) has sent its headers within
 * milliseconds, and is never refused for the burst; one that holds them half-sent is cut down to
 * the cap within PENDING_GRACE_SEC plus a tick. Past the cap, the client's oldest is answered
 * 503 and shut down, never `keep` (the connection just made). ip: one client; NULL: every
 * client (the tick). Under the guard's lock. */
static int by_client_then_age(const void *a, const void *b)
{
    const gconn *x = *(gconn *const *)a, *y = *(gconn *const *)b;
    int k = strcmp(x->ip, y->ip);
    return k ? k : x->since < y->since ? -1 : x->since > y->since;
}

static void cap_pending(svc_guard *g, const char *ip, double now, const gconn *keep)
{
    const int cap = g->cfg->max_pending_per_client;
    size_t n = 0;
    for (gconn *o = g->head; o; o = o->next)
        n += o->pending && !o->served && !o->cut && now - o->since >= PENDING_GRACE_SEC &&
             (!ip || !strcmp(o->ip, ip));
    if (n <= (size_t)cap)
        return;
    gconn **v = malloc(n * sizeof(*v));
    if (!v)
        return; /* the header deadline still holds */
    size_t k = 0;
    for (gconn *o = g->head; o && k < n; o = o->next)
        if (o->pending && !o->served && !o->cut && now - o->since >= PENDING_GRACE_SEC &&
            (!ip || !strcmp(o->ip, ip)))
            v[k++] = o;
    qsort(v, k, sizeof(*v), by_client_then_age);
    for (size_t i = 0; i < k;) { /* each client's run, oldest first */
        size_t j = i;
        while (j < k && !strcmp(v[j]->ip, v[i]->ip))
            j++;
        for (size_t over = j - i > (size_t)cap ? j - i - (size_t)cap : 0; over; i++) {
            if (v[i] == keep)
                continue;
            cut(v[i], 503, "Service Unavailable", "too_many_pending",
                "too many connections from this client are still sending their headers");
            svc_metrics_guard("too_many_pending");
            over--;
        }
        i = j;
    }
    free(v);
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
    c->since = cq_clock_mono_sec();
    c->pending = true;
    *socket_context = c;
    pthread_mutex_lock(&g->mu);
    c->next = g->head;
    if (g->head)
        g->head->prev = c;
    g->head = c;
    g->n++;
    /* past the client's cap of kept-alive connections waiting idle for their next request: its
     * oldest idle one goes. Those are not pending ones (below): a proxy keeps many open from one
     * address, and between two of its requests each would count (a 503 written on it would read
     * as the answer to a request its client is sending). Their cap is IDLE_PER_CAP times the
     * pending one, past which the oldest is closed without a word, as any server may close an
     * idle kept-alive connection (its client opens another). */
    int idle = 0;
    gconn *oldest_idle = NULL;
    for (gconn *o = g->head; o; o = o->next)
        if (o->pending && o->served && !strcmp(o->ip, c->ip)) {
            idle++;
            if (!oldest_idle || o->since < oldest_idle->since)
                oldest_idle = o;
        }
    if (idle > IDLE_PER_CAP * g->cfg->max_pending_per_client && oldest_idle) {
        cut(oldest_idle, 0, NULL, NULL, NULL);
        svc_metrics_guard("too_many_idle");
    }
    cap_pending(g, c->ip, cq_clock_mono_sec(), c);
    pthread_mutex_unlock(&g->mu);
}

/* The guard's record of a connection (svc_guard_notify made it), or NULL. */
static gconn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *si =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return si ? si->socket_context : NULL;
}

bool svc_guard_headers(svc_guard *g, struct MHD_Connection *conn)
{
    gconn *c = conn_of(conn);
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
    gconn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    c->body = false;
    if (!c->cut) { /* kept alive: the next request's headers have the same deadline */
        c->pending = true;
        c->served = true;
        c->since = cq_clock_mono_sec();
    }
    pthread_mutex_unlock(&g->mu);
}

void svc_guard_body(svc_guard *g, struct MHD_Connection *conn, bool coming)
{
    gconn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    c->body = coming && !c->cut;
    c->gone = 0;
    pthread_mutex_unlock(&g->mu);
}

void svc_guard_tick(svc_guard *g)
{
    const double now = cq_clock_mono_sec(), limit = g->cfg->header_timeout_sec;
    pthread_mutex_lock(&g->mu);
    cap_pending(g, NULL, now, NULL);
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
        } else if (!c->cut && (c->body || (c->pending && !c->served))) {
            /* a request that cannot be whole any more: its client closed its end after part
             * of the headers or the body, and libmicrohttpd missed it (see DESIGN) */
            char b;
            c->gone = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ? c->gone + 1 : 0;
            if (c->gone >= GONE_TICKS) {
                cut(c, 0, NULL, NULL, NULL);
                svc_metrics_guard("client_gone");
            }
        }
    /* the refused connections kept open: what their clients still send is read and dropped,
     * until they close or LINGER_SEC has passed */
    for (int i = 0; i < LINGER_SLOTS; i++) {
        if (g->linger[i].fd < 0)
            continue;
        char buf[65536]; /* one read a second each: at most 64 reads of 64 KiB under the lock */
        ssize_t got = recv(g->linger[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
        bool open = got > 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        if (!open || now - g->linger[i].since > LINGER_SEC) {
            close(g->linger[i].fd);
            g->linger[i].fd = -1;
        }
    }
    pthread_mutex_unlock(&g->mu);
}

/* ---- the HTTP library's own answers --------------------------------------------------------- */

enum MHD_Result svc_guard_queue(struct MHD_Connection *conn, unsigned int status,
                                struct MHD_Response *resp)
{
    pthread_once(&g_queue_once, find_queue);
    return g_queue ? g_queue(conn, status, resp) : MHD_NO;
}

/* the library's status, and the answer the service gives for it */
static const struct {
    unsigned lib, status;
    const char *reason, *code, *msg;
} k_refusals[] = {
    {400, 400, "Bad Request", "bad_request",
     "the request is malformed: its request line, a header line, its Content-Length or its "
     "chunked body (RFC 9112)"},
    /* a Content-Length or chunk size past 2^64-1 is a length no request has: 400 as for any
     * length that cannot be read (RFC 9112 6.3), where the library says 413 */
    {413, 400, "Bad Request", "bad_length",
     "the request's Content-Length or a chunk size is past 2^64-1: no length that can be read "
     "(RFC 9112 6.3)"},
    {414, 414, "URI Too Long", "uri_too_long",
     "the request line is longer than this service reads (32 KiB with the headers)"},
    {431, 431, "Request Header Fields Too Large", "headers_too_large",
     "the request's headers are larger than this service reads (32 KiB)"},
    {505, 505, "HTTP Version Not Supported", "http_version",
     "this service speaks HTTP/1.0 and 1.1"},
    {500, 500, "Internal Server Error", "internal",
     "the request could not be read (no memory left)"},
};

/* Called by libmicrohttpd only (the service's answers go through svc_guard_queue): one of its
 * own error answers. Written here instead (see DESIGN), and refused there. */
enum MHD_Result MHD_queue_response(struct MHD_Connection *conn, unsigned int status,
                                   struct MHD_Response *resp)
{
    svc_guard *g = atomic_load(&g_running);
    if (!g) /* no service in this process: the library's answer as it is */
        return svc_guard_queue(conn, status, resp);
    size_t k = 0;
    while (k + 1 < sizeof(k_refusals) / sizeof(k_refusals[0]) && k_refusals[k].lib != status)
        k++;
    if (k_refusals[k].lib != status)
        k = 0; /* another status: a 400 with the same words */
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    gconn *c = conn_of(conn);
    if (!fi)
        return MHD_NO;
    char id[24];
    snprintf(id, sizeof(id), "%08llx", (unsigned long long)atomic_fetch_add(g->next_id, 1));
    pthread_mutex_lock(&g->mu);
    if (!c || !c->cut) { /* not answered by the guard already */
        write_answer(fi->connect_fd, (int)k_refusals[k].status, k_refusals[k].reason,
                     k_refusals[k].code, k_refusals[k].msg, id);
        shutdown(fi->connect_fd, SHUT_WR);
        if (c)
            c->cut = true, c->pending = false;
        int slot = -1;
        for (int i = 0; i < LINGER_SLOTS && slot < 0; i++)
            if (g->linger[i].fd < 0)
                slot = i;
        if (slot >= 0 && (g->linger[slot].fd = fcntl(fi->connect_fd, F_DUPFD_CLOEXEC, 0)) >= 0)
            g->linger[slot].since = cq_clock_mono_sec();
    }
    pthread_mutex_unlock(&g->mu);
    fprintf(stderr,
            "{\"ts\":%.3f,\"id\":\"%s\",\"level\":\"info\",\"msg\":\"refused by the HTTP "
            "parser\",\"status\":%u,\"code\":\"%s\"}\n",
            cq_clock_wall_sec(), id, k_refusals[k].status, k_refusals[k].code);
    svc_metrics_guard("bad_request");
    return MHD_NO;
}

/* libmicrohttpd's messages (MHD_OPTION_EXTERNAL_LOGGER) as JSON lines among the service's; of a
 * refusal, the reason only: the guard's own line says what was answered (the library's lines
 * on the answer it would have sent, and on its being refused, are left out). */
void svc_guard_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[600];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    if (strstr(msg, "failed to queue error response") ||
        !strncmp(msg, "Error processing request (HTTP response code", 44))
        return;
    char *j = svc_json_str(msg);
    fprintf(stderr, "{\"ts\":%.3f,\"level\":\"info\",\"msg\":\"libmicrohttpd\",\"detail\":%s}\n",
            cq_clock_wall_sec(), j ? j : "null");
    free(j);
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
    const double now = cq_clock_mono_sec();
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
    const double now = cq_clock_mono_sec();
    pthread_mutex_lock(&g->mu);
    const char *keys[2] = {ip, acct};
    for (int k = 0; k < (account ? 2 : 1); k++) {
        login_slot *s = slot_of(g, keys[k], now, true);
        s->failures++;
    }
    pthread_mutex_unlock(&g->mu);
    svc_metrics_guard("login_failed");
}
