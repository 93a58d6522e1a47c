/*
 * roles.c - who is the agent of a diarized mono mix, in the worker (pipeline.h): the speakers of
 * the report, their words from the transcript, their similarity to the agent's voice profile, the
 * call's direction and answer time, handed to scoring's rule (sc_roles_decide); the transcript's
 * S1/S2 turns named by the roles decided; and the agent leg's voice print of a two-leg call taken
 * out of the report for the agent's profile (docs/privacy/retention.md, "Agent voice profiles").
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "../store/store_calls.h"

bool pl_profile_campaign(const cfg_settings *c, const char *campaign)
{
    if (!campaign || !*campaign || !c->voice_profile_campaigns[0])
        return false;
    size_t n = strlen(campaign);
    for (const char *p = c->voice_profile_campaigns; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t k = strcspn(p, ", ");
        if (k == n && !strncmp(p, campaign, n))
            return true;
        p += k;
    }
    return false;
}

const char *pl_roles_speaker_label(const sc_roles *r, const char *speaker)
{
    if (!r || !speaker)
        return speaker;
    int k = !strcmp(speaker, "S1") ? 0 : !strcmp(speaker, "S2") ? 1 : -1;
    if (k < 0 || r->role[k] == SC_ROLE_UNKNOWN)
        return speaker;
    return sc_role_name(r->role[k]);
}

/* a string member relabelled in place */
static void relabel(json_t *o, const char *key, const sc_roles *r)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v)
        return;
    const char *to = pl_roles_speaker_label(r, v);
    if (to != v)
        json_object_set_new(o, key, json_string(to));
}

void pl_roles_label_transcript(json_t *tx, const sc_roles *r)
{
    size_t i, j;
    json_t *L, *g;
    json_array_foreach(json_object_get(tx, "legs"), i, L)
    {
        /* a diarized speaker's leg (role "mixed", speaker S1/S2) whose role was decided becomes
         * that role's leg, so that scoring reads the agent's and the customer's words */
        const char *sp = json_string_value(json_object_get(L, "speaker"));
        const char *to = pl_roles_speaker_label(r, sp);
        if (sp && to != sp) {
            json_object_set_new(L, "role", json_string(to));
            json_object_set_new(L, "speaker", json_string(to));
        } else {
            relabel(L, "role", r);
        }
        json_array_foreach(json_object_get(L, "segments"), j, g) relabel(g, "speaker", r);
    }
    json_array_foreach(json_object_get(tx, "turns"), i, g) relabel(g, "speaker", r);
}

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* which speaker (0, 1) a span belongs to: its own label, else the diarized speech it overlaps
 * most; -1 when neither */
static int speaker_of(const json_t *speakers, const char *label, double a, double b)
{
    if (label && !strcmp(label, "S1"))
        return 0;
    if (label && !strcmp(label, "S2"))
        return 1;
    double best = 0;
    int who = -1;
    for (int k = 0; k < 2; k++) {
        double ov = 0;
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(json_array_get(speakers, (size_t)k), "segments"), i, g)
        {
            double s = fmax(a, num(g, "start")), e = fmin(b, num(g, "end"));
            if (e > s)
                ov += e - s;
        }
        if (ov > best)
            best = ov, who = k;
    }
    return who;
}

static void append(char **s, size_t *len, const char *t)
{
    size_t n = strlen(t);
    char *ns = realloc(*s, *len + n + 2);
    if (!ns)
        return;
    *s = ns;
    memcpy(*s + *len, t, n);
    (*s)[*len + n] = ' ';
    (*s)[*len + n + 1] = 0;
    *len += n + 1;
}

/* a print's numbers ({v: [...]}) into a cq_voiceprint; false when it has none */
static bool print_of(const json_t *p, cq_voiceprint *out)
{
    const json_t *v = json_object_get(p, "v");
    if (json_array_size(v) != CQ_VOICEPRINT_DIM)
        return false;
    for (int i = 0; i < CQ_VOICEPRINT_DIM; i++)
        out->v[i] = (float)json_number_value(json_array_get(v, (size_t)i));
    out->speech_sec = num(p, "speech_sec");
    return true;
}

int pl_roles_of_call(json_t *report, json_t *tx, const store_call *call,
                     const store_voice_profile *prof, sc_roles *out)
{
    const json_t *speakers = json_object_get(report, "speakers");
    if (json_array_size(speakers) != 2)
        return 0; /* a two-leg call, or a mix of one speaker: no roles to decide */
    sc_role_input in;
    memset(&in, 0, sizeof(in));
    double answer = num(json_object_get(report, "call_events"), "time_to_answer_sec");
    in.answer_sec = answer;
    in.direction = !strcmp(call->direction, "inbound")    ? SC_DIR_INBOUND
                   : !strcmp(call->direction, "outbound") ? SC_DIR_OUTBOUND
                                                          : SC_DIR_UNKNOWN;
    cq_voiceprint pp;
    bool have_prof = prof && prof->dim == CQ_VOICEPRINT_DIM && prof->calls > 0;
    if (have_prof) {
        for (int i = 0; i < CQ_VOICEPRINT_DIM; i++)
            pp.v[i] = (float)prof->v[i];
        pp.speech_sec = prof->speech_sec;
        in.agent = prof->agent;
        in.profile_calls = (int)prof->calls;
    }
    for (int k = 0; k < 2; k++) {
        const json_t *sp = json_array_get(speakers, (size_t)k);
        in.s[k].talk_sec = json_is_number(json_object_get(sp, "talk_sec"))
                               ? json_number_value(json_object_get(sp, "talk_sec"))
                               : -1;
        in.s[k].first_sec = num(sp, "first_sec");
        if (!isnan(answer)) { /* its first speech after the answer */
            in.s[k].first_sec = NAN;
            size_t i;
            json_t *g;
            json_array_foreach(json_object_get(sp, "segments"), i, g) if (num(g, "end") > answer)
            {
                in.s[k].first_sec = fmax(answer, num(g, "start"));
                break;
            }
        }
        cq_voiceprint sv;
        if (have_prof && print_of(json_object_get(sp, "voiceprint"), &sv)) {
            in.s[k].has_similarity = true;
            in.s[k].similarity = cq_voiceprint_similarity(&pp, &sv);
        }
    }
    /* each speaker's words: a segment labelled S1/S2, else by the diarized speech it overlaps */
    char *text[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    bool have_tx = false;
    size_t i, j;
    json_t *L, *g;
    json_array_foreach(json_object_get(tx, "legs"), i, L)
    {
        const char *role = json_string_value(json_object_get(L, "role"));
        json_array_foreach(json_object_get(L, "segments"), j, g)
        {
            const char *label = json_string_value(json_object_get(g, "speaker"));
            const char *t = json_string_value(json_object_get(g, "text"));
            int k = speaker_of(speakers, label ? label : role, num(g, "start"), num(g, "end"));
            have_tx = true;
            if (k >= 0 && t)
                append(&text[k], &len[k], t);
        }
    }
    for (int k = 0; k < 2 && have_tx; k++)
        in.s[k].text = text[k] ? text[k] : "";
    sc_roles_decide(&in, out);
    free(text[0]);
    free(text[1]);
    json_t *jr = sc_roles_to_json(out);
    if (!jr)
        return -1;
    json_object_set_new(report, "roles", jr);
    if (tx)
        pl_roles_label_transcript(tx, out);
    return 1;
}

int pl_voiceprint_take(json_t *report, bool strip, double *v, int *dim, double *speech_sec)
{
    int found = 0;
    *dim = 0;
    static const char *const legs[2] = {"inbound", "outbound"};
    for (int l = 0; l < 2; l++) {
        json_t *leg = json_object_get(report, legs[l]);
        const json_t *p = json_object_get(leg, "voiceprint");
        const char *role = json_string_value(json_object_get(leg, "role"));
        cq_voiceprint vp;
        if (!found && role && !strcmp(role, "agent") &&
            json_is_object(json_object_get(report, "outbound")) && print_of(p, &vp)) {
            for (int i = 0; i < CQ_VOICEPRINT_DIM; i++)
                v[i] = vp.v[i];
            *dim = CQ_VOICEPRINT_DIM;
            *speech_sec = vp.speech_sec;
            found = 1;
        }
        if (strip && p)
            json_object_del(leg, "voiceprint");
    }
    size_t i;
    json_t *sp;
    if (strip)
        json_array_foreach(json_object_get(report, "speakers"), i,
                           sp) if (json_object_get(sp, "voiceprint"))
            json_object_set_new(sp, "voiceprint", json_null());
    return found;
}
