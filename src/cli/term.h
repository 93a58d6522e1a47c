/*
 * term.h - text from outside made safe for a terminal (term.c), for every command's output.
 *
 * What a capture, a caller, a dialer, a recording's name or a remote server put in a string (a
 * SIP Call-ID, a reason phrase, a transcript's words, an ASR server's warning) may hold bytes a
 * terminal acts on: ESC and CSI sequences (clear the screen, move the cursor, set the window's
 * title, report to the terminal's input), BEL, a CR that writes over the line, the C1 controls.
 * Every text output of the commands that carries such text goes through these functions, which
 * write each C0 control byte (0x00-0x1f), DEL (0x7f), each C1 control (U+0080-U+009F, as UTF-8
 * or as a lone byte) and each byte that is not part of valid UTF-8 as \xHH; everything else
 * (printable ASCII, valid UTF-8) is written as it is. An ESC sequence loses its ESC, so the
 * terminal prints it as text. docs/network/sip.md, "Text from outside on the terminal".
 *
 * Thread safety: the functions hold no state; each write is one stdio call per piece.
 */
#ifndef CQ_CLI_TERM_H
#define CQ_CLI_TERM_H

#include <stddef.h>
#include <stdio.h>

/* With CQ_TERM_LINES a text of several lines keeps its '\n' and '\t' (a report, an
 * explanation); without, a field is one line: those are escaped too. */
#define CQ_TERM_LINES 1u

/* s (n bytes) escaped into out[0..cap), NUL-terminated, cut before an escape or a character
 * that does not fit. Returns the bytes the whole escaped text needs, its NUL excluded (as
 * snprintf: more than cap - 1 means it was cut). s may be NULL: "". */
size_t cq_cli_term_escape(const char *s, size_t n, unsigned flags, char *out, size_t cap);

/* s escaped onto f (s NULL: nothing). */
void cq_cli_term_put(FILE *f, const char *s, unsigned flags);

/* printf onto f where every %s argument is escaped as a field (its '\n' too), its precision
 * counted in the argument's own bytes (cut at a whole UTF-8 character) and its width in the
 * escaped text's; the format's own text and the other conversions as printf writes them. %n
 * is not taken. Returns the bytes written, or -1. */
int cq_cli_tprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON text (as jansson or the report's writer makes it) onto f with what it may still hold
 * raw inside its strings made escapes: DEL as \u007f, C1 controls (UTF-8 C2 80-C2 9F) as
 * \u0080-\u009f; the same JSON value, safe on a terminal (JSON escapes the C0 bytes itself).
 * A '\n' is added. */
void cq_cli_json_put(FILE *f, const char *json);

#endif
