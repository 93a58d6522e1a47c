/*
 * vader_probe.c - callqa's VADER (src/scoring/sc_vader.c) on texts, for test_vader.mjs: reads
 * the lexicon file and a JSON array of strings, prints a JSON array of [compound, neg, neu, pos]
 * at full precision, one per text, in the same order.
 *   usage: vader_probe vader_lexicon.txt texts.json
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../../src/scoring/scoring.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (size_t k; b && (k = fread(b + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vader_probe vader_lexicon.txt texts.json\n");
        return 2;
    }
    size_t len = 0;
    char *lex = slurp(argv[1], &len), err[300];
    if (!lex) {
        fprintf(stderr, "vader_probe: cannot read %s\n", argv[1]);
        return 1;
    }
    sc_vader *v = sc_vader_parse(lex, len, err, sizeof(err));
    free(lex);
    if (!v) {
        fprintf(stderr, "vader_probe: %s: %s\n", argv[1], err);
        return 1;
    }
    json_error_t je;
    json_t *texts = json_load_file(argv[2], JSON_ALLOW_NUL, &je);
    if (!json_is_array(texts)) {
        fprintf(stderr, "vader_probe: %s: not a JSON array of strings (%s)\n", argv[2], je.text);
        sc_vader_free(v);
        return 1;
    }
    fprintf(stderr, "vader_probe: lexicon of %zu entries, version %s, sha256 %s\n",
            sc_vader_size(v), sc_vader_version(v), sc_vader_sha256(v));
    size_t i;
    json_t *t;
    int rc = 0;
    putchar('[');
    json_array_foreach(texts, i, t)
    {
        sc_vader_scores s;
        if (!json_is_string(t) ||
            sc_vader_score(v, json_string_value(t), json_string_length(t), &s) != 0) {
            fprintf(stderr, "vader_probe: text %zu: not a string, or out of memory\n", i);
            rc = 1;
            break;
        }
        printf("%s[%.17g,%.17g,%.17g,%.17g]", i ? "," : "", s.compound, s.neg, s.neu, s.pos);
    }
    puts("]");
    json_decref(texts);
    sc_vader_free(v);
    return rc;
}
