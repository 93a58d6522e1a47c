/*
 * classify_amd.c - the answering-machine rules (cq_classify_params.live = CQ_LIVE_AMD;
 * docs/live-decisions.md): "machine" on positive evidence only, a greeting longer than any
 * person's or a beep after a pause; a greeting that stops sooner and leaves the pause a person
 * leaves for an answer is a person; a machine's message_end says when to speak, never before
 * its beep.
 */
#include <stdlib.h>

#include "callqa/cq_classify.h"
#include "classify_int.h"

#define BEEP_MIN 8  /* 0.26 s (a person's steady vowel made 0.19-0.22 s runs) */
#define BEEP_MAX 50 /* 1.6 s: longer is not a beep */
/* 3.52 s of greeting, pauses under AMD_PAUSE within it: longer than a person greets (at most
 * 3.5 s), a machine */
#define AMD_LONG 110
/* 3.0 s of quiet after a machine's greeting, no beep: its end (a beep came up to 1.7 s after the
 * greeting on the dev calls; 1.5 s put message_end before it) */
#define MSG_QUIET 94
/* 0.96 s of pause after a shorter greeting: the pause a person leaves for an answer, a person
 * (a pause of 1 s is 30 or 31 whole frames of 32 ms, by where it falls; shorter pauses are within
 * the greeting) */
#define AMD_PAUSE 30
/* 1.6 s of quiet after the greeting, or sound again after AMD_PAUSE: a person. The wait past
 * AMD_PAUSE lets the beep that a machine plays after its greeting begin (up to 1.6 s after it; a
 * tone under way holds the decision until it ends); a person who speaks again is decided then. */
#define AMD_DECIDE 50

/* AMD mode, a machine: the moment to leave a message (Twilio's DetectMessageEnd), frame `at`:
 * the beep's end, or MSG_QUIET after the greeting's last sound when no beep came. */
static int message_end(cq_classifier *c, size_t at, const char *rule)
{
    c->lv.msg_done = 1;
    cq_call_event e = {.confidence = 1};
    return cq__cls_live_event(c, CQ_EV_MESSAGE_END, at, at, rule, &e);
}

/* AMD mode, a person: the greeting ended at frame `end`, `quiet` frames of pause since */
static int amd_person(cq_classifier *c, size_t end, size_t quiet)
{
    live_state *L = &c->lv;
    L->done = 1;
    cq_call_event e = {.confidence = 1,
                       .speech_sec = cq__cls_frame_sec(L->g_speech),
                       .quiet_sec = cq__cls_frame_sec(quiet)};
    return cq__cls_live_event(c, CQ_EV_HUMAN, L->g_start, end, "short_then_pause", &e);
}

/* AMD mode: the greeting is the sound from its first frame on, pauses under AMD_PAUSE within
 * it. A greeting still going after AMD_LONG is a machine; one that stopped shorter is a person
 * once AMD_DECIDE of quiet follow (no tone under way), or once sound comes again after a pause
 * of AMD_PAUSE or more. */
int cq__cls_live_amd(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    /* a greeting is any sound but a steady tone: the VAD misses many a short "hello?" */
    int speech = c->p.have_vad && c->vad[i] >= SPEECH_PROB;
    int sound = speech || (c->fr[i].db >= c->p.silence_db && !c->fr[i].tonebin);
    if (sound && L->g_on && !L->done && i - L->g_last >= AMD_PAUSE) {
        /* sound again after the pause a person leaves: a person who says "hello?" again, once
         * it lasts two frames (a beep's first frame, not yet read as a tone, is one) */
        return ++L->g_again < 2 ? CQ_OK : amd_person(c, i - 1, i - 1 - L->g_last);
    }
    L->g_again = 0;
    if (sound) {
        if (!L->g_on)
            L->g_on = 1, L->g_start = i, L->g_last = i, L->g_speech = 0, L->g_maxpause = 0;
        if (i - L->g_last > L->g_maxpause)
            L->g_maxpause = i - L->g_last;
        L->g_last = i + 1;
        L->g_speech++;
    }
    if (L->machine && !L->msg_done && !L->beep_done && !L->bp_len &&
        i + 1 - L->g_last >= MSG_QUIET) /* the greeting is over and no beep came */
        return message_end(c, i + 1, "silence_after_greeting");
    if (!L->g_on || L->done)
        return CQ_OK;
    if (L->g_last - L->g_start >= AMD_LONG) {
        L->done = 1, L->machine = 1;
        cq_call_event e = {.confidence = 1,
                           .speech_sec = cq__cls_frame_sec(L->g_speech),
                           .quiet_sec = cq__cls_frame_sec(L->g_maxpause)};
        return cq__cls_live_event(c, CQ_EV_MACHINE, L->g_start, i + 1, "long_greeting", &e);
    }
    /* a steady tone under way after the greeting may be the beep: wait for its end */
    int tone = L->bp_len && L->bp_bin != 1000;
    if (i + 1 - L->g_last >= AMD_DECIDE && !tone)
        return amd_person(c, i + 1, i + 1 - L->g_last);
    return CQ_OK;
}

/* AMD mode: a beep is a run of BEEP_MIN to BEEP_MAX frames of one steady tone (its bin within
 * one of the run's first) after the greeting began, with a quiet frame just before it; it makes
 * an undecided greeting a machine. */
int cq__cls_live_beep(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    int b = c->fr[i].tonebin;
    if (L->beep_done || !L->g_on)
        return CQ_OK;
    if (b && L->bp_len && abs(b - L->bp_bin) <= 1) {
        L->bp_len++, L->bp_sum += b;
        if (L->bp_len > BEEP_MAX)
            L->bp_bin = 1000; /* too long: wait for it to end */
        return CQ_OK;
    }
    int rc = cq__cls_beep_end(c);
    L->bp_len = b ? 1 : 0, L->bp_start = i, L->bp_bin = b, L->bp_sum = b;
    return rc;
}

/* The single-tone run under way has ended: a beep if it lasted BEEP_MIN to BEEP_MAX and came
 * after a pause. */
int cq__cls_beep_end(cq_classifier *c)
{
    live_state *L = &c->lv;
    int rc = CQ_OK;
    /* a beep follows a pause: a steady vowel inside speech is none */
    int after_quiet = 0; /* a quiet frame among the 3 before its first whole one */
    for (size_t j = L->bp_start > 3 ? L->bp_start - 3 : 0; j < L->bp_start; j++)
        after_quiet |= c->fr[j].db < c->p.silence_db;
    if (!L->beep_done && L->bp_len >= BEEP_MIN && L->bp_len <= BEEP_MAX && L->bp_bin != 1000 &&
        after_quiet) {
        size_t a = L->bp_start, z = L->bp_start + L->bp_len;
        L->beep_done = 1;
        if (!L->done) {
            L->done = 1, L->machine = 1;
            cq_call_event m = {.confidence = 1,
                               .speech_sec = cq__cls_frame_sec(L->g_speech),
                               .quiet_sec = cq__cls_frame_sec(L->g_maxpause)};
            if ((rc = cq__cls_live_event(c, CQ_EV_MACHINE, L->g_start, a, "beep_after_greeting",
                                         &m)))
                return rc;
        }
        cq_call_event e = {.confidence = 1,
                           .freq_hz = L->bp_sum / (double)L->bp_len * RATE / FRAME};
        rc = cq__cls_live_event(c, CQ_EV_BEEP, a, z, "tone", &e);
        if (rc == CQ_OK && L->machine && !L->msg_done)
            rc = message_end(c, z, "beep");
    }
    L->bp_len = 0;
    return rc;
}
