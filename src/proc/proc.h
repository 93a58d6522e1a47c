/*
 * proc.h - work in child processes, for the program (not the library): the CLI's batches, the
 * service's analysis host and the QA worker isolate each call this way, so that a crash or a
 * runaway in a decoding library fails one call and not the process that asked.
 *
 *   proc_spawn       the one place the program forks (tests/proc/test_proc.c checks it);
 *   proc_pool        children that each run one task, write their answer to a pipe and exit;
 *                    the pool collects the answer, reaps the child, kills it at its deadline
 *                    or past its answer's size, and says how it ended;
 *   proc_host_run    the child host: the one loop that starts the tasks of a caller's queue in
 *                    a pool's children, under limits, and hands over each ending once; the
 *                    batches, the worker and the analysis host all run theirs through it;
 *   proc_queue       work waiting in memory (a batch's calls, /analyze's requests);
 *   proc_write_*, proc_reader   an answer's fields between processes, in one framing;
 *   proc_exec_self   another command of this program in a long-lived child (the scheduled
 *                    ingest, the service's embedded worker), and its end.
 *
 * Fork only from a process that has started no thread of its own (the CLI's main thread before
 * any worker, the service's analysis host): a lock another thread holds at fork time (an
 * allocator's, a library's) stays held forever in the child. Children die with their parent
 * (PR_SET_PDEATHSIG). A pool and a host belong to one thread; a queue is shared.
 *
 * It calls no other room: libc and pthreads only, and the library's clock (callqa/cq_clock.h). It
 * is on the ground floor so that the command line's batches, the QA worker (src/pipeline/) and
 * the service's analysis host (src/pipeline/pl_host.c) all fork, queue and frame through one place.
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
/* End a child made by fork with status code, as _exit does (no atexit handlers, no stdio
 * flush); a coverage build (CQ_COVERAGE) writes the child's line counts first. */
_Noreturn void proc_exit(int code);

/* ---- a pool of one-task children ----------------------------------------------------------- */

typedef enum proc_outcome {
    PROC_DONE = 0,   /* exited with status 0: `data` holds its answer */
    PROC_FAILED,     /* exited with another status (`code`) */
    PROC_SIGNALED,   /* died of signal `code` */
    PROC_TIMEOUT,    /* killed at its deadline */
    PROC_KILLED,     /* killed by the caller (proc_pool_kill) */
    PROC_OVERSIZE,   /* killed for an answer longer than the pool allows */
    PROC_NOT_STARTED /* never ran: no pipe or process to spare (`code` is the errno) */
} proc_outcome;

typedef struct proc_done {
    uint64_t tag; /* the caller's, from proc_pool_spawn */
    proc_outcome outcome;
    int code;   /* exit status or signal */
    char *data; /* what the child wrote (malloc'd, the caller frees; may be NULL) */
    size_t len;
} proc_done;

typedef struct proc_pool proc_pool;

/* A pool of at most `max` children at once, each answer at most max_answer bytes (0: no
 * limit; a child that writes more is killed). NULL when out of memory. */
proc_pool *proc_pool_create(int max, size_t max_answer);
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

/* A child's answer is a sequence of fields, written in order and read back in the same order:
 * fixed-size values as their bytes (both ends are the same program), strings as {uint64 length
 * including the NUL, the bytes} (length 0 stands for NULL), blobs as {uint64 length, the
 * bytes}. Each writer returns 0, or -1 on error. */
int proc_write_str(int fd, const char *s);
int proc_write_blob(int fd, const void *p, size_t n);

/* Reading an answer back: every read past the end or of a malformed field marks the reader
 * bad and yields zeros / NULL, so a parser reads all its fields and checks once, at the end. */
typedef struct proc_reader {
    const char *p, *end;
    int bad;
} proc_reader;

proc_reader proc_reader_of(const char *data, size_t len);
void proc_read_val(proc_reader *r, void *out, size_t n); /* n bytes; zeros when short */
char *proc_read_str(proc_reader *r);                     /* malloc'd; NULL for NULL or bad */
const char *proc_read_blob(proc_reader *r, size_t *n);   /* into the answer itself; NULL if bad */
/* 0 when every field was whole and nothing is left over, else -1. */
int proc_reader_end(const proc_reader *r);

/* The string at *p (before end) into *out (malloc'd; NULL for NULL) and *p past it. 0, or -1
 * when the bytes are short or malformed (then *out is NULL). */
int proc_parse_str(const char **p, const char *end, char **out);

/* How a child that did not answer ended, in words, for a message ("ran past its 300 s limit
 * and was stopped", "died (signal 11, Segmentation fault)", ...); timeout_sec is the limit it
 * ran under. */
void proc_done_why(const proc_done *d, double timeout_sec, char *buf, size_t n);

/* ---- the child host: a queue of tasks run in children, under limits ---------------------- */

/*
 * Every analysis the program isolates runs through proc_host_run: the CLI's batches (their
 * calls waiting in a proc_queue), the QA worker (its jobs waiting in the store) and the service's
 * analysis host (its requests arriving on sockets). The host starts a task whenever a child is
 * free, kills children past their deadline or their answer's size, and hands every ending to
 * `done`, exactly once per task it was given (a task that could not start ends as
 * PROC_NOT_STARTED).
 */
typedef struct proc_limits {
    int children;       /* at most this many at once (>= 1) */
    double timeout_sec; /* each child is killed past it (<= 0: no limit) */
    size_t max_answer;  /* a longer answer kills the child (0: no limit) */
} proc_limits;

/* The answer limit of an analysis's child (a report with its level envelope is a few MiB). */
#define PROC_ANSWER_LIMIT ((size_t)1 << 30)

typedef struct proc_task {
    uint64_t tag; /* the caller's, given back in proc_done */
    proc_fn fn;   /* what the child runs */
    void *arg;
    const int *close_fds; /* descriptors the child closes first (as for proc_spawn) */
    size_t n_close;
} proc_task;

typedef enum proc_next {
    PROC_NEXT_WAIT = 0,    /* nothing to start now */
    PROC_NEXT_TASK = 1,    /* *t is the next task */
    PROC_NEXT_DRAINED = -1 /* nothing ever again: the run ends when its children have */
} proc_next;

typedef struct proc_host proc_host;

typedef struct proc_host_ops {
    /* The queue: the next task, asked whenever a child is free. */
    proc_next (*next)(void *ctx, proc_task *t);
    /* A task ended (d->data is freed after the call). */
    void (*done)(void *ctx, const proc_done *d);
    /* Once per turn, before `next` (heartbeats, leases, stop flags; it may proc_host_kill): the
     * longest wait in ms before the next turn (< 0: until a child or a watched descriptor). */
    int (*tick)(void *ctx, proc_host *h);
    /* Descriptors whose readiness may bring a task (the service's slots), or NULL: *pf points
     * at the caller's array, whose revents are filled after each wait; returns how many. */
    int (*watch)(void *ctx, struct pollfd **pf);
} proc_host_ops;

/* Run until `next` says PROC_NEXT_DRAINED and the last child has ended. 0, or -1 when the pool
 * cannot be made (nothing was started) or `tick` leaves nothing to wait for. */
int proc_host_run(const proc_limits *lim, const proc_host_ops *ops, void *ctx);
/* From `tick` or `done`: kill the child of `tag` (it ends as PROC_KILLED); how many run. */
void proc_host_kill(proc_host *h, uint64_t tag);
int proc_host_running(const proc_host *h);

/* ---- the in-memory queue ------------------------------------------------------------------ */

/*
 * Work that waits in memory: /analyze's requests for the service's analysis threads, a batch's
 * calls for its threads or its host. A bounded FIFO of pointers, safe between threads; a full or
 * closed queue refuses (the service answers 503). (The QA worker's work waits in the store, as
 * jobs.)
 */
typedef struct proc_queue proc_queue;

proc_queue *proc_queue_create(size_t cap); /* NULL when out of memory */
/* 0, or -1 when full or closed. */
int proc_queue_push(proc_queue *q, void *item);
/* The oldest item; when empty, NULL at once (wait = 0) or after waiting for one; NULL also
 * once the queue is closed and empty. */
void *proc_queue_pop(proc_queue *q, int wait);
size_t proc_queue_len(proc_queue *q);
/* No more pushes; waiting pops wake (what is queued is still popped). */
void proc_queue_close(proc_queue *q);
void proc_queue_destroy(proc_queue *q); /* NULL is a no-op */

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
