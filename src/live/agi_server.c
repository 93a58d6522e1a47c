/*
 * agi_server.c - the FastAGI answer of `callqa live --fastagi`: Asterisk's AGI(agi://HOST:PORT/
 * amd,<UUID>) is given the call's live AMD decision as AMD() gives its own, in AMDSTATUS and
 * AMDCAUSE (live.h, "the FastAGI answer of AMD decisions"; docs/live/amd.md, "AMD over FastAGI").
 *
 * One thread of its own: poll over the listening socket, an eventfd that says "a decision came
 * or stop", and at most max_conns + max_pending connections, all non-blocking. A connection
 * reads the environment (lv_agi) within ident_sec of its accept, in a pool of max_pending
 * apart from the max_conns requests whose environment is whole (the oldest of the pool, or of
 * its address's share, closed when a new one comes and there is no room: the pool of lv_server's
 * connections before they identify their call, pending.c; docs/live.md "Connections that send
 * nothing"),
 * takes agi_arg_1 as the call's UUID, waits for the call's entry in the
 * table of decisions (a request whose call lv_server has not identified yet may be closed to
 * make room for another, below), sends SET VARIABLE AMDSTATUS, reads its "200 result=1", sends SET
 * VARIABLE AMDCAUSE, reads its "200 result=1", and closes. The table is filled by
 * lv_agi_server_event (the lv_server's sink, on its writer thread) and lv_agi_server_call (each
 * call lv_server identifies, on its network thread) under one mutex; it is a ring of the last
 * max_decisions calls, so memory is bounded whatever the PBX does.
 *
 * Requests that name no call. A UUID in agi_arg_1 costs nothing to make up, and a request waits
 * for its call's decision up to timeout_sec (an hour with hold). A request is *known* once the
 * table has its call (lv_server identified it, or its decision or end came); until then it is
 * one that may name a call that never comes. When a request's environment is whole and the
 * max_conns requests are all taken, the unknown request that has waited longest (nothing comes
 * on a waiting request: its environment was its last whole message) is looked up once more and,
 * still unknown, closed to make room; a new request is refused only when every request is
 * known. And one address holds at most `share` unknown requests (max_conns / 2, or
 * max_pending_per_client when smaller): an unknown request beyond it closes that address's
 * longest-waiting unknown one. A known request is never closed for room nor counted in a share:
 * a PBX sends every call's request from one address, and each is known as soon as its call's
 * audio has come (docs/live/connections.md, "Requests that name no call").
 *
 * The causes, in AMD()'s vocabulary (docs.asterisk.org, Dialplan Applications, AMD: "HUMAN -
 * Silence Duration - afterGreetingSilence", "LONGGREETING - Voice Duration - Greeting",
 * "TOOLONG - Total Time"), with the streaming classifier's own thresholds (cq_classify.h):
 *   human (short_then_pause)          HUMAN, HUMAN-<pause ms>-1600
 *   machine (long_greeting)           MACHINE, LONGGREETING-<greeting ms>-3520
 *   machine (beep_after_greeting)     MACHINE, LONGGREETING-<greeting ms to the beep>-3520
 *   no decision within timeout_sec    NOTSURE, TOOLONG-<ms waited>
 *   the call ended with no decision   HANGUP, "" (AMD() leaves the cause empty on a hangup)
 * With `hold` (the hold-slayer's answer, AGI(agi://HOST:PORT/hold,<UUID>)) the variables are
 * HOLDSTATUS and HOLDCAUSE, in the same style, from the `--live hold` decisions:
 *   human (quiet_handover)            HUMAN, QUIETHANDOVER-<quiet ms>-1280
 *   human (probe_reply)               HUMAN, PROBEREPLY-<probe's end to the reply ms>-1280
 *   human (no_music_after)            HUMAN, NOMUSICAFTER-<speech to decision ms>-10500
 *   hold_ended (no_music), no person  ENDED, NOMUSIC-<ms without music>-30000
 *   no decision, the call ended       NOTSURE TOOLONG-<ms>, HANGUP "" as above
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "live_int.h"

/* the classifier's pause after a short greeting that decides a person (50 frames of 32 ms; one of
 * 30 frames decides too when the person speaks again) */
#define AFTER_GREETING_MS 1600
#define GREETING_MS 3520        /* its longest greeting of a person: 110 frames of 32 ms */
#define QUIET_HANDOVER_MS 1280  /* hold: the quiet before a person (40 frames) */
#define NO_MUSIC_AFTER_MS 10500 /* hold: speech with no music after it (328 frames) */
#define PROBE_REPLY_MS 1280     /* hold: a reply this long after the probe at most (40 frames) */
#define HOLD_OVER_MS 30000      /* hold: no music and no hold (938 frames) */
#define OUT_MAX 512
#define ACCEPT_BATCH 64 /* connections accepted per turn of the loop */

typedef enum status { ST_NONE = 0, ST_HUMAN, ST_MACHINE, ST_NOTSURE, ST_HANGUP, ST_ENDED } status;
static const char *const k_status[] = {"", "HUMAN", "MACHINE", "NOTSURE", "HANGUP", "ENDED"};

typedef struct decision {
    char uuid[37];
    status st;  /* the first human or machine decision; ST_NONE: none yet */
    bool ended; /* the call's call_end came */
    char cause[64];
} decision;

typedef enum phase { P_ENV, P_WAIT, P_STATUS, P_CAUSE } phase;

typedef struct conn {
    int fd;
    lv_agi_dec *dec;
    phase ph;          /* P_ENV: in the pending pool (pend); later: one of max_conns */
    lv__pend pend;     /* the pool's: its address, accept, bytes of its environment so far */
    bool known;        /* P_WAIT on: the table has its call (a request that names a call
                          lv_server identified); false: it may never come */
    double t_env;      /* when the environment was whole (the wait starts) */
    double t_deadline; /* for the environment or the reply being waited for */
    char uuid[37];
    char dest[LV_FPS_DEST_MAX + 1]; /* agi_arg_2 when it names a destination (hold), else "" */
    bool script_ok;
    status st;
    char cause[64];
    char out[OUT_MAX];
    size_t out_len, out_off;
} conn;

struct lv_agi_server {
    lv_agi_server_params p;
    char host[256], port[16], script[64];
    int lfd, efd, lport;
    pthread_t thread;
    bool thread_up;
    _Atomic bool quit;
    conn *conns; /* nslots = max_conns + max_pending slots; fd -1: free */
    int nslots;
    lv__pool pool; /* connections reading their environment (live_int.h's rules) */
    int n_req;     /* connections past it */
    int share;     /* unknown requests one address may hold */
    struct pollfd *pfds;
    /* decisions: a ring of the last max_decisions calls */
    pthread_mutex_t mu;
    decision *ring;
    size_t ring_next, ring_len;
    /* counters */
    _Atomic uint64_t accepted, human, machine, notsure, hangup, ended, refused, failed, agi_hangup,
        unknown, unknown_evicted;
};

lv_agi_server_params lv_agi_server_default_params(void)
{
    lv_agi_server_params p = {.host = "127.0.0.1",
                              .port = "4573",
                              .script = "amd",
                              .hold = false,
                              .max_conns = 256,
                              .timeout_sec = 5.0,
                              .io_sec = 10.0,
                              .max_decisions = 4096,
                              .ident_sec = 5.0,
                              .max_pending = 1024,
                              .max_pending_per_client = 128};
    return p;
}

/* ---- the table of decisions ------------------------------------------------------------------ */

/* The entry of a UUID, NULL when none. Caller holds mu. */
static decision *find_locked(lv_agi_server *s, const char *uuid)
{
    for (size_t i = 0; i < s->ring_len; i++)
        if (strcasecmp(s->ring[i].uuid, uuid) == 0)
            return &s->ring[i];
    return NULL;
}

static decision *get_locked(lv_agi_server *s, const char *uuid)
{
    decision *d = find_locked(s, uuid);
    if (d)
        return d;
    d = &s->ring[s->ring_next];
    s->ring_next = (s->ring_next + 1) % s->p.max_decisions;
    if (s->ring_len < s->p.max_decisions)
        s->ring_len++;
    memset(d, 0, sizeof(*d));
    snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
    return d;
}

static long ms(double sec)
{
    return sec > 0 ? (long)(sec * 1000 + 0.5) : 0;
}

/* A hold decision's cause (HOLDCAUSE). */
static void hold_cause(const lv_event *ev, decision *d)
{
    bool quiet = ev->rule && !strcmp(ev->rule, "quiet_handover"),
         reply = ev->rule && !strcmp(ev->rule, "probe_reply");
    if (d->st == ST_ENDED)
        snprintf(d->cause, sizeof(d->cause), "NOMUSIC-%ld-%d", ms(ev->end_sec - ev->start_sec),
                 HOLD_OVER_MS);
    else if (quiet)
        snprintf(d->cause, sizeof(d->cause), "QUIETHANDOVER-%ld-%d", ms(ev->quiet_sec),
                 QUIET_HANDOVER_MS);
    else if (reply)
        snprintf(d->cause, sizeof(d->cause), "PROBEREPLY-%ld-%d", ms(ev->reply_sec),
                 PROBE_REPLY_MS);
    else
        snprintf(d->cause, sizeof(d->cause), "NOMUSICAFTER-%ld-%d", ms(ev->end_sec - ev->start_sec),
                 NO_MUSIC_AFTER_MS);
}

void lv_agi_server_event(lv_agi_server *s, const lv_event *ev)
{
    bool human = !strcmp(ev->type, "human"), machine = !strcmp(ev->type, "machine");
    bool end = !strcmp(ev->type, "call_end");
    /* hold: the wait ended with no person (with a person, `human` came first) */
    bool ended =
        s->p.hold && !strcmp(ev->type, "hold_ended") && ev->rule && !strcmp(ev->rule, "no_music");
    if (s->p.hold)
        machine = false;
    if ((!human && !machine && !end && !ended) || strlen(ev->call) != 36)
        return;
    pthread_mutex_lock(&s->mu);
    decision *d = get_locked(s, ev->call);
    if (end) {
        d->ended = true;
    } else if (s->p.hold) {
        if (d->st == ST_NONE) {
            d->st = human ? ST_HUMAN : ST_ENDED;
            hold_cause(ev, d);
        }
    } else if (d->st == ST_NONE) {
        d->st = human ? ST_HUMAN : ST_MACHINE;
        if (human)
            snprintf(d->cause, sizeof(d->cause), "HUMAN-%ld-%d", ms(ev->quiet_sec),
                     AFTER_GREETING_MS);
        else
            snprintf(d->cause, sizeof(d->cause), "LONGGREETING-%ld-%d",
                     ms(ev->end_sec - ev->start_sec), GREETING_MS);
    }
    pthread_mutex_unlock(&s->mu);
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter is already set: the thread will look */
    }
}

void lv_agi_server_call(lv_agi_server *s, const char *name)
{
    if (strlen(name) != 36)
        return;
    pthread_mutex_lock(&s->mu);
    (void)get_locked(s, name); /* its entry: requests that name it are known */
    pthread_mutex_unlock(&s->mu);
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* the counter is already set: the thread will look */
    }
}

/* ---- connections ---------------------------------------------------------------------------- */

/* A request waiting for its answer whose call the table does not have (yet). */
static bool unknown(const conn *c)
{
    return c->fd >= 0 && c->ph == P_WAIT && !c->known;
}

/* Its call is in the table: from here on it is never closed for room. */
static void mark_known(lv_agi_server *s, conn *c)
{
    if (unknown(c))
        atomic_fetch_sub(&s->unknown, 1);
    c->known = true;
}

static void conn_close(lv_agi_server *s, conn *c, _Atomic uint64_t *counter, const char *why)
{
    if (c->fd < 0)
        return;
    if (why)
        fprintf(stderr, "callqa live: FastAGI%s%s: %s\n", c->uuid[0] ? " call " : "", c->uuid, why);
    if (counter)
        atomic_fetch_add(counter, 1);
    if (unknown(c))
        atomic_fetch_sub(&s->unknown, 1);
    if (c->ph == P_ENV)
        lv__pool_remove(&s->pool, &c->pend);
    else
        s->n_req--;
    close(c->fd);
    c->fd = -1;
    lv_agi_destroy(c->dec);
    c->dec = NULL;
}

/* Queue one command and try to send it now. */
static void send_cmd(lv_agi_server *s, conn *c, const char *name, const char *value, bool quote)
{
    c->out_len = lv_agi_set_variable(c->out, sizeof(c->out), name, value, quote);
    c->out_off = 0;
    c->t_deadline = cq_clock_mono_sec() + s->p.io_sec;
    if (!c->out_len) {
        conn_close(s, c, &s->failed, "an answer that cannot be sent");
        return;
    }
    ssize_t k = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0)
        c->out_off = (size_t)k;
    else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        conn_close(s, c, &s->failed, strerror(errno));
}

/* The answer is known: its status goes out. */
static void answer(lv_agi_server *s, conn *c, status st, const char *cause)
{
    if (unknown(c)) /* out of the requests that may be closed for room */
        atomic_fetch_sub(&s->unknown, 1);
    c->st = st;
    snprintf(c->cause, sizeof(c->cause), "%s", cause);
    c->ph = P_STATUS;
    send_cmd(s, c, s->p.hold ? "HOLDSTATUS" : "AMDSTATUS", k_status[st], false);
}

static void check_wait(lv_agi_server *s, conn *c, double now)
{
    status st = ST_NONE;
    char cause[64] = "";
    pthread_mutex_lock(&s->mu);
    decision *d = find_locked(s, c->uuid);
    if (d)
        mark_known(s, c);
    if (d && d->st != ST_NONE) {
        st = d->st;
        memcpy(cause, d->cause, sizeof(cause));
    } else if (d && d->ended) {
        st = ST_HANGUP;
    }
    pthread_mutex_unlock(&s->mu);
    if (st == ST_NONE && now - c->t_env >= s->p.timeout_sec) {
        st = ST_NOTSURE;
        snprintf(cause, sizeof(cause), "TOOLONG-%ld", ms(now - c->t_env));
    }
    if (st != ST_NONE)
        answer(s, c, st, cause);
}

static bool request_room(lv_agi_server *s, conn *c);

/* The environment is whole: the script and the UUID checked, the wait begins. */
static void env_done(lv_agi_server *s, conn *c)
{
    if (!c->script_ok) {
        conn_close(s, c, &s->refused, "refused: agi_network_script is not the one answered");
        return;
    }
    if (!c->uuid[0]) {
        conn_close(s, c, &s->refused, "refused: agi_arg_1 is not a call's UUID");
        return;
    }
    pthread_mutex_lock(&s->mu);
    c->known = find_locked(s, c->uuid) != NULL;
    pthread_mutex_unlock(&s->mu);
    if (!request_room(s, c)) {
        conn_close(s, c, &s->refused, "refused: max_conns requests are waiting for known calls");
        return;
    }
    lv__pool_remove(&s->pool, &c->pend); /* out of the pending pool, one of the max_conns */
    s->n_req++;
    c->ph = P_WAIT;
    c->t_env = cq_clock_mono_sec();
    if (!c->known)
        atomic_fetch_add(&s->unknown, 1);
    if (c->dest[0] && s->p.on_destination) /* the call's destination: its announcements */
        s->p.on_destination(s->p.user, c->uuid, c->dest);
    check_wait(s, c, c->t_env);
}

static bool is_uuid(const char *v)
{
    if (strlen(v) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char ch = v[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (dash ? ch != '-' : !hex)
            return false;
    }
    return true;
}

static void on_msg(lv_agi_server *s, conn *c, const lv_agi_msg *m)
{
    switch (m->kind) {
    case LV_AGI_VAR:
        if (!strcmp(m->name, "agi_network_script"))
            c->script_ok = !strcmp(m->value, s->script);
        else if (!strcmp(m->name, "agi_arg_1") && is_uuid(m->value))
            snprintf(c->uuid, sizeof(c->uuid), "%s", m->value);
        else if (!strcmp(m->name, "agi_arg_2") && lv_fps_dest_ok(m->value))
            snprintf(c->dest, sizeof(c->dest), "%s", m->value);
        return;
    case LV_AGI_ENV_END: env_done(s, c); return;
    case LV_AGI_HANGUP: conn_close(s, c, &s->agi_hangup, NULL); return;
    case LV_AGI_REPLY:
        if ((c->ph != P_STATUS && c->ph != P_CAUSE) || c->out_off < c->out_len) {
            conn_close(s, c, &s->failed, "a reply to no command");
            return;
        }
        if (m->code != 200 || !m->has_result || m->result != 1) {
            char why[200];
            snprintf(why, sizeof(why), "SET VARIABLE answered %d %.150s", m->code, m->data);
            for (char *p = why; *p; p++) /* the peer's text, printable ASCII only on stderr */
                if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                    *p = '?';
            conn_close(s, c, &s->failed, why);
            return;
        }
        if (c->ph == P_STATUS) {
            c->ph = P_CAUSE;
            send_cmd(s, c, s->p.hold ? "HOLDCAUSE" : "AMDCAUSE", c->cause, true);
            return;
        }
        /* both taken: the answer is given; closing ends the AGI, the dialplan goes on */
        conn_close(s, c,
                   c->st == ST_HUMAN     ? &s->human
                   : c->st == ST_MACHINE ? &s->machine
                   : c->st == ST_NOTSURE ? &s->notsure
                   : c->st == ST_ENDED   ? &s->ended
                                         : &s->hangup,
                   NULL);
        return;
    }
}

static void on_readable(lv_agi_server *s, conn *c)
{
    uint8_t buf[4096];
    for (int reads = 0; reads < 4 && c->fd >= 0; reads++) {
        ssize_t k = recv(c->fd, buf, sizeof(buf), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) { /* before a whole environment: counted, not logged (a flood's) */
            conn_close(s, c, &s->failed,
                       c->ph == P_ENV ? NULL
                       : k == 0       ? "the peer closed before the answer was taken"
                                      : strerror(errno));
            return;
        }
        c->pend.got += (size_t)k;
        size_t off = 0;
        while (off < (size_t)k && c->fd >= 0) {
            size_t used = 0;
            lv_agi_msg m;
            int r = lv_agi_next(c->dec, buf + off, (size_t)k - off, &used, &m);
            off += used;
            if (r == 0)
                break;
            if (r < 0) {
                const lv_error *e = lv_agi_last_error(c->dec);
                conn_close(s, c, &s->failed, e->msg[0] ? e->msg : lv_strerror(r));
                return;
            }
            on_msg(s, c, &m);
        }
    }
}

/* The pool's last read of a connection reading its environment, and its end (live_int.h): one
 * that has sent nothing goes before one part-way through its environment (Asterisk may write it
 * in pieces, and a PBX beside a flood from its own address is then not closed between two of
 * them); either is closed at ident_sec all the same. */
static conn *conn_of(lv__pend *e)
{
    return (conn *)(void *)((char *)e - offsetof(conn, pend));
}

static void room_read(void *user, lv__pend *e)
{
    on_readable(user, conn_of(e));
}

static void room_evict(void *user, lv__pend *e)
{
    conn_close(user, conn_of(e), &((lv_agi_server *)user)->pool.evicted, NULL);
}

/* Room among the max_conns requests for c, whose environment is whole (the rules at the top of
 * this file): while c is unknown and its address holds `share` unknown requests, that address's
 * longest-waiting unknown request; while the requests are all taken, anyone's. Each is looked
 * up once more (its call may have come meanwhile: then it is known and stays) and, still
 * unknown, closed (unknown_evicted). False when the requests are all taken and all known. */
static bool request_room(lv_agi_server *s, conn *c)
{
    for (;;) {
        int same = 0;
        conn *oldest = NULL, *oldest_same = NULL;
        for (int i = 0; i < s->nslots; i++) {
            conn *o = &s->conns[i];
            if (o == c || !unknown(o))
                continue;
            if (!oldest || o->t_env < oldest->t_env)
                oldest = o;
            if (lv__same_host(&o->pend.peer, &c->pend.peer) &&
                (same++, !oldest_same || o->t_env < oldest_same->t_env))
                oldest_same = o;
        }
        conn *v = !c->known && same >= s->share ? oldest_same
                  : s->n_req >= s->p.max_conns  ? oldest
                                                : NULL;
        if (!v)
            return s->n_req < s->p.max_conns;
        pthread_mutex_lock(&s->mu);
        const bool came = find_locked(s, v->uuid) != NULL;
        pthread_mutex_unlock(&s->mu);
        if (came)
            mark_known(s, v);
        else
            conn_close(s, v, &s->unknown_evicted, NULL); /* counted, not logged: a flood's */
    }
}

static void on_accept(lv_agi_server *s)
{
    for (int k = 0; k < ACCEPT_BATCH; k++) { /* then the connections get their turn */
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        int fd = accept4(s->lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        atomic_fetch_add(&s->accepted, 1);
        if (s->n_req >= s->p.max_conns && !atomic_load(&s->unknown)) {
            /* every request names a known call: no room for its request, whatever it sends
             * (counted before the close: who sees the close sees the count) */
            atomic_fetch_add(&s->refused, 1);
            close(fd);
            continue;
        }
        lv__pool_make_room(&s->pool, &peer, room_read, room_evict, s);
        conn *c = NULL;
        for (int i = 0; i < s->nslots && !c; i++)
            if (s->conns[i].fd < 0)
                c = &s->conns[i];
        lv_agi_params ap = lv_agi_default_params();
        lv_agi_dec *dec = c ? lv_agi_create(&ap, NULL) : NULL;
        if (!dec) {
            atomic_fetch_add(&s->refused, 1);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->dec = dec;
        c->ph = P_ENV;
        lv__pool_add(&s->pool, &c->pend, &peer, cq_clock_mono_sec());
        c->t_deadline = c->pend.t_accept + s->p.ident_sec;
    }
}

static void *agi_main(void *arg)
{
    lv_agi_server *s = arg;
    int n = s->nslots;
    while (!atomic_load(&s->quit)) {
        s->pfds[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        s->pfds[1] = (struct pollfd){.fd = s->efd, .events = POLLIN};
        for (int i = 0; i < n; i++) {
            conn *c = &s->conns[i];
            short ev = POLLIN;
            if (c->fd >= 0 && c->out_off < c->out_len)
                ev |= POLLOUT;
            s->pfds[2 + i] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        int r = poll(s->pfds, (nfds_t)n + 2, 50);
        if (r < 0 && errno != EINTR)
            break;
        if (s->pfds[1].revents & POLLIN) {
            uint64_t v;
            if (read(s->efd, &v, sizeof(v)) < 0) {
                /* nothing pending */
            }
        }
        if (s->pfds[0].revents & POLLIN)
            on_accept(s);
        double now = cq_clock_mono_sec();
        for (int i = 0; i < n; i++) {
            conn *c = &s->conns[i];
            short re = s->pfds[2 + i].revents;
            if (c->fd < 0 || s->pfds[2 + i].fd != c->fd)
                continue;
            if ((re & POLLOUT) && c->out_off < c->out_len) {
                ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k > 0)
                    c->out_off += (size_t)k;
                else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    conn_close(s, c, &s->failed, strerror(errno));
            }
            if (c->fd >= 0 && (re & (POLLIN | POLLHUP | POLLERR)))
                on_readable(s, c);
            if (c->fd < 0)
                continue;
            if (c->ph == P_WAIT)
                check_wait(s, c, now);
            else if (now > c->t_deadline && c->ph == P_ENV)
                conn_close(s, c, &s->pool.timeout, NULL); /* counted, not logged: a flood's */
            else if (now > c->t_deadline)
                conn_close(s, c, &s->failed, "no reply to SET VARIABLE in time");
        }
    }
    return NULL;
}

/* ---- create, destroy ------------------------------------------------------------------------ */

static int listen_on(lv_agi_server *s, lv_error *e)
{
    if (lv__listen(s->host, s->port, SOCK_STREAM, &s->lfd, &s->lport, e) == LV_OK)
        return LV_OK;
    char why[sizeof(e->msg)];
    snprintf(why, sizeof(why), "%s", e->msg);
    return lv__fail(e, LV_ERR_ARG, 0, "FastAGI: %s", why);
}

lv_agi_server *lv_agi_server_create(const lv_agi_server_params *p, lv_error *e)
{
    lv__clear(e);
    if (!p->host || !p->port || !p->script || !p->script[0] || strlen(p->host) >= 256 ||
        strlen(p->port) >= 16 || strlen(p->script) >= 64 || p->max_conns < 1 ||
        p->max_conns > 100000 || !(p->timeout_sec >= 0.05) || p->timeout_sec > 14400 ||
        !(p->io_sec > 0) || p->max_decisions < 16 || p->max_decisions > 1000000 ||
        !(p->ident_sec >= 0.1) || p->ident_sec > 3600 || p->max_pending < 1 ||
        p->max_pending > 100000 || p->max_pending_per_client < 1 ||
        p->max_pending_per_client > p->max_pending) {
        lv__fail(e, LV_ERR_ARG, 0, "a FastAGI setting out of its range");
        return NULL;
    }
    lv_agi_server *s = calloc(1, sizeof(*s));
    if (!s) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    s->p = *p;
    snprintf(s->host, sizeof(s->host), "%s", p->host);
    snprintf(s->port, sizeof(s->port), "%s", p->port);
    snprintf(s->script, sizeof(s->script), "%s", p->script);
    s->p.host = s->host, s->p.port = s->port, s->p.script = s->script;
    s->lfd = s->efd = -1;
    lv__pool_init(&s->pool, p->max_pending, p->max_pending_per_client);
    pthread_mutex_init(&s->mu, NULL);
    s->nslots = p->max_conns + p->max_pending;
    s->share =
        p->max_conns / 2 < p->max_pending_per_client ? p->max_conns / 2 : p->max_pending_per_client;
    if (s->share < 1)
        s->share = 1;
    s->conns = calloc((size_t)s->nslots, sizeof(conn));
    s->pfds = calloc((size_t)s->nslots + 2, sizeof(struct pollfd));
    s->ring = calloc(p->max_decisions, sizeof(decision));
    if (!s->conns || !s->pfds || !s->ring) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        goto fail;
    }
    for (int i = 0; i < s->nslots; i++)
        s->conns[i].fd = -1;
    if (listen_on(s, e) != LV_OK)
        goto fail;
    if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, agi_main, s) != 0) {
        lv__fail(e, LV_ERR_NOMEM, 0, "no thread for FastAGI");
        goto fail;
    }
    s->thread_up = true;
    return s;
fail:
    lv_agi_server_destroy(s);
    return NULL;
}

int lv_agi_server_port(const lv_agi_server *s)
{
    return s->lport;
}

void lv_agi_server_get_stats(lv_agi_server *s, lv_agi_server_stats *o)
{
    o->accepted = s->accepted;
    o->human = s->human;
    o->machine = s->machine;
    o->notsure = s->notsure;
    o->hangup = s->hangup;
    o->ended = s->ended;
    o->refused = s->refused;
    o->failed = s->failed;
    o->agi_hangup = s->agi_hangup;
    lv__pool_stats(&s->pool, &o->ident);
    o->unknown = s->unknown;
    o->unknown_evicted = s->unknown_evicted;
}

size_t lv_agi_server_stats_fields(lv_agi_server *s, char *buf, size_t cap)
{
    lv_agi_server_stats st;
    lv_agi_server_get_stats(s, &st);
    const uint64_t v[] = {st.accepted, st.human,          st.machine,       st.notsure,
                          st.hangup,   st.refused,        st.failed,        st.agi_hangup,
                          st.ended,    st.ident.waiting,  st.ident.timeout, st.ident.evicted,
                          st.unknown,  st.unknown_evicted};
    return lv_counts_text(buf, cap,
                          ",\"agi_accepted\":#,\"agi_human\":#,\"agi_machine\":#,\"agi_notsure\":#,"
                          "\"agi_hangup\":#,\"agi_refused\":#,\"agi_failed\":#,"
                          "\"agi_channel_hangup\":#,\"agi_ended\":#,\"agi_unidentified\":#,"
                          "\"agi_unidentified_timeout\":#,\"agi_unidentified_evicted\":#,"
                          "\"agi_unknown\":#,\"agi_unknown_evicted\":#",
                          v, sizeof(v) / sizeof(v[0]));
}

void lv_agi_server_destroy(lv_agi_server *s)
{
    if (!s)
        return;
    if (s->thread_up) {
        atomic_store(&s->quit, true);
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof(one)) < 0) {
            /* already set */
        }
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; s->conns && i < s->nslots; i++)
        conn_close(s, &s->conns[i], NULL, NULL);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->efd >= 0)
        close(s->efd);
    free(s->conns);
    free(s->pfds);
    free(s->ring);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
