/*
 * stage_report.c - what the stages write into the report with, and the report's renderers use
 * too: numbers and spans as JSON, the legs of a report, warnings, the rows of the text report,
 * the names of roles and severities, and the clearing of warnings and findings. In the stages'
 * room, so that the stages call nothing above them: the engine (engine.c, report.c) runs the
 * stage table and frames the report over these.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/callqa.h"
#include "stage.h"

/* ---- helpers ------------------------------------------------------------------------------- */

json_t *cq__jnum(double v, int decimals)
{
    if (!isfinite(v))
        return json_null();
    double m = pow(10.0, decimals);
    double r = round(v * m) / m;
    if (r == 0)
        r = 0; /* no "-0" */
    return json_real(r);
}

json_t *cq__jnum_or_null(bool has, double v, int decimals)
{
    return has ? cq__jnum(v, decimals) : json_null();
}

json_t *cq__jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *cq__jspan_to(double start_sec, double end_sec, int decimals)
{
    json_t *o = json_object();
    json_object_set_new(o, "start", cq__jnum(start_sec, decimals));
    json_object_set_new(o, "end", cq__jnum(end_sec, decimals));
    return o;
}

json_t *cq__jspan(double start_sec, double end_sec)
{
    return cq__jspan_to(start_sec, end_sec, 3);
}

const char *cq__leg_name(int leg)
{
    return leg ? "outbound" : "inbound";
}

int cq__report_legs(const cq_report *r, const cq_leg_report *L[2])
{
    L[0] = r->inbound;
    L[1] = r->outbound;
    return r->outbound ? 2 : 1;
}

int cq__warn(cq_report *r, const char *code, const cq_value *values, size_t n_values,
             const char *fmt, ...)
{
    cq_warning w = {.code = code};
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    if (len >= 0 && (w.message = cq__malloc((size_t)len + 1)))
        vsnprintf(w.message, (size_t)len + 1, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    int rc = w.message ? CQ_OK : CQ_ERR_NOMEM;
    if (rc == CQ_OK && n_values && !(w.values = cq__calloc(n_values, sizeof(cq_value))))
        rc = CQ_ERR_NOMEM;
    for (size_t i = 0; rc == CQ_OK && i < n_values; i++) {
        w.values[w.n_values] = values[i];
        w.values[w.n_values].str = NULL;
        if (values[i].type == CQ_VAL_STRING &&
            !(w.values[w.n_values].str = cq__strdup(values[i].str)))
            rc = CQ_ERR_NOMEM;
        else
            w.n_values++;
    }
    cq_warning *nw =
        rc == CQ_OK ? cq__realloc(r->warnings, (r->n_warnings + 1) * sizeof(*nw)) : NULL;
    if (!nw) {
        cq_warning_clear(&w);
        return CQ_ERR_NOMEM;
    }
    r->warnings = nw;
    r->warnings[r->n_warnings++] = w;
    return CQ_OK;
}

const char *cq_role_name(cq_role r)
{
    static const char *const names[] = {"customer", "agent", "mixed"};
    return (unsigned)r < 3 ? names[r] : "unknown";
}

const char *cq_severity_name(cq_severity s)
{
    static const char *const names[] = {"info", "minor", "major", "critical"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

static void values_clear(cq_value *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (v[i].type == CQ_VAL_STRING)
            cq__free(v[i].str);
    cq__free(v);
}

void cq_warning_clear(cq_warning *w)
{
    if (!w)
        return;
    cq__free(w->message);
    values_clear(w->values, w->n_values);
    memset(w, 0, sizeof(*w));
}

void cq_finding_clear(cq_finding *f)
{
    if (!f)
        return;
    cq__free(f->message);
    values_clear(f->values, f->n_values);
    for (size_t i = 0; i < f->n_evidence; i++) {
        cq__free(f->evidence[i].quote);
        cq__free(f->evidence[i].figure);
    }
    cq__free(f->evidence);
    memset(f, 0, sizeof(*f));
}

/* ---- text ---------------------------------------------------------------------------------- */

void cq__text_row(cq__text *t, const char *label, const char *cell[2])
{
    if (t->n_legs == 2)
        cq__sb_printf(t->b, "  %-26s %-22s %s\n", label, cell[0], cell[1]);
    else
        cq__sb_printf(t->b, "  %-26s %s\n", label, cell[0]);
}

void cq__text_leg_rows(const cq_report *r, cq__text *t, unsigned bit, const char *const rows[],
                       void (*cells)(const cq_leg_report *l, char c[][CQ__TEXT_CELL]))
{
    if (!(r->analyzers & bit))
        return;
    const cq_leg_report *L[2];
    int n = cq__report_legs(r, L);
    char c[2][CQ__TEXT_ROWS][CQ__TEXT_CELL] = {{{0}}};
    for (int i = 0; i < n; i++)
        cells(L[i], c[i]);
    for (int k = 0; k < CQ__TEXT_ROWS && rows[k]; k++)
        cq__text_row(t, rows[k], (const char *[2]){c[0][k], c[1][k]});
}
