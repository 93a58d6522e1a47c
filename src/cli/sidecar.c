/*
 * sidecar.c - what `callqa serve` and `callqa worker` run beside them: other commands of this
 * program in child processes (proc_exec_self), with the settings the parent was given: the
 * scheduled ViciDial ingest (`callqa ingest vicidial`, from the vicidial* settings) and the
 * service's embedded worker (`callqa worker --jobs worker_jobs`). A child that ends is started
 * again after a delay that doubles from 10 s up to 10 min (back to 10 s after an hour up); the
 * parent's end asks each to end (SIGTERM) and waits for it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../proc/proc.h"
#include "callqa/cq_clock.h"
#include "sidecar.h"

static int push(cq_sidecar *s, const char *a)
{
    if (s->argc + 1 >= CQ_SIDECAR_MAX_ARGS || !(s->argv[s->argc] = strdup(a)))
        return -1;
    s->argv[++s->argc] = NULL;
    return 0;
}

/* Is arg the option `name` ("--db") or "--db=..."? */
static int option_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=') ? 1 + (arg[n] == 0) : 0;
}

int cq_sidecar_init(cq_sidecar *s, const char *what, const char *const *cmd, int argc, char **argv,
                    const char *const *share, const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    s->what = what;
    s->delay = 10;
    int rc = push(s, "callqa");
    for (int i = 0; cmd[i] && !rc; i++)
        rc = push(s, cmd[i]);
    for (int i = 1; i < argc && !rc; i++)
        for (int k = 0; share[k]; k++) {
            int m = option_is(argv[i], share[k]);
            if (!m)
                continue;
            rc = push(s, argv[i]);
            if (!rc && m == 2 && i + 1 < argc)
                rc = push(s, argv[++i]);
            break;
        }
    for (int i = 0; extra && extra[i] && !rc; i++)
        rc = push(s, extra[i]);
    if (rc)
        cq_sidecar_free(s);
    return rc;
}

static void logj(const char *level, const char *msg, const cq_sidecar *s, int status)
{
    fprintf(stderr, "{\"level\":\"%s\",\"msg\":\"%s\",\"sidecar\":\"%s\"", level, msg, s->what);
    if (s->pid > 0)
        fprintf(stderr, ",\"pid\":%d", (int)s->pid);
    if (status >= 0)
        fprintf(stderr, ",\"status\":%d", status);
    fputs("}\n", stderr);
}

void cq_sidecar_poll(cq_sidecar *s)
{
    double now = cq_clock_mono_sec();
    int status;
    if (s->pid > 0 && proc_child_poll(s->pid, &status) == 0) {
        if (now - s->started > 3600)
            s->delay = 10;
        logj("error", "ended: started again after a delay", s, status);
        s->pid = 0;
        s->restart_at = now + s->delay;
        s->delay = s->delay * 2 > 600 ? 600 : s->delay * 2;
    }
    if (s->pid == 0 && now >= s->restart_at) {
        if ((s->pid = proc_exec_self(s->argv)) < 0) {
            s->pid = 0;
            s->restart_at = now + s->delay;
            logj("error", "cannot start", s, -1);
            return;
        }
        s->started = now;
        logj("info", "started", s, -1);
    }
}

int cq_sidecar_run_once(cq_sidecar *s)
{
    int status = -1;
    if ((s->pid = proc_exec_self(s->argv)) < 0) {
        s->pid = 0;
        logj("error", "cannot start", s, -1);
        return -1;
    }
    while (proc_child_poll(s->pid, &status) == 1)
        cq_clock_sleep(0.05);
    logj(status == 0 ? "info" : "error", "ended", s, status);
    s->pid = 0;
    return status;
}

void cq_sidecar_free(cq_sidecar *s)
{
    if (s->pid > 0) {
        int status;
        proc_child_stop(s->pid, 30, &status);
        logj("info", "stopped", s, status);
    }
    for (int i = 0; i < s->argc; i++)
        free(s->argv[i]);
    memset(s, 0, sizeof(*s));
}
