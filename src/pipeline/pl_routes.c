/*
 * pl_routes.c - what changed on each route, and since when (pipeline.h, docs/routes.md): every
 * route's hourly roll-ups read from the store, each figure's series through the change test
 * (src/fleet: fl_detect), and every change found stored once with the calls that show it.
 *
 * DESIGN
 * A scan reads each route's history from its first hour (at most PL_ROUTES_HISTORY_DAYS back),
 * not a window that moves: the test is causal and starts from the same hour every time, so a
 * scan finds again what the last one found (stored once, by route, figure and first hour) and
 * only adds what the new hours show. A route whose roll-ups a late call changed may show a
 * change a little differently; a change once stored stays (its calls, its levels). The worker
 * runs it every route_scan_sec on a connection of its own; `callqa store routes` runs it once.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline.h"
#include "pl_service.h"
#include "../fleet/fleet.h"
#include "../store/store_routes.h"

/* pipeline.h: a change is also said (the worker's webhook) */

#define PL_ROUTES_HISTORY_DAYS 400
#define PL_ROUTES_EXAMPLES 5

/* The figures tested, their roll-up columns, their kind and which way is worse. */
typedef enum fig {
    F_MOS,
    F_DNSMOS,
    F_NET_MOS,
    F_LOSS,
    F_JITTER,
    F_PDD,
    F_ONE_WAY,
    F_DEAD_AIR,
    F_DROPOUTS,
    F_CLIPPING,
    F_SCORE,
    F_ANSWERED,
    F_DIAL,
    N_FIGS
} fig;

static const struct {
    const char *name;
    fl_kind kind;
    int worse;            /* +1: up is worse; -1: down is worse */
    const char *examples; /* store_route_examples' figure, NULL none */
    double scale;         /* the stored level in the figure's unit: rates in % points */
} k_figs[N_FIGS] = {
    [F_MOS] = {"mos", FL_MEAN, -1, "mos", 1},
    [F_DNSMOS] = {"dnsmos", FL_MEAN, -1, "dnsmos", 1},
    [F_NET_MOS] = {"net_mos", FL_MEAN, -1, "net_mos", 1},
    [F_LOSS] = {"loss", FL_MEAN, +1, "loss", 1},
    [F_JITTER] = {"jitter", FL_MEAN, +1, "jitter", 1},
    [F_PDD] = {"pdd", FL_MEAN, +1, NULL, 1},
    [F_ONE_WAY] = {"one_way", FL_RATE, +1, "one_way", 100},
    [F_DEAD_AIR] = {"dead_air", FL_RATE, +1, "dead_air", 100},
    [F_DROPOUTS] = {"dropouts", FL_MEAN, +1, "dropouts", 1},
    [F_CLIPPING] = {"clipping", FL_RATE, +1, "clipping", 100},
    [F_SCORE] = {"score", FL_MEAN, -1, "score", 1},
    [F_ANSWERED] = {"answered", FL_RATE, -1, NULL, 100},
    [F_DIAL] = {"dial", FL_MEAN, +1, NULL, 1},
};

const char *pl_route_figure_name(int f)
{
    return f >= 0 && f < N_FIGS ? k_figs[f].name : NULL;
}

int pl_route_figure_worse(const char *name)
{
    for (int f = 0; f < N_FIGS; f++)
        if (!strcmp(k_figs[f].name, name))
            return k_figs[f].worse;
    return 0;
}

/* A row's figure f as a bin (n 0: nothing that hour). */
static fl_bin bin_of(const store_route_figs *r, fig f)
{
    fl_bin b = {.t = floor(r->t / 3600) * 3600};
#define MEAN(x) b.n = (double)r->x##_n, b.sum = r->x##_sum, b.sumsq = r->x##_sq
    switch (f) {
    case F_MOS: MEAN(mos); break;
    case F_DNSMOS: MEAN(dnsmos); break;
    case F_NET_MOS: MEAN(net_mos); break;
    case F_LOSS: MEAN(loss); break;
    case F_JITTER: MEAN(jitter); break;
    case F_PDD: MEAN(pdd); break;
    case F_DROPOUTS: MEAN(dropouts); break;
    case F_SCORE: MEAN(score); break;
    case F_DIAL: MEAN(dial); break;
    case F_ONE_WAY: b.n = (double)r->one_way_n, b.sum = (double)r->one_way; break;
    case F_DEAD_AIR: b.n = (double)r->dead_air_n, b.sum = (double)r->dead_air; break;
    case F_CLIPPING: b.n = (double)r->clipping_n, b.sum = (double)r->clipping; break;
    case F_ANSWERED:
        b.n = r->has_attempts ? (double)r->attempts : 0, b.sum = (double)r->answered;
        break;
    case N_FIGS: break;
    }
#undef MEAN
    if (k_figs[f].kind == FL_RATE)
        b.sumsq = b.sum;
    /* a mean's sum of squares is never below sum^2 / n but by rounding */
    if (k_figs[f].kind == FL_MEAN && b.n > 0 && b.sumsq < b.sum * b.sum / b.n)
        b.sumsq = b.sum * b.sum / b.n;
    return b;
}

/* One route's hourly rows, read into memory. */
typedef struct rows {
    store_route_figs *r;
    char (*hour)[16];
    size_t n, cap;
} rows;

static int take_row(void *user, const char *name, const char *key, const store_route_figs *f)
{
    (void)name;
    rows *rs = user;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 1024;
        store_route_figs *r = realloc(rs->r, cap * sizeof(*r));
        char(*h)[16] = r ? realloc(rs->hour, cap * sizeof(*h)) : NULL;
        if (r)
            rs->r = r;
        if (!r || !h)
            return -1;
        rs->hour = h;
        rs->cap = cap;
    }
    rs->r[rs->n] = *f;
    snprintf(rs->hour[rs->n], 16, "%s", key);
    rs->n++;
    return 0;
}

/* The names of a dimension's routes. */
typedef struct names {
    char (*v)[65];
    int n, cap;
} names;

static int take_name(void *user, const char *name, const char *key, const store_route_figs *f)
{
    (void)key, (void)f;
    names *ns = user;
    if (ns->n == ns->cap) {
        int cap = ns->cap ? 2 * ns->cap : 64;
        char(*v)[65] = realloc(ns->v, (size_t)cap * sizeof(*v));
        if (!v)
            return -1;
        ns->v = v;
        ns->cap = cap;
    }
    snprintf(ns->v[ns->n++], 65, "%s", name);
    return 0;
}

/* The local hour "YYYY-MM-DD HH" of the first bin at or after t (the rows' keys are the
 * dialer's hours; a change's hours are found among them). */
static const char *hour_at(char (*hours)[16], const fl_bin *bins, size_t nb, double t)
{
    for (size_t i = 0; i < nb; i++)
        if (bins[i].t >= t)
            return hours[i];
    return nb ? hours[nb - 1] : "";
}

/* One route: each figure's series through the test, the changes stored. */
static int scan_route(store *s, store_dim d, const char *name, const char *from_hour,
                      const char *to_hour, double now, pl_route_change_fn on_new, void *user,
                      pl_routes_stats *st, char *why, size_t n)
{
    rows rs = {0};
    if (store_route_hours(s, d, name, from_hour, to_hour, take_row, &rs) != 0) {
        free(rs.r), free(rs.hour);
        snprintf(why, n, "reading route %s %s: %s", store_dim_name(d), name, store_errmsg(s));
        return -1;
    }
    int rc = 0;
    fl_bin *bins = rs.n ? malloc(rs.n * sizeof(*bins)) : NULL;
    char(*hours)[16] = rs.n ? malloc(rs.n * sizeof(*hours)) : NULL;
    if (rs.n && (!bins || !hours)) {
        snprintf(why, n, "out of memory");
        rc = -1;
    }
    st->routes++;
    for (int f = 0; rc == 0 && f < N_FIGS && rs.n; f++) {
        /* the hours with values, strictly increasing (two local hours of one UTC hour, at a
         * change of the clock, are one bin) */
        size_t nb = 0;
        for (size_t i = 0; i < rs.n; i++) {
            fl_bin b = bin_of(&rs.r[i], (fig)f);
            if (b.n <= 0)
                continue;
            if (nb && b.t <= bins[nb - 1].t) {
                bins[nb - 1].n += b.n, bins[nb - 1].sum += b.sum, bins[nb - 1].sumsq += b.sumsq;
                continue;
            }
            snprintf(hours[nb], 16, "%s", rs.hour[i]);
            bins[nb++] = b;
        }
        if (nb == 0)
            continue;
        fl_params p = fl_params_default(k_figs[f].kind);
        fl_change ch[64];
        size_t nc = 0;
        char fw[200];
        if (fl_detect(&p, bins, nb, ch, 64, &nc, fw, sizeof(fw)) != 0) {
            snprintf(why, n, "route %s %s, %s: %s", store_dim_name(d), name, k_figs[f].name, fw);
            rc = -1;
            break;
        }
        st->series++;
        for (size_t k = 0; k < nc && k < 64; k++) {
            store_route_change c;
            memset(&c, 0, sizeof(c));
            c.dim = d;
            snprintf(c.name, sizeof(c.name), "%s", name);
            snprintf(c.figure, sizeof(c.figure), "%s", k_figs[f].name);
            c.t_start = ch[k].t_start;
            c.t_found = ch[k].t_found;
            c.before = ch[k].before * k_figs[f].scale;
            c.after = ch[k].after * k_figs[f].scale;
            c.calls = ch[k].calls;
            snprintf(c.direction, sizeof(c.direction), "%s",
                     ch[k].direction == k_figs[f].worse ? "worse" : "better");
            snprintf(c.method, sizeof(c.method), "%s", fl_method(k_figs[f].kind));
            c.found = now;
            /* the calls that show it: the worst of the hours from its start to when it was
             * found */
            snprintf(c.examples, sizeof(c.examples), "[]");
            if (k_figs[f].examples) {
                char h0[16], h1[16];
                snprintf(h0, sizeof(h0), "%s", hour_at(hours, bins, nb, c.t_start));
                snprintf(h1, sizeof(h1), "%s", hour_at(hours, bins, nb, c.t_found));
                char ids[PL_ROUTES_EXAMPLES][65];
                int ne = 0;
                if (store_route_examples(s, d, name, k_figs[f].examples, h0, h1, ids,
                                         PL_ROUTES_EXAMPLES, &ne) != 0) {
                    snprintf(why, n, "route %s %s: its calls: %s", store_dim_name(d), name,
                             store_errmsg(s));
                    rc = -1;
                    break;
                }
                json_t *arr = json_array();
                for (int e = 0; arr && e < ne; e++)
                    json_array_append_new(arr, json_string(ids[e]));
                /* the worst first, as many as fit the column */
                char *txt = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
                while (txt && strlen(txt) >= sizeof(c.examples) && json_array_size(arr)) {
                    free(txt);
                    json_array_remove(arr, json_array_size(arr) - 1);
                    txt = json_dumps(arr, JSON_COMPACT);
                }
                snprintf(c.examples, sizeof(c.examples), "%s", txt ? txt : "[]");
                free(txt);
                json_decref(arr);
            }
            int put = store_route_change_put(s, &c);
            if (put < 0) {
                snprintf(why, n, "storing a change of route %s %s: %s", store_dim_name(d), name,
                         store_errmsg(s));
                rc = -1;
                break;
            }
            st->changes++;
            st->new_changes += put;
            if (put && on_new)
                on_new(user, &c);
        }
    }
    free(bins);
    free(hours);
    free(rs.r);
    free(rs.hour);
    return rc;
}

int pl_routes_scan(store *s, double now, pl_route_change_fn on_new, void *user, pl_routes_stats *st,
                   char *why, size_t n)
{
    memset(st, 0, sizeof(*st));
    if (n)
        why[0] = 0;
    /* the hours of the history, in the store's local hours (a day's margin either side) */
    time_t t0 = (time_t)(now - PL_ROUTES_HISTORY_DAYS * 86400.0), t1 = (time_t)(now + 86400);
    struct tm a, b;
    gmtime_r(&t0, &a);
    gmtime_r(&t1, &b);
    char from_day[16], from_hour[16], to_hour[16];
    strftime(from_day, sizeof(from_day), "%Y-%m-%d", &a);
    strftime(from_hour, sizeof(from_hour), "%Y-%m-%d %H", &a);
    strftime(to_hour, sizeof(to_hour), "%Y-%m-%d %H", &b);
    for (int d = 0; d < STORE_DIM_N; d++) {
        names ns = {0};
        if (store_route_names(s, (store_dim)d, from_day, take_name, &ns) != 0) {
            free(ns.v);
            snprintf(why, n, "reading the routes: %s", store_errmsg(s));
            return -1;
        }
        int rc = 0;
        for (int i = 0; rc == 0 && i < ns.n; i++)
            rc = scan_route(s, (store_dim)d, ns.v[i], from_hour, to_hour, now, on_new, user, st,
                            why, n);
        free(ns.v);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* pl_service.h */
json_t *pl_route_change_object(const store_route_change *c)
{
    char t0[32], t1[32];
    time_t a = (time_t)c->t_start, b = (time_t)c->t_found;
    struct tm ta, tb;
    gmtime_r(&a, &ta);
    gmtime_r(&b, &tb);
    strftime(t0, sizeof(t0), "%Y-%m-%dT%H:%M:%SZ", &ta);
    strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%SZ", &tb);
    json_t *ex = json_loads(c->examples[0] ? c->examples : "[]", 0, NULL);
    return json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:f,s:I,s:s,s:o}", "figure", c->figure, "direction",
                     c->direction, "since", t0, "found", t1, "before",
                     round(c->before * 1000) / 1000, "after", round(c->after * 1000) / 1000, "size",
                     round((c->after - c->before) * 1000) / 1000, "calls", (json_int_t)c->calls,
                     "method", c->method, "examples", json_is_array(ex) ? ex : json_array());
}

char *pl_route_change_json(const store_route_change *c)
{
    json_t *o = pl_route_change_object(c);
    if (o) {
        json_object_set_new(o, "event", json_string("route_change"));
        json_object_set_new(o, "dim", json_string(store_dim_name(c->dim)));
        json_object_set_new(o, "name", json_string(c->name));
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    return s;
}
