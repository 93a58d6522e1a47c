/*
 * bench_conversation.c - cost of the call-level stage (talk, overtalk, dead air, turns,
 * one-way audio: cq_conversation_analyze) and of the two-leg audio checks (cq_xleg) against
 * the cost of the VAD on the same call.
 *
 *   bench_conversation STEREO_8KHZ_CALL [ROUNDS]
 *
 * CPU times, medians of ROUNDS (default 5); the call-level stage is repeated 1000 times per
 * round to be measurable.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "callqa/callqa.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_conversation STEREO_8KHZ_CALL [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1 || rounds > 101)
        rounds = 5;
    /* the legs' results, from the engine */
    cq_engine_params p = cq_engine_default_params();
    p.analyzers = CQ_AN_EVENTS | CQ_AN_CONVERSATION;
    char dir[4096];
    if (cq_model_dir_default(dir, sizeof(dir)) == CQ_OK)
        p.model_dir = dir;
    int e = 0;
    cq_engine *eng = cq_engine_create(&p, &e);
    cq_call_src src = {.path = argv[1]};
    cq_report *r = NULL;
    cq_err err;
    if (!eng || cq_engine_analyze(eng, &src, &r, &err) != CQ_OK || !r->outbound) {
        fprintf(stderr, "bench_conversation: %s needs to be a two-leg call\n", argv[1]);
        return 1;
    }
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    cq_conv_leg_in in[2];
    cq_conv_span *sp[2];
    for (int l = 0; l < 2; l++) {
        sp[l] = malloc((L[l]->n_speech + 1) * sizeof(cq_conv_span));
        for (size_t i = 0; i < L[l]->n_speech; i++)
            sp[l][i] = (cq_conv_span){(double)L[l]->speech[i].start / 8000.0,
                                      (double)L[l]->speech[i].end / 8000.0};
        in[l] = (cq_conv_leg_in){.duration_sec = L[l]->duration_sec,
                                 .speech_pct = L[l]->speech_pct,
                                 .speech = sp[l],
                                 .n_speech = L[l]->n_speech,
                                 .events = L[l]->events,
                                 .n_events = L[l]->n_events,
                                 .timeline = L[l]->timeline,
                                 .n_timeline = L[l]->n_timeline};
    }
    /* both legs' samples */
    cq_audio *a = cq_audio_open(argv[1], &err);
    if (!a || cq_audio_get_info(a)->channels != 2 || cq_audio_get_info(a)->sample_rate_hz != 8000) {
        fprintf(stderr, "bench_conversation: %s is not 8 kHz stereo\n", argv[1]);
        return 1;
    }
    size_t cap = 1 << 20, n = 0;
    float *x[2] = {malloc(cap * sizeof(float)), malloc(cap * sizeof(float))};
    for (;;) {
        if (n + 4096 > cap) {
            cap *= 2;
            x[0] = realloc(x[0], cap * sizeof(float));
            x[1] = realloc(x[1], cap * sizeof(float));
        }
        float *planes[2] = {x[0] + n, x[1] + n};
        int64_t got = cq_audio_read_planar(a, planes, 4096, &err);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    cq_audio_close(a);
    cq_vad_model *vm = NULL;
    char path[4200];
    snprintf(path, sizeof(path), "%s/silero_vad/v6.2/silero_vad.onnx",
             p.model_dir ? p.model_dir : ".");
    vm = cq_vad_model_load(path, &err);
    double *tc = malloc(sizeof(double) * (size_t)rounds),
           *tv = malloc(sizeof(double) * (size_t)rounds),
           *tx = malloc(sizeof(double) * (size_t)rounds);
    size_t chunks = n / 256;
    float *probs = malloc((chunks + 1) * sizeof(float));
    for (int k = 0; k < rounds; k++) {
        double t0 = bench_cpu_sec();
        for (int rep = 0; rep < 1000; rep++) {
            cq_conversation c;
            if (cq_conversation_analyze(in, 2, NULL, &c) != CQ_OK)
                return 1;
            cq_conversation_free(&c);
        }
        tc[k] = (bench_cpu_sec() - t0) / 1000;
        t0 = bench_cpu_sec();
        for (int l = 0; l < 2; l++) {
            cq_vad *v = cq_vad_create(vm, 8000, &e);
            for (size_t i = 0; i + 32 <= chunks; i += 32)
                if (cq_vad_process(v, x[l] + i * 256, 32, probs + i) != CQ_OK)
                    return 1;
            cq_vad_destroy(v);
        }
        tv[k] = bench_cpu_sec() - t0;
        t0 = bench_cpu_sec();
        cq_xleg *xl = cq_xleg_create(&e);
        for (size_t i = 0; i < n; i += 4096) {
            size_t m = n - i < 4096 ? n - i : 4096;
            if (cq_xleg_push(xl, 0, x[0] + i, m) != CQ_OK || cq_xleg_push(xl, 1, x[1] + i, m))
                return 1;
        }
        cq_xleg_result xr;
        if (cq_xleg_finish(xl, &xr) != CQ_OK)
            return 1;
        cq_xleg_destroy(xl);
        tx[k] = bench_cpu_sec() - t0;
    }
    double c = bench_median(tc, rounds), v = bench_median(tv, rounds),
           xm = bench_median(tx, rounds);
    printf("%s: %.1f s, VAD (%s, both legs) %.4f CPU s; call-level stage %.1f us = %.3f %% of "
           "the VAD; two-leg checks %.4f CPU s = %.1f %% of the VAD\n",
           argv[1], (double)n / 8000, vm ? "Silero" : "DSP fallback", v, c * 1e6, 100 * c / v, xm,
           100 * xm / v);
    cq_vad_model_free(vm);
    cq_report_destroy(r);
    cq_engine_destroy(eng);
    free(sp[0]);
    free(sp[1]);
    free(x[0]);
    free(x[1]);
    free(probs);
    free(tc);
    free(tv);
    free(tx);
    return 0;
}
