/*
 * sc_figures.c - what a score rests on (scoring.h): quotes and measured figures added to a
 * category's evidence, and the report's figures by name (docs/scoring.md).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_int.h"

/* ---- evidence ----------------------------------------------------------------------------- */

int sc_add_quote(sc_cat_result *r, const char *speaker, double start, double end, const char *quote)
{
    sc_quote *q = realloc(r->quotes, (r->n_quotes + 1) * sizeof(*q));
    if (!q)
        return -1;
    r->quotes = q;
    q = &r->quotes[r->n_quotes];
    memset(q, 0, sizeof(*q));
    snprintf(q->speaker, sizeof(q->speaker), "%s", speaker);
    q->start = start, q->end = end;
    if (!(q->quote = strdup(quote)))
        return -1;
    r->n_quotes++;
    return 0;
}

int sc_add_metric(sc_cat_result *r, const char *name, bool known, double value)
{
    sc_metric *m = realloc(r->metrics, (r->n_metrics + 1) * sizeof(*m));
    if (!m)
        return -1;
    r->metrics = m;
    m = &r->metrics[r->n_metrics++];
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->known = known;
    m->value = known ? value : 0;
    return 0;
}

/* ---- the report's figures ------------------------------------------------------------------- */

static int num(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return isfinite(*out) ? 1 : 0;
}

/* the conversation block of the agent's / the customer's leg; on a mono mix diarized into
 * speakers, the block of the speaker whose role was decided (the report's `roles`, which the
 * worker adds: {"S1": {"role": "agent", ...}, ...}); NULL when no leg or speaker has the role */
static const json_t *conv_leg(const json_t *r, const char *role)
{
    const json_t *conv = json_object_get(r, "conversation");
    for (int i = 0; i < 2; i++) {
        const char *leg = i ? "outbound" : "inbound";
        const json_t *L = json_object_get(r, leg);
        if (json_is_object(L) && json_is_string(json_object_get(L, "role")) &&
            !strcmp(json_string_value(json_object_get(L, "role")), role))
            return json_object_get(conv, leg);
    }
    const json_t *sp = json_object_get(conv, "speakers"), *roles = json_object_get(r, "roles");
    for (int i = 0; json_is_object(sp) && json_is_object(roles) && i < 2; i++) {
        const char *id = i ? "S2" : "S1";
        const json_t *who = json_object_get(json_object_get(roles, id), "role");
        if (json_is_string(who) && !strcmp(json_string_value(who), role))
            return json_object_get(sp, id);
    }
    return NULL;
}

static const char *const named[] = {"duration_sec",
                                    "overtalk_sec",
                                    "overtalk_pct",
                                    "interruptions",
                                    "agent_interruptions",
                                    "dead_air_sec",
                                    "dead_air_count",
                                    "response_latency_mean_sec",
                                    "response_latency_p90_sec",
                                    "agent_talk_share_pct",
                                    "agent_longest_monologue_sec",
                                    "hold_sec",
                                    "hold_count",
                                    NULL};

static int named_metric(const json_t *r, int i, double *v)
{
    const json_t *conv = json_object_get(r, "conversation");
    double dur = 0, a, b;
    bool has_dur = num(json_object_get(r, "duration"), &dur) && dur > 0;
    const json_t *sp = json_object_get(conv, "speakers");
    const json_t *ov = json_object_get(conv, "overtalk"), *da = json_object_get(conv, "dead_air"),
                 *rl = json_object_get(json_is_object(sp) ? sp : conv, "response_latency"),
                 *ag = conv_leg(r, "agent"), *cu = conv_leg(r, "customer"),
                 *ce = json_object_get(r, "call_events");
    switch (i) {
    case 0: *v = dur; return has_dur;
    case 1: return num(json_object_get(ov, "total_sec"), v);
    case 2:
        if (!has_dur || !num(json_object_get(ov, "total_sec"), &a))
            return 0;
        *v = 100 * a / dur;
        return 1;
    case 3:
        if (!json_is_array(json_object_get(conv, "interruptions")) || !json_is_object(ov))
            return 0;
        *v = (double)json_array_size(json_object_get(conv, "interruptions"));
        return 1;
    case 4: return num(json_object_get(ag, "interruptions"), v);
    case 5: return num(json_object_get(da, "total_sec"), v);
    case 6: return num(json_object_get(da, "count"), v);
    case 7: return num(json_object_get(rl, "mean_sec"), v);
    case 8: return num(json_object_get(rl, "p90_sec"), v);
    case 9:
        if (!num(json_object_get(ag, "talk_sec"), &a) ||
            !num(json_object_get(cu, "talk_sec"), &b) || a + b <= 0)
            return 0;
        *v = 100 * a / (a + b);
        return 1;
    case 10: return num(json_object_get(ag, "longest_monologue_sec"), v);
    case 11: return num(json_object_get(ce, "hold_total_sec"), v);
    case 12: return num(json_object_get(ce, "hold_count"), v);
    }
    return 0;
}

/* the customer's figures of the sentiment trend: 1 and *v when known */
static int sentiment_metric(const sc_sentiment *s, bool drop, double *v)
{
    if (!s || !s->known)
        return 0;
    if (drop) {
        if (s->customer_drop < 0)
            return 0;
        *v = s->customer_drop;
        return 1;
    }
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->sp[i].speaker, SC_CUSTOMER) && s->sp[i].has_first) {
            *v = s->sp[i].shift;
            return 1;
        }
    return 0;
}

int sc_metric_of(const json_t *report, const sc_sentiment *sent, const char *name, double *v)
{
    if (!strcmp(name, "customer_sentiment_drop") || !strcmp(name, "customer_sentiment_shift"))
        return sentiment_metric(sent, name[19] == 'd', v);
    for (int i = 0; named[i]; i++)
        if (!strcmp(name, named[i]))
            return report ? named_metric(report, i, v) : 0;
    /* a dotted path into the report's objects */
    size_t n = strlen(name);
    if (n == 0 || n > 63 || name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '.'))
            return -1;
    if (!report)
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "%s", name);
    const json_t *at = report;
    for (char *save = NULL, *k = strtok_r(path, ".", &save); k && at;
         k = strtok_r(NULL, ".", &save))
        at = json_object_get(at, k);
    return num(at, v);
}
