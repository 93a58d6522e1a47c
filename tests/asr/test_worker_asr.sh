#!/bin/sh
# test_worker_asr.sh - the QA pipeline's transcribing stage against the fake server
# (tests/asr/fake_asr.py): calls uploaded through `callqa serve`, `callqa worker --once` with
# asr_url in its config file, then
#   - each call complete with its transcript stored, and its job's stages saying so;
#   - /api/qa/call/{id}: transcript (the text), language, word_count, transcription_time and
#     the transcript's detail; /api/qa/search finds words with the segment, speaker, times and
#     character offsets, filtered by agent;
#   - the ASR server failing: retried, then the job in `error` with error_stage transcribing and
#     the reason, its analysis kept; `callqa requeue` and a working server then complete it.
#   usage: test_worker_asr.sh BUILD/callqa SHARED_DIR
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
SERVE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
    [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
. "$HERE/../pipeline/pipeline_lib.sh"
export CALLQA_MODEL_DIR="$SH/models"

fake_start() { # fake_start LOGDIR ARGS...
    d=$1
    shift
    mkdir -p "$d"
    python3 "$HERE/fake_asr.py" --log "$d" --port-file "$d/port" "$@" 2> "$d/fake.err" &
    FAKE=$!
    for _ in $(seq 1 100); do
        [ -s "$d/port" ] && break
        sleep 0.05
    done
    [ -s "$d/port" ] || { echo "the fake did not start: $(cat "$d/fake.err")"; exit 1; }
    URL="http://127.0.0.1:$(cat "$d/port")"
}
fake_stop() {
    kill "$FAKE" 2>/dev/null
    wait "$FAKE" 2>/dev/null
    FAKE=""
}
worker() { # worker DB CONFIG: one --once run
    "$CQ" worker --db "$1" --config "$2" --once --jobs 2 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$1.log" 2>&1
}
sq() { python3 -c 'import sqlite3,sys; print("\n".join("|".join("" if v is None else str(v) for v in r) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))' "$@"; }

DB=$T/qa.db
serve_start "$DB"
upload A1 "audio=@$C/call01_normal.wav"
upload A2 "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
upload A3 "audio=@$C/call13_mono_diarization.wav"
serve_stop

# ---- transcribed: stored, shown, searchable ---------------------------------------------------
fake_start "$T/ok" --protocol openai --mode openai,words
cat > "$T/asr.conf" <<EOF
asr_url = $URL/v1
asr_model = whisper-large-v3
asr_language = en
EOF
worker "$DB" "$T/asr.conf"
fake_stop
check "every call complete" [ "$(sq "$DB" "SELECT COUNT(*) FROM jobs WHERE state = 'complete'")" = 3 ]
check "a transcript per call" [ "$(sq "$DB" "SELECT COUNT(*) FROM transcripts WHERE word_count > 0 AND engine = 'openai' AND language = 'en'")" = 3 ]
check "the stages say transcribed" [ "$(sq "$DB" "SELECT COUNT(*) FROM jobs WHERE json_extract(stages, '$.transcribe') = 'done'")" = 3 ]
check "the configuration's hash kept with each" [ "$(sq "$DB" "SELECT COUNT(DISTINCT config_hash) FROM transcripts WHERE length(config_hash) = 64")" = 1 ]
check "the fake got every chunk as 16 kHz mono PCM16" python3 -c '
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
print(len(rs), "requests")
sys.exit(0 if rs and all(not r["violations"] and r["status"]==200 for r in rs) else 1)' "$T/ok/requests.jsonl"

serve_start "$DB"
curl -s "$U/api/qa/call/A2" > "$T/a2.json"
check "/api/qa/call: the transcript's text, language, word_count, transcription_time" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
t=d["transcript"]; print(d["language"], d["word_count"], d["transcription_time"], t[:60])
ok=t and t.startswith(("agent: ","customer: ")) and d["language"]=="en" and d["word_count"]>0 and d["transcription_time"]>=0
det=d["transcript_detail"]; ok=ok and {l["role"] for l in det["legs"]}=={"customer","agent"}
sys.exit(0 if ok else 1)' "$T/a2.json"
curl -s "$U/api/qa/call/A3" > "$T/a3.json"
check "a mono call: one mixed speaker, with the warning" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))["transcript_detail"]
sys.exit(0 if [l["role"] for l in d["legs"]]==["mixed"] and d["warnings"] else 1)' "$T/a3.json"
curl -s "$U/api/qa/search?q=alpha%20bravo" > "$T/s1.json"
check "/api/qa/search: every call, hits with offsets on the words" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); calls=d["calls"]
hit=calls[0]["hits"][0]; t=hit["text"]; o=hit["offsets"]
print(len(calls), "calls;", hit)
ok=len(calls)==3 and all(t[a:b].lower() in ("alpha","bravo") for a,b in o) and len(o)>=2 and hit["speaker"] in ("agent","customer","mixed") and hit["end"]>hit["start"]
sys.exit(0 if ok else 1)' "$T/s1.json"
curl -s "$U/api/qa/search?q=%22alpha%20bravo%22&agent=nobody" > "$T/s2.json"
check "/api/qa/search: an agent's filter" python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["calls"]==[] else 1)' "$T/s2.json"
code=$(curl -s -o "$T/s3.json" -w '%{http_code}' "$U/api/qa/search?q=%22%22")
check "/api/qa/search: no words is a 400" [ "$code" = 400 ]
code=$(curl -s -o "$T/s4.json" -w '%{http_code}' "$U/api/qa/search?q=NEAR%28a%20b%29%20OR%20*%20%22")
check "/api/qa/search: FTS5 syntax in q is only words" [ "$code" = 200 ]
serve_stop

# ---- the server fails: error at transcribing, the analysis kept; requeued, completed ----------
DB2=$T/fail.db
serve_start "$DB2"
upload F1 "audio=@$C/call12_overtalk.wav"
serve_stop
fake_start "$T/fail" --protocol openai --mode openai --fail 500
cat > "$T/fail.conf" <<EOF
asr_url = $URL/v1
asr_model = whisper-large-v3
asr_retries = 0
EOF
worker "$DB2" "$T/fail.conf"
sleep 1
worker "$DB2" "$T/fail.conf" # the retry, after its backoff
fake_stop
check "a failing server: the job in error" [ "$(sq "$DB2" "SELECT state FROM jobs")" = error ]
check "a failing server: error_stage transcribing" [ "$(sq "$DB2" "SELECT error_stage FROM jobs")" = transcribing ]
check "a failing server: the reason" python3 -c '
import sqlite3,sys
m=sqlite3.connect(sys.argv[1]).execute("SELECT error_message FROM jobs").fetchone()[0]
print(m); sys.exit(0 if m.startswith("transcription: ") and "HTTP 500" in m else 1)' "$DB2"
check "a failing server: the analysis kept" [ "$(sq "$DB2" "SELECT COUNT(*) FROM analyses")" = 1 ]
check "a failing server: no transcript" [ "$(sq "$DB2" "SELECT COUNT(*) FROM transcripts")" = 0 ]
"$CQ" requeue --db "$DB2" --since 2000-01-01 >> "$DB2.log" 2>&1
fake_start "$T/fixed" --protocol openai --mode openai
sed "s|^asr_url = .*|asr_url = $URL/v1|" "$T/fail.conf" > "$T/fixed.conf"
worker "$DB2" "$T/fixed.conf"
fake_stop
check "requeued with a working server: complete" [ "$(sq "$DB2" "SELECT state FROM jobs")" = complete ]
check "requeued with a working server: transcribed" [ "$(sq "$DB2" "SELECT COUNT(*) FROM transcripts")" = 1 ]
finish "transcription (worker)"
