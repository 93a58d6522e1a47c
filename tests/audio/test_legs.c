/*
 * test_legs.c - ViciDial leg naming and resolution: -all with -in/-out beside it, in ORIG/,
 * in ../ORIG/ from MP3/, failed-recording stubs, missing files.
 */
#include "testutil.h"

#include "callqa/cq_legs.h"

static void touch(const char *rel, size_t bytes)
{
    char *p = tu_path(tu_dir(), rel);
    for (char *c = p + strlen(tu_dir()) + 1; *c; c++) { /* mkdir -p of the parents */
        if (*c == '/') {
            *c = 0;
            mkdir(p, 0755);
            *c = '/';
        }
    }
    char *buf = calloc(1, bytes + 1);
    assert_int_equal(tu_write_bytes(p, buf, bytes), 0);
    free(buf);
    free(p);
}

static void test_kind(void **state)
{
    (void)state;
    size_t stem = 0;
    assert_int_equal(cq_legs_vicidial_kind("/x/20240101-1200_555-all.wav", &stem), 'a');
    assert_int_equal(stem, strlen("/x/20240101-1200_555"));
    assert_int_equal(cq_legs_vicidial_kind("a-in.wav", &stem), 'i');
    assert_int_equal(stem, 1);
    assert_int_equal(cq_legs_vicidial_kind("MP3/a-all.mp3", NULL), 'a');
    assert_int_equal(cq_legs_vicidial_kind("a-out.WAV", NULL), 'o');
    assert_int_equal(cq_legs_vicidial_kind("call.wav", NULL), 0);
    assert_int_equal(cq_legs_vicidial_kind("-in.wav", NULL), 0);      /* no stem */
    assert_int_equal(cq_legs_vicidial_kind("dir-in/x.wav", NULL), 0); /* not in the name */
    assert_int_equal(cq_legs_vicidial_kind("x-inside.wav", NULL), 0);
}

static void expect_legs(const char *all_rel, const char *in_rel, const char *out_rel)
{
    char *all = tu_path(tu_dir(), all_rel);
    cq_legs_resolved r;
    cq_err err;
    assert_int_equal(cq_legs_resolve(all, &r, &err), CQ_OK);
    if (in_rel) {
        assert_null(r.path);
        assert_non_null(r.in_path);
        char *in = tu_path(tu_dir(), in_rel), *out = tu_path(tu_dir(), out_rel);
        assert_string_equal(r.in_path, in);
        assert_string_equal(r.out_path, out);
        assert_non_null(strstr(r.note, "instead of the mixed"));
        free(in), free(out);
    } else {
        assert_string_equal(r.path, all);
        assert_null(r.in_path);
    }
    assert_string_equal(r.name, all);
    cq_legs_resolved_free(&r);
    free(all);
}

static void test_resolve(void **state)
{
    (void)state;
    /* legs beside the mix */
    touch("a/call-all.wav", 500);
    touch("a/call-in.wav", 500);
    touch("a/call-out.wav", 500);
    expect_legs("a/call-all.wav", "a/call-in.wav", "a/call-out.wav");
    /* legs in ORIG/ */
    touch("b/call-all.wav", 500);
    touch("b/ORIG/call-in.wav", 500);
    touch("b/ORIG/call-out.wav", 500);
    expect_legs("b/call-all.wav", "b/ORIG/call-in.wav", "b/ORIG/call-out.wav");
    /* the MP3 under MP3/, legs in ../ORIG/ */
    touch("c/MP3/call-all.mp3", 500);
    touch("c/ORIG/call-in.wav", 500);
    touch("c/ORIG/call-out.wav", 500);
    expect_legs("c/MP3/call-all.mp3", "c/MP3/../ORIG/call-in.wav", "c/MP3/../ORIG/call-out.wav");
    /* only one leg: the mix is used */
    touch("d/call-all.wav", 500);
    touch("d/call-in.wav", 500);
    expect_legs("d/call-all.wav", NULL, NULL);
    /* a plain file is itself */
    touch("e/plain.wav", 500);
    expect_legs("e/plain.wav", NULL, NULL);
}

static void test_stubs(void **state)
{
    (void)state;
    /* a stub leg (ViciDial's failed recordings are 44-byte headers): use the mix, say why */
    touch("f/call-all.wav", 500);
    touch("f/call-in.wav", 44);
    touch("f/call-out.wav", 500);
    char *all = tu_path(tu_dir(), "f/call-all.wav");
    cq_legs_resolved r;
    cq_err err;
    assert_int_equal(cq_legs_resolve(all, &r, &err), CQ_OK);
    assert_string_equal(r.path, all);
    assert_non_null(r.note);
    assert_non_null(strstr(r.note, "failed-recording stub"));
    cq_legs_resolved_free(&r);
    free(all);
    /* the mix itself a stub, no legs: an error naming the file */
    touch("g/call-all.wav", 44);
    all = tu_path(tu_dir(), "g/call-all.wav");
    assert_int_equal(cq_legs_resolve(all, &r, &err), CQ_ERR_EMPTY);
    assert_non_null(strstr(err.msg, "stub"));
    assert_non_null(strstr(err.msg, all));
    free(all);
    /* but a stub mix with good legs is fine */
    touch("h/call-all.wav", 44);
    touch("h/ORIG/call-in.wav", 500);
    touch("h/ORIG/call-out.wav", 500);
    expect_legs("h/call-all.wav", "h/ORIG/call-in.wav", "h/ORIG/call-out.wav");
    /* a 0-byte file */
    touch("i/zero.wav", 0);
    all = tu_path(tu_dir(), "i/zero.wav");
    assert_int_equal(cq_legs_resolve(all, &r, &err), CQ_ERR_EMPTY);
    assert_non_null(strstr(err.msg, "empty file (0 bytes)"));
    free(all);
}

static void test_missing(void **state)
{
    (void)state;
    cq_legs_resolved r;
    cq_err err;
    char *p = tu_path(tu_dir(), "nope-all.wav");
    assert_int_equal(cq_legs_resolve(p, &r, &err), CQ_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "nope-all.wav"));
    assert_int_equal(cq_legs_resolve(tu_dir(), &r, &err), CQ_ERR_INVALID);
    assert_non_null(strstr(err.msg, "directory"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_stubs),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
