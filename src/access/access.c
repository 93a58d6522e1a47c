/*
 * access.c - roles, scopes, password hashes and API tokens (access.h).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "access.h"

static const char *const k_roles[] = {"none", "agent", "analyst", "supervisor", "admin"};

const char *acc_role_name(acc_role r)
{
    return r >= ACC_ROLE_NONE && r <= ACC_ROLE_ADMIN ? k_roles[r] : "none";
}

acc_role acc_role_parse(const char *name)
{
    for (int i = ACC_ROLE_AGENT; name && i <= ACC_ROLE_ADMIN; i++)
        if (!strcmp(name, k_roles[i]))
            return (acc_role)i;
    return ACC_ROLE_NONE;
}

static int fail(char *msg, size_t n, const char *what)
{
    if (msg && n)
        snprintf(msg, n, "%s", what);
    return -1;
}

/* one name of a scope: 1-64 bytes, printable, no comma or colon */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= ACC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == ',' || s[i] == 0x7f)
            return false;
    return true;
}

int acc_scope_parse(const char *text, acc_role role, const char *user, acc_scope *out, char *msg,
                    size_t msgsz)
{
    memset(out, 0, sizeof(*out));
    for (const char *p = text ? text : ""; *p;) {
        size_t n = strcspn(p, ",");
        const char *colon = memchr(p, ':', n);
        if (!colon)
            return fail(msg, msgsz, "a scope is campaign:NAME or agent:NAME, comma-separated");
        size_t kl = (size_t)(colon - p), vl = n - kl - 1;
        const char *v = colon + 1;
        if (!name_ok(v, vl))
            return fail(msg, msgsz, "a scope's name is 1-64 bytes without commas");
        if (kl == 8 && !memcmp(p, "campaign", 8)) {
            if (role == ACC_ROLE_AGENT)
                return fail(msg, msgsz, "an agent's scope is their own calls, not campaigns");
            if (out->n_campaigns == ACC_MAX_CAMPAIGNS)
                return fail(msg, msgsz, "too many campaigns in a scope");
            memcpy(out->campaigns[out->n_campaigns], v, vl);
            out->campaigns[out->n_campaigns++][vl] = 0;
        } else if (kl == 5 && !memcmp(p, "agent", 5)) {
            if (role != ACC_ROLE_AGENT)
                return fail(msg, msgsz, "only an agent's scope names an agent_user");
            if (out->agent[0])
                return fail(msg, msgsz, "an agent's scope names one agent_user");
            memcpy(out->agent, v, vl);
            out->agent[vl] = 0;
        } else {
            return fail(msg, msgsz, "a scope is campaign:NAME or agent:NAME, comma-separated");
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (role == ACC_ROLE_AGENT && !out->agent[0]) {
        if (!user || !name_ok(user, strlen(user)))
            return fail(msg, msgsz, "an agent's user name is their agent_user");
        snprintf(out->agent, sizeof(out->agent), "%s", user);
    }
    out->limited = out->agent[0] || out->n_campaigns > 0;
    return 0;
}

bool acc_scope_has_campaign(const acc_scope *s, const char *campaign)
{
    if (s->n_campaigns == 0)
        return true;
    for (int i = 0; campaign && i < s->n_campaigns; i++)
        if (!strcmp(s->campaigns[i], campaign))
            return true;
    return false;
}

bool acc_scope_allows(const acc_scope *s, const char *agent_user, const char *campaign)
{
    if (!s->limited)
        return true;
    if (s->agent[0] && (!agent_user || strcmp(s->agent, agent_user)))
        return false;
    return acc_scope_has_campaign(s, campaign);
}

int acc_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

int acc_password_hash(const char *password, char out[ACC_PWHASH_MAX])
{
    size_t n = strlen(password);
    if (n < ACC_PASSWORD_MIN || n > ACC_PASSWORD_MAX)
        return -1;
    _Static_assert(ACC_PWHASH_MAX >= crypto_pwhash_STRBYTES, "room for the hash string");
    return crypto_pwhash_str_alg(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13)
               ? -1
               : 0;
}

bool acc_password_verify(const char *stored, const char *password)
{
    if (!stored || strncmp(stored, "$argon2id$", 10) || !memchr(stored, 0, ACC_PWHASH_MAX))
        return false;
    return crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
}

static char g_dummy[ACC_PWHASH_MAX];
static pthread_once_t g_dummy_once = PTHREAD_ONCE_INIT;

/* the hash of a random password, made once: a wrong name costs what a wrong password does */
static void make_dummy(void)
{
    char pw[33];
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
    if (acc_password_hash(pw, g_dummy))
        g_dummy[0] = 0;
    sodium_memzero(pw, sizeof(pw));
}

const char *acc_password_dummy(void)
{
    pthread_once(&g_dummy_once, make_dummy);
    return g_dummy;
}

static void hash_hex(const unsigned char *raw, size_t n, char hash[ACC_TOKEN_HASH_LEN + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), raw, n, NULL, 0);
    sodium_bin2hex(hash, ACC_TOKEN_HASH_LEN + 1, h, sizeof(h));
}

int acc_token_new(char token[ACC_TOKEN_LEN + 1], char hash[ACC_TOKEN_HASH_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    memcpy(token, ACC_TOKEN_PREFIX, 4);
    sodium_bin2hex(token + 4, ACC_TOKEN_LEN - 4 + 1, raw, sizeof(raw));
    hash_hex((const unsigned char *)token, ACC_TOKEN_LEN, hash);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int acc_token_hash(const char *token, size_t len, char hash[ACC_TOKEN_HASH_LEN + 1])
{
    hash[0] = 0;
    if (len != ACC_TOKEN_LEN || memcmp(token, ACC_TOKEN_PREFIX, 4))
        return -1;
    for (size_t i = 4; i < len; i++)
        if (!((token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f')))
            return -1;
    hash_hex((const unsigned char *)token, len, hash);
    return 0;
}

bool acc_user_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    /* "token" is the shared token's name in the audit trail and the login limits; a leading
     * '-' would read as an option */
    if (n == 0 || n >= ACC_NAME_MAX || !strcmp(name, "token") || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}
