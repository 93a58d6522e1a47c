/*
 * testutil.h - helpers shared by the unit tests: temporary directories, WAV writing through
 * libsndfile, synthetic signals with a printed seed, and the path of ../shared.
 */
#ifndef CQ_TESTUTIL_H
#define CQ_TESTUTIL_H

#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The factor of a wall-clock bound that only tells a hang from a slow run. The sanitizer builds'
 * suites run at nice 19 beside the Release suite (.ci/run), where a process can wait many seconds
 * for a core: 0.02 s of CPU in 1.3 s measured, and a 1 s limit's cut seen 10 s late. What a test
 * means to bound (the work done past a limit) it checks in CPU time or by outcome. */
#ifdef CQ_TEST_SANITIZED
#define TU_WALL_SLACK 6.0
#else
#define TU_WALL_SLACK 1.0
#endif

/* The wall-clock bound of a wait that only tells a hang from a run, in every build: sec (ten
 * times the expected time or more), at least 30 s, times TU_WALL_SLACK, times
 * $CALLQA_TEST_HANG_FACTOR when it is set (1 or more: a machine slower still). A slow run passes
 * it as soon as what it waits for is there, so a wide bound costs nothing. */
static inline double tu_hang_sec(double sec)
{
    double f = 1;
    const char *e = getenv("CALLQA_TEST_HANG_FACTOR");
    if (e && *e && strtod(e, NULL) >= 1)
        f = strtod(e, NULL);
    return (sec > 30 ? sec : 30) * TU_WALL_SLACK * f;
}

/* A fresh directory under $TMPDIR (or /tmp); removed by tu_rmdir. */
static inline char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *d = NULL;
    if (asprintf(&d, "%s/callqa-test-XXXXXX", base && *base ? base : "/tmp") < 0)
        return NULL;
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static inline void tu_rmdir(char *d)
{
    if (!d)
        return;
    char *cmd = NULL;
    if (asprintf(&cmd, "rm -rf '%s'", d) >= 0) {
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", d);
        free(cmd);
    }
    free(d);
}

/* A temporary directory per test group: pass tu_group_setup/tu_group_teardown to
 * cmocka_run_group_tests and use tu_dir() in the tests. */
static inline char **tu_dir_slot(void)
{
    static char *dir;
    return &dir;
}

static inline const char *tu_dir(void)
{
    return *tu_dir_slot();
}

static inline int tu_group_setup(void **state)
{
    (void)state;
    *tu_dir_slot() = tu_tmpdir();
    return *tu_dir_slot() ? 0 : -1;
}

static inline int tu_group_teardown(void **state)
{
    (void)state;
    tu_rmdir(*tu_dir_slot());
    *tu_dir_slot() = NULL;
    return 0;
}

static inline char *tu_path(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

/* Write interleaved float frames with libsndfile. Returns 0 on success. */
static inline int tu_write(const char *path, int format, int rate, int channels, const float *x,
                           size_t frames)
{
    SF_INFO in = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &in);
    if (!f) {
        fprintf(stderr, "sf_open(%s): %s\n", path, sf_strerror(NULL));
        return -1;
    }
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t w = sf_writef_float(f, x, (sf_count_t)frames);
    sf_close(f);
    return w == (sf_count_t)frames ? 0 : -1;
}

/* Write raw bytes to a file. */
static inline int tu_write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Read a whole file; NULL on failure. */
static inline unsigned char *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = sz > 0 ? (size_t)sz : 0;
    return b;
}

/* Deterministic PRNG (xorshift64*), seeded and printed so a failure replays. */
typedef struct tu_rng {
    uint64_t s;
} tu_rng;

static inline tu_rng tu_rng_seed(const char *who)
{
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    const char *env = getenv("CQ_TEST_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    fprintf(stderr, "[ seed ] %s: CQ_TEST_SEED=0x%llx\n", who, (unsigned long long)seed);
    tu_rng r = {seed ? seed : 1};
    return r;
}

static inline double tu_uniform(tu_rng *r) /* [0, 1) */
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double tu_gauss(tu_rng *r)
{
    double u = tu_uniform(r), v = tu_uniform(r);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* Quantise to int16 steps, as a 16-bit file would hold the signal. */
static inline float tu_q16(double v)
{
    long s = lround(v * 32768.0);
    if (s > 32767)
        s = 32767;
    if (s < -32768)
        s = -32768;
    return (float)s / 32768.0f;
}

/* ../shared, from $CALLQA_SHARED_DIR or the build-time default. */
static inline const char *tu_shared_dir(void)
{
    const char *e = getenv("CALLQA_SHARED_DIR");
#ifdef CQ_SHARED_DIR
    return e && *e ? e : CQ_SHARED_DIR;
#else
    return e && *e ? e : "../shared";
#endif
}

static inline int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Sample mode, for the sanitizer builds: CQ_TEST_SAMPLE set to anything but "" or "0". A corpus
 * test then runs one case (its first file) of each loop that repeats a code path over more data,
 * keeps the loops whose cases take paths of their own, keeps every check on what it ran, leaves
 * out the totals over the whole corpus (checked in the full run), and prints a line saying it is
 * a sample. */
static inline int tu_sample(void)
{
    const char *e = getenv("CQ_TEST_SAMPLE");
    return e && *e && strcmp(e, "0") != 0;
}

/*
 * A test program runs its tests in two groups, each its own ctest entry: the logic tests, which
 * need nothing outside the checkout, and, with the argument "corpus", the tests that read
 * ../shared (the corpus, the reference outputs, the models). The corpus group exits 77 (ctest's
 * SKIP) when ../shared is missing. A group with no test is not registered (tests/CMakeLists.txt).
 */
#define TU_NONE                                                                                    \
    {                                                                                              \
        .name = NULL                                                                               \
    } /* the only entry of an empty group */
#define TU_MAIN(logic, corpus) TU_MAIN_SETUP(logic, corpus, tu_group_setup, tu_group_teardown)
/* ... with a group setup and teardown of the program's own (they must not need ../shared) */
#define TU_MAIN_SETUP(logic, corpus, setup, teardown)                                              \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return tu_run(argc, argv, logic, logic[0].name ? sizeof(logic) / sizeof(logic[0]) : 0,     \
                      corpus, corpus[0].name ? sizeof(corpus) / sizeof(corpus[0]) : 0, setup,      \
                      teardown);                                                                   \
    }

static inline int tu_run(int argc, char **argv, const struct CMUnitTest *logic, size_t n_logic,
                         const struct CMUnitTest *corpus, size_t n_corpus, CMFixtureFunction setup,
                         CMFixtureFunction teardown)
{
    if (argc > 1 && !strcmp(argv[1], "corpus")) {
        char *c = NULL, *m = NULL;
        int have = asprintf(&c, "%s/corpus", tu_shared_dir()) >= 0 &&
                   asprintf(&m, "%s/models", tu_shared_dir()) >= 0 && tu_exists(c) && tu_exists(m);
        free(c);
        free(m);
        if (!have) {
            printf("SKIP: %s/corpus or %s/models is missing\n", tu_shared_dir(), tu_shared_dir());
            return 77;
        }
        return _cmocka_run_group_tests("corpus", corpus, n_corpus, setup, teardown);
    }
    if (!n_logic) {
        printf("every test of this program reads ../shared: run it with the argument corpus\n");
        return 0;
    }
    return _cmocka_run_group_tests("logic", logic, n_logic, setup, teardown);
}

#endif /* CQ_TESTUTIL_H */
