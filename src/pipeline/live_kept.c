/*
 * live_kept.c - the live events of a call that `callqa live --record-dir` recorded: NAME.live.jsonl
 * beside NAME.wav (docs/live/server.md, "Recordings"). The worker's child reads them, keeps them in
 * the report's `live` key, and holds the classifier's events decided live against those of the
 * batch analysis of the same recording: the same classifier ran on the same samples, so they
 * must agree (docs/live.md, "In the QA service").
 *
 * Beside the recording: the file the call was analysed from with its extension replaced by
 * .live.jsonl, in the same folder, opened as the recordings are (rec_open: beneath the
 * configured folders, no symbolic link, a regular file). NAME.live.jsonl.part alone means the
 * call's lines are still being written: said, not waited for.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "../store/store_retain.h"

#define LIVE_FILE_MAX (8u << 20) /* bytes read of the events file */
#define LIVE_KEPT_MAX 2000       /* event lines kept in the report */
#define LIVE_SHOWN_MAX 20        /* disagreements listed */
#define START_TOL 0.064          /* s: two 32 ms frames (a 16 kHz call's resampling) */

/* The classifier's own event types, which the batch analysis reports too. */
static const char *const k_compared[] = {"dtmf", "ringback", "busy", "sit", "fax", "hold", "ivr"};
#define N_COMPARED (sizeof(k_compared) / sizeof(k_compared[0]))

int pl_live_path(const char *rec, char *out, size_t n)
{
    /* the store's list of a call's files names it (a call's name may end in -in: kept) */
    return store_file_beside(rec, STORE_FILE_LIVE, out, n);
}

/* The live decisions, kept apart in the report. */
static const char *const k_decisions[] = {"human",      "machine",           "beep",
                                          "ivr_prompt", "hold_announcement", "hold_ended",
                                          "probe",      "message_end"};

static bool in_list(const char *t, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t && !strcmp(t, list[i]))
            return true;
    return false;
}

static bool compared_type(const char *t)
{
    return in_list(t, k_compared, N_COMPARED);
}

/* Every digit in a "digits" or "digit" string as '*' (as the report's are). */
static void mask_one(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return;
    char *m = strdup(json_string_value(v));
    if (!m)
        return;
    pl_redact_mask_str(m);
    json_string_set(v, m);
    free(m);
}

static char *read_all(int fd, size_t *len, char *why, size_t n)
{
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    for (;;) {
        if (got == cap) {
            if (cap >= LIVE_FILE_MAX) {
                free(buf);
                snprintf(why, n, "over %u MiB", LIVE_FILE_MAX >> 20);
                return NULL;
            }
            char *b = realloc(buf, 2 * cap + 1);
            if (!b) {
                free(buf);
                snprintf(why, n, "out of memory");
                return NULL;
            }
            buf = b, cap *= 2;
        }
        ssize_t k = read(fd, buf + got, cap - got);
        if (k < 0) {
            free(buf);
            snprintf(why, n, "cannot be read");
            return NULL;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    buf[got] = 0;
    *len = got;
    return buf;
}

/* The live lines against the batch analysis's events of the one leg: `agreement`. */
static json_t *agreement(json_t *events, const cq_report *rep, bool dtmf_muted)
{
    json_t *o = json_object();
    const cq_leg_report *L = rep->inbound;
    if (rep->has_legs || !L || !L->has_events) {
        json_object_set_new(o, "compared", json_false());
        json_object_set_new(o, "why",
                            json_string(rep->has_legs ? "the recording has two legs; the live "
                                                        "events are of one stream"
                                                      : "the events analyzer did not run"));
        return o;
    }
    size_t nb = L->n_events;
    bool *used = nb ? calloc(nb, sizeof(*used)) : NULL;
    json_t *only_live = json_array(), *only_batch = json_array(), *types = json_array();
    for (size_t i = 0; i < N_COMPARED; i++)
        if (!(dtmf_muted && !strcmp(k_compared[i], "dtmf")))
            json_array_append_new(types, json_string(k_compared[i]));
    size_t n_live = 0, agreed = 0, n_batch = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *st = json_string_value(json_object_get(e, "state"));
        json_t *start = json_object_get(e, "start");
        if (!compared_type(t) || !st || strcmp(st, "closed") || !json_is_number(start) ||
            (dtmf_muted && !strcmp(t, "dtmf")))
            continue;
        n_live++;
        const char *dg = json_string_value(json_object_get(e, "digits"));
        size_t hit = SIZE_MAX;
        for (size_t k = 0; k < nb && used && hit == SIZE_MAX; k++) {
            const cq_call_event *b = &L->events[k];
            if (!used[k] && !strcmp(cq_event_type_name(b->type), t) &&
                fabs(b->start_sec - json_number_value(start)) <= START_TOL &&
                (b->type != CQ_EV_DTMF || (dg && !strcmp(dg, b->digits))))
                hit = k;
        }
        if (hit != SIZE_MAX) {
            used[hit] = true;
            agreed++;
        } else if (json_array_size(only_live) < LIVE_SHOWN_MAX) {
            json_array_append_new(only_live, json_pack("{s:s,s:O}", "type", t, "start", start));
        }
    }
    for (size_t k = 0; k < nb; k++) {
        const cq_call_event *b = &L->events[k];
        const char *t = cq_event_type_name(b->type);
        if (!compared_type(t) || (dtmf_muted && b->type == CQ_EV_DTMF))
            continue;
        n_batch++;
        if (used && !used[k] && json_array_size(only_batch) < LIVE_SHOWN_MAX)
            json_array_append_new(only_batch,
                                  json_pack("{s:s,s:f}", "type", t, "start", b->start_sec));
    }
    free(used);
    json_object_set_new(o, "compared", json_true());
    json_object_set_new(o, "types", types);
    json_object_set_new(o, "live", json_integer((json_int_t)n_live));
    json_object_set_new(o, "batch", json_integer((json_int_t)n_batch));
    json_object_set_new(o, "agreed", json_integer((json_int_t)agreed));
    json_object_set_new(o, "agree", json_boolean(agreed == n_live && agreed == n_batch));
    json_object_set_new(o, "only_live", only_live);
    json_object_set_new(o, "only_batch", only_batch);
    json_object_set_new(o, "start_tolerance_sec", json_real(START_TOL));
    json_object_set_new(o, "dtmf",
                        json_string(dtmf_muted ? "not compared: muted in the recording "
                                                 "(--mask-digits)"
                                               : "compared"));
    return o;
}

int pl_live_of(const rec_roots *roots, const char *rec_path, const cq_report *rep, bool mask,
               json_t **out, char *why, size_t n)
{
    *out = NULL;
    why[0] = 0;
    char path[4200], part[4300];
    if (pl_live_path(rec_path, path, sizeof(path)) != 0)
        return 0;
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path; /* no server path
                                                                               * in a report */
    if (access(path, F_OK) != 0) {
        snprintf(part, sizeof(part), "%s.part", path);
        if (access(part, F_OK) == 0) {
            snprintf(why, n, "%s: still being written (only its .part is there)", base);
            return -1;
        }
        return 0;
    }
    char w[300];
    int fd = rec_open(roots, path, w, sizeof(w));
    if (fd < 0) {
        snprintf(why, n, "%s: %s", base, w);
        return -1;
    }
    size_t len = 0;
    char *text = read_all(fd, &len, w, sizeof(w));
    close(fd);
    if (!text) {
        snprintf(why, n, "%s: %s", base, w);
        return -1;
    }
    *out = pl_live_parse(text, len, base, rep, mask);
    free(text);
    if (!*out) {
        snprintf(why, n, "%s: out of memory", base);
        return -1;
    }
    return 1;
}

json_t *pl_live_parse(char *text, size_t len, const char *file, const cq_report *rep, bool mask)
{
    json_t *events = json_array(), *decisions = json_array(), *end = json_null(), *stats = NULL;
    json_t *call = NULL, *input = NULL;
    size_t bad = 0, dropped = 0;
    bool dtmf_muted = false;
    for (char *line = text, *nl; line < text + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(text + len - line));
        if (!nl)
            nl = text + len;
        *nl = 0;
        if (!*line)
            continue;
        json_t *o = json_loads(line, 0, NULL);
        const char *t = json_string_value(json_object_get(o, "type"));
        if (!json_is_object(o) || !t) {
            bad++;
            json_decref(o);
            continue;
        }
        if (!strcmp(t, "stats")) {
            json_decref(stats);
            stats = o;
            continue;
        }
        if (!call && json_is_string(json_object_get(o, "call")))
            call = json_incref(json_object_get(o, "call"));
        if (!input && json_is_string(json_object_get(o, "input")))
            input = json_incref(json_object_get(o, "input"));
        const char *dg = json_string_value(json_object_get(o, "digits"));
        if (dg && *dg && strspn(dg, "*") == strlen(dg)) /* written with --mask-digits */
            dtmf_muted = true;
        if (!strcmp(t, "call_end")) {
            json_decref(end);
            end = json_incref(o);
        }
        if (in_list(t, k_decisions, sizeof(k_decisions) / sizeof(k_decisions[0])) &&
            json_array_size(decisions) < LIVE_KEPT_MAX)
            json_array_append(decisions, o);
        json_array_append_new(events, o); /* all of them for the agreement, then cut */
    }
    json_t *r = json_object();
    json_object_set_new(r, "file", json_string(file));
    json_object_set_new(r, "call", call ? call : json_null());
    json_object_set_new(r, "input", input ? input : json_null());
    json_object_set_new(r, "call_end", end);
    json_object_set_new(r, "decisions", decisions);
    json_object_set_new(r, "agreement", agreement(events, rep, dtmf_muted));
    for (size_t i = 0; mask && i < json_array_size(events); i++) { /* after the comparison */
        mask_one(json_array_get(events, i), "digits");
        mask_one(json_array_get(events, i), "digit");
    }
    while (json_array_size(events) > LIVE_KEPT_MAX) {
        json_array_remove(events, json_array_size(events) - 1);
        dropped++;
    }
    json_object_set_new(r, "events", events);
    json_object_set_new(r, "events_not_kept", json_integer((json_int_t)dropped));
    json_object_set_new(r, "bad_lines", json_integer((json_int_t)bad));
    json_object_set_new(r, "stats", stats ? stats : json_null());
    return r;
}
