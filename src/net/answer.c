/*
 * answer.c - the part of a capture an answer holds (docs/network/bounds.md "Bounds"): a capture
 * read within net_limits can still hold 200,000 SIP messages, 20,000 dialogs and 100,000 streams,
 * whose JSON would be hundreds of MB; an answer holds what fits its bound (16 MiB by default)
 * and counts the rest.
 *
 * DESIGN
 * The part is chosen item by item, each measured as the JSON it becomes (json_dumpb without a
 * buffer: the bytes it would write), before any of it is built: first the dialog looked at, its
 * messages, its streams and its findings; then, in capture order and one of each list in turn,
 * the dialogs (each with its messages and streams, all or none), the messages of no dialog, the
 * streams of none, the findings and the RTCP reports, a list closing at its first item that does
 * not fit. A finding waits for its dialog and the streams its evidence names, and is left out
 * when they are. The part is then a capture of its own (a view):
 * the items kept, in capture order, renumbered, and every reference between them (a dialog's
 * messages and streams, a finding's dialog and its "stream N", a report block's stream, a
 * stream's last report) rewritten to the view's indices or dropped (null) when it names an item
 * left out. So the JSON writers and the investigation run on the view unchanged, and every index
 * in an answer names one of its items. The view owns copies of what it holds (within the bound,
 * so a few MB), so that the capture can be freed before the answer's JSON is built: the memory of
 * the reading then serves the JSON's, and the peak is the larger of the two, not their sum.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "net_int.h"

/* Room for a reference that becomes null ("null" against one digit), and for the comma. */
#define ITEM_SLACK 32

/* The bytes an item's JSON takes; it is freed. SIZE_MAX out of memory. */
static size_t measure(json_t *j)
{
    size_t n = j ? json_dumpb(j, NULL, 0, NET_JSON_FLAGS) : 0;
    json_decref(j);
    return j && n ? n + ITEM_SLACK : SIZE_MAX;
}

size_t net_answer_reserve(size_t max_bytes)
{
    return max_bytes / 2 < NET_ANSWER_RESERVE ? max_bytes / 2 : NET_ANSWER_RESERVE;
}

size_t net_primary_dialog(const net_capture *c)
{
    size_t best = SIZE_MAX;
    int best_sev = -1;
    int *sev = c && c->n_dialogs ? calloc(c->n_dialogs, sizeof(int)) : NULL;
    if (c && c->n_dialogs && !sev)
        return 0;
    for (size_t k = 0; sev && k < c->n_findings; k++) /* each dialog's worst, in one pass */
        if (c->finding_dialog[k] < c->n_dialogs &&
            (int)c->findings[k].severity > sev[c->finding_dialog[k]])
            sev[c->finding_dialog[k]] = (int)c->findings[k].severity;
    for (size_t i = 0; c && i < c->n_dialogs; i++)
        if (c->dialogs[i].method && !strcmp(c->dialogs[i].method, "INVITE") && sev[i] > best_sev)
            best = i, best_sev = sev[i];
    free(sev);
    if (best == SIZE_MAX && c && c->n_dialogs)
        best = 0;
    return best;
}

/* ---- a finding's streams -------------------------------------------------------------------- */

/* The stream an evidence names ("stream N 0x... a:p -> b:p"): N, or SIZE_MAX when none. */
static size_t figure_stream(const char *fig, const char **rest)
{
    if (!fig || strncmp(fig, "stream ", 7) || fig[7] < '0' || fig[7] > '9')
        return SIZE_MAX;
    char *end;
    unsigned long long n = strtoull(fig + 7, &end, 10);
    if (*end != ' ')
        return SIZE_MAX;
    *rest = end;
    return (size_t)n;
}

/* The lists taken in turn: a dialog comes with its messages and its streams (its ladder and its
 * media); the SIP list is then the messages of no dialog, the stream list the streams of none. */
enum { L_DIALOG, L_SIP, L_STREAM, L_FINDING, L_RTCP, N_LISTS };

typedef struct chooser {
    const net_capture *c;
    size_t left;          /* bytes of the budget not spent */
    size_t n[N_LISTS];    /* the list's items */
    size_t *map[N_LISTS]; /* SIZE_MAX: left out; else kept (the view's index, once numbered) */
    size_t next[N_LISTS]; /* the next item in capture order */
    bool closed[N_LISTS];
    uint8_t *owned[2]; /* the messages, the streams of a dialog (taken with it, not alone) */
} chooser;

/* Can item i of a list (a message or a stream) still be kept, now that it is not? */
static bool may_come(const chooser *ch, int list, size_t i)
{
    if (ch->owned[list == L_SIP ? 0 : 1][i] && !ch->closed[L_DIALOG])
        return true; /* a dialog not reached yet brings it */
    return !ch->closed[list] && ch->next[list] <= i;
}

/* Is what finding i names kept (1), left out for good (-1), or not decided yet (0)? */
static int finding_ready(const chooser *ch, size_t i)
{
    const net_capture *c = ch->c;
    size_t d = c->finding_dialog[i];
    if (d != SIZE_MAX && d < c->n_dialogs && ch->map[L_DIALOG][d] == SIZE_MAX)
        return ch->closed[L_DIALOG] || ch->next[L_DIALOG] > d ? -1 : 0;
    int ready = 1;
    const cq_finding *f = &c->findings[i];
    for (size_t k = 0; k < f->n_evidence; k++) {
        const char *rest;
        size_t s = figure_stream(f->evidence[k].figure, &rest);
        if (s == SIZE_MAX || s >= c->n_streams || ch->map[L_STREAM][s] != SIZE_MAX)
            continue;
        if (!may_come(ch, L_STREAM, s))
            return -1;
        ready = 0;
    }
    return ready;
}

static json_t *item_json(const net_capture *c, int list, size_t i)
{
    switch (list) {
    case L_DIALOG: return net__dialog_json(&c->dialogs[i]);
    case L_SIP: return net__sip_json(&c->sip[i]);
    case L_STREAM: return net__stream_json(&c->streams[i]);
    case L_FINDING: return net__finding_json(c, i);
    default: return net__report_json(c, &c->rtcp_reports[i]);
    }
}

/* The bytes of item i, 0 when it is kept already. */
static size_t cost(const chooser *ch, int list, size_t i)
{
    return ch->map[list][i] != SIZE_MAX ? 0 : measure(item_json(ch->c, list, i));
}

/* Keep item i of a list when it fits: true; else false (and the budget is untouched). */
static bool take(chooser *ch, int list, size_t i)
{
    size_t n = cost(ch, list, i);
    if (n > ch->left)
        return false;
    ch->left -= n;
    ch->map[list][i] = 0;
    return true;
}

/* Dialog i with its messages and streams, all or none. */
static bool take_dialog(chooser *ch, size_t i)
{
    const net_sip_dialog *d = &ch->c->dialogs[i];
    size_t n = cost(ch, L_DIALOG, i);
    for (size_t k = 0; k < d->n_msgs && n <= ch->left; k++)
        n += cost(ch, L_SIP, d->msgs[k]);
    for (size_t k = 0; k < d->n_streams && n <= ch->left; k++)
        n += cost(ch, L_STREAM, d->streams[k]);
    if (n > ch->left)
        return false;
    ch->left -= n;
    ch->map[L_DIALOG][i] = 0;
    for (size_t k = 0; k < d->n_msgs; k++)
        ch->map[L_SIP][d->msgs[k]] = 0;
    for (size_t k = 0; k < d->n_streams; k++)
        ch->map[L_STREAM][d->streams[k]] = 0;
    return true;
}

/* The next item of a list in capture order, kept; or the list closed (its first item that does
 * not fit), or waiting (a finding whose dialog or stream is not decided yet). */
static void step(chooser *ch, int list)
{
    while (!ch->closed[list] && ch->next[list] < ch->n[list]) {
        size_t i = ch->next[list];
        bool skip = ch->map[list][i] != SIZE_MAX || (list == L_SIP && ch->owned[0][i]) ||
                    (list == L_STREAM && ch->owned[1][i]);
        if (!skip && list == L_FINDING) {
            int r = finding_ready(ch, i);
            if (r == 0)
                return; /* its dialog or stream comes later: wait for it */
            skip = r < 0;
        }
        if (skip) {
            ch->next[list]++;
            continue;
        }
        bool kept = list == L_DIALOG ? take_dialog(ch, i) : take(ch, list, i);
        if (kept)
            ch->next[list]++;
        else
            ch->closed[list] = true;
        return;
    }
    ch->closed[list] = true;
}

/* The dialog looked at first: itself, its messages, its streams, its findings, each while it
 * fits. */
static void take_focus(chooser *ch, size_t focus)
{
    const net_capture *c = ch->c;
    if (focus >= c->n_dialogs || !take(ch, L_DIALOG, focus))
        return;
    const net_sip_dialog *d = &c->dialogs[focus];
    for (size_t k = 0; k < d->n_msgs; k++)
        take(ch, L_SIP, d->msgs[k]);
    for (size_t k = 0; k < d->n_streams; k++)
        take(ch, L_STREAM, d->streams[k]);
    for (size_t i = 0; i < c->n_findings; i++)
        if (c->finding_dialog[i] == focus && finding_ready(ch, i) > 0)
            take(ch, L_FINDING, i);
    /* the other legs of its call (a B2BUA's), their messages and streams, when they fit */
    for (size_t j = 0; d->call_ref && d->n_legs > 1 && j < c->n_dialogs; j++)
        if (j != focus && c->dialogs[j].call_ref == d->call_ref && ch->map[L_DIALOG][j] == SIZE_MAX)
            (void)take_dialog(ch, j); /* all of it or none */
}

/* ---- the view -------------------------------------------------------------------------------- */

/* A copy of finding f whose "stream N" evidence names the view's stream; false out of memory. */
static bool copy_finding(cq_finding *to, const cq_finding *f, const size_t *smap)
{
    memset(to, 0, sizeof(*to));
    to->code = f->code;
    to->severity = f->severity;
    if (!(to->message = strdup(f->message ? f->message : "")))
        return false;
    if (f->n_values && !(to->values = calloc(f->n_values, sizeof(cq_value))))
        return false;
    for (size_t k = 0; k < f->n_values; k++) {
        cq_value v = f->values[k];
        if (v.type == CQ_VAL_STRING && !(v.str = strdup(v.str ? v.str : "")))
            return false;
        to->values[to->n_values++] = v;
    }
    if (f->n_evidence && !(to->evidence = calloc(f->n_evidence, sizeof(cq_finding_evidence))))
        return false;
    for (size_t k = 0; k < f->n_evidence; k++) {
        cq_finding_evidence e = f->evidence[k];
        const char *rest;
        size_t s = figure_stream(e.figure, &rest);
        char *fig = NULL;
        if (s != SIZE_MAX && s < SIZE_MAX / 2 && smap[s] != SIZE_MAX) {
            if (asprintf(&fig, "stream %zu%s", smap[s], rest) < 0)
                fig = NULL;
        } else if (e.figure) {
            fig = strdup(e.figure);
        }
        char *quote = e.quote ? strdup(e.quote) : NULL;
        to->evidence[to->n_evidence++] =
            (cq_finding_evidence){e.start_sec, e.end_sec, e.role, quote, fig};
        if ((e.figure && !fig) || (e.quote && !quote))
            return false;
    }
    return true;
}

void net_capture_view_free(net_capture *v)
{
    if (!v)
        return;
    for (size_t d = 0; d < v->n_dialogs; d++) {
        net_sip_dialog *x = &v->dialogs[d];
        free(x->msgs);
        free(x->streams);
        free((char *)x->call_id), free((char *)x->method), free((char *)x->from);
        free((char *)x->to), free((char *)x->final_reason);
    }
    free(v->dialogs);
    for (size_t i = 0; i < v->n_streams; i++)
        free(v->streams[i].intervals);
    free(v->streams);
    for (size_t i = 0; i < v->n_sip; i++)
        net__sip_msg_free(&v->sip[i]);
    free(v->sip);
    json_decref(v->sip_counts);
    net__finding_list_free(v->findings, v->n_findings);
    free(v->finding_dialog);
    free(v->rtcp_reports);
    free(v->rtcp_blocks);
    free(v->rtcp_voip);
    free(v->left_out);
    free(v);
}

/* Number the kept items of each list in capture order; their count. */
static size_t number(size_t *map, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (map[i] != SIZE_MAX)
            map[i] = k++;
    return k;
}

static size_t ref(const size_t *map, size_t n, size_t i)
{
    return i < n ? map[i] : SIZE_MAX;
}

/* The view of the kept items; false out of memory (what is built is freed by the caller). */
static bool build(const net_capture *c, size_t *const map[N_LISTS], net_capture *v, net_cut *cut)
{
    size_t *dm = map[L_DIALOG], *mm = map[L_SIP], *sm = map[L_STREAM], *fm = map[L_FINDING],
           *rm = map[L_RTCP];
    size_t nd = number(dm, c->n_dialogs), nm = number(mm, c->n_sip), ns = number(sm, c->n_streams),
           nf = number(fm, c->n_findings), nr = number(rm, c->n_rtcp_reports);
    cut->dialogs = c->n_dialogs - nd, cut->sip = c->n_sip - nm, cut->streams = c->n_streams - ns;
    cut->findings = c->n_findings - nf, cut->rtcp_reports = c->n_rtcp_reports - nr;
    if ((nm && !(v->sip = malloc(nm * sizeof(net_sip_msg)))) ||
        (ns && !(v->streams = malloc(ns * sizeof(net_rtp_stream)))) ||
        (nd && !(v->dialogs = calloc(nd, sizeof(net_sip_dialog)))) ||
        (nf && !(v->findings = calloc(nf, sizeof(cq_finding)))) ||
        (nf && !(v->finding_dialog = malloc(nf * sizeof(size_t)))) ||
        (nr && !(v->rtcp_reports = malloc(nr * sizeof(net_rtcp_report)))))
        return false;
    for (size_t i = 0; i < c->n_sip; i++)
        if (mm[i] != SIZE_MAX) {
            if (!net__sip_copy(&v->sip[v->n_sip], &c->sip[i]))
                return false;
            v->n_sip++;
        }
    for (size_t i = 0; i < c->n_streams; i++) {
        if (sm[i] == SIZE_MAX)
            continue;
        net_rtp_stream s = c->streams[i];
        s.st = NULL; /* the reading's state stays the capture's */
        if (s.rtcp.reports || s.rtcp.xr_reports)
            s.rtcp.last_report = ref(rm, c->n_rtcp_reports, s.rtcp.last_report);
        s.intervals = NULL;
        v->streams[v->n_streams++] = s;
        if (s.n_intervals) {
            net_rtp_interval *iv = malloc(s.n_intervals * sizeof(*iv));
            if (!iv) {
                v->streams[v->n_streams - 1].n_intervals = 0;
                return false;
            }
            memcpy(iv, c->streams[i].intervals, s.n_intervals * sizeof(*iv));
            v->streams[v->n_streams - 1].intervals = iv;
        }
    }
    for (size_t i = 0; i < c->n_dialogs; i++) {
        if (dm[i] == SIZE_MAX)
            continue;
        const net_sip_dialog *d = &c->dialogs[i];
        net_sip_dialog *to = &v->dialogs[v->n_dialogs++];
        *to = *d;
        to->msgs = to->streams = NULL;
        to->n_msgs = to->n_streams = 0;
        const char **str[] = {&to->call_id, &to->method, &to->from, &to->to, &to->final_reason};
        for (size_t k = 0; k < sizeof(str) / sizeof(*str); k++)
            if (*str[k] && !(*str[k] = strdup(*str[k]))) {
                for (size_t j = k; j < sizeof(str) / sizeof(*str); j++)
                    *str[j] = NULL; /* not the view's: not freed with it */
                return false;
            }
        if ((d->n_msgs && !(to->msgs = malloc(d->n_msgs * sizeof(size_t)))) ||
            (d->n_streams && !(to->streams = malloc(d->n_streams * sizeof(size_t)))))
            return false;
        for (size_t k = 0; k < d->n_msgs; k++)
            if (mm[d->msgs[k]] != SIZE_MAX)
                to->msgs[to->n_msgs++] = mm[d->msgs[k]];
        for (size_t k = 0; k < d->n_streams; k++)
            if (sm[d->streams[k]] != SIZE_MAX)
                to->streams[to->n_streams++] = sm[d->streams[k]];
        cut->dialog_messages += d->n_msgs - to->n_msgs;
        cut->dialog_streams += d->n_streams - to->n_streams;
    }
    for (size_t i = 0; i < c->n_findings; i++) {
        if (fm[i] == SIZE_MAX)
            continue;
        v->finding_dialog[v->n_findings] = ref(dm, c->n_dialogs, c->finding_dialog[i]);
        bool ok = copy_finding(&v->findings[v->n_findings], &c->findings[i], sm);
        v->n_findings++; /* counted either way: what was copied is freed with the view */
        if (!ok)
            return false;
    }
    size_t nb = 0, nv = 0;
    for (size_t i = 0; i < c->n_rtcp_reports; i++)
        if (rm[i] != SIZE_MAX)
            nb += c->rtcp_reports[i].n_blocks, nv += c->rtcp_reports[i].n_voip;
    if ((nb && !(v->rtcp_blocks = malloc(nb * sizeof(net_rtcp_block)))) ||
        (nv && !(v->rtcp_voip = malloc(nv * sizeof(net_rtcp_voip)))))
        return false;
    for (size_t i = 0; i < c->n_rtcp_reports; i++) {
        if (rm[i] == SIZE_MAX)
            continue;
        net_rtcp_report r = c->rtcp_reports[i];
        for (size_t k = 0; k < r.n_blocks; k++) {
            net_rtcp_block b = c->rtcp_blocks[r.first_block + k];
            size_t s = b.stream ? ref(sm, c->n_streams, b.stream - 1) : SIZE_MAX;
            b.stream = s == SIZE_MAX ? 0 : s + 1;
            v->rtcp_blocks[v->n_rtcp_blocks + k] = b;
        }
        for (size_t k = 0; k < r.n_voip; k++) {
            net_rtcp_voip x = c->rtcp_voip[r.first_voip + k];
            size_t s = x.stream ? ref(sm, c->n_streams, x.stream - 1) : SIZE_MAX;
            x.stream = s == SIZE_MAX ? 0 : s + 1;
            v->rtcp_voip[v->n_rtcp_voip + k] = x;
        }
        r.first_block = v->n_rtcp_blocks, r.first_voip = v->n_rtcp_voip;
        v->n_rtcp_blocks += r.n_blocks, v->n_rtcp_voip += r.n_voip;
        v->rtcp_reports[v->n_rtcp_reports++] = r;
    }
    return true;
}

int net_capture_view(const net_capture *c, size_t focus, size_t max_bytes, net_capture **view,
                     size_t *focus_in_view)
{
    *view = NULL;
    *focus_in_view = SIZE_MAX;
    net_capture *v = calloc(1, sizeof(*v));
    net_cut *cut = calloc(1, sizeof(*cut));
    chooser ch = {.c = c,
                  .left = max_bytes - net_answer_reserve(max_bytes),
                  .n = {c->n_dialogs, c->n_sip, c->n_streams, c->n_findings, c->n_rtcp_reports}};
    bool ok = v && cut;
    for (int l = 0; ok && l < N_LISTS; l++) {
        ch.map[l] = malloc((ch.n[l] ? ch.n[l] : 1) * sizeof(size_t));
        ok = ch.map[l] != NULL;
        for (size_t i = 0; ok && i < ch.n[l]; i++)
            ch.map[l][i] = SIZE_MAX;
    }
    if (ok) {
        /* the capture's own figures; the lists and the reading's state are the view's */
        *v = *c;
        v->streams = NULL, v->n_streams = 0, v->rtp_index = NULL, v->sdp_maps = NULL;
        v->rtcp_reports = NULL, v->n_rtcp_reports = 0, v->rtcp_blocks = NULL;
        v->n_rtcp_blocks = 0, v->rtcp_voip = NULL, v->n_rtcp_voip = 0, v->rtcp_st = NULL;
        v->sip = NULL, v->n_sip = 0, v->tcp_flows = NULL, v->dialogs = NULL, v->n_dialogs = 0;
        v->findings = NULL, v->n_findings = 0, v->finding_dialog = NULL;
        v->sip_counts =
            c->sip_counts ? json_incref(c->sip_counts) : net__sip_counts(c, &cut->sip_methods);
        if (c->left_out) /* a view of a view: its capture's count */
            cut->sip_methods = c->left_out->sip_methods;
        v->left_out = cut;
        cut->max_bytes = max_bytes;
        ok = v->sip_counts != NULL;
    }
    if (ok) {
        ch.owned[0] = calloc(c->n_sip ? c->n_sip : 1, 1);
        ch.owned[1] = calloc(c->n_streams ? c->n_streams : 1, 1);
        ok = ch.owned[0] && ch.owned[1];
        for (size_t i = 0; ok && i < c->n_dialogs; i++) {
            const net_sip_dialog *d = &c->dialogs[i];
            for (size_t k = 0; k < d->n_msgs; k++)
                ch.owned[0][d->msgs[k]] = 1;
            for (size_t k = 0; k < d->n_streams; k++)
                ch.owned[1][d->streams[k]] = 1;
        }
    }
    if (ok) {
        take_focus(&ch, focus);
        for (;;) {
            bool open = false;
            for (int l = 0; l < N_LISTS; l++) {
                step(&ch, l);
                open |= !ch.closed[l];
            }
            if (!open)
                break;
        }
        size_t fv = focus < c->n_dialogs ? focus : SIZE_MAX;
        ok = build(c, ch.map, v, cut);
        if (ok && fv != SIZE_MAX)
            *focus_in_view = ch.map[L_DIALOG][fv];
    }
    for (int l = 0; l < N_LISTS; l++)
        free(ch.map[l]);
    free(ch.owned[0]), free(ch.owned[1]);
    if (!ok) {
        if (!v || !v->left_out)
            free(cut);
        net_capture_view_free(v);
        return -1;
    }
    *view = v;
    return 0;
}
