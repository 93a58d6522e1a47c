/*
 * classify_hold.c - the hold mode's live rules (cq_classify_params.live = CQ_LIVE_HOLD;
 * docs/live.md): before a hold, the IVR prompts (speech a key press or the hold's music answers);
 * in a hold, the hold's music and its end, the announcements in it (remembered by their
 * fingerprints, for the rest of the call and, through cq_classifier_learned, the next one), and
 * the candidate after the music decided a person, passively or by asking the line (the probe).
 */
#include <stdint.h>
#include <string.h>

#include "../base/base_int.h"
#include "callqa/cq_classify.h"
#include "classify_int.h"

#define MUSIC_WIN 32           /* 1.02 s */
#define MUSIC_SUSTAINED 24     /* music frames in it that make it music */
#define QUIET_HANDOVER 40      /* 1.28 s of quiet between the hold's music and the speech */
#define HANDOVER_SPEECH 3      /* speech frames that confirm it */
#define NO_MUSIC_AFTER 328     /* 10.5 s after the speech began without music */
#define PROMPT_JOIN 32         /* 1.02 s: shorter pauses are within one prompt */
#define PROMPT_MIN 16          /* 0.51 s of speech make a prompt */
#define PROMPT_DTMF 110        /* 3.5 s: a key pressed this soon after the speech answers it */
#define PROMPT_HOLD 78         /* 2.5 s: speech this close before a hold's music leads into it */
#define ANNOUNCE_MIN 16        /* 0.51 s of speech in the hold make an announcement */
#define PROMPT_MUSIC_BEFORE 94 /* 3 s before a prompt searched for music */
/* 30 s with no music frame and no hold: the wait is over (a music track can be silent for 12 s) */
#define HOLD_OVER 938
/* the probe (cq_classify_params.probe_sec; docs/live/hold-slayer.md, "Asking the line") */
#define PROBE_PAUSE 13 /* 0.42 s of pause after the candidate's speech: the probe goes out */
/* 0.77 s of pause after a reply before the next probe: a recording whose words are up to 1.5 s
 * apart speaks again while that probe sounds or within REPLY_MIN of its end, so it cannot answer
 * it (0.77 + 0.54 s of the built-in probe + 0.26 s) */
#define PROBE_PAUSE_NEXT 24
#define PROBE_MAX 3        /* probes per candidate, heard in quiet */
#define PROBE_OVER_MAX 3   /* and at most this many more that the line talked over */
#define PROBE_ANSWERS 2    /* of them answered: a person */
#define REPLY_MIN 8        /* a reply starts 0.26 s after the probe's end at the earliest, */
#define REPLY_MAX 40       /* and 1.28 s after it at the latest, */
#define REPLY_MAX_FIRST 47 /* 1.5 s for the first reply, which the next one confirms */
#define REPLY_PAUSE 4      /* after 0.13 s or more of pause, */
#define REPLY_SPEECH 3     /* and is confirmed by its 3rd speech frame (96 ms) */
/* A reply starts at the first frame of the sound (-40 dBFS or more, gaps of REPLY_GAP within it)
 * that leads to the VAD's first speech frame: Silero rose up to 0.6 s into a reply's sound on the
 * dev calls, past the window, so its speech is waited for this long after the window while a
 * sound begun within it goes on. */
#define REPLY_LAG 19
/* remembered announcements (docs/live/hold-slayer.md, "Remembered announcements") */
#define FP_BIN0 10      /* 312 Hz */
#define FP_WIDTH 6      /* bins (187.5 Hz) per band: up to 3500 Hz */
#define MATCH_WIN 32    /* the candidate's first 1.02 s is compared with what is remembered, */
#define MATCH_ACTIVE 16 /* once it holds this many frames of speech or above silence, */
#define MATCH_MAX 94    /* which sparse speech may take up to 3 s to give */
/* the share of differing bits under which it is the same recording (dev prompts through u-law,
 * A-law and GSM on any 32 ms grid: 0.29 at most; other prompts and live talkers: 0.36 at least) */
#define MATCH_BER 0.33

/* Hold mode: the wait is over, at frame i (once per hold: a hold confirmed after sustained
 * music returns can end again), from the hold's last sustained music. */
static int hold_ended(cq_classifier *c, size_t i, const char *rule)
{
    live_state *L = &c->lv;
    if (L->hold_over)
        return CQ_OK;
    L->hold_over = 1;
    cq_call_event e = {.confidence = 1};
    return cq__cls_live_event(c, CQ_EV_HOLD_ENDED, L->last_music, i + 1, rule, &e);
}

/* Hold mode, before a hold: the latest run of speech (NULL: none yet). */
static speech_span *span_last(live_state *L)
{
    return L->nspans ? &L->spans[(L->nspans - 1) % SPANS] : NULL;
}

/* Span s was an IVR prompt: the key pressed or the hold's music after it says so (`rule`). */
static int prompt_out(cq_classifier *c, speech_span *s, const char *rule)
{
    s->told = 1;
    cq_call_event e = {.confidence = 1, .speech_sec = cq__cls_frame_sec(s->speech)};
    return cq__cls_live_event(c, CQ_EV_PROMPT, s->start, s->end, rule, &e);
}

/* Hold mode, on each frame before a hold (no person yet): runs of speech, and a DTMF key within
 * PROMPT_DTMF after one of PROMPT_MIN speech frames or more makes it a prompt (the caller
 * answered it). */
static int prompt_arrival(cq_classifier *c, size_t i, int speech)
{
    live_state *L = &c->lv;
    speech_span *s = span_last(L);
    if (speech) {
        if (!s || i - s->end >= PROMPT_JOIN) {
            s = &L->spans[L->nspans++ % SPANS];
            *s = (speech_span){.start = i};
        }
        s->end = i + 1;
        s->speech++;
    }
    if (!c->fr[i].dtmf || !s || s->told || s->speech < PROMPT_MIN || i + 1 - s->end > PROMPT_DTMF)
        return CQ_OK;
    return prompt_out(c, s, "dtmf_after");
}

/* Hold mode, when the first hold is confirmed: the speech that led into its music, PROMPT_HOLD
 * or less before it, was a prompt. */
static int prompt_before_hold(cq_classifier *c)
{
    live_state *L = &c->lv;
    size_t h = c->hold_start;
    for (size_t k = 0; k < L->nspans && k < SPANS; k++) {
        speech_span *s = &L->spans[(L->nspans - 1 - k) % SPANS];
        if (s->start >= h)
            continue;
        if (s->told || s->speech < PROMPT_MIN || (h > s->end && h - s->end > PROMPT_HOLD))
            return CQ_OK;
        /* music sustained before the speech: an announcement in a hold not confirmed before */
        size_t mus = 0;
        for (size_t j = s->start > PROMPT_MUSIC_BEFORE ? s->start - PROMPT_MUSIC_BEFORE : 0;
             j < s->start; j++)
            mus += c->fr[j].cls == CQ_CLS_MUSIC;
        if (mus >= MUSIC_SUSTAINED)
            return CQ_OK;
        return prompt_out(c, s, "hold_after");
    }
    return CQ_OK;
}

/* Hold mode's decision: the candidate is a person, by `rule`, at frame i (its evidence: the
 * candidate's speech, the silence before it, and the time since the music). */
static int hold_human(cq_classifier *c, size_t i, const char *rule)
{
    live_state *L = &c->lv;
    L->done = 1;
    const int reply = !strcmp(rule, "probe_reply");
    cq_call_event e = {.confidence = 1,
                       .speech_sec = cq__cls_frame_sec(L->cand_speech),
                       .quiet_sec = cq__cls_frame_sec(L->cand_quiet),
                       .music_sec = cq__cls_frame_sec(i + 1 - L->last_music),
                       .cycles = reply ? L->pr_sent : 0,
                       .reply_sec = reply ? cq__cls_frame_sec(L->pr_reply - L->pr_end) : 0};
    int rc = cq__cls_live_event(c, CQ_EV_HUMAN, L->cand_start, i + 1, rule, &e);
    return rc != CQ_OK ? rc : hold_ended(c, i, "human");
}

/*
 * The frame's fingerprint word, as in Haitsma and Kalker's audio fingerprints: band energies E
 * in FP_BANDS bands, summed over FP_SMOOTH frames (S(n) = E(n) + ... + E(n-3), so a recording
 * heard again on another 32 ms grid gives nearly the same words), and bit m set when the
 * difference between bands m and m+1 grew over FP_LAG frames: S(n,m) - S(n,m+1) >
 * S(n-2,m) - S(n-2,m+1). Level and the line's gain cancel out; the words keep no audio (the
 * speech cannot be made again from them).
 */
uint16_t cq__cls_fp_word(cq_classifier *c)
{
    float e[FP_BANDS], sn[FP_BANDS], sp[FP_BANDS];
    for (int m = 0; m < FP_BANDS; m++) {
        double pw = 0;
        for (int k = FP_BIN0 + m * FP_WIDTH; k < FP_BIN0 + (m + 1) * FP_WIDTH; k++)
            pw += (double)c->fout[k][0] * c->fout[k][0] + (double)c->fout[k][1] * c->fout[k][1];
        e[m] = (float)pw;
        sn[m] = e[m], sp[m] = 0;
        for (int k = 0; k < FP_SMOOTH - 1; k++)
            sn[m] += c->fp_band[k][m];
        for (int k = FP_LAG - 1; k < FP_LAG - 1 + FP_SMOOTH; k++)
            sp[m] += c->fp_band[k][m];
    }
    uint16_t w = 0;
    for (int m = 0; m + 1 < FP_BANDS; m++)
        if (sn[m] - sn[m + 1] > sp[m] - sp[m + 1])
            w |= (uint16_t)(1u << m);
    memmove(c->fp_band[1], c->fp_band[0], sizeof(c->fp_band[0]) * (FP_HIST - 1));
    memcpy(c->fp_band[0], e, sizeof(e));
    return w;
}

/* Room for an announcement's fingerprint of n words (CQ_FP_MAX_FRAMES at most), for the caller
 * to fill: when MEM_MAX are kept, the oldest learned one (else the oldest) makes room. NULL when
 * memory is short. */
static uint16_t *memo_new(cq_classifier *c, size_t n, int learned)
{
    if (n > CQ_FP_MAX_FRAMES)
        n = CQ_FP_MAX_FRAMES;
    uint16_t *b = cq__malloc(n * sizeof(uint16_t));
    if (!b)
        return NULL;
    if (c->nmem == MEM_MAX) {
        size_t drop = 0;
        for (size_t i = 0; i < c->nmem; i++)
            if (c->mem[i].learned) {
                drop = i;
                break;
            }
        cq__free(c->mem[drop].bits);
        memmove(c->mem + drop, c->mem + drop + 1, (c->nmem - drop - 1) * sizeof(memo));
        c->nmem--;
    }
    c->mem[c->nmem++] = (memo){.bits = b, .frames = n, .learned = learned};
    return b;
}

/* Frame i holds speech or sound above silence: a frame the fingerprints are compared on. */
static int frame_active(const cq_classifier *c, size_t i)
{
    return c->vad[i] >= SPEECH_PROB || c->fr[i].db >= c->p.silence_db;
}

/* The candidate's first `win` frames (MATCH_MAX at most) from `from` against every remembered
 * fingerprint at every alignment: the smallest share of differing bits over its active frames
 * (at least MATCH_ACTIVE of them compared), 1 when none could be compared. */
static double memo_match(const cq_classifier *c, size_t from, size_t win, size_t *frames)
{
    uint16_t qw[MATCH_MAX];
    long qi[MATCH_MAX]; /* the active frames' places in the window */
    size_t na = 0;
    for (size_t q = 0; q < win && q < MATCH_MAX; q++)
        if (frame_active(c, from + q))
            qw[na] = c->fr[from + q].fp, qi[na++] = (long)q;
    double best = 1;
    *frames = 0;
    for (size_t m = 0; m < c->nmem; m++) {
        const memo *mo = &c->mem[m];
        for (long o = -(long)(win - MATCH_ACTIVE); o + MATCH_ACTIVE <= (long)mo->frames; o++) {
            unsigned diff = 0, cmp = 0;
            for (size_t a = 0; a < na; a++) {
                const long j = o + qi[a];
                if (j < 0 || j >= (long)mo->frames)
                    continue;
                diff += (unsigned)__builtin_popcount((unsigned)(qw[a] ^ mo->bits[j]));
                cmp++;
            }
            if (cmp >= MATCH_ACTIVE && (double)diff / (16.0 * cmp) < best) {
                best = (double)diff / (16.0 * cmp);
                *frames = mo->frames;
            }
        }
    }
    return best;
}

/* The announcement of frames [from, to) learned (CQ_FP_MAX_FRAMES at most). */
static int memo_learn(cq_classifier *c, size_t from, size_t to)
{
    const size_t n = to - from < CQ_FP_MAX_FRAMES ? to - from : CQ_FP_MAX_FRAMES;
    if (!n)
        return CQ_OK;
    uint16_t *b = memo_new(c, n, 1);
    if (!b)
        return CQ_ERR_NOMEM;
    for (size_t k = 0; k < n; k++)
        b[k] = c->fr[from + k].fp;
    return CQ_OK;
}

int cq_classifier_remember(cq_classifier *c, const uint16_t *bits, size_t frames)
{
    if (!bits || !frames)
        return CQ_ERR_INVALID;
    uint16_t *b = memo_new(c, frames, 0);
    if (!b)
        return CQ_ERR_NOMEM;
    memcpy(b, bits, c->mem[c->nmem - 1].frames * sizeof(uint16_t));
    return CQ_OK;
}

const uint16_t *cq_classifier_learned(const cq_classifier *c, size_t i, size_t *frames)
{
    for (size_t m = 0; m < c->nmem; m++)
        if (c->mem[m].learned && i-- == 0) {
            *frames = c->mem[m].frames;
            return c->mem[m].bits;
        }
    *frames = 0;
    return NULL;
}

/* Hold mode, on decided frames (music needs the look-ahead): where the hold's music last
 * sounded (MUSIC_SUSTAINED of MUSIC_WIN frames music: a voiced syllable is not) and whether a
 * hold was confirmed. Sustained music drops a candidate (an announcement's end); a candidate
 * NO_MUSIC_AFTER old with no music frame since it began is a person. */
int cq__cls_live_hold_decided(cq_classifier *c, size_t i, int cls)
{
    live_state *L = &c->lv;
    int rc;
    if (c->hold_state == 2 && !L->hold_seen) {
        L->hold_seen = 1;
        if (!L->done && (rc = prompt_before_hold(c)) != CQ_OK)
            return rc;
    }
    L->mus_win += cls == CQ_CLS_MUSIC;
    if (i >= MUSIC_WIN && c->fr[i - MUSIC_WIN].cls == CQ_CLS_MUSIC)
        L->mus_win--;
    if (cls == CQ_CLS_MUSIC) {
        L->music_frame = i + 1;
        if (L->cand && i >= L->cand_start)
            L->cand_music = 1;
    }
    if (L->mus_win >= MUSIC_SUSTAINED) {
        L->last_music = L->music_frame;
        L->hold_over = 0;
        /* the music came back after speech in the hold: that was an announcement */
        if (L->cand && !L->done && i >= L->cand_start && L->cand_speech >= ANNOUNCE_MIN) {
            /* one heard before: its match (1 - 2 x the differing bits' share); a new one is
             * remembered for the rest of the call */
            const int known = L->cand_known == 1;
            cq_call_event e = {.confidence = known ? 1 - 2 * L->cand_ber : 1,
                               .speech_sec = cq__cls_frame_sec(L->cand_speech),
                               .quiet_sec = cq__cls_frame_sec(L->cand_quiet)};
            L->cand = 0;
            if (!known && (rc = memo_learn(c, L->cand_start, L->cand_end)) != CQ_OK)
                return rc;
            if ((rc = cq__cls_live_event(c, CQ_EV_ANNOUNCE, L->cand_start, L->cand_end,
                                         known ? "remembered" : "music_returned", &e)) != CQ_OK)
                return rc;
        }
        /* the music came back after the speech a person was decided on: it was a recording
         * after all. Nothing more is said (the decision is out), but it is learned, so that this
         * call and the next to the same place know it (its speech up to the music) */
        if (L->cand && L->done && L->cand_known != 1 && i >= L->cand_start + MUSIC_WIN &&
            L->cand_speech >= HANDOVER_SPEECH &&
            (rc = memo_learn(c, L->cand_start, i + 1 - MUSIC_WIN)) != CQ_OK)
            return rc;
        if (L->cand && i >= L->cand_start)
            L->cand = 0;
    }
    if (!L->done && L->hold_seen && c->hold_state != 2 && L->music_frame &&
        i + 1 - L->music_frame >= HOLD_OVER && (rc = hold_ended(c, i, "no_music")) != CQ_OK)
        return rc;
    /* a remembered announcement's candidate waits out the announcement first */
    const size_t wait = NO_MUSIC_AFTER + (L->cand_known == 1 ? L->cand_memo : 0);
    if (L->done || !L->cand || L->cand_music || i < L->cand_start || i + 1 - L->cand_start < wait)
        return CQ_OK;
    return hold_human(c, i, "no_music_after");
}

/*
 * Hold mode with a probe (docs/live/hold-slayer.md, "Asking the line"), on each frame of a
 * candidate as it arrives. Once its speech has paused PROBE_PAUSE frames, a probe goes out (a
 * `probe` event: the host plays probe_sec of audio back into the call, and says where in the stream
 * it began, cq_classifier_probe_played: a host whose analysis lags its input starts it later than
 * asked), at most PROBE_MAX per candidate. No reply is listened for before the host has said so. A
 * person answers it; a recording goes on as if nothing was said. So speech that starts REPLY_MIN to
 * REPLY_MAX frames after the probe's end, after REPLY_PAUSE frames or more of pause (not the line's
 * speech running on through the probe), is a reply, confirmed by its REPLY_SPEECH-th speech frame.
 * One reply can be a recording's next word that happens to follow the probe by a reply's delay;
 * so once the reply pauses PROBE_PAUSE_NEXT frames the line is asked again, and PROBE_ANSWERS
 * replies make the candidate a person ("probe_reply"; docs/live-decisions.md). Speech that runs
 * into the window without a pause, or no reply within it, leaves the candidate as it was: the
 * next pause sends the next probe, while enough are left to confirm. Sustained music
 * drops the candidate (cq__cls_live_hold_decided), and the probe with it. The passive rule
 * (quiet_handover) does not decide while probes can be sent; no_music_after still does.
 */
/* The probe out is over unanswered. One the line talked over was not heard in quiet: it is not
 * one of the candidate's PROBE_MAX (a person finishing a long greeting over it would spend them;
 * a recording that talks over it cannot answer it), but one of PROBE_OVER_MAX. */
static void probe_over(live_state *L)
{
    L->pr_out = 0;
    L->pr_over += L->pr_talked;
}

#define REPLY_GAP 3 /* quiet frames within a reply's sound (between its syllables) */

/* The first frame of the sound that frame i ends (gaps of REPLY_GAP frames at most within it),
 * after the probe's start; i when the line has sounded since the probe began (a steady noise:
 * the VAD's frame then), SIZE_MAX when no sound is that recent. */
static size_t reply_onset(const cq_classifier *c, size_t i)
{
    size_t first = SIZE_MAX, gap = 0, j = i + 1;
    for (; j > c->lv.pr_start; j--) {
        if (c->fr[j - 1].db >= c->p.silence_db)
            first = j - 1, gap = 0;
        else if (++gap > REPLY_GAP)
            break;
    }
    return j > c->lv.pr_start ? first : i;
}

static int probe_arrival(cq_classifier *c, size_t i, int speech)
{
    live_state *L = &c->lv;
    if (L->pr_ready) /* a reply waits for the comparison with the remembered announcements */
        return CQ_OK;
    const size_t pause = L->pr_pause;
    L->pr_pause = speech ? 0 : L->pr_pause + 1;
    if (L->pr_out) {
        if (!L->pr_played || i < L->pr_end + REPLY_MIN) {
            L->pr_talked |= speech; /* the line talking over the probe (or an echo of it) */
            return CQ_OK;
        }
        const size_t last = L->pr_end + (L->pr_answers ? REPLY_MAX : REPLY_MAX_FIRST);
        if (speech) {
            if (!L->pr_reply) {
                size_t o = reply_onset(c, i);
                o = o == SIZE_MAX ? i : o;
                if (o >= last || o < L->pr_end + REPLY_MIN || i >= last + REPLY_LAG ||
                    pause < REPLY_PAUSE || L->pr_talked) {
                    probe_over(L); /* too late, or the line spoke on through it: no reply */
                    return CQ_OK;
                }
                L->pr_reply = o, L->pr_speech = 0;
            }
            if (++L->pr_speech < REPLY_SPEECH)
                return CQ_OK;
            if (++L->pr_answers < PROBE_ANSWERS) { /* answered: ask again once it pauses */
                L->pr_out = 0;
                return CQ_OK;
            }
            if (c->nmem && !L->cand_known) { /* not before it is known no announcement */
                L->pr_ready = 1;
                return CQ_OK;
            }
            return hold_human(c, i, "probe_reply");
        }
        if (L->pr_reply && L->pr_pause >= REPLY_PAUSE)
            L->pr_reply = 0; /* a blip of speech, not a reply: listen on */
        /* no reply, unless a sound begun within the window goes on (the VAD may rise late) */
        if (!L->pr_reply && i >= last && (i >= last + REPLY_LAG || reply_onset(c, i) >= last))
            probe_over(L);
        if (L->pr_out)
            return CQ_OK;
    }
    const int heard = L->pr_sent - L->pr_over; /* the probes heard in quiet, or out now */
    if (speech || heard >= PROBE_MAX || L->pr_over >= PROBE_OVER_MAX ||
        heard - L->pr_answers > PROBE_MAX - PROBE_ANSWERS || /* too few left to confirm */
        L->pr_pause < (L->pr_answers ? PROBE_PAUSE_NEXT : PROBE_PAUSE))
        return CQ_OK;
    L->pr_out = 1, L->pr_sent++, L->pr_played = 0;
    L->pr_start = i + 1, L->pr_end = i + 1 + c->probe_frames;
    L->pr_reply = 0, L->pr_speech = 0, L->pr_talked = 0;
    cq_call_event e = {.confidence = 1, .cycles = L->pr_sent};
    return cq__cls_live_event(c, CQ_EV_PROBE, L->pr_start, L->pr_end, "candidate_paused", &e);
}

/* Hold mode, on each frame as it arrives (speech and silence are its own evidence): speech
 * after a confirmed hold's music opens a candidate; a run of QUIET_HANDOVER silent frames
 * between the music and it (a transfer, not an announcement in the music) makes it a person
 * at its HANDOVER_SPEECH-th speech frame. */
int cq__cls_live_hold_arrival(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    int speech = c->vad[i] >= SPEECH_PROB;
    if (!L->done && !L->hold_seen) {
        int rc = prompt_arrival(c, i, speech);
        if (rc != CQ_OK)
            return rc;
    }
    if (L->done || !L->hold_seen || !L->last_music)
        return CQ_OK;
    if (speech && !L->cand) {
        size_t run = 0, best = 0;
        for (size_t j = L->last_music; j < i; j++) {
            run = c->vad[j] < SPEECH_PROB && c->fr[j].db < c->p.silence_db ? run + 1 : 0;
            if (run > best)
                best = run;
        }
        L->cand = 1, L->cand_start = i, L->cand_quiet = best, L->cand_speech = 0;
        L->cand_music = 0, L->cand_known = 0, L->cand_active = 0, L->pr_ready = 0;
        L->pr_out = 0, L->pr_sent = 0, L->pr_over = 0, L->pr_answers = 0, L->pr_pause = 0;
    }
    if (!L->cand)
        return CQ_OK;
    L->cand_speech += speech;
    if (speech)
        L->cand_end = i + 1;
    /* an announcement heard before is no person for the passive rules */
    L->cand_active += frame_active(c, i);
    const size_t win = i + 1 - L->cand_start;
    if (!L->cand_known && c->nmem &&
        ((win >= MATCH_WIN && L->cand_active >= MATCH_ACTIVE) || win >= MATCH_MAX)) {
        L->cand_ber = memo_match(c, L->cand_start, win, &L->cand_memo);
        L->cand_known = L->cand_ber < MATCH_BER ? 1 : 2;
        if (L->cand_known == 1)
            L->pr_out = 0, L->pr_ready = 0; /* a probe out into it is not listened to */
        else if (L->pr_ready)               /* the reply that waited for the comparison */
            return hold_human(c, i, "probe_reply");
    }
    if (L->cand_known == 1) /* a remembered announcement: not asked, not a person */
        return CQ_OK;
    if (c->probe_frames)
        return probe_arrival(c, i, speech);
    if (L->cand_quiet < QUIET_HANDOVER || L->cand_speech < HANDOVER_SPEECH ||
        (c->nmem && L->cand_known != 2)) /* the comparison first, when there is one to make */
        return CQ_OK;
    return hold_human(c, i, "quiet_handover");
}

int cq_classifier_probe_played(cq_classifier *c, double start_sec)
{
    live_state *L = &c->lv;
    if (!c->probe_frames || !L->pr_out || L->pr_played || !(start_sec >= 0))
        return CQ_OK;
    const size_t f = (size_t)(start_sec * RATE / FRAME + 0.5);
    L->pr_played = 1;
    if (f > L->pr_start) /* it began later than asked: the reply is listened for after it */
        L->pr_start = f, L->pr_end = f + c->probe_frames;
    return CQ_OK;
}
