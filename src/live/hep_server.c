/*
 * hep_server.c - `callqa sip --hep HOST:PORT`: a collector of HEP, as Asterisk (res_hep,
 * res_hep_rtcp), FreeSWITCH, Kamailio and OpenSIPS send it to a Homer-style collector, over UDP
 * (HEP3, versions 1 and 2) and TCP (HEP3: its length frames it), that files each packet with
 * its call and writes each call, when it ends, as a capture of its own (live.h, "HEP";
 * docs/hep.md).
 *
 * One thread, poll(2) over the UDP socket, the TCP listener, the open connections and an eventfd
 * for lv_hep_stop. A packet is taken when its sender's address is allowed (the allow list; a
 * TCP peer is checked as it connects), it parses as HEP (net_hep_parse), and it carries the key
 * when one is set (HEP3's chunk 14, compared in constant time; versions 1 and 2 have none): a
 * whole packet. A TCP connection that has sent none waits in the pool apart, for
 * conn_first_sec at most, at most max_conns_per_addr of one address (past it that address's
 * oldest is closed); a full pool closes the one of those silent longest before it refuses a
 * connection. One that has sent a whole packet is closed conn_idle_sec after its last. UDP has
 * no share per address: its source addresses can be forged. Its
 * call: a SIP message's own Call-ID (net_sip_peek), else the packet's correlation id (chunk 17:
 * res_hep_rtcp's RTCP, FreeSWITCH's and Kamailio's other packets), which must name a call that
 * is open; a packet of no open call is counted (unfiled), never kept apart.
 *
 * A call is kept in memory, its packets as they came (at most call_kib each, max_kib for all:
 * past the first a packet is dropped and counted, past the second the call silent longest is
 * written early), the calls in the order of their last packets, and is written when:
 *   - a BYE or CANCEL was seen, or a final failure answered its INVITE: LINGER_SEC after it
 *     (the BYE's answer, the ACK, the last RTCP reports);
 *   - it was never answered and nothing came for idle_sec;
 *   - it was answered and nothing came for silent_sec (a BYE lost, or never sent);
 *   - it has been open max_call_sec (a BYE never seen);
 *   - max_calls are open and a new call comes: the one silent longest, to make room (a burst
 *     of calls that never end never locks new calls out);
 *   - the server stops (after reading what its socket and connections still hold).
 * Only Call-IDs that carried an INVITE are written: OPTIONS pings, REGISTERs and the like are
 * let go LINGER_SEC after their last packet (counted: not_calls).
 *
 * The file: DIR/hep-<first packet's arrival, epoch second>-<64-bit FNV-1a of the Call-ID,
 * hex>.pcap, a pcap of raw IP (LINKTYPE_RAW) holding each HEP packet as the UDP datagram a
 * capture on the collector would hold: from the agent's address and port to HEP's port 9060,
 * stamped with its arrival; `callqa sip` reads it as any capture of HEP (its messages at the
 * agents' own times). The name's time is the collector's clock, never the agent's (a time an
 * agent puts in its packets names no file, and the worker matches a stored call by the
 * arrivals: src/pipeline/network.c). It is written beside, under a temporary name (mode 0640),
 * synced and linked into place, so a reader never sees half of one; not at all when the
 * folder's files would pass dir_max_mb (counted, said through on_error: nothing is deleted to
 * make room).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "../net/net.h"
#include "../proc/proc.h"
#include "live_int.h"

#define LINGER_SEC 5.0    /* after a BYE, a CANCEL or a final failure: the last packets */
#define UDP_BATCH 256     /* datagrams read per wake */
#define TICK_MS 200       /* the timers' resolution */
#define HEP_PORT 9060     /* the port the written captures name */
#define HEP_TCP_BUF 65536 /* a connection's buffer: one HEP3 packet at most (16-bit length) */
#define IP_UDP_MAX 48     /* an IPv6 and a UDP header */
#define ALLOW_MAX 64      /* entries of the allow list */
#define LINKTYPE_RAW 101
#define RECOUNT_SEC 1.0 /* the folder's files counted again at most this often (dir_max_mb) */

typedef struct hpkt {
    struct hpkt *next;
    int64_t sec; /* its arrival (CLOCK_REALTIME) */
    int32_t usec;
    uint8_t fam; /* the agent's address: 4 or 6 */
    uint8_t addr[16];
    uint16_t port;
    uint32_t len;
    uint8_t data[];
} hpkt;

typedef struct hcall {
    struct hcall *hnext;       /* the hash chain */
    struct hcall *prev, *next; /* the list, oldest first */
    uint64_t hash;
    char *call_id;
    size_t cid_len;
    hpkt *head, *tail;
    size_t bytes;
    uint32_t packets, dropped;
    int64_t first_sec; /* the first packet's arrival (CLOCK_REALTIME) */
    double first_mono, last_mono, end_at;
    bool invite, answered;
    const char *end_reason; /* when end_at is set */
} hcall;

typedef struct conn {
    int fd;
    uint8_t fam, addr[16];
    uint16_t port;
    bool whole;       /* it has sent a whole packet (parsed, with the key when one is set) */
    double last_mono; /* its accept, then its last whole packet */
    size_t n;
    uint8_t *buf; /* HEP_TCP_BUF */
} conn;

typedef struct allow {
    uint8_t fam, a[16];
    int bits;
} allow;

struct lv_hep {
    lv_hep_params p;
    char dir[1024];
    int dirfd, ufd, tfd, efd;
    int uport, tport;
    allow allow[ALLOW_MAX];
    int n_allow;
    allow said[ALLOW_MAX]; /* the refused senders already said (on_refused), the first ALLOW_MAX */
    int n_said;
    char *key; /* a copy: the caller may wipe its own */
    size_t key_len;
    conn *conns;
    int n_conns;
    hcall **tab;
    size_t tab_cap, n_calls, kept;
    hcall *oldest, *newest; /* silent longest first */
    uint64_t dir_bytes;     /* the folder's files, as last counted and written since */
    double counted_mono;    /* when they were last counted */
    uint64_t tmp_seq;
    uint16_t ip_id;
    volatile sig_atomic_t stop;
    lv_hep_stats st;
};

lv_hep_params lv_hep_defaults(void)
{
    return (lv_hep_params){.idle_sec = 300,
                           .silent_sec = 3600,
                           .max_call_sec = 14400,
                           .max_calls = 10000,
                           .call_kib = 1024,
                           .max_kib = 262144,
                           .max_conns = 256,
                           .max_conns_per_addr = 32,
                           .conn_first_sec = 30,
                           .conn_idle_sec = 300,
                           .dir_max_mb = 10240};
}

/* ---- addresses ------------------------------------------------------------------------------- */

/* a socket address as (family 4 or 6, 16 bytes, port); an IPv4-mapped IPv6 one as IPv4 */
static void addr_of(const struct sockaddr_storage *ss, uint8_t *fam, uint8_t a[16], uint16_t *port)
{
    memset(a, 0, 16);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        *fam = 4, *port = ntohs(s4->sin_port);
        memcpy(a, &s4->sin_addr, 4);
        return;
    }
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    *port = ntohs(s6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        *fam = 4;
        memcpy(a, s6->sin6_addr.s6_addr + 12, 4);
    } else {
        *fam = 6;
        memcpy(a, s6->sin6_addr.s6_addr, 16);
    }
}

static bool allowed(const lv_hep *s, uint8_t fam, const uint8_t a[16])
{
    for (int i = 0; i < s->n_allow; i++) {
        const allow *w = &s->allow[i];
        if (w->fam != fam)
            continue;
        int bits = w->bits, k = 0;
        for (; bits >= 8; bits -= 8, k++)
            if (a[k] != w->a[k])
                break;
        if (bits >= 8)
            continue;
        if (bits == 0 || ((a[k] ^ w->a[k]) & (uint8_t)(0xff << (8 - bits))) == 0)
            return true;
    }
    return false;
}

/* "ADDR[/BITS],..." (IPv4 or IPv6); empty: the loopback addresses */
static int parse_allow(lv_hep *s, const char *list, cq_err *err)
{
    const char *l = list && list[0] ? list : "127.0.0.0/8,::1";
    for (const char *p = l; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char item[80];
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= sizeof(item))
            return cq_err_set(err, CQ_ERR_INVALID, "hep_allow: an empty or overlong entry");
        memcpy(item, p, n);
        item[n] = 0;
        if (s->n_allow == ALLOW_MAX)
            return cq_err_set(err, CQ_ERR_RANGE, "hep_allow: more than %d entries", ALLOW_MAX);
        allow *w = &s->allow[s->n_allow];
        char *slash = strchr(item, '/');
        if (slash)
            *slash = 0;
        if (inet_pton(AF_INET, item, w->a) == 1)
            w->fam = 4, w->bits = 32;
        else if (inet_pton(AF_INET6, item, w->a) == 1)
            w->fam = 6, w->bits = 128;
        else
            return cq_err_set(err, CQ_ERR_INVALID,
                              "hep_allow: \"%s\" is not an IPv4 or IPv6 address", item);
        if (slash) {
            char *end;
            long b = strtol(slash + 1, &end, 10);
            if (!slash[1] || *end || b < 0 || b > w->bits)
                return cq_err_set(err, CQ_ERR_RANGE, "hep_allow: \"%s/%s\": a prefix of 0..%d bits",
                                  item, slash + 1, w->bits);
            w->bits = (int)b;
        }
        s->n_allow++;
        p = comma ? comma + 1 : p + n;
    }
    return CQ_OK;
}

/* ---- calls ----------------------------------------------------------------------------------- */

uint64_t lv_hep_call_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static hcall *find_call(const lv_hep *s, const char *cid, size_t n, uint64_t h)
{
    for (hcall *c = s->tab[h & (s->tab_cap - 1)]; c; c = c->hnext)
        if (c->hash == h && c->cid_len == n && !memcmp(c->call_id, cid, n))
            return c;
    return NULL;
}

static void unlink_call(lv_hep *s, hcall *c)
{
    hcall **pp = &s->tab[c->hash & (s->tab_cap - 1)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->newest = c->prev;
    s->n_calls--;
    s->kept -= c->bytes;
}

/* c had a packet: it goes to the end of the list (the list is silent longest first) */
static void touch_call(lv_hep *s, hcall *c)
{
    if (s->newest == c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->oldest = c->next;
    c->next->prev = c->prev; /* c is not the newest: it has a next */
    c->prev = s->newest, c->next = NULL;
    s->newest->next = c;
    s->newest = c;
}

static void free_call(hcall *c)
{
    for (hpkt *k = c->head, *nx; k; k = nx) {
        nx = k->next;
        free(k);
    }
    free(c->call_id);
    free(c);
}

/* ---- the capture written --------------------------------------------------------------------- */

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}
static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += (uint32_t)(p[n - 1] << 8);
    return acc;
}
static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* The headers of one packet's record: IPv4 or IPv6, then UDP, from the agent to port 9060.
 * Their length. */
static size_t headers(lv_hep *s, const hpkt *k, uint8_t h[IP_UDP_MAX])
{
    size_t ip = k->fam == 4 ? 20 : 40, udp_len = 8 + k->len;
    memset(h, 0, IP_UDP_MAX);
    uint8_t *u = h + ip;
    be16(u, k->port), be16(u + 2, HEP_PORT), be16(u + 4, (uint32_t)udp_len);
    uint32_t acc;
    if (k->fam == 4) {
        h[0] = 0x45, h[8] = 64, h[9] = 17;
        be16(h + 2, (uint32_t)(ip + udp_len));
        be16(h + 4, s->ip_id++);
        memcpy(h + 12, k->addr, 4);
        h[16] = 127, h[19] = 1; /* the collector: the loopback address stands for it */
        be16(h + 10, fold(sum16(0, h, 20)));
        acc = sum16(0, h + 12, 8) + 17 + (uint32_t)udp_len;
    } else {
        h[0] = 0x60, h[6] = 17, h[7] = 64;
        be16(h + 4, (uint32_t)udp_len);
        memcpy(h + 8, k->addr, 16);
        h[39] = 1; /* ::1 */
        acc = sum16(0, h + 8, 32) + 17 + (uint32_t)udp_len;
    }
    acc = sum16(acc, u, 8);
    acc = sum16(acc, k->data, k->len);
    uint16_t cs = fold(acc);
    be16(u + 6, cs ? cs : 0xffff);
    return ip + 8;
}

/* Write call c as DIR/hep-EPOCH-HASH[-N].pcap: its name in name; 0 or -1 (errno kept in why). */
static int write_call(lv_hep *s, const hcall *c, char *name, size_t name_n, char *why, size_t why_n)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".hep-%ld-%llu.tmp", (long)getpid(),
             (unsigned long long)s->tmp_seq++);
    int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        snprintf(why, why_n, "%s/%s: %s", s->dir, tmp, strerror(errno));
        return -1;
    }
    uint8_t g[24] = {0};
    le32(g, 0xa1b2c3d4);
    g[4] = 2, g[6] = 4;
    le32(g + 16, 65535);
    le32(g + 20, LINKTYPE_RAW);
    int rc = proc_write_all(fd, g, sizeof(g));
    for (const hpkt *k = c->head; k && rc == 0; k = k->next) {
        uint8_t rec[16], h[IP_UDP_MAX];
        size_t hl = headers(s, k, h);
        le32(rec, (uint32_t)k->sec), le32(rec + 4, (uint32_t)k->usec);
        le32(rec + 8, (uint32_t)(hl + k->len)), le32(rec + 12, (uint32_t)(hl + k->len));
        rc = proc_write_all(fd, rec, 16) || proc_write_all(fd, h, hl) ||
             proc_write_all(fd, k->data, k->len);
    }
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -1;
    int saved = errno;
    close(fd);
    if (rc == 0) {
        rc = -1;
        for (int n = 0; n < 100 && rc != 0; n++) { /* never over another call's file */
            if (n == 0)
                snprintf(name, name_n, "hep-%lld-%016llx.pcap", (long long)c->first_sec,
                         (unsigned long long)c->hash);
            else
                snprintf(name, name_n, "hep-%lld-%016llx-%d.pcap", (long long)c->first_sec,
                         (unsigned long long)c->hash, n);
            rc = linkat(s->dirfd, tmp, s->dirfd, name, 0);
            saved = errno;
            if (rc != 0 && errno != EEXIST)
                break;
        }
    }
    (void)unlinkat(s->dirfd, tmp, 0);
    if (rc != 0)
        snprintf(why, why_n, "%s: %s", s->dir, strerror(saved));
    /* listed as the call's, for a purge run without this collector (manifest.c) */
    char hid[24];
    snprintf(hid, sizeof(hid), "hep-%016llx", (unsigned long long)c->hash);
    const char *const listed[1] = {name};
    if (rc == 0 && lv__manifest_add(s->dirfd, hid, listed, 1, cq_clock_wall_sec()) != 0) {
        snprintf(why, why_n, "%s/%s: %s", s->dir, LV_MANIFEST_NAME, strerror(errno));
        (void)unlinkat(s->dirfd, name, 0);
        rc = -1;
    }
    return rc;
}

/* ---- the folder's bound ---------------------------------------------------------------------- */

/* The bytes of the folder's files (regular files, not below it), counted now. */
static void count_dir(lv_hep *s)
{
    s->counted_mono = cq_clock_mono_sec();
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return; /* the last count stands */
    }
    uint64_t sum = 0;
    for (struct dirent *e; (e = readdir(d));) {
        struct stat st;
        if (fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_size;
    }
    closedir(d);
    s->dir_bytes = sum;
}

/* The size of call c's capture, as write_call writes it. */
static uint64_t capture_bytes(const hcall *c)
{
    uint64_t n = 24;
    for (const hpkt *k = c->head; k; k = k->next)
        n += 16 + (k->fam == 4 ? 28 : 48) + k->len;
    return n;
}

/* Whether need more bytes keep the folder within dir_max_mb: counted again (what others
 * deleted) when it seems not to, at most every RECOUNT_SEC. */
static bool room_for(lv_hep *s, uint64_t need)
{
    uint64_t max = (uint64_t)s->p.dir_max_mb << 20;
    if (s->dir_bytes + need <= max)
        return true;
    if (cq_clock_mono_sec() - s->counted_mono < RECOUNT_SEC)
        return false;
    count_dir(s);
    return s->dir_bytes + need <= max;
}

/* The call is over: written when it carried an INVITE, then let go. */
static void close_call(lv_hep *s, hcall *c, const char *reason)
{
    unlink_call(s, c);
    if (!c->invite) {
        s->st.not_calls++;
        free_call(c);
        return;
    }
    char name[96], why[1200], path[1200];
    uint64_t need = capture_bytes(c);
    if (!room_for(s, need)) {
        s->st.skipped_disk++;
        if (s->p.on_error) {
            char said[sizeof(s->dir) + 400];
            snprintf(said, sizeof(said),
                     "%s holds %llu MiB, at its bound (hep_dir_max_mb %lld): call %.200s (%s, "
                     "%u packets) not written",
                     s->dir, (unsigned long long)(s->dir_bytes >> 20), (long long)s->p.dir_max_mb,
                     c->call_id, reason, c->packets);
            s->p.on_error(s->p.user, said);
        }
        free_call(c);
        return;
    }
    if (write_call(s, c, name, sizeof(name), why, sizeof(why)) != 0) {
        s->st.write_errors++;
        if (s->p.on_error)
            s->p.on_error(s->p.user, why);
        free_call(c);
        return;
    }
    s->st.calls_written++;
    s->dir_bytes += need;
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    if (s->p.on_call) {
        lv_hep_call out = {.path = path,
                           .file = name,
                           .call_id = c->call_id,
                           .first_sec = c->first_sec,
                           .open_sec = c->last_mono - c->first_mono,
                           .packets = c->packets,
                           .dropped = c->dropped,
                           .closed = reason};
        s->p.on_call(s->p.user, &out);
    }
    free_call(c);
}

/* ---- one packet ------------------------------------------------------------------------------ */

static bool key_ok(const lv_hep *s, const net_hep *h)
{
    size_t n = s->key_len;
    if (!n)
        return true;
    if (!h->key || h->key_len != n)
        return false;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(h->key[i] ^ s->key[i]);
    return d == 0;
}

/* One packet from an allowed address: filed with its call. Whether it was a whole packet (HEP
 * that parses, with the key when one is set), whatever became of it then. */
static bool hep_packet(lv_hep *s, const uint8_t *p, size_t n, uint8_t fam, const uint8_t a[16],
                       uint16_t port)
{
    net_hep h;
    const char *why;
    if (net_hep_parse(p, n, &h, &why) != 0) {
        s->st.bad++;
        return false;
    }
    if (!key_ok(s, &h)) {
        s->st.refused_key++;
        return false;
    }
    if (n + IP_UDP_MAX > 65535) {
        s->st.too_big++;
        return true;
    }
    net_sip_glance g;
    bool sip = h.type == 1 && h.payload && net_sip_peek(h.payload, h.payload_len, &g) == 0;
    const char *cid = sip ? g.call_id : h.corr;
    size_t cl = sip ? g.call_id_len : h.corr_len;
    if (!cid || !cl || cl > NET_SIP_CALL_ID_MAX || memchr(cid, 0, cl)) {
        s->st.unfiled++;
        return true;
    }
    uint64_t hh = lv_hep_call_hash(cid, cl);
    double now = cq_clock_mono_sec();
    hcall *c = find_call(s, cid, cl, hh);
    if (!c) {
        if (!sip) { /* a report or a log of no open call */
            s->st.unfiled++;
            return true;
        }
        if (s->n_calls >= (size_t)s->p.max_calls) { /* room made: the call silent longest */
            s->st.closed_full++;
            close_call(s, s->oldest, "full");
        }
        c = calloc(1, sizeof(*c));
        char *id = c ? malloc(cl + 1) : NULL;
        if (!id) {
            free(c);
            s->st.dropped++;
            return true;
        }
        memcpy(id, cid, cl);
        id[cl] = 0;
        c->call_id = id, c->cid_len = cl, c->hash = hh;
        c->first_mono = now;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        c->first_sec = (int64_t)ts.tv_sec; /* the collector's clock: never the agent's time */
        c->hnext = s->tab[hh & (s->tab_cap - 1)];
        s->tab[hh & (s->tab_cap - 1)] = c;
        c->prev = s->newest;
        if (s->newest)
            s->newest->next = c;
        else
            s->oldest = c;
        s->newest = c;
        s->n_calls++;
    }
    c->last_mono = now;
    touch_call(s, c);
    /* memory: the call's own share, then all calls' (the one silent longest written early) */
    size_t need = sizeof(hpkt) + n;
    if (c->bytes + need > (size_t)s->p.call_kib * 1024) {
        c->dropped++, s->st.dropped++;
        return true;
    }
    while (s->kept + need > (size_t)s->p.max_kib * 1024 && s->oldest && s->oldest != c) {
        s->st.closed_memory++;
        close_call(s, s->oldest, "memory");
    }
    if (s->kept + need > (size_t)s->p.max_kib * 1024) {
        c->dropped++, s->st.dropped++;
        return true;
    }
    hpkt *k = malloc(need);
    if (!k) {
        c->dropped++, s->st.dropped++;
        return true;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *k = (hpkt){.sec = ts.tv_sec,
                .usec = (int32_t)(ts.tv_nsec / 1000),
                .fam = fam,
                .port = port,
                .len = (uint32_t)n};
    memcpy(k->addr, a, 16);
    memcpy(k->data, p, n);
    if (c->tail)
        c->tail->next = k;
    else
        c->head = k;
    c->tail = k;
    c->bytes += need, s->kept += need, c->packets++;
    s->st.packets++;
    if (!sip)
        return true;
    /* where the call stands */
    bool invite_tx = !strcmp(g.cseq_method, "INVITE");
    if (g.request && !strcmp(g.method, "INVITE")) {
        c->invite = true;
    } else if (!g.request && invite_tx && g.status >= 200 && g.status < 300) {
        c->answered = true;
    } else if (!g.request && invite_tx && g.status >= 300 && !c->answered && !c->end_at) {
        c->end_at = now + LINGER_SEC, c->end_reason = "rejected";
    } else if (g.request && (!strcmp(g.method, "BYE") || !strcmp(g.method, "CANCEL")) &&
               !c->end_at) {
        c->end_at = now + LINGER_SEC;
        c->end_reason = g.method[0] == 'B' ? "bye" : "cancel";
    }
    return true;
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* Close connection i: the last takes its place. */
static void drop_conn(lv_hep *s, int i)
{
    close(s->conns[i].fd);
    free(s->conns[i].buf);
    s->conns[i] = s->conns[--s->n_conns];
}

static bool tcp_read(lv_hep *s, conn *k);

/* Make room among the connections that have sent no whole packet (of address a only, when a):
 * the one silent longest is read a last time (what it sent may be a whole packet now: then it
 * stays, and the next is tried) and closed. Whether one was closed. */
static bool evict_conn(lv_hep *s, const uint8_t *fam, const uint8_t *a)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < s->n_conns; i++) {
            const conn *k = &s->conns[i];
            if (!k->whole && (!a || (k->fam == *fam && !memcmp(k->addr, a, 16))) &&
                (best < 0 || k->last_mono < s->conns[best].last_mono))
                best = i;
        }
        if (best < 0)
            return false;
        bool open = tcp_read(s, &s->conns[best]);
        if (open && s->conns[best].whole)
            continue;
        if (open)
            s->st.conns_evicted++;
        drop_conn(s, best);
        return true;
    }
}

static void timers(lv_hep *s, double now)
{
    for (hcall *c = s->oldest, *nx; c; c = nx) {
        nx = c->next;
        if (c->end_at && now >= c->end_at)
            close_call(s, c, c->end_reason);
        else if (!c->invite && now - c->last_mono >= LINGER_SEC)
            close_call(s, c, "not_a_call");
        else if (!c->end_at && !c->answered && now - c->last_mono >= s->p.idle_sec)
            close_call(s, c, "idle"); /* (a call ending has its LINGER_SEC, whatever these) */
        else if (!c->end_at && c->answered && now - c->last_mono >= s->p.silent_sec)
            close_call(s, c, "silent");
        else if (now - c->first_mono >= s->p.max_call_sec)
            close_call(s, c, "max_call");
    }
    for (int i = 0; i < s->n_conns;) {
        conn *k = &s->conns[i];
        if (!k->whole && now - k->last_mono >= s->p.conn_first_sec) {
            s->st.conns_first++;
            drop_conn(s, i);
        } else if (k->whole && now - k->last_mono >= s->p.conn_idle_sec) {
            s->st.conns_idle++;
            drop_conn(s, i);
        } else {
            i++;
        }
    }
}

/* A sender refused: counted, and the first packet of each of the first ALLOW_MAX senders said at
 * once (on_refused), so that a proxy sending from an address the list leaves out is seen while
 * the collector runs, not only in the counts at its stop. */
static void refused(lv_hep *s, uint8_t fam, const uint8_t a[16])
{
    s->st.refused_addr++;
    if (!s->p.on_refused || s->n_said == ALLOW_MAX)
        return;
    for (int i = 0; i < s->n_said; i++)
        if (s->said[i].fam == fam && !memcmp(s->said[i].a, a, 16))
            return;
    allow *w = &s->said[s->n_said++];
    w->fam = fam;
    memcpy(w->a, a, 16);
    w->bits = fam == 4 ? 32 : 128;
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, text, sizeof(text)))
        snprintf(text, sizeof(text), "?");
    s->p.on_refused(s->p.user, text);
}

static void udp_read(lv_hep *s)
{
    static uint8_t buf[65536];
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        ssize_t n = recvfrom(s->ufd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            return;
        s->st.datagrams++;
        uint8_t fam, a[16];
        uint16_t port;
        addr_of(&ss, &fam, a, &port);
        if (!allowed(s, fam, a)) {
            refused(s, fam, a);
            continue;
        }
        hep_packet(s, buf, (size_t)n, fam, a, port);
    }
}

static void tcp_accept(lv_hep *s)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(s->tfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        uint8_t fam, a[16];
        uint16_t port;
        addr_of(&ss, &fam, a, &port);
        if (!allowed(s, fam, a)) {
            refused(s, fam, a);
            close(fd);
            continue;
        }
        /* a share of one address among those that have sent no whole packet; then the pool */
        int mine = 0;
        for (int j = 0; j < s->n_conns; j++)
            mine +=
                !s->conns[j].whole && s->conns[j].fam == fam && !memcmp(s->conns[j].addr, a, 16);
        if (mine >= s->p.max_conns_per_addr) /* above max_conns it is the pool's bound */
            (void)evict_conn(s, &fam, a);
        if (s->n_conns >= s->p.max_conns)
            (void)evict_conn(s, NULL, NULL);
        uint8_t *buf = s->n_conns < s->p.max_conns ? malloc(HEP_TCP_BUF) : NULL;
        if (!buf) {
            s->st.conns_refused++;
            close(fd);
            continue;
        }
        conn *k = &s->conns[s->n_conns++];
        *k = (conn){
            .fd = fd, .fam = fam, .port = port, .last_mono = cq_clock_mono_sec(), .buf = buf};
        memcpy(k->addr, a, 16);
        s->st.accepted++;
    }
}

/* Read a connection; false when it is to be closed (closed by the peer, an error, or a stream
 * that is not HEP3 packets back to back). */
static bool tcp_read(lv_hep *s, conn *k)
{
    for (int reads = 0; reads < 16; reads++) { /* then the others' turn: poll comes back */
        ssize_t r = read(k->fd, k->buf + k->n, HEP_TCP_BUF - k->n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (r == 0)
            return false;
        k->n += (size_t)r;
        size_t off = 0;
        while (k->n - off >= 6) {
            const uint8_t *p = k->buf + off;
            size_t len = (size_t)(p[4] << 8 | p[5]);
            if (memcmp(p, "HEP3", 4) || len < 6) {
                s->st.bad++;
                return false;
            }
            if (k->n - off < len)
                break;
            s->st.tcp_packets++;
            if (hep_packet(s, p, len, k->fam, k->addr, k->port)) /* a whole packet: not idle */
                k->whole = true, k->last_mono = cq_clock_mono_sec();
            off += len;
        }
        memmove(k->buf, k->buf + off, k->n - off);
        k->n -= off;
    }
    return true;
}

int lv_hep_run(lv_hep *s)
{
    struct pollfd *pf = calloc((size_t)s->p.max_conns + 3, sizeof(*pf));
    if (!pf)
        return LV_ERR_NOMEM;
    while (!s->stop) {
        pf[0] = (struct pollfd){.fd = s->efd, .events = POLLIN};
        pf[1] = (struct pollfd){.fd = s->ufd, .events = POLLIN};
        pf[2] = (struct pollfd){.fd = s->tfd, .events = POLLIN};
        for (int i = 0; i < s->n_conns; i++)
            pf[3 + i] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
        int nc = s->n_conns;
        int r = poll(pf, (nfds_t)(3 + nc), TICK_MS);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            if (pf[1].revents)
                udp_read(s);
            for (int i = nc - 1; i >= 0;
                 i--) /* from the end: a closed one is replaced by the last */
                if (pf[3 + i].revents && !tcp_read(s, &s->conns[i]))
                    drop_conn(s, i);
            if (pf[2].revents)
                tcp_accept(s);
        }
        timers(s, cq_clock_mono_sec());
    }
    free(pf);
    /* what the agents sent before the stop is read first: the datagrams the socket holds and
     * the bytes of each connection (nothing that reached the collector is lost at a stop) */
    for (int i = 0; i < 64; i++) {
        uint64_t before = s->st.datagrams;
        udp_read(s);
        if (s->st.datagrams - before < UDP_BATCH)
            break;
    }
    for (int i = 0; i < s->n_conns; i++)
        (void)tcp_read(s, &s->conns[i]);
    while (s->oldest)
        close_call(s, s->oldest, "shutdown");
    return LV_OK;
}

void lv_hep_stop(lv_hep *s)
{
    s->stop = 1;
    uint64_t one = 1;
    ssize_t w = write(s->efd, &one, sizeof(one)); /* async-signal-safe */
    (void)w;
}

static bool out_of(cq_err *err, const char *name, double v, double lo, double hi)
{
    if (v >= lo && v <= hi)
        return false;
    cq_err_set(err, CQ_ERR_RANGE, "%s %.15g: out of range %.15g..%.15g", name, v, lo, hi);
    return true;
}

lv_hep *lv_hep_create(const lv_hep_params *p, cq_err *err)
{
    if (!p->host || !p->port || !p->dir || !p->dir[0]) {
        cq_err_set(err, CQ_ERR_INVALID, "a HEP collector needs HOST:PORT and a folder (hep_dir)");
        return NULL;
    }
    if (out_of(err, "hep_idle_sec", p->idle_sec, 1, 86400) ||
        out_of(err, "hep_silent_sec", p->silent_sec, 1, 86400 * 7) ||
        out_of(err, "hep_max_call_sec", p->max_call_sec, 1, 86400 * 7) ||
        out_of(err, "hep_max_calls", p->max_calls, 1, 1000000) ||
        out_of(err, "hep_call_kib", p->call_kib, 64, 1048576) ||
        out_of(err, "hep_max_kib", p->max_kib, p->call_kib, 64 * 1048576.0) ||
        out_of(err, "hep_max_conns", p->max_conns, 1, 65536) ||
        out_of(err, "hep_conns_per_addr", p->max_conns_per_addr, 1, 65536) ||
        out_of(err, "hep_conn_first_sec", p->conn_first_sec, 0.1, 3600) ||
        out_of(err, "hep_conn_idle_sec", p->conn_idle_sec, 1, 86400) ||
        out_of(err, "hep_dir_max_mb", (double)p->dir_max_mb, 1, 1 << 30))
        return NULL;
    if (p->key && strlen(p->key) > 1024) {
        cq_err_set(err, CQ_ERR_RANGE, "hep_key_file: a key longer than 1024 bytes");
        return NULL;
    }
    lv_hep *s = calloc(1, sizeof(*s));
    if (!s) {
        cq_err_set(err, CQ_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->p = *p;
    s->p.key = NULL; /* s->key holds it */
    s->dirfd = s->ufd = s->tfd = s->efd = -1;
    if (p->key && p->key[0]) {
        s->key_len = strlen(p->key);
        s->key = malloc(s->key_len + 1);
        if (!s->key) {
            cq_err_set(err, CQ_ERR_NOMEM, "out of memory");
            goto fail_quiet;
        }
        memcpy(s->key, p->key, s->key_len + 1);
    }
    snprintf(s->dir, sizeof(s->dir), "%s", p->dir);
    lv_error e;
    lv__clear(&e);
    if (parse_allow(s, p->allow, err) != CQ_OK)
        goto fail_quiet;
    s->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        cq_err_set(err, CQ_ERR_IO, "hep_dir %s: %s", p->dir, strerror(errno));
        goto fail_quiet;
    }
    count_dir(s);
    s->tab_cap = 1;
    while (s->tab_cap < (size_t)p->max_calls * 2 && s->tab_cap < (1u << 22))
        s->tab_cap <<= 1;
    s->tab = calloc(s->tab_cap, sizeof(*s->tab));
    s->conns = calloc((size_t)p->max_conns, sizeof(*s->conns));
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!s->tab || !s->conns || s->efd < 0) {
        cq_err_set(err, CQ_ERR_NOMEM, "out of memory");
        goto fail_quiet;
    }
    /* TCP on the port UDP was given; with port "0" the port UDP got, which TCP may find taken
     * by another program: then another pair, a few times */
    bool any = !strcmp(p->port, "0");
    for (int tries = 0; tries < (any ? 32 : 1); tries++) {
        char tport[16];
        if (lv__listen(p->host, p->port, SOCK_DGRAM, &s->ufd, &s->uport, &e) != LV_OK)
            break;
        snprintf(tport, sizeof(tport), "%d", s->uport);
        if (lv__listen(p->host, tport, SOCK_STREAM, &s->tfd, &s->tport, &e) == LV_OK)
            return s;
        close(s->ufd);
        s->ufd = -1;
    }
    cq_err_set(err, CQ_ERR_IO, "%s", e.msg);
    goto fail_quiet;
fail_quiet:
    lv_hep_destroy(s);
    return NULL;
}

int lv_hep_port(const lv_hep *s, bool tcp)
{
    return tcp ? s->tport : s->uport;
}

void lv_hep_get_stats(const lv_hep *s, lv_hep_stats *out)
{
    *out = s->st;
    out->open_calls = s->n_calls;
    out->kept_kib = s->kept / 1024;
    out->conns = (uint64_t)s->n_conns;
    out->dir_mb = s->dir_bytes >> 20;
}

void lv_hep_destroy(lv_hep *s)
{
    if (!s)
        return;
    while (s->oldest) { /* lv_hep_run never ran: nothing kept to write */
        hcall *c = s->oldest;
        unlink_call(s, c);
        free_call(c);
    }
    for (int i = 0; i < s->n_conns; i++) {
        close(s->conns[i].fd);
        free(s->conns[i].buf);
    }
    int fds[] = {s->dirfd, s->ufd, s->tfd, s->efd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (s->key) {
        memset(s->key, 0, s->key_len);
        free(s->key);
    }
    free(s->conns);
    free(s->tab);
    free(s);
}
