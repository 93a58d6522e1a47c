/*
 * watch.c - `callqa ingest watch` (ingest.h): the recordings written into a folder, into the
 * store, each once it is complete.
 *
 * DESIGN
 * One thread. inotify watches the folder and every subfolder (a new subfolder is watched, and
 * read, as it appears). A file is complete when its writer closes it (IN_CLOSE_WRITE), when it
 * is renamed into the tree (IN_MOVED_TO), or when its size and mtime have not changed for
 * settle_sec (a writer that keeps it open; NFS, where inotify sees nothing): the files not yet
 * complete are looked at twice a second. The tree is read at start (nothing written while no
 * watcher ran is lost), every rescan_sec, and after an inotify queue overflow. A complete file
 * joins its recording's group (by recording id, from its name); ingest_watch_decide says when
 * the group goes into the store: legs pair at once, a plain file goes at once, a mix or a lone
 * leg waits pair_wait_sec for legs. Enqueueing is idempotent (ingest_call_create, store_call_put on
 * source and recording id), and a group first looks the call up in the store: a restart, a rescan
 * or the same file seen twice stores nothing again; only a pair completing a stored call changes
 * it. The files of a group put (or found in the store) are remembered by path and not looked at
 * again. One watcher per source across processes: the source's lease in the store, renewed
 * every third of it. Unpaired legs still waiting at SIGTERM are not stored: the next start's
 * read of the tree finds them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_clock.h"
#include "callqa/cq_legs.h"
#include "ingest.h"
#include "../store/store_calls.h"
#include "../store/store_jobs.h"

/* ---- the pure parts: names, decisions, settling ------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static unsigned dec(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static unsigned days_in(unsigned y, unsigned m)
{
    static const unsigned k[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : k[m - 1];
}

/* ViciDial's default campaign recording name FULLDATE_CUSTPHONE (FULLDATE is YYYYMMDD-HHMMSS),
 * and FULLDATE_CUSTPHONE_AGENT: the date, and the agent when there. Anything else: nothing. */
static void parse_vicidial(const char *stem, size_t n, ingest_watch_name *out)
{
    if (n < 17 || stem[8] != '-' || stem[15] != '_' || !all_digits(stem, 8) ||
        !all_digits(stem + 9, 6))
        return;
    const char *p = stem + 16, *end = stem + n;
    const char *us = memchr(p, '_', (size_t)(end - p));
    size_t pl = (size_t)((us ? us : end) - p);
    if (pl > 20 || !all_digits(p, pl))
        return;
    const char *agent = us ? us + 1 : NULL;
    size_t al = agent ? (size_t)(end - agent) : 0;
    if (agent && (al < 1 || al > 20))
        return;
    for (size_t i = 0; i < al; i++) {
        char ch = agent[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              ch == '-' || ch == '.'))
            return;
    }
    unsigned y = dec(stem, 4), mo = dec(stem + 4, 2), d = dec(stem + 6, 2);
    unsigned h = dec(stem + 9, 2), mi = dec(stem + 11, 2), s = dec(stem + 13, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 || s > 59)
        return;
    snprintf(out->call_date, sizeof(out->call_date), "%04u-%02u-%02u %02u:%02u:%02u", y % 10000,
             mo % 100, d % 100, h % 100, mi % 100, s % 100);
    if (agent) {
        memcpy(out->agent_user, agent, al);
        out->agent_user[al] = 0;
    }
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && !memcmp(s + n - k, suf, k);
}

int ingest_watch_parse_name(const char *name, ingest_watch_name *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(out, 0, sizeof(*out));
    size_t n = strlen(name);
    if (n == 0 || n > 255) {
        *why = "not a file name (1-255 bytes)";
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '/') {
            *why = "a control character or '/' in the name";
            return 0;
        }
    if (name[0] == '.') {
        *why = "a temporary name (a leading '.'): taken once renamed";
        return 0;
    }
    const char *dot = strrchr(name, '.');
    const char *ext = dot ? dot + 1 : "";
    if (!strcasecmp(ext, "part") || !strcasecmp(ext, "tmp") || !strcasecmp(ext, "partial")) {
        *why = "a temporary name (.part, .tmp): taken once renamed";
        return 0;
    }
    if (strcasecmp(ext, "wav") && strcasecmp(ext, "mp3") && strcasecmp(ext, "gsm")) {
        *why = "not audio (.wav, .mp3, .gsm)";
        return 0;
    }
    size_t sn = (size_t)(dot - name);
    out->kind = INGEST_WATCH_PLAIN;
    static const struct {
        const char *suf;
        int kind;
    } k_leg[] = {{"-in", INGEST_WATCH_IN}, {"-out", INGEST_WATCH_OUT}, {"-all", INGEST_WATCH_MIX}};
    for (size_t i = 0; i < sizeof(k_leg) / sizeof(k_leg[0]); i++)
        if (has_suffix(name, sn, k_leg[i].suf)) {
            out->kind = k_leg[i].kind;
            sn -= strlen(k_leg[i].suf);
            break;
        }
    if (sn == 0) {
        *why = "no name before the extension or the -in/-out/-all suffix";
        return 0;
    }
    if (sn < sizeof(out->recording_id)) {
        memcpy(out->recording_id, name, sn);
        out->recording_id[sn] = 0;
    } else { /* a prefix and the whole name's hash: the same for every file of the recording */
        uint64_t hash = 1469598103934665603ull;
        for (size_t i = 0; i < sn; i++)
            hash = (hash ^ (unsigned char)name[i]) * 1099511628211ull;
        size_t cut = 47;
        while (cut > 44 && ((unsigned char)name[cut] & 0xC0) == 0x80)
            cut--; /* not inside a UTF-8 sequence (at most 4 bytes long) */
        memcpy(out->recording_id, name, cut);
        snprintf(out->recording_id + cut, sizeof(out->recording_id) - cut, "~%016llx",
                 (unsigned long long)hash);
    }
    parse_vicidial(name, sn, out);
    *why = NULL;
    return 1;
}

ingest_watch_action ingest_watch_decide(unsigned have, unsigned stubs, unsigned known,
                                        double first_sec, double now_sec, double pair_wait_sec,
                                        double *wake_sec)
{
    const unsigned legs = INGEST_WATCH_IN | INGEST_WATCH_OUT;
    *wake_sec = 0;
    if ((have & legs) == legs)
        return (known & legs) == legs ? INGEST_WATCH_NOTHING : INGEST_WATCH_PAIR;
    if (known & INGEST_WATCH_KNOWN)
        return INGEST_WATCH_NOTHING; /* stored: only a pair changes it */
    if (have & INGEST_WATCH_PLAIN)
        return INGEST_WATCH_WHOLE;
    if (!have && !stubs)
        return INGEST_WATCH_NOTHING;
    if (now_sec < first_sec + pair_wait_sec) {
        *wake_sec = first_sec + pair_wait_sec;
        return INGEST_WATCH_WAIT;
    }
    if (have & INGEST_WATCH_MIX)
        return INGEST_WATCH_WHOLE;
    if (have & legs)
        return INGEST_WATCH_LONE;
    return INGEST_WATCH_STUB;
}

int ingest_watch_settle(ingest_watch_obs *o, long long size, int64_t mtime_ns, double now_sec,
                        double settle_sec)
{
    if (o->looks == 0 || size != o->size || mtime_ns != o->mtime_ns) {
        o->size = size;
        o->mtime_ns = mtime_ns;
        o->since_sec = now_sec;
        o->looks = 1;
        return 0;
    }
    o->looks++;
    return now_sec - o->since_sec >= settle_sec ? 1 : 0;
}

/* ---- logging ------------------------------------------------------------------------------- */

/* ---- the watcher's state ------------------------------------------------------------------- */

enum { F_PENDING = 0, F_GROUPED, F_DONE };
enum { SLOT_IN = 0, SLOT_OUT, SLOT_MIX, SLOT_PLAIN, N_SLOTS };

/* A file seen: by its absolute path. */
typedef struct wfile {
    char *path;
    int state;     /* F_PENDING: not yet complete; F_GROUPED: in a group; F_DONE */
    bool complete; /* closed by its writer or renamed in: settled at the next look */
    bool at_start; /* found by the start-up read (its mtime starts the pair wait) */
    ingest_watch_obs obs;
    struct wfile *next; /* hash chain */
} wfile;

/* The complete files of one recording. */
typedef struct group {
    ingest_watch_name nm; /* from its first file: recording id, date, agent */
    char *path[N_SLOTS];  /* (owned) in, out, mix, plain; NULL none */
    bool stub[N_SLOTS];   /* that file is under min_size */
    unsigned known;       /* what the store has (INGEST_WATCH_KNOWN, _IN|_OUT) */
    double first;         /* when its first file was complete */
} group;

typedef struct watcher {
    const ingest_watch_config *c;
    char root[PATH_MAX];
    char tz[64];
    char owner[128];
    store *st;
    int ifd;
    struct {
        int wd;
        char *path;
    } * wds;
    size_t n_wds, cap_wds;
    wfile **tab; /* hash table of the files seen */
    size_t tab_n, tab_cap;
    wfile **pending; /* those not yet complete */
    size_t n_pending, cap_pending;
    group *groups;
    size_t n_groups, cap_groups;
    bool watch_limit_logged;
    struct {
        long long created, updated, known, lone, vanished, overflow;
    } n;
} watcher;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Grow *arr (of elem bytes, *cap entries) to hold one more. 0 or -1. */
static int grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*(void **)arr, nc * elem);
    if (!p)
        return -1;
    *(void **)arr = p;
    *cap = nc;
    return 0;
}

static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static wfile *file_find(watcher *w, const char *path)
{
    if (!w->tab_cap)
        return NULL;
    for (wfile *f = w->tab[hash_of(path) % w->tab_cap]; f; f = f->next)
        if (!strcmp(f->path, path))
            return f;
    return NULL;
}

static wfile *file_add(watcher *w, const char *path)
{
    if (w->tab_n + 1 > w->tab_cap) { /* rehash at load 1 */
        size_t nc = w->tab_cap ? w->tab_cap * 2 : 1024;
        wfile **nt = calloc(nc, sizeof(*nt));
        if (!nt)
            return NULL;
        for (size_t i = 0; i < w->tab_cap; i++)
            for (wfile *f = w->tab[i], *nx; f; f = nx) {
                nx = f->next;
                size_t b = hash_of(f->path) % nc;
                f->next = nt[b];
                nt[b] = f;
            }
        free(w->tab);
        w->tab = nt;
        w->tab_cap = nc;
    }
    wfile *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    size_t b = hash_of(path) % w->tab_cap;
    f->next = w->tab[b];
    w->tab[b] = f;
    w->tab_n++;
    return f;
}

static void pending_drop(watcher *w, wfile *f)
{
    for (size_t i = 0; i < w->n_pending; i++)
        if (w->pending[i] == f) {
            w->pending[i] = w->pending[--w->n_pending];
            return;
        }
}

static void file_remove(watcher *w, wfile *f)
{
    pending_drop(w, f);
    wfile **pp = &w->tab[hash_of(f->path) % w->tab_cap];
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    w->tab_n--;
    free(f->path);
    free(f);
}

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int slot_of(int kind)
{
    return kind == INGEST_WATCH_IN    ? SLOT_IN
           : kind == INGEST_WATCH_OUT ? SLOT_OUT
           : kind == INGEST_WATCH_MIX ? SLOT_MIX
                                      : SLOT_PLAIN;
}

static void group_free(group *g)
{
    for (int i = 0; i < N_SLOTS; i++)
        free(g->path[i]);
}

/* The files of g done with: remembered, not looked at again. */
static void group_done(watcher *w, group *g)
{
    for (int i = 0; i < N_SLOTS; i++) {
        wfile *f = g->path[i] ? file_find(w, g->path[i]) : NULL;
        if (f)
            f->state = F_DONE;
    }
}

/* ---- into the store ------------------------------------------------------------------------ */

/* The expected path of the leg that did not come, beside the one that did. */
static void other_leg(const char *have, bool have_in, char *out, size_t n)
{
    const char *base = base_of(have);
    const char *dot = strrchr(base, '.');
    size_t stem = (size_t)(dot - have) - (have_in ? 3 : 4);
    snprintf(out, n, "%.*s%s%s", (int)stem, have, have_in ? "-out" : "-in", dot);
}

static int put_group(watcher *w, group *g, ingest_watch_action a)
{
    const char *src = w->c->source;
    store_call c;
    memset(&c, 0, sizeof(c));
    snprintf(c.source, sizeof(c.source), "%s", src);
    memcpy(c.recording_id, g->nm.recording_id, sizeof(c.recording_id));
    memcpy(c.call_date, g->nm.call_date, sizeof(c.call_date));
    memcpy(c.agent_user, g->nm.agent_user, sizeof(c.agent_user));
    snprintf(c.tz, sizeof(c.tz), "%s", w->tz);
    c.call_epoch = -1;
    c.length_sec = -1;
    if (c.call_date[0] && ingest_local_to_utc(c.call_date, w->tz, &c.call_epoch) != 0)
        c.call_epoch = -1;
    const char *whole = g->path[SLOT_PLAIN] ? g->path[SLOT_PLAIN] : g->path[SLOT_MIX];
    char missing[PATH_MAX + 8] = "";
    int s_lone = -1;
    switch (a) {
    case INGEST_WATCH_PAIR:
        snprintf(c.audio_in, sizeof(c.audio_in), "%s", g->path[SLOT_IN]);
        snprintf(c.audio_out, sizeof(c.audio_out), "%s", g->path[SLOT_OUT]);
        if (whole && !g->stub[whole == g->path[SLOT_PLAIN] ? SLOT_PLAIN : SLOT_MIX])
            snprintf(c.audio, sizeof(c.audio), "%s", whole);
        break;
    case INGEST_WATCH_WHOLE: snprintf(c.audio, sizeof(c.audio), "%s", whole); break;
    case INGEST_WATCH_LONE:
        s_lone = g->path[SLOT_IN] && !g->stub[SLOT_IN] ? SLOT_IN : SLOT_OUT;
        snprintf(c.audio, sizeof(c.audio), "%s", g->path[s_lone]);
        other_leg(g->path[s_lone], s_lone == SLOT_IN, missing, sizeof(missing));
        break;
    default: /* stubs only: the worker skips the call ("stub: ...") */
        for (int i = 0; i < N_SLOTS && !c.audio[0]; i++)
            if (g->path[i])
                snprintf(c.audio, sizeof(c.audio), "%s", g->path[i]);
        break;
    }
    ingest_created made;
    cq_err err;
    if (ingest_call_create(w->st, &c, NULL, &made, &err) != 0) {
        char more[300], jb[200];
        snprintf(more, sizeof(more), "\"error\":%s", ingest_json_str(err.msg, jb, sizeof(jb)));
        ingest_log("error", src, "the store refused a call", more);
        return -1;
    }
    int64_t id = made.id;
    bool created = made.created;
    w->n.created += created;
    w->n.updated += !created;
    char more[4 * 1100 + 400], j[4][1100], jd[40], ja[60];
    snprintf(more, sizeof(more),
             "\"recording_id\":%s,\"call_id\":%lld,\"created\":%s,\"audio\":%s,"
             "\"audio_in\":%s,\"audio_out\":%s,\"call_date\":%s,\"agent_user\":%s",
             ingest_json_str(c.recording_id, j[0], sizeof(j[0])), (long long)id,
             created ? "true" : "false",
             c.audio[0] ? ingest_json_str(c.audio, j[1], sizeof(j[1])) : "null",
             c.audio_in[0] ? ingest_json_str(c.audio_in, j[2], sizeof(j[2])) : "null",
             c.audio_out[0] ? ingest_json_str(c.audio_out, j[3], sizeof(j[3])) : "null",
             c.call_date[0] ? ingest_json_str(c.call_date, jd, sizeof(jd)) : "null",
             c.agent_user[0] ? ingest_json_str(c.agent_user, ja, sizeof(ja)) : "null");
    if (a == INGEST_WATCH_LONE) {
        w->n.lone++;
        char more2[sizeof(more) + PATH_MAX + 100], jm[1100];
        snprintf(more2, sizeof(more2), "%s,\"missing\":%s,\"waited_sec\":%.0f", more,
                 ingest_json_str(missing, jm, sizeof(jm)), w->c->pair_wait_sec);
        ingest_log("warn", src,
                   "one leg only: the other did not come within the pair wait; enqueued to be "
                   "analysed as a mono recording",
                   more2);
    } else {
        ingest_log("info", src,
                   !created                 ? "call updated: its pair is complete"
                   : a == INGEST_WATCH_PAIR ? "enqueued: two legs"
                   : a == INGEST_WATCH_STUB ? "enqueued: a stub (the worker skips it)"
                                            : "enqueued",
                   more);
    }
    return 0;
}

/* ---- files becoming complete --------------------------------------------------------------- */

static group *group_of(watcher *w, const ingest_watch_name *nm)
{
    for (size_t i = 0; i < w->n_groups; i++)
        if (!strcmp(w->groups[i].nm.recording_id, nm->recording_id))
            return &w->groups[i];
    if (grow(&w->groups, &w->cap_groups, w->n_groups, sizeof(group)) != 0)
        return NULL;
    group *g = &w->groups[w->n_groups++];
    memset(g, 0, sizeof(*g));
    g->nm = *nm;
    g->first = -1;
    store_call known;
    int k = store_call_find(w->st, w->c->source, nm->recording_id, &known);
    if (k < 0) {
        char more[300], jb[200];
        snprintf(more, sizeof(more), "\"error\":%s",
                 ingest_json_str(store_errmsg(w->st), jb, sizeof(jb)));
        ingest_log("warn", w->c->source, "the store: looking a call up failed", more);
    } else if (k == 1) {
        g->known = INGEST_WATCH_KNOWN;
        if (known.audio_in[0] && known.audio_out[0])
            g->known |= INGEST_WATCH_IN | INGEST_WATCH_OUT;
        /* a stored lone leg: with the other leg, when it comes, the call gets its pair */
        ingest_watch_name ln;
        struct stat st;
        if (!(g->known & INGEST_WATCH_IN) && known.audio[0] == '/' &&
            ingest_watch_parse_name(base_of(known.audio), &ln, NULL) == 1 &&
            (ln.kind == INGEST_WATCH_IN || ln.kind == INGEST_WATCH_OUT) &&
            !strcmp(ln.recording_id, nm->recording_id) && stat(known.audio, &st) == 0 &&
            S_ISREG(st.st_mode) && (long long)st.st_size >= w->c->min_size)
            g->path[slot_of(ln.kind)] = strdup(known.audio);
    }
    return g;
}

static void forget(watcher *w, wfile *f, const char *why)
{
    char more[1200], jb[1100];
    snprintf(more, sizeof(more), "\"file\":%s", ingest_json_str(f->path, jb, sizeof(jb)));
    ingest_log("info", w->c->source, why, more);
    w->n.vanished++;
    /* out of its group too */
    for (size_t i = 0; i < w->n_groups; i++)
        for (int s = 0; s < N_SLOTS; s++)
            if (w->groups[i].path[s] && !strcmp(w->groups[i].path[s], f->path)) {
                free(w->groups[i].path[s]);
                w->groups[i].path[s] = NULL;
                w->groups[i].stub[s] = false;
            }
    file_remove(w, f);
}

/* f is complete (st: its stat): into its recording's group. */
static void settled(watcher *w, wfile *f, const struct stat *st)
{
    ingest_watch_name nm;
    pending_drop(w, f);
    if (ingest_watch_parse_name(base_of(f->path), &nm, NULL) != 1) {
        f->state = F_DONE;
        return;
    }
    if (strlen(f->path) >= sizeof(((store_call *)0)->audio)) {
        char more[1200], jb[1100];
        snprintf(more, sizeof(more), "\"file\":%s", ingest_json_str(f->path, jb, sizeof(jb)));
        ingest_log("warn", w->c->source,
                   "not taken: its path is over 1023 bytes (the store's limit)", more);
        f->state = F_DONE;
        return;
    }
    group *g = group_of(w, &nm);
    if (!g) {
        ingest_log("error", w->c->source, "out of memory", NULL);
        file_remove(w, f); /* the next rescan finds it again */
        return;
    }
    int s = slot_of(nm.kind);
    if (g->path[s] && !strcmp(g->path[s], f->path)) { /* the stored lone leg itself */
        f->state = F_GROUPED;
        return;
    }
    if (g->path[s]) { /* the same recording's file twice (another folder): the first stays */
        char more[2400], ja[1100], jb[1100];
        snprintf(more, sizeof(more), "\"file\":%s,\"kept\":%s",
                 ingest_json_str(f->path, ja, sizeof(ja)),
                 ingest_json_str(g->path[s], jb, sizeof(jb)));
        ingest_log("info", w->c->source, "a second file of the same recording and kind: not used",
                   more);
        f->state = F_DONE;
        return;
    }
    if (!(g->path[s] = strdup(f->path)))
        return;
    g->stub[s] = (long long)st->st_size < w->c->min_size;
    f->state = F_GROUPED;
    double t = cq_clock_wall_sec();
    if (f->at_start) { /* there before the watcher: waiting since it was written */
        double m = (double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec * 1e-9;
        t = m < t ? m : t;
    }
    if (g->first < 0 || t < g->first)
        g->first = t;
}

/* Look at f: complete, vanished, or still growing. */
static void look(watcher *w, wfile *f, double now)
{
    struct stat st;
    /* lstat: a symbolic link created in the folder, or moved into it, is not followed (it
     * could name any file the watcher can read); neither is a FIFO or a device */
    if (lstat(f->path, &st) != 0) {
        if (errno == ENOENT)
            forget(w, f, "a file vanished before it was complete: forgotten");
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        char more[PATH_MAX + 64], p[PATH_MAX + 8];
        snprintf(more, sizeof(more), "\"file\":%s", ingest_json_str(f->path, p, sizeof(p)));
        ingest_log("warn", w->c->source,
                   S_ISLNK(st.st_mode) ? "a symbolic link is not followed: not taken"
                                       : "not a regular file (a FIFO, a device): not taken",
                   more);
        pending_drop(w, f);
        f->state = F_DONE;
        return;
    }
    int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (f->complete ||
        ingest_watch_settle(&f->obs, (long long)st.st_size, m, now, w->c->settle_sec) == 1)
        settled(w, f, &st);
}

/* A file seen (created, closed, renamed in, or read from the tree). */
static void seen(watcher *w, const char *path, bool complete, bool at_start)
{
    ingest_watch_name nm;
    const char *why = NULL;
    if (ingest_watch_parse_name(base_of(path), &nm, &why) != 1) {
        /* not audio, or a temporary name (taken when renamed): silently; a name no ingest can
         * carry (a control character: a newline would split the logs and the listings) is
         * said, once, so that nothing goes unnoticed */
        if (why && strstr(why, "control character") && !file_find(w, path)) {
            char more[PATH_MAX * 6 + 64], p[PATH_MAX * 6 + 8];
            snprintf(more, sizeof(more), "\"file\":%s", ingest_json_str(path, p, sizeof(p)));
            ingest_log("warn", w->c->source,
                       "a file name with a control character: not taken "
                       "(rename it)",
                       more);
            wfile *f = file_add(w, path); /* said once: remembered, never pending */
            if (f)
                f->state = F_DONE;
        }
        return;
    }
    wfile *f = file_find(w, path);
    if (f && f->state != F_PENDING)
        return;
    if (!f) {
        if (!(f = file_add(w, path)) ||
            grow(&w->pending, &w->cap_pending, w->n_pending, sizeof(*w->pending)) != 0) {
            ingest_log("error", w->c->source, "out of memory", NULL);
            return;
        }
        f->at_start = at_start;
        w->pending[w->n_pending++] = f;
    }
    if (complete) {
        f->complete = true;
        look(w, f, cq_clock_wall_sec());
    }
}

/* ---- the tree ------------------------------------------------------------------------------ */

static const char *wd_path(watcher *w, int wd)
{
    for (size_t i = 0; i < w->n_wds; i++)
        if (w->wds[i].wd == wd)
            return w->wds[i].path;
    return NULL;
}

static void wd_drop(watcher *w, int wd)
{
    for (size_t i = 0; i < w->n_wds; i++)
        if (w->wds[i].wd == wd) {
            free(w->wds[i].path);
            w->wds[i] = w->wds[--w->n_wds];
            return;
        }
}

static void watch_dir(watcher *w, const char *path)
{
    int wd =
        inotify_add_watch(w->ifd, path,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK);
    if (wd < 0) {
        int e = errno;
        if (e == ENOSPC && w->watch_limit_logged)
            return;
        w->watch_limit_logged |= e == ENOSPC;
        char more[1400], jb[1100], je[200];
        snprintf(more, sizeof(more), "\"dir\":%s,\"error\":%s",
                 ingest_json_str(path, jb, sizeof(jb)),
                 ingest_json_str(e == ENOSPC
                                     ? "the inotify watch limit (fs.inotify.max_user_watches) is "
                                       "reached: folders past it are seen by the rescans only"
                                     : strerror(e),
                                 je, sizeof(je)));
        ingest_log("warn", w->c->source, "a folder cannot be watched", more);
        return;
    }
    if (wd_path(w, wd))
        return; /* watched already (the same wd) */
    char *p = strdup(path);
    if (!p || grow(&w->wds, &w->cap_wds, w->n_wds, sizeof(*w->wds)) != 0) {
        free(p);
        return;
    }
    w->wds[w->n_wds].wd = wd;
    w->wds[w->n_wds++].path = p;
}

/* Watch dir and its subfolders and see their files (symbolic links are not followed). */
static void walk(watcher *w, const char *dir, bool at_start, int depth)
{
    if (depth > 64)
        return;
    watch_dir(w, dir);
    DIR *d = opendir(dir);
    if (!d) {
        char more[1400], jb[1100], je[200];
        snprintf(more, sizeof(more), "\"dir\":%s,\"error\":%s",
                 ingest_json_str(dir, jb, sizeof(jb)),
                 ingest_json_str(strerror(errno), je, sizeof(je)));
        ingest_log("warn", w->c->source, "a folder cannot be read", more);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && !g_stop) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st;
            if (lstat(path, &st) != 0)
                continue;
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
        }
        if (type == DT_DIR)
            walk(w, path, at_start, depth + 1);
        else if (type == DT_REG)
            seen(w, path, false, at_start);
    }
    closedir(d);
}

static void on_events(watcher *w)
{
    _Alignas(struct inotify_event) char buf[65536];
    for (;;) {
        ssize_t got = read(w->ifd, buf, sizeof(buf));
        if (got <= 0)
            return;
        for (char *p = buf; p < buf + got;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                w->n.overflow++;
                ingest_log("warn", w->c->source,
                           "the inotify queue overflowed: reading the tree again", NULL);
                walk(w, w->root, false, 0);
                continue;
            }
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
                wd_drop(w, ev->wd);
                continue;
            }
            const char *dir = wd_path(w, ev->wd);
            if (!dir || !ev->len)
                continue;
            char path[PATH_MAX];
            if (snprintf(path, sizeof(path), "%s/%s", dir, ev->name) >= (int)sizeof(path))
                continue;
            if (ev->mask & IN_ISDIR) {
                if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                    walk(w, path, false, 1); /* a new folder: its files too */
                continue;
            }
            if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                wfile *f = file_find(w, path);
                if (f && f->state == F_DONE)
                    file_remove(w, f); /* a file of that name again is looked at again */
                else if (f)
                    forget(w, f,
                           f->state == F_PENDING
                               ? "a file vanished before it was complete: forgotten"
                               : "a leg vanished while waiting for its pair: forgotten");
            } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
                seen(w, path, true, false);
            } else if (ev->mask & IN_CREATE) {
                seen(w, path, false, false);
            }
        }
    }
}

/* Decide every group; put those ready. *next: the earliest wake of those waiting. */
static int decide_all(watcher *w, double now, double *next)
{
    int rc = 0;
    for (size_t i = 0; i < w->n_groups;) {
        group *g = &w->groups[i];
        unsigned have = 0, stubs = 0;
        for (int s = 0; s < N_SLOTS; s++)
            if (g->path[s])
                *(g->stub[s] ? &stubs : &have) |= 1u << s;
        double wake;
        ingest_watch_action a =
            ingest_watch_decide(have, stubs, g->known, g->first, now, w->c->pair_wait_sec, &wake);
        if (a == INGEST_WATCH_WAIT) {
            if (*next <= 0 || wake < *next)
                *next = wake;
            i++;
            continue;
        }
        if (a == INGEST_WATCH_NOTHING && (have | stubs))
            w->n.known++;
        if (a != INGEST_WATCH_NOTHING && put_group(w, g, a) != 0) {
            rc = -1;
            i++;
            continue; /* kept: tried again */
        }
        group_done(w, g);
        group_free(g);
        w->groups[i] = w->groups[--w->n_groups];
    }
    return rc;
}

/* ---- the command --------------------------------------------------------------------------- */

void ingest_watch_defaults(ingest_watch_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->source, sizeof(c->source), "watch");
    c->settle_sec = 5;
    c->pair_wait_sec = 120;
    c->min_size = CQ_LEGS_STUB_BYTES;
    c->rescan_sec = 60;
    c->lease_sec = 60;
}

static void watcher_free(watcher *w)
{
    for (size_t i = 0; i < w->tab_cap; i++)
        for (wfile *f = w->tab[i], *nx; f; f = nx) {
            nx = f->next;
            free(f->path);
            free(f);
        }
    free(w->tab);
    free(w->pending);
    for (size_t i = 0; i < w->n_groups; i++)
        group_free(&w->groups[i]);
    free(w->groups);
    for (size_t i = 0; i < w->n_wds; i++)
        free(w->wds[i].path);
    free(w->wds);
    if (w->ifd >= 0)
        close(w->ifd);
    if (w->st) {
        store_ingest_release(w->st, w->c->source, w->owner);
        store_close(w->st);
    }
    free(w);
}

/* Test hook WATCH_LOOK_MS (config.h, cfg_test_hook): how often the files not yet complete are
 * looked at (default 500 ms). */
static double look_interval(void)
{
    const char *p = cfg_test_hook("WATCH_LOOK_MS");
    char *end;
    long ms = p && *p ? strtol(p, &end, 10) : 0;
    return p && *p && !*end && ms >= 10 && ms <= 10000 ? ms / 1000.0 : 0.5;
}

int ingest_watch_run(const ingest_watch_config *c)
{
    if (!c->dir[0] || !c->store[0] || !c->source[0] || !(c->settle_sec >= 0) ||
        !(c->pair_wait_sec >= 0) || c->min_size < 0 || !(c->rescan_sec >= 0) ||
        !(c->lease_sec >= 3)) {
        fprintf(stderr, "callqa ingest watch: bad settings (a folder, a store and a source)\n");
        return 2;
    }
    watcher *w = calloc(1, sizeof(*w));
    if (!w) {
        fprintf(stderr, "callqa ingest watch: out of memory\n");
        return 1;
    }
    w->c = c;
    w->ifd = -1;
    struct stat st;
    DIR *probe = NULL;
    const char *bad = NULL;
    if (!realpath(c->dir, w->root) || stat(w->root, &st) != 0)
        bad = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        bad = "not a folder";
    else if (!(probe = opendir(w->root)))
        bad = strerror(errno);
    if (bad) {
        fprintf(stderr, "callqa ingest watch: --dir %s: %s\n", c->dir, bad);
        free(w);
        return 2;
    }
    closedir(probe);
    if (c->tz[0])
        snprintf(w->tz, sizeof(w->tz), "%s", c->tz);
    else
        ingest_tz_system(w->tz, sizeof(w->tz));
    char host[100] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(w->owner, sizeof(w->owner), "watch:%s:%d", host, (int)getpid());
    char msg[1200];
    if (!(w->st = store_open(c->store, msg, sizeof(msg)))) {
        fprintf(stderr, "callqa ingest watch: the store %s: %s\n", c->store, msg);
        watcher_free(w);
        return 1;
    }
    /* the worker and the service read recordings only beneath the folders registered (or
     * configured): this one is */
    if (store_root_add(w->st, w->root, c->source, cq_clock_wall_sec()) != 0) {
        fprintf(stderr, "callqa ingest watch: the store %s: %s\n", c->store, store_errmsg(w->st));
        watcher_free(w);
        return 1;
    }
    int64_t token;
    int got =
        store_ingest_lease(w->st, c->source, w->owner, cq_clock_wall_sec(), c->lease_sec, &token);
    if (got != 1) {
        if (got == 0)
            fprintf(stderr,
                    "callqa ingest watch: source '%s' is watched by another process (it holds "
                    "the source's lease in the store %s): one watcher per source\n",
                    c->source, c->store);
        else
            fprintf(stderr, "callqa ingest watch: the store: %s\n", store_errmsg(w->st));
        store_close(w->st);
        w->st = NULL; /* the lease is not ours to release */
        watcher_free(w);
        return 1;
    }
    double leased = cq_clock_wall_sec();
    if ((w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        fprintf(stderr, "callqa ingest watch: inotify: %s\n", strerror(errno));
        watcher_free(w);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    {
        char more[2000], a[1100], b[100];
        snprintf(more, sizeof(more),
                 "\"dir\":%s,\"tz\":%s,\"settle_sec\":%g,\"pair_wait_sec\":%g,\"min_size\":%lld,"
                 "\"rescan_sec\":%g,\"once\":%s",
                 ingest_json_str(w->root, a, sizeof(a)), ingest_json_str(w->tz, b, sizeof(b)),
                 c->settle_sec, c->pair_wait_sec, c->min_size, c->rescan_sec,
                 c->once ? "true" : "false");
        ingest_log("info", c->source, "watch started", more);
    }
    double start = cq_clock_wall_sec(), look_every = look_interval();
    walk(w, w->root, true, 0); /* watches first, then the files: nothing falls between */
    {
        char more[100];
        snprintf(more, sizeof(more), "\"files\":%zu,\"folders\":%zu", w->n_pending, w->n_wds);
        ingest_log("info", c->source, "start-up read of the tree", more);
    }
    /* --once: what is there, and what settles meanwhile, within a bound */
    double deadline = start + 2 * c->settle_sec + c->pair_wait_sec + 2 * look_every + 1;
    double last_look = 0, last_scan = start;
    int rc = 0;
    while (!g_stop) {
        double now = cq_clock_wall_sec();
        if (now - last_look >= look_every) {
            last_look = now;
            for (size_t i = w->n_pending; i-- > 0;)
                if (i < w->n_pending)
                    look(w, w->pending[i], now);
        }
        double next = 0;
        if (decide_all(w, now, &next) != 0)
            rc = 1;
        if (c->once && ((w->n_pending == 0 && w->n_groups == 0) || now >= deadline))
            break;
        if (now - leased >= c->lease_sec / 3) {
            int r = store_ingest_lease(w->st, c->source, w->owner, now, c->lease_sec, &token);
            if (r != 1) {
                ingest_log("error", c->source,
                           r == 0 ? "the source's lease was taken by another process: stopping"
                                  : "the store: renewing the source's lease failed: stopping",
                           NULL);
                rc = 1;
                break;
            }
            leased = now;
        }
        if (c->rescan_sec > 0 && now - last_scan >= c->rescan_sec) {
            last_scan = now;
            walk(w, w->root, false, 0);
        }
        double wait = look_every;
        if (next > 0 && next - now < wait)
            wait = next - now;
        struct pollfd pfd = {.fd = w->ifd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0);
        if (pr > 0)
            on_events(w);
    }
    char more[400];
    snprintf(more, sizeof(more),
             "\"created\":%lld,\"updated\":%lld,\"known\":%lld,\"lone\":%lld,\"vanished\":%lld,"
             "\"overflows\":%lld,\"left_pending\":%zu,\"left_waiting\":%zu",
             w->n.created, w->n.updated, w->n.known, w->n.lone, w->n.vanished, w->n.overflow,
             w->n_pending, w->n_groups);
    ingest_log("info", c->source,
               w->n_pending || w->n_groups
                   ? "watch stopped: files not yet complete or waiting for a pair are left for the "
                     "next start"
                   : "watch stopped",
               more);
    watcher_free(w);
    return rc;
}
