/*
 * ask_prom_probe.c - one query of POST /ask's Prometheus source (src/ask/ask_prom.c), for
 * tests/ask/test_ask_prom.sh: the source's answer or refusal as one line of JSON.
 *
 *   ask_prom_probe URL QUERY [NAME=VALUE]...
 *     start end step time now           the query (ask_prom_query)
 *     max_range min_step max_points max_series timeout max_bytes   the limits (defaults else)
 *   prints {"rc": 0, "rows": N, "truncated": B, "elapsed": S, "result": {...}} or
 *          {"rc": -1, "layer": "...", "error": "...", "elapsed": S}; exit 0 either way, 2 on
 *   bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/ask/ask.h"
#include "../../src/store/store_ro.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ask_prom_probe URL QUERY [NAME=VALUE]...\n");
        return 2;
    }
    ask_prom_config c;
    ask_prom_defaults(&c);
    snprintf(c.url, sizeof(c.url), "%s", argv[1]);
    ask_prom_query q = {.query = argv[2]};
    for (int i = 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "ask_prom_probe: %s is not NAME=VALUE\n", argv[i]);
            return 2;
        }
        *eq = 0;
        const char *n = argv[i], *v = eq + 1;
        if (!strcmp(n, "start"))
            q.start = v;
        else if (!strcmp(n, "end"))
            q.end = v;
        else if (!strcmp(n, "step"))
            q.step = v;
        else if (!strcmp(n, "time"))
            q.time = v;
        else if (!strcmp(n, "now"))
            q.now = strtod(v, NULL);
        else if (!strcmp(n, "max_range"))
            c.max_range_sec = strtod(v, NULL);
        else if (!strcmp(n, "min_step"))
            c.min_step_sec = strtod(v, NULL);
        else if (!strcmp(n, "max_points"))
            c.max_points = atoi(v);
        else if (!strcmp(n, "max_series"))
            c.max_series = atoi(v);
        else if (!strcmp(n, "timeout"))
            c.timeout_sec = strtod(v, NULL);
        else if (!strcmp(n, "max_bytes"))
            c.max_bytes = (size_t)strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "ask_prom_probe: unknown %s\n", n);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    store_ro_result out;
    double t0 = mono();
    int rc = ask_prom_run(&c, &q, &out);
    double elapsed = mono() - t0;
    /* the source's JSON as it wrote it, inside the line */
    json_t *o = json_object();
    json_object_set_new(o, "rc", json_integer(rc));
    if (rc == 0) {
        json_object_set_new(o, "rows", json_integer(out.rows));
        json_object_set_new(o, "truncated", json_boolean(out.truncated));
    } else {
        json_object_set_new(o, "layer", json_string(out.layer));
        json_object_set_new(o, "error", json_string(out.error));
    }
    json_object_set_new(o, "elapsed", json_real(elapsed));
    char *s = json_dumps(o, JSON_COMPACT);
    if (rc == 0)
        printf("%.*s,\"result\":%s}\n", (int)strlen(s) - 1, s, out.json);
    else
        printf("%s\n", s);
    free(s);
    json_decref(o);
    store_ro_result_free(&out);
    curl_global_cleanup();
    return 0;
}
