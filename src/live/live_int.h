/*
 * live_int.h - what the files of src/live/ share and nobody else sees: filling an lv_error, the
 * listening socket, the list of the files written, and the pool of connections before their call.
 */
#ifndef CQ_LIVE_INT_H
#define CQ_LIVE_INT_H

#include <stdatomic.h>
#include <sys/socket.h>

#include "live.h"

#if defined(__GNUC__)
#define LV__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LV__PRINTF(a, b)
#endif

/* Record an error in e (may be NULL) and return its code. */
int lv__fail(lv_error *e, int code, uint64_t offset, const char *fmt, ...) LV__PRINTF(4, 5);
void lv__clear(lv_error *e);

/* A socket bound to host:port (numeric or a name; port "0": any), non-blocking: listening for
 * TCP (SOCK_STREAM) or UDP (SOCK_DGRAM, its receive buffer raised toward 4 MB for bursts). The
 * port bound in *port_out. LV_OK, or LV_ERR_ARG with e naming the address and the reason. */
int lv__listen(const char *host, const char *port, int type, int *fd_out, int *port_out,
               lv_error *e);

/* The list of the files written in a folder (manifest.c; docs/privacy.md): one line per file
 * of files[0..nfiles) (names in the folder dirfd), each naming the call it belongs to, appended
 * to DIR/LV_MANIFEST_NAME (created O_EXCL, mode 0600). 0, or -1 with errno. The store's purge
 * reads it by the same name (store_retain_files.c, STORE_MANIFEST_NAME). */
#define LV_MANIFEST_NAME ".callqa-files"
int lv__manifest_add(int dirfd, const char *call, const char *const *files, size_t nfiles,
                     double now);

/*
 * The pool of connections that have not identified their call yet (pending.c), the one of
 * lv_server (AudioSocket, WebSocket) and of lv_agi_server (FastAGI requests reading their
 * environment). A connection waits in it apart from the server's cap on calls, and a new one
 * finds room by closing one that waits (docs/live/connections.md, "Connections that send nothing"):
 * while the new one's address holds per_client of them, or the pool max, the oldest of those (the
 * address's, then anyone's) that has sent nothing, else the oldest, is read one last time (what
 * it sent may identify it now) and, still waiting, closed. One that was silent until then and
 * spoke in that last read is spared. So connections that send nothing never take a call's place,
 * and a PBX's call, which identifies as it connects, is closed only if per_client newer
 * connections from its address that have sent bytes come before its identification does.
 * One thread (the server's) owns a pool; n may be read from any.
 */
typedef struct lv__pend {
    struct lv__pend *prev, *next; /* the pool's list, oldest first */
    struct sockaddr_storage peer; /* its address: the key of the share per client */
    double t_accept;              /* when it was accepted (monotonic seconds) */
    size_t got;                   /* bytes it sent while it waited */
    bool in;                      /* in the pool */
} lv__pend;

typedef struct lv__pool {
    lv__pend *head, *tail;
    _Atomic uint64_t n;       /* connections in it */
    _Atomic uint64_t timeout; /* closed by its owner: not identified within ident_sec */
    _Atomic uint64_t evicted; /* closed by its owner's evict (lv__pool_make_room) */
    int max;                  /* max_pending */
    int per_client;           /* max_pending_per_client */
} lv__pool;

/* An empty pool of at most max (max_pending), per_client of them from one address. */
void lv__pool_init(lv__pool *p, int max, int per_client);
/* e, accepted from peer at t_accept, onto the pool's tail (the newest). */
void lv__pool_add(lv__pool *p, lv__pend *e, const struct sockaddr_storage *peer, double t_accept);
/* Out of the pool (it identified its call, or it is closed); not in it: no-op. */
void lv__pool_remove(lv__pool *p, lv__pend *e);
/* What the pool holds now and has closed. */
void lv__pool_stats(lv__pool *p, lv_pending_stats *out);
/* The IP address of a peer (not its port): the key of the share per client. */
bool lv__same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Room for one more connection from peer, by the rules above: last_read(user, e) reads what the
 * one chosen sent meanwhile (it may leave the pool, identified or closed), then evict(user, e)
 * closes it when it is still waiting and was not spared. Each must take e out of the pool when
 * it ends it. */
void lv__pool_make_room(lv__pool *p, const struct sockaddr_storage *peer,
                        void (*last_read)(void *user, lv__pend *e),
                        void (*evict)(void *user, lv__pend *e), void *user);

#endif /* CQ_LIVE_INT_H */
