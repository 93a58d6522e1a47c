#!/usr/bin/env python3
"""sipnet_check.py - the checks of tests/net/test_sipnet.sh on what its network left in DIR:

  wire.pcap      what the router forwarded (tcpdump -Q out: after its drops)
  hep/*.pcap     what `callqa sip --hep` filed from Kamailio's siptrace, one file per call
  router.txt     the router's iptables counters: NAME.seen and NAME.drop packets
  s$i/heard.wav  what callee $i's baresip decoded (sndfile); c$i/ the caller's
  live/*         what `callqa live --rtp` made of the media rtpengine forked to it
  scenarios      "INDEX NAME USER" per call
  talk.wav, events.wav  what the callers played

usage: sipnet_check.py BUILD_DIR DIR N   (N: the checks the shell made before; TAP lines from
N + 1; the count written to DIR/n, the failures to DIR/fails; one table per scenario printed
as comments, the figures docs/sip-capture.md shows)
"""
import glob
import json
import os
import re
import subprocess
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import compare_tshark  # noqa: E402

B, D, N0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
SVC = os.path.join(B, "callqa-service")
CQ = os.path.join(B, "callqa")
HERE = os.path.dirname(os.path.abspath(__file__))
state = {"n": N0, "fails": 0}


def check(name, ok, why=""):
    state["n"] += 1
    if ok:
        print("ok %d - %s" % (state["n"], name))
    else:
        state["fails"] += 1
        print("not ok %d - %s%s" % (state["n"], name, (": " + why) if why else ""))


def note(text):
    for line in text.splitlines():
        print("# " + line)


def sip_json(path):
    out = subprocess.run([SVC, "sip", "--json", path], capture_output=True, text=True)
    return json.loads(out.stdout)


def analyze(path):
    out = subprocess.run([CQ, "analyze", "--json", path], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else None


def wav(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def offset_sec(rec, src):
    """where rec's first samples lie in src, in seconds, and the correlation there"""
    a, b = wav(rec), wav(src)
    n = min(len(a), 8000 * 4)
    seg = a[:n] - a[:n].mean()
    best = (-1.0, 0)
    for off in range(0, max(1, len(b) - n), 8):  # 1 ms steps, then refined
        y = b[off:off + n]
        c = float(np.dot(seg, y - y.mean()) / (np.linalg.norm(seg) * np.linalg.norm(y) + 1e-9))
        if c > best[0]:
            best = (c, off)
    c0, o0 = best
    for off in range(max(0, o0 - 8), min(len(b) - n, o0 + 9)):
        y = b[off:off + n]
        c = float(np.dot(seg, y - y.mean()) / (np.linalg.norm(seg) * np.linalg.norm(y) + 1e-9))
        if c > best[0]:
            best = (c, off)
    return best[1] / 8000.0, best[0]


def nmos(s):
    """a stream's network MOS: the E-model behind an adaptive jitter buffer, as its finding says"""
    return s["network_mos"]["jitter_buffers"]["adaptive_500ms"]["mos"]


def key(m):
    return tuple(str(m.get(k)) for k in ("call_id", "cseq", "cseq_method", "method", "status",
                                         "src", "src_port", "dst", "dst_port"))


def main():
    scen = {}
    for line in open(os.path.join(D, "scenarios")):
        i, name, user = line.split()
        scen[name] = int(i)
    router = {}
    for line in open(os.path.join(D, "router.txt")):
        k, v = line.split()
        router[k] = int(v)
    # what the capture itself lost (tcpdump's "N packets dropped by kernel": starved of CPU on a
    # busy machine): the router's counters are then checked within it, never past it
    cap_lost = 0
    for line in open(os.path.join(D, "tcpdump.log"), errors="replace"):
        m = re.match(r"(\d+) packets? dropped by kernel", line.strip())
        if m:
            cap_lost = int(m.group(1))
    cap_total = cap_lost
    if cap_lost:
        note("the capture lost %d packets (tcpdump's count): each stream's packets are checked "
             "against the router's counters less at most these" % cap_lost)
    wire = sip_json(os.path.join(D, "wire.pcap"))
    by_callee = {}
    for x in wire["dialogs"]:
        if x["method"] == "INVITE":
            for name, i in scen.items():
                if "@10.69.%d.2" % i in x["to"]:
                    by_callee[name] = x
    streams = wire["streams"]
    try:
        ts_rows = compare_tshark.tshark_once(os.path.join(D, "wire.pcap"))[0]
    except RuntimeError as e:
        ts_rows = {}
        note(str(e))

    def ts(s):
        """tshark's row of a stream: packets, lost, max jitter"""
        r = ts_rows.get((s["src"], s["src_port"], s["dst"], s["dst_port"], s["ssrc"].upper()))
        return "%s | %s | %s" % (r["pkts"], r["lost"], r["maxj"]) if r else "- | - | -"

    def stream(src, dst):
        got = [s for s in streams if s["src"] == src and s["dst"] == dst]
        return got[0] if len(got) == 1 else None

    # -- every call on the wire, answered
    check("every call on the wire: %d INVITE dialogs, each answered 200" % len(scen),
          len(by_callee) == len(scen) and all(x["final_status"] == 200
                                              for x in by_callee.values()),
          "%s" % {k: v["final_status"] for k, v in by_callee.items()})

    # -- streams, loss and jitter equal to tshark's, and the SIP counts
    out = subprocess.run([sys.executable, os.path.join(HERE, "..", "compare_tshark.py"), SVC,
                          os.path.join(D, "wire.pcap")], capture_output=True, text=True)
    note(out.stdout.strip())
    check("callqa sip and tshark agree on every stream (packets, lost, deltas, jitter) and the "
          "SIP counts", out.returncode == 0 and out.stdout.startswith("SAME"),
          out.stdout.strip()[:300] + out.stderr.strip()[:200])

    # -- the collector filed every call, with the wire's SIP
    files = sorted(glob.glob(os.path.join(D, "hep", "*.pcap")))
    filed = {}
    for f in files:
        j = sip_json(f)
        for x in j["dialogs"]:
            filed.setdefault(x["call_id"], []).append((f, j))
    check("the HEP collector filed every call once (%d files)" % len(files),
          len(files) == len(scen) and all(len(filed.get(x["call_id"], [])) == 1
                                          for x in by_callee.values()))
    same, differ = 0, []
    for name, x in sorted(by_callee.items()):
        cid = x["call_id"]
        if len(filed.get(cid, [])) != 1:
            continue
        f, j = filed[cid][0]
        w = sorted(key(m) for m in wire["sip"] if m.get("call_id") == cid)
        h = sorted(key(m) for m in j["sip"] if m.get("call_id") == cid)
        codes = {fi["code"]: fi for fi in j["findings"]}
        wcodes = {fi["code"] for fi in wire["findings"] if fi.get("call_id") == cid}
        if name == "mirror":
            mir = codes.get("sip_mirrored", {}).get("values", {}).get("mirrored", 0)
            extra = len(h) - len(w)
            note("mirror: %d messages on the wire, %d filed, sip_mirrored %d" % (len(w), len(h),
                                                                               mir))
            check("Kamailio tracing in its script too: every request filed twice, said as "
                  "mirrored (%d), none as sent again" % mir,
                  extra > 0 and mir == extra and sorted(set(h)) == sorted(set(w)) and
                  "sip_retransmissions" not in codes and "sip_retransmissions" not in wcodes,
                  "extra %d, mirrored %d, codes %s" % (extra, mir, sorted(codes)))
            continue
        if h == w and "sip_retransmissions" not in codes and "sip_mirrored" not in codes:
            same += 1
        else:
            differ.append("%s: wire %d, filed %d, %s" % (name, len(w), len(h), sorted(codes)))
    check("each call filed with the wire's SIP, message for message (%d calls)" % same,
          same == len(scen) - 1, "; ".join(differ))

    # -- the router's counters against the streams
    rows = []
    mos = {}
    for name, i in sorted(scen.items(), key=lambda kv: kv[1]):
        c, d, p = "10.68.%d.2" % i, "10.69.%d.2" % i, "10.67.0.2"
        seen, drop = router.get(name + ".seen"), router.get(name + ".drop", 0)
        if name == "oneway":
            s = stream(d, c)
            check("one-way: the router dropped all %d packets of the callee's media; none "
                  "on the wire" % drop, seen == drop and drop > 500 and s is None)
            continue
        legs = [(c, d)] if not name.startswith(("relay", "burst")) else [(c, p), (p, d)]
        figs = []
        for src, dst in legs:
            s = stream(src, dst)
            if s is None:
                check("%s: the stream %s -> %s on the wire" % (name, src, dst), False)
                continue
            figs.append(s)
            rows.append("| %s | %s -> %s | %s | %s | %d | %d | %.3f | %s | %.1f | %.2f |" % (
                name, src, dst, seen if (src, dst) == legs[-1 if name == "relay" else 0] else "",
                drop if (src, dst) == legs[-1 if name == "relay" else 0] else "", s["packets"],
                s["lost"], s["max_jitter_ms"], ts(s), s["lost_pct"], nmos(s)))
        if len(figs) != len(legs):
            continue
        hit = figs[-1] if name == "relay" else figs[0]  # the stream the router impaired
        tail = 5 if name == "burst" else 1
        short = seen - drop - hit["packets"]  # forwarded, not in the capture: 0 unless it lost
        check("%s: %d packets through the router less %d dropped = the %d callqa counts; lost "
              "%d of them (the rest after its last packet)%s" % (
                  name, seen, drop, hit["packets"], hit["lost"],
                  "; %d missed by the capture" % short if short else ""),
              0 <= short <= cap_lost and hit["lost"] - short <= drop <= hit["lost"] + tail)
        cap_lost -= min(max(short, 0), cap_lost)  # what is left of the capture's loss
        mos[name] = round(nmos(hit), 2)
        if name == "relay":
            check("relay: the caller's first leg lost nothing, the second leg (rtpengine to "
                  "the callee) lost %d" % figs[1]["lost"], figs[0]["lost"] <= cap_lost and
                  figs[1]["lost"] > 0)
            cap_lost -= min(figs[0]["lost"], cap_lost)
        if name == "burst":
            check("burst: rtpengine relays the first leg's gaps, the second leg lost the same "
                  "%d" % figs[0]["lost"], abs(figs[1]["lost"] - figs[0]["lost"]) <= cap_total)
    note("| call | stream | router: seen | dropped | callqa: packets | lost | max jitter ms | "
         "tshark: packets | lost | max jitter ms | loss % | network MOS |\n" + "\n".join(rows))

    order = ["loss0", "loss1", "loss3", "loss5", "loss10"]
    got = [mos.get(k) for k in order]
    check("network MOS falls as loss grows (0, 1, 3, 5, 10 %%: %s)" % got,
          None not in got and all(a > b for a, b in zip(got, got[1:])))
    check("bursts of 5 packets (10 %%) score under 10 %% lost at random (%s < %s)" %
          (mos.get("burst"), mos.get("loss10")),
          mos.get("burst") is not None and mos["burst"] < mos["loss10"])

    # -- queueing: the media behind the cross traffic's bursts on the rate-limited link
    jit = stream("10.68.%d.2" % scen["jitter"], "10.69.%d.2" % scen["jitter"]) \
        if "jitter" in scen else None
    clean = stream("10.68.%d.2" % scen["loss0"], "10.69.%d.2" % scen["loss0"])
    if jit and clean:
        note("jitter: max %.3f ms, mean %.3f ms (the clean call: max %.3f, mean %.3f ms); max "
             "delta %.1f ms (the clean call: %.1f)"
             % (jit["max_jitter_ms"], jit["mean_jitter_ms"], clean["max_jitter_ms"],
                clean["mean_jitter_ms"], jit["max_delta_ms"], clean["max_delta_ms"]))
        # The queue's mark is made by the kernel (each 6 kB burst drains in 187 ms at 256
        # kbit/s), the clean call's jitter by the machine's load on the agents' timers (its max
        # 2.4-5.3 ms, mean 1.7-2.2 ms, largest gap 29-44 ms on a busy machine): a gap of 100 ms and
        # twice the clean call's mean jitter, not a ratio of maxima that load moves.
        check("queued behind bursts on a 256 kbit/s link: gaps of the queue's drain (largest "
              "%.0f ms, at least 100) and mean jitter over twice the clean call's (%.1f against "
              "%.1f ms), as tshark has it" % (jit["max_delta_ms"], jit["mean_jitter_ms"],
                                              clean["mean_jitter_ms"]),
              jit["max_delta_ms"] >= 100 and jit["mean_jitter_ms"] > 2 * clean["mean_jitter_ms"])
    else:
        check("the queued call's media on the wire", False)

    # -- relayed: one call across its legs
    rx = by_callee.get("relay")
    if rx:
        legs = {(streams[k]["src"], streams[k]["dst"]) for k in rx["streams"]}
        want = {("10.68.9.2", "10.67.0.2"), ("10.67.0.2", "10.68.9.2"),
                ("10.67.0.2", "10.69.9.2"), ("10.69.9.2", "10.67.0.2")}
        check("the relayed call is one call with both legs' four streams", legs == want,
              "%s" % sorted(legs))

    # -- one-way audio named
    ow = by_callee.get("oneway")
    if ow:
        out = subprocess.run([CQ, "investigate", "--json", "--call-id", ow["call_id"],
                              os.path.join(D, "wire.pcap")], capture_output=True, text=True)
        inv = json.loads(out.stdout) if out.returncode == 0 else {}
        note("investigate: " + str(inv.get("explanation")))
        check("investigate names one-way audio on the one-way call",
              "rtp_one_way" in {f["code"] for f in inv.get("findings", [])
                                if f.get("call_id") == ow["call_id"]} and
              "one way" in (inv.get("explanation") or ""))

    # -- what baresip recorded
    rec = {}
    for name in order + ["burst"]:
        r = analyze(os.path.join(D, "s%d" % scen[name], "heard.wav"))
        if r:
            rec[name] = (r["inbound"]["nisqa"]["mos"], r["inbound"]["nisqa"]["discontinuity"],
                         r["inbound"]["quality"]["dropouts"], r["inbound"].get("duration_sec"))
    note("callee's recording (baresip sndfile): NISQA MOS, discontinuity, dropouts\n" +
         "\n".join("%s: %s" % (k, v) for k, v in rec.items()))
    m = [rec.get(k, (None,))[0] for k in ("loss0", "loss5", "loss10")]
    check("the callees' recordings: NISQA MOS falls with loss (0, 5, 10 %%: %s)" % m,
          None not in m and m[0] > m[1] > m[2] and m[0] - m[2] >= 0.5)

    # -- callqa live on rtpengine's fork
    live = {}
    for f in glob.glob(os.path.join(D, "live", "*.live.jsonl")):
        lines = [json.loads(x) for x in open(f) if x.strip()]
        end = [x for x in lines if x.get("type") == "call_end"]
        live[f[:-len(".live.jsonl")]] = (lines, end[0] if end else {})
    check("callqa live heard both forked calls, each ended once", len(live) == 2 and all(
        len([x for x in lines if x.get("type") == "call_end"]) == 1
        for lines, _ in live.values()))
    src_of = {}
    for base in live:
        for name, src in (("relay", "events.wav"), ("burst", "talk.wav")):
            off, corr = offset_sec(base + ".wav", os.path.join(D, src))
            if corr > 0.8:
                src_of[name] = (base, off, corr)
    if "relay" in src_of:
        base, off, corr = src_of["relay"]
        out = subprocess.run([CQ, "classify", os.path.join(D, "events.wav")],
                             capture_output=True, text=True)
        want = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
        closed = [x for x in want if x.get("state") == "closed"]
        got = [x for x in live[base][0] if x.get("state") == "closed"]
        pairs, bad = [], []
        for w in closed:
            g = [x for x in got if x["type"] == w["type"] and x["id"] == w["id"]]
            if len(g) != 1:
                bad.append("%s %d missing" % (w["type"], w["id"]))
                continue
            g = g[0]
            ds = abs(g["start"] + off - w["start"])
            de = abs(g["end"] + off - w["end"]) if w["end"] < closed[-1]["end"] else 0.0
            pairs.append("%s %s: file %.2f-%.2f, live %.2f-%.2f (+%.2f)" % (
                w["type"], w.get("digits", ""), w["start"], w["end"], g["start"], g["end"], off))
            if ds > 0.3 or de > 0.3 or g.get("digits") != w.get("digits"):
                bad.append(pairs[-1])
        note("live against the file played (offset %.2f s, correlation %.3f):\n" % (off, corr) +
             "\n".join(pairs))
        check("callqa live on rtpengine's fork: the file's %d events, each within 0.3 s" %
              len(closed), len(closed) >= 3 and not bad and len(got) == len(closed),
              "; ".join(bad) + " (%d live, %d file)" % (len(got), len(closed)))
    else:
        check("callqa live's recording of the relayed call matches the file played", False)
    if "burst" in src_of:
        base, off, corr = src_of["burst"]
        r = analyze(base + ".wav")
        q = r["inbound"]["quality"] if r else {}
        bursts = router.get("burst.drop", 0) // 5
        note("callqa live's recording of the burst call: %s dropouts, %s ms (%d bursts of "
             "100 ms dropped)" % (q.get("dropouts"), q.get("dropout_ms"), bursts))
        check("dropouts found where bursts were dropped: each 100 ms, one burst",
              q.get("dropouts", 0) >= 1 and q.get("dropouts", 0) <= bursts and
              abs(q.get("dropout_ms", 0) - 100.0 * q["dropouts"]) < 1.0)
    else:
        check("callqa live's recording of the burst call matches the file played", False)

    open(os.path.join(D, "n"), "w").write("%d\n" % state["n"])
    open(os.path.join(D, "fails"), "w").write("%d\n" % state["fails"])
    return 1 if state["fails"] else 0


if __name__ == "__main__":
    sys.exit(main())
