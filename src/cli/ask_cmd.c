/*
 * ask_cmd.c - `callqa ask grants`: the MariaDB statements that give POST /ask's ViciDial account
 * exactly the columns of the allow-list (docs/ask.md): column-level SELECT, nothing else, so
 * that the database engine itself refuses any other read. Credential columns cannot be added.
 *
 *   callqa ask grants [--user NAME] [--host HOST] [--db DB] [--allow table.column,...]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ask/ask.h"
#include "cli_args.h"
#include "ask_cmd.h"

/* a name MariaDB takes quoted: letters, digits, _ and $ (and % . - in a host) */
static int plain(const char *s, const char *extra)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '$' || strchr(extra, *p)))
            return 0;
    return 1;
}

typedef struct grant_to {
    const char *user, *host, *db;
} grant_to;

/* One table's GRANT: the whole table for table.*, else its columns. */
static void print_grant(void *u, const char *table, const char *const *cols, size_t n)
{
    const grant_to *to = u;
    bool all = false;
    for (size_t j = 0; j < n; j++)
        all = all || !strcmp(cols[j], "*");
    if (all) {
        printf("GRANT SELECT ON `%s`.`%s` TO '%s'@'%s';\n", to->db, table, to->user, to->host);
        return;
    }
    printf("GRANT SELECT (");
    for (size_t j = 0; j < n; j++)
        printf("%s`%s`", j ? ", " : "", cols[j]);
    printf(") ON `%s`.`%s` TO '%s'@'%s';\n", to->db, table, to->user, to->host);
}

int cq_cli_ask(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "grants")) {
        bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        cq_cli_usage(help ? stdout : stderr, "ask grants");
        return help ? 0 : 2;
    }
    static cfg_settings set; /* none of its own: the table's defaults only */
    cfg_defaults(&set);
    cfg_args a;
    int rc0 = cq_cli_args("ask grants", "callqa ask grants", argc - 1, argv + 1, &set, &a);
    if (rc0 >= 0)
        return rc0;
    const char *user = cfg_arg(&a, "user"), *host = cfg_arg(&a, "host"), *dbn = cfg_arg(&a, "db"),
               *extra = cfg_arg(&a, "allow");
    if (a.next != argc - 1) {
        cq_cli_usage(stderr, "ask grants");
        return 2;
    }
    if (!plain(user, "") || !plain(host, "%.-:") || !plain(dbn, "")) {
        fprintf(stderr, "callqa ask grants: the user, host and database are plain names\n");
        return 2;
    }
    char **allow = NULL, err[300];
    if (ask_allow_list(ask_vicidial_allow_default, extra, &allow, err, sizeof(err)) != 0) {
        fprintf(stderr, "callqa ask grants: %s\n", err);
        return 2;
    }
    printf("-- POST /ask's ViciDial account: SELECT on the allow-listed columns only "
           "(docs/ask.md)\n");
    grant_to to = {user, host, dbn};
    int rc = ask_allow_tables((const char *const *)allow, print_grant, &to);
    ask_allow_free(allow);
    if (rc != 0)
        fprintf(stderr, "callqa ask grants: out of memory\n");
    return rc != 0;
}
