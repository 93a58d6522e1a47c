#!/bin/sh
# test_investigate.sh - why did this call go wrong: `callqa investigate` and POST /investigate
# (src/net/net_investigate.c, inv_run.c, src/service/svc_investigate.c) on corpus captures and on
# captures made from corpus calls (tests/net/wav_to_pcap.py: the call's own G.711 bytes as RTP):
#   - the cross-checks against the recording: a one-way recording while RTP flowed both ways,
#     a one-way recording with RTP one way, each 10 s of network loss and MOS beside NISQA's
#     windows, RFC 4733 digits beside the in-band DTMF the recording holds (equal, different,
#     none sent though both ends agreed on telephone-event);
#   - on every corpus capture but the NetMon one: 2 to 4 sentences, every code they cite among
#     the findings and every number they write among the facts' numbers;
#   - the route: the old JSON body (SIP text, call_info, status), a pcap upload with its
#     recording, the answers stored by the input's hash, bad input (400, 422 naming NetMon);
#   - the QA system: a capture uploaded with a call or lying beside it in a watched folder, read
#     by the worker: /api/qa/call/{id}'s network, each MOS with its model and threshold, the
#     network_mos_low badge, a capture that cannot be read;
#   - with the fake LLM: the facts (not the raw SIP) in its prompt, its answer kept when it
#     holds to them, refused with llm_error when it cites a figure they do not hold, and the
#     explanation from the facts always beside it.
#   usage: test_investigate.sh BUILD_DIR SHARED_DIR
. "$(dirname "$0")/../lib.sh"
CQ=$1/callqa
P=$2/corpus/pcaps
C=$2/corpus/calls
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    store_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib/store_lib.sh"
store_setup "$T"
export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$2/models}"

# the answer's explanation held to its facts: 2-4 sentences, codes among the findings, every
# number among the numbers of the facts (the same rule as net_explanation_check, written again)
holds() { # holds ANSWER.json
    python3 - "$1" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
text = d["explanation"]
print("#", text)
n = len(re.findall(r"[.!?](?:\s+(?=[A-Z])|$)", text))
assert 2 <= n <= 4, (n, text)
codes = {f["code"] for f in d["findings"]}
for c in re.findall(r"\(([a-z0-9]+(?:_[a-z0-9]+)+)\)", text):
    assert c in codes, (c, codes)
nums = set()
def walk(x):
    if isinstance(x, bool) or x is None:
        return
    if isinstance(x, (int, float)):
        nums.add(float(x))
    elif isinstance(x, str):
        nums.update(float(v) for v in re.findall(r"\d+(?:\.\d+)?", x))
    elif isinstance(x, list):
        for v in x: walk(v)
    elif isinstance(x, dict):
        for k, v in x.items():
            if k not in ("explanation", "explanation_from_facts"): walk(v)
walk({k: v for k, v in d.items()})
clean = re.sub(r"\b(?:G|Q|H|E|T|Y)\.\d[\w.]*|RFC \d+", " ", text)
for tok in re.findall(r"(?<![A-Za-z0-9_.@:-])\d+(?:\.\d+)?(?![\w@:-])", clean):
    dec = len(tok.split(".")[1]) if "." in tok else 0
    assert any(round(v, dec) == float(tok) for v in nums), (tok, text)
EOF
}
has() { # has ANSWER.json CODE...: every CODE among its findings
    python3 -c "
import json,sys; c={f['code'] for f in json.load(open(sys.argv[1]))['findings']}
sys.exit(not set(sys.argv[2:]) <= c)" "$@"
}
lacks() { # lacks ANSWER.json CODE...: no CODE among its findings
    python3 -c "
import json,sys; c={f['code'] for f in json.load(open(sys.argv[1]))['findings']}
sys.exit(bool(set(sys.argv[2:]) & c))" "$@"
}

# ---- the cross-checks, from the command line ----
for c in 01_normal 02_one_way_audio 06_ivr_dtmf; do
    sox "$C/call$c.wav" -e u-law "$T/c$c.wav"
done
python3 "$HERE/wav_to_pcap.py" "$T/c02_one_way_audio.wav" "$T/c02.pcap" --answer
"$CQ" investigate --json --recording "$T/c02_one_way_audio.wav" "$T/c02.pcap" > "$T/x1.json"
check "one-way recording, RTP both ways: xcheck_recording_one_way (the media path or the recorder)" \
    python3 -c "
import json,sys; d=json.load(open('$T/x1.json')); o=d['cross_checks']['one_way']
f=[x for x in d['findings'] if x['code']=='xcheck_recording_one_way']
sys.exit(not (o['recording_one_way'] is True and o['rtp_packets_forward'] > 2000 and o['rtp_packets_back'] > 2000
 and len(f) == 1 and f[0]['severity'] == 'major' and 'not on the network' in f[0]['message']
 and 'xcheck_recording_one_way' in d['explanation'] and d['recording']['speech_mos']['model'] == 'NISQA v2'))"
check "one-way recording, RTP both ways: the explanation holds to its facts" holds "$T/x1.json"
check "one-way recording: no false alarm from the silent leg's NISQA (no quality cross-check)" \
    lacks "$T/x1.json" xcheck_quality_not_network xcheck_network_heard

sox "$T/c01_normal.wav" "$T/c01m.wav" remix 1
python3 "$HERE/wav_to_pcap.py" "$T/c01m.wav" "$T/c01m.pcap" --answer
"$CQ" investigate --json --recording "$T/c02_one_way_audio.wav" "$T/c01m.pcap" > "$T/x2.json"
check "one-way recording, RTP one way: xcheck_network_one_way and rtp_one_way" \
    has "$T/x2.json" rtp_one_way xcheck_network_one_way
check "one-way recording, RTP one way: the explanation holds to its facts" holds "$T/x2.json"
"$CQ" investigate --json --recording "$T/c01_normal.wav" "$T/c01m.pcap" > "$T/x2b.json"
check "a two-way recording, RTP one way: the capture saw one direction (info)" \
    has "$T/x2b.json" xcheck_capture_one_way
check "a two-way recording, RTP one way: not one-way audio" lacks "$T/x2b.json" xcheck_network_one_way

python3 "$HERE/wav_to_pcap.py" "$T/c01_normal.wav" "$T/c01l.pcap" 0.03 --answer
"$CQ" investigate --json --recording "$T/c01_normal.wav" "$T/c01l.pcap" > "$T/x3.json"
check "windows: each 10 s of each stream, its network loss and MOS beside NISQA's windows of both legs" \
    python3 -c "
import json,sys; d=json.load(open('$T/x3.json')); w=d['cross_checks']['windows']
lossy=[x for x in w if x['stream']==0]; clean=[x for x in w if x['stream']==1]
ok = len(lossy) >= 4 and len(lossy) == len(clean) and all(x['network_loss_pct'] > 0 for x in lossy)
ok = ok and all(x['network_loss_pct'] == 0 for x in clean) and lossy[1]['recording_start_sec'] == 10.0
ok = ok and sum(1 for x in w if x['nisqa_mos'].get('inbound') is not None and x['nisqa_mos'].get('outbound') is not None) >= 4
print('#', lossy[0]); sys.exit(not ok)"
check "windows: 3 % loss on a normal call: rtp_loss" has "$T/x3.json" rtp_loss
check "windows: no quality cross-check fires falsely on a normal call" lacks "$T/x3.json" xcheck_quality_not_network
check "windows: the explanation holds to its facts" holds "$T/x3.json"

# DTMF: the recording's own in-band digits sent again as RFC 4733 events at their times
"$CQ" analyze --json -q --only events "$T/c06_ivr_dtmf.wav" > "$T/c06.json"
EV=$(python3 -c "
import json,sys; d=json.load(open('$T/c06.json'))
ev=[e for e in d['events'] if e['type']=='dtmf']
print(','.join('%s@%.2f' % (e['digits'][i], e['start'] + 0.2*i) for e in sorted(ev, key=lambda e: e['start']) for i in range(len(e['digits']))))")
check "call06 holds in-band digits ($EV)" [ -n "$EV" ]
python3 "$HERE/wav_to_pcap.py" "$T/c06_ivr_dtmf.wav" "$T/c06s.pcap" --answer --events "$EV"
"$CQ" investigate --json --recording "$T/c06_ivr_dtmf.wav" "$T/c06s.pcap" > "$T/x4.json"
check "DTMF: RFC 4733 digits equal to the in-band ones: agree, no DTMF finding" python3 -c "
import json,sys; d=json.load(open('$T/x4.json')); x=d['cross_checks']['dtmf']; print('#', x)
sys.exit(not (x['agree'] is True and x['rfc4733'] == x['in_band'] != '' and not [f for f in d['findings'] if f['code'].startswith('xcheck_dtmf')]))"
python3 "$HERE/wav_to_pcap.py" "$T/c06_ivr_dtmf.wav" "$T/c06w.pcap" --answer --events "1@2.0,2@3.0"
"$CQ" investigate --json --recording "$T/c06_ivr_dtmf.wav" "$T/c06w.pcap" > "$T/x5.json"
check "DTMF: other digits sent than heard: xcheck_dtmf_mismatch" has "$T/x5.json" xcheck_dtmf_mismatch
python3 "$HERE/wav_to_pcap.py" "$T/c06_ivr_dtmf.wav" "$T/c06n.pcap" --answer
"$CQ" investigate --json --recording "$T/c06_ivr_dtmf.wav" "$T/c06n.pcap" > "$T/x6.json"
check "DTMF: heard in band, none sent though telephone-event was agreed: xcheck_dtmf_in_band_only" \
    has "$T/x6.json" xcheck_dtmf_in_band_only
check "DTMF: the explanations hold to their facts (other digits)" holds "$T/x5.json"
check "DTMF: the explanations hold to their facts (in band only)" holds "$T/x6.json"

# ---- every corpus capture: the explanation holds to its facts ----
for f in $(ls "$P"/*.pcap "$P"/*.pcapng | grep -v protos_c07); do
    cap=$(basename "$f")
    "$CQ" investigate --json "$f" > "$T/corp-$cap.json"
    check "$cap: 2-4 sentences, its codes among the findings, its numbers among the facts" \
        holds "$T/corp-$cap.json"
done
"$CQ" investigate --json "$P/asterisk_b2bua.pcapng" > "$T/b2b.json"
check "asterisk_b2bua: the findings name the 401 challenges, 404, 480 and 489" \
    has "$T/b2b.json" sip_auth_challenge sip_not_found sip_unavailable sip_bad_event
"$CQ" investigate "$P/protos_c07_sip_r2.cap" > /dev/null 2> "$T/netmon.err"
check "the NetMon capture: refused, naming NetMon" grep -qi "netmon\|network monitor" "$T/netmon.err"

# ---- the route ----
DB=$(test_store "$T" store) || exit 1
AP=$(free_port)
U="http://127.0.0.1:$AP"
start_service() { # start_service LOG [env assignments...]
    log=$1
    shift
    env CALLQA_TMP_DIR="$T" "$@" "$CQ" serve --listen "127.0.0.1:$AP" --db "$DB" --no-auth \
        > /dev/null 2> "$log" &
    SVCP=$!
    PIDS="$PIDS $SVCP"
    for _ in $(seq 1 150); do
        curl -s -o /dev/null "$U/health" && return 0
        kill -0 "$SVCP" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
post_json() { # post_json NAME BODY-FILE: the status; the answer in $T/NAME.json
    curl -s -o "$T/$1.json" -D "$T/$1.h" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$2" "$U/investigate"
}
post_form() { # post_form NAME -F ...: the status
    out=$1
    shift
    curl -s -o "$T/$out.json" -D "$T/$out.h" -w '%{http_code}' "$@" "$U/investigate"
}
xcache() { tr -d '\r' < "$T/$1.h" | awk -F': ' 'tolower($1) == "x-cache" { print $2 }'; }
start_service "$T/serve1.log" || { echo "the service did not start: $(cat "$T/serve1.log")"; exit 1; }

python3 -c "
import json,sys
print(json.dumps({'sip_trace': open(sys.argv[1]).read(), 'call_info': 'CARRIER LOG:\ndialstatus: CONGESTION\nhangup_cause: 34\n', 'status': 'CONGESTION'}))" \
    "$HERE/text/sngrep.txt" > "$T/old.json"
s=$(post_json o1 "$T/old.json")
check "the old JSON body: 200" [ "$s" = 200 ]
check "the old JSON body: explanation and analysis_time_sec (the old shape), findings, dialogs, streams" python3 -c "
import json,sys; d=json.load(open('$T/o1.json'))
ok = isinstance(d['explanation'], str) and isinstance(d['analysis_time_sec'], float)
ok = ok and isinstance(d['findings'], list) and len(d['dialogs']) == 1 and d['streams'] == []
ok = ok and d['status'] == 'CONGESTION' and d['explanation_source'] == 'facts' and d['model'] is None
ok = ok and any(f['code'] == 'sip_service_unavailable' and f['values']['q850_cause'] == 34 for f in d['findings'])
ok = ok and '503' in d['explanation'] and 'sip_service_unavailable' in d['explanation'] and 'CONGESTION' in d['explanation']
sys.exit(not ok)"
check "the old JSON body: the explanation holds to its facts" holds "$T/o1.json"
check "the old JSON body: its call_info read, with its findings" has "$T/o1.json" carrier_congestion carrier_q850
check "the old JSON body: the explanation says what the carrier log says" \
    grep -q "carrier log says CONGESTION" "$T/o1.json"
s=$(post_json o2 "$T/old.json")
check "the same input again: the stored answer (X-Cache hit, cached true)" sh -c \
    "[ $s = 200 ] && [ '$(xcache o2)' = hit ] && python3 -c \"import json; d=json.load(open('$T/o2.json')); assert d['cached'] is True\""
printf '{"status": "B"}' > "$T/none.json"
s=$(post_json b1 "$T/none.json")
check "neither sip_trace nor call_info: 400 missing" sh -c "[ $s = 400 ] && grep -q '\"missing\"' '$T/b1.json'"
printf 'not json' > "$T/bad.json"
s=$(post_json b2 "$T/bad.json")
check "a body that is not JSON: 400 bad_json" sh -c "[ $s = 400 ] && grep -q bad_json '$T/b2.json'"
printf '{"sip_trace": 5}' > "$T/bad2.json"
s=$(post_json b3 "$T/bad2.json")
check "sip_trace not a string: 400" [ "$s" = 400 ]
s=$(post_form m1 -F "capture=@$P/asterisk_b2bua.pcapng")
check "a pcapng upload: 200" [ "$s" = 200 ]
check "a pcapng upload: its findings" has "$T/m1.json" sip_not_found sip_auth_challenge
check "a pcapng upload: the explanation holds to its facts" holds "$T/m1.json"
s=$(post_form m2 -F "capture=@$T/c02.pcap" -F "recording=@$T/c02_one_way_audio.wav" -F status=DROP)
check "a pcap with its recording: 200, the recording in brief" sh -c \
    "[ $s = 200 ] && grep -q '\"speech_mos\"' '$T/m2.json'"
check "a pcap with its recording: xcheck_recording_one_way" has "$T/m2.json" xcheck_recording_one_way
s=$(post_form m3 -F "capture=@$P/protos_c07_sip_r2.cap")
check "the NetMon capture uploaded: 422 bad_capture, naming NetMon" sh -c \
    "[ $s = 422 ] && grep -q bad_capture '$T/m3.json' && grep -qi 'netmon\|network monitor' '$T/m3.json'"
s=$(post_form m4 -F "capture=@$T/c02.pcap" -F "in=@$T/c02_one_way_audio.wav")
check "an 'in' part without 'out': 400" [ "$s" = 400 ]
s=$(post_form m5 -F "capture=@$T/c02.pcap" -F "capture=@$T/c02.pcap")
check "a part twice: 400" [ "$s" = 400 ]
python3 "$HERE/gen_pcap.py" calls "$T/calls.pcap"
s=$(post_form m7 -F "capture=@$T/calls.pcap" -F 'metadata={"uniqueid": "1714645800.4411"};type=application/json')
check "a capture of many calls with the call named in 'metadata': its dialog matched by uniqueid" python3 -c "
import json,sys; d=json.load(open('$T/m7.json')); m=d['match']; print('#', m)
sys.exit(not ($s == 200 and m['rule'] == 'uniqueid' and m['dialog'] == 0 and d['dialog'] == 0))"
s=$(post_form m8 -F "capture=@$T/calls.pcap" -F 'metadata={"uniqueid": "1714646000.4420", "call_epoch": 0};type=application/json')
check "the same capture naming another call: not the stored answer of the first" python3 -c "
import json,sys; d=json.load(open('$T/m8.json')); print('#', d['match'])
sys.exit(not ($s == 200 and d['cached'] is False and d['match']['dialog'] != 0))"
printf '{"sip_trace": "x", "call_epoch": "soon"}' > "$T/badhint.json"
s=$(post_json b4 "$T/badhint.json")
check "a hint of the wrong type: 400" [ "$s" = 400 ]
s=$(post_form m6 -F "status=X")
check "a form with neither capture, sip_trace nor call_info: 400" [ "$s" = 400 ]
check "the service is still up after the bad input" curl -sf -o /dev/null "$U/health"
stop_wait "$SVCP" service
# text parts are held in memory: they count against max_body_memory_mb, as a body does
start_service "$T/serve-mem.log" CALLQA_MAX_BODY_MEMORY_MB=1 ||
    { echo "the service did not start: $(cat "$T/serve-mem.log")"; exit 1; }
python3 -c "import sys; sys.stdout.write('INVITE sip:a@b SIP/2.0\r\n' * 70000)" > "$T/big-trace.txt"
s=$(post_form m9 -F "sip_trace=<$T/big-trace.txt")
check "a text part over the memory held for bodies: 503 busy, not held" sh -c "[ $s = 503 ] && grep -q busy '$T/m9.json'"
check "the service is still up" curl -sf -o /dev/null "$U/health"
stop_wait "$SVCP" service

# ---- in the QA system: a capture uploaded with the call, or lying beside it in a watched folder ----
start_service "$T/serve-qa.log" || { echo "the service did not start: $(cat "$T/serve-qa.log")"; exit 1; }
up() { # up RECORDING_ID PART...: POST /api/qa/calls; the answer in $T/up-RECORDING_ID.json
    rid=$1
    shift
    parts=""
    for p in "$@"; do parts="$parts -F $p"; done
    # shellcheck disable=SC2086 # the parts are words on purpose
    curl -s -o "$T/up-$rid.json" -w '%{http_code}' \
        -F "metadata={\"recording_id\":\"$rid\",\"agent_user\":\"a1\"};type=application/json" \
        $parts "$U/api/qa/calls"
}
python3 "$HERE/wav_to_pcap.py" "$T/c01_normal.wav" "$T/c01bad.pcap" 0.12 --answer
s1=$(up q-oneway "audio=@$T/c02_one_way_audio.wav" "capture=@$T/c02.pcap")
s2=$(up q-lossy "audio=@$T/c01_normal.wav" "capture=@$T/c01bad.pcap")
s3=$(up q-plain "audio=@$T/c01_normal.wav")
printf 'not a capture at all\0\1\2' > "$T/junk.pcap"
s4=$(up q-junk "audio=@$T/c06_ivr_dtmf.wav" "capture=@$T/junk.pcap")
check "uploads with and without a capture: 201, the capture kept ($s1 $s2 $s3 $s4)" python3 -c "
import json,sys; a=[json.load(open('$T/up-%s.json' % r)) for r in ('q-oneway','q-lossy','q-plain','q-junk')]
sys.exit(not ('$s1 $s2 $s3 $s4' == '201 201 201 201' and [x['capture'] for x in a] == [True, True, False, True]))"
# the watched folder: a recording and its capture beside it (a capture alone is not a call)
W=$T/watched
mkdir -p "$W"
cp "$T/c02_one_way_audio.wav" "$W/w-77.wav"
cp "$T/c02.pcap" "$W/w-77.pcap"
"$CQ" ingest watch --dir "$W" --db "$DB" --settle-sec 0.2 --once > "$T/watch.log" 2>&1
check "the watched folder: one call (the capture beside it is not a recording)" \
    grep -q '"recording_id":"w-77"\|w-77' "$T/watch.log"
"$CQ" worker --once --max-load 0 --db "$DB" > "$T/worker.log" 2>&1
check "the worker analyses every call" sh -c "[ \$(grep -c '\"complete\"' '$T/worker.log') -ge 5 ]"
callj() { curl -s -o "$T/call-$1.json" "$U/api/qa/call/$1"; }
for r in q-oneway q-lossy q-plain q-junk w-77; do callj "$r"; done
check "a call with its capture: the network's findings and cross-checks in /api/qa/call/{id}" python3 -c "
import json,sys; d=json.load(open('$T/call-q-oneway.json')); n=d['network']
sys.exit(not (n and 'xcheck_recording_one_way' in [f['code'] for f in n['findings']] and n['dialogs'] and n['streams']
 and n['explanation'] and n['capture'].endswith('.pcap') and d['network_error'] is None))"
check "each MOS beside its model and its own threshold" python3 -c "
import json,sys; m=json.load(open('$T/call-q-oneway.json'))['analysis']['mos']; print('#', m)
sys.exit(not (m['speech']['model'] == 'NISQA v2' and m['speech']['low_below'] == 3.0 and isinstance(m['speech']['outbound'], float)
 and m['network']['model'] == 'ITU-T G.107 E-model' and m['network']['low_below'] == 3.6 and m['network']['mos'] > 4))"
check "12 % loss on the capture: network_mos_low on the E-model's threshold, rtp_loss in the findings" python3 -c "
import json,sys; d=json.load(open('$T/call-q-lossy.json')); m=d['analysis']['mos']['network']; print('#', m, d['badges'])
sys.exit(not (m['mos'] < 3.6 and 'network_mos_low' in d['badges'] and 'rtp_loss' in [f['code'] for f in d['network']['findings']]))"
check "a call without a capture: network null, no network MOS (not 0), no network badge" python3 -c "
import json,sys; d=json.load(open('$T/call-q-plain.json'))
sys.exit(not (d['network'] is None and d['analysis']['mos']['network'] is None and 'network_mos_low' not in d['badges']))"
check "a capture that cannot be read: network_error says why, the call is still analysed" python3 -c "
import json,sys; d=json.load(open('$T/call-q-junk.json')); print('#', d['network_error'])
sys.exit(not (d['network'] is None and d['network_error'] and d['processing_status'] == 'complete'))"
check "the watched folder's call: its capture beside it read" python3 -c "
import json,sys; d=json.load(open('$T/call-w-77.json'))
sys.exit(not (d['network'] and 'xcheck_recording_one_way' in [f['code'] for f in d['network']['findings']]))"
curl -s -o "$T/badges.json" "$U/api/qa/badges"
check "the badges name the model of each MOS threshold" python3 -c "
import json,sys; b={x['code']: x for x in json.load(open('$T/badges.json'))}
sys.exit(not (b['mos_low']['model'] == 'NISQA v2' and b['network_mos_low']['model'] == 'ITU-T G.107 E-model'
 and b['network_mos_low']['threshold'] == 3.6 and b['dead_air']['model'] is None))"
stop_wait "$SVCP" service

# ---- with the fake LLM ----
FP=$T/fake.port
printf '%s\n' 'sk-test-0123456789' > "$T/key"
chmod 600 "$T/key"
printf '{"openai": ["facts", "invented", "500", "500"]}\n' > "$T/scen.json"
python3 "$SRC/tests/service/fake_llm_report.py" --log "$T/fake" --port-file "$FP" \
    --key sk-test-0123456789 --model gpt-test-1 --scenario "$T/scen.json" &
PIDS="$PIDS $!"
for _ in $(seq 1 100); do [ -s "$FP" ] && break; sleep 0.1; done
start_service "$T/serve2.log" CALLQA_LLM_PROVIDER=openai CALLQA_LLM_URL="http://127.0.0.1:$(cat "$FP")/v1" \
    CALLQA_LLM_MODEL=gpt-test-1 CALLQA_LLM_KEY_FILE="$T/key" CALLQA_LLM_RETRIES=1 ||
    { echo "the service did not start: $(cat "$T/serve2.log")"; exit 1; }
s=$(post_json l1 "$T/old.json")
check "LLM: an answer that holds to the facts is the explanation; the facts' own beside it" python3 -c "
import json,sys; d=json.load(open('$T/l1.json')); print('#', d['explanation'])
sys.exit(not ($s == 200 and d['explanation_source'] == 'llm' and d['model'] == 'gpt-test-1'
 and d['explanation'].startswith('The call ended with SIP 503') and 'sip_service_unavailable' in d['explanation']
 and d['explanation_from_facts'] != d['explanation'] and '503' in d['explanation_from_facts'] and 'llm_error' not in d))"
check "LLM: it was given the facts as JSON, not the raw SIP text" python3 -c "
import json,sys; t=json.loads(open('$T/fake/texts.jsonl').readline()); u=t['user'][0]
sys.exit(not ('The facts of the call:' in u and '\"sip_service_unavailable\"' in u and 'Via: SIP/2.0' not in u and 'branch=z9hG4bK' not in u))"
printf '{"sip_trace": %s}' "$(python3 -c "import json,sys; print(json.dumps(open(sys.argv[1]).read()))" "$HERE/text/raw.txt")" > "$T/raw.json"
s=$(post_json l2 "$T/raw.json")
check "LLM: an answer citing a figure the facts do not hold is refused (llm_error), the facts' explanation kept" python3 -c "
import json,sys; d=json.load(open('$T/l2.json')); print('#', d.get('llm_error'))
sys.exit(not ($s == 200 and d['explanation_source'] == 'facts' and '37.25' in d['llm_error']
 and d['explanation'] == d['explanation_from_facts'] and '37.25' not in d['explanation']))"
check "LLM: the refused answer was not stored (asked again, the LLM is asked again)" sh -c \
    "n0=\$(wc -l < '$T/fake/requests.jsonl'); s=\$(curl -s -o '$T/l3.json' -D '$T/l3.h' -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @'$T/raw.json' '$U/investigate'); [ \$s = 200 ] && [ \$(wc -l < '$T/fake/requests.jsonl') -gt \$n0 ] && grep -q llm_error '$T/l3.json'"
stop_wait "$SVCP" service
finish investigate
