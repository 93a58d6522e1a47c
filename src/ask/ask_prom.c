/*
 * ask_prom.c - POST /ask's Prometheus source (ask.h, docs/ask.md): a PromQL query sent to the
 * HTTP API's two read endpoints, /api/v1/query and /api/v1/query_range, and nothing else.
 *
 * DESIGN: everything that can be refused is refused before a byte is sent: the configured URL
 * (http or https, a host, no query or fragment), the query (non-empty, at most 4000 bytes), the
 * times (Unix seconds, RFC 3339, "now" or "now-DURATION"), the range (end after start, at most
 * max_range_sec), the step (a duration at least min_step_sec) and the points per series
 * ((end - start) / step at most max_points). The request is one GET built here: the path is one
 * of the two, fixed, and every parameter (query, time or start, end and step, timeout) is
 * escaped by libcurl, so no query can reach another path (the admin API's). The transfer has
 * the limits of cl_http.h (no redirects, no proxy from the environment, http and https only, a
 * maximum answer size) and lasts at most the query's timeout and half a second: Prometheus
 * gets the same timeout as a parameter and answers its own error first when it can. The answer
 * is cut to max_series series and given in one shape whatever its resultType.
 */
#include "ask_int.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../clients/cl_http.h"
#include "../store/store_ro.h"

#define MAX_QUERY_BYTES 4000

void ask_prom_defaults(ask_prom_config *c)
{
    memset(c, 0, sizeof(*c));
    c->max_range_sec = 7 * 86400.0;
    c->min_step_sec = 60;
    c->max_points = 1100;
    c->max_series = 50;
    c->timeout_sec = 10;
    c->max_bytes = (size_t)4 << 20;
}

int ask_refuse(store_ro_result *out, const char *layer, const char *fmt, ...)
{
    snprintf(out->layer, sizeof(out->layer), "%s", layer);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- times and durations --------------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A decimal number ("90", "1.5") at *p, advancing it: 0, or -1 when there is none. Digits only:
 * no sign, exponent, hex, inf or nan, whatever strtod and the locale would take. */
static int read_number(const char **p, double *out)
{
    const char *s = *p;
    double v = 0, scale = 1;
    int digits = 0;
    for (; is_digit(*s); s++, digits++)
        v = v * 10 + (*s - '0');
    if (*s == '.')
        for (s++; is_digit(*s); s++, digits++)
            v += (*s - '0') * (scale /= 10);
    if (!digits || digits > 18)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* A duration: seconds ("90", "1.5"), or numbers with units s, m, h, d, w ("5m", "1h30m").
 * Seconds, or -1. */
static double parse_duration(const char *s)
{
    double total = 0, v;
    const char *p = s;
    if (!s || !*s)
        return -1;
    if (read_number(&p, &v) == 0 && !*p)
        return v; /* bare seconds */
    for (p = s; *p;) {
        if (read_number(&p, &v) != 0)
            return -1;
        double unit = *p == 's'   ? 1
                      : *p == 'm' ? 60
                      : *p == 'h' ? 3600
                      : *p == 'd' ? 86400
                      : *p == 'w' ? 604800
                                  : 0;
        if (!unit)
            return -1;
        total += v * unit;
        p++;
    }
    return total;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at p as an int, or -1. */
static int digits_at(const char *p, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (!is_digit(p[k]))
            return -1;
        v = v * 10 + (p[k] - '0');
    }
    return v;
}

/* RFC 3339: 2026-11-26T10:00:00Z, with fractions of a second and an offset (+01:00); 't', 'z'
 * and a space for the 'T' are taken too. 0 or -1. */
static int parse_rfc3339(const char *s, double *out)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) < 20) /* YYYY-MM-DDTHH:MM:SSZ at least: every index below is inside */
        return -1;
    int y = digits_at(s, 4), mo = digits_at(s + 5, 2), d = digits_at(s + 8, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || s[4] != '-' || s[7] != '-')
        return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return -1;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return -1;
    int h = digits_at(s + 11, 2), mi = digits_at(s + 14, 2), se = digits_at(s + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 || s[13] != ':' || s[16] != ':')
        return -1;
    const char *p = s + 19;
    double frac = 0, scale = 1;
    if (*p == '.') {
        if (!is_digit(p[1]))
            return -1;
        for (p++; is_digit(*p); p++)
            frac += (*p - '0') * (scale /= 10);
    }
    int offset = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6) {
        int oh = digits_at(p + 1, 2), om = digits_at(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59 || p[3] != ':')
            return -1;
        offset = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    *out = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600 + mi * 60 + se + frac - offset;
    return 0;
}

/* A time: Unix seconds, RFC 3339, "now" or "now-DURATION". 0 or -1. */
static int parse_time(const char *s, double now, double *out)
{
    const char *p = s;
    double v;
    if (!strcmp(s, "now")) {
        *out = now;
        return 0;
    }
    if (!strncmp(s, "now-", 4)) {
        double d = parse_duration(s + 4);
        if (d < 0)
            return -1;
        *out = now - d;
        return 0;
    }
    if (read_number(&p, &v) == 0 && !*p) {
        *out = v;
        return 0;
    }
    return parse_rfc3339(s, out);
}

/* ---- the request ---------------------------------------------------------------------------- */

/* http:// or https://, a host, no query, fragment, white space or control character. */
static bool url_ok(const char *url)
{
    size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
    if (!skip)
        return false;
    const char *host = url + skip;
    size_t hl = strcspn(host, ":/");
    const char *at = memchr(host, '@', strcspn(host, "/"));
    if (at) /* user:password@host: the host is after it */
        hl = strcspn(at + 1, ":/"), host = at + 1;
    if (!hl)
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#')
            return false;
    return true;
}

/* A parameter's value as Prometheus reads it: seconds with milliseconds. */
static void fmt_time(char *out, size_t n, double t)
{
    snprintf(out, n, "%.3f", t);
}

/* Append "&name=value" (value escaped) to url; -1 when it does not fit or escaping failed. */
static int add_param(CURL *k, char *url, size_t n, const char *name, const char *value)
{
    char *e = curl_easy_escape(k, value, 0);
    if (!e)
        return -1;
    size_t len = strlen(url);
    int w = snprintf(url + len, n - len, "%s%s=%s", strchr(url, '?') ? "&" : "?", name, e);
    curl_free(e);
    return w < 0 || (size_t)w >= n - len ? -1 : 0;
}

/* ---- the answer ----------------------------------------------------------------------------- */

/* One series of the answer in the shape of the output: {"metric": {...}, "values": [...]}, with
 * "histograms" when Prometheus gave native histograms. */
static json_t *series_of(json_t *r, const char *type)
{
    json_t *s = json_object();
    json_t *metric = json_object_get(r, "metric");
    json_object_set_new(s, "metric", json_is_object(metric) ? json_incref(metric) : json_object());
    if (!strcmp(type, "matrix")) {
        json_t *v = json_object_get(r, "values"), *h = json_object_get(r, "histograms");
        json_object_set_new(s, "values", json_is_array(v) ? json_incref(v) : json_array());
        if (json_is_array(h))
            json_object_set(s, "histograms", h);
    } else { /* vector: one sample */
        json_t *v = json_object_get(r, "value"), *h = json_object_get(r, "histogram");
        json_t *values = json_array();
        if (json_is_array(v))
            json_array_append(values, v);
        json_object_set_new(s, "values", values);
        if (json_is_array(h)) {
            json_t *hs = json_array();
            json_array_append(hs, h);
            json_object_set_new(s, "histograms", hs);
        }
    }
    return s;
}

/* The server's answer (any HTTP status) as the output, or a refusal. */
static int read_answer(const ask_prom_config *c, long code, const cl_body *b, store_ro_result *out)
{
    json_error_t je;
    json_t *root = b->n ? json_loadb(b->p, b->n, 0, &je) : NULL;
    const char *status = json_string_value(json_object_get(root, "status"));
    if (!root || !status) {
        char sm[200];
        cl_server_message(b, sm, sizeof(sm));
        json_decref(root);
        if (code >= 300 && code < 400)
            return ask_refuse(out, "prometheus",
                              "HTTP %ld from Prometheus (redirects are not followed)", code);
        if (code != 200)
            return ask_refuse(out, "prometheus", "HTTP %ld from Prometheus%s%s", code,
                              sm[0] ? ": " : "", sm);
        return ask_refuse(out, "prometheus", "the answer is not Prometheus's JSON");
    }
    if (strcmp(status, "success") || code != 200) {
        const char *type = json_string_value(json_object_get(root, "errorType"));
        const char *msg = json_string_value(json_object_get(root, "error"));
        /* Prometheus's own timeout (the query's timeout parameter, or its --query.timeout) */
        bool timeout = type && !strcmp(type, "timeout");
        int rc =
            ask_refuse(out, timeout ? "timeout" : "prometheus", "Prometheus (HTTP %ld, %s): %s",
                       code, type ? type : "error", msg ? msg : "no message");
        json_decref(root);
        return rc;
    }
    json_t *data = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    if (!type || !result) {
        json_decref(root);
        return ask_refuse(out, "prometheus", "the answer has no data.resultType or data.result");
    }
    json_t *series = json_array();
    size_t total = 0;
    if (!strcmp(type, "vector") || !strcmp(type, "matrix")) {
        if (!json_is_array(result)) {
            json_decref(series);
            json_decref(root);
            return ask_refuse(out, "prometheus", "the answer's %s is not an array", type);
        }
        total = json_array_size(result);
        for (size_t i = 0; i < total && i < (size_t)c->max_series; i++)
            json_array_append_new(series, series_of(json_array_get(result, i), type));
    } else if (!strcmp(type, "scalar") || !strcmp(type, "string")) {
        total = 1; /* [t, "v"]: one series with no labels */
        json_t *s = json_object();
        json_object_set_new(s, "metric", json_object());
        json_t *values = json_array();
        json_array_append(values, result);
        json_object_set_new(s, "values", values);
        json_array_append_new(series, s);
    } else {
        json_decref(series);
        int rc = ask_refuse(out, "prometheus", "an unknown resultType '%.40s'", type);
        json_decref(root);
        return rc;
    }
    out->rows = (int)json_array_size(series);
    out->truncated = total > (size_t)c->max_series;
    json_t *o = json_object();
    json_object_set_new(o, "resultType", json_string(type));
    json_object_set_new(o, "series", series);
    json_object_set_new(o, "truncated", json_boolean(out->truncated));
    /* times are seconds with milliseconds: 15 digits write them as Prometheus did */
    out->json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    json_decref(root);
    if (!out->json)
        return ask_refuse(out, "prometheus", "out of memory");
    return 0;
}

/* ---- the query ------------------------------------------------------------------------------ */

int ask_prom_run(const ask_prom_config *c, const ask_prom_query *q, store_ro_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!url_ok(c->url))
        return ask_refuse(
            out, "source",
            "the Prometheus URL must be http:// or https:// with a host, and no query "
            "or fragment");
    if (!(c->max_range_sec > 0) || !(c->min_step_sec > 0) || c->max_points < 1 ||
        c->max_series < 1 || !(c->timeout_sec > 0) || c->max_bytes < 1024)
        return ask_refuse(out, "source", "the Prometheus source's limits are out of range");
    size_t ql = q->query ? strlen(q->query) : 0;
    if (!ql || strspn(q->query, " \t\r\n") == ql)
        return ask_refuse(out, "source", "an empty query");
    if (ql > MAX_QUERY_BYTES)
        return ask_refuse(out, "source", "the query is %zu bytes, over %d", ql, MAX_QUERY_BYTES);
    double now = q->now > 0 ? q->now : (double)time(NULL);
    bool range = q->start && q->start[0];
    double start = 0, end = now, t = now, step = 0;
    if (!range) {
        if (q->time && q->time[0] && parse_time(q->time, now, &t) != 0)
            return ask_refuse(out, "range", "cannot read the time '%.60s'", q->time);
    } else {
        if (parse_time(q->start, now, &start) != 0)
            return ask_refuse(out, "range", "cannot read the start '%.60s'", q->start);
        if (q->end && q->end[0] && parse_time(q->end, now, &end) != 0)
            return ask_refuse(out, "range", "cannot read the end '%.60s'", q->end);
        if (end < start)
            return ask_refuse(out, "range", "the end is before the start");
        if (end - start > c->max_range_sec)
            return ask_refuse(out, "range", "the range is %.0f s, over %.0f s", end - start,
                              c->max_range_sec);
        step = parse_duration(q->step);
        if (!(step > 0))
            return ask_refuse(out, "step",
                              "a range query needs a step (30s, 5m, seconds): got '%.40s'",
                              q->step ? q->step : "");
        if (step < c->min_step_sec)
            return ask_refuse(out, "step", "the step is %g s, under %g s", step, c->min_step_sec);
        if ((end - start) / step > c->max_points)
            return ask_refuse(out, "points", "%.0f points per series, over %d: a longer step",
                              floor((end - start) / step), c->max_points);
    }

    CURL *k = curl_easy_init();
    if (!k)
        return ask_refuse(out, "prometheus", "cannot start an HTTP transfer");
    size_t ul = strlen(c->url), un = ul + 3 * ql + 512; /* escaping triples a byte at most */
    char *url = malloc(un), num[64];
    if (!url) {
        curl_easy_cleanup(k);
        return ask_refuse(out, "prometheus", "out of memory");
    }
    while (ul && c->url[ul - 1] == '/')
        ul--;
    snprintf(url, un, "%.*s/api/v1/%s", (int)ul, c->url, range ? "query_range" : "query");
    /* the query's own timeout: whole seconds, else milliseconds (Prometheus durations) */
    char tmo[32];
    if (c->timeout_sec == floor(c->timeout_sec))
        snprintf(tmo, sizeof(tmo), "%.0fs", c->timeout_sec);
    else
        snprintf(tmo, sizeof(tmo), "%.0fms", ceil(c->timeout_sec * 1000));
    int bad = add_param(k, url, un, "query", q->query);
    if (range) {
        fmt_time(num, sizeof(num), start);
        bad |= add_param(k, url, un, "start", num);
        fmt_time(num, sizeof(num), end);
        bad |= add_param(k, url, un, "end", num);
        fmt_time(num, sizeof(num), step);
        bad |= add_param(k, url, un, "step", num);
    } else {
        fmt_time(num, sizeof(num), t);
        bad |= add_param(k, url, un, "time", num);
    }
    bad |= add_param(k, url, un, "timeout", tmo);
    if (bad) {
        curl_easy_cleanup(k);
        free(url);
        return ask_refuse(out, "source", "the request does not fit its buffer");
    }
    cl_body b = {.max = c->max_bytes};
    cl_hdrs h = {.retry_after = -1};
    cl_limits lim = {c->timeout_sec, c->timeout_sec + 0.5, c->max_bytes};
    cl_http_setup(k, url, &lim, &b, &h);
    curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    struct curl_slist *hl = curl_slist_append(NULL, "Accept: application/json");
    long code;
    CURLcode rc = cl_http_perform(k, hl, &code);
    free(url);
    int ret;
    if (b.too_large || rc == CURLE_FILESIZE_EXCEEDED)
        ret = ask_refuse(out, "prometheus",
                         "Prometheus's answer too large: over %zu bytes (a narrower query, fewer "
                         "series or a longer step)",
                         c->max_bytes);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        ret = ask_refuse(out, "timeout", "Prometheus did not answer within %g s", c->timeout_sec);
    else if (rc != CURLE_OK)
        ret = ask_refuse(out, "prometheus", "Prometheus could not be reached: %s",
                         curl_easy_strerror(rc));
    else
        ret = read_answer(c, code, &b, out);
    free(b.p);
    return ret;
}
