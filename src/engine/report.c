/*
 * report.c - the report's frame: what every call has (its name, layout, format, warnings, the
 * engine), rendered as JSON (jansson) or readable text, with each stage rendering its own
 * fields (src/stages/); freeing a report. The helpers the stages' renderers share are theirs
 * (src/stages/stage_report.c), below the engine.
 *
 * The JSON keeps the old service's fields and shapes (file, duration, has_legs, inbound,
 * outbound, one_way_audio, one_way_direction, nisqa, analysis_time_sec, per-leg rms_db, peak_db,
 * speech_pct, silence{}, speech_segments), in its order, and adds ours. Values of stages that did
 * not run are null. docs/report.md documents every field; a test keeps the two in step.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/base_int.h"
#include "../stages/stage.h"
#include "callqa/callqa.h"

/* ---- freeing ------------------------------------------------------------------------------- */

static void leg_free(cq_leg_report *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->free_leg)
            cq__stage_at(i)->free_leg(l);
    cq__free(l->source);
    cq__free(l);
}

void cq_report_destroy(cq_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < cq__stage_count(); i++) {
        const cq__stage *s = cq__stage_at(i);
        if (s->model)
            cq__stage_model_free_call(r, s->model);
        if (s->free_call)
            s->free_call(r);
    }
    leg_free(r->inbound);
    leg_free(r->outbound);
    for (size_t i = 0; i < r->n_warnings; i++)
        cq_warning_clear(&r->warnings[i]);
    cq__free(r->warnings);
    cq__free(r->file);
    cq__free(r);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* {key: value, ...}; a null value stays null */
static json_t *values_json(const cq_value *v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *x;
        switch (v[i].type) {
        case CQ_VAL_NUMBER: x = cq__jnum(v[i].num, v[i].decimals); break;
        case CQ_VAL_INT: x = json_integer((json_int_t)v[i].i); break;
        case CQ_VAL_BOOL: x = json_boolean(v[i].i); break;
        case CQ_VAL_STRING: x = v[i].str ? json_string(v[i].str) : json_null(); break;
        default: x = json_null(); break;
        }
        json_object_set_new(o, v[i].key, x);
    }
    return o;
}

static json_t *warnings_json(const cq_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_warnings; i++) {
        const cq_warning *w = &r->warnings[i];
        json_t *o = json_object();
        json_object_set_new(o, "code", json_string(w->code));
        json_object_set_new(o, "message", json_string(w->message));
        json_object_set_new(o, "values", values_json(w->values, w->n_values));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *finding_json(const cq_finding *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(f->code));
    json_object_set_new(o, "severity", json_string(cq_severity_name(f->severity)));
    json_object_set_new(o, "message", f->message ? json_string(f->message) : json_null());
    json_object_set_new(o, "values", values_json(f->values, f->n_values));
    json_t *ev = json_array();
    for (size_t i = 0; i < f->n_evidence; i++) {
        const cq_finding_evidence *e = &f->evidence[i];
        bool timed = e->start_sec >= 0 && e->end_sec >= 0;
        json_t *eo = json_object();
        json_object_set_new(eo, "start", cq__jnum_or_null(timed, e->start_sec, 3));
        json_object_set_new(eo, "end", cq__jnum_or_null(timed, e->end_sec, 3));
        json_object_set_new(eo, "role", e->role ? json_string(e->role) : json_null());
        json_object_set_new(eo, "quote", e->quote ? json_string(e->quote) : json_null());
        json_object_set_new(eo, "figure", e->figure ? json_string(e->figure) : json_null());
        json_array_append_new(ev, eo);
    }
    json_object_set_new(o, "evidence", ev);
    return o;
}

/* A JSON value as one line from our own allocation funnel. */
static char *dump(json_t *o)
{
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!s)
        return NULL;
    char *copy = cq__strdup(s);
    free(s);
    return copy;
}

char *cq_findings_to_json(const cq_finding *f, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, finding_json(&f[i]));
    return dump(a);
}

static json_t *leg_json(const cq_report *r, const cq_leg_report *l, int leg)
{
    json_t *o = json_object();
    /* the old service's fields first, in its order (the stages fill them in place) */
    static const char *const first[] = {"rms_db", "peak_db", "speech_pct", "silence",
                                        "speech_segments"};
    for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
        json_object_set_new(o, first[i], json_null());
    json_object_set_new(o, "duration", cq__jnum(l->duration_sec, 6));
    json_object_set_new(o, "source", json_string(l->source));
    json_object_set_new(o, "channel", json_integer(l->channel));
    json_object_set_new(o, "role", json_string(cq_role_name(l->role)));
    json_object_set_new(o, "sample_rate", json_integer(l->format.sample_rate_hz));
    json_object_set_new(o, "samples", json_integer((json_int_t)l->frames));
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->json_leg)
            cq__stage_at(i)->json_leg(r, l, leg, o);
    return o;
}

static json_t *format_json(const cq_report *r)
{
    const cq_audio_info *f = &r->inbound->format;
    json_t *fmt = json_object();
    json_object_set_new(fmt, "layout", json_string(r->layout));
    json_object_set_new(fmt, "container", json_string(f->container));
    json_object_set_new(fmt, "encoding", json_string(f->encoding_name));
    json_object_set_new(fmt, "sample_rate", json_integer(f->sample_rate_hz));
    json_object_set_new(fmt, "channels", json_integer(f->channels));
    json_object_set_new(fmt, "bits_per_sample",
                        f->bits_per_sample ? json_integer(f->bits_per_sample) : json_null());
    json_object_set_new(fmt, "channel_map",
                        !strcmp(r->layout, "stereo")
                            ? json_string(r->channel_map == CQ_MAP_IN_OUT ? "in,out" : "out,in")
                            : json_null());
    json_object_set_new(fmt, "fake_stereo", json_boolean(r->fake_stereo));
    return fmt;
}

static json_t *engine_json(const cq_report *r)
{
    json_t *eng = json_object();
    json_object_set_new(eng, "version", json_string(cq_version()));
    json_t *an = json_array();
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (r->analyzers & cq__stage_at(i)->bit)
            json_array_append_new(an, json_string(cq__stage_at(i)->name));
    json_object_set_new(eng, "analyzers", an);
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->json_engine)
            cq__stage_at(i)->json_engine(r, eng);
    if (r->has_profile) { /* only when asked: wall times differ from run to run */
        json_t *p = json_object(), *st = json_object();
        json_object_set_new(p, "decode_sec", cq__jnum(r->profile_decode_sec, 6));
        json_object_set_new(p, "resample_sec", cq__jnum(r->profile_resample_sec, 6));
        for (size_t i = 0; i < cq__stage_count(); i++)
            if (r->analyzers & cq__stage_at(i)->bit)
                json_object_set_new(st, cq__stage_at(i)->name,
                                    cq__jnum(r->profile_stage_sec[i], 6));
        json_object_set_new(p, "stages_sec", st);
        json_object_set_new(eng, "profile", p);
    }
    return eng;
}

static json_t *report_json(const cq_report *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema_version", json_integer(CQ_REPORT_SCHEMA_VERSION));
    json_object_set_new(o, "file", json_string(r->file));
    json_object_set_new(o, "duration", cq__jnum(r->duration_sec, 6));
    json_object_set_new(o, "has_legs", json_boolean(r->has_legs));
    json_object_set_new(o, "inbound", leg_json(r, r->inbound, 0));
    json_object_set_new(o, "outbound", r->outbound ? leg_json(r, r->outbound, 1) : json_null());
    /* the old service's call-level fields, in its order (the stages fill them in place) */
    json_object_set_new(o, "one_way_audio", json_null());
    json_object_set_new(o, "one_way_direction", json_null());
    json_object_set_new(o, "nisqa", json_null());
    json_object_set_new(o, "analysis_time_sec", cq__jnum(r->analysis_time_sec, 6));
    json_object_set_new(o, "format", format_json(r));
    json_t *w = json_array();
    for (size_t i = 0; i < r->n_warnings; i++)
        json_array_append_new(w, json_string(r->warnings[i].message));
    json_object_set_new(o, "warnings", w);
    json_object_set_new(o, "warning_details", warnings_json(r));
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->json_call)
            cq__stage_at(i)->json_call(r, o);
    /* the call's route: the engine knows nothing of a dialer or a network, the QA pipeline fills
     * it from the stored call and its capture (docs/routes.md) */
    json_object_set_new(o, "route", json_null());
    json_object_set_new(o, "engine", engine_json(r));
    return o;
}

char *cq_report_to_json(const cq_report *r)
{
    return dump(report_json(r));
}

void cq_report_free_string(char *s)
{
    cq__free(s);
}

/* ---- text ---------------------------------------------------------------------------------- */

char *cq_report_to_text(const cq_report *r)
{
    cq__sb b = {0};
    const cq_audio_info *f = &r->inbound->format;
    cq__sb_printf(&b, "%s\n", r->file);
    cq__sb_printf(&b, "  %s %s, %d Hz, %s, %.2f s\n", f->container, f->encoding_name,
                  f->sample_rate_hz,
                  !strcmp(r->layout, "stereo")      ? "stereo (two legs)"
                  : !strcmp(r->layout, "leg_files") ? "separate leg files"
                                                    : "mono (mixed)",
                  r->duration_sec);
    if (!strcmp(r->layout, "stereo"))
        cq__sb_printf(&b, "  channel 1 = %s, channel 2 = %s\n",
                      r->channel_map == CQ_MAP_IN_OUT ? "inbound" : "outbound",
                      r->channel_map == CQ_MAP_IN_OUT ? "outbound" : "inbound");
    cq__sb_printf(&b, "\n");
    const cq_leg_report *L[2];
    cq__text t = {.b = &b, .n_legs = cq__report_legs(r, L)};
    if (t.n_legs == 2)
        cq__text_row(&t, "", (const char *[2]){"inbound (caller)", "outbound (agent)"});
    else
        cq__text_row(&t, "", (const char *[2]){"mixed (both parties)", ""});
    char c[2][64] = {{0}};
    for (int i = 0; i < t.n_legs; i++)
        snprintf(c[i], 64, "%.2f s", L[i]->duration_sec);
    cq__text_row(&t, "duration", (const char *[2]){c[0], c[1]});
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->text_rows)
            cq__stage_at(i)->text_rows(r, &t);
    if (r->n_warnings) {
        cq__sb_printf(&b, "\n  warnings:\n");
        for (size_t i = 0; i < r->n_warnings; i++)
            cq__sb_printf(&b, "    - %s\n", r->warnings[i].message);
    }
    for (size_t i = 0; i < cq__stage_count(); i++)
        if (cq__stage_at(i)->text_section)
            cq__stage_at(i)->text_section(r, &b);
    cq__sb_printf(&b, "  analysed in %.3f s (callqa %s)\n", r->analysis_time_sec, cq_version());
    return cq__sb_take(&b);
}
