/*
 * js.h - a JSON-Schema checker for callqa's own schemas (the answers it asks an LLM for),
 * restricted to the subset that OpenAI's strict structured outputs and Gemini's
 * responseJsonSchema both accept:
 *
 *   type         "object", "array", "string", "number", "integer", "boolean", "null", or an
 *                array of them (["string", "null"]: a field that may be empty)
 *   properties   with additionalProperties: false and every property listed in required
 *                (strict mode's rule: optional fields are nullable instead)
 *   items        one schema for every element
 *   enum         scalars
 *   minimum, maximum (numbers), minItems, maxItems (arrays), maxLength (strings, in
 *                characters), description
 *
 * Nothing else ($ref, anyOf, pattern, format, ...) is accepted by js_schema_supported, so a
 * schema that passes it means the same thing to the checker and to the providers. Limits:
 * 10 levels of nesting, 1000 properties and 1000 enum values in all.
 *
 * Some providers accept the subset's structure but not all of its bounds (Anthropic's JSON
 * outputs take no minimum/maximum/maxLength/minItems/maxItems; OpenAI's strict mode takes no
 * maxLength): js_wire_schema gives the copy to send, the bounds moved into the description, and
 * the answer is still checked here against the full schema.
 *
 * Beside the checker, js_fit holds a JSON value to a size, cutting its longest parts (js_fit.c).
 *
 * It calls no other room: jansson only. It is on the ground floor because it knows no provider
 * and no HTTP: the LLM client (src/clients/llm.c) checks its schemas and every answer with it,
 * and it is tested on its own (tests/schema/test_schema.c).
 *
 * Thread safety: pure functions.
 */
#ifndef CQ_JS_H
#define CQ_JS_H

#include <jansson.h>
#include <stddef.h>

/* Is schema inside the subset above? 0, or -1 with err naming the place ("$.properties.x:
 * 'pattern' is not supported"). */
int js_schema_supported(const json_t *schema, char *err, size_t errsz);

/* Does instance follow schema? 0, or -1 with err naming the first fault by its JSON path:
 * "$.categories.greeting.score: 7 is above the maximum 5". A schema outside the subset gives
 * -1 too ("... is not supported"). */
int js_check(const json_t *schema, const json_t *instance, char *err, size_t errsz);

/* What js_wire_schema leaves out. */
#define JS_DROP_BOUNDS 1u /* minimum, maximum */
#define JS_DROP_LENGTH 2u /* maxLength */
#define JS_DROP_ITEMS 4u  /* minItems, maxItems */

/* A deep copy of schema without the keywords of `drop` (a mask of JS_DROP_*), each one dropped
 * named in its schema's description instead ("(minimum 1, maximum 5)"). New reference, or NULL
 * (out of memory). */
json_t *js_wire_schema(const json_t *schema, unsigned drop);

/* ---- a JSON value held to a size (js_fit.c) -------------------------------------------------
 * For data given to an LLM within its context (docs/llm.md "Every prompt within the context"):
 * the report of GET /ai-analyze, a round's rows of POST /ask. */

/* Cut v in place until json_dumpb(v, flags) is at most max_bytes: each time the largest part is
 * cut, an array of two items or more losing items from its end (its first kept), or a string of
 * 64 bytes or more its tail (" [... N bytes left out]" in its place); an array of one item only
 * when nothing else is left. What was cut is added up in counts (an object, or NULL), by the
 * part's path ("events", "conversation.overtalk.spans", "rows[]", "." for v itself), as
 * {"items": {path: n}, "bytes": {path: n}}; counts may be inside v (it is never cut). 0 when it
 * fits; -1 when it cannot be made to (what is left cannot be cut: short strings, scalars,
 * objects' keys) or out of memory, v then cut as far as it went. */
int js_fit(json_t *v, size_t max_bytes, size_t flags, json_t *counts);

#endif /* CQ_JS_H */
