/*
 * serve_cmd.c - `callqa serve`: the HTTP service (src/service/). Flags for quick starts and
 * tests; otherwise --config FILE and CALLQA_* environment variables (docs/config.md).
 *
 *   callqa serve --listen 127.0.0.1:8080 --recording-server uk=http://rec.example/RECORDINGS \
 *                --db /var/lib/callqa/callqa.db --token-file /etc/callqa/token
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipeline/pipeline.h"
#include "../service/svc.h"
#include "serve_cmd.h"

static void usage(FILE *f)
{
    fputs("usage: callqa serve [options]\n"
          "  --config FILE              settings file (key = value; docs/config.md)\n"
          "  --listen ADDR:PORT         default 127.0.0.1:8080 ([::1]:8080 for IPv6)\n"
          "  --recording-server NAME=URL  a ViciDial recording server (repeatable)\n"
          "  --db STORE                 the store: a SQLite path (default ./callqa.db) or a\n"
          "                             postgresql:// URI (docs/scale.md)\n"
          "  --token-file PATH          bearer token (a file of mode 0600)\n"
          "  --no-auth                  no token required (trusted networks, tests)\n"
          "  --model-dir DIR            models (default $CALLQA_MODEL_DIR)\n"
          "  --freshness-sec S          serve stored results this long unasked (default 60)\n"
          "  --max-concurrent N         analyses at once (default: CPUs)\n"
          "  --live-events FILE         follow the event lines of `callqa live --events FILE`\n"
          "                             for /api/live (docs/live.md)\n"
          "  --list-routes              print the routes and exit\n"
          "  --openapi                  print /openapi.json and exit\n"
          "  --check-openapi FILE       check an API description against the route table (every\n"
          "                             route documented with its auth, nothing else) and exit\n"
          "  --help-settings            every setting of the config file, with its default\n"
          "Environment: CALLQA_<SETTING> overrides the file (e.g. CALLQA_PORT=9000).\n",
          f);
}

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

int cq_cli_serve(int argc, char **argv)
{
    enum {
        O_CONFIG = 256,
        O_LISTEN,
        O_SERVER,
        O_DB,
        O_TOKEN,
        O_NOAUTH,
        O_MODEL,
        O_FRESH,
        O_CONC,
        O_ROUTES,
        O_CHECK_OPENAPI,
        O_OPENAPI,
        O_SETTINGS,
        O_LIVE_EVENTS
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"listen", required_argument, NULL, O_LISTEN},
        {"recording-server", required_argument, NULL, O_SERVER},
        {"db", required_argument, NULL, O_DB},
        {"token-file", required_argument, NULL, O_TOKEN},
        {"no-auth", no_argument, NULL, O_NOAUTH},
        {"model-dir", required_argument, NULL, O_MODEL},
        {"freshness-sec", required_argument, NULL, O_FRESH},
        {"max-concurrent", required_argument, NULL, O_CONC},
        {"list-routes", no_argument, NULL, O_ROUTES},
        {"check-openapi", required_argument, NULL, O_CHECK_OPENAPI},
        {"openapi", no_argument, NULL, O_OPENAPI},
        {"help-settings", no_argument, NULL, O_SETTINGS},
        {"live-events", required_argument, NULL, O_LIVE_EVENTS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cfg_settings c;
    cfg_defaults(&c);
    char msg[1200];
    /* the config file first, the environment over it, then the flags over both */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") && cfg_load_file(&c, argv[i + 1], msg, sizeof(msg))) {
            fprintf(stderr, "callqa serve: %s\n", msg);
            return 2;
        }
    if (cfg_load_env(&c, msg, sizeof(msg))) {
        fprintf(stderr, "callqa serve: environment: %s\n", msg);
        return 2;
    }
    int o, no_auth = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_CONFIG: break;
        case O_LISTEN: { /* ADDR:PORT, or [IPv6]:PORT */
            const char *colon = strrchr(optarg, ':');
            const char *a = optarg, *ae = colon;
            if (*a == '[' && colon && colon > a && colon[-1] == ']')
                a++, ae--;
            char *end;
            long port = colon ? strtol(colon + 1, &end, 10) : 0;
            if (!colon || ae <= a || *end || port < 1 || port > 65535 ||
                (size_t)(ae - a) >= sizeof(c.listen_addr)) {
                fprintf(stderr, "callqa serve: --listen: expected ADDR:PORT or [IPv6]:PORT\n");
                return 2;
            }
            snprintf(c.listen_addr, sizeof(c.listen_addr), "%.*s", (int)(ae - a), a);
            c.listen_port = (int)port;
            break;
        }
        case O_SERVER:
            if (cfg_add_server(&c, optarg, msg, sizeof(msg))) {
                fprintf(stderr, "callqa serve: %s\n", msg);
                return 2;
            }
            break;
        case O_DB: snprintf(c.db_path, sizeof(c.db_path), "%s", optarg); break;
        case O_TOKEN: snprintf(c.token_file, sizeof(c.token_file), "%s", optarg); break;
        case O_NOAUTH: no_auth = 1; break;
        case O_MODEL: snprintf(c.model_dir, sizeof(c.model_dir), "%s", optarg); break;
        case O_LIVE_EVENTS:
            if (!*optarg || strlen(optarg) >= sizeof(c.live_events)) {
                fprintf(stderr, "callqa serve: --live-events: a file's path\n");
                return 2;
            }
            snprintf(c.live_events, sizeof(c.live_events), "%s", optarg);
            break;
        case O_FRESH:
        case O_CONC: {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || v < (o == O_CONC ? 1 : 0) || v > 1e7) {
                fprintf(stderr, "callqa serve: bad value '%s'\n", optarg);
                return 2;
            }
            if (o == O_FRESH)
                c.freshness_sec = v;
            else
                c.max_concurrent = (int)v;
            break;
        }
        case O_ROUTES:
            for (const svc_route *r = svc_route_table(); r->method; r++)
                printf("%s %s\n", r->method, r->path);
            return 0;
        case O_CHECK_OPENAPI: {
            size_t len;
            char *text = cfg_read_file(optarg, (size_t)16 << 20, &len, msg, sizeof(msg));
            char *doc = text ? svc_openapi_check(text, len, msg, sizeof(msg)) : NULL;
            free(text);
            if (!doc) {
                fprintf(stderr, "callqa serve: %s: %s\n", optarg, msg);
                return 1;
            }
            free(doc);
            printf("%s: every route documented with its auth, and nothing else\n", optarg);
            return 0;
        }
        case O_OPENAPI: {
            char *doc = svc_openapi(msg, sizeof(msg));
            if (!doc) {
                fprintf(stderr, "callqa serve: %s\n", msg);
                return 1;
            }
            printf("%s\n", doc);
            free(doc);
            return 0;
        }
        case O_SETTINGS: cfg_print(stdout); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (no_auth)
        c.auth = false;
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
