/*
 * decode.c - streaming decoder: WAV PCM, IEEE float and G.711 read by our own code, every other
 * format through libsndfile, which is loaded (dlopen) only when a file needs it.
 *
 * DESIGN
 * Every input, file or memory, is read through one small byte-source abstraction (pread on a
 * file descriptor, or memcpy from a buffer), so the two paths cannot drift apart. A RIFF/RIFX
 * WAVE file has its chunks walked by us first: libsndfile has open fuzzing bugs upstream, and
 * most hostile headers (0 channels, rate 0, 65535 channels, chunks claiming more bytes than the
 * file holds) are cheaper to refuse with a precise message than to pass on.
 *
 * Once the header is validated, the encodings call recorders write - PCM 8/16/24/32-bit, IEEE
 * float 32/64 and G.711 u-law/A-law, plain or WAVE_FORMAT_EXTENSIBLE, little- or big-endian
 * (RIFX) - are decoded here from the data chunk, giving the values libsndfile 1.2's float read
 * gives (test_audio compares them sample for sample, whole files and in blocks). The header is
 * read as libsndfile reads it: the frame width is channels * ceil(bits / 8), the block align is
 * not used, 8-bit PCM is unsigned, a second fmt chunk is ignored. Headers libsndfile treats
 * specially (24-bit PCM in 4-byte blocks, which it inspects the data to interpret; data that
 * starts with a WavPack or Ogg page; other codecs) go to libsndfile, as does everything that
 * is not WAV (GSM 6.10, MP3, FLAC, Ogg, AU, AIFF, ...).
 *
 * So an analysis of a WAV file never loads libsndfile and its codec chain (libFLAC, libvorbis,
 * libopus, libogg, libmpg123, libmp3lame: about 12 shared objects and a few milliseconds of
 * start-up). The first file that needs it loads "libsndfile.so.1" and looks up the nine
 * functions used here; if that fails, the file gets an error naming the library, and the next
 * such file tries again. libsndfile reads through virtual I/O from the same byte source.
 *
 * GSM 6.10 in WAV: libsndfile decodes a trailing partial 65-byte block that SoX (and the
 * reference pipeline) drop; we stop at the last whole block, i.e. data_bytes / 65 * 320 frames.
 */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h> /* types and constants only: the functions come from dlsym */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/base_int.h"
#include "callqa/cq_audio.h"
#include "decode_int.h"

#define MAX_WARNINGS 16
#define MAX_CHUNKS 4096 /* chunk walk bound: a hostile file cannot make us loop */

/* ---- libsndfile, loaded on first need ------------------------------------------------------ */

/* The libsndfile functions decode.c calls, with the types sndfile.h declares (checked below). */
typedef SNDFILE *(*sf_open_virtual_fn)(SF_VIRTUAL_IO *, int, SF_INFO *, void *);
typedef int (*sf_close_fn)(SNDFILE *);
typedef const char *(*sf_strerror_fn)(SNDFILE *);
typedef int (*sf_error_fn)(SNDFILE *);
typedef const char *(*sf_error_number_fn)(int);
typedef int (*sf_command_fn)(SNDFILE *, int, void *, int);
typedef sf_count_t (*sf_readf_float_fn)(SNDFILE *, float *, sf_count_t);
typedef sf_count_t (*sf_readf_short_fn)(SNDFILE *, short *, sf_count_t);
typedef sf_count_t (*sf_read_raw_fn)(SNDFILE *, void *, sf_count_t);

/* _Generic does not evaluate its operand: these name the functions without linking them. */
#define CQ_SF_TYPE_CHECK(fn)                                                                       \
    static_assert(_Generic(&fn, fn##_fn : 1, default : 0), #fn ": type differs from sndfile.h")
CQ_SF_TYPE_CHECK(sf_open_virtual);
CQ_SF_TYPE_CHECK(sf_close);
CQ_SF_TYPE_CHECK(sf_strerror);
CQ_SF_TYPE_CHECK(sf_error);
CQ_SF_TYPE_CHECK(sf_error_number);
CQ_SF_TYPE_CHECK(sf_command);
CQ_SF_TYPE_CHECK(sf_readf_float);
CQ_SF_TYPE_CHECK(sf_readf_short);
CQ_SF_TYPE_CHECK(sf_read_raw);

typedef struct sf_api {
    sf_open_virtual_fn open_virtual;
    sf_close_fn close;
    sf_strerror_fn strerror;
    sf_error_fn error;
    sf_error_number_fn error_number;
    sf_command_fn command;
    sf_readf_float_fn readf_float;
    sf_readf_short_fn readf_short;
    sf_read_raw_fn read_raw;
} sf_api;

static pthread_mutex_t g_sf_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *g_sf_soname = "libsndfile.so.1"; /* guarded by g_sf_lock */
static sf_api g_sf;                                 /* filled once, under g_sf_lock */
static bool g_sf_ready;                             /* g_sf is usable; never reset */

void cq__audio_set_sndfile_soname(const char *soname)
{
    pthread_mutex_lock(&g_sf_lock);
    g_sf_soname = soname;
    pthread_mutex_unlock(&g_sf_lock);
}

bool cq__audio_sndfile_loaded(void)
{
    pthread_mutex_lock(&g_sf_lock);
    bool ready = g_sf_ready;
    pthread_mutex_unlock(&g_sf_lock);
    return ready;
}

/* libsndfile's and libsox's loaders: base's dlsym into a function pointer. */
bool cq__audio_dlsym(void *lib, const char *name, void *fn_ptr, size_t fn_size)
{
    return cq__dlsym(lib, name, fn_ptr, fn_size);
}

#define SYM(lib, field, name) cq__audio_dlsym(lib, name, &g_sf.field, sizeof(g_sf.field))

/*
 * The libsndfile functions, loading the library on the first call. Returns NULL with `err`
 * naming the library and `file` when it cannot be loaded (then the next call tries again).
 * The library stays loaded for the life of the process.
 */
static const sf_api *sf_get(const char *file, cq_err *err)
{
    pthread_mutex_lock(&g_sf_lock);
    if (g_sf_ready) {
        pthread_mutex_unlock(&g_sf_lock);
        return &g_sf;
    }
    const char *soname = g_sf_soname;
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        cq__err_set(err, CQ_ERR_UNSUPPORTED,
                    "%s: not a WAV file callqa decodes itself, and %s (libsndfile, needed for "
                    "GSM, MP3, FLAC, Ogg, AU, AIFF and other formats) cannot be loaded: %s",
                    file, soname, why ? why : "unknown reason");
        pthread_mutex_unlock(&g_sf_lock);
        return NULL;
    }
    if (!SYM(lib, open_virtual, "sf_open_virtual") || !SYM(lib, close, "sf_close") ||
        !SYM(lib, strerror, "sf_strerror") || !SYM(lib, error, "sf_error") ||
        !SYM(lib, error_number, "sf_error_number") || !SYM(lib, command, "sf_command") ||
        !SYM(lib, readf_float, "sf_readf_float") || !SYM(lib, readf_short, "sf_readf_short") ||
        !SYM(lib, read_raw, "sf_read_raw")) {
        const char *why = dlerror();
        cq__err_set(err, CQ_ERR_UNSUPPORTED, "%s: %s lacks a function callqa needs: %s", file,
                    soname, why ? why : "unknown symbol");
        dlclose(lib);
        memset(&g_sf, 0, sizeof(g_sf));
        pthread_mutex_unlock(&g_sf_lock);
        return NULL;
    }
    g_sf_ready = true;
    pthread_mutex_unlock(&g_sf_lock);
    return &g_sf;
}

/* ---- the handle ----------------------------------------------------------------------------- */

typedef struct src {
    int fd;             /* file source, or -1 */
    const uint8_t *mem; /* memory source */
    int64_t size;       /* bytes */
    int64_t pos;        /* libsndfile's cursor */
    int64_t patch_off;  /* a repaired header field shown to libsndfile in place of the file's
                           bytes (4 bytes at patch_off; -1: none) */
    uint8_t patch[4];
} src;

/* How a handle fetches samples; all give the values libsndfile's float read gives. */
typedef enum read_path {
    PATH_WAV,   /* our own WAV decode from the data chunk (see wav_kind) */
    PATH_FLOAT, /* sf_readf_float: everything not below */
    PATH_SHORT, /* sf_readf_short + our conversion: lossless int16 codecs (GSM, FLAC 16, PCM16) */
    PATH_G711   /* sf_read_raw of u-law/A-law bytes (AU, raw), expanded through a table */
} read_path;

/* Sample encodings PATH_WAV decodes; byte order from cq_audio.big_endian. */
typedef enum wav_kind {
    WAV_NONE = 0, /* not ours: libsndfile decodes the file */
    WAV_U8,       /* unsigned 8-bit PCM */
    WAV_S16,      /* 16-bit PCM (also 9..16 bits, left-justified) */
    WAV_S24,      /* 24-bit PCM, packed */
    WAV_S32,      /* 32-bit PCM */
    WAV_F32,      /* IEEE float */
    WAV_F64,      /* IEEE double */
    WAV_G711      /* u-law or A-law bytes, through cq_audio.g711 */
} wav_kind;

struct cq_audio {
    src s;
    const sf_api *sf_fn; /* libsndfile's functions, when sf is open */
    SNDFILE *sf;         /* libsndfile's handle, or NULL (PATH_WAV) */
    cq_audio_info info;
    char *name;          /* for messages */
    int64_t frame_limit; /* stop after this many frames (-1: none) */
    int64_t delivered;   /* frames handed out */
    uint64_t nonfinite;  /* replaced samples */
    bool check_finite;   /* float/double encodings */
    read_path path;      /* how samples are fetched (see read_core) */
    wav_kind kind;       /* PATH_WAV: the sample encoding */
    int wav_format;      /* PATH_WAV: the SF_FORMAT_* libsndfile would report */
    int64_t data_off;    /* PATH_WAV: byte offset of the first frame */
    size_t frame_bytes;  /* PATH_WAV: bytes per frame, channels * sample bytes */
    float g711[256];     /* PATH_G711 and WAV_G711: byte -> sample, the G.711 expansion */
    void *stage;         /* staging for raw bytes, shorts or interleaved floats */
    size_t stage_cap;    /* bytes */
    int status;          /* sticky read error */
    bool big_endian;     /* RIFX */
    char *warnings[MAX_WARNINGS];
    size_t n_warnings;
};

/* ---- byte source -------------------------------------------------------------------------- */

/* Up to n bytes at off; fewer at the end of the source. -1 on a read error with nothing read. */
static int64_t src_pread(const src *s, void *buf, int64_t n, int64_t off)
{
    if (off < 0 || off >= s->size || n <= 0)
        return 0;
    if (n > s->size - off)
        n = s->size - off;
    if (s->mem) {
        memcpy(buf, s->mem + off, (size_t)n);
        return n;
    }
    int64_t done = 0;
    while (done < n) {
        ssize_t r = pread(s->fd, (char *)buf + done, (size_t)(n - done), (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && done == 0)
            return -1;
        if (r <= 0)
            break;
        done += r;
    }
    return done;
}

static sf_count_t vio_len(void *user)
{
    return ((src *)user)->size;
}

static sf_count_t vio_seek(sf_count_t off, int whence, void *user)
{
    src *s = user;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->pos : s->size;
    int64_t np = base + off;
    if (np < 0)
        return -1;
    s->pos = np;
    return np;
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    src *s = user;
    int64_t r = src_pread(s, ptr, count, s->pos);
    if (r < 0)
        return 0;
    if (s->patch_off >= 0 && s->pos < s->patch_off + 4 && s->pos + r > s->patch_off) {
        for (int k = 0; k < 4; k++) {
            int64_t at = s->patch_off + k - s->pos;
            if (at >= 0 && at < r)
                ((uint8_t *)ptr)[at] = s->patch[k];
        }
    }
    s->pos += r;
    return r;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr, (void)count, (void)user;
    return 0; /* read-only */
}

static sf_count_t vio_tell(void *user)
{
    return ((src *)user)->pos;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void add_warning(cq_audio *a, const char *fmt, const char *arg1, long long n1, long long n2)
{
    if (a->n_warnings >= MAX_WARNINGS)
        return;
    char *w = cq__printf(fmt, arg1, n1, n2);
    if (w)
        a->warnings[a->n_warnings++] = w;
}

static bool has_ext(const char *name, const char *ext)
{
    if (!name)
        return false;
    size_t n = strlen(name), e = strlen(ext);
    if (n < e)
        return false;
    for (size_t i = 0; i < e; i++) {
        char c = name[n - e + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != ext[i])
            return false;
    }
    return true;
}

static uint32_t rd32(const uint8_t *p, bool be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t rd16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint64_t rd64(const uint8_t *p, bool be)
{
    uint64_t hi = rd32(p + (be ? 0 : 4), be), lo = rd32(p + (be ? 4 : 0), be);
    return hi << 32 | lo;
}

/* ---- WAV header --------------------------------------------------------------------------- */

#define WAVE_FORMAT_PCM 0x0001
#define WAVE_FORMAT_IEEE_FLOAT 0x0003
#define WAVE_FORMAT_ALAW 0x0006
#define WAVE_FORMAT_MULAW 0x0007
#define WAVE_FORMAT_GSM610 0x0031
#define WAVE_FORMAT_EXTENSIBLE 0xFFFE

/*
 * Decide from the fmt chunk whether PATH_WAV decodes the file, as libsndfile 1.2 reads the
 * same header (src/wavlike.c, wavlike_read_fmt_chunk). `f` holds the first `n` (16..40) bytes
 * of the chunk. Sets a->kind (WAV_NONE: leave the file to libsndfile), a->wav_format and
 * a->frame_bytes.
 */
static void wav_classify(cq_audio *a, const uint8_t *f, size_t n, bool be)
{
    uint16_t tag = rd16(f, be), channels = rd16(f + 2, be);
    uint16_t block_align = rd16(f + 12, be), bits = rd16(f + 14, be);
    int container = SF_FORMAT_WAV;
    a->kind = WAV_NONE;
    if (tag == WAVE_FORMAT_EXTENSIBLE) {
        /* cbSize, valid bits, channel mask, then the sub-format GUID; only
         * {0000xxxx-0000-0010-8000-00aa00389b71} with a WAVE_FORMAT tag in its first field */
        static const uint8_t guid_tail[8] = {0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
        if (n < 40 || rd16(f + 28, be) != 0x0000 || rd16(f + 30, be) != 0x0010 ||
            memcmp(f + 32, guid_tail, 8) != 0 || rd32(f + 24, be) > 0xFFFF)
            return;
        tag = (uint16_t)rd32(f + 24, be);
        container = SF_FORMAT_WAVEX;
        if ((tag == WAVE_FORMAT_ALAW || tag == WAVE_FORMAT_MULAW) && bits != 8)
            return; /* libsndfile sizes these by their bits too; not seen in practice */
    } else if (tag == WAVE_FORMAT_PCM && bits == 24 && block_align == 4 * channels) {
        return; /* ambiguous: libsndfile looks at the samples to guess what was meant */
    }
    int bytes = (bits + 7) / 8; /* libsndfile: BITWIDTH2BYTES */
    switch (tag) {
    case WAVE_FORMAT_PCM:
        if (bits < 8 || bits > 32)
            return;
        a->kind = bytes == 1 ? WAV_U8 : bytes == 2 ? WAV_S16 : bytes == 3 ? WAV_S24 : WAV_S32;
        a->wav_format = container | (bytes == 1   ? SF_FORMAT_PCM_U8
                                     : bytes == 2 ? SF_FORMAT_PCM_16
                                     : bytes == 3 ? SF_FORMAT_PCM_24
                                                  : SF_FORMAT_PCM_32);
        break;
    case WAVE_FORMAT_IEEE_FLOAT:
        if (bits != 32 && bits != 64)
            return;
        a->kind = bits == 32 ? WAV_F32 : WAV_F64;
        a->wav_format = container | (bits == 32 ? SF_FORMAT_FLOAT : SF_FORMAT_DOUBLE);
        break;
    case WAVE_FORMAT_ALAW:
    case WAVE_FORMAT_MULAW:
        bytes = 1; /* the bits field is not used for G.711 */
        a->kind = WAV_G711;
        a->wav_format = container | (tag == WAVE_FORMAT_ALAW ? SF_FORMAT_ALAW : SF_FORMAT_ULAW);
        break;
    default: return;
    }
    if (be)
        a->wav_format |= SF_ENDIAN_BIG;
    a->frame_bytes = (size_t)bytes * channels;
}

/*
 * Walk the chunks of a RIFF/RIFX WAVE file. Validates fmt and data, notes repairs as warnings,
 * decides who decodes the samples (wav_classify), and sets a->frame_limit for GSM 6.10 and for
 * our own decode. Returns CQ_OK or an error with `err` set.
 */
static int wav_validate(cq_audio *a, bool be, cq_err *err)
{
    const src *s = &a->s;
    int64_t off = 12;
    a->s.patch_off = -1;
    bool have_fmt = false, have_data = false;
    uint16_t tag = 0, channels = 0, block_align = 0;
    uint32_t rate = 0;

    for (int i = 0; i < MAX_CHUNKS && off + 8 <= s->size; i++) {
        uint8_t h[8];
        if (src_pread(s, h, 8, off) != 8)
            return cq__err_set(err, CQ_ERR_IO, "%s: read error in the WAV header", a->name);
        uint32_t size = rd32(h + 4, be);
        int64_t avail = s->size - off - 8;
        if (!memcmp(h, "fmt ", 4) && !have_fmt) { /* a second fmt chunk is ignored */
            uint8_t f[40];
            if (size < 16 || avail < 16)
                return cq__err_set(err, CQ_ERR_FORMAT,
                                   "%s: truncated WAV header (fmt chunk of %u bytes)", a->name,
                                   (unsigned)(avail < size ? avail : size));
            int64_t want = size < sizeof(f) ? size : (int64_t)sizeof(f);
            if (want > avail)
                want = avail;
            if (src_pread(s, f, want, off + 8) != want)
                return cq__err_set(err, CQ_ERR_IO, "%s: read error in the WAV header", a->name);
            tag = rd16(f, be);
            channels = rd16(f + 2, be);
            rate = rd32(f + 4, be);
            block_align = rd16(f + 12, be);
            have_fmt = true;
            if (channels == 0)
                return cq__err_set(err, CQ_ERR_FORMAT, "%s: WAV header says 0 channels", a->name);
            if (channels > CQ_AUDIO_MAX_CHANNELS)
                return cq__err_set(err, CQ_ERR_UNSUPPORTED,
                                   "%s: %u channels; callqa analyses mono or stereo recordings",
                                   a->name, channels);
            if (rate == 0)
                return cq__err_set(err, CQ_ERR_FORMAT, "%s: WAV header says sample rate 0",
                                   a->name);
            if (rate < CQ_AUDIO_MIN_RATE_HZ || rate > CQ_AUDIO_MAX_RATE_HZ)
                return cq__err_set(err, CQ_ERR_UNSUPPORTED,
                                   "%s: sample rate %u Hz is outside %d..%d Hz", a->name,
                                   (unsigned)rate, CQ_AUDIO_MIN_RATE_HZ, CQ_AUDIO_MAX_RATE_HZ);
            if (block_align == 0)
                return cq__err_set(err, CQ_ERR_FORMAT, "%s: WAV header says block align 0",
                                   a->name);
            a->info.sample_rate_hz = (int)rate;
            a->info.channels = channels;
            wav_classify(a, f, (size_t)want, be);
        } else if (!memcmp(h, "data", 4)) {
            if (!have_fmt)
                return cq__err_set(err, CQ_ERR_FORMAT, "%s: WAV data chunk before its fmt chunk",
                                   a->name);
            have_data = true;
            int64_t bytes = size;
            /* 0xFFFFFFFF and 0 are what recorders leave when they die before closing the file */
            if (size == 0xFFFFFFFFu || (size == 0 && avail > 0) || (int64_t)size > avail) {
                if (size != 0xFFFFFFFFu && size != 0)
                    add_warning(a,
                                "%s: data chunk claims %lld bytes but only %lld follow; "
                                "decoded what is there",
                                a->name, (long long)size, (long long)avail);
                else
                    add_warning(a,
                                "%s: data chunk size field is %lld (unfinished recording?); "
                                "decoded the %lld bytes that follow",
                                a->name, (long long)size, (long long)avail);
                bytes = avail;
                /* libsndfile is shown the true size (a size of 0 would decode nothing) */
                uint32_t fixed = (uint32_t)(avail > 0xFFFFFFF0 ? 0xFFFFFFF0 : avail);
                a->s.patch_off = off + 4;
                for (int k = 0; k < 4; k++)
                    a->s.patch[be ? 3 - k : k] = (uint8_t)(fixed >> (8 * k));
            }
            if (bytes < block_align)
                return cq__err_set(err, CQ_ERR_EMPTY, "%s: WAV file holds no audio frames",
                                   a->name);
            if (tag == WAVE_FORMAT_GSM610) /* WAV49: 65-byte blocks of 320 samples */
                a->frame_limit = bytes / 65 * 320;
            uint8_t m[4];
            if (a->kind != WAV_NONE && src_pread(s, m, 4, off + 8) == 4 &&
                (!memcmp(m, "wvpk", 4) || !memcmp(m, "OggS", 4)))
                a->kind = WAV_NONE; /* libsndfile refuses these with its own message */
            if (a->kind != WAV_NONE) {
                a->data_off = off + 8;
                a->frame_limit = bytes / (int64_t)a->frame_bytes;
            }
            break;
        }
        int64_t adv = 8 + (int64_t)size + (size & 1);
        if ((int64_t)size > avail)
            return cq__err_set(err, CQ_ERR_FORMAT,
                               "%s: truncated WAV file ('%.4s' chunk claims %u bytes, %lld remain)",
                               a->name, (const char *)h, (unsigned)size, (long long)avail);
        off += adv;
    }
    if (!have_fmt)
        return cq__err_set(err, CQ_ERR_FORMAT, "%s: truncated WAV header (no fmt chunk)", a->name);
    if (!have_data)
        return cq__err_set(err, CQ_ERR_FORMAT, "%s: WAV file has no data chunk", a->name);
    return CQ_OK;
}

static const char *container_name(int major)
{
    switch (major) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX: return "wav";
    case SF_FORMAT_RF64: return "rf64";
    case SF_FORMAT_W64: return "w64";
    case SF_FORMAT_AIFF: return "aiff";
    case SF_FORMAT_AU: return "au";
    case SF_FORMAT_RAW: return "raw";
    case SF_FORMAT_FLAC: return "flac";
    case SF_FORMAT_OGG: return "ogg";
    case SF_FORMAT_CAF: return "caf";
    case SF_FORMAT_MPEG: return "mp3";
    default: return "other";
    }
}

/* Fill encoding, names, bits, clip level and silence scale from libsndfile's subtype. */
static void describe(cq_audio_info *in, int sf_format)
{
    const float s16 = 32767.0f / 32768.0f; /* FFmpeg decodes these to s16: noise * INT16_MAX */
    const float s32 = (float)(2147483647.0 / 2147483648.0); /* s32 decoders: noise * INT32_MAX */
    int major = sf_format & SF_FORMAT_TYPEMASK;
    int sub = sf_format & SF_FORMAT_SUBMASK;
    in->container = container_name(major);
    in->clip_level = s16;
    in->silence_scale = s16;
    in->bits_per_sample = 16;
    switch (sub) {
    case SF_FORMAT_PCM_U8:
        in->encoding = CQ_ENC_PCM_U8, in->encoding_name = "pcm_u8", in->bits_per_sample = 8;
        in->clip_level = 127.0f / 128.0f;
        break;
    case SF_FORMAT_PCM_S8:
        in->encoding = CQ_ENC_PCM_S8, in->encoding_name = "pcm_s8", in->bits_per_sample = 8;
        in->clip_level = 127.0f / 128.0f;
        break;
    case SF_FORMAT_PCM_16:
        in->encoding = major == SF_FORMAT_FLAC ? CQ_ENC_FLAC_16 : CQ_ENC_PCM_16;
        in->encoding_name = major == SF_FORMAT_FLAC ? "flac_16" : "pcm_s16";
        break;
    case SF_FORMAT_PCM_24:
        in->encoding = major == SF_FORMAT_FLAC ? CQ_ENC_FLAC_24 : CQ_ENC_PCM_24;
        in->encoding_name = major == SF_FORMAT_FLAC ? "flac_24" : "pcm_s24";
        in->bits_per_sample = 24;
        in->clip_level = 8388607.0f / 8388608.0f;
        in->silence_scale = s32;
        break;
    case SF_FORMAT_PCM_32:
        in->encoding = CQ_ENC_PCM_32, in->encoding_name = "pcm_s32", in->bits_per_sample = 32;
        in->clip_level = s32;
        in->silence_scale = s32;
        break;
    case SF_FORMAT_FLOAT:
        in->encoding = CQ_ENC_FLOAT, in->encoding_name = "float32", in->bits_per_sample = 32;
        in->clip_level = 1.0f, in->silence_scale = 1.0f;
        break;
    case SF_FORMAT_DOUBLE:
        in->encoding = CQ_ENC_DOUBLE, in->encoding_name = "float64", in->bits_per_sample = 64;
        in->clip_level = 1.0f, in->silence_scale = 1.0f;
        break;
    case SF_FORMAT_ULAW:
        in->encoding = CQ_ENC_ULAW, in->encoding_name = "ulaw", in->bits_per_sample = 8;
        in->clip_level = 32124.0f / 32768.0f;
        break;
    case SF_FORMAT_ALAW:
        in->encoding = CQ_ENC_ALAW, in->encoding_name = "alaw", in->bits_per_sample = 8;
        in->clip_level = 32256.0f / 32768.0f;
        break;
    case SF_FORMAT_GSM610:
        in->encoding = CQ_ENC_GSM610, in->encoding_name = "gsm610", in->bits_per_sample = 0;
        if (major == SF_FORMAT_RAW)
            in->container = "gsm";
        break;
    case SF_FORMAT_MPEG_LAYER_I:
    case SF_FORMAT_MPEG_LAYER_II:
    case SF_FORMAT_MPEG_LAYER_III:
        in->encoding = CQ_ENC_MPEG, in->encoding_name = "mpeg", in->bits_per_sample = 0;
        in->silence_scale = 1.0f; /* FFmpeg's MP3 decoder outputs float */
        break;
    case SF_FORMAT_VORBIS:
        in->encoding = CQ_ENC_VORBIS, in->encoding_name = "vorbis", in->bits_per_sample = 0;
        in->silence_scale = 1.0f;
        break;
    case SF_FORMAT_OPUS:
        in->encoding = CQ_ENC_OPUS, in->encoding_name = "opus", in->bits_per_sample = 0;
        in->silence_scale = 1.0f;
        break;
    default:
        in->encoding = CQ_ENC_OTHER, in->encoding_name = "other", in->bits_per_sample = 0;
        break;
    }
}

/* G.711 expansion (cq_g711_*: ITU-T G.711 tables, as 16-bit values / 32768); libsndfile uses
 * the same values, which test_audio checks sample by sample. */
static void fill_g711(float *tab, bool ulaw)
{
    for (int byte = 0; byte < 256; byte++) {
        int16_t s = ulaw ? cq_g711_ulaw_s16((uint8_t)byte) : cq_g711_alaw_s16((uint8_t)byte);
        tab[byte] = (float)s / 32768.0f;
    }
}

/* Whether an MPEG Layer III file's first frame carries a Xing or Info tag (LAME, FFmpeg and
 * most encoders write one, with the encoder delay and padding in its LAME part, which
 * libmpg123 reads to cut them: decoded, such a file starts on the clock of its source). The
 * first frame is sought after an ID3v2 tag, within 64 KiB. */
static bool mp3_has_info_tag(const src *s)
{
    uint8_t h[10];
    int64_t off = 0;
    if (src_pread(s, h, 10, 0) == 10 && !memcmp(h, "ID3", 3) &&
        !((h[6] | h[7] | h[8] | h[9]) & 0x80))
        off = 10 + ((int64_t)h[6] << 21 | (int64_t)h[7] << 14 | (int64_t)h[8] << 7 | h[9]) +
              (h[5] & 0x10 ? 10 : 0);
    uint8_t b[4096 + 64];
    for (int64_t end = off + 65536; off < end; off += 4096) {
        const int64_t got = src_pread(s, b, sizeof(b), off);
        if (got < 4)
            return false;
        for (int64_t i = 0; i + 4 <= got && i < 4096; i++) {
            const int ver = (b[i + 1] >> 3) & 3, layer = (b[i + 1] >> 1) & 3;
            if (b[i] != 0xFF || (b[i + 1] & 0xE0) != 0xE0 || ver == 1 || layer != 1 ||
                (b[i + 2] >> 4) == 15 || ((b[i + 2] >> 2) & 3) == 3)
                continue;
            /* the side information: 17 or 32 bytes for MPEG-1, 9 or 17 for MPEG-2 and 2.5 */
            const int mono = (b[i + 3] >> 6) == 3, crc = !(b[i + 1] & 1);
            const int64_t at =
                off + i + 4 + (crc ? 2 : 0) + (ver == 3 ? (mono ? 17 : 32) : (mono ? 9 : 17));
            uint8_t tag[4];
            return src_pread(s, tag, 4, at) == 4 &&
                   (!memcmp(tag, "Xing", 4) || !memcmp(tag, "Info", 4));
        }
    }
    return false;
}

/* Read path for a file libsndfile decodes. */
static read_path choose_path(cq_audio *a, int sf_format)
{
    int major = sf_format & SF_FORMAT_TYPEMASK, sub = sf_format & SF_FORMAT_SUBMASK;
    int endian = sf_format & SF_FORMAT_ENDMASK;
    bool riff_le = (major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX) &&
                   (endian == SF_ENDIAN_FILE || endian == SF_ENDIAN_LITTLE) && !a->big_endian;
    if ((sub == SF_FORMAT_ULAW || sub == SF_FORMAT_ALAW) &&
        (riff_le || major == SF_FORMAT_AU || major == SF_FORMAT_RAW)) {
        fill_g711(a->g711, sub == SF_FORMAT_ULAW);
        return PATH_G711;
    }
    if (sub == SF_FORMAT_PCM_16 || sub == SF_FORMAT_GSM610)
        return PATH_SHORT; /* decode to int16 exactly; libsndfile's float path is slower */
    return PATH_FLOAT;
}

/* ---- open / read / close ------------------------------------------------------------------- */

/* A validated WAV file that PATH_WAV decodes: no libsndfile. */
static cq_audio *open_wav(cq_audio *a, cq_err *err)
{
    a->path = PATH_WAV; /* rate and channels were set by wav_validate */
    describe(&a->info, a->wav_format);
    a->info.frames = a->frame_limit;
    a->check_finite = a->kind == WAV_F32 || a->kind == WAV_F64;
    if (a->kind == WAV_G711)
        fill_g711(a->g711, (a->wav_format & SF_FORMAT_SUBMASK) == SF_FORMAT_ULAW);
    if (a->info.frames == 0) {
        cq__err_set(err, CQ_ERR_EMPTY, "%s: no audio frames", a->name);
        cq_audio_close(a);
        return NULL;
    }
    return a;
}

/* Whether the file reads as headerless GSM 06.10 whatever its name (an upload kept under
 * another name): whole 33-byte frames, at least 4, the first 64 each opening with the signature
 * nibble 0xD. */
static bool looks_raw_gsm(const src *s)
{
    if (s->size < 4 * 33 || s->size % 33 != 0)
        return false;
    int64_t frames = s->size / 33 < 64 ? s->size / 33 : 64;
    for (int64_t k = 0; k < frames; k++) {
        uint8_t b;
        if (src_pread(s, &b, 1, k * 33) != 1 || (b & 0xF0) != 0xD0)
            return false;
    }
    return true;
}

/* An MP3 file without a Xing or Info tag: its first MP3_DELAY frames are the encoder's and the
 * decoder's delay (LAME's 576 and the decoder's 529), which no header says: read past them, so
 * the file is on its source's clock (at 8 kHz, 0.138 s earlier). The padding at the end is
 * left (at most one MPEG frame, 72 ms at 8 kHz). */
#define MP3_DELAY 1105
static int ensure_stage(cq_audio *a, size_t bytes);
static int drop_mp3_delay(cq_audio *a, cq_err *err)
{
    const size_t ch = (size_t)a->info.channels;
    if (ensure_stage(a, MP3_DELAY * ch * sizeof(float)) != CQ_OK)
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", a->name);
    sf_count_t got = a->sf_fn->readf_float(a->sf, a->stage, MP3_DELAY);
    if (got < 0)
        got = 0;
    if (a->info.frames >= 0)
        a->info.frames = a->info.frames > got ? a->info.frames - got : 0;
    return CQ_OK;
}

static cq_audio *open_common(cq_audio *a, cq_err *err)
{
    uint8_t head[12] = {0};
    int64_t got = src_pread(&a->s, head, 12, 0);
    bool riff = got == 12 && (!memcmp(head, "RIFF", 4) || !memcmp(head, "RIFX", 4)) &&
                !memcmp(head + 8, "WAVE", 4);
    SF_INFO sfi;
    memset(&sfi, 0, sizeof(sfi));
    a->frame_limit = -1;

    if (a->s.size == 0) {
        cq__err_set(err, CQ_ERR_EMPTY, "%s: empty file (0 bytes)", a->name);
        goto fail;
    }
    if (got < 0) {
        cq__err_set(err, CQ_ERR_IO, "%s: %s", a->name, strerror(errno));
        goto fail;
    }
    if (riff) {
        a->big_endian = head[3] == 'X';
        if (wav_validate(a, a->big_endian, err) != CQ_OK)
            goto fail;
        if (a->kind != WAV_NONE)
            return open_wav(a, err);
    } else if (got >= 4 && (!memcmp(head, "RIFF", 4) || !memcmp(head, "RIFX", 4)) && got < 12) {
        cq__err_set(err, CQ_ERR_FORMAT, "%s: truncated WAV header (%lld bytes)", a->name,
                    (long long)a->s.size);
        goto fail;
    } else if (has_ext(a->name, ".gsm") || looks_raw_gsm(&a->s)) {
        /* headerless GSM 6.10 as Asterisk writes it: 33-byte frames of 160 samples at 8 kHz */
        if (a->s.size < 33) {
            cq__err_set(err, CQ_ERR_EMPTY, "%s: raw GSM file shorter than one frame (%lld bytes)",
                        a->name, (long long)a->s.size);
            goto fail;
        }
        sfi.format = SF_FORMAT_RAW | SF_FORMAT_GSM610;
        sfi.samplerate = 8000;
        sfi.channels = 1;
    }

    const sf_api *sf = sf_get(a->name, err);
    if (!sf)
        goto fail;
    a->sf_fn = sf;
    SF_VIRTUAL_IO vio = {vio_len, vio_seek, vio_read, vio_write, vio_tell};
    a->s.pos = 0;
    a->sf = sf->open_virtual(&vio, SFM_READ, &sfi, &a->s);
    if (!a->sf) {
        const char *why = sf->strerror(NULL);
        bool unknown = strstr(why, "unknown format") || strstr(why, "not recognised") ||
                       strstr(why, "Format not recognised");
        cq__err_set(err, CQ_ERR_FORMAT, "%s: %s (libsndfile: %s)", a->name,
                    unknown ? "not a recognised audio file" : "cannot decode", why);
        goto fail;
    }
    if (sfi.channels < 1 || sfi.channels > CQ_AUDIO_MAX_CHANNELS) {
        cq__err_set(err, sfi.channels < 1 ? CQ_ERR_FORMAT : CQ_ERR_UNSUPPORTED,
                    "%s: %d channels; callqa analyses mono or stereo recordings", a->name,
                    sfi.channels);
        goto fail;
    }
    if (sfi.samplerate < CQ_AUDIO_MIN_RATE_HZ || sfi.samplerate > CQ_AUDIO_MAX_RATE_HZ) {
        cq__err_set(err, sfi.samplerate <= 0 ? CQ_ERR_FORMAT : CQ_ERR_UNSUPPORTED,
                    "%s: sample rate %d Hz is outside %d..%d Hz", a->name, sfi.samplerate,
                    CQ_AUDIO_MIN_RATE_HZ, CQ_AUDIO_MAX_RATE_HZ);
        goto fail;
    }
    sf->command(a->sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    a->info.sample_rate_hz = sfi.samplerate;
    a->info.channels = sfi.channels;
    describe(&a->info, sfi.format);
    a->info.frames = sfi.frames >= 0 && sfi.frames < INT64_MAX / 2 ? sfi.frames : -1;
    if (a->frame_limit >= 0 && a->info.frames > a->frame_limit)
        a->info.frames = a->frame_limit;
    a->check_finite = a->info.encoding == CQ_ENC_FLOAT || a->info.encoding == CQ_ENC_DOUBLE;
    a->path = choose_path(a, sfi.format);
    if ((sfi.format & SF_FORMAT_SUBMASK) == SF_FORMAT_MPEG_LAYER_III && !mp3_has_info_tag(&a->s) &&
        drop_mp3_delay(a, err) != CQ_OK)
        goto fail;
    if (a->info.frames == 0) {
        cq__err_set(err, CQ_ERR_EMPTY, "%s: no audio frames", a->name);
        goto fail;
    }
    return a;
fail:
    cq_audio_close(a);
    return NULL;
}
cq_audio *cq_audio_open(const char *path, cq_err *err)
{
    cq_err_clear(err);
    cq_audio *a = cq__calloc(1, sizeof(*a));
    if (!a) {
        cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    a->s.fd = -1;
    a->s.patch_off = -1;
    a->name = cq__strdup(path);
    if (!a->name) {
        cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    /* non-blocking until its type is known: opening a FIFO (or a device) for reading would
     * wait for a writer, and a recording is a regular file */
    a->s.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (a->s.fd < 0) {
        int e = errno;
        cq__err_set(err, e == ENOENT ? CQ_ERR_NOT_FOUND : CQ_ERR_IO, "%s: %s", path, strerror(e));
        goto fail;
    }
    struct stat st;
    if (fstat(a->s.fd, &st) != 0) {
        cq__err_set(err, CQ_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        cq__err_set(err, CQ_ERR_INVALID, "%s: is a directory, not a recording", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        cq__err_set(err, CQ_ERR_INVALID, "%s: not a regular file", path);
        goto fail;
    }
    int fl = fcntl(a->s.fd, F_GETFL);
    if (fl < 0 || fcntl(a->s.fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        cq__err_set(err, CQ_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    a->s.size = st.st_size;
    return open_common(a, err);
fail:
    cq_audio_close(a);
    return NULL;
}

cq_audio *cq_audio_open_memory(const void *data, size_t size, const char *name, cq_err *err)
{
    cq_err_clear(err);
    const char *nm = name ? name : "(memory)";
    if (!data && size) {
        cq__err_set(err, CQ_ERR_INVALID, "%s: NULL buffer", nm);
        return NULL;
    }
    cq_audio *a = cq__calloc(1, sizeof(*a));
    if (!a || !(a->name = cq__strdup(nm))) {
        cq__free(a);
        cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", nm);
        return NULL;
    }
    a->s.fd = -1;
    a->s.patch_off = -1;
    a->s.mem = data;
    a->s.size = (int64_t)size;
    return open_common(a, err);
}

const cq_audio_info *cq_audio_get_info(const cq_audio *a)
{
    return &a->info;
}

static int ensure_stage(cq_audio *a, size_t bytes)
{
    if (bytes <= a->stage_cap)
        return CQ_OK;
    void *nb = cq__realloc(a->stage, bytes);
    if (!nb)
        return CQ_ERR_NOMEM;
    a->stage = nb;
    a->stage_cap = bytes;
    return CQ_OK;
}

/* Write n = frames * ch values EXPR(k) (k = interleaved index) in the requested layout. */
#define EMIT(EXPR)                                                                                 \
    do {                                                                                           \
        if (inter) {                                                                               \
            for (size_t k = 0; k < frames * ch; k++)                                               \
                inter[k] = EXPR(k);                                                                \
        } else if (ch == 1) {                                                                      \
            float *o0 = planar[0];                                                                 \
            for (size_t k = 0; k < frames; k++)                                                    \
                o0[k] = EXPR(k);                                                                   \
        } else {                                                                                   \
            float *o0 = planar[0], *o1 = planar[1];                                                \
            for (size_t f = 0; f < frames; f++) {                                                  \
                o0[f] = EXPR(2 * f);                                                               \
                o1[f] = EXPR(2 * f + 1);                                                           \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Sample values, as libsndfile 1.2 computes them for its float read (src/pcm.c, float32.c,
 * double64.c): integers times a power of two in float, doubles rounded to float. */
static inline float s24_at(const uint8_t *p, bool be) /* the 24 bits in the top of an int32 */
{
    uint32_t u = be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8
                    : (uint32_t)p[2] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 8;
    return (float)(int32_t)u * (1.0f / 2147483648.0f);
}

static inline float f32_at(const uint8_t *p, bool be)
{
    uint32_t u = rd32(p, be);
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static inline float f64_at(const uint8_t *p, bool be)
{
    uint64_t u = rd64(p, be);
    double d;
    memcpy(&d, &u, sizeof(d));
    return (float)d;
}

/* NaN and Inf become 0, counted. */
static inline float finite_or_0(cq_audio *a, float v)
{
    if (isfinite(v))
        return v;
    a->nonfinite++;
    return 0.0f;
}

#define G711(k) (tab[raw[k]])
#define S16(k) ((float)s16[k] * (1.0f / 32768.0f))
#define F32(k) (f32[k])
#define W_U8(k) ((float)((int)raw[k] - 128) * (1.0f / 128.0f))
#define W_S16(k) ((float)(int16_t)rd16(raw + 2 * (k), be) * (1.0f / 32768.0f))
#define W_S24(k) (s24_at(raw + 3 * (k), be))
#define W_S32(k) ((float)(int32_t)rd32(raw + 4 * (k), be) * (1.0f / 2147483648.0f))
#define W_F32(k) (finite_or_0(a, f32_at(raw + 4 * (k), be)))
#define W_F64(k) (finite_or_0(a, f64_at(raw + 8 * (k), be)))

/* PATH_WAV: up to max_frames frames of the data chunk, converted. Returns frames or < 0. */
static int64_t read_wav(cq_audio *a, float *const *planar, float *inter, size_t max_frames,
                        cq_err *err)
{
    const size_t ch = (size_t)a->info.channels, width = a->frame_bytes;
    if (ensure_stage(a, max_frames * width) != CQ_OK)
        return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", a->name);
    int64_t r = src_pread(&a->s, a->stage, (int64_t)(max_frames * width),
                          a->data_off + a->delivered * (int64_t)width);
    if (r < 0) {
        a->status = CQ_ERR_IO;
        return cq__err_set(err, a->status, "%s: read error after %lld frames: %s", a->name,
                           (long long)a->delivered, strerror(errno));
    }
    size_t frames = (size_t)r / width; /* short only if the file shrank while being read */
    const uint8_t *raw = a->stage;
    const bool be = a->big_endian;
    switch (a->kind) {
    case WAV_U8: EMIT(W_U8); break;
    case WAV_S16:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (!be) {
            const int16_t *s16 = a->stage; /* host int16 already: this loop vectorises */
            EMIT(S16);
            break;
        }
#endif
        EMIT(W_S16);
        break;
    case WAV_S24: EMIT(W_S24); break;
    case WAV_S32: EMIT(W_S32); break;
    case WAV_F32: EMIT(W_F32); break;
    case WAV_F64: EMIT(W_F64); break;
    case WAV_G711: {
        const float *tab = a->g711;
        EMIT(G711);
        break;
    }
    case WAV_NONE: return cq__err_set(err, CQ_ERR_INTERNAL, "%s: no WAV decoder", a->name);
    }
    return (int64_t)frames;
}

/*
 * Read up to max_frames frames into `inter` (interleaved) or `planar` (one array per channel);
 * exactly one is non-NULL. Returns frames read, 0 at the end, or a negative status.
 */
static int64_t read_core(cq_audio *a, float *const *planar, float *inter, size_t max_frames,
                         cq_err *err)
{
    if (a->status != CQ_OK)
        return cq__err_set(err, a->status, "%s: earlier read error", a->name);
    if (a->frame_limit >= 0) {
        int64_t left = a->frame_limit - a->delivered;
        if (left <= 0)
            return 0;
        if ((int64_t)max_frames > left)
            max_frames = (size_t)left;
    }
    if (max_frames == 0)
        return 0;
    const size_t ch = (size_t)a->info.channels;
    size_t frames = 0;
    sf_count_t got = 0;
    const sf_api *sf = a->sf_fn;
    switch (a->path) {
    case PATH_WAV: {
        int64_t n = read_wav(a, planar, inter, max_frames, err);
        if (n < 0)
            return n;
        frames = (size_t)n;
        break;
    }
    case PATH_G711: {
        if (ensure_stage(a, max_frames * ch) != CQ_OK)
            return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", a->name);
        got = sf->read_raw(a->sf, a->stage, (sf_count_t)(max_frames * ch));
        frames = got > 0 ? (size_t)got / ch : 0;
        const uint8_t *raw = a->stage;
        const float *tab = a->g711;
        EMIT(G711);
        break;
    }
    case PATH_SHORT: {
        if (ensure_stage(a, max_frames * ch * sizeof(int16_t)) != CQ_OK)
            return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", a->name);
        got = sf->readf_short(a->sf, a->stage, (sf_count_t)max_frames);
        frames = got > 0 ? (size_t)got : 0;
        const int16_t *s16 = a->stage;
        EMIT(S16);
        break;
    }
    case PATH_FLOAT: {
        float *dst = inter ? inter : ch == 1 ? planar[0] : NULL;
        if (!dst) {
            if (ensure_stage(a, max_frames * ch * sizeof(float)) != CQ_OK)
                return cq__err_set(err, CQ_ERR_NOMEM, "%s: out of memory", a->name);
            dst = a->stage;
        }
        got = sf->readf_float(a->sf, dst, (sf_count_t)max_frames);
        frames = got > 0 ? (size_t)got : 0;
        size_t n = frames * ch;
        if (a->check_finite) {
            for (size_t i = 0; i < n; i++) {
                if (!isfinite(dst[i])) {
                    dst[i] = 0.0f;
                    a->nonfinite++;
                }
            }
        }
        if (dst == a->stage) {
            const float *f32 = dst;
            EMIT(F32);
        }
        break;
    }
    }
    if (frames == 0) {
        int e = a->sf ? sf->error(a->sf) : SF_ERR_NO_ERROR;
        if (e != SF_ERR_NO_ERROR) {
            a->status = CQ_ERR_FORMAT;
            return cq__err_set(err, a->status, "%s: decode error after %lld frames (%s)", a->name,
                               (long long)a->delivered, sf->error_number(e));
        }
        return 0;
    }
    a->delivered += (int64_t)frames;
    return (int64_t)frames;
}

int64_t cq_audio_read(cq_audio *a, float *out, size_t max_frames, cq_err *err)
{
    return read_core(a, NULL, out, max_frames, err);
}

int64_t cq_audio_read_planar(cq_audio *a, float *const out[], size_t max_frames, cq_err *err)
{
    return read_core(a, out, NULL, max_frames, err);
}

size_t cq_audio_warning_count(const cq_audio *a)
{
    return a->n_warnings;
}

const char *cq_audio_warning(const cq_audio *a, size_t i)
{
    return i < a->n_warnings ? a->warnings[i] : NULL;
}

bool cq__audio_is_native(const cq_audio *a)
{
    return a->path == PATH_WAV;
}

uint64_t cq_audio_nonfinite_count(const cq_audio *a)
{
    return a->nonfinite;
}

void cq_audio_close(cq_audio *a)
{
    if (!a)
        return;
    if (a->sf)
        a->sf_fn->close(a->sf);
    cq__free(a->stage);
    if (a->s.fd >= 0)
        close(a->s.fd);
    for (size_t i = 0; i < a->n_warnings; i++)
        cq__free(a->warnings[i]);
    cq__free(a->name);
    cq__free(a);
}
