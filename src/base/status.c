/*
 * status.c - status names and messages, error records, logging, version, a thread's CPU clock,
 * dlsym into a function pointer.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base_int.h"
#include "callqa/callqa.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} k_status[] = {
    {CQ_OK, "CQ_OK", "success"},
    {CQ_ERR_NOMEM, "CQ_ERR_NOMEM", "out of memory"},
    {CQ_ERR_INVALID, "CQ_ERR_INVALID", "invalid argument"},
    {CQ_ERR_IO, "CQ_ERR_IO", "input/output error"},
    {CQ_ERR_FORMAT, "CQ_ERR_FORMAT", "not a recognised audio format"},
    {CQ_ERR_UNSUPPORTED, "CQ_ERR_UNSUPPORTED", "unsupported audio property"},
    {CQ_ERR_TOO_LARGE, "CQ_ERR_TOO_LARGE", "over a configured limit"},
    {CQ_ERR_EMPTY, "CQ_ERR_EMPTY", "no audio to analyze"},
    {CQ_ERR_NOT_FOUND, "CQ_ERR_NOT_FOUND", "not found"},
    {CQ_ERR_INTERNAL, "CQ_ERR_INTERNAL", "internal error"},
    {CQ_ERR_RANGE, "CQ_ERR_RANGE", "out of range"},
    {CQ_ERR_BUSY, "CQ_ERR_BUSY", "busy"},
    {CQ_ERR_TIMEOUT, "CQ_ERR_TIMEOUT", "timed out"},
    {CQ_ERR_DENIED, "CQ_ERR_DENIED", "not allowed"},
    {CQ_ERR_REMOTE, "CQ_ERR_REMOTE", "the remote server failed"},
    {CQ_ERR_STORE, "CQ_ERR_STORE", "the store failed"},
};

const char *cq_strerror(int status)
{
    for (size_t i = 0; i < sizeof(k_status) / sizeof(k_status[0]); i++)
        if (k_status[i].code == status)
            return k_status[i].text;
    return "unknown status";
}

const char *cq_status_name(int status)
{
    for (size_t i = 0; i < sizeof(k_status) / sizeof(k_status[0]); i++)
        if (k_status[i].code == status)
            return k_status[i].name;
    return "CQ_ERR_UNKNOWN";
}

void cq_err_clear(cq_err *err)
{
    if (err) {
        err->code = CQ_OK;
        err->msg[0] = '\0';
    }
}

static int err_vset(cq_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        err->code = code;
    }
    return code;
}

int cq__err_set(cq_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int cq_err_set(cq_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static cq_log_fn g_log_fn;
static cq_log_level g_log_min = CQ_LOG_WARN;
static void *g_log_user;

void cq_log_set(cq_log_fn fn, cq_log_level min_level, void *user)
{
    g_log_fn = fn;
    g_log_min = min_level;
    g_log_user = user;
}

void cq__log(cq_log_level level, const char *fmt, ...)
{
    if (!g_log_fn || level < g_log_min)
        return; /* check the level before formatting */
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    g_log_fn(level, line, g_log_user);
}

const char *cq_version(void)
{
    return CQ_VERSION_STRING;
}

/* CPU seconds of helper threads that worked for the calling thread (cq__thread_cpu_credit) */
static _Thread_local double tl_helper_cpu;

double cq__thread_cpu_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + tl_helper_cpu;
}

void cq__thread_cpu_credit(double sec)
{
    tl_helper_cpu += sec;
}

bool cq__dlsym(void *lib, const char *name, void *fn_ptr, size_t fn_size)
{
    void *p = dlsym(lib, name);
    if (!p || fn_size != sizeof(p))
        return false;
    memcpy(fn_ptr, &p, fn_size); /* POSIX: the representations agree */
    return true;
}

static pthread_mutex_t g_fft_lock = PTHREAD_MUTEX_INITIALIZER;

void cq__fft_lock(void)
{
    pthread_mutex_lock(&g_fft_lock);
}

void cq__fft_unlock(void)
{
    pthread_mutex_unlock(&g_fft_lock);
}
