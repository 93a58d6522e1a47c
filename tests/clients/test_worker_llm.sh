#!/bin/sh
# test_worker_llm.sh - the worker's scoring stage with an LLM, against the fakes (tests/clients/
# fake_asr.py for the transcript, tests/clients/fake_llm.py as an OpenAI-compatible provider):
#   - the card's llm categories scored by the provider, every category scored, so a total; the
#     answer's quotes checked (the fake quotes the transcript's first agent words); the LLM's
#     attempts stored with their tokens; the provider's configuration hash kept with the score;
#     the fake's own checks of each request (schema, model, key, the transcript inside its data
#     block) clean; the summary and the sentiment the LLM's, checked, and served by
#     GET /api/qa/call/{id} (score_detail, and sentiment for the timeline's lane);
#   - a provider failing (HTTP 500 on every attempt): the job still complete, its llm categories
#     "not scored: LLM failed: ...", a partial score, the failed attempts stored, the summary
#     the deterministic assessment with the failure as why, no sentiment;
#   - a daily token cap already reached: nothing sent, "not scored: llm_cap: ...".
#   usage: test_worker_llm.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/calls" ] || [ ! -d "$2/models" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
SH=$2
C=$SH/corpus/calls
HERE=$(cd "$(dirname "$0")" && pwd)
ASRDIR=$HERE/../clients
T=$(mktemp -d)
FAKE=""
LFAKE=""
SERVE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
    [ -n "$LFAKE" ] && kill "$LFAKE" 2>/dev/null
    [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null
    store_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
ASR_DIR=$ASRDIR
. "$ASRDIR/asr_lib.sh"
. "$HERE/../pipeline/pipeline_lib.sh"
. "$HERE/../lib/store_lib.sh"
store_setup "$T"
# the shared models without VADER's lexicon: the sentiment of these calls is the LLM's or null
NOVADER=$(models_without "$SH/models" "$T/novader" vader)
export CALLQA_MODEL_DIR="$NOVADER"

worker() { # worker DB CONFIG: one --once run (its log: $T/NAME.log)
    "$CQ" worker --db "$1" --config "$2" --once --jobs 1 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$T/$(store_name "$1").log" 2>&1
}
sq() { store_sql "$@"; }
llm_start() { # llm_start DIR SCENARIO-JSON: the fake provider; $LURL set
    mkdir -p "$1"
    printf '%s' "$2" > "$1/scenario.json"
    python3 "$HERE/fake_llm.py" --log "$1" --port-file "$1/port" --key sk-test-123 \
        --model fake-model --scenario "$1/scenario.json" 2> "$1/fake.err" &
    LFAKE=$!
    wait_port "$1/port" "$1/fake.err"
    LURL="http://127.0.0.1:$(cat "$1/port")/v1"
}
llm_stop() {
    kill "$LFAKE" 2>/dev/null
    wait "$LFAKE" 2>/dev/null
    LFAKE=""
}
printf 'sk-test-123\n' > "$T/key"
chmod 600 "$T/key"
config() { # config FILE LLM-URL [EXTRA-LINE]
    cat > "$1" <<EOC
asr_url = $URL/v1
asr_model = whisper-large-v3
asr_language = en
llm_provider = openai
llm_url = $2
llm_model = fake-model
llm_key_file = $T/key
llm_retries = 1
llm_timeout_sec = 20
llm_price_in = 3
llm_price_out = 15
${3:-}
EOC
}

fake_start "$T/asr" --protocol openai --mode openai,words
for which in ok fail cap; do
    db=$(test_store "$T" "$which") || exit 1
    serve_start "$db"
    upload "${which}1" "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
    serve_stop
done
OK=$(test_store "$T" ok) || exit 1
FAIL=$(test_store "$T" fail) || exit 1
CAP=$(test_store "$T" cap) || exit 1

# ---- a working provider -------------------------------------------------------------------
# (with VADER's lexicon in the model directory: the reference package's, which the build
# installs in tests/scoring/vader/, beside the shared models)
models_without "$SH/models" "$T/models" vader > /dev/null
mkdir -p "$T/models/vader"
cp "$HERE/../scoring/vader/node_modules/vader-sentiment/vader_lexicon.txt" "$T/models/vader/" ||
    echo "not ok - tests/scoring/vader/node_modules holds the reference lexicon (the build runs npm ci)"
llm_start "$T/llm-ok" '{}'
config "$T/ok.conf" "$LURL"
CALLQA_MODEL_DIR="$T/models"
worker "$OK" "$T/ok.conf"
CALLQA_MODEL_DIR="$NOVADER"
llm_stop
DB=$OK
check "with an LLM: the job complete" [ "$(sq "$DB" "SELECT state FROM jobs")" = complete ]
check "with an LLM: every category scored, a total" [ "$(sq "$DB" "SELECT COUNT(*) FROM scores WHERE total_score IS NOT NULL AND needs IS NOT NULL AND product IS NOT NULL AND resolution IS NOT NULL AND greeting IS NOT NULL AND communication IS NOT NULL AND coverage = 1")" = 1 ]
check "with an LLM: the provider and model kept, the configuration's hash" [ "$(sq "$DB" "SELECT llm_provider || '|' || llm_model || '|' || length(provider_hash) FROM scores")" = "openai|fake-model|64" ]
check "with an LLM: its attempt stored with tokens and cost" [ "$(sq "$DB" "SELECT COUNT(*) FROM llm_calls WHERE purpose = 'score' AND outcome = 'ok' AND input_tokens > 0 AND output_tokens > 0 AND cost_usd > 0 AND call_id IS NOT NULL")" = 1 ]
sq "$DB" "SELECT detail FROM scores" > "$T/ok.json"
check "with an LLM: each llm category says its engine, a reason and checked quotes" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("needs", "product", "resolution"):
    c = d["categories"][k]
    assert c["engine"] == "openai" and c["method"] == "llm" and c["reason"], c
    assert c["score"] == 2, c  # the fake answers the scale lowest + 1
    assert any("quote" in e for e in c["evidence"]) and not c.get("no_evidence"), c
assert d["not_scored"] == [], d["not_scored"]
' "$T/ok.json"
check "with an LLM: the summary the LLM's, checked (2 sentences, outcome, quotes of the call)" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
assert s["source"] == "llm" and s["model"] == "fake-model" and s["refused"] is None, s
assert s["outcome"] == "resolved" and s["reason"] and len(s["quotes"]) == 2, s
assert {q["backs"] for q in s["quotes"]} == {"reason", "outcome"}, s
' "$T/ok.json"
check "with an LLM: the store's summary column holds the LLM's checked text" [ "$(sq "$DB" "SELECT summary FROM scores")" = "The customer called about a lost debit card. The agent replaced the card and the call ended politely." ]
check "with an LLM: the sentiment per speaker per quarter from the LLM, each figure quoted" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sentiment"]
assert s["scale"] == [-5, 5] and s["source"] == {"name": "llm", "model": "fake-model"}, s
assert d["sentiment_llm"]["used"] is True and d["sentiment_llm"]["dropped"] == [], d["sentiment_llm"]
assert s["speakers"], s
for e in s["speakers"]:
    assert e["source"] == "llm" and len(e["quarters"]) == 4, e
    known = [i + 1 for i, v in enumerate(e["quarters"]) if v is not None]
    assert known and sorted(q["quarter"] for q in e["quotes"]) == known, e
    vals = [v for v in e["quarters"] if v is not None]  # the fake: agent +2, customer +1 then -3
    assert vals == ([2] * len(vals) if e["speaker"] != "customer" else [1] + [-3] * (len(vals) - 1)), e
' "$T/ok.json"
serve_start "$DB"
curl -s "$U/api/qa/call/ok1" > "$T/ok-call.json"
serve_stop
check "with an LLM: GET /api/qa/call/{id} serves the summary in score_detail and the sentiment for the lane" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
d = c["score_detail"]
assert d["summary"]["source"] == "llm" and c["summary"] == d["summary"]["text"], (c["summary"], d["summary"])
assert c["sentiment"] == d["sentiment"] and c["sentiment"]["source"]["name"] == "llm", c["sentiment"]
' "$T/ok-call.json"
check "the sentiment trend stored with the score (the LLM's, which passed), the customer's shift in its row and roll-up" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sentiment"]
assert d["sentiment_status"] == "llm fake-model" and s["source"]["name"] == "llm", d["sentiment_status"]
sp = {p["speaker"]: p for p in s["speakers"]}
assert set(sp) == {"customer", "agent"}, list(sp)
c = sp["customer"]
row = [None if v == "" else float(v) for v in sys.argv[2].split("|")]
assert row[0] == c["shift"] and row[1] == (None if s["customer_drop"] is None else float(s["customer_drop"])), (row, c)
assert sys.argv[3] == ("1" if c["shift"] is not None else "0"), sys.argv[3]
' "$T/ok.json" "$(sq "$DB" "SELECT COALESCE(CAST(customer_shift AS TEXT), '') || '|' || COALESCE(CAST(customer_drop AS TEXT), '') FROM scores")" \
    "$(sq "$DB" "SELECT SUM(cust_shift_n) FROM daily_stats")"
check "with an LLM: the fake found the request well formed (schema, key, model)" python3 -c '
import json, sys
rq = [json.loads(l) for l in open(sys.argv[1])]
assert len(rq) == 1 and rq[0]["provider"] == "openai", rq
assert not rq[0]["violations"] and rq[0]["auth"] == "ok" and rq[0]["has_schema"], rq[0]
' "$T/llm-ok/requests.jsonl"

# ---- a failing provider -------------------------------------------------------------------
llm_start "$T/llm-fail" '{"*": ["500", "500", "500", "500", "500", "500"]}'
config "$T/fail.conf" "$LURL"
worker "$FAIL" "$T/fail.conf"
llm_stop
DB=$FAIL
check "a failing LLM: the job still complete" [ "$(sq "$DB" "SELECT state FROM jobs")" = complete ]
check "a failing LLM: rules and acoustics scored, the LLM's null, no total" [ "$(sq "$DB" "SELECT COUNT(*) FROM scores WHERE total_score IS NULL AND partial_score IS NOT NULL AND needs IS NULL AND greeting IS NOT NULL")" = 1 ]
sq "$DB" "SELECT detail FROM scores" > "$T/fail.json"
check "a failing LLM: its categories say why" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["categories"]["needs"]["reason"]
assert r.startswith("not scored: LLM failed:"), r
' "$T/fail.json"
check "a failing LLM: the summary is the deterministic assessment, with the failure as why" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
assert s["source"] == "deterministic" and s["text"] and s["model"] is None, s
assert s["refused"].startswith("LLM failed:"), s
assert d["sentiment"] is None and d["sentiment_llm"]["used"] is False, d["sentiment_llm"]
' "$T/fail.json"
check "a failing LLM: the store's summary column stays empty (no LLM summary)" [ "$(sq "$DB" "SELECT COUNT(*) FROM scores WHERE summary IS NULL")" = 1 ]
serve_start "$DB"
curl -s "$U/api/qa/call/fail1" > "$T/fail-call.json"
serve_stop
check "a failing LLM: the call served with no sentiment (null, not zeros) and no summary column" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert c["sentiment"] is None and c["summary"] is None, (c["sentiment"], c["summary"])
assert c["score_detail"]["summary"]["source"] == "deterministic", c["score_detail"]["summary"]
' "$T/fail-call.json"
check "a failing LLM: the failed attempts stored (1 + 1 retry)" [ "$(sq "$DB" "SELECT COUNT(*) FROM llm_calls WHERE outcome != 'ok'")" = 2 ]

# ---- a daily cap already reached ------------------------------------------------------------
llm_start "$T/llm-cap" '{}'
config "$T/cap.conf" "$LURL" "llm_daily_token_cap = 1"
python3 -c '
import storedb, sys, time
db = storedb.connect(sys.argv[1])
now = time.time()
db.execute("INSERT INTO llm_calls (ts, day, purpose, provider, model, input_tokens, output_tokens, latency_sec, cost_usd, outcome) VALUES (?, ?, ?, ?, ?, 10, 5, 0.1, 0, ?)",
           (now, time.strftime("%Y-%m-%d", time.localtime(now)), "score", "openai", "fake-model", "ok"))
db.commit()
' "$CAP"
worker "$CAP" "$T/cap.conf"
llm_stop
DB=$CAP
check "at the cap: the job complete" [ "$(sq "$DB" "SELECT state FROM jobs")" = complete ]
sq "$DB" "SELECT detail FROM scores" > "$T/cap.json"
check "at the cap: nothing sent, the llm categories 'not scored: llm_cap'" python3 -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
r = d["categories"]["resolution"]["reason"]
assert r.startswith("not scored: llm_cap"), r
p = os.path.join(sys.argv[2], "requests.jsonl")
assert not os.path.exists(p) or not open(p).read().strip(), "a request was sent"
' "$T/cap.json" "$T/llm-cap"

fake_stop
finish "worker LLM"
