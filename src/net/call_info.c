/*
 * call_info.c - what the dialer says about a call: the old service's call_info text and
 * ViciDial's vicidial_carrier_log rows as people paste them, parsed into fields (net.h
 * net_call_info), judged as findings in the report's shape (codes carrier_*, queue_long_wait,
 * call_info_unparsed; docs/network.md), and rendered as JSON.
 *
 * DESIGN. One table (k_fields) names every field once: its key and aliases, where it lives (a
 * carrier log row or the call_info itself), and its kind (text, integer with bounds, decimal,
 * address, date, uniqueid, dial status); the parser, the validation and the JSON all read it.
 * The text is read line by line; a line is a block header, a table border, a table header or
 * row (`| a | b |`, or tab-separated after a header line), `\G`'s row marker, one or more
 * pairs, or free text. A row of a table, a `CARRIER LOG:` block and a `\G` row each open a
 * carrier row. Values that do not parse stay as their text with `valid` false; a key with no
 * field, a key given twice and free text are kept as extra pairs, so nothing is lost. Memory
 * is the struct's own (fixed sizes); only the findings are allocated.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callqa/callqa.h"
#include "net_int.h"

/* ---- the tables ------------------------------------------------------------------------------ */

static const struct {
    const char *name, *meaning;
} k_dial[] = {
    [NET_DIAL_ANSWER] = {"ANSWER", "the call was answered"},
    [NET_DIAL_BUSY] = {"BUSY", "the called party was busy"},
    [NET_DIAL_NOANSWER] = {"NOANSWER", "the called party did not answer before the dial timeout"},
    [NET_DIAL_CANCEL] = {"CANCEL", "the call was cancelled before it was answered (the dialer "
                                   "or the caller hung up while it rang)"},
    [NET_DIAL_CONGESTION] = {"CONGESTION", "the carrier or the network refused the call "
                                           "(congestion, or a failure other than busy)"},
    [NET_DIAL_CHANUNAVAIL] = {"CHANUNAVAIL", "the channel could not be used: the carrier or "
                                             "the endpoint is unreachable, unregistered or out "
                                             "of capacity"},
    [NET_DIAL_DONTCALL] = {"DONTCALL", "the called party refused the call in the privacy "
                                       "manager"},
    [NET_DIAL_TORTURE] = {"TORTURE", "the called party sent the call to the privacy manager's "
                                     "torture script"},
    [NET_DIAL_INVALIDARGS] = {"INVALIDARGS", "Dial() was given invalid arguments (a dialplan "
                                             "error: nothing was dialled)"},
};
#define N_DIAL ((int)(sizeof(k_dial) / sizeof(k_dial[0])))

const char *net_dialstatus_name(net_dialstatus d)
{
    return d > NET_DIAL_NONE && (int)d < N_DIAL ? k_dial[d].name : NULL;
}

const char *net_dialstatus_meaning(net_dialstatus d)
{
    return d > NET_DIAL_NONE && (int)d < N_DIAL ? k_dial[d].meaning : NULL;
}

const char *net_sip_status_phrase(int code)
{
    switch (code) { /* RFC 3261 section 21 */
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return NULL;
    }
}

typedef enum kind { K_TEXT, K_INT, K_DEC, K_IP, K_DATE, K_UNIQUEID, K_DIAL, K_SIPCODE } kind;

/* Every field once: its name (the JSON key, the column's), aliases (normalised: lowercase, `_`
 * for spaces, dots and hyphens), where it lives and what it holds. */
typedef struct field_def {
    const char *name;
    bool row; /* in a carrier row (offset into net_carrier_row), else in net_call_info */
    size_t off;
    kind k;
    double max; /* K_INT, K_DEC: from 0 to this */
    const char *alias[6];
} field_def;

#define ROWF(f) true, offsetof(net_carrier_row, f)
#define TOPF(f) false, offsetof(net_call_info, f)
static const field_def k_fields[] = {
    {"uniqueid", ROWF(uniqueid), K_UNIQUEID, 0, {"unique_id", "asterisk_uniqueid"}},
    {"call_date", ROWF(call_date), K_DATE, 0, {"calldate", "call_time", "date"}},
    {"server_ip", ROWF(server_ip), K_IP, 0, {"server", "dialer_ip"}},
    {"lead_id", ROWF(lead_id), K_INT, 4294967295.0, {"leadid", "lead"}},
    {"hangup_cause", ROWF(hangup_cause), K_INT, 127, {"hangupcause", "q850_cause", "q850"}},
    {"dialstatus", ROWF(dialstatus), K_DIAL, 0, {"dial_status"}},
    {"channel", ROWF(channel), K_TEXT, 0, {"chan"}},
    {"dial_time", ROWF(dial_time), K_INT, 65535, {"dialtime", "dial_seconds"}},
    {"answered_time", ROWF(answered_time), K_INT, 65535, {"answer_time", "answeredtime"}},
    {"sip_hangup_cause", ROWF(sip_hangup_cause), K_SIPCODE, 699, {"sip_cause", "sip_code"}},
    {"sip_hangup_reason", ROWF(sip_hangup_reason), K_TEXT, 0, {"sip_reason"}},
    {"caller_code", ROWF(caller_code), K_TEXT, 0, {"callercode"}},
    {"queue",
     TOPF(queue),
     K_TEXT,
     0,
     {"queue_name", "campaign", "campaign_id", "ingroup", "in_group", "group_id"}},
    {"queue_seconds", TOPF(queue_seconds), K_DEC, 9999999.99, {"queue_time", "queue_sec"}},
    {"queue_position", TOPF(queue_position), K_INT, 65535, {"queue_pos", "position"}},
    {"did_pattern", TOPF(did_pattern), K_TEXT, 0, {"did", "did_number", "extension"}},
    {"did_description", TOPF(did_description), K_TEXT, 0, {"did_desc", "description"}},
};
#define N_FIELDS ((int)(sizeof(k_fields) / sizeof(k_fields[0])))

/* The field a key names (its normalised form), or -1. */
static int field_of(const char *norm)
{
    for (int i = 0; i < N_FIELDS; i++) {
        if (!strcmp(norm, k_fields[i].name))
            return i;
        for (int a = 0; a < 6 && k_fields[i].alias[a]; a++)
            if (!strcmp(norm, k_fields[i].alias[a]))
                return i;
    }
    return -1;
}

/* ---- text helpers ---------------------------------------------------------------------------- */

/* A key normalised: lowercase, runs of spaces, dots and hyphens as one `_`, no quotes. false
 * when it cannot be a key (empty, too long, or holding other characters). */
static bool normalise_key(const char *p, size_t n, char *out, size_t outsz)
{
    while (n && (*p == '"' || *p == '\'' || *p == '`'))
        p++, n--;
    while (n && (p[n - 1] == '"' || p[n - 1] == '\'' || p[n - 1] == '`'))
        n--;
    if (!n || n >= outsz || !isalpha((unsigned char)p[0]))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (isalnum(ch)) {
            out[k++] = (char)tolower(ch);
        } else if (ch == ' ' || ch == '_' || ch == '-' || ch == '.') {
            if (k && out[k - 1] != '_')
                out[k++] = '_';
        } else {
            return false;
        }
    }
    while (k && out[k - 1] == '_')
        k--;
    out[k] = 0;
    return k > 0;
}

static void trim(const char **p, size_t *n)
{
    while (*n && isspace((unsigned char)**p))
        (*p)++, (*n)--;
    while (*n && isspace((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

/* A value trimmed of spaces, a trailing `,` or `;`, and one pair of quotes around it. */
static void trim_value(const char **p, size_t *n)
{
    trim(p, n);
    if (*n && ((*p)[*n - 1] == ',' || (*p)[*n - 1] == ';'))
        (*n)--;
    trim(p, n);
    if (*n >= 2 && ((**p == '"' && (*p)[*n - 1] == '"') || (**p == '\'' && (*p)[*n - 1] == '\'')))
        (*p)++, *n -= 2;
}

/* Copy at most sz - 1 bytes; true when it had to cut. */
static bool copy_cut(char *dst, size_t sz, const char *p, size_t n)
{
    bool cut = n >= sz;
    if (cut)
        n = sz - 1;
    memcpy(dst, p, n);
    dst[n] = 0;
    return cut;
}

/* A whole number, or one followed by a space and words ("17 (user busy)"). */
static bool parse_number(const char *s, bool decimal, double max, double *out)
{
    const char *p = s;
    double v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p) && digits < 12)
        v = v * 10 + (*p++ - '0'), digits++;
    if (!digits)
        return false;
    if (decimal && *p == '.') {
        p++;
        double f = 0.1;
        for (; isdigit((unsigned char)*p); p++, f /= 10)
            v += (*p - '0') * f;
    }
    if (*p && !(isspace((unsigned char)*p) && p[1] && !isdigit((unsigned char)p[1])))
        return false;
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_date(const char *s)
{
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
        return false;
    const char *e = s + n;
    if (*e == '.')
        for (e++; isdigit((unsigned char)*e); e++)
            ;
    return !*e && y >= 1970 && y <= 2999 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 &&
           mi <= 59 && se <= 60 && h >= 0 && mi >= 0 && se >= 0;
}

/* Validate a value by its field's kind; fill num and the row's derived fields. */
static void validate(const field_def *f, net_ci_value *v, net_carrier_row *row)
{
    const char *t = v->text;
    v->valid = false;
    switch (f->k) {
    case K_TEXT: v->valid = true; break;
    case K_INT:
    case K_DEC: v->valid = parse_number(t, f->k == K_DEC, f->max, &v->num); break;
    case K_SIPCODE:
        v->valid = parse_number(t, false, f->max, &v->num) && (v->num == 0 || v->num >= 100);
        if (v->valid && row)
            row->sip_phrase = net_sip_status_phrase((int)v->num);
        break;
    case K_IP: {
        unsigned char a[16];
        v->valid = inet_pton(AF_INET, t, a) == 1 || inet_pton(AF_INET6, t, a) == 1;
        break;
    }
    case K_DATE: v->valid = parse_date(t); break;
    case K_UNIQUEID: {
        const char *p = t;
        while (isdigit((unsigned char)*p))
            p++;
        if (p > t && *p == '.' && isdigit((unsigned char)p[1])) {
            for (p++; isdigit((unsigned char)*p); p++)
                ;
            v->valid = !*p;
        }
        break;
    }
    case K_DIAL:
        for (int d = 1; d < N_DIAL; d++)
            if (!strcasecmp(t, k_dial[d].name)) {
                v->valid = true;
                if (row)
                    row->dial = (net_dialstatus)d;
            }
        break;
    }
    if (v->cut)
        v->valid = false;
    if (!strcmp(f->name, "hangup_cause") && v->valid && row)
        row->hangup_text = net_q850_text((int)v->num);
}

/* ---- the parser ------------------------------------------------------------------------------ */

#define MAX_COLS 64

typedef struct parser {
    net_call_info *ci;
    unsigned line;
    char block[NET_CI_KEY_MAX]; /* the current block's name, "" outside any */
    bool carrier; /* the current block takes carrier fields (a carrier block, or none) */
    long row;     /* the carrier row being filled, -1 none */
    /* a table: its columns, by field (or -1 with the name kept for extras) */
    int n_cols; /* 0: no table */
    bool tabs;  /* tab-separated, else `|` */
    int col_field[MAX_COLS];
    char col_name[MAX_COLS][NET_CI_KEY_MAX];
} parser;

static void extra(parser *ps, const char *key, size_t kn, const char *val, size_t vn)
{
    net_call_info *ci = ps->ci;
    if (ci->n_extra >= NET_CI_MAX_EXTRA) {
        ci->extra_dropped++;
        return;
    }
    net_ci_extra *e = &ci->extra[ci->n_extra++];
    snprintf(e->block, sizeof(e->block), "%s", ps->block);
    e->cut = copy_cut(e->key, sizeof(e->key), key, kn);
    e->cut |= copy_cut(e->value, sizeof(e->value), val, vn);
    e->line = ps->line;
}

static long new_row(parser *ps)
{
    net_call_info *ci = ps->ci;
    if (ci->n_rows >= NET_CI_MAX_ROWS) {
        ci->rows_dropped++;
        return ps->row = -2; /* its values are dropped with it */
    }
    memset(&ci->rows[ci->n_rows], 0, sizeof(ci->rows[0]));
    return ps->row = (long)ci->n_rows++;
}

/* key = value (key as written), into its field, or kept as an extra. `in_row`: a table row or
 * a `\G` row, whose carrier fields are that row's. */
static void pair(parser *ps, const char *key, size_t kn, const char *val, size_t vn)
{
    trim(&key, &kn);
    trim_value(&val, &vn);
    char norm[NET_CI_KEY_MAX];
    int fi = normalise_key(key, kn, norm, sizeof(norm)) ? field_of(norm) : -1;
    if (fi < 0 || (k_fields[fi].row && !ps->carrier)) {
        extra(ps, key, kn, val, vn);
        return;
    }
    const field_def *f = &k_fields[fi];
    net_carrier_row *row = NULL;
    if (f->row) {
        if (ps->row == -1)
            new_row(ps);
        if (ps->row < 0) /* past the rows kept: counted with its row */
            return;
        row = &ps->ci->rows[ps->row];
    }
    net_ci_value *v = (net_ci_value *)((char *)(f->row ? (void *)row : (void *)ps->ci) + f->off);
    if (v->present) { /* given twice: the first stands, the later is kept */
        extra(ps, key, kn, val, vn);
        return;
    }
    v->present = true;
    v->line = ps->line;
    v->cut = copy_cut(v->text, sizeof(v->text), val, vn);
    validate(f, v, row);
}

static bool is_block(const char *norm, char *canon, size_t n, bool *carrier)
{
    static const struct {
        const char *name, *canon;
        bool carrier;
    } k[] = {{"carrier_log", "carrier_log", true},  {"carrier", "carrier_log", true},
             {"carrier_data", "carrier_log", true}, {"vicidial_carrier_log", "carrier_log", true},
             {"queue_data", "queue_data", false},   {"queue", "queue_data", false},
             {"did_routing", "did_routing", false}, {"did", "did_routing", false},
             {"did_data", "did_routing", false}};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (!strcmp(norm, k[i].name)) {
            snprintf(canon, n, "%s", k[i].canon);
            *carrier = k[i].carrier;
            return true;
        }
    return false;
}

/* A block header: "CARRIER LOG:", "=== Queue data ===", "[DID ROUTING]", "## carrier log",
 * or an upper-case "OTHER THING:" alone on its line. Pairs after the colon on the same line
 * are read (the rest is returned). */
static bool header(parser *ps, const char *p, size_t n, const char **rest, size_t *rest_n)
{
    const char *colon = memchr(p, ':', n);
    size_t hn = colon ? (size_t)(colon - p) : n;
    const char *h = p;
    while (hn && *h && strchr("=-#*[ \t", *h))
        h++, hn--;
    while (hn && h[hn - 1] && strchr("=-#*] \t", h[hn - 1]))
        hn--;
    char norm[NET_CI_KEY_MAX];
    if (!normalise_key(h, hn, norm, sizeof(norm)))
        return false;
    const char *after = colon ? colon + 1 : p + n;
    size_t an = (size_t)(p + n - after);
    trim(&after, &an);
    /* after the colon, only decoration ("CARRIER LOG: ===") is no value */
    bool nothing = true;
    for (size_t i = 0; i < an; i++)
        if (!after[i] || !strchr("=-#*]", after[i]))
            nothing = false;
    char canon[NET_CI_KEY_MAX];
    bool carrier = false;
    if (is_block(norm, canon, sizeof(canon), &carrier)) {
        /* "queue: SALES" is the queue's name, not a block; "CARRIER LOG: dialstatus=BUSY" is a
         * block with a pair after it */
        if (!nothing && !memchr(after, '=', an) && !memchr(after, ':', an))
            return false;
    } else {
        bool upper = false;
        for (size_t i = 0; i < hn; i++) {
            if (islower((unsigned char)h[i]))
                return false;
            upper |= isupper((unsigned char)h[i]) != 0;
        }
        if (!upper || !colon || !nothing || field_of(norm) >= 0)
            return false;
        snprintf(canon, sizeof(canon), "%s", norm);
        carrier = true; /* another block ("CALL DETAILS:"): its carrier keys open a row */
    }
    snprintf(ps->block, sizeof(ps->block), "%s", canon);
    ps->carrier = carrier;
    ps->row = -1;
    ps->n_cols = 0;
    if (!strcmp(canon, "carrier_log"))
        new_row(ps);
    *rest = nothing ? NULL : after;
    *rest_n = nothing ? 0 : an;
    return true;
}

/* One or more pairs on a line: "key: value" (one: values hold colons, as times do), or
 * "a=1 b=2, c = some words" (each `ident=` starts the next). false when it has none. */
static bool pairs(parser *ps, const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n), *colon = memchr(p, ':', n);
    if (!eq && !colon)
        return false;
    if (colon && (!eq || colon < eq)) {
        char norm[NET_CI_KEY_MAX];
        if (!normalise_key(p, (size_t)(colon - p), norm, sizeof(norm)))
            return false;
        pair(ps, p, (size_t)(colon - p), colon + 1, (size_t)(p + n - colon - 1));
        return true;
    }
    /* the starts of "ident=" (or "ident = ") pieces */
    const char *starts[64];
    const char *keys_end[64];
    int k = 0;
    for (size_t i = 0; i < n && k < 64; i++) {
        if (p[i] != '=')
            continue;
        size_t e = i;
        while (e && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        size_t b = e;
        while (b && (isalnum((unsigned char)p[b - 1]) || p[b - 1] == '_' || p[b - 1] == '"' ||
                     p[b - 1] == '\''))
            b--;
        if (b == e || (b && !isspace((unsigned char)p[b - 1]) && p[b - 1] != ',' &&
                       p[b - 1] != ';' && p[b - 1] != '|'))
            continue; /* inside a value ("a=b=c", a URI's "user=phone") */
        char norm[NET_CI_KEY_MAX];
        if (!normalise_key(p + b, e - b, norm, sizeof(norm)))
            continue;
        if (k == 0 && b) { /* words before the first key: not a line of pairs */
            size_t lead = b;
            const char *q = p;
            trim(&q, &lead);
            if (lead)
                return false;
        }
        starts[k] = p + b;
        keys_end[k++] = p + e;
    }
    if (!k)
        return false;
    for (int j = 0; j < k; j++) {
        const char *v = (const char *)memchr(keys_end[j], '=', (size_t)(p + n - keys_end[j])) + 1;
        const char *ve = j + 1 < k ? starts[j + 1] : p + n;
        pair(ps, starts[j], (size_t)(keys_end[j] - starts[j]), v, (size_t)(ve - v));
    }
    return true;
}

/* The cells of a table line: `| a | b |` or tab-separated. */
static int cells(const char *p, size_t n, bool tabs, const char **cp, size_t *cn, int max)
{
    char sep = tabs ? '\t' : '|';
    if (!tabs) { /* drop the outer bars */
        if (n && *p == '|')
            p++, n--;
        if (n && p[n - 1] == '|')
            n--;
    }
    int k = 0;
    const char *e = p + n;
    while (k < max) {
        const char *s = memchr(p, sep, (size_t)(e - p));
        const char *ce = s ? s : e;
        cp[k] = p;
        cn[k] = (size_t)(ce - p);
        trim(&cp[k], &cn[k]);
        k++;
        if (!s)
            break;
        p = s + 1;
    }
    return k;
}

/* A table header: every cell a key, at least one a field's. */
static bool table_header(parser *ps, const char *p, size_t n, bool tabs)
{
    const char *cp[MAX_COLS];
    size_t cn[MAX_COLS];
    int k = cells(p, n, tabs, cp, cn, MAX_COLS);
    if (k < 2)
        return false;
    int known = 0;
    char norm[MAX_COLS][NET_CI_KEY_MAX];
    for (int i = 0; i < k; i++) {
        if (!normalise_key(cp[i], cn[i], norm[i], sizeof(norm[i])))
            return false;
        known += field_of(norm[i]) >= 0;
    }
    if (!known)
        return false;
    for (int i = 0; i < k; i++) {
        ps->col_field[i] = field_of(norm[i]);
        copy_cut(ps->col_name[i], sizeof(ps->col_name[i]), cp[i], cn[i]);
    }
    ps->n_cols = k;
    ps->tabs = tabs;
    snprintf(ps->block, sizeof(ps->block), "table");
    ps->carrier = true;
    return true;
}

/* A row of the table: a carrier row when it has a carrier column; NULL cells are absent. */
static void table_row(parser *ps, const char *p, size_t n)
{
    const char *cp[MAX_COLS];
    size_t cn[MAX_COLS];
    int k = cells(p, n, ps->tabs, cp, cn, MAX_COLS);
    bool carrier = false;
    for (int i = 0; i < k && i < ps->n_cols; i++)
        carrier |= ps->col_field[i] >= 0 && k_fields[ps->col_field[i]].row;
    ps->row = -1;
    if (carrier)
        new_row(ps);
    for (int i = 0; i < k; i++) {
        if (cn[i] == 4 && !memcmp(cp[i], "NULL", 4))
            continue;
        if (i >= ps->n_cols)
            extra(ps, "", 0, cp[i], cn[i]);
        else
            pair(ps, ps->col_name[i], strlen(ps->col_name[i]), cp[i], cn[i]);
    }
}

static void parse_line(parser *ps, const char *p, size_t n)
{
    /* spaces and CR off, not tabs: a tab-separated row may start with an empty cell */
    while (n && (*p == ' ' || *p == '\r'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\r'))
        n--;
    if (ps->n_cols && ps->tabs && n && memchr(p, '\t', n)) {
        table_row(ps, p, n);
        return;
    }
    trim(&p, &n);
    if (!n) {
        ps->n_cols = 0; /* a blank line ends a table */
        return;
    }
    size_t border = 0;
    while (border < n && (p[border] == '+' || p[border] == '-'))
        border++;
    if (*p == '+' && border == n) /* a table's border */
        return;
    if (ps->n_cols && !ps->tabs && *p == '|') {
        table_row(ps, p, n);
        return;
    }
    if ((*p == '|' || memchr(p, '\t', n)) && table_header(ps, p, n, *p != '|'))
        return;
    ps->n_cols = 0;
    /* mysql's \G: "*************************** 1. row ***************************" */
    if (*p == '*' && n > 8 && memmem(p, n, ". row ", 6)) {
        snprintf(ps->block, sizeof(ps->block), "table");
        ps->carrier = true;
        new_row(ps);
        return;
    }
    const char *rest;
    size_t rn;
    if (header(ps, p, n, &rest, &rn)) {
        if (rest && !pairs(ps, rest, rn))
            extra(ps, "", 0, rest, rn);
        return;
    }
    if (!pairs(ps, p, n))
        extra(ps, "", 0, p, n);
}

/* ---- findings -------------------------------------------------------------------------------- */

typedef struct fbuild {
    net_call_info *ci;
    size_t row; /* SIZE_MAX: none */
} fbuild;

static cq_finding *add(fbuild *b, const char *code, cq_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* a finding on the call_info's list (net_flist: findings.c's builder), with its row */
static cq_finding *add(fbuild *b, const char *code, cq_severity sev, const char *fmt, ...)
{
    net_flist l = {&b->ci->findings, &b->ci->n_findings, &b->ci->finding_row, SIZE_MAX, NULL};
    va_list ap;
    va_start(ap, fmt);
    cq_finding *f = net__finding_vadd(&l, b->row, code, sev, fmt, ap);
    va_end(ap);
    return f;
}

/* The evidence of a value: "call_info line N: key value", not tied to the call's clock. */
static void evidence(cq_finding *f, const char *key, const net_ci_value *v)
{
    if (v->present)
        net__finding_figure(f, -1, -1, "call_info line %u: %s %s", v->line, key, v->text);
}

static cq_severity sip_severity(int st)
{
    switch (st) {
    case 404:
    case 480:
    case 486:
    case 600:
    case 603:
    case 604: return CQ_SEV_MINOR; /* the far end's answer, not a fault of the path */
    case 487: return CQ_SEV_INFO;
    default: return CQ_SEV_MAJOR;
    }
}

static void row_findings(net_call_info *ci, size_t i)
{
    static const struct {
        const char *code;
        cq_severity sev;
    } dial_code[] = {
        [NET_DIAL_BUSY] = {"carrier_busy", CQ_SEV_MINOR},
        [NET_DIAL_NOANSWER] = {"carrier_no_answer", CQ_SEV_MINOR},
        [NET_DIAL_CANCEL] = {"carrier_cancel", CQ_SEV_INFO},
        [NET_DIAL_CONGESTION] = {"carrier_congestion", CQ_SEV_MAJOR},
        [NET_DIAL_CHANUNAVAIL] = {"carrier_unavailable", CQ_SEV_MAJOR},
        [NET_DIAL_DONTCALL] = {"carrier_privacy_refused", CQ_SEV_MINOR},
        [NET_DIAL_TORTURE] = {"carrier_privacy_refused", CQ_SEV_MINOR},
        [NET_DIAL_INVALIDARGS] = {"carrier_dial_error", CQ_SEV_MAJOR},
    };
    const net_carrier_row *r = &ci->rows[i];
    fbuild b = {ci, i};
    char who[96] = "the carrier log";
    if (ci->n_rows > 1)
        snprintf(who, sizeof(who), "carrier log row %zu", i + 1);
    if (r->uniqueid.present) {
        size_t k = strlen(who);
        snprintf(who + k, sizeof(who) - k, " (uniqueid %.40s)", r->uniqueid.text);
    }
    if (r->dial > NET_DIAL_ANSWER && r->dialstatus.valid) {
        char more[160] = "";
        if (r->dial_time.valid)
            snprintf(more, sizeof(more), " (dial_time %.0f s)", r->dial_time.num);
        cq_finding *f =
            add(&b, dial_code[r->dial].code, dial_code[r->dial].sev, "%s: %s: %s%s", who,
                net_dialstatus_name(r->dial), net_dialstatus_meaning(r->dial), more);
        net__finding_value(f, CQ_VSTR("dialstatus", net_dialstatus_name(r->dial)));
        if (r->dial_time.valid)
            net__finding_value(f, CQ_VINT("dial_time_sec", (long long)r->dial_time.num));
        evidence(f, "dialstatus", &r->dialstatus);
    }
    if (r->sip_hangup_cause.valid && r->sip_hangup_cause.num >= 400) {
        int st = (int)r->sip_hangup_cause.num;
        const char *phrase = r->sip_phrase ? r->sip_phrase : "a code RFC 3261 does not name";
        char said[NET_CI_VALUE_MAX + 40] = "";
        if (r->sip_hangup_reason.present && r->sip_hangup_reason.text[0] &&
            strcasecmp(r->sip_hangup_reason.text, phrase))
            snprintf(said, sizeof(said), " (the carrier said \"%s\")", r->sip_hangup_reason.text);
        cq_finding *f = add(&b, "carrier_sip_failure", sip_severity(st),
                            "%s: the call ended with SIP %d %s%s", who, st, phrase, said);
        net__finding_value(f, CQ_VINT("sip_hangup_cause", st));
        net__finding_value(f, CQ_VSTR("phrase", r->sip_phrase ? r->sip_phrase : ""));
        evidence(f, "sip_hangup_cause", &r->sip_hangup_cause);
        evidence(f, "sip_hangup_reason", &r->sip_hangup_reason);
    }
    int q = r->hangup_cause.valid ? (int)r->hangup_cause.num : 0;
    if (q && q != 16 && q != 31) {
        /* Q.850's classes: 1-31 normal events (the far end's answer), the rest resources,
         * services, implementation, message and protocol faults, interworking */
        cq_finding *f = add(&b, "carrier_q850", q <= 31 ? CQ_SEV_MINOR : CQ_SEV_MAJOR,
                            "%s: Q.850 hangup cause %d: %s", who, q,
                            r->hangup_text ? r->hangup_text : "a cause Q.850 does not name");
        net__finding_value(f, CQ_VINT("hangup_cause", q));
        net__finding_value(f, CQ_VSTR("text", r->hangup_text ? r->hangup_text : ""));
        evidence(f, "hangup_cause", &r->hangup_cause);
    }
}

/* Each field of a row or of the call_info, by the table. */
static const net_ci_value *field_value(const net_call_info *ci, size_t row, int fi)
{
    const field_def *f = &k_fields[fi];
    const void *base = f->row ? (const void *)&ci->rows[row] : (const void *)ci;
    return (const net_ci_value *)((const char *)base + f->off);
}

static void findings(net_call_info *ci)
{
    for (size_t i = 0; i < ci->n_rows; i++)
        row_findings(ci, i);
    fbuild b = {ci, SIZE_MAX};
    if (ci->queue_seconds.valid && ci->queue_seconds.num > NET_QUEUE_LONG_SEC) {
        char pos[48] = "";
        if (ci->queue_position.valid)
            snprintf(pos, sizeof(pos), ", at position %.0f", ci->queue_position.num);
        cq_finding *f = add(&b, "queue_long_wait", CQ_SEV_MINOR,
                            "the caller waited %.1f s in queue%s%s%s (more than %.0f s)",
                            ci->queue_seconds.num, ci->queue.present ? " " : "",
                            ci->queue.present ? ci->queue.text : "", pos, NET_QUEUE_LONG_SEC);
        net__finding_value(f, CQ_VNUM("queue_seconds", ci->queue_seconds.num, 2));
        if (ci->queue_position.valid)
            net__finding_value(f, CQ_VINT("queue_position", (long long)ci->queue_position.num));
        evidence(f, "queue_seconds", &ci->queue_seconds);
    }
    if (!ci->n_invalid)
        return;
    char list[512] = "";
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++) { /* the list for the message, then the evidence */
        cq_finding *f = NULL;
        if (pass == 1) {
            f = add(&b, "call_info_unparsed", CQ_SEV_INFO, "%zu value%s kept as text, not read: %s",
                    ci->n_invalid, ci->n_invalid == 1 ? "" : "s", list);
            net__finding_value(f, CQ_VINT("values", ci->n_invalid));
            if (!f)
                return;
        }
        for (size_t r = 0; r <= ci->n_rows; r++)
            for (int fi = 0; fi < N_FIELDS; fi++) {
                if (k_fields[fi].row == (r == ci->n_rows))
                    continue;
                const net_ci_value *v = field_value(ci, r, fi);
                if (!v->present || v->valid)
                    continue;
                if (f)
                    evidence(f, k_fields[fi].name, v);
                else if (k < sizeof(list))
                    k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s \"%.40s\"",
                                          k ? ", " : "", k_fields[fi].name, v->text);
            }
    }
}

/* ---- the entry points ------------------------------------------------------------------------ */

int net_call_info_parse(const char *text, size_t len, net_call_info *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    err[0] = 0;
    size_t n = len;
    const char *p = text;
    trim(&p, &n);
    if (!n) {
        snprintf(err, errsz, "call_info is empty");
        return -1;
    }
    if (len > NET_CI_MAX_BYTES) {
        snprintf(err, errsz, "call_info over %zu KiB", NET_CI_MAX_BYTES >> 10);
        return -1;
    }
    if (memchr(text, 0, len)) {
        snprintf(err, errsz, "call_info is not text: it holds NUL bytes");
        return -1;
    }
    parser ps = {.ci = out, .row = -1, .carrier = true};
    for (const char *q = text, *end = text + len; q < end;) {
        const char *eol = memchr(q, '\n', (size_t)(end - q));
        size_t ln = (size_t)((eol ? eol : end) - q);
        ps.line++;
        parse_line(&ps, q, ln);
        q = eol ? eol + 1 : end;
    }
    /* what was found: a field of any row or of the call_info */
    bool any = false;
    for (size_t r = 0; r <= out->n_rows; r++)
        for (int fi = 0; fi < N_FIELDS; fi++) {
            if (k_fields[fi].row == (r == out->n_rows))
                continue;
            const net_ci_value *v = field_value(out, r, fi);
            any |= v->present;
            out->n_invalid += v->present && !v->valid;
        }
    if (!any) {
        memset(out, 0, sizeof(*out));
        snprintf(err, errsz,
                 "no call_info field found (blocks CARRIER LOG:, QUEUE DATA:, DID ROUTING: of "
                 "key: value pairs, or vicidial_carrier_log rows as the mysql client prints "
                 "them)");
        return -1;
    }
    findings(out);
    return 0;
}

void net_call_info_free(net_call_info *ci)
{
    if (!ci)
        return;
    net__finding_list_free(ci->findings, ci->n_findings);
    free(ci->finding_row);
    memset(ci, 0, sizeof(*ci));
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* A field's value: a number when it parsed as one, else its text; null when absent. */
static json_t *value_json(const field_def *f, const net_ci_value *v)
{
    if (!v->present)
        return json_null();
    if (v->valid && (f->k == K_INT || f->k == K_SIPCODE))
        return json_integer((json_int_t)v->num);
    if (v->valid && f->k == K_DEC)
        return json_real(v->num);
    if (v->valid && f->k == K_DIAL) /* its name as Asterisk writes it */
        for (int d = 1; d < N_DIAL; d++)
            if (!strcasecmp(v->text, k_dial[d].name))
                return json_string(k_dial[d].name);
    return net_json_wire(v->text);
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *net_call_info_json(const net_call_info *ci)
{
    json_t *rows = json_array(), *queue = json_object(), *did = json_object(),
           *invalid = json_array();
    for (size_t r = 0; r <= ci->n_rows; r++) {
        json_t *o = r < ci->n_rows ? json_object() : NULL;
        for (int fi = 0; fi < N_FIELDS; fi++) {
            const field_def *f = &k_fields[fi];
            if (f->row != (r < ci->n_rows))
                continue;
            const net_ci_value *v = field_value(ci, r, fi);
            json_t *target = o ? o : !strncmp(f->name, "did", 3) ? did : queue;
            json_object_set_new(target, f->name, value_json(f, v));
            if (v->present && !v->valid)
                json_array_append_new(invalid,
                                      json_pack("{s:s,s:o,s:o,s:i,s:b}", "field", f->name, "row",
                                                o ? json_integer((json_int_t)r) : json_null(),
                                                "value", net_json_wire(v->text), "line",
                                                (int)v->line, "cut", v->cut));
        }
        if (!o)
            continue;
        const net_carrier_row *row = &ci->rows[r];
        json_object_set_new(o, "dialstatus_meaning", opt_str(net_dialstatus_meaning(row->dial)));
        json_object_set_new(o, "hangup_cause_text",
                            opt_str(row->hangup_cause.valid ? row->hangup_text : NULL));
        json_object_set_new(o, "sip_hangup_phrase",
                            opt_str(row->sip_hangup_cause.valid ? row->sip_phrase : NULL));
        json_array_append_new(rows, o);
    }
    json_t *extra = json_array();
    for (size_t i = 0; i < ci->n_extra; i++) {
        const net_ci_extra *e = &ci->extra[i];
        json_array_append_new(extra,
                              json_pack("{s:s,s:o,s:o,s:i,s:b}", "block", e->block, "key",
                                        net_json_wire(e->key), "value", net_json_wire(e->value),
                                        "line", (int)e->line, "cut", e->cut));
    }
    char *fs = cq_findings_to_json(ci->findings, ci->n_findings);
    json_t *fa = fs ? json_loads(fs, 0, NULL) : NULL;
    cq_report_free_string(fs);
    if (!json_is_array(fa)) {
        json_decref(fa);
        fa = json_array();
    }
    for (size_t i = 0; i < json_array_size(fa) && i < ci->n_findings; i++)
        json_object_set_new(json_array_get(fa, i), "row",
                            ci->finding_row[i] < ci->n_rows
                                ? json_integer((json_int_t)ci->finding_row[i])
                                : json_null());
    return json_pack("{s:o,s:I,s:o,s:o,s:o,s:o,s:I,s:o}", "carrier_log", rows,
                     "carrier_rows_dropped", (json_int_t)ci->rows_dropped, "queue", queue, "did",
                     did, "invalid", invalid, "extra", extra, "extra_dropped",
                     (json_int_t)ci->extra_dropped, "findings", fa);
}
