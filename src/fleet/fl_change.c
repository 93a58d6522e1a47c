/*
 * fl_change.c - what changed in a route's hourly figure, and since when (fleet.h;
 * docs/routes.md, "What changed, and since when").
 *
 * DESIGN
 * A route's hours differ in how much they say: a business hour holds 50 to 300 calls, a night
 * hour none to three. So each hour is judged by how likely its values are under the route's
 * usual level against under a level moved by `shift`, and those log-likelihood ratios are summed
 * in a two-sided CUSUM (Page's test): S = max(0, S + llr), an alarm when S reaches the threshold
 * h. A sum of log-likelihood ratios reaches h at most once in e^h hours on average when nothing
 * changed (Lorden's bound), so h = ln(2 sides x 8766 hours / F) allows at most F false alarms a
 * route-year; a busy hour adds a large ratio and a quiet one a small one, with no per-hour
 * threshold to tune.
 *
 * The baseline. The usual level of an hour is a level plus an hour-of-day offset (UTC hours: a
 * route's daily cycle is a cycle in UTC too), each an exponentially weighted mean with a
 * half-life of half_life_hours. It learns an hour only once the hour is lag_hours old, so a
 * change is judged against the level before it, not learnt as normal while the CUSUM gathers
 * evidence; while that lagged baseline is still thin (under half the weight of all the
 * segment's hours: the first day or two of a series or after a change) the level is the mean of
 * the segment's hours so far (a self-starting CUSUM). An hour's mean has the variance
 *   v = sigma_h^2 / n + tau^2 + var(baseline)
 * sigma_h^2 the per-call variance at that hour of the day (FL_MEAN: pooled within hours from
 * the sums of squares, so the daily cycle does not inflate it, times an hour-of-day factor: a
 * skewed figure's spread follows its level; FL_RATE: p (1 - p)), tau^2 the between-hour
 * variance beyond it (estimated from the lagged hours, at least (between_floor x sigma)^2):
 * hours of 300 calls are not trusted as if their means were exact.
 *
 * FL_MEAN. The log-likelihood ratio of an hour's mean for a shift delta = shift x sigma is
 *   llr = d (z - d / 2),   z = (mean - baseline) / sqrt(v),   d = delta / sqrt(v),
 * with (z - d / 2) held within +-c, c = huber x sqrt(min(1, n / 20)): heavy tails (one call of
 * 30 % loss moves an hour's mean a long way), and the mean of few such values is heavy-tailed
 * itself. An hour whose own spread is larger than the route's is judged with the geometric mean
 * of the two variances (one wild call moves its mean less than it seems); one whose pooled
 * spread is under half the route's, with twice it (an hour back at a quiet level after a noisy
 * one, e.g. loss back from 2.5 % with sd 5 to 0.5 % with sd 1). sigma is the segment's, or the
 * smallest of the earlier segments' when smaller: the shift back to a quiet level is sized on
 * the quiet level's sd.
 * FL_RATE. The binomial log-likelihood ratio of k events in n calls for p0 + shift (up) and
 * max(p0 - shift, p0 / 4) (down) against p0, scaled by (p0 (1 - p0) / n) / v for the
 * between-hour variance, and at most d x c as a mean's: a quiet hour's few events count little.
 * One hour adds at most bin_cap x h (1: no cap). An alarm needs min_calls values since its
 * excursion began.
 *
 * On an alarm. The change's first hour is the start of the maximum-likelihood shift (Gaussian
 * for a mean, binomial for a rate) within the CUSUM's excursion and the 6 hours before it, after
 * the previous alarm: the latest start within one log unit of the best, since quiet hours barely
 * tell. The level and per-call variance then restart from that hour (the profile and the
 * between-hour variance stay), so a lasting shift is one change and a change back is a second.
 * No alarm in the first learn_hours of data (and learn_calls values) while the baseline learns.
 * Everything that decides an alarm reads bins up to the alarm's hour only; `before` and `after`
 * are measured at the end, over the window from t_start (after_hours, or the next change).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fleet.h"

#define HOUR_SEC 3600.0
#define HOURS_PER_YEAR 8766.0
#define DEFAULT_FALSE_PER_YEAR 0.1 /* FL_MEAN's threshold: Lorden's bound at this */
/* a rate's baseline is held within [RATE_MIN, 1 - RATE_MIN] */
#define RATE_MIN 1e-3
/* an hour-of-day offset is shrunk to 0 by this many values */
#define PROFILE_PRIOR 30.0
/* a restarted segment starts with the old per-call variance as this many degrees of freedom;
 * an hour's own spread is pooled with the segment's as this many */
#define SIGMA_PRIOR_DF 10.0
/* an hour-of-day's variance factor is shrunk to 1 by this many degrees of freedom */
#define HOUR_VAR_PRIOR 30.0
/* the between-hour variance is estimated after this many hours of at least TAU_MIN_N values */
#define TAU_MIN_HOURS 24.0
#define TAU_MIN_N 10.0
/* FL_MEAN: an hour learnt by the baseline is held within this many sd of it (a rate's hours are
 * not: their skew would bias it low) */
#define WINSOR 6.0
/* the change's start: the latest within START_BAND log units of the best, looked for up to
 * START_BACK hours before the CUSUM's excursion */
#define START_BAND 1.0
#define START_BACK 6.0
/* an hour of fewer values has a smaller Huber limit, by sqrt(n / HUBER_N): a mean of few
 * heavy-tailed values is heavy-tailed */
#define HUBER_N 20.0

/* One estimate of a segment's level and per-call variance: decayed sums over its hours. */
typedef struct lvl {
    double t;     /* the data time the sums are decayed to */
    double w;     /* sum of a u: u = n / (1 + n kappa), an hour's weight in per-call units */
    double wr;    /* sum of a u r: r the hour's mean less its hour-of-day offset */
    double w2;    /* sum of a^2 u: var(level) = sigma^2 w2 / w^2 */
    double df;    /* sum of a (n - 1), hours with n >= 2 (FL_MEAN) */
    double ss;    /* sum of a (within-hour sum of squares) (FL_MEAN) */
    double calls; /* sum of a n */
} lvl;

/* The state of one run over a series. */
typedef struct det {
    const fl_params *p;
    const fl_bin *b;
    double half_sec;           /* the half-life in seconds */
    double lag_sec;            /* the lag in seconds */
    lvl lag;                   /* the segment's hours at least lag_hours old */
    lvl fresh;                 /* every hour of the segment before the current one */
    double pw[24], pwr[24];    /* the hour-of-day offsets: decayed sums of u, u (mean - level) */
    double pt[24];             /* ... decayed to this time */
    double vss[24], vdf[24];   /* FL_MEAN: each hour-of-day's within-hour sums of squares as
                                  shares of the segment's per-call variance, and their degrees
                                  of freedom (decayed with the offsets): its variance factor */
    double kw, kwg, kbins, kt; /* between-hour variance ratio kappa = tau^2 / sigma^2: decayed
                                  weights, weighted excess, hours, and their time */
    double sig2_ref;           /* the smallest per-call variance of the earlier segments, or
                                  -1: the shift is sized on the route's quietest (FL_MEAN) */
} det;

/* The baseline of one hour as the detector sees it. */
typedef struct pred {
    double mu;    /* the expected mean */
    double sig2;  /* the per-call variance at this hour of the day */
    double seg2;  /* the segment's per-call variance (FL_MEAN) */
    double v;     /* the variance of the hour's mean */
    double delta; /* the shift tuned for, in the figure's units (FL_MEAN) */
} pred;

static int fail(char *why, size_t why_n, const char *fmt, ...)
{
    if (why && why_n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static int hour_of_day(double t)
{
    double h = fmod(floor(t / HOUR_SEC), 24.0);
    return (int)(h < 0 ? h + 24.0 : h);
}

fl_params fl_params_default(fl_kind kind)
{
    fl_params p;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.shift = kind == FL_RATE ? 0.05 : 1.0;
    /* FL_MEAN: Lorden's bound at 0.1 false alarms a route-year (12.07); FL_RATE: 10, whose bound
     * is 0.8 but measured 0.03 (docs/routes.md, "Measured"): a rate's hours are exact binomial
     * likelihoods, and +5 points from 1-3 % at 50-100 calls an hour needs every unit */
    p.threshold = kind == FL_RATE ? 10.0 : log(2.0 * HOURS_PER_YEAR / DEFAULT_FALSE_PER_YEAR);
    p.learn_hours = 336;
    p.learn_calls = 300;
    p.min_calls = 30;
    p.lag_hours = 24;
    p.half_life_hours = 336;
    p.huber = 3.0;
    p.bin_cap = 1.0;
    p.between_floor = 0.03;
    p.after_hours = 168;
    return p;
}

const char *fl_method(fl_kind k)
{
    if (k == FL_RATE)
        return "two-sided CUSUM (Page's test) of each hour's binomial log-likelihood ratio for "
               "a shift of 5 points (down: 5 points or to a quarter), threshold 10.0, against "
               "the route's own baseline (level + hour-of-day profile, half-life 14 days, from "
               "hours a day old; between-hour variance); no alarm in the first 14 days";
    return "two-sided CUSUM (Page's test) of each hour's log-likelihood ratio for a shift of 1 "
           "per-call sd, variance sd^2/n + between-hour, Huber 3, threshold 12.1, against the "
           "route's own baseline (level + hour-of-day profile, half-life 14 days, from hours a "
           "day old); no alarm in the first 14 days";
}

static void lvl_decay(const det *d, lvl *l, double t)
{
    if (t <= l->t) {
        l->t = l->t > t ? l->t : t;
        return;
    }
    double f = exp2(-(t - l->t) / d->half_sec);
    l->w *= f, l->wr *= f, l->w2 *= f * f, l->df *= f, l->ss *= f, l->calls *= f;
    l->t = t;
}

static void lvl_reset(lvl *l, double t, double sigma2)
{
    memset(l, 0, sizeof(*l));
    l->t = t;
    if (sigma2 > 0) {
        l->df = SIGMA_PRIOR_DF;
        l->ss = SIGMA_PRIOR_DF * sigma2;
    }
}

static double lvl_level(const lvl *l)
{
    return l->wr / l->w;
}

static double kappa(const det *d)
{
    double fl = d->p->between_floor * d->p->between_floor;
    if (d->kbins < TAU_MIN_HOURS || d->kw <= 0)
        return fl;
    double k = d->kwg / d->kw;
    return k > fl ? k : fl;
}

static double profile(const det *d, int h)
{
    return d->pwr[h] / (d->pw[h] + PROFILE_PRIOR);
}

/* The per-call variance of a segment estimate (FL_MEAN), or -1 when it has none yet. */
static double lvl_sigma2(const lvl *l)
{
    if (l->df <= 0)
        return -1;
    double s2 = l->ss / l->df;
    double lv = l->w > 0 ? fabs(lvl_level(l)) : 0;
    double floor2 = 1e-12 * (1 + lv * lv); /* a figure that never varied */
    return s2 > floor2 ? s2 : floor2;
}

/* The baseline of hour b from the estimate l; 0, or -1 when it cannot say. */
static int predict(const det *d, const lvl *l, const lvl *other, const fl_bin *b, pred *out)
{
    int h = hour_of_day(b->t);
    double n = b->n, s2_bin;
    if (l->w <= 0)
        return -1;
    double mu = lvl_level(l) + profile(d, h);
    double s2;
    if (d->p->kind == FL_RATE) {
        mu = clampd(mu, RATE_MIN, 1 - RATE_MIN);
        s2 = s2_bin = mu * (1 - mu);
        out->delta = 0, out->seg2 = -1;
    } else {
        double seg2 = lvl_sigma2(l);
        if (seg2 < 0)
            seg2 = lvl_sigma2(other);
        if (seg2 < 0)
            return -1;
        out->seg2 = seg2;
        out->delta = d->p->shift * sqrt(d->sig2_ref > 0 && d->sig2_ref < seg2 ? d->sig2_ref : seg2);
        /* the per-call variance at this hour of the day */
        s2 = seg2 * (d->vss[h] + HOUR_VAR_PRIOR) / (d->vdf[h] + HOUR_VAR_PRIOR);
        /* the hour's own spread (pooled with the segment's as SIGMA_PRIOR_DF values): when it
         * is under half the segment's, twice it (an hour back at a quieter level after a noisy
         * one; chance alone does not halve a pooled variance); when larger, the geometric mean
         * of the two (one wild call moves an hour's mean less than it seems) */
        s2_bin = s2;
        if (n >= 2) {
            double ss = b->sumsq - b->sum * b->sum / n;
            double pooled = (SIGMA_PRIOR_DF * s2 + (ss > 0 ? ss : 0)) / (SIGMA_PRIOR_DF + n - 1);
            s2_bin = pooled > s2 ? sqrt(pooled * s2) : fmin(s2, 2 * pooled);
        }
    }
    double var_base = s2 * (l->w2 / (l->w * l->w) + 1.0 / (d->pw[h] + PROFILE_PRIOR));
    out->mu = mu;
    out->sig2 = s2;
    out->v = s2_bin / n + s2 * kappa(d) + var_base;
    return 0;
}

/* An hour's weight in per-call units: n, less as the between-hour variance dominates. */
static double weight(const det *d, double n)
{
    return n / (1 + n * kappa(d));
}

/* Add hour k to the estimate l (its level, and its per-call variance for FL_MEAN). */
static void lvl_feed(det *d, lvl *l, const lvl *other, size_t k)
{
    const fl_bin *b = &d->b[k];
    int h = hour_of_day(b->t);
    double mean = b->sum / b->n;
    lvl_decay(d, l, b->t);
    double r = mean - profile(d, h);
    pred pr;
    if (d->p->kind == FL_MEAN && predict(d, l, other, b, &pr) == 0) { /* winsorised */
        double lim = WINSOR * sqrt(pr.v);
        r = lvl_level(l) + clampd(r - lvl_level(l), -lim, lim);
    }
    double u = weight(d, b->n);
    l->w += u, l->wr += u * r, l->w2 += u, l->calls += b->n;
    if (d->p->kind == FL_MEAN && b->n >= 2) {
        double ss = b->sumsq - b->sum * b->sum / b->n;
        l->df += b->n - 1, l->ss += ss > 0 ? ss : 0;
    }
}

/* Hour k, now lag_hours old, learnt by the lagged baseline: the level, the hour-of-day offset,
 * the between-hour variance. */
static void lag_feed(det *d, size_t k)
{
    const fl_bin *b = &d->b[k];
    int h = hour_of_day(b->t);
    double mean = b->sum / b->n;
    pred pr;
    lvl_decay(d, &d->lag, b->t);
    int known = predict(d, &d->lag, &d->fresh, b, &pr) == 0;
    if (known && b->n >= TAU_MIN_N) { /* the excess of the squared residual over sigma^2 / n */
        double f = d->kt < b->t ? exp2(-(b->t - d->kt) / d->half_sec) : 1;
        d->kw *= f, d->kwg *= f, d->kbins *= f, d->kt = b->t;
        double base = pr.v - pr.sig2 * kappa(d); /* sigma_bin^2 / n + var(baseline) */
        double e = mean - pr.mu;
        double g = clampd(e * e - base, -base, 8 * pr.v) / pr.sig2;
        double u = 1.0 / ((pr.v / pr.sig2) * (pr.v / pr.sig2));
        d->kw += u, d->kwg += u * g, d->kbins += 1;
    }
    lvl_feed(d, &d->lag, &d->fresh, k);
    double f = d->pt[h] < b->t ? exp2(-(b->t - d->pt[h]) / d->half_sec) : 1;
    d->pw[h] *= f, d->pwr[h] *= f, d->vss[h] *= f, d->vdf[h] *= f, d->pt[h] = b->t;
    if (known && d->p->kind == FL_MEAN && b->n >= 2) {
        double ss = b->sumsq - b->sum * b->sum / b->n;
        d->vss[h] += (ss > 0 ? ss : 0) / pr.seg2, d->vdf[h] += b->n - 1;
    }
    double e = mean - lvl_level(&d->lag);
    if (known && d->p->kind == FL_MEAN) {
        double lim = WINSOR * sqrt(pr.v);
        e = clampd(e, profile(d, h) - lim, profile(d, h) + lim);
    }
    double u = weight(d, b->n);
    d->pw[h] += u, d->pwr[h] += u * e;
}

/* The Huber limit of an hour of n values: smaller under HUBER_N values, by sqrt(n / HUBER_N). */
static double huber_n(const det *d, double n)
{
    return d->p->huber * (n < HUBER_N ? sqrt(n / HUBER_N) : 1);
}

/* The CUSUM increments of hour b against the baseline pr: up (+1) and down (-1). */
static void increments(const det *d, const fl_bin *b, const pred *pr, double inc[2])
{
    const fl_params *p = d->p;
    if (p->kind == FL_RATE) {
        double p0 = pr->mu, k = b->sum, n = b->n;
        double pu = fmin(p0 + p->shift, 1 - (1 - p0) / 2);
        double pd = fmax(p0 - p->shift, p0 / 4);
        double f = (p0 * (1 - p0) / n) / pr->v, sd = sqrt(pr->v);
        double c = huber_n(d, n);
        inc[0] = f * (k * log(pu / p0) + (n - k) * log((1 - pu) / (1 - p0)));
        inc[1] = f * (k * log(pd / p0) + (n - k) * log((1 - pd) / (1 - p0)));
        /* as a mean's: at most d x c, d the shift in the hour's sd (a few calls' events) */
        inc[0] = fmin(inc[0], (pu - p0) / sd * c);
        inc[1] = fmin(inc[1], (p0 - pd) / sd * c);
    } else {
        double sd = sqrt(pr->v);
        double z = (b->sum / b->n - pr->mu) / sd, dd = pr->delta / sd;
        double c = huber_n(d, b->n);
        inc[0] = dd * clampd(z - dd / 2, -c, c);
        inc[1] = dd * clampd(-z - dd / 2, -c, c);
    }
    for (int s = 0; s < 2; s++)
        inc[s] = fmin(inc[s], p->bin_cap * p->threshold);
}

/* The log-likelihood of a shift to the mean of the hours from a candidate start: Gaussian
 * (FL_MEAN: sums of e / v and 1 / v) or binomial (FL_RATE: values, events, expected events). */
static double shift_llr(const det *d, double a, double bsum, double n, double k, double np0,
                        int dir)
{
    if (d->p->kind == FL_MEAN)
        return dir * a > 0 ? a * a / (2 * bsum) : 0;
    double p0 = clampd(np0 / n, RATE_MIN, 1 - RATE_MIN), p1 = clampd(k / n, RATE_MIN, 1 - RATE_MIN);
    if (dir * (p1 - p0) <= 0)
        return 0;
    return k * log(p1 / p0) + (n - k) * log((1 - p1) / (1 - p0));
}

/* The change's first hour, from the excursion [j0, i] of direction dir and up to START_BACK
 * hours before it (from seg on: after the last alarm): the start of the maximum-likelihood shift
 * against the baseline l, the latest within START_BAND of the best (quiet hours barely tell). */
static size_t change_start(const det *d, const lvl *l, size_t seg, size_t j0, size_t i, int dir)
{
    double t_lo = d->b[j0].t - START_BACK * HOUR_SEC;
    while (j0 > seg && d->b[j0 - 1].t >= t_lo)
        j0--;
    double best = 0;
    for (int pass = 0; pass < 2; pass++) {
        double a = 0, bsum = 0, n = 0, k = 0, np0 = 0;
        for (size_t m = i + 1; m-- > j0;) {
            const fl_bin *b = &d->b[m];
            pred pr;
            if (b->n <= 0 || predict(d, l, &d->fresh, b, &pr) != 0)
                continue;
            /* held within the shift and the Huber limit, in the hour's sd: a single wild call
             * does not place the start */
            double sd = sqrt(pr.v), lim = pr.delta / sd + huber_n(d, b->n);
            double e = sd * clampd((b->sum / b->n - pr.mu) / sd, -lim, lim);
            a += e / pr.v, bsum += 1 / pr.v;
            n += b->n, k += b->sum, np0 += b->n * pr.mu;
            double g = shift_llr(d, a, bsum, n, k, np0, dir);
            if (pass == 0 && g > best)
                best = g;
            if (pass == 1 && g >= best - START_BAND)
                return m;
        }
    }
    return j0;
}

/* The open change's `before` and `after`: over its hours from t_start until end (exclusive)
 * and after_hours, against the baseline frozen at its alarm (level, offsets). */
static void finish_change(const det *d, fl_change *c, size_t from, size_t end, double level,
                          const double *offset)
{
    double calls = 0, sum = 0, base = 0, until = c->t_start;
    for (size_t k = from; k < end && d->b[k].t < c->t_start + d->p->after_hours * HOUR_SEC; k++) {
        const fl_bin *b = &d->b[k];
        if (b->n <= 0)
            continue;
        double mu = level + offset[hour_of_day(b->t)];
        if (d->p->kind == FL_RATE)
            mu = clampd(mu, RATE_MIN, 1 - RATE_MIN);
        calls += b->n, sum += b->sum, base += b->n * mu, until = b->t;
    }
    c->after = calls > 0 ? sum / calls : NAN;
    c->before = calls > 0 ? base / calls : NAN;
    c->after_calls = calls;
    c->t_until = until;
}

static int check_params(const fl_params *p, char *why, size_t why_n)
{
    if (p->kind != FL_MEAN && p->kind != FL_RATE)
        return fail(why, why_n, "kind %d: FL_MEAN or FL_RATE", (int)p->kind);
    if (!(p->shift > 0) || !isfinite(p->shift) || (p->kind == FL_RATE && !(p->shift < 1)))
        return fail(why, why_n, "shift %g: above 0%s", p->shift,
                    p->kind == FL_RATE ? " and below 1 (a share)" : " (per-call sd)");
    if (!(p->threshold > 0) || !isfinite(p->threshold))
        return fail(why, why_n, "threshold %g: above 0", p->threshold);
    const struct {
        const char *name;
        double v;
        int positive;
    } f[] = {{"learn_hours", p->learn_hours, 0},
             {"learn_calls", p->learn_calls, 0},
             {"min_calls", p->min_calls, 0},
             {"lag_hours", p->lag_hours, 0},
             {"half_life_hours", p->half_life_hours, 1},
             {"huber", p->huber, 1},
             {"bin_cap", p->bin_cap, 1},
             {"between_floor", p->between_floor, 0},
             {"after_hours", p->after_hours, 1}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (!isfinite(f[i].v) || f[i].v < 0 || (f[i].positive && f[i].v == 0))
            return fail(why, why_n, "%s %g: a finite number %s 0", f[i].name, f[i].v,
                        f[i].positive ? "above" : "at least");
    return 0;
}

static int check_bins(const fl_params *p, const fl_bin *bins, size_t n, char *why, size_t why_n)
{
    for (size_t i = 0; i < n; i++) {
        const fl_bin *b = &bins[i];
        if (!isfinite(b->t))
            return fail(why, why_n, "bins[%zu].t is not a finite time", i);
        if (i > 0 && !(b->t > bins[i - 1].t))
            return fail(why, why_n,
                        "bins[%zu].t %.0f is not after bins[%zu].t %.0f: the hours must be "
                        "strictly increasing",
                        i, b->t, i - 1, bins[i - 1].t);
        if (!isfinite(b->n) || b->n < 0)
            return fail(why, why_n, "bins[%zu].n %g: a count of values, at least 0", i, b->n);
        if (!isfinite(b->sum) || (p->kind == FL_MEAN && !isfinite(b->sumsq)))
            return fail(why, why_n, "bins[%zu]: sum %g and sumsq %g must be finite", i, b->sum,
                        b->sumsq);
        if (b->n == 0)
            continue;
        double tol = 1e-9 * (1 + fabs(b->sum) + b->n);
        if (p->kind == FL_RATE && (b->sum < -tol || b->sum > b->n + tol))
            return fail(why, why_n, "bins[%zu].sum %g: a rate's count of 1s, from 0 to n %g", i,
                        b->sum, b->n);
        if (p->kind == FL_MEAN &&
            b->sumsq < b->sum * b->sum / b->n - 1e-9 * (1 + fabs(b->sumsq)) * (1 + b->n))
            return fail(why, why_n,
                        "bins[%zu].sumsq %g is below sum^2 / n %g: not the sums of "
                        "the same values",
                        i, b->sumsq, b->sum * b->sum / b->n);
    }
    return 0;
}

int fl_detect(const fl_params *p, const fl_bin *bins, size_t n, fl_change *out, size_t max,
              size_t *n_out, char *why, size_t why_n)
{
    if (why && why_n)
        why[0] = '\0';
    if (n_out)
        *n_out = 0;
    if (!p || !n_out || (n && !bins) || (max && !out))
        return fail(why, why_n, "fl_detect: p, n_out, and bins and out when counted, are needed");
    if (check_params(p, why, why_n) || check_bins(p, bins, n, why, why_n))
        return -1;

    det d;
    memset(&d, 0, sizeof(d));
    d.p = p, d.b = bins;
    d.half_sec = p->half_life_hours * HOUR_SEC;
    d.lag_sec = p->lag_hours * HOUR_SEC;
    d.sig2_ref = -1;
    double h = p->threshold, t_first = NAN;
    double cusum[2] = {0, 0}, exc_calls[2] = {0, 0};
    size_t exc_start[2] = {0, 0}, lag_next = 0, found = 0, start_min = 0;
    int learned = 0;
    /* the open change (the last found, out[found - 1] when found <= max): its first hour's
     * index, and the baseline frozen at its alarm, for its `before` and `after` */
    int open = 0;
    fl_change open_c;
    size_t open_from = 0;
    double open_level = 0, open_offset[24];
    memset(&open_c, 0, sizeof(open_c));

    for (size_t i = 0; i < n; i++) {
        const fl_bin *b = &bins[i];
        if (b->n <= 0)
            continue;
        if (isnan(t_first)) {
            t_first = b->t;
            lvl_reset(&d.lag, b->t, -1);
            lvl_reset(&d.fresh, b->t, -1);
        }
        for (; lag_next < i && bins[lag_next].t <= b->t - d.lag_sec; lag_next++)
            if (bins[lag_next].n > 0)
                lag_feed(&d, lag_next);
        lvl_decay(&d, &d.lag, b->t);
        lvl_decay(&d, &d.fresh, b->t);
        const lvl *cur = d.lag.w > 0 && d.lag.w >= 0.5 * d.fresh.w ? &d.lag : &d.fresh;
        const lvl *other = cur == &d.lag ? &d.fresh : &d.lag;
        pred pr;
        if (predict(&d, cur, other, b, &pr) == 0) {
            if (!learned && b->t - t_first >= p->learn_hours * HOUR_SEC &&
                cur->calls >= p->learn_calls)
                learned = 1;
            if (learned) {
                double inc[2];
                increments(&d, b, &pr, inc);
                for (int s = 0; s < 2; s++) {
                    if (cusum[s] <= 0 && inc[s] > 0)
                        exc_start[s] = i, exc_calls[s] = 0;
                    cusum[s] = fmax(0, cusum[s] + inc[s]);
                    exc_calls[s] = cusum[s] > 0 ? exc_calls[s] + b->n : 0;
                }
                int s = cusum[0] >= cusum[1] ? 0 : 1;
                if (cusum[s] >= h && exc_calls[s] >= p->min_calls) {
                    int dir = s == 0 ? 1 : -1;
                    size_t j = change_start(&d, cur, start_min, exc_start[s], i, dir);
                    if (open) {
                        finish_change(&d, &open_c, open_from, j, open_level, open_offset);
                        if (found - 1 < max)
                            out[found - 1] = open_c;
                    }
                    memset(&open_c, 0, sizeof(open_c));
                    open_c.t_start = bins[j].t;
                    open_c.t_found = b->t;
                    open_c.direction = dir;
                    for (size_t k = j; k <= i; k++)
                        open_c.calls += bins[k].n;
                    open_level = lvl_level(cur);
                    for (int hh = 0; hh < 24; hh++)
                        open_offset[hh] = profile(&d, hh);
                    open = 1, open_from = j, start_min = i + 1, found++;
                    /* the baseline restarts at the change's first hour */
                    double s2 = p->kind == FL_MEAN ? pr.seg2 : -1;
                    if (s2 > 0 && (d.sig2_ref < 0 || s2 < d.sig2_ref))
                        d.sig2_ref = s2;
                    lvl_reset(&d.lag, bins[j].t, s2);
                    lvl_reset(&d.fresh, bins[j].t, s2);
                    lag_next = j;
                    for (size_t k = j; k < i; k++)
                        if (bins[k].n > 0)
                            lvl_feed(&d, &d.fresh, &d.lag, k);
                    cusum[0] = cusum[1] = 0, exc_calls[0] = exc_calls[1] = 0;
                }
            }
        }
        lvl_feed(&d, &d.fresh, &d.lag, i);
    }
    if (open) {
        finish_change(&d, &open_c, open_from, n, open_level, open_offset);
        if (found - 1 < max)
            out[found - 1] = open_c;
    }
    *n_out = found;
    return 0;
}
