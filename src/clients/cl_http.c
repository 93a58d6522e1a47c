/*
 * cl_http.c - what the HTTP clients share around libcurl (cl_http.h).
 */
#define _GNU_SOURCE
#include "cl_http.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "callqa/callqa.h"

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
    cl_body *b = user;
    size_t n = size * nmemb;
    if (b->n + n > b->max) {
        b->too_large = true;
        return 0; /* stops the transfer */
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return 0;
        b->p = np, b->cap = cap;
    }
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *user)
{
    cl_hdrs *h = user;
    size_t len = size * nitems;
    char line[256];
    size_t n = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
    memcpy(line, buf, n);
    line[n] = 0;
    line[strcspn(line, "\r\n")] = 0;
    if (!strncasecmp(line, "Retry-After:", 12)) {
        const char *v = line + 12;
        while (*v == ' ')
            v++;
        char *end;
        double s = strtod(v, &end);
        if (end != v && s >= 0 && isfinite(s)) {
            h->retry_after = s;
        } else { /* an HTTP date */
            time_t t = curl_getdate(v, NULL);
            if (t > 0)
                h->retry_after = fmax(0, difftime(t, time(NULL)));
        }
    } else if (!strncasecmp(line, "Content-Type:", 13)) {
        const char *v = line + 13;
        while (*v == ' ')
            v++;
        size_t k = strnlen(v, sizeof(h->content_type) - 1);
        memcpy(h->content_type, v, k);
        h->content_type[k] = 0;
    }
    return len;
}

void cl_http_base(CURL *k, const char *url)
{
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_PROXY, ""); /* never a proxy from the environment */
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_USERAGENT, "callqa/" CQ_VERSION_STRING);
}

void cl_http_setup(CURL *k, const char *url, const cl_limits *lim, cl_body *b, cl_hdrs *h)
{
    cl_http_base(k, url);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)(lim->connect_timeout_sec * 1000));
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)(lim->timeout_sec * 1000));
    curl_easy_setopt(k, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->max_response);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, h);
}

CURLcode cl_http_perform(CURL *k, struct curl_slist *hl, long *code)
{
    if (hl)
        curl_easy_setopt(k, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(k);
    *code = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, code);
    curl_easy_cleanup(k);
    curl_slist_free_all(hl);
    return rc;
}

void cl_scrub(const char *secret, char *msg)
{
    size_t kl = strlen(secret);
    if (kl < 4)
        return;
    char *p;
    while ((p = strstr(msg, secret)) != NULL)
        memset(p, '*', kl);
}

void cl_server_message(const cl_body *b, char *out, size_t n)
{
    out[0] = 0;
    if (!b->n)
        return;
    const char *m = strstr(b->p, "\"message\"");
    if (!m)
        m = strstr(b->p, "\"error\"");
    if (m) {
        const char *q = strchr(m + 8, ':');
        if (q)
            q = strchr(q, '"');
        if (q) {
            size_t k = 0;
            for (q++; *q && *q != '"' && k + 1 < n; q++)
                out[k++] = (*q == '\n' || *q == '\r') ? ' ' : *q;
            out[k] = 0;
            return;
        }
    }
    size_t k = 0;
    for (const char *q = b->p; *q && k + 1 < n && k < 160; q++)
        out[k++] = (*q == '\n' || *q == '\r' || *q == '\t') ? ' ' : *q;
    out[k] = 0;
}

bool cl_looks_html(const cl_body *b, const cl_hdrs *h)
{
    const char *p = b->p ? b->p : "";
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return !strncasecmp(h->content_type, "text/html", 9) || *p == '<';
}
