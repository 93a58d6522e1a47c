/*
 * dtmf_util.h - what the DTMF tests share: a symbol's row and column frequencies, and a
 * recording's channel at 8 kHz (test_dtmf_speech.c, test_redact_audio.c).
 */
#ifndef CQ_TEST_DTMF_UTIL_H
#define CQ_TEST_DTMF_UTIL_H

#include "testutil.h"

#include "callqa/callqa.h"

#define DTMF_RATE 8000

/* Row and column frequencies of a symbol. */
static inline void dtmf_freqs(char c, double *lo, double *hi)
{
    static const char keys[] = "123A456B789C*0#D";
    static const double row[4] = {697, 770, 852, 941}, col[4] = {1209, 1336, 1477, 1633};
    int i = (int)(strchr(keys, c) - keys);
    *lo = row[i / 4];
    *hi = col[i % 4];
}

/* A recording's channel `ch` at 8 kHz (resampled when needed); *n samples. */
static inline float *load8k(const char *path, int ch, size_t *n, int *channels)
{
    cq_err err;
    cq_audio *a = cq_audio_open(path, &err);
    if (!a)
        fail_msg("%s", err.msg);
    const cq_audio_info *info = cq_audio_get_info(a);
    int nc = info->channels, rate = info->sample_rate_hz;
    if (channels)
        *channels = nc;
    size_t cap = 1 << 16, len = 0;
    float *x = malloc(cap * sizeof(float)), buf[4096 * 2];
    int64_t got;
    while ((got = cq_audio_read(a, buf, 4096, &err)) > 0) {
        if (len + (size_t)got > cap) {
            cap = 2 * (len + (size_t)got);
            x = realloc(x, cap * sizeof(float));
        }
        for (int64_t i = 0; i < got; i++)
            x[len++] = buf[i * nc + ch];
    }
    assert_true(got == 0);
    cq_audio_close(a);
    if (rate == DTMF_RATE) {
        *n = len;
        return x;
    }
    int e = 0;
    cq_resample *r = cq_resample_create(rate, DTMF_RATE, &e);
    assert_non_null(r);
    size_t ocap = (size_t)((double)len * DTMF_RATE / rate) + 8192, olen = 0;
    float *y = malloc(ocap * sizeof(float));
    long k = cq_resample_process(r, x, len, y, ocap);
    assert_true(k >= 0);
    olen = (size_t)k;
    while ((k = cq_resample_process(r, NULL, 0, y + olen, ocap - olen)) > 0)
        olen += (size_t)k;
    assert_true(k == 0);
    cq_resample_destroy(r);
    free(x);
    *n = olen;
    return y;
}

#endif /* CQ_TEST_DTMF_UTIL_H */
