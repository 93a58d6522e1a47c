/*
 * svc_envelope.c - GET /api/qa/call/{id}/envelope: a call's level envelope, for the dashboard's
 * timeline (docs/service.md). The QA worker stores it beside the analysis (call_envelopes: each
 * leg's RMS level every 50 ms, in tenths of a dB FS); a long call is decimated here to at most
 * `points` values per leg, each the largest of an equal run of steps, so that a short loud
 * moment survives the zoom-out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_qa.h"
#include "../store/store.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"

#define POINTS_DEFAULT 2000
#define POINTS_MIN 100
#define POINTS_MAX 20000

/* What SQ_CALL says of the call. */
typedef struct call_row {
    bool found;
    int64_t call_id;
    char recording_id[256];
    bool has_duration;
    double duration_sec;
} call_row;

static int take_call(void *user, const store_val *c, int n)
{
    call_row *cr = user;
    for (int i = 0; i < n; i++) {
        if (!strcmp(c[i].name, "call_id") && c[i].t == SV_INT) {
            cr->call_id = c[i].i;
            cr->found = true;
        } else if (!strcmp(c[i].name, "recording_id") && c[i].t == SV_TEXT) {
            snprintf(cr->recording_id, sizeof(cr->recording_id), "%s", c[i].s);
        } else if (!strcmp(c[i].name, "duration_sec") && (c[i].t == SV_REAL || c[i].t == SV_INT)) {
            cr->duration_sec = c[i].t == SV_REAL ? c[i].d : (double)c[i].i;
            cr->has_duration = true;
        }
    }
    return 1; /* the first row is the call */
}

/* One leg's values, every `per` steps' largest, as dBFS with 0.1 dB. */
static json_t *decimated(const json_t *tenths, size_t per)
{
    json_t *out = json_array();
    size_t n = json_array_size(tenths);
    for (size_t i = 0; i < n; i += per) {
        json_int_t best = json_integer_value(json_array_get(tenths, i));
        for (size_t k = i + 1; k < i + per && k < n; k++) {
            json_int_t v = json_integer_value(json_array_get(tenths, k));
            if (v > best)
                best = v;
        }
        json_array_append_new(out, json_real((double)best / 10.0));
    }
    return out;
}

static enum MHD_Result answer_json(req *r, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    svc_answer(r, s ? 200 : 500, s, "application/json");
    return svc_send(r);
}

enum MHD_Result svc_qa_envelope(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long points = POINTS_DEFAULT;
    const char *pv = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "points");
    if (pv) {
        char *end;
        errno = 0;
        points = strtol(pv, &end, 10);
        if (errno || end == pv || *end || points < POINTS_MIN || points > POINTS_MAX) {
            svc_answer_error(r, 400, "bad_argument", "points must be an integer from %d to %d",
                             POINTS_MIN, POINTS_MAX);
            return svc_send(r);
        }
    }
    store *st = r->s->store;
    call_row cr = {0};
    store_val p[1] = {SV_S(r->param)};
    if (store_query(st, SQ_CALL, p, 1, take_call, &cr) != 0)
        goto store_failed;
    if (!cr.found) {
        svc_answer_error(r, 404, "not_found", "no call with recording_id or uniqueid %.64s",
                         r->param);
        return svc_send(r);
    }
    store_envelope env;
    int got = store_envelope_get(st, cr.call_id, &env);
    if (got < 0)
        goto store_failed;
    if (!got) {
        svc_answer_error(r, 404, "no_envelope",
                         "call %.64s has no level envelope: it is not analysed yet, or was "
                         "analysed before level envelopes were kept (queue it again to get one)",
                         r->param);
        return svc_send(r);
    }
    json_error_t je;
    json_t *legs = json_loads(env.legs, 0, &je);
    free(env.legs);
    if (!json_is_object(legs) || !(env.step_sec > 0)) {
        json_decref(legs);
        svc_answer_error(r, 500, "store", "the stored level envelope of call %lld is damaged",
                         (long long)cr.call_id);
        return svc_send(r);
    }
    /* one bucket size for every leg, so that they share the time axis */
    size_t longest = 0;
    const char *name;
    json_t *vals;
    json_object_foreach(legs, name, vals) if (json_array_size(vals) > longest) longest =
        json_array_size(vals);
    size_t per = longest > (size_t)points ? (longest + (size_t)points - 1) / (size_t)points : 1;
    json_t *out_legs = json_object();
    json_object_foreach(legs, name, vals) json_object_set_new(out_legs, name, decimated(vals, per));
    json_decref(legs);
    json_t *o = json_object();
    json_object_set_new(o, "call_id", json_integer((json_int_t)cr.call_id));
    json_object_set_new(o, "recording_id", svc_json_text(cr.recording_id));
    json_object_set_new(o, "duration_sec",
                        cr.has_duration && isfinite(cr.duration_sec)
                            ? json_real(round(cr.duration_sec * 1e6) / 1e6)
                            : json_null());
    json_object_set_new(o, "source_step_sec", json_real(env.step_sec));
    json_object_set_new(o, "step_sec", json_real(round(env.step_sec * (double)per * 1e6) / 1e6));
    json_object_set_new(o, "legs", out_legs);
    return answer_json(r, o);

store_failed:
    svc_answer_error(r, 500, "store", "the store could not answer: %s", store_errmsg(st));
    return svc_send(r);
}
