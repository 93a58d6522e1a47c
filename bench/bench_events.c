/*
 * bench_events.c - CPU cost of the call-events analyzer alone (tones, DTMF, fax receivers and
 * the classifier) per second of 8 kHz audio, per leg. The VAD's probabilities are measured
 * separately (bench_vad); here they are pushed as precomputed zeros, so only our work counts.
 *
 *   bench_events FILE [ROUNDS] [--dtmf-speech|--dtmf-voice-cancel]
 *       the file's first channel, which must be 8 kHz; the DTMF receivers as the settings of
 *       those names choose them (default: libspandsp's alone)
 * Prints the median of ROUNDS (default 5) runs over the whole leg.
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
        fprintf(stderr, "usage: bench_events FILE [ROUNDS] [--dtmf-speech|--dtmf-voice-cancel]\n");
        return 2;
    }
    cq_classify_params cp = cq_classify_default_params();
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--dtmf-speech"))
            cp.tones.dtmf_speech = true;
        else if (!strcmp(argv[i], "--dtmf-voice-cancel"))
            cp.tones.dtmf_voice_cancel = true;
        else {
            fprintf(stderr, "bench_events: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1 || rounds > 101)
        rounds = 5;
    cq_err err;
    cq_audio *a = cq_audio_open(argv[1], &err);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const cq_audio_info *info = cq_audio_get_info(a);
    if (info->sample_rate_hz != 8000) {
        fprintf(stderr, "bench_events: %s is not 8 kHz\n", argv[1]);
        return 1;
    }
    int ch = info->channels;
    size_t cap = 1 << 20, n = 0;
    float *x = malloc(cap * sizeof(float)), *blk = malloc(4096 * (size_t)ch * sizeof(float));
    int64_t got;
    while ((got = cq_audio_read(a, blk, 4096, &err)) > 0) {
        if (n + (size_t)got > cap)
            x = realloc(x, (cap *= 2) * sizeof(float));
        for (int64_t i = 0; i < got; i++)
            x[n++] = blk[i * ch];
    }
    cq_audio_close(a);
    size_t nprob = (n + CQ_CLASSIFY_FRAME - 1) / CQ_CLASSIFY_FRAME;
    float *probs = calloc(nprob, sizeof(float));
    double *t = malloc((size_t)rounds * sizeof(double));
    size_t nev = 0;
    for (int r = 0; r < rounds; r++) {
        double c0 = bench_cpu_sec();
        cq_classifier *c = cq_classifier_create(&cp, NULL);
        for (size_t i = 0; i < n; i += 4096) { /* blocks as the engine pushes them */
            size_t k = n - i < 4096 ? n - i : 4096;
            size_t p0 = i / CQ_CLASSIFY_FRAME, p1 = (i + k) / CQ_CLASSIFY_FRAME;
            if (cq_classifier_push_audio(c, x + i, k) != CQ_OK ||
                cq_classifier_push_vad(c, probs + p0, p1 - p0) != CQ_OK)
                return 1;
        }
        if (cq_classifier_finish(c) != CQ_OK)
            return 1;
        cq_classifier_events(c, &nev);
        cq_classifier_destroy(c);
        t[r] = bench_cpu_sec() - c0;
    }
    double sec = (double)n / 8000.0, med = bench_median(t, rounds);
    printf("%s: %.1f s of audio, %zu events, median %.4f CPU s = %.6f CPU s per audio s\n", argv[1],
           sec, nev, med, med / sec);
    free(t);
    free(probs);
    free(x);
    free(blk);
    return 0;
}
