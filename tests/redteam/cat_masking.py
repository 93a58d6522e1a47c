"""cat_masking.py - keyed digits, card numbers and SSNs with redaction on (docs/privacy/pipeline.md,
"Normalisation before detection" and "One walk"): a service with redaction on for a campaign
(BANK=all, SALES=none), the fake LLM keeping every request body, and the worker.

  masking       the planted forms (a card and an SSN with en dashes, full-width, Arabic-Indic and
                Devanagari digits, zero-width and no-break separators, a stray digit; a card
                said in words) through a transcript import, the worker and its LLM prompt, the
                search and its audit rows, /ask; the recording's in-band digits 8275# and a
                one-digit RFC 4733 stream through /investigate (answer, stored answer, LLM
                prompt) and the worker; then every answer, the store's files, the fake LLM's
                received bodies and the logs searched for the digits, read as a reader would
                (any script's digits, any dash, invisible characters left out). The false
                positives: a capture's uniqueids, Call-IDs, caller codes, numbers and times, and
                a redacted call's report, come out as they do without redaction.
  masking_time  /investigate on captures of 2,000 and 8,000 RTP streams of distinct RFC 4733
                digits with redaction on: the time grows linearly (it grew with the square);
                under a sanitizer the 2,000 streams alone, once, every digit string masked.
"""
import glob
import json
import os
import re
import struct
import subprocess
import sys
import time
import unicodedata
import urllib.parse

import rtlib as rt
from cat_bounds import sanitized
from rtlib import Service, check, healthy, multipart

HERE = os.path.dirname(os.path.abspath(__file__))
CARD = "4111111111111111"
CARD2 = "5555555555554444"
SSN = "287654320"  # 287-65-4320: in the issued ranges
KEYED = "8275"  # call06_ivr_dtmf's in-band digits (8275#)


def fw(s):
    """s with its ASCII digits as full-width digits."""
    return "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in s)


def script(s, zero):
    """s with its ASCII digits in the script whose zero is `zero`."""
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in s)


def groups(d, sep, size=4):
    return sep.join(d[i:i + size] for i in range(0, len(d), size))


# the planted forms: (name, text, digits)
FORMS = [
    ("en dash", groups(CARD, "\u2013"), CARD),
    ("em dash", groups(CARD, "\u2014"), CARD),
    ("minus sign", groups(CARD2, "\u2212"), CARD2),
    ("full-width digits", fw(CARD), CARD),
    ("full-width digits, en dashes", fw(groups(CARD2, "\u2013")), CARD2),
    ("Arabic-Indic digits", script(CARD, 0x0660), CARD),
    ("extended Arabic-Indic digits", script(groups(CARD, " "), 0x06F0), CARD),
    ("Devanagari digits", script(groups(CARD2, " "), 0x0966), CARD2),
    ("zero-width spaces", groups(CARD, "\u200b"), CARD),
    ("word joiners", groups(CARD2, "\u2060"), CARD2),
    ("byte order marks", groups(CARD, "\ufeff"), CARD),
    ("soft hyphens", groups(CARD, "\u00ad"), CARD),
    ("no-break spaces", groups(CARD, "\u00a0"), CARD),
    ("narrow no-break spaces", groups(CARD2, "\u202f"), CARD2),
    ("thin spaces", groups(CARD, "\u2009"), CARD),
    ("a stray digit after the groups", groups(CARD, " ") + " 7", CARD),
    ("a stray digit, written whole", CARD2 + "3", CARD2),
    ("a stray digit before", "9 " + groups(CARD, "-"), CARD),
    ("SSN, en dashes", "287\u201365\u20134320", SSN),
    ("SSN, full width", fw("287-65-4320"), SSN),
    ("SSN, zero-width spaces", "287\u200b65\u200b4320", SSN),
]
SPOKEN = " ".join(["four", "one", "one", "one"] + ["one"] * 12)


def reader_view(text):
    """Independent of callqa's normaliser: every digit of any script as ASCII, invisible
    characters (format, combining) left out, dashes as '-', spaces as ' '; JSON's \\uXXXX
    escapes read first."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Mn", "Me"):
            continue
        d = unicodedata.digit(ch, None)
        if d is not None:
            out.append(str(d))
        elif cat.startswith("Z"):
            out.append(" ")
        elif cat == "Pd" or ch == "\u2212":
            out.append("-")
        else:
            out.append(ch)
    return "".join(out)


def found(data, digits):
    """Where data (bytes or text) holds the digits, one character at most between two of them,
    not inside a longer word, or a planted number said in words: a description, or None."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    v = reader_view(data)
    # not inside a longer run of letters and digits: a hash or a nonce that happens to hold the
    # four keyed digits (1 in 16^4 at each place of a hex hash) is not a leak
    m = re.search("(?<![0-9A-Za-z])" + "[^0-9]?".join(digits) + "(?![0-9A-Za-z])", v)
    if m:
        return "%r at %d" % (v[max(0, m.start() - 30):m.end() + 10], m.start())
    if digits == CARD and SPOKEN in v.lower():
        return "the card in words"
    return None


def leaks(data):
    """Every planted number data holds."""
    return [(d, w) for d in (CARD, CARD2, SSN, KEYED) for w in [found(data, d)] if w]


# ---- captures ------------------------------------------------------------------------------

def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _packet(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(src),
                     bytes(dst))
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp


def dtmf_capture(path, streams, per_event=1):
    """A pcap of RTP streams of RFC 4733 events (payload type 101): streams is a list of digit
    strings, one stream each, a new event (a new timestamp) per digit. per_event 1: one packet
    an event; 5: as a sender sends it, two packets as it lasts, then its end three times with
    one sequence number (a flow of fewer than 5 packets is not taken for RTP without an SDP,
    docs/network.md)."""
    sym = "0123456789*#ABCD"
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1764061200.0
        for i, digits in enumerate(streams):
            src, dst = [10, 1, (i >> 8) & 255, i & 255], [10, 2, 0, 1]
            seq = 1
            for k, d in enumerate(digits):
                for part in range(per_event):
                    last = per_event == 1 or part >= 2
                    rtp = struct.pack("!BBHII", 0x80, 101, seq + min(part, 2), 1000 + 1600 * k,
                                      0x1000 + i)
                    pkt = _packet(src, dst, 10000 + i % 50000, 20000,
                                  rtp + struct.pack("!BBH", sym.index(d), (0x80 if last and
                                                    per_event > 1 else 0) | 0x0A,
                                                    800 if last else 160 * (part + 1)))
                    f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(pkt), len(pkt)))
                    f.write(pkt)
                    t += 0.0001
                seq += min(per_event, 3)


UID = "1700000000.12348"  # read as 15 digits it passes Luhn
CALL_ID = "3848276298220188508@pbx.example.com"  # its 19 digits pass Luhn


def sip_capture(path):
    """A call's SIP whose identifiers hold long digit runs, some passing Luhn: a Call-ID, a
    uniqueid, tags, numbers in URIs, a Date; INVITE, 200, ACK, BYE (with a Reason), 200."""
    sdp = ("v=0\r\no=- 1700000000 1700000001 IN IP4 10.0.0.1\r\ns=1700000000.12348\r\n"
           "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 16384 RTP/AVP 0 101\r\n"
           "a=rtpmap:101 telephone-event/8000\r\n")
    frm = '"1001" <sip:1001@10.0.0.1>;tag=41555512341003'
    to = "<sip:+14155551234@carrier.example.com>"

    def msg(first, cseq, extra=(), body="", tag=""):
        h = [first, "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1700000000123",
             "From: " + frm, "To: " + to + tag, "Call-ID: " + CALL_ID, "CSeq: " + cseq,
             "Date: Tue, 25 Nov 2026 09:00:00 GMT", "X-Asterisk-Uniqueid: " + UID]
        h += list(extra)
        h += ["Content-Length: %d" % len(body)]
        if body:
            h.insert(-1, "Content-Type: application/sdp")
        return ("\r\n".join(h) + "\r\n\r\n" + body).encode()

    a, b = [10, 0, 0, 1], [192, 0, 2, 7]
    seq = [(a, b, msg("INVITE sip:+14155551234@carrier.example.com SIP/2.0", "1 INVITE",
                      body=sdp)),
           (b, a, msg("SIP/2.0 200 OK", "1 INVITE", body=sdp.replace("10.0.0.1", "192.0.2.7"),
                      tag=";tag=8005550000123")),
           (a, b, msg("ACK sip:+14155551234@carrier.example.com SIP/2.0", "1 ACK",
                      tag=";tag=8005550000123")),
           (a, b, msg("BYE sip:+14155551234@carrier.example.com SIP/2.0", "2 BYE",
                      ['Reason: Q.850;cause=16;text="Normal Clearing 1700000000.12348"'],
                      tag=";tag=8005550000123")),
           (b, a, msg("SIP/2.0 200 OK", "2 BYE", tag=";tag=8005550000123"))]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1764061200.0
        for i, (src, dst, payload) in enumerate(seq):
            pkt = _packet(src, dst, 5060, 5060, payload)
            t += 10.0 if i == 3 else 0.1
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(pkt), len(pkt)))
            f.write(pkt)


def _investigate(svc, parts, timeout=120):
    body, ctype = multipart(parts)
    return svc.request("POST", "/investigate", body, {"Content-Type": ctype}, timeout=timeout)


# ---- the service with redaction on ------------------------------------------------------------

class Fixture:
    def __init__(self, root):
        self.root = root
        self.llm_dir = os.path.join(root, "llm")
        os.makedirs(self.llm_dir, exist_ok=True)
        with open(os.path.join(root, "key"), "w") as f:
            f.write("sk-test-123\n")
        os.chmod(os.path.join(root, "key"), 0o600)
        port_file = os.path.join(self.llm_dir, "port")
        # POST /ask's plans: a model that asks for rows holding a card in two written forms and
        # an SSN (as a dialer's comment field might), in text mode and with tool calls
        plan = os.path.join(self.llm_dir, "plans.json")
        sql = ("SELECT '%s' AS note, '%s' AS other, 'ssn %s' AS third" %
               (groups(CARD, "\u2013"), fw(groups(CARD2, " ")), "287-65-4320"))
        with open(plan, "w") as f:
            json.dump({q: {"mode": m, "rounds": [[{"type": "callqa", "sql": sql}]],
                           "answer": "the rows say " + groups(CARD, "-")}
                       for q, m in (("ask: rows with a card", "text"),
                                    ("ask: rows with a card, tools", "tools"))}, f,
                      ensure_ascii=False)
        self.llm = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "..", "clients", "fake_llm.py"), "--log",
             self.llm_dir, "--port-file", port_file, "--key", "sk-test-123", "--model",
             "fake-model", "--save-bodies", "--ask-plan", plan],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.llm_dir, "err"), "wb"))
        rt.until(lambda: os.path.exists(port_file) or self.llm.poll() is not None)
        port = int(open(port_file).read())
        self.conf = os.path.join(root, "redact.conf")
        with open(self.conf, "w") as f:
            f.write("llm_provider = openai\nllm_url = http://127.0.0.1:%d/v1\n"
                    "llm_model = fake-model\nllm_key_file = %s\nllm_retries = 0\n"
                    "redact_campaigns = BANK=all, SALES=none\nredact_dir = %s\n"
                    % (port, os.path.join(root, "key"), os.path.join(root, "redacted")))
        self.svc = Service(os.path.join(root, "svc"), args=["--config", self.conf])
        self.plain = Service(os.path.join(root, "plain"))  # no redaction: the same input's
        self.worker_log = os.path.join(root, "worker.log")
        self.answers = []  # (what, bytes) of every answer read

    def get(self, path, what):
        s, _, b = self.svc.request("GET", path, timeout=30)
        self.answers.append((what, b))
        return s, b

    def upload(self, rid, campaign, wav, capture=None, uniqueid=None, svc=None):
        meta = {"recording_id": rid, "agent_user": "ann", "campaign_id": campaign,
                "call_date": time.strftime("%Y-%m-%d 09:00:00")}
        if uniqueid:
            meta["uniqueid"] = uniqueid
        parts = [("metadata", None, "application/json", json.dumps(meta).encode()),
                 ("audio", os.path.basename(wav), "audio/wav", open(wav, "rb").read())]
        if capture:
            parts.append(("capture", "call.pcap", "application/octet-stream",
                          open(capture, "rb").read()))
        body, ctype = multipart(parts)
        s, _, b = (svc or self.svc).request("POST", "/api/qa/calls", body,
                                            {"Content-Type": ctype}, timeout=60)
        self.answers.append(("upload " + rid, b))
        return s, b

    def worker(self, svc=None):
        conf = ["--config", self.conf] if svc is None else []
        with open(self.worker_log, "ab") as log:
            return subprocess.run(
                [rt.CQ, "worker", "--db", (svc or self.svc).db] + conf +
                ["--once", "--jobs", "1", "--max-load", "0", "--no-idle", "--backoff-sec", "0.2",
                 "--max-retries", "1"], stdout=log, stderr=subprocess.STDOUT,
                timeout=300).returncode

    def llm_bodies(self):
        return sorted(glob.glob(os.path.join(self.llm_dir, "body-*.json")))

    def stop(self):
        """The two services' exit statuses."""
        rc = (self.svc.stop(), self.plain.stop())
        self.llm.terminate()
        self.llm.wait(10)
        return rc


def cat_masking(root):
    wav = os.path.join(rt.CORPUS, "calls", "call06_ivr_dtmf.wav")
    fx = Fixture(os.path.join(root, "masking"))
    one_digit = os.path.join(root, "masking", "one_digit.pcap")
    dtmf_capture(one_digit, ["5"], per_event=5)
    try:
        _cases(fx, wav, one_digit, root)
    finally:
        rc = fx.stop()
    why = str(rc)
    for svc, code in zip((fx.svc, fx.plain), rc):
        if code != 0:  # what the service said last (an ASan report, libmicrohttpd's panic...)
            why += "; %s's log ends: %s" % (os.path.basename(svc.root), open(
                svc.log, errors="replace").read()[-3000:])
    check("  the services stop on SIGTERM, status 0 (under ASan: no leak)", rc == (0, 0), why)


def _cases(fx, wav, one_digit, root):
    svc = fx.svc
    # ---- the transcript: every form imported into a redacted call, then the worker
    for rid, campaign, to in (("B1", "BANK", None), ("S1", "SALES", fx.plain)):
        s, b = fx.upload(rid, campaign, wav, uniqueid=UID, svc=to)
        check("upload %s (%s%s)" % (rid, campaign, ", to a service without redaction" if to
                                     else ""), s == 201, "%s %s" % (s, b[:200]))
    segs = []
    for i, (name, text, _) in enumerate(FORMS):
        cue = "social security number" if "SSN" in name else "card number"
        segs.append({"speaker": "customer", "start": 80.0 + 4 * i, "end": 83.0 + 4 * i,
                     "text": "my %s is %s thank you" % (cue, text)})
    segs.append({"speaker": "customer", "start": 200.0, "end": 206.0,
                 "text": "the card is " + SPOKEN + " okay"})
    segs.append({"speaker": "agent", "start": 1.0, "end": 4.0,
                 "text": "thank you for calling uniqueid 1764061200.12349 at 2026-11-25 09:00:00"})
    s, _, b = svc.request("POST", "/api/qa/call/B1/transcript",
                          json.dumps({"segments": segs}, ensure_ascii=False).encode(),
                          {"Content-Type": "application/json"}, timeout=60)
    fx.answers.append(("import B1", b))
    check("a transcript holding every form imported into a redacted call (200)", s == 200,
          "%s %s" % (s, b[:300]))
    s, b = fx.get("/api/qa/call/B1", "call B1")
    tx = json.loads(b).get("transcript") or "" if s == 200 else ""
    left = [name for name, text, digits in FORMS if found(tx, digits)]
    check("  the stored transcript holds none of the %d forms (each a [CARD] or [SSN])"
          % len(FORMS), s == 200 and not left and found(tx, CARD) is None and
          tx.count("[CARD]") + tx.count("[SSN]") >= len(FORMS), "left: %s; %s" % (left, tx[:600]))
    check("  ... and keeps the agent's uniqueid and time as they were",
          "1764061200.12349" in tx and "2026-11-25 09:00:00" in tx, tx[:300])
    # the search: every form, and the card said in words, as a caller would type them
    queries = [text for _, text, _ in FORMS[:6]] + [SPOKEN, CARD, groups(CARD, " ")]
    hits = 0
    for q in queries:
        s, b = fx.get("/api/qa/search?q=" + urllib.parse.quote('"%s"' % q), "search")
        hits += len(json.loads(b).get("calls", [])) if s == 200 else 0
    check("  the search finds no call by the card in any form", hits == 0, "%d calls" % hits)
    check("  ... and its answers echo none of it", not any(
        leaks(b) for w, b in fx.answers if w == "search"),
        [leaks(b) for w, b in fx.answers if w == "search"][:2])
    # POST /ask with a card in the question: the LLM, the store and the audit trail get it masked
    s, _, b = svc.request("POST", "/ask", json.dumps(
        {"question": "which calls mention " + groups(CARD, "\u2013") + " or ssn " +
         fw("287-65-4320")},
        ensure_ascii=False).encode(), {"Content-Type": "application/json"}, timeout=60)
    fx.answers.append(("ask", b))
    # POST /ask whose model is shown rows holding a card: the rows, the LLM's next prompt, the
    # conversation given back and the answer all masked
    for q in ("ask: rows with a card", "ask: rows with a card, tools"):
        s, _, b = svc.request("POST", "/ask", json.dumps({"question": q}).encode(),
                              {"Content-Type": "application/json"}, timeout=60)
        fx.answers.append(("ask rows", b))
        conv = json.dumps(json.loads(b).get("conversation", [])) if s == 200 else ""
        check("/ask (%s): the rows shown to the model hold a card, masked in its answer and "
              "conversation" % q.split(", ")[-1], s == 200 and "data_result" in conv + q and
              not leaks(b), "%s %s" % (s, leaks(b) or b[:300]))
    # the worker: the imported transcript scored with the LLM; a call with its capture
    s, b = fx.upload("B2", "BANK", wav, capture=one_digit)
    check("upload B2 (BANK) with a capture of one keyed digit", s == 201, "%s %s" % (s, b[:200]))
    rc, rc2 = fx.worker(), fx.worker(fx.plain)
    check("the worker runs the calls", rc == 0 and rc2 == 0, "exit %s, %s: %s" % (
        rc, rc2, open(fx.worker_log, "rb").read()[-400:]))
    s, b = fx.get("/api/qa/call/B2/report", "report B2")
    rep = (json.loads(b) if s == 200 else {}).get("report") or {}
    net = rep.get("network") or {}
    msgs = [f.get("message", "") for f in net.get("findings", []) if f.get("code") == "rtp_dtmf"]
    check("  B2's report: the one-digit stream's finding message masked",
          msgs and all(m.endswith(": *") for m in msgs), msgs or list(rep)[:20])
    check("  ... its events' digits masked", [e.get("digits") for e in rep.get("events", [])
                                               if e.get("type") == "dtmf"] == ["*****"],
          [e for e in rep.get("events", []) if e.get("type") == "dtmf"][:3])
    # /investigate: the recording (in-band 8275#) and the capture (one digit), with the LLM
    s, _, b = _investigate(svc, [("capture", "c.pcap", "application/octet-stream",
                                  open(one_digit, "rb").read()),
                                 ("recording", "r.wav", "audio/wav", open(wav, "rb").read())])
    fx.answers.append(("investigate", b))
    o = json.loads(b) if s == 200 else {}
    dt = (o.get("cross_checks") or {}).get("dtmf") or {}
    check("/investigate with a recording: cross_checks.dtmf.in_band masked",
          s == 200 and dt.get("in_band") == "*****", "%s %s" % (s, dt or b[:300]))
    fm = [f.get("message", "") for f in o.get("findings", [])
          if f.get("code") in ("rtp_dtmf", "xcheck_dtmf_mismatch")]
    check("  the one-digit strings in its findings' messages masked",
          len(fm) == 2 and all(re.search(r"(: \*$)|(were \* but)", m) for m in fm), fm)
    check("  no keyed digit in its answer", not leaks(b), leaks(b))
    s, _, b2 = _investigate(svc, [("capture", "c.pcap", "application/octet-stream",
                                   open(os.path.join(rt.CORPUS, "pcaps", "dtmf_sipinfo.pcap"),
                                        "rb").read())])
    fx.answers.append(("investigate sip info", b2))
    check("/investigate of SIP INFO digits (1342): none in its answer",
          s == 200 and b"1342" not in b2, "%s %s" % (s, re.findall(rb".{40}1342.{10}", b2)[:2]))
    # every answer, the store, the LLM's bodies, the logs
    bad = [(w, leaks(b)) for w, b in fx.answers if leaks(b)]
    check("no planted card, SSN or keyed digit in any of the %d answers" % len(fx.answers),
          not bad, bad[:3])
    s, b = fx.get("/api/qa/audit?limit=500", "audit")
    rows = json.loads(b).get("entries", []) if s == 200 else []
    targets = [r.get("target") for r in rows if r.get("action") in ("search", "ask")]
    check("  the audit rows of the searches and /ask hold none of it (%d rows)" % len(targets),
          s == 200 and len(targets) >= len(queries) and not leaks(json.dumps(
              targets, ensure_ascii=False)), "%s %s" % (s, targets[:4]))
    time.sleep(0.5)
    store = b"".join(open(f, "rb").read() for f in glob.glob(svc.db + "*"))
    check("  the store's files hold none of it", not leaks(store), leaks(store))
    bodies = fx.llm_bodies()
    sent = b"".join(open(f, "rb").read() for f in bodies)
    check("  the %d bodies the LLM received hold none of it" % len(bodies),
          len(bodies) >= 2 and not leaks(sent), "%d bodies; %s" % (len(bodies), leaks(sent)))
    logs = open(svc.log, "rb").read() + open(fx.worker_log, "rb").read()
    check("  the service's and the worker's logs hold none of it", not leaks(logs), leaks(logs))
    # the false positives: a redacted call's report is the same call's without redaction, but
    # for what was masked
    s, _, b = fx.plain.request("GET", "/api/qa/call/S1/report", timeout=30)
    check("the call without redaction keeps its keyed digits",
          s == 200 and KEYED.encode() in b, "%s %s" % (s, b[:200]))
    s1 = (json.loads(b) if s == 200 else {}).get("report") or {}
    s, b = fx.get("/api/qa/call/B1/report", "report B1")
    b1 = (json.loads(b) if s == 200 else {}).get("report") or {}
    diff = _diff(b1, s1)
    check("  its report redacted differs only in its keyed digits and redaction (%d strings)"
          % len(list(_strings(b1))), b1 and s1 and not diff, diff[:5])
    _false_positives(fx, root)
    healthy(svc, "the masking cases")


def _strings(v, path=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _strings(x, path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _strings(x, "%s[%d]" % (path, i))
    elif isinstance(v, str):
        yield path, v


def _diff(a, b):
    """The strings of report a that differ from report b's, beside the keyed digits, the
    redaction object, and the names (B1/S1, the services' folders), times and routes (the
    campaign the redaction is for) of the calls."""
    bs = dict(_strings(b))
    out = []
    for p, v in _strings(a):
        if (p.startswith(".redaction") or p.startswith(".route.") or p.endswith("digits") or
                p not in bs):
            continue
        w = bs[p]
        same = v.replace("B1", "S1").replace("/svc/", "/plain/") == w
        if v != w and not same and not re.search(r"time|_at$|date", p):
            out.append((p, v, w))
    return out


def _facts(o):
    return {k: o.get(k) for k in ("findings", "dialogs", "streams", "sip", "counts",
                                  "cross_checks", "match", "explanation_from_facts")}


def _false_positives(fx, root):
    """A call's SIP whose identifiers hold long digit runs (Luhn-valid ones too) investigated
    with redaction on and without: the same facts, every identifier kept."""
    cap = os.path.join(root, "masking", "sip.pcap")
    sip_capture(cap)
    parts = [("capture", "sip.pcap", "application/octet-stream", open(cap, "rb").read()),
             ("metadata", None, "application/json", json.dumps({"uniqueid": UID}).encode())]
    s1, _, a = _investigate(fx.svc, parts)
    s2, _, b = _investigate(fx.plain, parts)
    fa = _facts(json.loads(a)) if s1 == 200 else None
    fb = _facts(json.loads(b)) if s2 == 200 else None
    ids = [x for x in (CALL_ID, "41555512341003", "+14155551234", "sip:1001@10.0.0.1",
                       "8005550000123") if x.encode() not in a]
    check("false positives: a Call-ID, tags and numbers of long digit runs (Luhn-valid ones "
          "too) kept with redaction on", s1 == 200 and not ids, "%s missing %s" % (s1, ids))
    d = [p for p, v in _strings(fa or {}) if dict(_strings(fb or {})).get(p) != v]
    check("  ... the investigation's facts the same as without redaction", fa and fa == fb,
          d[:5])


def cat_masking_time(root):
    """The walk's time against the number of distinct keyed digit strings, in the CPU the
    service (and what it runs) spends on each request."""
    conf = os.path.join(root, "masking_time", "redact.conf")
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, "w") as f:
        f.write("redact_campaigns = BANK=all\n")
    svc = Service(os.path.join(root, "masking_time", "svc"), args=["--config", conf])
    # under a sanitizer, whose cost is no figure of ours, the 2,000 streams once: the same walk
    # for memory errors; the time's growth is checked in the Release build
    timed = not sanitized()
    try:
        times = {}
        for n in (2000, 8000) if timed else (2000,):
            cap = os.path.join(root, "masking_time", "dtmf_%d.pcap" % n)
            dtmf_capture(cap, ["%05d#" % i for i in range(n)])
            best, body = None, b""
            for _ in range(2 if timed else 1):
                c0 = rt.cpu_tree(svc.proc.pid)
                s, _, body = _investigate(svc, [("capture", "c.pcap", "application/octet-stream",
                                                 open(cap, "rb").read())], timeout=600)
                dt = rt.cpu_tree(svc.proc.pid) - c0
                best = dt if best is None else min(best, dt)
                # a second request is the stored answer's: a capture with one more stream
                dtmf_capture(cap, ["%05d#" % i for i in range(n)] + ["9"])
            times[n] = best
            left = len(re.findall(rb"\d{5}#", body))
            check("/investigate on %d streams of distinct keyed digits: answered, every digit "
                  "string masked (%.2f s of CPU)" % (n, best), s == 200 and left == 0,
                  "%s, %d left" % (s, left))
        if timed:
            ratio = times[8000] / max(times[2000], 1e-3)
            check("  4 times the streams take at most 8 times the CPU (x%.1f; quadratic: about 16)"
                  % ratio, ratio <= 8, "%.2f s and %.2f s of CPU" % (times[2000], times[8000]))
        healthy(svc, "the masking time cases")
    finally:
        rc = svc.stop()
    check("  the service stops on SIGTERM, status 0 (under ASan: no leak)", rc == 0, str(rc))


CATEGORIES = [("masking", cat_masking), ("masking_time", cat_masking_time)]
