/*
 * cli_args.c - a command's command line from the settings' tables (cli_args.h): cfg_parse's
 * answer said as the commands say it, and the start every analysis command shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/cfg_engine.h"
#include "cli_args.h"

void cq_cli_usage(FILE *f, const char *cmd)
{
    char names[512] = "";
    size_t k = 0;
    const char *nm;
    for (size_t i = 0; (nm = cq_analyzer_at(i, NULL)) && k < sizeof(names); i++)
        k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%s", i ? "," : "", nm);
    cfg_usage(f, cmd, names);
}

int cq_cli_args(const char *cmd, const char *prog, int argc, char **argv, cfg_settings *c,
                cfg_args *a)
{
    cq_err err;
    cq_err_clear(&err);
    if (cfg_parse(cmd, argc, argv, c, a, &err) != CQ_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        if (a->usage)
            cq_cli_usage(stderr, cmd);
        return 2;
    }
    if (cfg_arg_given(a, "help")) {
        cq_cli_usage(stdout, cmd);
        return 0;
    }
    return -1;
}

int cq_cli_analysis_args(const char *cmd, const char *prog, int argc, char **argv,
                         cfg_settings *set, cq_engine_params *ep, cfg_args *a)
{
    cfg_defaults_zeroed(set); /* static storage: zero (cli_args.h) */
    *ep = cq_engine_default_params();
    int rc = cq_cli_args(cmd, prog, argc, argv, set, a);
    if (rc >= 0)
        return rc;
    const char *only = cfg_arg(a, "only");
    cq_err err;
    if (only && cq_analyzers_parse(only, &ep->analyzers, &err) != CQ_OK) {
        fprintf(stderr, "%s: --only: %s\n", prog, err.msg);
        return 2;
    }
    cfg_engine_params(set, ep);
    static char model_dir[4096]; /* one command line a process */
    if (!ep->model_dir && cq_model_dir_default(model_dir, sizeof(model_dir)) == CQ_OK)
        ep->model_dir = model_dir;
    return -1;
}

int cq_cli_analyze_call(const cq_engine *e, const char *path, const char *in, const char *out,
                        cq_legs_resolved *lr, cq_report **rep, cq_err *err)
{
    memset(lr, 0, sizeof(*lr));
    if (!path) {
        cq_call_src src = {.in_path = in, .out_path = out};
        return cq_engine_analyze(e, &src, rep, err);
    }
    int rc = cq_legs_resolve(path, lr, err);
    if (rc != CQ_OK)
        return rc;
    cq_call_src src = {.path = lr->path,
                       .in_path = lr->in_path,
                       .out_path = lr->out_path,
                       .name = lr->name,
                       .note = lr->note};
    return cq_engine_analyze(e, &src, rep, err);
}

/* HOST:PORT or [HOST]:PORT into host[] and port[]; the port digits only. */
int cq_cli_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon, *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1, hl = (size_t)(rb - h), colon = rb + 1;
    } else {
        if (!(colon = strrchr(s, ':')))
            return -1;
        hl = (size_t)(colon - s);
    }
    const char *p = colon + 1;
    size_t pl = strlen(p);
    if (!hl || hl >= hcap || !pl || pl >= pcap || pl > 5 || strspn(p, "0123456789") != pl ||
        atoi(p) > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    memcpy(port, p, pl + 1);
    return 0;
}
