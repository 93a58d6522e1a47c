/*
 * svc_qa_search.c - GET /api/qa/search: words in the stored transcripts (the store's full-text
 * index: SQLite FTS5 or PostgreSQL's), the query built from plain words only (svc_qa_fts_query:
 * no operator a caller types reaches the index), with the matched offsets of each segment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "svc_access.h"
#include "svc_qa.h"
#include "../pipeline/pl_service.h"
#include "../scoring/scoring.h"
#include "../store/store_query.h"

/* ---- GET /api/qa/search -------------------------------------------------------------------- */

/* q as an FTS5 query: each word, and each "quoted phrase", a string of its own (so that no
 * character of q is FTS5 syntax); all of them must match. "" when q has no word. */
void svc_qa_fts_query(const char *q, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    while (*q && k + 8 < n) {
        while (*q == ' ' || *q == '\t')
            q++;
        if (!*q)
            break;
        bool phrase = *q == '"';
        if (phrase)
            q++;
        const char *e = q;
        while (*e && (phrase ? *e != '"' : *e != ' ' && *e != '\t'))
            e++;
        if (e > q) {
            if (k)
                out[k++] = ' ';
            out[k++] = '"';
            for (const char *c = q; c < e && k + 4 < n; c++)
                if (*c != '"')
                    out[k++] = *c;
            out[k++] = '"';
            out[k] = 0;
        }
        q = *e ? e + 1 : e;
    }
}

/* the hits of a segment as character offsets: the text marked with \x02 ... \x03 */
static json_t *offsets(const char *marked)
{
    json_t *a = json_array();
    long pos = 0, start = -1;
    for (const unsigned char *p = (const unsigned char *)marked; *p; p++) {
        if (*p == 2)
            start = pos;
        else if (*p == 3 && start >= 0)
            json_array_append_new(a, json_pack("[II]", (json_int_t)start, (json_int_t)pos)),
                start = -1;
        else if ((*p & 0xC0) != 0x80)
            pos++; /* a character: not a UTF-8 continuation byte */
    }
    return a;
}

typedef struct search_acc {
    json_t *calls; /* [{call..., hits: [...]}] */
    json_t *last;
    int64_t last_id;
    size_t max_calls;
    req *r;       /* its max_answer, and its count of hits left out past it */
    size_t bytes; /* the hits' text so far (twice: as text and marked) */
} search_acc;

static int search_row(void *user, const store_val *c, int n)
{
    search_acc *a = user;
    const store_val *t = svc_qa_col(c, n, "text");
    size_t row = 128 + 2 * (t && t->t == SV_TEXT && t->s ? strlen(t->s) : 0);
    if (a->last && a->bytes + row > a->r->s->cfg->max_answer) {
        a->r->rows_left_out++; /* past max_answer_mb: counted (svc_qa_send's truncated) */
        return 0;
    }
    a->bytes += row;
    int64_t id = (int64_t)svc_qa_num(c, n, "call_id");
    if (!a->last || id != a->last_id) {
        if (json_array_size(a->calls) >= a->max_calls)
            return 1;
        a->last = json_object();
        json_object_set_new(a->last, "call_id", json_integer(id));
        static const char *const k[] = {"recording_id", "agent_user", "campaign_id", "call_date"};
        for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
            json_object_set_new(a->last, k[i], svc_qa_val(svc_qa_col(c, n, k[i]), -1));
        json_object_set_new(a->last, "hits", json_array());
        json_array_append_new(a->calls, a->last);
        a->last_id = id;
    }
    const store_val *m = svc_qa_col(c, n, "marked");
    json_t *h = json_object();
    json_object_set_new(h, "segment", svc_qa_val(svc_qa_col(c, n, "segment"), -1));
    json_object_set_new(h, "speaker", svc_qa_val(svc_qa_col(c, n, "speaker"), -1));
    json_object_set_new(h, "start", svc_qa_val(svc_qa_col(c, n, "start"), 3));
    json_object_set_new(h, "end", svc_qa_val(svc_qa_col(c, n, "end"), 3));
    json_object_set_new(h, "text", svc_qa_val(svc_qa_col(c, n, "text"), -1));
    json_object_set_new(h, "offsets", offsets(m && m->t == SV_TEXT ? m->s : ""));
    json_array_append_new(json_object_get(a->last, "hits"), h);
    return 0;
}

enum MHD_Result svc_qa_search(req *r, const char *data, size_t *size)
{
    (void)data, (void)size;
    long limit;
    if (svc_qa_int_arg(r, "limit", 50, 1, 500, &limit))
        return svc_send(r);
    const char *q = svc_qa_arg(r, "q"), *from = svc_qa_arg(r, "from"), *to = svc_qa_arg(r, "to");
    char match[1200];
    svc_qa_fts_query(q ? q : "", match, sizeof(match));
    if (!match[0] || strlen(q) > 1000) {
        svc_answer_error(r, 400, "bad_argument",
                         "q: one or more words to find (at most 1000 "
                         "bytes; \"a phrase\" in double quotes)");
        return svc_send(r);
    }
    if ((from && !svc_qa_valid_date(from)) || (to && !svc_qa_valid_date(to))) {
        svc_answer_error(r, 400, "bad_argument", "from and to must be YYYY-MM-DD");
        return svc_send(r);
    }
    search_acc acc = {.calls = json_array(), .max_calls = (size_t)limit, .r = r};
    store_val p[7] = {SV_S(match),
                      SV_S(from),
                      SV_S(to),
                      SV_S(svc_qa_arg(r, "agent")),
                      SV_S(svc_qa_arg(r, "campaign")),
                      SV_I(limit * 50),
                      SV_S(svc_qa_campaigns(r))};
    if (store_query(r->s->store, SQ_SEARCH, p, 7, search_row, &acc) != 0) {
        json_decref(acc.calls);
        return svc_qa_store_failed(r);
    }
    svc_audit_calls(r, acc.calls); /* a row per call returned, beside the search's (svc_audit) */
    json_t *o = json_object();
    json_object_set_new(o, "query", json_string(q));
    json_object_set_new(o, "calls", acc.calls);
    /* with redaction on, the one walk: the query echoed as the audit trail keeps it */
    if (pl_redact_any(r->s->cfg) && pl_redact_mask_report(o, pl_redact_types(r->s->cfg), NULL)) {
        json_decref(o);
        svc_answer_error(r, 500, "internal", "out of memory");
        return svc_send(r);
    }
    return svc_qa_send(r, 200, o);
}
