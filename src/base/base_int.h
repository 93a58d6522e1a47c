/*
 * base_int.h - library-internal helpers shared by every room of the library (audio, dsp, nn,
 * call, stages, engine; not part of the public API): the allocation funnel, error records,
 * logging, small string helpers, a whole file read with a size limit, sha256 in hex, the FFTW
 * planner's lock, a thread's CPU clock (the wall and monotonic clocks are public: cq_clock.h)
 * and one UTF-8 character read.
 *
 * It calls no other room: libc, pthread and nettle (sha256, loaded on first use) only, with the
 * public types of cq_base.h and cq_status.h. It is on the ground floor because everything the
 * library allocates goes through it, so that the out-of-memory tests can fail any allocation of any
 * room. The rooms above the engine stand on config.h and libc, and take from it only what libc
 * lacks: the live room its allocations, the privacy room and the command line's terminal the UTF-8
 * reader.
 */
#ifndef CQ_BASE_INT_H
#define CQ_BASE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callqa/cq_base.h"
#include "callqa/cq_status.h"

#if defined(__GNUC__)
#define CQ__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CQ__PRINTF(f, a)
#endif

/* On x86-64 with gcc, hot kernels are compiled for the baseline and for x86-64-v3 (AVX2 + FMA);
 * the loader picks one per CPU. Elsewhere (and under clang) they are compiled once. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CQ_NO_CLONES)
#define CQ_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CQ_CLONES
#endif

/* Allocation funnel: every allocation of callqa's own goes through these. */
void *cq__malloc(size_t size);
void *cq__calloc(size_t n, size_t size); /* zeroed; NULL on overflow */
void *cq__realloc(void *ptr, size_t size);
void cq__free(void *ptr);
char *cq__strdup(const char *s);                         /* NULL in, NULL out */
char *cq__printf(const char *fmt, ...) CQ__PRINTF(1, 2); /* allocated, NULL on failure */

/* Grow an array so that it holds at least `need` elements of `elem` bytes (capacity doubles).
 * Returns CQ_OK or CQ_ERR_NOMEM (the array is unchanged). */
int cq__grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Growable string with a sticky error; used to render text. */
typedef struct cq__sb {
    char *s;    /* NUL-terminated once anything was appended */
    size_t len; /* bytes before the NUL */
    size_t cap;
    int status; /* CQ_OK or CQ_ERR_NOMEM */
} cq__sb;

void cq__sb_printf(cq__sb *b, const char *fmt, ...) CQ__PRINTF(2, 3);
char *cq__sb_take(cq__sb *b); /* the string (caller frees with cq__free), or NULL on error */

/* Record an error: code plus a formatted message. `err` may be NULL. Returns `code`. */
int cq__err_set(cq_err *err, int code, const char *fmt, ...) CQ__PRINTF(3, 4);

/* Log through the user's callback if one is set and the level passes. */
void cq__log(cq_log_level level, const char *fmt, ...) CQ__PRINTF(2, 3);

/* Read a whole regular file of at most max_bytes into *out (free with cq__free). Returns
 * CQ_OK or an error with `err` naming the file and the reason. */
int cq__read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *n, cq_err *err);

/* sha256 of data as 64 lowercase hex digits and a NUL, by nettle, which the first call loads
 * (file.c). CQ_OK, or CQ_ERR_UNSUPPORTED with `err` naming the library when it cannot be loaded
 * (out is then ""). */
int cq__sha256_hex(const void *data, size_t n, char out[65], cq_err *err);

/* dlsym(lib, name) copied into the function pointer at fn_ptr (fn_size bytes, the size of a
 * pointer): ISO C has no cast from a void * to a function pointer. False when the symbol is
 * missing. The loaders of the libraries loaded on first use (libsndfile, libsox, libsoxr, FFTW,
 * nettle) use it. */
bool cq__dlsym(void *lib, const char *name, void *fn_ptr, size_t fn_size);

/* FFTW's planner is not thread-safe: every plan is made and destroyed under this lock. FFTW
 * itself is loaded on first use (src/dsp/fftw.c). */
void cq__fft_lock(void);
void cq__fft_unlock(void);

/* CPU seconds of the calling thread, with those of the helper threads it started for its work
 * (each added by cq__thread_cpu_credit once the helper ended) */
double cq__thread_cpu_sec(void);
void cq__thread_cpu_credit(double sec);

/* The length (2-4) of the valid UTF-8 character of more than one byte at s[0..n), its code point
 * in *cp (when cp is not NULL); 0 when there is none: an ASCII byte, a byte that starts no
 * character, a cut sequence, an overlong form, a surrogate, past U+10FFFF (utf8.c). */
size_t cq__utf8_len(const unsigned char *s, size_t n, uint32_t *cp);

#endif /* CQ_BASE_INT_H */
