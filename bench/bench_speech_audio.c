/*
 * bench_speech_audio.c - two ways to get each leg's speech at 16 kHz for a transcription, on one
 * recording, in one process each (run it twice, under /usr/bin/time for the peak memory):
 *
 *   product   cq_engine_analyze with the speech_audio analyzer: the 16 kHz stream is kept while
 *             the file is decoded once, then every speech span is read from the product;
 *   second    cq_engine_analyze without it, then the file decoded a second time, each leg
 *             resampled to 16 kHz (libsoxr) and its speech spans cut out.
 *
 * Both hand the same number of speech samples to a sink that sums them (the printed checksum
 * must match). Prints CPU and wall seconds of the whole; `bench/stages.sh speech-audio` runs
 * both.
 *
 *   bench_speech_audio product|second [--only LIST] FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "callqa/callqa.h"

static uint64_t g_sum[2], g_samples;

/* What a transcription client would send; a checksum per leg, so the order of legs is free. */
static void sink(int leg, const int16_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_sum[leg] = g_sum[leg] * 31 + (uint16_t)x[i];
    g_samples += n;
}

/* The spans of a leg, in 16 kHz samples. */
typedef struct spans {
    size_t n;
    uint64_t (*s)[2];
} spans;

static spans leg_spans(const cq_leg_report *l)
{
    spans sp = {l->n_speech, malloc((l->n_speech ? l->n_speech : 1) * sizeof(*sp.s))};
    for (size_t i = 0; i < l->n_speech; i++) {
        sp.s[i][0] = (uint64_t)llround(l->speech[i].start / 8000.0 * 16000);
        sp.s[i][1] = (uint64_t)llround(l->speech[i].end / 8000.0 * 16000);
    }
    return sp;
}

static void from_product(const cq_report *r)
{
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    static int16_t buf[1 << 20];
    for (int l = 0; l < 2 && L[l]; l++) {
        size_t n = 0;
        const cq_speech_span *sp = cq_speech_audio_spans(L[l]->speech_audio, &n);
        for (size_t i = 0; i < n; i++) {
            for (double t = sp[i].start_sec; t < sp[i].end_sec; t += 60) {
                double e = t + 60 < sp[i].end_sec ? t + 60 : sp[i].end_sec;
                size_t got = 0;
                if (cq_speech_audio_read(L[l]->speech_audio, t, e, buf, 1 << 20, &got) != CQ_OK)
                    exit(1);
                sink(l, buf, got);
            }
        }
    }
}

/* One leg's state in the second pass. */
typedef struct leg_pass {
    int leg;
    cq_resample *rs;
    spans sp;
    size_t k;     /* first span not yet behind */
    uint64_t pos; /* 16 kHz samples seen */
} leg_pass;

/* m resampled samples of a leg: convert, hand the parts inside its spans to the sink. */
static void take(leg_pass *lp, const float *out, long m)
{
    static int16_t pcm[4096 * 6 + 1024];
    for (long i = 0; i < m; i++) {
        float v = roundf(out[i] * 32768.0f);
        pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    uint64_t b0 = lp->pos, b1 = lp->pos + (uint64_t)m;
    while (lp->k < lp->sp.n && lp->sp.s[lp->k][1] <= b0)
        lp->k++;
    for (size_t j = lp->k; j < lp->sp.n && lp->sp.s[j][0] < b1; j++) {
        uint64_t s = lp->sp.s[j][0] > b0 ? lp->sp.s[j][0] : b0;
        uint64_t e = lp->sp.s[j][1] < b1 ? lp->sp.s[j][1] : b1;
        if (e > s)
            sink(lp->leg, pcm + (s - b0), (size_t)(e - s));
    }
    lp->pos = b1;
}

/* Decode again, resample each leg to 16 kHz, keep the spans' samples. */
static void second_pass(const char *path, const cq_report *r)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (!a)
        exit(1);
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    int nl = r->outbound ? 2 : 1;
    leg_pass lp[2];
    memset(lp, 0, sizeof(lp));
    for (int l = 0; l < nl; l++) {
        lp[l].rs = cq_resample_create(cq_audio_get_info(a)->sample_rate_hz, 16000, NULL);
        lp[l].sp = leg_spans(L[l]);
        lp[l].leg = l;
    }
    static float in[2][4096], out[4096 * 6 + 1024];
    const size_t cap = sizeof(out) / sizeof(out[0]);
    float *planes[2] = {in[0], in[1]};
    for (;;) {
        int64_t got = cq_audio_read_planar(a, planes, 4096, &err);
        if (got < 0)
            exit(1);
        for (int l = 0; l < nl; l++) {
            long m;
            if (got)
                take(&lp[l], out, cq_resample_process(lp[l].rs, in[l], (size_t)got, out, cap));
            else
                while ((m = cq_resample_process(lp[l].rs, NULL, 0, out, cap)) > 0)
                    take(&lp[l], out, m);
        }
        if (!got)
            break;
    }
    for (int l = 0; l < nl; l++) {
        cq_resample_destroy(lp[l].rs);
        free(lp[l].sp.s);
    }
    cq_audio_close(a);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "product") && strcmp(argv[1], "second"))) {
        fprintf(stderr, "usage: bench_speech_audio product|second [--only LIST] FILE\n");
        return 2;
    }
    int product = !strcmp(argv[1], "product");
    cq_engine_params ep = cq_engine_default_params();
    int i = 2;
    if (!strcmp(argv[i], "--only") && i + 2 < argc) {
        if (cq_analyzers_parse(argv[i + 1], &ep.analyzers, NULL) != CQ_OK)
            return 2;
        i += 2;
    }
    if (product)
        ep.analyzers |= CQ_AN_SPEECH_AUDIO;
    char dir[4096];
    if (cq_model_dir_default(dir, sizeof(dir)) == CQ_OK)
        ep.model_dir = dir;
    cq_engine *e = cq_engine_create(&ep, NULL);
    if (!e)
        return 1;
    double w0 = bench_wall_sec(), c0 = bench_cpu_sec();
    cq_call_src src = {.path = argv[i]};
    cq_report *r = NULL;
    cq_err err;
    if (cq_engine_analyze(e, &src, &r, &err) != CQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double wa = bench_wall_sec() - w0, ca = bench_cpu_sec() - c0;
    if (product)
        from_product(r);
    else
        second_pass(argv[i], r);
    double w = bench_wall_sec() - w0, c = bench_cpu_sec() - c0;
    uint64_t kept = 0;
    for (int l = 0; product && l < 2; l++) {
        const cq_leg_report *lg = l ? r->outbound : r->inbound;
        kept += lg ? cq_speech_audio_kept_samples(lg->speech_audio) : 0;
    }
    printf("%s: analysis %.3f s CPU (%.3f wall), speech handed over after %.3f s CPU (%.3f wall); "
           "%llu speech samples (%llu kept), checksum %016llx\n",
           argv[1], ca, wa, c, w, (unsigned long long)g_samples, (unsigned long long)kept,
           (unsigned long long)(g_sum[0] ^ (g_sum[1] * 3)));
    cq_report_destroy(r);
    cq_engine_destroy(e);
    return 0;
}
