/*
 * test_roles_jobs.c - the worker's side of roles (src/pipeline/roles.c): the campaigns with voice
 * profiles, the speakers' words taken from a transcript of the whole mix (by the diarized speech
 * each segment overlaps) or from segments labelled S1/S2 (a transcript sent per speaker), the
 * labels mapped by the roles decided and kept when unknown, the answer time and the direction
 * passed on, a two-leg call left without roles, and the agent leg's print taken out of a report.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pipeline/pipeline.h"
#include "../../src/store/store_calls.h"

/* a mono report: S1 speaks 0.5-3 and 7-9, S2 3.5-6.5; the answer at 0.2 s */
static const char k_report[] =
    "{\"has_legs\": false, \"call_events\": {\"time_to_answer_sec\": 0.2},"
    " \"inbound\": {\"role\": \"mixed\"}, \"outbound\": null,"
    " \"speakers\": ["
    "  {\"id\": \"S1\", \"talk_sec\": 4.5, \"first_sec\": 0.5, \"voiceprint\": null,"
    "   \"segments\": [{\"start\": 0.5, \"end\": 3.0}, {\"start\": 7.0, \"end\": 9.0}]},"
    "  {\"id\": \"S2\", \"talk_sec\": 3.0, \"first_sec\": 3.5, \"voiceprint\": null,"
    "   \"segments\": [{\"start\": 3.5, \"end\": 6.5}]}]}";

static json_t *load(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_campaigns(void **state)
{
    (void)state;
    cfg_settings c;
    cfg_defaults(&c);
    assert_false(pl_profile_campaign(&c, "BANK")); /* off by default */
    snprintf(c.voice_profile_campaigns, sizeof(c.voice_profile_campaigns), "BANK, SUPPORT");
    assert_true(pl_profile_campaign(&c, "BANK"));
    assert_true(pl_profile_campaign(&c, "SUPPORT"));
    assert_false(pl_profile_campaign(&c, "BAN"));
    assert_false(pl_profile_campaign(&c, "SALES"));
    assert_false(pl_profile_campaign(&c, ""));
}

/* a transcript of the whole mix: each segment is the words of the speaker it overlaps most */
static void test_mixed_transcript(void **state)
{
    (void)state;
    json_t *r = load(k_report);
    json_t *tx = load("{\"legs\": [{\"leg\": \"inbound\", \"role\": \"mixed\", \"segments\": ["
                      " {\"start\": 3.6, \"end\": 6.4, \"text\": \"Thank you for calling, how can "
                      "I help you?\"},"
                      " {\"start\": 0.6, \"end\": 2.9, \"text\": \"Hi, I'd like to ask about my "
                      "account.\"}]}],"
                      " \"turns\": [{\"speaker\": \"mixed\", \"start\": 0.6, \"end\": 6.4, "
                      "\"text\": \"...\"}]}");
    store_call call;
    memset(&call, 0, sizeof(call));
    snprintf(call.direction, sizeof(call.direction), "inbound");
    sc_roles ro;
    assert_int_equal(pl_roles_of_call(r, tx, &call, NULL, &ro), 1);
    assert_int_equal(ro.role[0], SC_ROLE_CUSTOMER);
    assert_int_equal(ro.role[1], SC_ROLE_AGENT);
    assert_string_equal(ro.decided_by, "transcript");
    json_t *jr = json_object_get(r, "roles");
    assert_string_equal(json_string_value(json_object_get(json_object_get(jr, "S2"), "role")),
                        "agent");
    /* the first speaker after the answer: S1 at 0.3 s after it, inbound: listed for S1 */
    bool first = false;
    for (int i = 0; i < ro.n_ev; i++)
        if (!strcmp(ro.ev[i].kind, "first_speaker")) {
            first = true;
            assert_string_equal(ro.ev[i].supports, "S1 agent");
            assert_non_null(strstr(ro.ev[i].detail, "S1 spoke first, 0.3 s after the answer"));
        }
    assert_true(first);
    /* a mixed turn is not relabelled: it holds both speakers */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(tx, "turns"), 0), "speaker")),
                        "mixed");
    json_decref(tx);
    json_decref(r);
}

/* a transcript sent per speaker (segments and turns labelled S1/S2): labelled by the roles */
static void test_labelled_transcript(void **state)
{
    (void)state;
    json_t *r = load(k_report);
    json_t *tx =
        load("{\"legs\": [{\"leg\": \"inbound\", \"role\": \"mixed\", \"segments\": ["
             " {\"speaker\": \"S1\", \"start\": 0.6, \"end\": 2.9, \"text\": \"thank you for "
             "calling this is anna from support how can i help\"},"
             " {\"speaker\": \"S2\", \"start\": 3.6, \"end\": 6.4, \"text\": \"i'm calling about "
             "my account\"}]}],"
             " \"turns\": [{\"speaker\": \"S1\", \"start\": 0.6, \"end\": 2.9, \"text\": \"a\"},"
             " {\"speaker\": \"S2\", \"start\": 3.6, \"end\": 6.4, \"text\": \"b\"}]}");
    store_call call;
    memset(&call, 0, sizeof(call));
    sc_roles ro;
    assert_int_equal(pl_roles_of_call(r, tx, &call, NULL, &ro), 1);
    assert_int_equal(ro.role[0], SC_ROLE_AGENT);
    json_t *turns = json_object_get(tx, "turns");
    assert_string_equal(json_string_value(json_object_get(json_array_get(turns, 0), "speaker")),
                        "agent");
    assert_string_equal(json_string_value(json_object_get(json_array_get(turns, 1), "speaker")),
                        "customer");
    json_t *seg = json_array_get(
        json_object_get(json_array_get(json_object_get(tx, "legs"), 0), "segments"), 1);
    assert_string_equal(json_string_value(json_object_get(seg, "speaker")), "customer");
    /* the label mapping: unknown roles keep S1/S2, other labels pass */
    sc_roles none;
    memset(&none, 0, sizeof(none));
    assert_string_equal(pl_roles_speaker_label(&none, "S1"), "S1");
    assert_string_equal(pl_roles_speaker_label(&ro, "S2"), "customer");
    assert_string_equal(pl_roles_speaker_label(&ro, "mixed"), "mixed");
    assert_string_equal(pl_roles_speaker_label(NULL, "S1"), "S1");
    json_decref(tx);
    json_decref(r);
}

/* no transcript, no profile: both unknown; a two-leg call gets no roles */
static void test_unknown_and_legs(void **state)
{
    (void)state;
    json_t *r = load(k_report);
    store_call call;
    memset(&call, 0, sizeof(call));
    sc_roles ro;
    assert_int_equal(pl_roles_of_call(r, NULL, &call, NULL, &ro), 1);
    assert_int_equal(ro.role[0], SC_ROLE_UNKNOWN);
    assert_int_equal(ro.role[1], SC_ROLE_UNKNOWN);
    assert_true(json_is_null(
        json_object_get(json_object_get(json_object_get(r, "roles"), "S1"), "confidence")));
    json_decref(r);
    json_t *legs = load("{\"has_legs\": true, \"speakers\": null, \"inbound\": {\"role\": "
                        "\"customer\"}, \"outbound\": {\"role\": \"agent\"}}");
    assert_int_equal(pl_roles_of_call(legs, NULL, &call, NULL, &ro), 0);
    assert_null(json_object_get(legs, "roles"));
    json_decref(legs);
}

static char *print_json(double base)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    fprintf(f, "{\"method\": \"mfcc16-mean-sd\", \"speech_sec\": 6.5, \"v\": [");
    for (int i = 0; i < CQ_VOICEPRINT_DIM; i++)
        fprintf(f, "%s%.3f", i ? ", " : "", i < 18 ? base + i : 1.0 + 0.01 * i);
    fprintf(f, "]}");
    fclose(f);
    return s;
}

/* the agent leg's print of a two-leg call taken; every print out of the report */
static void test_voiceprint_take(void **state)
{
    (void)state;
    char *pa = print_json(5), *pc = print_json(-5), *text = NULL;
    assert_true(asprintf(&text,
                         "{\"has_legs\": true, \"inbound\": {\"role\": \"customer\", "
                         "\"voiceprint\": %s}, \"outbound\": {\"role\": \"agent\", "
                         "\"voiceprint\": %s}, \"speakers\": null}",
                         pc, pa) > 0);
    json_t *r = load(text);
    double v[STORE_VP_MAX_DIM], sp = 0;
    int dim = 0;
    assert_int_equal(pl_voiceprint_take(r, true, v, &dim, &sp), 1);
    assert_int_equal(dim, CQ_VOICEPRINT_DIM);
    assert_float_equal(v[0], 5, 1e-6); /* the agent's, not the customer's */
    assert_float_equal(sp, 6.5, 1e-9);
    char *after = json_dumps(r, 0);
    assert_null(strstr(after, "voiceprint"));
    free(after);
    json_decref(r);
    /* a mono mix: no agent leg; the speakers' prints set to null */
    free(text);
    assert_true(asprintf(&text,
                         "{\"has_legs\": false, \"inbound\": {\"role\": \"mixed\"}, "
                         "\"outbound\": null, \"speakers\": [{\"id\": \"S1\", \"voiceprint\": "
                         "%s}]}",
                         pa) > 0);
    r = load(text);
    assert_int_equal(pl_voiceprint_take(r, true, v, &dim, &sp), 0);
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(r, "speakers"), 0), "voiceprint")));
    json_decref(r);
    free(text);
    free(pa);
    free(pc);
}

/* a profile decides on a mono mix through the report's prints */
static void test_profile_similarity(void **state)
{
    (void)state;
    char *p1 = print_json(5), *p2 = print_json(-5), *text = NULL;
    assert_true(asprintf(&text,
                         "{\"has_legs\": false, \"speakers\": ["
                         "{\"id\": \"S1\", \"talk_sec\": 5, \"first_sec\": 1, \"segments\": [],"
                         " \"voiceprint\": %s},"
                         "{\"id\": \"S2\", \"talk_sec\": 5, \"first_sec\": 2, \"segments\": [],"
                         " \"voiceprint\": %s}]}",
                         p2, p1) > 0);
    json_t *r = load(text);
    store_voice_profile prof;
    memset(&prof, 0, sizeof(prof));
    snprintf(prof.agent, sizeof(prof.agent), "1001");
    prof.dim = CQ_VOICEPRINT_DIM;
    prof.calls = 4;
    json_t *pj = load(p1);
    for (int i = 0; i < CQ_VOICEPRINT_DIM; i++)
        prof.v[i] = json_number_value(json_array_get(json_object_get(pj, "v"), (size_t)i));
    json_decref(pj);
    store_call call;
    memset(&call, 0, sizeof(call));
    sc_roles ro;
    assert_int_equal(pl_roles_of_call(r, NULL, &call, &prof, &ro), 1);
    assert_int_equal(ro.role[1], SC_ROLE_AGENT);
    assert_string_equal(ro.decided_by, "profile");
    assert_non_null(strstr(ro.ev[0].detail, "voice profile of agent 1001 from 4 calls"));
    json_decref(r);
    free(text);
    free(p1);
    free(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_campaigns),           cmocka_unit_test(test_mixed_transcript),
        cmocka_unit_test(test_labelled_transcript), cmocka_unit_test(test_unknown_and_legs),
        cmocka_unit_test(test_voiceprint_take),     cmocka_unit_test(test_profile_similarity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
