/*
 * svc_audio.c - GET /api/qa/call/{id}/audio: a call's recording for the browser's player, and
 * the "audio" block of GET /api/qa/call/{id} (which legs can be asked for).
 *
 * DESIGN
 * The call's row names its files (audio: the mix or the stereo file; audio_in, audio_out: the
 * ViciDial legs), found as the worker finds them: relative paths under recordings_dir, uploads
 * where the upload route put them; "NAME:REL" (recording server NAME) is not served. What a
 * file holds is read from its first bytes, never from its name (uploads are kept as .rec):
 * WAV of PCM, float, u-law or A-law, MP3, FLAC and Ogg go out as they are; anything else the
 * decoder reads (GSM 06.10 in WAV or raw, AU, AIFF, other WAV encodings) is transcoded to
 * PCM16 WAV with the project's decoder (cq_audio), once: the result is kept under
 * tmp_dir/callqa-audio, named by the source's path, size, mtime and inode (store_file_transcode:
 * the store's list of a call's files, which the purge and the erasure walk), written to a temp
 * name and renamed into place (concurrent requests for the same file each write their own and
 * the last rename wins; an open file stays readable when another request evicts it), the
 * least recently served removed beyond SVC_AUDIO_CACHE_BYTES. The body is always the file
 * itself (MHD_create_response_from_fd_at_offset64): one byte range (206), the whole (200), 416
 * for a range past the end, 304 for a matching If-None-Match.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../jobs/jobs.h"
#include "svc.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "../store/store_retain.h"

/* ---- pure parts: Range, what a file holds ------------------------------------------------- */

/* digits into *v; false on none or overflow */
static bool read_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *p = s, *v = x;
    return true;
}

svc_range svc_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    *first = *last = 0;
    if (!h)
        return SVC_RANGE_NONE;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncasecmp(h, "bytes", 5))
        return SVC_RANGE_NONE;
    h += 5;
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h++ != '=')
        return SVC_RANGE_NONE;
    while (*h == ' ' || *h == '\t')
        h++;
    uint64_t a = 0, b = 0;
    bool suffix = *h == '-', has_b = false;
    if (suffix) {
        h++;
        if (!read_u64(&h, &b))
            return SVC_RANGE_NONE;
    } else {
        if (!read_u64(&h, &a) || *h++ != '-')
            return SVC_RANGE_NONE;
        has_b = read_u64(&h, &b);
    }
    while (*h == ' ' || *h == '\t')
        h++;
    if (*h) /* several ranges, or anything after the one: the whole body */
        return SVC_RANGE_NONE;
    if (has_b && b < a)
        return SVC_RANGE_NONE; /* an invalid range-spec: the header is ignored */
    if (suffix) {
        if (b == 0 || size == 0)
            return SVC_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return SVC_RANGE_OK;
    }
    if (a >= size)
        return SVC_RANGE_UNSATISFIABLE;
    *first = a;
    *last = has_b && b < size ? b : size - 1;
    return SVC_RANGE_OK;
}

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* the WAVE format tag of a RIFF/WAVE file's fmt chunk (the subformat's for
 * WAVE_FORMAT_EXTENSIBLE), or -1 when the head does not reach it */
static long wav_format_tag(const uint8_t *h, size_t n)
{
    size_t off = 12;
    while (off + 8 <= n) {
        uint32_t len = le32(h + off + 4);
        if (!memcmp(h + off, "fmt ", 4)) {
            if (len < 16 || off + 8 + 16 > n)
                return -1;
            unsigned tag = le16(h + off + 8);
            if (tag == 0xFFFE) { /* the subformat GUID's first two bytes */
                if (len < 40 || off + 8 + 26 > n)
                    return -1;
                tag = le16(h + off + 8 + 24);
            }
            return (long)tag;
        }
        if (len > n - off - 8)
            return -1;
        off += 8 + (size_t)len + (len & 1);
    }
    return -1;
}

/* an MPEG audio frame header (layer I-III, a real bitrate and sample rate) at h */
static bool mpeg_frame(const uint8_t *h, size_t n)
{
    return n >= 4 && h[0] == 0xFF && (h[1] & 0xE0) == 0xE0 && ((h[1] >> 3) & 3) != 1 &&
           ((h[1] >> 1) & 3) != 0 && (h[2] >> 4) != 0xF && (h[2] >> 4) != 0 &&
           ((h[2] >> 2) & 3) != 3;
}

svc_audio_kind svc_audio_sniff(const uint8_t *h, size_t n, uint64_t size)
{
    if (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) {
        long tag = wav_format_tag(h, n);
        /* PCM, IEEE float, A-law, u-law: what browsers play */
        return tag == 1 || tag == 3 || tag == 6 || tag == 7 ? SVC_AUDIO_WAV : SVC_AUDIO_DECODE;
    }
    if ((n >= 10 && !memcmp(h, "ID3", 3) && h[3] != 0xFF && h[4] != 0xFF) || mpeg_frame(h, n))
        return SVC_AUDIO_MP3;
    if (n >= 4 && !memcmp(h, "fLaC", 4))
        return SVC_AUDIO_FLAC;
    if (n >= 4 && !memcmp(h, "OggS", 4))
        return SVC_AUDIO_OGG;
    /* headerless GSM 06.10 (Asterisk's .gsm): whole 33-byte frames, each opening with 0xD */
    if (size >= 33 && size % 33 == 0 && n >= 1) {
        size_t k = 0;
        for (; k < n; k += 33)
            if ((h[k] & 0xF0) != 0xD0)
                break;
        if (k >= n)
            return SVC_AUDIO_RAW_GSM;
    }
    return SVC_AUDIO_DECODE; /* AU, AIFF, RIFX, WAV of other encodings: the decoder decides */
}

const char *svc_audio_ctype(svc_audio_kind k)
{
    switch (k) {
    case SVC_AUDIO_MP3: return "audio/mpeg";
    case SVC_AUDIO_FLAC: return "audio/flac";
    case SVC_AUDIO_OGG: return "audio/ogg";
    default: return "audio/wav"; /* as it is, or transcoded */
    }
}

/* ---- the call's files ----------------------------------------------------------------------- */

enum { LEG_IN = 0, LEG_OUT = 1, LEG_MIX = 2 };
static const char *const k_leg_names[3] = {"in", "out", "mix"};

static const char *ref_of(const store_call *c, int leg)
{
    return leg == LEG_IN ? c->audio_in : leg == LEG_OUT ? c->audio_out : c->audio;
}

/* "NAME:REL" on a configured recording server (the worker's rule): its server, else NULL */
static const cfg_server *remote_server(const cfg_settings *c, const char *ref)
{
    const char *colon = strchr(ref, ':');
    if (!colon || colon == ref || colon - ref > 64 || !strncmp(colon, "://", 3))
        return NULL;
    char name[65];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - ref), ref);
    return cfg_find_server(c, name);
}

/* a local reference as a path: relative ones under recordings_dir (as the worker has it) */
static void local_path(const cfg_settings *c, const char *ref, char *out, size_t n)
{
    if (ref[0] == '/' || !c->recordings_dir[0])
        snprintf(out, n, "%s", ref);
    else
        snprintf(out, n, "%s/%s", c->recordings_dir, ref);
}

static bool servable(const cfg_settings *cfg, const char *ref)
{
    if (!ref[0] || remote_server(cfg, ref))
        return false;
    char path[2100];
    local_path(cfg, ref, path, sizeof(path));
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= CQ_LEGS_STUB_BYTES;
}

static int call_id_row(void *user, const store_val *c, int n)
{
    for (int i = 0; i < n; i++)
        if (c[i].name && !strcmp(c[i].name, "call_id") && c[i].t == SV_INT)
            *(int64_t *)user = c[i].i;
    return 0;
}

/* The call named by recording_id or uniqueid: 1 with *c, 0 none, -1 the store failed. */
static int find_call(req *r, store_call *c)
{
    int64_t id = 0;
    store_val p[1] = {SV_S(r->param)};
    if (store_query(r->s->store, SQ_CALL, p, 1, call_id_row, &id) != 0)
        return -1;
    return id > 0 ? store_call_get(r->s->store, id, c) : 0;
}

/* What a call's audio may be served as (docs/privacy.md): */
enum {
    RED_NONE = 0, /* the recording as it is: not redacted, nor in a campaign whose audio is */
    RED_COPY,     /* the redacted copy (at *copy), and nothing else */
    RED_HELD,     /* nothing: the redaction's check failed */
    RED_PENDING,  /* nothing: its campaign's audio is redacted, and it has no copy yet */
    RED_ERR       /* the store failed */
};

static int redaction_of(req *r, const store_call *c, char state[8], char *copy, size_t n)
{
    int got = store_redaction_get(r->s->store, c->id, state, copy, n);
    if (got < 0)
        return RED_ERR;
    if (!strcmp(state, "failed"))
        return RED_HELD;
    if (!strcmp(state, "ok") && copy[0])
        return RED_COPY;
    qa_redact_plan p;
    if (qa_redact_plan_of(r->s->cfg, c->campaign_id, &p) != 0 || (p.on && p.audio))
        return RED_PENDING;
    return RED_NONE;
}

json_t *svc_audio_legs(req *r, int64_t call_id)
{
    store_call c;
    int got = store_call_get(r->s->store, call_id, &c);
    if (got < 0)
        return NULL;
    json_t *legs = json_array(), *o = json_object();
    bool has[3] = {false, false, false};
    char state[8] = "", copy[1100];
    int red = got == 1 ? redaction_of(r, &c, state, copy, sizeof(copy)) : RED_NONE;
    if (red == RED_COPY) { /* the redacted copy only, both legs in one file */
        json_array_append_new(legs, json_string(k_leg_names[LEG_MIX]));
        json_object_set_new(o, "legs", legs);
        json_object_set_new(o, "default", json_string(k_leg_names[LEG_MIX]));
        json_object_set_new(o, "redacted", json_true());
        return o;
    }
    for (int l = 0; l < 3 && got == 1 && red == RED_NONE; l++)
        if ((has[l] = servable(r->s->cfg, ref_of(&c, l))))
            json_array_append_new(legs, json_string(k_leg_names[l]));
    int def = has[LEG_MIX] ? LEG_MIX : has[LEG_IN] ? LEG_IN : has[LEG_OUT] ? LEG_OUT : -1;
    json_object_set_new(o, "legs", legs);
    json_object_set_new(o, "default", def >= 0 ? json_string(k_leg_names[def]) : json_null());
    json_object_set_new(o, "redacted", json_false());
    if (red == RED_HELD || red == RED_PENDING)
        json_object_set_new(
            o, "held_back",
            json_string(red == RED_HELD ? "the redaction check failed" : "not redacted yet"));
    return o;
}

/* ---- transcoding and its cache -------------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

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
    if (!f || !s || write_all(out_fd, h, sizeof(h))) {
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
        if (write_all(out_fd, s, 2 * n)) {
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

/* Keep the cache under SVC_AUDIO_CACHE_BYTES: the least recently served go first (never
 * `keep`); temp files older than an hour (a transcode that died) too. */
static void cache_evict(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    cached *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    double now = svc_now_sec();
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
    if (total > SVC_AUDIO_CACHE_BYTES && n) {
        qsort(v, n, sizeof(*v), by_age);
        for (size_t i = 0; i < n && total > SVC_AUDIO_CACHE_BYTES; i++) {
            snprintf(p, sizeof(p), "%s/%s", dir, v[i].name);
            if (unlink(p) == 0 || errno == ENOENT)
                total -= (uint64_t)v[i].size;
        }
    }
    free(v);
}

/* The cache's file for the recording at path (st its stat): its directory, name and ETag;
 * 0, or 500 with msg when the directory cannot be made. */
static int cache_name(const cfg_settings *cfg, const char *path, const struct stat *st, char *dir,
                      size_t dirsz, char *hex /* [33] */, char *etag, size_t etagsz, char *msg,
                      size_t msgsz)
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

/* ---- transcodes off the event loop ---------------------------------------------------------- */

/* A transcode takes about 0.3 ms per second of GSM audio (a 4-hour call: seconds): the
 * request's connection is suspended while a thread of its own transcodes, then resumed; the
 * route's handler, called again, finds the outcome here (by request, and its id: a request
 * that ended while suspended leaves its outcome, swept after a while). */
#define MAX_TRANSCODES 4

typedef struct tc_job {
    req *r;
    char rid[24];
    const cfg_settings *cfg;
    char dir[1100], hex[33];
    int src;
    struct stat st;
    bool raw_gsm;
    bool waiting; /* another request transcodes the same file: its outcome is this one's */
    int leg;
    char etag[80];
    /* the outcome */
    bool done;
    int status, out;
    char msg[600];
    double finished;
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

/* r's job (unlinked when done), or NULL; outcomes left for over 10 minutes are freed. Under
 * g_mu. */
static tc_job *job_of(req *r)
{
    double now = svc_mono_sec();
    tc_job *found = NULL;
    for (tc_job **p = &g_jobs; *p;) {
        tc_job *j = *p;
        if (j->r == r && !strcmp(j->rid, r->id)) {
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

static void *job_run(void *arg)
{
    tc_job *j = arg;
    int out = -1;
    int status = cache_make(j->cfg, j->dir, j->hex, j->src, &j->st, j->raw_gsm, &out, j->msg,
                            sizeof(j->msg));
    close(j->src);
    /* this request, and those that came for the same file meanwhile (each its descriptor) */
    struct MHD_Connection **conns = NULL;
    size_t n = 0;
    pthread_mutex_lock(&g_mu);
    for (tc_job *w = g_jobs; w; w = w->next) {
        if (w != j && (!w->waiting || strcmp(w->hex, j->hex)))
            continue;
        struct MHD_Connection **nc = realloc(conns, (n + 1) * sizeof(*conns));
        if (!nc)
            break; /* not resumed: it times out with the connection (never seen) */
        conns = nc;
        conns[n++] = w->r->conn;
        w->status = status, w->done = true, w->finished = svc_mono_sec();
        w->out = w == j ? out : status ? -1 : dup(out);
        if (w != j && !status && w->out < 0)
            w->status = 500, snprintf(w->msg, sizeof(w->msg), "no descriptor left");
        else if (w != j)
            snprintf(w->msg, sizeof(w->msg), "%s", j->msg);
    }
    g_running--;
    pthread_mutex_unlock(&g_mu);
    for (size_t i = 0; i < n; i++) /* the jobs may be gone from here on */
        MHD_resume_connection(conns[i]);
    free(conns);
    return NULL;
}

/* ---- the answer ----------------------------------------------------------------------------- */

/* If-None-Match: "*" or a list of entity tags, compared weakly */
static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == el && !memcmp(p, etag, el))
            return true;
        p = e;
    }
    return false;
}

static enum MHD_Result queue(req *r, int status, struct MHD_Response *resp, const char *ctype,
                             const char *etag)
{
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (etag) {
        MHD_add_response_header(resp, "ETag", etag);
        MHD_add_response_header(resp, "Cache-Control", "private, no-cache");
    } else {
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    }
    r->status = status;
    return svc_queue(r, (unsigned)status, resp); /* the service's headers, as every answer */
}

/* fd (taken): the whole file, one range of it, 304 or 416 */
static enum MHD_Result serve_fd(req *r, int fd, const char *ctype, const char *etag)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        svc_answer_error(r, 500, "internal", "the recording could not be read");
        return svc_send(r);
    }
    uint64_t size = (uint64_t)st.st_size;
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    if (etag_matches(inm, etag)) {
        close(fd);
        return queue(r, 304, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                     ctype, etag);
    }
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    const char *ifr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Range");
    if (ifr && strcmp(ifr, etag)) /* another version than the client holds: the whole */
        range = NULL;
    uint64_t a, b;
    svc_range k = svc_range_parse(range, size, &a, &b);
    char cr[80];
    if (k == SVC_RANGE_UNSATISFIABLE) {
        close(fd);
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"error\":\"the range is outside the recording's %" PRIu64
                 " bytes\",\"code\":\"range_not_satisfiable\"}",
                 size);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        if (resp)
            MHD_add_response_header(resp, "Content-Range", cr);
        return queue(r, 416, resp, "application/json", etag);
    }
    if (k == SVC_RANGE_OK) {
        struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(b - a + 1, fd, a);
        if (!resp)
            close(fd);
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, a, b, size);
        if (resp)
            MHD_add_response_header(resp, "Content-Range", cr);
        return queue(r, 206, resp, ctype, etag);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(size, fd, 0);
    if (!resp)
        close(fd);
    return queue(r, 200, resp, ctype, etag);
}

static enum MHD_Result transcode_failed(req *r, int leg, int status, const char *msg)
{
    svc_answer_error(r, status,
                     status == 415   ? "audio_unsupported"
                     : status == 422 ? "audio_too_long"
                     : status == 503 ? "busy"
                                     : "internal",
                     "the '%s' recording of call %.64s: %s", k_leg_names[leg], r->param, msg);
    return svc_send(r);
}

/* A recording on local disk (rec_open), the folders read again at most once a second when it
 * lies outside them (a folder registered since). */
static int svc_open_local(svc *s, const char *path, char *why, size_t n)
{
    pthread_mutex_lock(&s->roots_mu);
    int fd = rec_open(s->roots, path, why, n);
    if (fd < 0 && !strcmp(why, "outside the folders recordings are read from") &&
        svc_mono_sec() - s->roots_loaded >= 1) {
        rec_roots_load(s->roots, s->cfg, NULL, s->store);
        s->roots_loaded = svc_mono_sec();
        fd = rec_open(s->roots, path, why, n);
    }
    pthread_mutex_unlock(&s->roots_mu);
    return fd;
}

enum MHD_Result svc_qa_audio(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    const cfg_settings *cfg = r->s->cfg;
    pthread_mutex_lock(&g_mu);
    tc_job *done = job_of(r);
    pthread_mutex_unlock(&g_mu);
    if (done) {          /* resumed: the transcode is done */
        if (!done->done) /* not resumed by job_run: cannot happen, wait for it */
            return MHD_YES;
        int out = done->out, status = done->status, leg = done->leg;
        char etag[80], msg[600];
        snprintf(etag, sizeof(etag), "%s", done->etag);
        snprintf(msg, sizeof(msg), "%s", done->msg);
        done->out = -1;
        job_free(done);
        return status ? transcode_failed(r, leg, status, msg) : serve_fd(r, out, "audio/wav", etag);
    }
    const char *lg = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "leg");
    int leg = -1;
    if (lg) {
        for (int l = 0; l < 3; l++)
            if (!strcmp(lg, k_leg_names[l]))
                leg = l;
        if (leg < 0) {
            svc_answer_error(r, 400, "bad_leg",
                             "leg is in (the caller's leg), out (the "
                             "agent's) or mix (the mixed or stereo file)");
            return svc_send(r);
        }
    }
    store_call c;
    int got = find_call(r, &c);
    if (got != 1) {
        if (got < 0)
            svc_answer_error(r, 500, "store", "the store could not answer: %s",
                             store_errmsg(r->s->store));
        else
            svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                             r->param);
        return svc_send(r);
    }
    char state[8] = "", copy[1100];
    switch (redaction_of(r, &c, state, copy, sizeof(copy))) {
    case RED_ERR:
        svc_answer_error(r, 500, "store", "the store could not answer: %s",
                         store_errmsg(r->s->store));
        return svc_send(r);
    case RED_HELD:
        svc_answer_error(r, 403, "held_back",
                         "call %.64s failed its redaction check: its audio is held back "
                         "(its report's redaction.verify says why)",
                         r->param);
        return svc_send(r);
    case RED_PENDING:
        svc_answer_error(r, 403, "not_redacted",
                         "call %.64s is in a campaign whose audio is redacted, and it has no "
                         "redacted copy yet",
                         r->param);
        return svc_send(r);
    case RED_COPY: {
        /* the copy the worker wrote (a path from the store, never from the request) */
        int rfd = open(copy, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat rst;
        if (rfd < 0 || fstat(rfd, &rst) != 0 || !S_ISREG(rst.st_mode)) {
            if (rfd >= 0)
                close(rfd);
            svc_answer_error(r, 404, "audio_missing",
                             "the redacted copy of call %.64s is no longer on disk", r->param);
            return svc_send(r);
        }
        char retag[80];
        snprintf(retag, sizeof(retag), "\"r%jx-%jx.%lx-%jx\"", (uintmax_t)rst.st_size,
                 (uintmax_t)rst.st_mtim.tv_sec, (unsigned long)rst.st_mtim.tv_nsec,
                 (uintmax_t)rst.st_ino);
        return serve_fd(r, rfd, "audio/wav", retag);
    }
    default: break;
    }
    if (leg < 0) /* the mix when there is one, else the caller's leg */
        leg = c.audio[0] ? LEG_MIX : c.audio_in[0] ? LEG_IN : c.audio_out[0] ? LEG_OUT : -1;
    if (leg < 0) {
        svc_answer_error(r, 404, "no_audio", "call %.64s has no recording", r->param);
        return svc_send(r);
    }
    const char *ref = ref_of(&c, leg);
    if (!ref[0]) {
        svc_answer_error(r, 404, "no_such_leg", "call %.64s has no '%s' leg: it has %s", r->param,
                         k_leg_names[leg],
                         c.audio_in[0] && c.audio_out[0] ? "the legs in and out"
                         : c.audio[0]                    ? "a mixed or stereo recording (mix)"
                         : c.audio_in[0]                 ? "the leg in only"
                                                         : "the leg out only");
        return svc_send(r);
    }
    const cfg_server *srv = remote_server(cfg, ref);
    if (srv) {
        svc_answer_error(r, 404, "remote_audio",
                         "the '%s' recording of call %.64s is on "
                         "recording server %s: the service does not serve recordings from "
                         "recording servers yet",
                         k_leg_names[leg], r->param, srv->name);
        return svc_send(r);
    }
    char path[2100], why[300];
    local_path(cfg, ref, path, sizeof(path));
    /* opened as the worker opens it: beneath the configured folders, no symbolic link, a
     * regular file, and without waiting (a FIFO put in its place would block this thread) */
    int fd = svc_open_local(r->s, path, why, sizeof(why));
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < CQ_LEGS_STUB_BYTES) {
        bool stub = fd >= 0;
        if (fd >= 0)
            close(fd);
        else if (strcmp(why, "no such file")) /* the log has the path; the answer names none */
            fprintf(stderr,
                    "{\"ts\":%.3f,\"id\":\"%s\",\"level\":\"warn\",\"msg\":\"a "
                    "recording is refused: %s\",\"call\":%lld}\n",
                    svc_now_sec(), r->id, why, (long long)c.id);
        svc_answer_error(r, 404, "audio_missing", "the '%s' recording of call %.64s is %s",
                         k_leg_names[leg], r->param,
                         stub ? "a stub of a failed recording (no audio)"
                         : !strcmp(why, "no such file")
                             ? "no longer on disk (removed or moved since the call was queued)"
                             : "not readable: it is not a regular file beneath the folders "
                               "recordings are read from (a symbolic link, a FIFO?)");
        return svc_send(r);
    }
    uint8_t head[4096];
    ssize_t hn = pread(fd, head, sizeof(head), 0);
    svc_audio_kind kind = svc_audio_sniff(head, hn > 0 ? (size_t)hn : 0, (uint64_t)st.st_size);
    if (kind == SVC_AUDIO_DECODE) { /* a raw GSM file named so, whatever its frames say */
        size_t pl = strlen(path);
        if (pl > 4 && !strcasecmp(path + pl - 4, ".gsm"))
            kind = SVC_AUDIO_RAW_GSM;
    }
    char etag[80], msg[600], dir[1100], hex[33];
    if (kind == SVC_AUDIO_DECODE || kind == SVC_AUDIO_RAW_GSM) {
        int status =
            cache_name(cfg, path, &st, dir, sizeof(dir), hex, etag, sizeof(etag), msg, sizeof(msg));
        if (status) {
            close(fd);
            return transcode_failed(r, leg, status, msg);
        }
        char final[1200];
        snprintf(final, sizeof(final), "%s/%s.wav", dir, hex);
        int out = open(final, O_RDONLY | O_CLOEXEC);
        if (out >= 0) { /* made before */
            close(fd);
            futimens(out, NULL); /* served now: the last to be evicted */
            return serve_fd(r, out, "audio/wav", etag);
        }
        /* made now, by a thread of its own while the connection waits */
        tc_job *j = calloc(1, sizeof(*j));
        if (!j) {
            close(fd);
            svc_answer_error(r, 500, "internal", "out of memory");
            return svc_send(r);
        }
        j->r = r, j->cfg = cfg, j->src = fd, j->st = st, j->out = -1, j->leg = leg;
        j->raw_gsm = kind == SVC_AUDIO_RAW_GSM;
        snprintf(j->rid, sizeof(j->rid), "%s", r->id);
        snprintf(j->dir, sizeof(j->dir), "%s", dir);
        snprintf(j->hex, sizeof(j->hex), "%s", hex);
        snprintf(j->etag, sizeof(j->etag), "%s", etag);
        pthread_mutex_lock(&g_mu);
        for (tc_job *o = g_jobs; o; o = o->next)
            if (!o->done && !o->waiting && !strcmp(o->hex, hex))
                j->waiting = true; /* being made: wait for it */
        bool busy = !j->waiting && g_running >= MAX_TRANSCODES;
        if (j->waiting) {
            close(fd);
            j->src = -1;
            j->next = g_jobs, g_jobs = j;
            MHD_suspend_connection(r->conn);
        } else if (!busy) {
            j->next = g_jobs, g_jobs = j;
            MHD_suspend_connection(r->conn);
            pthread_attr_t at;
            pthread_t t;
            pthread_attr_init(&at);
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&t, &at, job_run, j) == 0) {
                g_running++;
            } else { /* no thread: the answer says so when the handler is called again */
                close(fd);
                j->done = true, j->status = 503, j->finished = svc_mono_sec();
                snprintf(j->msg, sizeof(j->msg), "no thread could be started for it");
                MHD_resume_connection(r->conn);
            }
            pthread_attr_destroy(&at);
        }
        pthread_mutex_unlock(&g_mu);
        if (!busy)
            return MHD_YES; /* the connection is resumed when it is done: this handler again */
        free(j);
        close(fd);
        svc_answer_error(r, 503, "busy",
                         "%d recordings are being transcoded already: try again "
                         "in a few seconds",
                         MAX_TRANSCODES);
        return svc_send(r);
    }
    snprintf(etag, sizeof(etag), "\"%jx-%jx.%lx-%jx\"", (uintmax_t)st.st_size,
             (uintmax_t)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec, (uintmax_t)st.st_ino);
    return serve_fd(r, fd, svc_audio_ctype(kind), etag);
}
