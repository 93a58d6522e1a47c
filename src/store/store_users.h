/*
 * store_users.h - the people who use callqa and what they did: users (their role, scopes and
 * password hash), their tokens' hashes, the append-only audit trail, and the record of each
 * POST /ask.
 *
 * Consumers: the service's sign-in, access checks and audit (src/service: svc.h, svc_access.c,
 * svc_auditq.c, svc_ui.c, svc_ask.c: /ask's record); `callqa user` and `callqa store audit`
 * (src/cli/user_cmd.c).
 */
#ifndef CQ_STORE_USERS_H
#define CQ_STORE_USERS_H

#include "store.h"

/* ---- users, their tokens and the audit trail (store_users.c) ----------------------------------
 * The store keeps what src/access/ makes: a password's argon2id string and a token's hash, never
 * a password or a token. The audit trail is only appended to (and a trigger refuses any UPDATE
 * or DELETE of it): this API has no way to change or remove a row. */

typedef struct store_user {
    int64_t id;
    char name[65];
    char role[16];      /* "admin", "supervisor", "analyst", "agent" */
    char scopes[2400];  /* "" or "campaign:A,campaign:B" or "agent:X" (access.h) */
    char password[128]; /* the argon2id string; "" when the user has none (tokens only) */
    bool disabled;
    double created;     /* UTC s */
    int64_t cred_epoch; /* moved on by every new password and every disable or enable (v18): a
                           session made before is no longer the user's */
} store_user;

/* A new user: 0 (*id set when id is not NULL), 1 when the name is taken, -1 on error. password:
 * the hash string, or NULL. */
int store_user_add(store *s, const char *name, const char *role, const char *scopes,
                   const char *password, double now, int64_t *id);
/* A user by name (name not NULL) or else by id: 1 found, 0 none, -1 error. */
int store_user_get(store *s, const char *name, int64_t id, store_user *out);
/* Every user, by name (*out malloc'd, *n of them; free(*out)). 0 or -1. */
int store_user_list(store *s, store_user **out, int *n);

/* Disable (or enable again) a user and so their sessions and tokens: 1 done, 0 no such user,
 * -1 error. */
int store_user_set_disabled(store *s, const char *name, bool disabled);
/* A user's new password hash: 1 done, 0 no such user, -1 error. Each of the two moves the user's
 * cred_epoch on, so that the sessions made before end. */
int store_user_set_password(store *s, const char *name, const char *password);
/* Keep a token's hash for a user, with a label (may be ""): 0 or -1. */
int store_token_add(store *s, int64_t user_id, const char *hash, const char *label, double now);
/* The user a token hash belongs to: 1 found (out filled), 0 none, -1 error. */
int store_token_user(store *s, const char *hash, store_user *out);
/* A user's tokens, oldest first (never their hashes): fn for each (non-zero stops). 0 or -1. */
typedef int (*store_token_fn)(void *user, int64_t id, const char *label, double created);
int store_token_list(store *s, int64_t user_id, store_token_fn fn, void *user);
/* Revoke a user's token by its id, or every token of theirs (token_id 0): the tokens revoked
 * (0: none such), or -1. */
int store_token_revoke(store *s, int64_t user_id, int64_t token_id);

/* One entry of the audit trail. */
typedef struct store_audit_row {
    int64_t id;         /* given by the store (0 when appending) */
    double ts;          /* UTC s */
    const char *who;    /* the user's name, or "token" (the shared token), or "-" */
    const char *role;   /* the caller's role then */
    const char *action; /* listen, download, search, override, ask, purge, erase, login, ... */
    const char *target; /* the call id, the query, the user logging in; NULL none */
    const char *client; /* the client's address; NULL unknown */
    int status;         /* the HTTP status answered */
} store_audit_row;
/* Append one entry: 0 or -1. */
int store_audit_append(store *s, const store_audit_row *a);
/* Append n entries in one transaction (a group commit): 0, or -1 with none of them kept. */
int store_audit_append_many(store *s, const store_audit_row *a, int n);
/* Called for each entry, oldest first; non-zero stops. Runs with the store locked: it must not
 * call the store. The strings are valid during the call only. */
typedef int (*store_audit_fn)(void *user, const store_audit_row *a);
/* The entries with an id above after_id and a time at or after since (UTC s), at most limit
 * (<= 0: all), oldest first. 0 or -1. */
int store_audit_list(store *s, int64_t after_id, double since, int limit, store_audit_fn fn,
                     void *user);

/* ---- POST /ask's record (docs/ask.md) ---------------------------------------------------------
 */

typedef struct store_ask_row {
    double ts;            /* when it was asked, UTC s */
    const char *who;      /* who asked: the credential's kind and the client ("token 10.0.0.5") */
    const char *question; /* the question, or the conversation's last user turn */
    int status;           /* the HTTP status answered */
    int rounds, queries, refused;
    double elapsed_sec;
    const char *error;  /* the failure, or NULL */
    const char *detail; /* JSON: the queries as run, each with its source, rows, time, refusal */
} store_ask_row;
/* Record one /ask (its day: the local date of ts). 0 or -1. */
int store_ask_record(store *s, const store_ask_row *a);

#endif /* CQ_STORE_USERS_H */
