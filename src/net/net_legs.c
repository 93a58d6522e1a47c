/*
 * net_legs.c - the legs of one call across a B2BUA or an SBC: a PBX that takes a call in and places
 * another out (Asterisk, FreeSWITCH, an SBC) makes two SIP dialogs of one conversation, each
 * with its own Call-ID. Which INVITE dialogs of a capture are legs of one call, by these rules
 * (docs/network/sip.md, "Legs of one call"):
 *
 *   call_id_header  a header of one leg names the other's Call-ID (X-CID, X-Call-ID,
 *                   X-Orig-Call-ID, X-Original-Call-ID: what Kamailio, SEMS and SBCs add);
 *   session_id      both carry one Session-ID (RFC 7989: its UUID, not the null one);
 *   icid            both carry one P-Charging-Vector icid-value (IMS, SBCs);
 *   linkedid        both carry one Asterisk linkedid (X-Asterisk-Linkedid, X-Linkedid: the
 *                   dialplan's own header of the call's first channel);
 *   time            the later leg leaves the host the earlier one went to (the earlier's callee
 *                   address is the later's caller address), begins while the earlier is up (from
 *                   its INVITE to its end, or the capture's end), and carries the same caller
 *                   (the From's user part; a number by its last 7 digits), or the same number
 *                   dialled (the last 7 digits of the Request-URI's user part, all of them under
 *                   7, against the later's Request-URI or To), or the same media (the SDP
 *                   offer's address and port: a B2BUA that passes media through); exactly one
 *                   earlier leg must fit, or none is taken (never a guess). A leg may have
 *                   several later legs (a ring group, a fork).
 *
 * The links join into calls (union-find): each INVITE dialog gets its call's reference (the
 * 64-bit FNV-1a of its first leg's Call-ID, shown as 16 hex digits), its place among the call's
 * legs by start, and the rule and detail of the link that joined it. The dialogs stay one flat
 * list. Bounded: two messages of each dialog (its first INVITE and the first 2xx to it) are read
 * for the headers, and the time rule finds its candidates through a hash of (host, caller |
 * number | media).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net_int.h"

#define DIGITS_KEY 7 /* the number's digits compared: the last 7 (national prefixes differ) */

typedef struct leg_keys {
    uint64_t session, icid, linkedid; /* 0: none */
    uint64_t refs[4];                 /* the Call-IDs its headers name */
    int n_refs;
    uint64_t from_user, digits, media; /* identity for the time rule; 0 none */
    uint64_t to_digits;                /* the later leg's number may be in its To */
} leg_keys;

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
#define FNV0 1469598103934665603ull

static uint64_t str_key(const char *s, size_t n)
{
    uint64_t h = fnv(s, n, FNV0);
    return h ? h : 1;
}

/* the user part of a URI in s ("sip:user@host", "<sips:...>", "tel:+1..."); "" none */
static size_t uri_user(const char *s, const char **user)
{
    *user = "";
    if (!s)
        return 0;
    const char *p = strcasestr(s, "sip:");
    size_t skip = 4;
    if (!p && (p = strcasestr(s, "sips:")))
        skip = 5;
    if (!p && (p = strcasestr(s, "tel:")))
        skip = 4;
    if (!p)
        return 0;
    p += skip;
    size_t n = strcspn(p, "@;>? \t");
    if (p[n] != '@' && skip != 4) /* sip: with no user part: a host only */
        return 0;
    *user = p;
    return n;
}

/* the last DIGITS_KEY digits of a user part (all of them under that, 3 at least): its key */
static uint64_t digits_key(const char *u, size_t n)
{
    char d[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof(d); i++)
        if (isdigit((unsigned char)u[i]))
            d[k++] = u[i];
    if (k < 3)
        return 0;
    size_t from = k > DIGITS_KEY ? k - DIGITS_KEY : 0;
    return str_key(d + from, k - from);
}

/* a header's value into buf, trimmed; NULL when absent or empty */
static const char *header(const net_sip_msg *m, const char *name, char *buf, size_t n)
{
    const char *v = net_sip_header(m, name, 0, buf, n);
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t l = strlen(v);
    while (l && isspace((unsigned char)v[l - 1]))
        l--;
    if (!l)
        return NULL;
    memmove(buf, v, l); /* v lies in buf */
    buf[l] = 0;
    return buf;
}

static void keys_of(const net_capture *c, const net_sip_dialog *d, leg_keys *k)
{
    memset(k, 0, sizeof(*k));
    char buf[512];
    static const char *const ref_names[] = {"X-CID", "X-Call-ID", "X-Orig-Call-ID",
                                            "X-Original-Call-ID"};
    static const char *const linked_names[] = {"X-Asterisk-Linkedid", "X-Linkedid"};
    const net_sip_msg *invite = NULL, *ok = NULL;
    for (size_t i = 0; i < d->n_msgs && !(invite && ok); i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        if (!invite && m->request && !strcmp(m->method, "INVITE"))
            invite = m;
        else if (!ok && !m->request && m->status >= 200 && m->status < 300 && m->cseq_method &&
                 !strcmp(m->cseq_method, "INVITE"))
            ok = m;
    }
    /* the headers of its first INVITE and of the first 2xx to it: where a B2BUA, a proxy or an
     * SBC puts a call's identifiers (each message read once per name, two messages a dialog) */
    const net_sip_msg *read[2] = {invite, ok};
    for (size_t i = 0; i < 2; i++) {
        const net_sip_msg *m = read[i];
        if (!m)
            continue;
        const char *v;
        if (!k->session && (v = header(m, "Session-ID", buf, sizeof(buf)))) {
            size_t n = strcspn(v, "; \t");
            if (n == 32 && strspn(v, "0") < 32)
                k->session = str_key(v, n) ^ 0x5e55;
        }
        if (!k->icid && (v = header(m, "P-Charging-Vector", buf, sizeof(buf)))) {
            const char *p = strcasestr(v, "icid-value");
            if (p && (p = strchr(p, '='))) {
                p++;
                while (*p == ' ' || *p == '"')
                    p++;
                size_t n = strcspn(p, "\"; \t");
                if (n >= 4)
                    k->icid = str_key(p, n) ^ 0x1c1d;
            }
        }
        for (size_t j = 0; j < sizeof(linked_names) / sizeof(*linked_names) && !k->linkedid; j++)
            if ((v = header(m, linked_names[j], buf, sizeof(buf))) && strlen(v) >= 4)
                k->linkedid = str_key(v, strlen(v)) ^ 0x11d;
        for (size_t j = 0; j < sizeof(ref_names) / sizeof(*ref_names) && k->n_refs < 4; j++)
            if ((v = header(m, ref_names[j], buf, sizeof(buf))) && strlen(v) >= 4) {
                uint64_t r = str_key(v, strlen(v));
                bool seen = false;
                for (int x = 0; x < k->n_refs; x++)
                    seen |= k->refs[x] == r;
                if (!seen)
                    k->refs[k->n_refs++] = r;
            }
    }
    const char *u;
    size_t n = uri_user(d->from, &u);
    if (n && !(n == 9 && !strncasecmp(u, "anonymous", 9))) { /* a number by its digits */
        uint64_t dk = digits_key(u, n);
        k->from_user = (dk ? dk : str_key(u, n)) ^ 0xf00;
    }
    if (invite && (n = uri_user(invite->uri, &u)))
        k->digits = digits_key(u, n);
    if ((n = uri_user(d->to, &u)))
        k->to_digits = digits_key(u, n);
    if (d->offer.present && d->offer.port && !d->offer.hold_addr) {
        uint64_t h = fnv(&d->offer.addr, sizeof(d->offer.addr), FNV0);
        k->media = fnv(&d->offer.port, sizeof(d->offer.port), h) | 1;
    }
}

/* ---- union-find ------------------------------------------------------------------------------ */

static size_t root(size_t *up, size_t i)
{
    while (up[i] != i)
        i = up[i] = up[up[i]];
    return i;
}

/* join b's call to a's; the rule and detail go on b (the later leg) when it has none */
static void join(net_capture *c, size_t *up, size_t a, size_t b, const char *rule,
                 const char *detail)
{
    size_t ra = root(up, a), rb = root(up, b);
    if (ra == rb)
        return;
    up[rb] = ra;
    net_sip_dialog *x = &c->dialogs[a], *y = &c->dialogs[b];
    net_sip_dialog *later = y->start_sec >= x->start_sec ? y : x, *other = later == y ? x : y;
    if (later->linked_by) /* it has its own link: the earlier one's, unless it is the first */
        later = other;
    if (!later->linked_by) {
        later->linked_by = rule;
        snprintf(later->link_detail, sizeof(later->link_detail), "%s", detail);
    }
}

/* ---- a hash of keys to dialogs --------------------------------------------------------------- */

typedef struct khash {
    uint64_t *key;
    size_t *dlg, *next, *head; /* chains: head[slot] -> entry -> next */
    size_t n, cap, slots;
} khash;

static bool kh_init(khash *h, size_t cap)
{
    memset(h, 0, sizeof(*h));
    h->slots = 64;
    while (h->slots < cap * 2)
        h->slots *= 2;
    h->key = malloc(cap * sizeof(uint64_t));
    h->dlg = malloc(cap * sizeof(size_t));
    h->next = malloc(cap * sizeof(size_t));
    h->head = malloc(h->slots * sizeof(size_t));
    if (!h->key || !h->dlg || !h->next || !h->head)
        return false;
    for (size_t i = 0; i < h->slots; i++)
        h->head[i] = SIZE_MAX;
    h->cap = cap;
    return true;
}

static void kh_put(khash *h, uint64_t key, size_t dlg)
{
    if (!key || h->n == h->cap)
        return;
    size_t s = (size_t)(key * 0x9e3779b97f4a7c15ull >> 7) & (h->slots - 1);
    h->key[h->n] = key, h->dlg[h->n] = dlg, h->next[h->n] = h->head[s];
    h->head[s] = h->n++;
}

static size_t kh_first(const khash *h, uint64_t key)
{
    if (!key)
        return SIZE_MAX;
    size_t e = h->head[(size_t)(key * 0x9e3779b97f4a7c15ull >> 7) & (h->slots - 1)];
    while (e != SIZE_MAX && h->key[e] != key)
        e = h->next[e];
    return e;
}

static size_t kh_next(const khash *h, size_t e)
{
    uint64_t key = h->key[e];
    for (e = h->next[e]; e != SIZE_MAX && h->key[e] != key;)
        e = h->next[e];
    return e;
}

static void kh_free(khash *h)
{
    free(h->key), free(h->dlg), free(h->next), free(h->head);
}

static uint64_t host_key(const net_addr *a, uint64_t what, uint64_t v)
{
    if (!v)
        return 0;
    uint64_t h = fnv(a, sizeof(*a), FNV0 ^ what);
    return fnv(&v, sizeof(v), h) | 1;
}

/* ---- the rules ------------------------------------------------------------------------------- */

static bool is_invite(const net_sip_dialog *d)
{
    return d->method && !strcmp(d->method, "INVITE") && d->n_msgs;
}

/* the header rules: dialogs sharing a key, or naming another's Call-ID */
static void by_headers(net_capture *c, const leg_keys *k, size_t *up, khash *ids)
{
    for (size_t i = 0; i < c->n_dialogs; i++)
        if (is_invite(&c->dialogs[i]))
            kh_put(ids, str_key(c->dialogs[i].call_id, strlen(c->dialogs[i].call_id)), i);
    for (size_t i = 0; i < c->n_dialogs; i++) {
        if (!is_invite(&c->dialogs[i]))
            continue;
        for (int r = 0; r < k[i].n_refs; r++)
            for (size_t e = kh_first(ids, k[i].refs[r]); e != SIZE_MAX; e = kh_next(ids, e))
                if (ids->dlg[e] != i) {
                    char det[128];
                    snprintf(det, sizeof(det), "a header names the Call-ID %.100s",
                             c->dialogs[ids->dlg[e]].call_id);
                    join(c, up, ids->dlg[e], i, "call_id_header", det);
                }
    }
    static const char *const rule[] = {"session_id", "icid", "linkedid"};
    static const char *const what[] = {"the same Session-ID", "the same P-Charging-Vector icid",
                                       "the same Asterisk linkedid"};
    for (int r = 0; r < 3; r++) {
        khash h;
        if (!kh_init(&h, c->n_dialogs)) {
            kh_free(&h);
            return;
        }
        for (size_t i = 0; i < c->n_dialogs; i++) {
            if (!is_invite(&c->dialogs[i]))
                continue;
            uint64_t key = r == 0 ? k[i].session : r == 1 ? k[i].icid : k[i].linkedid;
            size_t e = kh_first(&h, key);
            if (e != SIZE_MAX)
                join(c, up, h.dlg[e], i, rule[r], what[r]);
            else
                kh_put(&h, key, i);
        }
        kh_free(&h);
    }
}

/* the time rule: for each leg, the one earlier leg it can continue */
static void by_time(net_capture *c, const leg_keys *k, size_t *up)
{
    khash h;
    if (!kh_init(&h, c->n_dialogs * 3)) {
        kh_free(&h);
        return;
    }
    for (size_t i = 0; i < c->n_dialogs; i++) { /* each leg, by the host it went to */
        const net_sip_dialog *d = &c->dialogs[i];
        if (!is_invite(d))
            continue;
        kh_put(&h, host_key(&d->callee, 1, k[i].from_user), i);
        kh_put(&h, host_key(&d->callee, 2, k[i].digits), i);
        kh_put(&h, host_key(&d->callee, 3, k[i].media), i);
    }
    double end_all = 0;
    for (size_t i = 0; i < c->n_dialogs; i++)
        if (c->dialogs[i].end_sec > end_all)
            end_all = c->dialogs[i].end_sec;
    for (size_t b = 0; b < c->n_dialogs; b++) {
        const net_sip_dialog *db = &c->dialogs[b];
        if (!is_invite(db))
            continue;
        uint64_t q[4] = {
            host_key(&db->caller, 1, k[b].from_user), host_key(&db->caller, 2, k[b].digits),
            host_key(&db->caller, 2, k[b].to_digits), host_key(&db->caller, 3, k[b].media)};
        static const char *const by[] = {"the same caller", "the same number", "the same number",
                                         "the same media address"};
        size_t found = SIZE_MAX;
        int n = 0, how = -1;
        for (int w = 0; w < 4; w++)
            for (size_t e = kh_first(&h, q[w]); e != SIZE_MAX; e = kh_next(&h, e)) {
                size_t a = h.dlg[e];
                const net_sip_dialog *da = &c->dialogs[a];
                double until = da->end_sec > da->start_sec ? da->end_sec : end_all;
                if (a == b || !net_addr_equal(&da->callee, &db->caller) ||
                    db->start_sec < da->start_sec || db->start_sec > until)
                    continue;
                if (found == SIZE_MAX)
                    found = a, how = w, n = 1;
                else if (a != found)
                    n = 2;
            }
        if (n != 1)
            continue; /* none, or several earlier legs fit: no guess */
        char host[NET_ADDR_STRLEN], det[128];
        snprintf(det, sizeof(det), "%s, through %s, %.3f s after", by[how],
                 net_addr_str(&db->caller, host, sizeof(host)),
                 db->start_sec - c->dialogs[found].start_sec);
        join(c, up, found, b, "time", det);
    }
    kh_free(&h);
}

static int by_start(const void *x, const void *y, void *u)
{
    const net_capture *c = u;
    double a = c->dialogs[*(const size_t *)x].start_sec,
           b = c->dialogs[*(const size_t *)y].start_sec;
    return a < b   ? -1
           : a > b ? 1
                   : (*(const size_t *)x > *(const size_t *)y) -
                         (*(const size_t *)x < *(const size_t *)y);
}

void net__legs(net_capture *c)
{
    size_t n = c->n_dialogs;
    if (!n)
        return;
    leg_keys *k = calloc(n, sizeof(*k));
    size_t *up = malloc(n * sizeof(size_t)), *order = malloc(n * sizeof(size_t));
    size_t *count = calloc(n, sizeof(size_t));
    khash ids;
    memset(&ids, 0, sizeof(ids));
    bool ok = k && up && order && count && kh_init(&ids, n);
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            up[i] = i;
            if (is_invite(&c->dialogs[i]))
                keys_of(c, &c->dialogs[i], &k[i]);
        }
        by_headers(c, k, up, &ids);
        by_time(c, k, up);
        /* each call's legs by start: the first names the call */
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (is_invite(&c->dialogs[i]))
                order[m++] = i;
        qsort_r(order, m, sizeof(size_t), by_start, c);
        for (size_t x = 0; x < m; x++) {
            size_t i = order[x], r = root(up, i);
            net_sip_dialog *d = &c->dialogs[i];
            if (count[r] == 0) /* the first leg of its call */
                c->dialogs[r].call_ref = str_key(d->call_id, strlen(d->call_id));
            d->leg = (int)count[r]++;
            if (d->leg == 0)
                d->linked_by = NULL, d->link_detail[0] = 0;
        }
        for (size_t x = 0; x < m; x++) {
            size_t i = order[x], r = root(up, i);
            c->dialogs[i].call_ref = c->dialogs[r].call_ref;
            c->dialogs[i].n_legs = (int)count[r];
        }
    }
    kh_free(&ids);
    free(k), free(up), free(order), free(count);
}
