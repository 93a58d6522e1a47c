/*
 * test_stage.c - a stage that exists only in the tests, to show that an analyzer is one entry in
 * the stage table (src/stages/stages.c, under CQ_TEST_STAGE): zero crossings of each leg at its
 * own rate. Built into the callqa_teststage library and CLI; tests/stages/test_stage_table.sh
 * checks that it then appears in --only, in the JSON and in the documentation check.
 */
#include "../../src/stages/stage.h"

#define CQ_AN_ZERO_CROSSINGS (1u << 15)

typedef struct zc_state {
    uint64_t crossings, samples;
    int rate_hz;
    bool negative; /* the sign of the last sample */
} zc_state;

typedef struct zc_result {
    uint64_t crossings;
    double per_sec;
} zc_result;

extern const cq__stage cq__stage_test;

static int create(void **st, const cq__stage_ctx *c)
{
    zc_state *z = cq__calloc(1, sizeof(*z));
    if (!z)
        return CQ_ERR_NOMEM;
    z->rate_hz = c->rate_hz;
    *st = z;
    return CQ_OK;
}

static int push(void *st, int leg, const float *x, size_t n, cq_report *r)
{
    (void)leg, (void)r;
    zc_state *z = st;
    for (size_t i = 0; i < n; i++) {
        bool neg = x[i] < 0;
        z->crossings += (z->samples + i > 0) && neg != z->negative;
        z->negative = neg;
    }
    z->samples += n;
    return CQ_OK;
}

static int finish(void *st, int leg, cq_report *r)
{
    zc_state *z = st;
    cq_leg_report *l = leg ? r->outbound : r->inbound;
    zc_result *res = cq__calloc(1, sizeof(*res));
    if (!res)
        return CQ_ERR_NOMEM;
    res->crossings = z->crossings;
    res->per_sec = z->samples ? (double)z->crossings * z->rate_hz / (double)z->samples : 0;
    l->stage_data[cq__stage_slot(&cq__stage_test)] = res;
    return CQ_OK;
}

static void destroy(void *st)
{
    cq__free(st);
}

static void free_leg(cq_leg_report *l)
{
    cq__free(l->stage_data[cq__stage_slot(&cq__stage_test)]);
}

static void json_leg(const cq_report *r, const cq_leg_report *l, int leg, json_t *o)
{
    (void)r, (void)leg;
    const zc_result *z = l->stage_data[cq__stage_slot(&cq__stage_test)];
    if (!z) {
        json_object_set_new(o, "zero_crossings", json_null());
        return;
    }
    json_t *zo = json_object();
    json_object_set_new(zo, "count", json_integer((json_int_t)z->crossings));
    json_object_set_new(zo, "per_sec", cq__jnum(z->per_sec, 3));
    json_object_set_new(o, "zero_crossings", zo);
}

static void text_rows(const cq_report *r, cq__text *t)
{
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    char c[2][64] = {{0}};
    for (int i = 0; i < n; i++) {
        const zc_result *z = L[i]->stage_data[cq__stage_slot(&cq__stage_test)];
        if (z)
            snprintf(c[i], 64, "%.0f per s", z->per_sec);
        else
            snprintf(c[i], 64, "-");
    }
    cq__text_row(t, "zero crossings", (const char *[2]){c[0], c[1]});
}

const cq__stage cq__stage_test = {
    .name = "zero_crossings",
    .bit = CQ_AN_ZERO_CROSSINGS,
    .stream = CQ__STREAM_NATIVE,
    .create = create,
    .push = push,
    .finish = finish,
    .destroy = destroy,
    .free_leg = free_leg,
    .json_leg = json_leg,
    .text_rows = text_rows,
};
