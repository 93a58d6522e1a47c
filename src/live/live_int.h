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

/* The list of the files written in a folder (manifest.c; docs/privacy.md): one line per file
 * of files[0..nfiles) (names in the folder dirfd), each naming the call it belongs to, appended
 * to DIR/LV_MANIFEST_NAME (created O_EXCL, mode 0600). 0, or -1 with errno. The store's purge
 * reads it by the same name (store_retain.c, STORE_MANIFEST_NAME). */
#define LV_MANIFEST_NAME ".callqa-files"
int lv__manifest_add(int dirfd, const char *call, const char *const *files, size_t nfiles,
                     double now);

#endif /* CQ_LIVE_INT_H */
