/*
 * live_load.c - N concurrent AudioSocket calls at real-time pace against `callqa live`, for
 * bench/live.sh: one thread sends every call's 20 ms slin frames (160 samples at 8 kHz)
 * on its own clock, the calls' frames spread over the 20 ms so that they do not all arrive at
 * once, as calls that began at different moments would. Each call opens with its UUID frame,
 * sends one channel of a recording from its own offset (wrapping round) for --secs seconds and
 * ends with a hangup frame. The wire format is Asterisk's (docs/live.md, "Asterisk
 * AudioSocket"), written with the room's encoders.
 *
 *   live_load --port P [--host H] --calls N --secs S --file WAV [--channel C] [--ramp S]
 *             [--starts FILE] [--call-secs L]
 *
 * --call-secs: each call lasts L seconds (at most S), then hangs up and a new call (a new
 * UUID) takes its place at once, until S seconds have passed: N calls at a time throughout, as
 * a busy line's calls come and go (default: each call lasts S).
 * --ramp spreads the calls' starts over that many seconds (default 2). Prints one line: the
 * calls connected, the frames sent, how late the sender itself ran (p99 and max ms: a loaded
 * machine delays the sender too, and frames it sends late are not the server's delay), and the
 * sends that would have blocked (the server not reading: counted and the frame dropped), and
 * the calls made in all. --starts writes "UUID EPOCH" for each call: the wall clock (s) at which
 * its first frame was sent, so that a line's `call_sec` says when the audio it was decided on was
 * sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../src/live/live.h"
#include "../tests/live/sender.h"
#include "bench_util.h"
#include "callqa/callqa.h"

#define FRAME 160           /* 20 ms at 8 kHz */
#define LATE_BUCKETS 100000 /* the sender's lateness in 0.1 ms buckets, up to 10 s */

typedef struct lcall {
    int fd;
    char uuid[37];
    double wall0; /* wall clock of its first frame (s since the epoch) */
    double start; /* when its first frame is due */
    size_t pos;   /* next sample of the recording */
    long sent;    /* frames sent */
    unsigned gen; /* calls this slot has made before this one */
    bool done;
} lcall;

/* Connect a slot's next call and send its UUID frame; false when it cannot. */
static bool call_open(lcall *k, int slot, const char *host, const char *port)
{
    uint8_t fr[64], uuid[16];
    /* a UUID of its own for every call of every slot: splitmix64 of (generation, slot) */
    uint64_t z = ((uint64_t)k->gen << 32 | (uint32_t)slot) + 0x9e3779b97f4a7c15u;
    for (int b = 0; b < 16; b += 8) {
        uint64_t x = (z += 0x9e3779b97f4a7c15u);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
        x ^= x >> 31;
        memcpy(uuid + b, &x, 8);
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
    lv_as_uuid_str(uuid, k->uuid);
    k->fd = dial(host, port, SOCK_STREAM);
    size_t n = lv_as_encode_uuid(fr, sizeof(fr), uuid);
    k->sent = 0;
    return k->fd >= 0 && !send_flags(k->fd, fr, n, MSG_DONTWAIT);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = NULL, *file = NULL, *starts = NULL;
    int ncalls = 0, channel = 1;
    double secs = 0, ramp = 2, call_secs = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = argv[i + 1];
        else if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--calls"))
            ncalls = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--secs"))
            secs = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--file"))
            file = argv[i + 1];
        else if (!strcmp(argv[i], "--channel"))
            channel = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ramp"))
            ramp = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--starts"))
            starts = argv[i + 1];
        else if (!strcmp(argv[i], "--call-secs"))
            call_secs = atof(argv[i + 1]);
        else {
            fprintf(stderr, "live_load: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!port || !file || ncalls < 1 || ncalls > 100000 || !(secs > 0) || ramp < 0 ||
        call_secs < 0) {
        fprintf(stderr, "usage: live_load --port P [--host H] --calls N --secs S --file WAV "
                        "[--channel C] [--ramp S] [--starts FILE] [--call-secs L]\n");
        return 2;
    }
    if (!(call_secs > 0) || call_secs > secs)
        call_secs = secs;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)ncalls + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)ncalls + 64 ? rl.rlim_max : (rlim_t)ncalls + 64;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* the recording, one channel, as 16-bit samples */
    cq_err err;
    cq_err_clear(&err);
    cq_audio *a = cq_audio_open(file, &err);
    if (!a) {
        fprintf(stderr, "live_load: %s\n", err.msg);
        return 1;
    }
    const cq_audio_info *info = cq_audio_get_info(a);
    const int nch = info->channels;
    if (info->sample_rate_hz != 8000 || channel < 1 || channel > nch || info->frames < 8000) {
        fprintf(stderr, "live_load: %s: 8 kHz, at least 1 s, channel 1..%d\n", file, nch);
        cq_audio_close(a);
        return 1;
    }
    const size_t total = (size_t)info->frames;
    float *all = malloc(total * (size_t)nch * sizeof(float));
    int16_t *pcm = malloc(total * sizeof(int16_t));
    lcall *c = calloc((size_t)ncalls, sizeof(*c));
    uint64_t *late = calloc(LATE_BUCKETS, sizeof(uint64_t));
    if (!all || !pcm || !c || !late || cq_audio_read(a, all, (int64_t)total, &err) < 0) {
        fprintf(stderr, "live_load: out of memory or unreadable %s\n", file);
        return 1;
    }
    cq_audio_close(a);
    for (size_t i = 0; i < total; i++) {
        float v = all[i * (size_t)nch + (size_t)channel - 1] * 32768.0f;
        pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    free(all);

    /* connect every call, each with its UUID frame; starts spread over the ramp, the frames'
     * phases over the 20 ms */
    FILE *sf = starts ? fopen(starts, "w") : NULL;
    const double t0 = now() + 0.2, t_end = t0 + ramp + secs;
    int connected = 0;
    long made = 0;
    for (int i = 0; i < ncalls; i++) {
        if (!call_open(&c[i], i, host, port)) {
            c[i].done = true;
            continue;
        }
        connected++;
        made++;
        c[i].start = t0 + ramp * i / ncalls + 0.020 * (double)((i * 7) % ncalls) / ncalls;
        c[i].pos = (size_t)(((uint64_t)i * 7919 * FRAME) % (total - FRAME));
    }

    const long frames_each = (long)(call_secs * 50);
    double late_max = 0;
    size_t nlate = 0;
    long blocked = 0, sent = 0, failed = 0;
    uint8_t fr[LV_AS_HEADER + 2 * FRAME];
    for (int left = connected; left > 0;) {
        double t = now(), next = t + 1.0;
        for (int i = 0; i < ncalls; i++) {
            lcall *k = &c[i];
            if (k->done)
                continue;
            double due = k->start + 0.020 * (double)k->sent;
            if (due > t) {
                next = due < next ? due : next;
                continue;
            }
            if (k->sent == frames_each) { /* the end of the call: a hangup frame */
                size_t n = lv_as_encode_hangup(fr, sizeof(fr));
                (void)send_flags(k->fd, fr, n, MSG_DONTWAIT);
                close(k->fd);
                k->gen++;
                /* another call in its place while a whole one fits before the end */
                if (due + call_secs <= t_end + 1e-6) {
                    if (call_open(k, i, host, port)) {
                        made++;
                        k->start = due;
                        next = due < next ? due : next;
                        continue;
                    }
                    failed++;
                }
                k->done = true;
                left--;
                continue;
            }
            if (!k->sent) {
                struct timespec w;
                clock_gettime(CLOCK_REALTIME, &w);
                k->wall0 = (double)w.tv_sec + (double)w.tv_nsec / 1e9;
                if (sf)
                    fprintf(sf, "%s %.6f\n", k->uuid, k->wall0);
            }
            int16_t s[FRAME]; /* to the recording's end, then from its start */
            const size_t first = total - k->pos < FRAME ? total - k->pos : FRAME;
            memcpy(s, pcm + k->pos, first * sizeof(int16_t));
            memcpy(s + first, pcm, (FRAME - first) * sizeof(int16_t));
            k->pos = (k->pos + FRAME) % total;
            size_t n = lv_as_encode_slin(fr, sizeof(fr), 8000, s, FRAME);
            if (send_flags(k->fd, fr, n, MSG_DONTWAIT))
                blocked++;
            else
                sent++;
            const double ms = (t - due) * 1000.0;
            late[ms < 0 ? 0 : ms * 10 >= LATE_BUCKETS - 1 ? LATE_BUCKETS - 1 : (size_t)(ms * 10)]++;
            late_max = ms > late_max ? ms : late_max;
            nlate++;
            k->sent++;
            due += 0.020;
            next = due < next ? due : next;
        }
        double wait = next - now();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    if (sf)
        fclose(sf);
    /* a quantile of the lateness: the bucket's upper edge (0.1 ms) */
    double q[2] = {0, 0}, qs[2] = {0.5, 0.99};
    for (int j = 0; j < 2 && nlate; j++) {
        uint64_t need = (uint64_t)((double)nlate * qs[j]) + 1, seen = 0;
        for (size_t b = 0; b < LATE_BUCKETS; b++)
            if ((seen += late[b]) >= need) {
                q[j] = (double)(b + 1) / 10.0;
                break;
            }
    }
    printf("calls %d connected %d frames %ld blocked %ld sender_late_ms p50 %.1f p99 %.1f max "
           "%.1f calls_made %ld failed %ld\n",
           ncalls, connected, sent, blocked, q[0], q[1], late_max, made, failed);
    free(late), free(pcm), free(c);
    return connected == ncalls && !failed ? 0 : 1;
}
