/*
 * fleet_change.c - the fleet room's change points (src/fleet/fl_change.c) on simulated routes:
 * false alarms per route-year of stable routes, and for routes with a lasting degradation the
 * share found, the detection delay (hours and affected calls), the start's error and the size's
 * error (docs/routes.md, "Measured").
 *
 *   fleet_change [STABLE [DEGRADED [SEED [ONLY]]]]
 *     STABLE    stable route-years per figure (200)
 *     DEGRADED  degraded routes per degradation (100)
 *     SEED      the first seed (1); each route's seed is printed with any failure
 *     ONLY      run only the figures and degradations whose name holds this text
 *   FLEET_H=h: another threshold; FLEET_CYC=a, FLEET_WOB=w: every route's daily cycle and
 *   between-hour wobble (stress); FLEET_SHOW=1: print each stable route's alarms; FLEET_DEBUG=seed:
 *   print that degraded route's changes.
 *
 * A route: a UTC offset of -8..+3 h; weekdays' business hours (8 or 9 to 17 or 18 local) with a
 * floor of 50 to 120 calls and a peak of 50 to 300 (a bell over the day), evenings of 2 to 15,
 * nights of 0 to 2, Saturdays and Sundays at 0 to 30 % of a weekday, a dead day in half of the
 * route-years; the figure's level with a daily cycle (up to 0.15 per-call sd, or 15 % of a rate)
 * and a between-hour wobble (up to 0.05 sd, or 5 % of a rate). Per call: MOS normal (level
 * 3.9-4.2, sd 0.3-0.5, held in [1, 5]); QA score normal (70-85, sd 12, in [0, 100]); jitter
 * gamma (mean 8-30 ms, shape 2-4); dial time lognormal (3-8 s); packet loss % skewed and heavy
 * (mean 0.3-1, sd 0.7-1.3: lognormal, zero-inflated exponential or Lomax, in [0, 100]); rates
 * Bernoulli (low 0.5-3 %, mid 3-15 %, high 30-60 %).
 * Degradations from a weekday business hour after 3 to 6 weeks, for 3 to 10 days: MOS -0.5,
 * loss +2 points (half the routes every call +2, half every call x (m + 2) / m), one-way audio
 * +5 points; and the same from any hour of the week ("any hour").
 * In time: t_found at most max(t0 + 2 h, the hour of the 100th affected call); strict: max(t0 +
 * 1 h, ...), i.e. two hours of data.
 *
 * Prints one line per case with its CPU time, a TOTAL and a hash of every alarm.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/fleet/fleet.h"

#define HOUR 3600.0
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)
#define MAX_CH 4096

typedef struct rng {
    uint64_t s;
    int has;
    double spare;
} rng;

static uint64_t rnext(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(rng *r)
{
    return ((rnext(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double uab(rng *r, double a, double b)
{
    return a + (b - a) * unif(r);
}

static double normal(rng *r)
{
    if (r->has) {
        r->has = 0;
        return r->spare;
    }
    double u = unif(r), v = unif(r), m = sqrt(-2 * log(u));
    r->spare = m * sin(2 * M_PI * v), r->has = 1;
    return m * cos(2 * M_PI * v);
}

static double poisson(rng *r, double lam)
{
    if (lam <= 0)
        return 0;
    if (lam > 40) {
        double x = floor(lam + sqrt(lam) * normal(r) + 0.5);
        return x < 0 ? 0 : x;
    }
    double l = exp(-lam), p = 1;
    int k = 0;
    do {
        k++;
        p *= unif(r);
    } while (p > l);
    return k - 1;
}

static double gamma_draw(rng *r, double shape)
{
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = normal(r), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = unif(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

typedef enum fig { F_MOS, F_QA, F_JITTER, F_DIAL, F_LOSS, F_RLOW, F_RMID, F_RHIGH, N_FIG } fig;
static const char *const fig_name[N_FIG] = {"MOS",    "QA score",    "jitter ms",  "dial s",
                                            "loss %", "rate 0.5-3%", "rate 3-15%", "rate 30-60%"};

typedef struct route {
    fig f;
    double tz;              /* local = UTC + tz hours */
    int bh0, bh1;           /* business hours [bh0, bh1) local */
    double floor_bh, peak;  /* calls an hour */
    double evening, night;  /* calls an hour */
    double sat, sun;        /* weekend shares of a weekday */
    int dead_day;           /* a day with no calls, or -1 */
    double level, sd;       /* the figure's level (a rate: its share) and per-call sd */
    double shape;           /* jitter's gamma shape; loss's Lomax alpha */
    int family;             /* loss: 0 lognormal, 1 zero-inflated exponential, 2 Lomax */
    double cyc, phase, wob; /* the daily cycle's amplitude and phase, the between-hour wobble */
    double t0, t1;          /* degraded hours [t0, t1); t0 < 0: none */
    double add, mul;        /* the degradation: value + add, or value x mul */
} route;

/* The mean calls of the hour starting lt seconds after the first Monday 00:00 local. */
static double lambda(const route *rt, double lt)
{
    int day = (int)floor(lt / DAY), dow = day % 7, hl = (int)floor(fmod(lt, DAY) / HOUR);
    if (day == rt->dead_day)
        return 0;
    double wd;
    if (hl >= rt->bh0 && hl < rt->bh1) {
        double x = (hl - rt->bh0 + 0.5) / (rt->bh1 - rt->bh0);
        wd = rt->floor_bh + (rt->peak - rt->floor_bh) * sin(M_PI * x);
    } else if (hl >= rt->bh1 && hl < 21)
        wd = rt->evening;
    else if (hl >= 7 && hl < rt->bh0)
        wd = rt->evening / 2;
    else
        wd = rt->night;
    return dow == 5 ? wd * rt->sat : dow == 6 ? wd * rt->sun : wd;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* One call's value with the hour's level mu (rates: its share). */
static double value(const route *rt, rng *r, double mu, int bad)
{
    double x;
    switch (rt->f) {
    case F_MOS: x = clampd(mu + rt->sd * normal(r) + (bad ? rt->add : 0), 1, 5); return x;
    case F_QA: return clampd(mu + rt->sd * normal(r), 0, 100);
    case F_JITTER: return mu / rt->shape * gamma_draw(r, rt->shape);
    case F_DIAL: {
        double s2 = log(1 + (rt->sd / mu) * (rt->sd / mu));
        return exp(log(mu) - s2 / 2 + sqrt(s2) * normal(r));
    }
    case F_LOSS: {
        double m = mu, s = rt->sd * mu / rt->level;
        if (rt->family == 0) {
            double s2 = log(1 + (s / m) * (s / m));
            x = exp(log(m) - s2 / 2 + sqrt(s2) * normal(r));
        } else if (rt->family == 1) {
            double q = 2 * m * m / (s * s + m * m);
            x = unif(r) < q ? -m / q * log(unif(r)) : 0;
        } else {
            double a = rt->shape, lam = m * (a - 1);
            x = lam * (pow(unif(r), -1 / a) - 1);
        }
        if (bad)
            x = rt->mul != 1 ? x * rt->mul : x + rt->add;
        return clampd(x, 0, 100);
    }
    default: return unif(r) < clampd(mu + (bad ? rt->add : 0), 0, 1) ? 1 : 0;
    }
}

static void route_make(route *rt, fig f, rng *r, double weeks)
{
    memset(rt, 0, sizeof(*rt));
    rt->f = f;
    rt->tz = floor(uab(r, -8, 4));
    rt->bh0 = unif(r) < 0.5 ? 8 : 9;
    rt->bh1 = unif(r) < 0.5 ? 17 : 18;
    rt->floor_bh = uab(r, 50, 120);
    rt->peak = fmax(rt->floor_bh, exp(uab(r, log(50), log(300))));
    rt->evening = uab(r, 2, 15), rt->night = uab(r, 0, 2);
    rt->sat = uab(r, 0, 0.3), rt->sun = uab(r, 0, 0.1);
    rt->dead_day = unif(r) < 0.5 * weeks / 52 ? (int)uab(r, 14, weeks * 7) : -1;
    rt->cyc = uab(r, 0, 0.15), rt->phase = uab(r, 0, 24), rt->wob = uab(r, 0, 0.05);
    if (getenv("FLEET_CYC")) /* stress: every route's daily cycle, between-hour wobble */
        rt->cyc = atof(getenv("FLEET_CYC"));
    if (getenv("FLEET_WOB"))
        rt->wob = atof(getenv("FLEET_WOB"));
    rt->t0 = -1, rt->mul = 1;
    switch (f) {
    case F_MOS: rt->level = uab(r, 3.9, 4.2), rt->sd = uab(r, 0.3, 0.5); break;
    case F_QA: rt->level = uab(r, 70, 85), rt->sd = 12; break;
    case F_JITTER:
        rt->level = uab(r, 8, 30), rt->shape = uab(r, 2, 4), rt->sd = rt->level / sqrt(rt->shape);
        break;
    case F_DIAL: rt->level = uab(r, 3, 8), rt->sd = rt->level * uab(r, 0.2, 0.5); break;
    case F_LOSS: {
        rt->level = uab(r, 0.3, 1), rt->sd = uab(r, 0.7, 1.3);
        rt->family = (int)(unif(r) * 3);
        double c2 = (rt->sd / rt->level) * (rt->sd / rt->level);
        rt->shape = fmax(2.5, 2 * c2 / (c2 - 1)); /* Lomax: this sd, or alpha 2.5 */
        break;
    }
    case F_RLOW: rt->level = exp(uab(r, log(0.005), log(0.03))); break;
    case F_RMID: rt->level = exp(uab(r, log(0.03), log(0.15))); break;
    default: rt->level = uab(r, 0.3, 0.6); break;
    }
}

/* The hour's level: the daily cycle and the between-hour wobble about the route's level. */
static double hour_level(const route *rt, rng *r, double t)
{
    double hl = fmod(t / HOUR + rt->tz, 24);
    double c = sin(2 * M_PI * (hl - rt->phase) / 24), w = normal(r);
    if (rt->f >= F_RLOW)
        return clampd(rt->level * (1 + rt->cyc * c) * exp(rt->wob * w), 0, 1);
    if (rt->f == F_LOSS || rt->f == F_JITTER || rt->f == F_DIAL)
        return fmax(0.2 * rt->level, rt->level + (rt->cyc * c + rt->wob * w) * rt->sd);
    return rt->level + (rt->cyc * c + rt->wob * w) * rt->sd;
}

/* The expected shift of each simulated hour's mean (0 outside the degradation). */
static double *g_shift;

/* The route's hours over `hours` from a Monday 00:00 local; returns the count of bins. */
static size_t simulate(const route *rt, rng *r, double hours, fl_bin *bins)
{
    size_t nb = 0;
    double start = 1700438400.0 - rt->tz * HOUR; /* Monday 2023-11-20 00:00 local */
    for (double hh = 0; hh < hours; hh++) {
        double t = start + hh * HOUR, n = poisson(r, lambda(rt, t - start));
        if (n <= 0)
            continue;
        double mu = hour_level(rt, r, t), s = 0, s2 = 0;
        int bad = rt->t0 >= 0 && t >= rt->t0 && t < rt->t1;
        for (int k = 0; k < (int)n; k++) {
            double x = value(rt, r, mu, bad);
            s += x, s2 += x * x;
        }
        g_shift[nb] = !bad ? 0 : rt->mul != 1 ? mu * (rt->mul - 1) : rt->add;
        bins[nb++] = (fl_bin){t, n, s, s2};
    }
    return nb;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof(double), cmpd);
    int i = (int)ceil(q * n) - 1;
    return v[i < 0 ? 0 : i];
}

static double cpu_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t g_hash = 1469598103934665603ull;
static void hash_changes(const fl_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v[3] = {c[i].t_start, c[i].t_found, c[i].direction};
        const unsigned char *p = (const unsigned char *)v;
        for (size_t k = 0; k < sizeof(v); k++)
            g_hash = (g_hash ^ p[k]) * 1099511628211ull;
    }
}

static fl_bin *g_bins;
static fl_change g_ch[MAX_CH];

static size_t run(const route *rt, size_t nb)
{
    fl_params p = fl_params_default(rt->f >= F_RLOW ? FL_RATE : FL_MEAN);
    if (getenv("FLEET_H"))
        p.threshold = atof(getenv("FLEET_H"));
    size_t found;
    char why[200];
    if (fl_detect(&p, g_bins, nb, g_ch, MAX_CH, &found, why, sizeof(why)) != 0) {
        fprintf(stderr, "fleet_change: %s\n", why);
        exit(1);
    }
    size_t kept = found < MAX_CH ? found : MAX_CH;
    hash_changes(g_ch, kept);
    return kept;
}

static double g_total_fa, g_total_years;

static void stable_case(fig f, int routes, uint64_t seed)
{
    double c0 = cpu_sec(), alarms = 0, worst = 0, hours = 365 * 24;
    for (int i = 0; i < routes; i++) {
        rng r = {seed + (uint64_t)i * 7919 + (uint64_t)f * 1000003, 0, 0};
        route rt;
        route_make(&rt, f, &r, 52);
        size_t nb = simulate(&rt, &r, hours, g_bins);
        size_t k = run(&rt, nb);
        alarms += (double)k;
        worst = fmax(worst, (double)k);
        if (k > 0 && getenv("FLEET_SHOW"))
            for (size_t c = 0; c < k; c++)
                printf("  stable %s seed %llu: start %.1f d found %.1f d dir %+d before %.4f "
                       "after %.4f (%.0f calls) calls %.0f\n",
                       fig_name[f],
                       (unsigned long long)(seed + (uint64_t)i * 7919 + (uint64_t)f * 1000003),
                       (g_ch[c].t_start - g_bins[0].t) / DAY, (g_ch[c].t_found - g_bins[0].t) / DAY,
                       g_ch[c].direction, g_ch[c].before, g_ch[c].after, g_ch[c].after_calls,
                       g_ch[c].calls);
        if (k > 1)
            printf("  stable %s seed %llu: %zu alarms\n", fig_name[f],
                   (unsigned long long)(seed + (uint64_t)i * 7919 + (uint64_t)f * 1000003), k);
    }
    g_total_fa += alarms, g_total_years += routes;
    printf("stable %-12s %4d route-years  %4.0f alarms  %.3f per route-year  (most in one: %.0f)"
           "  %.1f s\n",
           fig_name[f], routes, alarms, alarms / routes, worst, cpu_sec() - c0);
}

typedef struct degr {
    const char *name;
    fig f;
    double add;   /* the shift */
    int mul_half; /* half the routes multiplicative (loss) */
} degr;

static void degraded_case(const degr *dg, int routes, uint64_t seed, int any_hour)
{
    double c0 = cpu_sec();
    int n = 0, found = 0, in_time = 0, strict = 0, early = 0, start_ok = 0, size_ok = 0, wrong = 0;
    int start_ok_data = 0, busy = 0, busy_in_time = 0; /* >= 200 calls in the first 2 hours */
    double *dh = calloc((size_t)routes, sizeof(double)),
           *dc = calloc((size_t)routes, sizeof(double));
    double *se = calloc((size_t)routes, sizeof(double)),
           *ze = calloc((size_t)routes, sizeof(double));
    double pre_hours = 0;
    for (int i = 0; i < routes; i++) {
        uint64_t sd = seed + (uint64_t)i * 104729 + (uint64_t)dg->f * 7 + (uint64_t)any_hour;
        rng r = {sd, 0, 0};
        route rt;
        double weeks = 9;
        route_make(&rt, dg->f, &r, weeks);
        rt.dead_day = -1;
        double start = 1700438400.0 - rt.tz * HOUR;
        /* t0: a weekday business hour (or any hour) 3 to 6 weeks in */
        double t0;
        for (;;) {
            t0 = start + floor(uab(&r, 21 * 24, 42 * 24)) * HOUR;
            double lt = t0 - start;
            int dow = (int)floor(lt / DAY) % 7, hl = (int)floor(fmod(lt, DAY) / HOUR);
            if (any_hour || (dow < 5 && hl >= rt.bh0 && hl < rt.bh1 - 1))
                break;
        }
        rt.t0 = t0, rt.t1 = t0 + floor(uab(&r, 3 * 24, 10 * 24)) * HOUR;
        rt.add = dg->add;
        if (dg->mul_half && (i & 1))
            rt.mul = (rt.level + dg->add) / rt.level;
        size_t nb = simulate(&rt, &r, weeks * 7 * 24, g_bins);
        size_t k = run(&rt, nb);
        n++;
        if (getenv("FLEET_DEBUG") && strtoull(getenv("FLEET_DEBUG"), NULL, 10) == sd)
            printf("    degraded +0 h to %+.0f h\n", (rt.t1 - t0) / HOUR);
        if (getenv("FLEET_DEBUG") && strtoull(getenv("FLEET_DEBUG"), NULL, 10) == sd)
            for (size_t c = 0; c < k; c++)
                printf("    change %zu: start %+.0f h found %+.0f h dir %+d before %.4f after %.4f "
                       "(%.0f calls, until %+.0f h) calls %.0f\n",
                       c, (g_ch[c].t_start - t0) / HOUR, (g_ch[c].t_found - t0) / HOUR,
                       g_ch[c].direction, g_ch[c].before, g_ch[c].after, g_ch[c].after_calls,
                       (g_ch[c].t_until - t0) / HOUR, g_ch[c].calls);
        pre_hours += (t0 - start) / HOUR;
        const fl_change *hit = NULL;
        for (size_t c = 0; c < k; c++) {
            if (g_ch[c].t_found < t0)
                early++;
            else if (!hit) {
                hit = &g_ch[c];
                break;
            }
        }
        if (!hit || hit->t_found >= rt.t1) {
            printf("  %s%s seed %llu: not found\n", dg->name, any_hour ? " (any hour)" : "",
                   (unsigned long long)sd);
            continue;
        }
        if (hit->direction != (dg->add > 0 ? 1 : -1)) {
            wrong++;
            continue;
        }
        double calls = 0, t100 = INFINITY, cum = 0, t_data = INFINITY, first2 = 0;
        for (size_t b = 0; b < nb; b++) {
            if (g_bins[b].t < t0)
                continue;
            if (isinf(t_data))
                t_data = g_bins[b].t;
            if (g_bins[b].t < t0 + 2 * HOUR)
                first2 += g_bins[b].n;
            if (g_bins[b].t <= hit->t_found)
                calls += g_bins[b].n;
            cum += g_bins[b].n;
            if (cum >= 100 && isinf(t100))
                t100 = g_bins[b].t;
        }
        /* the true size: the degradation's expected shift over the degraded hours `after`
         * read (loss x (m + 2) / m moves each hour by 2 mu / m: not 2 where the daily cycle
         * lowers mu) */
        double tn = 0, ts = 0;
        for (size_t b = 0; b < nb; b++)
            if (g_bins[b].t >= hit->t_start && g_bins[b].t <= hit->t_until && g_shift[b] != 0)
                tn += g_bins[b].n, ts += g_bins[b].n * g_shift[b];
        double truth = tn > 0 ? ts / tn : dg->add;
        double size = hit->after - hit->before, err = fabs(size - truth) / fabs(truth);
        int ok = hit->t_found <= fmax(t0 + 2 * HOUR, t100);
        dh[found] = (hit->t_found - t0) / HOUR, dc[found] = calls;
        se[found] = fabs(hit->t_start - t0) / HOUR, ze[found] = err;
        found++;
        in_time += ok, strict += hit->t_found <= fmax(t0 + HOUR, t100);
        busy += first2 >= 200, busy_in_time += first2 >= 200 && ok;
        start_ok += fabs(hit->t_start - t0) <= 2 * HOUR;
        start_ok_data += fabs(hit->t_start - t_data) <= 2 * HOUR;
        size_ok += err <= 0.2;
        if (!ok || fabs(hit->t_start - t0) > 2 * HOUR || err > 0.2)
            printf("  %s%s seed %llu: found %+.0f h (%.0f calls), start %+.0f h, size %.3f "
                   "(%+.1f %%), level %.4f\n",
                   dg->name, any_hour ? " (any hour)" : "", (unsigned long long)sd,
                   (hit->t_found - t0) / HOUR, calls, (hit->t_start - t0) / HOUR, size,
                   100 * (size - truth) / fabs(truth), hit->before);
    }
    printf("%-16s%-11s %3d routes: found %d, wrong way %d, false before %d (%.3f per route-year)\n",
           dg->name, any_hour ? " any hour" : " bus. hour", n, found, wrong, early,
           early / (pre_hours / 8766));
    printf("    in time %d (strict %d; %d of the %d with 200 calls or more in the first 2 h); "
           "delay h p50 %.0f p90 %.0f max %.0f; calls p50 %.0f p90 %.0f max %.0f\n",
           in_time, strict, busy_in_time, busy, pct(dh, found, 0.5), pct(dh, found, 0.9),
           pct(dh, found, 1), pct(dc, found, 0.5), pct(dc, found, 0.9), pct(dc, found, 1));
    printf("    start within 2 h %d (of the first hour with calls %d), error h p50 %.0f p90 %.0f "
           "max %.0f; size within 20 %% %d, error p50 %.1f %% p90 %.1f %% max %.1f %%  %.1f s\n",
           start_ok, start_ok_data, pct(se, found, 0.5), pct(se, found, 0.9), pct(se, found, 1),
           size_ok, 100 * pct(ze, found, 0.5), 100 * pct(ze, found, 0.9), 100 * pct(ze, found, 1),
           cpu_sec() - c0);
    free(dh), free(dc), free(se), free(ze);
}

int main(int argc, char **argv)
{
    int stable = argc > 1 ? atoi(argv[1]) : 200, degraded = argc > 2 ? atoi(argv[2]) : 100;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    if (stable < 0 || degraded < 0) {
        fprintf(stderr, "usage: fleet_change [STABLE [DEGRADED [SEED]]]\n");
        return 2;
    }
    g_bins = malloc(sizeof(fl_bin) * 366 * 24);
    g_shift = malloc(sizeof(double) * 366 * 24);
    if (!g_bins || !g_shift)
        return 1;
    double c0 = cpu_sec();
    printf("method (FL_MEAN): %s\nmethod (FL_RATE): %s\n", fl_method(FL_MEAN), fl_method(FL_RATE));
    const char *only = argc > 4 ? argv[4] : "";
    for (int f = 0; f < N_FIG && stable > 0; f++)
        if (strstr(fig_name[f], only))
            stable_case((fig)f, stable, seed);
    if (stable > 0)
        printf("stable all %6.0f route-years  %4.0f alarms  %.3f per route-year\n", g_total_years,
               g_total_fa, g_total_fa / g_total_years);
    const degr dg[] = {{"MOS -0.5", F_MOS, -0.5, 0},
                       {"loss +2", F_LOSS, 2.0, 1},
                       {"one-way +5pt", F_RLOW, 0.05, 0}};
    for (int any = 0; any < 2 && degraded > 0; any++)
        for (size_t i = 0; i < sizeof(dg) / sizeof(dg[0]); i++)
            if (strstr(dg[i].name, only))
                degraded_case(&dg[i], degraded, seed, any);
    printf("TOTAL %.1f s CPU, hash %016llx\n", cpu_sec() - c0, (unsigned long long)g_hash);
    free(g_bins);
    free(g_shift);
    return 0;
}
