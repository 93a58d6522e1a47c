/*
 * store_ro_my.c - read-only queries over ViciDial's MariaDB database, for a caller that runs SQL it
 * did not write (POST /ask's ViciDial source; docs/ask/sources.md). Writes are impossible by
 * construction, in layers of the database engine that each hold on their own:
 *
 *   open                  the account checked: no privilege but SELECT (USAGE, SHOW VIEW) on any
 *                         object, no role, nothing granted TO PUBLIC but SELECT; no readable column
 *                         outside the allow-list or among the credential columns (the engine's
 *                         column grants then hold the allow-list on their own); a replica
 *                         (read_only ON) unless the primary is allowed (then 2 s per query); a
 *                         connection without multi-statements, LOCAL INFILE or reconnect;
 *   explain               EXPLAIN first, inside the transaction: a statement it does not accept
 *                         (SET, SET STATEMENT ... FOR, GRANT, CALL, LOCK, HANDLER, DO, LOAD DATA,
 *                         SHOW, ...) is refused, and so is a plan whose row estimates multiply
 *                         past max_estimate;
 *   one_statement         the server refuses a second statement (no CLIENT_MULTI_STATEMENTS);
 *   read_only_server      a replica's read_only refuses writes before the grants do;
 *   privilege             the engine's grants: writes, other columns, FILE (INTO OUTFILE);
 *   read_only_transaction START TRANSACTION READ ONLY (SELECT ... FOR UPDATE); ROLLBACK and a
 *                         reset of the session after every query;
 *   timeout               max_statement_time, and a watchdog (store_ro_watch) that sends KILL
 *                         QUERY from a second connection 0.3 s past the time (for a statement
 *                         the server's limit did not stop: SET STATEMENT max_statement_time=0
 *                         FOR ... would lift it, were it not refused by EXPLAIN), then shuts the
 *                         socket 0.8 s past it when the statement still runs (inside one call of
 *                         LOCATE, LIKE or REPLACE neither the limit nor KILL is seen); a
 *                         connection whose server still runs the statement given up on takes
 *                         no query until it ends;
 *   allow_list            each result column taken straight from a table must be allow-listed (a
 *                         grant widened after the connection was checked);
 *   rows, bytes           the answer cut at its caps (said, not failed; the statement killed).
 *
 * The refusing layer is named in the result. This file is the store's: only store code includes a
 * database header.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "store_ro_int.h"
#include "callqa/cq_clock.h"

/* ViciDial's credential columns (../shared/vicidial/schema.sql), refused whatever the allow-list
 * and the caller's own list say: passwords and their hashes, secrets, a customer's security
 * phrase, and the URL templates installs fill with API credentials (user=...&pass=...). */
const char *const store_ro_vicidial_never[] = {"vicidial_users.pass",
                                               "vicidial_users.pass_hash",
                                               "vicidial_users.phone_pass",
                                               "servers.ASTmgrSECRET",
                                               "servers.conf_secret",
                                               "vicidial_user_groups.webphone_systemkey_override",
                                               "vicidial_list.security_phrase",
                                               "vicidial_campaigns.web_form_address",
                                               "vicidial_campaigns.web_form_address_two",
                                               "vicidial_campaigns.web_form_address_three",
                                               "vicidial_campaigns.qc_web_form_address",
                                               "vicidial_campaigns.start_call_url",
                                               "vicidial_campaigns.dispo_call_url",
                                               "vicidial_campaigns.na_call_url",
                                               "vicidial_campaigns.dead_trigger_url",
                                               "vicidial_campaigns.pause_max_url",
                                               "vicidial_campaigns.crm_login_address",
                                               "vicidial_inbound_groups.web_form_address",
                                               "vicidial_inbound_groups.web_form_address_two",
                                               "vicidial_inbound_groups.web_form_address_three",
                                               "vicidial_inbound_groups.qc_web_form_address",
                                               "vicidial_inbound_groups.start_call_url",
                                               "vicidial_inbound_groups.dispo_call_url",
                                               "vicidial_inbound_groups.na_call_url",
                                               "vicidial_inbound_groups.add_lead_url",
                                               "vicidial_inbound_groups.enter_ingroup_url",
                                               "vicidial_inbound_groups.waiting_call_url_on",
                                               "vicidial_inbound_groups.waiting_call_url_off",
                                               "vicidial_user_groups.webphone_url_override",
                                               NULL};

#define PRIMARY_SEC 2.0 /* per query on a primary */
#define IO_SEC 60 /* the connection's read and write timeouts: any one wait, whatever the time */

typedef struct ro_my {
    store_ro base; /* first: a store_ro * is a ro_my * */
    char *host, *user, *password, *db;
    unsigned port;
    char **allow,
        **never; /* NULL-terminated; never holds store_ro_vicidial_never and the caller's */
    bool primary;
    MYSQL *m;                     /* NULL after a lost connection: made again at the next query */
    unsigned long long thread;    /* the server's id of m's connection (KILL QUERY) */
    unsigned long long abandoned; /* the id of a connection given up on with its statement
                                     still running (0: none) */
    double abandoned_at;          /* when (monotonic s) */
    bool killed;       /* the server answered the watchdog's KILL QUERY (it runs, and was asked) */
    char account[200]; /* CURRENT_USER(): user@host */
} ro_my;

static pthread_once_t g_lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    mysql_library_init(0, NULL, NULL); /* once, before two threads connect */
}

/* ---- lists ---------------------------------------------------------------------------------- */

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* a copy of two NULL-terminated lists (either may be NULL), one after the other */
static char **strv_dup2(const char *const *a, const char *const *b)
{
    const char *const *lists[2] = {a, b};
    size_t n = 0, i = 0;
    for (int l = 0; l < 2; l++)
        for (const char *const *p = lists[l]; p && *p; p++)
            n++;
    char **v = calloc(n + 1, sizeof(char *));
    for (int l = 0; v && l < 2; l++)
        for (const char *const *p = lists[l]; p && *p; p++)
            if (!(v[i++] = strdup(*p))) {
                strv_free(v);
                return NULL;
            }
    return v;
}

/* "table.column" in a list (table.* too when star) */
static bool listed(char *const *v, const char *table, const char *column, bool star)
{
    size_t tl = strlen(table);
    for (char *const *p = v; p && *p; p++)
        if (!strncasecmp(*p, table, tl) && (*p)[tl] == '.' &&
            (!strcasecmp(*p + tl + 1, column) || (star && !strcmp(*p + tl + 1, "*"))))
            return true;
    return false;
}

static bool never_col(const ro_my *r, const char *table, const char *column)
{
    return listed(r->never, table, column, false);
}

static bool allowed_col(const ro_my *r, const char *table, const char *column)
{
    return !never_col(r, table, column) && listed(r->allow, table, column, true);
}

/* The allow-list names no credential column, itself or through "table.*". NULL, or why not. */
static const char *allow_names_never(const ro_my *r, char *why, size_t n)
{
    for (char **a = r->allow; *a; a++) {
        const char *dot = strchr(*a, '.');
        if (!dot || dot == *a || !dot[1]) {
            snprintf(why, n, "the allow-list entry \"%s\" is not \"table.column\" or \"table.*\"",
                     *a);
            return why;
        }
        for (char **c = r->never; *c; c++) {
            const char *cd = strchr(*c, '.');
            if (!cd)
                continue;
            if (!strcasecmp(*a, *c)) {
                snprintf(why, n,
                         "the allow-list names %s, a credential column, which is never allowed",
                         *a);
                return why;
            }
            if (!strcmp(dot + 1, "*") && (size_t)(dot - *a) == (size_t)(cd - *c) &&
                !strncasecmp(*a, *c, (size_t)(dot - *a))) {
                snprintf(why, n,
                         "the allow-list names %s, whose table holds the credential column %s, "
                         "which is never allowed: list the table's other columns one by one",
                         *a, *c);
                return why;
            }
        }
    }
    return NULL;
}

/* ---- the connection ------------------------------------------------------------------------- */

/* A connection with the account: utf8mb4, no multi-statements, no LOCAL INFILE, no reconnect.
 * NULL with msg. */
static MYSQL *my_connect(const ro_my *r, unsigned connect_sec, unsigned io_sec, char *msg, size_t n)
{
    pthread_once(&g_lib_once, lib_init);
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(msg, n, "out of memory");
        return NULL;
    }
    my_bool no = 0;
    unsigned no_infile = 0; /* an unsigned int: libmariadb reads that many bytes */
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_sec);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_sec);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_sec);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &no_infile);
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &no);
    if (!mysql_real_connect(m, r->host, r->user, r->password, r->db, r->port, NULL, 0)) {
        snprintf(msg, n, "cannot connect to the ViciDial database %s@%s:%u/%s: %s", r->user,
                 r->host, r->port, r->db, mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    if (m->client_flag & (CLIENT_MULTI_STATEMENTS | CLIENT_LOCAL_FILES)) {
        snprintf(msg, n, "the ViciDial connection allows multi-statements or LOCAL INFILE");
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* Run one statement of ours and hand each row to fn (which returns 0 to go on). 0, or -1 with
 * msg. */
typedef int (*row_fn)(void *u, MYSQL_ROW row, unsigned long *len, unsigned n);
static int my_rows(MYSQL *m, const char *sql, row_fn fn, void *u, char *msg, size_t n)
{
    if (mysql_real_query(m, sql, strlen(sql))) {
        snprintf(msg, n, "%s: %s", sql, mysql_error(m));
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        if (mysql_field_count(m) == 0)
            return 0;
        snprintf(msg, n, "%s: %s", sql, mysql_error(m));
        return -1;
    }
    int rc = 0;
    for (MYSQL_ROW row; rc == 0 && (row = mysql_fetch_row(res));)
        rc = fn ? fn(u, row, mysql_fetch_lengths(res), mysql_num_fields(res)) : 0;
    mysql_free_result(res);
    return rc;
}

/* the first value of the first row */
typedef struct first_val {
    char v[200];
    bool have;
} first_val;
static int first_of(void *u, MYSQL_ROW row, unsigned long *len, unsigned n)
{
    (void)len;
    first_val *f = u;
    if (!f->have && n > 0) {
        snprintf(f->v, sizeof(f->v), "%s", row[0] ? row[0] : "");
        f->have = true;
    }
    return 0;
}

/* The GRANT statements the account needs: SELECT on the allow-listed columns only. */
static void print_grants(const ro_my *r, FILE *f)
{
    char user[200], host[200];
    const char *at = strrchr(r->account, '@');
    snprintf(user, sizeof(user), "%.*s", at ? (int)(at - r->account) : (int)strlen(r->account),
             r->account);
    snprintf(host, sizeof(host), "%s", at ? at + 1 : "%");
    fprintf(f, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '%s'@'%s';", user, host);
    for (char **a = r->allow; *a; a++) {
        size_t tl = (size_t)(strchr(*a, '.') - *a);
        bool first = true;
        for (char **b = r->allow; b < a; b++)
            first = first && !(!strncmp(*b, *a, tl) && (*b)[tl] == '.');
        if (!first)
            continue;
        if (!strcmp(*a + tl, ".*")) {
            fprintf(f, " GRANT SELECT ON `%s`.`%.*s` TO '%s'@'%s';", r->db, (int)tl, *a, user,
                    host);
            continue;
        }
        fprintf(f, " GRANT SELECT (");
        const char *sep = "";
        for (char **b = a; *b; b++)
            if (!strncmp(*b, *a, tl) && (*b)[tl] == '.' && strcmp(*b + tl, ".*")) {
                fprintf(f, "%s`%s`", sep, *b + tl + 1);
                sep = ", ";
            }
        fprintf(f, ") ON `%s`.`%.*s` TO '%s'@'%s';", r->db, (int)tl, *a, user, host);
    }
}

/* One line of SHOW GRANTS: the privileges other than SELECT, USAGE and SHOW VIEW that it grants
 * (and a role, and WITH GRANT OPTION), appended to f as "PRIV ON object". */
static void grants_beyond_select(const char *line, FILE *f, int *count)
{
    if (strncmp(line, "GRANT ", 6)) { /* SET DEFAULT ROLE ... */
        fprintf(f, "%s%.80s", (*count)++ ? ", " : "", line);
        return;
    }
    const char *p = line + 6, *on = NULL, *to = NULL;
    int depth = 0;
    char q = 0;
    for (const char *s = p; *s && !to; s++) {
        if (q) {
            q = *s == q ? 0 : q;
        } else if (*s == '`' || *s == '\'' || *s == '"') {
            q = *s;
        } else if (*s == '(') {
            depth++;
        } else if (*s == ')') {
            depth--;
        } else if (!depth && !on && !strncmp(s, " ON ", 4)) {
            on = s;
        } else if (!depth && !strncmp(s, " TO ", 4)) {
            to = s;
        }
    }
    if (!to)
        return;
    if (!on) { /* GRANT `role` TO ...: a role's privileges are switched on with it */
        fprintf(f, "%sthe role %.*s", (*count)++ ? ", " : "", (int)(to - p), p);
        return;
    }
    /* the privileges between GRANT and ON, comma-separated, each maybe with its columns */
    const char *s = p;
    while (s < on) {
        const char *e = s;
        depth = 0;
        while (e < on && (depth || *e != ',')) {
            depth += *e == '(' ? 1 : *e == ')' ? -1 : 0;
            e++;
        }
        const char *name = s;
        while (name < e && *name == ' ')
            name++;
        size_t len = strcspn(name, "(,");
        if (name + len > e)
            len = (size_t)(e - name);
        while (len && name[len - 1] == ' ')
            len--;
        if (!(len == 6 && !strncmp(name, "SELECT", 6)) &&
            !(len == 5 && !strncmp(name, "USAGE", 5)) &&
            !(len == 9 && !strncmp(name, "SHOW VIEW", 9)))
            fprintf(f, "%s%.*s ON %.*s", (*count)++ ? ", " : "", (int)len, name, (int)(to - on - 4),
                    on + 4);
        s = e < on ? e + 1 : on;
    }
    if (strstr(to, " WITH GRANT OPTION"))
        fprintf(f, "%sGRANT OPTION ON %.*s", (*count)++ ? ", " : "", (int)(to - on - 4), on + 4);
}

/* A memory stream for a check's message (*text, malloc'd at fclose); NULL with msg set when out
 * of memory. */
static FILE *msg_stream(char **text, size_t *len, char *msg, size_t n)
{
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f)
        snprintf(msg, n, "out of memory");
    return f;
}

typedef struct grants_scan {
    FILE *f;
    int count;
} grants_scan;
static int grant_row(void *u, MYSQL_ROW row, unsigned long *len, unsigned n)
{
    (void)len;
    grants_scan *g = u;
    if (n > 0 && row[0])
        grants_beyond_select(row[0], g->f, &g->count);
    return 0;
}

/* (a) no privilege but SELECT, USAGE and SHOW VIEW: the account's own grants, its roles, and what
 * is granted TO PUBLIC (MariaDB 10.11; an older server has no PUBLIC and refuses the statement). */
static int check_privileges(ro_my *r, char *msg, size_t n)
{
    char *text;
    size_t len;
    FILE *f = msg_stream(&text, &len, msg, n);
    if (!f)
        return -1;
    grants_scan g = {f, 0};
    int rc = my_rows(r->m, "SHOW GRANTS FOR CURRENT_USER()", grant_row, &g, msg, n);
    int own = g.count;
    char ignored[200]; /* an older server has no PUBLIC: the statement is refused, nothing held */
    if (rc == 0)
        my_rows(r->m, "SHOW GRANTS FOR PUBLIC", grant_row, &g, ignored, sizeof(ignored));
    if (rc == 0 && g.count) {
        fprintf(f, "%s. ", g.count > own ? " (granted TO PUBLIC: every account holds them)" : "");
        print_grants(r, f);
    }
    fclose(f);
    if (rc == 0 && g.count) {
        snprintf(msg, n,
                 "the ViciDial account %s holds more than SELECT: %s (READ ONLY transactions do "
                 "not stop INTO OUTFILE, which FILE allows; the account must hold SELECT on the "
                 "allow-listed columns only)",
                 r->account, text);
        rc = -1;
    }
    free(text);
    return rc;
}

typedef struct column_scan {
    const ro_my *r;
    FILE *f;
    int count, credentials;
} column_scan;
static int column_row(void *u, MYSQL_ROW row, unsigned long *len, unsigned n)
{
    (void)len;
    column_scan *c = u;
    if (n < 3 || !row[0] || !row[1] || !row[2])
        return 0;
    bool ours = !strcmp(row[0], c->r->db);
    bool cred = ours && never_col(c->r, row[1], row[2]);
    if (ours && !cred && allowed_col(c->r, row[1], row[2]))
        return 0;
    c->credentials += cred;
    if (c->count++ < 12)
        fprintf(c->f, "%s%s.%s.%s%s", c->count > 1 ? ", " : "", row[0], row[1], row[2],
                cred ? " (a credential column)" : "");
    return 0;
}

/* (b) every column the account can read (the columns information_schema shows it: those it holds
 * a privilege on, through its own grants and PUBLIC's) is in the database and allow-listed, and
 * none is a credential column. */
static int check_columns(ro_my *r, char *msg, size_t n)
{
    char *text;
    size_t len;
    FILE *f = msg_stream(&text, &len, msg, n);
    if (!f)
        return -1;
    column_scan c = {r, f, 0, 0};
    int rc = my_rows(r->m,
                     "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
                     "WHERE TABLE_SCHEMA <> 'information_schema' "
                     "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
                     column_row, &c, msg, n);
    if (rc == 0 && c.count) {
        if (c.count > 12)
            fprintf(f, " and %d more", c.count - 12);
        fprintf(f, "; grant it the allow-listed columns only: ");
        print_grants(r, f);
    }
    fclose(f);
    if (rc == 0 && c.count) {
        snprintf(msg, n,
                 "the ViciDial account %s can read %d column%s outside the allow-list%s: %s",
                 r->account, c.count, c.count > 1 ? "s" : "",
                 c.credentials ? ", credential columns among them" : "", text);
        rc = -1;
    }
    free(text);
    return rc;
}

/* (c) a replica: read_only ON (the dialer's MyISAM tables are locked while a read runs on them),
 * unless the primary is allowed. */
static int check_replica(ro_my *r, char *msg, size_t n)
{
    first_val v = {{0}, false};
    if (my_rows(r->m, "SELECT @@global.read_only", first_of, &v, msg, n))
        return -1;
    if (r->primary || (v.have && strcmp(v.v, "0") && strcasecmp(v.v, "OFF")))
        return 0;
    snprintf(msg, n,
             "the ViciDial server %s:%u is not a replica (read_only is OFF); point ask_vicidial at "
             "a replica or set ask_vicidial_primary = true",
             r->host, r->port);
    return -1;
}

static void my_drop(ro_my *r)
{
    if (r->m)
        mysql_close(r->m);
    r->m = NULL;
}

/* A new connection for r. 0, or -1 with msg. */
static int my_new(ro_my *r, char *msg, size_t n)
{
    if (!(r->m = my_connect(r, 10, IO_SEC, msg, n)))
        return -1;
    r->thread = mysql_thread_id(r->m);
    return 0;
}

/* Check the account and the server on r->m: at open, and on the connection made again after a
 * lost one (the server may have become a primary). 0, or -1 with msg. */
static int my_checks(ro_my *r, char *msg, size_t n)
{
    first_val who = {{0}, false};
    if (my_rows(r->m, "SELECT CURRENT_USER()", first_of, &who, msg, n))
        return -1;
    snprintf(r->account, sizeof(r->account), "%s", who.v);
    return check_privileges(r, msg, n) || check_columns(r, msg, n) || check_replica(r, msg, n) ? -1
                                                                                               : 0;
}

/* KILL QUERY of the statement m's connection runs now, if any, from a second connection of the
 * account (1 s to connect and for each answer): by its query id, so that a statement that ended
 * meanwhile leaves the next one alone. 0 when a KILL was sent, 1 when the server answered with
 * nothing to kill (no statement, or one killed already: max_statement_time), -1 when it did not
 * answer. */
static int my_kill_running(const ro_my *r)
{
    char msg[300], sql[200];
    MYSQL *k = my_connect(r, 1, 1, msg, sizeof(msg));
    if (!k)
        return -1;
    first_val q = {{0}, false};
    snprintf(sql, sizeof(sql),
             "SELECT QUERY_ID FROM information_schema.PROCESSLIST WHERE ID = %llu AND "
             "COMMAND = 'Query'",
             r->thread);
    int rc = my_rows(k, sql, first_of, &q, msg, sizeof(msg));
    if (rc == 0 && q.have) {
        snprintf(sql, sizeof(sql), "KILL QUERY ID %llu", strtoull(q.v, NULL, 10));
        rc = my_rows(k, sql, NULL, NULL, msg, sizeof(msg)) ? -1 : 0;
    } else if (rc == 0) {
        rc = 1;
    }
    mysql_close(k);
    return rc;
}

/* the watchdog's kill (store_ro_watch) */
static void kill_of(void *u)
{
    ro_my *r = u;
    r->killed = my_kill_running(r) >= 0; /* read by the caller after the watchdog's join */
}

/* Does the server still run the statement of the connection given up on (r->abandoned)? Asked
 * from a connection of its own (1 s to connect and to answer). 1 yes, 0 no (then forgotten),
 * -1 unknown. Past STORE_RO_ABANDONED_SEC it is forgotten unasked. */
static int abandoned_running(ro_my *r)
{
    if (!r->abandoned)
        return 0;
    if (cq_clock_mono_sec() - r->abandoned_at > STORE_RO_ABANDONED_SEC) {
        r->abandoned = 0;
        return 0;
    }
    char msg[300], sql[160];
    MYSQL *k = my_connect(r, 1, 1, msg, sizeof(msg));
    if (!k)
        return -1;
    first_val q = {{0}, false};
    snprintf(sql, sizeof(sql), "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = %llu",
             r->abandoned);
    int rc = my_rows(k, sql, first_of, &q, msg, sizeof(msg));
    mysql_close(k);
    if (rc)
        return -1;
    if (!q.have)
        r->abandoned = 0;
    return q.have;
}

/* ---- a query -------------------------------------------------------------------------------- */

/* More than one statement in sql: a ';' outside quotes and comments with more than white space
 * and comments after it. The text of an executable comment (slash-star-bang, the server runs it)
 * counts as statement text. */
static bool second_statement(const char *s)
{
    bool after = false; /* past a top-level ';' */
    bool in_exec = false;
    while (*s) {
        if (*s == '\'' || *s == '"' || *s == '`') {
            if (after)
                return true;
            char q = *s++;
            while (*s && *s != q)
                s += (*s == '\\' && q != '`' && s[1]) ? 2 : 1;
            s += *s ? 1 : 0;
        } else if ((s[0] == '-' && s[1] == '-' && (s[2] == ' ' || s[2] == '\t' || !s[2])) ||
                   *s == '#') {
            s += strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*' && (s[2] == '!' || (s[2] == 'M' && s[3] == '!'))) {
            s += s[2] == '!' ? 3 : 4; /* the version, then text the server runs */
            s += strspn(s, "0123456789");
            in_exec = true;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else if (in_exec && s[0] == '*' && s[1] == '/') {
            s += 2;
            in_exec = false;
        } else if (*s == ';') {
            after = true;
            s++;
        } else if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            s++;
        } else {
            if (after)
                return true;
            s++;
        }
    }
    return false;
}

/* the layer of a server or client error */
static const char *layer_of(unsigned e, const char *why, const char *sql, bool at_explain)
{
    switch (e) {
    case ER_TABLEACCESS_DENIED_ERROR:     /* 1142 */
    case ER_COLUMNACCESS_DENIED_ERROR:    /* 1143 */
    case ER_DBACCESS_DENIED_ERROR:        /* 1044 */
    case ER_ACCESS_DENIED_ERROR:          /* 1045 */
    case ER_SPECIFIC_ACCESS_DENIED_ERROR: /* 1227: FILE, SUPER, ... */
    case ER_PROCACCESS_DENIED_ERROR: /* 1370 */ return "privilege";
    case ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: return "read_only_transaction"; /* 1792 */
    case ER_OPTION_PREVENTS_STATEMENT: /* 1290: the replica's read_only, before the grants */
        return strstr(why, "read-only") ? "read_only_server" : "engine";
    case ER_STATEMENT_TIMEOUT:                   /* 1969 */
    case ER_QUERY_INTERRUPTED: return "timeout"; /* 1317 */
    case ER_PARSE_ERROR:                         /* 1064 */
        if (second_statement(sql))
            return "one_statement";
        return at_explain ? "explain" : "engine";
    default: return strstr(why, "Access denied") ? "privilege" : "engine";
    }
}

static int refuse_my(store_ro_result *out, const char *layer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse_my(store_ro_result *out, const char *layer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    snprintf(out->layer, sizeof(out->layer), "%s", layer);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
    return -1;
}

/* One value as JSON: numbers for the numeric types, a blob's length for binary strings, text. */
static json_t *value_of(const MYSQL_FIELD *f, const char *v, unsigned long len, size_t *bytes)
{
    if (!v)
        return json_null();
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR: {
        *bytes += 8;
        char *end;
        errno = 0;
        long long i = strtoll(v, &end, 10);
        if (!errno && end != v && !*end)
            return json_integer(i);
        return json_real(strtod(v, NULL)); /* an unsigned BIGINT past 2^63 */
    }
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: *bytes += 8; return json_real(strtod(v, NULL));
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_GEOMETRY:
        if (f->charsetnr == 63) { /* binary */
            *bytes += 8;
            return json_pack("{s:I}", "blob_bytes", (json_int_t)len);
        }
        /* fall through */
    default: {
        *bytes += len;
        json_t *s = json_stringn(v, len); /* NULL for bytes that are not UTF-8 */
        return s ? s : json_null();
    }
    }
}

/* Stop a result before its end: KILL the statement if it still runs, then read what was sent. */
static void result_stop(ro_my *r, MYSQL_RES *res)
{
    if (!mysql_eof(res))
        my_kill_running(r);
    mysql_free_result(res);
}

/* EXPLAIN sql: the product of the plan's row estimates, or -1 with out set. */
static int explain(ro_my *r, const char *sql, const store_ro_limits *lim, store_ro_result *out,
                   double *estimate)
{
    size_t n = strlen(sql);
    char *q = malloc(n + 9);
    if (!q)
        return refuse_my(out, "engine", "out of memory");
    memcpy(q, "EXPLAIN ", 8);
    memcpy(q + 8, sql, n + 1);
    int rc = mysql_real_query(r->m, q, n + 8);
    free(q);
    MYSQL_RES *res = rc ? NULL : mysql_store_result(r->m);
    if (!res && mysql_errno(r->m)) { /* refused at once, or after the plan's columns */
        unsigned e = mysql_errno(r->m);
        const char *layer = layer_of(e, mysql_error(r->m), sql, true);
        if (!strcmp(layer, "explain"))
            return refuse_my(out, layer, "not a statement EXPLAIN accepts (only SELECT reads): %s",
                             mysql_error(r->m));
        return refuse_my(out, layer, "%s", mysql_error(r->m));
    }
    if (!res)
        return refuse_my(out, "explain", "EXPLAIN gave no plan");
    int col = -1;
    MYSQL_FIELD *fs = mysql_fetch_fields(res);
    for (unsigned i = 0; i < mysql_num_fields(res); i++)
        if (!strcasecmp(fs[i].name, "rows"))
            col = (int)i;
    double product = 1;
    for (MYSQL_ROW row; col >= 0 && (row = mysql_fetch_row(res));) {
        double v = row[col] ? strtod(row[col], NULL) : 1;
        product *= v > 1 ? v : 1;
    }
    mysql_free_result(res);
    if (col < 0)
        return refuse_my(out, "explain", "the plan gives no row estimates");
    *estimate = product;
    if (product > lim->max_estimate)
        return refuse_my(out, "explain",
                         "the plan estimates %.0f rows, more than the %.0f allowed: narrow the "
                         "query (a WHERE on an indexed column, a join on its key)",
                         product, lim->max_estimate);
    return 0;
}

/* Whether the account can read db.table.column now: information_schema asked from a second
 * connection (the first is busy with the result). 1 yes, 0 no (not a column of the table: a
 * derived table's alias, which the server names after its base table), -1 unknown. */
static int column_readable(const ro_my *r, const char *table, const char *column)
{
    if (strlen(table) > 64 || strlen(column) > 64)
        return 0; /* longer than any name of a table or a column */
    char msg[300], t[130], c[130], d[130], sql[600];
    MYSQL *k = my_connect(r, 2, 2, msg, sizeof(msg));
    if (!k)
        return -1;
    mysql_real_escape_string(k, d, r->db, (unsigned long)strnlen(r->db, 64));
    mysql_real_escape_string(k, t, table, (unsigned long)strlen(table));
    mysql_real_escape_string(k, c, column, (unsigned long)strlen(column));
    snprintf(sql, sizeof(sql),
             "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND "
             "TABLE_NAME = '%s' AND COLUMN_NAME = '%s'",
             d, t, c);
    first_val v = {{0}, false};
    int rc = my_rows(k, sql, first_of, &v, msg, sizeof(msg));
    mysql_close(k);
    return rc ? -1 : v.have;
}

/* The result's columns taken straight from a table: in the database, allow-listed (a grant
 * widened since the connection was checked). */
static int check_fields(const ro_my *r, MYSQL_RES *res, store_ro_result *out)
{
    MYSQL_FIELD *fs = mysql_fetch_fields(res);
    for (unsigned i = 0; i < mysql_num_fields(res); i++) {
        const MYSQL_FIELD *f = &fs[i];
        if (!f->org_table || !*f->org_table || !f->org_name || !*f->org_name)
            continue; /* an expression's */
        if (f->db && *f->db && strcmp(f->db, r->db))
            return refuse_my(out, "allow_list", "reading %s.%s.%s is not allowed: outside %s",
                             f->db, f->org_table, f->org_name, r->db);
        if (allowed_col(r, f->org_table, f->org_name))
            continue;
        bool cred = never_col(r, f->org_table, f->org_name);
        int real = cred ? 1 : column_readable(r, f->org_table, f->org_name);
        if (real)
            return refuse_my(out, "allow_list", "reading %s.%s is not allowed%s", f->org_table,
                             f->org_name,
                             cred       ? ": a credential column"
                             : real < 0 ? " (whether it is a column could not be checked)"
                                        : "");
    }
    return 0;
}

/* The statement and its rows, up to the caps. 0 with out->json, or -1. */
static int run(ro_my *r, const char *sql, const store_ro_limits *lim, store_ro_result *out)
{
    if (mysql_real_query(r->m, sql, strlen(sql))) {
        unsigned e = mysql_errno(r->m);
        return refuse_my(out, layer_of(e, mysql_error(r->m), sql, false), "%s", mysql_error(r->m));
    }
    MYSQL_RES *res = mysql_use_result(r->m);
    if (!res) {
        if (mysql_field_count(r->m) == 0)
            return refuse_my(out, "engine", "the statement gave no rows");
        return refuse_my(out, layer_of(mysql_errno(r->m), mysql_error(r->m), sql, false), "%s",
                         mysql_error(r->m));
    }
    if (check_fields(r, res, out)) {
        result_stop(r, res);
        return -1;
    }
    unsigned nc = mysql_num_fields(res);
    MYSQL_FIELD *fs = mysql_fetch_fields(res);
    json_t *cols = json_array(), *rows = json_array();
    for (unsigned i = 0; i < nc; i++)
        json_array_append_new(cols, json_string(fs[i].name));
    size_t bytes = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (out->rows >= lim->max_rows || bytes > lim->max_bytes) {
            out->truncated = true;
            break;
        }
        unsigned long *len = mysql_fetch_lengths(res);
        json_t *jr = json_array();
        for (unsigned i = 0; i < nc; i++)
            json_array_append_new(jr, value_of(&fs[i], row[i], len[i], &bytes));
        json_array_append_new(rows, jr);
        out->rows++;
    }
    unsigned e = row ? 0 : mysql_errno(r->m);
    char why[300];
    snprintf(why, sizeof(why), "%s", e ? mysql_error(r->m) : "");
    if (row)
        result_stop(r, res);
    else
        mysql_free_result(res);
    if (e) {
        json_decref(cols);
        json_decref(rows);
        return refuse_my(out, layer_of(e, why, sql, false), "%s", why);
    }
    json_t *o =
        json_pack("{s:o,s:o,s:b}", "columns", cols, "rows", rows, "truncated", out->truncated);
    out->json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out->json ? 0 : refuse_my(out, "engine", "out of memory");
}

/* one statement of ours; -1 with out set */
static int ours(ro_my *r, const char *sql, store_ro_result *out)
{
    if (!mysql_real_query(r->m, sql, strlen(sql)))
        return 0;
    unsigned e = mysql_errno(r->m);
    return refuse_my(out, layer_of(e, mysql_error(r->m), sql, false), "%s", mysql_error(r->m));
}

static int my_query(store_ro *base, const char *sql, const store_ro_limits *lim,
                    store_ro_result *out)
{
    ro_my *r = (ro_my *)base;
    char msg[300];
    /* one statement the server would not stop at a time per connection, at most */
    if (abandoned_running(r) == 1)
        return refuse_my(out, "timeout",
                         "the server still runs the statement given up on %.0f s ago (MariaDB "
                         "stops neither at max_statement_time nor at KILL QUERY inside one call "
                         "of LOCATE, LIKE or REPLACE): no query here until it ends",
                         cq_clock_mono_sec() - r->abandoned_at);
    bool fresh = !r->m; /* lost before: made again, checked again under the watchdog */
    if (fresh && my_new(r, msg, sizeof(msg)))
        return refuse_my(out, "engine", "%s", msg);
    double sec = lim->timeout_sec;
    if (r->primary && sec > PRIMARY_SEC)
        sec = PRIMARY_SEC;
    double t0 = cq_clock_mono_sec(), estimate = 0;
    store_ro_watch w;
    r->killed = false;
    if (store_ro_watch_start(&w, (int)mysql_get_socket(r->m), t0 + sec + STORE_RO_KILL_AFTER,
                             t0 + sec + STORE_RO_CUT_AFTER, kill_of, r)) {
        my_drop(r);
        return refuse_my(out, "engine", "cannot start the watchdog thread");
    }
    char set[80];
    snprintf(set, sizeof(set), "SET SESSION max_statement_time = %.3f", sec);
    bool unchecked = fresh && my_checks(r, msg, sizeof(msg));
    int rc = unchecked ? refuse_my(out, "engine", "%s", msg) : 0;
    if (rc == 0 && (ours(r, set, out) || ours(r, "START TRANSACTION READ ONLY", out) ||
                    explain(r, sql, lim, out, &estimate)))
        rc = -1;
    if (rc == 0) {
        double left = sec - (cq_clock_mono_sec() - t0);
        snprintf(set, sizeof(set), "SET SESSION max_statement_time = %.3f",
                 left > 0.001 ? left : 0.001);
        double t1 = cq_clock_mono_sec();
        rc = ours(r, set, out) || run(r, sql, lim, out) ? -1 : 0;
        /* a statement the time limit interrupted may still end without an error (BENCHMARK
         * then returns 0): an answer that took its whole time is not trusted */
        if (rc == 0 && cq_clock_mono_sec() - t1 >= left - 0.01) {
            store_ro_result_free(out);
            out->rows = 0;
            out->truncated = false;
            rc = refuse_my(out, "timeout", "cut off");
        }
    }
    /* always: the transaction ended, the session as it was (user variables, GET_LOCK locks) */
    bool lost = mysql_query(r->m, "ROLLBACK") || mysql_reset_connection(r->m);
    store_ro_watch_stop(&w);
    if (w.cut && r->killed) { /* the server runs, but did not stop it: this connection waits
                                 for its end */
        r->abandoned = r->thread;
        r->abandoned_at = cq_clock_mono_sec();
    }
    if (w.cut || lost || unchecked)
        my_drop(r); /* made again, and checked again, at the next query */
    if (rc && (w.fired || w.cut))
        return refuse_my(out, "timeout", "cut off after its %.1f s by the watchdog (%s)", sec,
                         w.cut ? "the server did not stop it, at its limit nor at KILL QUERY: "
                                 "the connection was shut, and the server may still be running it"
                               : "KILL QUERY");
    if (rc && !strcmp(out->layer, "timeout"))
        return refuse_my(out, "timeout", "cut off after its %.1f s (max_statement_time)", sec);
    return rc;
}

static void my_close(store_ro *base)
{
    ro_my *r = (ro_my *)base;
    my_drop(r);
    if (r->password) {
        explicit_bzero(r->password, strlen(r->password));
        free(r->password);
    }
    free(r->host);
    free(r->user);
    free(r->db);
    strv_free(r->allow);
    strv_free(r->never);
    free(r);
}

store_ro *store_ro_open_mariadb(const store_ro_my_config *c, char *msg, size_t n)
{
    if (!c || !c->host || !c->user || !c->db || !c->allow || !c->allow[0]) {
        snprintf(msg, n, "the ViciDial source needs a host, a user, a database and an allow-list");
        return NULL;
    }
    ro_my *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(msg, n, "out of memory");
        return NULL;
    }
    r->base.kind = "mariadb";
    r->base.query = my_query;
    r->base.close = my_close;
    r->host = strdup(c->host);
    r->user = strdup(c->user);
    r->password = strdup(c->password ? c->password : "");
    r->db = strdup(c->db);
    r->port = c->port ? c->port : 3306;
    r->primary = c->primary;
    r->allow = strv_dup2(c->allow, NULL);
    r->never = strv_dup2(store_ro_vicidial_never, c->never);
    char why[300];
    if (!r->host || !r->user || !r->password || !r->db || !r->allow || !r->never) {
        snprintf(msg, n, "out of memory");
    } else if (allow_names_never(r, why, sizeof(why))) {
        snprintf(msg, n, "%s", why);
    } else if (my_new(r, msg, n) == 0 && my_checks(r, msg, n) == 0) {
        return &r->base;
    }
    my_close(&r->base);
    return NULL;
}
