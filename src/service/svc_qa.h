/*
 * svc_qa.h - the QA API (/api/qa): what its resources share (svc_qa.c: answers, arguments, the
 * store's rows as JSON, the figures of a day) and the handlers of its routes, one file per
 * resource (svc_qa_calls.c, svc_qa_call.c, svc_qa_scores.c, svc_qa_summary.c, svc_qa_search.c,
 * svc_qa_upload.c, svc_envelope.c).
 */
#ifndef CQ_SVC_QA_H
#define CQ_SVC_QA_H

#include "svc_http.h"
#include "../store/store_query.h"

/* The parts the resources share (svc_qa.c): the old eight categories, answers, arguments, the
 * store's rows as JSON, the figures of a day. */
extern const char *const svc_qa_cats[8];
/* A list's rows as JSON, within max_answer_mb: a row whose columns would take the list past it
 * is left out and counted in r->rows_left_out (the first row is always kept: one row is bounded
 * by what the store keeps of it); svc_qa_send then says so in the answer's `truncated`. */
typedef struct svc_qa_rows {
    json_t *arr;
    json_t *(*shape)(const store_val *cols, int n, void *u);
    void *u;
    req *r;       /* the request (its settings' max_answer, its count); NULL: no bound */
    size_t bytes; /* the rows' columns so far */
} svc_qa_rows;

enum MHD_Result svc_qa_send(req *r, int status, json_t *o);
enum MHD_Result svc_qa_store_failed(req *r);
json_t *svc_qa_round(bool has, double v, int decimals);
json_t *svc_qa_redacted(const char *s);
/* Every string of a JSON tree with each absolute path as its file's name (a URL left alone):
 * stored reports as answers show them, those stored before reports named no server path. */
void svc_qa_unpath(json_t *j);
json_t *svc_qa_val(const store_val *v, int prec);
const store_val *svc_qa_col(const store_val *cols, int n, const char *name);
double svc_qa_num(const store_val *cols, int n, const char *name);
bool svc_qa_is_null(const store_val *cols, int n, const char *name);
const char *svc_qa_arg(req *r, const char *k);
/* The campaigns a list or search is limited to by the caller's scope: a JSON array of their ids
 * (the store's campaign-set parameter), or NULL (no limit, or one campaign given as 'campaign'). */
const char *svc_qa_campaigns(req *r);
int svc_qa_int_arg(req *r, const char *k, long dflt, long lo, long hi, long *out);
bool svc_qa_valid_date(const char *s);
void svc_qa_day_back(int back, char out[11]);
void svc_qa_day_next(const char *d, char out[11]);
int svc_qa_collect(void *user, const store_val *cols, int n);
json_t *svc_qa_query(req *r, store_qid q, const store_val *p, int np,
                     json_t *(*shape)(const store_val *, int, void *), void *u);
json_t *svc_qa_categories(const store_val *c, int n);
json_t *svc_qa_null_categories(void);
void svc_qa_analysis_figures(json_t *o, const store_val *c, int n);
void svc_qa_partial_figures(json_t *o, const store_val *c, int n);
/* avg_customer_shift, customer_shift_calls, customer_drop_calls from the roll-ups' sums. */
void svc_qa_sentiment_figures(json_t *o, const store_val *c, int n);
void svc_qa_local_time(double t, char out[20]);
json_t *svc_qa_call_shape(const store_val *c, int n, void *u);
json_t *svc_qa_overrides_of(req *r, int64_t call_id);
int svc_qa_score_of(req *r, int64_t call_id, json_t **detail);
int64_t svc_qa_call_of(req *r, json_t **row);
void svc_qa_fts_query(const char *q, char *out, size_t n);

enum MHD_Result svc_qa_health(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_daily(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_trends(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_agent(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_flagged(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_leaderboard(req *r, const char *data, size_t *size);
/* svc_qa_routes.c: the routes ranked by what got worse; one route over time (docs/routes.md) */
enum MHD_Result svc_qa_routes(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_route(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_call(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_envelope(req *r, const char *data, size_t *size); /* svc_envelope.c */
enum MHD_Result svc_qa_calls(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_badges(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_search(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_transcript(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_transcript_start(req *r);
enum MHD_Result svc_qa_report(req *r, const char *data, size_t *size);
/* A body of PATCH /api/qa/call/{id}/scores, checked: a JSON object of supervisor (1-128
 * bytes), comment (optional, up to 4000), scores ({key: integer 1-5}, 1-32 of them), nothing
 * else. The object (the caller's), or NULL with a sentence in why and the error's code
 * (bad_json, bad_field, bad_score). The categories are checked against the call's later. */
struct json_t;
struct json_t *svc_qa_scores_parse(const char *body, size_t len, char *why, size_t n,
                                   const char **code);
enum MHD_Result svc_qa_marks_start(req *r);
enum MHD_Result svc_qa_marks(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_scores_start(req *r);
enum MHD_Result svc_qa_scores(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_agreement(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_queue(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_workers(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_errors(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_throughput(req *r, const char *data, size_t *size);
enum MHD_Result svc_qa_upload_start(req *r);
enum MHD_Result svc_qa_upload(req *r, const char *data, size_t *size);

#endif /* CQ_SVC_QA_H */
