/*
 * proc_io.h - bytes between the program's processes (the CLI's batch children, the service's
 * analysis host): whole writes, and reads that grow a buffer until the other end closes.
 * Internal to the program; the library does not use it.
 */
#ifndef CQ_PROC_IO_H
#define CQ_PROC_IO_H

#include <stddef.h>

/* Write all n bytes (retrying short writes and EINTR). 0, or -1 on error. */
int proc_write_all(int fd, const void *p, size_t n);

/* One read() onto the end of *buf, growing it as needed. Returns 1 at end of stream, on a
 * read error or when memory runs out (the caller finishes with what it has), 0 to go on. */
int proc_read_more(int fd, char **buf, size_t *len, size_t *cap);

/* Strings travel as {uint64 length including the NUL, the bytes}; length 0 stands for NULL. */
int proc_write_str(int fd, const char *s); /* 0, or -1 on error */
/* The string at *p (before end) into *out (malloc'd; NULL for NULL) and *p past it. 0, or -1
 * when the bytes are short or malformed (then *out is NULL). */
int proc_parse_str(const char **p, const char *end, char **out);

#endif /* CQ_PROC_IO_H */
