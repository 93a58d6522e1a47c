/*
 * fastagi.c - the lines Asterisk sends a FastAGI server, taken apart one at a time from bytes
 * split anywhere (live.h, "FastAGI"; docs/live.md): the environment ("agi_<name>: <value>" up to
 * an empty line), then the replies to commands ("200 result=1", "510 ...", a "520-" usage text
 * up to its "520 " line) and "HANGUP". One line buffer of max_line bytes, made at create.
 */
#include <stdlib.h>
#include <string.h>

#include "live_int.h"

struct lv_agi_dec {
    lv_agi_params p;
    char *line; /* max_line + 1 */
    size_t n;   /* bytes of the line so far */
    uint64_t off, line_off, lines;
    bool env;       /* reading the environment */
    size_t vars;    /* environment lines read */
    int usage_code; /* in a "NNN-" usage text: its code; else 0 */
    size_t usage_lines;
    uint64_t usage_off;
    char usage_first[128]; /* the usage text's first line (its data) */
    bool hangup;           /* "HANGUP" came: nothing may follow */
    lv_error err;
};

lv_agi_params lv_agi_default_params(void)
{
    lv_agi_params p = {.max_line = 2048, .max_vars = 256};
    return p;
}

lv_agi_dec *lv_agi_create(const lv_agi_params *p, int *err)
{
    int e = LV_OK;
    lv_agi_dec *d = NULL;
    if (!p || p->max_line < 16 || p->max_line > 65536 || p->max_vars < 1 || p->max_vars > 4096)
        e = LV_ERR_ARG;
    else if (!(d = calloc(1, sizeof(*d))) || !(d->line = malloc(p->max_line + 1))) {
        free(d);
        d = NULL;
        e = LV_ERR_NOMEM;
    }
    if (err)
        *err = e;
    if (!d)
        return NULL;
    d->p = *p;
    lv_agi_reset(d);
    return d;
}

void lv_agi_destroy(lv_agi_dec *d)
{
    if (!d)
        return;
    free(d->line);
    free(d);
}

void lv_agi_reset(lv_agi_dec *d)
{
    d->n = 0;
    d->off = d->line_off = d->lines = 0;
    d->env = true;
    d->vars = 0;
    d->usage_code = 0;
    d->usage_lines = 0;
    d->usage_first[0] = 0;
    d->hangup = false;
    lv__clear(&d->err);
}

const lv_error *lv_agi_last_error(const lv_agi_dec *d)
{
    return &d->err;
}

bool lv_agi_in_env(const lv_agi_dec *d)
{
    return d->env;
}

uint64_t lv_agi_lines(const lv_agi_dec *d)
{
    return d->lines;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* An environment line: "agi_<name>: <value>", name of [a-z0-9_]. */
static int env_line(lv_agi_dec *d, char *s, lv_agi_msg *out)
{
    if (d->vars >= d->p.max_vars)
        return lv__fail(&d->err, LV_ERR_AGI_VARS, d->line_off, "more than %zu environment lines",
                        d->p.max_vars);
    if (strncmp(s, "agi_", 4) != 0)
        return lv__fail(&d->err, LV_ERR_AGI_VAR, d->line_off,
                        "an environment line that does not start with agi_");
    size_t k = 4;
    while ((s[k] >= 'a' && s[k] <= 'z') || is_digit(s[k]) || s[k] == '_')
        k++;
    if (k == 4 || s[k] != ':' || s[k + 1] != ' ')
        return lv__fail(&d->err, LV_ERR_AGI_VAR, d->line_off,
                        "an environment line not \"agi_<name>: <value>\"");
    s[k] = 0;
    d->vars++;
    out->kind = LV_AGI_VAR;
    out->name = s;
    out->value = s + k + 2;
    return 1;
}

/* A reply line "NNN[ -]text"; 200 carries "result=<n>[ data]". */
static int reply_line(lv_agi_dec *d, char *s, lv_agi_msg *out)
{
    bool code_ok = is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && s[0] >= '1' &&
                   s[0] <= '5' && (s[3] == ' ' || s[3] == '-' || s[3] == 0);
    int code = code_ok ? (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0') : 0;
    if (d->usage_code) { /* inside a usage text: any line, until "<code> " ends it */
        if (++d->usage_lines > d->p.max_vars)
            return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->usage_off,
                            "a usage text of more than %zu lines", d->p.max_vars);
        if (!code_ok || code != d->usage_code || s[3] == '-')
            return 0;
        out->kind = LV_AGI_REPLY;
        out->offset = d->usage_off;
        out->code = code;
        out->data = d->usage_first;
        d->usage_code = 0;
        return 1;
    }
    if (!code_ok)
        return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->line_off,
                        "a reply that does not start with a 3-digit code");
    const char *t = s[3] ? s + 4 : s + 3;
    if (s[3] == '-' && code == 200)
        return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->line_off, "a 200 reply of many lines");
    if (s[3] == '-') { /* a usage text begins */
        d->usage_code = code;
        d->usage_lines = 1;
        d->usage_off = d->line_off;
        size_t l = strlen(t);
        if (l >= sizeof(d->usage_first))
            l = sizeof(d->usage_first) - 1;
        memcpy(d->usage_first, t, l);
        d->usage_first[l] = 0;
        return 0;
    }
    out->kind = LV_AGI_REPLY;
    out->code = code;
    out->data = t;
    if (strncmp(t, "result=", 7) == 0) {
        const char *v = t + 7;
        bool neg = *v == '-';
        v += neg;
        if (!is_digit(*v))
            return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->line_off, "result= without a number");
        long r = 0;
        for (int digits = 0; is_digit(*v); v++, digits++) {
            if (digits >= 18)
                return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->line_off,
                                "result= with a number too long");
            r = r * 10 + (*v - '0');
        }
        if (*v && *v != ' ')
            return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->line_off,
                            "result=<n> followed by more than a space and data");
        out->has_result = true;
        out->result = neg ? -r : r;
        out->data = *v ? v + 1 : v;
    } else if (code == 200) {
        return lv__fail(&d->err, LV_ERR_AGI_REPLY, d->line_off, "a 200 reply without result=");
    }
    return 1;
}

/* One whole line (NUL-terminated, its end dropped). */
static int one_line(lv_agi_dec *d, lv_agi_msg *out)
{
    char *s = d->line;
    memset(out, 0, sizeof(*out));
    out->offset = d->line_off;
    out->name = out->value = out->data = "";
    d->lines++;
    if (d->hangup)
        return lv__fail(&d->err, LV_ERR_AGI_AFTER, d->line_off, "a line after HANGUP");
    if (d->env) {
        if (!*s) {
            d->env = false;
            out->kind = LV_AGI_ENV_END;
            return 1;
        }
        return env_line(d, s, out);
    }
    if (!d->usage_code && strcmp(s, "HANGUP") == 0) {
        d->hangup = true;
        out->kind = LV_AGI_HANGUP;
        return 1;
    }
    return reply_line(d, s, out);
}

int lv_agi_next(lv_agi_dec *d, const uint8_t *data, size_t n, size_t *used, lv_agi_msg *out)
{
    *used = 0;
    if (d->err.code != LV_OK)
        return LV_ERR_FAILED;
    if (n && !data)
        return LV_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = data[i];
        if (d->n == 0)
            d->line_off = d->off;
        d->off++;
        if (b == '\n') {
            *used = i + 1;
            if (d->n && d->line[d->n - 1] == '\r')
                d->n--;
            d->line[d->n] = 0;
            d->n = 0;
            int r = one_line(d, out);
            if (r != 0)
                return r;
            continue;
        }
        if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
            *used = i + 1;
            return lv__fail(&d->err, LV_ERR_AGI_BYTE, d->line_off, "byte 0x%02x within a line",
                            (unsigned)b);
        }
        if (d->n >= d->p.max_line + (b == '\r')) {
            *used = i + 1;
            return lv__fail(&d->err, LV_ERR_AGI_LINE, d->line_off, "a line longer than %zu bytes",
                            d->p.max_line);
        }
        if (d->n && d->line[d->n - 1] == '\r') {
            *used = i + 1;
            return lv__fail(&d->err, LV_ERR_AGI_BYTE, d->line_off, "a CR within a line");
        }
        d->line[d->n++] = (char)b;
    }
    *used = n;
    return 0;
}

size_t lv_agi_set_variable(char *out, size_t cap, const char *name, const char *value, bool quote)
{
    if (!out || !name || !value)
        return 0;
    size_t nl = strlen(name), vl = strlen(value);
    if (nl < 1 || nl > 64 || vl > 256 || (!quote && vl == 0))
        return 0;
    for (size_t i = 0; i < nl; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_'))
            return 0;
    }
    for (size_t i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || (!quote && c == ' '))
            return 0;
    }
    size_t q = quote ? 2 : 0,
           need = 13 + nl + 1 + vl + q + 1; /* "SET VARIABLE " name ' ' value \n */
    if (need + 1 > cap)
        return 0;
    size_t k = 0;
    memcpy(out, "SET VARIABLE ", 13);
    k = 13;
    memcpy(out + k, name, nl);
    k += nl;
    out[k++] = ' ';
    if (quote)
        out[k++] = '"';
    memcpy(out + k, value, vl);
    k += vl;
    if (quote)
        out[k++] = '"';
    out[k++] = '\n';
    out[k] = 0;
    return k;
}
