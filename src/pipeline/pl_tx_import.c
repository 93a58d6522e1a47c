/*
 * pl_tx_import.c - a transcript made elsewhere, into the store (docs/transcription.md, "Import"):
 * read (callqa's own segments, or OpenAI's verbose_json), checked against the call's analysed
 * speech when the store has its report, redacted as its campaign asks, and stored in place of
 * any earlier one as the worker stores its own (pl_stored_tx). `callqa transcript import` and
 * POST /api/qa/call/{id}/transcript both import through here. And what the routes ask of a
 * stored call's redaction beside it: whether its audio waits for its redacted copy.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_int.h"
#include "../store/store_query.h"

bool pl_redact_audio_pending(const cfg_settings *c, const char *campaign)
{
    pl_redact_plan p;
    return pl_redact_plan_of(c, campaign, &p) != 0 || (p.on && p.audio);
}

/* SQ_REPORT's row: the stored report (NULL: none, or empty). */
static int report_row(void *user, const store_val *c, int n)
{
    char **report = user;
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].name, "report") && c[i].t == SV_TEXT && c[i].s[0] && !*report)
            *report = strdup(c[i].s);
    return 1;
}

static int ended(pl_tx_imported *out, pl_tx_end end, int code, const char *fmt, const char *s)
{
    out->end = end;
    cq_err_set(&out->err, code, fmt, s);
    return -1;
}

int pl_tx_import(const cfg_settings *c, store *st, int64_t call_id, const char *text, size_t len,
                 const char *speaker, pl_tx_imported *out)
{
    memset(out, 0, sizeof(*out));
    cq_err_clear(&out->err);
    out->rate = -1;
    char *report = NULL, err[600];
    store_val q[1] = {SV_I(call_id)};
    if (store_query(st, SQ_REPORT, q, 1, report_row, &report) != 0)
        return ended(out, PL_TX_STORE, CQ_ERR_STORE, "%s", store_errmsg(st));
    tx_transcript t;
    int rc = tx_import(text, len, speaker, report, &t, err, sizeof(err));
    free(report);
    if (rc != 0)
        return ended(out, PL_TX_BAD, CQ_ERR_FORMAT, "%s", err);
    /* redacted as the call's campaign asks, before it is stored */
    if (pl_redact_transcript_of(c, st, call_id, &t, &out->redacted, err, sizeof(err)) < 0) {
        tx_transcript_free(&t);
        return ended(out, PL_TX_REDACTION, CQ_ERR_INTERNAL, "%s", err);
    }
    out->words = t.words;
    out->turns = t.n_turns;
    out->flagged_words = t.flagged_words;
    out->dropped_words = t.dropped_words;
    out->rate = tx_hallucination_rate(&t);
    out->unchecked = t.unchecked;
    char *js = tx_to_json(&t);
    tx_transcript_free(&t);
    pl_stored_tx sx;
    if (!js)
        return ended(out, PL_TX_INTERNAL, CQ_ERR_NOMEM, "%s", "out of memory");
    if (pl_stored_tx_from_json(js, "import", call_id, &sx, err, sizeof(err)) != 0) {
        free(js);
        return ended(out, PL_TX_INTERNAL, CQ_ERR_INTERNAL, "%s", err);
    }
    rc = store_transcript_put(st, &sx.t, cq_clock_wall_sec());
    pl_stored_tx_free(&sx);
    if (rc != STORE_OK) {
        free(js);
        return ended(out, PL_TX_STORE, CQ_ERR_STORE, "%s", store_errmsg(st));
    }
    out->block = js;
    return 0;
}

void pl_tx_imported_free(pl_tx_imported *x)
{
    free(x->block);
    x->block = NULL;
}
