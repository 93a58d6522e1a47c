/*
 * bench_vad.c - Silero VAD in C: CPU seconds per audio second on one core, on a recording
 * given on the command line (mono, 8 or 16 kHz). Model load and decoding are outside the
 * timed region; the probabilities' hash is printed so a fast wrong answer shows.
 *
 *   bench_vad MODEL.onnx FILE.wav [RUNS [DUMP [CHUNKS]]]
 * DUMP: write the probabilities, one per line ("-": none). CHUNKS: hand the stream that many
 * chunks per call (1: one at a time, as a live stream is; default: the whole file at once).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "callqa/callqa.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_vad MODEL.onnx FILE.wav [RUNS [DUMP [CHUNKS]]]\n");
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    cq_err err;
    cq_vad_model *m = cq_vad_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t n = 0;
    int rate = 0;
    float *x = bench_read_mono(argv[2], 512, &n, &rate);
    if (!x) {
        fprintf(stderr, "%s: need a mono file\n", argv[2]);
        return 1;
    }
    cq_vad *v = cq_vad_create(m, rate, NULL);
    if (!v) {
        fprintf(stderr, "rate %d: need 8000 or 16000\n", rate);
        return 1;
    }
    size_t ch = cq_vad_chunk_samples(v), nc = (n + ch - 1) / ch;
    size_t per = argc > 5 && atoi(argv[5]) > 0 ? (size_t)atoi(argv[5]) : nc;
    float *p = malloc(nc * sizeof(float));
    double *t = malloc((size_t)runs * sizeof(double));
    for (int r = 0; r < runs; r++) {
        cq_vad_reset(v);
        double t0 = bench_cpu_sec();
        for (size_t s = 0; s < nc; s += per)
            if (cq_vad_process(v, x + s * ch, nc - s < per ? nc - s : per, p + s) != CQ_OK)
                return 1;
        t[r] = bench_cpu_sec() - t0;
    }
    double med = bench_median(t, runs);
    uint64_t h = BENCH_FNV_SEED;
    for (size_t i = 0; i < nc; i++) {
        uint32_t q = (uint32_t)(p[i] * 1e4f + 0.5f); /* 1e-4 resolution, a word at a time */
        h = (h ^ q) * BENCH_FNV_PRIME;
    }
    if (argc > 4 && strcmp(argv[4], "-")) {
        FILE *d = fopen(argv[4], "w");
        for (size_t i = 0; d && i < nc; i++)
            fprintf(d, "%.8f\n", p[i]);
        if (d)
            fclose(d);
    }
    double audio = (double)n / rate;
    printf("silero-c %s %d Hz: audio %.1f s, %zu chunks (%zu a call), median %.4f s CPU, %.5f "
           "CPU s per audio s, %.0fx real time, hash %016llx\n",
           cq_vad_model_version(m), rate, audio, nc, per, med, med / audio, audio / med,
           (unsigned long long)h);
    free(t), free(p), free(x);
    cq_vad_destroy(v);
    cq_vad_model_free(m);
    return 0;
}
