/*
 * resample.c - streaming mono resampler over libsoxr (SOXR_HQ, linear phase, float in/out).
 * libsoxr (and the OpenMP runtime it brings) is loaded (dlopen "libsoxr.so.0") by the first
 * resampler made, so that an analysis that resamples nothing (levels, silences) does not load
 * it; if it cannot be loaded, cq_resample_create fails with the reason logged, and the next
 * call tries again.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <soxr.h> /* types and constants only: the functions come from dlsym */
#include <stdbool.h>

#include "../base/base_int.h"
#include "callqa/cq_resample.h"

#define SOXR_SONAME "libsoxr.so.0"

typedef soxr_t (*soxr_create_fn)(double, double, unsigned, soxr_error_t *, soxr_io_spec_t const *,
                                 soxr_quality_spec_t const *, soxr_runtime_spec_t const *);
typedef soxr_error_t (*soxr_process_fn)(soxr_t, soxr_in_t, size_t, size_t *, soxr_out_t, size_t,
                                        size_t *);
typedef void (*soxr_delete_fn)(soxr_t);
typedef soxr_io_spec_t (*soxr_io_spec_fn)(soxr_datatype_t, soxr_datatype_t);
typedef soxr_quality_spec_t (*soxr_quality_spec_fn)(unsigned long, unsigned long);

/* _Generic does not evaluate its operand: these name the functions without linking them. */
#define CQ_SOXR_TYPE_CHECK(fn)                                                                     \
    _Static_assert(_Generic(&fn, fn##_fn : 1, default : 0), #fn ": type differs from soxr.h")
CQ_SOXR_TYPE_CHECK(soxr_create);
CQ_SOXR_TYPE_CHECK(soxr_process);
CQ_SOXR_TYPE_CHECK(soxr_delete);
CQ_SOXR_TYPE_CHECK(soxr_io_spec);
CQ_SOXR_TYPE_CHECK(soxr_quality_spec);

static struct {
    soxr_create_fn create;
    soxr_process_fn process;
    soxr_delete_fn delete_;
    soxr_io_spec_fn io_spec;
    soxr_quality_spec_fn quality_spec;
} g_soxr;
static pthread_mutex_t g_soxr_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_soxr_ready; /* g_soxr is filled; set once, under g_soxr_lock */

#define SOXR_SYM(lib, field, name) cq__dlsym(lib, name, &g_soxr.field, sizeof(g_soxr.field))

/* True once libsoxr is loaded (loading it now if it is not). */
static bool soxr_ready(void)
{
    if (__atomic_load_n(&g_soxr_ready, __ATOMIC_ACQUIRE))
        return true;
    pthread_mutex_lock(&g_soxr_lock);
    if (!g_soxr_ready) {
        void *lib = dlopen(SOXR_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            const char *why = dlerror();
            cq__log(CQ_LOG_ERROR, "%s (libsoxr) cannot be loaded: %s", SOXR_SONAME,
                    why ? why : "unknown reason");
        } else if (!SOXR_SYM(lib, create, "soxr_create") ||
                   !SOXR_SYM(lib, process, "soxr_process") ||
                   !SOXR_SYM(lib, delete_, "soxr_delete") ||
                   !SOXR_SYM(lib, io_spec, "soxr_io_spec") ||
                   !SOXR_SYM(lib, quality_spec, "soxr_quality_spec")) {
            const char *why = dlerror();
            cq__log(CQ_LOG_ERROR, "%s lacks a function callqa needs: %s", SOXR_SONAME,
                    why ? why : "unknown symbol");
            dlclose(lib);
        } else {
            __atomic_store_n(&g_soxr_ready, true, __ATOMIC_RELEASE); /* stays loaded */
        }
    }
    bool ready = g_soxr_ready;
    pthread_mutex_unlock(&g_soxr_lock);
    return ready;
}

struct cq_resample {
    soxr_t s;
};

cq_resample *cq_resample_create(double in_rate_hz, double out_rate_hz, int *err)
{
    if (!(in_rate_hz > 0) || !(out_rate_hz > 0)) {
        if (err)
            *err = CQ_ERR_INVALID;
        return NULL;
    }
    if (!soxr_ready()) {
        if (err)
            *err = CQ_ERR_UNSUPPORTED;
        return NULL;
    }
    cq_resample *r = cq__calloc(1, sizeof(*r));
    if (!r) {
        if (err)
            *err = CQ_ERR_NOMEM;
        return NULL;
    }
    soxr_error_t e = NULL;
    soxr_io_spec_t io = g_soxr.io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = g_soxr.quality_spec(SOXR_HQ, SOXR_LINEAR_PHASE);
    r->s = g_soxr.create(in_rate_hz, out_rate_hz, 1, &e, &io, &q, NULL);
    if (!r->s || e) {
        cq__log(CQ_LOG_ERROR, "soxr_create: %s", e ? e : "failed");
        cq_resample_destroy(r);
        if (err)
            *err = CQ_ERR_NOMEM;
        return NULL;
    }
    if (err)
        *err = CQ_OK;
    return r;
}

long cq_resample_process(cq_resample *r, const float *in, size_t n_in, float *out, size_t max_out)
{
    size_t odone_total = 0;
    if (!in || !n_in) { /* flush, then drain what the filter still holds */
        size_t odone = 0;
        soxr_error_t e = g_soxr.process(r->s, NULL, 0, NULL, out, max_out, &odone);
        if (e) {
            cq__log(CQ_LOG_ERROR, "soxr_process: %s", e);
            return CQ_ERR_INTERNAL;
        }
        return (long)odone;
    }
    size_t consumed = 0;
    while (consumed < n_in) {
        size_t idone = 0, odone = 0;
        soxr_error_t e = g_soxr.process(r->s, in + consumed, n_in - consumed, &idone,
                                        out + odone_total, max_out - odone_total, &odone);
        if (e) {
            cq__log(CQ_LOG_ERROR, "soxr_process: %s", e);
            return CQ_ERR_INTERNAL;
        }
        consumed += idone;
        odone_total += odone;
        if (idone == 0 && odone == 0)
            return CQ_ERR_INVALID; /* no room left in `out` for this block */
    }
    return (long)odone_total;
}

void cq_resample_destroy(cq_resample *r)
{
    if (!r)
        return;
    if (r->s)
        g_soxr.delete_(r->s);
    cq__free(r);
}
