#!/bin/sh
# test_hep_collect.sh - `callqa sip --hep`, the HEP collector (src/live/hep_server.c), against a
# protocol-faithful agent (tests/net/hep_send.py: HEP3 as res_hep, res_hep_rtcp's JSON and
# Kamailio's siptrace send it, HEPv2, over UDP and over TCP): every corpus capture with SIP and
# the generated SIP and RTCP captures replayed, each call written alone with the capture's
# messages, dialog, SIP findings and RTCP reports (hep_collect_same.py); then the guards: the
# allow list, the key (and a key file of the wrong mode), a stream that is not HEP, OPTIONS
# pings that are not calls, the memory of a call, max_calls, the idle timeout, bad settings.
#   usage: test_hep_collect.sh BUILD_DIR CORPUS_DIR
. "$(dirname "$0")/../lib.sh"
SVC=$1/callqa-service
P=$2/pcaps
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2> /dev/null; rm -rf "$T"' EXIT

start() { # start NAME [FLAGS...]: a collector writing to $T/NAME/, its port in $PORT (waited
    # for up to 120 s, a hang guard)
    name=$1
    shift
    mkdir -p "$T/$name"
    "$SVC" sip --hep 127.0.0.1:0 --hep-dir "$T/$name" "$@" > "$T/$name.jsonl" 2> "$T/$name.err" &
    PID=$!
    PORT=
    deadline=$(($(date +%s) + 120))
    while [ "$(date +%s)" -le "$deadline" ]; do
        PORT=$(grep -o 'port [0-9]*' "$T/$name.err" 2> /dev/null | awk '{print $2}')
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2> /dev/null || break # it stopped: say why at once
        sleep 0.1
    done
    echo "the collector did not start: $(cat "$T/$name.err")"
    exit 1
}
udp_drops() { # udp_drops PORT: the datagrams the kernel dropped on the UDP socket of 127.0.0.1:PORT
    awk -v p="$(printf '%04X' "$1")" '$2 == "0100007F:" p {print $NF}' /proc/net/udp
}
settled() { # settled PORT: what was sent to 127.0.0.1:PORT has reached the collector: nothing
    # unread on its UDP socket or its TCP connections, no connection waiting to be accepted
    cat /proc/net/udp /proc/net/tcp | awk -v a="0100007F:$(printf '%04X' "$1")" '
        $2 == a { split($5, q, ":"); if (q[2] != "00000000") left = 1 } END { exit left }'
}
stop() { # the collector writes what is open and says its counts, once what was sent has
    # reached it (awaited for up to 60 s, a hang guard); the datagrams the kernel dropped on
    # its socket go into $T/NAME.drops first. Up to 120 s after SIGTERM (a hang guard: it
    # writes every open call), then killed and counted as a failed check.
    deadline=$(($(date +%s) + 60))
    until settled "$PORT" || [ "$(date +%s)" -gt "$deadline" ]; do
        sleep 0.05
    done
    udp_drops "$PORT" > "$T/$name.drops"
    kill "$PID" 2> /dev/null
    deadline=$(($(date +%s) + 120))
    while kill -0 "$PID" 2> /dev/null; do
        if [ "$(date +%s)" -gt "$deadline" ]; then
            echo "not ok - the collector (pid $PID) did not stop within 120 s of SIGTERM: killed"
            fails=$((fails + 1))
            kill -KILL "$PID" 2> /dev/null
            break
        fi
        sleep 0.1
    done
    wait "$PID" 2> /dev/null
    PID=
}
drops() { # drops FILE...: the datagrams the kernel dropped, as stop wrote them for each collector
    cat "$@" 2> /dev/null | awk '{n += $1} END {print n + 0}'
}
check_udp() { # check_udp DROPS NAME CONDITION...: check NAME, a check that needs every datagram
    # sent over UDP; when the kernel dropped DROPS > 0 of them (a collector too slow to read its
    # socket) and it does not hold, it is reported as skipped, with the number, not failed
    cu_drops=$1 cu_name=$2
    shift 2
    if [ "$cu_drops" -gt 0 ] && ! "$@" > /dev/null 2>&1; then
        n=$((n + 1))
        echo "ok $n - $cu_name # SKIP the kernel dropped $cu_drops datagrams on the collector's socket"
        return 0
    fi
    check "$cu_name" "$@"
}
count() { # count NAME WHAT: a figure of the collector's last line ("12 calls written")
    grep -o "[0-9][0-9]* $2" "$T/$1.err" | head -1 | awk '{print $1}'
}

python3 "$HERE/gen_pcap.py" sip "$T/sip.pcap" > /dev/null
python3 "$HERE/gen_pcap.py" rtcp "$T/rtcp.pcap" > /dev/null

# ---- every capture with SIP, replayed: over UDP, or TCP every other one; RTCP as JSON ----
: > "$T/same.out"
i=0
ncap=0
for f in "$P"/*.pcap "$T/sip.pcap" "$T/rtcp.pcap"; do
    [ -n "$("$SVC" sip --json "$f" | python3 -c "
import json,sys; print(''.join('x' for d in json.load(sys.stdin)['dialogs'] if d['method'] == 'INVITE'))")" ] || continue
    i=$((i + 1))
    how=
    [ $((i % 2)) = 0 ] && how=--tcp
    start "c$i"
    python3 "$HERE/hep_send.py" $how --rtcp-json 127.0.0.1 "$PORT" "$f" > /dev/null
    stop
    python3 "$HERE/hep_collect_same.py" --rtcp-json "$SVC" "$f" "$T/c$i" >> "$T/same.out" 2>&1
    ncap=$((ncap + 1))
done
cat "$T/same.out"
CDROPS=$(drops "$T"/c*.drops)
check_udp "$CDROPS" "every call of $ncap captures written alone, as the capture holds it" \
    [ "$(grep -c '^SAME' "$T/same.out")" = "$ncap" ]
check_udp "$CDROPS" "RTCP reports among them" python3 -c "
import re,sys; n=sum(int(m) for m in re.findall(r'(\d+) RTCP reports', open('$T/same.out').read()))
print('#', n); sys.exit(not n >= 20)"
check "one JSON line a call: its file, why it closed, its dialog and findings" python3 -c "
import glob,json,sys
lines=[json.loads(l) for f in glob.glob('$T/c*.jsonl') for l in open(f)]
files=glob.glob('$T/c*/hep-*.pcap')
sys.exit(not (len(lines) == len(files) > 0 and all(l['event'] == 'hep_call' and l['dialogs']
  and l['closed'] in ('bye', 'cancel', 'rejected', 'shutdown') and l['file'] in
  [f.rsplit('/', 1)[1] for f in files] for l in lines)))"
check "the written captures: mode 0640, no temporary left" sh -c "
[ -z \"\$(find '$T' -name '.hep-*')\" ] && [ -z \"\$(find '$T' -name 'hep-*.pcap' ! -perm 0640)\" ]"

# a call that ends: written LINGER_SEC (5 s) after its BYE, before the collector stops. Its line
# is awaited (up to 60 s, a hang guard); it cannot come sooner than 5 s after the capture began
# to go out (the BYE reached the collector after that), however slow the machine.
start bye
t0=$(date +%s%3N)
python3 "$HERE/hep_send.py" 127.0.0.1 "$PORT" "$P/sip_rtp_g711.pcap" > /dev/null
deadline=$(($(date +%s) + 60))
until grep -q '"call_id":"1-1966@10.0.2.20".*"closed":"bye"' "$T/bye.jsonl" ||
    [ "$(date +%s)" -gt "$deadline" ]; do
    sleep 0.1
done
t1=$(date +%s%3N)
cp "$T/bye.jsonl" "$T/bye.before"
stop
check_udp "$(drops "$T/bye.drops")" \
    "a call with its BYE: written 5 s after it ($((t1 - t0)) ms, closed bye), the other at the stop" sh -c "
grep -q '\"call_id\":\"1-1966@10.0.2.20\".*\"closed\":\"bye\"' '$T/bye.before' && [ $((t1 - t0)) -ge 4900 ] &&
grep -q '\"call_id\":\"1-1968@10.0.2.20\".*\"closed\":\"shutdown\"' '$T/bye.jsonl'"

# the capture of SIP over TCP as HEPv3 and the SIP over UDP ones as HEPv2, over UDP
start v2
for cap in dtmf_sipinfo sip_rtp_g711; do
    python3 "$HERE/hep_send.py" --v2 127.0.0.1 "$PORT" "$P/$cap.pcap" > /dev/null
done
stop
check_udp "$(drops "$T/v2.drops")" "HEPv2: the calls written" sh -c "python3 '$HERE/hep_collect_same.py' '$SVC' '$P/dtmf_sipinfo.pcap' '$T/v2' | grep -q '^SAME' &&
python3 '$HERE/hep_collect_same.py' '$SVC' '$P/sip_rtp_g711.pcap' '$T/v2' | grep -q '^SAME'"

# ---- the guards ----
# the allow list: a sender from 127.0.0.2 when only 127.0.0.1 is allowed (UDP and TCP)
start allow --hep-allow 127.0.0.1/32
python3 "$HERE/hep_send.py" --bind 127.0.0.2 127.0.0.1 "$PORT" "$P/sip_rtp_g711.pcap" > /dev/null
python3 "$HERE/hep_send.py" --tcp --bind 127.0.0.2 127.0.0.1 "$PORT" "$P/sip_rtp_g711.pcap" \
    > /dev/null 2>&1
# said while the collector runs, once for the sender (a proxy on the same machine sends from its
# SIP address: before, nothing was said until the collector stopped and gave its counts)
said_refused() { grep -q 'HEP from 127.0.0.2 refused.*--hep-allow 127.0.0.2' "$T/allow.err"; }
check "a refused sender is said at once, with how to allow it, while the collector runs" \
    wait_until 60 said_refused
check "(the collector still running then)" kill -0 "$PID"
check "and said once for all its packets and connections" \
    sh -c "[ \$(grep -c 'HEP from 127.0.0.2 refused' '$T/allow.err') -eq 1 ]"
stop
a=$(count allow 'by address')
check_udp "$(drops "$T/allow.drops")" "an address not allowed: refused, nothing written ($a)" sh -c "[ $a -ge 11 ] && [ -z \"\$(ls '$T/allow')\" ]"

# the key
printf 'k3y-of-the-pbx\n' > "$T/key.txt"
chmod 600 "$T/key.txt"
start key --hep-key-file "$T/key.txt"
python3 "$HERE/hep_send.py" 127.0.0.1 "$PORT" "$P/sip_rtp_g711.pcap" > /dev/null
python3 "$HERE/hep_send.py" --key wrong 127.0.0.1 "$PORT" "$P/sip_rtp_g711.pcap" > /dev/null
python3 "$HERE/hep_send.py" --v2 127.0.0.1 "$PORT" "$P/sip_rtp_g711.pcap" > /dev/null
python3 "$HERE/hep_send.py" --key k3y-of-the-pbx 127.0.0.1 "$PORT" "$P/dtmf_sipinfo.pcap" > /dev/null
stop
a=$(count key 'without the')
b=$(count key 'calls written')
check_udp "$(drops "$T/key.drops")" \
    "a key: packets without it (none, another, HEPv2) refused; with it, written ($a, $b)" sh -c "
[ $a = 30 ] && [ $b = 1 ] &&
python3 '$HERE/hep_collect_same.py' '$SVC' '$P/dtmf_sipinfo.pcap' '$T/key' | grep -q '^SAME'"
chmod 644 "$T/key.txt"
"$SVC" sip --hep 127.0.0.1:0 --hep-dir "$T" --hep-key-file "$T/key.txt" > /dev/null 2> "$T/mode.err"
rc=$?
check "a key file others may read: refused (exit 1, says why)" sh -c "[ $rc = 1 ] && grep -q 0600 '$T/mode.err'"

# a TCP stream that is not HEP is closed; the collector goes on
start bad
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | python3 -c "
import socket,sys; s=socket.create_connection(('127.0.0.1', $PORT)); s.sendall(sys.stdin.buffer.read())
s.settimeout(60); print('closed' if s.recv(10) == b'' else 'open')" > "$T/bad.closed"
python3 "$HERE/hep_send.py" --tcp 127.0.0.1 "$PORT" "$P/dtmf_sipinfo.pcap" > /dev/null
stop
a=$(count bad 'not HEP')
b=$(count bad 'calls written')
check "a TCP stream that is not HEP: closed, counted; the next connection written ($a, $b)" sh -c "
grep -q closed '$T/bad.closed' && [ $a = 1 ] && [ $b = 1 ]"

# OPTIONS pings and a REGISTER are not calls; a call's memory; max_calls; the idle timeout
python3 -c "
import sys, struct
sys.path.insert(0, '$HERE')
import gen_pcap
def sip(cid, first, extra=''):
    return ('%s\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s\r\nFrom: <sip:a@x>;tag=1\r\n'
            'To: <sip:b@y>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n%sContent-Length: 0\r\n\r\n'
            % (first, cid, cid, first.split()[0] if not first.startswith('SIP') else 'INVITE', extra)).encode()
out = open('$T/misc.pcap', 'wb')
out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
t = [1700000000, 0]
def put(payload):
    pkt = gen_pcap.ETH_DST + gen_pcap.ETH_SRC + b'\x08\x00' + gen_pcap.ipv4(
        (10, 0, 0, 1), (10, 0, 0, 2), 17, gen_pcap.udp(5060, 5060, payload), 1)
    out.write(struct.pack('<IIII', t[0], t[1], len(pkt), len(pkt)) + pkt)
    t[1] += 1000
for i in range(20):
    put(sip('ping%d' % i, 'OPTIONS sip:b@y SIP/2.0'))
put(sip('reg1', 'REGISTER sip:y SIP/2.0'))
put(sip('ring1', 'INVITE sip:b@y SIP/2.0'))
put(sip('ring1', 'SIP/2.0 180 Ringing'))
put(sip('big1', 'INVITE sip:b@y SIP/2.0'))
for i in range(400):
    put(sip('big1', 'SIP/2.0 180 Ringing', 'X-Pad: %s\r\n' % ('p' * 200)))
"
# the two INVITEs never answered go silent: each written once hep_idle_sec has passed, awaited
# (up to 60 s, a hang guard) before the stop
start misc --hep-idle-sec 1 --hep-call-kib 64
python3 "$HERE/hep_send.py" 127.0.0.1 "$PORT" "$T/misc.pcap" > /dev/null
deadline=$(($(date +%s) + 60))
until { grep -q '"call_id":"ring1"' "$T/misc.jsonl" && grep -q '"call_id":"big1"' "$T/misc.jsonl"; } ||
    [ "$(date +%s)" -gt "$deadline" ]; do
    sleep 0.1
done
grep -h '"call_id"' "$T/misc.jsonl" > "$T/misc.calls"
stop
start full --hep-max-calls 1
python3 "$HERE/hep_send.py" 127.0.0.1 "$PORT" "$T/misc.pcap" > /dev/null
stop
a=$(count misc 'not calls')
MDROPS=$(drops "$T/misc.drops")
check_udp "$MDROPS" "OPTIONS and REGISTER: not written (not calls: $a)" [ "$a" = 21 ]
check_udp "$MDROPS" "an INVITE never answered, silent past hep_idle_sec: written (idle) before the stop" \
    grep -q '"call_id":"ring1".*"closed":"idle"' "$T/misc.calls"
a=$(count misc 'dropped (memory)')
b=$(count full 'calls written early (max_calls)')
check_udp "$MDROPS" "a call past hep_call_kib: kept to its share, the rest dropped and counted ($a)" sh -c "
grep -q '\"call_id\":\"big1\".*\"dropped\":[1-9]' '$T/misc.calls' && [ $a -ge 100 ]"
check_udp "$(drops "$T/full.drops")" \
    "max_calls 1: each new Call-ID has the one silent longest written to make room ($b): ring1 (full) and big1 written" sh -c "
[ $b = 22 ] && grep -q '\"call_id\":\"ring1\".*\"closed\":\"full\"' '$T/full.jsonl' &&
grep -q '\"call_id\":\"big1\".*\"closed\":\"shutdown\"' '$T/full.jsonl'"

# ---- in the QA store: a call with no capture beside its recording, found in hep_dir ----
# The folder's files are named, and its calls matched, by their arrival on the collector's clock
# (docs/hep.md): two calls sent as they happen, b-2 at least 12 s after a-1 (hep_live_calls.py
# waits); recordings in a watched folder named by ViciDial's FULLDATE_CUSTPHONE, read in UTC:
# one 5 s after a-1 arrived (b-2 is past its window's 5 s after), one 1 s after b-2 (a-1's
# INVITE is in its window too: two candidates, no identifier, no length), one an hour before
# (no call there)
start qa
HERE=$HERE python3 - "$PORT" << 'EOF2'
import os, socket, sys, time
sys.path.insert(0, os.environ["HERE"])
import hep
port = int(sys.argv[1])
def sip(first, cid, cseq):
    return ("%s\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s\r\nFrom: <sip:8005550000@10.0.0.1>"
            ";tag=1\r\nTo: <sip:%s@10.0.0.2>\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n"
            % (first, cid[:3], "913125550101", cid, cseq)).encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def send(cid):
    msgs = [sip("INVITE sip:913125550101@10.0.0.2 SIP/2.0", cid, "1 INVITE"),
            sip("SIP/2.0 200 OK", cid, "1 INVITE"), sip("ACK sip:b@10.0.0.2 SIP/2.0", cid, "1 ACK"),
            sip("BYE sip:b@10.0.0.2 SIP/2.0", cid, "2 BYE"), sip("SIP/2.0 200 OK", cid, "2 BYE")]
    for i, m in enumerate(msgs):
        t = time.time()
        a, b = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
        s.sendto(hep.hep3(4, a if i % 2 == 0 else b, b if i % 2 == 0 else a, 5060, 5060, 17,
                          int(t), int(t % 1 * 1e6), 1, m, None), ("127.0.0.1", port))
t0 = time.time()
send("a-1@10.0.0.1")
time.sleep(max(0, int(t0) + 13 - time.time()))  # the next whole second 12 s on, at least
send("b-2@10.0.0.1")
EOF2
stop
W=$T/watched
mkdir -p "$W"
WAV=$(dirname "$P")/calls/call01_normal.wav
EA=$(ls "$T/qa" | sed -n 's/^hep-\([0-9]*\)-.*/\1/p' | sort -n | head -1)
EB=$(ls "$T/qa" | sed -n 's/^hep-\([0-9]*\)-.*/\1/p' | sort -n | tail -1)
utc() { date -u -d "@$1" +%Y%m%d-%H%M%S; }
cp "$WAV" "$W/$(utc $((EA + 5)))_913125550101.wav"
cp "$WAV" "$W/$(utc $((EB + 1)))_913125550102.wav"
cp "$WAV" "$W/$(utc $((EA - 3600)))_913125550109.wav"
DB=$T/qa.db
"$1/callqa-service" ingest watch --dir "$W" --db "$DB" --tz UTC --settle-sec 0.2 --once \
    > "$T/watch.log" 2>&1
# --no-idle: a worker of idle priority never runs while another process keeps its core busy
CALLQA_HEP_DIR=$T/qa CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$(dirname "$2")/models} \
    "$1/callqa-service" worker --once --max-load 0 --no-idle --db "$DB" > "$T/worker.log" 2>&1
check "the three recordings queued and analysed" sh -c "[ \$(grep -c '\"complete\"' '$T/worker.log') = 3 ]"
[ "$(grep -c '"complete"' "$T/worker.log")" = 3 ] || { tail -5 "$T/watch.log"; tail -20 "$T/worker.log"; }
python3 -c "
import json, sqlite3, sys
db = sqlite3.connect('$DB')
rows = db.execute('SELECT c.recording_id, a.report FROM calls c JOIN analyses a ON a.call_id = c.id').fetchall()
out = {}
for rid, rep in rows:
    r = json.loads(rep)
    n = r.get('network')
    out[rid.rsplit('_', 1)[1]] = {'recording': rid, 'capture': n and n.get('capture'),
        'match': n and n.get('match'),
        'dialog': n and n['dialogs'] and n['dialogs'][n['dialog']]['call_id'] if n else None,
        'error': r.get('network_error')}
json.dump(out, open('$T/qa.json', 'w'), indent=1)
print(json.dumps(out, indent=1))" | sed 's/^/# /'
QDROPS=$(drops "$T/qa.drops")
check_udp "$QDROPS" "hep_dir: the call 5 s after a-1 arrived gets a-1's capture, matched by time ($EA, $EB)" python3 -c "
import json,sys; d=json.load(open('$T/qa.json'))['913125550101']
sys.exit(not ($EB - $EA >= 12 and d['capture'].startswith('hep-$EA-') and d['match']['rule'] == 'time'
  and d['dialog'] == 'a-1@10.0.0.1' and d['error'] is None))"
check_udp "$QDROPS" "hep_dir: two calls in the window and nothing to choose by: no capture (never a guess)" python3 -c "
import json,sys; d=json.load(open('$T/qa.json'))['913125550102']
sys.exit(not (d['capture'] is None and d['error'] is None))"
check_udp "$QDROPS" "hep_dir: a call with no call there: no capture" python3 -c "
import json,sys; d=json.load(open('$T/qa.json'))['913125550109']
sys.exit(not (d['capture'] is None and d['error'] is None))"
# the route's figures of the capture (analyses.sip_*, net_*): the matched call's far end is its
# dialog's callee, with the dialog's loss and jitter; the calls without a capture have none
# (NULL, never a 0 that was not measured)
check_udp "$QDROPS" "hep_dir: the matched call's route figures come from its dialog; the others have none" python3 -c "
import json, sqlite3, sys
db = sqlite3.connect('$DB')
rows = {r[0].rsplit('_', 1)[1]: r[1:] for r in db.execute(
    'SELECT c.recording_id, a.sip_trunk, a.net_loss_pct, a.net_jitter_ms, a.sip_codec, a.report '
    'FROM calls c JOIN analyses a ON a.call_id = c.id')}
t, loss, jit, codec, rep = rows['913125550101']
n = json.loads(rep)['network']
d = n['dialogs'][n['dialog']]
streams = d.get('streams') or []
ok = t is not None and t == d['callee'].rsplit(':', 1)[0].strip('[]')
ok = ok and ((loss is None) if not streams else (loss is not None and loss >= 0))
ok = ok and all(rows[k][0] is None and rows[k][1] is None and rows[k][2] is None for k in ('913125550102', '913125550109'))
print('# route figures:', t, loss, jit, codec, 'callee', d['callee'], 'streams', len(streams))
sys.exit(not ok)"
# the capture the worker read for a call is recorded with it (call_files): an erasure (a dry
# run) and a purge of the call reach it with settings that name no folder of callqa's, and the
# purge deletes it and says so; the other call's capture stays. Before, the capture (its SIP
# headers: the caller's number) was left on disk.
CAP=$(python3 -c "import json; print(json.load(open('$T/qa.json'))['913125550101']['capture'] or '')")
CID=$(python3 -c "
import sqlite3; print(sqlite3.connect('$DB').execute(\"SELECT id FROM calls WHERE recording_id LIKE '%913125550101'\").fetchone()[0])")
printf 'retain_audio_days = 30\n' > "$T/purge.conf"
"$1/callqa-service" store erase --phone 913125550101 --dry-run --db "$DB" --config "$T/purge.conf" \
    > "$T/erase.out" 2> "$T/erase.err"
rce=$?
sed 's/^/# erase: /' "$T/erase.out"
"$1/callqa-service" store purge --db "$DB" --config "$T/purge.conf" \
    --now "@$(($(date +%s) + 31 * 86400))" > "$T/purge.out" 2> "$T/purge.err"
rcp=$?
sed 's/^/# purge: /' "$T/purge.out" "$T/purge.err"
check_udp "$QDROPS" "purge: the HEP capture of a purged call deleted and said, the other call's kept" sh -c "
[ -n '$CAP' ] && [ $rce = 0 ] && grep -q '^call $CID .*capture 1' '$T/erase.out' && [ $rcp = 0 ] &&
[ ! -e '$T/qa/$CAP' ] && grep '^call $CID ' '$T/purge.out' | grep -q 'capture 1.*deleted and checked gone' &&
[ -n \"\$(ls '$T/qa' | grep '^hep-$EB-')\" ] &&
[ \$(python3 -c \"import sqlite3; print(sqlite3.connect('$DB').execute('SELECT COUNT(*) FROM call_files WHERE call_id = $CID').fetchone()[0])\") = 0 ]"

# bad settings: exit 2, the setting named
"$SVC" sip --hep 127.0.0.1:0 --hep-dir "$T" --hep-max-calls 0 > /dev/null 2> "$T/set.err"
rc1=$?
"$SVC" sip --hep 127.0.0.1:0 --hep-dir "$T" --hep-allow 10.0.0.300/8 > /dev/null 2> "$T/allow.err"
rc2=$?
"$SVC" sip --hep 127.0.0.1:0 > /dev/null 2> "$T/nodir.err"
rc3=$?
check "bad settings: exit 2, each named" sh -c "[ $rc1 = 2 ] && grep -q 'hep.max.calls 0' '$T/set.err' &&
[ $rc2 = 2 ] && grep -q 10.0.0.300 '$T/allow.err' && [ $rc3 = 2 ] && grep -q hep-dir '$T/nodir.err'"
finish "HEP collector"
