/*
 * cl_http.h - what the HTTP clients (asr.c, llm.c) share around libcurl: a size-capped answer
 * body, the answer's headers that matter (Retry-After in seconds or as an HTTP date,
 * Content-Type), the limits every transfer gets (only the configured URL: no redirects, no
 * proxy from the environment, http and https only, timeouts, a maximum answer size), a
 * server's error message read from its answer, a secret scrubbed out of a message, and waits.
 *
 * It calls no other room, libcurl only (callqa.h gives the User-Agent's version). It is in
 * src/clients/, floor 6, so that the limits on what the ASR and LLM clients send and receive
 * over HTTP are written once; rec_fetch.c sets its own, as a recording streams to a file.
 *
 * Thread safety: no shared state; each transfer has its own body and headers.
 */
#ifndef CQ_CL_HTTP_H
#define CQ_CL_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* An answer body: at most max bytes, NUL-terminated while it grows (p is NULL until the first
 * byte). Zero-initialise with .max set; free(p) after. */
typedef struct cl_body {
    char *p;
    size_t n, cap, max;
    bool too_large; /* the answer went over max: the transfer was stopped */
} cl_body;

/* The answer's headers that the clients read. Initialise retry_after to -1. */
typedef struct cl_hdrs {
    double retry_after; /* seconds from now (an HTTP date made relative), or -1 when none */
    char content_type[128];
} cl_hdrs;

/* The limits of one transfer. */
typedef struct cl_limits {
    double connect_timeout_sec;
    double timeout_sec;  /* the whole transfer */
    size_t max_response; /* bytes */
} cl_limits;

/* What every request of callqa has, set on k: the URL, no redirects, http/https only, no proxy
 * (the environment's is ignored), no signals, the user agent. */
void cl_http_base(CURL *k, const char *url);
/* cl_http_base, and the timeouts and size limit, the body and header sinks. */
void cl_http_setup(CURL *k, const char *url, const cl_limits *lim, cl_body *b, cl_hdrs *h);
/* Send the request k is set up for, with the header lines hl (NULL: none), then free k and hl.
 * The answer's HTTP status in *code (0 when none came). */
CURLcode cl_http_perform(CURL *k, struct curl_slist *hl, long *code);

/* The server's error message from an error answer ({"error": {"message": ...}} as OpenAI,
 * Anthropic and Gemini send it, {"error": "..."}, or the start of a text body), on one line. */
void cl_server_message(const cl_body *b, char *out, size_t n);

/* Does the answer look like an HTML page (a proxy's or a wrong URL's) rather than JSON? */
bool cl_looks_html(const cl_body *b, const cl_hdrs *h);

/* Every occurrence of secret in msg overwritten with '*' (secrets under 4 bytes are left:
 * they would mask ordinary words). */
void cl_scrub(const char *secret, char *msg);

#endif /* CQ_CL_HTTP_H */
