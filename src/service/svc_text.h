/*
 * svc_text.h - the service's text and clocks (svc_text.c): the lowest layer of src/service, which
 * every other file may call and which calls nothing of the service.
 */
#ifndef CQ_SVC_TEXT_H
#define CQ_SVC_TEXT_H

#include <jansson.h>
#include <stddef.h>

double svc_now_sec(void);  /* wall clock, s */
double svc_mono_sec(void); /* monotonic, s */
/* s as a JSON string literal, malloc'd. */
char *svc_json_str(const char *s);
/* Text as a JSON string; bytes that are not UTF-8 read as Latin-1 (what dialers store), never
 * refused. */
json_t *svc_json_text(const char *s);
/* Percent-decode s[0..n) into out (NUL-terminated): -1 on a malformed escape, an encoded NUL
 * or no room. */
int svc_pct_decode(const char *s, size_t n, char *out, size_t cap);
/* A message fit for an answer: each absolute path becomes its file name, each URL "(the
 * recording server)"; the log keeps the message whole. */
void svc_redact(const char *in, char *out, size_t n);

#endif /* CQ_SVC_TEXT_H */
