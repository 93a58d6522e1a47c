"""cat_bounds.py - what an answer, a stored answer and a prompt cost, whatever the capture
(docs/network/bounds.md "Bounds"): POST /investigate and `callqa sip` on hostile captures generated
here (minimal INVITEs, each its own Call-ID, and one-packet RTP streams: tests/net/gen_pcap.py
`flood`), the old JSON body with a SIP trace of such INVITEs, and the LLM's prompt.

  bounds         a 6.7 MB capture of 50,000 INVITEs, the 3.9 MB sip_trace, a call named at the
                 end of a capture of many, `callqa sip`, the store, the prompt in tokens
  bounds_memory  the 46 MB capture of 200,000 INVITEs and 100,000 streams: the answer within
                 16 MiB, and in a Release build the service's peak, its analysis child's and
                 `callqa sip`'s under 512 MB, the service's resident memory back within 64 MB

The memory figures are read from /proc (VmHWM, VmRSS) and checked only in a build without
sanitizers (an ASan build's allocator keeps freed memory in quarantine and doubles the
footprint); the answers' bounds are checked in every build. CALLQA_SANITIZED=1 says the build
is sanitized when the binary does not show it.
"""
import json
import os
import subprocess
import sys
import threading
import time

import rtlib as rt
from rtlib import Service, check, healthy, multipart

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "net"))
import gen_pcap  # noqa: E402

MIB = 1 << 20
ANSWER_MAX = 16 * MIB  # max_answer_mb's default
PEAK_MAX_KB = 512 * 1024
BACK_WITHIN_KB = 64 * 1024


def sanitized():
    if os.environ.get("CALLQA_SANITIZED") == "1":
        return True
    d = os.path.dirname(os.path.abspath(rt.CQ))
    for name in ("callqa-service", "callqa"):
        p = os.path.join(d, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                data = f.read()
            if b"__asan_init" in data or b"__tsan_init" in data:
                return True
    return False


def flood(path, invites, streams):
    w = gen_pcap.Writer(path)
    gen_pcap.flood(w, invites, streams)
    w.close()
    return path


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = open("/proc/%d/task/%d/children" % (p, p)).read().split()
        except OSError:
            kids = []
        for k in kids:
            out.append(int(k))
            todo.append(int(k))
    return out


class ChildPeak(threading.Thread):
    """The largest VmHWM of the service's descendants (the analysis host's children) while a
    request runs, sampled every 5 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False
        self.base = set(descendants(pid))

    def run(self):
        while not self.stop:
            for c in descendants(self.pid):
                if c not in self.base:
                    self.peak = max(self.peak, status_kb(c, "VmHWM") or 0)
            time.sleep(0.005)


def logged_peak_kb(svc, since):
    """The analysis child's own figure, when the service logs it (peak_rss_kb), after `since`
    bytes of the log."""
    with open(svc.log, "rb") as f:
        f.seek(since)
        text = f.read().decode("utf-8", "replace")
    peaks = [json.loads(line).get("peak_rss_kb", 0) for line in text.splitlines()
             if line.startswith("{") and "peak_rss_kb" in line]
    return max(peaks) if peaks else None


def investigate(svc, capture=None, body=None, meta=None, timeout=600):
    if capture is not None:
        parts = [("capture", "cap.pcap", "application/vnd.tcpdump.pcap", open(capture, "rb").read())]
        if meta is not None:
            parts.append(("metadata", None, "application/json", json.dumps(meta).encode()))
        data, ctype = multipart(parts)
    else:
        data, ctype = json.dumps(body).encode(), "application/json"
    return svc.request("POST", "/investigate", data, {"Content-Type": ctype}, timeout=timeout)


def consistent(d):
    """Every index in an answer names one of its items; '' or what does not."""
    nd, ns, nm = len(d["dialogs"]), len(d["streams"]), len(d["sip"])
    if d["dialog"] is not None and not 0 <= d["dialog"] < nd:
        return "dialog %s of %d" % (d["dialog"], nd)
    for i, x in enumerate(d["dialogs"]):
        if any(not 0 <= m < nm for m in x["messages"]):
            return "dialog %d names a message past %d" % (i, nm)
        if any(not 0 <= s < ns for s in x["streams"]):
            return "dialog %d names a stream past %d" % (i, ns)
    return ""


def answer_ok(name, s, b, bound=ANSWER_MAX):
    try:
        d = json.loads(b)
    except ValueError:
        d = None
    ok = s == 200 and d is not None and len(b) <= bound and isinstance(d.get("truncated"), dict)
    check("%s: 200, %.1f MB of answer within %.0f MiB, `truncated` counts what it left out" %
          (name, len(b) / 1e6, bound / MIB), ok,
          "%s, %d bytes: %s" % (s, len(b), b[:300]))
    return d if ok else None


def store_bytes(svc):
    return sum(os.path.getsize(svc.db + x) for x in ("", "-wal", "-shm")
               if os.path.exists(svc.db + x))


# ---- bounds ------------------------------------------------------------------------------------

def cat_bounds(root):
    mem = not sanitized()
    cap6 = flood(os.path.join(root, "flood50k.pcap"), 50000, 0)
    svc = Service(os.path.join(root, "bounds"))
    rss0 = status_kb(svc.proc.pid, "VmRSS")
    db0 = store_bytes(svc)
    answered = 0  # bytes of the answers stored
    # the 6.7 MB capture of 50,000 INVITEs, twice (the second a new input: another Call-ID)
    for k in range(2):
        if k:
            cap6 = flood(os.path.join(root, "flood50k-b.pcap"), 50001, 0)
        s, _, b = investigate(svc, cap6)
        d = answer_ok("a %.1f MB capture of %d minimal INVITEs" % (os.path.getsize(cap6) / 1e6,
                                                                    50000 + k), s, b)
        answered += len(b)
        if d:
            t, c = d["truncated"], d["counts"]
            check("  each INVITE a dialog in the answer, left out of it, or past the dialogs read",
                  len(d["dialogs"]) + t["dialogs"] + c["dialogs_dropped"] == 50000 + k and
                  len(d["sip"]) + t["sip"] == 50000 + k and t["dialogs"] > 0 and
                  c["dialogs_dropped"] > 0, json.dumps(t) + " " + json.dumps(c))
            why = consistent(d)
            check("  every index in the answer names one of its items", not why, why)
    if mem:
        grew = status_kb(svc.proc.pid, "VmRSS") - rss0
        check("  the service's resident memory after both within 64 MB of before (it grew %.0f "
              "MB)" % (grew / 1024), grew < BACK_WITHIN_KB, "%d kB" % grew)
    # the old JSON body: a 3.9 MB sip_trace of minimal INVITEs
    trace = "".join("INVITE sip:%06d@192.0.2.7 SIP/2.0\r\nCall-ID: t%06d@10.0.0.1\r\n"
                    "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n" % (i, i) for i in range(40000))
    s, _, b = investigate(svc, body={"sip_trace": trace, "status": "X" * 100000})
    d = answer_ok("the old JSON body with a %.1f MB sip_trace" % (len(trace) / 1e6), s, b)
    answered += len(b)
    if d:
        check("  its 100,000-byte status cut to 256 bytes, and counted", len(d["status"]) == 256
              and d["truncated"]["status_bytes"] == 100000 - 256, str(d["truncated"]))
    if mem:
        grew = status_kb(svc.proc.pid, "VmRSS") - rss0
        check("  the service's resident memory within 64 MB of its start (it grew %.0f MB)" %
              (grew / 1024), grew < BACK_WITHIN_KB, "%d kB" % grew)
    grew_db = store_bytes(svc) - db0
    check("the store grew by what the three answers hold (%.1f MB), not hundreds of MB "
          "(%.1f MB with SQLite's journal)" % (answered / 1e6, grew_db / 1e6),
          grew_db < 2 * answered and grew_db < 64 * MIB, "%d bytes" % grew_db)
    # a call named in a capture of many, at its end: looked at, though past what fits
    calls = os.path.join(root, "calls.pcap")
    w = gen_pcap.Writer(calls)
    gen_pcap.many_calls(w, 12000)
    w.close()
    s, _, b = investigate(svc, calls, meta={"uniqueid": "1714645800.11999"})
    d = answer_ok("12,000 calls, the last one named", s, b)
    if d:
        m = d["match"]
        check("  the named call is the dialog looked at, by its index in the answer",
              m["rule"] == "uniqueid" and d["dialog"] == m["dialog"] and
              d["dialogs"][d["dialog"]]["call_id"] == "m-11999@10.0.0.1" and
              len(d["dialogs"]) < 12000 and not consistent(d), json.dumps(m))
        mine = [f for f in d["findings"] if f.get("call_id") == "m-11999@10.0.0.1"]
        check("  its messages and findings are in the answer",
              len(d["dialogs"][d["dialog"]]["messages"]) == 7 and mine,
              "%d messages, %d findings" % (len(d["dialogs"][d["dialog"]]["messages"]),
                                            len(mine)))
    healthy(svc, "hostile captures")
    svc.stop()
    # callqa sip: its answer within the bound, and within --max-answer-mb
    for args, bound in (([], ANSWER_MAX), (["--max-answer-mb", "2"], 2 * MIB)):
        p = subprocess.run([rt.CQ, "sip", "--json"] + args + [cap6], capture_output=True,
                           timeout=600)
        ok = p.returncode == 0 and len(p.stdout) <= bound
        d = json.loads(p.stdout) if ok else {}
        check("callqa sip --json %s on the 50,000 INVITEs: %.1f MB within %.0f MiB, truncated "
              "counted" % (" ".join(args), len(p.stdout) / 1e6, bound / MIB),
              ok and d["truncated"]["dialogs"] > 0 and not consistent(
                  dict(d, dialog=None)), "%d %d bytes %s" % (p.returncode, len(p.stdout),
                                                             p.stderr[-300:]))
    p = subprocess.run([rt.CQ, "sip", "--max-answer-mb", "1", cap6], capture_output=True)
    check("callqa sip --max-answer-mb 1: a usage error (2 MiB at least)", p.returncode == 2,
          str(p.returncode))
    cat_bounds_prompt(root, cap6)


def cat_bounds_prompt(root, cap):
    """The LLM's prompt within llm_context_tokens less llm_max_tokens, counted in bytes."""
    fake = os.path.join(HERE, "..", "service", "fake_llm_report.py")
    log = os.path.join(root, "fake-llm")
    os.makedirs(log, exist_ok=True)
    pf = os.path.join(root, "fake.port")
    key = os.path.join(root, "llm.key")
    with open(key, "w") as f:
        f.write("sk-test-0123456789\n")
    os.chmod(key, 0o600)
    with open(os.path.join(root, "scen.json"), "w") as f:
        json.dump({"openai": ["facts", "facts"]}, f)
    fp = subprocess.Popen([sys.executable, fake, "--log", log, "--port-file", pf, "--key",
                           "sk-test-0123456789", "--model", "gpt-test-1", "--scenario",
                           os.path.join(root, "scen.json")])
    try:
        rt.until(lambda: (os.path.exists(pf) and os.path.getsize(pf)) or fp.poll() is not None)
        port = open(pf).read().strip()
        ctx, out = 8192, 1024
        svc = Service(os.path.join(root, "bounds-llm"), env={
            "CALLQA_LLM_PROVIDER": "openai", "CALLQA_LLM_URL": "http://127.0.0.1:%s/v1" % port,
            "CALLQA_LLM_MODEL": "gpt-test-1", "CALLQA_LLM_KEY_FILE": key,
            "CALLQA_LLM_CONTEXT_TOKENS": str(ctx), "CALLQA_LLM_MAX_TOKENS": str(out)})
        s, _, b = investigate(svc, cap)
        d = answer_ok("with an LLM of %d tokens of context" % ctx, s, b)
        texts = [json.loads(x) for x in open(os.path.join(log, "texts.jsonl"))] \
            if os.path.exists(os.path.join(log, "texts.jsonl")) else []
        size = sum(len(t["system"].encode()) + sum(len(u.encode()) for u in t["user"])
                   for t in texts[:1])
        facts = {}
        if texts:
            u = texts[0]["user"][0]
            facts = json.loads(u[u.index("The facts of the call:") + 22:])
        check("  the prompt within %d - %d tokens, counted as bytes (%d bytes), the facts' "
              "left_out counted" % (ctx, out, size), texts and size <= ctx - out and
              facts.get("left_out", {}).get("dialogs", 0) > 0, "%d bytes, %s" %
              (size, facts.get("left_out")))
        check("  the LLM's explanation, held to those facts, kept",
              d is not None and d.get("explanation_source") == "llm", str(d and d.get("llm_error")))
        healthy(svc, "a bounded prompt")
        svc.stop()
    finally:
        fp.terminate()
        fp.wait()


# ---- bounds_memory ------------------------------------------------------------------------------

def cat_bounds_memory(root):
    mem = not sanitized()
    cap = flood(os.path.join(root, "flood46.pcap"), 200000, 100000)
    mb = os.path.getsize(cap) / 1e6
    # memory is what is bounded here: the analysis's time limit (300 s by default, wall clock)
    # at the request's own hang bound, so that a loaded machine under ASan is no failure
    svc = Service(os.path.join(root, "bounds-mem"), env={"CALLQA_ANALYSIS_TIMEOUT_SEC": "1200"})
    pid = svc.proc.pid
    rss0 = status_kb(pid, "VmRSS")
    # twice for the memory given back after each; under a sanitizer, which hides the figures, once
    for k in range(2 if mem else 1):
        since = os.path.getsize(svc.log)
        watch = ChildPeak(pid)
        watch.start()
        t0 = time.time()
        s, _, b = investigate(svc, cap, meta={"call_id": "x%d@nowhere" % k}, timeout=1200)
        dt = time.time() - t0
        watch.stop = True
        watch.join()
        answer_ok("POST /investigate on a %.0f MB capture of 200,000 INVITEs and 100,000 streams "
                  "(%.1f s)" % (mb, dt), s, b)
        if not mem:
            continue
        hwm, rss = status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS")
        child = logged_peak_kb(svc, since) or watch.peak
        check("  the service's peak %.0f MB and its analysis child's %.0f MB, each under 512 MB"
              % (hwm / 1024, child / 1024), hwm < PEAK_MAX_KB and 0 < child < PEAK_MAX_KB,
              "%d kB, %d kB" % (hwm, child))
        check("  the service's resident memory back within 64 MB: %.0f MB before, %.0f after" %
              (rss0 / 1024, rss / 1024), rss - rss0 < BACK_WITHIN_KB, "%d kB" % (rss - rss0))
    healthy(svc, "a 46 MB capture")
    svc.stop()
    # callqa sip on it, under /usr/bin/time when there is one, else the CLI's own VmHWM
    timer = ["/usr/bin/time", "-f", "peak_kb=%M"] if os.path.exists("/usr/bin/time") else []
    t0 = time.time()
    p = subprocess.run(timer + [rt.CQ, "sip", "--json", cap], capture_output=True, timeout=1200)
    dt = time.time() - t0
    ok = p.returncode == 0 and len(p.stdout) <= ANSWER_MAX
    d = json.loads(p.stdout) if ok else {}
    # the 100,000 one-packet flows are read, then found not to be RTP (no stream of one packet
    # without an SDP: docs/network.md); the INVITEs are cut to fit
    check("callqa sip --json on it: %.1f MB within 16 MiB (%.1f s), the one-packet flows not "
          "RTP" % (len(p.stdout) / 1e6, dt),
          ok and d["counts"]["not_rtp_flows"] == 100000 and d["truncated"]["sip"] > 0,
          "%d %s" % (p.returncode, p.stderr[-300:]))
    if mem and timer:
        peak = [int(x.split("=")[1]) for x in p.stderr.decode().split() if
                x.startswith("peak_kb=")]
        check("  its peak %.0f MB under 512 MB" % (peak[0] / 1024 if peak else -1),
              peak and peak[0] < PEAK_MAX_KB, p.stderr[-200:])


CATEGORIES = [("bounds", cat_bounds), ("bounds_memory", cat_bounds_memory)]
