/*
 * bench_util.c - what the benchmark programs share: clocks (the monotonic one is cq_clock.h's),
 * medians, FNV-1a, a mono reader.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <sndfile.h>
#include <stdlib.h>
#include <time.h>

#include "callqa/cq_clock.h"

double bench_wall_sec(void)
{
    return cq_clock_mono_sec();
}

double bench_cpu_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return v[n / 2];
}

uint64_t bench_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * BENCH_FNV_PRIME;
    return h;
}

float *bench_read_mono(const char *path, size_t pad, size_t *frames, int *rate)
{
    SF_INFO in = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &in);
    if (!f || in.channels != 1) {
        if (f)
            sf_close(f);
        return NULL;
    }
    float *x = calloc((size_t)in.frames + pad, sizeof(float));
    if (x)
        sf_readf_float(f, x, in.frames);
    sf_close(f);
    *frames = (size_t)in.frames;
    *rate = in.samplerate;
    return x;
}
