/*
 * cq_status.h - status codes, error records and export macros shared by every callqa module.
 *
 * Every fallible function returns a cq_status (CQ_OK = 0, errors negative). Numbers are never
 * reused; new codes are appended. Functions that take a `cq_err *` also leave a human-readable
 * message there (naming the file and the reason), so a caller can print one clear line.
 */
#ifndef CQ_STATUS_H
#define CQ_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(CQ_BUILDING_LIBRARY)
#define CQ_API __attribute__((visibility("default")))
#else
#define CQ_API
#endif

#if defined(__GNUC__)
#define CQ_NODISCARD __attribute__((warn_unused_result))
#define CQ_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define CQ_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define CQ_NODISCARD
#define CQ_NONNULL(...)
#define CQ_PRINTF_LIKE(f, a)
#endif

/* Status codes. Append only; never renumber. */
typedef enum cq_status {
    CQ_OK = 0,
    CQ_ERR_NOMEM = -1,       /* an allocation failed */
    CQ_ERR_INVALID = -2,     /* bad argument from the caller */
    CQ_ERR_IO = -3,          /* the file could not be opened or read */
    CQ_ERR_FORMAT = -4,      /* the bytes are not an audio format callqa can decode */
    CQ_ERR_UNSUPPORTED = -5, /* a valid file with a property callqa does not handle */
    CQ_ERR_TOO_LARGE = -6,   /* over a configured limit (duration, size) */
    CQ_ERR_EMPTY = -7,       /* nothing to analyze: 0 bytes, no frames, failed-recording stub */
    CQ_ERR_NOT_FOUND = -8,   /* a named file or leg does not exist */
    CQ_ERR_INTERNAL = -9,    /* a "cannot happen" branch happened; please report */
    /* the rooms above the engine (the store, clients, jobs, the service, the commands) */
    CQ_ERR_RANGE = -10,   /* a setting or parameter out of its range (the message names it) */
    CQ_ERR_BUSY = -11,    /* a bound on concurrent work reached; try again later */
    CQ_ERR_TIMEOUT = -12, /* a time limit passed */
    CQ_ERR_DENIED = -13,  /* not allowed: a role, a policy, a file's mode */
    CQ_ERR_REMOTE = -14,  /* a server answered with an error or could not be reached */
    CQ_ERR_STORE = -15    /* the store refused or failed a statement */
} cq_status;

/* Length of the message buffer in cq_err, terminating NUL included. */
#define CQ_ERR_MSG_MAX 512

/* An error record filled by functions that can fail on outside data. It is the one error type of
 * every room, the library's and those above the engine: a code and a message. */
typedef struct cq_err {
    int code;                 /* a cq_status; CQ_OK when no error was recorded */
    char msg[CQ_ERR_MSG_MAX]; /* "<file>: <reason>", NUL-terminated, empty when code == CQ_OK */
} cq_err;

/* Static English text for a status code; never NULL. */
CQ_API const char *cq_strerror(int status);

/* Symbolic name of a status code ("CQ_ERR_FORMAT"); never NULL. For JSON error bodies. */
CQ_API const char *cq_status_name(int status);

/* Clear an error record (code CQ_OK, empty message). `err` may be NULL. */
CQ_API void cq_err_clear(cq_err *err);

/* Record an error: code and a printf-style message (cut to CQ_ERR_MSG_MAX). `err` may be NULL.
 * Returns code, so that `return cq_err_set(err, CQ_ERR_RANGE, "max_calls %ld: 1..100000", v);`
 * both records and answers. */
CQ_API int cq_err_set(cq_err *err, int code, const char *fmt, ...) CQ_PRINTF_LIKE(3, 4);

#ifdef __cplusplus
}
#endif
#endif /* CQ_STATUS_H */
