/*
 * test_ingest.c - what the ingest decides without a database (src/ingest/source.c): the
 * database URI, the password file, time zones, and where a recording is (local disk, a
 * configured recording server, refused). The ViciDial scan itself runs against a real MariaDB
 * in tests/pipeline/test_vicidial.sh.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/ingest/ingest.h"

static void test_uri(void **state)
{
    (void)state;
    ingest_db_uri u;
    char msg[600];
    assert_int_equal(
        ingest_db_uri_parse("mysql://cron@10.0.0.5:3307/asterisk", &u, msg, sizeof(msg)), 0);
    assert_string_equal(u.user, "cron");
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 3307);
    assert_string_equal(u.db, "asterisk");
    assert_int_equal(
        ingest_db_uri_parse("MariaDB://qa%40x@[fd00::5]/asterisk", &u, msg, sizeof(msg)), 0);
    assert_string_equal(u.user, "qa@x");
    assert_string_equal(u.host, "fd00::5");
    assert_int_equal(u.port, 3306);
    static const struct {
        const char *uri, *says;
    } bad[] = {
        {"mysql://cron:pw@db/asterisk", "password"},
        {"mysql://db/asterisk", "no user"},
        {"mysql://cron@db", "no database"},
        {"mysql://cron@db/", "database name"},
        {"mysql://cron@db:0/a", "port"},
        {"mysql://cron@db:65536/a", "port"},
        {"mysql://cron@db:/a", "port"},
        {"mysql://cron@/a", "no host"},
        {"mysql://cron@db/a?ssl=1", "database name"},
        {"mysql://cr%0aon@db/a", "user"},
        {"postgres://cron@db/a", "mysql://"},
        {"mysql://cron@[fd00::5/a", "IPv6"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg[0] = 0;
        assert_int_equal(ingest_db_uri_parse(bad[i].uri, &u, msg, sizeof(msg)), -1);
        if (!strstr(msg, bad[i].says))
            fail_msg("%s: '%s' does not say '%s'", bad[i].uri, msg, bad[i].says);
    }
}

static void test_secret(void **state)
{
    (void)state;
    char dir[] = "/tmp/cq-ingest-XXXXXX", path[64], pw[64], msg[600];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pw", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("s3cret word\nsecond line\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(cfg_read_secret(path, pw, sizeof(pw), msg, sizeof(msg)), 0);
    assert_string_equal(pw, "s3cret word");
    chmod(path, 0640);
    assert_int_equal(cfg_read_secret(path, pw, sizeof(pw), msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "mode 0600"));
    assert_null(strstr(msg, "s3cret"));
    f = fopen(path, "w");
    fclose(f);
    chmod(path, 0400);
    assert_int_equal(cfg_read_secret(path, pw, sizeof(pw), msg, sizeof(msg)), -1);
    unlink(path);
    assert_int_equal(cfg_read_secret(path, pw, sizeof(pw), msg, sizeof(msg)), -1);
    rmdir(dir);
}

static void test_tz(void **state)
{
    (void)state;
    assert_int_equal(ingest_tz_check("America/New_York"), 0);
    assert_int_equal(ingest_tz_check("UTC"), 0);
    assert_int_equal(ingest_tz_check("Mars/Olympus"), -1);
    assert_int_equal(ingest_tz_check("../../etc/passwd"), -1);
    assert_int_equal(ingest_tz_check("/etc/localtime"), -1);
    assert_int_equal(ingest_tz_check("zone.tab"), -1); /* a file, not a zone */
    double t;
    /* EST (UTC-5) and EDT (UTC-4) */
    assert_int_equal(ingest_local_to_utc("2024-03-01 10:00:05", "America/New_York", &t), 0);
    assert_true(t == 1709305205.0);
    assert_int_equal(ingest_local_to_utc("2024-07-01 10:00:00", "America/New_York", &t), 0);
    assert_true(t == 1719842400.0);
    assert_int_equal(ingest_local_to_utc("2024-07-01 10:00", "UTC", &t), -1);
    assert_int_equal(ingest_local_to_utc("not a date", "UTC", &t), -1);
    char out[20];
    assert_int_equal(ingest_utc_to_local(1719842400.0, "Europe/London", out), 0);
    assert_string_equal(out, "2024-07-01 15:00:00");
    assert_int_equal(ingest_utc_to_local(-5, "UTC", out), -1);
    /* the zone of the process is left as it was */
    setenv("TZ", "Asia/Tokyo", 1);
    assert_int_equal(ingest_local_to_utc("2024-03-01 10:00:05", "America/New_York", &t), 0);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    ingest_tz_system(out, sizeof(out));
    assert_string_equal(out, "Asia/Tokyo");
    unsetenv("TZ");
}

static void touch(const char *dir, const char *rel, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < bytes; i++)
        fputc(0, f);
    fclose(f);
}

static void test_local(void **state)
{
    (void)state;
    char dir[] = "/tmp/cq-ingest-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/ORIG", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/MP3", dir);
    mkdir(p, 0700);
    ingest_audio a;
    assert_int_equal(ingest_audio_local(dir, "c1", &a), 0);
    touch(dir, "MP3/c1-all.mp3", 500);
    assert_int_equal(ingest_audio_local(dir, "c1", &a), 1);
    assert_string_equal(a.audio, "MP3/c1-all.mp3");
    assert_string_equal(a.audio_in, "");
    touch(dir, "c1-all.wav", 500);    /* the WAV mix before the MP3 */
    touch(dir, "ORIG/c1-in.wav", 44); /* a stub: not used */
    touch(dir, "ORIG/c1-out.wav", 500);
    assert_int_equal(ingest_audio_local(dir, "c1", &a), 1);
    assert_string_equal(a.audio, "c1-all.wav");
    assert_string_equal(a.audio_in, "");
    touch(dir, "ORIG/c1-in.wav", 500);
    assert_int_equal(ingest_audio_local(dir, "c1", &a), 1);
    assert_string_equal(a.audio_in, "ORIG/c1-in.wav");
    assert_string_equal(a.audio_out, "ORIG/c1-out.wav");
    assert_int_equal(ingest_audio_local(dir, "../c1", &a), 0);
    assert_int_equal(ingest_audio_local("", "c1", &a), 0);
    assert_false(ingest_file_name_ok("a/b"));
    assert_false(ingest_file_name_ok(".hidden"));
    assert_false(ingest_file_name_ok(""));
    assert_true(ingest_file_name_ok("20240301-100005_5551234_1001"));
    const char *rel[] = {"MP3/c1-all.mp3", "c1-all.wav", "ORIG/c1-in.wav", "ORIG/c1-out.wav"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, rel[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/ORIG", dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/MP3", dir);
    rmdir(p);
    rmdir(dir);
}

static void test_remote(void **state)
{
    (void)state;
    cfg_settings c;
    cfg_defaults(&c);
    char msg[600], ref[1100], why[256];
    assert_int_equal(cfg_add_server(&c, "uk=http://10.0.0.5/RECORDINGS", msg, sizeof(msg)), 0);
    assert_int_equal(
        cfg_add_server(&c, "us=https://rec.example.com:8443/vd/RECORDINGS/", msg, sizeof(msg)), 0);
    assert_int_equal(ingest_audio_remote(&c, "http://10.0.0.5/RECORDINGS/MP3/x-all.mp3", ref,
                                         sizeof(ref), why, sizeof(why)),
                     0);
    assert_string_equal(ref, "uk:MP3/x-all.mp3");
    /* https where the dialer says http, the host in capitals: the same server */
    assert_int_equal(ingest_audio_remote(&c, "http://REC.example.com:8443/vd/RECORDINGS/y-all.wav",
                                         ref, sizeof(ref), why, sizeof(why)),
                     0);
    assert_string_equal(ref, "us:y-all.wav");
    static const struct {
        const char *loc, *says;
    } bad[] = {
        {"http://10.0.0.9/RECORDINGS/x-all.wav", "recording on an unconfigured server 10.0.0.9"},
        {"http://10.0.0.5/other/x-all.wav", "not under the recording server uk"},
        {"http://10.0.0.5:8080/RECORDINGS/x-all.wav", "not under the recording server uk"},
        {"http://10.0.0.5/RECORDINGS/../x-all.wav", "not a plain file path"},
        {"http://10.0.0.5/RECORDINGS/x%2e-all.wav", "not a plain file path"},
        {"http://10.0.0.5/RECORDINGS/x-all.wav?a=1", "not a plain file path"},
        {"http://10.0.0.5/RECORDINGS/", "not a plain file path"},
        {"http://u@10.0.0.5/RECORDINGS/x-all.wav", "no plain host"},
        {"/var/spool/asterisk/monitorDONE/x-all.wav", "not an http(s) URL"},
        {"ftp://10.0.0.5/RECORDINGS/x-all.wav", "not an http(s) URL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = 0;
        assert_int_equal(ingest_audio_remote(&c, bad[i].loc, ref, sizeof(ref), why, sizeof(why)),
                         -1);
        assert_string_equal(ref, "");
        if (!strstr(why, bad[i].says))
            fail_msg("%s: '%s' does not say '%s'", bad[i].loc, why, bad[i].says);
    }
}

/* A carrier from the channels ViciDial logs, and the route patterns (carrier.c). */
static void test_carrier(void **state)
{
    (void)state;
    static const struct {
        const char *channel, *carrier;
    } k[] = {
        {"SIP/carrierA-0000001a", "carrierA"},
        {"SIP/carrier-b-00a1", "carrier-b"},
        {"SIP/carrier-b", "carrier-b"},
        {"PJSIP/trunk_2-00000012", "trunk_2"},
        {"PJSIP/15551234567@voip.ms", "voip.ms"},
        {"SIP/telco/15551234567", "telco"},
        {"IAX2/provider-1234", "provider"},
        {"DAHDI/i1/5551234-1", "i1"},
        {"sip/lower-00af", "lower"},
        {"Local/8600051@default-00000001;1", ""},
        {"Agent/1001", ""},
        {"SIP/bad name-01", ""},
        {"", ""},
        {"SIP/", ""},
        {"noslash", ""},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        char out[INGEST_ROUTE_MAX + 1];
        int got = ingest_carrier_of_channel(k[i].channel, out, sizeof(out));
        assert_int_equal(got, k[i].carrier[0] != 0);
        assert_string_equal(out, k[i].carrier);
    }
    ingest_route_patterns rp;
    char why[400];
    assert_int_equal(
        ingest_route_patterns_parse("uk-tel=did:44*, us=channel:SIP/us*,  site2=server:10.2.*", &rp,
                                    why, sizeof(why)),
        0);
    assert_int_equal(rp.n, 3);
    const char *f1[INGEST_ROUTE_FIELDS] = {"", "10.2.0.7", "4420799", "", ""};
    char name[INGEST_ROUTE_MAX + 1];
    assert_int_equal(ingest_route_name(&rp, f1, name, sizeof(name)), 1);
    assert_string_equal(name, "uk-tel"); /* the first match wins */
    const char *f2[INGEST_ROUTE_FIELDS] = {"SIP/nope-1", "10.3.0.1", NULL, "C1", "r.wav"};
    assert_int_equal(ingest_route_name(&rp, f2, name, sizeof(name)), 0);
    assert_string_equal(name, "");
    assert_int_equal(ingest_route_patterns_parse("x=phone:1*", &rp, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "field"));
    assert_int_equal(ingest_route_patterns_parse("a b=did:1", &rp, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "name"));
    assert_int_equal(ingest_route_patterns_parse("nameonly", &rp, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "NAME=FIELD:GLOB"));
    assert_int_equal(ingest_route_patterns_parse("", &rp, why, sizeof(why)), 0);
    assert_int_equal(rp.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri),   cmocka_unit_test(test_secret), cmocka_unit_test(test_tz),
        cmocka_unit_test(test_local), cmocka_unit_test(test_remote), cmocka_unit_test(test_carrier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
