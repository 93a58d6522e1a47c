/*
 * live_calls.c - calls as they happen, as the pipeline shows them: `callqa live`'s event file
 * followed by the live room's follower (src/live/follow.c), whose state and events a reader
 * (the service's live routes) takes from here. The follower is the live room's; what a call is
 * while it happens, as later when it is stored, is asked of this room.
 */
#include "pipeline.h"

pl_live *pl_live_start(const pl_live_params *p)
{
    return lv_follow_start(p);
}

void pl_live_stop(pl_live *f)
{
    lv_follow_stop(f);
}

void pl_live_free(pl_live *f)
{
    lv_follow_free(f);
}

void pl_live_read(pl_live *f, void (*fn)(void *arg, const pl_live_state *st), void *arg)
{
    lv_follow_read(f, fn, arg);
}

bool pl_live_call_id(const char *s)
{
    return lv_follow_call_id(s);
}

double pl_live_wall_sec(const char *w)
{
    return lv_follow_wall_sec(w);
}
