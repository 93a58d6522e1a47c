/*
 * test_prompt_fit.c - every prompt within the model's context (docs/llm.md "Every prompt within
 * the context"), on hand-made calls and a client that is never reached:
 *   - the LLM client's room (llm_body_max, llm_prompt_max, llm_request_size) and its guard: a
 *     request over the room is refused with both figures, recorded, and never sent; a client
 *     whose context leaves no room beside the answer is refused at its creation; a repair turn
 *     after a long bad answer (a server on loopback answering 20 KB that is not JSON) carries
 *     the answer's head within the room, or is not made when even that would not fit;
 *   - scoring's prompt (sc_llm_prompt_fit) on a long call: within the room as the client
 *     measures it, the opening and closing turns kept whole and whole turns of the middle left
 *     out, the cut marked in the block and counted; a short call whole; a first and a last turn
 *     too long for the room kept cut to their heads; the report's figures given way to the
 *     duration; instructions alone over the room refused; the fitted prompt passes the client's
 *     guard where the whole one is refused;
 *   - the result saying what was cut (transcript_cut, the summary's and the sentiment's notes);
 *   - /ai-analyze's prompt (sc_assess_prompt_fit): the report's long arrays cut, left_out said;
 *   - js_fit: items from arrays' ends (the first kept), strings to their heads, the counts by
 *     path, and -1 when nothing can be cut.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../src/clients/llm.h"
#include "../../src/schema/js.h"
#include "../../src/scoring/scoring.h"
#include "../../src/transcript/transcript.h"

static const char k_card[] =
    "{\"name\": \"t\", \"categories\": ["
    "{\"key\": \"greeting\", \"weight\": 0.2, \"method\": \"rules\", \"spec\": {\"checks\": "
    "[{\"key\": \"x\", \"phrases\": [\"hello\"]}], \"levels\": [{\"score\": 5, \"all\": "
    "[\"x\"]}]}},"
    "{\"key\": \"needs\", \"name\": \"Needs assessment\", \"weight\": 0.8, \"method\": \"llm\","
    " \"spec\": {\"rubric\": \"Did the agent ask what the customer needed?\"}}]}";

/* A client of the OpenAI protocol at the discard port (nothing listens: a request sent fails as
 * "network"), no key, no retries. */
static llm_client *client(int context_tokens, int max_tokens)
{
    llm_config c = {.primary = llm_default_provider_config()};
    snprintf(c.primary.url, sizeof(c.primary.url), "http://127.0.0.1:9/v1");
    snprintf(c.primary.model, sizeof(c.primary.model), "m");
    c.primary.retries = 0;
    c.primary.connect_timeout_sec = 2;
    c.primary.timeout_sec = 2;
    c.primary.context_tokens = context_tokens;
    c.primary.max_tokens = max_tokens;
    char err[300];
    llm_client *l = llm_create(&c, err, sizeof(err));
    if (!l)
        fail_msg("the client: %s", err);
    return l;
}

static size_t measure(void *user, const char *system, const char *text, const char *schema)
{
    llm_message m = {.role = LLM_USER, .text = text};
    llm_request rq = {.system = system,
                      .messages = &m,
                      .n_messages = 1,
                      .schema = schema,
                      .schema_name = "score"};
    return llm_request_size(user, &rq);
}

static size_t prompt_size(llm_client *l, const sc_llm_prompt *p)
{
    return measure(l, p->system, p->user, p->schema);
}

/* n turns, agent and customer in turn, 5 s each; turn i says "turn i:" then `words` words */
static sc_text long_text(size_t n, size_t words)
{
    sc_text t = {.n = n, .duration = 5.0 * (double)n, .separated = true};
    t.u = calloc(n, sizeof(sc_utt));
    for (size_t i = 0; i < n; i++) {
        sc_utt *u = &t.u[i];
        snprintf(u->speaker, sizeof(u->speaker), "%s", i % 2 ? SC_CUSTOMER : SC_AGENT);
        u->start = 5.0 * (double)i, u->end = 5.0 * (double)i + 4.0;
        size_t cap = 64 + words * 8;
        u->text = malloc(cap);
        int k = snprintf(u->text, cap, "%s turn %zu:",
                         i == 0       ? "hello thank you for calling"
                         : i == n - 1 ? "goodbye and thank you"
                                      : "and",
                         i);
        for (size_t w = 0; w < words; w++)
            k += snprintf(u->text + k, cap - (size_t)k, " word%zu", w % 10);
        u->norm = tx_normalize(u->text);
    }
    return t;
}

static sc_card card(const char *text)
{
    sc_card c;
    char err[200];
    if (sc_card_load(text, strlen(text), &c, err, sizeof(err)) != 0)
        fail_msg("the card: %s", err);
    return c;
}

static bool has_turn(const char *user, size_t i)
{
    char k[40];
    snprintf(k, sizeof(k), " turn %zu:", i);
    return strstr(user, k) != NULL;
}

typedef struct recorded {
    int n;
    char outcome[40];
    int http_status;
} recorded;

static void on_record(const llm_attempt *a, void *user)
{
    recorded *r = user;
    r->n++;
    snprintf(r->outcome, sizeof(r->outcome), "%s", a->outcome);
    r->http_status = a->http_status;
}

/* ---- the client's room and guard ----------------------------------------------------------- */

static void client_room(void **state)
{
    (void)state;
    llm_client *l = client(8192, 1024);
    assert_int_equal(llm_body_max(l), 8192 - 1024);
    assert_int_equal(llm_prompt_max(l), 8192 - 1024 - LLM_REPAIR_ROOM);
    llm_destroy(l);
    l = client(2048, 1024); /* a quarter of a small room for the repair turn */
    assert_int_equal(llm_body_max(l), 1024);
    assert_int_equal(llm_prompt_max(l), 1024 - 256);
    /* a request's size is its body's as sent */
    llm_message m = {.role = LLM_USER, .text = "hello \"there\""};
    llm_request rq = {.system = "sys", .messages = &m, .n_messages = 1};
    llm_config c = {.primary = llm_default_provider_config()};
    snprintf(c.primary.url, sizeof(c.primary.url), "http://127.0.0.1:9/v1");
    snprintf(c.primary.model, sizeof(c.primary.model), "m");
    c.primary.context_tokens = 2048, c.primary.max_tokens = 1024;
    char err[300];
    char *body = llm_request_body(&c.primary, &rq, err, sizeof(err));
    assert_non_null(body);
    assert_int_equal(llm_request_size(l, &rq), strlen(body));
    free(body);
    llm_destroy(l);
    /* no room beside the answer: refused at creation, with both settings named */
    c.primary.context_tokens = 2048, c.primary.max_tokens = 2048;
    assert_null(llm_create(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "llm_context_tokens (2048) leaves no room"));
}

static void client_guard(void **state)
{
    (void)state;
    llm_client *l = client(2048, 1024);
    char *big = malloc(3001);
    memset(big, 'a', 3000);
    big[3000] = 0;
    llm_message m = {.role = LLM_USER, .text = "hello"};
    llm_request rq = {.system = big, .messages = &m, .n_messages = 1};
    recorded rec = {0};
    llm_response out;
    char err[600];
    llm_status st = llm_call(l, &rq, NULL, on_record, &rec, &out, err, sizeof(err));
    assert_int_equal(st, LLM_TOO_LARGE);
    assert_int_equal(out.attempts, 0); /* nothing sent */
    assert_int_equal(rec.n, 1);        /* but recorded */
    assert_string_equal(rec.outcome, "prompt_too_large");
    assert_int_equal(rec.http_status, 0);
    assert_non_null(strstr(err, "prompt_too_large: the request is "));
    assert_non_null(strstr(err, "over the 1024 that the model's context leaves"));
    assert_non_null(strstr(err, "llm_context_tokens 2048 less llm_max_tokens 1024"));
    llm_response_free(&out);
    /* within the room: sent (and failing here, as nothing listens) */
    big[500] = 0;
    memset(&rec, 0, sizeof(rec));
    st = llm_call(l, &rq, NULL, on_record, &rec, &out, err, sizeof(err));
    assert_int_equal(st, LLM_ERROR);
    assert_int_equal(out.attempts, 1);
    assert_string_equal(rec.outcome, "network");
    llm_response_free(&out);
    free(big);
    llm_destroy(l);
}

/* A server on loopback speaking the OpenAI protocol: every request's body size kept, each
 * answered 200 with 20 KB of text that is not JSON (a model that ignored the schema). */
typedef struct bodies {
    int n;
    size_t sizes[8];
    bool marked[8]; /* the body held the repair's note of what it left out */
} bodies;

typedef struct bad_server {
    int fd, port;
    bodies got; /* under mu */
    pthread_t t;
    pthread_mutex_t mu;
} bad_server;

/* what the server has seen so far */
static bodies seen(bad_server *b)
{
    pthread_mutex_lock(&b->mu);
    bodies v = b->got;
    pthread_mutex_unlock(&b->mu);
    return v;
}

static void *serve(void *arg)
{
    bad_server *b = arg;
    static char answer[21000];
    memset(answer, 'x', 20000);
    answer[20000] = 0;
    char *json = NULL;
    if (asprintf(&json,
                 "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
                 "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,"
                 "\"completion_tokens\":1}}",
                 answer) < 0)
        return NULL;
    for (;;) {
        int c = accept(b->fd, NULL, NULL);
        if (c < 0)
            break;
        size_t cap = (size_t)1 << 20, got = 0, want = 0;
        char *req = malloc(cap), *body = NULL;
        while (req && got < cap - 1) {
            ssize_t k = read(c, req + got, cap - 1 - got);
            if (k <= 0)
                break;
            got += (size_t)k;
            req[got] = 0;
            if (!body && (body = strstr(req, "\r\n\r\n"))) {
                body += 4;
                const char *cl = strcasestr(req, "content-length:");
                want = cl ? strtoul(cl + 15, NULL, 10) : 0;
            }
            if (body && got - (size_t)(body - req) >= want)
                break;
        }
        pthread_mutex_lock(&b->mu);
        if (body && b->got.n < 8) {
            b->got.sizes[b->got.n] = want;
            b->got.marked[b->got.n] = strstr(body, "bytes of this answer left out") != NULL;
            b->got.n++;
        }
        pthread_mutex_unlock(&b->mu);
        char head[160];
        int hl = snprintf(head, sizeof(head),
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          strlen(json));
        if (write(c, head, (size_t)hl) < 0 || write(c, json, strlen(json)) < 0) {
            pthread_mutex_lock(&b->mu);
            b->got.n += 100; /* seen as a fault */
            pthread_mutex_unlock(&b->mu);
        }
        free(req);
        close(c);
    }
    free(json);
    return NULL;
}

static void bad_start(bad_server *b)
{
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(b->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(b->fd, 8), 0);
    assert_int_equal(getsockname(b->fd, (struct sockaddr *)&a, &al), 0);
    b->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&b->t, NULL, serve, b), 0);
}

static void bad_stop(bad_server *b)
{
    shutdown(b->fd, SHUT_RDWR);
    close(b->fd);
    pthread_join(b->t, NULL);
    pthread_mutex_destroy(&b->mu);
}

static void repair_turn(void **state)
{
    (void)state;
    bad_server b;
    bad_start(&b);
    llm_config c = {.primary = llm_default_provider_config()};
    snprintf(c.primary.url, sizeof(c.primary.url), "http://127.0.0.1:%d/v1", b.port);
    snprintf(c.primary.model, sizeof(c.primary.model), "m");
    c.primary.retries = 0;
    c.primary.context_tokens = 4096, c.primary.max_tokens = 1024;
    char err[600];
    llm_client *l = llm_create(&c, err, sizeof(err));
    assert_non_null(l);
    llm_message m = {.role = LLM_USER, .text = "Say hello."};
    llm_request rq = {.system = "You are a test.",
                      .messages = &m,
                      .n_messages = 1,
                      .schema = "{\"type\":\"object\",\"additionalProperties\":false,"
                                "\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":"
                                "\"string\"}}}"};
    recorded rec = {0};
    llm_response out;
    assert_int_equal(llm_call(l, &rq, NULL, on_record, &rec, &out, err, sizeof(err)), LLM_ERROR);
    /* the first request, then the repair turn with the answer's head: both within the room */
    assert_int_equal(out.attempts, 2);
    bodies v = seen(&b);
    assert_int_equal(v.n, 2);
    assert_true(v.sizes[0] <= 3072 && v.sizes[1] <= 3072);
    assert_true(v.sizes[1] > 2500); /* the room used by the answer's head */
    assert_false(v.marked[0]);
    assert_true(v.marked[1]);
    assert_non_null(strstr(err, "invalid_json"));
    llm_response_free(&out);
    /* a prompt that leaves no room for the repair turn: the first request only */
    char *big = malloc(2701);
    memset(big, 'p', 2700);
    big[2700] = 0;
    m.text = big;
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(llm_call(l, &rq, NULL, on_record, &rec, &out, err, sizeof(err)), LLM_ERROR);
    assert_int_equal(out.attempts, 1);
    v = seen(&b);
    assert_int_equal(v.n, 3);
    assert_true(v.sizes[2] <= 3072);
    assert_string_equal(rec.outcome, "prompt_too_large"); /* the repair's, not sent */
    assert_non_null(strstr(err, "no repair turn: it would not fit the model's context"));
    llm_response_free(&out);
    free(big);
    llm_destroy(l);
    bad_stop(&b);
}

/* ---- scoring's prompt ------------------------------------------------------------------------ */

static void fit_long_call(void **state)
{
    (void)state;
    llm_client *l = client(16384, 1024);
    sc_card c = card(k_card);
    sc_text t = long_text(3000, 12); /* about 330 KB of lines */
    sc_fit fit = {.max_bytes = llm_prompt_max(l), .measure = measure, .user = l};
    sc_llm_prompt p, whole;
    char err[600];
    const char *report = "{\"duration\": 15000, \"has_legs\": true, \"conversation\": "
                         "{\"overtalk_sec\": 0.5}}";
    assert_int_equal(sc_llm_prompt_fit(&c, &t, report, NULL, &fit, &p, err, sizeof(err)), 0);
    size_t size = prompt_size(l, &p);
    assert_true(size <= llm_prompt_max(l));
    assert_true(size > llm_prompt_max(l) - 600); /* the room used, not wasted */
    /* the opening and closing turns kept whole, the middle's left out as whole turns */
    assert_non_null(strstr(p.user, "agent: hello thank you for calling turn 0: word0 word1"));
    assert_non_null(strstr(p.user, "customer: goodbye and thank you turn 2999: word0"));
    size_t head = 0, tail = 0;
    while (has_turn(p.user, head))
        head++;
    while (has_turn(p.user, t.n - 1 - tail))
        tail++;
    assert_true(head >= 2 && tail >= 2);
    for (size_t i = head; i < t.n - tail; i++)
        if (has_turn(p.user, i))
            fail_msg("turn %zu of the middle is there", i);
    assert_int_equal(p.cut.turns, 3000);
    assert_int_equal(p.cut.turns_left_out, t.n - head - tail);
    assert_int_equal(p.cut.bytes_left_out, 0);
    assert_false(p.cut.figures_left_out);
    assert_non_null(strstr(p.user, "\"overtalk_sec\":0.5"));
    double secs = t.u[t.n - tail].start - t.u[head - 1].end;
    assert_true(p.cut.seconds_left_out > secs - 0.01 && p.cut.seconds_left_out < secs + 0.01);
    char marker[96];
    snprintf(marker, sizeof(marker), "\n[... %zu turns, %.0f seconds left out ...]\n",
             p.cut.turns_left_out, secs);
    const char *mk = strstr(p.user, marker), *close = strstr(p.user, "</transcript-");
    assert_non_null(mk);
    assert_true(mk < close); /* inside the block */
    char note[200];
    sc_prompt_cut_note(&p.cut, note, sizeof(note));
    char want[120];
    snprintf(want, sizeof(want), "transcript cut for the LLM: %zu of 3000 turns left out",
             p.cut.turns_left_out);
    assert_non_null(strstr(note, want));
    /* the client sends it; the whole prompt it refuses, never sent */
    llm_message m = {.role = LLM_USER, .text = p.user};
    llm_request rq = {.system = p.system, .messages = &m, .n_messages = 1, .schema = p.schema};
    recorded rec = {0};
    llm_response out;
    assert_int_equal(llm_call(l, &rq, NULL, on_record, &rec, &out, err, sizeof(err)), LLM_ERROR);
    assert_string_equal(rec.outcome, "network");
    llm_response_free(&out);
    assert_int_equal(sc_llm_prompt_build(&c, &t, report, NULL, &whole, err, sizeof(err)), 0);
    assert_true(prompt_size(l, &whole) > 300000);
    assert_int_equal(whole.cut.turns_left_out, 0);
    m.text = whole.user;
    rq.system = whole.system, rq.schema = whole.schema;
    memset(&rec, 0, sizeof(rec));
    assert_int_equal(llm_call(l, &rq, NULL, on_record, &rec, &out, err, sizeof(err)),
                     LLM_TOO_LARGE);
    assert_int_equal(out.attempts, 0);
    assert_string_equal(rec.outcome, "prompt_too_large");
    llm_response_free(&out);
    sc_llm_prompt_free(&whole);
    sc_llm_prompt_free(&p);
    sc_text_free(&t);
    sc_card_free(&c);
    llm_destroy(l);
}

static void fit_short_call(void **state)
{
    (void)state;
    llm_client *l = client(16384, 1024);
    sc_card c = card(k_card);
    sc_text t = long_text(5, 4);
    sc_fit fit = {.max_bytes = llm_prompt_max(l), .measure = measure, .user = l};
    sc_llm_prompt p;
    char err[600];
    assert_int_equal(sc_llm_prompt_fit(&c, &t, NULL, NULL, &fit, &p, err, sizeof(err)), 0);
    for (size_t i = 0; i < 5; i++)
        assert_true(has_turn(p.user, i));
    assert_null(strstr(p.user, "left out"));
    assert_false(sc_prompt_was_cut(&p.cut));
    assert_int_equal(p.cut.turns, 5);
    sc_llm_prompt_free(&p);
    sc_text_free(&t);
    sc_card_free(&c);
    llm_destroy(l);
}

static void fit_long_turns(void **state)
{
    (void)state;
    llm_client *l = client(16384, 1024);
    sc_card c = card(k_card);
    sc_text t = long_text(3, 8000); /* three turns of about 48 KB each */
    sc_fit fit = {.max_bytes = llm_prompt_max(l), .measure = measure, .user = l};
    sc_llm_prompt p;
    char err[600];
    assert_int_equal(sc_llm_prompt_fit(&c, &t, NULL, NULL, &fit, &p, err, sizeof(err)), 0);
    assert_true(prompt_size(l, &p) <= llm_prompt_max(l));
    /* the first and the last turn's heads, the middle turn left out */
    assert_non_null(strstr(p.user, "agent: hello thank you for calling turn 0: word0"));
    assert_non_null(strstr(p.user, "agent: goodbye and thank you turn 2: word0"));
    assert_false(has_turn(p.user, 1));
    assert_int_equal(p.cut.turns_left_out, 1);
    assert_true(p.cut.bytes_left_out > 2 * 40000);
    assert_int_equal(strlen(p.user) > 0, 1);
    const char *note = strstr(p.user, " bytes of this turn left out ...]\n");
    assert_non_null(note);
    assert_non_null(strstr(note + 1, " bytes of this turn left out ...]\n"));
    /* the words kept are the turn's own, so a quote of them is checked as before */
    sc_quote q;
    assert_int_equal(sc_quote_check(&t, SC_AGENT, 0, 4, "turn 0: word0 word1 word2", 1.0, &q), 0);
    sc_quote_free(&q);
    /* one turn alone over the room: its head */
    sc_text one = long_text(1, 8000);
    sc_llm_prompt p1;
    assert_int_equal(sc_llm_prompt_fit(&c, &one, NULL, NULL, &fit, &p1, err, sizeof(err)), 0);
    assert_true(prompt_size(l, &p1) <= llm_prompt_max(l));
    assert_int_equal(p1.cut.turns_left_out, 0);
    assert_true(p1.cut.bytes_left_out > 30000);
    sc_llm_prompt_free(&p1);
    sc_text_free(&one);
    sc_llm_prompt_free(&p);
    sc_text_free(&t);
    sc_card_free(&c);
    llm_destroy(l);
}

static void fit_figures(void **state)
{
    (void)state;
    llm_client *l = client(1 << 20, 1024);
    sc_card c = card(k_card);
    sc_text t = long_text(40, 30);
    sc_llm_prompt p;
    char err[600];
    /* figures of about 6 KB (the conversation's), and a room that holds the instructions, the
     * first and last turn and a little more */
    char *report = NULL;
    char pad[6001];
    memset(pad, 'x', 6000);
    pad[6000] = 0;
    assert_true(
        asprintf(&report, "{\"duration\": 200, \"conversation\": {\"note\": \"%s\"}}", pad) > 0);
    assert_int_equal(sc_llm_prompt_build(&c, &t, report, NULL, &p, err, sizeof(err)), 0);
    size_t base = measure(l, p.system, "x", p.schema) - 1;
    sc_llm_prompt_free(&p);
    sc_fit fit = {.max_bytes = base + 2000, .measure = measure, .user = l};
    assert_int_equal(sc_llm_prompt_fit(&c, &t, report, NULL, &fit, &p, err, sizeof(err)), 0);
    assert_true(prompt_size(l, &p) <= base + 2000);
    assert_true(p.cut.figures_left_out);
    assert_null(strstr(p.user, "xxxxxxxxxx"));
    assert_non_null(strstr(p.user, "{\"duration\":200}"));
    assert_true(has_turn(p.user, 0) && has_turn(p.user, 39));
    char note[200];
    sc_prompt_cut_note(&p.cut, note, sizeof(note));
    assert_non_null(strstr(note, "the report's figures but the duration left out"));
    sc_llm_prompt_free(&p);
    /* a room that does not even hold the instructions: refused, nothing to send */
    fit.max_bytes = base - 10;
    assert_int_equal(sc_llm_prompt_fit(&c, &t, report, NULL, &fit, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "prompt_too_large: the instructions and the answer's schema"));
    assert_non_null(strstr(err, "no room for the call"));
    assert_null(p.system);
    free(report);
    sc_text_free(&t);
    sc_card_free(&c);
    llm_destroy(l);
}

static void cut_in_result(void **state)
{
    (void)state;
    sc_card c = card(k_card);
    sc_call call;
    memset(&call, 0, sizeof(call));
    call.n = c.n;
    char *js = sc_call_to_json(&c, &call);
    json_t *o = json_loads(js, 0, NULL);
    assert_true(json_is_null(json_object_get(o, "transcript_cut")));
    json_decref(o);
    free(js);
    call.summary.source = SC_SUMMARY_LLM;
    call.summary.text = strdup("The customer called. It was solved.");
    call.sentiment_checks.asked = true;
    sc_prompt_cut cut = {.turns = 1282, .turns_left_out = 1145, .seconds_left_out = 9639.04};
    sc_call_note_cut(&call, &cut);
    js = sc_call_to_json(&c, &call);
    o = json_loads(js, 0, NULL);
    json_t *tc = json_object_get(o, "transcript_cut");
    assert_int_equal(json_integer_value(json_object_get(tc, "turns")), 1282);
    assert_int_equal(json_integer_value(json_object_get(tc, "turns_left_out")), 1145);
    assert_true(json_real_value(json_object_get(tc, "seconds_left_out")) == 9639.04);
    const char *want = "transcript cut for the LLM: 1145 of 1282 turns left out (9639 s of the "
                       "call's middle)";
    assert_string_equal(json_string_value(json_object_get(tc, "note")), want);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "summary"), "note")),
                        want);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "sentiment_llm"), "note")), want);
    json_decref(o);
    free(js);
    sc_call_free(&call);
    sc_card_free(&c);
}

/* ---- /ai-analyze's prompt ------------------------------------------------------------------ */

static void assess_fit(void **state)
{
    (void)state;
    llm_client *l = client(16384, 1024);
    /* a report with 400 warnings of its own (the prompt keeps warning_details) */
    json_t *r = json_pack("{s:f, s:b, s:{s:f, s:f}, s:{s:f, s:f}, s:[]}", "duration", 600.0,
                          "has_legs", 1, "inbound", "rms_db", -24.0, "speech_pct", 30.0, "outbound",
                          "rms_db", -24.0, "speech_pct", 30.0, "warning_details");
    json_t *wd = json_object_get(r, "warning_details");
    for (int i = 0; i < 400; i++) {
        char m[120];
        snprintf(m, sizeof(m), "warning %d: the channels were checked and something was seen", i);
        json_array_append_new(
            wd, json_pack("{s:s, s:s, s:{}}", "code", "leg_bleed", "message", m, "values"));
    }
    char *report = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    char *sys, *user, *left, err[600];
    assert_int_equal(sc_assess_prompt(report, &sys, &user, err, sizeof(err)), 0);
    assert_true(measure(l, sys, user, NULL) > 30000); /* before: the whole report */
    free(sys);
    free(user);
    sc_fit fit = {.max_bytes = llm_prompt_max(l), .measure = measure, .user = l};
    int arc = sc_assess_prompt_fit(report, &fit, &sys, &user, &left, err, sizeof(err));
    if (arc != 0)
        fail_msg("%s", err);
    assert_true(measure(l, sys, user, NULL) <= llm_prompt_max(l));
    assert_non_null(left);
    json_t *lo = json_loads(left, 0, NULL);
    json_int_t cut =
        json_integer_value(json_object_get(json_object_get(lo, "items"), "warning_details"));
    if (!(cut > 300 && cut < 400))
        fail_msg("cut %lld: %s", (long long)cut, left);
    assert_non_null(strstr(user, "\"left_out\":{\"items\":{\"warning_details\":"));
    assert_non_null(strstr(user, "warning 0: the channels")); /* the first kept */
    assert_null(strstr(user, "warning 399:"));
    assert_non_null(strstr(user, "\"findings\":")); /* the rules' findings kept whole */
    assert_null(json_object_get(json_object_get(lo, "items"), "findings"));
    json_decref(lo);
    free(left);
    free(sys);
    free(user);
    /* a report that fits: nothing left out */
    assert_int_equal(sc_assess_prompt_fit("{\"duration\": 30, \"has_legs\": true}", &fit, &sys,
                                          &user, &left, err, sizeof(err)),
                     0);
    assert_null(left);
    assert_null(strstr(user, "left_out"));
    free(sys);
    free(user);
    /* parts of scalars only (the models' figures, the format): nothing js_fit can cut, so the
     * parts the assessment needs least go whole, in their order, the legs' levels kept */
    json_t *wide = json_pack("{s:f, s:b, s:{s:f, s:{}}, s:{s:f, s:{}}, s:{}}", "duration", 600.0,
                             "has_legs", 1, "inbound", "rms_db", -24.0, "nisqa", "outbound",
                             "rms_db", -23.0, "nisqa", "format");
    static const char *const holders[] = {"inbound", "outbound"};
    for (int i = 0; i < 60; i++) {
        char k[32];
        snprintf(k, sizeof(k), "figure_number_%02d", i);
        for (int h = 0; h < 2; h++)
            json_object_set_new(json_object_get(json_object_get(wide, holders[h]), "nisqa"), k,
                                json_real(3.25));
        json_object_set_new(json_object_get(wide, "format"), k, json_integer(i));
    }
    char *wide_report = json_dumps(wide, JSON_COMPACT);
    json_decref(wide);
    assert_int_equal(sc_assess_prompt(wide_report, &sys, &user, err, sizeof(err)), 0);
    size_t whole = measure(l, sys, user, NULL);
    free(sys);
    free(user);
    sc_fit narrow = {.max_bytes = whole - 3000, .measure = measure, .user = l};
    arc = sc_assess_prompt_fit(wide_report, &narrow, &sys, &user, &left, err, sizeof(err));
    if (arc != 0)
        fail_msg("%s", err);
    assert_true(measure(l, sys, user, NULL) <= narrow.max_bytes);
    assert_non_null(left);
    assert_non_null(strstr(left, "\"parts\":[\"format\",\"inbound.nisqa\""));
    assert_null(strstr(user, "\"format\":{"));
    assert_non_null(strstr(user, "\"rms_db\":-24"));
    assert_non_null(strstr(user, "\"rms_db\":-23"));
    free(left);
    free(sys);
    free(user);
    free(wide_report);
    /* instructions alone over the room */
    fit.max_bytes = 1000;
    assert_int_equal(sc_assess_prompt_fit(report, &fit, &sys, &user, &left, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "prompt_too_large: the instructions alone take"));
    assert_null(sys);
    free(report);
    llm_destroy(l);
}

/* ---- js_fit ---------------------------------------------------------------------------------- */

static void json_fit(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:[], s:s, s:{s:[]}}", "rows", "name", "short", "inner", "spans");
    json_t *rows = json_object_get(v, "rows"),
           *spans = json_object_get(json_object_get(v, "inner"), "spans");
    for (int i = 0; i < 100; i++)
        json_array_append_new(rows, json_pack("[i, s]", i, "a row of the answer"));
    for (int i = 0; i < 10; i++)
        json_array_append_new(spans, json_integer(i));
    json_t *counts = json_object();
    size_t before = json_dumpb(v, NULL, 0, JSON_COMPACT);
    assert_int_equal(js_fit(v, 1000, JSON_COMPACT, counts), 0);
    assert_true(json_dumpb(v, NULL, 0, JSON_COMPACT) <= 1000);
    assert_true(before > 2500);
    size_t kept = json_array_size(rows);
    assert_true(kept > 10 && kept < 100);
    assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 0), 0)), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(counts, "items"), "rows")),
                     100 - (json_int_t)kept);
    assert_int_equal(json_array_size(spans), 10); /* the largest part only */
    json_decref(counts);
    json_decref(v);
    /* a long string: its head and what was cut */
    char big[4001];
    memset(big, 'z', 4000);
    big[4000] = 0;
    v = json_pack("[{s:s}]", "note", big);
    counts = json_object();
    assert_int_equal(js_fit(v, 500, JSON_COMPACT, counts), 0);
    assert_true(json_dumpb(v, NULL, 0, JSON_COMPACT) <= 500);
    const char *s = json_string_value(json_object_get(json_array_get(v, 0), "note"));
    assert_int_equal(strspn(s, "z") > 300, 1);
    assert_non_null(strstr(s, " bytes left out]"));
    json_int_t cut =
        json_integer_value(json_object_get(json_object_get(counts, "bytes"), "[].note"));
    assert_true(cut > 3400 && cut == (json_int_t)(4000 - strspn(s, "z")));
    json_decref(counts);
    json_decref(v);
    /* nothing that can be cut: -1 */
    v = json_pack("{s:i, s:s}", "a", 1, "b", "short");
    assert_int_equal(js_fit(v, 5, JSON_COMPACT, NULL), -1);
    json_decref(v);
    /* the counts inside the value are never cut */
    v = json_pack("{s:[iiiiiiiiii]}", "x", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    counts = json_object();
    json_object_set(v, "left_out", counts);
    assert_int_equal(js_fit(v, 40, JSON_COMPACT, counts), 0);
    assert_true(json_dumpb(v, NULL, 0, JSON_COMPACT) <= 40);
    assert_true(json_integer_value(json_object_get(json_object_get(counts, "items"), "x")) > 0);
    json_decref(counts);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_room),    cmocka_unit_test(client_guard),
        cmocka_unit_test(repair_turn),    cmocka_unit_test(fit_long_call),
        cmocka_unit_test(fit_short_call), cmocka_unit_test(fit_long_turns),
        cmocka_unit_test(fit_figures),    cmocka_unit_test(cut_in_result),
        cmocka_unit_test(assess_fit),     cmocka_unit_test(json_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
