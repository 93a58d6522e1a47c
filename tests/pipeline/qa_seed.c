/*
 * qa_seed.c - a store filled as the pipeline fills it, for the score tests of the QA API: each
 * call of a JSON spec is put (store_call_put), claimed, analysed, moved to `scoring`, then
 * scored through store_job_scored with the spec's scores, or passed through as
 * "not_configured" when its score is null. tests/pipeline/qa_scores_check.py writes the spec,
 * computes every figure the API must give from the spec alone, and checks the answers.
 *
 *   usage: qa_seed STORE SPEC.json   (STORE: what store_open takes: a file or a URI)
 *   SPEC: {"calls": [{"recording_id", "agent_user", "agent_name", "campaign_id", "call_date",
 *          "length_sec", "score": null | {"total", "partial", "coverage", "flagged",
 *          "flag_reason", "cats": {key: number|null}, "summary", "strengths", "improvements",
 *          "llm_provider", "llm_model", "scorecard", "backend", "scorecard_hash",
 *          "provider_hash", "topic": [class, subclass], "customer_shift": number|null,
 *          "customer_drop": true|false|null, "detail": {...}}}]}
 *   A missing or null number is not scored (stored NULL).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/store/store_calls.h"
#include "../../src/store/store_jobs.h"

static void copy(char *dst, size_t n, json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    snprintf(dst, n, "%s", v ? v : "");
}

static const char *text(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* has: the key holds a number */
static bool number(json_t *o, const char *k, double *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_number(x))
        return false;
    *v = json_number_value(x);
    return true;
}

/* A JSON value of the spec as text (malloc'd), NULL when absent or null. */
static char *dump(json_t *o, const char *k)
{
    json_t *x = json_object_get(o, k);
    return x && !json_is_null(x) ? json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static int score_call(store *s, store_lease *l, json_t *sp, double now)
{
    store_score sc;
    memset(&sc, 0, sizeof(sc));
    sc.has_total = number(sp, "total", &sc.total_score);
    sc.has_partial = number(sp, "partial", &sc.partial_score);
    number(sp, "coverage", &sc.coverage);
    sc.flagged = json_is_true(json_object_get(sp, "flagged"));
    sc.flag_reason = text(sp, "flag_reason");
    json_t *cats = json_object_get(sp, "cats");
    for (int k = 0; k < STORE_SCORE_CATS; k++)
        sc.has_cat[k] = number(cats, store_score_cats[k], &sc.cat[k]);
    sc.summary = text(sp, "summary");
    char *strengths = dump(sp, "strengths"), *improvements = dump(sp, "improvements"),
         *detail = dump(sp, "detail");
    sc.strengths = strengths;
    sc.improvements = improvements;
    sc.detail = detail;
    sc.llm_provider = text(sp, "llm_provider");
    sc.llm_model = text(sp, "llm_model");
    sc.scorecard = text(sp, "scorecard");
    sc.backend = text(sp, "backend");
    sc.scorecard_hash = text(sp, "scorecard_hash");
    sc.provider_hash = text(sp, "provider_hash");
    json_t *topic = json_object_get(sp, "topic");
    sc.topic_class = json_string_value(json_array_get(topic, 0));
    sc.topic_subclass = json_string_value(json_array_get(topic, 1));
    sc.has_customer_shift = number(sp, "customer_shift", &sc.customer_shift);
    sc.has_customer_drop = json_is_boolean(json_object_get(sp, "customer_drop"));
    sc.customer_drop = json_is_true(json_object_get(sp, "customer_drop"));
    int rc = store_job_scored(s, l, &sc, now);
    free(strengths), free(improvements), free(detail);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: qa_seed STORE.db SPEC.json\n");
        return 2;
    }
    json_error_t je;
    json_t *spec = json_load_file(argv[2], 0, &je);
    json_t *calls = json_object_get(spec, "calls");
    if (!json_is_array(calls)) {
        fprintf(stderr, "qa_seed: %s: not a spec: %s\n", argv[2], spec ? "no calls" : je.text);
        return 2;
    }
    char msg[600];
    store *s = store_open(argv[1], msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "qa_seed: %s\n", msg);
        return 1;
    }
    double now = 1e9;
    size_t n = json_array_size(calls);
    int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *c = json_array_get(calls, i);
        store_call sc;
        memset(&sc, 0, sizeof(sc));
        snprintf(sc.source, sizeof(sc.source), "dialer");
        copy(sc.recording_id, sizeof(sc.recording_id), c, "recording_id");
        copy(sc.agent_user, sizeof(sc.agent_user), c, "agent_user");
        copy(sc.agent_name, sizeof(sc.agent_name), c, "agent_name");
        copy(sc.campaign_id, sizeof(sc.campaign_id), c, "campaign_id");
        copy(sc.call_date, sizeof(sc.call_date), c, "call_date");
        snprintf(sc.audio, sizeof(sc.audio), "/rec/%s.wav", sc.recording_id);
        sc.call_epoch = -1;
        json_t *len = json_object_get(c, "length_sec");
        sc.length_sec = json_is_integer(len) ? (int)json_integer_value(len) : -1;
        bool created;
        if (store_call_put(s, &sc, now, &ids[i], &created) != 0 || !created) {
            fprintf(stderr, "qa_seed: putting %s: %s\n", sc.recording_id, store_errmsg(s));
            rc = 1;
        }
    }
    for (size_t k = 0; k < n && rc == 0; k++) {
        store_lease l;
        if (store_job_claim(s, "seed", now, 600, &l) != 1) {
            fprintf(stderr, "qa_seed: nothing to claim: %s\n", store_errmsg(s));
            rc = 1;
            break;
        }
        size_t i = 0;
        while (i < n && ids[i] != l.call_id)
            i++;
        json_t *c = json_array_get(calls, i);
        store_figures f = {.duration_sec = 60,
                           .legs = 2,
                           .speech_pct = {40, 40},
                           .mos = {NAN, NAN},
                           .one_way = 0,
                           .talk_sec = {20, 20},
                           .dead_air_sec = 1,
                           .overtalk_sec = 0,
                           .hold_sec = 0};
        json_t *sp = json_object_get(c, "score");
        int r = store_job_analysed(s, &l, "seed", "{}", &f, JOB_TRANSCRIBING, now);
        if (r == STORE_OK)
            r = store_job_advance(s, &l, JOB_TRANSCRIBED, "transcribe", "not_configured", now);
        if (r == STORE_OK)
            r = store_job_advance(s, &l, JOB_SCORING, NULL, NULL, now);
        if (r == STORE_OK)
            r = json_is_object(sp)
                    ? score_call(s, &l, sp, now)
                    : store_job_advance(s, &l, JOB_COMPLETE, "score", "not_configured", now);
        if (r != STORE_OK) {
            fprintf(stderr, "qa_seed: call %s: %s\n", text(c, "recording_id"), store_errmsg(s));
            rc = 1;
        }
    }
    if (rc == 0)
        printf("qa_seed: %zu calls\n", n);
    free(ids);
    store_close(s);
    json_decref(spec);
    return rc;
}
