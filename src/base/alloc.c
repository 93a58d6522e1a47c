/*
 * alloc.c - the one allocation funnel. A replaceable hook makes out-of-memory tests possible:
 * the tests install an allocator that fails the Nth call and check that every path unwinds.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base_int.h"

static cq_allocator g_alloc; /* zeroed: use the C library */

void cq_set_allocator(const cq_allocator *a)
{
    if (a)
        g_alloc = *a;
    else
        memset(&g_alloc, 0, sizeof(g_alloc));
}

void *cq__realloc(void *ptr, size_t size)
{
    if (size == 0)
        size = 1; /* never ask for 0 bytes: realloc(p, 0) is implementation-defined */
    if (g_alloc.realloc_fn)
        return g_alloc.realloc_fn(ptr, size, g_alloc.user);
    return realloc(ptr, size);
}

void *cq__malloc(size_t size)
{
    return cq__realloc(NULL, size);
}

void *cq__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = cq__malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void cq__free(void *ptr)
{
    if (!ptr)
        return;
    if (g_alloc.free_fn)
        g_alloc.free_fn(ptr, g_alloc.user);
    else
        free(ptr);
}

char *cq__strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = cq__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *cq__printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = cq__malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int cq__grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return CQ_OK;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return CQ_ERR_NOMEM;
        ncap *= 2;
    }
    void *p = cq__realloc(*arr, ncap * elem);
    if (!p)
        return CQ_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return CQ_OK;
}

void cq__sb_printf(cq__sb *b, const char *fmt, ...)
{
    if (b->status != CQ_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || cq__grow((void **)&b->s, &b->cap, b->len + (size_t)n + 1, 1) != CQ_OK) {
        b->status = CQ_ERR_NOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *cq__sb_take(cq__sb *b)
{
    char *s = b->status == CQ_OK ? b->s : NULL;
    if (!s)
        cq__free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}
