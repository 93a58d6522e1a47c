/*
 * fleet.h - the fleet room: what changed in a route's hourly figure, and since when
 * (docs/routes.md, "What changed, and since when"). A route is a carrier, a trunk, a server or
 * a campaign; callqa rolls its calls up per hour, and each figure of it (MOS, packet loss, one-way
 * audio, ...) is a series of hourly bins: the values observed that hour, their sum and sum of
 * squares. fl_detect() reads one such series and lists every lasting change of its level, each
 * with the hour it began, the hour whose data raised it, and the level before and after.
 *
 * The method (fl_change.c, DESIGN): a two-sided CUSUM (Page's test) of each hour's
 * log-likelihood ratio for a shift of a set size (Gaussian for a mean, binomial for a rate),
 * against a baseline learnt from the route's own past: a level (an exponentially weighted mean
 * of hours at least a day old) plus an hour-of-day profile, each hour's variance from its number
 * of values (sd^2 / n, plus the route's between-hour variance). Causal: an alarm at t_found reads
 * no bin after it, so a year replayed gives the alarms the hour-by-hour run gave. After an alarm
 * the level re-learns from the change's first hour, so a lasting shift is one change and a
 * change back is a second. It needs two weeks of history (and 300 values) before its first
 * alarm; FL_MEAN learns the per-call spread from hours of 2 values or more.
 *
 * Pure: libc and libm only; no store, no network, no I/O, no allocation. On floor 6, beside
 * scoring; the service's routes and the worker call it with the store's hourly roll-ups.
 *
 * Thread safety: no global state; fl_detect() may run on many threads at once.
 */
#ifndef CQ_FLEET_H
#define CQ_FLEET_H

#include <stddef.h>

/* One hour of one route's figure: n values observed (calls, or attempts), their sum and sum of
 * squares. For a rate (one-way audio, answered...) each value is 0 or 1, so sum = count of 1s,
 * sumsq = sum (not read). */
typedef struct fl_bin {
    double t;     /* the hour's start, UTC seconds; strictly increasing; hours with n == 0 may
                     be absent (nights, weekends, a dead day) */
    double n;     /* values observed that hour, >= 0 */
    double sum;   /* their sum (FL_RATE: the count of 1s, 0 <= sum <= n) */
    double sumsq; /* their sum of squares (FL_MEAN; >= sum^2 / n) */
} fl_bin;

typedef enum fl_kind {
    FL_MEAN = 0, /* a per-call figure: MOS, packet loss %, jitter ms, dial time s, QA score */
    FL_RATE = 1  /* a share of calls, each 0 or 1: one-way audio, dead air, answered, ... */
} fl_kind;

/* The detector's settings; fl_params_default(kind) gives the ones measured in docs/routes.md. */
typedef struct fl_params {
    fl_kind kind;
    double shift;           /* the shift the CUSUM is tuned to find: FL_MEAN in per-call sd of
                               the route (1.0), FL_RATE in absolute share (0.05: 5 points);
                               smaller shifts are found too, later, larger ones sooner */
    double threshold;       /* h: an alarm when the CUSUM of log-likelihood ratios reaches it
                               (natural log units, > 0); ln(2 x 8766 / F) bounds the false
                               alarms of a stable route to F a year (Lorden): FL_MEAN 12.07
                               (F = 0.1), FL_RATE 10.0 (bound 0.8, measured 0.03 a route-year;
                               docs/routes.md, "Measured") */
    double learn_hours;     /* no alarm before this much data time since the first hour with
                               values (336: two weeks), while the baseline learns */
    double learn_calls;     /* ... nor before the baseline holds this many values (300) */
    double min_calls;       /* an alarm needs this many values since its excursion began (30): an
                               hour of 3 bad calls is never a change on its own */
    double lag_hours;       /* the baseline learns an hour only once it is this old (24), so a
                               change being found is not learnt as the normal level */
    double half_life_hours; /* the baseline's memory: an hour's weight halves in this data time
                               (336: two weeks) */
    double huber;           /* an hour's standardised residual beyond half the shift counts at
                               most this many sd (3; less under 20 values, by sqrt(n / 20)):
                               heavy tails, and a quiet hour's few bad calls */
    double bin_cap;         /* one hour adds at most this share of the threshold (1: no cap;
                               0.5 makes every alarm rest on two hours at least) */
    double between_floor;   /* the between-hour sd's floor, as a share of the per-call sd (0.03) */
    double after_hours;     /* `after` is measured over up to this many hours from t_start (168),
                               ending before the next change */
} fl_params;

/* The defaults for a kind (docs/routes.md, "What the caller must know"). */
fl_params fl_params_default(fl_kind kind);

/* One change of a route's figure. */
typedef struct fl_change {
    double t_start;     /* the first hour of the new level (the estimated change time) */
    double t_found;     /* the hour whose data raised it: causal, computed from bins with
                           t <= t_found only (t_start, t_found, direction and calls are the
                           same on the series cut at t_found) */
    double before;      /* the level before: the baseline as it stood at t_found (learnt from
                           earlier hours), averaged over the hours `after` reads */
    double after;       /* the level after: the mean of the values from t_start, up to
                           after_hours or the next change's t_start (so it may read bins after
                           t_found: it settles once that window has passed) */
    double calls;       /* values observed from t_start to t_found */
    int direction;      /* +1 up, -1 down */
    double after_calls; /* the values `after` is the mean of */
    double t_until;     /* the last hour `after` read */
} fl_change;

/* Every change in the series bins[0..n), in order: at most max written to out (out may be NULL
 * when max is 0), *n_out the count found. Returns 0; or -1 with a sentence in why (why_n > 0;
 * "" on success) for settings out of range, and bins whose t is not finite or not strictly
 * increasing, n negative or not finite, sum or sumsq not finite, a rate's sum outside [0, n], or
 * a mean's sumsq below sum^2 / n. Reads p and bins only; no allocation. */
int fl_detect(const fl_params *p, const fl_bin *bins, size_t n, fl_change *out, size_t max,
              size_t *n_out, char *why, size_t why_n);

/* One line naming the method and its default parameters for a kind, shown to users (static). */
const char *fl_method(fl_kind k);

#endif
