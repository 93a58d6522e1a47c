/*
 * test_access.c - src/access/: passwords as argon2id strings (right, wrong, malformed, the
 * dummy), API tokens and their hashes, roles and scopes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/access/access.h"

static void test_passwords(void **state)
{
    (void)state;
    char h1[ACC_PWHASH_MAX], h2[ACC_PWHASH_MAX];
    assert_int_equal(acc_password_hash("correct horse battery", h1), 0);
    assert_int_equal(acc_password_hash("correct horse battery", h2), 0);
    /* argon2id with its salt inside: the same password hashes differently each time */
    assert_memory_equal(h1, "$argon2id$", 10);
    assert_string_not_equal(h1, h2);
    assert_null(strstr(h1, "correct"));
    assert_true(acc_password_verify(h1, "correct horse battery"));
    assert_true(acc_password_verify(h2, "correct horse battery"));
    assert_false(acc_password_verify(h1, "correct horse batterY"));
    assert_false(acc_password_verify(h1, ""));
    /* too short or too long to be set */
    assert_int_equal(acc_password_hash("short", h2), -1);
    char big[ACC_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(acc_password_hash(big, h2), -1);
    /* malformed or foreign strings never verify */
    assert_false(acc_password_verify("", "correct horse battery"));
    assert_false(acc_password_verify(NULL, "correct horse battery"));
    assert_false(
        acc_password_verify("$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA", "correct horse battery"));
    strcpy(h2, h1);
    h2[strlen(h2) - 2] ^= 1; /* one bit of the hash */
    assert_false(acc_password_verify(h2, "correct horse battery"));
    /* the dummy: a hash, of no password anyone knows */
    const char *d = acc_password_dummy();
    assert_memory_equal(d, "$argon2id$", 10);
    assert_ptr_equal(d, acc_password_dummy());
    assert_false(acc_password_verify(d, "correct horse battery"));
}

static void test_tokens(void **state)
{
    (void)state;
    char t1[ACC_TOKEN_LEN + 1], t2[ACC_TOKEN_LEN + 1];
    char h1[ACC_TOKEN_HASH_LEN + 1], h2[ACC_TOKEN_HASH_LEN + 1], again[ACC_TOKEN_HASH_LEN + 1];
    assert_int_equal(acc_token_new(t1, h1), 0);
    assert_int_equal(acc_token_new(t2, h2), 0);
    assert_int_equal(strlen(t1), ACC_TOKEN_LEN);
    assert_memory_equal(t1, "cqt_", 4);
    assert_int_equal(strlen(h1), ACC_TOKEN_HASH_LEN);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(h1, h2);
    assert_null(strstr(h1, t1 + 4)); /* the hash is not the token */
    /* a request's token hashes to what the store keeps */
    assert_int_equal(acc_token_hash(t1, strlen(t1), again), 0);
    assert_string_equal(again, h1);
    /* anything not shaped as ours is no one's token */
    assert_int_equal(acc_token_hash(t1, strlen(t1) - 1, again), -1);
    t2[10] = 'G';
    assert_int_equal(acc_token_hash(t2, strlen(t2), again), -1);
    assert_int_equal(acc_token_hash("a-test-token-0123456789", 23, again), -1);
    char other[ACC_TOKEN_LEN + 1];
    memcpy(other, t1, sizeof(other));
    other[ACC_TOKEN_LEN - 1] = other[ACC_TOKEN_LEN - 1] == '0' ? '1' : '0';
    assert_int_equal(acc_token_hash(other, ACC_TOKEN_LEN, again), 0);
    assert_string_not_equal(again, h1);
}

static void test_roles_and_scopes(void **state)
{
    (void)state;
    assert_int_equal(acc_role_parse("admin"), ACC_ROLE_ADMIN);
    assert_int_equal(acc_role_parse("agent"), ACC_ROLE_AGENT);
    assert_int_equal(acc_role_parse("Admin"), ACC_ROLE_NONE);
    assert_int_equal(acc_role_parse(NULL), ACC_ROLE_NONE);
    assert_true(ACC_ROLE_AGENT < ACC_ROLE_ANALYST && ACC_ROLE_ANALYST < ACC_ROLE_SUPERVISOR &&
                ACC_ROLE_SUPERVISOR < ACC_ROLE_ADMIN);
    assert_string_equal(acc_role_name(ACC_ROLE_SUPERVISOR), "supervisor");

    acc_scope s;
    char msg[160];
    assert_int_equal(acc_scope_parse("", ACC_ROLE_ANALYST, "ana", &s, msg, sizeof(msg)), 0);
    assert_false(s.limited);
    assert_true(acc_scope_allows(&s, "anyone", "ANY"));
    assert_int_equal(acc_scope_parse("campaign:C1,campaign:C2", ACC_ROLE_SUPERVISOR, "sue", &s, msg,
                                     sizeof(msg)),
                     0);
    assert_true(s.limited);
    assert_int_equal(s.n_campaigns, 2);
    assert_true(acc_scope_allows(&s, "ann", "C2"));
    assert_false(acc_scope_allows(&s, "ann", "C3"));
    assert_false(acc_scope_allows(&s, "ann", NULL)); /* a call of no known campaign */
    /* an agent: their own calls, by their name or the scope's agent_user */
    assert_int_equal(acc_scope_parse(NULL, ACC_ROLE_AGENT, "ann", &s, msg, sizeof(msg)), 0);
    assert_true(s.limited);
    assert_string_equal(s.agent, "ann");
    assert_true(acc_scope_allows(&s, "ann", "C9"));
    assert_false(acc_scope_allows(&s, "bob", "C9"));
    assert_false(acc_scope_allows(&s, NULL, "C9"));
    assert_false(acc_scope_allows(&s, "ann2", "C9"));
    assert_int_equal(acc_scope_parse("agent:1042", ACC_ROLE_AGENT, "ann", &s, msg, sizeof(msg)), 0);
    assert_string_equal(s.agent, "1042");
    assert_false(acc_scope_allows(&s, "ann", "C9"));
    /* refused */
    assert_int_equal(acc_scope_parse("campaign:C1", ACC_ROLE_AGENT, "ann", &s, msg, sizeof(msg)),
                     -1);
    assert_int_equal(acc_scope_parse("agent:x", ACC_ROLE_ANALYST, "ana", &s, msg, sizeof(msg)), -1);
    assert_int_equal(acc_scope_parse("team:T", ACC_ROLE_ANALYST, "ana", &s, msg, sizeof(msg)), -1);
    assert_int_equal(acc_scope_parse("campaign:", ACC_ROLE_ANALYST, "ana", &s, msg, sizeof(msg)),
                     -1);
    assert_int_equal(acc_scope_parse("C1", ACC_ROLE_ANALYST, "ana", &s, msg, sizeof(msg)), -1);
    assert_true(acc_user_name_ok("ann.lee@example"));
    assert_false(acc_user_name_ok("ann lee"));
    assert_false(acc_user_name_ok(""));
    assert_false(acc_user_name_ok("token"));
    assert_false(acc_user_name_ok("-"));
    assert_false(acc_user_name_ok("--role"));
}

int main(void)
{
    if (acc_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_roles_and_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
