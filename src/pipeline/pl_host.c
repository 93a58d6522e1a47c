/*
 * pl_host.c - the analysis host: analyses (and investigations) in child processes for a process
 * with threads (the service), so that a crash or a runaway analysis fails one request and not
 * the process.
 *
 * DESIGN
 * The service is multi-threaded, and forking from one of several threads can leave a lock (an
 * allocator's, a library's) held forever in the child. So before the service starts any thread
 * the analyser (analyser.c) forks one *analysis host*: a single-threaded process that holds the
 * engine (the models, shared copy-on-write) and does nothing but fork one child per analysis.
 * Each thread of the pool (pool.c) owns one "slot": a socketpair to the host. The thread writes
 * a request (the call's paths and names, or an upload's bytes) and blocks for the answer; the
 * host forks a child, collects what the child writes to its pipe, reaps it, and answers the slot
 * with the report, or with how the child died (a signal, or SIGKILL when it ran past the
 * timeout). The host watches every child's deadline itself, so there is no race on reused pids.
 *
 *   thread --request--> host --fork--> child --pipe--> host --answer--> thread
 *
 * The host's loop is the program's one child host (proc_host_run in src/proc/, as the CLI's
 * batches and the QA worker run theirs): its queue is the slots with a request waiting, its
 * limits one child per slot, analysis_timeout_sec and the answer's size. The host and its
 * children ignore SIGTERM/SIGINT: on shutdown the service drains its requests and closes the
 * slots; the host exits when every slot is closed. A child dies with the host. Frames are
 * native-endian (src/proc/'s framing): both ends are the same program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proc/proc.h"
#include "pl_int.h"

#define REQ_MAGIC 0x51525143u /* "CQRQ" */
#define ANS_MAGIC 0x53525143u /* "CQRS" */
#define N_STR 9 /* the call source's 8 strings, and the kind of work ("" an analysis) */
#define MAX_STR 65536u

struct pl__host {
    pid_t host;
    int nslots;
    int *fd; /* the service's end of each slot; -1 once closed */
    double timeout_sec;
};

/* ---- bytes through a descriptor ----------------------------------------------------------- */

/* Read exactly n bytes; deadline < 0: wait as long as it takes. 0, or -1 (EOF, error, late). */
static int get_all(int fd, void *p, size_t n, double deadline)
{
    char *c = p;
    while (n) {
        if (deadline >= 0) {
            double left = deadline - cq_clock_mono_sec();
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            int pr = left > 0 ? poll(&pf, 1, (int)(left * 1000) + 1) : 0;
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                return -1;
        }
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r, n -= (size_t)r;
    }
    return 0;
}

/* A string as proc_write_str sent it, read from fd. */
static int get_str(int fd, char **out)
{
    uint64_t n;
    *out = NULL;
    if (get_all(fd, &n, sizeof(n), -1))
        return -1;
    if (n == 0)
        return 0;
    if (n > MAX_STR || !(*out = malloc(n)) || get_all(fd, *out, n, -1) || (*out)[n - 1]) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* ---- one analysis, where it runs ---------------------------------------------------------- */

static void figures_of(const cq_report *r, pl_metric_figures *f)
{
    memset(f, 0, sizeof(*f));
    if (!r)
        return;
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    for (int l = 0; l < 2; l++) {
        if (!L[l])
            continue;
        f->leg[l].present = true;
        f->leg[l].has_mos = L[l]->has_nisqa;
        f->leg[l].mos = L[l]->nisqa.mos;
        f->leg[l].has_speech = L[l]->has_vad;
        f->leg[l].speech_pct = L[l]->speech_pct;
    }
}

int pl__analyse_here(const cq_engine *e, const cq_call_src *src, char **json,
                     pl_metric_figures *fig, char *msg, size_t msgsz)
{
    cq_report *rep = NULL;
    cq_err err;
    cq_err_clear(&err);
    int rc = cq_engine_analyze(e, src, &rep, &err);
    figures_of(rc == CQ_OK ? rep : NULL, fig);
    snprintf(msg, msgsz, "%s", err.msg);
    char *t = rc == CQ_OK ? cq_report_to_json(rep) : NULL;
    *json = t ? strdup(t) : NULL; /* the library's allocation goes back to the library */
    cq_report_free_string(t);
    cq_report_destroy(rep);
    if (rc == CQ_OK && !*json) {
        rc = CQ_ERR_NOMEM;
        snprintf(msg, msgsz, "out of memory rendering the report");
    }
    return rc;
}

/* ---- the host ----------------------------------------------------------------------------- */

typedef struct analysis {
    const cq_engine *e;
    cq_call_src src;
    bool investigate; /* src.data is an investigation's request (investigate.c) */
} analysis;

/* In the child: analyse (or investigate), write {rc, figures, error, json} to fd. */
static void child_run(void *arg, int fd)
{
    const analysis *an = arg;
    const char *crash = cfg_test_hook("CRASH_ON"); /* fault injection for the tests */
    if (crash && *crash && an->src.name && strstr(an->src.name, crash))
        raise(SIGSEGV);
    char *js, msg[600];
    pl_metric_figures fig;
    memset(&fig, 0, sizeof(fig));
    int32_t rc = an->investigate ? pl__investigate_here(an->e, an->src.data, an->src.size, &js, msg,
                                                        sizeof(msg))
                                 : pl__analyse_here(an->e, &an->src, &js, &fig, msg, sizeof(msg));
    struct rusage ru; /* an investigation's peak, for the log (docs/network/bounds.md "Bounds") */
    if (an->investigate && getrusage(RUSAGE_SELF, &ru) == 0)
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"investigation\",\"peak_rss_kb\":%ld}\n",
                ru.ru_maxrss);
    int bad = proc_write_all(fd, &rc, sizeof(rc)) || proc_write_all(fd, &fig, sizeof(fig)) ||
              proc_write_str(fd, rc == CQ_OK ? NULL : msg) ||
              proc_write_blob(fd, js, js ? strlen(js) : 0);
    free(js); /* freed, so that leak checkers see a clean child */
    proc_exit(bad ? 3 : 0);
}

/* Read one request from a slot into src (strings and data owned by the caller's arrays). */
static int read_request(int fd, size_t max_data, char *str[N_STR], char **data, uint64_t *dlen)
{
    uint32_t magic, n;
    if (get_all(fd, &magic, sizeof(magic), -1) || magic != REQ_MAGIC ||
        get_all(fd, &n, sizeof(n), -1) || n != N_STR)
        return -1;
    for (int i = 0; i < N_STR; i++)
        if (get_str(fd, &str[i]))
            return -1;
    if (get_all(fd, dlen, sizeof(*dlen), -1) || *dlen > max_data)
        return -1;
    if (*dlen && (!(*data = malloc((size_t)*dlen)) || get_all(fd, *data, (size_t)*dlen, -1)))
        return -1;
    return 0;
}

/* Answer slot k: {magic, outcome, u64 length, body}. A slot that cannot be written is closed. */
static void answer_slot(int *sock, int k, uint32_t outcome, const void *body, uint64_t n)
{
    uint32_t hdr[2] = {ANS_MAGIC, outcome};
    if (sock[k] >= 0 &&
        (proc_write_all(sock[k], hdr, sizeof(hdr)) || proc_write_blob(sock[k], body, (size_t)n))) {
        close(sock[k]);
        sock[k] = -1;
    }
}

typedef struct host_args {
    const cq_engine *e;
    int nslots;
    int *sock; /* the host's end of each slot */
    double timeout;
    size_t max_data;
    /* the host's own state */
    struct pollfd *pf; /* the idle slots, watched for a request */
    int *busy;         /* the slot's analysis is running */
    char *str[N_STR];  /* the request being started */
    char *data;
    analysis an;
} host_args;

static void request_free(host_args *h)
{
    for (int i = 0; i < N_STR; i++) {
        free(h->str[i]);
        h->str[i] = NULL;
    }
    free(h->data);
    h->data = NULL;
}

/* The host's queue: the next slot with a request waiting, as a task; the slot then waits for
 * its answer before it may ask again. */
static proc_next host_next(void *ctx, proc_task *t)
{
    host_args *h = ctx;
    int open = 0;
    for (int k = 0; k < h->nslots; k++) {
        open += h->sock[k] >= 0;
        if (h->busy[k] || h->sock[k] < 0 ||
            !(h->pf[k].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            continue;
        h->pf[k].revents = 0;
        request_free(h); /* the previous request's strings: its child has its own copy */
        uint64_t dlen = 0;
        if (read_request(h->sock[k], h->max_data, h->str, &h->data, &dlen)) {
            close(h->sock[k]); /* the service went away, or spoke nonsense: the slot is done */
            h->sock[k] = -1;
            open--;
            continue;
        }
        char **str = h->str;
        h->an = (analysis){.e = h->e,
                           .src = {.path = str[0],
                                   .in_path = str[1],
                                   .out_path = str[2],
                                   .name = str[3],
                                   .note = str[4],
                                   .source_name = str[5],
                                   .in_name = str[6],
                                   .out_name = str[7],
                                   .data = h->data,
                                   .size = (size_t)dlen},
                           .investigate = str[8] && !strcmp(str[8], "investigate")};
        h->busy[k] = 1;
        /* the child keeps no slot: the service's and the other workers' are not its business */
        *t = (proc_task){.tag = (uint64_t)k,
                         .fn = child_run,
                         .arg = &h->an,
                         .close_fds = h->sock,
                         .n_close = (size_t)h->nslots};
        return PROC_NEXT_TASK;
    }
    return open ? PROC_NEXT_WAIT : PROC_NEXT_DRAINED;
}

/* The idle slots, watched for their next request. */
static int host_watch(void *ctx, struct pollfd **pf)
{
    host_args *h = ctx;
    for (int k = 0; k < h->nslots; k++)
        h->pf[k] = (struct pollfd){.fd = h->busy[k] ? -1 : h->sock[k], .events = POLLIN};
    *pf = h->pf;
    return h->nslots;
}

/* The analysis of slot d->tag ended: answer the slot with what it wrote, or how it ended. */
static void host_done(void *ctx, const proc_done *d)
{
    host_args *h = ctx;
    int k = (int)d->tag;
    h->busy[k] = 0;
    if (d->outcome == PROC_DONE) {
        answer_slot(h->sock, k, PL__HOST_DONE, d->data, d->len);
        return;
    }
    char why[160], msg[200];
    proc_done_why(d, h->timeout, why, sizeof(why));
    uint32_t outcome = d->outcome == PROC_TIMEOUT       ? PL__HOST_TIMEOUT
                       : d->outcome == PROC_NOT_STARTED ? PL__HOST_DOWN
                                                        : PL__HOST_CRASHED;
    snprintf(msg, sizeof(msg), "the analysis process %s", why);
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"%s\",\"slot\":%d}\n", msg, k);
    answer_slot(h->sock, k, outcome, msg, strlen(msg) + 1);
}

/* The analysis host: one analysis at a time per slot, each in a child of its own. */
static void host_main(void *arg, int fd)
{
    (void)fd;
    host_args *h = arg;
    signal(SIGTERM, SIG_IGN); /* the service drains, then closes the slots */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    h->pf = calloc((size_t)h->nslots, sizeof(struct pollfd));
    h->busy = calloc((size_t)h->nslots, sizeof(int));
    if (!h->pf || !h->busy)
        proc_exit(1);
    proc_limits lim = {
        .children = h->nslots, .timeout_sec = h->timeout, .max_answer = PROC_ANSWER_LIMIT};
    proc_host_ops ops = {.next = host_next, .done = host_done, .watch = host_watch};
    int rc = proc_host_run(&lim, &ops, h);
    request_free(h);
    free(h->pf);
    free(h->busy);
    proc_exit(rc ? 1 : 0);
}

/* ---- the service's side ------------------------------------------------------------------- */

pl__host *pl__host_start(const cq_engine *e, int nslots, double timeout_sec, size_t max_data,
                         char *msg, size_t msgsz)
{
    pl__host *h = calloc(1, sizeof(*h));
    int *host_end = calloc((size_t)nslots, sizeof(int));
    if (!h || !host_end || !(h->fd = calloc((size_t)nslots, sizeof(int)))) {
        snprintf(msg, msgsz, "out of memory");
        goto fail;
    }
    h->nslots = nslots;
    h->timeout_sec = timeout_sec;
    for (int k = 0; k < nslots; k++)
        h->fd[k] = host_end[k] = -1;
    for (int k = 0; k < nslots; k++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            snprintf(msg, msgsz, "socketpair: %s", strerror(errno));
            goto fail;
        }
        h->fd[k] = sv[0];
        host_end[k] = sv[1];
    }
    fflush(NULL);
    /* the host keeps only its own ends */
    host_args ha = {
        .e = e, .nslots = nslots, .sock = host_end, .timeout = timeout_sec, .max_data = max_data};
    h->host = proc_spawn(host_main, &ha, NULL, h->fd, (size_t)nslots);
    if (h->host < 0) {
        snprintf(msg, msgsz, "cannot fork the analysis host: %s", strerror(errno));
        goto fail;
    }
    for (int k = 0; k < nslots; k++)
        close(host_end[k]);
    free(host_end);
    return h;
fail:
    for (int k = 0; h && h->fd && k < nslots; k++) {
        if (h->fd[k] >= 0)
            close(h->fd[k]);
        if (host_end[k] >= 0)
            close(host_end[k]);
    }
    if (h)
        free(h->fd);
    free(h);
    free(host_end);
    return NULL;
}

/* One request to slot's host and its answer: an analysis of src, or (kind "investigate") an
 * investigation whose request is src->data. */
static pl__host_outcome ask(pl__host *h, int slot, const char *kind, const cq_call_src *src,
                            int *rc, char **json, pl_metric_figures *fig, char *msg, size_t msgsz)
{
    *json = NULL;
    *rc = CQ_ERR_INTERNAL;
    memset(fig, 0, sizeof(*fig));
    msg[0] = 0;
    int fd = slot >= 0 && slot < h->nslots ? h->fd[slot] : -1;
    if (fd < 0) {
        snprintf(msg, msgsz, "the analysis host is not running");
        return PL__HOST_DOWN;
    }
    uint32_t hdr[2] = {REQ_MAGIC, N_STR};
    const char *str[N_STR] = {src->path,        src->in_path, src->out_path, src->name, src->note,
                              src->source_name, src->in_name, src->out_name, kind};
    uint64_t dlen = src->data ? src->size : 0;
    int bad = proc_write_all(fd, hdr, sizeof(hdr));
    for (int i = 0; i < N_STR && !bad; i++)
        bad = proc_write_str(fd, str[i]);
    bad = bad || proc_write_blob(fd, src->data, (size_t)dlen);
    /* the host answers within the timeout; the margin covers a loaded machine */
    double deadline = cq_clock_mono_sec() + h->timeout_sec + 30;
    uint32_t ans[2];
    uint64_t n = 0;
    char *body = NULL;
    if (bad || get_all(fd, ans, sizeof(ans), deadline) || ans[0] != ANS_MAGIC ||
        get_all(fd, &n, sizeof(n), deadline) || n > ((uint64_t)1 << 32) ||
        !(body = malloc((size_t)n + 1)) || get_all(fd, body, (size_t)n, deadline)) {
        free(body);
        close(fd); /* the stream is out of step now: retire the slot */
        h->fd[slot] = -1;
        snprintf(msg, msgsz, "the analysis host did not answer");
        return PL__HOST_DOWN;
    }
    body[n] = 0;
    if (ans[1] != PL__HOST_DONE) {
        snprintf(msg, msgsz, "%s", body);
        free(body);
        return ans[1] == PL__HOST_TIMEOUT ? PL__HOST_TIMEOUT
               : ans[1] == PL__HOST_DOWN  ? PL__HOST_DOWN
                                          : PL__HOST_CRASHED;
    }
    /* {int32 rc, figures, error string, the report} as child_run wrote it */
    proc_reader rd = proc_reader_of(body, (size_t)n);
    int32_t r32;
    size_t jl;
    proc_read_val(&rd, &r32, sizeof(r32));
    proc_read_val(&rd, fig, sizeof(*fig));
    char *why = proc_read_str(&rd);
    const char *js = proc_read_blob(&rd, &jl);
    if (proc_reader_end(&rd) != 0) {
        free(why);
        free(body);
        memset(fig, 0, sizeof(*fig));
        snprintf(msg, msgsz, "the analysis process sent a truncated answer");
        return PL__HOST_CRASHED;
    }
    if (why)
        snprintf(msg, msgsz, "%s", why);
    free(why);
    *rc = r32;
    if (r32 == CQ_OK && !(*json = strndup(js, jl))) {
        *rc = CQ_ERR_NOMEM;
        snprintf(msg, msgsz, "out of memory");
    }
    free(body);
    return PL__HOST_DONE;
}

pl__host_outcome pl__host_analyse(pl__host *h, int slot, const cq_call_src *src, int *rc,
                                  char **json, pl_metric_figures *fig, char *msg, size_t msgsz)
{
    return ask(h, slot, NULL, src, rc, json, fig, msg, msgsz);
}

pl__host_outcome pl__host_investigate(pl__host *h, int slot, const char *request, int *rc,
                                      char **json, char *msg, size_t msgsz)
{
    cq_call_src src = {.data = request, .size = strlen(request), .name = "investigate"};
    pl_metric_figures fig;
    return ask(h, slot, "investigate", &src, rc, json, &fig, msg, msgsz);
}

bool pl__host_up(const pl__host *h)
{
    return h && waitpid(h->host, NULL, WNOHANG) == 0; /* 0: still running */
}

void pl__host_stop(pl__host *h)
{
    if (!h)
        return;
    for (int k = 0; k < h->nslots; k++)
        if (h->fd[k] >= 0)
            close(h->fd[k]);
    while (waitpid(h->host, NULL, 0) < 0 && errno == EINTR)
        ;
    free(h->fd);
    free(h);
}
