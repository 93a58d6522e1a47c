/*
 * as_send.c - an Asterisk AudioSocket sender for the tests of `callqa live`, written from the
 * protocol's documented wire format (docs/live/asterisk.md, "Asterisk AudioSocket") with the room's
 * encoders (lv_as_encode_*): connects, sends a UUID frame, one channel of a recording in 20 ms
 * slin frames (at real-time pace or faster), DTMF frames at given times, then ends the way it
 * is told; and the faults a test needs. It reads what the server sends back with lv_as's
 * decoder and says so on stdout.
 *
 *   as_send --port P [--host H] [--uuid HEX32] [--file WAV [--channel N] [--secs S]]
 *           [--pace X] [--rate HZ] [--dtmf SEC:DIGIT,...]
 *           [--end hangup|close|vanish|stall|none] [--hold-sec S]
 *           [--fault badkind|badlen|baddtmf|nouuid|toobig] [--dump RAW] [--dtmf-flood N]
 *   as_send --port P --flood N [--flood-uuid 1] [--hold-sec S]
 *
 * --pace 1 is real time, 0 as fast as the socket takes; --rate 16000 sends each sample twice in
 * slin16 frames (0x12). --end vanish stops in the middle of a frame. Prints "sent SEC", then
 * "got error" or "got hangup" or "got eof" for what came back within --hold-sec (default 30 s, a
 * bound on a server that never answers: it returns as soon as the server closes). --dump writes
 * the samples sent (s16le, 8 kHz: at 16000 each of them was sent twice) for `callqa classify -`;
 * --dtmf-flood sends N DTMF frames right after the UUID. --flood opens N connections at once
 * that send nothing (with --flood-uuid 1: each its own UUID frame, then nothing) and counts what
 * comes back within --hold-sec.
 *
 * A line that answers (hold mode's probe, docs/live/hold-slayer.md "Asking the line"): the audio
 * the server sends back (slin frames) is a probe; it starts with its first frame after 100 ms
 * without one and ends 60 ms after its last, on the clock of the samples sent. With --reply WAV (8
 * kHz mono, already through the line's codec) and --person-at SEC, a person is on the line from SEC
 * of the file: the first two probes that end after it are answered by the reply, mixed into what is
 * sent --reply-delay S after the probe's end (default 0.6; the first --reply-late S after it
 * when given), or, with --reply-over 1, 0.1 s after its start (a person talking over it);
 * earlier probes (the recordings before the person) get no answer. Prints "probe START END"
 * for each probe and "reply START END" for each answer. Without --reply, what comes back is read
 * only after the last frame (as above).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/live/live.h"
#include "callqa/callqa.h"
#include "sender.h"

/* What the server sent back within sec seconds: "error", "hangup", "eof" or "nothing". */
static const char *reply(int fd, double sec)
{
    lv_as_params ap = lv_as_default_params();
    lv_as_dec *d = lv_as_create(&ap, NULL);
    uint8_t buf[4096];
    const char *what = "nothing";
    double end = now() + sec;
    while (d && now() < end) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k <= 0) {
            if (!strcmp(what, "nothing"))
                what = "eof";
            break;
        }
        size_t off = 0, used;
        lv_as_frame f;
        while (off < (size_t)k) {
            int r = lv_as_next(d, buf + off, (size_t)k - off, &used, &f);
            off += used;
            if (r <= 0)
                break;
            if (f.kind == LV_AS_ERROR)
                what = "error";
            else if (f.kind == LV_AS_HANGUP)
                what = "hangup";
        }
    }
    lv_as_destroy(d);
    return what;
}

static int flood(const char *host, const char *port, int n, double hold, bool uuid)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = (rlim_t)n + 64 < rl.rlim_max ? (rlim_t)n + 64 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fds = calloc((size_t)n, sizeof(int));
    int opened = 0, errors = 0, eofs = 0;
    for (int i = 0; i < n; i++) {
        if ((fds[i] = dial(host, port, SOCK_STREAM)) < 0)
            continue;
        opened++;
        if (uuid) { /* a call of its own: f100d000-...-<i> */
            uint8_t u[16] = {0xf1, 0x00, 0xd0, 0x00}, fr[32];
            u[14] = (uint8_t)(i >> 8), u[15] = (uint8_t)i;
            (void)send_flags(fds[i], fr, lv_as_encode_uuid(fr, sizeof(fr), u), MSG_DONTWAIT);
        }
    }
    double end = now() + hold;
    uint8_t buf[256];
    int left = opened;
    /* each refused one gets an error frame and is closed; the others wait for their UUID */
    while (left && now() < end) {
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0)
                continue;
            struct pollfd pf = {.fd = fds[i], .events = POLLIN};
            if (poll(&pf, 1, 0) <= 0)
                continue;
            ssize_t k = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
            if (k > 0 && buf[0] == LV_AS_ERROR)
                errors++;
            if (k <= 0 || buf[0] == LV_AS_ERROR) {
                if (k <= 0)
                    eofs++;
                close(fds[i]);
                fds[i] = -1;
                left--;
            }
        }
        usleep(20000);
    }
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    printf("flood opened %d error %d eof %d waiting %d\n", opened, errors, eofs, left);
    free(fds);
    return 0;
}

/* What the server sent back so far (never waited for), through the line that answers; t: the
 * stream's time (s) sent. Returns the sample at which the reply starts, or SIZE_MAX. */
static size_t line_read(line *ln, lv_as_dec *dec, int fd, double t)
{
    uint8_t buf[8192];
    size_t at = SIZE_MAX;
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k <= 0)
            break;
        size_t off = 0, used;
        lv_as_frame f;
        while (off < (size_t)k) {
            int r = lv_as_next(dec, buf + off, (size_t)k - off, &used, &f);
            off += used;
            if (r <= 0)
                break;
            if (!f.rate_hz || !f.samples)
                continue;
            const size_t a = line_heard(ln, t, (double)f.samples / f.rate_hz);
            if (a != SIZE_MAX)
                at = a;
        }
    }
    return line_tick(ln, t, at);
}

int main(int argc, char **argv)
{
    const char *reply_file = NULL;
    line ln = {.person_at = 1e9, .reply_delay = 0.6};
    lv_as_dec *dec = NULL;
    const char *host = "127.0.0.1", *port = NULL, *file = NULL, *uuid_hex = NULL;
    const char *end_how = "hangup", *fault = NULL, *dtmf = NULL, *dump = NULL;
    int dtmf_flood = 0;
    FILE *df = NULL;
    size_t pos = 0;
    int channel = 1, nflood = 0, out_rate = 8000, flood_uuid = 0;
    double secs = 1e9, pace = 1, hold = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host"))
            host = v;
        else if (!strcmp(k, "--port"))
            port = v;
        else if (!strcmp(k, "--file"))
            file = v;
        else if (!strcmp(k, "--uuid"))
            uuid_hex = v;
        else if (!strcmp(k, "--channel"))
            channel = atoi(v);
        else if (!strcmp(k, "--secs"))
            secs = atof(v);
        else if (!strcmp(k, "--pace"))
            pace = atof(v);
        else if (!strcmp(k, "--rate"))
            out_rate = atoi(v);
        else if (!strcmp(k, "--dtmf"))
            dtmf = v;
        else if (!strcmp(k, "--end"))
            end_how = v;
        else if (!strcmp(k, "--hold-sec"))
            hold = atof(v);
        else if (!strcmp(k, "--fault"))
            fault = v;
        else if (!strcmp(k, "--flood"))
            nflood = atoi(v);
        else if (!strcmp(k, "--flood-uuid"))
            flood_uuid = atoi(v);
        else if (!strcmp(k, "--dump"))
            dump = v;
        else if (!strcmp(k, "--dtmf-flood"))
            dtmf_flood = atoi(v);
        else if (!strcmp(k, "--reply"))
            reply_file = v;
        else if (!line_option(&ln, k, v)) {
            fprintf(stderr, "as_send: unknown option %s\n", k);
            return 2;
        }
    }
    if (!port) {
        fprintf(stderr, "as_send: --port is required\n");
        return 2;
    }
    if (nflood)
        return flood(host, port, nflood, hold, flood_uuid != 0);
    uint8_t uuid[16] = {0};
    if (uuid_hex && strlen(uuid_hex) == 32) {
        for (int i = 0; i < 16; i++) {
            unsigned b;
            sscanf(uuid_hex + 2 * i, "%2x", &b);
            uuid[i] = (uint8_t)b;
        }
    } else {
        srand((unsigned)getpid() ^ (unsigned)time(NULL));
        for (int i = 0; i < 16; i++)
            uuid[i] = (uint8_t)rand();
    }
    char us[37];
    printf("uuid %s\n", lv_as_uuid_str(uuid, us));
    fflush(stdout);

    float *x = NULL;
    size_t total = 0;
    if (file) {
        cq_err err;
        cq_err_clear(&err);
        cq_audio *a = cq_audio_open(file, &err);
        if (!a) {
            fprintf(stderr, "as_send: %s\n", err.msg);
            return 1;
        }
        const cq_audio_info *info = cq_audio_get_info(a);
        int nch = info->channels;
        if (info->sample_rate_hz != 8000 || channel < 1 || channel > nch) {
            fprintf(stderr, "as_send: %s: 8 kHz and channel 1..%d only\n", file, nch);
            return 1;
        }
        size_t want = secs < 1e8 ? (size_t)(secs * 8000) : (size_t)info->frames;
        if (want > (size_t)info->frames)
            want = (size_t)info->frames;
        float *all = malloc(want * (size_t)nch * sizeof(float));
        x = malloc(want * sizeof(float) + 1);
        int64_t got = cq_audio_read(a, all, want, &err);
        for (int64_t i = 0; i < got; i++)
            x[i] = all[i * nch + channel - 1];
        total = got > 0 ? (size_t)got : 0;
        free(all);
        cq_audio_close(a);
    }

    float *reply_x = NULL;
    if (reply_file) {
        cq_err err;
        cq_err_clear(&err);
        cq_audio *a = cq_audio_open(reply_file, &err);
        if (!a || cq_audio_get_info(a)->sample_rate_hz != 8000 ||
            cq_audio_get_info(a)->channels != 1) {
            fprintf(stderr, "as_send: --reply %s: %s\n", reply_file,
                    a ? "8 kHz mono only" : err.msg);
            return 1;
        }
        const size_t want = (size_t)cq_audio_get_info(a)->frames;
        reply_x = malloc(want * sizeof(float) + 1);
        const int64_t got = cq_audio_read(a, reply_x, want, &err);
        ln.reply = reply_x;
        ln.reply_len = got > 0 ? (size_t)got : 0;
        cq_audio_close(a);
    }
    /* connected once the audio is loaded: the call's first frames follow its UUID at once */
    int fd = dial(host, port, SOCK_STREAM);
    if (fd < 0) {
        fprintf(stderr, "as_send: cannot connect to %s:%s\n", host, port);
        return 1;
    }
    uint8_t fr[70000];
    size_t n;
    if (fault && !strcmp(fault, "nouuid")) {
        int16_t z[160] = {0};
        n = lv_as_encode_slin(fr, sizeof(fr), 8000, z, 160);
    } else {
        n = lv_as_encode_uuid(fr, sizeof(fr), uuid);
    }
    if (send_all(fd, fr, n))
        return 1;
    lv_as_params lap = lv_as_default_params();
    dec = lv_as_create(&lap, NULL);
    size_t reply_at = SIZE_MAX;
    for (int i = 0; i < dtmf_flood; i++) { /* a burst of DTMF frames: many event lines */
        n = lv_as_encode_dtmf(fr, sizeof(fr), "0123456789*#ABCD"[i % 16]);
        if (send_all(fd, fr, n))
            goto gone;
    }
    df = dump ? fopen(dump, "wb") : NULL;
    /* DTMF schedule: SEC:DIGIT pairs */
    double dt_at[32];
    char dt_dig[32];
    int ndt = 0, next_dt = 0;
    for (const char *p = dtmf; p && *p && ndt < 32;) {
        dt_at[ndt] = strtod(p, (char **)&p);
        if (*p != ':')
            break;
        dt_dig[ndt++] = p[1];
        p += 2;
        if (*p == ',')
            p++;
    }

    double t0 = now();
    size_t frame = 160;
    int frames_sent = 0;
    while (pos < total) {
        double tsec = (double)pos / 8000;
        while (next_dt < ndt && dt_at[next_dt] <= tsec) {
            n = lv_as_encode_dtmf(fr, sizeof(fr), dt_dig[next_dt++]);
            if (send_all(fd, fr, n))
                goto gone;
        }
        size_t k = total - pos < frame ? total - pos : frame;
        const size_t at = ln.reply ? line_read(&ln, dec, fd, tsec) : SIZE_MAX;
        if (at != SIZE_MAX)
            reply_at = at;
        int16_t pcm[320];
        size_t m = 0;
        for (size_t i = 0; i < k; i++) {
            float v = x[pos + i] * 32768.0f;
            if (pos + i >= reply_at && pos + i - reply_at < ln.reply_len) /* the person answers */
                v += ln.reply[pos + i - reply_at] * 32768.0f;
            int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
            pcm[m++] = s;
            if (out_rate == 16000)
                pcm[m++] = s;
        }
        n = lv_as_encode_slin(fr, sizeof(fr), (uint32_t)out_rate, pcm, m);
        if (fault && frames_sent == 50) { /* a second of good audio, then the fault */
            if (!strcmp(fault, "badkind"))
                fr[0] = 0x42;
            else if (!strcmp(fault, "badlen"))
                fr[0] = LV_AS_UUID, fr[1] = 0, fr[2] = 5, memcpy(fr + 3, "short", 5), n = 8;
            else if (!strcmp(fault, "baddtmf"))
                fr[0] = LV_AS_DTMF, fr[1] = 0, fr[2] = 1, fr[3] = 'x', n = 4;
            else if (!strcmp(fault, "toobig"))
                fr[0] = LV_AS_SLIN, fr[1] = 0xff, fr[2] = 0xfe, n = 3;
        }
        if (!strcmp(end_how, "vanish") && pos + k >= total) {
            send_all(fd, fr, n / 2); /* half a frame, and gone */
            goto gone;
        }
        if (send_all(fd, fr, n))
            goto gone;
        for (size_t i = 0; df && i < m; i += (size_t)out_rate / 8000) /* the 8 kHz samples */
            fwrite(pcm + i, sizeof(int16_t), 1, df);
        frames_sent++;
        pos += k;
        if (pace > 0) {
            double due = t0 + (double)pos / 8000 / pace, w = due - now();
            if (w > 0)
                usleep((useconds_t)(w * 1e6));
        }
    }
    printf("sent %.3f\n", (double)pos / 8000);
    if (df)
        fclose(df);
    lv_as_destroy(dec);
    dec = NULL;
    free(reply_x);
    if (!strcmp(end_how, "hangup")) {
        n = lv_as_encode_hangup(fr, sizeof(fr));
        send_all(fd, fr, n);
    } else if (!strcmp(end_how, "close")) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        printf("got %s\n", reply(fd, hold));
        close(fd);
    }
    free(x);
    return 0;
gone:
    lv_as_destroy(dec);
    free(reply_x);
    if (df)
        fclose(df);
    printf("sent %.3f\n", (double)pos / 8000);
    printf("got %s\n", reply(fd, !strcmp(end_how, "vanish") ? 0 : hold));
    close(fd);
    free(x);
    return 0;
}
