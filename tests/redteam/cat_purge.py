"""cat_purge.py - the purge and the erasure delete every copy callqa keeps of a call
(docs/privacy/retention.md, "What callqa keeps of a call"). Audio with known bytes is planted: samples
whose two bytes are equal, so that the same bytes lie in a little-endian WAV, a big-endian AU
and the transcode of one into the other. Then, for real: `callqa serve` (redact = all, the
campaigns OPEN and KEEP without redaction, KEEP's kept forever), uploads with their captures, `callqa worker` (the redacted
copies), the OPEN call's audio served once (its AU transcoded into the service's cache), the
files a killed worker and `callqa live --record-dir` leave beside a call (an unfinished redacted
copy, the live events), then `callqa store purge` (retain_audio_days = 30, 31 days on) and
`callqa store erase --lead`. Afterwards every folder callqa writes (the uploads, the redacted
copies, tmp_dir with the transcode cache, the TMPDIR of each process, the store's folder) is
scanned for the planted bytes and the captures' bytes: none may be left; no row may name a
file; and the report's lines and the deletions' log must say what went, by kind, and that it
was checked.

  purge_copies   upload + worker (redact=all) + purge, and upload + worker + erase
  purge_any_config   the service writes its uploads, redacted copies and transcodes in folders
                 of its own settings; `callqa store purge` and `erase` run with settings that
                 name none of them: every file callqa recorded for the call goes, a file kept
                 is said (never "deleted, verified" on its line), and the purged call's audio
                 answers 410
  purge_live_manifest   a recording of `callqa live --record-dir` (a real AudioSocket call)
                 named by a stored call: a purge with settings that do not name the folder
                 finds it, its events and its unfinished files by the folder's .callqa-files
                 (written 0600, one line per file) and deletes them; a file the list does not
                 name is kept
  store_residue  a transcript stored unredacted, then `callqa store redact` while the service
                 holds the store open and another connection's checkpoint is under way for
                 2 s (its lock held): no byte of the spoken value left in the SQLite store's
                 files (the database, its -wal and -shm)
"""
import fcntl
import json
import os
import random
import re
import shutil
import sqlite3
import stat
import struct
import subprocess
import threading
import time

import rtlib as rt
from rtlib import Service, check, multipart

RATE = 8000
SECONDS = 12
WINDOW = 256  # bytes of a probe
PROBES = 24   # probes per planted file, spread over it


def planted_samples(seed):
    """int16 samples whose two bytes are equal (b * 257): the same bytes in either byte order"""
    rnd = random.Random(seed)
    out = bytearray()
    for _ in range(RATE * SECONDS):
        b = rnd.randrange(32, 224)
        out += bytes((b, b))
    return bytes(out)


def wav(pcm):
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16) + b"data" +
            struct.pack("<I", len(pcm)) + pcm)


def au(pcm):
    """Sun AU, 16-bit linear PCM, big-endian (the service transcodes it for the browser)"""
    return struct.pack(">4sIIIII", b".snd", 24, len(pcm), 3, RATE, 1) + pcm


def probes(data):
    step = max(1, (len(data) - WINDOW) // PROBES)
    return [data[i:i + WINDOW] for i in range(step // 2, len(data) - WINDOW, step)][:PROBES]


def scan(dirs, needles):
    """[(path, which)] of every file under dirs holding one of the needles {which: [bytes]}"""
    found = []
    for d in dirs:
        for base, _, files in os.walk(d):
            for name in files:
                p = os.path.join(base, name)
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                for which, ns in needles.items():
                    if any(n in data for n in ns):
                        found.append((os.path.relpath(p, rt_root[0]), which))
    return found


rt_root = [""]


def upload(svc, rid, campaign, name, audio, capture=None, lead=None):
    meta = {"recording_id": rid, "agent_user": "ann", "campaign_id": campaign,
            "call_date": time.strftime("%Y-%m-%d 09:00:00")}
    if lead:
        meta["lead_id"] = lead
    parts = [("metadata", None, "application/json", json.dumps(meta).encode()),
             ("audio", name, "application/octet-stream", audio)]
    if capture:
        parts.append(("capture", "c.pcap", "application/octet-stream", capture))
    body, ctype = multipart(parts)
    s, _, b = svc.request("POST", "/api/qa/calls", body, {"Content-Type": ctype}, timeout=30)
    return s, json.loads(b) if b[:1] == b"{" else {"raw": b[:200]}


def rows(db, sql, args=()):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def run(root, *args, env=None):
    e = dict(os.environ)
    e["TMPDIR"] = os.path.join(root, "tmp-cli")
    os.makedirs(e["TMPDIR"], exist_ok=True)
    e.update(env or {})
    p = subprocess.run([rt.CQ] + list(args), capture_output=True, text=True, env=e, timeout=600)
    return p.returncode, p.stdout, p.stderr


def cat_purge_copies(root):
    root = os.path.join(root, "purge_copies")
    os.makedirs(root, exist_ok=True)
    rt_root[0] = root
    conf = os.path.join(root, "callqa.conf")
    models = os.path.join(os.path.dirname(rt.CORPUS.rstrip("/")), "models")
    with open(conf, "w") as f:
        f.write("redact = all\nredact_campaigns = OPEN=none, KEEP=none\nretain_audio_days = 30\n"
                "retain_campaigns = KEEP=all:0\n"
                "tmp_dir = %s\n" % os.path.join(root, "tmp"))
    os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
    pcm = {k: planted_samples(k) for k in ("bank", "open", "lead")}
    cap = {k: open(os.path.join(rt.CORPUS, "pcaps", f), "rb").read()
           for k, f in (("bank", "dtmf_sipinfo.pcap"), ("open", "sip_rtp_g711.pcap"),
                        ("lead", "sip_call_rtp_g711.pcap"))}
    needles = {k: probes(v) for k, v in pcm.items()}
    needles.update({"capture " + k: probes(v[len(v) // 4:]) for k, v in cap.items()})
    env = {"CALLQA_MODEL_DIR": models}
    svc = Service(root, env=env, args=("--config", conf))  # its store: root/store.db
    db = svc.db
    try:
        ids = {}
        for rid, k, camp, name, data, lead in (
                ("B1", "bank", "BANK", "b1.wav", wav(pcm["bank"]), None),
                ("O1", "open", "OPEN", "o1.au", au(pcm["open"]), None),
                ("L1", "lead", "KEEP", "l1.au", au(pcm["lead"]), "LEAD-77")):
            s, a = upload(svc, rid, camp, name, data, capture=cap[k], lead=lead)
            check("upload %s (%s) with its capture: 201" % (rid, camp), s == 201, "%s %s" % (s, a))
            ids[rid] = a.get("call_id")
        rc, out, err = run(root, "worker", "--db", db, "--config", conf, "--once", "--jobs", "1",
                           "--max-load", "0", "--no-idle", "--max-retries", "1", env=env)
        red = rows(db, "SELECT call_id, redacted_audio FROM analyses WHERE call_id IS NOT NULL")
        check("the worker analysed the three calls, BANK's with a redacted copy",
              rc == 0 and len(red) == 3 and any(c == ids["B1"] and p for c, p in red),
              "rc %d, %s; %s" % (rc, red, err[-300:]))
        # the OPEN calls' audio served once: their AU transcoded into the service's cache
        for rid in ("O1", "L1"):
            s, h, b = svc.request("GET", "/api/qa/call/%s/audio" % rid, timeout=60)
            check("GET the %s call's audio: 200, transcoded (audio/wav)" % rid,
                  s == 200 and h.get("content-type", "").startswith("audio/wav"),
                  "%s %s" % (s, h.get("content-type")))
        # what a worker killed while writing a redacted copy, and callqa live, leave beside a call
        up = rows(db, "SELECT audio FROM calls WHERE id = ?", (ids["B1"],))[0][0]
        red_copy = [p for c, p in red if c == ids["B1"]][0]
        part = os.path.join(os.path.dirname(red_copy), ".%d.wav.4242" % ids["B1"])
        live = os.path.splitext(up)[0] + ".live.jsonl"
        for p in (part, live):
            with open(p, "wb") as f:
                f.write(wav(pcm["bank"]))
        before = scan([root], needles)
        kinds = sorted(set(p.split(os.sep)[0] for p, _ in before))
        check("before: the planted bytes are in the uploads, the redacted copies and the "
              "transcode cache (%s)" % ", ".join(kinds),
              {"uploads", "redacted", "tmp"} <= set(kinds), str(before[:8]))
        # the purge, 31 days on
        rc, out, err = run(root, "store", "purge", "--db", db, "--config", conf, "--now",
                           time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                         time.gmtime(time.time() + 31 * 86400)), env=env)
        print("# purge: " + out.strip().replace("\n", "\n# purge: "))
        left = scan([root], {k: v for k, v in needles.items() if "lead" not in k})
        named = rows(db, "SELECT c.id, c.audio, c.audio_in, c.audio_out, a.redacted_audio FROM "
                         "calls c LEFT JOIN analyses a ON a.call_id = c.id WHERE c.id IN (?, ?)",
                     (ids["B1"], ids["O1"]))
        check("after the purge, no byte of a due call's audio or capture in any folder callqa "
              "writes (uploads, redacted copies, tmp_dir and its transcode cache, TMPDIR, the "
              "store's folder)", rc == 0 and not left, "rc %d: %s; %s" % (rc, left[:8], err[-300:]))
        check("after the purge, no row names a file of theirs",
              all(all(v is None for v in r[1:]) for r in named) and len(named) == 2, str(named))
        line_b = [ln for ln in out.splitlines() if ln.startswith("call %d " % ids["B1"])]
        line_o = [ln for ln in out.splitlines() if ln.startswith("call %d " % ids["O1"])]
        check("the purge's report names every kind it deleted and says each was checked",
              line_b and "recording 1" in line_b[0] and "redacted copy 1" in line_b[0]
              and "live events 1" in line_b[0] and "redacted copy (unfinished) 1" in line_b[0]
              and "checked" in line_b[0] and "kept" not in line_b[0]
              and line_o and "recording 1" in line_o[0] and "capture 1" in line_o[0]
              and "transcode 1" in line_o[0], "%s | %s" % (line_b, line_o))
        log = rows(db, "SELECT call_id, detail FROM deletions WHERE what = 'audio'")
        det = {c: json.loads(d) for c, d in log}
        check("the deletions' log: each call's files by kind, checked gone",
              ids["B1"] in det and det[ids["B1"]]["kinds"].get("recording") == 1
              and det[ids["B1"]]["checked"] >= 4 and ids["O1"] in det
              and det[ids["O1"]]["kinds"].get("transcode") == 1, str(det))
        # the erasure of a caller's calls: the same list
        rc, out, err = run(root, "store", "erase", "--db", db, "--config", conf, "--lead",
                           "LEAD-77", env=env)
        print("# erase: " + out.strip().replace("\n", "\n# erase: "))
        left = scan([root], needles)
        check("after the erasure, no byte of the erased call's audio or capture anywhere",
              rc == 0 and not left and "transcode 1" in out and "capture 1" in out,
              "rc %d: %s; %s %s" % (rc, left[:8], out.strip(), err[-300:]))
    finally:
        svc.stop()


def cat_purge_any_config(root):
    root = os.path.join(root, "purge_any_config")
    os.makedirs(root, exist_ok=True)
    rt_root[0] = root
    own = os.path.join(root, "own")  # the service's and the worker's folders, in their settings
    for d in ("up", "red", "tmp"):
        os.makedirs(os.path.join(own, d), exist_ok=True)
    conf = os.path.join(root, "service.conf")
    with open(conf, "w") as f:
        f.write("redact = all\nredact_campaigns = OPEN=none, KEEP=none\nretain_audio_days = 30\n"
                "retain_campaigns = KEEP=all:0\nupload_dir = %s\nredact_dir = %s\ntmp_dir = %s\n"
                % (os.path.join(own, "up"), os.path.join(own, "red"), os.path.join(own, "tmp")))
    bare = os.path.join(root, "purge.conf")  # names none of callqa's folders
    with open(bare, "w") as f:
        f.write("retain_audio_days = 30\nretain_campaigns = KEEP=all:0\n")
    models = os.path.join(os.path.dirname(rt.CORPUS.rstrip("/")), "models")
    pcm = {k: planted_samples(k) for k in ("bank", "open", "lead")}
    cap = open(os.path.join(rt.CORPUS, "pcaps", "sip_rtp_g711.pcap"), "rb").read()
    needles = {k: probes(v) for k, v in pcm.items()}
    needles["capture"] = probes(cap[len(cap) // 4:])
    env = {"CALLQA_MODEL_DIR": models}
    svc = Service(root, env=env, args=("--config", conf))
    db = svc.db
    try:
        ids = {}
        for rid, k, camp, name, data, capture, lead in (
                ("B1", "bank", "BANK", "b1.wav", wav(pcm["bank"]), None, None),
                ("O1", "open", "OPEN", "o1.au", au(pcm["open"]), cap, None),
                ("L1", "lead", "KEEP", "l1.au", au(pcm["lead"]), None, "LEAD-88")):
            s, a = upload(svc, rid, camp, name, data, capture=capture, lead=lead)
            check("upload %s (%s) into the service's own upload_dir: 201" % (rid, camp),
                  s == 201, "%s %s" % (s, a))
            ids[rid] = a.get("call_id")
        rc, out, err = run(root, "worker", "--db", db, "--config", conf, "--once", "--jobs", "1",
                           "--max-load", "0", "--no-idle", "--max-retries", "1", env=env)
        red = rows(db, "SELECT call_id, redacted_audio FROM analyses WHERE call_id IS NOT NULL")
        check("the worker analysed the calls, BANK's with a redacted copy in its redact_dir",
              rc == 0 and any(c == ids["B1"] and p and p.startswith(own) for c, p in red),
              "rc %d, %s; %s" % (rc, red, err[-300:]))
        for rid in ("O1", "L1"):
            s, h, _ = svc.request("GET", "/api/qa/call/%s/audio" % rid, timeout=60)
            check("GET %s's audio: 200, transcoded into the service's tmp_dir" % rid, s == 200,
                  "%s %s" % (s, h.get("content-type")))
        up = rows(db, "SELECT audio FROM calls WHERE id = ?", (ids["B1"],))[0][0]
        # a file of the list that callqa must keep: a symbolic link beside the upload
        link = os.path.splitext(up)[0] + ".live.jsonl"
        os.symlink(os.path.join(root, "service.conf"), link)
        before = scan([root], needles)
        check("before: the planted bytes lie in the service's own folders only",
              before and all(p.startswith("own" + os.sep) for p, _ in before), str(before[:8]))
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 31 * 86400))
        rc, out, err = run(root, "store", "purge", "--db", db, "--config", bare, "--now", later,
                           env=env)
        print("# purge: " + out.strip().replace("\n", "\n# purge: "))
        left = scan([root], {k: v for k, v in needles.items() if k != "lead"})
        check("a purge with settings that name none of callqa's folders: no byte of the due "
              "calls' audio or capture left (the unredacted original, the redacted copy, the "
              "capture, the transcode)", rc == 0 and not left,
              "rc %d: %s; %s" % (rc, left[:8], err[-300:]))
        lines = {rid: [ln for ln in out.splitlines() if ln.startswith("call %d " % ids[rid])]
                 for rid in ("B1", "O1")}
        lb, lo = (lines["B1"] or [""])[0], (lines["O1"] or [""])[0]
        check("  B1's line: the upload (the unredacted original) and the redacted copy deleted, "
              "the link kept, and no 'deleted, verified' on it",
              "recording 1" in lb and "redacted copy 1" in lb
              and "1 file kept" in lb and "NOT deleted" in lb and "deleted, verified" not in lb,
              lb)
        check("  O1's line: the upload, its capture and its transcode, deleted, verified",
              "recording 1" in lo and "capture 1" in lo and "transcode 1" in lo
              and "kept" not in lo
              and "deleted, verified" in lo, lo)
        check("  the link kept beside it is still there", os.path.islink(link), link)
        try:
            named = rows(db, "SELECT COUNT(*) FROM call_files WHERE call_id IN (?, ?)",
                         (ids["B1"], ids["O1"]))
        except sqlite3.OperationalError as e:  # a store without the record of its files
            named = str(e)
        check("  no recorded file of theirs left in the store", named == [(0,)], str(named))
        s, _, b = svc.request("GET", "/api/qa/call/B1/audio", timeout=60)
        check("the purged redacted call's audio: 404 or 410 (not 403)", s in (404, 410),
              "%s %s" % (s, b[:200]))
        s, _, b = svc.request("GET", "/api/qa/call/O1/audio", timeout=60)
        check("the purged call's audio: 404 or 410", s in (404, 410), "%s %s" % (s, b[:200]))
        rc, out, err = run(root, "store", "erase", "--db", db, "--config", bare, "--lead",
                           "LEAD-88", env=env)
        print("# erase: " + out.strip().replace("\n", "\n# erase: "))
        left = scan([root], needles)
        check("an erasure with the same settings: no byte of the erased call's audio left, its "
              "transcode too", rc == 0 and not left and "transcode 1" in out,
              "rc %d: %s; %s %s" % (rc, left[:8], out.strip(), err[-300:]))
    finally:
        svc.stop()


def cat_purge_live_manifest(root):
    root = os.path.join(root, "purge_live_manifest")
    rec = os.path.join(root, "rec")
    os.makedirs(rec, exist_ok=True)
    rt_root[0] = root
    as_send = os.path.join(os.path.dirname(os.path.abspath(rt.CQ)), "tests", "as_send")
    if not os.path.exists(as_send):
        check("as_send (the AudioSocket sender) is built beside callqa", False, as_send)
        return
    err = os.path.join(root, "live.err")
    lv = subprocess.Popen([rt.CQ, "live", "--audiosocket", "127.0.0.1:0", "--threads", "1",
                           "--record-dir", rec, "--events", os.path.join(root, "ev.jsonl")],
                          stdout=subprocess.DEVNULL, stderr=open(err, "wb"))
    try:
        port = None
        end = time.time() + rt.HANG  # a hang guard only
        while time.time() < end and lv.poll() is None and not port:
            for line in open(err, errors="replace").read().splitlines():
                if "AudioSocket on" in line:
                    w = line.split()
                    port = int(w[w.index("port") + 1].rstrip(","))
            time.sleep(0.05)
        uuid = "%032x" % (0xFEED0000000000000000000000000000 + os.getpid())
        r = subprocess.run([as_send, "--port", str(port), "--uuid", uuid, "--file",
                            os.path.join(rt.CORPUS, "calls", "call05_ringback_answer.wav"),
                            "--channel", "1", "--secs", "1.0", "--pace", "0", "--hold-sec", "1"],
                           capture_output=True, text=True, timeout=rt.HANG)
        rt.until(lambda: any(n.endswith(".wav") for n in os.listdir(rec)), step=0.1)
    finally:
        rt.terminate(lv)
    names = sorted(os.listdir(rec))
    wavs = [n for n in names if n.endswith(".wav")]
    man = os.path.join(rec, ".callqa-files")
    lines = [json.loads(ln) for ln in open(man)] if os.path.exists(man) else []
    check("callqa live recorded the call and listed its files in .callqa-files (mode 0600)",
          wavs and lines and stat.S_IMODE(os.stat(man).st_mode) == 0o600
          and {wavs[0], os.path.splitext(wavs[0])[0] + ".live.jsonl"} <=
          {ln["file"] for ln in lines},
          "%s %s %s" % (names, lines[:4], r.stdout[-200:]))
    if not wavs:
        return
    base = os.path.splitext(wavs[0])[0]
    # what a stopped writer leaves, listed; and a file of the folder the list does not name
    with open(os.path.join(rec, base + ".live.jsonl.part"), "wb") as f:
        f.write(b"{}\n")
    other = os.path.join(rec, "dialer-copy.wav")
    shutil.copy(os.path.join(rec, wavs[0]), other)
    # a store whose call names the recording, as a folder ingest would
    svc = Service(os.path.join(root, "svc"))
    try:
        s, a = upload(svc, "R1", "LIVE", "r1.wav", wav(planted_samples("r")))
        check("a call to name the recording: 201", s == 201, "%s %s" % (s, a))
    finally:
        svc.stop()
    db = svc.db
    c = sqlite3.connect(db)
    c.execute("UPDATE calls SET audio = ? WHERE id = ?", (os.path.join(rec, wavs[0]),
                                                          a.get("call_id")))
    try:  # the upload's own record: the call is the recording's now
        c.execute("DELETE FROM call_files")
    except sqlite3.OperationalError:  # a store without the record of its files
        pass
    c.commit()
    c.close()
    bare = os.path.join(root, "purge.conf")
    with open(bare, "w") as f:
        f.write("retain_audio_days = 30\n")
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 31 * 86400))
    rc, out, err = run(root, "store", "purge", "--db", db, "--config", bare, "--now", later)
    print("# purge: " + out.strip().replace("\n", "\n# purge: "))
    left = sorted(os.listdir(rec))
    check("a purge with settings that do not name the folder: the recording, its events and its "
          "unfinished events deleted (listed in .callqa-files), the file it does not list kept",
          rc == 0 and not [n for n in left if n.startswith(base)]
          and "dialer-copy.wav" in left and "recording 1" in out and "live events 1" in out
          and "live events (unfinished) 1" in out and "deleted, verified" in out,
          "rc %d: %s; %s %s" % (rc, left, out.strip(), err[-300:]))


# a spoken expiry date, in words, and the words of the rest of the line (none shares a term)
SPOKEN_VALUE = "zero four twenty nine"


class checkpoint_held:
    """Another connection's checkpoint under way for `hold` s, as SQLite sees one: its CKPT
    lock, byte 121 of the -shm file (walformat.html, "2.3.1 How the locks are implemented"),
    taken by this process with fcntl as SQLite takes it. The service's checkpointer makes one
    every second, each taking its fsyncs' time on a busy disk; SQLite answers a second
    checkpointer BUSY at once, without its busy handler."""

    def __init__(self, db, hold):
        self.fd = os.open(db + "-shm", os.O_RDWR)
        fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 121)
        self.timer = threading.Timer(hold, self.release)
        self.timer.start()

    def release(self):
        if self.fd >= 0:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, 121)
            os.close(self.fd)
            self.fd = -1

    def join(self):
        self.timer.join()


def cat_store_residue(root):
    root = os.path.join(root, "store_residue")
    os.makedirs(root, exist_ok=True)
    plain = os.path.join(root, "plain.conf")
    with open(plain, "w") as f:
        f.write("redact = none\n")
    later = os.path.join(root, "redact.conf")
    with open(later, "w") as f:
        f.write("redact = all\n")
    svc = Service(root, args=("--config", plain))  # holds the store open: its -wal stays
    db = svc.db
    try:
        s, a = upload(svc, "X1", "SALES", "x1.wav", wav(planted_samples("x")))
        check("upload X1 (SALES, not redacted yet): 201", s == 201, "%s %s" % (s, a))
        line = "my card expires %s thank you" % SPOKEN_VALUE
        segs = [{"speaker": "customer", "start": 1.0, "end": 4.0, "text": line}]
        s, _, b = svc.request("POST", "/api/qa/call/X1/transcript",
                              json.dumps({"segments": segs}).encode(),
                              {"Content-Type": "application/json"}, timeout=60)
        check("its transcript imported, the expiry date in words as said (200)", s == 200,
              "%s %s" % (s, b[:200]))
        held = checkpoint_held(db, 2.0)
        rc, out, err = run(root, "store", "redact", "--db", db, "--since",
                           time.strftime("%Y-%m-%d"), "--config", later)
        held.join()
        tx = rows(db, "SELECT text FROM transcripts")
        check("callqa store redact, while another connection's checkpoint is under way for "
              "2 s: the transcript no longer holds the date",
              rc == 0 and tx and SPOKEN_VALUE not in tx[0][0],
              "rc %d %s %s %s" % (rc, tx, out[-200:], err[-300:]))
        words = sorted(set(SPOKEN_VALUE.split()))
        found = []
        for suffix in ("", "-wal", "-shm"):
            p = db + suffix
            if not os.path.exists(p):
                continue
            data = open(p, "rb").read()
            if SPOKEN_VALUE.encode() in data:
                found.append((os.path.basename(p), SPOKEN_VALUE))
            found += [(os.path.basename(p), w) for w in words
                      if re.search(rb"[^a-z]" + w.encode() + rb"[^a-z]", data)]
        check("no byte of the spoken date in any of the store's files (database, -wal, -shm), "
              "its words not in the search index either", not found, str(found))
    finally:
        svc.stop()


CATEGORIES = [("purge_copies", cat_purge_copies), ("purge_any_config", cat_purge_any_config),
              ("purge_live_manifest", cat_purge_live_manifest),
              ("store_residue", cat_store_residue)]
