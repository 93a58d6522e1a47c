/*
 * media.h - a call's recordings as a listener gets them: what a recording holds (from its first
 * bytes, never its name), which of a call's legs lie on local disk and where, and the transcodes
 * to PCM16 WAV of those a browser cannot play, made once, off the caller's thread, into a bounded
 * cache under tmp_dir. GET /api/qa/call/{id}/audio answers with them (src/service/svc_audio.c:
 * the route, byte ranges, ETags and what a caller may hear); the store names the cache's files
 * (store_file_transcode), so that the purge and the erasure find them beside a call's.
 *
 * ROOM: src/media/, prefix md_, on floor 5 (docs/ARCHITECTURE.md). It reads recordings through
 * the engine's public decoder (cq_audio.h), the settings (tmp_dir, recordings_dir, the recording
 * servers, max_duration) and the store's names of files; it knows nothing of HTTP.
 *
 * Thread safety: the pure functions and the legs' functions are; the transcodes are safe between
 * threads (one lock of this room), each made by a thread of its own.
 */
#ifndef CQ_MEDIA_H
#define CQ_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "../config/config.h"
#include "../store/store_calls.h"

/* ---- what a recording holds (md_files.c) ---------------------------------------------------- */

typedef enum md_kind {
    MD_DECODE = 0, /* something else: transcoded if the decoder reads it */
    MD_WAV,        /* RIFF/WAVE of PCM, float, A-law or u-law: served as it is */
    MD_MP3,
    MD_FLAC,
    MD_OGG,
    MD_RAW_GSM /* headerless GSM 06.10 frames: transcoded */
} md_kind;
/* What a recording holds, from its first n bytes (h) and its size: never from its name. A WAV
 * of GSM 06.10 (WAV49) or any encoding but PCM, float and G.711 is MD_DECODE. Pure. */
md_kind md_sniff(const uint8_t *h, size_t n, uint64_t size);
const char *md_ctype(md_kind k); /* "audio/wav", "audio/mpeg", ... */

/* ---- a call's legs (md_files.c) ------------------------------------------------------------- */

/* The legs a caller may ask for: the caller's (in), the agent's (out), the mixed or stereo file
 * (mix). */
typedef enum md_leg { MD_LEG_IN = 0, MD_LEG_OUT = 1, MD_LEG_MIX = 2, MD_N_LEGS = 3 } md_leg;
const char *md_leg_name(int leg); /* "in", "out", "mix" */
/* The call's row's reference of that leg (audio_in, audio_out, audio): "" none. */
const char *md_leg_ref(const store_call *c, int leg);
/* "NAME:REL" on a configured recording server (the worker's rule): its server, else NULL. */
const cfg_server *md_remote_server(const cfg_settings *c, const char *ref);
/* A local reference as a path: relative ones under recordings_dir (as the worker has it). */
void md_local_path(const cfg_settings *c, const char *ref, char *out, size_t n);
/* Whether the reference is a regular file on local disk, larger than a failed recording's stub
 * (md_stub). */
bool md_servable(const cfg_settings *c, const char *ref);
/* Whether a recording of `bytes` is a failed recording's stub (under CQ_LEGS_STUB_BYTES). */
bool md_stub(long long bytes);

/* ---- transcodes and their cache (md_transcode.c) -------------------------------------------- */

/* Transcodes kept under tmp_dir/callqa-audio, at most this many bytes in all: the least recently
 * served are removed first. */
#define MD_CACHE_BYTES ((uint64_t)1 << 30)
/* Transcodes made at once; more are refused (the caller answers busy). */
#define MD_MAX_TRANSCODES 4

/* The cache's file for the recording at path (st its stat): its directory (made), its name's 32
 * hex digits and its ETag ("t-HEX", quoted). 0, or 500 with msg when the directory cannot be
 * made. */
int md_cache_name(const cfg_settings *cfg, const char *path, const struct stat *st, char *dir,
                  size_t dirsz, char hex[33], char *etag, size_t etagsz, char *msg, size_t msgsz);
/* The transcode made before (dir/hex.wav): an open descriptor, its time touched (served now: the
 * last to be evicted), or -1. */
int md_cache_open(const char *dir, const char *hex);

/* One transcode asked for, and who waits for it. The outcome is found again by owner and id (a
 * request and its id: an owner that ended while it waited leaves its outcome, swept after 10
 * minutes). */
typedef struct md_transcode {
    const cfg_settings *cfg;      /* max_duration_sec; valid while the service runs */
    int src;                      /* the recording, open (taken: closed by md_transcode_start) */
    struct stat st;               /* its stat */
    bool raw_gsm;                 /* headerless GSM 06.10 frames */
    int leg;                      /* md_leg, handed back with the outcome */
    const char *dir, *hex, *etag; /* md_cache_name's */
    const void *owner;
    const char *id;
    /* hold: called before the transcode can end, under this room's lock (the caller suspends
     * its connection); wake: the outcome is ready (called once, from the transcoding thread, or
     * at once when no thread could be started). */
    void (*hold)(void *arg);
    void (*wake)(void *arg);
    void *arg;
} md_transcode;

/* Start it on a thread of its own, or wait for the same file being made for another owner.
 * 0: hold was called, wake will be; -1: MD_MAX_TRANSCODES are being made, -2: out of memory
 * (both: src closed, hold not called). */
int md_transcode_start(const md_transcode *t);

typedef struct md_outcome {
    int status; /* 0: fd is the transcode; else an HTTP status: 415 unreadable, 422 longer than
                   max_duration, 500, 503 no thread; msg says why, naming no path */
    int fd;     /* taken by the caller */
    int leg;
    char etag[80];
    char msg[600];
} md_outcome;
/* The outcome for owner and id: 0 none asked, 1 still being made (wait for wake), 2 ready (*out
 * filled; it is forgotten here). Outcomes left for over 10 minutes are freed. */
int md_transcode_take(const void *owner, const char *id, md_outcome *out);

#endif /* CQ_MEDIA_H */
