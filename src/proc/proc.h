/*
 * proc.h - work in child processes, for the program (not the library): the CLI's batches, the
 * service's analysis host and the QA worker isolate each call this way, so that a crash or a
 * runaway in a decoding library fails one call and not the process that asked.
 *
 *   proc_spawn       the one place the program forks (tests/unit/test_proc.c checks it);
 *   proc_pool        children that each run one job, write their answer to a pipe and exit; the
 *                    pool collects the answer, reaps the child, kills it at its deadline, and
 *                    says how it ended;
 *   proc_write_*     bytes between processes: whole writes, and one framing for strings;
 *   proc_exec_self   another command of this program in a long-lived child (the scheduled
 *                    ingest, the service's embedded worker), and its end.
 *
 * Fork only from a process that has started no thread of its own (the CLI's main thread before
 * any worker, the service's analysis host): a lock another thread holds at fork time (an
 * allocator's, a library's) stays held forever in the child. Children die with their parent
 * (PR_SET_PDEATHSIG). A pool belongs to one thread.
 *
 * It calls no other room: libc only. It is on the ground floor so that the command line's
 * batches, the QA worker (src/jobs/) and the service's analysis host (src/service/svc_isolate.c)
 * all fork through one place.
 */
#ifndef CQ_PROC_H
#define CQ_PROC_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- one child ----------------------------------------------------------------------------- */

/* Runs in the child; what it writes to fd is its answer (fd -1 when spawned without a pipe). When
 * it returns the child exits with status 0. */
typedef void (*proc_fn)(void *arg, int fd);

/* Fork a child running fn(arg, out_fd): with a pipe to the parent when *pipe_fd is not NULL
 * (its read end returned there, close-on-exec), the child's copies of `close_fds` (n of them, -1
 * entries skipped) closed first. Returns the pid, or -1 with errno. */
pid_t proc_spawn(proc_fn fn, void *arg, int *pipe_fd, const int *close_fds, size_t n);

/* ---- a pool of one-job children ----------------------------------------------------------- */

typedef enum proc_outcome {
    PROC_DONE = 0, /* exited with status 0: `data` holds its answer */
    PROC_FAILED,   /* exited with another status (`code`) */
    PROC_SIGNALED, /* died of signal `code` */
    PROC_TIMEOUT   /* killed at its deadline */
} proc_outcome;

typedef struct proc_done {
    uint64_t tag; /* the caller's, from proc_pool_spawn */
    proc_outcome outcome;
    int code;   /* exit status or signal */
    char *data; /* what the child wrote (malloc'd, the caller frees; may be NULL) */
    size_t len;
} proc_done;

typedef struct proc_pool proc_pool;

/* A pool of at most `max` children at once. NULL when out of memory. */
proc_pool *proc_pool_create(int max);
/* Run fn(arg, fd) in a new child, to be killed past timeout_sec (<= 0: no limit). `close_fds`
 * as for proc_spawn (the pool's other pipes are closed in the child as well). 0, or -1 (pool
 * full, or errno from pipe/fork). */
int proc_pool_spawn(proc_pool *p, uint64_t tag, double timeout_sec, proc_fn fn, void *arg,
                    const int *close_fds, size_t n);
int proc_pool_running(const proc_pool *p);
/* Kill the child of `tag` (it is then reaped by proc_pool_wait, as killed). */
void proc_pool_kill(proc_pool *p, uint64_t tag);
/* Wait for children to end (and for the `extra` descriptors, whose revents are filled), killing
 * those past their deadline, for at most timeout_ms (< 0: no limit); with no child and no extra
 * descriptor it returns at once. Fills done[] with the children that ended, at most max;
 * returns how many (0 when only an extra descriptor is ready, at the timeout, or on a
 * signal). */
int proc_pool_wait(proc_pool *p, struct pollfd *extra, int n_extra, proc_done *done, int max,
                   int timeout_ms);
/* Kill and reap the children still running; free. NULL is a no-op. */
void proc_pool_destroy(proc_pool *p);

/* ---- bytes --------------------------------------------------------------------------------- */

/* Write all n bytes (retrying short writes and EINTR). 0, or -1 on error. */
int proc_write_all(int fd, const void *p, size_t n);

/* One read() onto the end of *buf, growing it as needed. Returns 1 at end of stream, on a
 * read error or when memory runs out (the caller finishes with what it has), 0 to go on. */
int proc_read_more(int fd, char **buf, size_t *len, size_t *cap);

/* Strings travel as {uint64 length including the NUL, the bytes}; length 0 stands for NULL. */
int proc_write_str(int fd, const char *s); /* 0, or -1 on error */
/* The string at *p (before end) into *out (malloc'd; NULL for NULL) and *p past it. 0, or -1
 * when the bytes are short or malformed (then *out is NULL). */
int proc_parse_str(const char **p, const char *end, char **out);

/* ---- long-lived children: other commands of this program ---------------------------------- */

/* Run this program again (/proc/self/exe) with argv (NULL-terminated; argv[0] is shown by ps) in
 * a child: its signal mask and the handlers of SIGTERM, SIGINT, SIGPIPE and SIGCHLD reset first.
 * Safe from a process with threads (the child only execs). The pid, or -1 with errno. */
pid_t proc_exec_self(char *const argv[]);
/* Has the child ended? 1 still running; 0 ended, *status = its exit status, or 128 + the
 * signal it died of; -1 on error (not our child). */
int proc_child_poll(pid_t pid, int *status);
/* Ask the child to end (SIGTERM), wait up to grace_sec, then SIGKILL; *status as above. */
void proc_child_stop(pid_t pid, double grace_sec, int *status);

#endif /* CQ_PROC_H */
