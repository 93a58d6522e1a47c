/*
 * fuzz_privacy.c - libFuzzer harness over the redaction of a transcript's text
 * (src/privacy/): the number normaliser, the detectors and the replacement, on arbitrary word
 * streams. The input is words separated by spaces and newlines; a word beginning with '|'
 * belongs to the agent (leg 1), one beginning with '~' comes after a pause of 5 s (a new
 * segment), a newline begins a new segment; a first byte below '0' disables the types whose
 * bit it clears. Oracles: pv_detect keeps every hit on its leg, of an enabled type, and every
 * word in at most one hit, with counts that add up; after pv_redact_transcript every segment
 * has as many words as it had, each keeps its times, the spans are of enabled types with
 * start <= end, and (with CARD enabled) no Luhn-valid 13-19-digit run is left in any string.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/privacy/privacy.h"
#include "fuzz_must.h"

#define MAX_WORDS 400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fw {
    char *text;
    double start, end;
    int leg;
    int seg; /* the segment it begins a new one */
} fw;

static void add_segment(tx_leg *L, const fw *w, size_t a, size_t b)
{
    tx_segment *nv = realloc(L->segs, (L->n + 1) * sizeof(*nv));
    MUST(nv != NULL);
    L->segs = nv;
    tx_segment *s = &L->segs[L->n++];
    L->cap = L->n;
    memset(s, 0, sizeof(*s));
    s->role = L->role;
    s->avg_logprob = s->compression_ratio = s->no_speech_prob = TX_UNKNOWN;
    s->start = w[a].start;
    s->end = w[b - 1].end;
    s->n_words = b - a;
    s->words = calloc(s->n_words, sizeof(*s->words));
    MUST(s->words != NULL);
    size_t len = 1;
    for (size_t i = a; i < b; i++)
        len += strlen(w[i].text) + 1;
    s->text = calloc(1, len);
    MUST(s->text != NULL);
    for (size_t i = a; i < b; i++) {
        s->words[i - a] = (tx_word){.start = w[i].start,
                                    .end = w[i].end,
                                    .text = strdup(w[i].text),
                                    .probability = TX_UNKNOWN};
        MUST(s->words[i - a].text != NULL);
        if (i > a)
            strcat(s->text, " ");
        strcat(s->text, w[i].text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 14)
        return 0;
    pv_settings st = pv_default_settings();
    if (size && data[0] < '0') /* the types: a control byte clears some */
        st.types &= ~(unsigned)data[0], data++, size--;
    fw w[MAX_WORDS];
    size_t n = 0;
    double clock = 0;
    bool newseg = true;
    for (size_t i = 0; i < size && n < MAX_WORDS;) {
        if (data[i] == ' ' || data[i] == '\n' || data[i] == 0) {
            newseg |= data[i] == '\n';
            i++;
            continue;
        }
        size_t s = i;
        while (i < size && data[i] != ' ' && data[i] != '\n' && data[i] != 0)
            i++;
        const char *t = (const char *)data + s;
        size_t len = i - s;
        int leg = 0;
        if (*t == '|' && len > 1)
            leg = 1, t++, len--;
        if (*t == '~' && len > 1)
            clock += 5, t++, len--, newseg = true;
        w[n].text = strndup(t, len);
        MUST(w[n].text != NULL);
        w[n].leg = leg;
        w[n].start = clock;
        w[n].end = clock + 0.3;
        w[n].seg = newseg || (n && w[n - 1].leg != leg);
        newseg = false;
        clock += 0.36;
        n++;
    }
    /* the detectors on the stream */
    pv_word pw[MAX_WORDS];
    for (size_t i = 0; i < n; i++)
        pw[i] = (pv_word){w[i].text, w[i].start, w[i].end, w[i].leg,
                          w[i].leg ? CQ_ROLE_AGENT : CQ_ROLE_CUSTOMER};
    pv_hits h;
    MUST(pv_detect(pw, n, &st, &h) == 0);
    size_t per[PV_N_TYPES] = {0};
    for (size_t k = 0; k < h.n; k++) {
        MUST((unsigned)h.hits[k].type < PV_N_TYPES && ((st.types >> h.hits[k].type) & 1u));
        MUST(h.hits[k].first <= h.hits[k].last && h.hits[k].last < n);
        per[h.hits[k].type]++;
    }
    for (int t = 0; t < PV_N_TYPES; t++)
        MUST(per[t] == h.counts[t]);
    for (size_t i = 0; i < n; i++) {
        int id = h.word_hit[i];
        MUST(id >= -1 && id < (int)h.n);
        if (id >= 0)
            MUST(h.hits[id].leg == w[i].leg && i >= h.hits[id].first && i <= h.hits[id].last);
    }
    pv_hits_free(&h);
    /* the transcript redacted */
    tx_transcript tr;
    memset(&tr, 0, sizeof(tr));
    tr.n_legs = 2;
    tr.legs[0].role = CQ_ROLE_CUSTOMER;
    tr.legs[1].role = CQ_ROLE_AGENT;
    tr.unchecked = true;
    for (int leg = 0; leg < 2; leg++) {
        fw seg[MAX_WORDS];
        size_t m = 0;
        for (size_t i = 0; i <= n; i++) {
            if (m && (i == n || (w[i].leg == leg && w[i].seg))) {
                add_segment(&tr.legs[leg], seg, 0, m);
                m = 0;
            }
            if (i < n && w[i].leg == leg)
                seg[m++] = w[i];
        }
    }
    MUST(tx_finish(&tr) == 0);
    size_t before[2][MAX_WORDS], nseg[2];
    double t0[2][MAX_WORDS];
    for (int leg = 0; leg < 2; leg++) {
        nseg[leg] = tr.legs[leg].n;
        for (size_t k = 0; k < tr.legs[leg].n && k < MAX_WORDS; k++) {
            before[leg][k] = tr.legs[leg].segs[k].n_words;
            t0[leg][k] = tr.legs[leg].segs[k].n_words ? tr.legs[leg].segs[k].words[0].start : 0;
        }
    }
    pv_redaction r;
    size_t total = 0;
    MUST(pv_redact_transcript(&tr, &st, &r) == 0);
    for (int leg = 0; leg < 2; leg++) {
        MUST(tr.legs[leg].n == nseg[leg]);
        for (size_t k = 0; k < tr.legs[leg].n && k < MAX_WORDS; k++) {
            const tx_segment *s = &tr.legs[leg].segs[k];
            MUST(s->n_words == before[leg][k]);
            MUST(!s->n_words || s->words[0].start == t0[leg][k]);
            MUST(s->text != NULL && s->norm != NULL);
            total += s->n_words;
        }
    }
    MUST(r.words <= total);
    for (size_t k = 0; k < r.n; k++)
        MUST(r.spans[k].start >= 0 && r.spans[k].end >= r.spans[k].start &&
             ((st.types >> r.spans[k].type) & 1u));
    if (st.types & (1u << PV_CARD))
        MUST(pv_luhn_runs_transcript(&tr) == 0);
    pv_redaction_free(&r);
    tx_transcript_free(&tr);
    for (size_t i = 0; i < n; i++)
        free(w[i].text);
    return 0;
}
