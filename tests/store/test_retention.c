/*
 * test_retention.c - retention, purge and erasure end to end (docs/privacy/retention.md, "Retention
 * and erasure"): a store filled through the store's API with calls of several ages, sources and
 * campaigns (analyses, envelopes, transcripts and their search rows, scores with quotes and an
 * LLM's text, overrides, LLM requests, events, roll-ups, the service's stored results, uploaded
 * files and the dialer's), then the real `callqa store purge` and `callqa store erase`. Every
 * table is dumped row by row before and after each run, and the dump after must equal the dump
 * before with exactly what is due taken out, as this test works it out on its own (the expected
 * changes are written here from the fixture, not from the code under test); --dry-run must change
 * nothing, files and search are checked, and the deletions' log must hold exactly the due
 * deletions. One call's purge fails (its score's detail made unreadable behind the API's back):
 * it must be reported and keep every row and file while the others go on; and a purge killed
 * at its first commit must leave every row as it was.
 *
 *   test_retention CALLQA_BINARY        (SQLite; CALLQA_TEST_STORE_URI: PostgreSQL instead)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/store/db.h"
#include "../../src/store/store_calls.h"
#include "../../src/store/store_jobs.h"
#include "../../src/store/store_retain.h"
#include "../../src/store/store_users.h"

static int g_failed, g_checks;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        g_checks++;                                                                                \
        bool ok_ = (cond);                                                                         \
        if (!ok_)                                                                                  \
            g_failed++;                                                                            \
        printf("%s %d - ", ok_ ? "ok" : "not ok", g_checks);                                       \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

#define NOW 1780000000.0 /* 2026-05-28 */
#define DAY 86400.0

enum { A_AUDIO = 1, A_TX = 2, A_REPORT = 4, A_LLM = 8 };
enum { F_NONE = 0, F_UP_LEGS, F_UP_MONO, F_DIALER };
enum { E_NONE = 0, E_PHONE, E_LEAD };

/* The calls. The periods (the config below): audio 90, transcript 30, report 60, llm 45 days;
 * campaign KEEP all forever, SHORT transcript 5; source upload audio 7. The upload folder holds
 * the dialer's folder (recordings_dir), which must stay untouched. */
typedef struct fx {
    const char *name, *source, *campaign, *lead;
    double age_days;
    int files;
    const char *file; /* its recording's name */
    bool envelope, override;
    int llm_rows; /* old LLM requests (at the call's time) */
    bool llm_new; /* and one a day before NOW (its own time within the period) */
    unsigned due; /* what the purge must take, worked out by hand from the periods */
    int erase;    /* which erasure takes it */
    bool fails;   /* its purge must fail, changing nothing */
    int64_t id;
    char path[3][1200]; /* audio, audio_in, audio_out */
} fx;

/* clang-format off */
static fx g_fx[] = {
    /* name source     campaign   lead  age  files      file                               env    ovr    llm new    due                                erasure */
    {"a", "upload",  "SALES",   "101", 100, F_UP_LEGS, "a",                               true,  true,  1, true,  A_AUDIO | A_TX | A_REPORT | A_LLM, E_NONE,  false, 0, {""}},
    {"b", "dialer1", "SALES",   "102", 100, F_DIALER,  "20260101-000000_4440001-all.wav", true,  false, 1, false, A_TX | A_REPORT | A_LLM,           E_NONE,  false, 0, {""}},
    {"c", "dialer1", "KEEP",    "103", 400, F_DIALER,  "20250101-000000_4440002-all.wav", false, false, 1, false, 0,                                 E_NONE,  false, 0, {""}},
    {"d", "upload",  "",        "104", 10,  F_UP_MONO, "d",                               false, false, 0, false, A_AUDIO,                           E_NONE,  false, 0, {""}},
    {"e", "dialer2", "SHORT",   "105", 10,  F_DIALER,  "20260518-000000_4440003-all.wav", false, false, 0, false, A_TX,                              E_NONE,  false, 0, {""}},
    {"f", "dialer2", "SUPPORT", "106", 50,  F_DIALER,  "20260408-000000_4440004-all.wav", true,  false, 1, false, A_TX | A_LLM,                      E_NONE,  false, 0, {""}},
    {"g", "dialer1", "SALES",   "777", 20,  F_DIALER,  "20260508-000000_5551234-all.wav", true,  true,  1, false, 0,                                 E_PHONE, false, 0, {""}},
    {"h", "upload",  "SALES",   "778", 5,   F_UP_MONO, "h_5551234",                       false, false, 0, false, 0,                                 E_PHONE, false, 0, {""}},
    {"i", "dialer1", "SALES",   "888", 20,  F_DIALER,  "20260508-000000_4440005-all.wav", false, false, 0, false, 0,                                 E_LEAD,  false, 0, {""}},
    {"j", "dialer1", "SALES",   "999", 20,  F_DIALER,  "20260508-000000_55512345-all.wav", false, false, 0, false, 0,                                E_NONE,  false, 0, {""}},
    /* everything due, but its score's detail is not JSON (put there behind the API's back): its
     * purge fails, and nothing of it may change */
    {"k", "upload",  "SALES",   "110", 100, F_UP_MONO, "k",                               true,  false, 1, false, 0,                                 E_NONE,  true,  0, {""}},
};
/* clang-format on */
#define N_FX (sizeof(g_fx) / sizeof(g_fx[0]))

static char g_dir[600], g_uri[1200], g_up[800], g_dial[800], g_conf[800];
static const char *g_callqa;

static fx *fx_by_id(int64_t id)
{
    for (size_t i = 0; i < N_FX; i++)
        if (g_fx[i].id == id)
            return &g_fx[i];
    return NULL;
}

/* ---- the fixture ------------------------------------------------------------------------- */

/* A score's detail: with the transcript's words (quotes) and the LLM's text (llm) or without. */
static char *detail_json(const fx *f, bool quotes, bool llm)
{
    json_t *o = json_pack("{s:n,s:f,s:f,s:b,s:n,s:{s:s,s:s,s:f},s:n,s:s,s:s}", "total_score",
                          "partial_score", 80.0, "coverage", 0.5, "flagged", 0, "flag_reason",
                          "scorecard", "name", "t", "hash", "h", "flag_threshold", 60.0,
                          "provider_hash", "llm_provider", "fake", "llm_model", "m");
    char q1[64], q2[64], ph[64], sum[80];
    snprintf(q1, sizeof(q1), "zq%sgreet hello", f->name);
    snprintf(q2, sizeof(q2), "zq%sneed please", f->name);
    snprintf(ph, sizeof(ph), "zq%srefund refund", f->name);
    snprintf(sum, sizeof(sum), "the caller zq%sgreet wanted a refund", f->name);
    json_t *ev1 = json_array(), *ev2 = json_array();
    if (quotes) {
        json_array_append_new(ev1, json_pack("{s:s,s:f,s:f,s:s}", "speaker", "agent", "start", 1.0,
                                             "end", 2.0, "quote", q1));
        json_array_append_new(ev2, json_pack("{s:s,s:f,s:f,s:s}", "speaker", "customer", "start",
                                             3.0, "end", 4.0, "quote", q2));
    }
    json_array_append_new(ev1, json_pack("{s:s,s:f}", "metric", "dead_air_sec", "value", 1.5));
    json_t *cats = json_pack(
        "{s:{s:s,s:f,s:i,s:s,s:s,s:s,s:o,s:b},s:{s:s,s:f,s:i,s:s,s:s,s:s,s:o,s:b},"
        "s:{s:s,s:f,s:n,s:s,s:s,s:s,s:[],s:b}}",
        "greeting", "name", "Greeting", "weight", 0.5, "score", 5, "method", "rules", "engine",
        "rules", "reason", "found: name", "evidence", ev1, "critical", 0, "needs", "name", "Needs",
        "weight", 0.5, "score", 4, "method", "llm", "engine", "fake", "reason",
        llm ? "the agent asked what the caller needed" : "", "evidence", ev2, "critical", 0,
        "closing", "name", "Closing", "weight", 0.0, "score", "method", "llm", "engine", "llm",
        "reason", "not scored: no LLM configured", "evidence", "critical", 0);
    json_object_set_new(o, "categories", cats);
    json_object_set_new(o, "not_scored", json_array());
    json_t *phr = json_array();
    if (quotes)
        json_array_append_new(phr, json_string(ph));
    json_object_set_new(o, "topic",
                        json_pack("{s:s,s:s,s:f,s:s,s:o}", "class", "billing", "subclass", "refund",
                                  "confidence", 0.9, "engine", "rules", "phrases", phr));
    /* the LLM's summary (its words, and quotes of the call's) */
    json_t *sq = json_array();
    if (quotes)
        json_array_append_new(sq, json_pack("{s:s,s:f,s:f,s:s,s:s}", "speaker", "customer", "start",
                                            3.0, "end", 4.0, "quote", q2, "backs", "reason"));
    json_object_set_new(o, "summary",
                        llm ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:n}", "source", "llm", "model",
                                        "m", "text", sum, "reason", "a refund", "outcome",
                                        "resolved", "quotes", sq, "refused")
                            : json_null());
    if (!llm)
        json_decref(sq);
    json_object_set_new(o, "strengths", llm ? json_pack("[s]", "polite") : json_array());
    json_object_set_new(o, "improvements", llm ? json_pack("[s]", "faster") : json_array());
    /* the sentiment: its figures stay, its quotes are the call's words */
    json_t *sent_q = json_array();
    if (quotes)
        json_array_append_new(sent_q, json_pack("{s:i,s:s,s:f,s:f}", "quarter", 1, "quote", q2,
                                                "start", 3.0, "end", 4.0));
    json_object_set_new(o, "sentiment",
                        json_pack("{s:[ii],s:{s:s,s:s},s:[{s:s,s:s,s:[fnnn],s:f,s:f,s:f,s:o}],s:n}",
                                  "scale", -5, 5, "source", "name", "llm", "model", "m", "speakers",
                                  "speaker", "customer", "source", "llm", "quarters", 1.0, "first",
                                  1.0, "last", 1.0, "shift", 0.0, "quotes", sent_q,
                                  "customer_drop"));
    json_object_set_new(o, "sentiment_llm",
                        json_pack("{s:s,s:b,s:n,s:[{s:s,s:i,s:f,s:o,s:s}]}", "model", "m", "used",
                                  1, "why", "dropped", "speaker", "customer", "quarter", 2, "value",
                                  9.0, "quote", quotes ? json_string(q1) : json_null(), "why",
                                  "the figure 9 is outside -5..+5"));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int write_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("RIFF....WAVEfmt not really audio", f);
    return fclose(f);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static int fill(store *s)
{
    char sub[1000];
    snprintf(sub, sizeof(sub), "%s/upload", g_up);
    if (mkdir(g_up, 0750) || mkdir(sub, 0750) || mkdir(g_dial, 0750))
        return -1;
    for (size_t i = 0; i < N_FX; i++) {
        fx *f = &g_fx[i];
        store_call c;
        memset(&c, 0, sizeof(c));
        snprintf(c.source, sizeof(c.source), "%s", f->source);
        snprintf(c.recording_id, sizeof(c.recording_id), "rec-%s", f->name);
        snprintf(c.lead_id, sizeof(c.lead_id), "%s", f->lead);
        snprintf(c.agent_user, sizeof(c.agent_user), "agent1");
        snprintf(c.campaign_id, sizeof(c.campaign_id), "%s", f->campaign);
        c.call_epoch = NOW - f->age_days * DAY;
        time_t t = (time_t)c.call_epoch;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(c.call_date, sizeof(c.call_date), "%Y-%m-%d %H:%M:%S", &tm);
        c.length_sec = 60;
        if (f->files == F_UP_LEGS) {
            snprintf(f->path[1], sizeof(f->path[1]), "%s/%s-in.rec", sub, f->file);
            snprintf(f->path[2], sizeof(f->path[2]), "%s/%s-out.rec", sub, f->file);
        } else if (f->files == F_UP_MONO) {
            snprintf(f->path[0], sizeof(f->path[0]), "%s/%s.rec", sub, f->file);
        } else if (f->files == F_DIALER) {
            snprintf(f->path[0], sizeof(f->path[0]), "%s/%s", g_dial, f->file);
        }
        for (int p = 0; p < 3; p++)
            if (f->path[p][0] && write_file(f->path[p]) != 0)
                return -1;
        if (f->files == F_UP_LEGS) { /* the capture beside an upload */
            char cap[1300];
            snprintf(cap, sizeof(cap), "%s/%s.pcap", sub, f->file);
            if (write_file(cap) != 0)
                return -1;
        }
        snprintf(c.audio, sizeof(c.audio), "%s", f->path[0]);
        snprintf(c.audio_in, sizeof(c.audio_in), "%s", f->path[1]);
        snprintf(c.audio_out, sizeof(c.audio_out), "%s", f->path[2]);
        bool created;
        if (store_call_put(s, &c, c.call_epoch + 10, &f->id, &created) != 0 || !created)
            return -1;
    }
    store_lease l;
    int n = 0;
    while (store_job_claim(s, "test", NOW - 500 * DAY, 1e9, &l) == 1) {
        fx *f = fx_by_id(l.call_id);
        if (!f)
            return -1;
        double t = NOW - f->age_days * DAY + 100;
        store_figures fg;
        memset(&fg, 0, sizeof(fg));
        fg.duration_sec = 60;
        fg.legs = 2;
        fg.speech_pct[0] = fg.speech_pct[1] = 50;
        fg.mos[0] = 3.5, fg.mos[1] = 4;
        fg.one_way = 0;
        fg.talk_sec[0] = fg.talk_sec[1] = 20;
        fg.dead_air_sec = 1.5;
        fg.net_mos = NAN;
        char report[200];
        snprintf(report, sizeof(report), "{\"duration\":60,\"file\":\"%s\",\"has_legs\":true}",
                 f->file);
        store_envelope env = {f->id, 0.5, "{\"inbound\":[-200,-210],\"outbound\":[-300]}"};
        if (store_job_analysed_env(s, &l, "e1", report, &fg, f->envelope ? &env : NULL,
                                   JOB_TRANSCRIBING, t) != STORE_OK)
            return -1;
        char w1[64], w2[64], w3[64], text[300];
        snprintf(w1, sizeof(w1), "zq%sgreet hello my name is Alex", f->name);
        snprintf(w2, sizeof(w2), "zq%sneed please I want a zq%srefund refund", f->name, f->name);
        snprintf(w3, sizeof(w3), "thank you");
        snprintf(text, sizeof(text), "agent: %s\ncustomer: %s\nagent: %s", w1, w2, w3);
        store_tx_segment segs[3] = {
            {"agent", 1.0, 2.5, w1}, {"customer", 3.0, 6.0, w2}, {"agent", 7.0, 8.0, w3}};
        store_transcript tx = {.call_id = f->id,
                               .engine = "import",
                               .model = NULL,
                               .language = "en",
                               .word_count = 20,
                               .seconds = NAN,
                               .audio_sent_sec = NAN,
                               .audio_recorded_sec = NAN,
                               .hallucination_rate = NAN,
                               .config_hash = "import",
                               .text = text,
                               .detail = "{\"words\":[]}",
                               .segs = segs,
                               .n_segs = 3};
        if (store_job_transcribed(s, &l, &tx, t + 1) != STORE_OK ||
            store_job_advance(s, &l, JOB_SCORING, NULL, NULL, t + 2) != STORE_OK)
            return -1;
        char *detail = detail_json(f, true, true);
        store_score sc;
        memset(&sc, 0, sizeof(sc));
        sc.has_partial = true;
        sc.partial_score = 80;
        sc.coverage = 0.5;
        sc.has_cat[0] = true, sc.cat[0] = 5;
        sc.has_cat[2] = true, sc.cat[2] = 4;
        char sum[80];
        snprintf(sum, sizeof(sum), "the caller zq%sgreet wanted a refund", f->name);
        sc.summary = sum;
        sc.strengths = "[\"polite\"]";
        sc.improvements = "[\"faster\"]";
        sc.llm_provider = "fake";
        sc.llm_model = "m";
        sc.scorecard = "t";
        sc.backend = "fake";
        sc.scorecard_hash = "h";
        sc.topic_class = "billing";
        sc.topic_subclass = "refund";
        sc.detail = detail;
        int rc = store_job_scored(s, &l, &sc, t + 3);
        free(detail);
        if (rc != STORE_OK)
            return -1;
        for (int k = 0; k < f->llm_rows + (f->llm_new ? 1 : 0); k++) {
            store_llm_call lc = {k < f->llm_rows ? t + 4 + k : NOW - DAY,
                                 f->id,
                                 "score",
                                 "fake",
                                 "m",
                                 100,
                                 20,
                                 1.5,
                                 0.001,
                                 "ok"};
            if (store_llm_record(s, &lc) != 0)
                return -1;
        }
        if (f->override &&
            store_score_override(s, f->id, "greeting", 3, "sup", "said zq", t + 9) != 1)
            return -1;
        n++;
    }
    /* the service's stored results: one names the caller's number */
    store_result r;
    memset(&r, 0, sizeof(r));
    snprintf(r.server, sizeof(r.server), "uk");
    snprintf(r.identity, sizeof(r.identity), "x");
    snprintf(r.engine, sizeof(r.engine), "e1");
    r.created = r.checked = NOW - 20 * DAY;
    r.report = "{\"duration\":5}";
    int64_t rid;
    snprintf(r.file, sizeof(r.file), "20260508-000000_5551234-all.wav");
    if (store_result_put(s, &r, &rid) != 0)
        return -1;
    snprintf(r.file, sizeof(r.file), "20260508-000000_4440009-all.wav");
    if (store_result_put(s, &r, &rid) != 0)
        return -1;
    return n == (int)N_FX ? 0 : -1;
}

/* ---- dumps ------------------------------------------------------------------------------- */

/* A roll-up the erasure recomputes (rows may change or go, checked by their sums). */
static bool rollup_table(const char *table)
{
    return !strcmp(table, "daily_stats") || !strcmp(table, "day_summary") ||
           !strncmp(table, "route_", 6);
}

static int key_cols(const char *table)
{
    if (!strcmp(table, "daily_stats"))
        return 4;
    if (!strcmp(table, "route_hourly") || !strcmp(table, "route_daily"))
        return 3;
    if (!strcmp(table, "call_attempts"))
        return 2;
    if (!strcmp(table, "counters") || !strcmp(table, "transcript_segments"))
        return 2;
    return 1;
}

/* Every table: {table: {key: {column: value}}} (the FTS5 table by rowid; its shadow tables are
 * its index, checked by searching). */
static json_t *dump(void)
{
    char msg[600];
    db *d = db_open(g_uri, msg, sizeof(msg));
    if (!d) {
        fprintf(stderr, "dump: %s\n", msg);
        return NULL;
    }
    bool pg = db_get_dialect(d) == DB_PG;
    db_stmt *st = db_stmt_get(
        d, 1,
        pg ? "SELECT table_name FROM information_schema.tables WHERE table_schema = "
             "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
           : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
             "AND name NOT LIKE 'transcript_fts_%' ORDER BY name");
    char tables[64][64];
    int nt = 0;
    while (st && db_step(st) == DB_ROW && nt < 64)
        if (strcmp(db_col_text(st, 0), "audit_log")) /* the audit trail: checked on its own */
            snprintf(tables[nt++], sizeof(tables[0]), "%s", db_col_text(st, 0));
    if (st)
        db_reset(st);
    json_t *all = json_object();
    for (int t = 0; t < nt; t++) {
        char sql[4400];
        snprintf(sql, sizeof(sql), "SELECT %s* FROM %s",
                 !strcmp(tables[t], "transcript_fts") ? "rowid AS rowid_, " : "", tables[t]);
        db_stmt *q = db_stmt_get(d, 2 + t, sql);
        json_t *rows = json_object();
        int kc = key_cols(tables[t]);
        while (q && db_step(q) == DB_ROW) {
            json_t *row = json_object();
            char key[400] = "";
            for (int i = 0; i < db_col_count(q); i++) {
                json_t *v;
                switch (db_col_type(q, i)) {
                case DB_T_NULL: v = json_null(); break;
                case DB_T_INT: v = json_integer(db_col_int(q, i)); break;
                case DB_T_REAL: v = json_real(db_col_double(q, i)); break;
                default: v = json_string(db_col_text(q, i)); break;
                }
                if (i < kc) {
                    const char *tx = db_col_text(q, i);
                    size_t l = strlen(key);
                    snprintf(key + l, sizeof(key) - l, "%s%s", i ? "|" : "", tx ? tx : "NULL");
                }
                json_object_set_new(row, db_col_name(q, i), v);
            }
            json_object_set_new(rows, key, row);
        }
        if (q)
            db_reset(q);
        json_object_set_new(all, tables[t], rows);
    }
    db_close(d);
    return all;
}

static int64_t row_int(const json_t *row, const char *col)
{
    const json_t *v = json_object_get(row, col);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

/* The call a row is of (0: none): calls by id, the others by call_id. */
static int64_t call_of(const char *table, const json_t *row)
{
    if (!strcmp(table, "calls"))
        return row_int(row, "id");
    if (json_object_get(row, "call_id"))
        return row_int(row, "call_id");
    return 0;
}

/* Does the row of the table differ from the expected one? The details are compared as JSON. */
static bool rows_equal(const char *table, const json_t *want, const json_t *got)
{
    if (!want || !got)
        return want == got;
    if (strcmp(table, "scores"))
        return json_equal((json_t *)want, (json_t *)got);
    json_t *w = json_deep_copy(want), *g = json_deep_copy(got);
    json_t *wd = json_loads(json_string_value(json_object_get(w, "detail")), 0, NULL);
    json_t *gd = json_loads(json_string_value(json_object_get(g, "detail")), 0, NULL);
    json_object_del(w, "detail");
    json_object_del(g, "detail");
    bool eq = json_equal(w, g) && (wd && gd ? json_equal(wd, gd)
                                            : !wd && !gd &&
                                                  json_equal(json_object_get(want, "detail"),
                                                             json_object_get(got, "detail")));
    json_decref(w), json_decref(g), json_decref(wd), json_decref(gd);
    return eq;
}

typedef struct audit_seen {
    int purge, erase;
    bool identifier;
} audit_seen;

static int audit_row(void *user, const store_audit_row *a)
{
    audit_seen *au = user;
    au->purge += !strcmp(a->action, "purge") && !strcmp(a->client ? a->client : "", "cli");
    if (!strcmp(a->action, "erase")) {
        au->erase++;
        au->identifier |= !a->target || !strstr(a->target, " calls") || strstr(a->target, "888") ||
                          strstr(a->target, "1234");
    }
    return 0;
}

typedef enum stage { S_PURGE, S_ERASE_PHONE, S_ERASE_LEAD } stage;

/* What a row should be after the run (NULL: gone), from the fixture alone. *loose: the row may
 * change in ways the caller checks itself (a roll-up of an erased call's group). */
static json_t *expected(stage sg, const char *table, const json_t *row, bool *loose)
{
    *loose = false;
    if (!strcmp(table, "deletions"))
        return json_deep_copy(row); /* checked on its own; rows before stay */
    int64_t cid = call_of(table, row);
    fx *f = cid > 0 ? fx_by_id(cid) : NULL;
    if (sg != S_PURGE) {
        int which = sg == S_ERASE_PHONE ? E_PHONE : E_LEAD;
        if (rollup_table(table)) {
            *loose = true;
            return json_deep_copy(row);
        }
        if (!strcmp(table, "analyses") && json_is_null(json_object_get(row, "call_id")) &&
            which == E_PHONE &&
            strstr(json_string_value(json_object_get(row, "file")), "_5551234-"))
            return NULL;
        if (f && f->erase == which && strcmp(table, "workers"))
            return NULL;
        return json_deep_copy(row);
    }
    json_t *out = json_deep_copy(row);
    if (!f)
        return out;
    if ((f->due & A_AUDIO) && !strcmp(table, "calls") &&
        (f->files == F_UP_LEGS || f->files == F_UP_MONO)) {
        json_object_set_new(out, "audio", json_null());
        json_object_set_new(out, "audio_in", json_null());
        json_object_set_new(out, "audio_out", json_null());
    }
    if ((f->due & A_TX) && (!strcmp(table, "transcripts") || !strcmp(table, "transcript_fts") ||
                            !strcmp(table, "transcript_segments"))) {
        json_decref(out);
        return NULL;
    }
    if ((f->due & A_REPORT) && !strcmp(table, "analyses"))
        json_object_set_new(out, "report", json_string(STORE_REPORT_REMOVED));
    if ((f->due & A_REPORT) && !strcmp(table, "call_envelopes")) {
        json_decref(out);
        return NULL;
    }
    if ((f->due & A_LLM) && !strcmp(table, "llm_calls") &&
        json_number_value(json_object_get(row, "ts")) <= NOW - 45 * DAY) {
        json_decref(out);
        return NULL;
    }
    if (!strcmp(table, "scores") && (f->due & (A_TX | A_LLM))) {
        char *d = detail_json(f, !(f->due & A_TX), !(f->due & A_LLM));
        json_object_set_new(out, "detail", json_string(d));
        free(d);
        if (f->due & A_LLM) {
            json_object_set_new(out, "summary", json_null());
            json_object_set_new(out, "strengths", json_string("[]"));
            json_object_set_new(out, "improvements", json_string("[]"));
        }
    }
    return out;
}

/* after == expected(before), table by table, row by row; returns the differences. */
static int compare(stage sg, const json_t *before, const json_t *after, const char *label)
{
    int bad = 0;
    const char *table;
    json_t *rows;
    json_object_foreach((json_t *)before, table, rows)
    {
        const json_t *arows = json_object_get(after, table);
        const char *key;
        json_t *row;
        json_object_foreach(rows, key, row)
        {
            bool loose;
            json_t *want = expected(sg, table, row, &loose);
            const json_t *got = json_object_get(arows, key);
            if (!loose && !rows_equal(table, want, got)) {
                char *w = want ? json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                printf("# %s: %s[%s]: expected %s\n#   got %s\n", label, table, key,
                       w ? w : "(gone)", g ? g : "(gone)");
                free(w), free(g);
                bad++;
            }
            json_decref(want);
        }
        /* nothing new, but the deletions' log and a recomputed roll-up */
        json_object_foreach((json_t *)arows, key, row)
        {
            if (!json_object_get(rows, key) && strcmp(table, "deletions") && !rollup_table(table)) {
                printf("# %s: %s[%s]: a new row\n", label, table, key);
                bad++;
            }
        }
    }
    if (json_object_size((json_t *)after) != json_object_size((json_t *)before)) {
        printf("# %s: the tables differ in number\n", label);
        bad++;
    }
    return bad;
}

/* ---- the command line -------------------------------------------------------------------- */

static int run_cli_env(const char *env, const char *args, const char *out)
{
    char cmd[4000];
    snprintf(cmd, sizeof(cmd), "%s '%s' store %s --config '%s' --db '%s' > '%s/%s' 2> '%s/%s.err'",
             env, g_callqa, args, g_conf, g_uri, g_dir, out, g_dir, out);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_cli(const char *args, const char *out)
{
    return run_cli_env("", args, out);
}

static char *slurp(const char *name)
{
    char p[900];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return strdup("");
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

/* How many search rows match the word (the whole store). */
static int64_t search(const char *word)
{
    char msg[600];
    db *d = db_open(g_uri, msg, sizeof(msg));
    if (!d)
        return -1;
    bool pg = db_get_dialect(d) == DB_PG;
    db_stmt *st = db_stmt_get(d, 1,
                              pg ? "SELECT COUNT(*) FROM transcript_segments WHERE tsv @@ "
                                   "plainto_tsquery('simple', $1)"
                                 : "SELECT COUNT(*) FROM transcript_fts WHERE transcript_fts "
                                   "MATCH $1");
    int64_t n = -1;
    if (st) {
        db_bind_text(st, 1, word);
        if (db_step(st) == DB_ROW)
            n = db_col_int(st, 0);
        db_reset(st);
    }
    db_close(d);
    return n;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The deletions' log as "CALLNAME:what:why" lines, sorted. */
static int log_lines(store *s, char out[64][48], int *n)
{
    store_deletion_row rows[64];
    int got = 0;
    if (store_deletions(s, 0, rows, 64, &got) != 0)
        return -1;
    *n = 0;
    for (int i = 0; i < got; i++) {
        fx *f = fx_by_id(rows[i].call_id);
        snprintf(out[(*n)++], 48, "%s:%s:%s",
                 f                 ? f->name
                 : rows[i].call_id ? "?"
                                   : "-",
                 rows[i].what, rows[i].why);
    }
    qsort(out, (size_t)*n, 48, by_text);
    return 0;
}

static bool lines_are(char got[64][48], int n, const char *const *want)
{
    int nw = 0;
    while (want[nw])
        nw++;
    bool ok = n == nw;
    for (int i = 0; ok && i < n; i++)
        ok = !strcmp(got[i], want[i]);
    if (!ok)
        for (int i = 0; i < n; i++)
            printf("#   log: %s\n", got[i]);
    return ok;
}

int main(int argc, char **argv)
{
    bool fill_only = argc == 3 && !strcmp(argv[2], "--fill-only"); /* a store to try by hand */
    if (argc != 2 && !fill_only) {
        fprintf(stderr, "usage: test_retention CALLQA_BINARY [--fill-only]\n");
        return 2;
    }
    g_callqa = argv[1];
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/callqa-retain-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        return 1;
    const char *pg = getenv("CALLQA_TEST_STORE_URI");
    if (pg && *pg)
        snprintf(g_uri, sizeof(g_uri), "%s", pg);
    else
        snprintf(g_uri, sizeof(g_uri), "%s/qa.db", g_dir);
    snprintf(g_up, sizeof(g_up), "%s/uploads", g_dir);
    snprintf(g_dial, sizeof(g_dial), "%s/uploads/dialer", g_dir);
    snprintf(g_conf, sizeof(g_conf), "%s/callqa.conf", g_dir);
    FILE *cf = fopen(g_conf, "w");
    if (!cf)
        return 1;
    fprintf(cf,
            "upload_dir = %s\nrecordings_dir = %s\nretain_audio_days = 90\n"
            "retain_transcript_days = 30\nretain_report_days = 60\nretain_llm_days = 45\n"
            "retain_campaigns = KEEP=all:0, SHORT=transcript:5\nretain_sources = upload=audio:7\n",
            g_up, g_dial);
    fclose(cf);

    /* the periods' syntax */
    store_retain_rule *rules;
    int nr;
    char msg[600];
    CHECK(store_retain_parse("x", "SALES=audio:30+transcript:90, B=all:0", &rules, &nr, msg,
                             sizeof(msg)) == 0 &&
              nr == 2 && rules[0].days[STORE_KEEP_AUDIO] == 30 &&
              rules[0].days[STORE_KEEP_TRANSCRIPT] == 90 && rules[0].days[STORE_KEEP_LLM] == -1 &&
              rules[1].days[STORE_KEEP_REPORT] == 0,
          "periods parsed");
    free(rules);
    static const char *const bad[] = {"SALES",         "SALES=",        "=audio:3",
                                      "S=audio:x",     "S=audio:36501", "S=voice:3",
                                      "S=audio:3+",    "S=audio:3,",    "S=audio:1,S=llm:2",
                                      "S=all:3+llm:4", "S A=audio:3",   NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = store_retain_parse("retain_campaigns", bad[i], &rules, &nr, msg, sizeof(msg));
        CHECK(rc == -1 && strstr(msg, "retain_campaigns: item"), "refused '%s': %s", bad[i], msg);
    }

    store *s = store_open(g_uri, msg, sizeof(msg));
    if (!s) {
        printf("not ok - store: %s\n", msg);
        return 1;
    }
    CHECK(fill(s) == 0, "the store filled through its API: %s", store_errmsg(s));
    for (size_t i = 0; i < N_FX; i++) {
        char w[40];
        snprintf(w, sizeof(w), "zq%sneed", g_fx[i].name);
        if (search(w) != 1)
            CHECK(false, "search finds call %s's transcript before", g_fx[i].name);
    }
    /* call k's score detail made unreadable behind the API's back: its purge must fail */
    {
        db *d = db_open(g_uri, msg, sizeof(msg));
        db_stmt *st = d ? db_stmt_get(d, 1,
                                      "UPDATE scores SET detail = 'not json' WHERE call_id "
                                      "= $1")
                        : NULL;
        int64_t kid = 0;
        for (size_t i = 0; i < N_FX; i++)
            if (g_fx[i].fails)
                kid = g_fx[i].id;
        if (st)
            db_bind_int(st, 1, kid);
        CHECK(st && db_step(st) == DB_DONE, "call k's score detail is not JSON");
        if (st)
            db_reset(st);
        db_close(d);
    }
    if (fill_only) {
        store_close(s);
        printf("# filled: %s (settings %s)\n", g_uri, g_conf);
        return g_failed ? 1 : 0;
    }
    json_t *before = dump();
    CHECK(before && json_object_size(json_object_get(before, "calls")) == N_FX, "dumped %zu tables",
          before ? json_object_size(before) : 0);

    /* a dry run changes nothing, and says what is due */
    int rc = run_cli("purge --dry-run --now @1780000000", "dry.out");
    char *out = slurp("dry.out");
    json_t *after = dump();
    CHECK(rc == 1, "purge --dry-run: exit 1, one call failed (%d)", rc);
    CHECK(strstr(out, "(upload rec-k, campaign SALES, 100.0 days): FAILED, nothing of it changed: "
                      "a score's detail is not a JSON object"),
          "purge --dry-run names the call that would fail, and why");
    CHECK(after && json_equal(before, after), "purge --dry-run changed no row of any table");
    CHECK(strstr(out, " - due") && !strstr(out, "deleted"), "purge --dry-run says what is due");
    int lines = 0;
    for (char *p = out; (p = strstr(p, " - due")); p++)
        lines++;
    CHECK(lines == 5, "5 calls due (%d)", lines);
    for (size_t i = 0; i < N_FX; i++)
        for (int p = 0; p < 3; p++)
            if (g_fx[i].path[p][0] && !exists(g_fx[i].path[p]))
                CHECK(false, "purge --dry-run left %s", g_fx[i].path[p]);
    free(out);
    json_decref(after);

    /* the same, a part at a time (the worker's scheduled purge): each call once */
    {
        store_retention r = {.days = {90, 30, 60, 45}};
        if (store_retain_parse("c", "KEEP=all:0, SHORT=transcript:5", &r.campaigns, &r.n_campaigns,
                               msg, sizeof(msg)) ||
            store_retain_parse("s", "upload=audio:7", &r.sources, &r.n_sources, msg, sizeof(msg)))
            CHECK(false, "periods: %s", msg);
        const char *owned[] = {g_up, NULL}, *protect[] = {g_dial, NULL};
        store_file_roots roots = {.owned = owned, .protect = protect};
        store_purge_totals t;
        memset(&t, 0, sizeof(t));
        int64_t cursor = 0;
        int steps = 0, src = 0;
        do
            src |= store_purge_step(s, &r, &roots, NOW, true, 1e-9, &cursor, NULL, NULL, &t);
        while (cursor && ++steps < 100);
        after = dump();
        CHECK(src == 0 && steps == (int)N_FX - 1 && t.calls == 6 && t.failed == 1 && after &&
                  json_equal(before, after),
              "a dry run a call at a time: %d steps, %d calls due, nothing changed", steps,
              t.calls);
        json_decref(after);
        store_retention_free(&r);
    }

    /* killed at its first commit (call a's): no row of it changed; its files, deleted just
     * before the commit (they were due), are gone, and the next purge finds them so */
    rc = run_cli_env("CALLQA_TEST_KILL_AT=commit:purge", "purge --now @1780000000", "kill.out");
    after = dump();
    CHECK(rc != 0, "purge killed at its first commit (%d)", rc);
    CHECK(after && json_equal(before, after), "killed before its commit: no row of any table "
                                              "changed");
    CHECK(!exists(g_fx[0].path[1]) && exists(g_fx[3].path[0]),
          "call a's files went before the commit; call d's were not reached");
    json_decref(after);

    /* the purge */
    rc = run_cli("purge --now 2026-05-28T20:26:40Z", "purge.out");
    out = slurp("purge.out");
    printf("# %s", out);
    CHECK(rc == 1, "purge: exit 1, one call failed (%d)", rc);
    CHECK(strstr(out, "rec-k") && strstr(out, "FAILED") && exists(g_fx[10].path[0]),
          "call k failed, said so, and kept its file; the others went on");
    after = dump();
    CHECK(after && compare(S_PURGE, before, after, "purge") == 0,
          "purge: every table as before but exactly what was due");
    free(out);
    /* files */
    char cap[1300];
    snprintf(cap, sizeof(cap), "%s/upload/a.pcap", g_up);
    CHECK(!exists(g_fx[0].path[1]) && !exists(g_fx[0].path[2]) && !exists(cap),
          "call a's uploaded legs and capture are gone");
    CHECK(!exists(g_fx[3].path[0]), "call d's upload is gone (source upload: 7 days)");
    CHECK(exists(g_fx[1].path[0]) && exists(g_fx[2].path[0]),
          "the dialer's recordings stay, though beneath the upload folder");
    CHECK(exists(g_fx[7].path[0]), "call h's upload stays (not due)");
    /* the search */
    for (size_t i = 0; i < N_FX; i++) {
        char w[40];
        snprintf(w, sizeof(w), "zq%sneed", g_fx[i].name);
        int64_t n = search(w);
        bool gone = g_fx[i].due & A_TX;
        CHECK(n == (gone ? 0 : 1), "search for call %s's words: %" PRId64 " (%s)", g_fx[i].name, n,
              gone ? "purged" : "kept");
    }
    /* scores stay, without quotes */
    const char *key;
    json_t *row;
    int scores = 0, quoted = 0;
    json_object_foreach(json_object_get(after, "scores"), key, row)
    {
        scores++;
        fx *f = fx_by_id(row_int(row, "call_id"));
        bool q = strstr(json_string_value(json_object_get(row, "detail")), "\"quote\":\"") != NULL;
        if (f && (f->due & A_TX) && q)
            quoted++;
    }
    CHECK(scores == (int)N_FX && quoted == 0, "every score stays; none of a purged transcript "
                                              "keeps a quote");
    /* the log */
    char got[64][48];
    int ng = 0;
    static const char *const want_purge[] = {
        "a:audio:retention",      "a:llm:retention",        "a:report:retention",
        "a:transcript:retention", "b:llm:retention",        "b:report:retention",
        "b:transcript:retention", "d:audio:retention",      "e:transcript:retention",
        "f:llm:retention",        "f:transcript:retention", NULL};
    CHECK(log_lines(s, got, &ng) == 0 && lines_are(got, ng, want_purge),
          "the deletions' log holds exactly the due deletions (%d rows)", ng);

    /* again: nothing more is due */
    json_decref(before);
    before = after;
    rc = run_cli("purge --now @1780000000", "purge2.out");
    out = slurp("purge2.out");
    after = dump();
    CHECK(rc == 1 && !strchr(strchr(out, '\n') ? strchr(out, '\n') + 1 : "x", '\n') &&
              strstr(out, "rec-k") && after && json_equal(before, after),
          "a second purge finds nothing due but call k (failing again) and changes nothing");
    free(out);
    json_decref(after);

    /* erase by phone: dry run, then for real */
    rc = run_cli("erase --phone 12-345 --dry-run", "edry.out");
    CHECK(rc == 2, "erase: fewer than 6 digits refused (%d)", rc);
    rc = run_cli("erase --phone 555x1234 --dry-run", "edry.out");
    CHECK(rc == 2, "erase: a number with a letter refused (%d)", rc);
    rc = run_cli("erase --lead 888 --phone 5551234", "edry.out");
    CHECK(rc == 2, "erase: --lead and --phone together refused (%d)", rc);
    rc = run_cli("erase --phone '(555) 1234' --dry-run", "edry.out");
    out = slurp("edry.out");
    after = dump();
    CHECK(rc == 0 && after && json_equal(before, after), "erase --dry-run changed nothing (%d)",
          rc);
    CHECK(strstr(out, "stored result") && strstr(out, " - due"), "erase --dry-run says what is "
                                                                 "due");
    free(out);
    json_decref(after);
    rc = run_cli("erase --phone 5551234", "erase.out");
    out = slurp("erase.out");
    printf("# %s", out);
    after = dump();
    CHECK(rc == 0, "erase --phone: exit 0 (%d)", rc);
    CHECK(after && compare(S_ERASE_PHONE, before, after, "erase --phone") == 0,
          "erase --phone: every table as before but the caller's calls and stored result");
    CHECK(!exists(g_fx[7].path[0]) && exists(g_fx[6].path[0]),
          "the caller's upload is gone, the dialer's recording of the caller stays");
    CHECK(exists(g_fx[9].path[0]), "a call whose number only contains the digits stays");
    /* the roll-up of their day: one call fewer */
    int64_t q_before = 0, q_after = 0;
    json_object_foreach(json_object_get(before, "daily_stats"), key, row) q_before +=
        row_int(row, "queued");
    json_object_foreach(json_object_get(after, "daily_stats"), key, row) q_after +=
        row_int(row, "queued");
    CHECK(q_before - q_after == 2,
          "the roll-ups count the 2 erased calls no more (%" PRId64 " -> %" PRId64 ")", q_before,
          q_after);
    int64_t d_before = 0, d_after = 0;
    json_object_foreach(json_object_get(before, "day_summary"), key, row) d_before +=
        row_int(row, "total_calls");
    json_object_foreach(json_object_get(after, "day_summary"), key, row) d_after +=
        row_int(row, "total_calls");
    CHECK(d_before - d_after == 2 && d_after == q_after,
          "the days' summaries too (%" PRId64 " -> %" PRId64 ")", d_before, d_after);
    /* and the routes' (every stored call has a campaign: one row a call in that dimension) */
    int64_t r_before = 0, r_after = 0, h_after = 0;
    json_object_foreach(json_object_get(before, "route_daily"), key, row) r_before +=
        strcmp(json_string_value(json_object_get(row, "dim")), "campaign") ? 0
                                                                           : row_int(row, "calls");
    json_object_foreach(json_object_get(after, "route_daily"), key, row) r_after +=
        strcmp(json_string_value(json_object_get(row, "dim")), "campaign") ? 0
                                                                           : row_int(row, "calls");
    json_object_foreach(json_object_get(after, "route_hourly"), key, row) h_after +=
        strcmp(json_string_value(json_object_get(row, "dim")), "campaign") ? 0
                                                                           : row_int(row, "calls");
    CHECK(r_before - r_after == 2 && r_after == h_after && r_after > 0,
          "the routes' days and hours too (%" PRId64 " -> %" PRId64 ", hours %" PRId64 ")",
          r_before, r_after, h_after);
    {
        char w[40];
        snprintf(w, sizeof(w), "zqgneed");
        CHECK(search(w) == 0, "search finds nothing of an erased call");
    }
    static const char *const want_erase[] = {
        "-:result:erasure",       "a:audio:retention",      "a:llm:retention",
        "a:report:retention",     "a:transcript:retention", "b:llm:retention",
        "b:report:retention",     "b:transcript:retention", "d:audio:retention",
        "e:transcript:retention", "f:llm:retention",        "f:transcript:retention",
        "g:call:erasure",         "h:call:erasure",         NULL};
    CHECK(log_lines(s, got, &ng) == 0 && lines_are(got, ng, want_erase),
          "the log gained the 2 calls and the stored result, with no identifier");
    store_deletion_row dr[64];
    int nd = 0;
    bool anon = store_deletions(s, 0, dr, 64, &nd) == 0;
    for (int i = 0; i < nd; i++)
        if (!strcmp(dr[i].why, "erasure") && (dr[i].source[0] || dr[i].recording_id[0]))
            anon = false;
    CHECK(anon, "an erasure's log rows name no source or recording");
    free(out);

    /* erase by lead */
    json_decref(before);
    before = after;
    rc = run_cli("erase --lead 888", "erase2.out");
    after = dump();
    CHECK(rc == 0 && after && compare(S_ERASE_LEAD, before, after, "erase --lead") == 0,
          "erase --lead: exactly the lead's call went (%d)", rc);
    CHECK(exists(g_fx[8].path[0]), "the dialer's recording of the lead's call stays");
    rc = run_cli("erase --lead 888", "erase3.out");
    out = slurp("erase3.out");
    CHECK(rc == 0 && strstr(out, "no call"), "erasing again: no call of this caller");
    free(out);
    json_decref(before);
    json_decref(after);
    /* each purge and erasure run (not the dry runs) is in the audit trail, an erasure by its
     * number of calls only: never the caller's number or lead */
    audit_seen au = {0};
    CHECK(store_audit_list(s, 0, 0, 0, audit_row, &au) == 0 && au.purge >= 2 && au.erase == 3 &&
              !au.identifier,
          "the audit trail: %d purges, %d erasures by count, no number or lead", au.purge,
          au.erase);
    store_close(s);

    if (!g_failed) {
        char cmd[800];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", g_dir);
    } else {
        printf("# kept %s\n", g_dir);
    }
    printf("%d of %d checks failed\n", g_failed, g_checks);
    return g_failed ? 1 : 0;
}
