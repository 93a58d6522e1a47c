/*
 * store_files.c - every file callqa keeps of a call, and the column that names it (store.h,
 * docs/privacy/retention.md "What callqa keeps of a call"): one table, k_files, that the purge, the
 * erasure and their verification walk (store_retain_files.c), and the names of the files found from
 * another (beside a recording, the redacted copy's unfinished one, the service's transcode
 * cache), which the code that writes or reads those files takes from here: the worker (the
 * capture and the live events beside a recording, the redacted copy), the service (the
 * transcode cache). A file of a call that this table does not list is neither deleted nor
 * checked: a new kind of file is a new row here first.
 */
#define _GNU_SOURCE
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

/* Every kind, in store_file_kind's order. */
static const store__file_def k_files[STORE_FILE_KINDS] = {
    /* named by a column of the call's rows: cleared when the file goes */
    {STORE_FILE_RECORDING, "recording", STORE__FROM_COLUMN, "calls", "id", "audio", NULL, false,
     true},
    {STORE_FILE_LEG_IN, "leg in", STORE__FROM_COLUMN, "calls", "id", "audio_in", NULL, false, true},
    {STORE_FILE_LEG_OUT, "leg out", STORE__FROM_COLUMN, "calls", "id", "audio_out", NULL, false,
     true},
    {STORE_FILE_REDACTED, "redacted copy", STORE__FROM_COLUMN, "analyses", "call_id",
     "redacted_audio", NULL, false, false},
    /* beside each recording: its path without the extension (and a leg's -in, -out, -all) */
    {STORE_FILE_CAPTURE, "capture", STORE__FROM_BESIDE, NULL, NULL, NULL, ".pcap", true, false},
    {STORE_FILE_CAPTURE_NG, "capture (pcapng)", STORE__FROM_BESIDE, NULL, NULL, NULL, ".pcapng",
     true, false},
    {STORE_FILE_LIVE, "live events", STORE__FROM_BESIDE, NULL, NULL, NULL, ".live.jsonl", false,
     false},
    {STORE_FILE_LIVE_PART, "live events (unfinished)", STORE__FROM_BESIDE, NULL, NULL, NULL,
     ".live.jsonl.part", false, false},
    /* in the redacted copies' folder: .ID.wav.PID, a copy whose writer stopped */
    {STORE_FILE_REDACTED_PART, "redacted copy (unfinished)", STORE__FROM_REDACTED_PART, NULL, NULL,
     NULL, NULL, false, false},
    /* the service's transcode cache of each file named by a column */
    {STORE_FILE_TRANSCODE, "transcode", STORE__FROM_TRANSCODE, NULL, NULL, NULL, NULL, false,
     false},
};

const store__file_def *store__file_def_of(store_file_kind k)
{
    return k >= 0 && k < STORE_FILE_KINDS ? &k_files[k] : NULL;
}

const char *store_file_name(store_file_kind k)
{
    return k >= 0 && k < STORE_FILE_KINDS ? k_files[k].name : "?";
}

int store_file_base(const char *rec, bool legs, char *base, size_t n)
{
    if (!rec || !*rec || strlen(rec) >= n)
        return -1;
    snprintf(base, n, "%s", rec);
    char *slash = strrchr(base, '/'), *dot = strrchr(base, '.');
    if (dot && (!slash || dot > slash + 1))
        *dot = 0;
    size_t len = strlen(base);
    static const char *const leg[] = {"-in", "-out", "-all"};
    for (size_t i = 0; legs && i < 3; i++) {
        size_t k = strlen(leg[i]);
        if (len > k && !strcmp(base + len - k, leg[i]) && (!slash || base + len - k > slash + 1)) {
            base[len - k] = 0;
            break;
        }
    }
    return 0;
}

int store_file_beside(const char *rec, store_file_kind k, char *out, size_t n)
{
    const store__file_def *d = store__file_def_of(k);
    char base[4096];
    if (!d || d->from != STORE__FROM_BESIDE || store_file_base(rec, d->legs, base, sizeof(base)))
        return -1;
    int w = snprintf(out, n, "%s%s", base, d->suffix);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

int store_file_redacted(const char *dir, int64_t call_id, long pid, char *out, size_t n)
{
    int w = pid ? snprintf(out, n, "%s/.%lld.wav.%ld", dir, (long long)call_id, pid)
                : snprintf(out, n, "%s/%lld.wav", dir, (long long)call_id);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

int store_file_transcode(const char *cache_dir, const char *path, const struct stat *st,
                         char hex[33], char *out, size_t n)
{
    /* its identity: the file's path, size, mtime and inode (and the transcoder's version) */
    char key[2400];
    int kl = snprintf(key, sizeof(key), "pcm16-v1|%s|%jd|%jd.%09ld|%ju|%ju", path,
                      (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
                      (uintmax_t)st->st_ino, (uintmax_t)st->st_dev);
    struct sha256_ctx ctx;
    uint8_t dg[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx,
                  kl < 0                     ? 0
                  : (size_t)kl < sizeof(key) ? (size_t)kl
                                             : sizeof(key) - 1,
                  (const uint8_t *)key);
    sha256_digest(&ctx, sizeof(dg), dg);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", dg[i]);
    if (!out)
        return 0;
    int w = snprintf(out, n, "%s/%s.wav", cache_dir, hex);
    return w > 0 && (size_t)w < n ? 0 : -1;
}
