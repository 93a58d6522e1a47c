/*
 * test_cmd_settings.c - every command's flags in the settings' tables (src/config/cfg_cmds.c):
 * the tables' defaults are the rooms' own (the live server's, the webhook's and the FastAGI
 * server's, the worker's, the ingests', the engine's, the captures' answer bound), a command
 * line is read as the docs say (the file, then CALLQA_*, then the flags; repeated flags; a
 * boolean flag that clears its setting), a value out of range names its flag or key with the
 * range, an unknown flag asks for the usage, and the test hooks are read through their table.
 *   test_cmd_settings            the checks
 *   test_cmd_settings --list     one line per flag of every command, for test_cmd_flags.py:
 *                                "COMMAND<TAB>FLAG<TAB>KEY or -<TAB>LETTER or -<TAB>1 when a
 *                                group's (the analysis, the ASR client)"
 *   test_cmd_settings --hooks    the test hooks' names, one a line
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "callqa/callqa.h"
#include "../../src/clients/webhook.h"
#include "../../src/config/config.h"
#include "../../src/ingest/ingest.h"
#include "../../src/pipeline/pipeline.h"
#include "../../src/live/live.h"
#include "../../src/net/net.h"

static cfg_settings g_set;

/* The table's defaults are what each room starts from when no setting is given. */
static void live_defaults(void **state)
{
    (void)state;
    cfg_defaults(&g_set);
    const cfg_settings *c = &g_set;
    lv_server_params p = lv_server_default_params();
    assert_int_equal(c->live_max_calls, p.max_calls);
    assert_true(c->live_ident_sec == p.ident_sec);
    assert_int_equal(c->live_max_pending, p.max_pending);
    assert_int_equal(c->live_max_pending_per_client, p.max_pending_per_client);
    assert_int_equal(c->live_rtp_max_pending, p.rtp_max_pending);
    assert_true(c->live_max_call_sec == p.max_call_sec);
    assert_true(c->live_stall_sec == p.stall_sec);
    assert_true(c->live_queue_sec == p.queue_sec);
    assert_true(c->live_stats_sec == p.stats_sec);
    assert_int_equal(c->live_mode, p.live_mode);
    assert_true(c->live_silence_sec == p.silence_sec);
    assert_int_equal(c->live_event_queue, (int)p.event_queue);
    assert_int_equal(c->live_vad_batch, p.vad_batch);
    assert_true(fabs(c->live_batch_wait_ms / 1000.0 - p.batch_wait_sec) < 1e-12);
    assert_int_equal(c->live_rtp_window_ms, (int)p.rtp_window_ms);
    assert_int_equal(c->live_ws_rate ? 16000 : 8000, (int)p.ws_rate_hz);
    assert_int_equal(c->live_ws_mix == 2 ? 2 : 1, p.ws_channels);
    assert_int_equal(c->live_mask_dtmf, p.mask_digits);
    assert_int_equal(c->live_threads, 0); /* 0: the server's own, the CPUs it may use */
    assert_string_equal(c->live_rtp_pt, "");
    lv_agi_server_params ap = lv_agi_server_default_params();
    assert_int_equal(c->live_fastagi_timeout_ms, 0); /* 0: the FastAGI server's own, 5 s */
    assert_true(ap.timeout_sec == 5.0);
    wh_params w = wh_default_params();
    assert_int_equal(c->live_webhook_attempts, w.max_attempts);
    assert_true(fabs(c->live_webhook_backoff_ms / 1000.0 - w.backoff_sec) < 1e-12);
    assert_int_equal(c->live_webhook_queue, (int)w.queue);
    assert_true(c->live_webhook_timeout_sec == w.timeout_sec);
}

static void worker_and_ingest_defaults(void **state)
{
    (void)state;
    static pl_worker_config w;
    pl_worker_defaults(&w);
    const cfg_settings *c = &w.svc;
    assert_true(c->worker_max_load == w.max_load);
    assert_string_equal(c->worker_window, w.window);
    assert_string_equal(c->worker_tz, w.tz);
    assert_string_equal(c->worker_cpus, w.cpus);
    assert_int_equal(c->worker_idle, w.idle);
    assert_true(c->worker_min_length_sec == w.min_length_sec);
    assert_true(c->worker_lease_sec == w.lease_sec);
    assert_int_equal(c->worker_max_retries, w.max_retries);
    assert_true(c->worker_backoff_sec == w.backoff_sec);
    assert_true(c->worker_analysis_timeout_sec == w.analysis_timeout_sec);
    assert_string_equal(c->db_path, w.db);
    static ingest_vicidial_config v;
    ingest_vicidial_defaults(&v);
    assert_int_equal(v.svc.vicidial_batch, v.batch);
    assert_true(v.svc.vicidial_open_row_hours == v.open_row_hours);
    assert_true(v.svc.vicidial_retry_sec == v.retry_sec);
    assert_int_equal(v.svc.vicidial_lookback, (int)v.lookback);
    assert_int_equal(v.svc.vicidial_min_length_sec, v.min_length_sec);
    assert_true(v.svc.ingest_interval_sec == v.interval_sec);
}

/* The command's own flags' defaults: those of ingest watch, analyze, sip's answer. */
static void own_defaults(void **state)
{
    (void)state;
    char *argv[] = {"watch", NULL};
    cfg_args a;
    cq_err e;
    cfg_defaults(&g_set);
    assert_int_equal(cfg_parse("ingest watch", 1, argv, &g_set, &a, &e), CQ_OK);
    ingest_watch_config w;
    ingest_watch_defaults(&w);
    assert_string_equal(cfg_arg(&a, "source"), w.source);
    assert_true(cfg_arg_num(&a, "settle-sec") == w.settle_sec);
    assert_true(cfg_arg_num(&a, "pair-wait-sec") == w.pair_wait_sec);
    assert_true((long long)cfg_arg_num(&a, "min-size") == w.min_size);
    assert_true(cfg_arg_num(&a, "rescan-sec") == w.rescan_sec);
    assert_false(cfg_arg_given(&a, "once"));
    char *av[] = {"analyze", NULL};
    assert_int_equal(cfg_parse("analyze", 1, av, &g_set, &a, &e), CQ_OK);
    assert_true(cfg_arg_num(&a, "max-duration") == cq_engine_default_params().max_duration_sec);
    assert_true(isnan(cfg_arg_num(&a, "envelope")));
    assert_true(g_set.max_answer == NET_ANSWER_MAX); /* sip's and investigate's bound */
    assert_true(g_set.live_silence_sec == cq_classify_default_params().silence_event_sec);
}

/* the file, then CALLQA_*, then the flags; each setting's flag goes through its bounds */
static void precedence(void **state)
{
    (void)state;
    char path[] = "/tmp/test_cmd_settings-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "live_max_calls = 10\nlive_stall_sec = 3\nlive_threads = 2\n"
                       "live_rtp_pt = 96=PCMU/8000\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    setenv("CALLQA_LIVE_STALL_SEC", "4", 1);
    setenv("CALLQA_LIVE_THREADS", "3", 1);
    char *argv[] = {"live",
                    "--config",
                    path,
                    "--threads",
                    "5",
                    "--rtp-pt",
                    "97=L16/16000",
                    "--mask-digits",
                    "--audiosocket",
                    "127.0.0.1:0",
                    NULL};
    cfg_args a;
    cq_err e;
    cfg_defaults(&g_set);
    assert_int_equal(cfg_parse("live", 10, argv, &g_set, &a, &e), CQ_OK);
    assert_int_equal(g_set.live_max_calls, 10); /* the file */
    assert_true(g_set.live_stall_sec == 4);     /* the variable over the file */
    assert_int_equal(g_set.live_threads, 5);    /* the flag over both */
    assert_string_equal(g_set.live_rtp_pt, "96=PCMU/8000,97=L16/16000"); /* each adds */
    assert_true(g_set.live_mask_dtmf);
    assert_string_equal(g_set.live_audiosocket, "127.0.0.1:0");
    assert_int_equal(a.next, 10);
    unsetenv("CALLQA_LIVE_STALL_SEC");
    unsetenv("CALLQA_LIVE_THREADS");
    /* a command without --config reads neither */
    setenv("CALLQA_SILENCE_NOISE", "-20", 1);
    char *an[] = {"analyze", "x.wav", NULL};
    cfg_defaults(&g_set);
    assert_int_equal(cfg_parse("analyze", 2, an, &g_set, &a, &e), CQ_OK);
    assert_true(g_set.analysis.silence_noise_db == -35);
    unsetenv("CALLQA_SILENCE_NOISE");
    /* a boolean flag that clears its setting */
    char *sv[] = {"serve", "--no-auth", NULL};
    cfg_defaults(&g_set);
    assert_true(g_set.auth);
    assert_int_equal(cfg_parse("serve", 2, sv, &g_set, &a, &e), CQ_OK);
    assert_false(g_set.auth);
    unlink(path);
}

/* out of range: the flag or the key named, with the value and the range */
static void errors_name_the_setting(void **state)
{
    (void)state;
    cfg_args a;
    cq_err e;
    char *l1[] = {"live", "--max-calls", "0", NULL};
    cfg_defaults(&g_set);
    assert_int_equal(cfg_parse("live", 3, l1, &g_set, &a, &e), CQ_ERR_RANGE);
    assert_string_equal(e.msg, "--max-calls 0: out of range 1..100000");
    assert_false(a.usage);
    char *l2[] = {"worker", "--lease-sec", "soon", NULL};
    assert_int_equal(cfg_parse("worker", 3, l2, &g_set, &a, &e), CQ_ERR_RANGE);
    assert_string_equal(e.msg, "--lease-sec 'soon': not a number (3..86400)");
    char *l3[] = {"analyze", "-j", "0", NULL};
    assert_int_equal(cfg_parse("analyze", 3, l3, &g_set, &a, &e), CQ_ERR_RANGE);
    assert_string_equal(e.msg, "--jobs 0: out of range 1..256");
    char *l4[] = {"live", "--ws-mix", "quad", NULL};
    assert_int_equal(cfg_parse("live", 3, l4, &g_set, &a, &e), CQ_ERR_RANGE);
    assert_string_equal(e.msg, "--ws-mix 'quad': expected mono, mixed or stereo");
    char msg[300];
    assert_int_equal(cfg_set(&g_set, "live_max_calls", "100001", msg, sizeof(msg)), -1);
    assert_string_equal(msg, "live_max_calls 100001: out of range 1..100000");
    setenv("CALLQA_LIVE_QUEUE_SEC", "0", 1);
    char *l5[] = {"live", NULL};
    assert_int_equal(cfg_parse("live", 1, l5, &g_set, &a, &e), CQ_ERR_INVALID);
    assert_string_equal(e.msg, "environment: live_queue_sec 0: out of range 0.1..600");
    unsetenv("CALLQA_LIVE_QUEUE_SEC");
    /* the command line's own mistakes: the usage is shown */
    char *u1[] = {"live", "--max-cals", "3", NULL};
    assert_int_equal(cfg_parse("live", 3, u1, &g_set, &a, &e), CQ_ERR_INVALID);
    assert_true(a.usage);
    assert_string_equal(e.msg, "unknown flag --max-cals");
    char *u2[] = {"worker", "--db", NULL};
    assert_int_equal(cfg_parse("worker", 2, u2, &g_set, &a, &e), CQ_ERR_INVALID);
    assert_true(a.usage);
    assert_string_equal(e.msg, "--db needs a value");
}

/* repeated flags of the command's own, in the order given */
static void repeated(void **state)
{
    (void)state;
    char *argv[] = {"vicidial", "--campaign", "A", "--user", "u1", "--campaign", "B", NULL};
    cfg_args a;
    cq_err e;
    cfg_defaults(&g_set);
    assert_int_equal(cfg_parse("ingest vicidial", 7, argv, &g_set, &a, &e), CQ_OK);
    int i = 0;
    assert_string_equal(cfg_arg_each(&a, "campaign", &i), "A");
    assert_string_equal(cfg_arg_each(&a, "campaign", &i), "B");
    assert_null(cfg_arg_each(&a, "campaign", &i));
    assert_string_equal(cfg_arg(&a, "campaign"), "B"); /* the last */
    assert_null(cfg_arg(&a, "ingroup"));
}

/* Each command's flags are its own once, each setting one it names exists, and each has --help. */
static void tables(void **state)
{
    (void)state;
    const char *cmd;
    size_t n_cmds = 0, n_flags = 0;
    for (size_t i = 0; (cmd = cfg_cmd_at(i)); i++, n_cmds++) {
        const char *f, *g, *key;
        bool help = false;
        for (size_t j = 0; (f = cfg_cmd_flag_at(cmd, j, &key, NULL, NULL)); j++, n_flags++) {
            help = help || !strcmp(f, "help");
            cfg_info in;
            if (key && !cfg_info_of(key, &in))
                fail_msg("%s --%s: no setting %s", cmd, f, key);
            for (size_t k = j + 1; (g = cfg_cmd_flag_at(cmd, k, NULL, NULL, NULL)); k++)
                if (!strcmp(f, g))
                    fail_msg("%s: --%s twice", cmd, f);
        }
        if (!help)
            fail_msg("%s: no --help", cmd);
    }
    assert_true(n_cmds >= 20);
    assert_true(n_flags > 200);
}

/* Every command's --help page is its table's: it starts with its usage, the {...} of the
 * meanings filled in (none left), every line within 100 columns but the --only list's. */
static void pages(void **state)
{
    (void)state;
    const char *cmd;
    for (size_t i = 0; (cmd = cfg_cmd_at(i)); i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        cfg_usage(f, cmd, "levels,vad");
        fclose(f);
        if (strncmp(text, "usage: callqa ", 14))
            fail_msg("%s: the page starts '%.30s'", cmd, text);
        if (strstr(text, "{default}") || strstr(text, "{lo}") || strstr(text, "{analyzers}"))
            fail_msg("%s: a {...} left on the page", cmd);
        for (const char *l = text; *l;) {
            size_t n = strcspn(l, "\n");
            if (n > 100 && !strstr(l, "levels,vad"))
                fail_msg("%s: a line of %zu columns: %.60s", cmd, n, l);
            l += n + (l[n] == '\n');
        }
        free(text);
    }
}

/* A hook's name outside the table stops the program: a hook cannot be added unlisted. */
static void hooks(void **state)
{
    (void)state;
    setenv("CALLQA_TEST_KILL_AT", "claimed", 1);
    assert_string_equal(cfg_test_hook("KILL_AT"), "claimed");
    unsetenv("CALLQA_TEST_KILL_AT");
    assert_null(cfg_test_hook("KILL_AT"));
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        (void)cfg_test_hook("NO_SUCH_HOOK");
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

static int list(void)
{
    const char *cmd;
    for (size_t i = 0; (cmd = cfg_cmd_at(i)); i++) {
        const char *f, *key;
        char letter;
        bool grouped;
        for (size_t j = 0; (f = cfg_cmd_flag_at(cmd, j, &key, &letter, &grouped)); j++)
            printf("%s\t%s\t%s\t%c\t%d\n", cmd, f, key ? key : "-", letter ? letter : '-', grouped);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list"))
        return list();
    if (argc == 2 && !strcmp(argv[1], "--hooks")) {
        const char *h;
        for (size_t i = 0; (h = cfg_test_hook_at(i, NULL)); i++)
            printf("%s\n", h);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_defaults),
        cmocka_unit_test(worker_and_ingest_defaults),
        cmocka_unit_test(own_defaults),
        cmocka_unit_test(precedence),
        cmocka_unit_test(errors_name_the_setting),
        cmocka_unit_test(repeated),
        cmocka_unit_test(tables),
        cmocka_unit_test(pages),
        cmocka_unit_test(hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
