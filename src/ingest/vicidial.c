/*
 * vicidial.c - `callqa ingest vicidial` (ingest.h): every ViciDial recording into the store.
 *
 * DESIGN
 * One thread, one database connection (libmariadb), prepared statements only: the values (the
 * mark, the batch size, a recording id) are always bound, never written into SQL. A scan holds
 * the source's lease in the store (one scan per source across processes), revisits the calls
 * it stored while their dialer row was open, then reads recording_log past the high-water mark
 * in recording_id order, a batch at a time, buffered on this side before anything is written.
 * Each row is enqueued (ingest_call_create, idempotent on source and recording_id); the mark moves,
 * under the lease's fencing token, past the rows of a batch once they are stored. A crash, a
 * store failure or a lost lease leaves the mark where the stored rows put it: the next scan
 * reads the rest again, and a row read twice changes nothing. Rows up to `lookback` ids below
 * the mark that the store does not have are taken too: a row that became visible after a
 * higher id (InnoDB commits concurrent inserts out of id order; ViciDial's MyISAM tables do
 * not) is not lost. A lost database connection (or a table marked crashed, until its repair)
 * is retried with backoff (0.5 s doubling to 30 s, for retry_sec) and the query run again.
 *
 * A row is open while ViciDial may still change it: length_in_sec is NULL (the recording runs),
 * or it names no location and no file is on local disk yet (the mix is not made). Open calls
 * are stored open (their jobs held), revisited on every scan for open_row_hours, and put
 * closed when the dialer closes them or when they age out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "callqa/cq_clock.h"
#include "ingest.h"
#include "../store/store_calls.h"
#include "../store/store_jobs.h"
#include "../store/store_routes.h"

/* ---- logging ------------------------------------------------------------------------------- */

/* ---- the rows ------------------------------------------------------------------------------ */

/* The columns read, in order. */
enum {
    C_RID,
    C_START,
    C_EPOCH,
    C_LEN,
    C_FILE,
    C_LOC,
    C_LEAD,
    C_USER,
    C_VID,
    C_IN_ID,
    C_IN_CAMP,
    C_IN_STATUS,
    C_IN_TERM,
    C_IN_UNIQ,
    C_OUT_ID,
    C_OUT_CAMP,
    C_OUT_STATUS,
    C_OUT_TERM,
    C_NAME,
    C_CAMP_NAME,
    C_GROUP_NAME,
    C_CL_CHANNEL, /* call_log: the call's channel (its carrier), */
    C_CL_SERVER,  /* the dialer server, */
    C_CL_EXT,     /* the extension dialled (an inbound call's DID) */
    N_COLS
};

/* recording_log with the inbound log (vicidial_id = closecallid: digits only, so that an
 * outbound uniqueid such as "1700000000.0" never matches a number), the outbound log
 * (vicidial_id = uniqueid), the agent (recording_log.user, else the log's), the campaign and
 * the in-group. Every joined table is joined on its primary or unique key: one row per
 * recording. */
#define ROW_SQL                                                                                    \
    "SELECT rl.recording_id, rl.start_time, rl.start_epoch, rl.length_in_sec, rl.filename, "       \
    "rl.location, COALESCE(rl.lead_id, vcl.lead_id, vl.lead_id), "                                 \
    "COALESCE(NULLIF(rl.user, ''), vcl.user, vl.user), rl.vicidial_id, "                           \
    "vcl.closecallid, vcl.campaign_id, vcl.status, vcl.term_reason, vcl.uniqueid, "                \
    "vl.uniqueid, vl.campaign_id, vl.status, vl.term_reason, "                                     \
    "vu.full_name, vc.campaign_name, vig.group_name, cl.channel, cl.server_ip, cl.extension "      \
    "FROM recording_log rl "                                                                       \
    "LEFT JOIN vicidial_closer_log vcl ON rl.vicidial_id REGEXP '^[0-9]{1,10}$' AND "              \
    "vcl.closecallid = CAST(rl.vicidial_id AS UNSIGNED) "                                          \
    "LEFT JOIN vicidial_log vl ON vl.uniqueid = rl.vicidial_id "                                   \
    "LEFT JOIN vicidial_users vu ON vu.user = COALESCE(NULLIF(rl.user, ''), vcl.user, vl.user) "   \
    "LEFT JOIN vicidial_campaigns vc ON vc.campaign_id = vl.campaign_id "                          \
    "LEFT JOIN vicidial_inbound_groups vig ON vig.group_id = vcl.campaign_id "                     \
    "LEFT JOIN call_log cl ON cl.uniqueid = COALESCE(NULLIF(vcl.uniqueid, ''), vl.uniqueid) "

/* The dialer's call attempts (vicidial_carrier_log, one row a dial: written when the call ends),
 * past a (call_date, uniqueid) key, every column as text. */
enum {
    A_UNIQ,
    A_DATE,
    A_SERVER,
    A_LEAD,
    A_Q850,
    A_STATUS,
    A_CHANNEL,
    A_DIAL,
    A_ANSWERED,
    A_SIP,
    A_SIP_REASON,
    A_CALLER,
    N_ACOLS
};
#define ATT_SQL                                                                                    \
    "SELECT uniqueid, DATE_FORMAT(call_date, '%Y-%m-%d %H:%i:%s'), server_ip, "                    \
    "CAST(lead_id AS CHAR), CAST(hangup_cause AS CHAR), dialstatus, channel, "                     \
    "CAST(dial_time AS CHAR), CAST(answered_time AS CHAR), CAST(sip_hangup_cause AS CHAR), "       \
    "sip_hangup_reason, caller_code FROM vicidial_carrier_log WHERE call_date > ? OR "             \
    "(call_date = ? AND uniqueid > ?) ORDER BY call_date, uniqueid LIMIT ?"

static const char *const k_sql[4] = {
    ROW_SQL "WHERE rl.recording_id > ? ORDER BY rl.recording_id LIMIT ?",
    ROW_SQL "WHERE rl.recording_id = ?",
    ROW_SQL "WHERE rl.recording_id > ? AND rl.recording_id <= ? ORDER BY rl.recording_id",
    ATT_SQL,
};
enum { Q_BATCH = 0, Q_ONE = 1, Q_BACK = 2, Q_ATT = 3, N_Q = 4 };
#define ATT_TEXT 256 /* channel VARCHAR(100) in utf8mb4: 400 bytes at most; longer is cut */

#define TEXT_MAX 1100 /* VARCHAR(255) in utf8mb4 is at most 1020 bytes */

static bool is_num(int col)
{
    return col == C_RID || col == C_EPOCH || col == C_LEN || col == C_LEAD || col == C_IN_ID;
}

typedef struct vrow {
    unsigned long long num[N_COLS];
    MYSQL_TIME start;
    char text[N_COLS][TEXT_MAX];
    unsigned long len[N_COLS];
    my_bool null[N_COLS], err[N_COLS];
} vrow;

struct ingest_vicidial {
    const ingest_vicidial_config *c;
    volatile sig_atomic_t *stop;
    char password[256];
    char tz[64];
    char owner[128];
    store *st;
    MYSQL *m;
    MYSQL_STMT *q[N_Q];
    MYSQL_BIND param[N_Q][4], result[N_COLS];
    MYSQL_BIND aresult[N_ACOLS];
    char arow[N_ACOLS][ATT_TEXT];
    unsigned long alen[N_ACOLS];
    my_bool anull[N_ACOLS], aerr[N_ACOLS];
    char p_adate[20], p_auniq[21];
    unsigned long p_adate_len, p_auniq_len;
    char att_source[80]; /* the attempts' mark and lease in the store: SOURCE#attempts */
    unsigned long long p_mark, p_rid, p_lo, p_hi;
    long p_limit;
    vrow row;
    int64_t token;
    double leased;
    ingest_scan_stats *stats;
    ingest_route_patterns routes; /* the settings' route_patterns */
};

static bool stopping(const ingest_vicidial *v)
{
    return v->stop && *v->stop;
}

/* A table ViciDial's MyISAM tables leave "marked as crashed" after the server died while
 * writing: a repair (mariadb-check --auto-repair) cures it, not this read-only account. */
static bool crashed_table(unsigned e)
{
    return e == ER_CRASHED_ON_USAGE || e == ER_CRASHED_ON_REPAIR || e == ER_NOT_KEYFILE ||
           e == 126 || e == 144 || e == 145; /* the storage engine's: crashed, on repair, on use */
}

/* Errors that waiting and a new connection may cure: the client's own (the connection broke,
 * the server is gone or not up yet: 2000-2999, 5000-5999), the server shutting down or killing
 * the connection, too many connections, a crashed table (until it is repaired). */
static bool retryable(unsigned e)
{
    return (e >= CR_MIN_ERROR && e <= CR_MAX_ERROR) || (e >= 5000 && e <= 5999) ||
           e == ER_SERVER_SHUTDOWN || e == ER_CONNECTION_KILLED || e == ER_CON_COUNT_ERROR ||
           e == 4031 /* disconnected for inactivity */ || crashed_table(e);
}

static void db_close(ingest_vicidial *v)
{
    for (int i = 0; i < N_Q; i++)
        if (v->q[i]) {
            mysql_stmt_close(v->q[i]);
            v->q[i] = NULL;
        }
    if (v->m) {
        mysql_close(v->m);
        v->m = NULL;
    }
}

static void bind_results(ingest_vicidial *v)
{
    memset(v->result, 0, sizeof(v->result));
    for (int i = 0; i < N_COLS; i++) {
        MYSQL_BIND *b = &v->result[i];
        if (i == C_START) {
            b->buffer_type = MYSQL_TYPE_DATETIME;
            b->buffer = &v->row.start;
            b->buffer_length = sizeof(v->row.start);
        } else if (is_num(i)) {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &v->row.num[i];
            b->is_unsigned = 1;
        } else {
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = v->row.text[i];
            b->buffer_length = TEXT_MAX;
        }
        b->length = &v->row.len[i];
        b->is_null = &v->row.null[i];
        b->error = &v->row.err[i];
    }
}

static void bind_params(ingest_vicidial *v)
{
    memset(v->param, 0, sizeof(v->param));
    v->param[Q_BATCH][0].buffer_type = MYSQL_TYPE_LONGLONG;
    v->param[Q_BATCH][0].buffer = &v->p_mark;
    v->param[Q_BATCH][0].is_unsigned = 1;
    v->param[Q_BATCH][1].buffer_type = MYSQL_TYPE_LONG;
    v->param[Q_BATCH][1].buffer = &v->p_limit;
    v->param[Q_ONE][0].buffer_type = MYSQL_TYPE_LONGLONG;
    v->param[Q_ONE][0].buffer = &v->p_rid;
    v->param[Q_ONE][0].is_unsigned = 1;
    v->param[Q_BACK][0].buffer_type = MYSQL_TYPE_LONGLONG;
    v->param[Q_BACK][0].buffer = &v->p_lo;
    v->param[Q_BACK][0].is_unsigned = 1;
    v->param[Q_BACK][1].buffer_type = MYSQL_TYPE_LONGLONG;
    v->param[Q_BACK][1].buffer = &v->p_hi;
    v->param[Q_BACK][1].is_unsigned = 1;
    for (int i = 0; i < 2; i++) {
        v->param[Q_ATT][i].buffer_type = MYSQL_TYPE_STRING;
        v->param[Q_ATT][i].buffer = v->p_adate;
        v->param[Q_ATT][i].length = &v->p_adate_len;
    }
    v->param[Q_ATT][2].buffer_type = MYSQL_TYPE_STRING;
    v->param[Q_ATT][2].buffer = v->p_auniq;
    v->param[Q_ATT][2].length = &v->p_auniq_len;
    v->param[Q_ATT][3].buffer_type = MYSQL_TYPE_LONG;
    v->param[Q_ATT][3].buffer = &v->p_limit;
    memset(v->aresult, 0, sizeof(v->aresult));
    for (int i = 0; i < N_ACOLS; i++) {
        MYSQL_BIND *b = &v->aresult[i];
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = v->arow[i];
        b->buffer_length = ATT_TEXT;
        b->length = &v->alen[i];
        b->is_null = &v->anull[i];
        b->error = &v->aerr[i];
    }
}

/* Connect and prepare. 0, or -1 with msg and *err (the server's or client's error number). */
static int db_connect(ingest_vicidial *v, char *msg, size_t n, unsigned *err)
{
    const ingest_db_uri *u = &v->c->db;
    *err = 0;
    if (!(v->m = mysql_init(NULL))) {
        *err = CR_OUT_OF_MEMORY;
        return cfg_fail(msg, n, "out of memory");
    }
    unsigned connect_sec = 10, io_sec = 120;
    my_bool no = 0;
    unsigned no_infile = 0; /* an unsigned int: libmariadb reads that many bytes (a my_bool 0
                               left LOCAL INFILE on) */
    mysql_optionsv(v->m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_sec);
    mysql_optionsv(v->m, MYSQL_OPT_READ_TIMEOUT, &io_sec);
    mysql_optionsv(v->m, MYSQL_OPT_WRITE_TIMEOUT, &io_sec);
    mysql_optionsv(v->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(v->m, MYSQL_OPT_LOCAL_INFILE, &no_infile);
    mysql_optionsv(v->m, MYSQL_OPT_RECONNECT, &no);
    if (!mysql_real_connect(v->m, u->host, u->user, v->password, u->db, u->port, NULL, 0)) {
        *err = mysql_errno(v->m);
        cfg_fail(msg, n, "cannot connect to the ViciDial database %s@%s:%u/%s: %s%s%s", u->user,
                 u->host, u->port, u->db, mysql_error(v->m),
                 *err == ER_ACCESS_DENIED_ERROR || *err == ER_DBACCESS_DENIED_ERROR
                     ? " (check the user and the password in "
                     : "",
                 *err == ER_ACCESS_DENIED_ERROR || *err == ER_DBACCESS_DENIED_ERROR
                     ? v->c->password_file
                     : "");
        if (*err == ER_ACCESS_DENIED_ERROR || *err == ER_DBACCESS_DENIED_ERROR)
            strncat(msg, ")", n - strlen(msg) - 1);
        db_close(v);
        return -1;
    }
    /* the account is read-only; the session says so too */
    MYSQL_STMT *ro = mysql_stmt_init(v->m);
    static const char ro_sql[] = "SET SESSION TRANSACTION READ ONLY";
    if (!ro || mysql_stmt_prepare(ro, ro_sql, sizeof(ro_sql) - 1) || mysql_stmt_execute(ro)) {
        *err = ro ? mysql_stmt_errno(ro) : CR_OUT_OF_MEMORY;
        cfg_fail(msg, n, "the ViciDial database %s:%u: %s", u->host, u->port,
                 ro ? mysql_stmt_error(ro) : "out of memory");
        if (ro)
            mysql_stmt_close(ro);
        db_close(v);
        return -1;
    }
    mysql_stmt_close(ro);
    bind_results(v);
    bind_params(v);
    for (int i = 0; i < N_Q; i++) {
        if (!(v->q[i] = mysql_stmt_init(v->m)) ||
            mysql_stmt_prepare(v->q[i], k_sql[i], strlen(k_sql[i])) ||
            mysql_stmt_bind_param(v->q[i], v->param[i]) ||
            mysql_stmt_bind_result(v->q[i], i == Q_ATT ? v->aresult : v->result)) {
            *err = v->q[i] ? mysql_stmt_errno(v->q[i]) : CR_OUT_OF_MEMORY;
            cfg_fail(msg, n, "the ViciDial database %s:%u/%s: reading %s: %s (error %u)", u->host,
                     u->port, u->db,
                     i == Q_ATT ? "vicidial_carrier_log" : "recording_log and the call logs",
                     v->q[i] ? mysql_stmt_error(v->q[i]) : "out of memory", *err);
            db_close(v);
            return -1;
        }
    }
    return 0;
}

/* Sleep sec, waking early when asked to stop. */
static void nap(const ingest_vicidial *v, double sec)
{
    double until = cq_clock_wall_sec() + sec;
    while (!stopping(v) && cq_clock_wall_sec() < until) {
        double left = until - cq_clock_wall_sec();
        cq_clock_sleep(left < 0.2 ? left : 0.2);
    }
}

/* Keep the source's lease: taken again once a third of it has passed (the token moves on).
 * 0, or -1 with msg when another process has it now or the store fails. */
static int renew(ingest_vicidial *v, bool force, char *msg, size_t n)
{
    double now = cq_clock_wall_sec();
    if (!force && now - v->leased < v->c->lease_sec / 3)
        return 0;
    int64_t token;
    int got = store_ingest_lease(v->st, v->c->source, v->owner, now, v->c->lease_sec, &token);
    if (got < 0)
        return cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
    if (got == 0)
        return cfg_fail(msg, n, "the scan lease of source %s was taken by another process",
                        v->c->source);
    v->token = token;
    v->leased = now;
    return 0;
}

/* Run query q with its bound parameters and buffer its rows on this side; a lost connection is
 * reconnected with backoff for retry_sec and the query run again. 0, or -1 with msg. */
static int run(ingest_vicidial *v, int q, char *msg, size_t n)
{
    double first = cq_clock_wall_sec(), delay = 0.5;
    const ingest_db_uri *u = &v->c->db;
    for (;;) {
        unsigned e = CR_SERVER_LOST;
        char why[800] = "not connected";
        if (v->m) {
            if (!mysql_stmt_execute(v->q[q]) && !mysql_stmt_store_result(v->q[q]))
                return 0;
            e = mysql_stmt_errno(v->q[q]);
            snprintf(why, sizeof(why), "the ViciDial database %s:%u/%s: %s (error %u)", u->host,
                     u->port, u->db, mysql_stmt_error(v->q[q]), e);
            mysql_stmt_free_result(v->q[q]);
        }
        for (;;) {
            if (!retryable(e))
                return cfg_fail(msg, n, "%s", why);
            if (cq_clock_wall_sec() - first > v->c->retry_sec)
                return cfg_fail(msg, n, "gave up after %.0f s of retries: %s", v->c->retry_sec,
                                why);
            char more[1200], jb[1000];
            snprintf(more, sizeof(more), "\"retry_in_sec\":%.1f,\"error\":%s", delay,
                     ingest_json_str(why, jb, sizeof(jb)));
            ingest_log("warn", v->c->source,
                       crashed_table(e) ? "a ViciDial table is marked as crashed: waiting for its "
                                          "repair (mariadb-check --auto-repair)"
                                        : "the ViciDial database connection is lost: reconnecting",
                       more);
            db_close(v);
            nap(v, delay);
            if (stopping(v))
                return cfg_fail(msg, n, "stopped while the ViciDial database was unreachable");
            delay = delay * 2 > 30 ? 30 : delay * 2;
            v->stats->retries++;
            if (renew(v, false, msg, n) != 0)
                return -1;
            if (db_connect(v, why, sizeof(why), &e) == 0)
                break;
        }
        ingest_log("info", v->c->source, "reconnected to the ViciDial database", NULL);
    }
}

/* ---- a row as a call ----------------------------------------------------------------------- */

/* Column i as text ("" when NULL); a value that does not fit dst is cut at a character
 * boundary. */
static void text_of(const vrow *r, int i, char *dst, size_t n)
{
    dst[0] = 0;
    if (r->null[i])
        return;
    size_t len = r->len[i] < TEXT_MAX ? r->len[i] : TEXT_MAX;
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)r->text[i][len] & 0xC0) == 0x80)
            len--; /* not inside a UTF-8 sequence */
    }
    memcpy(dst, r->text[i], len);
    dst[len] = 0;
}

static bool listed(const char (*list)[21], int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], v))
            return true;
    return false;
}

/* A ViciDial mix (NAME-all.wav / .mp3 / .gsm): the dialer's ORIG legs are kept a day. */
static bool is_mix(const char *ref)
{
    const char *dot = strrchr(ref, '.');
    return dot && dot - ref >= 4 && !strncmp(dot - 4, "-all", 4);
}

/* The row as a call. *selected false: the filters leave it out. aged: an open row past
 * open_row_hours, put closed with what is known. */
static void call_of(ingest_vicidial *v, bool aged, store_call *c, bool *selected)
{
    const ingest_vicidial_config *cfg = v->c;
    const vrow *r = &v->row;
    memset(c, 0, sizeof(*c));
    snprintf(c->source, sizeof(c->source), "%s", cfg->source);
    snprintf(c->recording_id, sizeof(c->recording_id), "%llu", r->num[C_RID]);
    text_of(r, C_VID, c->vicidial_id, sizeof(c->vicidial_id));
    if (!r->null[C_LEAD])
        snprintf(c->lead_id, sizeof(c->lead_id), "%llu", r->num[C_LEAD]);
    text_of(r, C_USER, c->agent_user, sizeof(c->agent_user));
    text_of(r, C_NAME, c->agent_name, sizeof(c->agent_name));
    bool inbound = !r->null[C_IN_ID], outbound = !inbound && !r->null[C_OUT_ID];
    if (inbound) {
        snprintf(c->direction, sizeof(c->direction), "inbound");
        text_of(r, C_IN_CAMP, c->campaign_id, sizeof(c->campaign_id));
        text_of(r, C_GROUP_NAME, c->campaign_name, sizeof(c->campaign_name));
        text_of(r, C_IN_STATUS, c->disposition, sizeof(c->disposition));
        text_of(r, C_IN_TERM, c->term_reason, sizeof(c->term_reason));
        text_of(r, C_IN_UNIQ, c->uniqueid, sizeof(c->uniqueid));
    } else if (outbound) {
        snprintf(c->direction, sizeof(c->direction), "outbound");
        text_of(r, C_OUT_CAMP, c->campaign_id, sizeof(c->campaign_id));
        text_of(r, C_CAMP_NAME, c->campaign_name, sizeof(c->campaign_name));
        text_of(r, C_OUT_STATUS, c->disposition, sizeof(c->disposition));
        text_of(r, C_OUT_TERM, c->term_reason, sizeof(c->term_reason));
        text_of(r, C_OUT_ID, c->uniqueid, sizeof(c->uniqueid));
    } else if (strchr(c->vicidial_id, '.')) {
        snprintf(c->uniqueid, sizeof(c->uniqueid), "%s", c->vicidial_id); /* an Asterisk id */
    }
    /* when: the wall-clock start in the dialer's zone, and UTC */
    snprintf(c->tz, sizeof(c->tz), "%s", v->tz);
    c->call_epoch = -1;
    const MYSQL_TIME *t = &r->start;
    if (!r->null[C_START] && t->year > 0 && t->month > 0 && t->day > 0)
        snprintf(c->call_date, sizeof(c->call_date), "%04u-%02u-%02u %02u:%02u:%02u",
                 t->year % 10000, t->month % 100, t->day % 100, t->hour % 100, t->minute % 100,
                 t->second % 100);
    if (!r->null[C_EPOCH] && r->num[C_EPOCH] > 0)
        c->call_epoch = (double)r->num[C_EPOCH];
    else if (c->call_date[0] && ingest_local_to_utc(c->call_date, v->tz, &c->call_epoch) != 0)
        c->call_epoch = -1;
    if (!c->call_date[0] && c->call_epoch >= 0)
        ingest_utc_to_local(c->call_epoch, v->tz, c->call_date);
    c->length_sec = r->null[C_LEN] ? -1 : (int)(r->num[C_LEN] > 1000000 ? 1000000 : r->num[C_LEN]);

    /* the route (docs/routes.md): the call log's channel names the carrier (an outbound call's
     * attempt, joined in the store by uniqueid, gives one too), its server, and an inbound
     * call's extension is the DID it came in on; else the settings' patterns name it */
    char chan[TEXT_MAX], ext[TEXT_MAX], file[TEXT_MAX];
    text_of(r, C_CL_CHANNEL, chan, sizeof(chan));
    text_of(r, C_CL_SERVER, c->server_ip, sizeof(c->server_ip));
    text_of(r, C_CL_EXT, ext, sizeof(ext));
    text_of(r, C_FILE, file, sizeof(file));
    if (inbound && ext[0] && strspn(ext, "0123456789+") == strlen(ext))
        snprintf(c->did, sizeof(c->did), "%.*s", (int)sizeof(c->did) - 1, ext);
    if (!ingest_carrier_of_channel(chan, c->carrier, sizeof(c->carrier))) {
        const char *f[INGEST_ROUTE_FIELDS] = {chan, c->server_ip, c->did, c->campaign_id, file};
        ingest_route_name(&v->routes, f, c->carrier, sizeof(c->carrier));
    }

    /* the filters: any of campaign / in-group given, only their calls; users likewise */
    *selected = !cfg->n_users || listed(cfg->users, cfg->n_users, c->agent_user);
    if (cfg->n_campaigns || cfg->n_ingroups)
        *selected =
            *selected && ((outbound && listed(cfg->campaigns, cfg->n_campaigns, c->campaign_id)) ||
                          (inbound && listed(cfg->ingroups, cfg->n_ingroups, c->campaign_id)));

    /* the audio: local disk first, else the recording server the location names */
    char name[TEXT_MAX], loc[TEXT_MAX], why[256] = "";
    text_of(r, C_FILE, name, sizeof(name));
    text_of(r, C_LOC, loc, sizeof(loc));
    if (!r->null[C_LOC] && r->len[C_LOC] >= TEXT_MAX)
        snprintf(why, sizeof(why), "the dialer's recording location is over %d bytes",
                 TEXT_MAX - 1);
    ingest_audio a;
    bool found = false;
    if (name[0] && !ingest_file_name_ok(name))
        snprintf(why, sizeof(why), "the dialer's file name is not a plain file name");
    else if (name[0] && ingest_audio_local(cfg->recordings_dir, name, &a) == 1) {
        found = true;
        memcpy(c->audio, a.audio, sizeof(c->audio));
        memcpy(c->audio_in, a.audio_in, sizeof(c->audio_in));
        memcpy(c->audio_out, a.audio_out, sizeof(c->audio_out));
        if (a.audio_in[0] && c->call_epoch >= 0)
            c->orig_deadline = c->call_epoch + 86400;
    } else if (loc[0] && !why[0]) {
        char ref[1024];
        if (ingest_audio_remote(&cfg->svc, loc, ref, sizeof(ref), why, sizeof(why)) == 0) {
            found = true;
            snprintf(c->audio, sizeof(c->audio), "%s", ref);
            if (is_mix(ref) && c->call_epoch >= 0) /* the server's ORIG legs come first */
                c->orig_deadline = c->call_epoch + 86400;
        }
    }
    /* open: recording, or closed but with no location and nothing on disk yet (not mixed) */
    c->open = !aged && (c->length_sec < 0 || (!found && !loc[0] && !why[0]));
    if (c->open)
        return;
    if (c->length_sec >= 0 && c->length_sec < cfg->min_length_sec)
        snprintf(c->skip_reason, sizeof(c->skip_reason), "too short: %d s, under %d s",
                 c->length_sec, cfg->min_length_sec);
    else if (why[0])
        snprintf(c->skip_reason, sizeof(c->skip_reason), "location: %s", why);
    else if (!found && !name[0])
        snprintf(c->skip_reason, sizeof(c->skip_reason),
                 "no recording: the dialer's row names "
                 "no file");
    else if (!found && cfg->recordings_dir[0])
        snprintf(c->audio, sizeof(c->audio), "%s-all.wav", name); /* the worker says missing */
}

/* Put the current row (was_open: a call stored open, revisited). 0, or -1 with msg. */
static int put_row(ingest_vicidial *v, bool aged, bool was_open, char *msg, size_t n)
{
    store_call c;
    bool selected;
    call_of(v, aged, &c, &selected);
    ingest_scan_stats *s = v->stats;
    if (!selected && !was_open) {
        s->filtered++;
        return 0;
    }
    if (!selected) /* stored while open, no longer selected: closed, not analysed */
        snprintf(c.skip_reason, sizeof(c.skip_reason),
                 "not selected: by the campaign, in-group or user filters"),
            c.open = false;
    ingest_created made;
    cq_err err;
    if (ingest_call_create(v->st, &c, NULL, &made, &err) != 0)
        return cfg_fail(msg, n, "the store refused call %s: %s", c.recording_id, err.msg);
    s->created += made.created;
    s->updated += !made.created;
    s->skipped += c.skip_reason[0] != 0;
    s->open += c.open;
    s->closed += was_open && !c.open;
    return 0;
}

/* ---- a scan -------------------------------------------------------------------------------- */

static bool in_list(char (*ids)[65], int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(ids[i], id))
            return true;
    return false;
}

static int parse_id(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = x;
    return 0;
}

/* The calls stored open: read again, put again (closed when the dialer closed them, or when
 * they are older than open_row_hours). */
static int revisit_open(ingest_vicidial *v, char *msg, size_t n)
{
    double now = cq_clock_wall_sec();
    char(*young)[65] = NULL, (*all)[65] = NULL;
    int ny = 0, na = 0, rc = 0;
    if (store_ingest_open_calls(v->st, v->c->source, now - v->c->open_row_hours * 3600, &young,
                                &ny) != 0 ||
        store_ingest_open_calls(v->st, v->c->source, 0, &all, &na) != 0) {
        rc = cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
        goto out;
    }
    for (int i = 0; i < na && !stopping(v) && rc == 0; i++) {
        unsigned long long rid;
        if (parse_id(all[i], &rid) != 0)
            continue; /* not a recording_log id: not this ingest's */
        bool aged = !in_list(young, ny, all[i]);
        if ((rc = renew(v, false, msg, n)) != 0 || (v->p_rid = rid, rc = run(v, Q_ONE, msg, n)))
            break;
        int f = mysql_stmt_fetch(v->q[Q_ONE]);
        if (f == 0 || f == MYSQL_DATA_TRUNCATED) {
            v->stats->rows++;
            rc = put_row(v, aged, true, msg, n);
        } else { /* the row is gone from recording_log */
            store_call c;
            memset(&c, 0, sizeof(c));
            snprintf(c.source, sizeof(c.source), "%s", v->c->source);
            snprintf(c.recording_id, sizeof(c.recording_id), "%s", all[i]);
            c.call_epoch = c.length_sec = -1;
            snprintf(c.skip_reason, sizeof(c.skip_reason),
                     "gone: the dialer's recording_log row is gone");
            ingest_created made;
            cq_err err;
            if (ingest_call_create(v->st, &c, NULL, &made, &err) != 0)
                rc = cfg_fail(msg, n, "the store: %s", err.msg);
            else
                v->stats->closed++, v->stats->skipped++;
        }
        mysql_stmt_free_result(v->q[Q_ONE]);
    }
out:
    free(young);
    free(all);
    return rc;
}

/* Test hook INGEST_PAUSE_MS (config.h, cfg_test_hook): a pause after each batch (tests/pipeline/
 * restarts the database while a scan runs). */
static void test_pause(const ingest_vicidial *v)
{
    const char *p = cfg_test_hook("INGEST_PAUSE_MS");
    if (!p || !*p)
        return;
    char *end;
    long ms = strtol(p, &end, 10);
    if (*end == 0 && ms > 0 && ms < 60000)
        nap(v, ms / 1000.0);
}

/* Rows up to `lookback` ids below the mark that the store does not have: rows that became
 * visible after rows with higher ids (concurrent inserts into an InnoDB table commit out of id
 * order). Rows the store has are left alone (open ones are revisited anyway). */
static int read_late(ingest_vicidial *v, int64_t mark, char *msg, size_t n)
{
    if (v->c->lookback <= 0 || mark <= 0)
        return 0;
    v->p_lo = (unsigned long long)(mark > v->c->lookback ? mark - v->c->lookback : 0);
    v->p_hi = (unsigned long long)mark;
    if (run(v, Q_BACK, msg, n) != 0)
        return -1;
    int rc = 0, f;
    while (rc == 0 && ((f = mysql_stmt_fetch(v->q[Q_BACK])) == 0 || f == MYSQL_DATA_TRUNCATED)) {
        char rid[32];
        snprintf(rid, sizeof(rid), "%llu", v->row.num[C_RID]);
        store_call known;
        int k = store_call_find(v->st, v->c->source, rid, &known);
        if (k < 0) {
            rc = cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
            break;
        }
        if (k == 1)
            continue;
        int64_t filtered = v->stats->filtered;
        if ((rc = put_row(v, false, false, msg, n)) == 0 && v->stats->filtered == filtered) {
            v->stats->rows++;
            v->stats->late++;
        }
        v->stats->filtered = filtered; /* seen again on every scan: not counted */
    }
    mysql_stmt_free_result(v->q[Q_BACK]);
    return rc;
}

/* The rows past the mark, a batch at a time. */
static int read_new(ingest_vicidial *v, char *msg, size_t n)
{
    int64_t mark;
    if (store_ingest_mark(v->st, v->c->source, &mark) != 0)
        return cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
    v->stats->mark = mark;
    if (read_late(v, mark, msg, n) != 0)
        return -1;
    while (!stopping(v)) {
        if (renew(v, false, msg, n) != 0)
            return -1;
        v->p_mark = (unsigned long long)mark;
        v->p_limit = v->c->batch;
        if (run(v, Q_BATCH, msg, n) != 0)
            return -1;
        int64_t last = mark, got = 0;
        int rc = 0, f;
        while (rc == 0 &&
               ((f = mysql_stmt_fetch(v->q[Q_BATCH])) == 0 || f == MYSQL_DATA_TRUNCATED)) {
            got++;
            v->stats->rows++;
            if ((rc = put_row(v, false, false, msg, n)) == 0)
                last = (int64_t)v->row.num[C_RID];
        }
        mysql_stmt_free_result(v->q[Q_BATCH]);
        if (last > mark) { /* past what was stored, under the lease */
            int sm = store_ingest_set_mark(v->st, v->c->source, v->owner, v->token, last,
                                           cq_clock_wall_sec());
            if (sm == STORE_FENCED)
                return cfg_fail(msg, n,
                                "the scan lease of source %s was lost: the mark stays at "
                                "%lld",
                                v->c->source, (long long)mark);
            if (sm != STORE_OK)
                return cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
            mark = last;
            v->stats->mark = mark;
        }
        if (rc != 0)
            return -1;
        if (got < v->c->batch)
            break; /* caught up */
        test_pause(v);
    }
    return 0;
}

/* ---- the dialer's call attempts ------------------------------------------------------------ */

/* Column i of the attempt row as text ("" NULL); a number (< 0 when NULL or not one). */
static void att_text(const ingest_vicidial *v, int i, char *dst, size_t n)
{
    dst[0] = 0;
    if (v->anull[i])
        return;
    size_t len = v->alen[i] < ATT_TEXT ? v->alen[i] : ATT_TEXT;
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)v->arow[i][len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, v->arow[i], len);
    dst[len] = 0;
}

static double att_num(const ingest_vicidial *v, int i)
{
    char t[32], *end;
    att_text(v, i, t, sizeof(t));
    if (!t[0])
        return -1;
    double x = strtod(t, &end);
    return *end || x < 0 ? -1 : x;
}

/* The attempts of vicidial_carrier_log from attempts_lookback_sec before the mark (the latest
 * call_date stored, UTC s) on, a batch at a time past a (call_date, uniqueid) key, stored with
 * their routes (store_attempts_put: a row read again changes nothing unless the dialer changed
 * it); the mark moves to the latest call_date read, under the attempts' own lease. 0, or -1. */
static int read_attempts(ingest_vicidial *v, char *msg, size_t n)
{
    int64_t token, mark;
    int got = store_ingest_lease(v->st, v->att_source, v->owner, cq_clock_wall_sec(),
                                 v->c->lease_sec, &token);
    if (got < 0 || (got == 1 && store_ingest_mark(v->st, v->att_source, &mark) != 0))
        return cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
    if (got == 0)
        return 0; /* another process reads them now */
    double from = mark > 0 ? (double)mark - v->c->svc.attempts_lookback_sec : 0;
    char date[20] = "1000-01-01 00:00:00";
    if (from > 0 && ingest_utc_to_local(from, v->tz, date) != 0)
        snprintf(date, sizeof(date), "1000-01-01 00:00:00");
    snprintf(v->p_adate, sizeof(v->p_adate), "%s", date);
    v->p_auniq[0] = 0;
    int64_t latest = mark;
    int batch = v->c->batch > 0 ? v->c->batch : 1000;
    store_attempt *a = calloc((size_t)batch, sizeof(*a));
    if (!a)
        return cfg_fail(msg, n, "out of memory");
    int rc = 0;
    while (rc == 0 && !stopping(v)) {
        v->p_adate_len = strlen(v->p_adate);
        v->p_auniq_len = strlen(v->p_auniq);
        v->p_limit = batch;
        if (run(v, Q_ATT, msg, n) != 0) {
            rc = -1;
            break;
        }
        int k = 0, f;
        while (k < batch &&
               ((f = mysql_stmt_fetch(v->q[Q_ATT])) == 0 || f == MYSQL_DATA_TRUNCATED)) {
            store_attempt *x = &a[k];
            memset(x, 0, sizeof(*x));
            snprintf(x->source, sizeof(x->source), "%s", v->c->source);
            att_text(v, A_UNIQ, x->uniqueid, sizeof(x->uniqueid));
            att_text(v, A_DATE, x->call_date, sizeof(x->call_date));
            /* the key moves past every row read, kept or not */
            snprintf(v->p_adate, sizeof(v->p_adate), "%s", x->call_date);
            snprintf(v->p_auniq, sizeof(v->p_auniq), "%.20s", x->uniqueid);
            if (!x->uniqueid[0] || strlen(x->call_date) != 19)
                continue; /* no key or no date: nothing to count it by */
            x->epoch = -1;
            if (ingest_local_to_utc(x->call_date, v->tz, &x->epoch) != 0)
                x->epoch = -1;
            att_text(v, A_SERVER, x->server_ip, sizeof(x->server_ip));
            att_text(v, A_LEAD, x->lead_id, sizeof(x->lead_id));
            att_text(v, A_CHANNEL, x->channel, sizeof(x->channel));
            att_text(v, A_STATUS, x->dialstatus, sizeof(x->dialstatus));
            att_text(v, A_SIP_REASON, x->sip_hangup_reason, sizeof(x->sip_hangup_reason));
            att_text(v, A_CALLER, x->caller_code, sizeof(x->caller_code));
            double q850 = att_num(v, A_Q850), sip = att_num(v, A_SIP);
            /* ViciDial writes 0 for no cause (its column's default): no Q.850 cause is 0 */
            x->hangup_cause = q850 > 0 && q850 < 1000 ? (int)q850 : -1;
            x->sip_hangup_cause = sip >= 0 && sip < 1000 ? (int)sip : -1;
            x->dial_time = att_num(v, A_DIAL);
            x->answered_time = att_num(v, A_ANSWERED);
            if (!ingest_carrier_of_channel(x->channel, x->carrier, sizeof(x->carrier))) {
                const char *fl[INGEST_ROUTE_FIELDS] = {x->channel, x->server_ip, NULL, NULL, NULL};
                ingest_route_name(&v->routes, fl, x->carrier, sizeof(x->carrier));
            }
            if (x->epoch > (double)latest)
                latest = (int64_t)x->epoch;
            k++;
        }
        bool more = mysql_stmt_num_rows(v->q[Q_ATT]) >= (my_ulonglong)batch;
        mysql_stmt_free_result(v->q[Q_ATT]);
        int joined = 0;
        if (k && store_attempts_put(v->st, a, k, cq_clock_wall_sec(), &joined) != 0) {
            rc = cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
            break;
        }
        v->stats->attempts += k;
        v->stats->attempts_joined += joined;
        if (!more)
            break;
        if (renew(v, false, msg, n) != 0) {
            rc = -1;
            break;
        }
    }
    free(a);
    if (rc == 0 && latest > mark) {
        int sm = store_ingest_set_mark(v->st, v->att_source, v->owner, token, latest,
                                       cq_clock_wall_sec());
        if (sm != STORE_OK)
            rc =
                cfg_fail(msg, n, "the store: %s",
                         sm == STORE_FENCED ? "the attempts' lease was lost" : store_errmsg(v->st));
    }
    store_ingest_release(v->st, v->att_source, v->owner);
    return rc;
}

int ingest_vicidial_scan(ingest_vicidial *v, ingest_scan_stats *st, char *msg, size_t n)
{
    memset(st, 0, sizeof(*st));
    v->stats = st;
    int64_t token;
    int got = store_ingest_lease(v->st, v->c->source, v->owner, cq_clock_wall_sec(),
                                 v->c->lease_sec, &token);
    if (got < 0)
        return cfg_fail(msg, n, "the store: %s", store_errmsg(v->st));
    if (got == 0) {
        st->busy = true;
        return 0;
    }
    v->token = token;
    v->leased = cq_clock_wall_sec();
    int rc = revisit_open(v, msg, n);
    if (rc == 0)
        rc = read_new(v, msg, n);
    if (rc == 0)
        rc = read_attempts(v, msg, n);
    store_ingest_release(v->st, v->c->source, v->owner);
    return rc;
}

/* ---- set-up -------------------------------------------------------------------------------- */

void ingest_vicidial_defaults(ingest_vicidial_config *c)
{
    memset(c, 0, sizeof(*c));
    cfg_defaults(&c->svc);
    c->min_length_sec = c->svc.vicidial_min_length_sec; /* the settings' defaults */
    c->batch = 1000;
    c->open_row_hours = 6;
    c->interval_sec = c->svc.ingest_interval_sec;
    c->retry_sec = 300;
    c->lease_sec = 120;
    c->lookback = 1000;
}

ingest_vicidial *ingest_vicidial_create(const ingest_vicidial_config *c,
                                        volatile sig_atomic_t *stop, char *msg, size_t n)
{
    ingest_vicidial *v = calloc(1, sizeof(*v));
    if (!v) {
        cfg_fail(msg, n, "out of memory");
        return NULL;
    }
    v->c = c;
    v->stop = stop;
    if (c->tz[0])
        snprintf(v->tz, sizeof(v->tz), "%s", c->tz);
    else
        ingest_tz_system(v->tz, sizeof(v->tz));
    char host[100] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(v->owner, sizeof(v->owner), "ingest:%s:%d", host, (int)getpid());
    unsigned e;
    char why[400];
    if (ingest_route_patterns_parse(c->svc.route_patterns, &v->routes, why, sizeof(why)) != 0) {
        cfg_fail(msg, n, "%s", why);
        goto fail;
    }
    snprintf(v->att_source, sizeof(v->att_source), "%.*s#attempts", (int)sizeof(c->source) - 1,
             c->source);
    if (cfg_read_secret(c->password_file, v->password, sizeof(v->password), msg, n) != 0 ||
        db_connect(v, msg, n, &e) != 0)
        goto fail;
    char smsg[1200];
    if (!(v->st = store_open(c->store, smsg, sizeof(smsg)))) {
        cfg_fail(msg, n, "the store %s: %s", c->store, smsg);
        goto fail;
    }
    return v;
fail:
    ingest_vicidial_destroy(v);
    return NULL;
}

void ingest_vicidial_destroy(ingest_vicidial *v)
{
    if (!v)
        return;
    db_close(v);
    store_close(v->st);
    memset(v->password, 0, sizeof(v->password));
    free(v);
}

/* ---- the command --------------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int ingest_vicidial_run(const ingest_vicidial_config *c)
{
    if (c->batch < 1 || c->batch > 100000 || !(c->open_row_hours >= 0) || !(c->interval_sec >= 1) ||
        !(c->lease_sec >= 10) || c->min_length_sec < 0 || !c->source[0] || !c->store[0]) {
        fprintf(stderr, "callqa ingest: bad settings (batch 1-100000, interval >= 1 s, a source "
                        "and a store)\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    mysql_library_init(0, NULL, NULL);
    char msg[2048];
    ingest_vicidial *v = ingest_vicidial_create(c, &g_stop, msg, sizeof(msg));
    if (!v) {
        fprintf(stderr, "callqa ingest: %s\n", msg);
        mysql_library_end();
        return 1;
    }
    {
        char more[600], a[300], b[100];
        snprintf(more, sizeof(more), "\"database\":%s,\"tz\":%s,\"batch\":%d",
                 ingest_json_str(c->db.host, a, sizeof(a)), ingest_json_str(v->tz, b, sizeof(b)),
                 c->batch);
        ingest_log("info", c->source, "ingest started", more);
    }
    int rc = 0;
    while (!g_stop) {
        ingest_scan_stats st;
        double t0 = cq_clock_wall_sec();
        int r = ingest_vicidial_scan(v, &st, msg, sizeof(msg));
        char more[512];
        snprintf(more, sizeof(more),
                 "\"rows\":%lld,\"created\":%lld,\"updated\":%lld,\"skipped\":%lld,"
                 "\"filtered\":%lld,\"open\":%lld,\"closed\":%lld,\"late\":%lld,"
                 "\"retries\":%lld,\"mark\":%lld,\"attempts\":%lld,\"attempts_joined\":%lld,"
                 "\"sec\":%.3f",
                 (long long)st.rows, (long long)st.created, (long long)st.updated,
                 (long long)st.skipped, (long long)st.filtered, (long long)st.open,
                 (long long)st.closed, (long long)st.late, (long long)st.retries,
                 (long long)st.mark, (long long)st.attempts, (long long)st.attempts_joined,
                 cq_clock_wall_sec() - t0);
        if (r != 0) {
            char err[2200], jb[2100];
            snprintf(err, sizeof(err), "%s,\"error\":%s", more,
                     ingest_json_str(msg, jb, sizeof(jb)));
            ingest_log("error", c->source, "scan failed", err);
            rc = 1;
        } else if (st.busy) {
            ingest_log("info", c->source, "another process is scanning this source: nothing done",
                       NULL);
            rc = 0;
        } else {
            ingest_log("info", c->source, "scan", more);
            rc = 0;
        }
        if (c->once)
            break;
        nap(v, c->interval_sec);
    }
    ingest_log("info", c->source, "ingest stopped", NULL);
    ingest_vicidial_destroy(v);
    mysql_library_end();
    return rc;
}
