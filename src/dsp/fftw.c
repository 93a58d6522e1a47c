/*
 * fftw.c - FFTW (single precision), loaded on first use. The FFTW functions the library calls
 * are defined here under their own names (fftw3.h declares them, so the compiler checks each
 * against FFTW's own declaration) and forward to "libfftw3f.so.3", which the first of them to
 * be called opens with dlopen. An analysis that computes no spectrum (levels, silences, the VAD)
 * never loads it: FFTW is 2 MB of code whose tables the loader relocates at every start, about
 * 30 page faults and a millisecond of a process's start-up on a virtual machine.
 *
 * If the library cannot be loaded, the plans and allocations are NULL (the callers' "out of
 * memory" path) and the reason is logged once; the next call tries again. Plans are still made
 * and destroyed under cq__fft_lock (FFTW's planner is not thread-safe); the load itself is
 * guarded by a lock of its own.
 */
#include <dlfcn.h>
#include <fftw3.h>
#include <pthread.h>
#include <stdbool.h>

#include "../base/base_int.h"

#define FFTW_SONAME "libfftw3f.so.3"

static struct {
    fftwf_complex *(*alloc_complex)(size_t);
    float *(*alloc_real)(size_t);
    void (*free_)(void *);
    fftwf_plan (*plan_dft_r2c_1d)(int, float *, fftwf_complex *, unsigned);
    fftwf_plan (*plan_dft_c2r_1d)(int, fftwf_complex *, float *, unsigned);
    void (*execute)(const fftwf_plan);
    void (*execute_dft_r2c)(const fftwf_plan, float *, fftwf_complex *);
    void (*destroy_plan)(fftwf_plan);
} g_fftw;

static pthread_mutex_t g_fftw_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_fftw_ready; /* g_fftw is filled; set once, under g_fftw_lock */

#define FFTW_SYM(lib, field, name) cq__dlsym(lib, name, &g_fftw.field, sizeof(g_fftw.field))

/* True once FFTW is loaded (loading it now if it is not). */
static bool fftw_ready(void)
{
    if (__atomic_load_n(&g_fftw_ready, __ATOMIC_ACQUIRE))
        return true;
    pthread_mutex_lock(&g_fftw_lock);
    if (!g_fftw_ready) {
        void *lib = dlopen(FFTW_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            const char *why = dlerror();
            cq__log(CQ_LOG_ERROR, "%s (FFTW) cannot be loaded: %s", FFTW_SONAME,
                    why ? why : "unknown reason");
        } else if (!FFTW_SYM(lib, alloc_complex, "fftwf_alloc_complex") ||
                   !FFTW_SYM(lib, alloc_real, "fftwf_alloc_real") ||
                   !FFTW_SYM(lib, free_, "fftwf_free") ||
                   !FFTW_SYM(lib, plan_dft_r2c_1d, "fftwf_plan_dft_r2c_1d") ||
                   !FFTW_SYM(lib, plan_dft_c2r_1d, "fftwf_plan_dft_c2r_1d") ||
                   !FFTW_SYM(lib, execute, "fftwf_execute") ||
                   !FFTW_SYM(lib, execute_dft_r2c, "fftwf_execute_dft_r2c") ||
                   !FFTW_SYM(lib, destroy_plan, "fftwf_destroy_plan")) {
            const char *why = dlerror();
            cq__log(CQ_LOG_ERROR, "%s lacks a function callqa needs: %s", FFTW_SONAME,
                    why ? why : "unknown symbol");
            dlclose(lib);
        } else {
            __atomic_store_n(&g_fftw_ready, true, __ATOMIC_RELEASE); /* stays loaded */
        }
    }
    bool ready = g_fftw_ready;
    pthread_mutex_unlock(&g_fftw_lock);
    return ready;
}

fftwf_complex *fftwf_alloc_complex(size_t n)
{
    return fftw_ready() ? g_fftw.alloc_complex(n) : NULL;
}

float *fftwf_alloc_real(size_t n)
{
    return fftw_ready() ? g_fftw.alloc_real(n) : NULL;
}

void fftwf_free(void *p)
{
    if (p && fftw_ready()) /* only FFTW's own allocations are not NULL */
        g_fftw.free_(p);
}

fftwf_plan fftwf_plan_dft_r2c_1d(int n, float *in, fftwf_complex *out, unsigned flags)
{
    return fftw_ready() ? g_fftw.plan_dft_r2c_1d(n, in, out, flags) : NULL;
}

fftwf_plan fftwf_plan_dft_c2r_1d(int n, fftwf_complex *in, float *out, unsigned flags)
{
    return fftw_ready() ? g_fftw.plan_dft_c2r_1d(n, in, out, flags) : NULL;
}

/* A plan exists only once FFTW is loaded: the three below need no check. */
void fftwf_execute(const fftwf_plan p)
{
    g_fftw.execute(p);
}

void fftwf_execute_dft_r2c(const fftwf_plan p, float *in, fftwf_complex *out)
{
    g_fftw.execute_dft_r2c(p, in, out);
}

void fftwf_destroy_plan(fftwf_plan p)
{
    if (p)
        g_fftw.destroy_plan(p);
}
