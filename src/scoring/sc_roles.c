/*
 * sc_roles.c - who is the agent of a diarized mono mix (scoring.h): a voice profile's
 * similarity, the agent's and the customer's phrases in the transcript, and the weak evidence
 * (first speaker with the direction, talk share) that is listed but never decides.
 *
 * The phrases are matched on normalised words (tx_normalize): each distinct phrase counts once
 * per speaker, an agent phrase 2, a customer phrase 1. The side "S1 is the agent" collects S1's
 * agent phrases and S2's customer phrases; the transcript decides when one side has at least
 * SC_ROLE_TEXT_MIN and SC_ROLE_TEXT_RATIO times the other's.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transcript/transcript.h"
#include "scoring.h"

typedef struct phrase {
    const char *words; /* normalised; "*" stands for one or two words (a name) */
    const char *kind;  /* greeting, closing, customer_phrase */
} phrase;

#define AGENT_WEIGHT 2.0
#define CUSTOMER_WEIGHT 1.0

static const phrase k_agent[] = {
    {"thank you for calling", "greeting"},
    {"thanks for calling", "greeting"},
    {"this is * from", "greeting"},
    {"this is * with", "greeting"},
    {"this is * at", "greeting"},
    {"how can i help", "greeting"},
    {"how may i help", "greeting"},
    {"how can i assist", "greeting"},
    {"how may i assist", "greeting"},
    {"what can i do for you", "greeting"},
    {"is there anything else i can", "closing"},
    {"anything else i can help", "closing"},
    {"anything else i can do", "closing"},
    {"thank you for choosing", "closing"},
};

static const phrase k_customer[] = {
    {"i'm calling about", "customer_phrase"},  {"i'm calling because", "customer_phrase"},
    {"i am calling about", "customer_phrase"}, {"i am calling because", "customer_phrase"},
    {"i would like to", "customer_phrase"},    {"i'd like to", "customer_phrase"},
    {"i want to", "customer_phrase"},          {"can you help me", "customer_phrase"},
    {"could you help me", "customer_phrase"},  {"i have a question", "customer_phrase"},
    {"i was wondering", "customer_phrase"},    {"my account", "customer_phrase"},
    {"i lost my", "customer_phrase"},
};

const char *sc_role_name(sc_role r)
{
    return r == SC_ROLE_AGENT ? "agent" : r == SC_ROLE_CUSTOMER ? "customer" : "unknown";
}

/* does norm hold the phrase, "*" standing for one or two words? */
static bool has_phrase(const char *norm, const char *words)
{
    const char *star = strstr(words, "*");
    if (!star)
        return sc_phrase_at(norm, words, NULL);
    char head[64], tail[64];
    snprintf(head, sizeof(head), "%.*s", (int)(star - words), words); /* "this is " */
    snprintf(tail, sizeof(tail), "%s", star + 1);                     /* " from" */
    size_t hl = strlen(head);
    for (const char *p = strstr(norm, head); p; p = strstr(p + 1, head)) {
        if (p != norm && p[-1] != ' ')
            continue;
        const char *q = p + hl;
        for (int w = 0; w < 2 && *q; w++) {
            const char *sp = strchr(q, ' ');
            if (!sp)
                break;
            q = sp; /* after one word: does the tail follow? */
            size_t tl = strlen(tail);
            if (!strncmp(q, tail, tl) && (q[tl] == 0 || q[tl] == ' '))
                return true;
            q++;
        }
    }
    return false;
}

static void add_ev(sc_role_evidence *ev, int max, int *n, const char *kind, const char *supports,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add_ev(sc_role_evidence *ev, int max, int *n, const char *kind, const char *supports,
                   const char *fmt, ...)
{
    if (!ev || *n >= max)
        return;
    sc_role_evidence *e = &ev[(*n)++];
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    snprintf(e->supports, sizeof(e->supports), "%s", supports);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
}

double sc_roles_text_weight(const char *text, const char *speaker, bool agent_side,
                            sc_role_evidence *ev, int max, int *n)
{
    if (!text)
        return 0;
    char *norm = tx_normalize(text);
    if (!norm)
        return 0;
    const phrase *tab = agent_side ? k_agent : k_customer;
    size_t nt = agent_side ? sizeof(k_agent) / sizeof(k_agent[0])
                           : sizeof(k_customer) / sizeof(k_customer[0]);
    const char *other = !strcmp(speaker, "S1") ? "S2" : "S1";
    char sup[16];
    snprintf(sup, sizeof(sup), "%s agent", agent_side ? speaker : other);
    double w = 0;
    for (size_t i = 0; i < nt; i++) {
        if (!has_phrase(norm, tab[i].words))
            continue;
        w += agent_side ? AGENT_WEIGHT : CUSTOMER_WEIGHT;
        int dummy = 0;
        char shown[64];
        const char *star = strchr(tab[i].words, '*');
        if (star) /* "this is * from" as "this is NAME from" */
            snprintf(shown, sizeof(shown), "%.*sNAME%s", (int)(star - tab[i].words), tab[i].words,
                     star + 1);
        else
            snprintf(shown, sizeof(shown), "%s", tab[i].words);
        add_ev(ev, max, n ? n : &dummy, tab[i].kind, sup, "%s said \"%s\"", speaker, shown);
    }
    free(norm);
    return w;
}

void sc_roles_decide(const sc_role_input *in, sc_roles *out)
{
    memset(out, 0, sizeof(*out));
    out->confidence[0] = out->confidence[1] = NAN;
    sc_role_evidence *ev = out->ev;
    int *n = &out->n_ev;
    const int max = SC_ROLE_MAX_EVIDENCE;
    static const char *const agent_of[2] = {"S1 agent", "S2 agent"};

    /* (a) the voice profile */
    int by_profile = -1;
    double conf_p = 0;
    double margin = in->profile_margin > 0 ? in->profile_margin : SC_ROLE_PROFILE_MARGIN;
    if (in->s[0].has_similarity && in->s[1].has_similarity) {
        double d = in->s[0].similarity - in->s[1].similarity;
        int closer = d >= 0 ? 0 : 1;
        bool decides = fabs(d) >= margin;
        if (decides) {
            by_profile = closer;
            conf_p = 1.0 / (1.0 + exp(-2.0 * fabs(d) / margin));
        }
        add_ev(ev, max, n, "profile", decides ? agent_of[closer] : "none",
               "voice profile of agent %s from %d call%s: similarity S1 %.2f, S2 %.2f; S%d "
               "closer by %.2f (%s the margin %.2f)",
               in->agent && *in->agent ? in->agent : "(unnamed)", in->profile_calls,
               in->profile_calls == 1 ? "" : "s", in->s[0].similarity, in->s[1].similarity,
               closer + 1, fabs(d), decides ? "at least" : "under", margin);
    }

    /* (b) the transcript */
    int by_text = -1;
    double conf_t = 0;
    bool any_text = in->s[0].text || in->s[1].text;
    double sup[2] = {0, 0};
    if (any_text) {
        static const char *const name[2] = {"S1", "S2"};
        for (int k = 0; k < 2; k++) {
            sup[k] += sc_roles_text_weight(in->s[k].text, name[k], true, ev, max, n);
            sup[1 - k] += sc_roles_text_weight(in->s[k].text, name[k], false, ev, max, n);
        }
        int k = sup[0] >= sup[1] ? 0 : 1;
        if (sup[k] >= SC_ROLE_TEXT_MIN && sup[k] >= SC_ROLE_TEXT_RATIO * sup[1 - k]) {
            by_text = k;
            conf_t = fmin(0.99, sup[k] / (sup[k] + sup[1 - k] + 1.0));
        }
    }

    /* (c) weak evidence: listed, never deciding */
    double f0 = in->s[0].first_sec, f1 = in->s[1].first_sec;
    if (!isnan(f0) || !isnan(f1)) {
        int first = isnan(f1) || (!isnan(f0) && f0 <= f1) ? 0 : 1;
        double at = first ? f1 : f0;
        const char *sup_first = in->direction == SC_DIR_INBOUND    ? agent_of[first]
                                : in->direction == SC_DIR_OUTBOUND ? agent_of[1 - first]
                                                                   : "none";
        bool ans = !isnan(in->answer_sec);
        add_ev(ev, max, n, "first_speaker", sup_first,
               "S%d spoke first, %.1f s after %s; %s (listed, never deciding)", first + 1,
               ans ? at - in->answer_sec : at,
               ans ? "the answer" : "the recording's start (the answer time is not known)",
               in->direction == SC_DIR_INBOUND ? "on an inbound call the agent usually greets first"
               : in->direction == SC_DIR_OUTBOUND
                   ? "on an outbound call the customer usually answers first"
                   : "the call's direction is not known");
    }
    double t0 = in->s[0].talk_sec, t1 = in->s[1].talk_sec;
    if (t0 >= 0 && t1 >= 0 && t0 + t1 > 0) {
        double share = t0 / (t0 + t1);
        const char *s = share >= 0.6 ? agent_of[0] : share <= 0.4 ? agent_of[1] : "none";
        add_ev(ev, max, n, "talk_share", s,
               "S1 %.0f %% of the speech, S2 %.0f %% (agents usually talk more; listed, never "
               "deciding)",
               100 * share, 100 * (1 - share));
    }

    /* the decision */
    int k = -1;
    double conf = 0;
    if (by_profile >= 0 && by_text >= 0 && by_profile != by_text) {
        snprintf(out->rule, sizeof(out->rule),
                 "unknown: the voice profile says S%d is the agent, the transcript S%d: they "
                 "disagree",
                 by_profile + 1, by_text + 1);
        return;
    }
    if (by_profile >= 0 && by_text >= 0) {
        k = by_profile;
        conf = 1 - (1 - conf_p) * (1 - conf_t);
        snprintf(out->decided_by, sizeof(out->decided_by), "profile+transcript");
        snprintf(out->rule, sizeof(out->rule),
                 "the voice profile and the transcript both say S%d is the agent", k + 1);
    } else if (by_profile >= 0) {
        k = by_profile, conf = conf_p;
        snprintf(out->decided_by, sizeof(out->decided_by), "profile");
        snprintf(out->rule, sizeof(out->rule),
                 "the agent's voice profile is closer to S%d by at least the margin%s", k + 1,
                 any_text ? "; the transcript did not decide" : "");
    } else if (by_text >= 0) {
        k = by_text, conf = conf_t;
        snprintf(out->decided_by, sizeof(out->decided_by), "transcript");
        snprintf(out->rule, sizeof(out->rule),
                 "the agent's and the customer's phrases fall on S%d as the agent (%.0f against "
                 "%.0f)",
                 k + 1, sup[k], sup[1 - k]);
    } else {
        snprintf(out->rule, sizeof(out->rule),
                 "unknown: %s%s; who spoke first and the talk share never decide alone",
                 in->s[0].has_similarity && in->s[1].has_similarity
                     ? "the voice profile is not clearly closer to one speaker"
                     : "no voice profile",
                 any_text ? ", the transcript's phrases do not fall clearly on one speaker"
                          : ", no transcript");
        return;
    }
    out->role[k] = SC_ROLE_AGENT;
    out->role[1 - k] = SC_ROLE_CUSTOMER;
    out->confidence[0] = out->confidence[1] = round(conf * 1000) / 1000;
}

json_t *sc_roles_to_json(const sc_roles *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int k = 0; k < 2; k++) {
        json_t *s = json_object(), *ev = json_array();
        json_object_set_new(s, "role", json_string(sc_role_name(r->role[k])));
        json_object_set_new(s, "confidence",
                            isnan(r->confidence[k]) ? json_null() : json_real(r->confidence[k]));
        for (int i = 0; i < r->n_ev; i++)
            json_array_append_new(ev, json_pack("{s:s,s:s,s:s}", "kind", r->ev[i].kind, "detail",
                                                r->ev[i].detail, "supports", r->ev[i].supports));
        json_object_set_new(s, "evidence", ev);
        json_object_set_new(o, k ? "S2" : "S1", s);
    }
    json_object_set_new(o, "decided_by",
                        r->decided_by[0] ? json_string(r->decided_by) : json_null());
    json_object_set_new(o, "rule", json_string(r->rule));
    return o;
}
