/*
 * sc_window.c - a category's place in the call (docs/scoring.md, "Windows"): the opening, the
 * first seconds after the answer (the report's call_events.answer_sec: the end of the
 * ringback, IVR or queue music the recording starts with, else its start), and the closing,
 * the last seconds before the hang-up (the recording's end). Which utterances a window holds,
 * and the sentence that says where the agent spoke when the window holds none of the agent's
 * words. Shared by the rules and the LLM's rubrics.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sc_int.h"

#define WINDOW_MAX_SEC 3600.0

int sc_window_parse(const json_t *w, sc_window *out, const char *where, char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    if (!w)
        return 0;
    static const char *const known[] = {"part", "sec", NULL};
    char at[96];
    snprintf(at, sizeof(at), "%s: window", where);
    if (!json_is_object(w))
        return cfg_fail(err, errsz, "%s: must be an object {\"part\", \"sec\"}", at);
    if (sc_only_keys(w, known, at, err, errsz) != 0)
        return -1;
    const char *part = json_string_value(json_object_get(w, "part"));
    const json_t *sec = json_object_get(w, "sec");
    if (!part || (strcmp(part, "opening") && strcmp(part, "closing")))
        return cfg_fail(err, errsz, "%s: part must be opening or closing", at);
    if (!json_is_number(sec) || !(json_number_value(sec) > 0) ||
        json_number_value(sec) > WINDOW_MAX_SEC)
        return cfg_fail(err, errsz, "%s: sec must be a number of seconds in (0, %.0f]", at,
                        WINDOW_MAX_SEC);
    out->part = strcmp(part, "opening") ? SC_PART_CLOSING : SC_PART_OPENING;
    out->sec = json_number_value(sec);
    return 0;
}

void sc_window_bounds(const sc_window *w, const sc_text *t, double *from, double *to)
{
    switch (w->part) {
    case SC_PART_OPENING: *from = t->answer, *to = t->answer + w->sec; break;
    case SC_PART_CLOSING: *from = t->duration - w->sec, *to = t->duration; break;
    default: *from = 0, *to = t->duration;
    }
}

bool sc_window_holds(const sc_window *w, const sc_text *t, const sc_utt *u)
{
    double from, to;
    sc_window_bounds(w, t, &from, &to);
    switch (w->part) {
    case SC_PART_OPENING: /* starts in it, or under way at the answer */
        return u->start <= to && u->end > from;
    case SC_PART_CLOSING: /* some of it in the last seconds */ return u->end >= from;
    default: return true;
    }
}

bool sc_said_by(const sc_text *t, const sc_utt *u, const char *speaker)
{
    if (!strcmp(speaker, "any") || !strcmp(u->speaker, speaker) || sc_role_unknown(u->speaker))
        return true;
    return !t->separated && !strcmp(u->speaker, SC_MIXED);
}

/* "the recording's start", "the ringback's end", ... */
static const char *answer_said(const sc_text *t)
{
    const char *a = t->answer_after;
    return !a[0] || t->answer <= 0  ? "the recording's start"
           : !strcmp(a, "ringback") ? "the ringback's end"
           : !strcmp(a, "ivr")      ? "the IVR's end"
           : !strcmp(a, "hold")     ? "the queue music's end"
           : !strcmp(a, "dtmf")     ? "the keys' end"
                                    : "the events' answer";
}

void sc_window_said(const sc_window *w, const sc_text *t, char *buf, size_t n)
{
    if (w->part == SC_PART_OPENING)
        snprintf(buf, n, "the opening: %g s from the answer at %.1f s (%s)", w->sec, t->answer,
                 answer_said(t));
    else if (w->part == SC_PART_CLOSING)
        snprintf(buf, n, "the closing: the last %g s before the hang-up at %.1f s", w->sec,
                 t->duration);
    else
        snprintf(buf, n, "the whole call");
}

bool sc_window_missed(const sc_window *w, const sc_text *t, char *say, size_t n, int *utt)
{
    *utt = -1;
    if (w->part == SC_PART_CALL || !t || t->n == 0)
        return false;
    bool named = t->separated && !t->roles_unknown;
    const char *whose = named ? "the agent's" : "the";
    double from, to;
    sc_window_bounds(w, t, &from, &to);
    int first = -1, later = -1, last = -1; /* later: the first after the opening */
    for (size_t i = 0; i < t->n; i++) {
        const sc_utt *u = &t->u[i];
        if (!u->norm || !u->norm[0] || !sc_said_by(t, u, SC_AGENT))
            continue; /* non-speech tags only, or the other party */
        if (sc_window_holds(w, t, u))
            return false;
        if (first < 0)
            first = (int)i;
        if (later < 0 && u->start > to)
            later = (int)i;
        if (last < 0 || u->end > t->u[last].end)
            last = (int)i;
    }
    char win[160];
    sc_window_said(w, t, win, sizeof(win));
    if (first < 0) {
        snprintf(say, n, "no words from %s in the call", named ? "the agent" : "anyone");
        return true;
    }
    if (w->part == SC_PART_OPENING && later >= 0) {
        *utt = later;
        snprintf(say, n, "%s first words%s at %.1f s, after %s", whose,
                 later != first ? " after the answer" : "", t->u[later].start, win);
    } else if (w->part == SC_PART_OPENING) { /* spoke only before the answer */
        *utt = first;
        snprintf(say, n, "%s words all before the answer, the last at %.1f s (%s)", whose,
                 t->u[last].start, win);
    } else {
        *utt = last;
        snprintf(say, n, "%s last words end at %.1f s, %.1f s before the hang-up (%s)", whose,
                 t->u[last].end, t->duration - t->u[last].end, win);
    }
    return true;
}
