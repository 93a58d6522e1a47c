/*
 * proc.c - see proc.h.
 */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "callqa/cq_clock.h"

/* ---- one child ----------------------------------------------------------------------------- */

#ifdef CQ_COVERAGE
void __gcov_dump(void); /* libgcov's: write this process's counts now */
#endif

void proc_exit(int code)
{
#ifdef CQ_COVERAGE
    __gcov_dump();
#endif
    _exit(code);
}

pid_t proc_spawn(proc_fn fn, void *arg, int *pipe_fd, const int *close_fds, size_t n)
{
    int fds[2] = {-1, -1};
    if (pipe_fd && pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        if (pipe_fd) {
            close(fds[0]);
            close(fds[1]);
        }
        errno = e;
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the parent died before the line above */
            proc_exit(1);
        for (size_t i = 0; i < n; i++)
            if (close_fds[i] >= 0)
                close(close_fds[i]);
        if (pipe_fd)
            close(fds[0]);
        fn(arg, fds[1]);
        proc_exit(0);
    }
    if (pipe_fd) {
        close(fds[1]);
        *pipe_fd = fds[0];
    }
    return pid;
}

/* ---- a pool of one-task children ----------------------------------------------------------- */

typedef struct kid {
    pid_t pid; /* 0: free */
    int fd;
    uint64_t tag;
    double deadline;     /* 0: none */
    proc_outcome killed; /* PROC_DONE, or why it was killed */
    char *buf;
    size_t len, cap;
} kid;

struct proc_pool {
    int max, running;
    size_t max_answer; /* 0: no limit */
    kid *kids;
    struct pollfd *pf; /* the children's pipes, then the caller's descriptors */
    int n_pf;          /* room in pf */
    int *map;          /* the child of each of the first pf[] */
};

proc_pool *proc_pool_create(int max, size_t max_answer)
{
    proc_pool *p = calloc(1, sizeof(*p));
    if (!p || max < 1 || !(p->kids = calloc((size_t)max, sizeof(kid))) ||
        !(p->map = calloc((size_t)max, sizeof(int)))) {
        proc_pool_destroy(p);
        return NULL;
    }
    p->max = max;
    p->max_answer = max_answer;
    return p;
}

int proc_pool_running(const proc_pool *p)
{
    return p->running;
}

void proc_pool_kill(proc_pool *p, uint64_t tag)
{
    for (int k = 0; k < p->max; k++)
        if (p->kids[k].pid && p->kids[k].tag == tag && !p->kids[k].killed) {
            kill(p->kids[k].pid, SIGKILL);
            p->kids[k].killed = PROC_KILLED;
        }
}

int proc_pool_spawn(proc_pool *p, uint64_t tag, double timeout_sec, proc_fn fn, void *arg,
                    const int *close_fds, size_t n)
{
    int k = 0;
    while (k < p->max && p->kids[k].pid)
        k++;
    if (k == p->max) {
        errno = EAGAIN;
        return -1;
    }
    /* the child closes the other children's pipes and the caller's descriptors */
    size_t m = 0;
    int *all = malloc(((size_t)p->max + n) * sizeof(int));
    if (!all)
        return -1;
    for (int i = 0; i < p->max; i++)
        if (p->kids[i].pid)
            all[m++] = p->kids[i].fd;
    for (size_t i = 0; i < n; i++)
        all[m++] = close_fds[i];
    int fd = -1;
    pid_t pid = proc_spawn(fn, arg, &fd, all, m);
    free(all);
    if (pid < 0)
        return -1;
    p->kids[k] = (kid){.pid = pid,
                       .fd = fd,
                       .tag = tag,
                       .deadline = timeout_sec > 0 ? cq_clock_mono_sec() + timeout_sec : 0};
    p->running++;
    return 0;
}

/* The child of slot k closed its pipe: reap it and say how it ended. */
static void reap(proc_pool *p, int k, proc_done *d)
{
    kid *c = &p->kids[k];
    close(c->fd);
    int st = 0;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
        ;
    *d = (proc_done){.tag = c->tag, .data = c->buf, .len = c->len};
    if (c->killed)
        d->outcome = c->killed, d->code = SIGKILL;
    else if (WIFSIGNALED(st))
        d->outcome = PROC_SIGNALED, d->code = WTERMSIG(st);
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        d->outcome = PROC_FAILED, d->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    else
        d->outcome = PROC_DONE;
    *c = (kid){0};
    p->running--;
}

int proc_pool_wait(proc_pool *p, struct pollfd *extra, int n_extra, proc_done *done, int max,
                   int timeout_ms)
{
    if (!p->running && n_extra == 0)
        return 0;
    if (p->max + n_extra > p->n_pf) {
        struct pollfd *pf = realloc(p->pf, (size_t)(p->max + n_extra) * sizeof(*pf));
        if (!pf)
            return 0;
        p->pf = pf, p->n_pf = p->max + n_extra;
    }
    double now = cq_clock_mono_sec(), wait = -1;
    int *map = p->map, np = 0;
    for (int k = 0; k < p->max; k++) {
        kid *c = &p->kids[k];
        if (!c->pid)
            continue;
        if (c->deadline && !c->killed) {
            if (c->deadline <= now) {
                kill(c->pid, SIGKILL); /* its pipe closes: reaped below as a timeout */
                c->killed = PROC_TIMEOUT;
            } else if (wait < 0 || c->deadline - now < wait) {
                wait = c->deadline - now;
            }
        }
        p->pf[np] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        map[np++] = k;
    }
    for (int i = 0; i < n_extra; i++)
        p->pf[np + i] = extra[i];
    int ms = wait < 0 ? -1 : (int)(wait * 1000) + 1;
    if (timeout_ms >= 0 && (ms < 0 || timeout_ms < ms))
        ms = timeout_ms;
    if (poll(p->pf, (nfds_t)(np + n_extra), ms) < 0)
        return 0; /* EINTR */
    for (int i = 0; i < n_extra; i++)
        extra[i].revents = p->pf[np + i].revents;
    int got = 0;
    for (int i = 0; i < np && got < max; i++) {
        if (!(p->pf[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            continue;
        kid *c = &p->kids[map[i]];
        if (proc_read_more(c->fd, &c->buf, &c->len, &c->cap)) {
            reap(p, map[i], &done[got++]);
        } else if (p->max_answer && c->len > p->max_answer && !c->killed) {
            kill(c->pid, SIGKILL); /* its pipe closes: reaped on a later wait */
            c->killed = PROC_OVERSIZE;
        }
    }
    return got;
}

void proc_pool_destroy(proc_pool *p)
{
    if (!p)
        return;
    for (int k = 0; p->kids && k < p->max; k++) {
        if (!p->kids[k].pid)
            continue;
        kill(p->kids[k].pid, SIGKILL);
        proc_done d;
        reap(p, k, &d);
        free(d.data);
    }
    free(p->kids);
    free(p->map);
    free(p->pf);
    free(p);
}

/* ---- bytes --------------------------------------------------------------------------------- */

int proc_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

int proc_read_more(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*len + 65536 > *cap) {
        size_t ncap = *len + 65536 * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return 1;
        *buf = nb, *cap = ncap;
    }
    ssize_t got = read(fd, *buf + *len, *cap - *len);
    if (got < 0 && errno == EINTR)
        return 0;
    if (got <= 0)
        return 1;
    *len += (size_t)got;
    return 0;
}

int proc_write_str(int fd, const char *s)
{
    uint64_t n = s ? strlen(s) + 1 : 0;
    return proc_write_all(fd, &n, sizeof(n)) || (n && proc_write_all(fd, s, (size_t)n)) ? -1 : 0;
}

int proc_write_blob(int fd, const void *p, size_t n)
{
    uint64_t n64 = n;
    return proc_write_all(fd, &n64, sizeof(n64)) || (n && proc_write_all(fd, p, n)) ? -1 : 0;
}

proc_reader proc_reader_of(const char *data, size_t len)
{
    return (proc_reader){.p = data, .end = data ? data + len : NULL, .bad = 0};
}

void proc_read_val(proc_reader *r, void *out, size_t n)
{
    if (r->bad || !r->p || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
}

char *proc_read_str(proc_reader *r)
{
    char *s = NULL;
    if (r->bad || !r->p || proc_parse_str(&r->p, r->end, &s) != 0)
        r->bad = 1;
    return s;
}

const char *proc_read_blob(proc_reader *r, size_t *n)
{
    uint64_t len = 0;
    *n = 0;
    proc_read_val(r, &len, sizeof(len));
    if (r->bad || len > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return NULL;
    }
    const char *b = r->p;
    r->p += len;
    *n = (size_t)len;
    return b;
}

int proc_reader_end(const proc_reader *r)
{
    return r->bad || r->p != r->end ? -1 : 0;
}

void proc_done_why(const proc_done *d, double timeout_sec, char *buf, size_t n)
{
    switch (d->outcome) {
    case PROC_DONE: snprintf(buf, n, "ended normally"); break;
    case PROC_FAILED: snprintf(buf, n, "failed (exit status %d)", d->code); break;
    case PROC_SIGNALED:
        snprintf(buf, n, "died (signal %d, %s)", d->code, strsignal(d->code));
        break;
    case PROC_TIMEOUT:
        snprintf(buf, n, "ran past its %.1f s limit and was stopped", timeout_sec);
        break;
    case PROC_KILLED: snprintf(buf, n, "was stopped"); break;
    case PROC_OVERSIZE: snprintf(buf, n, "wrote an answer too large and was stopped"); break;
    case PROC_NOT_STARTED: snprintf(buf, n, "could not be started (%s)", strerror(d->code)); break;
    }
}

int proc_parse_str(const char **p, const char *end, char **out)
{
    uint64_t n;
    *out = NULL;
    if ((size_t)(end - *p) < sizeof(n))
        return -1;
    memcpy(&n, *p, sizeof(n));
    *p += sizeof(n);
    if (n == 0)
        return 0;
    if (n > (uint64_t)(end - *p) || (*p)[n - 1] != '\0' || !(*out = strdup(*p)))
        return -1;
    *p += n;
    return 0;
}

/* ---- long-lived children ------------------------------------------------------------------- */

static void exec_self(void *arg, int fd)
{
    (void)fd;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    sigaction(SIGCHLD, &dfl, NULL);
    char *const *argv = arg;
    execv("/proc/self/exe", argv);
    _exit(127);
}

pid_t proc_exec_self(char *const argv[])
{
    return proc_spawn(exec_self, (void *)argv, NULL, NULL, 0);
}

static int status_of(int st)
{
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

int proc_child_poll(pid_t pid, int *status)
{
    int st = 0;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return -1;
    if (r == 0)
        return 1;
    *status = status_of(st);
    return 0;
}

void proc_child_stop(pid_t pid, double grace_sec, int *status)
{
    kill(pid, SIGTERM);
    double end = cq_clock_mono_sec() + grace_sec;
    while (cq_clock_mono_sec() < end) {
        int r = proc_child_poll(pid, status);
        if (r <= 0) {
            if (r < 0)
                *status = -1;
            return;
        }
        cq_clock_sleep(0.02);
    }
    kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *status = status_of(st);
}
