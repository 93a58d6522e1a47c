/*
 * serve_cmd.c - `callqa serve`: the HTTP service (src/service/). Flags for quick starts and
 * tests; otherwise --config FILE and CALLQA_* environment variables (docs/config.md).
 *
 *   callqa serve --listen 127.0.0.1:8080 --recording-server uk=http://rec.example/RECORDINGS \
 *                --db /var/lib/callqa/callqa.db --token-file /etc/callqa/token
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/pipeline.h"
#include "../service/svc.h"
#include "cli_args.h"
#include "serve_cmd.h"
#include "sidecar.h"

typedef struct sidecars {
    cq_sidecar s[2];
    int n;
} sidecars;

static void poll_sidecars(void *arg)
{
    sidecars *sc = arg;
    for (int i = 0; i < sc->n; i++)
        cq_sidecar_poll(&sc->s[i]);
}

/* --listen ADDR:PORT, or [IPv6]:PORT, into the listen and port settings: 0, or -1. */
static int listen_of(const char *v, cfg_settings *c)
{
    const char *colon = strrchr(v, ':');
    const char *a = v, *ae = colon;
    if (*a == '[' && colon && colon > a && colon[-1] == ']')
        a++, ae--;
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || ae <= a || *end || port < 1 || port > 65535 ||
        (size_t)(ae - a) >= sizeof(c->listen_addr))
        return -1;
    snprintf(c->listen_addr, sizeof(c->listen_addr), "%.*s", (int)(ae - a), a);
    c->listen_port = (int)port;
    return 0;
}

int cq_cli_serve(int argc, char **argv)
{
    cfg_settings c;
    cfg_defaults(&c);
    char msg[1200];
    cfg_args a;
    /* the config file first, the environment over it, then the flags over both */
    int rc0 = cq_cli_args("serve", "callqa serve", argc, argv, &c, &a);
    if (rc0 >= 0)
        return rc0;
    if (a.next != argc) {
        cq_cli_usage(stderr, "serve");
        return 2;
    }
    const char *listen = cfg_arg(&a, "listen");
    if (listen && listen_of(listen, &c) != 0) {
        fprintf(stderr, "callqa serve: --listen: expected ADDR:PORT or [IPv6]:PORT\n");
        return 2;
    }
    if (cfg_arg_given(&a, "list-routes")) {
        for (const svc_route *r = svc_route_table(); r->method; r++)
            printf("%s %s\n", r->method, r->path);
        return 0;
    }
    const char *check = cfg_arg(&a, "check-openapi");
    if (check) {
        size_t len;
        char *text = cfg_read_file(check, (size_t)16 << 20, &len, msg, sizeof(msg));
        char *doc = text ? svc_openapi_check(text, len, msg, sizeof(msg)) : NULL;
        free(text);
        if (!doc) {
            fprintf(stderr, "callqa serve: %s: %s\n", check, msg);
            return 1;
        }
        free(doc);
        printf("%s: every route documented with its auth, and nothing else\n", check);
        return 0;
    }
    if (cfg_arg_given(&a, "openapi")) {
        char *doc = svc_openapi(msg, sizeof(msg));
        if (!doc) {
            fprintf(stderr, "callqa serve: %s\n", msg);
            return 1;
        }
        printf("%s\n", doc);
        free(doc);
        return 0;
    }
    if (cfg_arg_given(&a, "help-settings")) {
        cfg_print(stdout);
        return 0;
    }
    if (c.auth && cfg_read_token(&c, msg, sizeof(msg))) {
        fprintf(stderr, "callqa serve: %s\n", msg);
        return 2;
    }
    if (pl_redact_check(&c, msg, sizeof(msg)) != 0) { /* what it serves depends on them */
        fprintf(stderr, "callqa serve: %s\n", msg);
        return 2;
    }
    /* beside the service: an embedded worker, the scheduled ingest (docs/pipeline.md) */
    static const char *const k_worker[] = {"worker", NULL};
    static const char *const k_ingest[] = {"ingest", "vicidial", NULL};
    static const char *const k_share_worker[] = {"--config", "--db", "--recording-server",
                                                 "--model-dir", NULL};
    static const char *const k_share_ingest[] = {"--config", "--db", "--recording-server", NULL};
    char jobs[16];
    snprintf(jobs, sizeof(jobs), "%d", c.worker_jobs);
    const char *const worker_extra[] = {"--jobs", jobs, "--no-ingest", NULL};
    sidecars sc = {0};
    if ((c.worker_jobs > 0 && cq_sidecar_init(&sc.s[sc.n++], "worker", k_worker, argc, argv,
                                              k_share_worker, worker_extra) != 0) ||
        (c.vicidial[0] && cq_sidecar_init(&sc.s[sc.n++], "ingest", k_ingest, argc, argv,
                                          k_share_ingest, NULL) != 0)) {
        fprintf(stderr, "callqa serve: out of memory\n");
        return 1;
    }
    int rc = svc_run(&c, sc.n ? poll_sidecars : NULL, &sc);
    for (int i = 0; i < sc.n; i++)
        cq_sidecar_free(&sc.s[i]);
    return rc;
}
