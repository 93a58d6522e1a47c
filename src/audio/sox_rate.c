/*
 * sox_rate.c - a whole mono signal through SoX's own `rate` effect (libsox), for the DNSMOS
 * reference mode, whose goldens were resampled by the `sox` program (cq_resample.h).
 *
 * DESIGN
 * libsox is loaded (dlopen "libsox.so.3") on the first call only, so that start-up and every
 * other path never load it. The chain is the one `sox IN -r RATE -b 32 -e floating-point OUT`
 * runs: input -> `rate` with its defaults (high quality, linear phase, 95 % bandwidth; the
 * `sox` program adds it with no options) -> output, no dither. libsox reads and writes no file
 * here: the input effect hands it callqa's decoded samples, the output effect takes the result,
 * so callqa's decoder stays the only parser of the recording. Samples cross as SoX converts
 * them: a sample x (full scale +-1) becomes SoX's 32-bit integer x * 2^31 rounded half away from
 * zero and clipped (a 16-bit sample s: s << 16, exactly), and the output is written as a 32-bit
 * float file holds it (SOX_SAMPLE_TO_FLOAT_32BIT: rounded to 25 significant bits, at most 1).
 * libsox keeps process-wide state (its globals, the FFT tables of its DSP helpers), so calls are
 * serialised by one lock.
 */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sox.h> /* types and constants only: the functions come from dlsym */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_resample.h"
#include "decode_int.h"

#define SOX_SONAME "libsox.so.3"
#define SOX_PACKAGE "libsox3"

/* The libsox functions called here, with the types sox.h declares (checked below). */
typedef int (*sox_init_fn)(void);
typedef sox_globals_t *(*sox_get_globals_fn)(void);
typedef sox_effects_chain_t *(*sox_create_effects_chain_fn)(sox_encodinginfo_t const *,
                                                            sox_encodinginfo_t const *);
typedef void (*sox_delete_effects_chain_fn)(sox_effects_chain_t *);
typedef sox_effect_handler_t const *(*sox_find_effect_fn)(char const *);
typedef sox_effect_t *(*sox_create_effect_fn)(sox_effect_handler_t const *);
typedef int (*sox_effect_options_fn)(sox_effect_t *, int, char *const[]);
typedef int (*sox_add_effect_fn)(sox_effects_chain_t *, sox_effect_t *, sox_signalinfo_t *,
                                 sox_signalinfo_t const *);
typedef int (*sox_flow_effects_fn)(sox_effects_chain_t *, sox_flow_effects_callback, void *);
typedef char const *(*sox_strerror_fn)(int);

/* _Generic does not evaluate its operand: these name the functions without linking them. */
#define CQ_SOX_TYPE_CHECK(fn)                                                                      \
    static_assert(_Generic(&fn, fn##_fn : 1, default : 0), #fn ": type differs from sox.h")
CQ_SOX_TYPE_CHECK(sox_init);
CQ_SOX_TYPE_CHECK(sox_get_globals);
CQ_SOX_TYPE_CHECK(sox_create_effects_chain);
CQ_SOX_TYPE_CHECK(sox_delete_effects_chain);
CQ_SOX_TYPE_CHECK(sox_find_effect);
CQ_SOX_TYPE_CHECK(sox_create_effect);
CQ_SOX_TYPE_CHECK(sox_effect_options);
CQ_SOX_TYPE_CHECK(sox_add_effect);
CQ_SOX_TYPE_CHECK(sox_flow_effects);
CQ_SOX_TYPE_CHECK(sox_strerror);

typedef struct sox_api {
    sox_init_fn init;
    sox_get_globals_fn get_globals;
    sox_create_effects_chain_fn create_effects_chain;
    sox_delete_effects_chain_fn delete_effects_chain;
    sox_find_effect_fn find_effect;
    sox_create_effect_fn create_effect;
    sox_effect_options_fn effect_options;
    sox_add_effect_fn add_effect;
    sox_flow_effects_fn flow_effects;
    sox_strerror_fn strerror;
} sox_api;

static pthread_mutex_t g_sox_lock = PTHREAD_MUTEX_INITIALIZER; /* also serialises every chain */
static const char *g_sox_soname = SOX_SONAME;                  /* guarded by g_sox_lock */
static sox_api g_sox;                                          /* filled once, under the lock */
static bool g_sox_ready;                                       /* never reset */

void cq__audio_set_sox_soname(const char *soname)
{
    pthread_mutex_lock(&g_sox_lock);
    g_sox_soname = soname ? soname : SOX_SONAME;
    pthread_mutex_unlock(&g_sox_lock);
}

bool cq__audio_sox_loaded(void)
{
    pthread_mutex_lock(&g_sox_lock);
    bool ready = g_sox_ready;
    pthread_mutex_unlock(&g_sox_lock);
    return ready;
}

#define SOX_SYM(lib, field, name) cq__audio_dlsym(lib, name, &g_sox.field, sizeof(g_sox.field))

/* libsox's messages go to callqa's log (warnings and failures only). */
static void sox_message(unsigned level, const char *filename, const char *fmt, va_list ap)
{
    if (level > 2) /* 1 failures, 2 warnings; 3 and up: reports and debugging */
        return;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    cq__log(level <= 1 ? CQ_LOG_ERROR : CQ_LOG_WARN, "libsox %s: %s", filename ? filename : "",
            line);
}

/* Load libsox on the first call (with g_sox_lock held). CQ_OK, or CQ_ERR_UNSUPPORTED with `err`
 * naming the library and the package; the next call tries again. */
static int sox_load(cq_err *err)
{
    if (g_sox_ready)
        return CQ_OK;
    void *lib = dlopen(g_sox_soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        return cq__err_set(err, CQ_ERR_UNSUPPORTED,
                           "%s (libsox, SoX's library) cannot be loaded (%s): apt-get install %s",
                           g_sox_soname, why ? why : "unknown reason", SOX_PACKAGE);
    }
    if (!SOX_SYM(lib, init, "sox_init") || !SOX_SYM(lib, get_globals, "sox_get_globals") ||
        !SOX_SYM(lib, create_effects_chain, "sox_create_effects_chain") ||
        !SOX_SYM(lib, delete_effects_chain, "sox_delete_effects_chain") ||
        !SOX_SYM(lib, find_effect, "sox_find_effect") ||
        !SOX_SYM(lib, create_effect, "sox_create_effect") ||
        !SOX_SYM(lib, effect_options, "sox_effect_options") ||
        !SOX_SYM(lib, add_effect, "sox_add_effect") ||
        !SOX_SYM(lib, flow_effects, "sox_flow_effects") ||
        !SOX_SYM(lib, strerror, "sox_strerror")) {
        const char *why = dlerror();
        dlclose(lib);
        memset(&g_sox, 0, sizeof(g_sox));
        return cq__err_set(err, CQ_ERR_UNSUPPORTED,
                           "%s lacks a function callqa needs: %s; apt-get install %s", g_sox_soname,
                           why ? why : "unknown symbol", SOX_PACKAGE);
    }
    if (g_sox.init() != SOX_SUCCESS) {
        dlclose(lib);
        memset(&g_sox, 0, sizeof(g_sox));
        return cq__err_set(err, CQ_ERR_INTERNAL, "%s: sox_init failed", g_sox_soname);
    }
    sox_globals_t *g = g_sox.get_globals();
    g->verbosity = 2; /* failures and warnings, to the log */
    g->output_message_handler = sox_message;
    g_sox_ready = true; /* libsox stays loaded (and initialised) for the life of the process */
    return CQ_OK;
}

/* ---- the chain's two ends ------------------------------------------------------------------ */

typedef struct sox_io {
    const float *in;
    size_t n_in, pos;
    float *out;
    size_t n_out, cap;
    int status; /* CQ_ERR_NOMEM when the output could not grow */
} sox_io;

/* x (full scale +-1) as SoX's 32-bit sample (sox_sample_t is int32_t; sox.h's SOX_SAMPLE_MIN
 * shifts 1 into the sign bit, which C leaves undefined, so the limits come from stdint.h): x * 2^31
 * rounded half away from zero, clipped, as SoX reads a float sample (SOX_FLOAT_64BIT_TO_SAMPLE); a
 * 16-bit sample s gives s << 16. */
static sox_sample_t to_sox(float x)
{
    double d = (double)x * 2147483648.0;
    if (!(d == d))
        return 0;
    if (d < 0)
        return d <= (double)INT32_MIN - 0.5 ? INT32_MIN : (sox_sample_t)(d - 0.5);
    return d >= (double)INT32_MAX + 0.5 ? INT32_MAX : (sox_sample_t)(d + 0.5);
}

/* SoX's sample as a 32-bit float file holds it (SOX_SAMPLE_TO_FLOAT_32BIT, sox.h): its value
 * rounded to a multiple of 128 (25 significant bits), 1 at most. */
static float from_sox(sox_sample_t s)
{
    if (s > INT32_MAX - 64)
        return 1.0f;
    return (float)((double)((s + 64) & ~127) * (1.0 / 2147483648.0));
}

static sox_io *io_of(sox_effect_t *effp)
{
    sox_io *io;
    memcpy(&io, effp->priv, sizeof(io));
    return io;
}

/* input: hands out the samples (drain is called until it gives none) */
static int input_drain(sox_effect_t *effp, sox_sample_t *obuf, size_t *osamp)
{
    sox_io *io = io_of(effp);
    size_t n = io->n_in - io->pos;
    if (n > *osamp)
        n = *osamp;
    for (size_t i = 0; i < n; i++)
        obuf[i] = to_sox(io->in[io->pos + i]);
    io->pos += n;
    *osamp = n;
    return n ? SOX_SUCCESS : SOX_EOF;
}

/* output: keeps what arrives */
static int output_flow(sox_effect_t *effp, sox_sample_t const *ibuf, sox_sample_t *obuf,
                       size_t *isamp, size_t *osamp)
{
    (void)obuf;
    sox_io *io = io_of(effp);
    *osamp = 0;
    if (cq__grow((void **)&io->out, &io->cap, io->n_out + *isamp, sizeof(float)) != CQ_OK) {
        io->status = CQ_ERR_NOMEM;
        return SOX_EOF;
    }
    for (size_t i = 0; i < *isamp; i++)
        io->out[io->n_out + i] = from_sox(ibuf[i]);
    io->n_out += *isamp;
    return SOX_SUCCESS;
}

static sox_effect_handler_t const k_input = {.name = "callqa_input",
                                             .flags = SOX_EFF_MCHAN,
                                             .drain = input_drain,
                                             .priv_size = sizeof(sox_io *)};
static sox_effect_handler_t const k_output = {.name = "callqa_output",
                                              .flags = SOX_EFF_MCHAN,
                                              .flow = output_flow,
                                              .priv_size = sizeof(sox_io *)};

/* Add one effect made from `h` with `argc` options to the chain; the effect's private data
 * holds `io` when given. */
static int add(sox_effects_chain_t *chain, sox_effect_handler_t const *h, sox_io *io, int argc,
               char *argv[], sox_signalinfo_t *sig, sox_signalinfo_t const *out, cq_err *err)
{
    sox_effect_t *e = g_sox.create_effect(h);
    if (!e)
        return cq__err_set(err, CQ_ERR_NOMEM, "libsox: cannot create the %s effect", h->name);
    if (io)
        memcpy(e->priv, &io, sizeof(io));
    int rc = g_sox.effect_options(e, argc, argv);
    if (rc == SOX_SUCCESS)
        rc = g_sox.add_effect(chain, e, sig, out);
    if (rc != SOX_SUCCESS)
        free(e->priv); /* not taken by the chain */
    free(e);           /* the chain keeps a copy (libsox's own examples free it so) */
    if (rc != SOX_SUCCESS)
        return cq__err_set(err, CQ_ERR_INTERNAL, "libsox: the %s effect: %s", h->name,
                           g_sox.strerror(rc));
    return CQ_OK;
}

int cq_resample_sox(const float *in, size_t n_in, int in_rate_hz, int out_rate_hz, float **out,
                    size_t *n_out, cq_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (in_rate_hz <= 0 || out_rate_hz <= 0 || (n_in && !in))
        return cq__err_set(err, CQ_ERR_INVALID, "cq_resample_sox: bad arguments");
    pthread_mutex_lock(&g_sox_lock);
    int rc = sox_load(err);
    if (rc != CQ_OK) {
        pthread_mutex_unlock(&g_sox_lock);
        return rc;
    }
    sox_io io = {.in = in, .n_in = n_in};
    sox_signalinfo_t sig = {.rate = in_rate_hz, .channels = 1, .precision = 32, .length = n_in};
    sox_signalinfo_t const to = {.rate = out_rate_hz, .channels = 1, .precision = 32};
    sox_encodinginfo_t enc = {.encoding = SOX_ENCODING_FLOAT, .bits_per_sample = 32};
    sox_effects_chain_t *chain = g_sox.create_effects_chain(&enc, &enc);
    if (!chain) {
        pthread_mutex_unlock(&g_sox_lock);
        return cq__err_set(err, CQ_ERR_NOMEM, "libsox: cannot create an effects chain");
    }
    sox_effect_handler_t const *rate = g_sox.find_effect("rate");
    if (!rate)
        rc = cq__err_set(err, CQ_ERR_UNSUPPORTED, "%s has no `rate` effect", g_sox_soname);
    if (rc == CQ_OK)
        rc = add(chain, &k_input, &io, 0, NULL, &sig, &sig, err);
    if (rc == CQ_OK && in_rate_hz != out_rate_hz)
        rc = add(chain, rate, NULL, 0, NULL, &sig, &to, err);
    if (rc == CQ_OK)
        rc = add(chain, &k_output, &io, 0, NULL, &sig, &sig, err);
    if (rc == CQ_OK) {
        int f = g_sox.flow_effects(chain, NULL, NULL);
        if (io.status != CQ_OK)
            rc = cq__err_set(err, io.status, "libsox: out of memory for the resampled signal");
        else if (f != SOX_SUCCESS || io.pos != n_in)
            rc = cq__err_set(err, CQ_ERR_INTERNAL, "libsox: the chain failed: %s",
                             g_sox.strerror(f));
    }
    g_sox.delete_effects_chain(chain);
    pthread_mutex_unlock(&g_sox_lock);
    if (rc != CQ_OK) {
        cq__free(io.out);
        return rc;
    }
    *out = io.out;
    *n_out = io.n_out;
    return CQ_OK;
}

void cq_resample_sox_free(float *samples)
{
    cq__free(samples);
}
