/*
 * dtmf_int.h - the DTMF receiver of cq_tones (library-internal): digits on one 8 kHz leg,
 * found under speech (design and measurements in dtmf.c and docs/events.md). Used by tones.c
 * only, which runs these receivers beside libspandsp's.
 */
#ifndef CQ_DTMF_INT_H
#define CQ_DTMF_INT_H

#include <stddef.h>
#include <stdint.h>

typedef struct cq__dtmf cq__dtmf;

/* A digit: its symbol ('0'-'9', '*', '#', 'A'-'D') and its first and last sample + 1. */
typedef struct cq__dtmf_digit {
    char symbol;
    uint64_t start, end;
} cq__dtmf_digit;

/* Called for each digit once it has ended (and been accepted). */
typedef void (*cq__dtmf_report)(void *user, const cq__dtmf_digit *d);

/* twin NULL: a receiver on the signal. Else one that judges the digits on the voice-cancelled
 * signal (dtmf.c), reading the half-band output of `twin`, a receiver on the signal that is
 * pushed the same samples just before it (at most DHIST / 2 samples ahead), and that also
 * gives the runs `twin` and it refuse the gated fit (reporting those it accepts). NULL: out of
 * memory */
cq__dtmf *cq__dtmf_create(cq__dtmf_report report, void *user, const cq__dtmf *twin);
void cq__dtmf_destroy(cq__dtmf *d); /* NULL: no-op */

/* Add 8 kHz samples (full scale 1.0); digits that end are reported from inside. */
void cq__dtmf_push(cq__dtmf *d, const float *x, size_t n);

/* The stream ended: a digit still sounding is judged and reported, ending at the last sample. */
void cq__dtmf_finish(cq__dtmf *d);

/* The earliest first sample of any digit still to be reported (sample count; the digits
 * found so far and later ones start there or later). */
uint64_t cq__dtmf_floor(const cq__dtmf *d);

/* A slot of a train of digits (tones.c): the key a receiver made with a twin hears over [a, b)
 * (samples), by looser tests than those of its runs (dtmf.c), looser still when the slot lies
 * `between` two of the train's digits, or when its tones sound at lv, the train's level (its
 * row's and column's amplitudes, from cq__dtmf_refine; NULL: not known): its symbol, 0 for
 * none, -1 when the samples are not (or no longer) kept (about 2 s are). */
int cq__dtmf_probe(const cq__dtmf *d, uint64_t a, uint64_t b, int between, const double *lv);

/* The span [*a, *b) (samples) of a digit `sym` any receiver reported, made the key's own: each
 * end moved by up to 20 ms to where the key's two tones explain the most of the signal with the
 * voice cancelled (the receivers' spans of one tone differ by up to 30 ms), and the amplitudes
 * of its row's and column's tones there in lv[0] and lv[1]. 1: done; -1: not yet (its samples
 * are not all in); 0: left as it was, lv untouched (they are no longer kept, or no gate
 * fits). */
int cq__dtmf_refine(const cq__dtmf *d, char sym, uint64_t *a, uint64_t *b, double *lv);

/* Whether a digit candidate is sounding at the last sample pushed. */
int cq__dtmf_active(const cq__dtmf *d);

#endif /* CQ_DTMF_INT_H */
