/*
 * test_svc_audio.c - the pure parts of GET /api/qa/call/{id}/audio (src/service/svc_audio.c) and
 * of the media room (src/media/md_files.c):
 * the Range header (RFC 9110 14.1.2) and what a recording holds by its first bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/media/media.h"
#include "../../src/service/svc_audio.h"

static void range_is(const char *h, uint64_t size, svc_range want, uint64_t a, uint64_t b)
{
    uint64_t first = 7, last = 7;
    svc_range got = svc_range_parse(h, size, &first, &last);
    if (got != want)
        fail_msg("'%s' of %llu bytes: %d, want %d", h ? h : "(none)", (unsigned long long)size,
                 (int)got, (int)want);
    if (want == SVC_RANGE_OK && (first != a || last != b))
        fail_msg("'%s' of %llu bytes: %llu-%llu, want %llu-%llu", h, (unsigned long long)size,
                 (unsigned long long)first, (unsigned long long)last, (unsigned long long)a,
                 (unsigned long long)b);
}

static void test_range_one(void **st)
{
    (void)st;
    range_is("bytes=0-99", 1000, SVC_RANGE_OK, 0, 99);
    range_is("bytes=100-199", 1000, SVC_RANGE_OK, 100, 199);
    range_is("bytes=0-0", 1000, SVC_RANGE_OK, 0, 0);
    range_is("bytes=999-999", 1000, SVC_RANGE_OK, 999, 999);
    range_is("bytes=500-5000", 1000, SVC_RANGE_OK, 500, 999); /* past the end: to the end */
    range_is("bytes=500-", 1000, SVC_RANGE_OK, 500, 999);
    range_is("bytes=0-", 1000, SVC_RANGE_OK, 0, 999);
    range_is("bytes=-10", 1000, SVC_RANGE_OK, 990, 999); /* the last 10 */
    range_is("bytes=-1000", 1000, SVC_RANGE_OK, 0, 999);
    range_is("bytes=-5000", 1000, SVC_RANGE_OK, 0, 999); /* more than there is: all */
    range_is("Bytes = 1-2 ", 1000, SVC_RANGE_OK, 1, 2);  /* unit any case, spaces */
    range_is("bytes=18446744073709551614-", UINT64_MAX, SVC_RANGE_OK, 18446744073709551614u,
             18446744073709551614u);
}

static void test_range_unsatisfiable(void **st)
{
    (void)st;
    range_is("bytes=1000-", 1000, SVC_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=1000-2000", 1000, SVC_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=-0", 1000, SVC_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=0-", 0, SVC_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=-5", 0, SVC_RANGE_UNSATISFIABLE, 0, 0);
}

static void test_range_ignored(void **st)
{
    (void)st;
    range_is(NULL, 1000, SVC_RANGE_NONE, 0, 0);
    range_is("", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes=0-1,5-6", 1000, SVC_RANGE_NONE, 0, 0); /* several: the whole */
    range_is("bytes=5-1", 1000, SVC_RANGE_NONE, 0, 0);     /* last < first */
    range_is("bytes=a-b", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes=-", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes=--5", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes=+5-6", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes 0-5", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("items=0-5", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytesx=0-5", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes=0-5x", 1000, SVC_RANGE_NONE, 0, 0);
    range_is("bytes=18446744073709551616-", 1000, SVC_RANGE_NONE, 0, 0); /* 2^64 */
    range_is("bytes=-18446744073709551616", 1000, SVC_RANGE_NONE, 0, 0);
}

/* a RIFF/WAVE head with a fmt chunk of that tag (after a LIST chunk when list) */
static size_t wav_head(uint8_t *h, unsigned tag, int list, unsigned sub)
{
    size_t k = 0;
    memcpy(h, "RIFF\x24\x10\0\0WAVE", 12), k = 12;
    if (list) {
        memcpy(h + k, "LIST\x05\0\0\0abcde\0", 14); /* odd size: a pad byte */
        k += 14;
    }
    unsigned len = tag == 0xFFFE ? 40 : 16;
    memcpy(h + k, "fmt ", 4);
    h[k + 4] = (uint8_t)len, h[k + 5] = h[k + 6] = h[k + 7] = 0;
    memset(h + k + 8, 0, len);
    h[k + 8] = (uint8_t)(tag & 0xFF), h[k + 9] = (uint8_t)(tag >> 8);
    if (tag == 0xFFFE)
        h[k + 8 + 24] = (uint8_t)sub;
    return k + 8 + len;
}

static void test_sniff(void **st)
{
    (void)st;
    uint8_t h[256];
    assert_int_equal(md_sniff(h, wav_head(h, 1, 0, 0), 5000), MD_WAV);
    assert_int_equal(md_sniff(h, wav_head(h, 7, 1, 0), 5000), MD_WAV); /* u-law */
    assert_int_equal(md_sniff(h, wav_head(h, 6, 0, 0), 5000), MD_WAV); /* A-law */
    assert_int_equal(md_sniff(h, wav_head(h, 3, 0, 0), 5000), MD_WAV);
    assert_int_equal(md_sniff(h, wav_head(h, 0xFFFE, 0, 1), 5000), MD_WAV);
    assert_int_equal(md_sniff(h, wav_head(h, 0x31, 0, 0), 5000), MD_DECODE); /* WAV49 */
    assert_int_equal(md_sniff(h, wav_head(h, 0x31, 1, 0), 5000), MD_DECODE);
    assert_int_equal(md_sniff(h, wav_head(h, 0x11, 0, 0), 5000), MD_DECODE); /* ADPCM */
    assert_int_equal(md_sniff(h, 20, 5000), MD_DECODE);                      /* fmt cut off */
    assert_int_equal(md_sniff((const uint8_t *)"ID3\x04\0\0\0\0\0\x10", 10, 5000), MD_MP3);
    assert_int_equal(md_sniff((const uint8_t *)"\xFF\xFB\x90\x64", 4, 5000), MD_MP3);
    assert_int_equal(md_sniff((const uint8_t *)"\xFF\xF1\x50\x80", 4, 5000),
                     MD_DECODE); /* ADTS AAC: layer 0 */
    assert_int_equal(md_sniff((const uint8_t *)"fLaC", 4, 5000), MD_FLAC);
    assert_int_equal(md_sniff((const uint8_t *)"OggS", 4, 5000), MD_OGG);
    assert_int_equal(md_sniff((const uint8_t *)".snd", 4, 5000), MD_DECODE);
    /* raw GSM: whole 33-byte frames opening with 0xD */
    memset(h, 0x55, sizeof(h));
    for (int i = 0; i < 7; i++)
        h[33 * i] = 0xD4;
    assert_int_equal(md_sniff(h, 231, 33 * 100), MD_RAW_GSM);
    assert_int_equal(md_sniff(h, 231, 33 * 100 + 1), MD_DECODE);
    h[66] = 0x14;
    assert_int_equal(md_sniff(h, 231, 33 * 100), MD_DECODE);
    assert_int_equal(md_sniff(h, 0, 0), MD_DECODE);
    assert_string_equal(md_ctype(MD_MP3), "audio/mpeg");
    assert_string_equal(md_ctype(MD_WAV), "audio/wav");
    assert_string_equal(md_ctype(MD_DECODE), "audio/wav");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_one),
        cmocka_unit_test(test_range_unsatisfiable),
        cmocka_unit_test(test_range_ignored),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
