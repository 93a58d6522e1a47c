/*
 * redact.c - what callqa removes from a call before anything of it is kept: the entity
 * types of its campaign (the settings `redact`, `redact_campaigns`), the keyed digits in its
 * report, and, with `redact_audio`, a copy of its audio with every redacted span and every run
 * of keyed digits muted or covered by a tone, checked again before it is served.
 *
 * DESIGN
 * The transcript's text is redacted by the privacy room (pv_redact_transcript), in the analysis
 * child, right after the ASR's answer is assembled: the worker's parent, the store, the logs and
 * the LLM's prompts only ever see the redacted block.
 *
 * The one walk (pl_redact_mask_report), over a report, an answer or an LLM's facts, in time
 * linear in its size: first every keyed digit field (the events' and streams' digits, SIP
 * INFO's, the DTMF cross-check's) becomes as many '*' and its value joins a set; then every
 * string, whatever its key, goes through the privacy room's masker (pv_masker_text): the set's
 * strings where they are quoted, other keyed-digit runs, card numbers and SSNs in any written
 * form, numbers said in words, while uniqueids, Call-IDs, timestamps, addresses and URIs stay
 * as they are. Every report and answer of a call goes through one path, pl_mask_report, which
 * picks the types (the worker's call: its campaign's; a request that names no campaign, GET and
 * POST /analyze, /investigate: every campaign's) and runs the walk. An audit detail goes
 * through the same masker (pl_redact_detail).
 *
 * The audio copy. The recording is decoded again (cq_audio) and written as 16-bit PCM WAV at its
 * rate: one file of one or two channels as it came, or the two leg files side by side (inbound
 * on the first channel). The intervals muted, on every channel (the other leg holds the same
 * words as echo or crosstalk):
 *   - each span of the transcript's redaction (its words' times with the guard band),
 *   - each DTMF run of the report (the events analyzer: libspandsp's receiver, whose talk-off
 *     was 0 in 22 h of conversation, docs/events.md), and each run the recording holds for the
 *     receivers at their most sensitive (both of ours beside libspandsp's: they hear digits
 *     keyed under speech that the default misses; their rare talk-off only mutes a moment more),
 *     each widened by the guard band; a run spans its train of digits, first to last,
 *   - with `redact_pause_code`, everything from the start of the run of keyed digits that
 *     holds it to the end of the run that holds `redact_resume_code` (or the call's end).
 * `tone` writes a 1 kHz sine at -20 dBFS there instead of silence (not a DTMF frequency).
 *
 * Verification, on the file written, read back through the decoder:
 *   - keyed digits: each channel (at 8 kHz) through cq_tones with both of our receivers on
 *     (dtmf_speech and dtmf_voice_cancel: more sensitive under speech than the events
 *     analyzer's default) beside libspandsp's: 0 digits anywhere in the copy;
 *   - each interval holds only silence or the tone: every sample within 2 LSB of what was
 *     written there;
 *   - the transcript: no Luhn-valid 13-19-digit run (pv_luhn_runs_transcript) and no hit of an
 *     enabled type when its redacted text is run through the detectors again.
 * A call that fails is stored with redaction "failed": the service holds its audio back from
 * playback and download (docs/privacy.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callqa/cq_tones.h"
#include "callqa/cq_resample.h"
#include "../proc/proc.h"
#include "pipeline.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "../store/store_retain.h"

#define RD_TONE_HZ 1000.0
#define RD_TONE_AMP 0.1 /* -20 dBFS */
#define RD_BLOCK 4096

/* ---- settings ------------------------------------------------------------------------------- */

static bool dtmf_code_ok(const char *s)
{
    for (; *s; s++)
        if (!strchr("0123456789*#ABCD", *s))
            return false;
    return true;
}

/* One entry of a "NAME=VALUE,..." map at p: its length (to the comma or the end), *eq its '='
 * (NULL: none), and the name between *ns and *ne, spaces around it left out. */
static size_t map_entry(const char *p, const char **eq, const char **ns, const char **ne)
{
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    *eq = memchr(p, '=', len);
    *ns = p, *ne = *eq ? *eq : p;
    while (*ns < *ne && (**ns == ' ' || **ns == '\t'))
        (*ns)++;
    while (*ne > *ns && ((*ne)[-1] == ' ' || (*ne)[-1] == '\t'))
        (*ne)--;
    return len;
}

/* The types for campaign in map ("CAMPAIGN=card+cvv,..."): 1 with *mask when listed, 0 when
 * not, -1 with err on a malformed map (campaign NULL: only checked). */
static int campaign_types(const char *map, const char *campaign, unsigned *mask, char *err,
                          size_t n)
{
    int found = 0;
    const char *p = map;
    while (*p) {
        const char *eq, *ns, *ne;
        size_t len = map_entry(p, &eq, &ns, &ne);
        if (!eq || ne == ns || ne - ns > 64) {
            snprintf(err, n, "redact_campaigns: '%.*s' is not CAMPAIGN=TYPE+TYPE", (int)len, p);
            return -1;
        }
        char types[256], why[300];
        size_t tl = len - (size_t)(eq + 1 - p);
        if (tl >= sizeof(types)) {
            snprintf(err, n, "redact_campaigns: the types of '%.*s' are too long", (int)(ne - ns),
                     ns);
            return -1;
        }
        for (size_t i = 0; i < tl; i++)
            types[i] = eq[1 + i] == '+' ? ',' : eq[1 + i];
        types[tl] = 0;
        unsigned m = 0;
        if (pv_parse_types(types, &m, why, sizeof(why)) != 0) {
            snprintf(err, n, "redact_campaigns: %.*s: %s", (int)(ne - ns), ns, why);
            return -1;
        }
        if (campaign && !found && strlen(campaign) == (size_t)(ne - ns) &&
            !memcmp(campaign, ns, (size_t)(ne - ns)))
            *mask = m, found = 1;
        p += len + (p[len] ? 1 : 0);
    }
    return found;
}

int pl_redact_check(const cfg_settings *c, char *err, size_t n)
{
    unsigned m = 0;
    char why[300];
    if (c->redact[0] && pv_parse_types(c->redact, &m, why, sizeof(why)) != 0) {
        snprintf(err, n, "redact: %s", why);
        return -1;
    }
    if (campaign_types(c->redact_campaigns, NULL, &m, err, n) < 0)
        return -1;
    if (!dtmf_code_ok(c->redact_pause_code) || !dtmf_code_ok(c->redact_resume_code)) {
        snprintf(err, n, "redact_pause_code and redact_resume_code are keyed digits: 0-9 * # A-D");
        return -1;
    }
    if (c->redact_resume_code[0] && !c->redact_pause_code[0]) {
        snprintf(err, n, "redact_resume_code is set without redact_pause_code");
        return -1;
    }
    return 0;
}

bool pl_redact_any(const cfg_settings *c)
{
    unsigned m = 0;
    if (c->redact[0] && pv_parse_types(c->redact, &m, NULL, 0) == 0 && m)
        return true;
    /* any campaign with a type: the map's entries, each looked up */
    const char *p = c->redact_campaigns;
    while (*p) {
        const char *eq, *ns, *ne;
        size_t len = map_entry(p, &eq, &ns, &ne);
        char name[65], err[300];
        if (ne > ns && ne - ns < (ptrdiff_t)sizeof(name)) {
            snprintf(name, sizeof(name), "%.*s", (int)(ne - ns), ns);
            if (campaign_types(c->redact_campaigns, name, &m, err, sizeof(err)) == 1 && m)
                return true;
        }
        p += len + (p[len] ? 1 : 0);
    }
    return false;
}

int pl_redact_plan_of(const cfg_settings *c, const char *campaign, pl_redact_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->pv = pv_default_settings();
    unsigned m = 0;
    char err[300];
    int got = campaign && campaign[0]
                  ? campaign_types(c->redact_campaigns, campaign, &m, err, sizeof(err))
                  : 0;
    if (got < 0)
        return -1;
    if (got == 0 && c->redact[0] && pv_parse_types(c->redact, &m, err, sizeof(err)) != 0)
        return -1;
    p->pv.types = m;
    p->pv.guard_sec = c->redact_guard_sec;
    p->on = m != 0;
    p->audio = p->on ? c->redact_audio : 0;
    snprintf(p->pause, sizeof(p->pause), "%s", c->redact_pause_code);
    snprintf(p->resume, sizeof(p->resume), "%s", c->redact_resume_code);
    return 0;
}

int pl_redact_transcript_of(const cfg_settings *c, store *st, int64_t call_id, tx_transcript *t,
                            size_t *hits, char *err, size_t n)
{
    *hits = 0;
    store_call call;
    int got = store_call_get(st, call_id, &call);
    if (got < 0) {
        snprintf(err, n, "the store could not answer: %s", store_errmsg(st));
        return -1;
    }
    pl_redact_plan p;
    if (pl_redact_plan_of(c, got == 1 ? call.campaign_id : NULL, &p) != 0) {
        snprintf(err, n, "the redaction settings are not valid");
        return -1;
    }
    if (!p.on)
        return 0;
    pv_redaction r;
    if (pv_redact_transcript(t, &p.pv, &r) != 0) {
        snprintf(err, n, "out of memory (redacting the transcript)");
        return -1;
    }
    for (int k = 0; k < PV_N_TYPES; k++)
        *hits += r.counts[k];
    pv_redaction_free(&r);
    return 1;
}

/* ---- the one walk: keyed digits, cards and SSNs in a report, an answer, a detail ---------- */

void pl_redact_mask_str(char *s)
{
    for (; *s; s++)
        if (strchr("0123456789*#ABCD", *s))
            *s = '*';
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The keys whose string is keyed digits, as the analysis writes them: the events' and
 * streams' "digits", a dialog's "info_digits", the live lines' "digit", and the DTMF
 * cross-check's "rfc4733", "sip_info", "in_band" (with its finding's "sent"). */
static bool keyed_key(const char *k)
{
    return ends_with(k, "digits") || !strcmp(k, "digit") || !strcmp(k, "in_band") ||
           !strcmp(k, "rfc4733") || !strcmp(k, "sip_info") || !strcmp(k, "sent");
}

/* 1: the keyed fields masked in place (each DTMF symbol as '*'), their values collected */
static int collect_keyed(json_t *v, pv_masker *m, size_t *masked)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (json_is_string(x) && keyed_key(k)) {
                size_t n = json_string_length(x);
                if (!n)
                    continue;
                if (pv_masker_add_keyed(m, json_string_value(x), n) != 0)
                    return -1;
                char *s = malloc(n + 1); /* n bytes: a NUL inside is kept */
                if (!s)
                    return -1;
                memcpy(s, json_string_value(x), n);
                s[n] = 0;
                bool changed = false;
                for (size_t i = 0; i < n; i++)
                    if (s[i] && s[i] != '*' && strchr("0123456789#ABCD", s[i]))
                        s[i] = '*', changed = true;
                if (changed) {
                    json_string_setn(x, s, n);
                    (*masked)++;
                }
                free(s);
            } else if (collect_keyed(x, m, masked) != 0) {
                return -1;
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (collect_keyed(x, m, masked) != 0) return -1;
    }
    return 0;
}

/* 2: every string, whatever its key, through the masker */
static int mask_strings(json_t *v, pv_masker *m, size_t *masked)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) if (mask_strings(x, m, masked) != 0) return -1;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (mask_strings(x, m, masked) != 0) return -1;
    } else if (json_is_string(v)) {
        char *out;
        size_t n;
        int rc = pv_masker_text(m, json_string_value(v), json_string_length(v), &out, &n);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            json_string_setn(v, out, n);
            free(out);
            (*masked)++;
        }
    }
    return 0;
}

int pl_redact_mask_report(json_t *report, unsigned types, size_t *masked)
{
    size_t n = 0;
    pv_masker *m = pv_masker_create(types);
    int rc = m ? collect_keyed(report, m, &n) : -1;
    if (rc == 0)
        rc = mask_strings(report, m, &n);
    pv_masker_destroy(m);
    if (masked)
        *masked = n;
    return rc;
}

unsigned pl_redact_types(const cfg_settings *c)
{
    unsigned all = 0, m = 0;
    if (c->redact[0] && pv_parse_types(c->redact, &m, NULL, 0) == 0)
        all |= m;
    const char *p = c->redact_campaigns;
    while (*p) { /* each campaign of the map, looked up */
        const char *eq, *ns, *ne;
        size_t len = map_entry(p, &eq, &ns, &ne);
        char name[65], err[300];
        if (ne > ns && ne - ns < (ptrdiff_t)sizeof(name)) {
            snprintf(name, sizeof(name), "%.*s", (int)(ne - ns), ns);
            m = 0;
            if (campaign_types(c->redact_campaigns, name, &m, err, sizeof(err)) == 1)
                all |= m;
        }
        p += len + (p[len] ? 1 : 0);
    }
    return all;
}

int pl_mask_report(const cfg_settings *c, const pl_redact_plan *plan, json_t *report,
                   size_t *masked)
{
    if (masked)
        *masked = 0;
    /* the worker's call: its campaign's types; a request of no campaign: every campaign's */
    if (plan ? !plan->on : !pl_redact_any(c))
        return 0;
    unsigned types = plan ? plan->pv.types : pl_redact_types(c);
    return pl_redact_mask_report(report, types, masked) == 0 ? 1 : -1;
}

const char *pl_redact_detail(const cfg_settings *c, const char *text, char **own)
{
    *own = NULL;
    if (!text || !text[0] || !pl_redact_any(c))
        return text;
    pv_masker *m = pv_masker_create(pl_redact_types(c));
    size_t n;
    int rc = m ? pv_masker_text(m, text, strlen(text), own, &n) : -1;
    pv_masker_destroy(m);
    if (rc < 0) /* out of memory: nothing of it kept rather than all of it */
        return "";
    return rc > 0 ? *own : text;
}

/* ---- the audio copy ------------------------------------------------------------------------- */

typedef struct ivl {
    double a, b;
    const char *why; /* "span", "dtmf", "pause" */
} ivl;

typedef struct ivl_list {
    ivl *v;
    size_t n, cap;
} ivl_list;

static int ivl_add(ivl_list *l, double a, double b, const char *why)
{
    if (a < 0)
        a = 0;
    if (!(b > a))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ivl *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = (ivl){a, b, why};
    return 0;
}

static int by_start(const void *x, const void *y)
{
    const ivl *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* sorted, overlapping ones merged */
static void ivl_merge(ivl_list *l)
{
    if (!l->n)
        return;
    qsort(l->v, l->n, sizeof(*l->v), by_start);
    size_t k = 0;
    for (size_t i = 1; i < l->n; i++) {
        if (l->v[i].a <= l->v[k].b) {
            if (l->v[i].b > l->v[k].b)
                l->v[k].b = l->v[i].b;
        } else {
            l->v[++k] = l->v[i];
        }
    }
    l->n = k + 1;
}

/* The intervals of a call covered on every channel: the report's DTMF runs, the pauses (the
 * transcript's spans are placed on their leg's audio: place_span). */
static int intervals_of(const pl_redact_plan *p, const cq_report *rep, ivl_list *out,
                        size_t *dtmf_runs, size_t *pauses)
{
    *dtmf_runs = *pauses = 0;
    const cq_leg_report *L[2] = {rep->inbound, rep->outbound};
    double pause_at = -1;
    /* the DTMF events of both legs in the call's order (for the pause marks) */
    typedef struct ev {
        double a, b;
        const char *digits;
    } ev;
    ev *evs = NULL;
    size_t ne = 0, cap = 0;
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; L[l] && i < L[l]->n_events; i++) {
            const cq_call_event *e = &L[l]->events[i];
            if (e->type != CQ_EV_DTMF)
                continue;
            if (ne == cap) {
                cap = cap ? cap * 2 : 8;
                ev *x = realloc(evs, cap * sizeof(*x));
                if (!x) {
                    free(evs);
                    return -1;
                }
                evs = x;
            }
            evs[ne++] = (ev){e->start_sec, e->end_sec, e->digits};
        }
    for (size_t i = 1; i < ne; i++) /* insertion sort: a handful */
        for (size_t j = i; j > 0 && evs[j].a < evs[j - 1].a; j--) {
            ev t = evs[j];
            evs[j] = evs[j - 1], evs[j - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < ne && rc == 0; i++) {
        (*dtmf_runs)++;
        rc = ivl_add(out, evs[i].a - p->pv.guard_sec, evs[i].b + p->pv.guard_sec, "dtmf");
        const char *d = evs[i].digits ? evs[i].digits : "";
        if (p->pause[0] && pause_at < 0 && strstr(d, p->pause)) {
            pause_at = evs[i].a - p->pv.guard_sec;
            /* a resume code after the pause code in the same run ends it there */
            const char *after = strstr(d, p->pause) + strlen(p->pause);
            if (p->resume[0] && strstr(after, p->resume)) {
                rc = rc ? rc : ivl_add(out, pause_at, evs[i].b + p->pv.guard_sec, "pause");
                (*pauses)++;
                pause_at = -1;
            }
        } else if (pause_at >= 0 && p->resume[0] && strstr(d, p->resume)) {
            rc = ivl_add(out, pause_at, evs[i].b + p->pv.guard_sec, "pause");
            (*pauses)++;
            pause_at = -1;
        }
    }
    if (rc == 0 && pause_at >= 0) { /* never resumed: to the end */
        rc = ivl_add(out, pause_at, rep->duration_sec + 1, "pause");
        (*pauses)++;
    }
    /* the marks sent for the call, in time order: a pause to the next resume, or to the end */
    bool paused = false;
    double mark_at = 0;
    for (int i = 0; i < p->n_marks && rc == 0; i++) {
        if (p->mark_pause[i] && !paused) {
            paused = true;
            mark_at = p->mark_sec[i] - p->pv.guard_sec;
        } else if (!p->mark_pause[i] && paused) {
            rc = ivl_add(out, mark_at, p->mark_sec[i] + p->pv.guard_sec, "pause");
            (*pauses)++;
            paused = false;
        }
    }
    if (rc == 0 && paused) {
        rc = ivl_add(out, mark_at, rep->duration_sec + 1, "pause");
        (*pauses)++;
    }
    free(evs);
    return rc;
}

static void le16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xffff), le16(p + 2, v >> 16);
}

static void wav_header(uint8_t h[44], int rate, int ch, uint32_t data)
{
    memcpy(h, "RIFF", 4);
    le32(h + 4, 36 + data);
    memcpy(h + 8, "WAVEfmt ", 8);
    le32(h + 16, 16);
    le16(h + 20, 1);
    le16(h + 22, (unsigned)ch);
    le32(h + 24, (uint32_t)rate);
    le32(h + 28, (uint32_t)(rate * ch * 2));
    le16(h + 32, (unsigned)(ch * 2));
    le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    le32(h + 40, data);
}

static int16_t to_s16(float x)
{
    float v = x * 32768.0f;
    return v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : (int16_t)lrintf(v);
}

/* what is written at frame i of an interval: 0, or the tone */
static int16_t covered(int mode, int64_t i, int rate)
{
    if (mode != 2)
        return 0;
    return to_s16((float)(RD_TONE_AMP * sin(2 * M_PI * RD_TONE_HZ * (double)i / rate)));
}

typedef struct src_pair {
    cq_audio *a[2];
    int n;        /* 1: one file (its channels), 2: two leg files */
    int channels; /* written */
    int rate;
} src_pair;

static void src_close(src_pair *s)
{
    for (int i = 0; i < 2; i++)
        cq_audio_close(s->a[i]);
}

static int src_open(const cq_call_src *c, src_pair *s, char *why, size_t n)
{
    memset(s, 0, sizeof(*s));
    cq_err e;
    cq_err_clear(&e);
    const char *p[2] = {c->path ? c->path : c->in_path, c->path ? NULL : c->out_path};
    for (int i = 0; i < 2 && p[i]; i++) {
        if (!(s->a[i] = cq_audio_open(p[i], &e))) {
            snprintf(why, n, "the recording could not be read again: %s", e.msg);
            src_close(s);
            return -1;
        }
        s->n++;
    }
    if (!s->n) {
        snprintf(why, n, "no recording");
        return -1;
    }
    const cq_audio_info *i0 = cq_audio_get_info(s->a[0]);
    s->rate = i0->sample_rate_hz;
    s->channels = s->n == 2 ? 2 : i0->channels;
    if (s->n == 2) {
        const cq_audio_info *i1 = cq_audio_get_info(s->a[1]);
        if (i1->sample_rate_hz != s->rate) {
            snprintf(why, n, "the legs are at different rates (%d and %d Hz)", s->rate,
                     i1->sample_rate_hz);
            src_close(s);
            return -1;
        }
    }
    return 0;
}

/* ---- the spans placed on the audio ------------------------------------------------------------
 * A transcript's word times are the ASR's: off by up to a few hundred ms, mostly by one shift
 * shared by a segment's words. A span widened by a fixed guard band to cover that error also
 * covered what lies beside the value: the words before it ("sure, it's") and the other party's
 * reply. So each span is placed on its own leg's audio:
 *   - the leg's words around the span (RD_CONTEXT_SEC either side) are laid on the channel's
 *     speech (5 ms frames above its noise floor + RD_FLOOR_DB): the shift, within
 *     +/-RD_SHIFT_SEC, under which they agree best with it;
 *   - each edge, so shifted, goes to the pause nearest it (within RD_EDGE_SEC): the span starts
 *     in the pause before the value's first word and ends in the pause after its last, at most
 *     RD_INTO_PAUSE_SEC (or half the pause) into it; an end in a stop's closure ("eight": a
 *     pause, a quiet burst no longer than RD_BURST_SEC, a pause) goes past its release; never
 *     inside what the shifted times give the value (less RD_JITTER_SEC, an ASR's error on one
 *     word beyond the shared shift). An edge with no pause near it (speech running on) is
 *     widened by the guard band instead;
 *   - the other channel, over the span, is muted where it carries the value as echo or
 *     crosstalk, and kept where its own party speaks: a run of its speech louder there than the
 *     value's channel (an echo is never louder than its source). */

#define RD_FRAME_SEC 0.005
#define RD_FLOOR_DB 12.0
#define RD_SHIFT_SEC 0.5
#define RD_CONTEXT_SEC 2.0
#define RD_EDGE_SEC 0.12
#define RD_PAUSE_SEC 0.02
#define RD_INTO_PAUSE_SEC 0.1
#define RD_JITTER_SEC 0.05
#define RD_BRIDGE_SEC 0.03 /* a gap this short inside the other party's run of speech */
#define RD_BURST_SEC 0.2   /* speech this short between two pauses: a stop's release */
#define RD_LONE_SEC 2.0    /* a single digit heard with no other run this near: talk-off */
#define RD_RELEASE_DB 10.0 /* ... when this far under the word before it */

typedef struct lv_map {
    float *db[2]; /* each frame's level, dBFS, per channel */
    size_t n;     /* frames */
    int ch;       /* channels (1 or 2) */
    double fs;    /* a frame's seconds */
    float thr[2]; /* speech: above this */
    int in_ch;    /* the inbound leg's channel (the report's channel map; legs: 0) */
} lv_map;

static void lv_free(lv_map *m)
{
    free(m->db[0]);
    free(m->db[1]);
}

/* The noise floor of a channel: the level 10 % of its frames are under (0.5 dB steps). */
static float noise_floor(const float *db, size_t n)
{
    size_t hist[241] = {0};
    for (size_t i = 0; i < n; i++) {
        int b = (int)lrintf((db[i] + 120.0f) * 2.0f);
        hist[b < 0 ? 0 : b > 240 ? 240 : b]++;
    }
    size_t want = n / 10, seen = 0;
    for (int b = 0; b <= 240; b++)
        if ((seen += hist[b]) > want)
            return (float)b / 2.0f - 120.0f;
    return -120.0f;
}

/* The recording's levels, frame by frame and channel by channel. 0, or -1 with why. */
static int levels_of(const cq_call_src *c, const cq_report *rep, lv_map *m, char *why, size_t n)
{
    memset(m, 0, sizeof(*m));
    src_pair s;
    if (src_open(c, &s, why, n) != 0)
        return -1;
    int ch = s.channels > 2 ? 2 : s.channels;
    int fl = (int)lround(s.rate * RD_FRAME_SEC);
    if (fl < 1)
        fl = 1;
    m->ch = ch;
    m->fs = (double)fl / s.rate;
    m->in_ch = s.n == 2 || rep->channel_map == CQ_MAP_IN_OUT ? 0 : 1;
    float *buf[2][2] = {{NULL, NULL}, {NULL, NULL}};
    int rc = 0;
    for (int f = 0; f < s.n && rc == 0; f++)
        for (int k = 0; k < 2 && rc == 0; k++)
            if (!(buf[f][k] = calloc(RD_BLOCK, sizeof(float))))
                rc = -1;
    size_t cap = 0;
    double acc[2] = {0, 0};
    int filled = 0;
    bool more[2] = {true, s.n == 2};
    while (rc == 0 && (more[0] || more[1])) {
        int64_t got[2] = {0, 0};
        for (int f = 0; f < s.n; f++) {
            if (!more[f])
                continue;
            cq_err e;
            cq_err_clear(&e);
            got[f] = cq_audio_read_planar(s.a[f], buf[f], RD_BLOCK, &e);
            if (got[f] < 0) {
                snprintf(why, n, "the recording could not be read again: %s", e.msg);
                rc = -2;
            } else if (got[f] == 0) {
                more[f] = false;
            }
        }
        int64_t mm = got[0] > got[1] ? got[0] : got[1];
        if (rc != 0 || mm == 0)
            break;
        for (int64_t i = 0; i < mm && rc == 0; i++) {
            for (int c2 = 0; c2 < ch; c2++) {
                float x = s.n == 2 ? (i < got[c2] ? buf[c2][0][i] : 0.0f) : buf[0][c2][i];
                acc[c2] += (double)x * x;
            }
            if (++filled < fl)
                continue;
            if (m->n == cap) {
                cap = cap ? cap * 2 : 4096;
                for (int c2 = 0; c2 < ch && rc == 0; c2++) {
                    float *d = realloc(m->db[c2], cap * sizeof(float));
                    if (!d)
                        rc = -1;
                    else
                        m->db[c2] = d;
                }
                if (rc != 0)
                    break;
            }
            for (int c2 = 0; c2 < ch; c2++) {
                m->db[c2][m->n] = (float)(10.0 * log10(acc[c2] / fl + 1e-12));
                acc[c2] = 0;
            }
            m->n++;
            filled = 0;
        }
    }
    for (int f = 0; f < 2; f++)
        for (int k = 0; k < 2; k++)
            free(buf[f][k]);
    src_close(&s);
    for (int c2 = 0; c2 < ch && rc == 0; c2++) {
        float t = noise_floor(m->db[c2], m->n) + (float)RD_FLOOR_DB;
        m->thr[c2] = t < -60.0f ? -60.0f : t;
    }
    if (rc == -1)
        snprintf(why, n, "out of memory");
    if (rc != 0)
        lv_free(m);
    return rc == 0 ? 0 : -1;
}

/* The channel a transcript leg's speech is on. */
static int chan_of(const lv_map *m, const tx_transcript *tx, int leg)
{
    if (m->ch < 2)
        return 0;
    int src = tx && leg >= 0 && leg < tx->n_legs ? tx->legs[leg].src : leg;
    return src == 0 ? m->in_ch : 1 - m->in_ch;
}

/* speech on channel c at frame f: 1, a pause: -1, outside the recording: 0 */
static int spoken(const lv_map *m, int c, long f)
{
    if (f < 0 || (size_t)f >= m->n)
        return 0;
    return m->db[c][f] > m->thr[c] ? 1 : -1;
}

/* The shift (seconds) under which the words of leg L around [a, b] agree best with channel c's
 * speech: each frame scores +1 where both say speech or both a pause, -1 where they differ. A
 * tie goes to the smaller shift. -1e9: no word near (nothing to align). */
static double align(const lv_map *m, int c, const tx_leg *L, double a, double b)
{
    long D = lround(RD_SHIFT_SEC / m->fs);
    long f0 = lround((a - RD_CONTEXT_SEC) / m->fs), f1 = lround((b + RD_CONTEXT_SEC) / m->fs);
    long g0 = f0 - D, ng = f1 + D - g0 + 1; /* the words' frames, as the ASR placed them */
    signed char *P = calloc((size_t)ng, 1);
    if (!P)
        return 0; /* out of memory: the ASR's times as they are */
    for (long g = 0; g < ng; g++)
        P[g] = -1;
    bool any = false;
    for (size_t k = 0; k < L->n; k++) {
        const tx_segment *g = &L->segs[k];
        size_t nw = g->n_words ? g->n_words : 1;
        for (size_t j = 0; j < nw; j++) {
            double ws = g->n_words ? g->words[j].start : g->start;
            double we = g->n_words ? g->words[j].end : g->end;
            long s0 = lround(ws / m->fs) - g0, s1 = lround(we / m->fs) - g0;
            if (s1 < 0 || s0 >= ng || !(we > ws))
                continue;
            any = true;
            for (long x = s0 < 0 ? 0 : s0; x <= s1 && x < ng; x++)
                P[x] = 1;
        }
    }
    double best_at = 0;
    if (any) {
        long best = LONG_MIN, best_d = 0;
        for (long d = -D; d <= D; d++) {
            long sc = 0;
            for (long f = f0; f <= f1; f++)
                sc += spoken(m, c, f) * P[f - d - g0];
            if (sc > best || (sc == best && labs(d) < labs(best_d)))
                best = sc, best_d = d;
        }
        best_at = (double)best_d * m->fs;
    }
    free(P);
    return any ? best_at : -1e9;
}

/* The pause on channel c nearest t (within RD_EDGE_SEC) at its end (start: the value begins
 * after it) or at its start (!start: the value ends before it): 1 with *at, the edge, that far
 * into the pause; 0 none. The recording's start and end are pauses. */
static int edge(const lv_map *m, int c, double t, bool start, double *at)
{
    long R = lround(RD_EDGE_SEC / m->fs), ft = lround(t / m->fs);
    long minp = lround(RD_PAUSE_SEC / m->fs);
    double best = 1e9;
    int found = 0;
    for (long f = ft - R; f <= ft + R; f++) {
        /* an edge of a pause at f: start: f the first speech frame after a pause; else the
         * first pause frame after speech */
        if (spoken(m, c, f) != (start ? 1 : -1) || spoken(m, c, f - 1) == (start ? 1 : -1))
            continue;
        long len = 0, g = start ? f - 1 : f;
        while (spoken(m, c, g) == -1 && len <= lround(RD_INTO_PAUSE_SEC * 2 / m->fs))
            len++, g += start ? -1 : 1;
        bool whole = spoken(m, c, g) == 0; /* the pause reaches the recording's edge */
        if (len < minp && !whole)
            continue;
        double d = fabs((double)(f - ft));
        if (d < best) {
            double into = (double)len * m->fs / 2;
            if (into > RD_INTO_PAUSE_SEC || whole)
                into = RD_INTO_PAUSE_SEC;
            best = d;
            *at = (double)f * m->fs + (start ? -into : into);
            found = 1;
        }
    }
    return found;
}

/* The end edge at *at past a stop's release: when the speech after it is a burst no longer than
 * RD_BURST_SEC (gaps shorter than a pause inside it bridged: a weak release's frames flicker
 * about the threshold), every frame RD_RELEASE_DB or more under the loudest frame of the 0.3 s
 * before it, then a pause or the recording's end ("eight": its closure, then its release), the
 * edge goes into that pause instead. */
static void past_release(const lv_map *m, int c, double *at)
{
    long f = lround(*at / m->fs), minp = lround(RD_PAUSE_SEC / m->fs);
    long maxb = lround(RD_BURST_SEC / m->fs);
    while (spoken(m, c, f) == -1)
        f++;
    if (spoken(m, c, f) != 1)
        return;
    long p0 = f; /* the pause's start, and the loudest of the 0.3 s before it */
    while (spoken(m, c, p0 - 1) == -1)
        p0--;
    float top = -120.0f, rel = -120.0f;
    for (long g = p0 - lround(0.3 / m->fs); g < p0; g++)
        if (spoken(m, c, g) != 0 && m->db[c][g] > top)
            top = m->db[c][g];
    long e = f; /* one past the burst's last frame of speech */
    for (long g = f; g - f <= maxb;) {
        int sg = spoken(m, c, g);
        if (sg == 1) {
            if (m->db[c][g] > rel)
                rel = m->db[c][g];
            e = ++g;
            continue;
        }
        long q = 0; /* a gap: bridged when shorter than a pause and speech follows */
        while (spoken(m, c, g + q) == -1 && q < minp)
            q++;
        if (sg == 0 || q >= minp || spoken(m, c, g + q) != 1)
            break;
        g += q;
    }
    long q = 0;
    while (spoken(m, c, e + q) == -1 && q < lround(RD_INTO_PAUSE_SEC * 2 / m->fs))
        q++;
    if (e - f > maxb || rel > top - RD_RELEASE_DB || (q < minp && spoken(m, c, e + q) != 0))
        return;
    double into = (double)q * m->fs / 2;
    *at = (double)e * m->fs + (into > RD_INTO_PAUSE_SEC ? RD_INTO_PAUSE_SEC : into);
}

/* Span i placed on the audio: [*a, *b] on its channel. */
static void place_span(const lv_map *m, const tx_transcript *tx, const pv_span *sp, double guard,
                       double *a, double *b)
{
    double ws = sp->words_start, we = sp->words_end;
    int c = chan_of(m, tx, sp->leg);
    const tx_leg *L = tx && sp->leg >= 0 && sp->leg < tx->n_legs ? &tx->legs[sp->leg] : NULL;
    double d = L ? align(m, c, L, ws, we) : -1e9;
    if (d < -1e8) { /* nothing to lay on the audio: the words' times and the guard band */
        *a = ws - guard, *b = we + guard;
        return;
    }
    double s = ws + d, e = we + d, x;
    *a = edge(m, c, s, true, &x) ? x : s - guard;
    if (edge(m, c, e, false, &x)) {
        past_release(m, c, &x);
        *b = x;
    } else {
        *b = e + guard;
    }
    /* never inside the value as the shifted times give it */
    if (*a > s + RD_JITTER_SEC)
        *a = s + RD_JITTER_SEC;
    if (*b < e - RD_JITTER_SEC)
        *b = e - RD_JITTER_SEC;
    if (*b < *a)
        *b = *a;
}

/* The other channel o over [a, b] (the value on channel c): the stretches muted appended to out,
 * those where o's own party speaks left out. 0, or -1 (memory). */
static int other_channel(const lv_map *m, int c, int o, double a, double b, ivl_list *out)
{
    long fa = (long)floor(a / m->fs), fb = (long)ceil(b / m->fs);
    long bridge = lround(RD_BRIDGE_SEC / m->fs), pad = 2;
    double from = a; /* the muted stretch under way */
    long f = fa;
    while (f < fb) {
        if (spoken(m, o, f) != 1) {
            f++;
            continue;
        }
        /* the whole run of o's speech, gaps up to RD_BRIDGE_SEC bridged, before a and after b
         * too */
        long r0 = f, r1 = f + 1, gap = 0;
        for (long g = r1; gap <= bridge && spoken(m, o, g) != 0; g++)
            if (spoken(m, o, g) == 1)
                r1 = g + 1, gap = 0;
            else
                gap++;
        gap = 0;
        for (long g = r0 - 1; gap <= bridge && spoken(m, o, g) != 0; g--)
            if (spoken(m, o, g) == 1)
                r0 = g, gap = 0;
            else
                gap++;
        double eo = 0, ec = 0;
        for (long g = r0; g < r1; g++) {
            eo += pow(10.0, m->db[o][g] / 10.0);
            ec += pow(10.0, m->db[c][g] / 10.0);
        }
        if (eo > ec) { /* its own speech: kept */
            double k0 = (double)(r0 - pad) * m->fs, k1 = (double)(r1 + pad) * m->fs;
            if (k0 > from && ivl_add(out, from, k0 < b ? k0 : b, "span") != 0)
                return -1;
            if (k1 > from)
                from = k1;
        }
        f = r1;
    }
    if (b > from && ivl_add(out, from, b, "span") != 0)
        return -1;
    return 0;
}

/* The copy written to fd (a WAV header, then the frames), each channel c
 * covered over iv[c]: 0, or -1 with why. */
static int write_copy(const cq_call_src *c, const ivl_list iv[2], int mode, int fd, src_pair *s,
                      char *why, size_t n)
{
    if (src_open(c, s, why, n) != 0)
        return -1;
    int ch = s->channels, rate = s->rate;
    float *buf[2][2] = {{NULL, NULL}, {NULL, NULL}};
    int16_t *out = malloc((size_t)RD_BLOCK * (size_t)ch * sizeof(*out));
    int rc = out ? 0 : -1;
    for (int f = 0; f < s->n && rc == 0; f++)
        for (int k = 0; k < 2 && rc == 0; k++)
            if (!(buf[f][k] = calloc(RD_BLOCK, sizeof(float))))
                rc = -1;
    uint8_t h[44];
    wav_header(h, rate, ch, 0);
    if (rc == 0 && proc_write_all(fd, h, sizeof(h)) != 0) {
        snprintf(why, n, "writing the copy: %s", strerror(errno));
        rc = -2;
    }
    int64_t frame = 0;
    uint64_t bytes = 0;
    size_t k[2] = {0, 0}; /* each channel's interval at or after the current frame */
    bool more[2] = {true, s->n == 2};
    while (rc == 0 && (more[0] || more[1])) {
        int64_t got[2] = {0, 0};
        for (int f = 0; f < s->n; f++) {
            if (!more[f])
                continue;
            cq_err e;
            cq_err_clear(&e);
            got[f] = cq_audio_read_planar(s->a[f], buf[f], RD_BLOCK, &e);
            if (got[f] < 0) {
                snprintf(why, n, "the recording could not be read again: %s", e.msg);
                rc = -2;
            } else if (got[f] == 0) {
                more[f] = false;
            }
        }
        int64_t m = got[0] > got[1] ? got[0] : got[1];
        if (rc != 0 || m == 0)
            break;
        for (int64_t i = 0; i < m; i++) {
            double t = (double)(frame + i) / rate;
            for (int c2 = 0; c2 < ch; c2++) {
                const ivl_list *l = &iv[c2 ? 1 : 0];
                size_t *kc = &k[c2 ? 1 : 0];
                while (*kc < l->n && l->v[*kc].b <= t)
                    (*kc)++;
                bool cover = *kc < l->n && l->v[*kc].a <= t;
                float x;
                if (s->n == 2)
                    x = i < got[c2] ? buf[c2][0][i] : 0.0f;
                else
                    x = buf[0][c2][i];
                out[i * ch + c2] = cover ? covered(mode, frame + i, rate) : to_s16(x);
            }
        }
        size_t nb = (size_t)m * (size_t)ch * sizeof(int16_t);
        if (proc_write_all(fd, out, nb) != 0) {
            snprintf(why, n, "writing the copy: %s", strerror(errno));
            rc = -2;
        }
        frame += m;
        bytes += nb;
        if (bytes > 0xffffffd0u) {
            snprintf(why, n, "the copy would be over 4 GiB");
            rc = -2;
        }
    }
    if (rc == -1)
        snprintf(why, n, "out of memory");
    if (rc == 0) {
        wav_header(h, rate, ch, (uint32_t)bytes);
        if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
            snprintf(why, n, "writing the copy: %s", strerror(errno));
            rc = -2;
        }
    }
    for (int f = 0; f < 2; f++)
        for (int q = 0; q < 2; q++)
            free(buf[f][q]);
    free(out);
    src_close(s);
    return rc == 0 ? 0 : -1;
}

/* ---- keyed digits heard: the receivers at their most sensitive ---------------------------------
 */

/* Event i of ev[0..n) a single digit with no other run of keyed digits within RD_LONE_SEC: the
 * form of the sensitive receivers' talk-off in speech (a vowel's harmonics heard as one digit).
 * A secret keyed is a train of digits, and under speech the receivers hear most of a train's
 * digits (docs/privacy.md), so such a digit is neither muted nor counted against the copy. */
static bool lone_digit(const cq_tone_event *ev, size_t n, size_t i)
{
    if (strlen(ev[i].digits) != 1)
        return false;
    for (size_t j = 0; j < n; j++)
        if (j != i && ev[j].kind == CQ_TONE_DTMF && ev[j].end_sec > ev[i].start_sec - RD_LONE_SEC &&
            ev[j].start_sec < ev[i].end_sec + RD_LONE_SEC)
            return false;
    return true;
}

/* Every DTMF run in the file at path, on each channel at 8 kHz, through cq_tones with both of
 * our receivers on (dtmf_speech, dtmf_voice_cancel) beside libspandsp's: each run's interval
 * (widened by guard) appended to runs (when not NULL), *digits the digits heard, *first the
 * first run's start (-1: none). With iv (and mode), each interval of iv[c] is also checked to
 * hold only what was written there on channel c (*bad: those that do not; *checked: those the
 * file reached).
 * 0, or -1 with why. */
static int scan_file(const char *path, double guard, ivl_list *runs, size_t *digits, size_t *lone,
                     double *first, const ivl_list iv[2], int mode, size_t *bad, size_t *checked,
                     double *bad_at, char *why, size_t n)
{
    *digits = *lone = 0;
    *first = -1;
    cq_err e;
    cq_err_clear(&e);
    cq_audio *a = cq_audio_open(path, &e);
    if (!a) {
        snprintf(why, n, "%s", e.msg);
        return -1;
    }
    const cq_audio_info *info = cq_audio_get_info(a);
    int ch = info->channels, rate = info->sample_rate_hz;
    cq_tones_params tp = cq_tones_default_params();
    tp.dtmf_speech = tp.dtmf_voice_cancel = true;
    cq_tones *tn[2] = {NULL, NULL};
    cq_resample *rs[2] = {NULL, NULL};
    float *buf[2] = {NULL, NULL}, *r8 = NULL;
    int rc = 0;
    size_t r8cap = RD_BLOCK * 2 + 64;
    if (!(r8 = malloc(r8cap * sizeof(float))))
        rc = -1;
    for (int c = 0; c < ch && rc == 0; c++) {
        int err = 0;
        if (!(buf[c] = malloc(RD_BLOCK * sizeof(float))) || !(tn[c] = cq_tones_create(&tp, &err)))
            rc = -1;
        if (rc == 0 && rate != 8000 && !(rs[c] = cq_resample_create(rate, 8000, &err)))
            rc = -1;
    }
    /* each channel's intervals (iv[0], iv[1]): checked on that channel */
    size_t ni[2] = {iv ? iv[0].n : 0, iv && ch > 1 ? iv[1].n : 0};
    bool *ivl_bad[2] = {NULL, NULL}, *ivl_seen[2] = {NULL, NULL};
    for (int c = 0; c < 2; c++)
        if (ni[c] && (!(ivl_bad[c] = calloc(ni[c], sizeof(bool))) ||
                      !(ivl_seen[c] = calloc(ni[c], sizeof(bool)))))
            rc = -1;
    int64_t frame = 0;
    size_t k[2] = {0, 0};
    while (rc == 0) {
        int64_t got = cq_audio_read_planar(a, buf, RD_BLOCK, &e);
        if (got < 0) {
            snprintf(why, n, "%s", e.msg);
            rc = -2;
            break;
        }
        if (got == 0)
            break;
        for (int64_t i = 0; i < got && (ni[0] || ni[1]); i++) {
            double t = (double)(frame + i) / rate;
            int16_t want = covered(mode, frame + i, rate);
            for (int c = 0; c < ch && c < 2; c++) {
                while (k[c] < ni[c] && iv[c].v[k[c]].b <= t)
                    k[c]++;
                if (k[c] < ni[c] && iv[c].v[k[c]].a <= t) {
                    ivl_seen[c][k[c]] = true;
                    if (abs(to_s16(buf[c][i]) - want) > 2)
                        ivl_bad[c][k[c]] = true;
                }
            }
        }
        for (int c = 0; c < ch && rc == 0; c++) {
            const float *x = buf[c];
            size_t nx = (size_t)got;
            if (rs[c]) {
                long m = cq_resample_process(rs[c], buf[c], (size_t)got, r8, r8cap);
                if (m < 0) {
                    rc = -1;
                    break;
                }
                x = r8, nx = (size_t)m;
            }
            if (nx && cq_tones_push(tn[c], x, nx) != CQ_OK)
                rc = -1;
        }
        frame += got;
    }
    for (int c = 0; c < ch && rc == 0; c++) {
        const cq_tone_event *ev;
        size_t ne = 0;
        if (cq_tones_finish(tn[c], &ev, &ne) != CQ_OK) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < ne && rc == 0; i++)
            if (ev[i].kind == CQ_TONE_DTMF && !ev[i].open) {
                if (lone_digit(ev, ne, i)) {
                    (*lone)++;
                    continue;
                }
                *digits += strlen(ev[i].digits);
                if (*first < 0 || ev[i].start_sec < *first)
                    *first = ev[i].start_sec;
                if (runs &&
                    ivl_add(runs, ev[i].start_sec - guard, ev[i].end_sec + guard, "dtmf") != 0)
                    rc = -1;
            }
    }
    if (iv && rc == 0) {
        *bad = *checked = 0;
        for (int c = 0; c < 2; c++)
            for (size_t i = 0; i < ni[c]; i++) {
                *checked += ivl_seen[c][i];
                if (ivl_bad[c][i]) {
                    if (!*bad || iv[c].v[i].a < *bad_at)
                        *bad_at = iv[c].v[i].a;
                    (*bad)++;
                }
            }
    }
    if (rc == -1)
        snprintf(why, n, "out of memory");
    for (int c = 0; c < 2; c++) {
        free(ivl_bad[c]);
        free(ivl_seen[c]);
    }
    for (int c = 0; c < 2; c++) {
        free(buf[c]);
        cq_tones_destroy(tn[c]);
        cq_resample_destroy(rs[c]);
    }
    free(r8);
    cq_audio_close(a);
    return rc == 0 ? 0 : -1;
}

/* The keyed digits of the recording itself (each leg file, or the one file), heard by the
 * sensitive receivers: their runs appended to iv. *runs: how many. 0, or -1 with why. */
static int scan_source(const cq_call_src *src, double guard, ivl_list *iv, size_t *runs,
                       size_t *lone, char *why, size_t n)
{
    *lone = 0;
    const char *p[2] = {src->path ? src->path : src->in_path, src->path ? NULL : src->out_path};
    size_t before = iv->n;
    for (int i = 0; i < 2; i++) {
        if (!p[i])
            continue;
        size_t digits, alone, bad, checked;
        double first, bad_at;
        char w[600];
        if (scan_file(p[i], guard, iv, &digits, &alone, &first, NULL, 0, &bad, &checked, &bad_at, w,
                      sizeof(w)) != 0) {
            snprintf(why, n, "the recording could not be read again: %s", w);
            return -1;
        }
        *lone += alone;
    }
    *runs = iv->n - before;
    return 0;
}

typedef struct verify_out {
    size_t digits;      /* keyed digits heard in the copy */
    size_t lone;        /* single digits heard alone (lone_digit): not counted in digits */
    double digit_at;    /* the first one's time */
    size_t bad_ivl;     /* intervals holding something else than silence or the tone */
    double bad_at;      /* the first one's start */
    size_t ivl_checked; /* intervals checked */
} verify_out;

static int verify_copy(const char *path, const ivl_list iv[2], int mode, verify_out *v, char *why,
                       size_t n)
{
    memset(v, 0, sizeof(*v));
    v->bad_at = -1;
    char w[600];
    if (scan_file(path, 0, NULL, &v->digits, &v->lone, &v->digit_at, iv, mode, &v->bad_ivl,
                  &v->ivl_checked, &v->bad_at, w, sizeof(w)) != 0) {
        snprintf(why, n, "the copy could not be read back: %s", w);
        return -1;
    }
    return 0;
}

/* ---- the whole ------------------------------------------------------------------------------ */

/* a type as the settings and the report name it: "card", "national_id" */
static const char *type_key(pv_type t, char name[32])
{
    snprintf(name, 32, "%s", pv_type_name(t));
    for (char *p = name; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    return name;
}

static json_t *counts_json(const size_t *counts)
{
    json_t *o = json_object();
    char name[32];
    for (int t = 0; t < PV_N_TYPES; t++)
        if (counts[t])
            json_object_set_new(o, type_key((pv_type)t, name), json_integer((json_int_t)counts[t]));
    return o;
}

static json_t *types_json(unsigned mask)
{
    json_t *a = json_array();
    char name[32];
    for (int t = 0; t < PV_N_TYPES; t++)
        if (mask & (1u << t))
            json_array_append_new(a, json_string(type_key((pv_type)t, name)));
    return a;
}

void pl_redact_dir(const cfg_settings *c, const char *db, char *out, size_t n)
{
    if (c->redact_dir[0]) {
        snprintf(out, n, "%s", c->redact_dir);
        return;
    }
    const char *slash = strrchr(db, '/');
    if (slash)
        snprintf(out, n, "%.*s/redacted", (int)(slash - db), db);
    else
        snprintf(out, n, "redacted");
}

json_t *pl_redact_call(const pl_redact_plan *p, const cfg_settings *c, const char *db,
                       int64_t call_id, const cq_call_src *src, const cq_report *rep,
                       const tx_transcript *tx, const pv_redaction *tr, size_t digits_masked,
                       pl_redact_result *res)
{
    memset(res, 0, sizeof(*res));
    json_t *o = json_object();
    json_object_set_new(o, "types", types_json(p->pv.types));
    json_object_set_new(o, "counts", counts_json(tr ? tr->counts : (size_t[PV_N_TYPES]){0}));
    json_t *spans = json_array();
    json_object_set_new(o, "spans", spans);
    json_object_set_new(o, "digits_masked", json_integer((json_int_t)digits_masked));
    json_t *vf = json_object();
    bool ok = true;
    /* the text */
    bool speech_types = (p->pv.types & PV_ALL_TYPES) != 0;
    if (tx) {
        size_t luhn = pv_luhn_runs_transcript(tx);
        long again = pv_scan_transcript(tx, &p->pv);
        json_object_set_new(vf, "luhn_runs", json_integer((json_int_t)luhn));
        if (again < 0)
            json_object_set_new(vf, "detector_hits", json_null());
        else
            json_object_set_new(vf, "detector_hits", json_integer((json_int_t)again));
        ok = ok && luhn == 0 && again == 0;
    } else {
        json_object_set_new(vf, "luhn_runs", json_null());
        json_object_set_new(vf, "detector_hits", json_null());
        json_object_set_new(vf, "transcript", json_string("none: the speech was not checked"));
        ok = ok && !speech_types;
    }
    /* the audio */
    json_t *au = json_object();
    json_object_set_new(au, "mode",
                        json_string(p->audio == 2   ? "tone"
                                    : p->audio == 1 ? "mute"
                                                    : "off"));
    /* the spans: placed on their leg's audio when a copy is made, else the words' times */
    double *at = tr && tr->n ? calloc(tr->n * 2, sizeof(double)) : NULL;
    for (size_t i = 0; tr && at && i < tr->n; i++)
        at[2 * i] = tr->spans[i].start, at[2 * i + 1] = tr->spans[i].end;
    if (p->audio) {
        ivl_list all = {0}, iv[2] = {{0}, {0}};
        size_t runs = 0, pauses = 0;
        char why[1400] = "", dir[1040], path[1080], tmp[1100];
        size_t heard = 0, lone = 0;
        lv_map lv = {0};
        int rc = tr && tr->n && !at ? -1 : 0;
        if (rc == 0)
            rc = intervals_of(p, rep, &all, &runs, &pauses);
        if (rc == 0)
            rc = scan_source(src, p->pv.guard_sec, &all, &heard, &lone, why, sizeof(why));
        if (rc == 0 && tr && tr->n)
            rc = levels_of(src, rep, &lv, why, sizeof(why));
        for (size_t i = 0; rc == 0 && tr && i < tr->n; i++) {
            int ch = chan_of(&lv, tx, tr->spans[i].leg);
            place_span(&lv, tx, &tr->spans[i], p->pv.guard_sec, &at[2 * i], &at[2 * i + 1]);
            rc = ivl_add(&iv[ch], at[2 * i], at[2 * i + 1], "span");
            if (rc == 0 && lv.ch == 2)
                rc = other_channel(&lv, ch, 1 - ch, at[2 * i], at[2 * i + 1], &iv[1 - ch]);
        }
        lv_free(&lv);
        for (int ch = 0; ch < 2 && rc == 0; ch++)
            for (size_t i = 0; i < all.n && rc == 0; i++)
                rc = ivl_add(&iv[ch], all.v[i].a, all.v[i].b, all.v[i].why);
        ivl_merge(&iv[0]);
        ivl_merge(&iv[1]);
        pl_redact_dir(c, db, dir, sizeof(dir));
        /* named as the store's list of a call's files has them (purged and erased with it) */
        store_file_redacted(dir, call_id, 0, path, sizeof(path));
        store_file_redacted(dir, call_id, (long)getpid(), tmp, sizeof(tmp));
        if (rc != 0 && !why[0])
            snprintf(why, sizeof(why), "out of memory");
        else if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(why, sizeof(why), "redact_dir %s: %s", dir, strerror(errno));
            rc = -1;
        }
        /* a copy a process of the same pid left unfinished is removed, never written through */
        if (rc == 0)
            (void)unlink(tmp);
        int fd =
            rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
        if (rc == 0 && fd < 0) {
            snprintf(why, sizeof(why), "%s: %s", tmp, strerror(errno));
            rc = -1;
        }
        src_pair sp;
        if (rc == 0)
            rc = write_copy(src, iv, p->audio, fd, &sp, why, sizeof(why));
        if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0) && rc == 0) {
            snprintf(why, sizeof(why), "%s: %s", tmp, strerror(errno));
            rc = -1;
        }
        verify_out v;
        if (rc == 0)
            rc = verify_copy(tmp, iv, p->audio, &v, why, sizeof(why));
        if (rc == 0 && rename(tmp, path) != 0) {
            snprintf(why, sizeof(why), "%s: %s", path, strerror(errno));
            rc = -1;
        }
        if (rc != 0)
            unlink(tmp);
        json_object_set_new(au, "intervals", json_integer((json_int_t)(iv[0].n + iv[1].n)));
        json_object_set_new(au, "dtmf_runs", json_integer((json_int_t)runs));
        json_object_set_new(au, "dtmf_runs_heard", json_integer((json_int_t)heard));
        json_object_set_new(au, "dtmf_lone_heard", json_integer((json_int_t)lone));
        json_object_set_new(au, "pauses", json_integer((json_int_t)pauses));
        /* the seconds covered on any channel */
        double muted = 0;
        all.n = 0;
        for (int ch = 0; ch < 2 && rc == 0; ch++)
            for (size_t i = 0; i < iv[ch].n && rc == 0; i++)
                rc = ivl_add(&all, iv[ch].v[i].a, iv[ch].v[i].b, iv[ch].v[i].why);
        ivl_merge(&all);
        for (size_t i = 0; i < all.n; i++)
            muted += all.v[i].b - all.v[i].a;
        json_object_set_new(au, "covered_sec", json_real(round(muted * 1000) / 1000));
        if (rc == 0) {
            snprintf(res->audio, sizeof(res->audio), "%s", path);
            const char *slash = strrchr(path, '/'); /* its name: no server path in a report */
            json_object_set_new(au, "file", json_string(slash ? slash + 1 : path));
            json_object_set_new(vf, "dtmf_digits", json_integer((json_int_t)v.digits));
            json_object_set_new(vf, "dtmf_lone_digits", json_integer((json_int_t)v.lone));
            if (v.digits)
                json_object_set_new(vf, "dtmf_first_sec",
                                    json_real(round(v.digit_at * 1000) / 1000));
            json_object_set_new(vf, "intervals_checked", json_integer((json_int_t)v.ivl_checked));
            json_object_set_new(vf, "intervals_not_covered", json_integer((json_int_t)v.bad_ivl));
            ok = ok && v.digits == 0 && v.bad_ivl == 0;
        } else {
            json_object_set_new(au, "error", json_string(why));
            ok = false;
        }
        free(all.v);
        free(iv[0].v);
        free(iv[1].v);
    }
    for (size_t i = 0; tr && at && i < tr->n; i++) {
        json_t *s = json_object();
        char name[32];
        json_object_set_new(s, "type", json_string(type_key(tr->spans[i].type, name)));
        json_object_set_new(s, "leg", json_string(tr->spans[i].leg == 0 ? "inbound" : "outbound"));
        json_object_set_new(s, "start", json_real(round(fmax(at[2 * i], 0) * 1000) / 1000));
        json_object_set_new(s, "end", json_real(round(at[2 * i + 1] * 1000) / 1000));
        json_array_append_new(spans, s);
    }
    free(at);
    if (p->marks_unplaced) { /* a pause asked for that the copy could not honour */
        json_object_set_new(vf, "marks", json_string(p->marks_unplaced));
        ok = false;
    }
    json_object_set_new(o, "audio", au);
    json_object_set_new(vf, "ok", json_boolean(ok));
    json_object_set_new(o, "verify", vf);
    snprintf(res->state, sizeof(res->state), "%s", ok ? "ok" : "failed");
    return o;
}

int pl_redact_capture(const cfg_settings *c, const char *rec_path, char *why, size_t n)
{
    char up[1100], upr[PATH_MAX], paths[2][4200];
    rec_upload_dir(c, up, sizeof(up));
    if (!up[0] || !realpath(up, upr) || !rec_path)
        return 0;
    int np = pl_capture_paths(rec_path, paths), done = 0;
    size_t ul = strlen(upr);
    for (int k = 0; k < np; k++) {
        char dir[4200], dr[PATH_MAX];
        size_t pl = strnlen(paths[k], sizeof(dir) - 1);
        memcpy(dir, paths[k], pl);
        dir[pl] = 0;
        char *slash = strrchr(dir, '/');
        if (!slash)
            snprintf(dir, sizeof(dir), ".");
        else
            *slash = 0;
        struct stat st;
        if (lstat(paths[k], &st) != 0 || !S_ISREG(st.st_mode) || !realpath(dir, dr))
            continue;
        /* beneath the upload folder only: the dialer's captures are never touched */
        if (strncmp(dr, upr, ul) || (dr[ul] && dr[ul] != '/'))
            continue;
        if (unlink(paths[k]) != 0) {
            snprintf(why, n, "the capture beside the upload could not be deleted: %s",
                     strerror(errno));
            return -1;
        }
        done = 1;
    }
    return done;
}

/* ---- calls already stored (callqa store redact) ---------------------------------------------- */

typedef struct text_cell {
    char *s;
} text_cell;

static int first_text(void *user, const store_val *c, int n)
{
    text_cell *t = user;
    if (n > 0 && c[0].t == SV_TEXT && c[0].s && !t->s)
        t->s = strdup(c[0].s);
    return 1;
}

static int second_text(void *user, const store_val *c, int n)
{
    return n > 1 ? first_text(user, c + 1, n - 1) : 1;
}

static int score_detail(void *user, const store_val *c, int n)
{
    for (int i = 0; i < n; i++)
        if (c[i].name && !strcmp(c[i].name, "detail"))
            return first_text(user, c + i, n - i);
    return 1;
}

/* every string of v through pv_redact_string; *changed when one changed */
static int redact_strings(json_t *v, const pv_settings *s, size_t *counts, bool *changed)
{
    if (json_is_object(v) || json_is_array(v)) {
        const char *k;
        json_t *x;
        size_t i;
        if (json_is_object(v)) {
            json_object_foreach(v, k, x) if (redact_strings(x, s, counts, changed) != 0) return -1;
        } else {
            json_array_foreach(v, i, x) if (redact_strings(x, s, counts, changed) != 0) return -1;
        }
        return 0;
    }
    if (!json_is_string(v))
        return 0;
    char *t = strdup(json_string_value(v));
    if (!t)
        return -1;
    const char *before = json_string_value(v);
    if (pv_redact_string(&t, s, CQ_ROLE_MIXED, counts) != 0) {
        free(t);
        return -1;
    }
    if (strcmp(t, before)) {
        json_string_set(v, t);
        *changed = true;
    }
    free(t);
    return 0;
}

/* The transcript of call_id redacted: 1 rewritten (or would be, dry), 0 nothing to redact or no
 * transcript, -1 with err. */
static int stored_transcript(const pl_redact_plan *p, store *st, int64_t call_id, bool dry,
                             const char *report, size_t *counts, char *err, size_t n)
{
    text_cell det = {0};
    store_val q[1] = {SV_I(call_id)};
    if (store_query(st, SQ_TRANSCRIPT, q, 1, second_text, &det) != 0) {
        snprintf(err, n, "the store could not answer: %s", store_errmsg(st));
        return -1;
    }
    if (!det.s)
        return 0;
    json_t *d = json_loads(det.s, 0, NULL);
    tx_transcript t;
    char why[400];
    int got = json_is_object(d) ? tx_import_stored(det.s, report, &t, why, sizeof(why)) : 1;
    free(det.s);
    if (got != 0) {
        if (got < 0)
            snprintf(err, n, "its transcript could not be read back: %s", why);
        json_decref(d);
        return got < 0 ? -1 : 0;
    }
    int rc = 0;
    pv_redaction r;
    if (pv_redact_transcript(&t, &p->pv, &r) != 0) {
        tx_transcript_free(&t);
        json_decref(d);
        snprintf(err, n, "out of memory");
        return -1;
    }
    size_t hits = 0;
    for (int k = 0; k < PV_N_TYPES; k++)
        hits += r.counts[k], counts[k] += r.counts[k];
    pv_redaction_free(&r);
    if (hits && !dry) {
        /* the original block with the redacted legs' segments, turns and counts in place: its
         * engine, model, chunks and plan stay as the ASR made them */
        char *js = tx_to_json(&t);
        json_t *nb = js ? json_loads(js, 0, NULL) : NULL;
        free(js);
        size_t i;
        json_t *leg;
        json_array_foreach(json_object_get(d, "legs"), i, leg)
        {
            /* the redacted leg of the same speaker (a leg without segments has none there) */
            json_t *nl = NULL, *x;
            size_t k;
            json_array_foreach(json_object_get(nb, "legs"), k, x)
            {
                if (json_equal(json_object_get(x, "speaker"), json_object_get(leg, "speaker")) ||
                    (!json_object_get(leg, "speaker") &&
                     json_equal(json_object_get(x, "role"), json_object_get(leg, "role"))))
                    nl = x;
            }
            if (nl)
                json_object_set(leg, "segments", json_object_get(nl, "segments"));
        }
        json_object_set(d, "turns", json_object_get(nb, "turns"));
        json_object_set(d, "word_count", json_object_get(nb, "word_count"));
        json_decref(nb);
        char *merged = nb ? json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        pl_stored_tx sx;
        if (!merged ||
            pl_stored_tx_from_json(merged, "redacted", call_id, &sx, why, sizeof(why)) != 0) {
            snprintf(err, n, "%s", merged ? why : "out of memory");
            rc = -1;
        } else {
            if (store_transcript_put(st, &sx.t, (double)time(NULL)) != STORE_OK) {
                snprintf(err, n, "the store could not answer: %s", store_errmsg(st));
                rc = -1;
            }
            pl_stored_tx_free(&sx);
        }
        free(merged);
    }
    tx_transcript_free(&t);
    json_decref(d);
    return rc < 0 ? -1 : hits > 0;
}

int pl_redact_stored(const cfg_settings *c, store *st, int64_t call_id, bool dry,
                     pl_stored_redaction *out, char *err, size_t n)
{
    memset(out, 0, sizeof(*out));
    store_call call;
    int got = store_call_get(st, call_id, &call);
    if (got <= 0) {
        snprintf(err, n, got < 0 ? "the store could not answer" : "no such call");
        return -1;
    }
    pl_redact_plan p;
    if (pl_redact_plan_of(c, call.campaign_id, &p) != 0) {
        snprintf(err, n, "the redaction settings are not valid");
        return -1;
    }
    if (!p.on)
        return 0;
    out->redacted = true;
    text_cell rep = {0};
    store_val q[1] = {SV_I(call_id)};
    if (store_query(st, SQ_REPORT, q, 1, first_text, &rep) != 0) {
        snprintf(err, n, "the store could not answer: %s", store_errmsg(st));
        return -1;
    }
    int rc = stored_transcript(&p, st, call_id, dry, rep.s, out->counts, err, n);
    if (rc < 0) {
        free(rep.s);
        return -1;
    }
    out->transcript = rc == 1;
    /* the report: keyed digits masked, and what was done said */
    json_t *r = rep.s ? json_loads(rep.s, 0, NULL) : NULL;
    free(rep.s);
    if (json_is_object(r)) {
        if (pl_redact_mask_report(r, p.pv.types, &out->digits) != 0) {
            json_decref(r);
            snprintf(err, n, "out of memory");
            return -1;
        }
        json_t *ro = json_object();
        json_object_set_new(ro, "types", types_json(p.pv.types));
        json_object_set_new(ro, "counts", counts_json(out->counts));
        json_object_set_new(ro, "digits_masked", json_integer((json_int_t)out->digits));
        json_object_set_new(ro, "applied", json_string("callqa store redact"));
        json_object_set_new(ro, "audio",
                            json_string("no copy: analyse the call again "
                                        "(callqa requeue) for its redacted audio"));
        json_object_set_new(r, "redaction", ro);
        char *js = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(r);
        if (!js || (!dry && store_report_set(st, call_id, js) < 0)) {
            snprintf(err, n, js ? "the store could not answer: %s" : "out of memory",
                     store_errmsg(st));
            free(js);
            return -1;
        }
        free(js);
        out->report = true;
    } else {
        json_decref(r);
    }
    /* the score: its quotes and reasons */
    text_cell sc = {0};
    if (store_query(st, SQ_SCORE, q, 1, score_detail, &sc) != 0) {
        snprintf(err, n, "the store could not answer: %s", store_errmsg(st));
        return -1;
    }
    json_t *d = sc.s ? json_loads(sc.s, 0, NULL) : NULL;
    free(sc.s);
    bool changed = false;
    if (d && redact_strings(d, &p.pv, out->counts, &changed) != 0) {
        json_decref(d);
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (changed) {
        char *js = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!js || (!dry && store_score_detail_set(st, call_id, js) < 0)) {
            snprintf(err, n, js ? "the store could not answer: %s" : "out of memory",
                     store_errmsg(st));
            free(js);
            json_decref(d);
            return -1;
        }
        free(js);
        out->score = true;
    }
    json_decref(d);
    return 1;
}
