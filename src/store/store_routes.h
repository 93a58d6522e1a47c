/*
 * store_routes.h - the store's routes (docs/routes.md): the dialer's call attempts, the roll-ups
 * of calls and attempts per route and hour and per route and day, the attempts' hang-up causes,
 * and the changes found in the roll-ups (store_routes.c).
 *
 * A route is a value of one of four dimensions: the carrier (the dialer's channel: "SIP/NAME-..."
 * gives NAME, or a route pattern of the settings), the trunk (the far end's signalling address,
 * from a capture), the dialer server and the campaign (or in-group). Each call counts once in
 * each dimension it has a value of. The roll-ups are kept as the agents' are: every change of a
 * call (its job's end, its analysis, its score, its metadata, its erasure) recomputes the rows
 * of its hour from the calls, in the same transaction, so that they are exact after a re-queue
 * and count each call once.
 */
#ifndef CQ_STORE_ROUTES_H
#define CQ_STORE_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

typedef enum store_dim {
    STORE_DIM_CARRIER,
    STORE_DIM_TRUNK,
    STORE_DIM_SERVER,
    STORE_DIM_CAMPAIGN,
    STORE_DIM_N
} store_dim;

/* "carrier", "trunk", "server", "campaign"; store_dim_parse: 0, or -1 for another word. */
const char *store_dim_name(store_dim d);
int store_dim_parse(const char *s, store_dim *out);

/* What the roll-ups call dead air and clipping in a call (as the calls list's badges:
 * scoring.h's SC_DEAD_AIR_SEC and SC_CLIPPING_PCT). */
#define STORE_ROUTE_DEAD_AIR_SEC 10.0
#define STORE_ROUTE_CLIPPING_PCT 0.1

/* A dialer's call attempt: a row of ViciDial's vicidial_carrier_log. Text "" and numbers < 0
 * are unknown. */
typedef struct store_attempt {
    char source[65];      /* the source's name in the store */
    char uniqueid[65];    /* the dialer's id of the call (the primary key of the row) */
    char call_date[20];   /* "YYYY-MM-DD HH:MM:SS", the dialer's local time */
    double epoch;         /* UTC s of call_date, < 0 unknown */
    char server_ip[48];   /* the dialer server that placed it */
    char lead_id[32];     /* the lead dialled */
    char channel[101];    /* the Asterisk channel ("SIP/carrier-000001a2") */
    char carrier[65];     /* the route it names (fleet.h: fl_route_of_channel) */
    char dialstatus[17];  /* ANSWER, BUSY, NOANSWER, CONGESTION, CHANUNAVAIL, CANCEL, ... */
    int hangup_cause;     /* Q.850 cause, < 0 unknown */
    int sip_hangup_cause; /* the SIP response that ended it, < 0 unknown (0: none) */
    char sip_hangup_reason[51];
    double dial_time;     /* s from dial to answer or failure, < 0 unknown */
    double answered_time; /* s answered, < 0 unknown */
    char caller_code[31];
} store_attempt;

/* Attempts stored, each once (a row read again replaces its fields: the dialer completes them),
 * each joined to the call of its source with the same uniqueid (and the same lead, when both
 * name one), whose carrier and server it gives when the call had none; the roll-ups of every
 * hour and day touched, and the days' hang-up causes, recomputed; one transaction. *joined
 * (may be NULL): how many of them found their call. 0, or -1 with store_errmsg. */
int store_attempts_put(store *s, const store_attempt *a, int n, double now, int *joined);

/* Every route's rows recomputed, day by day (a transaction a day), from the calls and attempts
 * stored: a store filled by other means, or made before schema 21. *days: the days done. 0, or
 * -1 with store_errmsg. */
int store_routes_rebuild(store *s, int *days);

/* One roll-up row's figures: for each figure its sum, sum of squares and count (NULL counts:
 * the attempts' figures of a dimension they cannot be joined to, has_attempts false). */
typedef struct store_route_figs {
    double t; /* hourly rows: the earliest call or attempt of the hour, UTC s */
    int64_t calls, analysed;
    double mos_sum, mos_sq;
    int64_t mos_n; /* NISQA v2 */
    double dnsmos_sum, dnsmos_sq;
    int64_t dnsmos_n; /* DNSMOS P.835 OVRL */
    double net_mos_sum, net_mos_sq;
    int64_t net_mos_n; /* ITU-T G.107 E-model, of a capture */
    double loss_sum, loss_sq;
    int64_t loss_n; /* % */
    double jitter_sum, jitter_sq;
    int64_t jitter_n; /* ms */
    double pdd_sum, pdd_sq;
    int64_t pdd_n; /* ms, INVITE to the first 18x */
    int64_t one_way, one_way_n;
    int64_t dead_air, dead_air_n; /* calls with STORE_ROUTE_DEAD_AIR_SEC of dead air or more */
    double dropouts_sum, dropouts_sq;
    int64_t dropouts_n;           /* per minute of speech, the worse leg */
    int64_t clipping, clipping_n; /* calls with STORE_ROUTE_CLIPPING_PCT clipped or more */
    double score_sum, score_sq;
    int64_t score_n;
    bool has_attempts;
    int64_t attempts, answered;
    double dial_sum, dial_sq;
    int64_t dial_n;
} store_route_figs;

/* A route's figures over a span, summed: the routes of a dimension (name "" for all of them)
 * by day, days [from, to] ("YYYY-MM-DD"), each route's total into fn. 0, or -1. */
typedef int (*store_route_fn)(void *user, const char *name, const char *key,
                              const store_route_figs *f);
int store_routes_days(store *s, store_dim d, const char *name, const char *from, const char *to,
                      bool per_day, store_route_fn fn, void *user);
/* A route's hourly rows, hours [from, to] ("YYYY-MM-DD HH"), in order, into fn (key: the hour). */
int store_route_hours(store *s, store_dim d, const char *name, const char *from, const char *to,
                      store_route_fn fn, void *user);
/* Every route of the dimension, its hours [from, to] summed, into fn (key ""). */
int store_routes_hours_sum(store *s, store_dim d, const char *from, const char *to,
                           store_route_fn fn, void *user);
/* Every route of the dimension that has a day since `from`, into fn (figures zeroed). */
int store_route_names(store *s, store_dim d, const char *from, store_route_fn fn, void *user);

/* A route's hang-up causes over days [from, to]: kind "dialstatus", "q850" or "sip". */
typedef int (*store_cause_fn)(void *user, const char *kind, const char *cause, int64_t n);
int store_route_causes(store *s, store_dim d, const char *name, const char *from, const char *to,
                       store_cause_fn fn, void *user);

/* A change found in a route's figure (route_changes). */
typedef struct store_route_change {
    store_dim dim;
    char name[65], figure[24];
    double t_start, t_found, before, after, calls;
    char direction[8];  /* "worse" or "better" */
    char method[400];   /* fl_method()'s sentence */
    char examples[512]; /* JSON array of the worst calls' recording ids */
    double found;       /* when it was stored, UTC s */
} store_route_change;
/* Stored once per (route, figure, t_start): a change found again keeps its row. 1 stored now, 0
 * stored before, -1. */
int store_route_change_put(store *s, const store_route_change *c);
/* The changes of a dimension (name "" all routes), t_found since `since`, newest first, into fn
 * (at most limit). 0, or -1. */
typedef int (*store_change_fn)(void *user, const store_route_change *c);
int store_route_changes(store *s, store_dim d, const char *name, double since, int limit,
                        store_change_fn fn, void *user);
/* The worst calls of a route in hours [from, to] ("YYYY-MM-DD HH") for a figure ("mos",
 * "dnsmos", "net_mos", "loss", "jitter", "one_way", "dead_air", "dropouts", "score", "clipping";
 * a rate's calls are those that have it): up to max calls' recording ids into ids, *n. 0, or -1 (an
 * unknown figure: -1, store_errmsg says so). */
int store_route_examples(store *s, store_dim d, const char *name, const char *figure,
                         const char *from, const char *to, char (*ids)[65], int max, int *n);

#endif /* CQ_STORE_ROUTES_H */
