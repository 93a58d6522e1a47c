/*
 * pv_redact.c - a transcript redacted in place: each hit's words replaced by "[TYPE]" with
 * their times kept, the segments' text and norm and the turns' text rebuilt from them; the
 * redacted spans for audio; the types' names and the enabled set; the Luhn scan that verifies a
 * redacted text.
 *
 * DESIGN
 * The words of both legs are read as one stream in the order of the call's clock, so that a
 * number read across the other speaker's "mm-hm" is one run (pv_numbers.c). A segment without
 * word times is read as its text's words spread evenly over its span. A segment whose words
 * were redacted gets its text rebuilt from its words (one "[TYPE]" per run of one hit's words),
 * so nothing of the original digits is left in it; its norm is tx_normalize of the text between
 * the placeholders, which stay as they are ("[CARD]"). A turn is rebuilt from its segments when
 * one of them changed. The dropped segments (the hallucination guard's) are redacted one by one.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_int.h"

static const char *const k_names[PV_N_TYPES] = {[PV_CARD] = "CARD",
                                                [PV_CVV] = "CVV",
                                                [PV_EXPIRY] = "EXPIRY",
                                                [PV_SSN] = "SSN",
                                                [PV_NATIONAL_ID] = "NATIONAL_ID",
                                                [PV_IBAN] = "IBAN",
                                                [PV_EMAIL] = "EMAIL",
                                                [PV_PHONE] = "PHONE",
                                                [PV_DOB] = "DOB"};
static const char *const k_placeholders[PV_N_TYPES] = {[PV_CARD] = "[CARD]",
                                                       [PV_CVV] = "[CVV]",
                                                       [PV_EXPIRY] = "[EXPIRY]",
                                                       [PV_SSN] = "[SSN]",
                                                       [PV_NATIONAL_ID] = "[NATIONAL_ID]",
                                                       [PV_IBAN] = "[IBAN]",
                                                       [PV_EMAIL] = "[EMAIL]",
                                                       [PV_PHONE] = "[PHONE]",
                                                       [PV_DOB] = "[DOB]"};

const char *pv_type_name(pv_type t)
{
    return (unsigned)t < PV_N_TYPES ? k_names[t] : NULL;
}

pv_settings pv_default_settings(void)
{
    return (pv_settings){.types = PV_ALL_TYPES,
                         .guard_sec = 0.25,
                         .join_gap_sec = 5.0,
                         .soft_gap_sec = 0.8,
                         .max_backchannel = 3,
                         .context_words = 30,
                         .context_sec = 20.0};
}

int pv_parse_types(const char *list, unsigned *mask, char *err, size_t errsz)
{
    unsigned m = 0;
    const char *p = list ? list : "";
    if (err && errsz)
        err[0] = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t n = (size_t)(e - s);
        char name[32];
        if (n == 0) {
            if (err)
                snprintf(err, errsz, "an empty entity type in \"%s\"", list ? list : "");
            return -1;
        }
        if (n >= sizeof(name)) {
            if (err)
                snprintf(err, errsz, "unknown entity type \"%.*s\"", (int)n, s);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            name[i] = (char)toupper((unsigned char)s[i]);
        name[n] = 0;
        int found = -1;
        for (int t = 0; t < PV_N_TYPES; t++)
            if (!strcmp(name, k_names[t]))
                found = t;
        if (found >= 0)
            m |= 1u << found;
        else if (!strcmp(name, "ALL"))
            m |= PV_ALL_TYPES;
        else if (strcmp(name, "NONE") != 0) {
            if (err)
                snprintf(err, errsz,
                         "unknown entity type \"%.*s\" (known: card, cvv, expiry, ssn, "
                         "national_id, iban, email, phone, dob, all, none)",
                         (int)n, s);
            return -1;
        }
        if (!*p)
            break;
        p++;
    }
    *mask = m;
    return 0;
}

/* ---- the words of a transcript ------------------------------------------------------------- */

/* where a word of the stream lives: a real word, or a word of a segment's text (pseudo) */
typedef struct where {
    int leg;
    size_t seg;
    size_t word; /* index in the segment's words, or in its pseudo words */
    bool pseudo;
} where;

typedef struct pseudo {
    char **texts; /* the text's words, split at spaces (malloc'd each) */
    size_t n;
} pseudo;

static int split_words(const char *text, pseudo *ps)
{
    memset(ps, 0, sizeof(*ps));
    size_t cap = 0;
    for (const char *p = text ? text : ""; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (ps->n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nt = realloc(ps->texts, cap * sizeof(*nt));
            if (!nt)
                return -1;
            ps->texts = nt;
        }
        if (!(ps->texts[ps->n] = strndup(s, (size_t)(p - s))))
            return -1;
        ps->n++;
    }
    return 0;
}

static void pseudo_free(pseudo *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->texts[i]);
    free(ps->texts);
    memset(ps, 0, sizeof(*ps));
}

typedef struct stream {
    pv_word *w;
    where *at;
    size_t n, cap;
} stream;

static int push(stream *st, pv_word w, where at)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        pv_word *nw = realloc(st->w, cap * sizeof(*nw));
        if (!nw)
            return -1;
        st->w = nw;
        where *na = realloc(st->at, cap * sizeof(*na));
        if (!na)
            return -1;
        st->at = na;
        st->cap = cap;
    }
    st->w[st->n] = w;
    st->at[st->n++] = at;
    return 0;
}

/* the stream sorted by start, stable (index tie-break) */
typedef struct order {
    double start;
    size_t i;
} order;

static int cmp_order(const void *a, const void *b)
{
    const order *x = a, *y = b;
    if (x->start < y->start)
        return -1;
    if (x->start > y->start)
        return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int sort_stream(stream *st)
{
    if (st->n < 2)
        return 0;
    order *o = malloc(st->n * sizeof(*o));
    pv_word *nw = malloc(st->n * sizeof(*nw));
    where *na = malloc(st->n * sizeof(*na));
    if (!o || !nw || !na) {
        free(o), free(nw), free(na);
        return -1;
    }
    for (size_t i = 0; i < st->n; i++)
        o[i] = (order){st->w[i].start == st->w[i].start ? st->w[i].start : 0, i};
    qsort(o, st->n, sizeof(*o), cmp_order);
    for (size_t i = 0; i < st->n; i++)
        nw[i] = st->w[o[i].i], na[i] = st->at[o[i].i];
    free(o);
    free(st->w);
    free(st->at);
    st->w = nw, st->at = na;
    return 0;
}

/* the words of both legs as one stream in the order of their start; a segment without words
 * read from its text (ps[leg][seg]); changed[leg] allocated, zeroed (when not NULL). 0, or -1. */
static int build_stream(const tx_transcript *t, stream *st, pseudo *ps[2],
                        unsigned char *changed[2])
{
    for (int li = 0; li < t->n_legs && li < 2; li++) {
        const tx_leg *L = &t->legs[li];
        ps[li] = L->n ? calloc(L->n, sizeof(*ps[li])) : NULL;
        if (L->n && !ps[li])
            return -1;
        if (changed) {
            changed[li] = L->n ? calloc(L->n, 1) : NULL;
            if (L->n && !changed[li])
                return -1;
        }
        for (size_t k = 0; k < L->n; k++) {
            const tx_segment *g = &L->segs[k];
            if (g->n_words) {
                for (size_t j = 0; j < g->n_words; j++)
                    if (push(st,
                             (pv_word){g->words[j].text, g->words[j].start, g->words[j].end, li,
                                       L->role},
                             (where){li, k, j, false}) != 0)
                        return -1;
                continue;
            }
            if (split_words(g->text, &ps[li][k]) != 0)
                return -1;
            size_t m = ps[li][k].n;
            double dur = g->end > g->start ? (g->end - g->start) / (double)(m ? m : 1) : 0;
            for (size_t j = 0; j < m; j++)
                if (push(st,
                         (pv_word){ps[li][k].texts[j], g->start + dur * (double)j,
                                   g->start + dur * (double)(j + 1), li, L->role},
                         (where){li, k, j, true}) != 0)
                    return -1;
        }
    }
    return sort_stream(st);
}

static void pseudos_free(const tx_transcript *t, pseudo *ps[2])
{
    for (int li = 0; li < 2; li++) {
        if (ps[li])
            for (size_t k = 0; k < t->legs[li].n; k++)
                pseudo_free(&ps[li][k]);
        free(ps[li]);
        ps[li] = NULL;
    }
}

/* ---- text rebuilt -------------------------------------------------------------------------- */

typedef struct sb {
    char *p;
    size_t n, cap;
    bool oom;
} sb;

static void sb_add(sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_word(sb *b, const char *s)
{
    if (b->n)
        sb_add(b, " ", 1);
    sb_add(b, s, strlen(s));
}

/* a word normalised (pv_norm.c), after a space */
static void sb_word_norm(sb *b, const char *s)
{
    size_t n = strlen(s);
    if (b->n)
        sb_add(b, " ", 1);
    sb_add(b, s, n); /* room for it; then overwritten by its normalised form */
    if (!b->oom)
        b->n = b->n - n + pv__norm(s, n, b->p + b->n - n, NULL);
}

static char *sb_take(sb *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p)
        return strdup("");
    return b->p;
}

/* a placeholder's type, or -1 */
static int placeholder(const char *s)
{
    for (int t = 0; t < PV_N_TYPES; t++)
        if (!strcmp(s, k_placeholders[t]))
            return t;
    return -1;
}

/* the words' texts joined, a run of one hit's placeholders shown once */
static char *join_words(char *const *texts, const int *hit, size_t n)
{
    sb b = {0};
    for (size_t i = 0; i < n; i++) {
        if (hit[i] >= 0 && i > 0 && hit[i - 1] == hit[i])
            continue;
        if (texts[i] && texts[i][0])
            sb_word(&b, texts[i]);
    }
    return sb_take(&b);
}

/* norm for a redacted text: tx_normalize between the placeholders, which are kept */
static char *norm_of(const char *text)
{
    sb out = {0}, piece = {0};
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        char word[32] = "";
        size_t n = (size_t)(p - s);
        if (n && n < sizeof(word))
            memcpy(word, s, n), word[n] = 0;
        bool ph = n && placeholder(word) >= 0;
        if (ph || !n) {
            if (piece.n) {
                char *nm = tx_normalize(piece.p);
                if (!nm) {
                    out.oom = true;
                } else {
                    if (nm[0])
                        sb_word(&out, nm);
                    free(nm);
                }
                piece.n = 0;
                piece.p[0] = 0;
            }
            if (ph)
                sb_word(&out, word);
            if (!n)
                break;
            continue;
        }
        if (piece.n)
            sb_add(&piece, " ", 1);
        sb_add(&piece, s, n);
        if (piece.oom)
            out.oom = true;
    }
    free(piece.p);
    return sb_take(&out);
}

/* ---- the redaction ------------------------------------------------------------------------- */

/* one text redacted on its own (a dropped segment): *changed when it was */
static int redact_text(char **text, const pv_settings *s, cq_role role, size_t *counts,
                       size_t *words)
{
    pseudo ps;
    int rc = -1;
    pv_word *w = NULL;
    int *hit = NULL;
    pv_hits h = {0};
    if (split_words(*text, &ps) != 0)
        goto out;
    if (!ps.n) {
        rc = 0;
        goto out;
    }
    w = malloc(ps.n * sizeof(*w));
    hit = malloc(ps.n * sizeof(*hit));
    if (!w || !hit)
        goto out;
    for (size_t i = 0; i < ps.n; i++)
        w[i] = (pv_word){.text = ps.texts[i],
                         .start = 0.3 * (double)i,
                         .end = 0.3 * (double)i + 0.25,
                         .leg = 0,
                         .role = role};
    if (pv_detect(w, ps.n, s, &h) != 0)
        goto out;
    bool changed = false;
    for (size_t i = 0; i < ps.n; i++) {
        hit[i] = h.word_hit[i];
        if (hit[i] < 0)
            continue;
        char *ph = strdup(k_placeholders[h.hits[hit[i]].type]);
        if (!ph)
            goto out;
        free(ps.texts[i]);
        ps.texts[i] = ph;
        changed = true;
        if (words)
            (*words)++;
    }
    for (int t = 0; t < PV_N_TYPES; t++)
        counts[t] += h.counts[t];
    if (changed) {
        char *nt = join_words(ps.texts, hit, ps.n);
        if (!nt)
            goto out;
        free(*text);
        *text = nt;
    }
    rc = 0;
out:
    pv_hits_free(&h);
    free(w);
    free(hit);
    pseudo_free(&ps);
    return rc;
}

static int cmp_span(const void *a, const void *b)
{
    const pv_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : x->leg - y->leg;
}

/* one pass of the redaction over the words: hits, words replaced, segments and turns rebuilt,
 * the spans appended to out; *found: the hits. 0, or -1 (out of memory). */
static int pass(tx_transcript *t, const pv_settings *s, pv_redaction *out, size_t *found)
{
    stream st = {0};
    pseudo *ps[2] = {NULL, NULL};
    unsigned char *changed[2] = {NULL, NULL};
    pv_hits h = {0};
    int rc = -1;
    /* 1: the stream of words, both legs */
    if (build_stream(t, &st, ps, changed) != 0)
        goto out;
    /* 2: the hits */
    if (pv_detect(st.w, st.n, s, &h) != 0)
        goto out;
    /* 3: the words replaced */
    for (size_t i = 0; i < st.n; i++) {
        int id = h.word_hit[i];
        if (id < 0)
            continue;
        where a = st.at[i];
        char *ph = strdup(k_placeholders[h.hits[id].type]);
        if (!ph)
            goto out;
        if (a.pseudo) {
            free(ps[a.leg][a.seg].texts[a.word]);
            ps[a.leg][a.seg].texts[a.word] = ph;
        } else {
            tx_word *w = &t->legs[a.leg].segs[a.seg].words[a.word];
            free(w->text);
            w->text = ph;
        }
        changed[a.leg][a.seg] = 1;
        out->words++;
    }
    /* 4: the segments' text and norm rebuilt; the hit of each word, per segment */
    for (int li = 0; li < t->n_legs && li < 2; li++) {
        tx_leg *L = &t->legs[li];
        for (size_t k = 0; k < L->n; k++) {
            if (!changed[li][k])
                continue;
            tx_segment *g = &L->segs[k];
            size_t m = g->n_words ? g->n_words : ps[li][k].n;
            char **texts = malloc((m ? m : 1) * sizeof(*texts));
            int *hit = malloc((m ? m : 1) * sizeof(*hit));
            if (!texts || !hit) {
                free(texts), free(hit);
                goto out;
            }
            for (size_t j = 0; j < m; j++) {
                texts[j] = g->n_words ? g->words[j].text : ps[li][k].texts[j];
                hit[j] = placeholder(texts[j] ? texts[j] : "") >= 0 ? 0 : -1;
            }
            /* one hit's run: the same placeholder in a row */
            for (size_t j = 1; j < m; j++)
                if (hit[j] >= 0 && hit[j - 1] >= 0 && strcmp(texts[j], texts[j - 1]) != 0)
                    hit[j] = hit[j - 1] + 1;
            char *nt = join_words(texts, hit, m);
            free(texts);
            free(hit);
            if (!nt)
                goto out;
            char *nn = norm_of(nt);
            if (!nn) {
                free(nt);
                goto out;
            }
            free(g->text);
            free(g->norm);
            g->text = nt;
            g->norm = nn;
        }
    }
    /* 5: the turns of a changed segment rebuilt from their segments (of the turn's speaker: S1
     * and S2 of a diarized mix share a role) */
    for (size_t u = 0; u < t->n_turns; u++) {
        tx_turn *tu = &t->turns[u];
        bool any = false;
        for (int li = 0; li < t->n_legs && li < 2; li++)
            for (size_t k = 0; k < t->legs[li].n; k++) {
                const tx_segment *g = &t->legs[li].segs[k];
                if (g->role == tu->role && !strcmp(g->speaker, tu->speaker) &&
                    g->start >= tu->start && g->start <= tu->end && changed[li][k])
                    any = true;
            }
        if (!any)
            continue;
        /* its segments in the order of their start */
        sb b = {0};
        double last = -1e300;
        for (;;) {
            const tx_segment *next = NULL;
            for (int li = 0; li < t->n_legs && li < 2; li++)
                for (size_t k = 0; k < t->legs[li].n; k++) {
                    const tx_segment *g = &t->legs[li].segs[k];
                    if (g->role != tu->role || strcmp(g->speaker, tu->speaker) != 0 ||
                        g->start < tu->start || g->start > tu->end || !g->text || !g->text[0] ||
                        g->start <= last)
                        continue;
                    if (!next || g->start < next->start)
                        next = g;
                }
            if (!next)
                break;
            sb_word(&b, next->text);
            last = next->start;
        }
        char *nt = sb_take(&b);
        if (!nt)
            goto out;
        free(tu->text);
        tu->text = nt;
    }
    /* 6: the spans */
    *found = h.n;
    if (h.n) {
        pv_span *ns = realloc(out->spans, (out->n + h.n) * sizeof(*ns));
        if (!ns)
            goto out;
        out->spans = ns;
    }
    for (size_t i = 0; i < h.n; i++) {
        const pv_hit *x = &h.hits[i];
        double a = x->start - s->guard_sec;
        out->spans[out->n++] = (pv_span){.type = x->type,
                                         .leg = x->leg,
                                         .role = x->role,
                                         .start = a > 0 ? a : 0,
                                         .end = x->end + s->guard_sec,
                                         .words_start = x->start,
                                         .words_end = x->end};
        out->counts[x->type]++;
    }
    rc = 0;
out:
    pseudos_free(t, ps);
    free(changed[0]);
    free(changed[1]);
    free(st.w);
    free(st.at);
    pv_hits_free(&h);
    return rc;
}

static size_t luhn_runs_words(const pv_word *w, size_t n);
static size_t luhn_runs_stream(const tx_transcript *t);

/* a text redacted on its own until no Luhn-valid run is left in it (at most 4 times) */
static int scrub(char **text, const pv_settings *s, cq_role role, pv_redaction *out)
{
    for (int k = 0; k < 4 && *text && pv_luhn_runs_text(*text) > 0; k++)
        if (redact_text(text, s, role, out->counts, NULL) != 0)
            return -1;
    return 0;
}

int pv_redact_transcript(tx_transcript *t, const pv_settings *s, pv_redaction *out)
{
    memset(out, 0, sizeof(*out));
    bool card = (s->types >> PV_CARD) & 1u;
    /* the words: a second pass when a run changed by the first (a homophone that lost its
     * neighbour) is a Luhn-valid one */
    for (int k = 0; k < 4; k++) {
        size_t found = 0;
        if (pass(t, s, out, &found) != 0)
            goto fail;
        if (!card || !found || luhn_runs_stream(t) == 0)
            break;
    }
    /* the texts, read as words, as a safety net: a segment's text or norm, a turn, a dropped
     * segment in which the text's own words (or tx_normalize's) still make a Luhn-valid run */
    for (int li = 0; li < t->n_legs && li < 2 && card; li++)
        for (size_t k = 0; k < t->legs[li].n; k++) {
            tx_segment *g = &t->legs[li].segs[k];
            if (!g->text || pv_luhn_runs_text(g->text) == 0) {
                if (g->norm && scrub(&g->norm, s, g->role, out) != 0)
                    goto fail;
                continue;
            }
            if (scrub(&g->text, s, g->role, out) != 0)
                goto fail;
            char *nn = norm_of(g->text);
            if (!nn)
                goto fail;
            free(g->norm);
            g->norm = nn;
            if (scrub(&g->norm, s, g->role, out) != 0)
                goto fail;
        }
    for (size_t u = 0; u < t->n_turns && card; u++)
        if (scrub(&t->turns[u].text, s, t->turns[u].role, out) != 0)
            goto fail;
    /* the dropped segments, one by one */
    for (size_t k = 0; k < t->n_dropped; k++) {
        if (t->dropped[k].text &&
            redact_text(&t->dropped[k].text, s, t->dropped[k].role, out->counts, NULL) != 0)
            goto fail;
        if (card && scrub(&t->dropped[k].text, s, t->dropped[k].role, out) != 0)
            goto fail;
    }
    if (out->n > 1)
        qsort(out->spans, out->n, sizeof(*out->spans), cmp_span);
    return 0;
fail:
    pv_redaction_free(out);
    return -1;
}

int pv_redact_string(char **text, const pv_settings *s, cq_role role, size_t counts[PV_N_TYPES])
{
    if (!*text)
        return 0;
    if (redact_text(text, s, role, counts, NULL) != 0)
        return -1;
    if ((s->types >> PV_CARD) & 1u) {
        pv_redaction tmp;
        memset(&tmp, 0, sizeof(tmp));
        int rc = scrub(text, s, role, &tmp);
        for (int t = 0; t < PV_N_TYPES; t++)
            counts[t] += tmp.counts[t];
        pv_redaction_free(&tmp);
        return rc;
    }
    return 0;
}

/* every word of the hit is a placeholder */
static bool all_placeholders(const stream *st, const pv_hit *h)
{
    for (size_t i = h->first; i <= h->last && i < st->n; i++)
        if (!st->w[i].text || placeholder(st->w[i].text) < 0)
            return false;
    return true;
}

long pv_scan_transcript(const tx_transcript *t, const pv_settings *s)
{
    stream st = {0};
    pseudo *ps[2] = {NULL, NULL};
    long found = -1;
    pv_hits h;
    if (build_stream(t, &st, ps, NULL) == 0 && pv_detect(st.w, st.n, s, &h) == 0) {
        found = 0;
        for (size_t i = 0; i < h.n; i++) /* a placeholder is what a hit left: not a new one */
            if (!all_placeholders(&st, &h.hits[i]))
                found++;
        pv_hits_free(&h);
    }
    pseudos_free(t, ps);
    free(st.w);
    free(st.at);
    return found;
}

void pv_redaction_free(pv_redaction *r)
{
    free(r->spans);
    memset(r, 0, sizeof(*r));
}

/* ---- verification -------------------------------------------------------------------------- */

/* the Luhn-valid runs of 13-19 digits among words */
static size_t luhn_runs_words(const pv_word *w, size_t n)
{
    size_t found = 0;
    pv__tok *tok = n ? malloc(n * sizeof(*tok)) : NULL;
    pv__runs R;
    if (!tok)
        return 0;
    pv__tokenize(w, n, tok);
    pv_settings s = pv_default_settings();
    if (pv__number_runs(w, n, tok, NULL, &s, &R) == 0) {
        for (size_t k = 0; k < R.n; k++)
            if (R.r[k].nd >= 13 && R.r[k].nd <= 19 && pv_luhn(R.digits + R.r[k].d0, R.r[k].nd))
                found++;
        pv__runs_free(&R);
    }
    free(tok);
    return found;
}

size_t pv_luhn_runs_text(const char *raw)
{
    pseudo ps;
    /* read as the detectors read it (pv_norm.c); out of memory, as it is */
    char *norm = raw ? pv_normalize(raw) : NULL;
    const char *text = norm ? norm : raw;
    size_t found = text ? pv__written_luhn(text, strlen(text), NULL, NULL) : 0;
    if (split_words(text, &ps) == 0 && ps.n) {
        pv_word *w = malloc(ps.n * sizeof(*w));
        if (w) {
            for (size_t i = 0; i < ps.n; i++)
                w[i] = (pv_word){
                    .text = ps.texts[i], .start = 0.3 * (double)i, .end = 0.3 * (double)i + 0.25};
            found += luhn_runs_words(w, ps.n);
        }
        free(w);
    }
    pseudo_free(&ps);
    free(norm);
    return found;
}

/* the runs of a transcript's words, both legs as one stream */
static size_t luhn_runs_stream(const tx_transcript *t)
{
    size_t found = 0;
    stream st = {0};
    pseudo *ps[2] = {NULL, NULL};
    if (build_stream(t, &st, ps, NULL) == 0) {
        found += luhn_runs_words(st.w, st.n);
        for (int li = 0; li < 2; li++) { /* each leg's words joined, read strictly */
            sb b = {0};
            for (size_t i = 0; i < st.n; i++)
                if (st.w[i].leg == li)
                    sb_word_norm(&b, st.w[i].text ? st.w[i].text : "");
            if (b.p)
                found += pv__written_luhn(b.p, b.n, NULL, NULL);
            free(b.p);
        }
    }
    pseudos_free(t, ps);
    free(st.w);
    free(st.at);
    return found;
}

size_t pv_luhn_runs_transcript(const tx_transcript *t)
{
    size_t found = luhn_runs_stream(t);
    for (int li = 0; li < t->n_legs && li < 2; li++)
        for (size_t k = 0; k < t->legs[li].n; k++) {
            const tx_segment *g = &t->legs[li].segs[k];
            found += pv_luhn_runs_text(g->text) + pv_luhn_runs_text(g->norm);
        }
    for (size_t u = 0; u < t->n_turns; u++)
        found += pv_luhn_runs_text(t->turns[u].text);
    for (size_t k = 0; k < t->n_dropped; k++)
        found += pv_luhn_runs_text(t->dropped[k].text);
    return found;
}
