/*
 * fpstore.c - the announcements `callqa live` remembers per destination (docs/live.md,
 * "Remembered announcements"; docs/privacy/retention.md says what it keeps): the fingerprints a
 * call's classifier learned (cq_classifier_learned), kept under the destination the call named,
 * handed to the next call to the same destination (cq_classifier_remember).
 *
 * DESIGN: a small table in memory, bounded three ways (destinations, fingerprints per
 * destination, bytes in all), the least recently used destination and a destination's oldest
 * fingerprint going first; a fingerprint is forgotten retain_days after it was learned. The file
 * is read whole at open (every length checked, any fault refuses the whole file: nothing is
 * overwritten that was not understood) and written whole (a temporary file of mode 0600 renamed
 * over it) when something changed. One mutex: the analysis threads read and add, the network
 * thread saves.
 *
 * The bounds hold while the file is read, not after: a file over the size the bounds allow
 * (fps_file_max) is not read, and one whose records name more destinations, or more bytes of
 * words, than the bounds is refused at the first record past them; expired records are skipped
 * as they are read. A destination is found by its hash first, so that a read costs one pass.
 * The temporary file is created with O_EXCL (a stale one of ours is removed first; anything else
 * in its place refuses the save) and set to 0600 whatever the umask or a stale file said.
 *
 * The file, little-endian: "CQFP1\n", a u32 count of records, then each record: a u8 length
 * (1-128) and the destination (printable ASCII, no space), a u64 learned-at (Unix seconds), a
 * u16 count of words (1-CQ_FP_MAX_FRAMES) and the words (u16 each).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/base_int.h"
#include "callqa/cq_classify.h"
#include "live_int.h"

#define FPS_MAGIC "CQFP1\n"
#define FPS_MAGIC_LEN 6
#define FPS_REC_MAX (1 + LV_FPS_DEST_MAX + 8 + 2) /* a record's bytes besides its words */

typedef struct fp_entry {
    uint16_t *bits;
    uint16_t frames;
    int64_t learned; /* Unix seconds */
} fp_entry;

typedef struct dest_entry {
    char name[LV_FPS_DEST_MAX + 1];
    uint32_t hash;                    /* of name (name_hash): compared before the name */
    fp_entry fp[LV_FPS_PER_DEST_MAX]; /* oldest first */
    unsigned n;
    uint64_t used; /* the store's clock when last read or added to */
} dest_entry;

struct lv_fps {
    lv_fps_params p;
    pthread_mutex_t mu;
    dest_entry *d;
    size_t nd, capd;
    size_t bytes; /* of fingerprint words held */
    uint64_t clock;
    bool dirty;
};

lv_fps_params lv_fps_default_params(void)
{
    return (lv_fps_params){.max_dests = 2000, .per_dest = 8, .max_kib = 16384, .retain_days = 30};
}

bool lv_fps_dest_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= LV_FPS_DEST_MAX || s[n] <= ' ' || s[n] > '~')
            return false;
    return n > 0;
}

static void entry_drop(lv_fps *s, dest_entry *d, unsigned i)
{
    s->bytes -= 2u * d->fp[i].frames;
    free(d->fp[i].bits);
    memmove(d->fp + i, d->fp + i + 1, (d->n - i - 1) * sizeof(fp_entry));
    d->n--;
    s->dirty = true;
}

static void dest_drop(lv_fps *s, size_t k)
{
    dest_entry *d = &s->d[k];
    while (d->n)
        entry_drop(s, d, d->n - 1);
    memmove(s->d + k, s->d + k + 1, (s->nd - k - 1) * sizeof(dest_entry));
    s->nd--;
    s->dirty = true;
}

/* The bounds kept: expired fingerprints and empty destinations go, then the least recently
 * used destinations while there are too many or too many bytes. */
static void trim(lv_fps *s, double now)
{
    const double keep = s->p.retain_days * 86400.0;
    for (size_t k = 0; k < s->nd;) {
        dest_entry *d = &s->d[k];
        for (unsigned i = 0; i < d->n;)
            if (now - (double)d->fp[i].learned > keep)
                entry_drop(s, d, i);
            else
                i++;
        if (!d->n)
            dest_drop(s, k);
        else
            k++;
    }
    while (s->nd && (s->nd > s->p.max_dests || s->bytes > (size_t)s->p.max_kib * 1024)) {
        size_t lru = 0;
        for (size_t k = 1; k < s->nd; k++)
            if (s->d[k].used < s->d[lru].used)
                lru = k;
        dest_drop(s, lru);
    }
}

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static dest_entry *find(lv_fps *s, const char *dest, uint32_t h)
{
    for (size_t k = 0; k < s->nd; k++)
        if (s->d[k].hash == h && !strcmp(s->d[k].name, dest))
            return &s->d[k];
    return NULL;
}

/* The most bytes a file within the bounds holds: every record at its longest, and the words. */
static uint64_t fps_file_max(const lv_fps_params *p)
{
    return FPS_MAGIC_LEN + 4 + (uint64_t)p->max_dests * p->per_dest * FPS_REC_MAX +
           (uint64_t)p->max_kib * 1024;
}

/* Add one (the caller holds mu, or owns the store alone). */
static int add(lv_fps *s, const char *dest, const uint16_t *bits, size_t frames, int64_t learned)
{
    if (!lv_fps_dest_ok(dest) || !frames || frames > CQ_FP_MAX_FRAMES)
        return LV_ERR_ARG;
    const uint32_t h = name_hash(dest);
    dest_entry *d = find(s, dest, h);
    if (!d) {
        if (s->nd == s->capd) {
            size_t nc = s->capd ? 2 * s->capd : 16;
            dest_entry *nd = realloc(s->d, nc * sizeof(dest_entry));
            if (!nd)
                return LV_ERR_NOMEM;
            s->d = nd, s->capd = nc;
        }
        d = &s->d[s->nd++];
        memset(d, 0, sizeof(*d));
        memcpy(d->name, dest, strlen(dest) + 1);
        d->hash = h;
    }
    uint16_t *b = malloc(frames * sizeof(uint16_t));
    if (!b)
        return LV_ERR_NOMEM;
    memcpy(b, bits, frames * sizeof(uint16_t));
    if (d->n == s->p.per_dest)
        entry_drop(s, d, 0);
    d->fp[d->n++] = (fp_entry){.bits = b, .frames = (uint16_t)frames, .learned = learned};
    d->used = ++s->clock;
    s->bytes += 2 * frames;
    s->dirty = true;
    return LV_OK;
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int lv_fps_parse(lv_fps *s, const uint8_t *data, size_t n, double now, lv_error *e)
{
    lv__clear(e);
    if (n < FPS_MAGIC_LEN + 4 || memcmp(data, FPS_MAGIC, FPS_MAGIC_LEN))
        return lv__fail(e, LV_ERR_FPS_FILE, 0, "not a fingerprint store (no CQFP1 header)");
    const uint64_t count = get_le(data + FPS_MAGIC_LEN, 4);
    const uint64_t max_records = (uint64_t)s->p.max_dests * s->p.per_dest;
    if (count > max_records)
        return lv__fail(e, LV_ERR_FPS_FILE, FPS_MAGIC_LEN,
                        "%llu records: more than the %llu the file ever holds (%u destinations of "
                        "%u)",
                        (unsigned long long)count, (unsigned long long)max_records, s->p.max_dests,
                        s->p.per_dest);
    const double keep = s->p.retain_days * 86400.0;
    bool forgot = false;
    size_t off = FPS_MAGIC_LEN + 4;
    for (uint64_t r = 0; r < count; r++) {
        char dest[LV_FPS_DEST_MAX + 1];
        if (n - off < 1)
            return lv__fail(e, LV_ERR_FPS_FILE, off, "record %llu: cut short",
                            (unsigned long long)r);
        const size_t dl = data[off++];
        if (!dl || dl > LV_FPS_DEST_MAX || n - off < dl + 8 + 2)
            return lv__fail(e, LV_ERR_FPS_FILE, off, "record %llu: destination length %zu",
                            (unsigned long long)r, dl);
        memcpy(dest, data + off, dl);
        dest[dl] = 0;
        off += dl;
        if (!lv_fps_dest_ok(dest))
            return lv__fail(e, LV_ERR_FPS_FILE, off, "record %llu: destination not printable",
                            (unsigned long long)r);
        const uint64_t at = get_le(data + off, 8);
        const size_t frames = (size_t)get_le(data + off + 8, 2);
        off += 10;
        if (at > (uint64_t)now + 86400)
            return lv__fail(e, LV_ERR_FPS_FILE, off, "record %llu: learned in the future",
                            (unsigned long long)r);
        if (!frames || frames > CQ_FP_MAX_FRAMES || (n - off) / 2 < frames)
            return lv__fail(e, LV_ERR_FPS_FILE, off, "record %llu: %zu words",
                            (unsigned long long)r, frames);
        const size_t at_words = off;
        off += 2 * frames;
        if (now - (double)at > keep) {
            forgot = true; /* forgotten: and out of the file at the next save */
            continue;
        }
        if (s->nd == s->p.max_dests && !find(s, dest, name_hash(dest)))
            return lv__fail(e, LV_ERR_FPS_FILE, at_words,
                            "record %llu: a destination past the %u the file ever holds",
                            (unsigned long long)r, s->p.max_dests);
        uint16_t w[CQ_FP_MAX_FRAMES];
        for (size_t i = 0; i < frames; i++)
            w[i] = (uint16_t)get_le(data + at_words + 2 * i, 2);
        int rc = add(s, dest, w, frames, (int64_t)at);
        if (rc != LV_OK)
            return lv__fail(e, rc, off, "record %llu: %s", (unsigned long long)r, lv_strerror(rc));
        if (s->bytes > (size_t)s->p.max_kib * 1024)
            return lv__fail(e, LV_ERR_FPS_FILE, off,
                            "record %llu: more than the %u KiB of fingerprints the file ever "
                            "holds",
                            (unsigned long long)r, s->p.max_kib);
    }
    if (off != n)
        return lv__fail(e, LV_ERR_FPS_FILE, off, "%zu bytes after the last record", n - off);
    trim(s, now);
    s->dirty = forgot;
    return LV_OK;
}

lv_fps *lv_fps_create(const lv_fps_params *p, lv_error *e)
{
    lv__clear(e);
    if (!p || !p->max_dests || p->max_dests > 1000000 || !p->per_dest ||
        p->per_dest > LV_FPS_PER_DEST_MAX || !p->max_kib || !(p->retain_days > 0)) {
        lv__fail(e, LV_ERR_ARG, 0, "fingerprint store: a bound out of range");
        return NULL;
    }
    lv_fps *s = calloc(1, sizeof(*s));
    if (!s) {
        lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    s->p = *p;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

lv_fps *lv_fps_open(const lv_fps_params *p, double now, lv_error *e)
{
    lv_fps *s = lv_fps_create(p, e);
    if (!s || !p->path)
        return s;
    uint8_t *buf;
    size_t got;
    cq_err ce;
    cq_err_clear(&ce);
    const uint64_t max = fps_file_max(p);
    int rc = cq__read_file(p->path, max < SIZE_MAX ? (size_t)max : SIZE_MAX, &buf, &got, &ce);
    if (rc == CQ_ERR_NOT_FOUND)
        return s; /* made at the first save */
    if (rc != CQ_OK)
        rc = lv__fail(e, rc == CQ_ERR_NOMEM ? LV_ERR_NOMEM : LV_ERR_FPS_FILE, 0, "%s", ce.msg);
    else if ((rc = lv_fps_parse(s, buf, got, now, e)) != LV_OK) {
        char why[sizeof(e->msg)];
        snprintf(why, sizeof(why), "%s", e->msg);
        lv__fail(e, rc, e->offset, "%s: %s (move it aside to start afresh)", p->path, why);
    }
    cq__free(buf);
    if (rc != LV_OK) {
        lv_fps_destroy(s);
        return NULL;
    }
    return s;
}

void lv_fps_destroy(lv_fps *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->nd; k++)
        for (unsigned i = 0; i < s->d[k].n; i++)
            free(s->d[k].fp[i].bits);
    free(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t lv_fps_get(lv_fps *s, const char *dest, lv_fps_fn fn, void *user)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    dest_entry *d = lv_fps_dest_ok(dest) ? find(s, dest, name_hash(dest)) : NULL;
    if (d) {
        d->used = ++s->clock;
        for (unsigned i = 0; i < d->n; i++, n++)
            fn(user, d->fp[i].bits, d->fp[i].frames);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

int lv_fps_put(lv_fps *s, const char *dest, const uint16_t *bits, size_t frames, double now)
{
    pthread_mutex_lock(&s->mu);
    int rc = add(s, dest, bits, frames, (int64_t)now);
    if (rc == LV_OK)
        trim(s, now);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void lv_fps_counts(lv_fps *s, size_t *dests, size_t *fingerprints)
{
    pthread_mutex_lock(&s->mu);
    size_t f = 0;
    for (size_t k = 0; k < s->nd; k++)
        f += s->d[k].n;
    *dests = s->nd;
    *fingerprints = f;
    pthread_mutex_unlock(&s->mu);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The temporary file, created anew (O_EXCL) with mode 0600: a stale one left by a save that
 * stopped is removed first when it is a regular file of this user's; anything else in its place
 * (a link, another user's file) is left and the save fails. The open descriptor, or -1 with
 * errno. */
static int tmp_create(const char *tmp)
{
    const int fl = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    int fd = open(tmp, fl, 0600);
    struct stat st;
    if (fd < 0 && errno == EEXIST && lstat(tmp, &st) == 0) {
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
            errno = EEXIST;
            return -1;
        }
        if (unlink(tmp) != 0)
            return -1;
        fd = open(tmp, fl, 0600);
    }
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        int err = errno;
        close(fd);
        (void)unlink(tmp);
        errno = err;
        return -1;
    }
    return fd;
}

int lv_fps_save(lv_fps *s, double now, lv_error *e)
{
    lv__clear(e);
    if (!s->p.path)
        return LV_OK;
    pthread_mutex_lock(&s->mu);
    trim(s, now);
    if (!s->dirty) {
        pthread_mutex_unlock(&s->mu);
        return LV_OK;
    }
    size_t n = FPS_MAGIC_LEN + 4, count = 0;
    for (size_t k = 0; k < s->nd; k++)
        for (unsigned i = 0; i < s->d[k].n; i++, count++)
            n += 1 + strlen(s->d[k].name) + 10 + 2u * s->d[k].fp[i].frames;
    uint8_t *b = malloc(n);
    if (!b) {
        pthread_mutex_unlock(&s->mu);
        return lv__fail(e, LV_ERR_NOMEM, 0, "out of memory");
    }
    memcpy(b, FPS_MAGIC, FPS_MAGIC_LEN);
    put_le(b + FPS_MAGIC_LEN, count, 4);
    size_t off = FPS_MAGIC_LEN + 4;
    for (size_t k = 0; k < s->nd; k++) {
        const dest_entry *d = &s->d[k];
        const size_t dl = strlen(d->name);
        for (unsigned i = 0; i < d->n; i++) {
            b[off++] = (uint8_t)dl;
            memcpy(b + off, d->name, dl), off += dl;
            put_le(b + off, (uint64_t)d->fp[i].learned, 8), off += 8;
            put_le(b + off, d->fp[i].frames, 2), off += 2;
            for (size_t j = 0; j < d->fp[i].frames; j++, off += 2)
                put_le(b + off, d->fp[i].bits[j], 2);
        }
    }
    s->dirty = false;
    pthread_mutex_unlock(&s->mu);
    char tmp[4096];
    int rc = LV_OK;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->p.path) >= sizeof(tmp)) {
        free(b);
        return lv__fail(e, LV_ERR_ARG, 0, "%s: path too long", s->p.path);
    }
    if ((uint64_t)n > fps_file_max(&s->p)) { /* trim keeps every bound: never */
        free(b);
        return lv__fail(e, LV_ERR_FPS_FILE, n, "%s: %zu bytes is over the bounds' size", s->p.path,
                        n);
    }
    int fd = tmp_create(tmp);
    const int open_err = fd < 0 ? errno : 0;
    size_t put = 0;
    while (fd >= 0 && put < n) {
        ssize_t k = write(fd, b + put, n - put);
        if (k <= 0)
            break;
        put += (size_t)k;
    }
    errno = open_err;
    bool ok = fd >= 0 && put == n && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, s->p.path) != 0)
        ok = false;
    if (!ok) {
        rc = lv__fail(e, LV_ERR_FPS_FILE, put, "%s: %s", fd < 0 ? tmp : s->p.path,
                      strerror(errno ? errno : EIO));
        if (fd >= 0)
            (void)unlink(tmp);
        pthread_mutex_lock(&s->mu);
        s->dirty = true; /* tried again at the next save */
        pthread_mutex_unlock(&s->mu);
    }
    free(b);
    return rc;
}
