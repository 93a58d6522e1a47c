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
 * playback and download (docs/privacy/pipeline.md).
 *
 * This file holds the settings, the one walk, the copy's whole (pl_redact_call) and calls
 * already stored; the copy is written by redact_copy.c, the spans are placed on the audio by
 * redact_place.c, the keyed digits are found and the copy checked by redact_dtmf.c (their
 * shared declarations: redact_int.h).
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

#include "pipeline.h"
#include "redact_int.h"
#include "../store/store_calls.h"
#include "../store/store_query.h"
#include "../store/store_retain.h"

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
                const char *val = json_string_value(x);
                if (pv_masker_add_keyed(m, val, n) != 0)
                    return -1;
                bool wide = false; /* a byte beyond ASCII: a digit of another script, maybe */
                for (size_t i = 0; i < n && !wide; i++)
                    wide = (unsigned char)val[i] >= 0x80;
                /* read as the masker reads it ("４" and "٤" are "4"), so that no symbol written
                 * in another script is left; n bytes as they are when a NUL is inside */
                bool norm = wide && strlen(val) == n;
                char *s = norm ? pv_normalize(val) : malloc(n + 1);
                if (!s)
                    return -1;
                if (norm) {
                    n = strlen(s);
                } else {
                    memcpy(s, val, n);
                    s[n] = 0;
                }
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
        pl__ivl_list all = {0}, iv[2] = {{0}, {0}};
        size_t runs = 0, pauses = 0;
        char why[1400] = "", dir[1040], path[1080], tmp[1100];
        size_t heard = 0, lone = 0;
        pl__lv_map lv = {0};
        int rc = tr && tr->n && !at ? -1 : 0;
        if (rc == 0)
            rc = pl__intervals_of(p, rep, &all, &runs, &pauses);
        if (rc == 0)
            rc = pl__scan_source(src, p->pv.guard_sec, &all, &heard, &lone, why, sizeof(why));
        if (rc == 0 && tr && tr->n)
            rc = pl__levels_of(src, rep, &lv, why, sizeof(why));
        for (size_t i = 0; rc == 0 && tr && i < tr->n; i++) {
            int ch = pl__chan_of(&lv, tx, tr->spans[i].leg);
            pl__place_span(&lv, tx, &tr->spans[i], p->pv.guard_sec, &at[2 * i], &at[2 * i + 1]);
            rc = pl__ivl_add(&iv[ch], at[2 * i], at[2 * i + 1], "span");
            if (rc == 0 && lv.ch == 2)
                rc = pl__other_channel(&lv, ch, 1 - ch, at[2 * i], at[2 * i + 1], &iv[1 - ch]);
        }
        pl__lv_free(&lv);
        for (int ch = 0; ch < 2 && rc == 0; ch++)
            for (size_t i = 0; i < all.n && rc == 0; i++)
                rc = pl__ivl_add(&iv[ch], all.v[i].a, all.v[i].b, all.v[i].why);
        pl__ivl_merge(&iv[0]);
        pl__ivl_merge(&iv[1]);
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
        pl__src_pair sp;
        if (rc == 0)
            rc = pl__write_copy(src, iv, p->audio, fd, &sp, why, sizeof(why));
        if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0) && rc == 0) {
            snprintf(why, sizeof(why), "%s: %s", tmp, strerror(errno));
            rc = -1;
        }
        pl__verify_out v;
        if (rc == 0)
            rc = pl__verify_copy(tmp, iv, p->audio, &v, why, sizeof(why));
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
                rc = pl__ivl_add(&all, iv[ch].v[i].a, iv[ch].v[i].b, iv[ch].v[i].why);
        pl__ivl_merge(&all);
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
                             const json_t *report, size_t *counts, char *err, size_t n)
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
    json_t *r = rep.s ? json_loads(rep.s, 0, NULL) : NULL; /* parsed once, for both */
    free(rep.s);
    int rc = stored_transcript(&p, st, call_id, dry, r, out->counts, err, n);
    if (rc < 0) {
        json_decref(r);
        return -1;
    }
    out->transcript = rc == 1;
    /* the report: keyed digits masked, and what was done said */
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
