/*
 * test_fl_change.c - change points of a route's hourly figure (src/fleet/fl_change.c), on
 * simulated routes with daily and weekly cycles in volume (weekday business hours of 60 calls
 * rising to 140 at midday, 250 for one-way audio; evenings of a few, nights of about one,
 * weekends a tenth) and a mild daily cycle in the figure's level: a stable year of MOS, of
 * heavy-tailed packet loss and of one-way audio raises at most one alarm; MOS -0.5, loss +2
 * points and one-way audio +5 points are found within two hours (or 100 affected calls), with
 * their start within two hours and their size within 20 %; the change back six days later is a
 * second change; an hour of three bad calls raises none; an alarm is the same on the series cut
 * at its hour; no alarm while learning, none for gaps; bad input is refused with a sentence.
 * Every route is seeded and a failure prints its seed. The cases are not picked seeds: over 300
 * seeds each, MOS and loss passed every one, one-way audio 97-99 % (at 60-140 calls an hour it is
 * found within two hours less often: docs/routes.md, "Measured").
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/fleet/fleet.h"

#define HOUR 3600.0
#define DAY (24 * HOUR)
#define T0 1700438400.0 /* Monday 2023-11-20 00:00 UTC */
#define MAX_BINS (400 * 24)
#define MAX_CH 64

typedef struct rng {
    uint64_t s;
} rng;

static double unif(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (((z ^ (z >> 31)) >> 11) + 0.5) * 0x1.0p-53;
}

static double normal(rng *r)
{
    return sqrt(-2 * log(unif(r))) * cos(2 * M_PI * unif(r));
}

static double poisson(rng *r, double lam)
{
    if (lam > 40)
        return fmax(0, floor(lam + sqrt(lam) * normal(r) + 0.5));
    double l = exp(-lam), p = 1;
    int k = -1;
    do {
        k++;
        p *= unif(r);
    } while (p > l);
    return k;
}

typedef enum fig { MOS, LOSS, ONEWAY } fig;

/* A route of figure f: its level, and a degradation of `add` over [bad0, bad1) (loss: every
 * call scaled so that its mean moves by add). */
typedef struct route {
    fig f;
    double level, sd, peak;
    double bad0, bad1, add;
} route;

static double calls_at(const route *rt, double t)
{
    int day = (int)floor((t - T0) / DAY), dow = day % 7, h = (int)fmod((t - T0) / HOUR, 24);
    double wd = h >= 9 && h < 17    ? 60 + (rt->peak - 60) * sin(M_PI * (h - 8.5) / 8)
                : h >= 17 && h < 21 ? 6
                : h >= 7 && h < 9   ? 4
                                    : 1;
    return dow == 5 ? wd * 0.12 : dow == 6 ? wd * 0.05 : wd;
}

static double one_value(const route *rt, rng *r, double mu, int bad)
{
    switch (rt->f) {
    case MOS: return fmin(5, fmax(1, mu + rt->sd * normal(r) + (bad ? rt->add : 0)));
    case LOSS: { /* lognormal, mean mu, sd ~ 2 mu */
        double s2 = log(1 + 4.0), x = exp(log(mu) - s2 / 2 + sqrt(s2) * normal(r));
        return fmin(100, bad ? x * (rt->level + rt->add) / rt->level : x);
    }
    default: return unif(r) < mu + (bad ? rt->add : 0) ? 1 : 0;
    }
}

/* The route's hours over `days`; returns the count of bins (hours without calls left out). */
static size_t simulate(const route *rt, uint64_t seed, int days, fl_bin *bins)
{
    rng r = {seed};
    size_t nb = 0;
    for (int hh = 0; hh < days * 24; hh++) {
        double t = T0 + hh * HOUR, n = poisson(&r, calls_at(rt, t));
        if (n <= 0)
            continue;
        double cyc = sin(2 * M_PI * (hh % 24) / 24.0);
        double mu = rt->f == MOS ? rt->level + 0.05 * cyc : rt->level * (1 + 0.1 * cyc);
        int bad = t >= rt->bad0 && t < rt->bad1;
        double s = 0, s2 = 0;
        for (int k = 0; k < (int)n; k++) {
            double x = one_value(rt, &r, mu, bad);
            s += x, s2 += x * x;
        }
        bins[nb++] = (fl_bin){t, n, s, s2};
    }
    return nb;
}

static route make(fig f)
{
    route rt = {f, 4.0, 0.4, 140, INFINITY, INFINITY, 0};
    if (f == LOSS)
        rt.level = 0.5, rt.sd = 1.0;
    if (f == ONEWAY)
        rt.level = 0.01, rt.sd = 0, rt.peak = 250;
    return rt;
}

static fl_bin g_bins[MAX_BINS];
static fl_change g_ch[MAX_CH];

static size_t detect(fig f, const fl_bin *bins, size_t nb)
{
    fl_params p = fl_params_default(f == ONEWAY ? FL_RATE : FL_MEAN);
    size_t found = 0;
    char why[200];
    int rc = fl_detect(&p, bins, nb, g_ch, MAX_CH, &found, why, sizeof(why));
    if (rc != 0)
        fail_msg("fl_detect: %s", why);
    assert_string_equal(why, "");
    return found;
}

static void test_stable_years(void **state)
{
    (void)state;
    const struct {
        fig f;
        uint64_t seed;
    } cases[] = {{MOS, 11}, {MOS, 12}, {LOSS, 21}, {LOSS, 22}, {ONEWAY, 31}, {ONEWAY, 32}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        route rt = make(cases[i].f);
        size_t nb = simulate(&rt, cases[i].seed, 365, g_bins);
        size_t k = detect(cases[i].f, g_bins, nb);
        printf("# stable year, figure %d seed %llu: %zu alarm(s)\n", cases[i].f,
               (unsigned long long)cases[i].seed, k);
        if (k > 1)
            fail_msg("seed %llu: %zu alarms in a stable year", (unsigned long long)cases[i].seed,
                     k);
    }
}

/* The first alarm at or after t0, checked against the bounds; returns it. */
static const fl_change *check_found(const route *rt, uint64_t seed, size_t nb, size_t k)
{
    const fl_change *hit = NULL;
    for (size_t c = 0; c < k && !hit; c++) {
        if (g_ch[c].t_found < rt->bad0)
            fail_msg("seed %llu: an alarm before the degradation", (unsigned long long)seed);
        hit = &g_ch[c];
    }
    if (!hit)
        fail_msg("seed %llu: the degradation is not found", (unsigned long long)seed);
    double cum = 0, t100 = INFINITY;
    for (size_t b = 0; b < nb && isinf(t100); b++)
        if (g_bins[b].t >= rt->bad0 && (cum += g_bins[b].n) >= 100)
            t100 = g_bins[b].t;
    double size = hit->after - hit->before;
    printf(
        "# figure %d seed %llu: found %+.0f h, start %+.0f h, size %.4f (%+.1f %%), %.0f calls\n",
        rt->f, (unsigned long long)seed, (hit->t_found - rt->bad0) / HOUR,
        (hit->t_start - rt->bad0) / HOUR, size, 100 * (size - rt->add) / fabs(rt->add), hit->calls);
    if (hit->direction != (rt->add > 0 ? 1 : -1))
        fail_msg("seed %llu: direction %d", (unsigned long long)seed, hit->direction);
    if (hit->t_found > fmax(rt->bad0 + 2 * HOUR, t100))
        fail_msg("seed %llu: found %.0f h after the start", (unsigned long long)seed,
                 (hit->t_found - rt->bad0) / HOUR);
    if (fabs(hit->t_start - rt->bad0) > 2 * HOUR)
        fail_msg("seed %llu: start %+.0f h off", (unsigned long long)seed,
                 (hit->t_start - rt->bad0) / HOUR);
    if (fabs(size - rt->add) > 0.2 * fabs(rt->add))
        fail_msg("seed %llu: size %g for %g", (unsigned long long)seed, size, rt->add);
    return hit;
}

static void test_degradations(void **state)
{
    (void)state;
    const struct {
        fig f;
        double add;
        int start_hour; /* of week 5's Tuesday */
    } cases[] = {{MOS, -0.5, 10}, {MOS, -0.5, 14},    {LOSS, 2.0, 11},
                 {LOSS, 2.0, 15}, {ONEWAY, 0.05, 11}, {ONEWAY, 0.05, 13}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        route rt = make(cases[i].f);
        rt.add = cases[i].add;
        rt.bad0 = T0 + (4 * 7 + 1) * DAY + cases[i].start_hour * HOUR;
        rt.bad1 = rt.bad0 + 6 * DAY;
        uint64_t seed = 100 + i;
        size_t nb = simulate(&rt, seed, 7 * 7, g_bins);
        size_t k = detect(cases[i].f, g_bins, nb);
        check_found(&rt, seed, nb, k);
        /* back to normal after six days: a second change, the other way, after which `after`
         * stops (its start is checked for MOS only: in a heavy-tailed degraded segment, or a
         * rate's few events, it can be hours off) */
        assert_int_equal(k, 2);
        assert_int_equal(g_ch[1].direction, -g_ch[0].direction);
        assert_true(g_ch[1].t_found >= rt.bad1 && g_ch[1].t_found <= rt.bad1 + DAY);
        if (cases[i].f == MOS)
            assert_true(fabs(g_ch[1].t_start - rt.bad1) <= 2 * HOUR);
        assert_true(g_ch[0].t_until < g_ch[1].t_start);
    }
}

/* An hour of three calls at night, each terrible: no alarm on its own. */
static void test_odd_hour(void **state)
{
    (void)state;
    const struct {
        fig f;
        double value; /* each of the three calls */
    } cases[] = {{MOS, 1.0}, {LOSS, 60.0}, {ONEWAY, 1.0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        route rt = make(cases[i].f);
        size_t nb = simulate(&rt, 200 + i, 42, g_bins);
        double t_odd = T0 + 30 * DAY + 3 * HOUR; /* a Wednesday, 03:00 */
        size_t at = 0;
        while (at < nb && g_bins[at].t < t_odd)
            at++;
        if (at < nb && g_bins[at].t == t_odd)
            memmove(&g_bins[at], &g_bins[at + 1], (nb - at - 1) * sizeof(fl_bin)), nb--;
        memmove(&g_bins[at + 1], &g_bins[at], (nb - at) * sizeof(fl_bin));
        g_bins[at] = (fl_bin){t_odd, 3, 3 * cases[i].value, 3 * cases[i].value * cases[i].value};
        nb++;
        assert_int_equal(detect(cases[i].f, g_bins, nb), 0);
    }
}

/* Every alarm is the same when the series ends at its hour: it read nothing later. */
static void test_causal(void **state)
{
    (void)state;
    route rt = make(MOS);
    rt.add = -0.5, rt.bad0 = T0 + 29 * DAY + 11 * HOUR, rt.bad1 = rt.bad0 + 3 * DAY;
    size_t nb = simulate(&rt, 300, 49, g_bins);
    size_t k = detect(MOS, g_bins, nb);
    assert_int_equal(k, 2);
    fl_change full[MAX_CH];
    memcpy(full, g_ch, sizeof(full));
    for (size_t c = 0; c < k; c++) {
        size_t cut = 0;
        while (cut < nb && g_bins[cut].t <= full[c].t_found)
            cut++;
        assert_int_equal(detect(MOS, g_bins, cut), c + 1);
        for (size_t e = 0; e <= c; e++) {
            assert_true(g_ch[e].t_start == full[e].t_start);
            assert_true(g_ch[e].t_found == full[e].t_found);
            assert_int_equal(g_ch[e].direction, full[e].direction);
            assert_true(g_ch[e].calls == full[e].calls);
        }
        /* and the hours before t_found alone raise nothing new */
        assert_int_equal(detect(MOS, g_bins, cut - 1), c);
    }
}

/* A route that starts degraded, or changes in its first days: no alarm in the first two weeks;
 * gaps (a dead day, a silent week) raise none. */
static void test_learning_and_gaps(void **state)
{
    (void)state;
    route rt = make(MOS);
    rt.add = -0.5, rt.bad0 = T0 + 3 * DAY + 10 * HOUR, rt.bad1 = INFINITY;
    size_t nb = simulate(&rt, 400, 30, g_bins);
    size_t k = detect(MOS, g_bins, nb);
    for (size_t c = 0; c < k; c++)
        assert_true(g_ch[c].t_found >= g_bins[0].t + 14 * DAY);
    rt = make(LOSS);
    nb = simulate(&rt, 401, 120, g_bins);
    size_t w = 0;
    for (size_t b = 0; b < nb; b++) { /* day 40 dead, days 60-67 silent */
        double day = (g_bins[b].t - T0) / DAY;
        if ((day >= 40 && day < 41) || (day >= 60 && day < 67))
            continue;
        g_bins[w++] = g_bins[b];
    }
    assert_int_equal(detect(LOSS, g_bins, w), 0);
}

static void test_refused(void **state)
{
    (void)state;
    fl_params p = fl_params_default(FL_MEAN), r = fl_params_default(FL_RATE);
    fl_bin b[3] = {{T0, 10, 40, 161}, {T0 + HOUR, 10, 40, 161}, {T0 + 2 * HOUR, 10, 40, 161}};
    fl_change out[4];
    size_t n = 99;
    char why[200];
    assert_int_equal(fl_detect(&p, b, 3, out, 4, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 0);
    b[2].t = T0 + HOUR;
    assert_int_equal(fl_detect(&p, b, 3, out, 4, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "strictly increasing"));
    b[2].t = T0 + 2 * HOUR, b[1].n = -1;
    assert_int_equal(fl_detect(&p, b, 3, out, 4, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "bins[1].n"));
    b[1].n = 10, b[1].t = NAN;
    assert_int_equal(fl_detect(&p, b, 3, out, 4, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "bins[1].t"));
    b[1].t = T0 + HOUR, b[0].sumsq = 100; /* below 40^2 / 10 */
    assert_int_equal(fl_detect(&p, b, 3, out, 4, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "sumsq"));
    fl_bin rb[2] = {{T0, 10, 11, 11}, {T0 + HOUR, 10, 1, 1}};
    assert_int_equal(fl_detect(&r, rb, 2, out, 4, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "bins[0].sum"));
    p.shift = 0;
    assert_int_equal(fl_detect(&p, b, 3, out, 4, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "shift"));
    r.half_life_hours = 0;
    assert_int_equal(fl_detect(&r, rb, 0, NULL, 0, &n, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "half_life_hours"));
    r = fl_params_default(FL_RATE);
    assert_int_equal(fl_detect(&r, NULL, 0, NULL, 0, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 0);
}

/* More changes than room: all counted, the first max written. */
static void test_max(void **state)
{
    (void)state;
    route rt = make(MOS);
    rt.add = -0.5, rt.bad0 = T0 + 29 * DAY + 11 * HOUR, rt.bad1 = rt.bad0 + 3 * DAY;
    size_t nb = simulate(&rt, 300, 49, g_bins);
    fl_params p = fl_params_default(FL_MEAN);
    fl_change one[1];
    size_t n = 0;
    char why[100];
    assert_int_equal(fl_detect(&p, g_bins, nb, one, 1, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(one[0].direction, -1);
    assert_true(one[0].t_until < rt.bad1 + 2 * HOUR);
}

static void test_method(void **state)
{
    (void)state;
    assert_non_null(strstr(fl_method(FL_MEAN), "CUSUM"));
    assert_non_null(strstr(fl_method(FL_RATE), "binomial"));
    char want[16];
    snprintf(want, sizeof(want), "%.1f", fl_params_default(FL_MEAN).threshold);
    assert_non_null(strstr(fl_method(FL_MEAN), want));
    snprintf(want, sizeof(want), "%.1f", fl_params_default(FL_RATE).threshold);
    assert_non_null(strstr(fl_method(FL_RATE), want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_years),
        cmocka_unit_test(test_degradations),
        cmocka_unit_test(test_odd_hour),
        cmocka_unit_test(test_causal),
        cmocka_unit_test(test_learning_and_gaps),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_max),
        cmocka_unit_test(test_method),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
