/*
 * bench_dnsmos.c - DNSMOS in C: wall and CPU seconds to score 16 kHz audio in each mode, with T
 * threads, median of R runs, per second of audio; one line per case (each mode with its default
 * evaluation, then with the direct sums), the largest difference of a window's score between
 * the two evaluations of a mode, a TOTAL, and a hash of the scores (a fast wrong answer shows).
 *
 *   bench_dnsmos MODEL_DIR/dnsmos THREADS [RUNS] [FILE.wav]
 * Without a file: 60 s of generated audio (fixed seed): a harmonic voice-like tone whose pitch
 * and loudness move, with pauses, over low noise.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "callqa/callqa.h"

static float *generated(size_t n)
{
    float *x = malloc(n * sizeof(float));
    uint64_t s = 0x2545f4914f6cdd1dULL;
    double ph = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / 16000;
        double f0 = 140 + 40 * sin(2 * 3.14159265358979 * 0.7 * t);
        double env = fmod(t, 3.0) < 2.2 ? 0.5 + 0.5 * sin(2 * 3.14159265358979 * 4 * t) : 0;
        ph += 2 * 3.14159265358979 * f0 / 16000;
        double v = 0;
        for (int h = 1; h <= 20; h++)
            v += sin(h * ph) / h;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double noise = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.004;
        x[i] = (float)(0.05 * env * v + noise);
    }
    return x;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_dnsmos MODEL_DIR/dnsmos THREADS [RUNS] [FILE.wav]\n");
        return 2;
    }
    int threads = atoi(argv[2]), runs = argc > 3 ? atoi(argv[3]) : 3;
    if (threads < 1 || runs < 1 || runs > 100)
        return 2;
    cq_err err;
    cq_dnsmos_model *m = cq_dnsmos_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t n = 60 * 16000;
    float *x;
    if (argc > 4) {
        int rate = 0;
        x = bench_read_mono(argv[4], 0, &n, &rate);
        if (!x || rate != 16000) {
            fprintf(stderr, "%s: need a mono 16 kHz file\n", argv[4]);
            return 1;
        }
    } else {
        x = generated(n);
    }
    double audio = (double)n / 16000, total = 0;
    uint64_t hash = BENCH_FNV_SEED;
    /* each mode with its default evaluation (Winograd where the CPU has AVX2), then with the
     * direct sums; BENCH_DNSMOS_CASES=0,1,2,3 picks some (profiles) */
    static const cq_dnsmos_mode modes[4] = {CQ_DNSMOS_WINDOWED, CQ_DNSMOS_WINDOWED,
                                            CQ_DNSMOS_REFERENCE, CQ_DNSMOS_REFERENCE};
    static const int direct[4] = {0, 1, 0, 1};
    static const char *const names[4] = {"windowed", "windowed-direct", "reference",
                                         "reference-direct"};
    const char *only = getenv("BENCH_DNSMOS_CASES");
    /* BENCH_DNSMOS_DUMP=FILE: every window's scores, one line each (bench/stages.sh dnsmos-peer
     * sets them beside onnxruntime's): case idx start_sample sig bak ovrl p808 */
    const char *dump_path = getenv("BENCH_DNSMOS_DUMP");
    FILE *dump = dump_path ? fopen(dump_path, "w") : NULL;
    if (dump_path && !dump) {
        perror(dump_path);
        return 1;
    }
    double *t = malloc((size_t)runs * sizeof(double)), *c = malloc((size_t)runs * sizeof(double));
    cq_dnsmos_result first = {0};
    for (int k = 0; k < 4; k++) {
        if (only && !strchr(only, '0' + k)) {
            if (k % 2 == 0)
                cq_dnsmos_result_free(&first);
            continue;
        }
        cq_dnsmos_result r = {0};
        for (int i = 0; i < runs; i++) {
            cq_dnsmos_result_free(&r);
            double w0 = bench_wall_sec(), c0 = bench_cpu_sec();
            if (cq_dnsmos_score_some(m, x, n, modes[k], threads, NULL, direct[k], &r) != CQ_OK)
                return 1;
            t[i] = bench_wall_sec() - w0;
            c[i] = bench_cpu_sec() - c0;
        }
        double tm = bench_median(t, runs), cm = bench_median(c, runs);
        for (size_t i = 0; i < r.n_windows; i++) {
            float v[4] = {r.windows[i].sig_raw, r.windows[i].bak_raw, r.windows[i].ovrl_raw,
                          (float)r.windows[i].p808};
            hash = bench_fnv1a(hash, v, sizeof(v));
            if (dump)
                fprintf(dump, "%s %d %.0f %.9g %.9g %.9g %.9g\n", names[k], r.windows[i].idx,
                        r.windows[i].start_sec * 16000, r.windows[i].sig, r.windows[i].bak,
                        r.windows[i].ovrl, r.windows[i].p808);
        }
        printf("dnsmos %-15s threads %d: audio %.1f s, %zu windows, %s, wall %.3f s (%.4f s per "
               "audio s), cpu %.3f s (%.4f per audio s), ovrl %.4f p808 %.4f\n",
               names[k], threads, audio, r.n_windows, r.winograd ? "winograd" : "direct", tm,
               tm / audio, cm, cm / audio, r.ovrl, r.p808_mos);
        if (k % 2 && first.n_windows == r.n_windows) { /* the two evaluations, window by window */
            double e = 0;
            for (size_t i = 0; i < r.n_windows; i++) {
                const cq_dnsmos_window *a = &first.windows[i], *b = &r.windows[i];
                e = fmax(e, fabs(a->sig - b->sig));
                e = fmax(e, fabs(a->bak - b->bak));
                e = fmax(e, fabs(a->ovrl - b->ovrl));
                e = fmax(e, fabs(a->p808 - b->p808));
            }
            printf("%s against %s: largest difference of a window's score %.2e\n", names[k - 1],
                   names[k], e);
        }
        total += tm;
        if (k % 2 == 0) {
            cq_dnsmos_result_free(&first);
            first = r;
        } else {
            cq_dnsmos_result_free(&r);
        }
    }
    cq_dnsmos_result_free(&first);
    if (dump)
        fclose(dump);
    printf("TOTAL %.3f s wall, hash %016llx\n", total, (unsigned long long)hash);
    free(t), free(c), free(x);
    cq_dnsmos_model_free(m);
    return 0;
}
