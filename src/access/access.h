/*
 * access.h - users' credentials, roles and scopes, on the ground floor (libc and libsodium only):
 * what the service, the command line and the store's callers share about who may do what.
 *
 * - Passwords are kept as argon2id strings (libsodium's crypto_pwhash_str: the salt and the
 *   costs inside the string), never in clear.
 * - An API token is 32 random bytes shown once as "cqt_" + 64 hex digits; only the hex of its
 *   BLAKE2b-256 hash (crypto_generichash) is kept, which a request's token is hashed to and
 *   looked up by. A token is random and long, so a fast hash is enough (unlike a password).
 * - Roles are ordered: agent < analyst < supervisor < admin; a route names the least it needs.
 * - A scope narrows what a user sees of the calls: the calls of some campaigns
 *   ("campaign:A,campaign:B"), or, for an agent, the calls whose agent_user is theirs
 *   (acc_scope.agent: the scope's "agent:X", else the user's own name). An empty scope of a
 *   supervisor, analyst or admin is every call.
 *
 * Every function is thread-safe; acc_init must have returned 0 once before the others are used.
 */
#ifndef CQ_ACCESS_H
#define CQ_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum acc_role {
    ACC_ROLE_NONE = 0, /* no credential: only the open routes */
    ACC_ROLE_AGENT,
    ACC_ROLE_ANALYST,
    ACC_ROLE_SUPERVISOR,
    ACC_ROLE_ADMIN
} acc_role;

/* "agent", "analyst", "supervisor", "admin" ("none" for ACC_ROLE_NONE). */
const char *acc_role_name(acc_role r);
/* The role of a name, or ACC_ROLE_NONE when it is none of the four. */
acc_role acc_role_parse(const char *name);

#define ACC_MAX_CAMPAIGNS 32
#define ACC_NAME_MAX 65 /* bytes of a campaign id, an agent_user or a user name, NUL included */

/* What a caller may see of the calls. */
typedef struct acc_scope {
    bool limited;             /* false: every call */
    char agent[ACC_NAME_MAX]; /* non-empty: only this agent_user's calls */
    int n_campaigns;          /* > 0: only calls of these campaigns */
    char campaigns[ACC_MAX_CAMPAIGNS][ACC_NAME_MAX];
} acc_scope;

/* A scope's text ("" or "campaign:A,campaign:B" or "agent:X") for a user of that role and name
 * into out. An agent is always limited to one agent_user. 0, or -1 with msg (an unknown kind, a
 * campaign for an agent, more than ACC_MAX_CAMPAIGNS, a name of 0 or 65+ bytes or with a comma). */
int acc_scope_parse(const char *text, acc_role role, const char *user, acc_scope *out, char *msg,
                    size_t msgsz);
/* Whether a call of that agent_user and campaign (either may be NULL or "": unknown) is in it. */
bool acc_scope_allows(const acc_scope *s, const char *agent_user, const char *campaign);
/* Whether the campaign is one of the scope's (true when the scope has none). */
bool acc_scope_has_campaign(const acc_scope *s, const char *campaign);

/* Set libsodium up: 0, or -1 (the process cannot hash). */
int acc_init(void);

#define ACC_PWHASH_MAX 128 /* bytes of a password hash string, NUL included */
#define ACC_PASSWORD_MIN 10
#define ACC_PASSWORD_MAX 1000
/* The argon2id string of a password (ACC_PASSWORD_MIN to ACC_PASSWORD_MAX bytes) into out: 0,
 * or -1 (too short or long, or no memory for the hash). Slow by design (about 0.1-0.5 s). */
int acc_password_hash(const char *password, char out[ACC_PWHASH_MAX]);
/* Whether the password matches the stored string (false for a malformed string). */
bool acc_password_verify(const char *stored, const char *password);
/* A hash that no password matches, to spend the same time when a user does not exist. */
const char *acc_password_dummy(void);

#define ACC_TOKEN_PREFIX "cqt_"
#define ACC_TOKEN_LEN 68      /* "cqt_" + 64 hex digits */
#define ACC_TOKEN_HASH_LEN 64 /* hex digits of its hash */
/* A new token into token (NUL-terminated) and its hash into hash: 0, or -1 (no random bytes). */
int acc_token_new(char token[ACC_TOKEN_LEN + 1], char hash[ACC_TOKEN_HASH_LEN + 1]);
/* The hash of a token as a request gives it (any bytes, len of them): 0, or -1 when it is not
 * shaped as one of ours (then it is no user's token). */
int acc_token_hash(const char *token, size_t len, char hash[ACC_TOKEN_HASH_LEN + 1]);

/* Whether a user name is acceptable: 1-64 bytes of [A-Za-z0-9._@-], not starting with '-', and
 * not "token" (the shared token's name). */
bool acc_user_name_ok(const char *name);

#endif /* CQ_ACCESS_H */
