/*
 * investigate_cmd.c - `callqa investigate`: why a call went wrong, from its capture (or SIP as
 * text), its recording and the dialer's status, as POST /investigate answers it (src/net/
 * net_investigate.c; docs/network.md): 2 to 4 plain sentences built on the findings, then the
 * findings; --json prints the route's answer. It runs in callqa-service (libpcap).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "../config/cfg_engine.h"
#include "../config/config.h"
#include "../net/net.h"
#include "cli_args.h"
#include "investigate_cmd.h"
#include "term.h"

/* The answer as text: every string in it came from the capture, the recording or the call
 * info, so each goes through term.h (control bytes as \xHH); the explanation keeps its lines. */
static void print_text(const json_t *o)
{
    cq_cli_term_put(stdout, json_string_value(json_object_get(o, "explanation")), CQ_TERM_LINES);
    fputc('\n', stdout);
    const json_t *m = json_object_get(o, "match");
    if (json_is_object(m)) {
        const json_t *d = json_object_get(m, "dialog");
        if (json_is_integer(d))
            cq_cli_tprintf(stdout, "the call is dialog %lld, by %s: %s\n",
                           (long long)json_integer_value(d),
                           json_string_value(json_object_get(m, "rule")),
                           json_string_value(json_object_get(m, "detail")));
        else
            cq_cli_tprintf(stdout, "no dialog matched the call: %s\n",
                           json_string_value(json_object_get(m, "detail")));
    }
    const json_t *w = json_object_get(o, "warning");
    if (json_is_string(w))
        cq_cli_tprintf(stdout, "warning: %s\n", json_string_value(w));
    const json_t *t = json_object_get(o, "truncated"); /* docs/network/bounds.md "Bounds" */
    static const char *const cut[] = {"dialogs", "sip", "streams", "findings", "rtcp_reports"};
    json_int_t left = 0;
    for (size_t k = 0; k < sizeof(cut) / sizeof(*cut); k++)
        left += json_integer_value(json_object_get(t, cut[k]));
    if (left)
        printf("over the answer's %lld MiB, left out: %lld dialogs, %lld SIP messages, %lld "
               "streams, %lld findings, %lld RTCP reports (--max-answer-mb)\n",
               (long long)(json_integer_value(json_object_get(t, "max_bytes")) >> 20),
               (long long)json_integer_value(json_object_get(t, "dialogs")),
               (long long)json_integer_value(json_object_get(t, "sip")),
               (long long)json_integer_value(json_object_get(t, "streams")),
               (long long)json_integer_value(json_object_get(t, "findings")),
               (long long)json_integer_value(json_object_get(t, "rtcp_reports")));
    const json_t *n = json_object_get(o, "counts");
    json_int_t calls = json_integer_value(json_object_get(n, "dialogs_dropped")),
               nf = json_integer_value(json_object_get(n, "findings_dropped"));
    if (calls || nf)
        printf("past what a capture's reading keeps: %lld Call-IDs not made dialogs, %lld "
               "findings not kept\n",
               (long long)calls, (long long)nf);
    const json_t *re = json_object_get(o, "recording_error");
    if (json_is_string(re))
        cq_cli_tprintf(stdout, "the recording could not be analysed: %s\n", json_string_value(re));
    const json_t *fs = json_object_get(o, "findings");
    if (json_array_size(fs))
        cq_cli_tprintf(stdout, "\nfindings:\n");
    size_t i;
    const json_t *f;
    json_array_foreach(fs, i, f)
        cq_cli_tprintf(stdout, "  [%s] %s: %s\n", json_string_value(json_object_get(f, "severity")),
                       json_string_value(json_object_get(f, "code")),
                       json_string_value(json_object_get(f, "message")));
}

int cq_cli_investigate(int argc, char **argv)
{
    static cfg_settings set;
    cq_engine_params ep;
    cfg_args a;
    int c = cq_cli_analysis_args("investigate", "callqa investigate", argc, argv, &set, &ep, &a);
    if (c >= 0)
        return c;
    int json = cfg_arg_given(&a, "json");
    const char *rec = cfg_arg(&a, "recording"), *in = cfg_arg(&a, "in"), *out = cfg_arg(&a, "out"),
               *status = cfg_arg(&a, "status"), *ci_path = cfg_arg(&a, "call-info");
    net_call_hint hint = {
        .call_id = cfg_arg(&a, "call-id"),
        .uniqueid = cfg_arg(&a, "uniqueid"),
        .caller_code = cfg_arg(&a, "caller-code"),
        .phone = cfg_arg(&a, "phone"),
        .epoch = cfg_arg_given(&a, "call-epoch") ? cfg_arg_num(&a, "call-epoch") : -1,
        .length_sec = cfg_arg_given(&a, "length") ? cfg_arg_num(&a, "length") : -1};
    bool hinted = hint.call_id || hint.uniqueid || hint.caller_code || hint.phone ||
                  hint.epoch >= 0 || hint.length_sec >= 0;
    net_limits lim = net_default_limits();
    lim.max_answer_bytes = set.max_answer;
    if (a.next != argc - 1 || (rec && (in || out)) || (!in != !out)) {
        cq_cli_usage(stderr, "investigate");
        return 2;
    }
    const char *file = argv[a.next];
    cq_engine *e = NULL;
    cq_call_src src = {0};
    if (rec || in) {
        int eerr = 0;
        if (!(e = cq_engine_create(&ep, &eerr))) {
            fprintf(stderr, "callqa: cannot start the engine: %s\n", cq_strerror(eerr));
            return 1;
        }
        src = rec ? (cq_call_src){.path = rec, .name = rec}
                  : (cq_call_src){.in_path = in, .out_path = out, .name = in};
    }
    char *ci = NULL;
    size_t ci_len = 0;
    char err[700];
    if (ci_path &&
        !(ci = cfg_read_file(ci_path, NET_CI_MAX_BYTES + 1, &ci_len, err, sizeof(err)))) {
        cq_cli_tprintf(stderr, "callqa investigate: %s\n", err);
        cq_engine_destroy(e);
        return 1;
    }
    net_inv_input inp = {.capture_path = file,
                         .recording = e ? &src : NULL,
                         .status = status,
                         .call_info = ci,
                         .call_info_len = ci_len,
                         .lim = &lim,
                         .hint = hinted ? &hint : NULL};
    json_t *o = NULL;
    int rc = net_investigate_run(e, &inp, &o, err, sizeof(err));
    cq_engine_destroy(e);
    free(ci);
    if (rc != 0) {
        cq_cli_tprintf(stderr, "callqa investigate: %s: %s\n", file, err);
        return 1;
    }
    if (json) {
        char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
        cq_cli_json_put(stdout, s);
        free(s);
    } else {
        print_text(o);
    }
    json_decref(o);
    return 0;
}
