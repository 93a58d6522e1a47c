"""cat_terminal.py - text from outside on the terminal: a capture whose Call-ID and reason phrase
hold ESC [ 2 J (clear the screen), BEL, CR, a C1 CSI as a lone byte and in UTF-8, and DEL; a
call_info file with the same in its values; a recording whose file name holds them. `callqa
sip`, `callqa investigate` (text and --json), `callqa sip --call-info` and `callqa analyze` must
write none of those bytes: in text as \\xHH, in JSON as \\u escapes (docs/network.md, "Text from
outside on the terminal"). The capture is written here (tests/net/gen_pcap.py's writer).
"""
import json
import os
import shutil
import subprocess
import sys

import rtlib as rt
from rtlib import check

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "net"))

BAD = b"\x1b[2J\x07x\ry\x9b31m\xc2\x9b1;1H\x7fz"  # ESC [2J, BEL, CR, C1 (a lone byte, UTF-8), DEL


def capture(path):
    """A call refused 486, its Call-ID and reason phrase carrying BAD, over UDP."""
    import gen_pcap as g
    w = g.Writer(path)
    call = b"ctl" + BAD + b"@10.0.0.1"

    def msg(first, cseq):
        h = [first, b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK" + cseq.split()[0],
             b"From: <sip:alice@10.0.0.1>;tag=a1", b"To: <sip:bob@192.0.2.7>",
             b"Call-ID: " + call, b"CSeq: " + cseq, b"Content-Length: 0"]
        return b"\r\n".join(h) + b"\r\n\r\n"

    t = 1.0
    for src, dst, first, cseq in [
            (g.A, g.B, b"INVITE sip:bob@192.0.2.7 SIP/2.0", b"1 INVITE"),
            (g.B, g.A, b"SIP/2.0 100 Trying", b"1 INVITE"),
            (g.B, g.A, b"SIP/2.0 486 Busy" + BAD + b" Here", b"1 INVITE"),
            (g.A, g.B, b"ACK sip:bob@192.0.2.7 SIP/2.0", b"1 ACK")]:
        t += 0.5
        w.frame(t, g.ipv4(src, dst, 17, g.udp(5060, 5060, msg(first, cseq))))
    w.close()


def terminal_safe(out):
    """What in out a terminal would act on: C0 bytes but '\\n', DEL, C1 (UTF-8 or lone), bytes
    that are not UTF-8. An empty list when there is none."""
    bad = [b for b in (0x1b, 0x07, 0x0d, 0x7f, 0x9b, 0x00) if bytes([b]) in out]
    bad += [c for c in range(0x01, 0x20) if c not in (0x0a,) and bytes([c]) in out and c not in bad]
    if b"\xc2\x9b" in out:
        bad.append("C2 9B")
    try:
        out.decode("utf-8")
    except UnicodeDecodeError as e:
        bad.append("not UTF-8 at %d" % e.start)
    return bad


def run(args):
    r = subprocess.run([rt.CQ] + args, capture_output=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def cat_terminal(root):
    d = os.path.join(root, "terminal")
    os.makedirs(d, exist_ok=True)
    pcap = os.path.join(d, "ctl.pcap")
    capture(pcap)
    for args, what in ((["sip", pcap], "callqa sip"),
                       (["investigate", pcap], "callqa investigate")):
        rc, out, err = run(args)
        check("%s on a capture whose Call-ID and reason phrase hold ESC [2J, BEL, CR, C1, DEL: "
              "exit 0, nothing a terminal acts on (stdout and stderr)" % what,
              rc == 0 and not terminal_safe(out) and not terminal_safe(err),
              "exit %d; stdout %s; stderr %s" % (rc, terminal_safe(out), terminal_safe(err)))
        check("  %s: the Call-ID and reason phrase shown, their bytes as \\xHH" % what,
              b"ctl\\x1b[2J\\x07x\\x0dy" in out and b"Busy\\x1b[2J" in out,
              out[:600].decode("utf-8", "replace"))
    rc, out, _ = run(["investigate", pcap])
    check("  callqa investigate: the explanation and the finding's message are there",
          b"ended with SIP 486" in out and b"[minor] sip_busy: INVITE ctl" in out,
          out[:600].decode("utf-8", "replace"))
    for args, what in ((["sip", "--json", pcap], "callqa sip --json"),
                       (["investigate", "--json", pcap], "callqa investigate --json")):
        rc, out, err = run(args)
        try:
            o = json.loads(out)
        except ValueError as e:
            o = None
            check("%s: JSON" % what, False, str(e))
            continue
        check("%s: exit 0, JSON, nothing a terminal acts on (DEL and C1 as \\u escapes)" % what,
              rc == 0 and not terminal_safe(out), "exit %d; %s" % (rc, terminal_safe(out)))
        ids = {s.get("call_id") for s in o.get("sip", []) if s.get("call_id")}
        check("  %s: the Call-ID as JSON keeps ESC [2J, BEL, CR and DEL as characters" % what,
              any(i.startswith("ctl\x1b[2J\x07x\ry") and "\x7fz@10.0.0.1" in i for i in ids),
              str(ids))
        fs = o.get("findings", [])
        check("  %s: every finding has its message (none null)" % what,
              fs and all(isinstance(f.get("message"), str) and f["message"] for f in fs),
              str([f.get("message") for f in fs]))
        if "explanation" in o or what.startswith("callqa investigate"):
            check("  %s: the explanation is there (not null)" % what,
                  isinstance(o.get("explanation"), str) and "486" in o["explanation"],
                  repr(o.get("explanation")))
    # the dialer's call_info with the same bytes in its values
    ci = os.path.join(d, "ci.txt")
    with open(ci, "wb") as f:
        f.write(b"CARRIER LOG:\nuniqueid: 1714645800.4411\ndialstatus: CONGESTION\n"
                b"sip_hangup_cause: 503\nsip_hangup_reason: Service" + BAD + b"\n"
                b"channel: SIP/telco" + BAD + b"\n\nagent_note: x" + BAD + b"\n")
    rc, out, err = run(["sip", "--call-info", ci])
    check("callqa sip --call-info: values holding ESC [2J, BEL, CR, C1, DEL shown escaped",
          rc == 0 and not terminal_safe(out) and not terminal_safe(err) and b"\\x1b[2J" in out,
          "exit %d; %s; %s" % (rc, terminal_safe(out), out[:400].decode("utf-8", "replace")))
    # a recording named with them (as UTF-8: a name that is not has no "file" in the JSON)
    name = b"call\x1b[2J\x07\xc2\x9bz\x7f.wav"
    wav = os.path.join(d.encode(), name)
    shutil.copy(os.path.join(rt.CORPUS, "calls", "call01_normal.wav").encode(), wav)
    rc, out, err = run(["analyze", "--only", "levels", wav])
    check("callqa analyze (text) of a recording whose name holds ESC [2J, BEL, C1, DEL: its name "
          "shown escaped, nothing a terminal acts on",
          rc == 0 and b"call\\x1b[2J\\x07\\xc2\\x9bz\\x7f.wav" in out and
          not terminal_safe(out) and not terminal_safe(err),
          "exit %d; %s; %s" % (rc, terminal_safe(out), out[:200]))
    rc, out, err = run(["analyze", "--json", "--only", "levels", wav])
    try:
        f = json.loads(out).get("file", "")
    except ValueError:
        f = None
    check("callqa analyze --json of it: the same name in \"file\", DEL and C1 as \\u escapes",
          rc == 0 and f and f.endswith(name.decode()) and b"\\u009bz\\u007f.wav" in out and
          not terminal_safe(out) and not terminal_safe(err),
          "exit %d; %s; %r" % (rc, terminal_safe(out), f))
    # and one that is not audio, its error line on stderr
    junk = os.path.join(d.encode(), b"junk" + BAD.replace(b"\r", b"") + b".wav")
    with open(junk, "wb") as f:
        f.write(b"not audio at all" * 10)
    rc, out, err = run(["analyze", junk])
    check("callqa analyze of a file that is not audio, named with them: its error line escaped",
          rc != 0 and b"junk\\x1b[2J" in err and not terminal_safe(err) and
          not terminal_safe(out),
          "exit %d; %s" % (rc, err[-300:]))

    # a transcript whose words hold them: `callqa score`'s quotes (a Harper Valley call of the
    # shared transcripts, each segment's text with the bytes added)
    tr = os.path.join(os.path.dirname(os.path.abspath(rt.CORPUS)), "transcripts")
    if os.path.isdir(os.path.join(tr, "transcript")):
        r = subprocess.run([sys.executable, os.path.join(HERE, "..", "scoring", "hv_to_callqa.py"),
                            "0377245f73a54480", tr], capture_output=True, timeout=60)
        t = json.loads(r.stdout)
        for seg in t.get("segments", []):
            if isinstance(seg.get("text"), str):
                seg["text"] += "\x1b[2J\x07\x7f\u009b"
        tj = os.path.join(d, "transcript.json")
        with open(tj, "w") as f:
            json.dump(t, f)
        rc, out, err = run(["score", "--transcript", tj])
        check("callqa score of a transcript whose words hold ESC [2J, BEL, DEL, C1: its quotes "
              "shown escaped, nothing a terminal acts on",
              rc == 0 and b"\\x1b[2J\\x07\\x7f\\xc2\\x9b\"" in out and not terminal_safe(out) and
              not terminal_safe(err), "exit %d; %s; %s" % (rc, terminal_safe(out), out[:300]))


CATEGORIES = [("terminal", cat_terminal)]
