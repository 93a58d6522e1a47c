/*
 * pending.c - the pool of connections before their call, shared by lv_server (AudioSocket and
 * WebSocket connections that have not identified their call) and lv_agi_server (FastAGI
 * requests reading their environment): its rules are live_int.h's, "The pool of connections".
 */
#include <netinet/in.h>
#include <string.h>

#include "live_int.h"

void lv__pool_init(lv__pool *p, int max, int per_client)
{
    p->head = p->tail = NULL;
    atomic_store(&p->n, 0);
    atomic_store(&p->timeout, 0);
    atomic_store(&p->evicted, 0);
    p->max = max;
    p->per_client = per_client;
}

void lv__pool_add(lv__pool *p, lv__pend *e, const struct sockaddr_storage *peer, double t_accept)
{
    e->peer = *peer;
    e->t_accept = t_accept;
    e->got = 0;
    e->in = true;
    e->next = NULL;
    e->prev = p->tail;
    if (p->tail)
        p->tail->next = e;
    else
        p->head = e;
    p->tail = e;
    atomic_fetch_add(&p->n, 1);
}

void lv__pool_remove(lv__pool *p, lv__pend *e)
{
    if (!e->in)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        p->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        p->tail = e->prev;
    e->prev = e->next = NULL;
    e->in = false;
    atomic_fetch_sub(&p->n, 1);
}

bool lv__same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)(const void *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return false;
}

/* The one to close for a new connection from peer, NULL when there is room. */
static lv__pend *victim(const lv__pool *p, const struct sockaddr_storage *peer)
{
    size_t n = 0, same = 0;
    lv__pend *oldest_same = NULL, *silent_same = NULL, *silent = NULL;
    for (lv__pend *e = p->head; e; e = e->next) { /* oldest first */
        n++;
        const bool mine = lv__same_host(&e->peer, peer);
        if (mine && !same++)
            oldest_same = e;
        if (!e->got && !silent)
            silent = e;
        if (!e->got && mine && !silent_same)
            silent_same = e;
    }
    if (same >= (size_t)p->per_client)
        return silent_same ? silent_same : oldest_same;
    if (n >= (size_t)p->max)
        return silent ? silent : p->head;
    return NULL;
}

void lv__pool_make_room(lv__pool *p, const struct sockaddr_storage *peer,
                        void (*last_read)(void *user, lv__pend *e),
                        void (*evict)(void *user, lv__pend *e), void *user)
{
    for (lv__pend *v; (v = victim(p, peer));) { /* each round closes one or spares one */
        const size_t had = v->got;
        last_read(user, v);                  /* its last chance: what it sent meanwhile */
        if (v->in && (had || v->got == had)) /* silent until now: spared if it spoke */
            evict(user, v);
    }
}

void lv__pool_stats(lv__pool *p, lv_pending_stats *out)
{
    out->waiting = atomic_load(&p->n);
    out->timeout = atomic_load(&p->timeout);
    out->evicted = atomic_load(&p->evicted);
}
