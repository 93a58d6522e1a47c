/*
 * md_transcode.c - recordings a browser cannot play (GSM 06.10 in WAV or raw, AU, AIFF, other
 * WAV encodings: whatever the decoder reads) transcoded to PCM16 WAV with the project's decoder
 * (cq_audio), their channels and rate kept, once: the result is kept under tmp_dir/callqa-audio,
 * named by the source's path, size, mtime and inode (store_file_transcode: the store's list of a
 * call's files, which the purge and the erasure walk), written to a temp name and renamed into
 * place (two owners making the same file each write their own and the last rename wins; an open
 * file stays readable when another transcode evicts it), the least recently served removed
 * beyond MD_CACHE_BYTES.
 *
 * A transcode takes about 0.3 ms per second of GSM audio (a 4-hour call: seconds): it runs on a
 * thread of its own while its owner waits (the service suspends the request's connection), and
 * at most MD_MAX_TRANSCODES at once; an owner asking for a file that is being made waits for that
 * one. The owner finds its outcome here when woken (md_transcode_take).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callqa/cq_audio.h"
#include "callqa/cq_clock.h"
#include "../proc/proc.h"
#include "../store/store_retain.h"
#include "media.h"

static void wav_header(uint8_t h[44], int rate, int ch, uint32_t data_bytes)
{
    uint32_t v[] = {36 + data_bytes, 16, (uint32_t)rate * (uint32_t)ch * 2, data_bytes};
    memcpy(h, "RIFF....WAVEfmt ....", 20);
    for (int i = 0; i < 4; i++)
        h[4 + i] = (uint8_t)(v[0] >> (8 * i)), h[16 + i] = (uint8_t)(v[1] >> (8 * i));
    h[20] = 1, h[21] = 0; /* PCM */
    h[22] = (uint8_t)ch, h[23] = 0;
    for (int i = 0; i < 4; i++)
        h[24 + i] = (uint8_t)((uint32_t)rate >> (8 * i)), h[28 + i] = (uint8_t)(v[2] >> (8 * i));
    h[32] = (uint8_t)(ch * 2), h[33] = 0, h[34] = 16, h[35] = 0; /* block align, bits */
    memcpy(h + 36, "data", 4);
    for (int i = 0; i < 4; i++)
        h[40 + i] = (uint8_t)(v[3] >> (8 * i));
}

enum { TC_OK = 0, TC_UNREADABLE = -1, TC_TOO_LONG = -2, TC_IO = -3 };

/* The recording on in_fd (size bytes) decoded by cq_audio into a PCM16 WAV on out_fd, its
 * channels and rate kept. TC_*, with a sentence in msg naming no path. */
static int transcode(int in_fd, uint64_t size, bool raw_gsm, int out_fd, double max_sec, char *msg,
                     size_t msgsz)
{
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, in_fd, 0);
    if (map == MAP_FAILED)
        return cfg_fail(msg, msgsz, "the recording could not be read: %s", strerror(errno)), TC_IO;
    cq_err err;
    cq_audio *a =
        cq_audio_open_memory(map, (size_t)size, raw_gsm ? "recording.gsm" : "recording", &err);
    if (!a) {
        munmap(map, (size_t)size);
        return cfg_fail(msg, msgsz, "the recording could not be decoded: %s", err.msg),
               TC_UNREADABLE;
    }
    const cq_audio_info *in = cq_audio_get_info(a);
    int ch = in->channels, rate = in->sample_rate_hz, rc = TC_OK;
    uint64_t max_frames = (uint64_t)(max_sec * rate), frames = 0;
    /* a WAV's sizes are 32 bits */
    uint64_t cap = ((uint64_t)UINT32_MAX - 36) / (uint64_t)(2 * ch);
    if (max_frames == 0 || max_frames > cap)
        max_frames = cap;
    enum { BLOCK = 4096 };
    float *f = malloc(sizeof(float) * BLOCK * (size_t)ch);
    uint8_t *s = malloc(2 * BLOCK * (size_t)ch); /* little-endian 16-bit */
    uint8_t h[44];
    wav_header(h, rate, ch, 0);
    if (!f || !s || proc_write_all(out_fd, h, sizeof(h))) {
        rc = TC_IO;
        cfg_fail(msg, msgsz, "the transcoded audio could not be written: %s",
                 f && s ? strerror(errno) : "out of memory");
    }
    while (rc == TC_OK) {
        int64_t got = cq_audio_read(a, f, BLOCK, &err);
        if (got < 0) {
            rc = TC_UNREADABLE;
            cfg_fail(msg, msgsz, "the recording could not be decoded: %s", err.msg);
            break;
        }
        if (got == 0)
            break;
        if (frames + (uint64_t)got > max_frames) {
            rc = TC_TOO_LONG;
            cfg_fail(msg, msgsz, "the recording is longer than %.0f s (max_duration)", max_sec);
            break;
        }
        size_t n = (size_t)got * (size_t)ch;
        for (size_t i = 0; i < n; i++) {
            float v = f[i] * 32768.0f;
            v = v >= 0 ? v + 0.5f : v - 0.5f; /* to the nearest */
            int16_t x = v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : (int16_t)v;
            s[2 * i] = (uint8_t)((uint16_t)x & 0xFF), s[2 * i + 1] = (uint8_t)((uint16_t)x >> 8);
        }
        if (proc_write_all(out_fd, s, 2 * n)) {
            rc = TC_IO;
            cfg_fail(msg, msgsz, "the transcoded audio could not be written: %s", strerror(errno));
        }
        frames += (uint64_t)got;
    }
    if (rc == TC_OK) {
        wav_header(h, rate, ch, (uint32_t)(frames * (uint64_t)ch * 2));
        if (pwrite(out_fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
            rc = TC_IO;
            cfg_fail(msg, msgsz, "the transcoded audio could not be written: %s", strerror(errno));
        }
    }
    free(f);
    free(s);
    cq_audio_close(a);
    munmap(map, (size_t)size);
    return rc;
}

typedef struct cached {
    char name[80];
    double mtime;
    off_t size;
} cached;

static int by_age(const void *a, const void *b)
{
    double x = ((const cached *)a)->mtime, y = ((const cached *)b)->mtime;
    return x < y ? -1 : x > y;
}

/* Keep the cache under MD_CACHE_BYTES: the least recently served go first (never
 * `keep`); temp files older than an hour (a transcode that died) too. */
static void cache_evict(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    cached *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    double now = (double)time(NULL); /* against the files' mtimes */
    struct dirent *de;
    char p[1200];
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        bool wav = len > 4 && !strcmp(de->d_name + len - 4, ".wav");
        bool part = strstr(de->d_name, ".part") != NULL;
        if ((!wav && !part) || len >= sizeof(v->name))
            continue;
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        double mt = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
        if (part) {
            if (now - mt > 3600)
                unlink(p);
            continue;
        }
        total += (uint64_t)st.st_size;
        if (!strcmp(de->d_name, keep))
            continue;
        if (n == cap) {
            cached *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        snprintf(v[n].name, sizeof(v[n].name), "%s", de->d_name);
        v[n].mtime = mt, v[n].size = st.st_size;
        n++;
    }
    closedir(d);
    if (total > MD_CACHE_BYTES && n) {
        qsort(v, n, sizeof(*v), by_age);
        for (size_t i = 0; i < n && total > MD_CACHE_BYTES; i++) {
            snprintf(p, sizeof(p), "%s/%s", dir, v[i].name);
            if (unlink(p) == 0 || errno == ENOENT)
                total -= (uint64_t)v[i].size;
        }
    }
    free(v);
}

int md_cache_name(const cfg_settings *cfg, const char *path, const struct stat *st, char *dir,
                  size_t dirsz, char hex[33], char *etag, size_t etagsz, char *msg, size_t msgsz)
{
    snprintf(dir, dirsz, "%s/callqa-audio", cfg->tmp_dir[0] ? cfg->tmp_dir : "/tmp");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cfg_fail(msg, msgsz, "the transcode cache under tmp_dir cannot be made: %s",
                        strerror(errno)),
               500;
    /* its name: the file's path, size, mtime and inode, as the store's list of a call's files
     * has it (so that the purge and the erasure find it) */
    store_file_transcode(dir, path, st, hex, NULL, 0);
    snprintf(etag, etagsz, "\"t-%s\"", hex);
    return 0;
}

int md_cache_open(const char *dir, const char *hex)
{
    char final[1200];
    snprintf(final, sizeof(final), "%s/%s.wav", dir, hex);
    int out = open(final, O_RDONLY | O_CLOEXEC);
    if (out >= 0)
        futimens(out, NULL); /* served now: the last to be evicted */
    return out;
}

/* Transcode src (st its stat) into dir/hex.wav: written to a temp name, renamed into place,
 * the cache trimmed. 0 with *out (an open descriptor), or an HTTP status with msg. */
static int cache_make(const cfg_settings *cfg, const char *dir, const char *hex, int src,
                      const struct stat *st, bool raw_gsm, int *out, char *msg, size_t msgsz)
{
    char final[1200], tmp[1200];
    snprintf(final, sizeof(final), "%s/%s.wav", dir, hex);
    snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX.part", dir, hex);
    int fd = mkostemps(tmp, 5, O_CLOEXEC);
    if (fd < 0)
        return cfg_fail(msg, msgsz, "the transcode cache under tmp_dir cannot be written: %s",
                        strerror(errno)),
               500;
    int rc = transcode(src, (uint64_t)st->st_size, raw_gsm, fd, cfg->max_duration_sec, msg, msgsz);
    if (rc == TC_OK && rename(tmp, final) != 0) {
        cfg_fail(msg, msgsz, "the transcoded audio could not be kept: %s", strerror(errno));
        rc = TC_IO;
    }
    if (rc != TC_OK) {
        unlink(tmp);
        close(fd);
        return rc == TC_UNREADABLE ? 415 : rc == TC_TOO_LONG ? 422 : 500;
    }
    cache_evict(dir, strrchr(final, '/') + 1);
    *out = fd;
    return 0;
}

/* ---- transcodes off the owner's thread ------------------------------------------------------ */

typedef struct tc_job {
    const void *owner;
    char rid[24];
    void (*wake)(void *arg);
    void *arg;
    const cfg_settings *cfg;
    char dir[1100], hex[33];
    int src;
    struct stat st;
    bool raw_gsm;
    bool waiting; /* another owner transcodes the same file: its outcome is this one's */
    int leg;
    char etag[80];
    /* the outcome */
    bool done;
    int status, out;
    char msg[600];
    double finished; /* monotonic s */
    struct tc_job *next;
} tc_job;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static tc_job *g_jobs;
static int g_running;

static void job_free(tc_job *j)
{
    if (j->out >= 0)
        close(j->out);
    free(j);
}

/* The owner's job (unlinked when done), or NULL; outcomes left for over 10 minutes are freed.
 * Under g_mu. */
static tc_job *job_of(const void *owner, const char *id)
{
    double now = cq_clock_mono_sec();
    tc_job *found = NULL;
    for (tc_job **p = &g_jobs; *p;) {
        tc_job *j = *p;
        if (j->owner == owner && !strcmp(j->rid, id)) {
            found = j;
            if (j->done) {
                *p = j->next;
                continue;
            }
        } else if (j->done && now - j->finished > 600) {
            *p = j->next;
            job_free(j);
            continue;
        }
        p = &j->next;
    }
    return found;
}

typedef struct waker {
    void (*wake)(void *arg);
    void *arg;
} waker;

static void *job_run(void *arg)
{
    tc_job *j = arg;
    int out = -1;
    int status = cache_make(j->cfg, j->dir, j->hex, j->src, &j->st, j->raw_gsm, &out, j->msg,
                            sizeof(j->msg));
    close(j->src);
    /* this owner, and those that came for the same file meanwhile (each its descriptor) */
    waker *wk = NULL;
    size_t n = 0;
    pthread_mutex_lock(&g_mu);
    for (tc_job *w = g_jobs; w; w = w->next) {
        if (w != j && (!w->waiting || strcmp(w->hex, j->hex)))
            continue;
        waker *nw = realloc(wk, (n + 1) * sizeof(*wk));
        if (!nw)
            break; /* not woken: it times out with its owner (never seen) */
        wk = nw;
        wk[n++] = (waker){w->wake, w->arg};
        w->status = status, w->done = true, w->finished = cq_clock_mono_sec();
        w->out = w == j ? out : status ? -1 : dup(out);
        if (w != j && !status && w->out < 0)
            w->status = 500, snprintf(w->msg, sizeof(w->msg), "no descriptor left");
        else if (w != j)
            snprintf(w->msg, sizeof(w->msg), "%s", j->msg);
    }
    g_running--;
    pthread_mutex_unlock(&g_mu);
    for (size_t i = 0; i < n; i++) /* the jobs may be gone from here on */
        wk[i].wake(wk[i].arg);
    free(wk);
    return NULL;
}

int md_transcode_start(const md_transcode *t)
{
    tc_job *j = calloc(1, sizeof(*j));
    if (!j) {
        close(t->src);
        return -2;
    }
    j->owner = t->owner, j->wake = t->wake, j->arg = t->arg;
    j->cfg = t->cfg, j->src = t->src, j->st = t->st, j->out = -1, j->leg = t->leg;
    j->raw_gsm = t->raw_gsm;
    snprintf(j->rid, sizeof(j->rid), "%s", t->id);
    snprintf(j->dir, sizeof(j->dir), "%s", t->dir);
    snprintf(j->hex, sizeof(j->hex), "%s", t->hex);
    snprintf(j->etag, sizeof(j->etag), "%s", t->etag);
    pthread_mutex_lock(&g_mu);
    for (tc_job *o = g_jobs; o; o = o->next)
        if (!o->done && !o->waiting && !strcmp(o->hex, j->hex))
            j->waiting = true; /* being made: wait for it */
    bool busy = !j->waiting && g_running >= MD_MAX_TRANSCODES;
    if (j->waiting) {
        close(j->src);
        j->src = -1;
        j->next = g_jobs, g_jobs = j;
        t->hold(t->arg);
    } else if (!busy) {
        j->next = g_jobs, g_jobs = j;
        t->hold(t->arg);
        pthread_attr_t at;
        pthread_t th;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, job_run, j) == 0) {
            g_running++;
        } else { /* no thread: the outcome says so when the owner asks again */
            close(j->src);
            j->done = true, j->status = 503, j->finished = cq_clock_mono_sec();
            snprintf(j->msg, sizeof(j->msg), "no thread could be started for it");
            t->wake(t->arg);
        }
        pthread_attr_destroy(&at);
    }
    pthread_mutex_unlock(&g_mu);
    if (!busy)
        return 0;
    free(j);
    close(t->src);
    return -1;
}

int md_transcode_take(const void *owner, const char *id, md_outcome *out)
{
    pthread_mutex_lock(&g_mu);
    tc_job *j = job_of(owner, id);
    int state = !j ? 0 : j->done ? 2 : 1; /* 1: not woken by job_run: cannot happen, wait */
    pthread_mutex_unlock(&g_mu);
    if (state != 2)
        return state;
    out->fd = j->out, out->status = j->status, out->leg = j->leg;
    snprintf(out->etag, sizeof(out->etag), "%s", j->etag);
    snprintf(out->msg, sizeof(out->msg), "%s", j->msg);
    j->out = -1;
    job_free(j);
    return 2;
}
