#!/usr/bin/env python3
"""fake_llm.py - a protocol-faithful fake of three LLM providers' HTTP APIs for callqa's tests.

    fake_llm.py --log DIR --port-file F [--key KEY] [--model M] [--scenario FILE]
                [--transcript FILE] [--sleep SEC]

It listens on 127.0.0.1 (port 0: the kernel picks one), writes the port to F (F.tmp, then a
rename), and serves until SIGTERM or SIGINT, then exits 0. Python 3 standard library only. One
server speaks all three protocols, told apart by the path:

  anthropic  POST /v1/messages                                  (base URL: http://H:P)
  openai     POST /v1/chat/completions                          (base URL: http://H:P/v1)
  gemini     POST /v1beta/models/{model}:generateContent        (base URL: http://H:P)

What it asserts of each request (a violation is logged, the request is still answered)
  anthropic  x-api-key = KEY (with --key), anthropic-version: 2023-06-01, a JSON content type;
             model = M (with --model); max_tokens an integer >= 1; system a string when there;
             messages non-empty, roles user/assistant alternating from user, content a string or
             blocks of type text / tool_use {id, name, input object} / tool_result {tool_use_id};
             every tool_result answers a tool_use of the turn before; tools [{name,
             description, input_schema}]; the answer schema, when sent, in
             output_config.format {type: json_schema, schema} and nowhere else.
  openai     Authorization: Bearer KEY (with --key; none without); model; messages with roles
             system (first only) / user / assistant / tool, a tool turn's tool_call_id one of
             the assistant's tool_calls; tools [{type: function, function: {name, description,
             parameters}}]; the schema in response_format {type: json_schema, json_schema:
             {name, strict: true, schema}}.
  gemini     x-goog-api-key = KEY; the model in the path; contents with roles user/model
             alternating from user, parts of text / functionCall {name, args} /
             functionResponse {name, response object}; systemInstruction.parts[0].text;
             generationConfig.maxOutputTokens; tools [{functionDeclarations: [{name,
             description, parametersJsonSchema}]}]; the schema in generationConfig
             {responseMimeType: application/json, responseJsonSchema}.
  Every schema sent: every object has additionalProperties: false and lists every property in
  required (strict mode).
  Without --transcript, a `valid` answer quotes the utterances of the first user turn's data
  block (lines "[start-end] speaker: words"), as a model reading the prompt would.
  With --transcript FILE (JSON [{speaker, start, end, text}]): the first user turn holds
  exactly one <transcript-NONCE> ... </transcript-NONCE> block (NONCE: 16 hex digits), every
  utterance's text (its brackets as guillemets and its line breaks as spaces, as callqa sends
  it) lies inside the block, and no run of 4 words of any utterance appears outside it, in the
  system prompt, or after the closing delimiter (only white space may follow it).

What it answers: the scenario (--scenario FILE, else $FAKE_LLM_SCENARIO, a JSON object
{"anthropic": [KIND...], "openai": [...], "gemini": [...], "*": [...]}): each provider's
requests take its list's kinds in order ("*" for a provider without a list); past the end,
`valid`. KINDs:
  valid          an answer that follows the schema received (for a scoring schema: every score
                 the scale's lowest + 1, evidence quoting the first 3 words of the transcript's
                 first agent line with its times); no schema: the text "plain answer".
  429            HTTP 429, Retry-After: 1, the provider's rate-limit error body.
  500            HTTP 500 (Anthropic: 529 overloaded_error, as it sends when overloaded).
  timeout        no answer for --sleep seconds (default 5), then `valid`.
  refusal        anthropic stop_reason refusal; openai message.refusal with finish_reason stop;
                 gemini no candidates and promptFeedback.blockReason SAFETY.
  truncated      cut JSON; stop_reason max_tokens / finish_reason length / MAX_TOKENS.
  malformed      "{not json" as the answer's text.
  schema_invalid JSON without the schema's required properties ({"summary": "x"}).
  out_of_range   a valid answer whose scores are the scale's highest + 2.
  bad_quotes     a valid answer whose quotes were never said.
  A scoring answer's `summary` and `sentiment` (when the schema asks them) are made from the
  transcript: 2 sentences, outcome resolved, the reason backed by the customer's first words and
  the outcome by the agent's last; per speaker, per quarter (the figures' duration, else the
  last line's end, in 4; a line in the quarter of its midpoint) the first 3 words of their
  first line there, the agent +2, the customer +1 then -3. These kinds spoil one thing:
  summary_bad_quote    the reason's quote never said
  summary_sentences    5 sentences
  summary_outcome      the outcome "escalated"
  summary_unbacked     no quote backs the outcome
  sentiment_bad_quote  the customer's first figure quotes words never said
  sentiment_speaker    the customer's first figure quotes the agent's words
  sentiment_quarter    the customer's first figure names the next quarter
  sentiment_range      the agent's first figure 7, the customer's first -6
  sentiment_none       every figure 9
  facts          (POST /investigate) a sentence citing the first finding's code and the first
                 dialog's final status of the facts JSON in the first user turn.
  invented       the same with a figure the facts do not hold (37.25 %).
  tool_call      a call of the request's first tool, arguments {"query": "balance"}.
  html           200 text/html.
Usage: every answer counts 1000 input and 200 output tokens (in the provider's fields).

POST /ask: with --ask-plan FILE, a request whose current question FILE holds is answered by its
plan (tests/clients/fake_ask.py: data requests as <data_request> blocks or tool calls, round by
round, then the plan's answer; what it received is recorded under "ask").

What it records (DIR)
  requests.jsonl  one JSON object per request: n, provider, path, kind (the scenario's),
                  status, violations (strings), block (the transcript check: "ok", "absent" or
                  null without --transcript), has_schema, has_tools, turns (roles, in order),
                  tool_result (the ids/names of tool results received), repair (a turn after
                  the first assistant turn tells what was wrong), auth (ok, missing, wrong or
                  not_required; never the key).
  body-NNNN.json  with --save-bodies: each request's body as received (tests search them).
"""
import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_ask  # noqa: E402  (POST /ask's plans, beside this file)

NONCE = re.compile(r"<transcript-([a-p]{16})>")
USAGE_IN, USAGE_OUT = 1000, 200
KINDS = ("valid", "429", "500", "timeout", "refusal", "truncated", "malformed", "schema_invalid",
         "facts", "invented",
         "out_of_range", "bad_quotes", "tool_call", "html") + \
    ("summary_bad_quote", "summary_sentences", "summary_outcome", "summary_unbacked",
     "sentiment_bad_quote", "sentiment_speaker", "sentiment_quarter", "sentiment_range",
     "sentiment_none")
SUMMARY_KINDS = tuple(k for k in KINDS if k.startswith(("summary_", "sentiment_")))


def inert(text):
    """the data text as callqa sends it inside the block"""
    out = []
    for ch in text:
        if ch == "<":
            out.append("\u2039")
        elif ch == ">":
            out.append("\u203a")
        elif ch in "\n\r\t":
            out.append(" ")
        elif ord(ch) >= 0x20 and ord(ch) != 0x7F:
            out.append(ch)
    return "".join(out)


class State:
    def __init__(self, args):
        self.args = args
        self.ask_plans, self.ask_mtime = None, None
        self.reload_plans()
        self.lock = threading.Lock()
        self.n = 0
        self.pos = {}
        path = args.scenario or os.environ.get("FAKE_LLM_SCENARIO")
        self.scenario = {}
        if path:
            with open(path) as f:
                self.scenario = json.load(f)
        for lst in self.scenario.values():
            for k in lst:
                if k not in KINDS:
                    raise SystemExit(f"fake_llm: unknown kind {k}")
        self.transcript = None
        if args.transcript:
            with open(args.transcript) as f:
                self.transcript = json.load(f)
        self.log = open(os.path.join(args.log, "requests.jsonl"), "a")
        self.saved = 0

    def reload_plans(self):
        """the /ask plans, read again when the file changed (a test may write new ones)"""
        if not self.args.ask_plan:
            return
        m = os.stat(self.args.ask_plan).st_mtime_ns
        if m != self.ask_mtime:
            with open(self.args.ask_plan) as f:
                self.ask_plans = json.load(f)
            self.ask_mtime = m

    def next_kind(self, provider):
        with self.lock:
            self.n += 1
            lst = self.scenario.get(provider, self.scenario.get("*", []))
            i = self.pos.get(provider, 0)
            self.pos[provider] = i + 1
            return self.n, (lst[i] if i < len(lst) else "valid")

    def write(self, rec):
        with self.lock:
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()


# ---- the schema: strictness, and answers made from it --------------------------------------

def strict_violations(s, path="$"):
    v = []
    if not isinstance(s, dict):
        return [f"{path}: a schema is not an object"]
    t = s.get("type")
    types = t if isinstance(t, list) else [t]
    if "object" in types:
        props = s.get("properties")
        if not isinstance(props, dict):
            v.append(f"{path}: an object without properties")
            props = {}
        if s.get("additionalProperties") is not False:
            v.append(f"{path}: additionalProperties is not false")
        if sorted(s.get("required", [])) != sorted(props):
            v.append(f"{path}: required does not list every property")
        for k, p in props.items():
            v += strict_violations(p, f"{path}.{k}")
    if "array" in types:
        v += strict_violations(s.get("items"), f"{path}[]")
    return v


def bound(s, name):
    if name in s:
        return s[name]
    m = re.search(name + r" (-?[0-9.]+)", s.get("description", ""))
    return float(m.group(1)) if m else None


def first_agent(transcript):
    for u in transcript or []:
        if u["speaker"] == "agent" and len(u["text"].split()) >= 3:
            return u
    return None


DURATION = [None]  # the call's duration the answer is made for (the figures' block, else the
                   # last line's end): set by answer_text before make()


def quarter(u, duration):
    """the quarter of a line, as callqa counts it: the one holding its midpoint"""
    q = int((u["start"] + u["end"]) / 2 * 4 // duration) + 1
    return min(4, max(1, q))


def words3(u):
    return " ".join(u["text"].split()[:3])


def make_summary(tr, mode):
    """a summary as a careful model would write it: 2 sentences, the reason backed by the
    customer's first words, the outcome by the agent's last; mode spoils one thing"""
    tr = tr or []
    cust = [u for u in tr if u["speaker"] == "customer" and len(u["text"].split()) >= 3]
    agent = [u for u in tr if u["speaker"] == "agent" and len(u["text"].split()) >= 3]
    quotes = []
    if cust:
        quotes.append({"speaker": "customer", "start": cust[0]["start"], "end": cust[0]["end"],
                       "quote": words3(cust[0]), "backs": "reason"})
    if agent:
        quotes.append({"speaker": "agent", "start": agent[-1]["start"], "end": agent[-1]["end"],
                       "quote": words3(agent[-1]), "backs": "outcome"})
    text = ("The customer called about a lost debit card. "
            "The agent replaced the card and the call ended politely.")
    outcome = "resolved"
    if mode == "summary_bad_quote" and quotes:
        quotes[0]["quote"] = "my account was hacked"
    elif mode == "summary_sentences":
        text = ("The customer called. They had lost a card. The agent checked who they were. "
                "A new card was ordered. The call ended.")
    elif mode == "summary_outcome":
        outcome = "escalated"
    elif mode == "summary_unbacked":
        quotes = [q for q in quotes if q["backs"] == "reason"]
    return {"text": text, "reason": "a lost debit card", "outcome": outcome, "quotes": quotes}


def make_sentiment(tr, mode, names):
    """per speaker, per quarter where they speak: a figure and the first 3 words of their first
    line there (the agent +2 throughout; the customer +1 first, then -3); mode spoils the
    customer's first figure (or the agent's, for the range)"""
    tr = tr or []
    d = DURATION[0] or max([u["end"] for u in tr] or [1.0])
    out = []
    for name in names:
        seen, figs = set(), []
        for u in tr:
            if u["speaker"] != name or not u["text"].split():
                continue
            q = quarter(u, d)
            if q in seen:
                continue
            seen.add(q)
            v = 2 if name != "customer" else (1 if not figs else -3)
            figs.append({"quarter": q, "value": v, "quote": words3(u), "start": u["start"],
                         "end": u["end"]})
        if figs:
            out.append({"speaker": name, "quarters": figs})
    cust = next((e["quarters"] for e in out if e["speaker"] == "customer"), [])
    agent = next((e["quarters"] for e in out if e["speaker"] == "agent"), [])
    if mode == "sentiment_bad_quote" and cust:
        cust[0]["quote"] = "this is an outrage"
    elif mode == "sentiment_speaker" and cust and agent:
        a = next((u for u in tr if u["speaker"] == "agent"), None)
        cust[0].update({"quote": words3(a), "start": a["start"], "end": a["end"]})
    elif mode == "sentiment_quarter" and cust:
        cust[0]["quarter"] = cust[0]["quarter"] + 1 if cust[0]["quarter"] < 4 else 3
    elif mode == "sentiment_range":
        if agent:
            agent[0]["value"] = 7
        if cust:
            cust[0]["value"] = -6
    elif mode == "sentiment_none":
        for e in out:
            for f in e["quarters"]:
                f["value"] = 9
    return {"speakers": out}


def make(s, tr, mode, key=""):
    """an instance of schema s; mode: valid, out_of_range, bad_quotes"""
    t = s.get("type")
    t = [x for x in t if x != "null"][0] if isinstance(t, list) else t
    if "enum" in s:
        return s["enum"][0]
    if t == "object":
        props = s.get("properties", {})
        if set(props) >= {"speaker", "start", "end", "quote"}:
            u = first_agent(tr)
            if mode == "bad_quotes" or not u:
                return {"speaker": "agent", "start": 1.0, "end": 2.0,
                        "quote": "we never say these words"}
            return {"speaker": "agent", "start": u["start"], "end": u["end"],
                    "quote": " ".join(u["text"].split()[:3])}
        if key == "summary" and set(props) >= {"text", "reason", "outcome", "quotes"}:
            return make_summary(tr, mode)
        if key == "sentiment" and set(props) == {"speakers"}:
            names = props["speakers"]["items"]["properties"]["speaker"].get("enum", [])
            return make_sentiment(tr, mode, names)
        return {k: make(p, tr, mode, k) for k, p in props.items()}
    if t == "array":
        n = 1 if s.get("maxItems", 1) >= 1 else 0
        return [make(s["items"], tr, mode) for _ in range(n)]
    if t in ("integer", "number"):
        lo, hi = bound(s, "minimum"), bound(s, "maximum")
        if mode == "out_of_range" and key == "score" and hi is not None:
            return int(hi) + 2
        if key == "score" and lo is not None:
            return int(lo) + 1
        v = lo if lo is not None else 0
        return int(v) if t == "integer" else float(v)
    if t == "boolean":
        return True
    if t == "string":
        return {"reason": "the agent asked", "summary": "a short call"}.get(key, "text")
    return None


# ---- the requests' shapes ----------------------------------------------------------------------

def alternate(roles, first, second, v, what):
    if not roles:
        v.append(f"{what}: no turns")
        return
    if roles[0] != first:
        v.append(f"{what}: the first turn is {roles[0]}, not {first}")
    for a, b in zip(roles, roles[1:]):
        if a == b:
            v.append(f"{what}: two {a} turns in a row")
    for r in roles:
        if r not in (first, second):
            v.append(f"{what}: unknown role {r}")


def check_anthropic(h, body, args, v, info):
    key = h.get("x-api-key")
    info["auth"] = "not_required" if not args.key else ("ok" if key == args.key else
                                                       "missing" if key is None else "wrong")
    if args.key and key != args.key:
        v.append("x-api-key is not the key")
    if h.get("anthropic-version") != "2023-06-01":
        v.append("anthropic-version is not 2023-06-01")
    if "response_format" in body or "generationConfig" in body:
        v.append("another provider's schema field")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        v.append("max_tokens is not an integer >= 1")
    if "system" in body and not isinstance(body["system"], str):
        v.append("system is not a string")
    msgs = body.get("messages") or []
    alternate([m.get("role") for m in msgs], "user", "assistant", v, "messages")
    user_texts, prev_ids = [], set()
    for m in msgs:
        c = m.get("content")
        blocks = [{"type": "text", "text": c}] if isinstance(c, str) else c
        if not isinstance(blocks, list) or not blocks:
            v.append("a message without content")
            continue
        ids = set()
        for b in blocks:
            ty = b.get("type")
            if ty == "text":
                if not isinstance(b.get("text"), str) or not b["text"]:
                    v.append("an empty text block")
                elif m.get("role") == "user":
                    user_texts.append(b["text"])
            elif ty == "tool_use" and m.get("role") == "assistant":
                if not (b.get("id") and b.get("name") and isinstance(b.get("input"), dict)):
                    v.append("a tool_use block without id, name and input")
                ids.add(b.get("id"))
            elif ty == "tool_result" and m.get("role") == "user":
                info["tool_result"].append(b.get("tool_use_id"))
                if b.get("tool_use_id") not in prev_ids:
                    v.append("a tool_result answers no tool_use of the turn before")
            else:
                v.append(f"a block of type {ty} in a {m.get('role')} turn")
        prev_ids = ids
    for t in body.get("tools", []):
        if not (t.get("name") and "description" in t and isinstance(t.get("input_schema"), dict)):
            v.append("a tool without name, description and input_schema")
    schema = None
    oc = body.get("output_config")
    if oc is not None:
        f = oc.get("format", {})
        if f.get("type") != "json_schema" or not isinstance(f.get("schema"), dict):
            v.append("output_config.format is not {type: json_schema, schema}")
        schema = f.get("schema")
    return body.get("system", ""), user_texts, schema, [m.get("role") for m in msgs]


def check_openai(h, body, args, v, info):
    auth = h.get("authorization")
    want = f"Bearer {args.key}" if args.key else None
    info["auth"] = "not_required" if not args.key else ("ok" if auth == want else
                                                       "missing" if auth is None else "wrong")
    if auth != want:
        v.append("Authorization is not the Bearer key" if args.key else
                 "an Authorization header without a key")
    if "output_config" in body or "generationConfig" in body:
        v.append("another provider's schema field")
    msgs = body.get("messages") or []
    system, user_texts, roles, call_ids = "", [], [], set()
    for i, m in enumerate(msgs):
        r = m.get("role")
        if r == "system":
            if i:
                v.append("a system turn that is not the first")
            system = m.get("content", "")
            continue
        roles.append(r)
        if r == "user":
            if not isinstance(m.get("content"), str):
                v.append("a user turn without text")
            else:
                user_texts.append(m["content"])
        elif r == "assistant":
            for c in m.get("tool_calls") or []:
                f = c.get("function", {})
                if c.get("type") != "function" or not isinstance(f.get("arguments"), str):
                    v.append("a tool call that is not {type: function, function: {name, arguments}}")
                call_ids.add(c.get("id"))
            if m.get("content") is None and not m.get("tool_calls"):
                v.append("an empty assistant turn")
        elif r == "tool":
            info["tool_result"].append(m.get("tool_call_id"))
            if m.get("tool_call_id") not in call_ids:
                v.append("a tool turn answers no tool call")
        else:
            v.append(f"unknown role {r}")
    if not roles or roles[0] != "user":
        v.append("the first turn after the system's is not the user's")
    for t in body.get("tools", []):
        f = t.get("function", {})
        if t.get("type") != "function" or not f.get("name") or not isinstance(f.get("parameters"), dict):
            v.append("a tool that is not {type: function, function: {name, parameters}}")
    if not isinstance(body.get("max_tokens", body.get("max_completion_tokens")), int):
        v.append("no max_tokens / max_completion_tokens")
    schema = None
    rf = body.get("response_format")
    if rf is not None:
        js = rf.get("json_schema", {})
        if rf.get("type") != "json_schema" or js.get("strict") is not True or not js.get("name") \
                or not isinstance(js.get("schema"), dict):
            v.append("response_format is not {type: json_schema, json_schema: {name, strict: true, schema}}")
        schema = js.get("schema")
    return system, user_texts, schema, roles


def check_gemini(h, body, args, v, info, model):
    key = h.get("x-goog-api-key")
    info["auth"] = "not_required" if not args.key else ("ok" if key == args.key else
                                                       "missing" if key is None else "wrong")
    if args.key and key != args.key:
        v.append("x-goog-api-key is not the key")
    if args.model and model != args.model:
        v.append(f"the path's model is {model}, not {args.model}")
    if "output_config" in body or "response_format" in body or "messages" in body:
        v.append("another provider's field")
    contents = body.get("contents") or []
    roles = [c.get("role") for c in contents]
    alternate(roles, "user", "model", v, "contents")
    user_texts, prev_names = [], set()
    for c in contents:
        names = set()
        for p in c.get("parts") or []:
            if "text" in p:
                if c.get("role") == "user":
                    user_texts.append(p["text"])
            elif "functionCall" in p and c.get("role") == "model":
                fc = p["functionCall"]
                if not fc.get("name") or not isinstance(fc.get("args"), dict):
                    v.append("a functionCall without name and args")
                names.add(fc.get("name"))
            elif "functionResponse" in p and c.get("role") == "user":
                fr = p["functionResponse"]
                info["tool_result"].append(fr.get("name"))
                if fr.get("name") not in prev_names or not isinstance(fr.get("response"), dict):
                    v.append("a functionResponse answers no functionCall of the turn before")
            else:
                v.append(f"a part {sorted(p)} in a {c.get('role')} turn")
        prev_names = names
    si = body.get("systemInstruction")
    system = ""
    if si is not None:
        try:
            system = si["parts"][0]["text"]
        except (KeyError, IndexError, TypeError):
            v.append("systemInstruction is not {parts: [{text}]}")
    gc = body.get("generationConfig", {})
    if not isinstance(gc.get("maxOutputTokens"), int):
        v.append("generationConfig.maxOutputTokens is missing")
    for t in body.get("tools", []):
        for d in t.get("functionDeclarations", []):
            if not d.get("name") or not isinstance(d.get("parametersJsonSchema"), dict):
                v.append("a function declaration without name and parametersJsonSchema")
    schema = None
    if "responseJsonSchema" in gc or "responseMimeType" in gc:
        if gc.get("responseMimeType") != "application/json" or \
                not isinstance(gc.get("responseJsonSchema"), dict):
            v.append("generationConfig is not {responseMimeType: application/json, responseJsonSchema}")
        schema = gc.get("responseJsonSchema")
    return system, user_texts, schema, roles


def windows(text, n=4):
    w = text.split()
    return {" ".join(w[i:i + n]) for i in range(max(0, len(w) - n + 1))}


LINE = re.compile(r"^\[(-?[0-9.]+)-(-?[0-9.]+)\] ([a-z]+): (.*)$")


def block_transcript(user_texts):
    """without --transcript: the utterances as the first user turn's data block gives them
    (lines "[start-end] speaker: words"), as a model would read them"""
    if not user_texts:
        return None
    u = user_texts[0]
    opens = NONCE.findall(u)
    if len(opens) != 1:
        return None
    inside = u.split(f"<transcript-{opens[0]}>", 1)[1].split(f"</transcript-{opens[0]}>", 1)[0]
    out = []
    for line in inside.splitlines():
        m = LINE.match(line.strip())
        if m:
            out.append({"start": float(m.group(1)), "end": float(m.group(2)),
                        "speaker": m.group(3), "text": m.group(4)})
    return out


def check_block(system, user_texts, transcript, v):
    """the whole transcript inside one data block of the first user turn"""
    if not user_texts:
        v.append("block: no user text")
        return "absent"
    u = user_texts[0]
    opens = NONCE.findall(u)
    if len(opens) != 1:
        v.append(f"block: {len(opens)} opening delimiters")
        return "absent"
    nonce = opens[0]
    o = u.index(f"<transcript-{nonce}>") + len(f"<transcript-{nonce}>")
    close = f"</transcript-{nonce}>"
    if u.count(close) != 1 or u.find(close) < o:
        v.append(f"block: {u.count(close)} closing delimiters (or before the opening)")
        return "absent"
    c = u.index(close)
    inside, outside = u[o:c], u[:o] + u[c:]
    if u[c + len(close):].strip():
        v.append("block: text after the closing delimiter")
    for i, utt in enumerate(transcript):
        t = inert(utt["text"])
        if t not in inside:
            v.append(f"block: utterance {i} is not inside the block")
        for w in windows(t):
            if w in outside or w in system:
                v.append(f"block: words of utterance {i} outside the block: {w!r}")
                break
    for later in user_texts[1:]:
        if f"<transcript-{nonce}>" in later or close in later:
            v.append("block: a later turn holds a delimiter")
    return "ok"


# ---- the answers -------------------------------------------------------------------------------

def facts_answer(kind, texts):
    """POST /investigate's explanation, as a model reading the facts would write it: `facts`
    cites the first finding's code and the first dialog's final status from the JSON after
    "The facts of the call:"; `invented` cites a figure the facts do not hold."""
    u = texts[0] if texts else ""
    i = u.find("The facts of the call:")
    facts = json.loads(u[i + len("The facts of the call:"):]) if i >= 0 else {}
    f = (facts.get("findings") or [{}])[0]
    d = (facts.get("dialogs") or [{}])[0]
    if kind == "invented":
        return "The carrier dropped 37.25 %% of the packets (%s)." % f.get("code", "rtp_loss")
    return ("The call ended with SIP %s; the likely fault is the carrier's side (%s)."
            % (d.get("final_status"), f.get("code")))


def figures_duration(texts):
    """the call's duration from the figures' block of the first user turn (None: not there)"""
    u = texts[0] if texts else ""
    m = re.search(r"<figures-([a-p]{16})>\n(.*?)\n</figures-\1>", u, re.S)
    try:
        d = json.loads(m.group(2)).get("duration") if m else None
    except ValueError:
        return None
    return d if isinstance(d, (int, float)) and d > 0 else None


def answer_text(kind, schema, tr, texts=()):
    if kind == "malformed":
        return "{not json"
    if kind == "schema_invalid":
        return json.dumps({"summary": "x"})
    if kind in ("facts", "invented"):
        return facts_answer(kind, texts)
    if schema is None:
        return "plain answer"
    mode = kind if kind in ("out_of_range", "bad_quotes") + SUMMARY_KINDS else "valid"
    DURATION[0] = figures_duration(texts)
    text = json.dumps(make(schema, tr, mode))
    return text[: len(text) // 2] if kind == "truncated" else text


def anthropic_answer(kind, text, tools, model):
    content, stop = [{"type": "text", "text": text}], "end_turn"
    if kind == "refusal":
        content, stop = [], "refusal"
    elif kind == "truncated":
        stop = "max_tokens"
    elif kind == "tool_call":
        content = [{"type": "text", "text": "Let me look."},
                   {"type": "tool_use", "id": "toolu_01A", "name": tools[0],
                    "input": {"query": "balance"}}]
        stop = "tool_use"
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": USAGE_IN, "output_tokens": USAGE_OUT}}


def openai_answer(kind, text, tools, model):
    msg, fin = {"role": "assistant", "content": text, "refusal": None}, "stop"
    if kind == "refusal":
        msg = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    elif kind == "truncated":
        fin = "length"
    elif kind == "tool_call":
        msg = {"role": "assistant", "content": None, "refusal": None,
               "tool_calls": [{"id": "call_abc", "type": "function",
                               "function": {"name": tools[0], "arguments": "{\"query\":\"balance\"}"}}]}
        fin = "tool_calls"
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": fin}],
            "usage": {"prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT,
                      "total_tokens": USAGE_IN + USAGE_OUT}}


def gemini_answer(kind, text, tools, model):
    usage = {"promptTokenCount": USAGE_IN, "candidatesTokenCount": USAGE_OUT,
             "totalTokenCount": USAGE_IN + USAGE_OUT}
    if kind == "refusal":
        return {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage,
                "modelVersion": model}
    parts, fin = [{"text": text}], "STOP"
    if kind == "truncated":
        fin = "MAX_TOKENS"
    elif kind == "tool_call":
        parts = [{"functionCall": {"name": tools[0], "args": {"query": "balance"}}}]
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": fin,
                            "index": 0}], "usageMetadata": usage, "modelVersion": model}


def calls_answer(provider, text, calls, model):
    """an answer with this text and these tool calls [(name, args)]"""
    if provider == "anthropic":
        content = ([{"type": "text", "text": text}] if text else []) + [
            {"type": "tool_use", "id": f"toolu_{k:02d}", "name": n, "input": a}
            for k, (n, a) in enumerate(calls)]
        return {"id": "msg_01", "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": "tool_use" if calls else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": USAGE_IN, "output_tokens": USAGE_OUT}}
    if provider == "openai":
        msg = {"role": "assistant", "content": text or None, "refusal": None}
        if calls:
            msg["tool_calls"] = [{"id": f"call_{k:02d}", "type": "function",
                                  "function": {"name": n, "arguments": json.dumps(a)}}
                                 for k, (n, a) in enumerate(calls)]
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": msg, "logprobs": None,
                             "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT,
                          "total_tokens": USAGE_IN + USAGE_OUT}}
    parts = ([{"text": text}] if text else []) + [{"functionCall": {"name": n, "args": a}}
                                                  for n, a in calls]
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                            "index": 0}],
            "usageMetadata": {"promptTokenCount": USAGE_IN, "candidatesTokenCount": USAGE_OUT,
                              "totalTokenCount": USAGE_IN + USAGE_OUT},
            "modelVersion": model}


ERRORS = {
    "anthropic": {429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
                  529: ("overloaded_error", "Overloaded")},
    "openai": {429: ("rate_limit_exceeded", "Rate limit reached for requests"),
               500: ("server_error", "The server had an error while processing your request.")},
    "gemini": {429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
               500: ("INTERNAL", "An internal error has occurred.")},
}


def error_body(provider, status):
    typ, msg = ERRORS[provider][status]
    if provider == "anthropic":
        return {"type": "error", "error": {"type": typ, "message": msg}}
    if provider == "openai":
        return {"error": {"message": msg, "type": typ, "param": None, "code": typ}}
    return {"error": {"code": status, "message": msg, "status": typ}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, status, obj=None, raw=None, ctype="application/json", extra=()):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, val in extra:
            self.send_header(k, val)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        st = self.server.state
        args = st.args
        path = self.path
        m = re.fullmatch(r"/v1beta/models/([^/:]+):generateContent", path)
        provider = ("anthropic" if path == "/v1/messages" else
                    "openai" if path == "/v1/chat/completions" else "gemini" if m else None)
        n = (st.n + 1)
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if args.save_bodies:  # every body as received, for tests that search what was sent
            with st.lock:
                st.saved += 1
                with open(os.path.join(args.log, "body-%04d.json" % st.saved), "wb") as f:
                    f.write(raw)
        if provider is None:
            st.write({"n": n, "provider": None, "path": path, "status": 404,
                      "violations": ["unknown path"]})
            self.send(404, {"error": {"message": f"Invalid URL (POST {path})"}})
            return
        n, kind = st.next_kind(provider)
        h = {k.lower(): val for k, val in self.headers.items()}
        v, info = [], {"tool_result": [], "auth": None}
        if not h.get("content-type", "").startswith("application/json"):
            v.append("the content type is not application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
            v.append("the body is not JSON")
        if args.model and provider != "gemini" and body.get("model") != args.model:
            v.append(f"model is {body.get('model')!r}, not {args.model!r}")
        if provider == "anthropic":
            system, texts, schema, roles = check_anthropic(h, body, args, v, info)
        elif provider == "openai":
            system, texts, schema, roles = check_openai(h, body, args, v, info)
        else:
            system, texts, schema, roles = check_gemini(h, body, args, v, info, m.group(1))
        if schema is not None:
            v += strict_violations(schema)
        block = check_block(system, texts, st.transcript, v) if st.transcript is not None else None
        tools = [t.get("name") or t.get("function", {}).get("name") for t in body.get("tools", [])]
        for t in body.get("tools", []):
            for d in t.get("functionDeclarations", []):
                tools.append(d.get("name"))
        tools = [t for t in tools if t]
        if kind == "tool_call" and not tools:
            v.append("a tool call was scripted but the request has no tools")
            kind = "valid"
        rec = {"n": n, "provider": provider, "path": path, "kind": kind, "violations": v,
               "block": block, "has_schema": schema is not None, "has_tools": bool(tools),
               "turns": roles, "tool_result": info["tool_result"], "auth": info["auth"],
               "repair": len(texts) > 1 and "could not be used" in texts[-1]}
        if kind == "timeout":
            time.sleep(args.sleep)
            kind = "valid"
        with st.lock:
            st.reload_plans()
        if st.ask_plans is not None and kind == "valid":
            got = fake_ask.respond(provider, body, st.ask_plans, tools, v)
            if got is not None:
                text, calls, rec["ask"] = got
                model = args.model or body.get("model", "m")
                rec["status"] = 200
                # recorded before the answer goes out: a test reads the record as soon as
                # callqa has answered
                st.write(rec)
                try:
                    self.send(200, calls_answer(provider, text, calls, model))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return
        if kind in ("429", "500"):
            status = int(kind)
            if provider == "anthropic" and status == 500:
                status = 529
            rec["status"] = status
            st.write(rec)
            self.send(status, error_body(provider, status),
                      extra=[("Retry-After", "1")] if status == 429 else ())
            return
        if kind == "html":
            rec["status"] = 200
            st.write(rec)
            self.send(200, raw=b"<html><body>proxy</body></html>", ctype="text/html")
            return
        text = answer_text(kind, schema, st.transcript if st.transcript is not None
                           else block_transcript(texts), texts)
        model = args.model or body.get("model", "m")
        ans = (anthropic_answer if provider == "anthropic" else
               openai_answer if provider == "openai" else gemini_answer)(kind, text, tools, model)
        rec["status"] = 200
        try:
            self.send(200, ans)
        except (BrokenPipeError, ConnectionResetError):
            rec["status"] = None  # the client gave up (its timeout)
        st.write(rec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--key")
    ap.add_argument("--model")
    ap.add_argument("--scenario")
    ap.add_argument("--transcript")
    ap.add_argument("--sleep", type=float, default=5.0)
    ap.add_argument("--save-bodies", action="store_true",
                    help="write each request's body to body-NNNN.json in the log folder")
    ap.add_argument("--ask-plan", help="POST /ask's plans (tests/clients/fake_ask.py)")
    args = ap.parse_args()
    os.makedirs(args.log, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    # The handler only sets a flag (it runs in the main thread between two bytecodes: starting a
    # thread or taking any lock there can deadlock against the main thread's own); the server
    # runs in a thread of its own and is shut down from here.
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *a: stopping.append(True))
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    while not stopping:
        time.sleep(0.1)
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
