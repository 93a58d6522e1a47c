/*
 * fuzz_asklex.c - libFuzzer harness over POST /ask's lexical pre-check (src/ask/ask_lex.c,
 * compiled in here to reach its readings). Oracles: an accepted text has no NUL and no control
 * character but tab, LF and CR, reads as exactly one statement as SQLite, PostgreSQL and
 * MariaDB each read it, is still accepted with every ASCII letter's case flipped, and is
 * refused with a second statement after it ("\n;SELECT 2"); a refused text says why in a
 * non-empty NUL-terminated message, the same message cut when the buffer is short.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ask/ask_lex.c"
#include "fuzz_must.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    const char *s = (const char *)data;
    char why[200], small[12];
    memset(why, 'x', sizeof(why));
    int rc = ask_lex_check_len(s, size, why, sizeof(why));
    MUST(rc == 0 || rc == -1);
    MUST(memchr(why, 0, sizeof(why)) != NULL);
    if (rc != 0) {
        MUST(why[0] != 0);
        MUST(ask_lex_check_len(s, size, small, sizeof(small)) == -1);
        MUST(strlen(small) < sizeof(small) && !strncmp(small, why, strlen(small)));
        return 0;
    }
    MUST(why[0] == 0);
    for (size_t i = 0; i < size; i++)
        MUST(data[i] >= 0x20 ? data[i] != 0x7f : is_space(data[i]));
    for (int r = 0; r < R_N; r++) {
        int count = -1;
        MUST(read_as(s, size, (reading)r, NULL, 0, &count) == 0);
        MUST(count == 1);
    }
    static const char tail[] = "\n;SELECT 2";
    char *b = malloc(size + sizeof(tail));
    MUST(b != NULL);
    for (size_t i = 0; i < size; i++) { /* every ASCII letter's case flipped */
        unsigned char c = data[i];
        b[i] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? c ^ 0x20 : c);
    }
    MUST(ask_lex_check_len(b, size, NULL, 0) == 0);
    memcpy(b, data, size);
    memcpy(b + size, tail, sizeof(tail));
    MUST(ask_lex_check_len(b, size + sizeof(tail) - 1, why, sizeof(why)) == -1);
    free(b);
    return 0;
}
