/*
 * ask_lex.c - the lexical pre-check of a model's SQL (ask.h, docs/ask.md): one SELECT or WITH
 * statement, none of the words of writes, files, locks, sleeps or settings outside its literals.
 *
 * DESIGN: the same text goes to SQLite, PostgreSQL and MariaDB, which split it into tokens in
 * different ways: '#' starts a comment in MariaDB and is an operator in PostgreSQL; "--" needs
 * white space after it in MariaDB; MariaDB's executable comments (slash, star, '!' or "M!") are
 * code there and comments elsewhere; comments nest in PostgreSQL only; $tag$...$tag$ is a string
 * in PostgreSQL and words elsewhere; [...] is a name in SQLite and code (a subscript) in
 * PostgreSQL; a backquote quotes a name in MariaDB and SQLite and is an operator character in
 * PostgreSQL. So the text is read three times, once as each engine reads it, and passes only
 * when every reading passes: the check never has to guess which engine it guards. Within a
 * reading, whether a backslash escapes the next character of a string depends on the server's
 * settings (MariaDB's NO_BACKSLASH_ESCAPES, PostgreSQL's E'...' and
 * standard_conforming_strings): a '...' or "..." must end at the same place either way, or the
 * text is refused.
 *
 * Before any reading: no NUL, no control character but tab, line feed and carriage return, and
 * valid UTF-8. A reading then refuses any byte outside ASCII in code (outside strings, quoted
 * names and comments). Keywords and function names are whole unquoted words, compared without
 * case (ASCII only, whatever the locale); a quoted name is never a keyword, but a quoted name
 * before "(" is still a function. Nothing else is decoded: X'..', 0x.. and E'..' are literals.
 */
#include "ask.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The words refused anywhere in code. */
static const char *const k_keywords[] = {
    "INSERT",   "UPDATE",    "DELETE",    "REPLACE",   "MERGE",      "UPSERT",  "CREATE",
    "DROP",     "ALTER",     "TRUNCATE",  "RENAME",    "GRANT",      "REVOKE",  "SET",
    "CALL",     "DO",        "HANDLER",   "LOCK",      "UNLOCK",     "LOAD",    "COPY",
    "ATTACH",   "DETACH",    "PRAGMA",    "VACUUM",    "ANALYZE",    "REINDEX", "INTO",
    "OUTFILE",  "DUMPFILE",  "EXECUTE",   "PREPARE",   "DEALLOCATE", "BEGIN",   "COMMIT",
    "ROLLBACK", "SAVEPOINT", "RELEASE",   "SHUTDOWN",  "KILL",       "FLUSH",   "RESET",
    "PURGE",    "INSTALL",   "UNINSTALL", "PROCEDURE", "ANALYSE",    "UESCAPE",
};

/* The functions refused (a name before "("); a trailing '*' matches the names it begins. */
static const char *const k_functions[] = {
    /* MariaDB: sleeps, files, locks, replication waits, the lib_mysqludf_sys functions */
    "SLEEP", "BENCHMARK", "LOAD_FILE", "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS",
    "MASTER_POS_WAIT", "MASTER_GTID_WAIT", "SYS_EXEC", "SYS_EVAL",
    /* PostgreSQL: sleeps, files, large objects, settings, other servers, locks, backends,
     * sequences, notifications, queries run from a string */
    "PG_SLEEP*", "PG_READ_FILE", "PG_READ_BINARY_FILE", "PG_LS_*", "PG_STAT_FILE", "LO_*", "LOREAD",
    "LOWRITE", "SET_CONFIG", "DBLINK*", "PG_ADVISORY*", "PG_TRY_ADVISORY*", "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND", "PG_RELOAD_CONF", "PG_ROTATE_LOGFILE", "PG_FILE_WRITE", "NEXTVAL",
    "SETVAL", "PG_NOTIFY", "QUERY_TO_XML*",
    /* SQLite and its shell: extensions, the fts3 pointer trick, large blobs, files */
    "LOAD_EXTENSION", "FTS3_TOKENIZER", "RANDOMBLOB", "ZEROBLOB", "READFILE", "WRITEFILE", "EDIT"};

/* After FOR, these begin a locking clause (FOR UPDATE, FOR SHARE, FOR KEY SHARE, FOR NO KEY
 * UPDATE); FOR alone is ordinary SQL (SUBSTRING(x FROM 1 FOR 2)). */
static const char *const k_after_for[] = {"UPDATE", "SHARE", "KEY", "NO"};

typedef enum reading { R_SQLITE, R_PG, R_MARIADB, R_N } reading;
static const char *const k_reading[R_N] = {"SQLite", "PostgreSQL", "MariaDB"};

typedef enum tok_kind { T_NONE, T_WORD, T_QUOTED, T_STRING, T_NUMBER, T_PUNCT } tok_kind;

typedef struct tok {
    tok_kind kind;
    const char *p; /* a word, a quoted name's inside, a punctuation character */
    size_t len;
} tok;

typedef struct lexer {
    const char *s;
    size_t n, i;
    reading r;
    bool exec; /* inside a MariaDB executable comment (its text is code) */
    char why[160];
} lexer;

/* -1, with why unless a refusal was told already (the first one is told). */
static int fail(lexer *L, const char *fmt, ...)
{
    if (L->why[0])
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->why, sizeof(L->why), fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_word_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_word_char(unsigned char c)
{
    return is_word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static unsigned char at(const lexer *L, size_t i)
{
    return i < L->n ? (unsigned char)L->s[i] : 0;
}

/* The index of the quote q closing a string or name whose text begins at i, or n when it does
 * not close: '' (or "", ``) is a quote inside; with bs, a backslash escapes the next byte. */
static size_t quote_end(const char *s, size_t n, size_t i, char q, bool bs)
{
    while (i < n) {
        if (bs && s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (i + 1 < n && s[i + 1] == q) {
                i += 2;
                continue;
            }
            return i;
        }
        i++;
    }
    return n;
}

/* A '...' or "..." read both ways (backslash escapes or not): where it ends, or -1. */
static int quoted_both_ways(lexer *L, char q, size_t *end)
{
    size_t plain = quote_end(L->s, L->n, L->i + 1, q, false);
    size_t escaped = quote_end(L->s, L->n, L->i + 1, q, true);
    const char *what = q == '\'' ? "string" : "quoted name";
    if (plain >= L->n && escaped >= L->n)
        return fail(L, "an unterminated %s", what);
    if (plain != escaped)
        return fail(L, "a %s whose end depends on backslash escapes", what);
    *end = plain;
    return 0;
}

/* Skip a comment that begins at L->i ("/" "*"); PostgreSQL's nest. */
static int skip_block_comment(lexer *L)
{
    int depth = 0;
    size_t i = L->i;
    while (i < L->n) {
        if (L->s[i] == '/' && at(L, i + 1) == '*') {
            if (depth > 0 && L->r != R_PG) {
                i += 2; /* an opening inside a comment is text, except in PostgreSQL */
                continue;
            }
            depth++;
            i += 2;
        } else if (L->s[i] == '*' && at(L, i + 1) == '/') {
            i += 2;
            if (--depth == 0) {
                L->i = i;
                return 0;
            }
        } else {
            i++;
        }
    }
    return fail(L, "an unterminated comment");
}

/* White space and comments: 0, or -1 with why. */
static int skip_ignored(lexer *L)
{
    for (;;) {
        while (L->i < L->n && is_space(at(L, L->i)))
            L->i++;
        unsigned char c = at(L, L->i), d = at(L, L->i + 1);
        bool line = false;
        if (L->i >= L->n)
            return 0;
        if (c == '-' && d == '-')
            /* MariaDB: a comment only before white space (or the end): "1--1" is 1 - -1 */
            line = L->r != R_MARIADB || L->i + 2 >= L->n || is_space(at(L, L->i + 2));
        else if (c == '#')
            line = L->r == R_MARIADB;
        if (line) {
            /* a comment to the end of the line; PostgreSQL ends it at a carriage return too:
             * every reading does (code seen early is checked, never skipped) */
            while (L->i < L->n && L->s[L->i] != '\n' && L->s[L->i] != '\r')
                L->i++;
            continue;
        }
        if (c == '/' && d == '*') {
            unsigned char e = at(L, L->i + 2), f = at(L, L->i + 3);
            if (L->r == R_MARIADB && (e == '!' || ((e == 'M' || e == 'm') && f == '!'))) {
                /* an executable comment: its text is code (whatever version number follows
                 * the '!': a newer server would run it) */
                if (L->exec)
                    return fail(L, "an executable comment inside another");
                L->i += e == '!' ? 3 : 4;
                while (L->i < L->n && is_digit(at(L, L->i)))
                    L->i++;
                L->exec = true;
                continue;
            }
            if (L->exec)
                return fail(L, "a comment inside an executable comment");
            if (skip_block_comment(L) != 0)
                return -1;
            continue;
        }
        if (L->exec && c == '*' && d == '/') {
            L->exec = false;
            L->i += 2;
            continue;
        }
        return 0;
    }
}

/* The next token: 1, 0 at the end, -1 with why. */
static int next_token(lexer *L, tok *t)
{
    if (skip_ignored(L) != 0)
        return -1;
    if (L->i >= L->n) {
        if (L->exec)
            return fail(L, "an unterminated comment");
        return 0;
    }
    size_t i = L->i, end = 0;
    unsigned char c = at(L, i);
    t->p = L->s + i;
    t->len = 1;
    t->kind = T_PUNCT;
    if (c == '\'' || c == '"') { /* a string; "..." a name (a string in MariaDB) */
        if (quoted_both_ways(L, (char)c, &end) != 0)
            return -1;
        t->kind = c == '\'' || L->r == R_MARIADB ? T_STRING : T_QUOTED;
        t->p = L->s + i + 1;
        t->len = end - i - 1;
        L->i = end + 1;
        return 1;
    }
    if ((c == '`' && L->r != R_PG) || (c == '[' && L->r == R_SQLITE)) {
        /* a quoted name (`` doubles a backquote; [...] has no escape) */
        if (c == '`') {
            end = quote_end(L->s, L->n, i + 1, '`', false);
        } else {
            const char *e = memchr(L->s + i + 1, ']', L->n - i - 1);
            end = e ? (size_t)(e - L->s) : L->n;
        }
        if (end >= L->n)
            return fail(L, "an unterminated quoted name");
        t->kind = T_QUOTED;
        t->p = L->s + i + 1;
        t->len = end - i - 1;
        L->i = end + 1;
        return 1;
    }
    if (c == '$' && L->r == R_PG) {
        if (is_digit(at(L, i + 1))) { /* a parameter, $1 */
            for (end = i + 1; end < L->n && is_digit(at(L, end));)
                end++;
            t->kind = T_NUMBER;
            t->len = end - i;
            L->i = end;
            return 1;
        }
        /* $tag$ ... $tag$: a string */
        size_t k = i + 1;
        if (is_word_start(at(L, k)))
            while (k < L->n && is_word_char(at(L, k)) && at(L, k) != '$')
                k++;
        if (at(L, k) == '$') {
            size_t tl = k + 1 - i; /* the tag with both dollars */
            for (size_t j = k + 1; j + tl <= L->n; j++)
                if (L->s[j] == '$' && !memcmp(L->s + j, L->s + i, tl)) {
                    t->kind = T_STRING;
                    t->p = L->s + k + 1;
                    t->len = j - k - 1;
                    L->i = j + tl;
                    return 1;
                }
            return fail(L, "an unterminated dollar-quoted string");
        }
        L->i = i + 1; /* a lone dollar */
        return 1;
    }
    if (is_word_start(c) || (c == '$' && L->r != R_PG)) {
        /* a word; MariaDB's and SQLite's may begin with $ */
        for (end = i + 1; end < L->n && is_word_char(at(L, end));)
            end++;
        t->kind = T_WORD;
        t->len = end - i;
        L->i = end;
        return 1;
    }
    if (is_digit(c) || (c == '.' && is_digit(at(L, i + 1)))) {
        /* a number: digits and a point. Letters after it are a word of their own, as
         * PostgreSQL reads "1into" (1 INTO), so that no keyword hides behind digits. */
        for (end = i; end < L->n && (is_digit(at(L, end)) || at(L, end) == '.');)
            end++;
        t->kind = T_NUMBER;
        t->len = end - i;
        L->i = end;
        return 1;
    }
    if (c >= 0x80)
        return fail(L, "a character outside ASCII outside a string");
    L->i = i + 1;
    return 1;
}

/* p[0..len) equals the upper-case ASCII w[0..len) without case, whatever the locale. */
static bool same_upper(const char *p, const char *w, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        char c = p[k] >= 'a' && p[k] <= 'z' ? (char)(p[k] - 'a' + 'A') : p[k];
        if (c != w[k])
            return false;
    }
    return true;
}

static bool word_is(const tok *t, const char *w)
{
    return t->kind == T_WORD && strlen(w) == t->len && same_upper(t->p, w, t->len);
}

static bool in_list(const tok *t, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (word_is(t, list[k]))
            return true;
    return false;
}

/* Is the name (a word or a quoted name) a refused function's? */
static bool refused_function(const char *p, size_t len)
{
    for (size_t k = 0; k < sizeof(k_functions) / sizeof(k_functions[0]); k++) {
        const char *f = k_functions[k];
        size_t fl = strlen(f);
        if (f[fl - 1] == '*') {
            if (len >= fl - 1 && same_upper(p, f, fl - 1))
                return true;
        } else if (len == fl && same_upper(p, f, fl)) {
            return true;
        }
    }
    return false;
}

static void upper_copy(char *out, size_t n, const char *p, size_t len)
{
    size_t k = 0;
    for (; k < len && k + 1 < n; k++)
        out[k] = (p[k] >= 'a' && p[k] <= 'z') ? (char)(p[k] - 'a' + 'A') : p[k];
    out[k] = 0;
}

/* One reading: 0 when it passes, -1 with why. *statements: the statements (runs of tokens
 * between semicolons) counted up to where the reading stopped. */
static int read_as(const char *s, size_t n, reading r, char *why, size_t wn, int *statements)
{
    lexer L = {.s = s, .n = n, .r = r};
    tok t, prev = {.kind = T_NONE};
    bool begun = false, in_statement = false, semicolon = false;
    int rc = 0, k;
    char name[64];
    *statements = 0;
    while ((k = next_token(&L, &t)) > 0) {
        bool is_semicolon = t.kind == T_PUNCT && t.p[0] == ';';
        if (!is_semicolon && !in_statement)
            ++*statements;
        in_statement = !is_semicolon;
        if (rc != 0) /* refused: the rest is only counted */
            continue;
        if (semicolon) /* anything but white space and comments after the semicolon */
            rc = fail(&L, "more than one statement");
        else if (is_semicolon && !begun)
            rc = fail(&L, "the query does not begin with SELECT or WITH");
        semicolon = semicolon || is_semicolon;
        if (rc != 0 || is_semicolon)
            continue;
        if (t.kind == T_WORD) {
            upper_copy(name, sizeof(name), t.p, t.len);
            if (in_list(&t, k_keywords, sizeof(k_keywords) / sizeof(k_keywords[0])))
                rc = fail(&L, "%s outside a string", name);
            else if (word_is(&prev, "FOR") &&
                     in_list(&t, k_after_for, sizeof(k_after_for) / sizeof(k_after_for[0])))
                rc = fail(&L, "a locking clause (FOR %s)", name);
        }
        if (rc == 0 && !begun) { /* SELECT or WITH, after any number of "(" */
            if (word_is(&t, "SELECT") || word_is(&t, "WITH"))
                begun = true;
            else if (!(t.kind == T_PUNCT && t.p[0] == '('))
                rc = fail(&L, "the query does not begin with SELECT or WITH");
        }
        if (rc == 0 && t.kind == T_PUNCT && t.p[0] == '(' &&
            (prev.kind == T_WORD || prev.kind == T_QUOTED)) {
            upper_copy(name, sizeof(name), prev.p, prev.len);
            if (refused_function(prev.p, prev.len))
                rc = fail(&L, "the function %s", name);
            else if (prev.kind == T_QUOTED && memchr(prev.p, '\\', prev.len))
                /* PostgreSQL's U&"pg\005fsleep" is pg_sleep: escapes are not decoded here */
                rc = fail(&L, "a function name with a backslash");
        }
        prev = t;
    }
    if (k < 0)
        rc = -1; /* the lexer's why, unless a refusal came first */
    if (rc == 0 && !begun)
        rc = fail(&L,
                  *statements ? "the query does not begin with SELECT or WITH" : "an empty query");
    if (rc != 0 && why && wn)
        snprintf(why, wn, "%s", L.why);
    return rc;
}

/* Bytes every reading refuses: NUL, control characters, invalid UTF-8. */
static const char *bad_bytes(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == 0)
            return "a NUL byte";
        if ((c < 0x20 && !is_space(c)) || c == 0x7f)
            return "a control character";
        if (c < 0x80) {
            i++;
            continue;
        }
        /* UTF-8: the length from the lead byte, continuation bytes, no overlong form, no
         * surrogate, nothing past U+10FFFF */
        size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (!len || i + len > n)
            return "invalid UTF-8";
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return "invalid UTF-8";
        unsigned char d = s[i + 1];
        if ((c == 0xe0 && d < 0xa0) || (c == 0xed && d > 0x9f) || (c == 0xf0 && d < 0x90) ||
            (c == 0xf4 && d > 0x8f))
            return "invalid UTF-8";
        if (c == 0xc2 && d < 0xa0)
            return "a control character"; /* C1 controls, U+0080-U+009F */
        i += len;
    }
    return NULL;
}

int ask_lex_check_len(const char *sql, size_t len, char *why, size_t n)
{
    if (why && n)
        why[0] = 0;
    if (!sql) {
        if (why && n)
            snprintf(why, n, "an empty query");
        return -1;
    }
    const char *bad = bad_bytes((const unsigned char *)sql, len);
    if (bad) {
        if (why && n)
            snprintf(why, n, "%s", bad);
        return -1;
    }
    /* every reading; the first refusal is told, with the engines whose reading gave it when
     * not all three did */
    char whys[R_N][160];
    int first = -1, count;
    for (int r = 0; r < R_N; r++)
        if (read_as(sql, len, (reading)r, whys[r], sizeof(whys[r]), &count) == 0)
            whys[r][0] = 0;
        else if (first < 0)
            first = r;
    if (first < 0)
        return 0;
    if (why && n) {
        char who[64] = "";
        int same = 0;
        for (int r = 0; r < R_N; r++)
            if (!strcmp(whys[r], whys[first]))
                snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s",
                         same++ ? " and " : "", k_reading[r]);
        if (same == R_N)
            snprintf(why, n, "%s", whys[first]);
        else
            snprintf(why, n, "%s (as %s %s it)", whys[first], who, same > 1 ? "read" : "reads");
    }
    return -1;
}

int ask_lex_check(const char *sql, char *why, size_t n)
{
    return ask_lex_check_len(sql, sql ? strlen(sql) : 0, why, n);
}
