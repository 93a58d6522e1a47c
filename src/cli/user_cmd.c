/*
 * user_cmd.c - `callqa user add|list|disable|enable|password|token|tokens|revoke` (the service's
 * users and their API tokens, in the store) and `callqa store audit` (the audit trail as JSON
 * lines). docs/privacy/access.md, "Users, roles and access".
 *
 * A password is read from a file of mode 0600 (--password-file) or from standard input
 * (--password-stdin), never from the command line, where ps and the shell's history would show
 * it. A token is printed once, on standard output; the store keeps only its hash.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../access/access.h"
#include "../config/config.h"
#include "../store/store_users.h"
#include "cli_args.h"
#include "user_cmd.h"
#include "../store/store.h"

typedef struct opts {
    const char *cmd, *name, *role, *scope, *password_file, *label;
    bool password_stdin, json, jsonl, all;
    long long token_id;
    double since;
    long long after;
    char db[4096];
} opts;

/* The command line of `callqa user` or (audit) `callqa store audit` into o: -1 to go on, else
 * the exit status (0 after --help; 2 having said why). */
static int parse(const char *prog, int argc, char **argv, opts *o, bool audit)
{
    const char *cmd = audit ? "store audit" : "user";
    cfg_settings *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    cfg_defaults(c);
    c->db_path[0] = 0; /* no default store: --db, or the db of --config FILE or CALLQA_DB */
    cfg_args a;
    int rc = cq_cli_args(cmd, prog, argc, argv, c, &a);
    snprintf(o->db, sizeof(o->db), "%s", c->db_path);
    free(c);
    if (rc >= 0)
        return rc;
    if (audit) {
        o->jsonl = cfg_arg_given(&a, "jsonl");
        o->since = cfg_arg_given(&a, "since") ? cfg_arg_num(&a, "since") : 0;
        o->after = cfg_arg_given(&a, "after") ? (long long)cfg_arg_num(&a, "after") : 0;
    } else {
        o->role = cfg_arg(&a, "role");
        o->scope = cfg_arg(&a, "scope");
        o->password_file = cfg_arg(&a, "password-file");
        o->password_stdin = cfg_arg_given(&a, "password-stdin");
        o->label = cfg_arg(&a, "label");
        o->json = cfg_arg_given(&a, "json");
        o->token_id = cfg_arg_given(&a, "token") ? (long long)cfg_arg_num(&a, "token") : 0;
        o->all = cfg_arg_given(&a, "all");
        if (a.next >= argc) {
            cq_cli_usage(stderr, cmd);
            return 2;
        }
        o->cmd = argv[a.next++];
        if (a.next < argc)
            o->name = argv[a.next++];
    }
    if (a.next != argc) {
        fprintf(stderr,
                "%s: unexpected argument '%s' (a password is never given here: use "
                "--password-file or --password-stdin)\n",
                prog, argv[a.next]);
        return 2;
    }
    if (!o->db[0]) {
        fprintf(stderr, "%s: which store? give --db STORE (or --config FILE with db)\n", prog);
        return 2;
    }
    return -1;
}

/* The password from the file (0600) or standard input's first line, hashed: 0, or 1. */
static int read_password(const opts *o, char hash[ACC_PWHASH_MAX])
{
    char pw[ACC_PASSWORD_MAX + 2], msg[600];
    if (o->password_file) {
        if (cfg_read_secret(o->password_file, pw, sizeof(pw), msg, sizeof(msg))) {
            fprintf(stderr, "callqa user: %s\n", msg);
            return 1;
        }
    } else {
        if (!fgets(pw, sizeof(pw), stdin)) {
            fprintf(stderr, "callqa user: no password on standard input\n");
            return 1;
        }
        pw[strcspn(pw, "\r\n")] = 0;
    }
    size_t n = strlen(pw);
    int rc = 0;
    if (n < ACC_PASSWORD_MIN || n > ACC_PASSWORD_MAX) {
        fprintf(stderr, "callqa user: a password is %d to %d bytes\n", ACC_PASSWORD_MIN,
                ACC_PASSWORD_MAX);
        rc = 1;
    } else if (acc_password_hash(pw, hash)) {
        fprintf(stderr, "callqa user: the password could not be hashed (out of memory)\n");
        rc = 1;
    }
    memset(pw, 0, sizeof(pw));
    return rc;
}

static void print_json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static int user_list(store *s, const opts *o)
{
    store_user *u = NULL;
    int n = 0;
    if (store_user_list(s, &u, &n)) {
        fprintf(stderr, "callqa user list: %s\n", store_errmsg(s));
        return 1;
    }
    if (o->json)
        printf("[");
    else
        printf("%-24s %-10s %-8s %s\n", "NAME", "ROLE", "STATE", "SCOPE");
    for (int i = 0; i < n; i++) {
        if (o->json) {
            printf("%s{\"name\":", i ? "," : "");
            print_json_str(u[i].name);
            printf(",\"role\":");
            print_json_str(u[i].role);
            printf(",\"scope\":");
            print_json_str(u[i].scopes);
            printf(",\"disabled\":%s,\"password\":%s,\"created\":%.3f}",
                   u[i].disabled ? "true" : "false", u[i].password[0] ? "true" : "false",
                   u[i].created);
        } else {
            printf("%-24s %-10s %-8s %s\n", u[i].name, u[i].role,
                   u[i].disabled ? "disabled" : "enabled", u[i].scopes[0] ? u[i].scopes : "-");
        }
    }
    if (o->json)
        printf("]\n");
    free(u);
    return 0;
}

typedef struct token_out {
    bool json;
    int n;
} token_out;

static int token_line(void *user, int64_t id, const char *label, double created)
{
    token_out *t = user;
    if (t->json) {
        printf("%s{\"id\":%" PRId64 ",\"label\":", t->n ? "," : "", id);
        print_json_str(label);
        printf(",\"created\":%.3f}", created);
    } else {
        time_t tt = (time_t)created;
        struct tm tm;
        char when[32] = "?";
        if (gmtime_r(&tt, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
        printf("%-8" PRId64 " %-21s %s\n", id, when, label[0] ? label : "-");
    }
    t->n++;
    return 0;
}

/* `tokens NAME`: the user's tokens; `revoke NAME --token ID | --all`: gone at once (each request
 * looks its token up). A new password does not revoke them: a token is an integration's, and is
 * revoked on purpose. */
static int tokens(store *s, const opts *o)
{
    store_user u;
    int got = store_user_get(s, o->name, 0, &u);
    if (got != 1) {
        fprintf(stderr, "callqa user %s: %s\n", o->cmd,
                got == 0 ? "no such user" : store_errmsg(s));
        return 1;
    }
    if (!strcmp(o->cmd, "tokens")) {
        token_out t = {.json = o->json};
        if (o->json)
            printf("[");
        else
            printf("%-8s %-21s %s\n", "ID", "MADE (UTC)", "LABEL");
        int rc = store_token_list(s, u.id, token_line, &t);
        if (o->json)
            printf("]\n");
        if (rc)
            fprintf(stderr, "callqa user tokens: %s\n", store_errmsg(s));
        return rc ? 1 : 0;
    }
    if (o->all == (o->token_id > 0)) {
        fprintf(stderr,
                "callqa user revoke: --token ID (callqa user tokens %s lists them) or "
                "--all\n",
                o->name);
        return 2;
    }
    int n = store_token_revoke(s, u.id, o->all ? 0 : o->token_id);
    if (n < 0) {
        fprintf(stderr, "callqa user revoke: %s\n", store_errmsg(s));
        return 1;
    }
    if (n == 0 && !o->all) {
        fprintf(stderr, "callqa user revoke: %s has no token %lld\n", o->name, o->token_id);
        return 1;
    }
    printf("revoked %d token%s of %s\n", n, n == 1 ? "" : "s", o->name);
    return 0;
}

static int run(store *s, const opts *o)
{
    double now = (double)time(NULL);
    char msg[300];
    if (!strcmp(o->cmd, "list"))
        return user_list(s, o);
    if (!o->name) {
        fprintf(stderr, "callqa user %s: which user?\n", o->cmd);
        return 2;
    }
    if (!strcmp(o->cmd, "add")) {
        acc_role role = acc_role_parse(o->role);
        acc_scope sc;
        if (!acc_user_name_ok(o->name)) {
            fprintf(stderr, "callqa user add: a user name is 1-64 of A-Z a-z 0-9 . _ @ -\n");
            return 2;
        }
        if (role == ACC_ROLE_NONE) {
            fprintf(stderr, "callqa user add: --role admin, supervisor, analyst or agent\n");
            return 2;
        }
        if (acc_scope_parse(o->scope, role, o->name, &sc, msg, sizeof(msg))) {
            fprintf(stderr, "callqa user add: --scope: %s\n", msg);
            return 2;
        }
        char hash[ACC_PWHASH_MAX] = "";
        if ((o->password_file || o->password_stdin) && read_password(o, hash))
            return 1;
        int64_t id = 0;
        int rc = store_user_add(s, o->name, acc_role_name(role), o->scope ? o->scope : "",
                                hash[0] ? hash : NULL, now, &id);
        if (rc == 1) {
            fprintf(stderr, "callqa user add: there is a user %s already\n", o->name);
            return 1;
        }
        if (rc) {
            fprintf(stderr, "callqa user add: %s\n", store_errmsg(s));
            return 1;
        }
        printf("added %s (%s%s%s)\n", o->name, acc_role_name(role), o->scope ? ", " : "",
               o->scope ? o->scope : "");
        return 0;
    }
    if (!strcmp(o->cmd, "disable") || !strcmp(o->cmd, "enable")) {
        int rc = store_user_set_disabled(s, o->name, !strcmp(o->cmd, "disable"));
        if (rc <= 0)
            fprintf(stderr, "callqa user %s: %s\n", o->cmd,
                    rc == 0 ? "no such user" : store_errmsg(s));
        else
            printf("%sd %s\n", o->cmd, o->name);
        return rc == 1 ? 0 : 1;
    }
    if (!strcmp(o->cmd, "password")) {
        char hash[ACC_PWHASH_MAX];
        if (!o->password_file && !o->password_stdin) {
            fprintf(stderr, "callqa user password: --password-file FILE or --password-stdin\n");
            return 2;
        }
        if (read_password(o, hash))
            return 1;
        int rc = store_user_set_password(s, o->name, hash);
        if (rc <= 0)
            fprintf(stderr, "callqa user password: %s\n",
                    rc == 0 ? "no such user" : store_errmsg(s));
        else
            printf("the password of %s is set: their sessions have ended (their API tokens "
                   "stay: callqa user tokens %s, callqa user revoke)\n",
                   o->name, o->name);
        return rc == 1 ? 0 : 1;
    }
    if (!strcmp(o->cmd, "tokens") || !strcmp(o->cmd, "revoke"))
        return tokens(s, o);
    if (!strcmp(o->cmd, "token")) {
        store_user u;
        int got = store_user_get(s, o->name, 0, &u);
        if (got != 1) {
            fprintf(stderr, "callqa user token: %s\n", got == 0 ? "no such user" : store_errmsg(s));
            return 1;
        }
        char token[ACC_TOKEN_LEN + 1], hash[ACC_TOKEN_HASH_LEN + 1];
        if (acc_token_new(token, hash) || store_token_add(s, u.id, hash, o->label, now)) {
            fprintf(stderr, "callqa user token: %s\n", store_errmsg(s));
            return 1;
        }
        printf("%s\n", token);
        fprintf(stderr,
                "callqa user token: the token of %s, shown this once (the store keeps "
                "only its hash)\n",
                o->name);
        return 0;
    }
    fprintf(stderr, "callqa user: unknown command %s\n", o->cmd);
    cq_cli_usage(stderr, "user");
    return 2;
}

int cq_cli_user(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse("callqa user", argc, argv, &o, false);
    if (rc >= 0)
        return rc;
    if (acc_init()) {
        fprintf(stderr, "callqa user: libsodium cannot be set up\n");
        return 1;
    }
    char msg[1200];
    store *s = store_open(o.db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "callqa user: store: %s\n", msg);
        return 1;
    }
    rc = run(s, &o);
    store_close(s);
    return rc;
}

static int audit_line(void *user, const store_audit_row *a)
{
    (void)user;
    printf("{\"id\":%" PRId64 ",\"ts\":%.3f,\"who\":", a->id, a->ts);
    print_json_str(a->who ? a->who : "");
    printf(",\"role\":");
    print_json_str(a->role ? a->role : "");
    printf(",\"action\":");
    print_json_str(a->action ? a->action : "");
    printf(",\"target\":");
    if (a->target)
        print_json_str(a->target);
    else
        printf("null");
    printf(",\"client\":");
    if (a->client)
        print_json_str(a->client);
    else
        printf("null");
    printf(",\"status\":%d}\n", a->status);
    return 0;
}

int cq_cli_store_audit(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof(o));
    int rc = parse("callqa store audit", argc, argv, &o, true);
    if (rc >= 0)
        return rc;
    char msg[1200];
    store *s = store_open(o.db, msg, sizeof(msg));
    if (!s) {
        fprintf(stderr, "callqa store audit: store: %s\n", msg);
        return 1;
    }
    rc = store_audit_list(s, o.after, o.since, 0, audit_line, NULL);
    if (rc)
        fprintf(stderr, "callqa store audit: %s\n", store_errmsg(s));
    store_close(s);
    return rc ? 1 : 0;
}
