/*
 * svc_metrics_routes.c - the routes' gauges of /metrics (svc_metrics.h; docs/routes.md, "Alerts
 * and dashboards"): each route's figures over the latest complete local hour (window="hour")
 * and the 24 hours before it (window="day"), and the changes found in the last day, read from
 * the store's roll-ups at each scrape.
 *
 * Labels route_dim and route_name (the HTTP metrics' `route` is another thing). At most
 * SVC_ROUTE_METRICS_MAX routes a dimension are named, the busiest of the day; the rest are
 * summed under route_name="_other", so that the series are bounded whatever the dialer calls
 * its trunks. A figure without values in a window has no series (never a 0).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc_metrics.h"
#include "../store/store_routes.h"

#define SVC_ROUTE_METRICS_MAX 50
#define OTHER "_other"

typedef struct rt_row {
    char name[65];
    store_route_figs f[2]; /* [0] the hour, [1] the day */
    bool has[2];
} rt_row;

typedef struct rt_dim {
    rt_row *r;
    int n, cap;
    int window; /* being filled */
} rt_dim;

static void figs_add(store_route_figs *a, const store_route_figs *b)
{
    a->calls += b->calls, a->analysed += b->analysed;
#define S3(x) a->x##_sum += b->x##_sum, a->x##_sq += b->x##_sq, a->x##_n += b->x##_n
    S3(mos);
    S3(dnsmos);
    S3(net_mos);
    S3(loss);
    S3(jitter);
    S3(pdd);
    S3(dropouts);
    S3(score);
    a->one_way += b->one_way, a->one_way_n += b->one_way_n;
    a->dead_air += b->dead_air, a->dead_air_n += b->dead_air_n;
    a->clipping += b->clipping, a->clipping_n += b->clipping_n;
    if (b->has_attempts) {
        a->has_attempts = true;
        a->attempts += b->attempts, a->answered += b->answered;
        S3(dial);
    }
#undef S3
}

static rt_row *row_of(rt_dim *d, const char *name)
{
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->r[i].name, name))
            return &d->r[i];
    if (d->n == d->cap) {
        int cap = d->cap ? 2 * d->cap : 64;
        rt_row *r = realloc(d->r, (size_t)cap * sizeof(*r));
        if (!r)
            return NULL;
        d->r = r;
        d->cap = cap;
    }
    rt_row *r = &d->r[d->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    return r;
}

static int take(void *user, const char *name, const char *key, const store_route_figs *f)
{
    (void)key;
    rt_dim *d = user;
    rt_row *r = row_of(d, name);
    if (!r)
        return -1;
    r->f[d->window] = *f;
    r->has[d->window] = true;
    return 0;
}

static int by_day_calls(const void *x, const void *y)
{
    const rt_row *a = x, *b = y;
    if (a->f[1].calls != b->f[1].calls)
        return a->f[1].calls < b->f[1].calls ? 1 : -1;
    return strcmp(a->name, b->name);
}

/* A label value escaped as the exposition format wants (\\, \", \n). */
static void label_esc(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 3 < n; s++) {
        if (*s == '\\' || *s == '"')
            out[k++] = '\\', out[k++] = *s;
        else if (*s == '\n')
            out[k++] = '\\', out[k++] = 'n';
        else
            out[k++] = *s;
    }
    out[k] = 0;
}

/* One gauge family over every dimension's routes and both windows: value(f, &v) false when the
 * figure has no values. */
typedef bool (*value_fn)(const store_route_figs *f, double *v);

#define MEANV(x, scale)                                                                            \
    static bool v_##x(const store_route_figs *f, double *v)                                        \
    {                                                                                              \
        if (f->x##_n <= 0)                                                                         \
            return false;                                                                          \
        *v = f->x##_sum / (double)f->x##_n * (scale);                                              \
        return true;                                                                               \
    }
#define RATEV(x)                                                                                   \
    static bool v_##x(const store_route_figs *f, double *v)                                        \
    {                                                                                              \
        if (f->x##_n <= 0)                                                                         \
            return false;                                                                          \
        *v = (double)f->x / (double)f->x##_n;                                                      \
        return true;                                                                               \
    }
MEANV(mos, 1)
MEANV(dnsmos, 1)
MEANV(net_mos, 1)
MEANV(loss, 0.01)
MEANV(jitter, 0.001)
MEANV(pdd, 0.001)
MEANV(dropouts, 1)
MEANV(score, 1)
RATEV(one_way)
RATEV(dead_air)
RATEV(clipping)
static bool v_calls(const store_route_figs *f, double *v)
{
    *v = (double)f->calls;
    return f->calls > 0;
}
static bool v_attempts(const store_route_figs *f, double *v)
{
    *v = (double)f->attempts;
    return f->has_attempts && f->attempts > 0;
}
static bool v_answered(const store_route_figs *f, double *v)
{
    if (!f->has_attempts || f->attempts <= 0)
        return false;
    *v = (double)f->answered / (double)f->attempts;
    return true;
}

static const struct {
    const char *name, *help, *model;
    value_fn v;
} k_gauges[] = {
    {"callqa_route_calls", "Calls of the route in the window.", NULL, v_calls},
    {"callqa_route_attempts", "The dialer's attempts on the route in the window.", NULL,
     v_attempts},
    {"callqa_route_answered_ratio", "Answered attempts over attempts.", NULL, v_answered},
    {"callqa_route_mos", "Mean MOS of the calls' audio, by model (never mixed).", "NISQA v2",
     v_mos},
    {"callqa_route_mos", NULL, "DNSMOS P.835 OVRL", v_dnsmos},
    {"callqa_route_network_mos", "Mean ITU-T G.107 E-model MOS of the calls with a capture.", NULL,
     v_net_mos},
    {"callqa_route_packet_loss_ratio", "Mean RTP packet loss of the worst stream (0-1).", NULL,
     v_loss},
    {"callqa_route_jitter_seconds", "Mean RTP jitter of the calls with a capture.", NULL, v_jitter},
    {"callqa_route_post_dial_delay_seconds", "Mean INVITE to first 18x.", NULL, v_pdd},
    {"callqa_route_one_way_ratio", "Share of calls with one-way audio.", NULL, v_one_way},
    {"callqa_route_dead_air_ratio", "Share of calls with 10 s of dead air or more.", NULL,
     v_dead_air},
    {"callqa_route_clipping_ratio", "Share of calls with 0.1 % of samples clipped or more.", NULL,
     v_clipping},
    {"callqa_route_dropouts_per_minute", "Mean dropouts per minute of speech (the worse leg).",
     NULL, v_dropouts},
    {"callqa_route_qa_score", "Mean QA score (0-100).", NULL, v_score},
};

/* The changes of a dimension, copied (its reader calls back under the store's lock). */
typedef struct changes {
    store_route_change *l;
    int n, cap;
} changes;

static int take_change(void *user, const store_route_change *ch)
{
    changes *c = user;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 32;
        store_route_change *l = realloc(c->l, (size_t)cap * sizeof(*l));
        if (!l)
            return -1;
        c->l = l;
        c->cap = cap;
    }
    c->l[c->n++] = *ch;
    return 0;
}

int svc_metrics_routes(FILE *out, store *st)
{
    time_t now = time(NULL), h1 = now - 3600, h24 = now - 24 * 3600;
    struct tm a, b;
    localtime_r(&h1, &a);
    localtime_r(&h24, &b);
    char hour[16], from[16];
    strftime(hour, sizeof(hour), "%Y-%m-%d %H", &a);
    strftime(from, sizeof(from), "%Y-%m-%d %H", &b);
    rt_dim dims[STORE_DIM_N];
    memset(dims, 0, sizeof(dims));
    int rc = 0;
    for (int d = 0; rc == 0 && d < STORE_DIM_N; d++) {
        dims[d].window = 1;
        rc = store_routes_hours_sum(st, (store_dim)d, from, hour, take, &dims[d]);
        dims[d].window = 0;
        if (rc == 0)
            rc = store_routes_hours_sum(st, (store_dim)d, hour, hour, take, &dims[d]);
        if (rc != 0)
            break;
        /* the busiest of the day named, the rest summed under _other */
        rt_dim *x = &dims[d];
        if (x->n > 1)
            qsort(x->r, (size_t)x->n, sizeof(*x->r), by_day_calls);
        if (x->n > SVC_ROUTE_METRICS_MAX) {
            rt_row other;
            memset(&other, 0, sizeof(other));
            snprintf(other.name, sizeof(other.name), OTHER);
            for (int i = SVC_ROUTE_METRICS_MAX; i < x->n; i++)
                for (int w = 0; w < 2; w++)
                    if (x->r[i].has[w]) {
                        figs_add(&other.f[w], &x->r[i].f[w]);
                        other.has[w] = true;
                    }
            x->r[SVC_ROUTE_METRICS_MAX] = other;
            x->n = SVC_ROUTE_METRICS_MAX + 1;
        }
    }
    static const char *const k_win[2] = {"hour", "day"};
    for (size_t g = 0; rc == 0 && g < sizeof(k_gauges) / sizeof(k_gauges[0]); g++) {
        if (k_gauges[g].help)
            fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", k_gauges[g].name, k_gauges[g].help,
                    k_gauges[g].name);
        for (int d = 0; d < STORE_DIM_N; d++)
            for (int i = 0; i < dims[d].n; i++)
                for (int w = 0; w < 2; w++) {
                    double v;
                    if (!dims[d].r[i].has[w] || !k_gauges[g].v(&dims[d].r[i].f[w], &v) ||
                        !isfinite(v))
                        continue;
                    char name[140];
                    label_esc(dims[d].r[i].name, name, sizeof(name));
                    fprintf(out, "%s{route_dim=\"%s\",route_name=\"%s\",window=\"%s\"",
                            k_gauges[g].name, store_dim_name((store_dim)d), name, k_win[w]);
                    if (k_gauges[g].model)
                        fprintf(out, ",model=\"%s\"", k_gauges[g].model);
                    fprintf(out, "} %.6g\n", v);
                }
    }
    /* the changes found in the last day, on the routes named (the others under _other) */
    if (rc == 0)
        fprintf(out, "# HELP callqa_route_change_active A change of a route's figure found in "
                     "the last 24 h by the change test against its own past.\n"
                     "# TYPE callqa_route_change_active gauge\n"
                     "# HELP callqa_route_change_size The change's level after minus before, "
                     "in the figure's unit (rates in percentage points).\n"
                     "# TYPE callqa_route_change_size gauge\n");
    for (int d = 0; rc == 0 && d < STORE_DIM_N; d++) {
        typedef struct {
            char name[65], figure[24], direction[8];
            double size;
        } seen_t;
        seen_t seen[256];
        int ns = 0;
        changes c = {0};
        rc = store_route_changes(st, (store_dim)d, "", (double)now - 86400, 5000, take_change, &c);
        for (int k = 0; rc == 0 && k < c.n; k++) {
            const store_route_change *ch = &c.l[k];
            bool named = false;
            for (int i = 0; i < dims[d].n && !named; i++)
                named = strcmp(dims[d].r[i].name, OTHER) && !strcmp(dims[d].r[i].name, ch->name);
            const char *nm = named ? ch->name : OTHER;
            int j = 0;
            while (j < ns && (strcmp(seen[j].name, nm) || strcmp(seen[j].figure, ch->figure) ||
                              strcmp(seen[j].direction, ch->direction)))
                j++;
            double size = ch->after - ch->before;
            if (j == ns) {
                if (ns == (int)(sizeof(seen) / sizeof(seen[0])))
                    continue;
                snprintf(seen[j].name, sizeof(seen[j].name), "%s", nm);
                snprintf(seen[j].figure, sizeof(seen[j].figure), "%s", ch->figure);
                snprintf(seen[j].direction, sizeof(seen[j].direction), "%s", ch->direction);
                seen[j].size = size;
                ns++;
            } else if (fabs(size) > fabs(seen[j].size)) {
                seen[j].size = size; /* several: the largest */
            }
        }
        free(c.l);
        for (int j = 0; j < ns; j++) {
            char name[140];
            label_esc(seen[j].name, name, sizeof(name));
            const char *lab = store_dim_name((store_dim)d);
            fprintf(out,
                    "callqa_route_change_active{route_dim=\"%s\",route_name=\"%s\",figure=\"%s\","
                    "direction=\"%s\"} 1\n",
                    lab, name, seen[j].figure, seen[j].direction);
            fprintf(out,
                    "callqa_route_change_size{route_dim=\"%s\",route_name=\"%s\",figure=\"%s\","
                    "direction=\"%s\"} %.6g\n",
                    lab, name, seen[j].figure, seen[j].direction, seen[j].size);
        }
    }
    for (int d = 0; d < STORE_DIM_N; d++)
        free(dims[d].r);
    return rc;
}
