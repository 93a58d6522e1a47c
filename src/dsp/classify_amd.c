/*
 * classify_amd.c - the answering-machine rules (cq_classify_params.live = CQ_LIVE_AMD;
 * docs/live.md): the greeting's length and the pause after it tell a machine from a person, a
 * beep after the greeting makes it a machine, and a machine's message_end says when to speak.
 */
#include <stdlib.h>

#include "callqa/cq_classify.h"
#include "classify_int.h"

#define BEEP_MIN 6   /* 0.19 s */
#define BEEP_MAX 50  /* 1.6 s: longer is not a beep */
#define AMD_LONG 57  /* 1.82 s of greeting: a machine */
#define MSG_QUIET 47 /* 1.5 s of quiet after a machine's greeting, no beep: its end */
/* 0.8 s of pause after a shorter one: a person (shorter ones are within the greeting) */
#define AMD_PAUSE 25

/* AMD mode, a machine: the moment to leave a message (Twilio's DetectMessageEnd), frame `at`:
 * the beep's end, or MSG_QUIET after the greeting's last sound when no beep came. */
static int message_end(cq_classifier *c, size_t at, const char *rule)
{
    c->lv.msg_done = 1;
    cq_call_event e = {.confidence = 1};
    return cq__cls_live_event(c, CQ_EV_MESSAGE_END, at, at, rule, &e);
}

/* AMD mode: the greeting is the sound from its first frame on, pauses under AMD_PAUSE within
 * it. A greeting still going after AMD_LONG is a machine; one that stopped shorter and then
 * paused AMD_PAUSE is a person. */
int cq__cls_live_amd(cq_classifier *c, size_t i)
{
    live_state *L = &c->lv;
    /* a greeting is any sound but a steady tone: the VAD misses many a short "hello?" */
    int speech = c->p.have_vad && c->vad[i] >= SPEECH_PROB;
    if (speech || (c->fr[i].db >= c->p.silence_db && !c->fr[i].tonebin)) {
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
    cq_call_event e = {.confidence = 1, .speech_sec = cq__cls_frame_sec(L->g_speech)};
    if (L->g_last - L->g_start >= AMD_LONG) {
        L->done = 1, L->machine = 1;
        e.quiet_sec = cq__cls_frame_sec(L->g_maxpause);
        return cq__cls_live_event(c, CQ_EV_MACHINE, L->g_start, i + 1, "long_greeting", &e);
    }
    if (i + 1 - L->g_last >= AMD_PAUSE) {
        L->done = 1;
        e.quiet_sec = cq__cls_frame_sec(i + 1 - L->g_last);
        return cq__cls_live_event(c, CQ_EV_HUMAN, L->g_start, i + 1, "short_then_pause", &e);
    }
    return CQ_OK;
}

/* AMD mode: a beep is a run of BEEP_MIN to BEEP_MAX frames of one steady tone (its bin within
 * one of the run's first) after the greeting began; it makes an undecided greeting a machine. */
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

/* The single-tone run under way has ended: a beep if it lasted BEEP_MIN to BEEP_MAX. */
int cq__cls_beep_end(cq_classifier *c)
{
    live_state *L = &c->lv;
    int rc = CQ_OK;
    if (!L->beep_done && L->bp_len >= BEEP_MIN && L->bp_len <= BEEP_MAX && L->bp_bin != 1000) {
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
