"""cat_prompts.py - every prompt within the model's context (docs/llm.md, "Every prompt within the
context"): the service and the worker with the fake LLM keeping every request body it receives,
llm_context_tokens 8192 and llm_max_tokens 512, so that no body may be over 7,680 bytes (a token
counted as a byte).

  prompts  a call with a 4.1 MB transcript imported (18,000 turns), scored by the worker with
           the LLM's rubric, summary and sentiment in one request; GET /ai-analyze of a
           recording of 471 s (call12_overtalk eight times over, on a real HTTP recording server on
           loopback); POST /ask whose queries answer
           200 KB rows, round after round, a conversation given back of 150 KB, and a question
           that cannot fit beside the instructions. Every body the fake received within the
           room; the score, its summary and its sentiment saying what was cut; /ai-analyze and
           /ask saying what they left out; then llm_context_tokens 1024: the scoring prompt and
           /ai-analyze's cannot fit, and are refused with prompt_too_large, never sent, and
           recorded (callqa_qa_llm_requests_total{outcome="prompt_too_large"}).
Under the sanitizers (CQ_TEST_SAMPLE=1, their representative case) the recording is
call12_overtalk twice over (118 s): its report is still many times the room, and its analysis a
quarter of the time.
"""
import glob
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

import rtlib as rt
from rtlib import Service, check, free_port, healthy, multipart

HERE = os.path.dirname(os.path.abspath(__file__))
CTX, OUT = 8192, 512
ROOM = CTX - OUT  # the most bytes a request's body may have
WAV = "20261125-090000_5551234-all.wav"
WORDS = ("the account balance card payment transfer please thank you okay yes no help number "
         "address verify today tomorrow bank branch statement fee refund charge limit online "
         "password reset mobile app support question problem sorry understand wait").split()


def transcript(n):
    """n turns, agent and customer in turn, about 150 bytes of words each (a seeded draw)"""
    rnd = random.Random(50)
    segs = [{"speaker": "agent", "start": 0.5, "end": 3.0,
             "text": "thank you for calling harper valley bank my name is ann how can i help"}]
    t = 3.5
    for i in range(n - 2):
        d = rnd.uniform(2.0, 4.0)
        segs.append({"speaker": "customer" if i % 2 == 0 else "agent", "start": round(t, 2),
                     "end": round(t + d, 2),
                     "text": " ".join(rnd.choice(WORDS) for _ in range(24))})
        t += d + 0.3
    segs.append({"speaker": "agent", "start": round(t, 2), "end": round(t + 4, 2),
                 "text": "is there anything else i can help you with today thank you goodbye"})
    return segs


def repeated(src, times):
    """a RIFF WAV whose data chunk is src's `times` over (its fmt and fact chunks kept)"""
    b = open(src, "rb").read()
    chunks, i = {}, 12
    while i + 8 <= len(b):
        n = struct.unpack("<I", b[i + 4:i + 8])[0]
        chunks[b[i:i + 4]] = b[i + 8:i + 8 + n]
        i += 8 + n + (n & 1)
    fmt, data = chunks[b"fmt "], chunks[b"data"] * times
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"\0" * (len(fmt) & 1)
    if b"fact" in chunks:  # the frames of a non-PCM file
        block = struct.unpack("<H", fmt[12:14])[0]
        body += b"fact" + struct.pack("<II", 4, len(data) // block)
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def card():
    """the shipped card's greeting and closing (rules) and needs (the LLM's rubric)"""
    c = json.load(open(os.path.join(HERE, "..", "..", "scorecards", "default.json")))
    keep = {"greeting": 0.3, "closing": 0.3, "needs": 0.4}
    c["categories"] = [dict(k, weight=keep[k["key"]]) for k in c["categories"]
                       if k["key"] in keep]
    return c


class Fixture:
    def __init__(self, root):
        self.root = root
        self.llm_dir = os.path.join(root, "llm")
        os.makedirs(self.llm_dir, exist_ok=True)
        key = os.path.join(root, "key")
        with open(key, "w") as f:
            f.write("sk-test-123\n")
        os.chmod(key, 0o600)
        with open(os.path.join(root, "card.json"), "w") as f:
            json.dump(card(), f)
        # POST /ask's plans: each query answers one row of a 200 KB value
        big = "SELECT printf('%%.*c', 200000, '%s') AS v"
        self.plans = {
            "prompts: two rounds of large rows": {
                "mode": "text", "rounds": [[{"type": "callqa", "sql": big % "a"}],
                                           [{"type": "callqa", "sql": big % "b"},
                                            {"type": "callqa", "sql": "SELECT 1 AS one"}]],
                "answer": "two rounds read"},
            "prompts: large rows, tools": {
                "mode": "tools", "rounds": [[{"type": "callqa", "sql": big % "c"}]],
                "answer": "one round read"},
            "prompts: a conversation given back": {"mode": "text", "rounds": [],
                                                   "answer": "read"}}
        plan = os.path.join(self.llm_dir, "plans.json")
        with open(plan, "w") as f:
            json.dump(self.plans, f)
        pf = os.path.join(self.llm_dir, "port")
        self.llm = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "..", "clients", "fake_llm.py"), "--log",
             self.llm_dir, "--port-file", pf, "--key", "sk-test-123", "--model", "fake-model",
             "--save-bodies", "--ask-plan", plan],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.llm_dir, "err"), "wb"))
        rt.until(lambda: os.path.exists(pf) or self.llm.poll() is not None)
        self.port = int(open(pf).read())
        # the recording server of /ai-analyze
        rec = os.path.join(root, "rec", "RECORDINGS")
        os.makedirs(rec, exist_ok=True)
        times = 2 if os.environ.get("CQ_TEST_SAMPLE") == "1" else 8
        with open(os.path.join(rec, WAV), "wb") as f:  # 471 s of overtalk (118): a long report
            f.write(repeated(os.path.join(rt.CORPUS, "calls", "call12_overtalk.wav"), times))
        self.rec_port = free_port()
        self.http = subprocess.Popen([sys.executable, "-m", "http.server", str(self.rec_port),
                                      "--bind", "127.0.0.1", "--directory",
                                      os.path.join(root, "rec")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.rec_port), timeout=10).close()
                return True
            except OSError:
                return False
        rt.until(lambda: listening() or self.http.poll() is not None)
        self.worker_log = os.path.join(root, "worker.log")

    def conf(self, name, context):
        path = os.path.join(self.root, name + ".conf")
        with open(path, "w") as f:
            f.write("llm_provider = openai\nllm_url = http://127.0.0.1:%d/v1\n"
                    "llm_model = fake-model\nllm_key_file = %s\nllm_retries = 0\n"
                    "llm_context_tokens = %d\nllm_max_tokens = %d\nscorecard = %s\n"
                    % (self.port, os.path.join(self.root, "key"), context, OUT,
                       os.path.join(self.root, "card.json")))
        return path

    def service(self, name, conf):
        return Service(os.path.join(self.root, name), args=[
            "--config", conf, "--recording-server",
            "vici1=http://127.0.0.1:%d/RECORDINGS" % self.rec_port])

    def worker(self, svc, conf):
        with open(self.worker_log, "ab") as log:
            return subprocess.run(
                [rt.CQ, "worker", "--db", svc.db, "--config", conf, "--once", "--jobs", "1",
                 "--max-load", "0", "--no-idle", "--backoff-sec", "0.2", "--max-retries", "1"],
                stdout=log, stderr=subprocess.STDOUT, timeout=600).returncode

    def bodies(self):
        return sorted(glob.glob(os.path.join(self.llm_dir, "body-*.json")))

    def stop(self):
        for p in (self.llm, self.http):
            p.terminate()
            p.wait(10)


def upload(svc, rid):
    meta = {"recording_id": rid, "agent_user": "ann", "campaign_id": "SALES",
            "call_date": "2026-11-25 09:00:00"}
    body, ctype = multipart([("metadata", None, "application/json", json.dumps(meta).encode()),
                             ("audio", "call.wav", "audio/wav",
                              open(os.path.join(rt.CORPUS, "calls", "call01_normal.wav"),
                                   "rb").read())])
    return svc.request("POST", "/api/qa/calls", body, {"Content-Type": ctype}, timeout=60)


def bodies_within(fx, since, what):
    sizes = [os.path.getsize(b) for b in fx.bodies()[since:]]
    check("  every body the LLM received (%d, %s) within %d bytes (largest %s)"
          % (len(sizes), what, ROOM, max(sizes) if sizes else None),
          sizes and max(sizes) <= ROOM, str(sizes[:20]))
    return len(fx.bodies())


def ask(svc, body):
    s, _, b = svc.request("POST", "/ask", json.dumps(body).encode(),
                          {"Content-Type": "application/json"}, timeout=120)
    try:
        return s, json.loads(b)
    except ValueError:
        return s, {"raw": b[:300].decode("utf-8", "replace")}


def cat_prompts(root):
    fx = Fixture(os.path.join(root, "prompts"))
    try:
        _cases(fx)
    finally:
        fx.stop()


def _cases(fx):
    conf = fx.conf("fit", CTX)
    svc = fx.service("svc", conf)
    try:
        _scoring(fx, svc, conf)
        _ai_analyze(fx, svc)
        _ask(fx, svc)
        healthy(svc, "the prompts held to 8192 tokens")
    finally:
        rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))
    _cannot_fit(fx)


def _scoring(fx, svc, conf):
    s, _, b = upload(svc, "P1")
    check("upload P1 (201)", s == 201, "%s %s" % (s, b[:200]))
    segs = transcript(18000)
    body = json.dumps({"segments": segs}).encode()
    s, _, b = svc.request("POST", "/api/qa/call/P1/transcript", body,
                          {"Content-Type": "application/json"}, timeout=120)
    check("a transcript of %.1f MB (%d turns) imported (200)" % (len(body) / 1e6, len(segs)),
          s == 200, "%s %s" % (s, b[:300]))
    n0 = len(fx.bodies())
    t0 = time.time()
    rc = fx.worker(svc, conf)
    secs = time.time() - t0
    check("the worker scores it with the LLM's rubric, summary and sentiment (exit 0, %.1f s)"
          % secs, rc == 0, open(fx.worker_log, errors="replace").read()[-1500:])
    bodies_within(fx, n0, "the scoring request")
    s, _, b = svc.request("GET", "/api/qa/call/P1", timeout=30)
    detail = (json.loads(b) if s == 200 else {}).get("score_detail") or {}
    cut = (detail or {}).get("transcript_cut") or {}
    check("  the score says what was cut: transcript_cut %s of %s turns left out, with a note"
          % (cut.get("turns_left_out"), cut.get("turns")),
          cut.get("turns") == len(segs) and 0 < (cut.get("turns_left_out") or 0) < len(segs) and
          (cut.get("note") or "").startswith("transcript cut for the LLM: %d of %d turns left out"
                                             % (cut.get("turns_left_out") or 0, len(segs))),
          json.dumps(detail)[:600])
    cats = (detail or {}).get("categories") or {}
    needs = cats.get("needs") or {}
    check("  the LLM's category scored from the cut prompt, its quotes checked (needs %s, %d "
          "quotes)" % (needs.get("score"), len(needs.get("evidence") or [])),
          needs.get("score") is not None and needs.get("engine") == "openai" and
          needs.get("evidence"), json.dumps(needs)[:400])
    summ = (detail or {}).get("summary") or {}
    sent = (detail or {}).get("sentiment_llm") or {}
    check("  the summary and the sentiment say so too (source %s)" % summ.get("source"),
          summ.get("source") == "llm" and cut.get("note") and
          summ.get("note") == cut.get("note") and sent.get("note") == cut.get("note"), "%s / %s" % (json.dumps(summ)[:300],
                                                            json.dumps(sent)[:300]))


def _ai_analyze(fx, svc):
    n0 = len(fx.bodies())
    s, _, b = svc.request("GET", "/ai-analyze?server=vici1&file=" + WAV, timeout=180)
    d = json.loads(b) if s == 200 else {}
    left = d.get("prompt_left_out") or {}
    check("GET /ai-analyze: the LLM's assessment (engine %s), what of the report it left out "
          "said (%s)" % (d.get("engine"), json.dumps(left)[:120]),
          s == 200 and d.get("engine") == "openai" and left.get("items"),
          "%s %s" % (s, b[:400]))
    sent = fx.bodies()[n0:]
    text = open(sent[-1], errors="replace").read() if sent else ""
    # what gives way last: the legs' levels and the call's MOS (with the models: their parts go
    # first, said in left_out's parts)
    check("  the prompt kept both legs' levels and the call's MOS (parts left out: %s)"
          % (", ".join(left.get("parts") or []) or "none"),
          text.count("active_level_db") >= 2 and '\\"mos\\"' in text, text[:300])
    bodies_within(fx, n0, "/ai-analyze")


def _ask(fx, svc):
    n0 = len(fx.bodies())
    s, d = ask(svc, {"question": "prompts: two rounds of large rows"})
    left = d.get("prompt_left_out") or {}
    check("POST /ask, two rounds of 200 KB rows: answered (%s), round 1's results left out in "
          "round 2's request, the rows cut (%s)" % (s, json.dumps(left)[:160]),
          s == 200 and d.get("rounds") == 2 and left.get("rounds") == [1] and
          (left.get("results") or {}).get("bytes"), json.dumps(d)[:400])
    s, d = ask(svc, {"question": "prompts: large rows, tools"})
    left = d.get("prompt_left_out") or {}
    check("POST /ask with tool calls, a 200 KB row: answered (%s), the row cut (%s)"
          % (s, json.dumps(left)[:120]),
          s == 200 and (left.get("results") or {}).get("bytes"), json.dumps(d)[:400])
    conv = [{"role": "user", "content": "an earlier question"},
            {"role": "assistant", "content": "an earlier answer " + "x" * 150000}]
    s, d = ask(svc, {"conversation": conv, "question": "prompts: a conversation given back"})
    left = d.get("prompt_left_out") or {}
    check("POST /ask with a 150 KB conversation given back: answered (%s), its long turn left "
          "out (%s)" % (s, json.dumps(left)[:120]),
          s == 200 and left.get("turns") == 1, json.dumps(d)[:400])
    n1 = len(fx.bodies())
    s, d = ask(svc, {"question": "prompts: " + "why " * 1990})
    check("POST /ask, a question that cannot fit beside the instructions: 413 prompt_too_large "
          "(%s), nothing sent" % s,
          s == 413 and d.get("code") == "prompt_too_large" and len(fx.bodies()) == n1,
          json.dumps(d)[:400])
    bodies_within(fx, n0, "/ask")


def _cannot_fit(fx):
    conf = fx.conf("tiny", 1024)  # 512 bytes of room: the instructions alone are more
    svc = fx.service("svc-tiny", conf)
    try:
        s, _, b = upload(svc, "P2")
        segs = transcript(40)
        s2, _, b2 = svc.request("POST", "/api/qa/call/P2/transcript",
                                json.dumps({"segments": segs}).encode(),
                                {"Content-Type": "application/json"}, timeout=60)
        check("llm_context_tokens 1024: a call uploaded and its transcript imported",
              s == 201 and s2 == 200, "%s %s / %s %s" % (s, b[:200], s2, b2[:200]))
        n0 = len(fx.bodies())
        rc = fx.worker(svc, conf)
        s, _, b = svc.request("GET", "/api/qa/call/P2", timeout=30)
        detail = (json.loads(b) if s == 200 else {}).get("score_detail") or {}
        why = ((detail or {}).get("categories") or {}).get("needs", {}).get("reason", "")
        check("  the scoring prompt that cannot fit: not sent, the category not scored with "
              "prompt_too_large (worker exit %s)" % rc,
              rc == 0 and why.startswith("not scored: prompt_too_large:") and
              len(fx.bodies()) == n0, why[:300])
        s, _, b = svc.request("GET", "/ai-analyze?server=vici1&file=" + WAV, timeout=180)
        d = json.loads(b) if s == 200 else {}
        check("  GET /ai-analyze that cannot fit: not sent, the rules' assessment with "
              "llm_error prompt_too_large",
              s == 200 and d.get("engine") == "rules" and
              (d.get("llm_error") or "").startswith("prompt_too_large:") and
              len(fx.bodies()) == n0, "%s %s" % (s, b[:400]))
        s, _, b = svc.request("GET", "/metrics")
        line = [x for x in b.decode(errors="replace").splitlines()
                if x.startswith("callqa_qa_llm_requests_total") and "prompt_too_large" in x]
        check("  the refusals recorded as the LLM's attempts (%s)" % (line[:2],),
              s == 200 and line, b.decode(errors="replace")[-600:])
        healthy(svc, "prompts that cannot fit")
    finally:
        rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


CATEGORIES = [("prompts", cat_prompts)]
