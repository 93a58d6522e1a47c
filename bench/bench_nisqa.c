/*
 * bench_nisqa.c - NISQA in C on one mono recording: wall seconds to score it whole (mel front
 * end included, decoding excluded), with T threads, median of R runs; prints the scores. The
 * process's CPU seconds (median) are printed too: on a shared machine they move less.
 * With WINDOW seconds, it is scored as the stage's windowed mode does: consecutive windows
 * each a clip of its own (a last one under half a window dropped), the mean MOS printed.
 *
 *   bench_nisqa nisqa.tar FILE.wav THREADS [RUNS [WINDOW]]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "callqa/callqa.h"

/* Score x[0..n) whole (win == 0) or in windows of win samples; the (mean) MOS. */
static int score(cq_nisqa *s, const float *x, size_t n, size_t win, double *mos)
{
    cq_nisqa_scores sc = {0};
    if (!win) {
        cq_nisqa_reset(s);
        if (cq_nisqa_push(s, x, n) != CQ_OK || cq_nisqa_finish(s, &sc) != CQ_OK)
            return 1;
        *mos = sc.mos;
        return 0;
    }
    double sum = 0;
    int k = 0;
    for (size_t o = 0; o < n; o += win) {
        size_t len = n - o < win ? n - o : win;
        if (len < win / 2 && o > 0)
            break;
        cq_nisqa_reset(s);
        if (cq_nisqa_push(s, x + o, len) != CQ_OK || cq_nisqa_finish(s, &sc) != CQ_OK)
            return 1;
        sum += sc.mos, k++;
    }
    *mos = sum / k;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_nisqa nisqa.tar FILE.wav THREADS [RUNS [WINDOW]]\n");
        return 2;
    }
    int threads = atoi(argv[3]), runs = argc > 4 ? atoi(argv[4]) : 5;
    double window = argc > 5 ? atof(argv[5]) : 0;
    if (threads < 1 || runs < 1 || runs > 100 || window < 0)
        return 2;
    cq_err err;
    cq_nisqa_model *m = cq_nisqa_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t n = 0;
    int rate = 0;
    float *x = bench_read_mono(argv[2], 0, &n, &rate);
    if (!x) {
        fprintf(stderr, "%s: need a mono file\n", argv[2]);
        return 1;
    }
    cq_nisqa *s = cq_nisqa_create(m, rate, 7200, NULL);
    cq_nisqa_set_threads(s, threads);
    double *t = malloc(2 * (size_t)runs * sizeof(double)), *c = t + runs, mos = 0;
    const size_t win = (size_t)(window * rate);
    for (int r = 0; r < runs; r++) {
        double t0 = bench_wall_sec(), c0 = bench_cpu_sec();
        if (score(s, x, n, win, &mos))
            return 1;
        t[r] = bench_wall_sec() - t0;
        c[r] = bench_cpu_sec() - c0;
    }
    printf("nisqa-c threads %d: audio %.1f s, total %.3f s, cpu %.3f s, mos %.4f\n", threads,
           (double)n / rate, bench_median(t, runs), bench_median(c, runs), mos);
    free(t), free(x);
    cq_nisqa_destroy(s);
    cq_nisqa_model_free(m);
    return 0;
}
