/*
 * bench_nisqa.c - NISQA in C on one mono recording: wall seconds to score it whole (mel front
 * end included, decoding excluded), with T threads, median of R runs; prints the scores.
 *
 *   bench_nisqa nisqa.tar FILE.wav THREADS [RUNS]
 */
#define _POSIX_C_SOURCE 200809L
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "callqa/callqa.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_nisqa nisqa.tar FILE.wav THREADS [RUNS]\n");
        return 2;
    }
    int threads = atoi(argv[3]), runs = argc > 4 ? atoi(argv[4]) : 5;
    if (threads < 1 || runs < 1 || runs > 100)
        return 2;
    cq_err err;
    cq_nisqa_model *m = cq_nisqa_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    SF_INFO in = {0};
    SNDFILE *f = sf_open(argv[2], SFM_READ, &in);
    if (!f || in.channels != 1) {
        fprintf(stderr, "%s: need a mono file\n", argv[2]);
        return 1;
    }
    float *x = malloc((size_t)in.frames * sizeof(float));
    sf_readf_float(f, x, in.frames);
    sf_close(f);
    cq_nisqa *s = cq_nisqa_create(m, in.samplerate, 7200, NULL);
    cq_nisqa_set_threads(s, threads);
    double *t = malloc((size_t)runs * sizeof(double));
    cq_nisqa_scores sc = {0};
    for (int r = 0; r < runs; r++) {
        cq_nisqa_reset(s);
        double t0 = bench_wall_sec();
        if (cq_nisqa_push(s, x, (size_t)in.frames) != CQ_OK || cq_nisqa_finish(s, &sc) != CQ_OK)
            return 1;
        t[r] = bench_wall_sec() - t0;
    }
    qsort(t, (size_t)runs, sizeof(double), bench_cmp_double);
    printf("nisqa-c threads %d: audio %.1f s, total %.3f s, mos %.4f\n", threads,
           (double)in.frames / in.samplerate, t[runs / 2], sc.mos);
    free(t), free(x);
    cq_nisqa_destroy(s);
    cq_nisqa_model_free(m);
    return 0;
}
