/*
 * server_record.c - the recordings of `callqa live --record-dir` (server_int.h): a call's audio
 * as NAME.wav and its event lines as NAME.live.jsonl, written by the analysis thread that holds
 * the call, as .part files renamed into place when the call is finished (never over another
 * file), each listed in the folder's manifest before it is made (manifest.c); with mask_digits,
 * the audio waits REC_DELAY_SEC before it is written, and the spans of its DTMF are written as
 * silence.
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

#include "callqa/cq_clock.h"
#include "server_int.h"

#define REC_DELAY_SEC 1.0 /* with mask_digits: how long samples wait before they are written */

/* Mute [from, to) in the recording (mask_digits); an open DTMF event's span has to =
 * UINT64_MAX until it closes (the same start). Caller holds c->mu. */
void lv__mute_locked(lv__call *c, uint64_t from, uint64_t to)
{
    for (size_t i = 0; i < c->nmute; i++)
        if (c->mute[i].from == from) { /* the open span of the same DTMF event, now closed */
            c->mute[i].to = to;
            return;
        }
    if (c->nmute == LV__MUTE_MAX) { /* the two oldest become one (muting what lies between) */
        c->mute[1].from = c->mute[0].from;
        memmove(c->mute, c->mute + 1, (LV__MUTE_MAX - 1) * sizeof(c->mute[0]));
        c->nmute--;
    }
    c->mute[c->nmute++] = (struct span){from, to};
}

/* A 16-bit mono PCM WAV header for n samples at rate. */
static void wav_header(uint8_t h[44], uint32_t rate, uint64_t n)
{
    const uint32_t data = n * 2 > 0xffffffd3u ? 0xffffffd3u : (uint32_t)(n * 2);
    const uint32_t v[] = {36 + data, 16, rate, rate * 2, data};
    memcpy(h, "RIFF\0\0\0\0WAVEfmt \0\0\0\0\1\0\1\0\0\0\0\0\0\0\0\0\2\0\20\0data\0\0\0\0", 44);
    const int at[] = {4, 16, 24, 28, 40};
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 4; b++)
            h[at[i] + b] = (uint8_t)(v[i] >> (8 * b));
}

/* The recording's name: the call's id with anything but letters, digits, '-' and '_' made '_'
 * (an id from a PBX's metadata never becomes a path). */
static void rec_name_of(const char *id, char *out, size_t cap)
{
    size_t k = 0;
    for (; id[k] && k + 1 < cap && k < 64; k++) {
        const char ch = id[k];
        out[k] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '-' || ch == '_'
                     ? ch
                     : '_';
    }
    out[k] = 0;
    if (!k)
        snprintf(out, cap, "call");
}

/* Give the recording up: the partial files removed, the reason kept for call_end. */
void lv__rec_abandon(lv__call *c, const char *why)
{
    lv_server *s = c->srv;
    if (!c->rec_note[0])
        snprintf(c->rec_note, sizeof(c->rec_note), "%s", why);
    if (c->rec)
        fclose(c->rec);
    c->rec = NULL;
    char part[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    (void)unlinkat(s->rec_dir, part, 0);
}

/* Open NAME.wav.part and NAME.live.jsonl.part in record_dir (created, never an existing file or
 * a link followed), with the header of an empty WAV. */
static void rec_open_files(lv__call *c, uint32_t rate);

/* The recording opened once, when the analysis starts the call; the lines kept until then go
 * into its event file (or are let go when it could not be made). */
void lv__rec_open(lv__call *c, uint32_t rate)
{
    if (c->srv->rec_dir < 0)
        return;
    rec_open_files(c, rate);
    pthread_mutex_lock(&c->mu);
    c->rec_started = true;
    free(c->early);
    c->early = NULL;
    c->early_len = 0;
    pthread_mutex_unlock(&c->mu);
}

static void rec_open_files(lv__call *c, uint32_t rate)
{
    lv_server *s = c->srv;
    /* a finished recording of an earlier call of the same name (a stream that came back, a
     * name given twice) is never written over: the first free of ID, ID-2 ... ID-99 */
    char base[72];
    rec_name_of(c->name, base, sizeof(base));
    for (int k = 1; k < 100; k++) {
        char fin[96];
        struct stat st;
        snprintf(c->rec_name, sizeof(c->rec_name), k == 1 ? "%.64s" : "%.64s-%d", base, k);
        snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
        if (fstatat(s->rec_dir, fin, &st, AT_SYMLINK_NOFOLLOW) != 0)
            break;
    }
    char part[96], evp[96], fin[96], evf[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    snprintf(evp, sizeof(evp), "%s.live.jsonl.part", c->rec_name);
    /* listed as the call's before they are made, for a purge run without this server */
    snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
    snprintf(evf, sizeof(evf), "%s.live.jsonl", c->rec_name);
    const char *const listed[4] = {fin, part, evf, evp};
    if (lv__manifest_add(s->rec_dir, c->name, listed, 4, cq_clock_wall_sec()) != 0) {
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot list it in %s: %.60s", LV_MANIFEST_NAME,
                 strerror(errno));
        return;
    }
    const int fl = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(s->rec_dir, part, fl, 0640);
    if (fd < 0 || !(c->rec = fdopen(fd, "wb"))) {
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot create %.90s: %.60s", part,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    uint8_t h[44];
    wav_header(h, rate, 0);
    if (fwrite(h, 1, 44, c->rec) != 44) {
        lv__rec_abandon(c, "cannot write the recording");
        return;
    }
    int efd = openat(s->rec_dir, evp, fl, 0640);
    FILE *ev = efd >= 0 ? fdopen(efd, "w") : NULL;
    if (!ev) {
        if (efd >= 0)
            close(efd);
        lv__rec_abandon(c, "cannot create the recording's event file");
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->rec_ev = ev;
    if (c->early_len)
        fwrite(c->early, 1, c->early_len, ev);
    pthread_mutex_unlock(&c->mu);
}

/* n samples to the file (little-endian), those inside a span to be muted as zeros; `at` is the
 * call's sample index of pcm[0]. */
static void rec_put(lv__call *c, const int16_t *pcm, size_t n, uint64_t at)
{
    uint8_t b[2 * LV__TURN_SAMPLES];
    const bool mask = c->srv->p.mask_digits; /* spans to mute come only with it */
    while (n && c->rec) {
        size_t k = n < LV__TURN_SAMPLES ? n : LV__TURN_SAMPLES;
        if (mask)
            pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < k; i++) {
            int16_t v = pcm[i];
            for (size_t m = 0; mask && m < c->nmute; m++)
                if (at + i >= c->mute[m].from && at + i < c->mute[m].to)
                    v = 0;
            b[2 * i] = (uint8_t)((uint16_t)v & 0xff);
            b[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
        }
        if (mask)
            pthread_mutex_unlock(&c->mu);
        if (fwrite(b, 2, k, c->rec) != k) {
            lv__rec_abandon(c, "writing the recording failed (disk full?)");
            return;
        }
        c->rec_samples += k;
        pcm += k, n -= k, at += k;
    }
}

/* n samples taken for analysis, on their way to the recording: at once, or with mask_digits
 * after REC_DELAY_SEC, by when the DTMF among them has been recognised and can be muted. */
void lv__rec_write(lv__call *c, const int16_t *pcm, size_t n)
{
    if (!c->rec)
        return;
    if (!c->srv->p.mask_digits) {
        rec_put(c, pcm, n, c->rec_samples);
        return;
    }
    if (!c->delay) {
        c->delay_cap = (size_t)(REC_DELAY_SEC * c->rate) + LV__TURN_SAMPLES;
        if (!(c->delay = malloc(c->delay_cap * sizeof(int16_t)))) {
            lv__rec_abandon(c, "out of memory for the recording's delay");
            return;
        }
    }
    /* the oldest samples out first, so that the newest REC_DELAY_SEC stay */
    const size_t keep = (size_t)(REC_DELAY_SEC * c->rate);
    if (c->delay_len + n > keep) {
        size_t out = c->delay_len + n - keep;
        if (out > c->delay_len)
            out = c->delay_len;
        rec_put(c, c->delay, out, c->rec_samples);
        memmove(c->delay, c->delay + out, (c->delay_len - out) * sizeof(int16_t));
        c->delay_len -= out;
    }
    while (n && c->rec) { /* n may exceed the delay (a take larger than it): through it */
        size_t room = c->delay_cap - c->delay_len, k = n < room ? n : room;
        memcpy(c->delay + c->delay_len, pcm, k * sizeof(int16_t));
        c->delay_len += k, pcm += k, n -= k;
        if (n) {
            rec_put(c, c->delay, c->delay_len, c->rec_samples);
            c->delay_len = 0;
        }
    }
}

/* The call's audio is all written: the header's sizes, the data on disk, NAME.wav. */
void lv__rec_close(lv__call *c)
{
    lv_server *s = c->srv;
    if (c->rec && c->delay_len)
        rec_put(c, c->delay, c->delay_len, c->rec_samples);
    c->delay_len = 0;
    if (!c->rec)
        return;
    uint8_t h[44];
    wav_header(h, c->rate, c->rec_samples);
    char part[96], fin[96];
    snprintf(part, sizeof(part), "%s.wav.part", c->rec_name);
    snprintf(fin, sizeof(fin), "%s.wav", c->rec_name);
    if (fflush(c->rec) != 0 || fseek(c->rec, 0, SEEK_SET) != 0 || fwrite(h, 1, 44, c->rec) != 44 ||
        fflush(c->rec) != 0 || fsync(fileno(c->rec)) != 0) {
        lv__rec_abandon(c, "writing the recording failed (disk full?)");
        return;
    }
    fclose(c->rec);
    c->rec = NULL;
    /* never over a file that came meanwhile: then the recording stays as NAME.wav.part */
    if (renameat2(s->rec_dir, part, s->rec_dir, fin, RENAME_NOREPLACE) != 0)
        snprintf(c->rec_note, sizeof(c->rec_note), "cannot rename %.90s into place: %.60s", part,
                 strerror(errno));
}

/* After the call_end line: the event lines closed and put beside the recording. */
void lv__rec_events_close(lv__call *c)
{
    lv_server *s = c->srv;
    pthread_mutex_lock(&c->mu);
    FILE *ev = c->rec_ev;
    c->rec_ev = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!ev)
        return;
    char part[96], fin[96];
    snprintf(part, sizeof(part), "%s.live.jsonl.part", c->rec_name);
    snprintf(fin, sizeof(fin), "%s.live.jsonl", c->rec_name);
    bool ok = fflush(ev) == 0 && fsync(fileno(ev)) == 0;
    fclose(ev);
    if (ok) /* as the recording: never over another file; else left as NAME.live.jsonl.part */
        (void)renameat2(s->rec_dir, part, s->rec_dir, fin, RENAME_NOREPLACE);
    else
        (void)unlinkat(s->rec_dir, part, 0);
}
