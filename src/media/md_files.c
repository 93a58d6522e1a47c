/*
 * md_files.c - what a recording holds, from its first bytes (never its name: uploads are kept
 * as .rec), and where a call's legs lie: the call's row names its files (audio: the mix or the
 * stereo file; audio_in, audio_out: the ViciDial legs), found as the worker finds them, relative
 * paths under recordings_dir; "NAME:REL" (recording server NAME) is not on local disk.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "callqa/cq_legs.h"
#include "media.h"
#include "../store/store_calls.h"

/* ---- what a file holds ---------------------------------------------------------------------- */

static unsigned le16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* the WAVE format tag of a RIFF/WAVE file's fmt chunk (the subformat's for
 * WAVE_FORMAT_EXTENSIBLE), or -1 when the head does not reach it */
static long wav_format_tag(const uint8_t *h, size_t n)
{
    size_t off = 12;
    while (off + 8 <= n) {
        uint32_t len = le32(h + off + 4);
        if (!memcmp(h + off, "fmt ", 4)) {
            if (len < 16 || off + 8 + 16 > n)
                return -1;
            unsigned tag = le16(h + off + 8);
            if (tag == 0xFFFE) { /* the subformat GUID's first two bytes */
                if (len < 40 || off + 8 + 26 > n)
                    return -1;
                tag = le16(h + off + 8 + 24);
            }
            return (long)tag;
        }
        if (len > n - off - 8)
            return -1;
        off += 8 + (size_t)len + (len & 1);
    }
    return -1;
}

/* an MPEG audio frame header (layer I-III, a real bitrate and sample rate) at h */
static bool mpeg_frame(const uint8_t *h, size_t n)
{
    return n >= 4 && h[0] == 0xFF && (h[1] & 0xE0) == 0xE0 && ((h[1] >> 3) & 3) != 1 &&
           ((h[1] >> 1) & 3) != 0 && (h[2] >> 4) != 0xF && (h[2] >> 4) != 0 &&
           ((h[2] >> 2) & 3) != 3;
}

md_kind md_sniff(const uint8_t *h, size_t n, uint64_t size)
{
    if (n >= 12 && !memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) {
        long tag = wav_format_tag(h, n);
        /* PCM, IEEE float, A-law, u-law: what browsers play */
        return tag == 1 || tag == 3 || tag == 6 || tag == 7 ? MD_WAV : MD_DECODE;
    }
    if ((n >= 10 && !memcmp(h, "ID3", 3) && h[3] != 0xFF && h[4] != 0xFF) || mpeg_frame(h, n))
        return MD_MP3;
    if (n >= 4 && !memcmp(h, "fLaC", 4))
        return MD_FLAC;
    if (n >= 4 && !memcmp(h, "OggS", 4))
        return MD_OGG;
    /* headerless GSM 06.10 (Asterisk's .gsm): whole 33-byte frames, each opening with 0xD */
    if (size >= 33 && size % 33 == 0 && n >= 1) {
        size_t k = 0;
        for (; k < n; k += 33)
            if ((h[k] & 0xF0) != 0xD0)
                break;
        if (k >= n)
            return MD_RAW_GSM;
    }
    return MD_DECODE; /* AU, AIFF, RIFX, WAV of other encodings: the decoder decides */
}

const char *md_ctype(md_kind k)
{
    switch (k) {
    case MD_MP3: return "audio/mpeg";
    case MD_FLAC: return "audio/flac";
    case MD_OGG: return "audio/ogg";
    default: return "audio/wav"; /* as it is, or transcoded */
    }
}

/* ---- the call's legs ------------------------------------------------------------------------ */

static const char *const k_leg_names[MD_N_LEGS] = {"in", "out", "mix"};

const char *md_leg_name(int leg)
{
    return leg >= 0 && leg < MD_N_LEGS ? k_leg_names[leg] : "?";
}

const char *md_leg_ref(const store_call *c, int leg)
{
    return leg == MD_LEG_IN ? c->audio_in : leg == MD_LEG_OUT ? c->audio_out : c->audio;
}

const cfg_server *md_remote_server(const cfg_settings *c, const char *ref)
{
    const char *colon = strchr(ref, ':');
    if (!colon || colon == ref || colon - ref > 64 || !strncmp(colon, "://", 3))
        return NULL;
    char name[65];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - ref), ref);
    return cfg_find_server(c, name);
}

void md_local_path(const cfg_settings *c, const char *ref, char *out, size_t n)
{
    if (ref[0] == '/' || !c->recordings_dir[0])
        snprintf(out, n, "%s", ref);
    else
        snprintf(out, n, "%s/%s", c->recordings_dir, ref);
}

bool md_servable(const cfg_settings *cfg, const char *ref)
{
    if (!ref[0] || md_remote_server(cfg, ref))
        return false;
    char path[2100];
    md_local_path(cfg, ref, path, sizeof(path));
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && !md_stub(st.st_size);
}

bool md_stub(long long bytes)
{
    return bytes < CQ_LEGS_STUB_BYTES;
}
