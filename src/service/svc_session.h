/*
 * svc_session.h - the session cookie, made and checked (svc_session.c), and what a browser's
 * Origin and Host headers must say: pure functions, under the request plumbing. The session
 * routes are the dashboard's (svc_ui.h); svc_access.c checks a request's cookie.
 */
#ifndef CQ_SVC_SESSION_H
#define CQ_SVC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"

/* Sessions: the bearer token exchanged for a cookie, stateless (nothing stored: a restart keeps
 * them, a new token ends them all). The cookie's value is v1.<expiry>.<nonce>.<mac>: expiry in
 * Unix seconds (decimal), the nonce 16 random bytes (32 lower-case hex digits), mac the
 * HMAC-SHA256 of "v1.<expiry>.<nonce>" under the session key (64 hex digits). The session's CSRF
 * value is the HMAC-SHA256 of "csrf.<nonce>" under the same key (64 hex digits). A user's
 * session, v3.<expiry>.<user id>.<cred>.<nonce>.<mac>, names the user and carries the tag of
 * their credential (svc_session_cred), which the request checks against the user's row: a new
 * password or a disable moves it, so that every session made before ends. */
#define SVC_SESSION_COOKIE "callqa_session"
#define SVC_SESSION_VALUE_MAX 160 /* bytes of a value we make, NUL included */
#define SVC_SESSION_CRED_LEN 16   /* hex digits of a credential's tag */
typedef enum svc_session_state {
    SVC_SESSION_VALID = 0,
    SVC_SESSION_MISSING, /* no callqa_session cookie */
    SVC_SESSION_INVALID, /* malformed, or a MAC that is not ours (another token, a forgery) */
    SVC_SESSION_EXPIRED  /* ours, past its expiry */
} svc_session_state;
typedef struct svc_session {
    int64_t expires;                     /* Unix s */
    int64_t user_id;                     /* the store's user (v3), or 0: the shared token's (v1) */
    char cred[SVC_SESSION_CRED_LEN + 1]; /* a user's credential tag (v3); "" for v1 */
    char csrf[65];                       /* 64 hex digits */
} svc_session;
/* The session key from the bearer token: HMAC-SHA256(token, "callqa session key v1"). */
void svc_session_key(const char *token, uint8_t key[32]);
/* A cookie value expiring at `expires` with that nonce into value (n >= SVC_SESSION_VALUE_MAX),
 * and its session. 0, or -1 when value is too small. */
int svc_session_issue(const uint8_t key[32], int64_t expires, const uint8_t nonce[16], char *value,
                      size_t n, svc_session *out);
/* The same for a user of the store (user_id > 0: a v3 value bound to cred, their
 * svc_session_cred; 0: as svc_session_issue, cred NULL). */
int svc_session_issue_user(const uint8_t key[32], int64_t expires, int64_t user_id,
                           const char *cred, const uint8_t nonce[16], char *value, size_t n,
                           svc_session *out);
/* A user's credential tag: the first SVC_SESSION_CRED_LEN hex digits of the HMAC-SHA256 of
 * "cred.<user id>.<epoch>.<password hash>" under the session key. */
void svc_session_cred(const uint8_t key[32], int64_t user_id, int64_t epoch, const char *pwhash,
                      char out[SVC_SESSION_CRED_LEN + 1]);
/* The CSRF value of a service without auth (the page sends it; nothing checks it). */
void svc_session_noauth_csrf(const uint8_t key[32], char out[65]);
/* Check one cookie value of len bytes (any bytes): VALID (out filled), INVALID or EXPIRED (out's
 * expiry filled). MACs are compared in constant time. */
svc_session_state svc_session_verify(const uint8_t key[32], const char *value, size_t len,
                                     int64_t now, svc_session *out);
/* The session of a Cookie header (NULL: none): every callqa_session cookie in it is checked and
 * the best state wins (VALID, then EXPIRED, then INVALID); MISSING when there is none. */
svc_session_state svc_session_from_header(const uint8_t key[32], const char *cookie, int64_t now,
                                          svc_session *out);
/* Whether an Origin header (scheme://host[:port]) names the host and port of a Host header
 * (host[:port]); a default port (80 for http, 443 for https) may be left out on either side.
 * "null", a malformed Origin or a missing Host: false. */
bool svc_same_origin(const char *origin, const char *host);
/* Whether a request's Host names this service: the listen address, localhost, the loopback
 * addresses or an allowed_hosts name, with the listening port or none (a name a browser was
 * pointed at by another site's DNS, the rebinding attack, is not). */
bool svc_host_allowed(const cfg_settings *c, const char *host);

#endif /* CQ_SVC_SESSION_H */
