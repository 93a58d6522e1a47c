/*
 * investigate_cmd.c - `callqa investigate`: why a call went wrong, from its capture (or SIP as
 * text), its recording and the dialer's status, as POST /investigate answers it (src/net/
 * investigate.c; docs/network.md): 2 to 4 plain sentences built on the findings, then the
 * findings; --json prints the route's answer. It runs in callqa-service (libpcap).
 */
#include <errno.h>
#include <getopt.h>
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
#include "cli_common.h"
#include "serve_cmd.h"
#include "term.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: callqa investigate [--json] [--recording FILE | --in FILE --out FILE]\n"
            "                          [--status STATUS] [--call-info FILE] [--call-id ID]\n"
            "                          [--uniqueid ID] [--caller-code CODE] [--phone NUMBER]\n"
            "                          [--call-epoch SECONDS] [--length SECONDS]\n"
            "                          [--max-answer-mb N]\n"
            "                          [analysis options] CAPTURE\n"
            "  why the call went wrong: the capture's dialogs, streams and findings (CAPTURE:\n"
            "  pcap, pcapng, or SIP as text), held against the call's recording when given\n"
            "  --recording FILE   the call's recording (stereo or mono); --in/--out: its legs\n"
            "  --status STATUS    the dialer's status for the call\n"
            "  --call-info FILE   the dialer's call_info (carrier log, queue, DID) as text\n"
            "  --call-id, --uniqueid, --caller-code, --phone, --call-epoch, --length\n"
            "                     the stored call (its SIP Call-ID, Asterisk uniqueid, ViciDial\n"
            "                     caller code, number, start in UTC epoch seconds, length in\n"
            "                     seconds): the dialog looked at is the one they match\n"
            "  --json             the answer of POST /investigate (docs/network.md)\n"
            "  --max-answer-mb N  the answer's bound, 2 to 4096 MiB (16): `truncated` counts\n"
            "                     what a capture too big for it left out\n");
    cfg_flag_help(f, CFG_FLAGS_ANALYSIS);
}

/* A number of seconds from 0 ("1714645800", "61.5") into *v. */
static bool seconds_of(const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(x) || x < 0)
        return false;
    *v = x;
    return true;
}

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
    const json_t *t = json_object_get(o, "truncated"); /* docs/network.md "Bounds" */
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
    enum {
        O_JSON = 256,
        O_REC,
        O_IN,
        O_OUT,
        O_STATUS,
        O_CI,
        O_ONLY,
        O_CALL_ID,
        O_UNIQUEID,
        O_CALLER_CODE,
        O_PHONE,
        O_EPOCH,
        O_LENGTH,
        O_MAX_MB,
        O_CFG = 1000
    };
    static const struct option own[] = {
        {"json", no_argument, NULL, O_JSON},
        {"recording", required_argument, NULL, O_REC},
        {"in", required_argument, NULL, O_IN},
        {"out", required_argument, NULL, O_OUT},
        {"status", required_argument, NULL, O_STATUS},
        {"only", required_argument, NULL, O_ONLY},
        {"call-info", required_argument, NULL, O_CI},
        {"call-id", required_argument, NULL, O_CALL_ID},
        {"uniqueid", required_argument, NULL, O_UNIQUEID},
        {"caller-code", required_argument, NULL, O_CALLER_CODE},
        {"phone", required_argument, NULL, O_PHONE},
        {"call-epoch", required_argument, NULL, O_EPOCH},
        {"length", required_argument, NULL, O_LENGTH},
        {"max-answer-mb", required_argument, NULL, O_MAX_MB},
        {"help", no_argument, NULL, 'h'},
    };
    enum { N_OWN = sizeof(own) / sizeof(own[0]) };
    struct option opts[N_OWN + 64];
    if (cfg_flag_options(own, N_OWN, CFG_FLAGS_ANALYSIS, opts, N_OWN + 64, O_CFG) < 0) {
        fprintf(stderr, "callqa: too many flags\n");
        return 2;
    }
    static cfg_settings set;
    cfg_defaults(&set);
    cq_engine_params ep = cq_engine_default_params();
    int json = 0, c;
    const char *rec = NULL, *in = NULL, *out = NULL, *status = NULL, *ci_path = NULL;
    net_call_hint hint = {.epoch = -1, .length_sec = -1};
    bool hinted = false;
    net_limits lim = net_default_limits();
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_REC: rec = optarg; break;
        case O_IN: in = optarg; break;
        case O_OUT: out = optarg; break;
        case O_STATUS: status = optarg; break;
        case O_CI: ci_path = optarg; break;
        case O_CALL_ID: hint.call_id = optarg, hinted = true; break;
        case O_UNIQUEID: hint.uniqueid = optarg, hinted = true; break;
        case O_CALLER_CODE: hint.caller_code = optarg, hinted = true; break;
        case O_PHONE: hint.phone = optarg, hinted = true; break;
        case O_EPOCH:
        case O_LENGTH:
            if (!seconds_of(optarg, c == O_EPOCH ? &hint.epoch : &hint.length_sec)) {
                fprintf(stderr, "callqa investigate: --%s wants seconds (a number from 0): %s\n",
                        c == O_EPOCH ? "call-epoch" : "length", optarg);
                return 2;
            }
            hinted = true;
            break;
        case O_MAX_MB: {
            double mb;
            if (cq_cli_number("callqa investigate", "--max-answer-mb", optarg, 2, 4096, &mb))
                return 2;
            lim.max_answer_bytes = (size_t)(mb * 1048576);
            break;
        }
        case 'h': usage(stdout); return 0;
        default:
            if (cq_cli_analysis_flag(c, O_ONLY, O_CFG, optarg, &set, &ep, usage))
                return 2;
        }
    }
    if (optind != argc - 1 || (rec && (in || out)) || (!in != !out)) {
        usage(stderr);
        return 2;
    }
    const char *file = argv[optind];
    cq_engine *e = NULL;
    cq_call_src src = {0};
    if (rec || in) {
        cfg_engine_params(&set, &ep);
        char model_dir[4096];
        if (!ep.model_dir && cq_model_dir_default(model_dir, sizeof(model_dir)) == CQ_OK)
            ep.model_dir = model_dir;
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
