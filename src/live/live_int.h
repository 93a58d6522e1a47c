/*
 * live_int.h - what the files of src/live/ share and nobody else sees: filling an lv_error.
 */
#ifndef CQ_LIVE_INT_H
#define CQ_LIVE_INT_H

#include "live.h"

#if defined(__GNUC__)
#define LV__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LV__PRINTF(a, b)
#endif

/* Record an error in e (may be NULL) and return its code. */
int lv__fail(lv_error *e, int code, uint64_t offset, const char *fmt, ...) LV__PRINTF(4, 5);
void lv__clear(lv_error *e);

/* A socket bound to host:port (numeric or a name; port "0": any), non-blocking: listening for
 * TCP (SOCK_STREAM) or UDP (SOCK_DGRAM, its receive buffer raised toward 4 MB for bursts). The
 * port bound in *port_out. LV_OK, or LV_ERR_ARG with e naming the address and the reason. */
int lv__listen(const char *host, const char *port, int type, int *fd_out, int *port_out,
               lv_error *e);

#endif /* CQ_LIVE_INT_H */
