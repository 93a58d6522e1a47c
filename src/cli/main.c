/*
 * main.c - the callqa command line: analyze recordings one by one or in batches.
 *
 *   callqa analyze [options] FILE|DIR...     one report per call
 *   callqa analyze [options] --in A --out B  a call given as two leg files
 *
 * A batch's calls wait in a proc_queue; -j N of them run at once, each in a child process of
 * its own under the child host (proc_host_run, as the QA worker's and the service's analyses
 * do; see call_in_child), or with --no-isolate on threads sharing one engine. Reports are
 * printed in input order as they complete. A failing call prints one error line and the batch
 * goes on; the exit status is 1 if any call failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "callqa/callqa.h"
#include "../config/cfg_engine.h"
#include "classify_cmd.h"
#include "cli_args.h"
#include "plan.h"
#include "../proc/proc.h"
#include "term.h"
#include "callqa/cq_clock.h"

#define MAX_PARALLEL 256 /* -j: its bound in src/config/cfg_cmds.c */

typedef struct result {
    char *text;       /* rendered report (text or JSON line), or NULL */
    char *error;      /* one error line, or NULL */
    double audio_sec; /* analysed audio (longest leg) */
    int done;
} result;

typedef struct batch {
    const cq_engine *engine;
    const plan_call *calls;
    size_t n;
    int json;
    int isolate; /* one child process per call (batches), see call_in_child */
    result *res;
    proc_queue *queue; /* the calls not yet started (pointers into calls) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} batch;

/* Reports are printed in input order: everything done from `printed` on goes out now. */
typedef struct printer {
    size_t printed, failed;
    double audio, last_bar, t0;
    int bar, out_tty;
} printer;

static char *json_error_line(const char *file, const cq_err *err)
{
    /* {"file":...,"error":...,"code":...}: strings escaped by hand, the CLI keeps jansson out */
    size_t cap = 64 + 6 * (strlen(file) + strlen(err->msg));
    char *s = malloc(cap), *p = s;
    if (!s)
        return NULL;
    const char *parts[2] = {file, err->msg};
    p += sprintf(p, "{\"file\":\"");
    for (int k = 0; k < 2; k++) {
        for (const unsigned char *c = (const unsigned char *)parts[k]; *c; c++) {
            if (*c == '"' || *c == '\\')
                p += sprintf(p, "\\%c", *c);
            else if (*c < 0x20)
                p += sprintf(p, "\\u%04x", *c);
            else
                *p++ = (char)*c;
        }
        p += sprintf(p, k == 0 ? "\",\"error\":\"" : "\",\"code\":\"%s\"}",
                     cq_status_name(err->code));
    }
    return s;
}

/* Analyze call i and fill r (text, error, audio_sec). */
static void analyze_call(const batch *b, size_t i, result *r)
{
    const plan_call *c = &b->calls[i];
    cq_err err;
    cq_err_clear(&err);
    cq_report *rep = NULL;
    cq_legs_resolved lr;
    const char *name = c->path ? c->path : c->in;
    int rc = cq_cli_analyze_call(b->engine, c->path, c->in, c->out, &lr, &rep, &err);
    if (rc == CQ_OK) {
        r->audio_sec = rep->duration_sec;
        char *t = b->json ? cq_report_to_json(rep) : cq_report_to_text(rep);
        r->text = t ? strdup(t) : NULL;
        cq_report_free_string(t);
        if (!r->text)
            r->error = strdup("callqa: out of memory rendering the report");
    } else {
        if (asprintf(&r->error, "callqa: %s", err.msg[0] ? err.msg : cq_strerror(rc)) < 0)
            r->error = NULL;
        if (b->json)
            r->text = json_error_line(name, &err);
    }
    cq_report_destroy(rep);
    cq_legs_resolved_free(&lr);
}

/*
 * Isolated batches: each call is analysed in a child process (src/proc/), so that a crash inside
 * a decoding library (libsndfile and its codecs have open fuzzing bugs upstream) fails that call
 * only. The children are forked by the main thread of a process that has started no thread of
 * its own. A child sends audio_sec, text and error back through its pipe.
 */
typedef struct isolated {
    batch *b;
    printer *pr;
    size_t i; /* the call the child about to start runs */
} isolated;

static void call_in_child(void *arg, int fd)
{
    const isolated *iso = arg;
    const plan_call *pc = &iso->b->calls[iso->i];
    /* fault injection for tests/cli/test_cli.sh: crash on calls whose name contains it */
    const char *crash = cfg_test_hook("CRASH_ON");
    if (crash && *crash && strstr(pc->path ? pc->path : pc->in, crash))
        raise(SIGSEGV);
    result cr = {0};
    analyze_call(iso->b, iso->i, &cr);
    proc_write_all(fd, &cr.audio_sec, sizeof(cr.audio_sec));
    proc_write_str(fd, cr.text);
    proc_write_str(fd, cr.error);
    free(cr.text);
    free(cr.error);
}

/* What a child sent (or how it died) as the call's result. */
static void child_result(const batch *b, const proc_done *d, result *r)
{
    const plan_call *pc = &b->calls[d->tag];
    const char *name = pc->path ? pc->path : pc->in;
    proc_reader rd = proc_reader_of(d->data, d->len);
    if (d->outcome == PROC_DONE) {
        proc_read_val(&rd, &r->audio_sec, sizeof(r->audio_sec));
        r->text = proc_read_str(&rd);
        r->error = proc_read_str(&rd);
    }
    if (d->outcome != PROC_DONE || proc_reader_end(&rd) != 0) {
        free(r->text);
        free(r->error);
        r->text = r->error = NULL;
        r->audio_sec = 0;
        char why[160] = "sent a truncated answer";
        if (d->outcome != PROC_DONE)
            proc_done_why(d, 0, why, sizeof(why));
        cq_err err;
        cq_err_clear(&err);
        err.code = CQ_ERR_INTERNAL;
        snprintf(err.msg, sizeof(err.msg), "%s: the analysis process %s on this file; skipped",
                 name, why);
        if (asprintf(&r->error, "callqa: %s", err.msg) < 0)
            r->error = NULL;
        if (b->json)
            r->text = json_error_line(name, &err);
    }
    r->done = 1;
}

static void run_call(batch *b, size_t i)
{
    result *r = &b->res[i];
    analyze_call(b, i, r);
    pthread_mutex_lock(&b->mu);
    r->done = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void *batch_thread(void *arg)
{
    batch *b = arg;
    const plan_call *pc;
    while ((pc = proc_queue_pop(b->queue, 0)))
        run_call(b, (size_t)(pc - b->calls));
    return NULL;
}

static void progress(size_t done, size_t n, double audio, double t0)
{
    const int width = 30;
    int fill = n ? (int)(width * done / n) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu calls, %.2f h audio, %.1f s", fill,
            "##############################", width - fill, "", done, n, audio / 3600.0,
            cq_clock_mono_sec() - t0);
    fflush(stderr);
}

static void print_ready(batch *b, printer *pr)
{
    while (pr->printed < b->n) {
        pthread_mutex_lock(&b->mu);
        int done = b->res[pr->printed].done;
        pthread_mutex_unlock(&b->mu);
        if (!done)
            return;
        result *r = &b->res[pr->printed];
        if (pr->bar && (r->error || pr->out_tty))
            fprintf(stderr, "\r\033[K"); /* a line on the terminal replaces the bar */
        if (r->error) { /* a file's name and its error: text from outside, escaped (term.h) */
            pr->failed++;
            cq_cli_term_put(stderr, r->error, 0);
            fputc('\n', stderr);
        }
        if (r->text && b->json) {
            cq_cli_json_put(stdout, r->text);
        } else if (r->text) {
            cq_cli_term_put(stdout, r->text, CQ_TERM_LINES);
            fputc('\n', stdout);
        }
        fflush(stdout);
        pr->audio += r->audio_sec;
        pr->printed++;
        if (pr->bar && (pr->printed == b->n || cq_clock_mono_sec() - pr->last_bar > 0.1)) {
            progress(pr->printed, b->n, pr->audio, pr->t0); /* at most 10 redraws/s */
            pr->last_bar = cq_clock_mono_sec();
        }
        free(r->error);
        free(r->text);
        r->error = r->text = NULL;
    }
}

/* The child host's queue: the next call of the batch, in a child of its own. */
static proc_next isolated_next(void *ctx, proc_task *t)
{
    isolated *iso = ctx;
    const plan_call *pc = proc_queue_pop(iso->b->queue, 0);
    if (!pc)
        return PROC_NEXT_DRAINED;
    iso->i = (size_t)(pc - iso->b->calls); /* the child forks with its own copy of *iso */
    *t = (proc_task){.tag = iso->i, .fn = call_in_child, .arg = iso};
    return PROC_NEXT_TASK;
}

static void isolated_done(void *ctx, const proc_done *d)
{
    isolated *iso = ctx;
    result *r = &iso->b->res[d->tag];
    if (d->outcome == PROC_NOT_STARTED) /* no process to spare: here, unisolated */
        analyze_call(iso->b, (size_t)d->tag, r);
    else
        child_result(iso->b, d, r);
    r->done = 1;
    print_ready(iso->b, iso->pr);
}

/* Isolated batch: up to `parallel` children at once, all forked from this (only) thread. */
static void run_isolated(batch *b, long parallel, printer *pr)
{
    isolated iso = {.b = b, .pr = pr};
    proc_limits lim = {.children = (int)parallel};
    proc_host_ops ops = {.next = isolated_next, .done = isolated_done};
    if (proc_host_run(&lim, &ops, &iso) != 0) { /* no memory for the host: here, one by one */
        const plan_call *pc;
        while ((pc = proc_queue_pop(b->queue, 0))) {
            size_t i = (size_t)(pc - b->calls);
            analyze_call(b, i, &b->res[i]);
            b->res[i].done = 1;
        }
    }
    print_ready(b, pr);
}

/*
 * `callqa --help`: every command on one line, by task (the commands' own pages are their tables',
 * src/config/cfg_cmds.c). tests/cli/test_help.py holds it to at most 60 lines, each command it
 * lists to a --help page with an example, and man callqa to every one of them.
 */
static const char k_overview[] =
    "usage: callqa COMMAND [options] [ARGS...]\n"
    "\n"
    "Analyse call recordings and captures (levels, silences, speech, quality, events,\n"
    "the conversation), follow live calls, and run the QA system that stores, scores\n"
    "and serves them.\n"
    "\n"
    "Analyse recordings and captures:\n"
    "  analyze FILE|DIR...            a report of each call: levels, speech, events\n"
    "  analyze --transcribe FILE...   and its transcript, from an ASR server\n"
    "  analyze --pcap CAPTURE         the call a capture carries, analysed as a recording\n"
    "  classify -|FILE...             a stream's call events, as they are decided\n"
    "  sip CAPTURE                    a capture's SIP dialogs, findings, RTP streams\n"
    "  investigate CAPTURE            why a call went wrong (and its recording)\n"
    "\n"
    "Live calls:\n"
    "  live --audiosocket HOST:PORT   the events of live calls, as they happen\n"
    "\n"
    "QA system:\n"
    "  serve                          the HTTP service: the API and the dashboard\n"
    "  worker --db STORE              analyse, transcribe and score queued calls\n"
    "  requeue --db STORE             analyse stored calls again\n"
    "  ingest vicidial ...            queue a ViciDial dialer's calls\n"
    "  ingest watch --dir DIR         queue the recordings written to a folder\n"
    "  transcript import FILE         attach a transcript made elsewhere to a call\n"
    "  score --transcript FILE        score one call on a scorecard\n"
    "  store migrate ...              move a SQLite store to PostgreSQL\n"
    "  store audit --db STORE         the audit trail, as JSON lines\n"
    "  store routes --db STORE        what changed on each route\n"
    "  store redact --db STORE        redact calls stored before redaction was on\n"
    "  store purge                    delete what the retention settings say is due\n"
    "  store erase --phone NUMBER     delete a caller's calls (or --lead, --agent)\n"
    "  user add|list|... [NAME]       the service's users and their API tokens\n"
    "  ask grants                     the MySQL grants of POST /ask's account\n"
    "\n"
    "Other:\n"
    "  version                        callqa's version\n"
    "  help [COMMAND]                 this text, or a command's\n"
    "\n"
    "Example: callqa analyze samples/sample-call.wav\n"
    "\n"
    "More: callqa COMMAND --help (its options and an example), man callqa, and the\n"
    "source tree's docs/ (docs/README.md: its pages by reader).\n";

static void overview(FILE *f)
{
    fputs(k_overview, f);
}

static void usage(FILE *f)
{
    cq_cli_usage(f, "analyze");
}

/* The CPUs this process may run on (its affinity: taskset, a container's cpuset), else the
 * online ones. */
static long usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static int cmd_analyze(int argc, char **argv)
{
    static cfg_settings set; /* 140 KiB: not on the stack; zero for cq_cli_analysis_args */
    cq_engine_params ep;
    cfg_args a;
    int rc = cq_cli_analysis_args("analyze", "callqa", argc, argv, &set, &ep, &a);
    if (rc >= 0)
        return rc;
    int json = cfg_arg_given(&a, "json"), quiet = cfg_arg_given(&a, "quiet");
    int isolate = !cfg_arg_given(&a, "no-isolate");
    long parallel = cfg_arg_given(&a, "jobs") ? (long)cfg_arg_num(&a, "jobs") : usable_cpus();
    const char *in = cfg_arg(&a, "in"), *out = cfg_arg(&a, "out");
    if (cfg_arg_given(&a, "max-duration"))
        ep.max_duration_sec = cfg_arg_num(&a, "max-duration");
    if (cfg_arg_given(&a, "envelope"))
        ep.envelope_ms = (int)cfg_arg_num(&a, "envelope");
    ep.profile = ep.profile || cfg_arg_given(&a, "profile");
    if (!in != !out) {
        fprintf(stderr, "callqa: --in and --out go together (inbound and outbound leg files)\n");
        return 2;
    }
    if (!in && a.next >= argc) {
        usage(stderr);
        return 2;
    }
    plan_paths pp = {0};
    plan_call *calls = NULL;
    size_t n = 0;
    int failed_dirs = plan_expand(&pp, argv + a.next, argc - a.next, stderr);
    if (failed_dirs < 0 || plan_calls(&pp, &calls, &n) < 0) {
        fprintf(stderr, "callqa: out of memory\n");
        plan_paths_free(&pp);
        return 2;
    }
    if (in) { /* --in/--out is one more call, first */
        plan_call *nc = realloc(calls, (n + 1) * sizeof(*nc));
        if (!nc) {
            fprintf(stderr, "callqa: out of memory\n");
            return 2;
        }
        calls = nc;
        memmove(calls + 1, calls, n * sizeof(*calls));
        calls[0] = (plan_call){.in = in, .out = out};
        n++;
    }
    if ((size_t)parallel > n)
        parallel = (long)(n ? n : 1);
    /* cores the calls leave idle go to NISQA's network */
    long ncpu = usable_cpus();
    ep.nisqa_threads = ncpu > parallel ? (int)(ncpu / parallel) : 1;
    if (ep.nisqa_threads > 64)
        ep.nisqa_threads = 64;

    int ecode = 0;
    cq_engine *engine = cq_engine_create(&ep, &ecode);
    if (!engine) {
        fprintf(stderr, "callqa: cannot start: %s (check the --vad-* and --nisqa-* options)\n",
                cq_strerror(ecode));
        free(calls);
        plan_paths_free(&pp);
        return 2;
    }
    if (!quiet && cq_engine_vad_status(engine))
        fprintf(stderr, "callqa: %s\n", cq_engine_vad_status(engine));
    if (!quiet && cq_engine_nisqa_status(engine))
        fprintf(stderr, "callqa: %s\n", cq_engine_nisqa_status(engine));

    batch b = {.engine = engine, .calls = calls, .n = n, .json = json, .isolate = isolate && n > 1};
    b.res = calloc(n ? n : 1, sizeof(result));
    b.queue = proc_queue_create(n ? n : 1);
    for (size_t i = 0; b.queue && i < n; i++)
        proc_queue_push(b.queue, (void *)&calls[i]);
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    pthread_t tids[MAX_PARALLEL];
    long started = 0;
    double t0 = cq_clock_mono_sec();
    if (!b.res || !b.queue) {
        fprintf(stderr, "callqa: out of memory\n");
        return 2;
    }
    printer pr = {.bar = !quiet && n > 1 && isatty(STDERR_FILENO),
                  .out_tty = isatty(STDOUT_FILENO),
                  .t0 = t0};
    if (b.isolate) {
        run_isolated(&b, parallel, &pr);
    } else {
        if (parallel > 1) /* one at a time (or one call): no thread to start, it runs here */
            for (long j = 0; j < parallel; j++)
                if (pthread_create(&tids[j], NULL, batch_thread, &b) == 0)
                    started++;
        if (started == 0 && n)
            batch_thread(&b);
        while (pr.printed < n) {
            pthread_mutex_lock(&b.mu);
            while (!b.res[pr.printed].done)
                pthread_cond_wait(&b.cv, &b.mu);
            pthread_mutex_unlock(&b.mu);
            print_ready(&b, &pr);
        }
    }
    size_t failed = pr.failed;
    double audio = pr.audio;
    const int bar = pr.bar;
    for (long j = 0; j < started; j++)
        pthread_join(tids[j], NULL);
    double wall = cq_clock_mono_sec() - t0;
    if (bar)
        fprintf(stderr, "\r\033[K");
    if (!quiet)
        fprintf(stderr,
                "callqa: %zu call%s, %zu failed, %.3f h of audio in %.2f s (%.0fx real time, "
                "%ld at once)\n",
                n, n == 1 ? "" : "s", failed, audio / 3600.0, wall, wall > 0 ? audio / wall : 0.0,
                parallel);
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.cv);
    free(b.res);
    proc_queue_destroy(b.queue);
    free(calls);
    plan_paths_free(&pp);
    cq_engine_destroy(engine);
    return failed || failed_dirs ? 1 : 0;
}

/*
 * The service's commands live in the callqa-service program beside this one (or at
 * $CALLQA_SERVICE), so that an analysis loads none of the service's libraries. The process is
 * replaced: its pid, signals and exit status are the service's.
 */
static int run_service(char **argv)
{
    char path[4096];
    const char *env = getenv("CALLQA_SERVICE");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
        if (!slash || (size_t)(slash - path) + sizeof("/callqa-service") > sizeof(path)) {
            fprintf(stderr, "callqa: cannot find the callqa-service program\n");
            return 2;
        }
        memcpy(slash, "/callqa-service", sizeof("/callqa-service"));
    }
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "callqa: cannot run %s: %s (it is built and installed beside callqa)\n", path,
            strerror(errno));
    return 2;
}

static char k_help_flag[] = "--help";

static int run(int argc, char **argv)
{
    if (argc < 2) {
        overview(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "analyze")) {
        for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
            if (!strcmp(argv[i], "--transcribe") || !strcmp(argv[i], "--pcap") ||
                !strncmp(argv[i], "--pcap=", 7))
                return run_service(argv); /* libcurl's transcription client; libpcap */
        return cmd_analyze(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "classify"))
        return cq_cli_classify(argc - 1, argv + 1);
    /* live: its webhooks are libcurl's */
    if (!strcmp(argv[1], "serve") || !strcmp(argv[1], "worker") || !strcmp(argv[1], "requeue") ||
        !strcmp(argv[1], "live") || !strcmp(argv[1], "ingest") || !strcmp(argv[1], "transcript") ||
        !strcmp(argv[1], "score") || !strcmp(argv[1], "store") || !strcmp(argv[1], "sip") ||
        !strcmp(argv[1], "investigate") || !strcmp(argv[1], "ask") || !strcmp(argv[1], "user"))
        return run_service(argv);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            printf("usage: callqa version\n  callqa's version, as callqa VERSION\n"
                   "\nExample: callqa version\n");
            return 0;
        }
        printf("callqa %s\n", cq_version());
        return 0;
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        if (!strcmp(argv[1], "help") && argc > 2 && argv[2][0] != '-') {
            /* callqa help COMMAND...: callqa COMMAND... --help */
            char **av = calloc((size_t)argc + 1, sizeof(*av));
            if (!av) {
                fprintf(stderr, "callqa: out of memory\n");
                return 2;
            }
            av[0] = argv[0];
            for (int i = 2; i < argc; i++)
                av[i - 1] = argv[i];
            av[argc - 1] = k_help_flag;
            int rc = run(argc, av);
            free(av);
            return rc;
        }
        overview(stdout);
        return 0;
    }
    fprintf(stderr, "callqa: unknown command '%s' (callqa --help: the commands)\n", argv[1]);
    return 2;
}

int main(int argc, char **argv)
{
    return run(argc, argv);
}
