/*
 * fuzz_callinfo.c - libFuzzer harness over ViciDial's call_info and carrier log pastes
 * (net_call_info_parse: blocks, pairs, mysql tables, tab-separated rows, `\G` rows; then the
 * findings and the JSON of src/net/call_info.c). Oracles: text refused says why and leaves
 * nothing; text read has a field, its rows and extras within their bounds, every value
 * NUL-terminated within its size, a number field that is valid has a number in range and an
 * invalid one keeps its text, the invalid count matches, every finding has a code, a message
 * and its row, and the JSON renders.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/net/net.h"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t check_value(const net_ci_value *v)
{
    MUST(memchr(v->text, 0, sizeof(v->text)) != NULL);
    if (!v->present)
        MUST(!v->text[0] && !v->valid);
    MUST(!(v->cut && v->valid));
    MUST(v->num >= 0);
    return v->present && !v->valid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static net_call_info ci; /* 40 KiB: not on the stack */
    char err[512];
    if (net_call_info_parse((const char *)data, size, &ci, err, sizeof(err)) != 0) {
        MUST(err[0] && !ci.n_findings && !ci.findings && !ci.n_rows);
        net_call_info_free(&ci);
        return 0;
    }
    MUST(ci.n_rows <= NET_CI_MAX_ROWS && ci.n_extra <= NET_CI_MAX_EXTRA);
    size_t invalid = 0;
    for (size_t r = 0; r < ci.n_rows; r++) {
        const net_carrier_row *w = &ci.rows[r];
        const net_ci_value *v[] = {&w->uniqueid,         &w->call_date,         &w->server_ip,
                                   &w->lead_id,          &w->hangup_cause,      &w->dialstatus,
                                   &w->channel,          &w->dial_time,         &w->answered_time,
                                   &w->sip_hangup_cause, &w->sip_hangup_reason, &w->caller_code};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
            invalid += check_value(v[i]);
        MUST(!w->hangup_cause.valid || w->hangup_cause.num <= 127);
        MUST(!w->sip_hangup_cause.valid || w->sip_hangup_cause.num == 0 ||
             (w->sip_hangup_cause.num >= 100 && w->sip_hangup_cause.num <= 699));
        MUST(w->dialstatus.valid == (w->dial != NET_DIAL_NONE));
    }
    const net_ci_value *top[] = {&ci.queue, &ci.queue_seconds, &ci.queue_position, &ci.did_pattern,
                                 &ci.did_description};
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
        invalid += check_value(top[i]);
    MUST(invalid == ci.n_invalid);
    for (size_t i = 0; i < ci.n_extra; i++)
        MUST(memchr(ci.extra[i].key, 0, sizeof(ci.extra[i].key)) &&
             memchr(ci.extra[i].value, 0, sizeof(ci.extra[i].value)) &&
             memchr(ci.extra[i].block, 0, sizeof(ci.extra[i].block)));
    for (size_t f = 0; f < ci.n_findings; f++) {
        MUST(ci.findings[f].code && ci.findings[f].message && strlen(ci.findings[f].message));
        MUST(ci.finding_row[f] < ci.n_rows || ci.finding_row[f] == SIZE_MAX);
    }
    json_t *o = net_call_info_json(&ci);
    MUST(o != NULL);
    char *s = json_dumps(o, JSON_COMPACT);
    MUST(s != NULL);
    free(s);
    json_decref(o);
    net_call_info_free(&ci);
    MUST(!ci.findings && !ci.n_rows);
    return 0;
}
