/*
 * inv_run.c - one investigation from its inputs, as `callqa investigate` and POST /investigate
 * run it: a capture (pcap, pcapng, or SIP as text: told apart by their first bytes) and/or SIP
 * text, the call's recording through the engine (the library's public API), the dialer's
 * status, the stored call's identifiers and times (match.c picks its dialog); then
 * net_investigate.c's findings and sentences, as one JSON answer. No network, no store.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "net_int.h"

#define TEXT_MAX ((size_t)64 << 20)

bool net_looks_like_text(const void *bytes, size_t n)
{
    const unsigned char *b = bytes;
    if (n < 4)
        return n > 0;
    static const unsigned char magic[][4] = {{0xd4, 0xc3, 0xb2, 0xa1},
                                             {0xa1, 0xb2, 0xc3, 0xd4},
                                             {0x4d, 0x3c, 0xb2, 0xa1},
                                             {0xa1, 0xb2, 0x3c, 0x4d},
                                             {0x0a, 0x0d, 0x0d, 0x0a}};
    for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
        if (!memcmp(b, magic[i], 4))
            return false;
    for (size_t i = 0; i < n && i < 512; i++)
        if (b[i] < 0x09 || (b[i] > 0x0d && b[i] < 0x20 && b[i] != 0x1b))
            return false;
    return true;
}

int net_read_any_mem(const void *bytes, size_t len, const net_limits *lim, net_capture **out,
                     char *err, size_t errsz)
{
    if (!net_looks_like_text(bytes, len))
        return net_capture_read_mem(bytes, len, lim, out, err, errsz);
    if (len > TEXT_MAX) {
        *out = NULL;
        snprintf(err, errsz, "SIP text over %zu MiB", TEXT_MAX >> 20);
        return -1;
    }
    return net_sip_text_read(bytes, len, lim, out, err, errsz);
}

int net_read_any_path(const char *path, const net_limits *lim, net_capture **out, char *err,
                      size_t errsz)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) /* libpcap says why, in its words */
        return net_capture_read_path(path, lim, out, err, errsz);
    unsigned char head[512];
    size_t n = fread(head, 1, sizeof(head), f);
    if (!net_looks_like_text(head, n)) {
        fclose(f);
        return net_capture_read_path(path, lim, out, err, errsz);
    }
    char *buf = malloc(TEXT_MAX);
    if (buf)
        memcpy(buf, head, n);
    size_t len = buf ? n + fread(buf + n, 1, TEXT_MAX - n, f) : 0;
    bool more = buf && fgetc(f) != EOF;
    fclose(f);
    if (!buf || more) {
        free(buf);
        snprintf(err, errsz, buf ? "SIP text over %zu MiB" : "out of memory", TEXT_MAX >> 20);
        return -1;
    }
    int rc = net_sip_text_read(buf, len, lim, out, err, errsz);
    free(buf);
    return rc;
}

/* What the recording says, in brief: its layout, one-way verdict, NISQA per leg (named by its
 * model) and the DTMF it heard. */
static json_t *recording_json(const cq_report *r)
{
    json_t *o = json_pack("{s:s,s:f,s:s}", "file", r->file ? r->file : "", "duration_sec",
                          r->duration_sec, "layout", r->layout ? r->layout : "");
    const cq_conversation *cv = &r->conversation;
    json_object_set_new(o, "one_way",
                        !r->has_conversation || cv->one_way < 0 ? json_null()
                                                                : json_boolean(cv->one_way == 1));
    json_object_set_new(o, "silent_leg",
                        r->has_conversation && cv->one_way == 1
                            ? json_string(cv->one_way_silent_leg ? "outbound" : "inbound")
                            : json_null());
    json_t *q = json_object();
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    for (int l = 0; l < 2; l++)
        if (L[l])
            json_object_set_new(q,
                                l             ? "outbound"
                                : r->has_legs ? "inbound"
                                              : "mixed",
                                L[l]->has_nisqa ? json_real(L[l]->nisqa.mos) : json_null());
    json_object_set_new(o, "speech_mos", json_pack("{s:s,s:o}", "model", "NISQA v2", "legs", q));
    return o;
}

json_t *net_call_match_json(const net_call_match *m)
{
    return json_pack("{s:o,s:o,s:s,s:i}", "dialog",
                     m->dialog != SIZE_MAX ? json_integer((json_int_t)m->dialog) : json_null(),
                     "rule", m->rule ? json_string(m->rule) : json_null(), "detail", m->detail,
                     "candidates", m->candidates);
}

int net_investigation_answer(net_capture *c, size_t dialog, const cq_report *rec,
                             const net_call_info *ci, const char *status, size_t max_bytes,
                             json_t **answer)
{
    *answer = NULL;
    size_t focus = c && dialog < c->n_dialogs ? dialog : net_primary_dialog(c);
    net_capture *v = NULL;
    size_t fv = SIZE_MAX;
    int vrc = c ? net_capture_view(c, focus, max_bytes, &v, &fv) : 0;
    net_capture_free(c);
    if (vrc != 0)
        return -1;
    net_investigation inv;
    if (net_investigate_dialog(v, fv, rec, ci, status, &inv) != 0) {
        net_capture_view_free(v);
        return -1;
    }
    json_t *o = net_investigation_json(v, &inv);
    net_investigation_free(&inv);
    net_capture_view_free(v);
    if (!o)
        return -1;
    if (!json_is_object(json_object_get(o, "truncated"))) { /* no capture: nothing to cut */
        net_cut none = {.max_bytes = max_bytes};
        json_object_set_new(o, "truncated", net_cut_json(&none));
    }
    *answer = o;
    return 0;
}

/* The dialer's status, at most NET_STATUS_MAX bytes (not cutting a UTF-8 character), into buf;
 * the bytes left out in *cut. */
static const char *status_of(const char *s, char buf[NET_STATUS_MAX + 1], uint64_t *cut)
{
    size_t n = strlen(s), k = n;
    if (k > NET_STATUS_MAX) {
        k = NET_STATUS_MAX;
        while (k && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
    }
    memcpy(buf, s, k);
    buf[k] = 0;
    *cut = n - k;
    return buf;
}

int net_investigate_run(const cq_engine *e, const net_inv_input *in, json_t **answer, char *err,
                        size_t errsz)
{
    *answer = NULL;
    err[0] = 0;
    net_limits lim = in->lim ? *in->lim : net_default_limits();
    net_capture *c = NULL;
    char warn[512] = "";
    int rc = 0;
    if (in->capture_path)
        rc = net_read_any_path(in->capture_path, &lim, &c, warn, sizeof(warn));
    else if (in->capture_bytes)
        rc = net_read_any_mem(in->capture_bytes, in->capture_len, &lim, &c, warn, sizeof(warn));
    else if (in->sip_text && in->sip_len)
        rc = net_sip_text_read(in->sip_text, in->sip_len, &lim, &c, warn, sizeof(warn));
    if (rc != 0) {
        snprintf(err, errsz, "%s: %s",
                 in->capture_path || in->capture_bytes ? "the capture" : "the SIP trace", warn);
        return -1;
    }
    cq_report *rep = NULL;
    char rec_err[600] = "";
    if (in->recording) {
        cq_err ce;
        cq_err_clear(&ce);
        int arc = cq_engine_analyze(e, in->recording, &rep, &ce);
        if (arc != CQ_OK) {
            snprintf(rec_err, sizeof(rec_err), "%s", ce.msg[0] ? ce.msg : cq_strerror(arc));
            rep = NULL;
        }
    }
    net_call_info ci;
    memset(&ci, 0, sizeof(ci));
    char ci_err[300] = "";
    bool have_ci =
        in->call_info && in->call_info_len &&
        net_call_info_parse(in->call_info, in->call_info_len, &ci, ci_err, sizeof(ci_err)) == 0;
    net_call_match match;
    if (in->hint)
        net_match_call(c, in->hint, &match);
    char status[NET_STATUS_MAX + 1];
    uint64_t status_cut = 0;
    const char *st = in->status ? status_of(in->status, status, &status_cut) : NULL;
    json_t *o = NULL;
    if (net_investigation_answer(c, in->hint ? match.dialog : SIZE_MAX, rep, have_ci ? &ci : NULL,
                                 st, lim.max_answer_bytes, &o) != 0) {
        net_call_info_free(&ci);
        cq_report_destroy(rep);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    if (in->hint && match.dialog != SIZE_MAX) /* the dialog matched is the one looked at */
        match.dialog = (size_t)json_integer_value(json_object_get(o, "dialog"));
    json_object_set_new(o, "match", in->hint ? net_call_match_json(&match) : json_null());
    json_object_set_new(json_object_get(o, "truncated"), "status_bytes",
                        json_integer((json_int_t)status_cut));
    json_t *cij = have_ci ? net_call_info_json(&ci) : NULL;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(cij, "findings"), i, f)
        json_array_append(json_object_get(o, "findings"), f); /* each with its `row` */
    json_object_set_new(o, "call_info", cij ? cij : json_null());
    json_object_set_new(o, "call_info_error",
                        in->call_info && in->call_info_len && !have_ci ? json_string(ci_err)
                                                                       : json_null());
    net_call_info_free(&ci);
    json_object_set_new(o, "warning", warn[0] ? json_string(warn) : json_null());
    json_object_set_new(o, "recording", rep ? recording_json(rep) : json_null());
    json_object_set_new(o, "recording_error", rec_err[0] ? json_string(rec_err) : json_null());
    json_object_set_new(o, "status", st ? net_json_wire(st) : json_null());
    cq_report_destroy(rep);
    *answer = o;
    return 0;
}
