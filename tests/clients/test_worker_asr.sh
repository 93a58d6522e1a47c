#!/bin/sh
# test_worker_asr.sh - the QA pipeline's transcribing stage against the fake server
# (tests/clients/fake_asr.py): calls uploaded through `callqa serve`, `callqa worker --once` with
# asr_url in its config file, then
#   - each call complete with its transcript stored, and its job's stages saying so;
#   - /api/qa/call/{id}: transcript (the text), language, word_count, transcription_time and
#     the transcript's detail; the mono call (call13, two talkers) transcribed per diarized
#     speaker, S1 and S2, one speaker's chunk per request; /api/qa/search finds words with the segment, speaker, times and
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
    store_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
. "$HERE/asr_lib.sh"
. "$HERE/../pipeline/pipeline_lib.sh"
. "$HERE/../lib/store_lib.sh"
store_setup "$T"
export CALLQA_MODEL_DIR="$SH/models"

worker() { # worker DB CONFIG: one --once run (its log: $T/NAME.log)
    "$CQ" worker --db "$1" --config "$2" --once --jobs 2 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$T/$(store_name "$1").log" 2>&1
}
sq() { store_sql "$@"; }

DB=$(test_store "$T" qa) || exit 1
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
check "the stages say transcribed" [ "$(sq "$DB" "SELECT COUNT(*) FROM jobs WHERE $(store_json stages transcribe) = 'done'")" = 3 ]
check "the configuration's hash kept with each" [ "$(sq "$DB" "SELECT COUNT(DISTINCT config_hash) FROM transcripts WHERE length(config_hash) = 64")" = 1 ]
# ---- scored on the transcript, with no LLM configured (docs/scoring.md) ----------------------
check "scored: a scores row per call, with the card's hash" [ "$(sq "$DB" "SELECT COUNT(*) FROM scores WHERE length(scorecard_hash) = 64")" = 3 ]
check "scored: the stages say score done" [ "$(sq "$DB" "SELECT COUNT(*) FROM jobs WHERE $(store_json stages score) = 'done'")" = 3 ]
check "scored: rules on every call, the LLM's categories null, no total" [ "$(sq "$DB" "SELECT COUNT(*) FROM scores WHERE greeting IS NOT NULL AND closing IS NOT NULL AND compliance IS NOT NULL AND needs IS NULL AND product IS NULL AND resolution IS NULL AND total_score IS NULL AND partial_score IS NOT NULL")" = 3 ]
check "scored: communication measured on the stereo calls" [ "$(sq "$DB" "SELECT COUNT(*) FROM scores s JOIN calls c ON c.id = s.call_id WHERE c.recording_id IN ('A1', 'A2') AND communication IS NOT NULL")" = 2 ]
sq "$DB" "SELECT s.detail FROM scores s JOIN calls c ON c.id = s.call_id WHERE c.recording_id = 'A2'" > "$T/score_a2.json"
sq "$DB" "SELECT t.detail FROM transcripts t JOIN calls c ON c.id = t.call_id WHERE c.recording_id = 'A2'" > "$T/tx_a2.json"
check "scored: what was not scored says why, every quote is the transcript's words at its time" python3 -c '
import json, re, sys
sc, tx = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert sc["categories"]["needs"]["reason"] == "not scored: no LLM configured", sc["categories"]["needs"]
assert {n["category"] for n in sc["not_scored"]} == {"needs", "product", "resolution"}, sc["not_scored"]
norm = lambda t: " ".join(re.sub(r"[^a-z0-9 ]", " ", t.lower()).split())
segs = [(l["role"], g["start"], g["end"], norm(g["text"])) for l in tx["legs"] for g in l["segments"]]
n = 0
for c in sc["categories"].values():
    for e in c["evidence"]:
        if "quote" not in e:
            continue
        n += 1
        assert any(r == e["speaker"] and abs(a - e["start"]) < 0.01 and norm(e["quote"]) in t
                   for r, a, b, t in segs), e
print(n, "quotes checked")
' "$T/score_a2.json" "$T/tx_a2.json"
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
check "a mono call of two speakers: transcribed per diarized speaker, S1 and S2" python3 -c '
import json,sys
c=json.load(open(sys.argv[1])); d=c["transcript_detail"]
legs=[(l["role"], l["speaker"]) for l in d["legs"]]; print(legs, d["speakers_from"], d["diarization"])
ok=legs==[("mixed","S1"),("mixed","S2")] and d["speakers_from"]=="diarization" and not d["warnings"]
ok=ok and 0 < d["diarization"]["confidence"] <= 1 and {u["speaker"] for u in d["turns"]}=={"S1","S2"}
ok=ok and all(x.split(": ")[0] in ("S1","S2") for x in c["transcript"].split("\n"))
sys.exit(0 if ok else 1)' "$T/a3.json"
check "a mono call of two speakers: each request a chunk of one speaker (S1_, S2_)" python3 -c '
import json,sys
d=json.load(open(sys.argv[2]))["transcript_detail"]
files={c["file"] for l in d["legs"] for c in l["chunks"]}
got={json.loads(x)["file"]["filename"] for x in open(sys.argv[1]) if json.loads(x).get("endpoint")=="transcribe"}
print(len(files), "chunks of the mono call")
sys.exit(0 if files and files <= got and all(f[:3] in ("S1_","S2_") for f in files) else 1)' "$T/ok/requests.jsonl" "$T/a3.json"
curl -s "$U/api/qa/search?q=alpha%20bravo" > "$T/s1.json"
check "/api/qa/search: every call, hits with offsets on the words" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); calls=d["calls"]
hit=calls[0]["hits"][0]; t=hit["text"]; o=hit["offsets"]
print(len(calls), "calls;", hit)
ok=len(calls)==3 and all(t[a:b].lower() in ("alpha","bravo") for a,b in o) and len(o)>=2 and hit["speaker"] in ("agent","customer","mixed","S1","S2") and hit["end"]>hit["start"]
sys.exit(0 if ok else 1)' "$T/s1.json"
curl -s "$U/api/qa/search?q=%22alpha%20bravo%22&agent=nobody" > "$T/s2.json"
check "/api/qa/search: an agent's filter" python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["calls"]==[] else 1)' "$T/s2.json"
code=$(curl -s -o "$T/s3.json" -w '%{http_code}' "$U/api/qa/search?q=%22%22")
check "/api/qa/search: no words is a 400" [ "$code" = 400 ]
code=$(curl -s -o "$T/s4.json" -w '%{http_code}' "$U/api/qa/search?q=NEAR%28a%20b%29%20OR%20*%20%22")
check "/api/qa/search: FTS5 syntax in q is only words" [ "$code" = 200 ]
# imports: OpenAI verbose_json for one leg through the route; callqa's format from the CLI
cat > "$T/vj.json" <<'JSON'
{"task":"transcribe","language":"english","duration":10.0,"text":"Hello, thank you for calling.",
 "segments":[{"id":0,"seek":0,"start":1.2,"end":3.0,"text":" Hello, thank you for calling.",
   "tokens":[1],"temperature":0.0,"avg_logprob":-0.2,"compression_ratio":1.1,"no_speech_prob":0.01}]}
JSON
code=$(curl -s -o "$T/imp1.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$T/vj.json" "$U/api/qa/call/A3/transcript?speaker=mixed")
check "import (route, OpenAI verbose_json): stored" [ "$code" = 200 ]
curl -s "$U/api/qa/call/A3" > "$T/a3b.json"
check "import: the call shows the imported text" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); print(d["transcript"], d["word_count"], d["language"])
sys.exit(0 if d["transcript"]=="mixed: Hello, thank you for calling." and d["word_count"]==5 and d["language"]=="en" and d["transcript_detail"]["engine"]=="import" else 1)' "$T/a3b.json"
code=$(curl -s -o "$T/imp2.json" -w '%{http_code}' --data-binary @"$T/vj.json" "$U/api/qa/call/A3/transcript")
check "import: OpenAI verbose_json without its speaker is a 400" [ "$code" = 400 ]
code=$(curl -s -o "$T/imp3.json" -w '%{http_code}' --data-binary '{"segments":[{"speaker":"boss","start":0,"end":1,"text":"x"}]}' "$U/api/qa/call/A3/transcript")
check "import: an unknown speaker is a 400" [ "$code" = 400 ]
code=$(curl -s -o "$T/imp4.json" -w '%{http_code}' --data-binary @"$T/vj.json" "$U/api/qa/call/NOPE/transcript?speaker=agent")
check "import: an unknown call is a 404" [ "$code" = 404 ]
serve_stop
cat > "$T/ours.json" <<'JSON'
{"segments":[{"speaker":"agent","start":0.6,"end":5.5,"text":"Good morning, this is Ann at ACME bank."},
 {"speaker":"customer","start":6.6,"end":12.0,"text":"I would like to check my savings balance."},
 {"speaker":"agent","start":35.0,"end":37.0,"text":"Thank you for watching."}]}
JSON
"$CQ" transcript import --db "$DB" --call A1 "$T/ours.json" > "$T/imp5.out" 2>&1
check "import (CLI, callqa's format): stored" grep -q "words in" "$T/imp5.out"
check "import (CLI): checked against the analysed speech" python3 -c '
import storedb,sys,json
db=storedb.connect(sys.argv[1])
r=db.execute("SELECT t.engine, t.detail FROM transcripts t JOIN calls c ON c.id = t.call_id WHERE c.recording_id = ?", ("A1",)).fetchone()
d=json.loads(r[1]); g=d["guard"]; print(r[0], g)
ok=r[0]=="import" and {l["role"] for l in d["legs"]}=={"agent","customer"} and g["words"]==20
ok=ok and [x["reason"] for x in g["dropped"]]==["known_phrase"] and g["dropped"][0]["start"]==35.0
sys.exit(0 if ok else 1)' "$DB"
check "import: the search sees it" python3 -c '
import storedb,sys
db=storedb.connect(sys.argv[1])
n=db.execute(db.search_sql("COUNT(*)"), ("savings",)).fetchone()[0]
sys.exit(0 if n==1 else 1)' "$DB"

# ---- a language per campaign -----------------------------------------------------------------
DB3=$(test_store "$T" lang) || exit 1
serve_start "$DB3"
code=$(curl -s -o "$T/up3.json" -w '%{http_code}' \
    -F "metadata={\"recording_id\":\"L1\",\"agent_user\":\"ann\",\"campaign_id\":\"VENTAS\",\"call_date\":\"$(date +%F) 09:00:00\"};type=application/json" \
    -F "audio=@$C/call05_ringback_answer.wav" "$U/api/qa/calls")
serve_stop
check "a call of campaign VENTAS queued" [ "$code" = 201 ]
fake_start "$T/lang" --protocol openai --mode openai,words
printf 'asr_url = %s/v1\nasr_model = m\nasr_language = en\nasr_campaign_languages = VENTAS=es, SUPPORT=fr\n' \
    "$URL" > "$T/lang.conf"
worker "$DB3" "$T/lang.conf"
fake_stop
check "its requests asked for Spanish, the campaign's language" python3 -c '
import json,sys
langs={json.loads(l)["fields"].get("language") for l in open(sys.argv[1]) if json.loads(l).get("endpoint")=="transcribe"}
print(langs); sys.exit(0 if langs=={"es"} else 1)' "$T/lang/requests.jsonl"
printf 'asr_url = http://127.0.0.1:9/v1\nasr_model = m\nasr_campaign_languages = VENTAS=spanish\n' > "$T/bad.conf"
"$CQ" worker --db "$DB3" --config "$T/bad.conf" --once --max-load 0 --no-idle > "$T/bad.out" 2>&1
echo $? > "$T/bad.rc"
check "a malformed campaign language: refused at start" [ "$(cat "$T/bad.rc")" = 2 ]
check "a malformed campaign language: says which" grep -q "VENTAS=spanish" "$T/bad.out"

# ---- the server fails: error at transcribing, the analysis kept; requeued, completed ----------
DB2=$(test_store "$T" fail) || exit 1
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
import storedb,sys
m=storedb.connect(sys.argv[1]).execute("SELECT error_message FROM jobs").fetchone()[0]
print(m); sys.exit(0 if m.startswith("transcription: ") and "HTTP 500" in m else 1)' "$DB2"
check "a failing server: the analysis kept" [ "$(sq "$DB2" "SELECT COUNT(*) FROM analyses")" = 1 ]
check "a failing server: no transcript" [ "$(sq "$DB2" "SELECT COUNT(*) FROM transcripts")" = 0 ]
"$CQ" requeue --db "$DB2" --since 2000-01-01 >> "$T/$(store_name "$DB2").log" 2>&1
fake_start "$T/fixed" --protocol openai --mode openai
sed "s|^asr_url = .*|asr_url = $URL/v1|" "$T/fail.conf" > "$T/fixed.conf"
worker "$DB2" "$T/fixed.conf"
fake_stop
check "requeued with a working server: complete" [ "$(sq "$DB2" "SELECT state FROM jobs")" = complete ]
check "requeued with a working server: transcribed" [ "$(sq "$DB2" "SELECT COUNT(*) FROM transcripts")" = 1 ]
# ---- imported before the analysis: the worker checks it and scores with it, without an ASR -----
DB4=$(test_store "$T" imported) || exit 1
serve_start "$DB4"
upload I1 "audio=@$C/call01_normal.wav"
serve_stop
"$CQ" transcript import --db "$DB4" --call I1 "$T/ours.json" > "$T/imp6.out" 2>&1
check "import before the analysis: stored unchecked" grep -q "not checked: no analysis" "$T/imp6.out"
: > "$T/none.conf"
worker "$DB4" "$T/none.conf"
check "import before the analysis: the call complete" [ "$(sq "$DB4" "SELECT state FROM jobs")" = complete ]
check "import before the analysis: checked against the worker's analysis, still imported" python3 -c '
import storedb,sys,json
db=storedb.connect(sys.argv[1])
r=db.execute("SELECT t.engine, t.config_hash, t.detail FROM transcripts t").fetchone()
d=json.loads(r[2]); g=d["guard"]; print(r[0], r[1], g)
ok=r[0]=="import" and r[1]=="import" and d["engine"]=="import" and g["words"]==20
ok=ok and [x["reason"] for x in g["dropped"]]==["known_phrase"]
sys.exit(0 if ok else 1)' "$DB4"
check "import before the analysis: the scorecard read it (the greeting names the agent)" python3 -c '
import storedb,sys,json
db=storedb.connect(sys.argv[1])
d=json.loads(db.execute("SELECT detail FROM scores").fetchone()[0])
g=d["categories"]["greeting"]; print(g.get("score"), g.get("reason"))
sys.exit(0 if g.get("score") in (4, 5) else 1)' "$DB4"
finish "transcription (worker)"
