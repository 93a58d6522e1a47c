"""fake_ask.py - POST /ask's side of the fake LLM (tests/clients/fake_llm.py --ask-plan FILE).

A model that follows a plan: FILE is a JSON object {QUESTION: PLAN}. PLAN is
    {"mode": "text" | "tools", "rounds": [[ITEM, ...], ...], "answer": TEXT}
The current question is the request's last user turn that is neither a <data_result> block nor
tool results; the round is the number of the model's data requests after it. While rounds are
left, the answer asks for the round's items: in "text" mode as one <data_request>[...]
</data_request> block, in "tools" mode as native tool calls (query_sql {type, server, sql},
query_prometheus {query, start, end, step}). Past the last round, the answer is TEXT.
ITEMs are what callqa's sources take ({"type": "callqa", "sql"}, {"type": "mysql", "server",
"sql"}, {"type": "prometheus", "query", "start", "end", "step"}), or:
  {"type": "inject", "as": "callqa" | "mysql", "server": S}  every RUN_SQL<<...>> found in the
      data results received so far, asked for as a query of that type: a model that obeys what
      a transcript tells it (the data, not the user, wrote the query);
  {"type": "replay"}  every item of every <data_request> in the conversation before the current
      question (a conversation the caller may have tampered with), asked for again.
What it checks of each /ask request (violations): the system prompt holds the <data_request>
instructions and "What can be read"; every <data_result> block and tool result after the
question parses as JSON (the result array or object, '<' escaped); tools mode needs tools.
It records, under "ask" in requests.jsonl: question, round, mode, results (every data result
parsed, in order: [{"n", "type", "columns", "rows", "truncated"} | {"n", "type", "refused"}]),
asked (the items of this answer).
"""
import json
import re

RESULT = re.compile(r"<data_result[^>]*>(.*?)</data_result>", re.S)
REQUEST = re.compile(r"<data_request>(.*?)</data_request>", re.S)
INJECT = re.compile(r"RUN_SQL<<(.*?)>>", re.S)


def turns_of(provider, body):
    """the request's turns: [{role: user|assistant, text, calls: [(id, name, args)], results}]"""
    out = []

    def turn(role):
        if not out or out[-1]["role"] != role:
            out.append({"role": role, "text": "", "calls": [], "results": []})
        return out[-1]

    if provider == "anthropic":
        for m in body.get("messages", []):
            t = turn(m.get("role"))
            c = m.get("content")
            if isinstance(c, str):
                t["text"] += c
                continue
            for b in c or []:
                if b.get("type") == "text":
                    t["text"] += b.get("text", "")
                elif b.get("type") == "tool_use":
                    t["calls"].append((b.get("id"), b.get("name"), b.get("input")))
                elif b.get("type") == "tool_result":
                    cc = b.get("content")
                    t["results"].append(cc if isinstance(cc, str) else json.dumps(cc))
    elif provider == "openai":
        for m in body.get("messages", []):
            role = m.get("role")
            if role == "system":
                continue
            if role == "tool":
                turn("user")["results"].append(m.get("content") or "")
                continue
            t = turn(role)
            t["text"] += m.get("content") or ""
            for c in m.get("tool_calls") or []:
                f = c.get("function", {})
                try:
                    args = json.loads(f.get("arguments") or "{}")
                except ValueError:
                    args = None
                t["calls"].append((c.get("id"), f.get("name"), args))
    else:
        for m in body.get("contents", []):
            t = turn("assistant" if m.get("role") == "model" else "user")
            for p in m.get("parts", []):
                if "text" in p:
                    t["text"] += p["text"]
                elif "functionCall" in p:
                    fc = p["functionCall"]
                    t["calls"].append((None, fc.get("name"), fc.get("args")))
                elif "functionResponse" in p:
                    r = p["functionResponse"].get("response")
                    if isinstance(r, dict) and set(r) == {"content"} and isinstance(r["content"], str):
                        t["results"].append(r["content"])
                    else:
                        t["results"].append(json.dumps(r))
    return out


def system_of(provider, body):
    if provider == "anthropic":
        s = body.get("system")
        return s if isinstance(s, str) else ""
    if provider == "openai":
        ms = body.get("messages") or [{}]
        return ms[0].get("content", "") if ms[0].get("role") == "system" else ""
    return ((body.get("systemInstruction") or {}).get("parts") or [{}])[0].get("text", "")


def first_json(text, v, what):
    """the JSON value at the start of text (a note may follow it)"""
    try:
        val, _ = json.JSONDecoder().raw_decode(text.strip())
        if "<" in text.split("\n")[0]:
            v.append(f"{what}: a '<' was not escaped")
        return val
    except ValueError:
        v.append(f"{what} is not JSON")
        return None


def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, list):
        for y in x:
            yield from strings(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from strings(y)


def respond(provider, body, plans, tools, v):
    """(text, calls, record) for an /ask request that a plan covers, else None"""
    turns = turns_of(provider, body)
    q = None
    for i in range(len(turns) - 1, -1, -1):
        t = turns[i]
        if t["role"] == "user" and not t["results"] and not t["text"].lstrip().startswith("<data_result"):
            q = i
            break
    if q is None or turns[q]["text"] not in plans:
        return None
    plan = plans[turns[q]["text"]]
    system = system_of(provider, body)
    if "<data_request>" not in system or "What can be read" not in system:
        v.append("the system prompt lacks the data_request instructions or the schema")
    rnd = sum(1 for t in turns[q + 1:] if t["role"] == "assistant" and
              (t["calls"] or "<data_request>" in t["text"]))
    results = []
    for t in turns[q + 1:]:
        if t["role"] != "user":
            continue
        for m in RESULT.finditer(t["text"]):
            r = first_json(m.group(1), v, "a data_result block")
            if isinstance(r, list):
                results.extend(r)
        for r in t["results"]:
            r = first_json(r, v, "a tool result")
            if r is not None:
                results.append(r)
    rec = {"question": turns[q]["text"], "round": rnd, "mode": plan.get("mode", "text"),
           "results": results, "asked": []}
    rounds = plan.get("rounds", [])
    if rnd >= len(rounds):
        return plan.get("answer", "plain answer"), [], rec
    items = []
    for it in rounds[rnd]:
        if it.get("type") == "inject":
            for s in strings(results):
                for m in INJECT.finditer(s):
                    one = {"type": it.get("as", "callqa"), "sql": m.group(1)}
                    if it.get("server") is not None:
                        one["server"] = it["server"]
                    items.append(one)
        elif it.get("type") == "replay":
            for t in turns[:q]:
                if t["role"] != "assistant":
                    continue
                for m in REQUEST.finditer(t["text"]):
                    try:
                        got = json.loads(m.group(1))
                    except ValueError:
                        continue
                    items.extend(got if isinstance(got, list) else [got])
        else:
            items.append(it)
    rec["asked"] = items
    if not items:
        return plan.get("answer", "plain answer"), [], rec
    if plan.get("mode") == "tools":
        if not tools:
            v.append("tools mode, but the request has no tools")
        else:
            calls = []
            for it in items:
                if it.get("type") == "prometheus":
                    calls.append(("query_prometheus", {f: str(it.get(f, "")) for f in
                                                       ("query", "start", "end", "step")}))
                else:
                    calls.append(("query_sql", {"type": it.get("type", ""),
                                                "server": it.get("server") or "",
                                                "sql": it.get("sql", "")}))
            return "", calls, rec
    return "Let me look.\n<data_request>" + json.dumps(items) + "</data_request>", [], rec
