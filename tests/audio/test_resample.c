/*
 * test_resample.c - the libsoxr wrapper: rates, length, a tone keeps its frequency and level.
 */
#include "testutil.h"

#include "callqa/cq_resample.h"

/* Amplitude of frequency f in x (single-bin DFT). */
static double tone_amp(const float *x, size_t n, double f, double rate)
{
    double re = 0, im = 0;
    for (size_t i = 0; i < n; i++) {
        re += x[i] * cos(2 * M_PI * f * (double)i / rate);
        im -= x[i] * sin(2 * M_PI * f * (double)i / rate);
    }
    return 2 * sqrt(re * re + im * im) / (double)n;
}

static void check_rates(double in_rate, double out_rate)
{
    size_t n = (size_t)in_rate; /* 1 s */
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2 * M_PI * 1000.0 * (double)i / in_rate));
    int err = 0;
    cq_resample *r = cq_resample_create(in_rate, out_rate, &err);
    assert_non_null(r);
    size_t cap = (size_t)out_rate + 4096, got = 0;
    float *y = malloc(cap * sizeof(float));
    for (size_t off = 0; off < n; off += 1000) { /* streaming in blocks */
        size_t m = n - off < 1000 ? n - off : 1000;
        long k = cq_resample_process(r, x + off, m, y + got, cap - got);
        assert_true(k >= 0);
        got += (size_t)k;
    }
    long k;
    while ((k = cq_resample_process(r, NULL, 0, y + got, cap - got)) > 0)
        got += (size_t)k;
    assert_true(k == 0);
    cq_resample_destroy(r);
    assert_true(fabs((double)got - out_rate) <= 2);
    /* the middle half: away from the filter's start-up */
    size_t a = got / 4, len = got / 2;
    double amp = tone_amp(y + a, len, 1000.0, out_rate);
    print_message("%g -> %g Hz: %zu samples, 1 kHz amplitude %.5f\n", in_rate, out_rate, got, amp);
    assert_true(fabs(amp - 0.5) < 0.005);
    free(x);
    free(y);
}

static void test_rates(void **state)
{
    (void)state;
    check_rates(16000, 8000);
    check_rates(44100, 8000);
    check_rates(48000, 8000);
    check_rates(8000, 16000);
}

static void test_invalid(void **state)
{
    (void)state;
    int err = 0;
    assert_null(cq_resample_create(0, 8000, &err));
    assert_int_equal(err, CQ_ERR_INVALID);
    assert_null(cq_resample_create(8000, -1, &err));
    cq_resample_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
