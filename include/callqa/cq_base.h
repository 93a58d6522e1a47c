/*
 * cq_base.h - process-wide hooks: the allocator funnel and the log callback.
 *
 * All memory callqa itself allocates goes through one funnel whose functions can be replaced
 * (tests use this to fail the Nth allocation). Libraries callqa calls (libsndfile, jansson,
 * libsoxr) allocate on their own and are not covered by the hook.
 *
 * The library never prints. It reports diagnostics through a callback set with cq_log_set().
 *
 * Thread safety: set the hooks once, before any other callqa call; they are read without locks.
 */
#ifndef CQ_BASE_H
#define CQ_BASE_H

#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Replacement allocator. `realloc_fn(NULL, n)` must behave as malloc; free_fn(NULL) a no-op. */
typedef struct cq_allocator {
    void *(*realloc_fn)(void *ptr, size_t size, void *user);
    void (*free_fn)(void *ptr, void *user);
    void *user;
} cq_allocator;

/* Install an allocator; NULL restores the C library's. Not thread-safe: call before any use. */
CQ_API void cq_set_allocator(const cq_allocator *a);

typedef enum cq_log_level {
    CQ_LOG_DEBUG = 0,
    CQ_LOG_INFO = 1,
    CQ_LOG_WARN = 2,
    CQ_LOG_ERROR = 3
} cq_log_level;

/* Log callback: `msg` is one line without a trailing newline, valid only during the call. */
typedef void (*cq_log_fn)(cq_log_level level, const char *msg, void *user);

/* Set the log callback and the lowest level passed to it. NULL silences the library (default). */
CQ_API void cq_log_set(cq_log_fn fn, cq_log_level min_level, void *user);

/* Library version, e.g. "0.1.0". */
CQ_API const char *cq_version(void);

#ifdef __cplusplus
}
#endif
#endif /* CQ_BASE_H */
