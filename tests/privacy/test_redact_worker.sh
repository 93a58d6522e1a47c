#!/bin/sh
# test_redact_worker.sh - redaction in the QA pipeline (docs/privacy.md): two calls uploaded
# through `callqa serve`, one in a campaign with redaction on (BANK=all) and one without
# (SALES), transcribed by the fake ASR server (a card number, a CVV and a phone said by the
# customer, from an STM file) and scored by the fake LLM, then
#   - the BANK call: its transcript stored with [CARD]/[CVV] and none of the numbers, its
#     report's keyed digits masked, its redaction verified (0 digits heard again, every span
#     silent), a redacted copy written (mode 0600) with the keyed digits' and the words' spans
#     at digital silence, and that copy, and only it, served as its audio;
#   - nothing stored, logged or sent to the LLM holds the card number or any Luhn-valid run
#     (tests/privacy/luhn_scan.py, independent of callqa's own scanner);
#   - the SALES call kept as it came, served as it came;
#   - the tone mode: the spans hold the 1 kHz tone, and the check passes;
#   - a call whose check failed is held back (403 held_back), one not yet redacted in a
#     redacted campaign too (403 not_redacted);
#   - a bad setting stops the worker with the setting's name.
#   usage: test_redact_worker.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/calls" ] || [ ! -d "$2/models" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
SH=$2
C=$SH/corpus/calls
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
FAKE=""
LFAKE=""
SERVE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
    [ -n "$LFAKE" ] && kill "$LFAKE" 2>/dev/null
    [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
ASR_DIR=$HERE/../clients
. "$ASR_DIR/asr_lib.sh"
export CALLQA_MODEL_DIR="$SH/models"
CARD=4111111111111111
sq() { sqlite3 "$T/qa.db" "$@"; }

serve_start() { # serve_start CONFIG: `callqa serve` on a free port; $U set
    PORT=$(free_port)
    U="http://127.0.0.1:$PORT"
    "$CQ" serve --db "$T/qa.db" --config "$1" --no-auth --listen "127.0.0.1:$PORT" \
        >> "$T/serve.log" 2>&1 &
    SERVE=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$U/health" && return 0
        sleep 0.1
    done
    echo "serve did not start: $(cat "$T/serve.log")"
    exit 1
}
serve_stop() {
    kill "$SERVE"
    wait "$SERVE" 2>/dev/null
    SERVE=""
}
upload() { # upload RECORDING_ID CAMPAIGN FILE
    code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
        -F "metadata={\"recording_id\":\"$1\",\"agent_user\":\"ann\",\"campaign_id\":\"$2\",\"call_date\":\"$(date +%F) 09:00:00\"};type=application/json" \
        -F "audio=@$3" "$U/api/qa/calls")
    [ "$code" = 201 ] || { echo "upload $1: $code $(cat "$T/up.json")"; exit 1; }
}
worker() { # worker CONFIG
    "$CQ" worker --db "$T/qa.db" --config "$1" --once --jobs 1 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$T/worker.log" 2>&1
}

# the customer's words (call06's customer speaks at 57.2-59.3 s and 61.2-63.0 s; the keyed
# digits 8275# are at 26.1-27.0 s)
cat > "$T/calls.stm" <<'EOF'
call 1 customer 57.30 59.20 my card number is four one one one one one one one one one one one one one one one
call 1 customer 61.20 63.00 the security code is seven three seven and my phone is five five five two three four nine eight seven six
EOF
printf 'sk-test-123\n' > "$T/key"
chmod 600 "$T/key"
mkdir -p "$T/llm"
printf '{}' > "$T/llm/scenario.json"
python3 "$HERE/../clients/fake_llm.py" --log "$T/llm" --port-file "$T/llm/port" --key sk-test-123 \
    --model fake-model --scenario "$T/llm/scenario.json" --save-bodies 2> "$T/llm/fake.err" &
LFAKE=$!
wait_port "$T/llm/port" "$T/llm/fake.err"
fake_start "$T/asr" --protocol openai --mode openai,stm --stm "$T/calls.stm"
config() { # config FILE EXTRA-LINES
    cat > "$1" <<EOC
asr_url = $URL/v1
asr_model = whisper-large-v3
asr_language = en
llm_provider = openai
llm_url = http://127.0.0.1:$(cat "$T/llm/port")/v1
llm_model = fake-model
llm_key_file = $T/key
llm_retries = 0
redact_campaigns = BANK=all, SALES=none
redact_dir = $T/redacted
$2
EOC
}
config "$T/mute.conf" "redact_audio = mute"

# ---- a bad setting ------------------------------------------------------------------------
config "$T/bad.conf" "redact = card,pin"
"$CQ" worker --db "$T/bad.db" --config "$T/bad.conf" --once --max-load 0 --no-idle \
    > "$T/bad.out" 2>&1
check "a bad type stops the worker (exit 2), naming the setting and the type" \
    sh -c "[ $? -eq 2 ] && grep -q 'redact: .*pin' '$T/bad.out'"
"$CQ" serve --db "$T/bad.db" --config "$T/bad.conf" --no-auth --listen "127.0.0.1:$(free_port)" \
    > "$T/bad2.out" 2>&1
check "... and the service" sh -c "[ $? -eq 2 ] && grep -q 'redact: .*pin' '$T/bad2.out'"

# ---- two calls, one redacted -------------------------------------------------------------------
serve_start "$T/mute.conf"
upload B1 BANK "$C/call06_ivr_dtmf.wav"
upload S1 SALES "$C/call06_ivr_dtmf.wav"
# a BANK call uploaded with its capture (SIP INFO digits 1342): the capture is not kept
code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
    -F "metadata={\"recording_id\":\"B2\",\"agent_user\":\"ann\",\"campaign_id\":\"BANK\",\"call_date\":\"$(date +%F) 09:00:00\"};type=application/json" \
    -F "audio=@$C/call06_ivr_dtmf.wav" -F "capture=@$SH/corpus/pcaps/dtmf_sipinfo.pcap" "$U/api/qa/calls")
check "an upload with its capture: 201, the capture kept for the worker" \
    sh -c "[ $code = 201 ] && grep -q '\"capture\":true' '$T/up.json'"
# a BANK call with pause and resume marks sent while it was recorded (POST /api/qa/marks)
code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
    -F "metadata={\"recording_id\":\"B3\",\"uniqueid\":\"1764100000.42\",\"agent_user\":\"ann\",\"campaign_id\":\"BANK\",\"call_date\":\"$(date -d '-1 hour' '+%F %T')\"};type=application/json" \
    -F "audio=@$C/call06_ivr_dtmf.wav" "$U/api/qa/calls")
EPOCH=$(sq "SELECT call_epoch FROM calls WHERE recording_id = 'B3'")
mark() { # mark BODY: the status
    curl -s -o "$T/mark.json" -w '%{http_code}' -H 'Content-Type: application/json' -d "$1" "$U/api/qa/marks"
}
check "marks: a pause and a resume by the call's uniqueid (201)" sh -c "[ $code = 201 ] && \
    [ \$(python3 -c 'import sys; print(float(sys.argv[1]) > 0)' '$EPOCH') = True ]"
check "marks: pause at 40 s" [ "$(mark "{\"call\": \"1764100000.42\", \"mark\": \"pause\", \"at\": $(python3 -c "print($EPOCH + 40)")}")" = 201 ]
check "marks: resume at 45 s" [ "$(mark "{\"call\": \"1764100000.42\", \"mark\": \"resume\", \"at\": $(python3 -c "print($EPOCH + 45)")}")" = 201 ]
check "marks: a bad mark refused (400)" [ "$(mark '{"call": "x", "mark": "stop"}')" = 400 ]
check "marks: a time ahead refused (400)" [ "$(mark "{\"call\": \"x\", \"mark\": \"pause\", \"at\": $(($(date +%s) + 3600))}")" = 400 ]
worker "$T/mute.conf"
B=$(sq "SELECT id FROM calls WHERE recording_id = 'B1'")
S=$(sq "SELECT id FROM calls WHERE recording_id = 'S1'")
B2=$(sq "SELECT id FROM calls WHERE recording_id = 'B2'")
check "the four calls complete" [ "$(sq "SELECT COUNT(*) FROM jobs WHERE state = 'complete'")" = 4 ]
B3=$(sq "SELECT id FROM calls WHERE recording_id = 'B3'")
sq "SELECT report FROM analyses WHERE call_id = $B3" > "$T/b3.json"
check "marks: the copy silent from the pause to the resume (40-45 s), verified" python3 - "$T/redacted/$B3.wav" "$T/b3.json" <<'EOF2'
import json, struct, sys, wave
w = wave.open(sys.argv[1])
rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
x = struct.unpack("<%dh" % (n * ch), w.readframes(n))
r = json.load(open(sys.argv[2]))["redaction"]
assert r["audio"]["pauses"] == 1 and r["verify"]["ok"] is True, r
seg = x[int(39.8 * rate) * ch:int(45.2 * rate) * ch]
assert max(abs(v) for v in seg) == 0, "the paused span is not silent"
assert max(abs(v) for v in x[int(36 * rate) * ch:int(39.5 * rate) * ch]) > 1000, "before the pause: silent"
EOF2
sq "SELECT report FROM analyses WHERE call_id = $B2" > "$T/b2.json"
check "BANK with a capture: its findings read, the capture deleted, its SIP INFO digits masked" python3 - "$T/b2.json" "$T" <<'EOF2'
import glob, json, sys
r = json.load(open(sys.argv[1]))
assert "network" in r, list(r)
assert r["redaction"]["capture"].startswith("deleted"), r["redaction"]
assert "1342" not in open(sys.argv[1]).read()
assert not glob.glob(sys.argv[2] + "/**/*.pcap", recursive=True), glob.glob(sys.argv[2] + "/**/*.pcap", recursive=True)
EOF2
check "BANK: redaction ok, a copy recorded" \
    [ "$(sq "SELECT redaction || '|' || redacted_audio FROM analyses WHERE call_id = $B")" = "ok|$T/redacted/$B.wav" ]
check "SALES: not redacted" [ "$(sq "SELECT COALESCE(redaction, 'null') FROM analyses WHERE call_id = $S")" = null ]
check "the copy is mode 0600, its folder 0700" \
    [ "$(stat -c %a "$T/redacted/$B.wav")/$(stat -c %a "$T/redacted")" = 600/700 ]
sq "SELECT text FROM transcripts WHERE call_id = $B" > "$T/b.txt"
sq "SELECT text FROM transcripts WHERE call_id = $S" > "$T/s.txt"
check "BANK: the transcript holds [CARD], [CVV] and [PHONE]" \
    sh -c "grep -q '\[CARD\]' '$T/b.txt' && grep -q '\[CVV\]' '$T/b.txt' && grep -q '\[PHONE\]' '$T/b.txt'"
check "BANK: none of the numbers' words are left" sh -c "! grep -qiE 'one one one|seven three seven|nine eight seven' '$T/b.txt'"
check "SALES: the transcript as it came" grep -q "four one one one" "$T/s.txt"
sq "SELECT report FROM analyses WHERE call_id = $B" > "$T/b.json"
sq "SELECT report FROM analyses WHERE call_id = $S" > "$T/s.json"
check "BANK: the report's keyed digits masked, its redaction verified" python3 - "$T/b.json" "$T/s.json" <<'EOF'
import json, sys
b, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
dt = [e for e in b["events"] if e["type"] == "dtmf"]
assert dt and all(e["digits"] == "*****" for e in dt), dt
assert "8275" not in open(sys.argv[1]).read()
assert [e["digits"] for e in s["events"] if e["type"] == "dtmf"] == ["8275#"], s["events"]
assert "redaction" not in s
r = b["redaction"]
assert r["counts"].get("card") == 1 and r["counts"].get("cvv") == 1 and r["counts"].get("phone") == 1, r
v = r["verify"]
assert v["ok"] is True and v["luhn_runs"] == 0 and v["detector_hits"] == 0, v
assert v["dtmf_digits"] == 0 and v["intervals_not_covered"] == 0 and v["intervals_checked"] >= 2, v
a = r["audio"]
assert a["mode"] == "mute" and a["dtmf_runs"] == 1 and a["file"].endswith(".wav"), a
sp = {x["type"] for x in r["spans"]}
assert {"card", "cvv", "phone"} <= sp, r["spans"]
EOF
check "BANK: the copy is silent over the keyed digits and the card's words, and sound elsewhere" \
    python3 - "$T/redacted/$B.wav" "$T/b.json" <<'EOF'
import json, struct, sys, wave
w = wave.open(sys.argv[1])
rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
x = struct.unpack("<%dh" % (n * ch), w.readframes(n))
r = json.load(open(sys.argv[2]))["redaction"]
def peak(a, b):
    return max(abs(v) for v in x[int(a * rate) * ch:int(b * rate) * ch] or [0])
assert rate == 8000 and ch == 2, (rate, ch)
assert peak(26.10, 27.00) == 0, "the keyed digits (26.10-27.00 s) are not silent"
# the STM line's 20 words spread evenly over 57.3-59.2 s: the card's 16 are 57.68-59.2 s
assert peak(57.70, 59.20) == 0, "the card's words (57.7-59.2 s) are not silent"
for s in r["spans"]:
    assert peak(s["start"], s["end"]) == 0, s
assert peak(0.5, 20) > 1000 and peak(51.3, 56.0) > 1000, "the rest of the call lost its sound"
EOF
"$CQ" analyze --json -q --only events "$T/redacted/$B.wav" > "$T/copy.json" 2>/dev/null
check "the copy, analysed again: no keyed digits" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert not [e for e in r["events"] if e["type"] == "dtmf"], r["events"]
' "$T/copy.json"

# ---- served: the copy for BANK, the recording for SALES ---------------------------------------
curl -s -o "$T/b.wav" "$U/api/qa/call/B1/audio"
curl -s -o "$T/s.wav" "$U/api/qa/call/S1/audio"
check "BANK's audio is the redacted copy" cmp -s "$T/b.wav" "$T/redacted/$B.wav"
check "BANK's other legs are not served" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/qa/call/B1/audio?leg=in")" = 200 ] # the copy again
check "SALES' audio is the recording" cmp -s "$T/s.wav" "$C/call06_ivr_dtmf.wav"
curl -s "$U/api/qa/call/B1" > "$T/b_call.json"
check "the call's audio block says redacted, one file" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["audio"]
assert a["legs"] == ["mix"] and a["redacted"] is True, a
' "$T/b_call.json"

# ---- an analysis on demand: keyed digits masked before it is stored or answered --------------
curl -s -o "$T/adhoc.json" -X POST --data-binary "@$C/call06_ivr_dtmf.wav" "$U/analyze?name=c6.wav"
check "POST /analyze with redaction on: the digits masked in the answer" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert [e["digits"] for e in r["events"] if e["type"] == "dtmf"] == ["*****"], r.get("events")
' "$T/adhoc.json"
check "... and in what was stored" sh -c "[ \$(sqlite3 '$T/qa.db' \"SELECT COUNT(*) FROM analyses WHERE call_id IS NULL AND report LIKE '%*****%'\") = 1 ] && ! sqlite3 '$T/qa.db' \"SELECT report FROM analyses WHERE call_id IS NULL\" | grep -q 8275"

# ---- a transcript imported: redacted before it is stored ------------------------------------
printf '%s' '{"segments": [{"speaker": "customer", "start": 57.3, "end": 59.2, "text": "card 4111 1111 1111 1111 thanks"}]}' > "$T/imp.json"
check "import (POST): 200" [ "$(curl -s -o "$T/imp.out" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$T/imp.json" "$U/api/qa/call/B1/transcript")" = 200 ]
check "import (POST): stored as [CARD]" sh -c "sqlite3 '$T/qa.db' 'SELECT text FROM transcripts WHERE call_id = $B' | grep -q '\[CARD\]' && ! grep -q 4111 '$T/imp.out'"
serve_stop
"$CQ" transcript import --db "$T/qa.db" --call B1 --config "$T/mute.conf" "$T/imp.json" > "$T/imp2.out" 2>&1
check "import (CLI): stored as [CARD], and says so" sh -c "grep -q '1 entities redacted' '$T/imp2.out' && sqlite3 '$T/qa.db' 'SELECT text FROM transcripts WHERE call_id = $B' | grep -q '\[CARD\]'"
"$CQ" transcript import --db "$T/qa.db" --call S1 --config "$T/mute.conf" "$T/imp.json" > "$T/imp3.out" 2>&1
check "import (CLI) into SALES: kept as it came" sh -c "sqlite3 '$T/qa.db' 'SELECT text FROM transcripts WHERE call_id = $S' | grep -q '4111'"

# ---- nothing kept holds the card ---------------------------------------------------------------
sqlite3 "$T/qa.db" .dump > "$T/dump.sql"
check "the fake LLM was asked (scoring ran on the redacted transcript)" \
    sh -c "ls '$T/llm'/body-*.json > /dev/null 2>&1"
# the LLM's requests: BANK's holds [CARD]; SALES' (not redacted) is the one with the card
BANK_BODIES=$(grep -l '\[CARD\]' "$T/llm"/body-*.json)
check "the LLM was sent BANK's redacted transcript" [ -n "$BANK_BODIES" ]
check "exactly one request to the LLM holds the card: SALES'" \
    [ "$(grep -l 'four one one one' "$T/llm"/body-*.json | wc -l)" = 1 ]
# shellcheck disable=SC2086 # the files are words
check "no Luhn-valid run nor the card in the BANK call's rows, the logs, its LLM requests" \
    python3 "$HERE/luhn_scan.py" --planted "$CARD" "$T/worker.log" "$T/serve.log" $BANK_BODIES \
    "$T/b.json" "$T/b.txt"
sq "SELECT s.detail FROM scores s WHERE s.call_id = $B" > "$T/b_score.json"
check "nor in its score" python3 "$HERE/luhn_scan.py" --planted "$CARD" "$T/b_score.json"
check "the search index: the card found for SALES, not for BANK" \
    [ "$(sq "SELECT COUNT(*) > 0 FROM transcript_fts WHERE transcript_fts MATCH '4111' AND call_id = $S")/$(sq "SELECT COUNT(*) FROM transcript_fts WHERE transcript_fts MATCH 'four OR 4111' AND call_id = $B")" = 1/0 ]

# ---- held back ---------------------------------------------------------------------------------
sq "UPDATE analyses SET redaction = 'failed' WHERE call_id = $B"
serve_start "$T/mute.conf"
check "a failed check: 403 held_back" \
    [ "$(curl -s -o "$T/held.json" -w '%{http_code}' "$U/api/qa/call/B1/audio")" = 403 ]
check "... saying so" grep -q held_back "$T/held.json"
sq "UPDATE analyses SET redaction = NULL, redacted_audio = NULL WHERE call_id = $B"
check "a redacted campaign's call without a copy: 403 not_redacted" \
    [ "$(curl -s -o "$T/pend.json" -w '%{http_code}' "$U/api/qa/call/B1/audio")" = 403 ]
check "the SALES call still served" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/qa/call/S1/audio")" = 200 ]
serve_stop

# ---- the tone ----------------------------------------------------------------------------------
config "$T/tone.conf" "redact_audio = tone"
"$CQ" requeue --db "$T/qa.db" --since "$(date +%F)" >> "$T/worker.log" 2>&1
worker "$T/tone.conf"
sq "SELECT report FROM analyses WHERE call_id = $B" > "$T/t.json"
check "tone: verified, the spans hold the 1 kHz tone" python3 - "$T/redacted/$B.wav" "$T/t.json" <<'EOF'
import json, math, struct, sys, wave
w = wave.open(sys.argv[1])
rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
x = struct.unpack("<%dh" % (n * ch), w.readframes(n))
r = json.load(open(sys.argv[2]))["redaction"]
assert r["audio"]["mode"] == "tone" and r["verify"]["ok"] is True, r
a, b = int(26.2 * rate), int(26.9 * rate)
for c in range(ch):
    s = [x[i * ch + c] for i in range(a, b)]
    re_ = sum(v * math.cos(2 * math.pi * 1000 * (a + i) / rate) for i, v in enumerate(s))
    im = sum(v * math.sin(2 * math.pi * 1000 * (a + i) / rate) for i, v in enumerate(s))
    p1k = 2 * (re_ * re_ + im * im) / len(s) ** 2
    pall = sum(v * v for v in s) / len(s)
    assert pall > 0 and p1k / pall > 0.99, (c, p1k, pall)
EOF
fake_stop

# ---- redaction turned on for SALES later: callqa store redact ------------------------------
config "$T/later.conf" "redact_audio = mute
redact = all"
sed -i 's/^redact_campaigns = .*/redact_campaigns = BANK=all/' "$T/later.conf"
sqlite3 "$T/qa.db" .dump > "$T/before.sql"
"$CQ" store redact --db "$T/qa.db" --since "$(date +%F)" --config "$T/later.conf" --dry-run > "$T/dry.out" 2>&1
sqlite3 "$T/qa.db" .dump > "$T/after_dry.sql"
check "store redact --dry-run: says what it would do, changes nothing" \
    sh -c "grep -q 'would redact 1 calls' '$T/dry.out' && cmp -s '$T/before.sql' '$T/after_dry.sql'"
"$CQ" store redact --db "$T/qa.db" --since "$(date +%F)" --config "$T/later.conf" > "$T/red.out" 2>&1
check "store redact: SALES redacted (its transcript and report)" \
    sh -c "grep -q 'redacted 1 calls' '$T/red.out' && grep -q 'transcript; report' '$T/red.out'"
sq "SELECT text FROM transcripts WHERE call_id = $S" > "$T/s2.txt"
sq "SELECT report FROM analyses WHERE call_id = $S" > "$T/s2.json"
check "store redact: SALES' transcript holds [CARD], the card gone from it and from its index" \
    sh -c "grep -q '\[CARD\]' '$T/s2.txt' && ! grep -q 4111 '$T/s2.txt' && [ \$(sqlite3 '$T/qa.db' \"SELECT COUNT(*) FROM transcript_fts WHERE transcript_fts MATCH '4111' AND call_id = $S\") = 0 ]"
check "store redact: SALES' report's digits masked, its redaction said" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert [e["digits"] for e in r["events"] if e["type"] == "dtmf"] == ["*****"], r["events"]
assert r["redaction"]["applied"] == "callqa store redact" and r["redaction"]["counts"]["card"] == 1, r["redaction"]
' "$T/s2.json"
check "store redact: nothing of SALES holds the card any more" python3 "$HERE/luhn_scan.py" \
    --planted "$CARD" "$T/s2.txt" "$T/s2.json"
serve_start "$T/later.conf"
check "store redact: SALES' audio now held back until it is analysed again (not_redacted)" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/api/qa/call/S1/audio")" = 403 ]
serve_stop
"$CQ" store redact --db "$T/qa.db" --since "$(date +%F)" --config "$T/later.conf" > "$T/red2.out" 2>&1
check "store redact again: nothing left to redact in the transcript" \
    sh -c "! grep -q 'transcript' '$T/red2.out' && grep -q 'redacted 1 calls' '$T/red2.out'"
# ---- retention: the redacted copy is callqa's own audio, purged with it ----------------------
cp "$T/later.conf" "$T/purge.conf"
echo "retain_audio_days = 1" >> "$T/purge.conf"
check "the copy is there before the purge" [ -f "$T/redacted/$B.wav" ]
"$CQ" store purge --db "$T/qa.db" --config "$T/purge.conf" --now "$(date -u -d '+3 days' +%FT%TZ)" \
    > "$T/purge.out" 2>&1
check "store purge: the redacted copy deleted, its path cleared" \
    sh -c "[ ! -e '$T/redacted/$B.wav' ] && [ \"\$(sqlite3 '$T/qa.db' 'SELECT COALESCE(redacted_audio, 0) FROM analyses WHERE call_id = $B')\" = 0 ]"
finish "redaction in the pipeline"
