/*
 * worker.c - `callqa worker`: jobs from the store, each call analysed in a child process.
 *
 * DESIGN
 * One thread. The loop is the program's one child host (proc_host_run, src/proc/): its queue
 * is the store's jobs, claimed while it has room and is not paused (load, window); each runs in
 * a child, which takes the call through its life (pl__life_run, pl_life.c: the audio found on
 * disk or fetched, analysed, the capture and live events beside it, transcribed, redacted, the
 * roles, the score; a crash there costs one call) and answers what it made. Each turn
 * it renews the leases of the calls in flight every third of a lease, and writes each result under
 * its lease: the analysis with the state it leads to in one transaction, then the stages that are
 * not configured (transcription, scoring) passed through one state change each. The analysis asks
 * the engine for each leg's level envelope (PL_ENVELOPE_MS); the parent takes it out of the report
 * and stores it beside the analysis, in the same transaction (call_envelopes: the dashboard's
 * timeline reads it, GET /api/qa/call/{id}/envelope), so that the stored report stays the size
 * it was. A write refused because the
 * lease moved on drops the result: another worker has the call. On SIGTERM it stops claiming,
 * gives the calls in flight stop_grace_sec to finish, and releases the rest. The worker's row
 * in the store says what it does and why it pauses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../access/access.h"
#include "../clients/asr.h"
#include "../proc/proc.h"
#include "callqa/cq_clock.h"
#include "pl_int.h"
#include "../store/store_calls.h"
#include "../store/store_jobs.h"
#include "../store/store_query.h"
#include "../store/store_retain.h"

static volatile sig_atomic_t g_stop;

#define PL_ENVELOPE_MS 50 /* the level envelope's step the analysis is asked for */

/* The level envelope out of a report: each leg's "envelope" object removed; *legs (malloc'd)
 * {leg: [tenths of a dB FS]} and *step_sec (seconds), or *legs NULL when the report has none.
 * Returns the report without it (malloc'd), or NULL when the report is not JSON. */
static char *envelope_split(const char *report, size_t len, char **legs, double *step_sec)
{
    *legs = NULL;
    *step_sec = 0;
    json_t *r = json_loadb(report, len, 0, NULL);
    if (!json_is_object(r)) {
        json_decref(r);
        return NULL;
    }
    json_t *out = json_object();
    static const char *const names[2] = {"inbound", "outbound"};
    for (int i = 0; i < 2; i++) {
        json_t *leg = json_object_get(r, names[i]);
        json_t *env = json_object_get(leg, "envelope");
        json_t *db = json_object_get(env, "dbfs");
        double step = json_number_value(json_object_get(env, "step_sec"));
        if (json_is_array(db) && step > 0) {
            json_t *tenths = json_array();
            size_t k;
            json_t *v;
            json_array_foreach(db, k, v)
                json_array_append_new(tenths, json_integer(lround(json_number_value(v) * 10)));
            json_object_set_new(out, names[i], tenths);
            *step_sec = step;
        }
        if (env)
            json_object_del(leg, "envelope");
    }
    char *js = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (js && json_object_size(out) && !(*legs = json_dumps(out, JSON_COMPACT))) {
        free(js);
        js = NULL;
    }
    json_decref(out);
    json_decref(r);
    return js;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void pl_kill_point(const char *name)
{
    const char *at = cfg_test_hook("KILL_AT");
    if (at && !strcmp(at, name)) {
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"kill point\",\"at\":\"%s\"}\n", name);
        fflush(stderr);
        raise(SIGKILL);
    }
    /* the fencing test: stopped here (SIGSTOP) until the test continues it, once */
    const char *stop = cfg_test_hook("STOP_AT");
    static bool stopped;
    if (stop && !stopped && !strcmp(stop, name)) {
        stopped = true;
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stop point\",\"at\":\"%s\"}\n", name);
        fflush(stderr);
        raise(SIGSTOP);
    }
}

void pl_worker_defaults(pl_worker_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->db, sizeof(c->db), "callqa.db");
    c->jobs = 1;
    c->lease_sec = 60;
    c->max_retries = 3;
    c->backoff_sec = 30;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->max_load = 2.0 * (double)(cpus > 0 ? cpus : 1);
    c->idle = true;
    c->analysis_timeout_sec = 900;
    c->stop_grace_sec = 30;
    cfg_defaults(&c->svc);
}

/* ---- figures ------------------------------------------------------------------------------- */

void pl_figures_of(const cq_report *r, store_figures *f)
{
    memset(f, 0, sizeof(*f));
    f->duration_sec = r->duration_sec;
    f->legs = r->outbound ? 2 : 1;
    const cq_leg_report *L[2] = {r->inbound, r->outbound};
    for (int l = 0; l < 2; l++) {
        f->speech_pct[l] = L[l] && L[l]->has_vad ? L[l]->speech_pct : -1;
        f->talk_sec[l] = r->has_conversation && L[l] ? r->conversation.leg[l].talk_sec : -1;
    }
    f->one_way = r->has_conversation ? r->conversation.one_way : -1;
    f->dead_air_sec = r->has_conversation ? r->conversation.dead_air_sec : -1;
    f->overtalk_sec = r->has_conversation && r->outbound ? r->conversation.overtalk_sec : -1;
    f->hold_sec = r->has_call_events ? r->call_events.hold_total_sec : -1;
    f->hold_count = r->has_call_events ? r->call_events.hold_count : 0;
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; L[l] && i < L[l]->n_events; i++) {
            cq_event_type t = L[l]->events[i].type;
            f->dtmf_count += t == CQ_EV_DTMF;
            f->tone_count +=
                t == CQ_EV_RINGBACK || t == CQ_EV_BUSY || t == CQ_EV_SIT || t == CQ_EV_FAX;
        }
    /* the dashboard's badges: the worst leg's clipping, and the quietest level of a leg that
     * talked (5 % speech or more): its P.56 active speech level, else its RMS level */
    for (int l = 0; l < 2; l++) {
        if (!L[l])
            continue;
        if (L[l]->has_clipping_pct && (!f->has_clipping || L[l]->clipping_pct > f->clipping_pct))
            f->has_clipping = true, f->clipping_pct = L[l]->clipping_pct;
        const cq_level_result *lv = &L[l]->level;
        bool lvl = L[l]->has_level && L[l]->has_vad && L[l]->speech_pct >= 5 &&
                   (lv->has_active_level || lv->has_rms);
        double db = lv->has_active_level ? lv->active_level_db : lv->rms_db;
        if (lvl && (!f->has_level || db < f->level_db))
            f->has_level = true, f->level_db = db;
    }
    /* the worse leg's dropouts per minute of speech, of the legs with speech to count them in */
    for (int l = 0; l < 2; l++)
        if (L[l] && L[l]->has_quality && L[l]->quality.speech_sec > 0 &&
            (!f->has_dropouts || L[l]->quality.dropouts_per_min > f->dropouts_per_min)) {
            f->has_dropouts = true;
            f->dropouts_per_min = L[l]->quality.dropouts_per_min;
        }
    f->net_mos = NAN; /* a capture beside the recording sets it (network.c) */
    /* the legs' MOS with its model, never a mix of two models (cq_report_mos) */
    const char *mm = cq_report_mos(r, f->mos);
    if (mm && (!isnan(f->mos[0]) || !isnan(f->mos[1])))
        snprintf(f->mos_model, sizeof(f->mos_model), "%s", mm);
    size_t k = 0;
    for (size_t i = 0; i < r->n_warnings && k < sizeof(f->warning_codes); i++)
        k += (size_t)snprintf(f->warning_codes + k, sizeof(f->warning_codes) - k, "%s%s",
                              k ? "," : "", r->warnings[i].code);
}

/* ---- in the child: find the audio, analyse it --------------------------------------------- */

/* Whether a pause mark sent under `scope` (access.h's text; NULL: a sender who sees every call,
 * or a mark from before senders were kept) applies to the call (a store_call): only a sender
 * whose scope holds the call may mute it (POST /api/qa/marks refuses a stored call outside it;
 * a call stored later is checked here). */
static bool mark_applies(void *user, const char *scope)
{
    const store_call *call = user;
    if (!scope)
        return true;
    acc_scope sc;
    char why[160];
    acc_role role = strncmp(scope, "agent:", 6) ? ACC_ROLE_SUPERVISOR : ACC_ROLE_AGENT;
    return acc_scope_parse(scope, role, NULL, &sc, why, sizeof(why)) == 0 &&
           acc_scope_allows(&sc, call->agent_user, call->campaign_id);
}

typedef struct job_arg {
    const cq_engine *e;
    const pl_worker_config *c;
    const char *engine_id;
    const asr_config *asr;     /* NULL: transcription is not configured */
    const pl_scoring *scoring; /* NULL: scoring is off */
    llm_budget budget;         /* the LLM's use today and the caps */
    const rec_roots *roots;    /* the folders recordings are read from */
    store_call call;
    store_mark marks[PL_MAX_MARKS]; /* its pause and resume marks (redaction) */
    int n_marks;   /* those that apply (over PL_MAX_MARKS: not all placed); -1: not read */
    bool profiles; /* its campaign has agents' voice profiles on */
    bool has_prof; /* prof is the call's agent's profile */
    store_voice_profile prof;
    char *imported; /* without an ASR, the call's imported transcript (its stored block), or
                       NULL: it is used in place of transcription, checked against this analysis */
} job_arg;

/* The child's answer, from its call's life (done: it ran to its end): the outcome, the figures,
 * a message, the report, then the transcript (PL__TX_OK and the block, PL__TX_FAILED and why, or
 * PL__TX_NONE), then the score (the same three), then the LLM's attempts (a JSON array, or
 * empty), then the agent leg's voice print for the agent's profile ({v, speech_sec}, or empty),
 * then the name of the HEP collector's capture the report's `network` was read from (in hep_dir;
 * or empty). */
static void answer(int fd, const pl__life_out *o, bool done)
{
    int32_t outcome = done ? PL__OUT_DONE : o->outcome;
    store_figures none;
    const store_figures *f = &o->f;
    if (!o->has_f) {
        memset(&none, 0, sizeof(none));
        f = &none;
    }
    const char *json = o->res.report;
    if (proc_write_all(fd, &outcome, sizeof(outcome)) || proc_write_all(fd, f, sizeof(*f)) ||
        proc_write_str(fd, done ? NULL : o->msg) ||
        proc_write_blob(fd, json, json ? strlen(json) : 0) ||
        proc_write_all(fd, &o->tx, sizeof(o->tx)) ||
        proc_write_str(fd, o->tx_text ? o->tx_text : o->tx_why) ||
        proc_write_all(fd, &o->sc, sizeof(o->sc)) ||
        proc_write_str(fd, o->score ? o->score : o->sc_why) || proc_write_str(fd, o->attempts) ||
        proc_write_str(fd, o->print) || proc_write_str(fd, o->hep_file))
        proc_exit(3);
}

/* The call's life (pl__life_run) with every step of a stored call: the analysis here, the
 * capture and live events beside it, the transcript, the redaction, the roles, the score; the
 * parent stores what it answers under the lease. */
static void analyse_in_child(void *arg, int fd)
{
    const job_arg *j = arg;
    const pl_worker_config *c = j->c;
    const char *crash = cfg_test_hook("CRASH_ON"); /* fault injection for the tests */
    if (crash && *crash && strstr(j->call.audio, crash))
        raise(SIGSEGV);
    pl__life l = {.steps = PL_STEP_NETWORK | PL_STEP_LIVE | PL_STEP_REDACT | PL_STEP_ROLES |
                           (j->asr || j->imported ? PL_STEP_TRANSCRIBE : 0) |
                           (j->scoring ? PL_STEP_SCORE : 0),
                  .c = &c->svc,
                  .call = &j->call,
                  .recordings_dir = c->recordings_dir,
                  .roots = j->roots,
                  .e = j->e,
                  .min_length_sec = c->min_length_sec,
                  .db = c->db,
                  .marks = j->marks,
                  .n_marks = j->n_marks,
                  .asr = j->asr,
                  .imported = j->imported,
                  .scoring = j->scoring,
                  .budget = &j->budget,
                  .profiles = j->profiles,
                  .prof = j->has_prof ? &j->prof : NULL};
    pl__life_out o;
    answer(fd, &o, pl__life_run(&l, &o) == 0);
    pl__life_out_free(&o);
}

/* ---- the parent ---------------------------------------------------------------------------- */

typedef struct wslot {
    bool busy;
    uint64_t tag; /* its child's, unique in the run: a killed child's ending names no other */
    store_lease lease;
    job_arg arg;
    double renewed;
} wslot;

typedef struct worker {
    const pl_worker_config *c;
    rec_roots *roots;
    store *st;
    cq_engine *engine;
    char engine_id[32];
    cq_engine *engine_vp; /* the same with voice prints: calls of voice_profile_campaigns */
    char engine_vp_id[32];
    proc_host *host;   /* while the loop runs */
    uint64_t tags;     /* the last child's tag */
    double stop_until; /* stopping: when the calls still in flight are given back */
    wslot *slots;
    store_worker row;
    double last_beat;
    asr_config asr; /* transcription, when asr_on */
    bool asr_on;
    char asr_hash[65];
    pl_scoring scoring; /* scoring.on: the scoring stage runs */
    char why[160];      /* why it does not claim now ("" when it may) */
} worker;

/* One JSON log line; detail is already a JSON value (or NULL). */
static void logj(const char *level, const char *msg, int64_t call, const char *detail)
{
    fprintf(stderr, "{\"ts\":%.3f,\"level\":\"%s\",\"msg\":\"%s\",\"call\":%lld%s%s}\n",
            cq_clock_wall_sec(), level, msg, (long long)call, detail ? ",\"detail\":" : "",
            detail ? detail : "");
}

/* detail as a JSON string into buf */
static const char *jstr(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    if (n < 3)
        return "\"\"";
    buf[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 7 < n; p++) {
        if (*p == '"' || *p == '\\')
            buf[k++] = '\\', buf[k++] = (char)*p;
        else if (*p < 0x20)
            k += (size_t)snprintf(buf + k, n - k, "\\u%04x", *p);
        else
            buf[k++] = (char)*p;
    }
    buf[k++] = '"';
    buf[k] = 0;
    return buf;
}

static void beat(worker *w, const char *state, const char *reason, bool force)
{
    double now = cq_clock_wall_sec();
    bool changed = strcmp(w->row.state, state) || strcmp(w->row.pause_reason, reason);
    if (!force && !changed && now - w->last_beat < 5)
        return;
    if (changed && !strcmp(state, "paused")) {
        logj("info", "paused", 0, reason[0] ? jstr(reason, (char[256]){0}, 256) : NULL);
        char why[32], lab[64], was[32];
        store_reason_class(reason, why);
        store_reason_class(w->row.pause_reason, was);
        snprintf(lab, sizeof(lab), "reason=\"%s\"", why);
        if ((strcmp(w->row.state, "paused") || strcmp(why, was)) &&
            store_counter_add(w->st, "qa_worker_pauses_total", lab, 1) != 0)
            logj("warn", "the store refused a counter", 0, NULL);
    }
    snprintf(w->row.state, sizeof(w->row.state), "%s", state);
    snprintf(w->row.pause_reason, sizeof(w->row.pause_reason), "%s", reason);
    w->row.heartbeat = now;
    w->row.current_call = 0;
    for (int i = 0; i < w->c->jobs; i++)
        if (w->slots[i].busy)
            w->row.current_call = w->slots[i].lease.call_id;
    if (store_worker_put(w->st, &w->row) != 0)
        logj("warn", "the store refused the worker's heartbeat", 0, NULL);
    w->last_beat = now;
}

/* Why the worker should not start a call now ("" when it may). */
static void pause_reason(const worker *w, char *why, size_t n)
{
    why[0] = 0;
    const pl_worker_config *c = w->c;
    if (c->max_load > 0) {
        double l = pl_load_avg();
        if (l > c->max_load) {
            snprintf(why, n, "load: %.2f above %.2f", l, c->max_load);
            return;
        }
    }
    if (pl_in_window(c->window, c->tz, time(NULL)) == 0)
        snprintf(why, n, "window: outside %s", c->window);
}

/* The result of a stage that fails: retried or `error`, as the kind says. */
static void fail(worker *w, wslot *s, const char *stage, const char *msg, bool retryable)
{
    char d[600];
    int rc = store_job_fail(w->st, &s->lease, stage, msg, retryable, w->c->max_retries,
                            w->c->backoff_sec, cq_clock_wall_sec());
    logj(rc == STORE_OK ? "warn" : "error",
         rc == STORE_FENCED ? "lease lost: the failure is not recorded" : "stage failed",
         s->lease.call_id, jstr(msg, d, sizeof(d)));
}

/* After the analysis (and the transcript), from wherever the job stands: up to `scoring`,
 * each a state change of its own (no transcription: it passes through as not_configured). */
static int to_scoring(worker *w, wslot *s)
{
    int rc = STORE_OK;
    pl_kill_point("transcribing");
    if (s->lease.state <= JOB_TRANSCRIBING)
        rc = store_job_advance(w->st, &s->lease, JOB_TRANSCRIBED, "transcribe", "not_configured",
                               cq_clock_wall_sec());
    if (rc == STORE_OK && s->lease.state <= JOB_TRANSCRIBED)
        rc = store_job_advance(w->st, &s->lease, JOB_SCORING, NULL, NULL, cq_clock_wall_sec());
    pl_kill_point("scoring");
    return rc;
}

#define STORE_STAGE_FAILED 100 /* the stage failed, and the failure is recorded */

/* The scoring stage: the child's result stored under the lease with `complete`, or (scoring
 * off) a pass-through as not_configured. */
static int scored(worker *w, wslot *s, int32_t sc, const char *text)
{
    int rc = to_scoring(w, s);
    if (rc != STORE_OK)
        return rc;
    if (!w->scoring.on || sc == PL__TX_NONE)
        return store_job_advance(w->st, &s->lease, JOB_COMPLETE, "score", "not_configured",
                                 cq_clock_wall_sec());
    char why[900];
    pl_stored_score ss;
    if (sc != PL__TX_OK || pl_stored_score_from_json(text, &ss, why, sizeof(why)) != 0) {
        if (sc != PL__TX_OK)
            snprintf(why, sizeof(why), "scoring: %s", text && *text ? text : "failed");
        fail(w, s, "scoring", why, true);
        return STORE_STAGE_FAILED;
    }
    rc = store_job_scored(w->st, &s->lease, &ss.s, cq_clock_wall_sec());
    pl_stored_score_free(&ss);
    return rc;
}

/* The LLM's attempts of a call's scoring into the store and its counters: the tokens were
 * spent whatever became of the score. */
static void record_llm(worker *w, int64_t call, const char *attempts)
{
    if (pl_record_llm(w->st, call, "score", attempts) != 0)
        logj("warn", "the store refused an LLM request's record", call, NULL);
}

/* How long a child may run: the analysis's limit; with transcription twice the worst case of
 * one request (its timeout, each attempt) on top; with an LLM the worst case of its call (each
 * attempt, the repair turn, the fallback) (docs/pipeline.md). */
static double child_limit(const worker *w)
{
    double t = w->c->analysis_timeout_sec;
    if (w->asr_on)
        t += 2 * w->asr.timeout_sec * (w->asr.retries + 1);
    if (w->scoring.llm_on) {
        const llm_config *l = &w->scoring.llm;
        t += 2 * l->primary.timeout_sec * (l->primary.retries + 1);
        if (l->has_fallback)
            t += 2 * l->fallback.timeout_sec * (l->fallback.retries + 1);
    }
    return t;
}

/* Today's LLM use (the store's count, local date) and the caps, for a child about to start. */
static llm_budget budget_now(worker *w)
{
    llm_budget b = {0};
    if (w->scoring.llm_on && llm_budget_today(&w->c->svc, w->st, cq_clock_wall_sec(), &b) != 0)
        logj("warn", "the store could not count today's LLM use", 0, NULL);
    return b;
}

/* The row's detail when its transcript was imported (engine "import"), into *user. */
static int imported_row(void *user, const store_val *c, int n)
{
    char **out = user;
    for (int i = 0; i < n && !*out; i++) {
        if (!c[i].name || strcmp(c[i].name, "detail") || c[i].t != SV_TEXT || !c[i].s)
            continue;
        json_t *d = json_loads(c[i].s, 0, NULL);
        const char *eng = json_string_value(json_object_get(d, "engine"));
        if (eng && !strcmp(eng, "import"))
            *out = strdup(c[i].s);
        json_decref(d);
    }
    return 1;
}

/* The claimed call's imported transcript into s->arg.imported (NULL: none, or one of an ASR).
 * 0, or -1 when the store could not answer. */
static int imported_of(worker *w, wslot *s)
{
    store_val q[1] = {SV_I(s->lease.call_id)};
    s->arg.imported = NULL;
    if (store_query(w->st, SQ_TRANSCRIPT, q, 1, imported_row, &s->arg.imported) != 0) {
        char msg[1200];
        logj("error", "the store could not read a call's transcript", s->lease.call_id,
             jstr(store_errmsg(w->st), msg, sizeof(msg)));
        return -1;
    }
    return 0;
}

/* The transcription's result under the lease: the transcript and `transcribed`, or the stage's
 * failure (retried, then `error` with error_stage transcribing; the analysis is kept). */
static int transcribed(worker *w, wslot *s, int32_t tx, const char *text)
{
    pl_kill_point("transcribing");
    if (tx != PL__TX_OK) {
        char why[900];
        snprintf(why, sizeof(why), "transcription: %s", text && *text ? text : "failed");
        fail(w, s, "transcribing", why, true);
        return STORE_STAGE_FAILED;
    }
    pl_stored_tx st;
    char err[300];
    const char *hash = s->arg.imported ? "import" : w->asr_hash; /* as `transcript import` */
    if (pl_stored_tx_from_json(text, hash, s->lease.call_id, &st, err, sizeof(err)) != 0) {
        fail(w, s, "transcribing", err, true);
        return STORE_STAGE_FAILED;
    }
    int rc = store_job_transcribed(w->st, &s->lease, &st.t, cq_clock_wall_sec());
    pl_stored_tx_free(&st);
    return rc;
}

/* A complete call's agent-leg print (the child's {v, speech_sec}) added to its agent's voice
 * profile in its campaign. The log names the agent and the calls, never the print. */
static void profile_add(worker *w, const wslot *s, const char *print)
{
    const store_call *c = &s->arg.call;
    json_t *p = json_loads(print, 0, NULL);
    const json_t *a = json_object_get(p, "v");
    double v[STORE_VP_MAX_DIM];
    int dim = 0;
    for (size_t i = 0; i < json_array_size(a) && dim < STORE_VP_MAX_DIM; i++)
        v[dim++] = json_number_value(json_array_get(a, i));
    double sp = json_number_value(json_object_get(p, "speech_sec"));
    json_decref(p);
    int64_t calls = 0;
    char d[400], a1[140], a2[140];
    if (store_voice_profile_add(w->st, c->agent_user, c->campaign_id, v, dim, sp,
                                cq_clock_wall_sec(), &calls) != 0) {
        logj("warn", "the store refused a voice profile's update", c->id,
             jstr(store_errmsg(w->st), d, sizeof(d)));
        return;
    }
    snprintf(d, sizeof(d), "{\"agent\":%s,\"campaign\":%s,\"calls\":%lld}",
             jstr(c->agent_user, a1, sizeof(a1)), jstr(c->campaign_id, a2, sizeof(a2)),
             (long long)calls);
    logj("info", "voice profile updated", c->id, d);
}

/* The HEP collector's capture the child read the call's `network` from (its name in hep_dir),
 * recorded with the call before the report that names it is stored: the purge and the erasure
 * of the call then delete it whatever folders their settings name (docs/deletion.md). The name
 * is checked to be one of the collector's, in hep_dir (a child's answer names no other path).
 * 0, or -1 (the store refused: the analysis is retried). */
static int hep_recorded(worker *w, int64_t call, const char *name)
{
    char path[1200], d[700];
    struct stat sb;
    if (!name || !*name)
        return 0;
    if (pl_hep_capture_path(w->c->svc.hep_dir, name, path, sizeof(path)) != 0 ||
        lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        logj("warn", "the HEP capture of the call's report is not a file of hep_dir: not recorded",
             call, jstr(name, d, sizeof(d)));
        return 0;
    }
    if (store_file_record(w->st, call, STORE_FILE_CAPTURE, path, cq_clock_wall_sec()) != 0) {
        logj("error", "the store could not record the call's HEP capture", call,
             jstr(store_errmsg(w->st), d, sizeof(d)));
        return -1;
    }
    return 0;
}

/* A child ended: its answer (or how it died) into the store. */
static void finish(void *ctx, const proc_done *d)
{
    worker *w = ctx;
    wslot *s = NULL;
    for (int i = 0; i < w->c->jobs && !s; i++)
        if (w->slots[i].busy && w->slots[i].tag == d->tag)
            s = &w->slots[i];
    if (!s) /* killed: its lease was lost, or given back at shutdown */
        return;
    s->busy = false;
    int64_t call = s->lease.call_id;
    char buf[800], why[160];
    if (d->outcome != PROC_DONE) {
        proc_done_why(d, child_limit(w), why, sizeof(why));
        if (d->outcome == PROC_TIMEOUT)
            snprintf(buf, sizeof(buf), "timeout: the analysis%s%s %s",
                     w->asr_on ? " and transcription" : "",
                     w->scoring.llm_on ? " and the LLM's scoring" : "", why);
        else if (d->outcome == PROC_NOT_STARTED)
            snprintf(buf, sizeof(buf), "spawn: the analysis process %s", why);
        else
            snprintf(buf, sizeof(buf), "crashed: the analysis process %s", why);
        /* a runaway analysis is not retried; with transcription or an LLM, a slow server may
         * be why */
        fail(w, s, "analyse", buf, d->outcome != PROC_TIMEOUT || w->asr_on || w->scoring.llm_on);
        return;
    }
    /* the outcome, the figures, the message, the report (p, jl bytes), the transcript's outcome
     * and text, the score's outcome and text, the LLM's attempts */
    proc_reader rd = proc_reader_of(d->data, d->len);
    int32_t outcome, tx, sc;
    store_figures f;
    size_t jl;
    proc_read_val(&rd, &outcome, sizeof(outcome));
    proc_read_val(&rd, &f, sizeof(f));
    char *msg = proc_read_str(&rd);
    const char *p = proc_read_blob(&rd, &jl);
    proc_read_val(&rd, &tx, sizeof(tx));
    char *tx_text = proc_read_str(&rd);
    proc_read_val(&rd, &sc, sizeof(sc));
    char *score_text = proc_read_str(&rd);
    char *attempts = proc_read_str(&rd);
    char *print = proc_read_str(&rd);
    char *hep_file = proc_read_str(&rd);
    if (proc_reader_end(&rd) != 0) {
        free(msg);
        free(tx_text);
        free(score_text);
        free(attempts);
        free(print);
        free(hep_file);
        fail(w, s, "analyse", "crashed: the analysis process sent a truncated answer", true);
        return;
    }
    record_llm(w, call, attempts);
    pl_kill_point("analysed");
    int rc = STORE_OK;
    if (outcome == PL__OUT_DONE && !strcmp(f.redaction, "failed"))
        logj("warn",
             "the call failed its redaction check: its audio is held back (the report's "
             "redaction.verify says why)",
             call, NULL);
    bool hep_ok = outcome != PL__OUT_DONE || hep_recorded(w, call, hep_file) == 0;
    free(hep_file);
    if (!hep_ok) {
        fail(w, s, "analyse", "store: the call's HEP capture could not be recorded", true);
    } else if (outcome == PL__OUT_DONE) {
        store_envelope env = {.call_id = call};
        char *js = envelope_split(p, (size_t)jl, &env.legs, &env.step_sec);
        if (!js) { /* not JSON: stored as it came, without an envelope */
            logj("warn", "the report is not JSON: stored without its level envelope", call, NULL);
            js = strndup(p, (size_t)jl);
        }
        rc = js ? store_job_analysed_env(w->st, &s->lease, s->arg.engine_id, js, &f,
                                         env.legs ? &env : NULL, JOB_TRANSCRIBING,
                                         cq_clock_wall_sec())
                : STORE_ERR;
        free(env.legs);
        free(js);
        if (rc == STORE_OK && tx != PL__TX_NONE)
            rc = transcribed(w, s, tx, tx_text);
        if (rc == STORE_OK)
            rc = scored(w, s, sc, score_text);
        if (rc == STORE_STAGE_FAILED) {
            free(msg);
            free(tx_text);
            free(score_text);
            free(attempts);
            free(print);
            return;
        }
        if (rc == STORE_OK) {
            w->row.jobs_done++;
            logj("info", "complete", call, NULL);
            if (print && *print)
                profile_add(w, s, print);
        }
    } else if (outcome == PL__OUT_SKIP) {
        rc = store_job_skip(w->st, &s->lease, msg ? msg : "skipped", cq_clock_wall_sec());
        logj("info", "skipped", call, msg ? jstr(msg, buf, sizeof(buf)) : NULL);
    } else {
        fail(w, s, "analyse", msg ? msg : "other: the analysis failed", outcome == PL__OUT_RETRY);
    }
    if (rc == STORE_FENCED)
        logj("warn", "lease lost: the result is dropped (another worker has the call)", call, NULL);
    else if (rc == STORE_ERR)
        logj("error", "the store refused a result", call,
             jstr(store_errmsg(w->st), buf, sizeof(buf)));
    free(msg);
    free(tx_text);
    free(score_text);
    free(attempts);
    free(print);
}

static int busy_count(const worker *w)
{
    int n = 0;
    for (int i = 0; i < w->c->jobs; i++)
        n += w->slots[i].busy;
    return n;
}

/* The child host's queue: the next call claimed from the store that needs a child (a call a
 * claim can finish without one is finished here); none while paused or stopping. In --once
 * runs, the queue is drained when nothing can be claimed and nothing runs. */
static proc_next next_call(void *ctx, proc_task *t)
{
    worker *w = ctx;
    const pl_worker_config *c = w->c;
    if (g_stop)
        return PROC_NEXT_DRAINED;
    int busy = busy_count(w);
    if (w->why[0]) {
        if (c->once && !busy && !strncmp(w->why, "window: ", 8)) {
            logj("info", "outside the window: nothing done", 0, NULL);
            return PROC_NEXT_DRAINED; /* a run from cron outside the window does nothing */
        }
        return PROC_NEXT_WAIT;
    }
    wslot *s = NULL;
    for (int i = 0; i < c->jobs && !s; i++)
        if (!w->slots[i].busy)
            s = &w->slots[i];
    while (s && !g_stop) {
        int got = store_job_claim(w->st, w->row.id, cq_clock_wall_sec(), c->lease_sec, &s->lease);
        if (got <= 0) {
            if (got < 0) {
                char msg[1200];
                logj("error", "the store refused a claim", 0,
                     jstr(store_errmsg(w->st), msg, sizeof(msg)));
            }
            break;
        }
        pl_kill_point("claimed");
        rec_roots_load(w->roots, &c->svc, c->recordings_dir, w->st); /* registered since? */
        free(s->arg.imported);
        s->arg = (job_arg){.e = w->engine,
                           .c = c,
                           .engine_id = w->engine_id,
                           .asr = w->asr_on ? &w->asr : NULL,
                           .scoring = w->scoring.on ? &w->scoring : NULL,
                           .budget = budget_now(w),
                           .roots = w->roots};
        if (store_call_get(w->st, s->lease.call_id, &s->arg.call) != 1) {
            fail(w, s, "analyse", "store: the call's row could not be read", true);
            continue;
        }
        /* agents' voice profiles: the analysis with prints, and the agent's profile to compare */
        s->arg.profiles = w->engine_vp && pl_profile_campaign(&c->svc, s->arg.call.campaign_id);
        if (s->arg.profiles) {
            s->arg.e = w->engine_vp;
            s->arg.engine_id = w->engine_vp_id;
            int g = s->arg.call.agent_user[0]
                        ? store_voice_profile_get(w->st, s->arg.call.agent_user,
                                                  s->arg.call.campaign_id, &s->arg.prof)
                        : 0;
            s->arg.has_prof = g == 1;
            if (g < 0)
                logj("warn", "the agent's voice profile could not be read", s->lease.call_id, NULL);
        }
        s->arg.n_marks =
            pl_redact_any(&c->svc)
                ? store_marks_get(w->st, s->arg.call.recording_id, s->arg.call.uniqueid,
                                  mark_applies, &s->arg.call, s->arg.marks, PL_MAX_MARKS)
                : 0;
        if (!w->asr_on && imported_of(w, s) != 0) {
            fail(w, s, "analyse", "store: the call's transcript could not be read", true);
            continue;
        }
        if (s->lease.retry_count > c->max_retries) {
            char m[160];
            snprintf(m, sizeof(m), "lost: the call was lost by %d workers (crashes or kills)",
                     s->lease.retry_count);
            fail(w, s, "analyse", m, false);
            continue;
        }
        /* analysed before (a crash, or a stage that failed): the rest of it; a transcription
         * or a score to make needs the analysis (and the speech audio) again, so the child
         * analyses the call once more */
        if (s->lease.state != JOB_ANALYSING &&
            !((w->asr_on || s->arg.imported) && s->lease.state <= JOB_TRANSCRIBING) &&
            !(w->scoring.on && s->lease.state <= JOB_SCORING)) {
            if (scored(w, s, PL__TX_NONE, NULL) == STORE_OK)
                w->row.jobs_done++;
            else
                logj("warn", "could not finish a call taken back", s->lease.call_id, NULL);
            continue;
        }
        s->busy = true;
        s->tag = ++w->tags;
        s->renewed = cq_clock_wall_sec();
        *t = (proc_task){.tag = s->tag, .fn = analyse_in_child, .arg = &s->arg};
        return PROC_NEXT_TASK;
    }
    if (g_stop)
        return PROC_NEXT_DRAINED;
    return c->once && !busy ? PROC_NEXT_DRAINED : PROC_NEXT_WAIT;
}

/* Renew the leases in flight; a lost one kills its child (its result would be refused). */
static void renew(worker *w)
{
    double now = cq_clock_wall_sec();
    for (int i = 0; i < w->c->jobs; i++) {
        wslot *s = &w->slots[i];
        if (!s->busy || now - s->renewed < w->c->lease_sec / 3)
            continue;
        int rc = store_job_renew(w->st, &s->lease, now, w->c->lease_sec);
        if (rc == STORE_OK) {
            s->renewed = now;
        } else if (rc == STORE_FENCED) {
            logj("warn", "lease lost: the call is dropped", s->lease.call_id, NULL);
            proc_host_kill(w->host, s->tag);
            s->busy = false;
        }
    }
}

/* Each turn of the child host: the embedding's tick, the pause and the heartbeat, the leases;
 * stopping, the calls still in flight past stop_grace_sec are given back. The longest wait
 * before the next turn. */
static int turn(void *ctx, proc_host *h)
{
    worker *w = ctx;
    const pl_worker_config *c = w->c;
    w->host = h;
    if (c->tick)
        c->tick(c->tick_arg);
    if (!g_stop) {
        pause_reason(w, w->why, sizeof(w->why));
        beat(w, w->why[0] ? "paused" : "running", w->why, false);
    } else {
        /* stopping: the calls in flight finish within the grace, the rest are given back */
        if (w->stop_until == 0)
            w->stop_until = cq_clock_wall_sec() + c->stop_grace_sec;
        if (cq_clock_wall_sec() >= w->stop_until)
            for (int i = 0; i < c->jobs; i++)
                if (w->slots[i].busy) {
                    proc_host_kill(h, w->slots[i].tag);
                    store_job_release(w->st, &w->slots[i].lease, cq_clock_wall_sec());
                    logj("info", "released at shutdown", w->slots[i].lease.call_id, NULL);
                    w->slots[i].busy = false;
                }
    }
    renew(w);
    return g_stop ? 500 : busy_count(w) ? 1000 : c->once ? 200 : 2000;
}

int pl_worker_run(const pl_worker_config *c)
{
    if (c->jobs < 1 || c->jobs > 64 || !(c->lease_sec >= 3) ||
        pl_in_window(c->window, c->tz, 0) < 0) {
        fprintf(stderr, "callqa worker: bad settings (jobs 1-64, lease_sec >= 3, window "
                        "HH:MM-HH:MM)\n");
        return 2;
    }
    char note[256];
    if (pl_safety_apply(c->idle, c->cpus, note, sizeof(note)) != 0) {
        fprintf(stderr, "callqa worker: %s\n", note);
        return 2;
    }
    worker w = {.c = c};
    char msg[1200];
    if (!(w.roots = malloc(sizeof(*w.roots)))) {
        fprintf(stderr, "callqa worker: out of memory\n");
        return 1;
    }
    if (!(w.st = store_open(c->db, msg, sizeof(msg)))) {
        fprintf(stderr, "callqa worker: store: %s\n", msg);
        free(w.roots);
        return 1;
    }
    cq_engine_params ep;
    char dir[4096];
    pl__engine_params(&c->svc, c->analyzers, &ep, dir, sizeof(dir));
    if (!ep.envelope_ms)
        ep.envelope_ms = PL_ENVELOPE_MS; /* for the dashboard's timeline */
    w.asr_on = asr_config_from_settings(&c->svc, &w.asr) == 1;
    if (w.asr_on) { /* the speech and the events to leave out, from the analysis itself */
        asr_client *probe = asr_create(&w.asr, msg, sizeof(msg));
        if (!probe) {
            fprintf(stderr, "callqa worker: transcription: %s\n", msg);
            store_close(w.st);
            free(w.roots);
            return 2;
        }
        asr_destroy(probe);
        asr_config_hash(&w.asr, w.asr_hash);
        /* the diarization: a mono mix's two speakers are transcribed apart */
        ep.analyzers |= CQ_AN_SPEECH_AUDIO | CQ_AN_EVENTS | CQ_AN_DIARIZE;
    }
    if (pl_redact_check(&c->svc, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa worker: %s\n", msg);
        store_close(w.st);
        free(w.roots);
        return 2;
    }
    if (pl_redact_any(&c->svc) && ep.analyzers)
        ep.analyzers |= CQ_AN_EVENTS; /* the keyed digits muted come from the events analyzer */
    if (pl_scoring_setup(&c->svc, &w.scoring, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "callqa worker: scoring: %s\n", msg);
        store_close(w.st);
        free(w.roots);
        return 2;
    }
    int e = 0;
    if (!(w.engine = cq_engine_create(&ep, &e)) ||
        cq_engine_fingerprint(w.engine, w.engine_id, sizeof(w.engine_id)) != CQ_OK) {
        fprintf(stderr, "callqa worker: cannot start the engine: %s\n", cq_strerror(e));
        store_close(w.st);
        free(w.roots);
        return 1;
    }
    if (c->svc.voice_profile_campaigns[0]) { /* the same engine, with voice prints */
        cq_engine_params vp = ep;
        vp.voiceprints = true;
        vp.analyzers |= CQ_AN_DIARIZE;
        if (!(w.engine_vp = cq_engine_create(&vp, &e)) ||
            cq_engine_fingerprint(w.engine_vp, w.engine_vp_id, sizeof(w.engine_vp_id)) != CQ_OK) {
            fprintf(stderr, "callqa worker: cannot start the engine with voice prints: %s\n",
                    cq_strerror(e));
            cq_engine_destroy(w.engine);
            store_close(w.st);
            free(w.roots);
            return 1;
        }
    }
    rec_fetch_global_init();
    rec_tmp_sweep(&c->svc); /* what a killed worker or service left in tmp_dir */
    w.slots = calloc((size_t)c->jobs, sizeof(wslot));
    if (!w.slots) {
        fprintf(stderr, "callqa worker: out of memory\n");
        return 1;
    }
    char host[128] = "localhost";
    gethostname(host, sizeof(host) - 1);
    if (c->id[0])
        snprintf(w.row.id, sizeof(w.row.id), "%s", c->id);
    else
        snprintf(w.row.id, sizeof(w.row.id), "%.50s:%d", host, (int)getpid());
    snprintf(w.row.host, sizeof(w.row.host), "%s", host);
    w.row.pid = (int)getpid();
    w.row.started = cq_clock_wall_sec();
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr,
            "{\"level\":\"info\",\"msg\":\"worker started\",\"id\":\"%s\",\"jobs\":%d,"
            "\"engine\":\"%s\",\"scheduling\":\"%s\",\"max_load\":%.2f}\n",
            w.row.id, c->jobs, w.engine_id, note, c->max_load);
    beat(&w, "running", "", true);
    /* the store's jobs, each call in a child of the program's one child host */
    proc_limits lim = {
        .children = c->jobs, .timeout_sec = child_limit(&w), .max_answer = PROC_ANSWER_LIMIT};
    proc_host_ops ops = {.next = next_call, .done = finish, .tick = turn};
    int rc = 0;
    if (proc_host_run(&lim, &ops, &w) != 0) {
        fprintf(stderr, "callqa worker: out of memory\n");
        rc = 1;
    }
    beat(&w, "stopped", "", true);
    fprintf(stderr, "{\"level\":\"info\",\"msg\":\"worker stopped\",\"id\":\"%s\",\"done\":%lld}\n",
            w.row.id, (long long)w.row.jobs_done);
    for (int i = 0; i < c->jobs; i++)
        free(w.slots[i].arg.imported);
    free(w.slots);
    cq_engine_destroy(w.engine);
    cq_engine_destroy(w.engine_vp);
    pl_scoring_free(&w.scoring);
    store_close(w.st);
    free(w.roots);
    return rc;
}
