#!/bin/sh
# test_net.sh - the network side of a call (src/net/, `callqa sip`) against tshark on the same
# captures: every capture of the corpus but the NetMon one (refused by name), and captures made
# here with what a network does to a call (tests/net/gen_pcap.py: random and bursty loss,
# jitter, reordering, duplicates, an SSRC change, a sequence wrap, a timestamp wrap, talk spurts,
# comfort noise, two ways, IP fragments, IPv6, VLAN, Linux cooked, pcapng, SIP over UDP and over
# TCP split across segments, RTCP with XR, RTCP multiplexed). Per stream: packets,
# lost, min/mean/max delta and jitter, the problem mark; the SIP messages per method and status
# code (tests/net/compare_tshark.py); every RTCP report field by field (compare_rtcp.py). Then
# bad input: 10,000 streams, a capture cut short, garbage, an empty file, a missing one.
#   usage: test_net.sh BUILD_DIR CORPUS_DIR
. "$(dirname "$0")/../lib.sh"
CQ=$1/callqa
SVC=$1/callqa-service
P=$2/pcaps
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

command -v tshark > /dev/null || { echo "tshark is needed (scripts/deps installs it)"; exit 1; }
# the interpreter `python3` names, started directly: a version manager's shim (pyenv) costs more
# CPU to start than most of the scripts below take to run
PY=$(python3 -c 'import sys; print(sys.executable)')

# the comparisons with tshark run side by side (each is mostly tshark on one core): the corpus
# now, the generated captures once those are made; each is waited for before its checks. One pass
# of tshark per capture gives its streams, its SIP counts and its RTCP (compare_tshark.py --rtcp:
# compare_rtcp.py's comparison, its lines in rtcp-*.out)
caps=$(ls "$P"/*.pcap "$P"/*.pcapng | grep -v protos_c07)
"$PY" "$HERE/compare_tshark.py" --rtcp "$T/rtcp-corpus.out" "$SVC" $caps > "$T/corpus.out" 2>&1 &
CORPUS_PID=$!
kinds="clean loss burst jitter reorder dup ssrc wrap tswrap marker cn twoway frag ipv6 vlan sll pcapng sip rtcp rtcpmux b2bua"
"$PY" "$HERE/gen_pcap.py" --each $(for k in $kinds; do echo "$k $T/$k.pcap 1"; done)
"$PY" "$HERE/compare_tshark.py" --rtcp "$T/rtcp-gen.out" "$SVC" $(for k in $kinds; do echo "$T/$k.pcap"; done) > "$T/gen.out" 2>&1 &
GEN_PID=$!
# and the captures of the checks further down, made here by one process: the network MOS's, the
# SIP failure classes', the dialogs to match, 10,000 streams, the non-RTP traffic's three seeds
sipcases="busy:sip_busy cancel:sip_cancelled timeout:sip_timeout carrier503:sip_service_unavailable
    noack:sip_ack_missing hold:sip_hold private:sdp_private_address codec488:sip_codec_mismatch
    authloop:sip_auth_loop"
"$PY" "$HERE/gen_pcap.py" --each jitter120 "$T/jitter120.pcap" 1 \
    $(for case in $sipcases; do echo "sipcase:${case%%:*} $T/case-${case%%:*}.pcap 1"; done) \
    calls "$T/calls.pcap" 1 manycalls:10000 "$T/manycalls.pcap" 1 many:10000 "$T/many.pcap" 1 \
    notrtp "$T/notrtp1.pcap" 1 notrtp "$T/notrtp2.pcap" 2 notrtp "$T/notrtp3.pcap" 3

# the corpus, against tshark
wait "$CORPUS_PID"
cat "$T/corpus.out"
check "corpus: every stream's figures equal tshark's" sh -c "! grep -q '^DIFF\|^ERROR' '$T/corpus.out'"
check "corpus: $(echo "$caps" | wc -l) captures compared" [ "$(grep -c '^SAME' "$T/corpus.out")" = "$(echo "$caps" | wc -l)" ]

# the NetMon capture: refused, and the error says what it is
"$CQ" sip "$P/protos_c07_sip_r2.cap" > "$T/netmon.out" 2> "$T/netmon.err"
rc=$?
check "NetMon capture refused (exit 1)" [ "$rc" = 1 ]
check "the error names Network Monitor" grep -q "Microsoft Network Monitor" "$T/netmon.err"

# generated captures, against tshark
wait "$GEN_PID"
cat "$T/gen.out"
check "generated: every stream's figures equal tshark's" sh -c "! grep -q '^DIFF\|^ERROR' '$T/gen.out'"
check "generated: $(echo $kinds | wc -w) captures compared" [ "$(grep -c '^SAME' "$T/gen.out")" = "$(echo $kinds | wc -w)" ]
"$CQ" sip --json "$T/loss.pcap" > "$T/loss.json"
check "loss: lost packets counted" "$PY" -c "
import json,sys; s=json.load(open('$T/loss.json'))['streams'][0]
sys.exit(not (s['lost'] > 10 and s['problem'] and s['lost'] == s['expected'] - s['packets']))"
"$CQ" sip --json "$T/dup.pcap" > "$T/dup.json"
check "duplicates: loss negative" "$PY" -c "
import json,sys; s=json.load(open('$T/dup.json'))['streams'][0]; sys.exit(not s['lost'] < 0)"
"$CQ" sip --json "$T/frag.pcap" > "$T/frag.json"
check "fragments: put back together, none dropped" "$PY" -c "
import json,sys; d=json.load(open('$T/frag.json')); c=d['counts']
sys.exit(not (c['reassembled'] > 100 and c['fragments_dropped'] == 0 and d['streams'][0]['packets'] == 500))"

"$CQ" sip --json "$T/sip.pcap" > "$T/sip.json"
check "SIP over TCP: an INVITE across three segments (one resent) is one message; two in one segment are two" "$PY" -c "
import json,sys; d=json.load(open('$T/sip.json')); t=[m for m in d['sip'] if m['transport'] == 'tcp']
sys.exit(not ([m.get('method') or m.get('status') for m in t] == ['INVITE', 100, 180] and t[0]['body_bytes'] > 100
              and d['counts']['tcp_gaps'] == 0))"
check "SIP: compact and folded headers read" "$PY" -c "
import json,sys; m=json.load(open('$T/sip.json'))['sip'][0]
sys.exit(not (m['call_id'] == 'c1@10.0.0.1' and m['from'].startswith('<sip:alice') and m['cseq'] == 1 and m['cseq_method'] == 'INVITE'))"

# RTCP against tshark's decoding, field by field: the corpus and every generated capture (from
# the passes above, both waited for)
cat "$T/rtcp-corpus.out" "$T/rtcp-gen.out" > "$T/rtcp.out"
cat "$T/rtcp.out"
check "RTCP: every report, block, round trip and XR field equal to tshark's" sh -c "! grep -q '^DIFF\|^ERROR' '$T/rtcp.out'"
check "RTCP: $(( $(echo "$caps" | wc -l) + $(echo $kinds | wc -w) )) captures compared" [ "$(grep -c '^SAME' "$T/rtcp.out")" = "$(( $(echo "$caps" | wc -l) + $(echo $kinds | wc -w) ))" ]
check "RTCP: the corpus's 26 and 2 RTCP packets, with their round trips" sh -c "
grep -q 'sip_call_rtp_g711.pcap: 26 RTCP packets, 2 malformed, 40 report blocks, 8 round trips' '$T/rtcp.out' &&
grep -q 'sip_over_tcp.pcap: 2 RTCP packets, 0 malformed, 1 report blocks, 1 round trips' '$T/rtcp.out'"
check "RTCP: the generated call's SR, RR, XR, round trips and two malformed packets" grep -q 'rtcp.pcap: 9 RTCP packets, 2 malformed, 7 report blocks, 7 round trips, 1 XR VoIP blocks' "$T/rtcp.out"
"$CQ" sip --json "$T/rtcp.pcap" > "$T/rtcp.json"
check "RTCP: found by the SDP's port + 1; CNAMEs; the XR's unavailable fields null" "$PY" -c "
import json,sys; d=json.load(open('$T/rtcp.json')); r=d['rtcp']; x=[v for p in r for v in p['voip_metrics']][0]
sys.exit(not (all(p['found_by'] == 'sdp' for p in r) and r[0]['cname'] == 'alice@10.0.0.1'
              and x['rerl_db'] is None and x['ext_r_factor'] is None and x['mos_lq'] == 3.3 and x['signal_level_dbm'] == -20
              and x['plc'] == 'standard' and x['jba'] == 'adaptive' and x['jb_abs_max_ms'] == 200 and d['counts']['rtcp_bad'] == 2))"
check "RTCP: each stream has what its receiver reported (loss, jitter in ms, round trip, XR MOS)" "$PY" -c "
import json,sys; s=json.load(open('$T/rtcp.json'))['streams']; a=[x for x in s if x['ssrc'] == '0x11223344'][0]['rtcp']
sys.exit(not (a['reports'] == 4 and a['xr_reports'] == 1 and a['max_fraction_lost_pct'] == 15.625 and a['cumulative_lost'] == 120
              and a['jitter_ms'] == 25.0 and a['rtt_ms'] == 80 and a['max_rtt_ms'] == 500 and a['mos_lq'] == 3.3))"
check "RTCP findings: rtcp_loss (major), rtcp_rtt, rtcp_xr_low_mos, each with its report's frame" "$PY" -c "
import json,sys; f={x['code']: x for x in json.load(open('$T/rtcp.json'))['findings']}
ok = all(k in f and f[k]['evidence'][0]['figure'].startswith('frame ') for k in ('rtcp_loss', 'rtcp_rtt', 'rtcp_xr_low_mos'))
sys.exit(not (ok and f['rtcp_loss']['severity'] == 'major' and f['rtcp_rtt']['values']['rtt_ms'] == 500
              and f['rtcp_xr_low_mos']['values']['mos_lq'] == 3.3 and f['rtcp_loss']['call_id'] == 'rtcp@10.0.0.1'))"
"$CQ" sip --json "$T/rtcpmux.pcap" > "$T/rtcpmux.json"
check "RTCP multiplexed on the RTP ports: read, and the streams keep their packets" "$PY" -c "
import json,sys; d=json.load(open('$T/rtcpmux.json'))
sys.exit(not (d['counts']['rtcp'] == 8 and all(s['packets'] == 500 for s in d['streams']) and len(d['streams']) == 2))"
"$CQ" sip "$T/rtcp.pcap" > "$T/rtcp.txt"
check "callqa sip: the RTCP section" grep -q 'RTCP: 9 packets, 10 reports (SR, RR, XR), 2 malformed' "$T/rtcp.txt"

# the network MOS (ITU-T G.107 behind three jitter buffers)
for k in clean loss burst jitter120; do
    "$CQ" sip --json "$T/$k.pcap" > "$T/q-$k.json" 2> "$T/q-$k.err" ||
        echo "# callqa sip $k.pcap: exit $?: $(cat "$T/q-$k.err")"
done
"$CQ" sip --json "$P/sip_rtp_g729a.pcap" > "$T/q-g729.json" 2> "$T/q-g729.err" ||
    echo "# callqa sip sip_rtp_g729a.pcap: exit $?: $(cat "$T/q-g729.err")"
ls -l "$T"/q-*.json | awk '{print "# " $5 " bytes: " $NF}'
"$PY" -c "
import json,sys
for k in ('clean', 'loss', 'burst', 'jitter120', 'g729'):
    try:
        s=json.load(open('$T/q-%s.json' % k))['streams'][0]; print('# %s: network_mos %s' % (k, 'set' if s.get('network_mos') else repr(s.get('network_mos', 'absent'))))
    except Exception as e:
        print('# %s: %r' % (k, e))"
check "network MOS: clean G.711 near the E-model's best, no loss" "$PY" -c "
import json,sys; q=json.load(open('$T/q-clean.json'))['streams'][0]['network_mos']; b=q['jitter_buffers']
sys.exit(not (q['model'] == 'ITU-T G.107 E-model' and q['codec'] == 'PCMU' and 4.3 < b['fixed_50ms']['mos'] < 4.42
              and b['fixed_50ms']['loss_pct'] == 0 and b['fixed_200ms']['mos'] < b['fixed_50ms']['mos']))"
check "network MOS: random loss lowers it, runs of one" "$PY" -c "
import json,sys; c=json.load(open('$T/q-clean.json'))['streams'][0]['network_mos']; s=json.load(open('$T/q-loss.json'))['streams'][0]
q=s['network_mos']; sys.exit(not (q['jitter_buffers']['fixed_50ms']['mos'] < c['jitter_buffers']['fixed_50ms']['mos'] - 0.3
              and s['loss_runs'][0] > 10 and abs(q['network_loss_pct'] - 100.0 * s['lost'] / s['expected']) < 0.01
              and q['min_mos_10s'] <= q['jitter_buffers']['fixed_50ms']['mos'] + 1e-9))"
check "network MOS: bursty loss has a burst ratio above 1" "$PY" -c "
import json,sys; q=json.load(open('$T/q-burst.json'))['streams'][0]['network_mos']; sys.exit(not q['burst_ratio'] > 1.1)"
check "network MOS: 120 ms of jitter: the 50 ms buffer drops packets, the 200 ms one none" "$PY" -c "
import json,sys; s=json.load(open('$T/q-jitter120.json'))['streams'][0]; b=s['network_mos']['jitter_buffers']
sys.exit(not (s['network_mos']['network_loss_pct'] == 0 and b['fixed_50ms']['loss_pct'] > 10 and b['fixed_200ms']['loss_pct'] == 0
              and sum(s['delay_variation_10ms'][3:]) > 0))"
check "network MOS: G.729 takes G.113's Ie 11" "$PY" -c "
import json,sys; q=json.load(open('$T/q-g729.json'))['streams'][0]['network_mos']; c=json.load(open('$T/q-clean.json'))['streams'][0]['network_mos']
sys.exit(not (q['codec'] == 'G729' and q['jitter_buffers']['fixed_50ms']['mos'] < c['jitter_buffers']['fixed_50ms']['mos'] - 0.2))"

# SIP failure classes, each on a trace built here, each with its finding (and no private-address
# finding where the SDP comes from a private sender)
for case in $sipcases; do
    k=${case%%:*}
    code=${case#*:}
    "$CQ" sip --json "$T/case-$k.pcap" > "$T/case-$k.json" 2> "$T/case-$k.err" ||
        echo "# callqa sip case-$k.pcap: exit $?: $(cat "$T/case-$k.err")"
    check "SIP $k: finding $code, with evidence" "$PY" -c "
import json,sys,os
try:
    d=json.load(open('$T/case-$k.json'))
except Exception as e:  # what was read, when a failure says nothing of the code
    print('# case-$k: %r; pcap %d bytes, json %d bytes' % (e, os.path.getsize('$T/case-$k.pcap'),
                                                           os.path.getsize('$T/case-$k.json')))
    sys.exit(1)
f=[x for x in d['findings'] if x['code'] == '$code']
priv=[x for x in d['findings'] if x['code'] == 'sdp_private_address']
ok=f and f[0]['evidence'] and f[0]['evidence'][0]['figure'].startswith('frame ') and (len(priv) == 0) == ('$k' != 'private')
if not ok:
    print('# case-$k: packets %s, dialogs %s, findings %s' % (d.get('packets'), len(d.get('dialogs', [])),
          [(x['code'], x['evidence'][:1]) for x in d['findings']]))
sys.exit(not ok)"
done
check "SIP 503: the Q.850 cause read" "$PY" -c "
import json,sys; d=json.load(open('$T/case-carrier503.json'))['dialogs'][0]
sys.exit(not (d['final_status'] == 503 and d['q850_cause'] == 34 and d['hangup'] == 'rejected' and d['pdd_sec'] > 1))"
check "SIP hold: held, then resumed" "$PY" -c "
import json,sys; d=json.load(open('$T/case-hold.json'))['dialogs'][0]
sys.exit(not (d['on_hold'] and d['resumed'] and d['hangup'] == 'caller' and d['talk_sec'] > 10))"

# the real captures' findings
fnd() { # fnd CAPTURE CODE...: each code among the capture's findings
    "$CQ" sip --json "$P/$1" > "$T/f.json"
    shift
    "$PY" -c "
import json,sys; codes={f['code'] for f in json.load(open('$T/f.json'))['findings']}
sys.exit(not set(sys.argv[1:]) <= codes)" "$@"
}
check "asterisk_b2bua: the 401 challenges, 404, 480 and 489" fnd asterisk_b2bua.pcapng sip_auth_challenge sip_not_found sip_unavailable sip_bad_event
check "dtmf_sipinfo: the CANCEL and the SIP INFO digits" fnd dtmf_sipinfo.pcap sip_cancelled sip_info_dtmf
"$CQ" sip --json "$P/dtmf_sipinfo.pcap" > "$T/info.json"
check "dtmf_sipinfo: digits 1342" "$PY" -c "
import json,sys; f=[x for x in json.load(open('$T/info.json'))['findings'] if x['code'] == 'sip_info_dtmf']
sys.exit(not (f and f[0]['values']['digits'] == '1342' and len(f[0]['evidence']) == 4))"
check "sip_dtmf2: the 603 and the RFC 2833 digits" fnd sip_dtmf2.pcap sip_declined rtp_dtmf
"$CQ" sip --json "$P/sip_dtmf2.pcap" > "$T/d2.json"
check "sip_dtmf2: digits 6789123, the event type named by the SDP" "$PY" -c "
import json,sys; d=json.load(open('$T/d2.json')); s=[x for x in d['streams'] if x['digits']]
sys.exit(not (len(s) == 1 and s[0]['digits'] == '6789123' and s[0]['payload'] == 'g711A, telephone-event' and s[0]['sdp']))"
for k in 0 1 2 3 4 5; do
    "$CQ" sip --json "$P/sipp_dtmf_2833_$k.pcap" > "$T/e.json"
    check "sipp_dtmf_2833_$k: digit $k (no SDP: PT 101 by default)" "$PY" -c "
import json,sys; s=json.load(open('$T/e.json'))['streams']; sys.exit(not (s[0]['digits'] == '$k'))"
done

# a captured G.711 call analysed from its pcap equals the same bytes analysed as a WAV
export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$2/../models}"
sox "$2/calls/call01_normal.wav" -e u-law "$T/c1u.wav"
"$PY" "$HERE/wav_to_pcap.py" "$T/c1u.wav" "$T/c1u.pcap"
"$CQ" analyze --json -q "$T/c1u.wav" > "$T/wav.json"
"$CQ" analyze --pcap "$T/c1u.pcap" --json -q > "$T/pcap.json"
same_legs() { # same_legs A.json B.json: both legs' every figure equal (names of the source aside)
    "$PY" -c "
import json,sys
def strip(x):
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if k not in ('source', 'file')}
    if isinstance(x, list): return [strip(v) for v in x]
    return x
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
keys = ('inbound', 'outbound', 'conversation', 'events', 'call_events', 'one_way_audio', 'nisqa', 'duration')
sys.exit(not all(strip(a.get(k)) == strip(b.get(k)) for k in keys) or a['inbound'] is None)" "$1" "$2"
}
check "analyze --pcap: a G.711 call's report equals its WAV's, leg for leg (every analyzer)" same_legs "$T/wav.json" "$T/pcap.json"
check "analyze --pcap: the report says where its audio came from" grep -q 'from a capture: inbound leg 10.0.0.1:40000' "$T/pcap.json"
"$CQ" sip --json "$T/c1u.pcap" > "$T/c1u-sip.json"
check "a dialog lists its streams: both ways, by its SDP offer's address" "$PY" -c "
import json,sys; d=json.load(open('$T/c1u-sip.json')); sys.exit(not (sorted(d['dialogs'][0]['streams']) == [0, 1]))"
"$PY" "$HERE/wav_to_pcap.py" "$T/c1u.wav" "$T/c1u-loss.pcap" 0.03
"$CQ" analyze --pcap "$T/c1u-loss.pcap" --json -q --only levels > "$T/pcap-loss.json"
check "analyze --pcap: lost packets are silence, counted in the report" "$PY" -c "
import json,re,sys; d=json.load(open('$T/pcap-loss.json')); w=' '.join(d['warnings'])
m=re.search(r'(\\d+) lost: silence in their place', w); sys.exit(not (m and int(m.group(1)) > 50 and d['inbound']['duration'] > 60))"
"$CQ" analyze --pcap "$P/sip_rtp_g729a.pcap" --json -q --only levels > "$T/g729.json"
check "analyze --pcap: G.729 decoded (libbcg729): the corpus call's 8.5 s, with sound in it" "$PY" -c "
import json,sys; d=json.load(open('$T/g729.json')); l=d['inbound']
sys.exit(not (8.3 < l['duration'] < 8.7 and l['rms_db'] > -50 and 'G729' in ' '.join(d['warnings'])))"
"$CQ" analyze --pcap "$P/dtmf_sipinfo.pcap" -q > /dev/null 2> "$T/nortp.err"
rc=$?
check "analyze --pcap: a capture with no voice stream is refused, saying so" sh -c "[ $rc = 1 ] && grep -q 'no G.711' '$T/nortp.err'"

# SIP as text: Asterisk's pjsip set logger and sip set debug, sngrep's text export, raw messages,
# tshark's packet details
tx() { # tx FILE CODE...: the file read as SIP text, each code among its findings
    "$CQ" sip --json "$HERE/text/$1" > "$T/tx.json"
    shift
    "$PY" -c "
import json,sys; d=json.load(open('$T/tx.json')); codes={f['code'] for f in d['findings']}
sys.exit(not (d['sip'] and set(sys.argv[1:]) <= codes))" "$@"
}
check "SIP text: pjsip set logger (486, the Q.850 cause, a private SDP address)" tx pjsip_logger.log sip_busy sdp_private_address
check "SIP text: sip set debug, compact headers (CANCEL, 487)" tx sip_debug.log sip_cancelled
check "SIP text: sngrep's export, with its times (503 after 7.5 s)" tx sngrep.txt sip_service_unavailable
check "SIP text: raw messages (a REGISTER's auth loop)" tx raw.txt sip_auth_loop
"$CQ" sip --json "$HERE/text/sngrep.txt" > "$T/sng.json"
check "SIP text: times from sngrep; none invented for raw messages" "$PY" -c "
import json,sys; d=json.load(open('$T/sng.json'))['dialogs'][0]; sys.exit(not (d['final_status'] == 503 and 7.4 < d['end_sec'] < 7.6))" 
"$CQ" sip --json "$HERE/text/raw.txt" > "$T/raw.json"
check "SIP text: raw messages have no durations" "$PY" -c "
import json,sys; d=json.load(open('$T/raw.json'))['dialogs'][0]; sys.exit(not (d['pdd_sec'] is None and d['challenges'] == 3))"
# tshark's packet details as text: the same messages, dialogs and findings as the capture itself
# (tests/net/compare_text.py): the fixtures (sip_dtmf2's two calls with -V, asterisk_b2bua's
# SUBSCRIBE 404 and PUBLISH 489 with -P -V -x), then three corpus captures exported here whole
# with -V and with -P -V -x
check "tshark -V text (sip_dtmf2's two calls, SDP offer and answer): as the capture" sh -c "'$PY' '$HERE/compare_text.py' '$CQ' '$P/sip_dtmf2.pcap' '$HERE/text/tshark_V.txt' | tee '$T/ts.out' && grep -q '^SAME' '$T/ts.out'"
check "tshark -P -V -x text (asterisk_b2bua's 404 and 489): as the capture" sh -c "'$PY' '$HERE/compare_text.py' '$CQ' '$P/asterisk_b2bua.pcapng' '$HERE/text/tshark_PVx.txt' | tee '$T/ts.out' && grep -q '^SAME' '$T/ts.out'"
"$CQ" sip --json "$HERE/text/tshark_V.txt" > "$T/tsv.json"
check "tshark -V text: the SDP rebuilt (a late offer in the 200: PCMA, PCMU, G729, telephone-event), frame numbers and capture times kept" "$PY" -c "
import json,sys; d=json.load(open('$T/tsv.json')); g=[x for x in d['dialogs'] if x['final_status'] == 200][0]
sys.exit(not ([c['name'] for c in g['answer']['codecs']] == ['PCMA', 'PCMU', 'G729', 'telephone-event'] and g['answer']['port'] == 4376 and g['pdd_sec'] is not None
              and d['sip'][0]['frame'] > 1 and d['sip'][0]['time_sec'] > 0))"
for cap in sip_dtmf2.pcap asterisk_b2bua.pcapng dtmf_sipinfo.pcap; do
    for opt in "-V" "-P -V -x"; do
        tshark -r "$P/$cap" -Y sip $opt > "$T/ts.txt" 2> /dev/null
        check "tshark $opt text of $cap: as the capture" sh -c "'$PY' '$HERE/compare_text.py' '$CQ' '$P/$cap' '$T/ts.txt' | tee '$T/ts.out' && grep -q '^SAME' '$T/ts.out'"
    done
done
tshark -r "$P/dtmf_sipinfo.pcap" -Y sip -x > "$T/ts-x.txt" 2> /dev/null
"$CQ" sip "$T/ts-x.txt" > /dev/null 2> "$T/ts-x.err"
rc=$?
check "tshark -x alone (no details): exit 1, the error names tshark -V" sh -c "[ $rc = 1 ] && grep -q 'tshark -V' '$T/ts-x.err'"
head -c 400 "$HERE/text/pjsip_logger.log" > "$T/cut.log"
"$CQ" sip --json "$T/cut.log" > "$T/cut-log.json"
check "SIP text cut short: what is there is read" "$PY" -c "
import json,sys; d=json.load(open('$T/cut-log.json')); sys.exit(not (len(d['sip']) == 1 and d['sip'][0]['method'] == 'INVITE'))"
printf 'hello\nthis is not SIP\n' > "$T/notsip.txt"
"$CQ" sip "$T/notsip.txt" > /dev/null 2> "$T/notsip.err"
rc=$?
check "text that holds no SIP: exit 1, says so" sh -c "[ $rc = 1 ] && grep -q 'no SIP message found' '$T/notsip.err'"
"$PY" -c "
import sys; sys.stdout.write(('INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n' * 1200000))" > "$T/huge.txt"
"$CQ" sip "$T/huge.txt" > /dev/null 2> "$T/huge.err"
rc=$?
check "SIP text over 64 MiB: refused, saying so" sh -c "[ $rc = 1 ] && grep -q 'over 64 MiB' '$T/huge.err'"

# ViciDial's call_info and carrier log (`callqa sip --call-info`): the old service's blocks, a
# mysql table of vicidial_carrier_log rows, a tab-separated paste; garbage, empty, over the limit
ci() { # ci FIXTURE: its call_info JSON into $T/ci.json
    "$CQ" sip --json --call-info "$HERE/text/$1" > "$T/ci.json"
}
ci call_info_blocks.txt
check "call_info blocks: every field read, findings carrier_congestion, carrier_sip_failure, carrier_q850, queue_long_wait" "$PY" -c "
import json,sys; c=json.load(open('$T/ci.json'))['call_info']; r=c['carrier_log'][0]; codes=[f['code'] for f in c['findings']]
sys.exit(not (len(c['carrier_log']) == 1 and r['dialstatus'] == 'CONGESTION' and r['hangup_cause'] == 34
              and r['hangup_cause_text'] == 'no circuit/channel available' and r['sip_hangup_cause'] == 503
              and r['sip_hangup_phrase'] == 'Service Unavailable' and r['uniqueid'] == '1714645800.4411'
              and r['lead_id'] == 884213 and r['server_ip'] == '10.10.1.21' and r['dial_time'] == 4
              and r['answered_time'] == 0 and r['channel'] == 'SIP/telco-a-0000a1f3'
              and r['caller_code'] == 'V5021030000884213' and r['call_date'] == '2024-05-02 10:30:00'
              and c['queue'] == {'queue': 'SALESQ', 'queue_seconds': 95.4, 'queue_position': 3}
              and c['did'] == {'did_pattern': '8005551234', 'did_description': 'Spring promo line'}
              and c['extra'][0]['key'] == 'agent_note' and c['invalid'] == []
              and codes == ['carrier_congestion', 'carrier_sip_failure', 'carrier_q850', 'queue_long_wait']))"
ci carrier_log_table.txt
check "carrier log as a mysql table: 3 rows; BUSY/486/17, NOANSWER/487/19, an answered call with no finding" "$PY" -c "
import json,sys; c=json.load(open('$T/ci.json'))['call_info']; r=c['carrier_log']
f=[(x['code'], x['row'], x['severity']) for x in c['findings']]
sys.exit(not ([x['dialstatus'] for x in r] == ['BUSY', 'NOANSWER', 'ANSWER'] and r[2]['answered_time'] == 184
              and f == [('carrier_busy', 0, 'minor'), ('carrier_sip_failure', 0, 'minor'), ('carrier_q850', 0, 'minor'),
                        ('carrier_no_answer', 1, 'minor'), ('carrier_sip_failure', 1, 'info'), ('carrier_q850', 1, 'minor')]))"
ci carrier_log_tabs.txt
check "carrier log tab-separated: CHANUNAVAIL and Q.850 38; 'abc' and 'WEIRD' kept as text and flagged, NULL absent" "$PY" -c "
import json,sys; c=json.load(open('$T/ci.json'))['call_info']; r=c['carrier_log']; codes=[f['code'] for f in c['findings']]
sys.exit(not (len(r) == 2 and r[0]['dialstatus'] == 'CHANUNAVAIL' and r[0]['sip_hangup_cause'] == 0
              and r[0]['sip_hangup_reason'] == '' and r[1]['hangup_cause'] == 'abc' and r[1]['dialstatus'] == 'WEIRD'
              and r[1]['caller_code'] is None and r[1]['dialstatus_meaning'] is None
              and sorted(x['field'] for x in c['invalid']) == ['dialstatus', 'hangup_cause']
              and codes == ['carrier_unavailable', 'carrier_q850', 'carrier_sip_failure', 'call_info_unparsed']))"
"$CQ" sip --json --call-info "$HERE/text/call_info_blocks.txt" "$HERE/text/sngrep.txt" > "$T/ci-cap.json"
check "call_info beside a capture: the capture's keys as before, and call_info" "$PY" -c "
import json,sys; d=json.load(open('$T/ci-cap.json'))
sys.exit(not (d['dialogs'][0]['final_status'] == 503 and d['call_info']['carrier_log'][0]['sip_hangup_cause'] == 503))"
"$CQ" sip --call-info "$HERE/text/carrier_log_table.txt" > "$T/ci.txt"
check "call_info as text: rows and findings" sh -c "grep -q 'carrier log row 3:' '$T/ci.txt' && grep -q '\[minor\] carrier_busy' '$T/ci.txt'"
printf 'hello\nthis is not call info\n' > "$T/ci-garbage.txt"
: > "$T/ci-empty.txt"
"$PY" -c "import sys; sys.stdout.write('dialstatus: BUSY\n' * 20000)" > "$T/ci-huge.txt"
for k in garbage:'no call_info field found' empty:'call_info is empty' huge:'call_info over 256 KiB'; do
    "$CQ" sip --call-info "$T/ci-${k%%:*}.txt" > /dev/null 2> "$T/ci.err"
    rc=$?
    check "call_info ${k%%:*}: exit 1, says so" sh -c "[ $rc = 1 ] && grep -q '${k#*:}' '$T/ci.err'"
done

# a dialog matched to a stored call (`callqa investigate --call-id/--uniqueid/--caller-code/--phone/
# --call-epoch/--length`): tests/net/gen_pcap.py's `calls` (4 INVITE dialogs at +0, +30, +200,
# +210 s from 1714645800, an OPTIONS at +100 s: dialogs 0, 1, 3, 4 and 2), each rule, the steps
# that fall through, the ambiguous and the unmatched, SIP text with no times, 10,000 calls
match() { # match CAPTURE WANT_DIALOG WANT_RULE DETAIL_PART [FLAG...]: the answer's match, and
    # the dialog looked at is the matched one (or, with none, the one chosen as without a hint)
    cap=$1 want=$2 rule=$3 part=$4
    shift 4
    "$CQ" investigate --json "$@" "$cap" > "$T/m.json" || return 1
    "$PY" - "$T/m.json" "$want" "$rule" "$part" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1])); m = d["match"]; want, rule, part = sys.argv[2:5]
print("#", m)
ok = m["dialog"] == (None if want == "none" else int(want)) and m["rule"] == (None if rule == "none" else rule)
ok = ok and part in m["detail"] and isinstance(m["candidates"], int)
if m["dialog"] is not None:
    ok = ok and d["dialog"] == m["dialog"] and d["dialogs"][m["dialog"]]["call_id"] in d["explanation"]
sys.exit(not ok)
EOF2
}
T0=1714645800
check "match: call_id (c-3, dialog 3)" match "$T/calls.pcap" 3 call_id "Call-ID c-3@10.0.0.1 as given" --call-id c-3@10.0.0.1
check "match: uniqueid in the INVITE's X-Asterisk-Uniqueid (dialog 0)" match "$T/calls.pcap" 0 uniqueid "in X-Asterisk-Uniqueid of the INVITE" --uniqueid 1714645800.4411
check "match: a Call-ID not in the capture falls to the uniqueid" match "$T/calls.pcap" 0 uniqueid "X-Asterisk-Uniqueid" --call-id nowhere@x --uniqueid 1714645800.4411
check "match: caller_code in the From display name (dialog 1)" match "$T/calls.pcap" 1 caller_code "caller code V0502103030000884213 in From of the INVITE" --caller-code V0502103030000884213
check "match: time, two INVITEs in the window, the number picks dialog 4" match "$T/calls.pcap" 4 time "INVITE 4.0 s after the call's start, number 3125550104 in Request-URI" --call-epoch $((T0 + 206)) --phone 3125550104
check "match: time, two INVITEs in the window, the talk nearest the length picks dialog 3" match "$T/calls.pcap" 3 time "INVITE 6.0 s before the call's start, talk 30.0 s against 31 s" --call-epoch $((T0 + 206)) --length 31
check "match: a uniqueid in two dialogs (a B2BUA's legs) falls to the time" match "$T/calls.pcap" 3 time "talk 30.0 s against 30 s" --uniqueid 1714646000.4420 --call-epoch $((T0 + 206)) --length 30
check "match: a caller code in no dialog falls to the time, the number (in the Request-URI) picks dialog 1" match "$T/calls.pcap" 1 time "number 3125550102" --caller-code V0000000000000000001 --call-epoch $((T0 + 35)) --phone 3125550102
check "match: ambiguous: a uniqueid in two dialogs, nothing else" match "$T/calls.pcap" none none "4 INVITE dialogs; uniqueid in 2 dialogs" --uniqueid 1714646000.4420
check "match: ambiguous: two in the window, no number, no length" match "$T/calls.pcap" none none "2 within the call's time, no length to tell them apart" --call-epoch $((T0 + 206))
check "match: ambiguous: talk 30 and 90 s equally far from 60 s (a tie)" match "$T/calls.pcap" none none "talk 30.0 s and 90.0 s against 60 s" --call-epoch $((T0 + 206)) --length 60
check "match: no match after every step: the later steps' notes kept whole, the first left as ..." match "$T/calls.pcap" none none "4 INVITE dialogs; ...; uniqueid in 2 dialogs; caller code in none; 2 within the call's time (none with the number), talk 30.0 s and 90.0 s against 60 s" --call-id nowhere@x --uniqueid 1714646000.4420 --caller-code V0000000000000000001 --call-epoch $((T0 + 206)) --phone 3125550102 --length 60
check "match: no match: no INVITE within the call's time" match "$T/calls.pcap" none none "4 INVITE dialogs; none within the call's time" --call-epoch $((T0 + 3600))
check "match: no match: a uniqueid only in a body (SDP) is not read" match "$T/calls.pcap" none none "uniqueid in none" --uniqueid 1714646999.5555
check "match: no match: a uniqueid only in an OPTIONS (not an INVITE dialog)" match "$T/calls.pcap" none none "uniqueid in none" --uniqueid 1714646100.4430
check "match: no match: a uniqueid's prefix is not the uniqueid" match "$T/calls.pcap" none none "uniqueid in none" --uniqueid 1714645800.441
check "match: only_call, saying what did not match" match "$T/case-busy.pcap" 0 only_call "the capture's only INVITE dialog (Call-ID not found" --call-id nowhere@x
check "match: SIP text with no times: only_call, saying so" match "$HERE/text/sip_debug.log" 0 only_call "the trace has no times" --call-epoch $T0
check "match: no INVITE dialog" match "$HERE/text/raw.txt" none none "no INVITE dialog in the capture" --uniqueid 1
"$CQ" investigate --json "$T/calls.pcap" > "$T/m.json"
check "match: null without a hint" "$PY" -c "
import json,sys; sys.exit(json.load(open('$T/m.json'))['match'] is not None)"
"$CQ" investigate --caller-code V0502103030000884213 "$T/calls.pcap" > "$T/m.txt"
check "match: the text names the dialog and the rule" grep -q "the call is dialog 1, by caller_code" "$T/m.txt"
"$CQ" investigate --length abc "$T/calls.pcap" > /dev/null 2>&1
rc=$?
check "match: --length abc: usage, exit 2" [ "$rc" = 2 ]
s0=$(date +%s.%N)
"$CQ" investigate --json --uniqueid 1714645800.9999 "$T/manycalls.pcap" > "$T/many-m.json"
s1=$(date +%s.%N)
"$CQ" investigate --json --caller-code V0000000000000000001 --call-epoch $((T0 + 4200)) --length 40 "$T/manycalls.pcap" > "$T/many-t.json"
s2=$(date +%s.%N)
echo "# 10,000 calls: investigate with a uniqueid $(awk "BEGIN{print $s1 - $s0}") s, with a caller code found nowhere and a time $(awk "BEGIN{print $s2 - $s1}") s"
# the answer holds what fits its 16 MiB (docs/network/bounds.md "Bounds"): the matched call first, its
# index the answer's
check "match: 10,000 calls, the uniqueid of the last, and the time and length" "$PY" -c "
import json,sys; A=json.load(open('$T/many-m.json')); B=json.load(open('$T/many-t.json'))
a, b = A['match'], B['match']
sys.exit(not (a['rule'] == 'uniqueid' and A['dialogs'][a['dialog']]['call_id'] == 'm-9999@10.0.0.1'
              and A['dialog'] == a['dialog'] and b['rule'] == 'time' and b['candidates'] == 66
              and B['dialogs'][b['dialog']]['call_id'] == 'm-4170@10.0.0.1'
              and A['truncated']['dialogs'] + len(A['dialogs']) == 10000
              and A['truncated']['sip'] + len(A['sip']) == 70000))"

# 10,000 streams
"$CQ" sip --json "$T/many.pcap" > "$T/many.json"
check "10,000 streams, each of 5 packets" "$PY" -c "
import json,sys; d=json.load(open('$T/many.json'))
sys.exit(not (len(d['streams']) == 10000 and all(s['packets'] == 5 for s in d['streams'])))"

# no RTP stream where there is none: a real stream beside DNS, DHCP, TFTP, NTP, NetBIOS, SNMP,
# syslog, SSDP, STUN, mDNS, LLMNR, QUIC, DTLS and random bytes, each on its own port, on a port
# of the RTP range and on a high port (gen_pcap.py notrtp), three seeds: the real stream alone,
# its figures tshark's, no finding; the flows that looked like RTP counted as not RTP
for seed in 1 2 3; do
    "$SVC" sip --json "$T/notrtp$seed.pcap" > "$T/notrtp$seed.json"
done
"$PY" "$HERE/compare_tshark.py" --only 10.0.0.1:16000 "$SVC" "$T/notrtp1.pcap" \
    "$T/notrtp2.pcap" "$T/notrtp3.pcap" > "$T/notrtp.out" 2>&1
cat "$T/notrtp.out"
check "non-RTP traffic: the real stream alone, no finding, the rest counted as not RTP" "$PY" -c "
import json,sys
for k in (1, 2, 3):
    d = json.load(open('$T/notrtp%d.json' % k))
    keys = [(s['src'], s['src_port'], s['dst'], s['dst_port']) for s in d['streams']]
    print('# seed %d: %d streams, %d findings, not RTP: %d flows, %d packets' % (k, len(keys),
          len(d['findings']), d['counts']['not_rtp_flows'], d['counts']['not_rtp_packets']))
    if keys != [('10.0.0.1', 16000, '192.0.2.7', 17000)] or d['findings'] or \
            d['streams'][0]['packets'] != 250 or d['counts']['not_rtp_packets'] == 0:
        sys.exit(1)"
check "non-RTP traffic: the real stream's figures equal tshark's" \
    sh -c "[ \"\$(grep -c '^SAME' '$T/notrtp.out')\" = 3 ]"

# tunnels and mirrors (tests/net/encap.py): the generated SIP, RTCP, fragmented and non-RTP
# captures in each encapsulation, and every corpus pcap in VXLAN and ERSPAN III (which carry
# whole frames: the corpus's PPPoE frames too); each reads as the plain capture it was made
# from, and tshark counts the same SIP messages and streams (all made by one encap.py, each plain
# capture and its copies read by one encap_same.py, beside tshark's comparison)
encs="ipip ip6ip gre grekey erspan2 erspan3 vxlan tzsp sll sll2 qinq mpls"
cp "$T/notrtp1.pcap" "$T/notrtp.pcap"  # gen_pcap.py notrtp: seed 1 by default
made="" same=""
for b in sip rtcp frag notrtp; do
    for k in $encs; do made="$made $k $T/$b.pcap $T/enc-$b-$k.pcap"; done
    same="$same -- $T/$b.pcap $T/enc-$b-*.pcap"
done
for f in "$P"/*.pcap; do
    cap=$(basename "$f" .pcap)
    for k in vxlan erspan3; do made="$made $k $f $T/cenc-$cap-$k.pcap"; done
    same="$same -- $f $T/cenc-$cap-*.pcap"
done
"$PY" "$HERE/encap.py" $made
("$PY" "$HERE/compare_tshark.py" "$SVC" "$T"/enc-sip-*.pcap "$T"/enc-rtcp-*.pcap \
    "$T"/enc-frag-*.pcap "$T"/cenc-*.pcap > "$T/encap-ts.out" 2>&1
 "$PY" "$HERE/compare_tshark.py" --only 10.0.0.1:16000 "$SVC" "$T"/enc-notrtp-*.pcap \
    >> "$T/encap-ts.out" 2>&1) &
ENC_TS_PID=$!
"$PY" "$HERE/encap_same.py" "$SVC" ${same# -- } > "$T/encap.out" 2>&1
wait "$ENC_TS_PID"
grep -v '^SAME' "$T/encap.out" "$T/encap-ts.out"
nenc=$(ls "$T"/enc-*.pcap "$T"/cenc-*.pcap | wc -l)
echo "# $nenc encapsulated captures"
check "each encapsulation reads as the plain capture ($(grep -c '^SAME' "$T/encap.out") of $nenc)" \
    [ "$(grep -c '^SAME' "$T/encap.out")" = "$nenc" ]
check "each encapsulation: SIP counts and streams equal tshark's" \
    [ "$(grep -c '^SAME' "$T/encap-ts.out")" = "$nenc" ]

# HEP from a PBX's agent, captured on its way to a collector (tests/net/hep.py): every corpus
# pcap and the generated SIP and RTCP captures replayed as HEPv3 (SIP over UDP and TCP, RTCP),
# and the captures of SIP over UDP and IPv4 alone as HEPv2, and every one with RTCP as
# res_hep_rtcp's JSON; each gives the messages, dialogs, SIP findings and RTCP reports of the
# capture itself. Each kind of replay: one hep.py for its captures, one hep_same.py for its
# comparisons
hep_replays() { # hep_replays PREFIX AWK_COUNT [--v2|--rtcp-json] CAPTURE...: each capture replayed
    # into $T/PREFIX-NAME.pcap; prints "CAPTURE REPLAY HEP_PACKETS" for hep_same.py, each line
    hr_pre=$1 hr_awk=$2
    shift 2
    hr_flag=
    case $1 in --*) hr_flag=$1; shift ;; esac
    : > "$T/$hr_pre.pairs"
    for f in "$@"; do echo "$f $T/$hr_pre-$(basename "$f" .pcap).pcap" >> "$T/$hr_pre.pairs"; done
    "$PY" "$HERE/hep.py" $hr_flag $(cat "$T/$hr_pre.pairs") |
        awk '$1 ~ /^[0-9]+$/ {print '"$hr_awk"'; next} {print "failed"}' > "$T/$hr_pre.n"
    paste -d ' ' "$T/$hr_pre.pairs" "$T/$hr_pre.n"
}
v3=$(hep_replays hep '$1 + $3' "$P"/*.pcap "$T/sip.pcap" "$T/rtcp.pcap")
"$PY" "$HERE/hep_same.py" "$SVC" $v3 > "$T/hep.out" 2>&1
v2=$(hep_replays hep2 '$1' --v2 "$P/dtmf_sipinfo.pcap" "$P/sip_dtmf2.pcap" "$P/sip_rtp_g711.pcap" \
    "$P/sip_rtp_g729a.pcap")
"$PY" "$HERE/hep_same.py" "$SVC" $v2 >> "$T/hep.out" 2>&1
# RTCP as Asterisk's res_hep_rtcp sends it: each SR and RR as JSON (hep.py --rtcp-json)
vj=$(hep_replays hepj '$1 + $3' --rtcp-json "$P"/*.pcap "$T/rtcp.pcap")
"$PY" "$HERE/hep_same.py" --rtcp-json "$SVC" $vj >> "$T/hep.out" 2>&1
nhep=$(echo "$v3
$v2
$vj" | grep -c .)
njson=$("$PY" -c "
import json, subprocess, sys
n = 0
for p in sys.argv[1:]:
    d = json.loads(subprocess.run(['$SVC', 'sip', '--json', p], capture_output=True,
                                  text=True).stdout)
    n += len(d['rtcp']) if isinstance(d['rtcp'], list) else 0
print(n)" $(echo "$vj" | awk '{print $2}'))
echo "# $njson RTCP reports read from JSON"
grep -v '^SAME' "$T/hep.out"
check "HEP: RTCP reports read from res_hep_rtcp's JSON ($njson)" [ "$njson" -ge 50 ]
check "HEP: $nhep replays read as the captures they came from" \
    [ "$(grep -c '^SAME' "$T/hep.out")" = "$nhep" ]
check "HEP: the replay of a call with SIP, SDP and RTCP holds its messages" "$PY" -c "
import json, subprocess, sys
d = json.loads(subprocess.run(['$SVC', 'sip', '--json', '$T/hep-rtcp.pcap'], capture_output=True,
                              text=True).stdout)
sys.exit(not (d['counts']['hep'] == 14 and len(d['sip']) == 3 and len(d['rtcp']) == 10))"

# the legs of one call across a B2BUA or an SBC (src/net/net_legs.c): the generated calls
# (gen_pcap.py b2bua: each rule once, and legs that must stay alone) and the corpus's real
# Asterisk B2BUA capture; no other corpus capture has a call of two legs ($T/b2bua.pcap: made
# with the other generated captures, above)
"$SVC" sip --json "$T/b2bua.pcap" > "$T/b2bua.json"
check "B2BUA legs: each call's two legs share one call_ref, by the rule expected; no leg is guessed" "$PY" -c "
import json, sys
d = {x['call_id'].split('@')[0]: x for x in json.load(open('$T/b2bua.json'))['dialogs']}
rule = {'p1': 'time', 'p2': 'time', 'p3': 'time', 'p4': 'call_id_header', 'p5': 'icid',
        'p6': 'session_id', 'p7': 'linkedid', 'p8': 'time'}
bad = []
for p, r in rule.items():
    a, b = d[p + '-a'], d[p + '-b']
    if not (a['call_ref'] == b['call_ref'] and a['legs'] == b['legs'] == 2 and a['leg'] == 0 and
            b['leg'] == 1 and a['linked_by'] is None and b['linked_by'] == r and b['link_detail']):
        bad.append((p, a['call_ref'], b['call_ref'], b['linked_by']))
refs = [d[p + '-a']['call_ref'] for p in rule]
solo = [x for k, x in d.items() if k.startswith('solo')]
bad += [(x['call_id'], x['legs']) for x in solo if x['legs'] != 1]
print('#', len(rule), 'calls of two legs,', len(solo), 'legs alone', bad)
sys.exit(bool(bad) or len(set(refs)) != len(refs) or len(solo) != 9)"
"$SVC" sip --json "$P/asterisk_b2bua.pcapng" > "$T/ab.json"
check "B2BUA legs: the real Asterisk capture's two INVITE dialogs are one call (time, the same caller)" "$PY" -c "
import json, sys
inv = [x for x in json.load(open('$T/ab.json'))['dialogs'] if x['method'] == 'INVITE']
print('#', [(x['leg'], x['linked_by'], x['link_detail']) for x in inv])
sys.exit(not (len(inv) == 2 and inv[0]['call_ref'] == inv[1]['call_ref'] and inv[1]['linked_by'] == 'time'
  and 'the same caller' in inv[1]['link_detail']))"
check "B2BUA legs: no other corpus capture has a call of more than one leg" sh -c "
for f in \$(ls '$P'/*.pcap '$P'/*.pcapng | grep -v 'protos_c07\|asterisk_b2bua'); do
    '$SVC' sip --json \"\$f\" | '$PY' -c 'import json,sys; sys.exit(any((x[\"legs\"] or 1) > 1 for x in json.load(sys.stdin)[\"dialogs\"]))' || exit 1
done"
"$SVC" sip "$T/b2bua.pcap" > "$T/b2bua.txt"
check "B2BUA legs: callqa sip's table lists each call of several legs" sh -c "
[ \$(grep -c '^call [0-9a-f]\{16\}: 2 legs' '$T/b2bua.txt') = 8 ] && grep -q 'linked by time (the same caller' '$T/b2bua.txt'"

# bad input: a clear error, no crash
head -c 5000 "$T/clean.pcap" > "$T/cut.pcap"
"$CQ" sip --json "$T/cut.pcap" > "$T/cut.json" 2> "$T/cut.err"
check "a capture cut short: read up to the cut (exit 0)" "$PY" -c "
import json,sys; d=json.load(open('$T/cut.json')); sys.exit(not (d['packets'] >= 20 and len(d['streams']) == 1))"
head -c 3000 /dev/urandom > "$T/garbage.pcap"
"$CQ" sip "$T/garbage.pcap" > /dev/null 2> "$T/garbage.err"
rc=$?
check "garbage: exit 1, not a capture" sh -c "[ $rc = 1 ] && grep -q 'not a capture libpcap can read' '$T/garbage.err'"
: > "$T/empty.pcap"
"$CQ" sip "$T/empty.pcap" > /dev/null 2> "$T/empty.err"
rc=$?
check "empty: exit 1, says so" sh -c "[ $rc = 1 ] && grep -q 'empty' '$T/empty.err'"
"$CQ" sip "$T/none.pcap" > /dev/null 2> "$T/none.err"
rc=$?
check "missing: exit 1, says so" sh -c "[ $rc = 1 ] && grep -q 'No such file' '$T/none.err'"
"$CQ" sip > /dev/null 2>&1
rc=$?
check "no file: usage, exit 2" [ "$rc" = 2 ]
finish network
