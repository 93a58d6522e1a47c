/*
 * ask_policy.c - what POST /ask may read (docs/ask.md, "What the model may read"): the default
 * allow-lists of the QA store and of ViciDial, the credential columns that are never readable
 * whatever the configuration, and the description of the allowed tables that the model is given
 * in place of the raw schema.
 *
 * Personal columns (phone numbers, the customer's lead, addresses, transcripts' words, the QA
 * summaries that quote them) are out of the defaults: an operator adds them with ask_allow /
 * ask_vicidial_allow. Credential columns cannot be added.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ask.h"
#include "../store/store_ro.h"

const char *const ask_store_allow_default[] = {"calls.id",
                                               "calls.source",
                                               "calls.recording_id",
                                               "calls.agent_user",
                                               "calls.agent_name",
                                               "calls.campaign_id",
                                               "calls.campaign_name",
                                               "calls.direction",
                                               "calls.call_date",
                                               "calls.day",
                                               "calls.tz",
                                               "calls.call_epoch",
                                               "calls.length_sec",
                                               "calls.disposition",
                                               "calls.term_reason",
                                               "calls.open",
                                               "analyses.call_id",
                                               "analyses.duration_sec",
                                               "analyses.legs",
                                               "analyses.speech_pct_in",
                                               "analyses.speech_pct_out",
                                               "analyses.mos_in",
                                               "analyses.mos_out",
                                               "analyses.mos_model",
                                               "analyses.net_mos",
                                               "analyses.net_mos_model",
                                               "analyses.one_way",
                                               "analyses.talk_sec_in",
                                               "analyses.talk_sec_out",
                                               "analyses.dead_air_sec",
                                               "analyses.overtalk_sec",
                                               "analyses.hold_sec",
                                               "analyses.hold_count",
                                               "analyses.tone_count",
                                               "analyses.dtmf_count",
                                               "analyses.clipping_pct",
                                               "analyses.level_db",
                                               "analyses.created",
                                               "jobs.call_id",
                                               "jobs.state",
                                               "jobs.queued",
                                               "jobs.started",
                                               "jobs.finished",
                                               "jobs.retry_count",
                                               "jobs.skip_reason",
                                               "jobs.error_stage",
                                               "scores.call_id",
                                               "scores.day",
                                               "scores.scorecard",
                                               "scores.backend",
                                               "scores.total_score",
                                               "scores.partial_score",
                                               "scores.coverage",
                                               "scores.flagged",
                                               "scores.flag_reason",
                                               "scores.greeting",
                                               "scores.customer_id",
                                               "scores.needs",
                                               "scores.product",
                                               "scores.communication",
                                               "scores.resolution",
                                               "scores.closing",
                                               "scores.compliance",
                                               "scores.topic_class",
                                               "scores.topic_subclass",
                                               "scores.created",
                                               "score_overrides.call_id",
                                               "score_overrides.category",
                                               "score_overrides.score",
                                               "score_overrides.supervisor",
                                               "score_overrides.created",
                                               "transcripts.call_id",
                                               "transcripts.engine",
                                               "transcripts.model",
                                               "transcripts.language",
                                               "transcripts.word_count",
                                               "transcripts.seconds",
                                               "transcripts.created",
                                               "daily_stats.*",
                                               NULL};

/* ViciDial: the call logs, the agents' time, the campaigns and queues, the recordings' index; not
 * the leads (their ids, phone numbers, names, addresses), the caller id, comments, or anything of
 * the servers */
const char *const ask_vicidial_allow_default[] = {"vicidial_log.uniqueid",
                                                  "vicidial_log.call_date",
                                                  "vicidial_log.campaign_id",
                                                  "vicidial_log.user",
                                                  "vicidial_log.user_group",
                                                  "vicidial_log.length_in_sec",
                                                  "vicidial_log.status",
                                                  "vicidial_log.term_reason",
                                                  "vicidial_closer_log.closecallid",
                                                  "vicidial_closer_log.uniqueid",
                                                  "vicidial_closer_log.call_date",
                                                  "vicidial_closer_log.campaign_id",
                                                  "vicidial_closer_log.user",
                                                  "vicidial_closer_log.user_group",
                                                  "vicidial_closer_log.length_in_sec",
                                                  "vicidial_closer_log.queue_seconds",
                                                  "vicidial_closer_log.status",
                                                  "vicidial_closer_log.term_reason",
                                                  "vicidial_agent_log.agent_log_id",
                                                  "vicidial_agent_log.user",
                                                  "vicidial_agent_log.event_time",
                                                  "vicidial_agent_log.campaign_id",
                                                  "vicidial_agent_log.user_group",
                                                  "vicidial_agent_log.pause_sec",
                                                  "vicidial_agent_log.wait_sec",
                                                  "vicidial_agent_log.talk_sec",
                                                  "vicidial_agent_log.dispo_sec",
                                                  "vicidial_agent_log.status",
                                                  "vicidial_agent_log.sub_status",
                                                  "vicidial_users.user",
                                                  "vicidial_users.full_name",
                                                  "vicidial_users.user_group",
                                                  "vicidial_user_groups.user_group",
                                                  "vicidial_user_groups.group_name",
                                                  "vicidial_campaigns.campaign_id",
                                                  "vicidial_campaigns.campaign_name",
                                                  "vicidial_inbound_groups.group_id",
                                                  "vicidial_inbound_groups.group_name",
                                                  "vicidial_statuses.status",
                                                  "vicidial_statuses.status_name",
                                                  "recording_log.recording_id",
                                                  "recording_log.start_time",
                                                  "recording_log.length_in_sec",
                                                  "recording_log.user",
                                                  "recording_log.vicidial_id",
                                                  NULL};

/* a column name that reads as a credential: pass, *_pass, pass_*, *password*, *secret*,
 * *token*, *_key, apikey... (qc_pass and force_change_password are flags, refused all the same:
 * a false refusal costs less than a credential read) */
static bool credential_name(const char *c)
{
    char l[128];
    size_t n = 0;
    for (; c[n] && n < sizeof(l) - 1; n++)
        l[n] = (char)tolower((unsigned char)c[n]);
    l[n] = 0;
    if (!strcmp(l, "pass") || !strcmp(l, "passwd") || !strncmp(l, "pass_", 5) ||
        (n > 5 && !strcmp(l + n - 5, "_pass")) || strstr(l, "password") || strstr(l, "secret") ||
        strstr(l, "token") || strstr(l, "apikey") || strstr(l, "api_key") ||
        (n > 4 && !strcmp(l + n - 4, "_key")) || strstr(l, "pass_hash") || strstr(l, "passwd"))
        return true;
    return false;
}

bool ask_never(const char *table, const char *column)
{
    if (!column || !*column || !strcmp(column, "*"))
        return false;
    char key[300];
    snprintf(key, sizeof(key), "%s.%s", table ? table : "", column);
    for (const char *const *p = store_ro_vicidial_never; *p; p++)
        if (!strcasecmp(*p, key))
            return true;
    return credential_name(column);
}

void ask_allow_free(char **l)
{
    for (char **p = l; p && *p; p++)
        free(*p);
    free(l);
}

static bool ident(const char *s, size_t n)
{
    if (!n || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

int ask_allow_list(const char *const *defaults, const char *extra, char ***out, char *err, size_t n)
{
    *out = NULL;
    size_t cap = 8, len = 0;
    for (const char *const *p = defaults; p && *p; p++)
        cap++;
    for (const char *p = extra; p && *p; p++)
        cap += *p == ',';
    char **l = calloc(cap + 1, sizeof(char *));
    if (!l) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    for (const char *const *p = defaults; p && *p; p++)
        if (!(l[len++] = strdup(*p)))
            goto oom;
    for (const char *p = extra ? extra : ""; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t k = strcspn(p, ", ");
        if (!k)
            break;
        const char *dot = memchr(p, '.', k);
        if (!dot || !ident(p, (size_t)(dot - p)) ||
            !(ident(dot + 1, k - (size_t)(dot - p) - 1) ||
              (k - (size_t)(dot - p) - 1 == 1 && dot[1] == '*'))) {
            snprintf(err, n, "'%.*s' is not table.column or table.*", (int)(k > 100 ? 100 : k), p);
            ask_allow_free(l);
            return -1;
        }
        char table[65], col[65];
        snprintf(table, sizeof(table), "%.*s", (int)(dot - p), p);
        snprintf(col, sizeof(col), "%.*s", (int)(k - (size_t)(dot - p) - 1), dot + 1);
        if (ask_never(table, col)) {
            snprintf(err, n, "%s.%s is a credential column: it can never be read by /ask", table,
                     col);
            ask_allow_free(l);
            return -1;
        }
        if (len < cap && !(l[len++] = strndup(p, k)))
            goto oom;
        p += k;
    }
    *out = l;
    return 0;
oom:
    ask_allow_free(l);
    snprintf(err, n, "out of memory");
    return -1;
}

/* ---- the schema the model sees ----------------------------------------------------------------
 */

typedef struct table_note {
    const char *table, *note;
} table_note;

static const table_note k_notes[] = {
    {"calls", "one row per recorded call; day is the local date YYYY-MM-DD, call_date the local "
              "time YYYY-MM-DD HH:MM:SS, call_epoch UTC seconds, length_sec the dialer's length, "
              "direction inbound or outbound, open 1 while the dialer's row may still change"},
    {"analyses", "the acoustic analysis of a call (call_id = calls.id): mos_in and mos_out are "
                 "the speech quality per leg (1-5; mos_model names the model, NISQA v2 or DNSMOS "
                 "P.835 OVRL, whose scales differ: compare or average only rows of one "
                 "mos_model), net_mos the "
                 "network's (ITU-T G.107 E-model, from a capture), one_way 1 for one-way audio, "
                 "seconds of talk, dead air, overtalk and hold"},
    {"jobs", "the QA pipeline's job of a call: state pending, running, complete, error or "
             "skipped; times in UTC seconds"},
    {"scores", "the QA scorecard's result of a call: total_score 0-100, one column per "
               "category, flagged 1 when a supervisor should look"},
    {"score_overrides", "a supervisor's correction of one category's score"},
    {"transcripts", "a call's transcript's facts (its words only when the operator allowed "
                    "transcripts.text)"},
    {"daily_stats", "the roll-up per day, source, agent and campaign: counts of calls queued, "
                    "analysed, skipped, errored; sums of talk, hold and dead air seconds; mos_sum "
                    "/ mos_n is the mean NISQA MOS, dnsmos_sum / dnsmos_n the mean DNSMOS "
                    "P.835 OVRL (never add the two); score_sum / scored the mean score"},
    {"vicidial_log", "outbound calls: one row per call, call_date local time, length_in_sec, "
                     "user the agent, status the disposition"},
    {"vicidial_closer_log", "inbound calls (closer/queue): queue_seconds is the caller's wait, "
                            "campaign_id the inbound group"},
    {"vicidial_agent_log", "the agents' time: pause, wait, talk and dispo seconds per event"},
    {"vicidial_users", "the agents"},
    {"recording_log", "the recordings' index"},
};

int ask_allow_tables(const char *const *allow, ask_table_fn fn, void *user)
{
    size_t n = 0;
    while (allow && allow[n])
        n++;
    const char **cols = malloc((n ? n : 1) * sizeof(*cols));
    if (!cols)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(allow[i], '.');
        size_t tl = dot ? (size_t)(dot - allow[i]) : 0;
        bool seen = !dot || tl >= 65;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strncmp(allow[j], allow[i], tl + 1);
        if (seen)
            continue;
        char table[65];
        snprintf(table, sizeof(table), "%.*s", (int)tl, allow[i]);
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (!strncmp(allow[j], allow[i], tl + 1))
                cols[k++] = allow[j] + tl + 1;
        fn(user, table, cols, k);
    }
    free(cols);
    return 0;
}

/* One "- name(col, col, ...): note" line of the description. */
static void describe_table(void *user, const char *table, const char *const *cols, size_t n)
{
    FILE *f = user;
    fprintf(f, "- %s(", table);
    for (size_t j = 0; j < n; j++)
        fprintf(f, "%s%s", j ? ", " : "", cols[j]);
    fprintf(f, ")");
    for (size_t k = 0; k < sizeof(k_notes) / sizeof(k_notes[0]); k++)
        if (!strcmp(k_notes[k].table, table))
            fprintf(f, ": %s", k_notes[k].note);
    fprintf(f, "\n");
}

char *ask_schema_text(const ask_schema_in *in)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    if (in->store_allow) {
        fprintf(f,
                "Source \"callqa\" (the QA store; SQL of %s; only these tables and columns; a "
                "table given with * has all its columns):\n",
                in->store_dialect ? in->store_dialect : "SQLite");
        ask_allow_tables(in->store_allow, describe_table, f);
    }
    if (in->vicidial_allow) {
        fprintf(f,
                "\nSource \"mysql\" with server \"%s\" (the ViciDial dialer's database, MariaDB "
                "SQL; only these tables and columns):\n",
                in->vicidial_name ? in->vicidial_name : "vicidial");
        ask_allow_tables(in->vicidial_allow, describe_table, f);
    }
    if (in->prometheus)
        fprintf(f, "\nSource \"prometheus\" (PromQL over the service's metrics: callqa_* "
                   "and callqa_qa_* series, e.g. callqa_inflight_requests, "
                   "callqa_qa_jobs_finished_total, and up).\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
