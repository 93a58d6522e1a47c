/*
 * svc_qa_routes.c - GET /api/qa/routes and GET /api/qa/route/{id} (docs/routes.md): the routes
 * of a dimension ranked by what got worse, and one route's figures over time with its changes,
 * its hang-up causes and its worst calls. Read from the store's roll-ups (route_daily,
 * route_hourly, route_causes, route_changes), never from the calls.
 *
 * A route spans agents and campaigns: the routes are for callers who see every call (a scope
 * limited to agents or campaigns is refused, as the leaderboard's).
 *
 * What "got worse" means: for each figure, the window's level against the window of the same
 * length before it, in standard errors of the difference (each side's per-call variance over its
 * calls, from the roll-ups' sums of squares), in the figure's worse direction; a figure with
 * fewer than ROUTES_MIN_N values on either side is not judged. A route ranks by the changes found
 * in the worse direction during the window, then by its largest worsening.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc_qa.h"
#include "../store/store_routes.h"

#define ROUTES_MIN_N 30
#define ROUTES_MAX 1000 /* routes of one dimension answered at most */

/* The figures of a roll-up row: name, kind, which way is worse, its fields. */
typedef enum { K_MEAN, K_RATE } fig_kind;
typedef struct figdef {
    const char *name, *unit, *model;
    fig_kind k;
    int worse; /* +1 up is worse, -1 down */
} figdef;

static const figdef k_figs[] = {
    {"mos", "MOS", "NISQA v2", K_MEAN, -1},
    {"dnsmos", "MOS", "DNSMOS P.835 OVRL", K_MEAN, -1},
    {"net_mos", "MOS", "ITU-T G.107 E-model", K_MEAN, -1},
    {"loss", "%", NULL, K_MEAN, +1},
    {"jitter", "ms", NULL, K_MEAN, +1},
    {"pdd", "ms", NULL, K_MEAN, +1},
    {"one_way", "% of calls", NULL, K_RATE, +1},
    {"dead_air", "% of calls", NULL, K_RATE, +1},
    {"dropouts", "per minute of speech", NULL, K_MEAN, +1},
    {"clipping", "% of calls", NULL, K_RATE, +1},
    {"score", "points", NULL, K_MEAN, -1},
    {"answered", "% of attempts", NULL, K_RATE, -1},
    {"dial", "s", NULL, K_MEAN, +1},
};
#define N_FIGS (int)(sizeof(k_figs) / sizeof(k_figs[0]))

/* Figure i of a row: n, sum, sum of squares (a rate's sum of squares is its sum). */
static void fig_of(const store_route_figs *f, int i, double *n, double *sum, double *sq)
{
    *n = *sum = *sq = 0;
#define M(x) *n = (double)f->x##_n, *sum = f->x##_sum, *sq = f->x##_sq
#define R(x, nn) *n = (double)f->nn, *sum = *sq = (double)f->x
    switch (i) {
    case 0: M(mos); break;
    case 1: M(dnsmos); break;
    case 2: M(net_mos); break;
    case 3: M(loss); break;
    case 4: M(jitter); break;
    case 5: M(pdd); break;
    case 6: R(one_way, one_way_n); break;
    case 7: R(dead_air, dead_air_n); break;
    case 8: M(dropouts); break;
    case 9: R(clipping, clipping_n); break;
    case 10: M(score); break;
    case 11:
        if (f->has_attempts)
            R(answered, attempts);
        break;
    case 12:
        if (f->has_attempts)
            M(dial);
        break;
    default: break;
    }
#undef M
#undef R
}

static double rounded(double v, int digits)
{
    double p = pow(10, digits);
    return round(v * p) / p;
}

/* {value, n} (a rate in %), or null without values; a MOS names its model. */
static json_t *fig_json(const store_route_figs *f, int i)
{
    double n, sum, sq;
    fig_of(f, i, &n, &sum, &sq);
    if (n <= 0)
        return json_null();
    double v = sum / n * (k_figs[i].k == K_RATE ? 100 : 1);
    json_t *o = json_pack("{s:f,s:I}", "value", rounded(v, 3), "n", (json_int_t)n);
    if (k_figs[i].model)
        json_object_set_new(o, "model", json_string(k_figs[i].model));
    return o;
}

static json_t *figs_json(const store_route_figs *f)
{
    json_t *o = json_pack("{s:I,s:I,s:o}", "calls", (json_int_t)f->calls, "analysed",
                          (json_int_t)f->analysed, "attempts",
                          f->has_attempts ? json_integer(f->attempts) : json_null());
    for (int i = 0; i < N_FIGS; i++)
        json_object_set_new(o, k_figs[i].name, fig_json(f, i));
    return o;
}

/* How much worse figure i is in cur than in prev, in standard errors (0 when not judged). */
static double worsening(const store_route_figs *cur, const store_route_figs *prev, int i,
                        double *from, double *to)
{
    double n1, s1, q1, n0, s0, q0;
    fig_of(cur, i, &n1, &s1, &q1);
    fig_of(prev, i, &n0, &s0, &q0);
    if (n1 < ROUTES_MIN_N || n0 < ROUTES_MIN_N)
        return 0;
    double m1 = s1 / n1, m0 = s0 / n0;
    double v1 = q1 / n1 - m1 * m1, v0 = q0 / n0 - m0 * m0;
    if (v1 < 0)
        v1 = 0;
    if (v0 < 0)
        v0 = 0;
    double se = sqrt(v1 / n1 + v0 / n0);
    double scale = k_figs[i].k == K_RATE ? 100 : 1;
    *from = m0 * scale;
    *to = m1 * scale;
    if (se <= 0)
        return 0;
    return (m1 - m0) * k_figs[i].worse / se;
}

/* ---- the routes of a dimension ------------------------------------------------------------- */

typedef struct route_acc {
    char name[65];
    store_route_figs cur, prev;
    bool has_cur, has_prev;
    json_t *changes;
    int worse_changes;
    double worst_z;
} route_acc;

typedef struct routes_acc {
    route_acc *r;
    int n, cap;
    bool prev; /* filling the previous window */
    bool full;
} routes_acc;

static route_acc *route_find(routes_acc *a, const char *name, bool add)
{
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->r[i].name, name))
            return &a->r[i];
    if (!add)
        return NULL;
    if (a->n == ROUTES_MAX) {
        a->full = true;
        return NULL;
    }
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 32;
        route_acc *r = realloc(a->r, (size_t)cap * sizeof(*r));
        if (!r)
            return NULL;
        a->r = r;
        a->cap = cap;
    }
    route_acc *r = &a->r[a->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->changes = json_array();
    return r;
}

static int take_total(void *user, const char *name, const char *key, const store_route_figs *f)
{
    (void)key;
    routes_acc *a = user;
    route_acc *r = route_find(a, name, !a->prev);
    if (!r)
        return a->full || a->prev ? 0 : -1;
    if (a->prev) {
        r->prev = *f;
        r->has_prev = true;
    } else {
        r->cur = *f;
        r->has_cur = true;
    }
    return 0;
}

typedef struct changes_acc {
    routes_acc *routes; /* the list's (each change into its route), or NULL */
    json_t *arr;        /* one route's */
} changes_acc;

static int take_change(void *user, const store_route_change *c)
{
    changes_acc *a = user;
    if (a->arr) {
        json_array_append_new(a->arr, pl_route_change_object(c));
        return 0;
    }
    route_acc *r = route_find(a->routes, c->name, false);
    if (!r)
        return 0; /* a route with no calls in the window: its change is older news */
    json_array_append_new(r->changes, pl_route_change_object(c));
    r->worse_changes += !strcmp(c->direction, "worse");
    return 0;
}

static int rank_cmp(const void *x, const void *y)
{
    const route_acc *a = x, *b = y;
    if (a->worse_changes != b->worse_changes)
        return b->worse_changes - a->worse_changes;
    if (a->worst_z != b->worst_z)
        return a->worst_z < b->worst_z ? 1 : -1;
    if (a->cur.calls != b->cur.calls)
        return a->cur.calls < b->cur.calls ? 1 : -1;
    return strcmp(a->name, b->name);
}

/* 'dim' (default carrier): 0, or -1 with a 400 answer set. */
static int dim_arg(req *r, store_dim *d)
{
    const char *v = svc_qa_arg(r, "dim");
    *d = STORE_DIM_CARRIER;
    if (v && store_dim_parse(v, d) != 0) {
        svc_answer_error(r, 400, "bad_argument", "dim must be carrier, trunk, server or campaign");
        return -1;
    }
    return 0;
}

static void routes_free(routes_acc *a)
{
    for (int i = 0; i < a->n; i++)
        json_decref(a->r[i].changes);
    free(a->r);
}

enum MHD_Result svc_qa_routes(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    store_dim d;
    long days;
    if (dim_arg(r, &d) || svc_qa_int_arg(r, "days", 7, 1, 90, &days))
        return svc_send(r);
    char from[11], to[11], pfrom[11], pto[11];
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    svc_qa_day_back((int)(2 * days) - 1, pfrom);
    svc_qa_day_back((int)days, pto);
    routes_acc a = {0};
    int rc = store_routes_days(r->s->store, d, "", from, to, false, take_total, &a);
    a.prev = true;
    if (rc == 0)
        rc = store_routes_days(r->s->store, d, "", pfrom, pto, false, take_total, &a);
    changes_acc ca = {.routes = &a};
    double since = (double)time(NULL) - (double)days * 86400;
    if (rc == 0)
        rc = store_route_changes(r->s->store, d, "", since, 5000, take_change, &ca);
    if (rc != 0) {
        routes_free(&a);
        return svc_qa_store_failed(r);
    }
    json_t *list = json_array();
    for (int i = 0; i < a.n; i++) {
        route_acc *x = &a.r[i];
        for (int f = 0; f < N_FIGS && x->has_prev; f++) {
            double f0 = 0, f1 = 0, z = worsening(&x->cur, &x->prev, f, &f0, &f1);
            if (z > x->worst_z)
                x->worst_z = z;
        }
    }
    if (a.n > 1)
        qsort(a.r, (size_t)a.n, sizeof(*a.r), rank_cmp);
    for (int i = 0; i < a.n; i++) {
        route_acc *x = &a.r[i];
        json_t *worse = json_array();
        for (int f = 0; f < N_FIGS; f++) {
            double f0 = 0, f1 = 0;
            double z = x->has_prev ? worsening(&x->cur, &x->prev, f, &f0, &f1) : 0;
            if (z >= 3)
                json_array_append_new(worse, json_pack("{s:s,s:f,s:f,s:f}", "figure",
                                                       k_figs[f].name, "before", rounded(f0, 3),
                                                       "now", rounded(f1, 3), "z", rounded(z, 1)));
        }
        json_array_append_new(list, json_pack("{s:s,s:o,s:o,s:o,s:O,s:i}", "name", x->name,
                                              "figures", figs_json(&x->cur), "previous",
                                              x->has_prev ? figs_json(&x->prev) : json_null(),
                                              "worse", worse, "changes", x->changes,
                                              "worse_changes", x->worse_changes));
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:b,s:i}", "dim", store_dim_name(d), "from",
                          from, "to", to, "previous_from", pfrom, "previous_to", pto, "routes",
                          list, "truncated", a.full, "min_n", ROUTES_MIN_N);
    routes_free(&a);
    return svc_qa_send(r, 200, o);
}

/* ---- one route ----------------------------------------------------------------------------- */

static int take_row(void *user, const char *name, const char *key, const store_route_figs *f)
{
    (void)name;
    json_t *o = figs_json(f);
    json_object_set_new(o, strlen(key) > 10 ? "hour" : "day", json_string(key));
    if (strlen(key) > 10)
        json_object_set_new(o, "t", json_integer((json_int_t)f->t));
    json_array_append_new(user, o);
    return 0;
}

static int take_cause(void *user, const char *kind, const char *cause, int64_t n)
{
    json_array_append_new(
        user, json_pack("{s:s,s:s,s:I}", "kind", kind, "cause", cause, "n", (json_int_t)n));
    return 0;
}

enum MHD_Result svc_qa_route(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    /* {id}: DIM:NAME (a dimension has no ':'; a name may) */
    const char *id = r->param ? r->param : "";
    const char *colon = strchr(id, ':');
    char dim[16];
    store_dim d;
    if (!colon || (size_t)(colon - id) >= sizeof(dim) || !colon[1] || strlen(colon + 1) > 64) {
        svc_answer_error(r, 400, "bad_argument",
                         "the route is DIM:NAME (carrier:NAME, trunk:ADDRESS, server:IP, "
                         "campaign:ID)");
        return svc_send(r);
    }
    snprintf(dim, sizeof(dim), "%.*s", (int)(colon - id), id);
    if (store_dim_parse(dim, &d) != 0) {
        svc_answer_error(r, 400, "bad_argument", "dim must be carrier, trunk, server or campaign");
        return svc_send(r);
    }
    const char *name = colon + 1;
    long days;
    if (svc_qa_int_arg(r, "days", 30, 1, 400, &days))
        return svc_send(r);
    char from[11], to[11], hfrom[16], hto[16];
    svc_qa_day_back((int)days - 1, from);
    svc_qa_day_back(0, to);
    /* the hours of the last 14 days at most (336 points) */
    char hday[11];
    svc_qa_day_back(days < 14 ? (int)days - 1 : 13, hday);
    snprintf(hfrom, sizeof(hfrom), "%s 00", hday);
    snprintf(hto, sizeof(hto), "%s 23", to);
    json_t *dayrows = json_array(), *hours = json_array(), *causes = json_array(),
           *changes = json_array();
    store *s = r->s->store;
    changes_acc ca = {.arr = changes};
    int rc = store_routes_days(s, d, name, from, to, true, take_row, dayrows);
    if (rc == 0)
        rc = store_route_hours(s, d, name, hfrom, hto, take_row, hours);
    if (rc == 0)
        rc = store_route_causes(s, d, name, from, to, take_cause, causes);
    if (rc == 0)
        rc = store_route_changes(s, d, name, 0, 200, take_change, &ca);
    /* the worst calls of its last day, by the figures a listener hears */
    json_t *worst = json_object();
    static const char *const k_worst[] = {"mos", "loss", "one_way", "dead_air"};
    char d0[16], d1[16];
    snprintf(d0, sizeof(d0), "%s 00", to);
    snprintf(d1, sizeof(d1), "%s 23", to);
    for (size_t k = 0; rc == 0 && k < sizeof(k_worst) / sizeof(k_worst[0]); k++) {
        char ids[5][65];
        int ne = 0;
        rc = store_route_examples(s, d, name, k_worst[k], d0, d1, ids, 5, &ne);
        json_t *arr = json_array();
        for (int e = 0; e < ne; e++)
            json_array_append_new(arr, json_string(ids[e]));
        json_object_set_new(worst, k_worst[k], arr);
    }
    if (rc != 0) {
        json_decref(dayrows), json_decref(hours), json_decref(causes), json_decref(changes);
        json_decref(worst);
        return svc_qa_store_failed(r);
    }
    if (!json_array_size(dayrows) && !json_array_size(changes)) {
        json_decref(dayrows), json_decref(hours), json_decref(causes), json_decref(changes);
        json_decref(worst);
        svc_answer_error(r, 404, "not_found", "no route %.16s:%.64s in the last %ld days", dim,
                         name, days);
        return svc_send(r);
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "dim", store_dim_name(d), "name",
                          name, "from", from, "to", to, "days", dayrows, "hours", hours, "causes",
                          causes, "changes", changes, "worst_calls", worst);
    return svc_qa_send(r, 200, o);
}
