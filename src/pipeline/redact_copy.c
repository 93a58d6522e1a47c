/*
 * redact_copy.c - the redacted copy of a call's audio written: the intervals covered (a list
 * kept sorted and merged), the recording decoded again (cq_audio: the one file, or the two legs
 * side by side, inbound on the first channel) and written as 16-bit PCM WAV at its rate, each
 * interval of a channel muted, or covered by a 1 kHz sine at -20 dBFS (`tone`: not a DTMF
 * frequency). What is covered, and why, is redact.c's; the check of the file written is
 * redact_dtmf.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proc/proc.h"
#include "redact_int.h"

#define RD_TONE_HZ 1000.0
#define RD_TONE_AMP 0.1 /* -20 dBFS */

/* ---- intervals ------------------------------------------------------------------------------ */

int pl__ivl_add(pl__ivl_list *l, double a, double b, const char *why)
{
    if (a < 0)
        a = 0;
    if (!(b > a))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        pl__ivl *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = (pl__ivl){a, b, why};
    return 0;
}

static int by_start(const void *x, const void *y)
{
    const pl__ivl *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* sorted, overlapping ones merged */
void pl__ivl_merge(pl__ivl_list *l)
{
    if (!l->n)
        return;
    qsort(l->v, l->n, sizeof(*l->v), by_start);
    size_t k = 0;
    for (size_t i = 1; i < l->n; i++) {
        if (l->v[i].a <= l->v[k].b) {
            if (l->v[i].b > l->v[k].b)
                l->v[k].b = l->v[i].b;
        } else {
            l->v[++k] = l->v[i];
        }
    }
    l->n = k + 1;
}

/* ---- the copy written ---------------------------------------------------------------------- */

static void le16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xffff), le16(p + 2, v >> 16);
}

static void wav_header(uint8_t h[44], int rate, int ch, uint32_t data)
{
    memcpy(h, "RIFF", 4);
    le32(h + 4, 36 + data);
    memcpy(h + 8, "WAVEfmt ", 8);
    le32(h + 16, 16);
    le16(h + 20, 1);
    le16(h + 22, (unsigned)ch);
    le32(h + 24, (uint32_t)rate);
    le32(h + 28, (uint32_t)(rate * ch * 2));
    le16(h + 32, (unsigned)(ch * 2));
    le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    le32(h + 40, data);
}

int16_t pl__to_s16(float x)
{
    float v = x * 32768.0f;
    return v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : (int16_t)lrintf(v);
}

/* what is written at frame i of an interval: 0, or the tone */
int16_t pl__covered(int mode, int64_t i, int rate)
{
    if (mode != 2)
        return 0;
    return pl__to_s16((float)(RD_TONE_AMP * sin(2 * M_PI * RD_TONE_HZ * (double)i / rate)));
}

void pl__src_close(pl__src_pair *s)
{
    for (int i = 0; i < 2; i++)
        cq_audio_close(s->a[i]);
}

int pl__src_open(const cq_call_src *c, pl__src_pair *s, char *why, size_t n)
{
    memset(s, 0, sizeof(*s));
    cq_err e;
    cq_err_clear(&e);
    const char *p[2] = {c->path ? c->path : c->in_path, c->path ? NULL : c->out_path};
    for (int i = 0; i < 2 && p[i]; i++) {
        if (!(s->a[i] = cq_audio_open(p[i], &e))) {
            snprintf(why, n, "the recording could not be read again: %s", e.msg);
            pl__src_close(s);
            return -1;
        }
        s->n++;
    }
    if (!s->n) {
        snprintf(why, n, "no recording");
        return -1;
    }
    const cq_audio_info *i0 = cq_audio_get_info(s->a[0]);
    s->rate = i0->sample_rate_hz;
    s->channels = s->n == 2 ? 2 : i0->channels;
    if (s->n == 2) {
        const cq_audio_info *i1 = cq_audio_get_info(s->a[1]);
        if (i1->sample_rate_hz != s->rate) {
            snprintf(why, n, "the legs are at different rates (%d and %d Hz)", s->rate,
                     i1->sample_rate_hz);
            pl__src_close(s);
            return -1;
        }
    }
    return 0;
}

/* The copy written to fd (a WAV header, then the frames), each channel c
 * covered over iv[c]: 0, or -1 with why. */
int pl__write_copy(const cq_call_src *c, const pl__ivl_list iv[2], int mode, int fd,
                   pl__src_pair *s, char *why, size_t n)
{
    if (pl__src_open(c, s, why, n) != 0)
        return -1;
    int ch = s->channels, rate = s->rate;
    float *buf[2][2] = {{NULL, NULL}, {NULL, NULL}};
    int16_t *out = malloc((size_t)PL__RD_BLOCK * (size_t)ch * sizeof(*out));
    int rc = out ? 0 : -1;
    for (int f = 0; f < s->n && rc == 0; f++)
        for (int k = 0; k < 2 && rc == 0; k++)
            if (!(buf[f][k] = calloc(PL__RD_BLOCK, sizeof(float))))
                rc = -1;
    uint8_t h[44];
    wav_header(h, rate, ch, 0);
    if (rc == 0 && proc_write_all(fd, h, sizeof(h)) != 0) {
        snprintf(why, n, "writing the copy: %s", strerror(errno));
        rc = -2;
    }
    int64_t frame = 0;
    uint64_t bytes = 0;
    size_t k[2] = {0, 0}; /* each channel's interval at or after the current frame */
    bool more[2] = {true, s->n == 2};
    while (rc == 0 && (more[0] || more[1])) {
        int64_t got[2] = {0, 0};
        for (int f = 0; f < s->n; f++) {
            if (!more[f])
                continue;
            cq_err e;
            cq_err_clear(&e);
            got[f] = cq_audio_read_planar(s->a[f], buf[f], PL__RD_BLOCK, &e);
            if (got[f] < 0) {
                snprintf(why, n, "the recording could not be read again: %s", e.msg);
                rc = -2;
            } else if (got[f] == 0) {
                more[f] = false;
            }
        }
        int64_t m = got[0] > got[1] ? got[0] : got[1];
        if (rc != 0 || m == 0)
            break;
        for (int64_t i = 0; i < m; i++) {
            double t = (double)(frame + i) / rate;
            for (int c2 = 0; c2 < ch; c2++) {
                const pl__ivl_list *l = &iv[c2 ? 1 : 0];
                size_t *kc = &k[c2 ? 1 : 0];
                while (*kc < l->n && l->v[*kc].b <= t)
                    (*kc)++;
                bool cover = *kc < l->n && l->v[*kc].a <= t;
                float x;
                if (s->n == 2)
                    x = i < got[c2] ? buf[c2][0][i] : 0.0f;
                else
                    x = buf[0][c2][i];
                out[i * ch + c2] = cover ? pl__covered(mode, frame + i, rate) : pl__to_s16(x);
            }
        }
        size_t nb = (size_t)m * (size_t)ch * sizeof(int16_t);
        if (proc_write_all(fd, out, nb) != 0) {
            snprintf(why, n, "writing the copy: %s", strerror(errno));
            rc = -2;
        }
        frame += m;
        bytes += nb;
        if (bytes > 0xffffffd0u) {
            snprintf(why, n, "the copy would be over 4 GiB");
            rc = -2;
        }
    }
    if (rc == -1)
        snprintf(why, n, "out of memory");
    if (rc == 0) {
        wav_header(h, rate, ch, (uint32_t)bytes);
        if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
            snprintf(why, n, "writing the copy: %s", strerror(errno));
            rc = -2;
        }
    }
    for (int f = 0; f < 2; f++)
        for (int q = 0; q < 2; q++)
            free(buf[f][q]);
    free(out);
    pl__src_close(s);
    return rc == 0 ? 0 : -1;
}
