#!/bin/sh
# test_inputs.sh - `callqa live` with its three inputs in one server, over loopback: live_send
# (an RTP sender as ARI externalMedia sends, and a mod_audio_fork WebSocket client, both written
# from the wire formats, tests/live/live_send.c) and as_send (AudioSocket) in place of Asterisk
# and FreeSWITCH, which Debian 12 does not package.
#   RTP: 8 s of a corpus call leg in PCMU at real-time pace that then stops (stalled); 20 s in
#     PCMA at 2x with loss, reordering, duplicates, sequence and timestamp wraps, an SSRC change
#     at 10 s from the same socket and the old stream's last packets after it, beside datagrams
#     that are not RTP; 20 s in L16 at 16 kHz (payload type 118) at 2x. The exact counts of
#     RTP need every datagram sent to reach the server: the senders keep to 2x real time, and
#     when the kernel still dropped some on the server's socket (/proc/net/udp), the checks
#     that count them say so and are skipped rather than failed.
#   WebSocket: 8 s at real-time pace, named by its metadata's uuid, a ping, a close; a stereo
#     call named by its path (?mix=stereo); a 16 kHz call (?rate=16k); an unmasked frame
#     (close 1002), an oversized one (close 1009), an Upgrade without its key (400), a peer that
#     vanishes mid-frame.
#   AudioSocket: one call at 20x beside them. Then SIGTERM with an RTP and a WebSocket call in
#   progress. Checked: each healthy call's events equal `callqa classify` on the samples the
#   server was given (types, states and digits; starts within one 32 ms frame), the input and
#   the name on every line, one call_end per call with its reason and its input's counters
#   (lost, duplicates, reordered as sent; the SSRC change), the replies (pong, close codes,
#   400), the stats counters and exit 0.
#   usage: test_inputs.sh BUILD/callqa BUILD/tests/live_send BUILD/tests/as_send SOURCE_DIR CORPUS
#   exit 77 without the corpus
set -u
CQ=$1
LS=$2
AS=$3
C=$5/calls
[ -f "$C/call05_ringback_answer.wav" ] && [ -f "$C/call06_ivr_dtmf.wav" ] || {
    echo "SKIP: $5 (the shared corpus) is missing"
    exit 77
}
T=$(mktemp -d)
PIDS=""
# shellcheck disable=SC2064,SC2154 # T is fixed from here on; p is the loop's
trap "for p in \$PIDS; do kill \$p 2>/dev/null; done; rm -rf '$T'" EXIT
FAIL=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; FAIL=1; }

# shellcheck source=tests/live/live_lib.sh
. "$4/tests/live/live_lib.sh"
# udp_drops PORT: the datagrams the kernel dropped on the socket bound to 127.0.0.1:PORT
udp_drops() {
    awk -v p="$(printf '%04X' "$1")" '$2 == "0100007F:" p {print $NF}' /proc/net/udp
}

# --stall-sec 10: the RTP calls that stop end by it, while no sender of a call, however slow
# the machine, leaves a gap that long; --ident-sec 60: no case here waits for that rule
"$CQ" live --audiosocket 127.0.0.1:0 --rtp 127.0.0.1:0 --websocket 127.0.0.1:0 \
    --events "$T/S.jsonl" --max-calls 40 --stall-sec 10 --ident-sec 60 --queue-sec 120 \
    --stats-sec 1 --threads 2 2> "$T/S.err" &
SPID=$!
PIDS="$PIDS $SPID"
for what in 'AudioSocket on .* port [0-9]+,' 'RTP on .* UDP port [0-9]+' 'WebSocket on .* TCP port [0-9]+'; do
    live_log "$SPID" "$T/S.err" "$what" || { echo "FAIL - the server did not start"; exit 1; }
done
APORT=$(sed -n 's/.*AudioSocket on .* port \([0-9]*\),.*/\1/p' "$T/S.err")
RPORT=$(sed -n 's/.*RTP on .* UDP port \([0-9]*\).*/\1/p' "$T/S.err")
WPORT=$(sed -n 's/.*WebSocket on .* TCP port \([0-9]*\).*/\1/p' "$T/S.err")
D0=$(udp_drops "$RPORT")

# go NAME COMMAND...: a sender in the background, its output in $T/NAME.out
go() {
    name=$1
    shift
    "$@" > "$T/$name.out" 2>&1 &
    PIDS="$PIDS $!"
}
gortp() { # gortp NAME ARGS...: an RTP sender
    n=$1
    shift
    go "$n" "$LS" --rtp --port "$RPORT" "$@"
}
gows() { # gows NAME ARGS...: a WebSocket sender
    n=$1
    shift
    go "$n" "$LS" --ws --port "$WPORT" "$@"
}
SENDERS=""
gortp rtp_rt --file "$C/call05_ringback_answer.wav" --secs 8 --pace 1 --codec pcmu --pt 0 \
    --ssrc 0a000001 --dump "$T/rtp_rt.raw"
SENDERS="$SENDERS $!"
# 20 s from 20 s in: the leg's DTMF (26-27 s) before the SSRC change
gortp rtp_imp --file "$C/call06_ivr_dtmf.wav" --from 20 --secs 20 --pace 2 --codec pcma --pt 8 \
    --ssrc 0a000002 --loss 37 --reorder 23 --dup 29 --change-at 10 --ssrc2 0b000002 \
    --late-old 3 --garbage 20 --dump "$T/rtp_imp.raw" --dump2 "$T/rtp_imp2.raw"
SENDERS="$SENDERS $!"
gortp rtp_l16 --file "$C/call06_ivr_dtmf.wav" --from 20 --secs 20 --pace 2 --codec l16 --pt 118 \
    --ssrc 0a000003
SENDERS="$SENDERS $!"
gows ws_rt --file "$C/call05_ringback_answer.wav" --secs 8 --pace 1 --path "/fork/rt" \
    --meta '{"uuid":"4f1c2a9e-0000-4000-8000-00000000ws01","to":"100"}' --ping 2 --end close \
    --dump "$T/ws_rt.raw"
SENDERS="$SENDERS $!"
gows ws_stereo --file "$C/call06_ivr_dtmf.wav" --stereo --pace 20 \
    --path "/fork/stereo1?mix=stereo" --meta '{"from":"2061236666"}' --end close \
    --dump "$T/ws_stereo.raw"
SENDERS="$SENDERS $!"
gows ws_16k --file "$C/call06_ivr_dtmf.wav" --rate 16000 --pace 20 --path "/w16?rate=16k" \
    --meta '{"callId":"w16-call"}' --end close
SENDERS="$SENDERS $!"
gows ws_unmasked --file "$C/call06_ivr_dtmf.wav" --secs 3 --pace 4 --meta '{"callId":"unm"}' \
    --fault unmasked
SENDERS="$SENDERS $!"
gows ws_toobig --file "$C/call06_ivr_dtmf.wav" --secs 3 --pace 4 --meta '{"callId":"big"}' \
    --fault toobig
SENDERS="$SENDERS $!"
gows ws_badup --file "$C/call06_ivr_dtmf.wav" --secs 1 --pace 4 --fault badupgrade
SENDERS="$SENDERS $!"
gows ws_vanish --file "$C/call06_ivr_dtmf.wav" --secs 2 --pace 4 --meta '{"callId":"van"}' \
    --end vanish
SENDERS="$SENDERS $!"
go as_fast "$AS" --port "$APORT" --uuid 0123456789abcdef0123456789abcdef \
    --file "$C/call05_ringback_answer.wav" --channel 1 --pace 20 --dump "$T/as_fast.raw"
SENDERS="$SENDERS $!"
# shellcheck disable=SC2086 # one PID a word
wait $SENDERS
# every datagram of these calls has reached the socket or been dropped by now
DROPS=$(($(udp_drops "$RPORT") - D0))
# every call so far ended (the RTP ones stalled) and analysed: a stats line with none active;
# then the two calls the SIGTERM finds in progress, seen active on a stats line after that one
L0=$(live_lines "$T/S.jsonl")
live_wait 120 "every call ended before the last two" live_stat_eq "$T/S.jsonl" "$L0" active 0 || FAIL=1
L0=$(live_lines "$T/S.jsonl")
gortp rtp_term --file "$C/call06_ivr_dtmf.wav" --pace 1 --ssrc 0a000009
gows ws_term --file "$C/call06_ivr_dtmf.wav" --pace 1 --meta '{"callId":"term"}' --end none
live_wait 120 "the last two calls in progress" live_stat_ge "$T/S.jsonl" "$L0" active 2 || FAIL=1
live_stop "$SPID" server
RC=$LIVE_RC
[ "$RC" -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $RC"
sleep 0.3
for n in rtp_rt rtp_imp rtp_l16 ws_rt ws_stereo ws_16k ws_unmasked ws_toobig ws_badup ws_vanish \
    as_fast rtp_term ws_term; do
    sed "s/^/  $n: /" "$T/$n.out"
done
sed 's/^/  S: /' "$T/S.err"
for n in rtp_rt rtp_imp rtp_imp2 ws_rt ws_stereo as_fast; do
    "$CQ" classify --rate 8000 - < "$T/$n.raw" > "$T/$n.ref" 2> /dev/null
done

python3 - "$T" "$DROPS" << 'PY' || FAIL=1
import json, sys
T, drops = sys.argv[1], int(sys.argv[2])
fail = 0
def check(cond, what):
    global fail
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fail = 1
print("# the kernel dropped %d datagrams on the server's RTP socket" % drops)
def rcheck(cond, what):
    """A check of what needs every RTP datagram sent: when the kernel dropped some on the
    server's socket (a machine too slow to read them in time) and it does not hold, it is
    skipped with the number dropped instead of failed."""
    if drops and not cond:
        print("skip - %s (the kernel dropped %d datagrams on the server's socket)" % (what, drops))
    else:
        check(cond, what)
lines = [json.loads(l) for l in open(T + "/S.jsonl")]
calls = {}
for l in lines:
    if l.get("type") != "stats":
        calls.setdefault(l["call"], []).append(l)
check(all("input" in l and "wall" in l and "call_sec" in l for ls in calls.values() for l in ls),
      "input, wall and call_sec on every call line")
check(all(len({l["input"] for l in ls}) == 1 for ls in calls.values()), "one input per call")
check(all(len([l for l in ls if l["type"] == "call_end"]) == 1 and ls[-1]["type"] == "call_end"
          for ls in calls.values()), "call_end exactly once, last, for each of %d calls" % len(calls))
def out(n):
    return open("%s/%s.out" % (T, n)).read()
def end(name):
    e = [l for l in calls.get(name, []) if l["type"] == "call_end"]
    return e[0] if e else {}
def same(name, ref, need=True, counted=False):
    live = [(l["type"], l["state"], l["start"], l.get("digits")) for l in calls.get(name, [])
            if "state" in l]
    r = [json.loads(l) for l in open("%s/%s.ref" % (T, ref))]
    r = [(l["type"], l["state"], l["start"], l.get("digits")) for l in r]
    okk = len(live) == len(r) and all(a[0] == b[0] and a[1] == b[1] and a[3] == b[3] and
                                      abs(a[2] - b[2]) <= 0.032 for a, b in zip(live, r))
    (rcheck if counted else check)(
          okk and (len(r) > 0 or not need), "%s: %d events equal callqa classify's on the same samples %s" %
          (name, len(r), "" if okk else "\n  live %s\n  ref  %s" % (live, r)))
def expect(n):
    ex = {}
    for l in out(n).splitlines():
        w = l.split()
        if w[:2] == ["expect", "ssrc"]:
            ex[w[2]] = {w[i]: int(w[i + 1]) for i in range(3, len(w), 2)}
    return ex
# RTP
e = end("rtp-0a000001")
check(e.get("input") == "rtp" and e.get("reason") == "stalled" and e.get("rate_hz") == 8000 and
      e.get("audio_dropped_sec") == 0 and e.get("source", "").startswith("127.0.0.1:"),
      "rtp_rt: PCMU, ended stalled after the stream stopped: %s" % e)
rcheck(abs(e.get("audio_sec", 0) - 8) < 0.05 and e.get("lost") == 0,
       "rtp_rt: 8 s, nothing lost: %s s, %s lost" % (e.get("audio_sec"), e.get("lost")))
same("rtp-0a000001", "rtp_rt", counted=True)
ex = expect("rtp_imp")
for ssrc, ref, reason in (("0a000002", "rtp_imp", "ssrc_change"),
                          ("0b000002", "rtp_imp2", "stalled")):
    e, x = end("rtp-" + ssrc), ex.get(ssrc, {})
    check(e.get("reason") == reason and x and e.get("late") == 0 and x["lost"] > 0 and
          x["duplicates"] > 0 and x["reordered"] > 0,
          "rtp_imp %s: %s, none late; the sender's losses, duplicates, reorderings %s" %
          (ssrc, e.get("reason"), x))
    rcheck(x and e.get("lost") == x["lost"] and e.get("duplicates") == x["duplicates"] and
           e.get("reordered") == x["reordered"],
           "rtp_imp %s: lost %s duplicates %s reordered %s as sent" %
           (ssrc, e.get("lost"), e.get("duplicates"), e.get("reordered")))
    same("rtp-" + ssrc, ref, ssrc == "0a000002", True) # the leg's 30-40 s may have no event
check(end("rtp-0b000002").get("ssrc_change_from") == "rtp-0a000002",
      "rtp_imp: the second SSRC says which stream it followed")
e = end("rtp-0a000003")
ev = sorted({l["type"] for l in calls.get("rtp-0a000003", []) if "state" in l})
check(e.get("rate_hz") == 16000, "rtp_l16: L16/16000 (%s Hz)" % e.get("rate_hz"))
rcheck(e.get("analysed_sec", 0) > 19 and "dtmf" in ev,
       "rtp_l16: its 20 s resampled and analysed (%s s), its events %s" % (e.get("analysed_sec"), ev))
check(end("rtp-0a000009").get("reason") == "shutdown", "rtp_term: shutdown")
# WebSocket
n = "4f1c2a9e-0000-4000-8000-00000000ws01"
e = end(n)
check(e.get("input") == "websocket" and e.get("reason") == "hangup" and
      e.get("peer_close_code") == 1000 and e.get("pings") == 1 and e.get("path") == "/fork/rt" and
      abs(e.get("audio_sec", 0) - 8) < 0.05, "ws_rt: named by its metadata, closed 1000: %s" % e)
o = out("ws_rt")
check("upgrade 101 accept-ok protocol-ok" in o and "got pong" in o and "got close 1000" in o,
      "ws_rt: 101 with the accept key and subprotocol, a pong, a close")
same(n, "ws_rt")
e = end("/fork/stereo1")
check(e.get("channels") == 2 and e.get("reason") == "hangup", "ws_stereo: named by its path, 2 channels")
same("/fork/stereo1", "ws_stereo")
e = end("w16-call")
ev = sorted({l["type"] for l in calls.get("w16-call", []) if "state" in l})
check(e.get("rate_hz") == 16000 and e.get("analysed_sec", 0) > 71 and "dtmf" in ev,
      "ws_16k: named by callId, 16 kHz resampled (%s s), its events %s" % (e.get("analysed_sec"), ev))
for nm, name, code, txt in (("ws_unmasked", "unm", 1002, "mask"), ("ws_toobig", "big", 1009, "")):
    e = end(name)
    check(e.get("reason") == "error" and txt in e.get("error", "") and
          ("got close %d" % code) in out(nm), "%s: close %d, ended with an error: %s" %
          (nm, code, e.get("error")))
check("upgrade 400" in out("ws_badup"), "ws_badup: 400 for an Upgrade without its key")
e = end("van")
check(e.get("reason") == "peer_closed" and "close frame" in e.get("error", ""),
      "ws_vanish: peer closed without a close frame")
check(end("term").get("reason") == "shutdown" and "got close 1001" in out("ws_term"),
      "ws_term: shutdown, close 1001 sent")
# AudioSocket beside them
n = "01234567-89ab-cdef-0123-456789abcdef"
check(end(n).get("input") == "audiosocket" and end(n).get("reason") == "hangup", "as_fast: hangup")
same(n, "as_fast")
st = [l for l in lines if l.get("type") == "stats"]
fin = st[-1] if st else {}
check(fin.get("final") is True and fin.get("ws_refused", 0) >= 1 and
      fin.get("active") == 0 and fin.get("events_dropped") == 0 and
      fin.get("audio_dropped_samples") == 0,
      "final stats: %s WebSocket refused, none left" % fin.get("ws_refused"))
rcheck(fin.get("rtp_malformed", 0) >= 20 and fin.get("rtp_after_end", 0) >= 3,
       "final stats: %s malformed datagrams, %s after their call"
       % (fin.get("rtp_malformed"), fin.get("rtp_after_end")))
sys.exit(fail)
PY
if grep -l "Sanitizer" "$T"/*.err "$T"/*.out > /dev/null 2>&1; then
    grep -h -A5 "Sanitizer" "$T"/*.err "$T"/*.out | head -40
    bad "a sanitizer reported"
else
    ok "no sanitizer report"
fi
exit $FAIL
