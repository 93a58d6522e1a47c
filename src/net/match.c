/*
 * match.c - which of a capture's dialogs is a stored call: the QA system knows a call by its
 * dialer's identifiers and times (a SIP Call-ID when the uploader gave one, Asterisk's uniqueid,
 * ViciDial's caller code, the number, the start and the length), a capture may hold many calls.
 * The rule, in order, the first step that finds exactly one INVITE dialog deciding (a step that
 * finds several falls to the next; docs/network/vicidial.md "A dialog matched to a stored call"):
 *
 *   call_id      the dialog's Call-ID is the one given;
 *   uniqueid     a header of one of its messages (not a body) holds the uniqueid as a whole
 *                word (X-Asterisk-Uniqueid, X-VICIDIAL-uniqueid: any header counts);
 *   caller_code  a header of one of its messages holds ViciDial's caller code (its INVITE's
 *                From display name, where ViciDial puts it on outbound calls);
 *   time         its first INVITE lies where the call's start says (the start from 5 s before
 *                it to 60 s after), those with the number in the INVITE's Request-URI, To or
 *                From preferred, then the one whose talk is closest to the call's length;
 *   only_call    the capture holds one INVITE dialog.
 *
 * Pure and bounded: every step reads each message once (the header text, not the bodies).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net_int.h"

/* The call's start (the hint's epoch) against the dialog's first INVITE, seconds: the dialer's
 * clock may be a few seconds off the capture's, and the stored start is usually the recording's,
 * which begins at the answer (after the ring) or when an agent takes the call from a queue. */
#define MATCH_BEFORE_SEC 5.0
#define MATCH_AFTER_SEC 60.0
/* Two talk durations this close to the call's length are a tie (ViciDial keeps whole seconds). */
#define MATCH_TALK_TIE_SEC 1.0
#define MATCH_PHONE_MAX 32

static bool is_invite_dialog(const net_sip_dialog *d)
{
    return d->method && !strcmp(d->method, "INVITE");
}

/* The dialog's first INVITE request, or NULL. */
static const net_sip_msg *first_invite(const net_capture *c, const net_sip_dialog *d)
{
    for (size_t i = 0; i < d->n_msgs; i++) {
        const net_sip_msg *m = &c->sip[d->msgs[i]];
        if (m->request && !strcmp(m->method, "INVITE"))
            return m;
    }
    return NULL;
}

static bool word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-';
}

/* `w` in s[0..n) as a whole word (not inside a longer identifier). */
static bool has_word(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (!k || k > n)
        return false;
    for (const char *p = s, *end = s + n - k; p <= end;) {
        const char *q = memmem(p, (size_t)(end - p) + k, w, k);
        if (!q)
            return false;
        if ((q == s || !word_char(q[-1])) && (q + k == s + n || !word_char(q[k])))
            return true;
        p = q + 1;
    }
    return false;
}

/* A header value of message m that holds `w` as a word: the header's name into name (its
 * first line's, for a folded value). Header lines only: not the first line, not the body. */
static bool header_has(const net_sip_msg *m, const char *w, char *name, size_t name_n)
{
    const char *s = m->text, *end = m->body ? m->body : m->text + m->len;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl || !memmem(nl, (size_t)(end - nl), w, strlen(w))) /* most messages: not at all */
        return false;
    char cur[48] = "";
    for (const char *p = nl + 1; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *le = e ? e : end;
        const char *v = p;
        if (*p != ' ' && *p != '\t') { /* a new header: its name, then its value */
            const char *colon = memchr(p, ':', (size_t)(le - p));
            if (!colon)
                break; /* the blank line before the body, or not a header */
            size_t k = (size_t)(colon - p);
            while (k && (p[k - 1] == ' ' || p[k - 1] == '\t'))
                k--;
            snprintf(cur, sizeof(cur), "%.*s", (int)(k < sizeof(cur) - 1 ? k : sizeof(cur) - 1), p);
            v = colon + 1;
        }
        if (has_word(v, (size_t)(le - v), w)) {
            snprintf(name, name_n, "%s", cur);
            return true;
        }
        p = e ? e + 1 : end;
    }
    return false;
}

/* "INVITE" or "200": what a message is, for the detail. */
static void msg_name(const net_sip_msg *m, char *buf, size_t n)
{
    if (m->request)
        snprintf(buf, n, "%s", m->method);
    else
        snprintf(buf, n, "%d", m->status);
}

/* The digits of the user part of a SIP, SIPS or tel URI in s ("<sip:+1 312@h>" -> "1312"). */
static void uri_digits(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    const char *p = s ? strcasestr(s, "sip:") : NULL;
    if (!p && s && (p = strcasestr(s, "sips:")))
        p++;
    if (!p && s)
        p = strcasestr(s, "tel:");
    if (p) {
        p += 4;
        for (; *p && *p != '@' && *p != ';' && *p != '>' && *p != '?' && k + 1 < n; p++)
            if (isdigit((unsigned char)*p))
                buf[k++] = *p;
    }
    buf[k] = 0;
}

/* Where the INVITE carries the number: "Request-URI", "To", "From", or NULL. */
static const char *number_in(const net_sip_msg *inv, const char *digits)
{
    char u[96];
    const char *where[] = {"Request-URI", "To", "From"};
    const char *val[] = {inv->uri, inv->to, inv->from};
    for (int i = 0; i < 3; i++) {
        uri_digits(val[i], u, sizeof(u));
        if (strstr(u, digits))
            return where[i];
    }
    return NULL;
}

/* Seconds of talk for the length's comparison: the 2xx to the BYE; 0 for a call never answered;
 * -1 unknown (answered and not ended in the capture, or no times). */
static double talk_of(const net_sip_dialog *d)
{
    if (d->talk_sec >= 0)
        return d->talk_sec;
    if (d->final_status >= 300 || d->hangup == NET_HANGUP_REJECTED ||
        (d->cancelled && d->final_status < 200))
        return 0;
    return -1;
}

/* Why the steps before the deciding one did not decide: one note a step. */
typedef struct notes {
    char s[4][112];
    int n;
} notes;

static void note(notes *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(notes *ns, const char *fmt, ...)
{
    if (ns->n >= 4)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ns->s[ns->n++], sizeof(ns->s[0]), fmt, ap);
    va_end(ap);
}

/* The notes after the detail's head, between open and close, "; " between them: the later ones
 * first kept (the later a step, the nearer it came), "..." for those before that do not fit. */
static void with_notes(char *d, size_t cap, const notes *ns, const char *open, const char *close)
{
    size_t k = strlen(d), need = strlen(open) + strlen(close);
    int from = ns->n;
    while (from > 0) {
        size_t add = strlen(ns->s[from - 1]) + (from < ns->n ? 2 : 0); /* it and its "; " */
        if (k + need + add + (from > 1 ? 5 : 0) >= cap)                /* "...; " before */
            break;
        need += add;
        from--;
    }
    if (from == ns->n)
        return;
    k += (size_t)snprintf(d + k, cap - k, "%s%s", open, from ? "...; " : "");
    for (int i = from; i < ns->n && k < cap; i++)
        k += (size_t)snprintf(d + k, cap - k, "%s%s", i > from ? "; " : "", ns->s[i]);
    if (k < cap)
        snprintf(d + k, cap - k, "%s", close);
}

/* An identifier in a header of the INVITE dialogs' messages: the count of dialogs holding it,
 * the first into *best with the header and the message. */
static int by_header(const net_capture *c, const char *w, size_t *best, char *hdr, size_t hdr_n,
                     char *msg, size_t msg_n)
{
    int hits = 0;
    for (size_t i = 0; i < c->n_dialogs; i++) {
        const net_sip_dialog *d = &c->dialogs[i];
        if (!is_invite_dialog(d))
            continue;
        for (size_t k = 0; k < d->n_msgs; k++) {
            char name[48];
            const net_sip_msg *m = &c->sip[d->msgs[k]];
            if (!header_has(m, w, name, sizeof(name)))
                continue;
            if (!hits++) {
                *best = i;
                snprintf(hdr, hdr_n, "%s", name);
                msg_name(m, msg, msg_n);
            }
            break;
        }
    }
    return hits;
}

/* The time step: 1 and *best when it decides; else its note says why. */
static int by_time(const net_capture *c, const net_call_hint *h, size_t *best, int *cands,
                   char *detail, size_t dn, notes *ns)
{
    if (c->times_unknown) {
        note(ns, "the trace has no times");
        return 0;
    }
    char phone[MATCH_PHONE_MAX] = "";
    size_t k = 0;
    for (const char *p = h->phone; p && *p && k + 1 < sizeof(phone); p++)
        if (isdigit((unsigned char)*p))
            phone[k++] = *p;
    phone[k] = 0;
    /* within the window; of those, how many carry the number */
    int in = 0, with_number = 0;
    for (size_t i = 0; i < c->n_dialogs; i++) {
        const net_sip_dialog *d = &c->dialogs[i];
        const net_sip_msg *inv = is_invite_dialog(d) ? first_invite(c, d) : NULL;
        if (!inv)
            continue;
        double lead = h->epoch - (c->first_ts + inv->rel_sec); /* the start after the INVITE */
        if (lead < -MATCH_BEFORE_SEC || lead > MATCH_AFTER_SEC)
            continue;
        in++;
        with_number += phone[0] && number_in(inv, phone);
    }
    *cands = in;
    if (!in) {
        note(ns, "none within the call's time");
        return 0;
    }
    bool by_number = with_number > 0;
    int n = by_number ? with_number : in;
    /* the one left, or the closest talk: best and the next */
    size_t b = SIZE_MAX;
    double bd = INFINITY, nd = INFINITY, bt = -1, nt = -1; /* differences, talks */
    bool all_known = true;
    for (size_t i = 0; i < c->n_dialogs; i++) {
        const net_sip_dialog *d = &c->dialogs[i];
        const net_sip_msg *inv = is_invite_dialog(d) ? first_invite(c, d) : NULL;
        if (!inv)
            continue;
        double lead = h->epoch - (c->first_ts + inv->rel_sec);
        if (lead < -MATCH_BEFORE_SEC || lead > MATCH_AFTER_SEC ||
            (by_number && !number_in(inv, phone)))
            continue;
        double talk = talk_of(d);
        double diff = h->length_sec >= 0 && talk >= 0 ? fabs(talk - h->length_sec) : INFINITY;
        all_known &= talk >= 0;
        if (b == SIZE_MAX || diff < bd)
            nd = bd, nt = bt, bd = diff, bt = talk, b = i;
        else if (diff < nd)
            nd = diff, nt = talk;
    }
    if (n > 1 && (h->length_sec < 0 || !all_known || !(nd - bd >= MATCH_TALK_TIE_SEC))) {
        char why[72];
        if (h->length_sec < 0)
            snprintf(why, sizeof(why), "no length to tell them apart");
        else if (!all_known)
            snprintf(why, sizeof(why), "not all of them ended in the capture");
        else
            snprintf(why, sizeof(why), "talk %.1f s and %.1f s against %.0f s", bt, nt,
                     h->length_sec);
        note(ns, "%d within the call's time%s, %s", n,
             by_number  ? " with the number"
             : phone[0] ? " (none with the number)"
                        : "",
             why);
        return 0;
    }
    char num[64] = "";
    if (by_number)
        snprintf(num, sizeof(num), ", number %s in %s", phone,
                 number_in(first_invite(c, &c->dialogs[b]), phone));
    else if (phone[0])
        snprintf(num, sizeof(num), ", number %s in none of them", phone);
    const net_sip_dialog *d = &c->dialogs[b];
    double lead = h->epoch - (c->first_ts + first_invite(c, d)->rel_sec);
    char talk[64] = "";
    if (h->length_sec >= 0 && talk_of(d) >= 0)
        snprintf(talk, sizeof(talk), ", talk %.1f s against %.0f s", talk_of(d), h->length_sec);
    snprintf(detail, dn, "INVITE %.1f s %s the call's start%s%s", fabs(lead),
             lead >= 0 ? "before" : "after", num, talk);
    *best = b;
    return 1;
}

/* A match: what the steps before it did not find, in brackets after its detail. 1. */
static int decided(net_call_match *out, const notes *ns)
{
    with_notes(out->detail, sizeof(out->detail), ns, " (", ")");
    return 1;
}

int net_match_call(const net_capture *c, const net_call_hint *h, net_call_match *out)
{
    memset(out, 0, sizeof(*out));
    out->dialog = SIZE_MAX;
    notes ns = {.n = 0};
    int invites = 0;
    size_t only = SIZE_MAX;
    for (size_t i = 0; c && i < c->n_dialogs; i++)
        if (is_invite_dialog(&c->dialogs[i]))
            invites++, only = i;
    out->candidates = invites;
    if (!c || !invites) {
        snprintf(out->detail, sizeof(out->detail), "%s",
                 c ? "no INVITE dialog in the capture" : "no capture");
        return 0;
    }
    static const net_call_hint none = {.epoch = -1, .length_sec = -1};
    if (!h)
        h = &none;
    /* 1. the Call-ID (a dialog is one Call-ID: it is in one dialog or none) */
    if (h->call_id && h->call_id[0]) {
        for (size_t i = 0; i < c->n_dialogs; i++)
            if (is_invite_dialog(&c->dialogs[i]) && !strcmp(c->dialogs[i].call_id, h->call_id)) {
                out->dialog = i, out->rule = "call_id", out->candidates = 1;
                snprintf(out->detail, sizeof(out->detail), "Call-ID %.120s as given", h->call_id);
                return 1;
            }
        note(&ns, "Call-ID not found");
    }
    /* 2. the uniqueid, 3. the caller code: in a header */
    const char *ids[2] = {h->uniqueid, h->caller_code};
    const char *rule[2] = {"uniqueid", "caller_code"};
    const char *what[2] = {"uniqueid", "caller code"};
    for (int r = 0; r < 2; r++) {
        if (!ids[r] || !ids[r][0])
            continue;
        char hdr[48], msg[24];
        size_t b = SIZE_MAX;
        int hits = by_header(c, ids[r], &b, hdr, sizeof(hdr), msg, sizeof(msg));
        if (hits == 1) {
            out->dialog = b, out->rule = rule[r], out->candidates = 1;
            snprintf(out->detail, sizeof(out->detail), "%s %.40s in %s of the %s", what[r], ids[r],
                     hdr, msg);
            return decided(out, &ns);
        }
        if (hits)
            note(&ns, "%s in %d dialogs", what[r], hits);
        else
            note(&ns, "%s in none", what[r]);
    }
    /* 4. the time, the number, the length */
    if (h->epoch < 0 && h->phone && h->phone[0])
        note(&ns, "a number without the call's time");
    if (h->epoch >= 0) {
        size_t b = SIZE_MAX;
        int cands = 0;
        if (by_time(c, h, &b, &cands, out->detail, sizeof(out->detail), &ns)) {
            out->dialog = b, out->rule = "time", out->candidates = cands;
            return decided(out, &ns);
        }
        out->candidates = cands ? cands : invites;
    }
    /* 5. the only call */
    if (invites == 1) {
        out->dialog = only, out->rule = "only_call", out->candidates = 1;
        snprintf(out->detail, sizeof(out->detail), "the capture's only INVITE dialog");
        return decided(out, &ns);
    }
    snprintf(out->detail, sizeof(out->detail), "%d INVITE dialogs%s", invites,
             ns.n ? "" : ", nothing given to tell them apart");
    with_notes(out->detail, sizeof(out->detail), &ns, "; ", "");
    return 0;
}
