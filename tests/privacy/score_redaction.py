#!/usr/bin/env python3
"""score_redaction.py - what the worker's redaction did to the spoken corpus (mkcorpus.py),
measured against the truth, and an independent Luhn scan of everything it stored or sent.

    score_redaction.py --script CORPUS/script.json --asr-log DIR --db STORE.db
                       [--calls CORPUS/calls] [--scan FILE_OR_DIR ...] [--json OUT]
                       [--label NAME]

What it reads:
  - the truth (script.json): each call's words with their times, and its items (entities and
    near-misses) with the words and the digits' true spans;
  - the fake ASR's script.jsonl: each word it sent, on the call's clock, with the words said
    that it came from (src), so that a stored word is traced back to what was said;
  - the store: each call's transcript (transcripts.detail) and its report (analyses.report),
    with the report's `redaction` object {types, counts, spans [{type, leg, start, end}],
    audio {mode, ..., file}, verify} and the redacted audio (the file the report names, where
    analyses.redacted_audio keeps it; 16-bit PCM; two legs: inbound, the customer, on the first
    channel).

What it measures (printed as tables; --json writes the figures):
  text   an entity is redacted when every stored word that carries one of its digits (or, for
         an email, an IBAN and an expiry, one of its words) is a placeholder ([CARD], ...).
         Recall per type: entities redacted / entities heard (an entity none of whose words
         reached the transcript is counted apart, as "not heard"). Precision per type: the
         placeholder runs of that type whose words came from an entity of that type / all
         placeholder runs of that type.
  audio  an entity is redacted when every one of its words' and digits' true spans (an email's
         and an expiry's words, an IBAN's letters) lies inside a span of the report on its leg (within 1 ms: the report rounds its times to 1 ms), and the redacted audio is silent (RMS <= -60 dBFS per 20 ms
         frame) or a single tone there. Precision per type: the report's spans of that type
         that overlap an entity of that type on their leg / all its spans of that type. Every
         span is also checked in the audio: silent or a tone.
  kept   the speech outside the values: every word said on either leg that is not a word of
         an entity's value (its first word to its last) nor taken for one by the text
         redaction (a false hit, counted by precision) is a piece; its level in the redacted
         audio (its channel, over its true time) against the uploaded call's (--calls, decoded
         by sox): a piece lowered by more than 3 dB was cut by a silence that reached past the
         value (the words before it, "sure it's", or the other party's reply beside it).
  scan   Luhn-valid 13-19 digit runs, read independently of callqa: written digits with single
         spaces, dashes, commas or points between them, and spoken digit words ("four one one
         one ...") with spaces, commas or dashes, in: every text cell of the store, the store's
         file bytes (with its -wal), and every --scan file (logs, the LLM's request bodies).
  asr    every chunk the worker sent was matched by the fake to its own call (the stored
         words of a call trace back only to that call's words).
Exit status: 0; the shell test asserts on the --json figures.
"""
import argparse
import array
import io
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import wave

try:  # C speed for the pieces' levels (Python 3.11 has it; without it, the same in Python)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
except ImportError:
    audioop = None

PLACEHOLDER = re.compile(r"^\[([A-Z_]+)\][.,?!]*$")
TYPE_OF = {"CARD": "card", "CVV": "cvv", "EXPIRY": "expiry", "SSN": "ssn",
           "NATIONAL_ID": "national_id", "IBAN": "iban", "EMAIL": "email", "PHONE": "phone",
           "DOB": "dob"}
ENTITY_TYPES = ["card", "cvv", "expiry", "ssn", "iban", "email", "phone"]
MUTE_DB = -60.0
PIECE_DB = 3.0  # a piece of speech outside the values lowered by more than this has been cut
TOL = 0.001  # the report's span times are rounded to 1 ms
WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
         "six": "6", "seven": "7", "eight": "8", "nine": "9"}


# ----------------------------------------------------------------------------- Luhn scan

def luhn_ok(d):
    s, alt = 0, False
    for ch in reversed(d):
        x = ord(ch) - 48
        if alt:
            x = x * 2 - 9 if x > 4 else x * 2
        s += x
        alt = not alt
    return s % 10 == 0


WRITTEN = re.compile(r"(?<![0-9A-Za-z_.])[0-9]+(?:[ \-,.][0-9]+)*(?![0-9A-Za-z_])")
DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]+$")
TOKEN = re.compile(r"[A-Za-z0-9']+|[^A-Za-z0-9'\s]+|\s+")
HOMO = {"for": "4", "fore": "4", "to": "2", "too": "2", "ate": "8", "won": "1"}


def spoken_runs(text):
    """[(digits, start, end)] of the runs of spoken digits: digit words, "double"/"triple" and
    a digit word, written groups of up to 4 digits among them, and homophones (for, to, too,
    ate, won) beside any of those; between two, only spaces, a comma or a dash."""
    toks = [(m.group(0), m.start(), m.end()) for m in TOKEN.finditer(text)]
    words = [(i, t) for i, t in enumerate(toks) if re.match(r"[A-Za-z0-9']", t[0])]
    runs, cur, last = [], [], None

    def val(k):
        w = words[k][1][0].lower()
        if w in WORDS:
            return WORDS[w]
        if w.isdigit() and len(w) <= 4:
            return w
        return None

    def close():
        if cur:
            runs.append(list(cur))
        cur.clear()
    for k, (i, (w, a, b)) in enumerate(words):
        glue = last is not None and all(
            re.fullmatch(r"\s+|[,\-]\s*", toks[j][0]) for j in range(last + 1, i)) and \
            len(range(last + 1, i)) <= 2
        lw = w.lower()
        v = val(k)
        if v is None and lw in ("double", "triple") and k + 1 < len(words) and \
                val(k + 1) is not None and len(val(k + 1)) == 1:
            v = ""  # the next word's digit, repeated
        if v is None and lw in HOMO:
            near = (k > 0 and val(k - 1) is not None) or (k + 1 < len(words) and
                                                          val(k + 1) is not None)
            v = HOMO[lw] if near else None
        if v is None:
            close()
            last = None
            continue
        if not glue:
            close()
        if cur and cur[-1][0] in ("double", "triple"):
            rep = 2 if cur[-1][0] == "double" else 3
            cur[-1] = ("", cur[-1][1], b, v * rep)
        else:
            cur.append((lw if v == "" else "", a, b, v) if v == "" else ("", a, b, v))
            if v == "":
                cur[-1] = (lw, a, b, "")
        last = i
    close()
    out = []
    for r in runs:
        d = "".join(x[3] for x in r)
        out.append((d, r[0][1], r[-1][2]))
    return out


def luhn_runs(text):
    """[(digits, excerpt)] of the Luhn-valid 13-19 digit runs in text: a whole written run
    (single separators; not a decimal number such as a time stamp, nor digits inside a word
    such as a hex digest), or a whole run of spoken digit words."""
    out = []
    for m in WRITTEN.finditer(text):
        if DECIMAL.match(m.group(0)):  # a decimal number (a time stamp), not digits read out
            continue
        d = re.sub(r"[^0-9]", "", m.group(0))
        if 13 <= len(d) <= 19 and luhn_ok(d):
            out.append((d, text[max(0, m.start() - 40):m.end() + 20]))
    for d, a, b in spoken_runs(text):
        if 13 <= len(d) <= 19 and luhn_ok(d):
            out.append((d, text[max(0, a - 40):b + 20]))
    return out


def scan_store(db_path):
    """[(where, digits, excerpt)] in the store: every text cell, then the file's bytes."""
    hits = []
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for t in tables:
        try:
            rows = db.execute('SELECT * FROM "%s"' % t.replace('"', '""'))
        except sqlite3.Error:
            continue
        for row in rows:
            for v in row:
                if isinstance(v, bytes):
                    v = v.decode("latin-1")
                if isinstance(v, str):
                    for d, ex in luhn_runs(v):
                        hits.append(("store:" + t, d, ex))
    db.close()
    for suffix in ("", "-wal"):
        p = db_path + suffix
        if os.path.exists(p):
            with open(p, "rb") as f:
                text = f.read().decode("latin-1")
            for d, ex in luhn_runs(text):
                hits.append(("file:" + os.path.basename(p), d, ex))
    return hits


def scan_paths(paths):
    hits, n = [], 0
    for p in paths:
        files = [p] if os.path.isfile(p) else \
            [os.path.join(r, f) for r, _, fs in os.walk(p) for f in fs]
        for f in sorted(files):
            n += 1
            with open(f, "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
            for d, ex in luhn_runs(text):
                hits.append((f, d, ex))
    return hits, n


# ----------------------------------------------------------------------------- audio

def read_wav(path):
    with wave.open(path) as w:
        ch, rate, width = w.getnchannels(), w.getframerate(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError("%s: %d-byte samples, want 16-bit PCM" % (path, width))
    a = array.array("h", raw)
    if sys.byteorder != "little":
        a.byteswap()
    return [a[c::ch] for c in range(ch)], rate


def energy(x):
    """The sum of the squares of the samples x (an array of 16-bit samples)."""
    if not len(x):
        return 0.0
    if audioop is not None:
        r = audioop.rms(x.tobytes(), 2)
        return float(r) * r * len(x)
    return float(sum(v * v for v in x))


def read_original(calls_dir, c):
    """The call's legs as it was uploaded, decoded by sox: ({"customer": samples, "agent":
    samples}, rate), or (None, None) when its files are not there."""
    paths = [os.path.join(calls_dir, f) for f in c.get("files", [])]
    if not paths or not all(os.path.exists(p) for p in paths):
        return None, None
    legs, rate = [], None
    for p in paths:
        # PCM, u-law, A-law and GSM 06.10, decoded by sox to 16-bit PCM
        x, rate = read_wav(io.BytesIO(subprocess.run(
            ["sox", "-q", "-V1", p, "-t", "wav", "-e", "signed-integer", "-b", "16", "-"],
            check=True, stdout=subprocess.PIPE).stdout))
        legs += x
    # ViciDial layout and the GSM legs (-in, -out): the customer first
    return {"customer": legs[0], "agent": legs[1] if len(legs) > 1 else legs[0]}, rate


def value_spans(c, it):
    """The true spans of an entity's value: each of its words (an email's and an expiry's words,
    an IBAN's letters too) and each of its digits (within its words, "double" said once for two)."""
    words = c["legs"][it["leg"]]["words"]
    return [(words[k]["s"], words[k]["e"]) for k in it["words"]] + \
        [(a, b) for a, b in it["digits"]]


def speech_pieces(c, redacted_words):
    """The pieces of speech outside the values: every word said on either leg that is not a
    word of an entity's value (from its first word to its last, on its leg) and that the text
    redaction did not take for one (those are counted by precision). [(role, index, word, s, e)]."""
    inside = set()
    for it in c["items"]:
        if it["kind"] == "entity" and it["words"]:
            for k in range(min(it["words"]), max(it["words"]) + 1):
                inside.add((it["leg"], k))
    out = []
    for role in ("customer", "agent"):
        for k, w in enumerate(c["legs"][role]["words"]):
            if (role, k) not in inside and (role, k) not in redacted_words:
                out.append((role, k, w["w"], w["s"], w["e"]))
    return out


def is_quiet_or_tone(x):
    """Whether the samples x are silent (every 20 ms frame at most MUTE_DB) or a single steady
    tone (each 10 ms frame's level within 1.5 dB and its zero crossings within 2 of the
    median, at 100-3900 Hz)."""
    if not x:
        return True
    n = len(x)
    frames = [x[i:i + 160] for i in range(0, n, 160) if len(x[i:i + 160]) >= 40]
    lv = []
    for f in frames:
        p = sum(v * v for v in f) / len(f)
        lv.append(10 * math.log10(p / 32768.0 ** 2) if p > 0 else -120.0)
    if all(v <= MUTE_DB for v in lv):
        return True
    full = [f for f in frames if len(f) == 160]
    if len(full) < 2:
        return False
    lvf = lv[:len(full)]
    zc = [sum(1 for i in range(1, 160) if (f[i - 1] < 0) != (f[i] < 0)) for f in full]
    ml = sorted(lvf)[len(lvf) // 2]
    mz = sorted(zc)[len(zc) // 2]
    return (all(abs(v - ml) <= 1.5 for v in lvf[1:-1] or lvf) and
            all(abs(z - mz) <= 2 for z in zc[1:-1] or zc) and 2 <= mz <= 78)


# ----------------------------------------------------------------------------- scoring

def leg_role(leg):
    return {"inbound": "customer", "in": "customer", "customer": "customer",
            "outbound": "agent", "out": "agent", "agent": "agent"}.get(str(leg), str(leg))


class Tally:
    def __init__(self):
        self.found, self.total, self.unheard = {}, {}, {}
        self.right, self.spans = {}, {}
        self.misses = {}

    def add_entity(self, typ, found, heard=True, example=None):
        if not heard:
            self.unheard[typ] = self.unheard.get(typ, 0) + 1
            return
        self.total[typ] = self.total.get(typ, 0) + 1
        if found:
            self.found[typ] = self.found.get(typ, 0) + 1
        elif example is not None:
            self.misses.setdefault(typ, []).append(example)

    def add_span(self, typ, right, example=None):
        self.spans[typ] = self.spans.get(typ, 0) + 1
        if right:
            self.right[typ] = self.right.get(typ, 0) + 1
        elif example is not None:
            self.misses.setdefault("false " + typ, []).append(example)

    def figures(self, types):
        out = {}
        for t in types:
            tot, fd = self.total.get(t, 0), self.found.get(t, 0)
            sp, rt = self.spans.get(t, 0), self.right.get(t, 0)
            out[t] = {"found": fd, "entities": tot, "unheard": self.unheard.get(t, 0),
                      "recall": fd / tot if tot else None, "right": rt, "spans": sp,
                      "precision": rt / sp if sp else None}
        return out


def pct(x):
    return "–" if x is None else "%.1f %%" % (100 * x)


def table(title, figs):
    lines = [title, "| type | found / entities | recall | right / spans | precision |",
             "|---|---|---|---|---|"]
    for t, f in figs.items():
        if not f["entities"] and not f["spans"]:
            continue
        lines.append("| %s | %d / %d%s | %s | %d / %d | %s |" % (
            t, f["found"], f["entities"],
            " (+%d not heard)" % f["unheard"] if f["unheard"] else "", pct(f["recall"]),
            f["right"], f["spans"], pct(f["precision"])))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--script", required=True)
    ap.add_argument("--asr-log", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--scan", nargs="*", default=[])
    ap.add_argument("--calls", help="the uploaded calls (default: calls/ beside --script)")
    ap.add_argument("--json")
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    truth = {c["id"]: c for c in json.load(open(args.script, encoding="utf-8"))["calls"]}
    sent = {}  # (call, role) -> {round(start, 3): word record}
    for line in open(os.path.join(args.asr_log, "script.jsonl"), encoding="utf-8"):
        r = json.loads(line)
        for sg in r["segments"]:
            for w in sg["words"]:
                sent.setdefault((r["call"], r["role"]), []).append(w)

    pools = {}  # role -> {start: [(call, sent word)]}
    for (cl, role), ws in sent.items():
        for w in ws:
            pools.setdefault(role, {}).setdefault(round(w["start"], 3), []).append((cl, w))
    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True)
    rows = db.execute(
        "SELECT c.recording_id, t.detail, (SELECT a.report FROM analyses a WHERE a.call_id = c.id "
        "ORDER BY a.id DESC LIMIT 1), (SELECT a.redacted_audio FROM analyses a "
        "WHERE a.call_id = c.id ORDER BY a.id DESC LIMIT 1) "
        "FROM calls c LEFT JOIN transcripts t ON t.call_id = c.id"
    ).fetchall()
    db.close()

    text, audio = Tally(), Tally()
    stray, traced, untraced, no_tx, no_red, bad_spans, no_audio = 0, 0, 0, [], [], [], []
    hows = {}
    near_hit = {}
    verify_failed = []
    dtmf_runs, dtmf_calls = 0, []
    pieces, lowered, no_original = 0, [], []
    calls_dir = args.calls or os.path.join(os.path.dirname(os.path.abspath(args.script)), "calls")
    for rid, detail, report, red_path in rows:
        c = truth.get(rid)
        if c is None:
            continue
        if detail is None:
            no_tx.append(rid)
            continue
        tx = json.loads(detail)
        # ---- the stored words, traced back to the words said
        src_of = {}  # (role, truth index) -> list of stored word texts
        placeholder_runs = []
        for leg in tx.get("legs", []):
            role = leg.get("role")
            pool = pools.get(role, {})
            run = None
            for sg in leg.get("segments", []):
                for w in sg.get("words", []):
                    st = w.get("start")
                    got = None
                    if st is not None:
                        for dt in (0.0, 0.001, -0.001, 0.002, -0.002):
                            got = pool.get(round(st + dt, 3))
                            if got:
                                break
                    own = [g for g in got or [] if g[0] == rid]
                    if not own:
                        untraced += 1
                        if got:
                            stray += 1
                        run = None
                        continue
                    traced += 1
                    sw = own[0][1]
                    m = PLACEHOLDER.match(w.get("word", "").strip())
                    entry = (w["word"], sw["how"])
                    for s in sw["src"]:
                        src_of.setdefault((role, s), []).append(entry)
                    if m:
                        typ = TYPE_OF.get(m.group(1), m.group(1).lower())
                        if run and run["type"] == typ:
                            run["src"] += sw["src"]
                        else:
                            run = {"type": typ, "role": role, "src": list(sw["src"]),
                                   "start": w["start"]}
                            placeholder_runs.append(run)
                    else:
                        run = None
        # ---- text recall
        items = c["items"]
        word_item = {}
        for it in items:
            for k in it["words"]:
                word_item[(it["leg"], k)] = it
        for it in items:
            if it["kind"] != "entity":
                continue
            got = [src_of.get((it["leg"], k)) for k in it["words"]]
            heard = [g for g in got if g]
            if not heard:
                text.add_entity(it["type"], False, heard=False)
                continue
            ok = all(PLACEHOLDER.match(x[0].strip()) for g in heard for x in g)
            how = sorted({x[1] for g in heard for x in g} - {"word"})
            key = "%s %s" % (it["type"], "/".join(how) or "words")
            hows.setdefault(key, [0, 0])
            hows[key][1] += 1
            hows[key][0] += ok
            said = " ".join(c["legs"][it["leg"]]["words"][k]["w"] for k in it["words"])
            seen, stored = set(), []
            for g in heard:
                for x in g:
                    if id(x) not in seen:
                        seen.add(id(x))
                        stored.append(x[0])
            stored = " ".join(dict.fromkeys(stored)) if len(set(stored)) < len(stored) and \
                all(PLACEHOLDER.match(x) for x in stored) else " ".join(stored)
            text.add_entity(it["type"], ok, example="%s: said %r, stored %r" % (rid, said,
                                                                                stored))
        for it in items:
            if it["kind"] == "near":
                hit = any(PLACEHOLDER.match(x[0].strip()) for k in it["words"]
                          for x in src_of.get((it["leg"], k), []))
                near_hit.setdefault(it["type"], [0, 0])
                near_hit[it["type"]][1] += 1
                near_hit[it["type"]][0] += hit
        # ---- text precision
        for run in placeholder_runs:
            its = {id(word_item.get((run["role"], s))): word_item.get((run["role"], s))
                   for s in run["src"]}
            right = any(it is not None and it["kind"] == "entity" and it["type"] == run["type"]
                        for it in its.values())
            said = " ".join(c["legs"][run["role"]]["words"][s]["w"] for s in run["src"])
            text.add_span(run["type"], right, example="%s %s %.2f: %r" % (
                rid, run["role"], run["start"], said))
        # ---- audio
        red = (json.loads(report) if report else {}).get("redaction")
        if not red:
            no_red.append(rid)
            for it in items:
                if it["kind"] == "entity":
                    audio.add_entity(it["type"], False, example="%s: no redaction object" % rid)
            continue
        au = red.get("audio") if isinstance(red.get("audio"), dict) else {}
        # nothing is keyed in this corpus: every DTMF run muted is talk-off of the receivers
        dtmf_runs += int(au.get("dtmf_runs") or 0)
        if au.get("dtmf_runs"):
            dtmf_calls.append("%s: %d" % (rid, au["dtmf_runs"]))
        if not (red.get("verify") or {}).get("ok"):
            verify_failed.append("%s: %s" % (rid, json.dumps(red.get("verify"))))
        spans = [(leg_role(s.get("leg")), s.get("type"), float(s["start"]), float(s["end"]))
                 for s in red.get("spans", [])]
        chans, rate = None, None
        path = red.get("audio")
        if isinstance(path, dict):  # {mode, intervals, ..., file}: the copy's name
            path = path.get("file")
        if path and red_path and os.path.basename(red_path) == path:
            path = red_path  # where the store keeps it (a report names no server path)
        if path and os.path.exists(path):
            chans, rate = read_wav(path)
        elif any(it["kind"] == "entity" for it in items):
            no_audio.append(rid)
        # ViciDial layout: channel 1 the customer (inbound), channel 2 the agent
        chan_of = {"customer": 0, "agent": 1} if chans and len(chans) == 2 else \
            {"customer": 0, "agent": 0}

        def quiet(role, a, b):
            if chans is None:
                return False
            a, b = a + TOL, b - TOL  # the report's times are rounded to 1 ms
            x = chans[chan_of[role]][max(0, int(math.ceil(a * rate))):int(b * rate)]
            return is_quiet_or_tone(x)

        # ---- the speech outside the values: each piece as loud as in the original
        orig, orate = read_original(calls_dir, c) if chans is not None else (None, None)
        if chans is not None and orig is None:
            no_original.append(rid)
        elif chans is not None and orate != rate:
            no_original.append("%s (%d Hz, the copy %d Hz)" % (rid, orate, rate))
        elif chans is not None:
            taken = {(role, k) for (role, k), g in src_of.items()
                     if any(PLACEHOLDER.match(x[0].strip()) for x in g)}
            for role, k, word, a, b in speech_pieces(c, taken):
                i, j = int(round(a * rate)), int(round(b * rate))
                e0 = energy(orig[role][i:j])
                if e0 <= 0:
                    continue
                e1 = energy(chans[chan_of[role]][i:j])
                db = 10 * math.log10(e1 / e0) if e1 > 0 else -120.0
                pieces += 1
                if db < -PIECE_DB:
                    lowered.append("%s %s %r %.2f-%.2f: %.1f dB" % (rid, role, word, a, b, db))
        for role, typ, a, b in spans:
            if chans is not None and not quiet(role, a, b):
                bad_spans.append("%s %s %s %.2f-%.2f" % (rid, role, typ, a, b))
            right = any(it["kind"] == "entity" and it["type"] == TYPE_OF.get(
                str(typ).upper(), typ) and it["leg"] == role and it["start"] < b and
                it["end"] > a for it in items)
            audio.add_span(TYPE_OF.get(str(typ).upper(), typ), right,
                           example="%s %s %.2f-%.2f" % (rid, role, a, b))
        for it in items:
            if it["kind"] != "entity":
                continue
            ok = True
            worst = 0.0
            for a, b in value_spans(c, it):
                inside = any(r == it["leg"] and s <= a + TOL and b <= e + TOL
                             for r, _, s, e in spans)
                if not inside:
                    ok = False
                    cover = max([max(0.0, min(b, e) - max(a, s)) for r, _, s, e in spans
                                 if r == it["leg"]] or [0.0])
                    worst = max(worst, (b - a) - cover)
                elif not quiet(it["leg"], a, b):
                    ok = False
            audio.add_entity(it["type"], ok, example="%s: %s %.2f-%.2f (%s)" % (
                rid, it["value"] or it["source"], it["start"], it["end"],
                "%.0f ms of a word outside every span" % (1000 * worst) if worst > 0 else
                "inside the spans, not silent"))

    figs_text = text.figures(ENTITY_TYPES)
    figs_audio = audio.figures(ENTITY_TYPES)
    extra_text = [t for t in text.spans if t not in ENTITY_TYPES]
    extra_audio = [t for t in audio.spans if t not in ENTITY_TYPES]
    figs_text.update(text.figures(extra_text))
    figs_audio.update(audio.figures(extra_audio))

    store_hits = scan_store(args.db)
    other_hits, n_scanned = scan_paths(args.scan)

    lab = (" (%s)" % args.label) if args.label else ""
    print(table("text%s: the stored transcript" % lab, figs_text))
    print()
    print(table("audio%s: the redacted recording" % lab, figs_audio))
    print()
    print("entities by type and how the ASR wrote their numbers (text): " + ", ".join(
        "%s %d/%d" % (k, v[0], v[1]) for k, v in sorted(hows.items())))
    print("near-misses with any word redacted (text): " + ", ".join(
        "%s %d/%d" % (k, v[0], v[1]) for k, v in sorted(near_hit.items())))
    print("stored words traced to the words said: %d; not traced: %d (of which matched to "
          "another call: %d)" % (traced, untraced, stray))
    print("calls without a transcript: %d; without a redaction object: %d; without the "
          "redacted audio: %d; spans not silent or a tone: %d" % (
              len(no_tx), len(no_red), len(no_audio), len(bad_spans)))
    print("Luhn-valid runs left: store %d, other files %d (%d files scanned)" % (
        len(store_hits), len(other_hits), n_scanned))
    for where, d, ex in (store_hits + other_hits)[:10]:
        print("  %s: %s in %r" % (where, d, ex))
    for k, v in sorted(text.misses.items()):
        for e in v[:4]:
            print("  text miss (%s): %s" % (k, e))
    for k, v in sorted(audio.misses.items()):
        for e in v[:4]:
            print("  audio miss (%s): %s" % (k, e))
    print("calls whose redaction says verify.ok false: %d" % len(verify_failed))
    print("DTMF runs muted (nothing is keyed in these calls: talk-off): %d in %d calls%s" % (
        dtmf_runs, len(dtmf_calls), (" (" + ", ".join(dtmf_calls[:8]) + ")") if dtmf_calls
        else ""))
    print("pieces of speech outside the values (each word said that is not an entity's) lowered "
          "by more than %.0f dB in the redacted audio: %d of %d%s" % (
              PIECE_DB, len(lowered), pieces,
              "; calls without their original: %d" % len(no_original) if no_original else ""))
    for e in lowered[:12]:
        print("  lowered: %s" % e)
    for e in verify_failed[:5]:
        print("  verify: %s" % e)
    for e in bad_spans[:5]:
        print("  span not silent: %s" % e)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"label": args.label, "text": figs_text, "audio": figs_audio,
                       "traced": traced, "untraced": untraced, "stray": stray,
                       "no_transcript": no_tx, "no_redaction": no_red, "no_audio": no_audio,
                       "bad_spans": bad_spans, "verify_failed": verify_failed,
                       "pieces": pieces, "lowered": lowered, "no_original": no_original,
                       "dtmf_runs": dtmf_runs, "dtmf_calls": dtmf_calls, "hows": hows, "near_hit": near_hit,
                       "luhn_store": [list(h) for h in store_hits],
                       "luhn_other": [list(h) for h in other_hits], "scanned": n_scanned,
                       "misses": {k: v[:20] for k, v in text.misses.items()},
                       "audio_misses": {k: v[:20] for k, v in audio.misses.items()}},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
