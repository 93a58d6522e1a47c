/*
 * tx_json.c - the report's `transcript` block (docs/report.md, "transcript").
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

static json_t *sec(double x)
{
    return json_real(round(x * 1000.0) / 1000.0);
}

static json_t *known(double x, double scale)
{
    return x == TX_UNKNOWN ? json_null() : json_real(round(x * scale) / scale);
}

static json_t *flags(unsigned f)
{
    json_t *a = json_array();
    if (f & TX_F_OUTSIDE_SPEECH)
        json_array_append_new(a, json_string("outside_speech"));
    if (f & TX_F_OUTSIDE_CHUNK)
        json_array_append_new(a, json_string("outside_chunk"));
    if (f & TX_F_NO_TIME)
        json_array_append_new(a, json_string("no_time"));
    return a;
}

static json_t *text(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("\xef\xbf\xbd"); /* not UTF-8: the replacement character */
}

/* whose words: the speaker's label, or the role's name */
static const char *who(cq_role role, const char *speaker)
{
    return speaker && speaker[0] ? speaker : cq_role_name(role);
}

/* "legs": each leg one party; "diarization": the speakers S1 and S2 of a mono mix; "mix": a
 * mono mix as one speaker */
static const char *speakers_from(const tx_transcript *t)
{
    if (t->diarized)
        return "diarization";
    for (int i = 0; i < t->n_legs; i++)
        if (t->legs[i].role == CQ_ROLE_MIXED)
            return "mix";
    return "legs";
}

static json_t *segment(const tx_segment *s)
{
    json_t *o = json_object(), *ws = json_array();
    json_object_set_new(o, "speaker", json_string(who(s->role, s->speaker)));
    json_object_set_new(o, "start", sec(s->start));
    json_object_set_new(o, "end", sec(s->end));
    json_object_set_new(o, "text", text(s->text));
    json_object_set_new(o, "text_norm", text(s->norm));
    for (size_t k = 0; k < s->n_words; k++) {
        const tx_word *w = &s->words[k];
        json_t *jw = json_object();
        json_object_set_new(jw, "word", text(w->text));
        json_object_set_new(jw, "start", sec(w->start));
        json_object_set_new(jw, "end", sec(w->end));
        json_object_set_new(jw, "probability", known(w->probability, 1000));
        json_object_set_new(jw, "flags", flags(w->flags));
        json_array_append_new(ws, jw);
    }
    json_object_set_new(o, "words", ws);
    json_object_set_new(o, "avg_logprob", known(s->avg_logprob, 1000));
    json_object_set_new(o, "compression_ratio", known(s->compression_ratio, 1000));
    json_object_set_new(o, "no_speech_prob", known(s->no_speech_prob, 1000));
    json_object_set_new(o, "flags", flags(s->flags));
    return o;
}

static json_t *block(const tx_transcript *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "engine", json_string(t->engine));
    json_object_set_new(o, "model", t->model[0] ? json_string(t->model) : json_null());
    json_object_set_new(o, "language", t->language[0] ? json_string(t->language) : json_null());
    double sent = 0, speech = 0, excluded = 0;
    json_t *legs = json_array();
    for (int i = 0; i < t->n_legs; i++) {
        const tx_leg *L = &t->legs[i];
        sent += L->plan.sent_sec, speech += L->plan.speech_sec, excluded += L->plan.excluded_sec;
        json_t *jl = json_object(), *chunks = json_array(), *segs = json_array();
        json_object_set_new(jl, "leg", json_string(L->name));
        json_object_set_new(jl, "role", json_string(cq_role_name(L->role)));
        json_object_set_new(jl, "speaker", json_string(who(L->role, L->speaker)));
        for (size_t c = 0; c < L->plan.n; c++) {
            const tx_chunk *k = &L->plan.chunks[c];
            json_t *jc = json_object(), *parts = json_array();
            json_object_set_new(jc, "start", sec(k->start));
            json_object_set_new(jc, "end", sec(k->end));
            json_object_set_new(jc, "file", json_string(k->file));
            for (size_t j = 0; j < k->n_sent; j++)
                json_array_append_new(
                    parts, json_pack("[oo]", sec(k->sent[j].start), sec(k->sent[j].end)));
            json_object_set_new(jc, "sent", parts);
            json_array_append_new(chunks, jc);
        }
        json_object_set_new(jl, "chunks", chunks);
        for (size_t s = 0; s < L->n; s++)
            json_array_append_new(segs, segment(&L->segs[s]));
        json_object_set_new(jl, "segments", segs);
        json_array_append_new(legs, jl);
    }
    json_object_set_new(o, "audio_sent_sec", sec(sent));
    json_object_set_new(o, "audio_speech_sec", sec(speech));
    json_object_set_new(o, "audio_excluded_sec", sec(excluded));
    json_object_set_new(o, "audio_recorded_sec", sec(t->recorded_sec));
    json_object_set_new(o, "requests", json_integer(t->requests));
    if (t->plan_known) {
        const tx_plan_params *pp = &t->plan_params;
        json_object_set_new(o, "plan",
                            json_pack("{s:o,s:o,s:o,s:o,s:b}", "pad_sec", sec(pp->pad_sec),
                                      "join_gap_sec", sec(pp->join_gap_sec), "max_chunk_sec",
                                      sec(pp->max_chunk_sec), "margin_sec", sec(pp->margin_sec),
                                      "include_ivr", pp->include_ivr));
    } else {
        json_object_set_new(o, "plan", json_null());
    }
    json_object_set_new(o, "transcription_time", sec(t->seconds));
    json_object_set_new(o, "speakers_from", json_string(speakers_from(t)));
    if (t->diarized)
        json_object_set_new(
            o, "diarization",
            json_pack("{s:s,s:o}", "method", CQ_DIARIZE_METHOD, "confidence",
                      t->diar_confidence < 0
                          ? json_null()
                          : json_real(round(t->diar_confidence * 1000.0) / 1000.0)));
    else
        json_object_set_new(o, "diarization", json_null());
    json_object_set_new(o, "legs", legs);
    json_t *turns = json_array();
    size_t words = 0;
    for (size_t i = 0; i < t->n_turns; i++) {
        const tx_turn *u = &t->turns[i];
        json_array_append_new(turns, json_pack("{s:s,s:o,s:o,s:o}", "speaker",
                                               who(u->role, u->speaker), "start", sec(u->start),
                                               "end", sec(u->end), "text", text(u->text)));
    }
    for (int i = 0; i < t->n_legs; i++)
        for (size_t s = 0; s < t->legs[i].n; s++) {
            const tx_segment *g = &t->legs[i].segs[s];
            words += g->n_words ? g->n_words : tx_count_words(g->norm ? g->norm : "");
        }
    json_object_set_new(o, "turns", turns);
    json_object_set_new(o, "word_count", json_integer((json_int_t)words));
    json_t *g = json_object(), *dropped = json_array();
    json_object_set_new(g, "words", json_integer((json_int_t)t->words));
    json_object_set_new(g, "flagged_words", json_integer((json_int_t)t->flagged_words));
    json_object_set_new(g, "dropped_words", json_integer((json_int_t)t->dropped_words));
    json_object_set_new(g, "dropped_segments", json_integer((json_int_t)t->dropped_segments));
    double rate = tx_hallucination_rate(t);
    json_object_set_new(g, "hallucination_rate",
                        rate < 0 ? json_null() : json_real(round(rate * 10000.0) / 10000.0));
    for (size_t i = 0; i < t->n_dropped; i++) {
        const tx_dropped *d = &t->dropped[i];
        json_array_append_new(
            dropped, json_pack("{s:s,s:s,s:o,s:o,s:o,s:s}", "role", cq_role_name(d->role),
                               "speaker", who(d->role, d->speaker), "start", sec(d->start), "end",
                               sec(d->end), "text", text(d->text), "reason", d->reason));
    }
    json_object_set_new(g, "dropped", dropped);
    json_object_set_new(o, "guard", g);
    json_t *warn = json_array();
    for (int i = 0; i < t->n_warnings; i++)
        json_array_append_new(warn, json_string(t->warnings[i]));
    json_object_set_new(o, "warnings", warn);
    return o;
}

/* times to the millisecond and figures to 4 decimals print short with 12 significant digits */
#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))

char *tx_to_json(const tx_transcript *t)
{
    json_t *o = block(t);
    char *s = o ? json_dumps(o, DUMP_FLAGS) : NULL;
    json_decref(o);
    return s;
}

/* The report's own text is kept as it is: the block goes in before its closing brace. */
char *tx_report_with_transcript(const char *report_json, const tx_transcript *t, char *err,
                                size_t errsz)
{
    size_t n = strlen(report_json);
    while (n && (report_json[n - 1] == '\n' || report_json[n - 1] == ' '))
        n--;
    if (n < 2 || report_json[0] != '{' || report_json[n - 1] != '}') {
        snprintf(err, errsz, "the report is not a JSON object");
        return NULL;
    }
    char *b = tx_to_json(t);
    size_t bl = b ? strlen(b) : 0;
    char *s = b ? malloc(n + bl + 32) : NULL;
    if (!s) {
        free(b);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    bool empty = n == 2 || strspn(report_json + 1, " \n") == n - 2;
    memcpy(s, report_json, n - 1);
    snprintf(s + n - 1, bl + 32, "%s\"transcript\": %s}", empty ? "" : ", ", b);
    free(b);
    return s;
}

/* ---- imports ------------------------------------------------------------------------------- */

static int role_of(const char *s, cq_role *out)
{
    if (!strcmp(s, "agent"))
        *out = CQ_ROLE_AGENT;
    else if (!strcmp(s, "customer"))
        *out = CQ_ROLE_CUSTOMER;
    else if (!strcmp(s, "mixed"))
        *out = CQ_ROLE_MIXED;
    else
        return -1;
    return 0;
}

/* the speaker of an imported segment: a role, or a diarized speaker of a mono mix (S1, S2) */
static int speaker_of(const char *s, cq_role *role, char spk[12])
{
    if (!strcmp(s, "S1") || !strcmp(s, "S2")) {
        *role = CQ_ROLE_MIXED;
        snprintf(spk, 12, "%s", s);
        return 0;
    }
    if (role_of(s, role) != 0)
        return -1;
    snprintf(spk, 12, "%s", cq_role_name(*role));
    return 0;
}

/* the transcript's leg of a speaker (made when missing) */
static tx_leg *leg_of(tx_transcript *t, cq_role role, const char *spk)
{
    for (int i = 0; i < t->n_legs; i++)
        if (t->legs[i].role == role && !strcmp(t->legs[i].speaker, spk))
            return &t->legs[i];
    if (t->n_legs == 2)
        return NULL;
    tx_leg *L = &t->legs[t->n_legs++];
    memset(L, 0, sizeof(*L));
    L->role = role;
    snprintf(L->speaker, sizeof(L->speaker), "%s", spk);
    snprintf(L->name, sizeof(L->name), "%s",
             role == CQ_ROLE_MIXED   ? "mix"
             : role == CQ_ROLE_AGENT ? "outbound"
                                     : "inbound");
    L->src = role == CQ_ROLE_AGENT;
    if (spk[0] == 'S') {
        t->diarized = true;
        t->diar_confidence = -1; /* not known here */
    }
    return L;
}

static int leg_push(tx_leg *L, tx_segment *s)
{
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 16;
        tx_segment *nv = realloc(L->segs, cap * sizeof(*nv));
        if (!nv)
            return -1;
        L->segs = nv, L->cap = cap;
    }
    s->role = L->role;
    snprintf(s->speaker, sizeof(s->speaker), "%s", L->speaker);
    L->segs[L->n++] = *s;
    memset(s, 0, sizeof(*s));
    return 0;
}

/* spans {start, end} of a JSON array into L->speech */
static void speech_of(tx_leg *L, const json_t *sp)
{
    size_t n = json_array_size(sp);
    L->speech = calloc(n + 1, sizeof(*L->speech));
    for (size_t j = 0; L->speech && j < n; j++) {
        const json_t *g = json_array_get(sp, j);
        L->speech[j] = (tx_span){json_number_value(json_object_get(g, "start")),
                                 json_number_value(json_object_get(g, "end"))};
    }
    L->n_speech = L->speech ? n : 0;
}

/* each leg's speech from the stored report (speech_segments of inbound/outbound, by role; a
 * diarized speaker's segments from speakers[], by id) */
static void speech_from_report(tx_transcript *t, const json_t *r)
{
    bool any = false;
    const char *keys[2] = {"inbound", "outbound"};
    for (int k = 0; r && k < 2; k++) {
        const json_t *lg = json_object_get(r, keys[k]);
        const json_t *role = json_object_get(lg, "role"),
                     *sp = json_object_get(lg, "speech_segments");
        cq_role ro;
        if (!json_is_string(role) || role_of(json_string_value(role), &ro) != 0 ||
            !json_is_array(sp))
            continue;
        for (int i = 0; i < t->n_legs; i++) {
            tx_leg *L = &t->legs[i];
            if (L->role != ro || L->speech || strcmp(L->speaker, cq_role_name(ro)))
                continue;
            speech_of(L, sp);
            any = true;
        }
    }
    const json_t *spk = json_object_get(r, "speakers"), *one;
    size_t k;
    json_array_foreach(spk, k, one)
    {
        const char *id = json_string_value(json_object_get(one, "id"));
        const json_t *sp = json_object_get(one, "segments");
        for (int i = 0; id && json_is_array(sp) && i < t->n_legs; i++) {
            tx_leg *L = &t->legs[i];
            if (L->speech || strcmp(L->speaker, id))
                continue;
            speech_of(L, sp);
            any = true;
        }
    }
    if (t->diarized) { /* the diarization's confidence, from the report */
        const json_t *c = json_object_get(json_object_get(r, "diarization"), "confidence");
        if (json_is_number(c))
            t->diar_confidence = json_number_value(c);
    }
    if (!any) {
        t->unchecked = true;
        if (t->n_warnings < 4)
            snprintf(t->warnings[t->n_warnings++], sizeof(t->warnings[0]),
                     "not checked against the speech: the call has no analysis of its legs "
                     "with this speaker");
    }
}

int tx_import(const char *body, size_t len, const char *speaker, const char *report_json,
              tx_transcript *t, char *err, size_t errsz)
{
    json_t *r = report_json ? json_loads(report_json, 0, NULL) : NULL;
    int rc = tx_import_obj(body, len, speaker, r, t, err, errsz);
    json_decref(r);
    return rc;
}

int tx_import_obj(const char *body, size_t len, const char *speaker, const json_t *report,
                  tx_transcript *t, char *err, size_t errsz)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->engine, sizeof(t->engine), "import");
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errsz, "the transcript is not a JSON object%s%s", root ? "" : ": ",
                 root ? "" : je.text);
        return -1;
    }
    const json_t *segs = json_object_get(root, "segments");
    const json_t *first = json_array_get(segs, 0);
    bool ours = json_is_array(segs) && json_is_string(json_object_get(first, "speaker"));
    int rc = 0;
    if (ours) { /* callqa's own: a speaker per segment */
        for (size_t i = 0; rc == 0 && i < json_array_size(segs); i++) {
            const json_t *g = json_array_get(segs, i), *sp = json_object_get(g, "speaker");
            cq_role ro;
            char spk[12];
            if (!json_is_string(sp) || speaker_of(json_string_value(sp), &ro, spk) != 0) {
                snprintf(err, errsz,
                         "segment %zu: speaker must be agent, customer, mixed, S1 or S2", i);
                rc = -1;
                break;
            }
            /* one segment through the OpenAI reader: the same checks of numbers and text */
            json_t *one = json_pack("{s:[O]}", "segments", g);
            json_t *ws = json_object_get(g, "words");
            if (one && json_is_array(ws))
                json_object_set(one, "words", ws);
            char *txt = one ? json_dumps(one, JSON_COMPACT) : NULL;
            json_decref(one);
            tx_result res;
            char perr[200];
            if (!txt || tx_parse_openai(txt, strlen(txt), &res, perr, sizeof(perr)) != 0) {
                snprintf(err, errsz, "segment %zu: %s", i, txt ? perr : "out of memory");
                free(txt);
                rc = -1;
                break;
            }
            free(txt);
            tx_leg *L = leg_of(t, ro, spk);
            for (size_t k = 0; rc == 0 && k < res.n; k++)
                if (!L || leg_push(L, &res.segs[k]) != 0) {
                    snprintf(err, errsz, L ? "out of memory" : "more than two speakers");
                    rc = -1;
                }
            tx_result_free(&res);
        }
    } else { /* an OpenAI verbose_json answer for one leg */
        cq_role ro;
        char spk[12];
        if (!speaker || speaker_of(speaker, &ro, spk) != 0) {
            snprintf(err, errsz,
                     "an OpenAI verbose_json transcript needs its speaker (agent, "
                     "customer, mixed, S1 or S2)");
            rc = -1;
        } else {
            tx_result res;
            char perr[300];
            if (tx_parse_openai(body, len, &res, perr, sizeof(perr)) != 0) {
                snprintf(err, errsz, "%s", perr);
                rc = -1;
            } else {
                char code[3];
                if (tx_language_code(res.language, code) == 0)
                    memcpy(t->language, code, 3);
                tx_leg *L = leg_of(t, ro, spk);
                for (size_t k = 0; rc == 0 && k < res.n; k++)
                    if (leg_push(L, &res.segs[k]) != 0) {
                        snprintf(err, errsz, "out of memory");
                        rc = -1;
                    }
                tx_result_free(&res);
            }
        }
    }
    json_decref(root);
    if (rc == 0 && t->n_legs == 0) {
        snprintf(err, errsz, "the transcript has no segments");
        rc = -1;
    }
    if (rc == 0) {
        speech_from_report(t, report);
        if (tx_finish(t) != 0) {
            snprintf(err, errsz, "out of memory");
            rc = -1;
        }
    }
    if (rc != 0)
        tx_transcript_free(t);
    return rc;
}

/* The stored block as tx_import's format: each leg's segments with the leg's speaker (S1, S2 of
 * a diarized mix, else its role's name). NULL when it holds no segment (or memory). */
static char *import_form(const json_t *detail)
{
    json_t *segs = json_array();
    size_t i, k;
    const json_t *leg, *g;
    json_array_foreach(json_object_get(detail, "legs"), i, leg)
    {
        const char *role = json_string_value(json_object_get(leg, "speaker"));
        if (!role)
            role = json_string_value(json_object_get(leg, "role"));
        json_array_foreach(json_object_get(leg, "segments"), k, g)
        {
            json_t *o = json_object();
            json_object_set_new(o, "speaker", json_string(role ? role : "mixed"));
            json_object_set(o, "start", json_object_get(g, "start"));
            json_object_set(o, "end", json_object_get(g, "end"));
            json_object_set(o, "text", json_object_get(g, "text"));
            const json_t *ws = json_object_get(g, "words"), *w;
            if (json_array_size(ws)) {
                json_t *wa = json_array();
                size_t j;
                json_array_foreach(ws, j, w)
                {
                    json_t *x = json_object();
                    json_object_set(x, "word", json_object_get(w, "word"));
                    json_object_set(x, "start", json_object_get(w, "start"));
                    json_object_set(x, "end", json_object_get(w, "end"));
                    json_array_append_new(wa, x);
                }
                json_object_set_new(o, "words", wa);
            }
            json_array_append_new(segs, o);
        }
    }
    char *out = NULL;
    if (json_array_size(segs)) {
        json_t *root = json_object();
        json_object_set_new(root, "segments", segs);
        out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(root);
    } else {
        json_decref(segs);
    }
    return out;
}

int tx_import_stored(const char *block_json, const json_t *report, tx_transcript *t, char *err,
                     size_t errsz)
{
    memset(t, 0, sizeof(*t));
    json_t *b = json_loads(block_json, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        snprintf(err, errsz, "the stored transcript is not a transcript block");
        return -1;
    }
    char *imp = import_form(b);
    const char *lang = json_string_value(json_object_get(b, "language"));
    char code[3] = "";
    if (lang && strlen(lang) == 2)
        memcpy(code, lang, 3);
    json_decref(b);
    if (!imp)
        return 1;
    int rc = tx_import_obj(imp, strlen(imp), NULL, report, t, err, errsz);
    free(imp);
    if (rc == 0 && !t->language[0])
        memcpy(t->language, code, 3);
    return rc;
}
