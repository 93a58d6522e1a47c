/*
 * cq_finding.h - what the report says about a call beyond its measurements, in two shapes that
 * every part of callqa reuses:
 *   cq_warning  {code, message, values}: a sentence about the input (a repaired header, mixed
 *               audio, legs that look swapped), with a stable code and the figures in it;
 *   cq_finding  {code, severity, message, values, evidence[]}: a judgement about the call (a
 *               failed scorecard item, a one-way call, a SIP fault) with the evidence for it:
 *               spans of the call's clock, a leg's role, and a quote or a measured figure.
 * Codes are lowercase snake_case and never change meaning; messages are for people and may be
 * reworded. Library text never names a command-line flag.
 *
 * Thread safety: plain data.
 */
#ifndef CQ_FINDING_H
#define CQ_FINDING_H

#include <stddef.h>

#include "cq_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One named figure. Strings are owned by whatever owns the value. */
typedef enum cq_value_type {
    CQ_VAL_NULL = 0, /* known to be unknown: rendered as null, never as 0 */
    CQ_VAL_NUMBER,
    CQ_VAL_INT,
    CQ_VAL_BOOL,
    CQ_VAL_STRING
} cq_value_type;

typedef struct cq_value {
    const char *key; /* static: the name of the figure, with its unit (`lag_ms`) */
    cq_value_type type;
    double num;   /* CQ_VAL_NUMBER */
    long long i;  /* CQ_VAL_INT, CQ_VAL_BOOL (0 or 1) */
    char *str;    /* CQ_VAL_STRING */
    int decimals; /* CQ_VAL_NUMBER: places kept when rendered */
} cq_value;

/* Builders for tables of values (the string is copied when the value is stored). */
#define CQ_VNUM(k, v, d)                                                                           \
    ((cq_value){.key = (k), .type = CQ_VAL_NUMBER, .num = (v), .decimals = (d)})
#define CQ_VINT(k, v) ((cq_value){.key = (k), .type = CQ_VAL_INT, .i = (long long)(v)})
#define CQ_VBOOL(k, v) ((cq_value){.key = (k), .type = CQ_VAL_BOOL, .i = (v) ? 1 : 0})
#define CQ_VSTR(k, v) ((cq_value){.key = (k), .type = CQ_VAL_STRING, .str = (char *)(v)})

typedef struct cq_warning {
    const char *code; /* static */
    char *message;
    cq_value *values;
    size_t n_values;
} cq_warning;

typedef enum cq_severity {
    CQ_SEV_INFO = 0,
    CQ_SEV_MINOR = 1,
    CQ_SEV_MAJOR = 2,
    CQ_SEV_CRITICAL = 3
} cq_severity;

/* Where a finding shows on the call. */
typedef struct cq_finding_evidence {
    double start_sec, end_sec; /* on the call's clock; both negative: not tied to a time */
    const char *role;          /* static: "customer", "agent", "mixed", or NULL (the call) */
    char *quote;               /* verbatim words (transcripts), or NULL */
    char *figure;              /* a measured figure as text (`overtalk 3.2 s`), or NULL */
} cq_finding_evidence;

typedef struct cq_finding {
    const char *code; /* static */
    cq_severity severity;
    char *message;
    cq_value *values;
    size_t n_values;
    cq_finding_evidence *evidence;
    size_t n_evidence;
} cq_finding;

/* "info", "minor", "major", "critical". */
CQ_API const char *cq_severity_name(cq_severity s);

/* Free what a warning or finding owns (not the struct itself). NULL is a no-op. */
CQ_API void cq_warning_clear(cq_warning *w);
CQ_API void cq_finding_clear(cq_finding *f);

#ifdef __cplusplus
}
#endif
#endif /* CQ_FINDING_H */
