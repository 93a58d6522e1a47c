/*
 * bench_pipeline.c - in-process timing of cq_engine_analyze on recordings given on the command
 * line: decode + analyzers + report, without process start-up. Prints, per file, the median
 * and best wall time of R runs, the real-time factor, and a hash of the JSON report so that a
 * fast wrong answer shows.
 *
 *   bench_pipeline [--only LIST] [--runs R] FILE...
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "callqa/callqa.h"

/* FNV-1a over the report with its timing field blanked. */
static uint64_t hash_report(const char *json)
{
    uint64_t h = BENCH_FNV_SEED;
    const char *t = strstr(json, "\"analysis_time_sec\":");
    for (const char *p = json; *p; p++) {
        if (p == t) { /* skip the number after the key */
            p += strlen("\"analysis_time_sec\":");
            while (*p && *p != ',')
                p++;
            if (!*p)
                break;
        }
        h = bench_fnv1a(h, p, 1);
    }
    return h;
}

int main(int argc, char **argv)
{
    cq_engine_params ep = cq_engine_default_params();
    int runs = 21, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        cq_err err;
        if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            if (cq_analyzers_parse(argv[++i], &ep.analyzers, &err) != CQ_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 2;
            }
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = (int)strtol(argv[++i], NULL, 10);
            if (runs < 1 || runs > 1000)
                return 2;
        } else {
            fprintf(stderr, "usage: bench_pipeline [--only LIST] [--runs R] FILE...\n");
            return 2;
        }
    }
    cq_engine *e = cq_engine_create(&ep, NULL);
    if (!e)
        return 1;
    double total = 0;
    uint64_t all = 0;
    double *t = calloc((size_t)runs, sizeof(double));
    for (; i < argc; i++) {
        cq_call_src src = {.path = argv[i]};
        double audio = 0;
        uint64_t h = 0;
        for (int r = 0; r < runs; r++) {
            cq_report *rep = NULL;
            cq_err err;
            double t0 = bench_wall_sec();
            if (cq_engine_analyze(e, &src, &rep, &err) != CQ_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            t[r] = bench_wall_sec() - t0;
            audio = rep->duration_sec;
            char *js = cq_report_to_json(rep);
            h = hash_report(js);
            cq_report_free_string(js);
            cq_report_destroy(rep);
        }
        double med = bench_median(t, runs);
        printf("%-40s audio %8.1f s  median %9.3f ms  best %9.3f ms  %8.0fx real time  hash "
               "%016llx\n",
               argv[i], audio, med * 1e3, t[0] * 1e3, audio / med, (unsigned long long)h);
        total += med;
        all ^= h;
    }
    printf("TOTAL median %.3f ms  hash %016llx\n", total * 1e3, (unsigned long long)all);
    free(t);
    cq_engine_destroy(e);
    return 0;
}
