#!/usr/bin/env python3
"""compare_rtcp.py - callqa's RTCP reports against tshark's decoding of the same captures.

usage: compare_rtcp.py CALLQA_SERVICE CAPTURE...

For each capture: one `tshark -o rtp.heuristic_rtp:TRUE -o rtcp.show_roundtrip_calculation:TRUE
-o rtcp.roundtrip_min_threshhold:0 -Y "rtcp || (SR-shaped, not RTCP)" -T fields ...` (the column
of `rtcp` itself tells the two apart) and `callqa-service sip --json`. compare_tshark.py --rtcp
makes the same comparison from its own pass of tshark over the capture.

- The frames tshark decodes as RTCP and finds sound are the frames of `rtcp[]`, and their count
  is `counts.rtcp`; the frames tshark marks malformed (an exception, a wrong length, padding on a
  packet that is not the last), and the UDP datagrams that start like an SR or RR but that
  tshark does not take for RTCP at all (its heuristic wants whole 32-bit words), are
  `counts.rtcp_bad`, and are not in `rtcp[]`.
- Per frame, in order: the senders' SSRCs; each SR's NTP timestamp, packet and octet counts;
  each report block's fraction lost, cumulative lost, extended highest sequence number, jitter,
  LSR, DLSR; each round trip and the frame of its SR (rtcp.roundtrip-delay, rtcp.lsr-frame); each
  XR VoIP Metrics block's every field (a field callqa gives as null, unavailable, is 127 in
  tshark's, and MOS 12.7).

One line per capture (SAME with the counts compared, or DIFF naming each difference). Exit status
1 when any differs, 2 when a tool fails.
"""
import json
import subprocess
import sys

VOIP = ["burstdensity", "gapdensity", "burstduration", "gapduration", "rtdelay", "esdelay",
        "signallevel", "noiselevel", "rerl", "gmin", "rfactor", "extrfactor", "moslq", "moscq",
        "plc", "jba", "jbrate", "jbnominal", "jbmax", "jbabsmax"]
FIELDS = ["frame.number", "rtcp.pt", "rtcp.senderssrc", "rtcp.timestamp.ntp.msw",
          "rtcp.timestamp.ntp.lsw", "rtcp.sender.packetcount", "rtcp.sender.octetcount",
          "rtcp.ssrc.fraction", "rtcp.ssrc.cum_nr", "rtcp.ssrc.ext_high", "rtcp.ssrc.jitter",
          "rtcp.ssrc.lsr", "rtcp.ssrc.dlsr", "rtcp.roundtrip-delay", "rtcp.lsr-frame",
          "rtcp.ssrc.discarded"] + ["rtcp.xr.voipmetrics." + v for v in VOIP] + \
    ["_ws.malformed", "_ws.expert.message"]
BAD = ("Malformed", "Incorrect RTCP packet length", "Padding flag set on not final packet")


RTCP_OPTS = ["-o", "rtp.heuristic_rtp:TRUE", "-o", "rtcp.show_roundtrip_calculation:TRUE",
             "-o", "rtcp.roundtrip_min_threshhold:0"]
# the UDP datagrams that start like an SR or RR, and that tshark takes for neither RTCP nor RTP
# nor SIP
SHAPED = ("!rtcp && !rtp && !sip && udp.payload[0] & 0xc0 == 0x80 && "
          "(udp.payload[1] == 0xc8 || udp.payload[1] == 0xc9)")


def tshark_args():
    """one tshark pass's arguments for both: the frames of RTCP (-Y rtcp) and the SR-shaped
    frames, told apart by the column of the rtcp protocol itself (its items' labels, empty where
    the frame has none: the display filter's `rtcp`), the last of FIELDS + ["rtcp"]"""
    cmd = RTCP_OPTS + ["-Y", "rtcp || (%s)" % SHAPED, "-T", "fields", "-E", "separator=\t",
                       "-E", "aggregator=|", "-E", "occurrence=a"]
    for f in FIELDS + ["rtcp"]:
        cmd += ["-e", f]
    return cmd


def parse_fields(lines):
    """(good, bad, shaped) from the lines of tshark_args()'s output: the RTCP frames sound and
    malformed (an exception, a wrong length, padding on a packet that is not the last), and the
    SR-shaped frames that are not RTCP"""
    good, bad, shaped = {}, set(), set()
    for line in lines:
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) + 1 - len(cols))
        is_rtcp, cols = cols[len(FIELDS)] != "", cols[:len(FIELDS)]
        frame = int(cols[0])
        if not is_rtcp:
            shaped.add(frame)
            continue
        row = {f: [v for v in c.split("|") if v != ""] for f, c in zip(FIELDS, cols)}
        if row["_ws.malformed"] or any(b in cols[-1] for b in BAD):
            bad.add(frame)
        else:
            good[frame] = row
    return good, bad, shaped


def tshark_rtcp(path):
    """(good, bad, shaped) of the capture at path, from one pass of tshark"""
    out = subprocess.run(["tshark", "-r", path] + tshark_args(), capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (path, out.stderr.strip()))
    return parse_fields(out.stdout.splitlines())


def ours(tool, path):
    out = subprocess.run([tool, "sip", "--json", path], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError("callqa sip failed on %s: %s" % (path, out.stderr.strip()))
    return json.loads(out.stdout)


def na(v, unavailable=127):
    return unavailable if v is None else v


def our_rows(doc):
    """Per frame, the same columns as tshark's, from rtcp[]."""
    rows = {}
    plc = {"unspecified": 0, "disabled": 1, "enhanced": 2, "standard": 3}
    jba = {"unknown": 0, "reserved": 1, "non-adaptive": 2, "adaptive": 3}
    for r in doc["rtcp"]:
        row = rows.setdefault(r["frame"], {f: [] for f in FIELDS})
        row["rtcp.senderssrc"].append(int(r["ssrc"], 16))
        if r["sender"]:
            s = r["sender"]
            row["rtcp.timestamp.ntp.msw"].append(s["ntp_msw"])
            row["rtcp.timestamp.ntp.lsw"].append(s["ntp_lsw"])
            row["rtcp.sender.packetcount"].append(s["packets"])
            row["rtcp.sender.octetcount"].append(s["octets"])
        for b in r["blocks"]:
            row["rtcp.ssrc.fraction"].append(b["fraction_lost"])
            row["rtcp.ssrc.cum_nr"].append(b["cumulative_lost"])
            row["rtcp.ssrc.ext_high"].append(b["extended_highest_seq"])
            row["rtcp.ssrc.jitter"].append(b["jitter"])
            row["rtcp.ssrc.lsr"].append(b["lsr"])
            row["rtcp.ssrc.dlsr"].append(b["dlsr"])
            if b["rtt_ms"] is not None:
                row["rtcp.roundtrip-delay"].append(b["rtt_ms"])
                row["rtcp.lsr-frame"].append(b["rtt_sr_frame"])
        for v in r["voip_metrics"]:
            raw = lambda pct: round(pct * 256 / 100)
            row["rtcp.ssrc.fraction"].append(raw(v["loss_rate_pct"]))
            row["rtcp.ssrc.discarded"].append(raw(v["discard_rate_pct"]))
            vals = [raw(v["burst_density_pct"]), raw(v["gap_density_pct"]),
                    v["burst_duration_ms"], v["gap_duration_ms"], v["round_trip_delay_ms"],
                    v["end_system_delay_ms"], na(v["signal_level_dbm"]),
                    na(v["noise_level_dbm"]), na(v["rerl_db"]), v["gmin"], na(v["r_factor"]),
                    na(v["ext_r_factor"]), na(v["mos_lq"], 12.7), na(v["mos_cq"], 12.7),
                    plc[v["plc"]], jba[v["jba"]], v["jb_rate"], v["jb_nominal_ms"],
                    v["jb_max_ms"], v["jb_abs_max_ms"]]
            for name, x in zip(VOIP, vals):
                row["rtcp.xr.voipmetrics." + name].append(x)
    return rows


def num(s):
    s = s.strip()
    if s.startswith("0x"):
        return int(s, 16)
    try:
        return int(s)
    except ValueError:
        return round(float(s), 3)


def compare_doc(path, good, bad, shaped, doc):
    """the capture's line (SAME or DIFF) and 1 when it differs: callqa's document against
    tshark's frames"""
    mine = our_rows(doc)
    diffs = []
    if set(good) != set(mine):
        diffs.append("frames: tshark only %s, callqa only %s" %
                     (sorted(set(good) - set(mine))[:10], sorted(set(mine) - set(good))[:10]))
    if doc["counts"]["rtcp"] != len(good):
        diffs.append("counts.rtcp %d, tshark %d" % (doc["counts"]["rtcp"], len(good)))
    if doc["counts"]["rtcp_bad"] != len(bad) + len(shaped):
        diffs.append("counts.rtcp_bad %d, tshark's malformed %d (frames %s) and not RTCP %d "
                     "(frames %s)" % (doc["counts"]["rtcp_bad"], len(bad), sorted(bad)[:10],
                                      len(shaped), sorted(shaped)[:10]))
    compared = {"blocks": 0, "round_trips": 0, "xr_voip": 0, "fields": 0}
    for frame in sorted(set(good) & set(mine)):
        t, o = good[frame], mine[frame]
        for f in FIELDS[2:-2]:
            tv = [num(x) for x in t[f]]
            ov = [round(x, 3) if isinstance(x, float) else x for x in o[f]]
            if tv != ov:
                diffs.append("frame %d %s: tshark %s, callqa %s" % (frame, f, tv, ov))
            compared["fields"] += len(tv)
        compared["blocks"] += len(o["rtcp.ssrc.cum_nr"])
        compared["round_trips"] += len(o["rtcp.roundtrip-delay"])
        compared["xr_voip"] += len(o["rtcp.xr.voipmetrics.gmin"])
    if diffs:
        return 1, "DIFF %s: %s" % (path, "; ".join(diffs[:20]))
    return 0, ("SAME %s: %d RTCP packets, %d malformed, %d report blocks, %d round trips, %d XR "
               "VoIP blocks, %d values" % (path, len(good), len(bad) + len(shaped),
                                           compared["blocks"], compared["round_trips"],
                                           compared["xr_voip"], compared["fields"]))


def compare(tool, path):
    good, bad, shaped = tshark_rtcp(path)
    rc, line = compare_doc(path, good, bad, shaped, ours(tool, path))
    print(line)
    return rc


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rc = 0
    for path in sys.argv[2:]:
        try:
            rc |= compare(sys.argv[1], path)
        except (RuntimeError, ValueError, KeyError) as e:
            print("ERROR %s: %s" % (path, e))
            rc = 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
