/*
 * svc_access.h - users, roles, scopes and the audit trail (svc_access.c): who a request is and
 * whether its route lets them in, checked once for every request before its handler; the audit
 * rows of a request handed to the audit queue when it ends; the login and who-am-I of the session
 * routes; GET /api/qa/audit.
 */
#ifndef CQ_SVC_ACCESS_H
#define CQ_SVC_ACCESS_H

#include "svc_http.h"
#include "../store/store_users.h"

/* Who the request is (r->who) and whether the route lets them in: its role, then its scope
 * (svc_scope). 0, or -1 with the answer set (401, 403, 404, 429). Called once the route is
 * found, for every request. */
int svc_access(req *r);
/* The route's audit rows, when it has an action and an answer (on the request's end), handed to
 * the audit queue: one per call the answer returned (svc_audit_call), and the request's own. */
void svc_audit(req *r);
/* The answer being made returns this call (its recording id, uniqueid or number): an audit row
 * names it. svc_audit_calls: each object of the array, by its recording_id, else uniqueid, else
 * call_id or id. */
void svc_audit_call(req *r, const char *id);
void svc_audit_calls(req *r, const json_t *calls);
/* Whether a call known by either id (a recording id or uniqueid) is one the caller may see: 1 it
 * is, or no such call is stored; 0 it is outside the caller's scope; -1 the store failed. */
int svc_access_call_allowed(req *r, const char *id);

/* GET /api/qa/audit: the audit trail (admin), JSON or JSON lines (?format=jsonl). */
enum MHD_Result svc_qa_audit(req *r, const char *data, size_t *size);
/* POST /api/session with {"username", "password"}: the user's session, or the answer set.
 * Returns 0 with *user filled when the password is right (the caller issues the cookie), 1 when
 * the answer was set (401, 429, 500). */
int svc_access_login(req *r, const char *username, const char *password, store_user *user);
/* The role and scope of a session or token's user, for GET /api/session: 0, or -1 (none). */
int svc_access_whoami(req *r, svc_caller *out);

#endif /* CQ_SVC_ACCESS_H */
