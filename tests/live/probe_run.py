#!/usr/bin/env python3
"""probe_run.py - hold-mode sequences streamed into `callqa live --live hold` by a line that
answers (as_send or live_send --reply), with and without the probe, and scored.

    probe_run.py --seqs DIR --callqa BIN --as-send BIN [--live-send BIN]
                 [--input audiosocket|websocket|rtp|mixed] [--models DIR] [--pace X]
                 [--jobs N] [--no-probe] [--out DIR] [--fastagi] [--announce-file F]

--input (default audiosocket) is how the calls come: AudioSocket (as_send), mod_audio_fork's
WebSocket or ARI externalMedia's RTP in PCMU (live_send), or mixed: the three in turn.
A sequence made with mkseq.py --companies names its destination: in the WebSocket's metadata
("destination"), and over FastAGI (hold,UUID,DEST) with --fastagi; --announce-file F has the
server remember announcements per destination in F (docs/live.md).

DIR holds mkseq.py --probe sequences (NAME.wav, NAME.reply.wav, NAME.json). Each is sent at
--pace times real time (default 4), --jobs at once (default 8), by as_send with the person on
the line from the end of their greeting (first_utt_end): they answer the first two probes that
end after it. How each person answers is drawn from the sequence's seed: 0.3-1.2 s after the
probe's end; one in eight talks over the probe (0.1 s after its start); one in ten answers the
first probe late (2.0-3.0 s after it).

Scored per sequence, from the `human` event line (its `at`: the audio read when it was decided):
  found       a `human` at or after the person's first word;
  false       a `human` before it (during the IVR, the music or an announcement);
  latency     at - first_utt_end (the decision's clock starts when their greeting ends);
and the probes sent before the person (into announcements and music) and after.
With --fastagi, each call also has a FastAGI request AGI(agi://.../hold,UUID) waiting from its
start (agi_client.py --script hold): its HOLDSTATUS and HOLDCAUSE must be the event line's
decision (HUMAN with PROBEREPLY-<reply ms>-1280 for a probe_reply, QUIETHANDOVER or NOMUSICAFTER
for the others), counted as agi mismatches.
Prints one line per sequence and a summary; exit 0 (1 when a wait hit its hang guard).

--mode amd streams mkamd.py sequences into `callqa live --live amd` the same way (no probe, no
reply) and scores them with score.py amd from each call's event lines (written to OUT/ev/); with
--fastagi each call's AGI(agi://.../amd) answer must be its first human/machine line's (HUMAN
with HUMAN-<pause ms>-1600, MACHINE with LONGGREETING-<ms>-3520), or HANGUP when it has none.
"""
import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cqport import free_port  # noqa: E402  a port below the ephemeral range


def uuid_of(i):
    return "c0ffee00" + "%024x" % (i + 1)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def agi_answer(out, n):
    """The FastAGI client's answer for sequence n (agi_client.py's JSON line), {} without one."""
    try:
        return json.loads(open(os.path.join(out, n + ".agi.txt")).read().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seqs", required=True)
    ap.add_argument("--callqa", required=True)
    ap.add_argument("--as-send", required=True)
    ap.add_argument("--models", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "../../../shared/models"))
    ap.add_argument("--pace", type=float, default=4)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--no-probe", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--fastagi", action="store_true")
    ap.add_argument("--live-send", default=None)
    ap.add_argument("--announce-file", default=None)
    ap.add_argument("--mode", default="hold", choices=["hold", "amd"])
    ap.add_argument("--input", default="audiosocket",
                    choices=["audiosocket", "websocket", "rtp", "mixed"])
    a = ap.parse_args()
    names = sorted(f[:-5] for f in os.listdir(a.seqs) if f.endswith(".json"))
    labs = {n: json.load(open(os.path.join(a.seqs, n + ".json"))) for n in names}
    out = a.out or tempfile.mkdtemp(prefix="probe_run.")
    os.makedirs(out, exist_ok=True)
    port, ws_port, rtp_port = free_port(), free_port(), free_port()
    events = os.path.join(out, "events.jsonl")
    amd = a.mode == "amd"
    cmd = [a.callqa, "live", "--audiosocket", "127.0.0.1:%d" % port, "--live", a.mode,
           "--events", events, "--model-dir", a.models, "--max-calls", "200"]
    if a.input != "audiosocket":
        if not a.live_send:
            ap.error("--input %s needs --live-send" % a.input)
        cmd += ["--websocket", "127.0.0.1:%d" % ws_port, "--rtp", "127.0.0.1:%d" % rtp_port]

    def input_of(i):
        if a.input == "mixed":
            return ("audiosocket", "websocket", "rtp")[i % 3]
        return a.input

    def name_of(i):  # the call's name in the event lines
        dashed = re.sub(r"(.{8})(.{4})(.{4})(.{4})(.{12})", r"\1-\2-\3-\4-\5", uuid_of(i))
        return "rtp-%08x" % (0x5eed0000 + i) if input_of(i) == "rtp" else dashed
    if not a.no_probe and not amd:
        cmd += ["--probe", "default"]
    if a.announce_file:
        cmd += ["--announce-file", a.announce_file]
    agi_port = free_port() if a.fastagi else None
    if agi_port:
        cmd += ["--fastagi", "127.0.0.1:%d" % agi_port]
    if os.path.exists(events):
        os.unlink(events)
    srv = subprocess.Popen(cmd, stderr=open(os.path.join(out, "live.err"), "w"))
    # its listeners up (its models loaded first): awaited for up to 120 s, a hang guard
    listening = [p for p in (port, ws_port if a.input != "audiosocket" else None, agi_port) if p]
    until = time.monotonic() + 120
    while listening:
        try:
            socket.create_connection(("127.0.0.1", listening[0]), 5).close()
            listening.pop(0)
        except OSError:
            if srv.poll() is not None or time.monotonic() > until:
                srv.kill()
                sys.exit("probe_run.py: callqa live did not start listening (%s): %s" % (
                    "it exited %s" % srv.returncode if srv.returncode is not None else
                    "not within 120 s", open(os.path.join(out, "live.err")).read()))
            time.sleep(0.1)

    def send(i_name):
        i, n = i_name
        lab = labs[n]
        rng = random.Random(lab["seed"])
        how = input_of(i)
        if how == "audiosocket":
            args = [a.as_send, "--port", str(port), "--uuid", uuid_of(i), "--hold-sec", "1"]
        elif how == "websocket":
            meta = {"uuid": name_of(i)}
            if lab.get("destination"):
                meta["destination"] = lab["destination"]
            args = [a.live_send, "--ws", "--port", str(ws_port), "--meta", json.dumps(meta)]
        else:
            args = [a.live_send, "--rtp", "--port", str(rtp_port), "--codec", "pcmu",
                    "--ssrc", "%08x" % (0x5eed0000 + i)]
        args += ["--pace", str(a.pace), "--file", os.path.join(a.seqs, n + ".wav")]
        if not amd:
            args += ["--reply", os.path.join(a.seqs, lab["reply"]),
                     "--person-at", "%.3f" % lab["first_utt_end"],
                     "--reply-delay", "%.3f" % rng.uniform(0.3, 1.2)]
        agi = None
        if agi_port and how != "rtp":  # FastAGI names calls by UUID  # the channel's AGI request, waiting from the call's start
            agi = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(
                os.path.abspath(__file__)), "agi_client.py"), "--port", str(agi_port),
                "--script", a.mode] + (["--dest", lab["destination"]] if lab.get("destination")
                                       else []) + [name_of(i)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        kind = rng.random() if not amd else 1
        if kind < 0.125:
            args += ["--reply-over", "1"]
        elif kind < 0.225:
            args += ["--reply-late", "%.3f" % rng.uniform(2.0, 3.0)]
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with open(os.path.join(out, n + ".send.txt"), "w") as f:
            f.write(" ".join(args) + "\n" + r.stdout + r.stderr)
        if agi:
            ao, ae = agi.communicate(timeout=300)  # a hang guard, as agi_client.py's own
            with open(os.path.join(out, n + ".agi.txt"), "w") as f:
                f.write(ao + ae)
        return n, r.stdout

    with ThreadPoolExecutor(a.jobs) as ex:
        sent = dict(ex.map(send, enumerate(names)))
    # the calls their senders ended (AudioSocket, WebSocket) have their call_end lines before the
    # stop; the RTP streams have no end of their own and end at it. A hang guard of 120 s.
    ended_by_sender = {name_of(i) for i in range(len(names)) if input_of(i) != "rtp"}
    until, hung = time.monotonic() + 120, False
    while True:
        ended = set()
        try:
            for line in open(events):
                if '"type":"call_end"' in line:
                    try:
                        ended.add(json.loads(line).get("call"))
                    except ValueError:
                        pass
        except OSError:
            pass
        if ended_by_sender <= ended:
            break
        if time.monotonic() > until:
            print("FAIL: no call_end within 120 s of their senders' end for %s" %
                  sorted(ended_by_sender - ended))
            hung = True
            break
        time.sleep(0.1)
    srv.terminate()
    try:
        srv.wait(120)
    except subprocess.TimeoutExpired:
        srv.kill()
        sys.exit("probe_run.py: callqa live did not end within 120 s of SIGTERM")
    by_call = {}
    for line in open(events):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        by_call.setdefault(e.get("call"), []).append(e)
    if amd:
        return 1 if amd_scored(a, out, names, labs, by_call, name_of, input_of, agi_port) or hung else 0
    found, false, lat, probes_before, probes_after, rules = 0, 0, [], 0, 0, {}
    agi_bad = 0
    for i, n in enumerate(names):
        lab, ev = labs[n], by_call.get(name_of(i), [])
        hum = [e for e in ev if e.get("type") == "human"]
        pr = [e for e in ev if e.get("type") == "probe"]
        probes_before += sum(1 for e in pr if e["start"] < lab["first_word"])
        probes_after += sum(1 for e in pr if e["start"] >= lab["first_word"])
        note = "no human"
        if hum:
            h = hum[0]
            rules[h.get("rule")] = rules.get(h.get("rule"), 0) + 1
            if h["at"] < lab["first_word"]:
                false += 1
                note = "FALSE human at %.2f (%s), person at %.2f" % (h["at"], h.get("rule"),
                                                                    lab["first_word"])
            else:
                found += 1
                lat.append(h["at"] - lab["first_utt_end"])
                note = "human %s %.2f s after the greeting's end" % (h.get("rule"), lat[-1])
        if agi_port and input_of(i) != "rtp":  # the FastAGI answer: the event line's decision
            ans = agi_answer(out, n)
            want = None
            if hum:
                h = hum[0]
                want = {"probe_reply": "PROBEREPLY-%d-1280" % round(h.get("reply_sec", 0) * 1000),
                        "quiet_handover": "QUIETHANDOVER-", "no_music_after": "NOMUSICAFTER-"}.get(
                            h.get("rule"), "?")
            good = ans.get("ok") and ((want is None and ans.get("status") != "HUMAN") or (
                want is not None and ans.get("status") == "HUMAN" and
                str(ans.get("cause", "")).startswith(want)))
            if not good:
                agi_bad += 1
                note += "; AGI %s %s (want HUMAN %s)" % (ans.get("status"), ans.get("cause"), want)
        replies = sent[n].count("reply ")
        print("%-16s %-5s %-11s probes %d (%d before) replies %d: %s" % (
            n, lab["codec"], input_of(i), len(pr), sum(1 for e in pr if e["start"] < lab["first_word"]),
            replies, note))
    k = len(names)
    print("%s: %d sequences: found %d (%.1f %%), false human %d, latency after the greeting's end "
          "p50 %.2f / p95 %.2f / max %.2f s; probes before the person %d, after %d; rules %s%s" % (
              "without the probe" if a.no_probe else "with the probe", k, found,
              100.0 * found / k if k else 0, false, pct(lat, 0.5), pct(lat, 0.95),
              max(lat) if lat else float("nan"), probes_before, probes_after, rules,
              "; agi mismatches %d" % agi_bad if agi_port else ""))
    return 1 if hung else 0


def amd_scored(a, out, names, labs, by_call, name_of, input_of, agi_port):
    """--mode amd: each call's event lines into OUT/ev/NAME.jsonl, score.py amd on them, and the
    FastAGI answers against the first decision; True when score.py failed."""
    evd = os.path.join(out, "ev")
    os.makedirs(evd, exist_ok=True)
    agi_bad = 0
    for i, n in enumerate(names):
        ev = by_call.get(name_of(i), [])
        with open(os.path.join(evd, n + ".jsonl"), "w") as f:
            for e in ev:
                f.write(json.dumps(e) + "\n")
        dec = [e for e in ev if e.get("type") in ("human", "machine")]
        note = "%s %s at %.2f" % (dec[0]["type"], dec[0].get("rule"), dec[0]["at"]) if dec else "none"
        if agi_port and input_of(i) != "rtp":
            ans = agi_answer(out, n)
            if not dec:
                want = ("HANGUP", "")
            elif dec[0]["type"] == "human":
                want = ("HUMAN", "HUMAN-%d-1600" % round(dec[0].get("quiet_sec", 0) * 1000))
            else:
                want = ("MACHINE", "LONGGREETING-%d-3520" % round(
                    (dec[0]["end"] - dec[0]["start"]) * 1000))
            got = (ans.get("status"), ans.get("cause") or "")
            g, w = got[1].split("-"), want[1].split("-")
            same = not want[1] or (len(g) == 3 and g[0] == w[0] and g[2] == w[2] and
                                   g[1].isdigit() and abs(int(g[1]) - int(w[1])) <= 1)
            if not ans.get("ok") or got[0] != want[0] or not same:
                agi_bad += 1
                note += "; AGI %s %s (want %s %s)" % (got + want)
        print("%-16s %-5s %-11s %s: %s" % (n, labs[n]["codec"], input_of(i), labs[n]["class"], note))
    print("amd over %s: %d calls; agi mismatches %s" % (a.input, len(names),
                                                      agi_bad if agi_port else "not asked"))
    score = os.path.join(os.path.dirname(os.path.abspath(__file__)), "score.py")
    return subprocess.run([sys.executable, score, "amd", "--labels", a.seqs, "--events", evd]).returncode != 0


if __name__ == "__main__":
    sys.exit(main())
