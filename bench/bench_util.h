/*
 * bench_util.h - what the benchmark programs share (bench_util.c): the clocks, the median of a
 * set of timed runs, the FNV-1a hash that shows a fast wrong answer, and a mono recording read
 * whole with libsndfile.
 */
#ifndef CQ_BENCH_UTIL_H
#define CQ_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_FNV_SEED 1469598103934665603ull
#define BENCH_FNV_PRIME 1099511628211ull

/* Seconds of the monotonic clock. */
double bench_wall_sec(void);
/* CPU seconds of the process (every thread). */
double bench_cpu_sec(void);
/* qsort's comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);
/* v[0..n) sorted ascending, and its median: the middle one (the upper of the two middle ones
 * when n is even), as each program has always printed it. */
double bench_median(double *v, int n);
/* h with the n bytes of p folded in (FNV-1a); start from BENCH_FNV_SEED. */
uint64_t bench_fnv1a(uint64_t h, const void *p, size_t n);
/* A mono recording read whole as floats, with `pad` zeroed samples after its end; *frames and
 * *rate set. NULL if it cannot be read or has more than one channel: the caller says why. */
float *bench_read_mono(const char *path, size_t pad, size_t *frames, int *rate);

#endif
