#!/bin/sh
# test_ai_analyze.sh - GET /ai-analyze end to end: `callqa serve` against a real HTTP recording
# server (python3 -m http.server) holding ViciDial legs of corpus calls, and the fake LLM
# providers (tests/clients/fake_llm.py, through tests/service/fake_llm_report.py, which also keeps
# what each request asked).
#   - the old shape (ai_analysis, model, has_legs, analysis_time_sec with their types), engine
#     and findings; without an LLM: engine rules, model null, verdicts citing the report's own
#     figures (call02 one-way audio, call03 dead air);
#   - the same bad-input answers as GET /analyze;
#   - stored apart from /analyze: served again without analysis or assessment (X-Cache, the
#     metrics), refresh=1, and a report analysed again is assessed again;
#   - with an LLM (OpenAI-compatible, then Anthropic): the answer, engine and model are the
#     provider's, the report went inside the <call_report> block, 500s and timeouts fall back
#     to rules with llm_error (not stored), a daily cap, every attempt in the store's llm_calls.
#   usage: test_ai_analyze.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2" ] || [ ! -d "$2/../models" ]; then
    echo "SKIP: $2 or its models are missing"
    exit 77
fi
CQ=$1
C=$2/calls
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    store_cleanup
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib/store_lib.sh"
store_setup "$T"
DB=$(test_store "$T" store) || exit 1
json() { # json FILE PYTHON-EXPRESSION-ON-d
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
get() { # get URL NAME: the status; the body in $T/NAME.json, the headers in $T/NAME.h
    curl -s -o "$T/$2.json" -D "$T/$2.h" -w '%{http_code}' "$1"
}
xcache() { # the X-Cache header of the answer NAME
    tr -d '\r' < "$T/$1.h" | awk -F': ' 'tolower($1) == "x-cache" { print $2 }'
}
metric() { # metric NAME-AND-LABELS: its value on /metrics
    curl -s "$U/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# ---- the recording server: the ORIG legs of calls 01, 02, 03 ----
R=$T/www/RECORDINGS
mkdir -p "$R/ORIG"
for c in 01_normal 02_one_way_audio 03_dead_air; do
    n=${c%%_*}
    sox "$C/call$c.wav" -b 16 -e signed "$R/ORIG/c$n-in.wav" remix 1
    sox "$C/call$c.wav" -b 16 -e signed "$R/ORIG/c$n-out.wav" remix 2
done
HP=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$HP" --bind 127.0.0.1 > "$T/httpd.log" 2>&1) &
PIDS="$PIDS $!"
wait_http "$HP" || { echo "the recording server did not start: $(cat "$T/httpd.log")"; exit 1; }

AP=$(free_port)
U="http://127.0.0.1:$AP"
start_service() { # start_service LOG [env assignments...]: the service, on a store kept between runs
    log=$1
    shift
    env CALLQA_TMP_DIR="$T" "$@" "$CQ" serve --listen "127.0.0.1:$AP" \
        --recording-server "uk=http://127.0.0.1:$HP/RECORDINGS" --db "$DB" --no-auth \
        > /dev/null 2> "$log" &
    SVC=$!
    PIDS="$PIDS $SVC"
    serving "$SVC" "$U/health"
}
stop_service() {
    kill -TERM "$SVC"
    wait "$SVC"
}
shape() { # shape NAME ENGINE: the old four keys with their types, engine, findings
    python3 - "$T/$1.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d["ai_analysis"], str) and d["ai_analysis"].strip(), d
assert isinstance(d["has_legs"], bool), d
assert isinstance(d["analysis_time_sec"], float) and d["analysis_time_sec"] >= 0, d
assert "model" in d
assert d["engine"] == sys.argv[2], d["engine"]
if sys.argv[2] == "rules":
    assert d["model"] is None, d["model"]
else:
    assert isinstance(d["model"], str) and d["model"], d["model"]
assert isinstance(d["findings"], list)
for f in d["findings"]:
    assert set(f) == {"code", "message", "values"}, f
EOF
}

# ---- no LLM: the assessment by rules ----
start_service "$T/serve1.log"
check "the service starts without an LLM" curl -sf -o /dev/null "$U/health"

# bad input: the same answers as GET /analyze
for q in "server=uk" "file=c02-all.wav" "server=nope&file=c02-all.wav" \
         "server=uk&file=../etc/passwd" "server=uk&file=c99-all.wav" \
         "server=http://127.0.0.1:$HP/RECORDINGS&file=c02-all.wav"; do
    a=$(get "$U/analyze?$q" an)
    b=$(get "$U/ai-analyze?$q" ai)
    ca=$(json "$T/an.json" 'd["code"]')
    cb=$(json "$T/ai.json" 'd["code"]')
    check "bad input ($q): $b $cb, as /analyze ($a $ca)" sh -c "[ $a = $b ] && [ $a -ge 400 ] && [ $ca = $cb ]"
done
s=$(get "$U/ai-analyze?file=c02-all.wav" ai)
check "missing server: 400 missing_server" sh -c "[ $s = 400 ] && grep -q missing_server $T/ai.json"
s=$(get "$U/ai-analyze?server=zz&file=c02-all.wav" ai)
check "unknown server: 404 unknown_server" sh -c "[ $s = 404 ] && grep -q unknown_server $T/ai.json"

A0=$(metric 'callqa_analyses_total{result="ok"}')
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav" c2)
check "call02: 200, computed (X-Cache miss)" sh -c "[ $s = 200 ] && [ $(xcache c2) = miss ]"
check "call02: the old shape, engine rules, model null" shape c2 rules
s=$(get "$U/analyze?server=uk&file=c02-all.wav" c2r)
check "/analyze after /ai-analyze: the report, stored (hit), not the assessment" sh -c \
    "[ $s = 200 ] && [ $(xcache c2r) = hit ] && grep -q '\"inbound\"' $T/c2r.json && ! grep -q ai_analysis $T/c2r.json"
check "call02: one-way audio, first, citing the report's speech shares" python3 - "$T/c2.json" "$T/c2r.json" <<'EOF'
import json, sys
a, r = (json.load(open(p)) for p in sys.argv[1:3])
print("#", a["ai_analysis"].replace("\n", " | "))
assert r["one_way_audio"] is True
assert a["has_legs"] == r["has_legs"]
f = a["findings"][0]
assert f["code"] == "one_way_audio", f
silent = f["values"]["silent_leg"]
assert f["values"]["silent_speech_pct"] == r[silent]["speech_pct"]
other = "outbound" if silent == "inbound" else "inbound"
assert abs(f["values"]["other_speech_pct"] - r[other]["speech_pct"]) < 1e-9
text = a["ai_analysis"]
assert text.lower().startswith("this ") and "one-way audio" in text.lower(), text
assert "%.0f %%" % r[other]["speech_pct"] in text, text  # the agent's share, as measured
assert 2 <= text.count("\n- ") <= 3 and len(text.split()) < 80, text
EOF

s=$(get "$U/ai-analyze?server=uk&file=c03-all.wav" c3)
get "$U/analyze?server=uk&file=c03-all.wav" c3r > /dev/null
check "call03: 200" [ "$s" = 200 ]
check "call03: the old shape, engine rules" shape c3 rules
check "call03: dead air, citing the report's longest gap" python3 - "$T/c3.json" "$T/c3r.json" <<'EOF'
import json, sys
a, r = (json.load(open(p)) for p in sys.argv[1:3])
print("#", a["ai_analysis"].replace("\n", " | "))
da = r["conversation"]["dead_air"]
assert da["count"] >= 1
codes = [f["code"] for f in a["findings"]]
assert "dead_air" in codes, codes
text = a["ai_analysis"]
assert "dead air" in text.lower(), text
nums = {"%.1f s" % v for v in (da.get("longest_sec"), da.get("total_sec")) if isinstance(v, (int, float))}
assert any(n in text for n in nums), (nums, text)
EOF
A1=$(metric 'callqa_analyses_total{result="ok"}')
check "two calls assessed: two analyses ($A0 -> $A1)" [ "$((A1 - A0))" = 2 ]

# stored apart: served again without an analysis or an assessment
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav" c2b)
check "call02 again: the stored assessment (X-Cache hit, cached true)" sh -c \
    "[ $s = 200 ] && [ $(xcache c2b) = hit ] && [ $(json "$T/c2b.json" 'd["cached"]') = True ]"
check "call02 again: the same text and findings, a time of its own" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["ai_analysis"] == b["ai_analysis"] and a["findings"] == b["findings"]
assert b["analysis_time_sec"] < a["analysis_time_sec"], (a["analysis_time_sec"], b["analysis_time_sec"])
' "$T/c2.json" "$T/c2b.json"
A2=$(metric 'callqa_analyses_total{result="ok"}')
HIT=$(metric 'callqa_ai_assessments_total{engine="rules",cache="hit"}')
MISS=$(metric 'callqa_ai_assessments_total{engine="rules",cache="miss"}')
check "call02 again: no analysis ran ($A2); the metrics count 1 stored assessment ($HIT), 2 made ($MISS)" \
    sh -c "[ $A2 = $A1 ] && [ $HIT = 1 ] && [ $MISS = 2 ]"
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav&refresh=1" c2c)
A3=$(metric 'callqa_analyses_total{result="ok"}')
check "refresh=1: analysed and assessed again (miss, cached false, analyses $A2 -> $A3)" sh -c \
    "[ $s = 200 ] && [ $(xcache c2c) = miss ] && [ $(json "$T/c2c.json" 'd["cached"]') = False ] && [ $A3 = $((A2 + 1)) ]"
get "$U/analyze?server=uk&file=c02-all.wav&refresh=1" c2d > /dev/null
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav" c2e)
check "a report analysed again by /analyze?refresh=1: assessed again, not the older assessment" sh -c \
    "[ $s = 200 ] && [ $(xcache c2e) = miss ]"
s=$(get "$U/calls?limit=1000" calls)
check "/calls lists reports only, not the assessments" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["count"] == len(d["calls"]) >= 4, d["count"]
assert all("inbound" in c["report"] and "ai_analysis" not in c["report"] for c in d["calls"])
' "$T/calls.json"
stop_service

# ---- an OpenAI-compatible provider ----
FP=$T/fake1.port
printf '%s\n' 'sk-test-0123456789' > "$T/key"
chmod 600 "$T/key"
printf '{"openai": ["valid", "500", "500", "timeout", "timeout"]}\n' > "$T/scen1.json"
# the answers that time out come after 600 s, the timeout is 10 s: the valid answers have ample
# time, and the cut is the only way the timing-out ones end
python3 "$SRC/tests/service/fake_llm_report.py" --log "$T/fake1" --port-file "$FP" \
    --key sk-test-0123456789 --model gpt-test-1 --scenario "$T/scen1.json" --sleep 600 2> "$T/fake1.err" &
PIDS="$PIDS $!"
wait_port "$FP" "$T/fake1.err"
LP=$(cat "$FP")
start_service "$T/serve2.log" CALLQA_LLM_PROVIDER=openai CALLQA_LLM_URL="http://127.0.0.1:$LP/v1" \
    CALLQA_LLM_MODEL=gpt-test-1 CALLQA_LLM_KEY_FILE="$T/key" CALLQA_LLM_RETRIES=1 \
    CALLQA_LLM_TIMEOUT_SEC=10
check "the service starts with an OpenAI-compatible LLM" curl -sf -o /dev/null "$U/health"
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav" o1)
check "openai: 200, made now (not the rules' stored one)" sh -c "[ $s = 200 ] && [ $(xcache o1) = miss ]"
check "openai: the old shape, engine openai" shape o1 openai
check "openai: the provider's answer and model" sh -c \
    "[ '$(json "$T/o1.json" 'd["ai_analysis"]')' = 'plain answer' ] && [ $(json "$T/o1.json" 'd["model"]') = gpt-test-1 ]"
check "openai: the findings are still the rules' (deterministic)" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["findings"] == b["findings"]
' "$T/c2e.json" "$T/o1.json"
check "openai: one request, as the protocol wants it, with the key" python3 -c '
import json, sys
rq = [json.loads(l) for l in open(sys.argv[1])]
assert len(rq) == 1, rq
assert rq[0]["provider"] == "openai" and rq[0]["violations"] == [] and rq[0]["auth"] == "ok", rq[0]
assert not rq[0]["has_schema"] and not rq[0]["has_tools"]
' "$T/fake1/requests.jsonl"
check "openai: the report went inside the <call_report> block, and nothing after it" python3 - "$T/fake1/texts.jsonl" "$T/c2d.json" <<'EOF'
import json, sys
t = json.loads(open(sys.argv[1]).readline())
rep = json.load(open(sys.argv[2]))
assert len(t["user"]) == 1
u = t["user"][0]
assert u.count("<call_report>") == 1 and u.count("</call_report>") == 1, u[:200]
o, c = u.index("<call_report>") + len("<call_report>"), u.index("</call_report>")
assert o < c and not u[c + len("</call_report>"):].strip()
data = json.loads(u[o:c])
assert data["duration"] == rep["duration"] and data["one_way_audio"] is True
assert data["inbound"]["speech_pct"] == rep["inbound"]["speech_pct"]
assert any(f["code"] == "one_way_audio" for f in data["findings"])
assert "speech_pct" not in t["system"] and "speech_pct" not in u[:u.index("<call_report>")]
EOF
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav" o2)
check "openai: asked again, the stored assessment, the LLM not called" sh -c \
    "[ $s = 200 ] && [ $(xcache o2) = hit ] && [ $(wc -l < "$T/fake1/requests.jsonl") = 1 ]"
check "openai: the stored one has the same shape and engine" shape o2 openai
s=$(get "$U/ai-analyze?server=uk&file=c03-all.wav" o3)
check "openai 500 twice (one retry): 200" [ "$s" = 200 ]
check "openai 500: the old shape by rules" shape o3 rules
check "openai 500: llm_error says why" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["llm_error"]
print("#", e)
assert "500" in e
' "$T/o3.json"
check "openai 500: the rules' text of call03, as without an LLM" python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["ai_analysis"] == b["ai_analysis"] and a["findings"] == b["findings"]
' "$T/c3.json" "$T/o3.json"
s=$(get "$U/ai-analyze?server=uk&file=c03-all.wav" o4)
check "openai timing out twice: 200, made now (the fallback before was not stored)" sh -c \
    "[ $s = 200 ] && [ $(xcache o4) = miss ]"
check "openai timing out: the old shape by rules" shape o4 rules
check "openai timing out: llm_error says so" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["llm_error"]
print("#", e)
assert "tim" in e.lower()
' "$T/o4.json"
s=$(get "$U/ai-analyze?server=uk&file=c03-all.wav" o5)
check "openai answering again: call03 by the LLM" sh -c "[ $s = 200 ]"
check "openai answering again: engine openai" shape o5 openai
check "the fallbacks are counted" [ "$(metric 'callqa_ai_llm_fallbacks_total')" = 2 ]
check "every attempt in the store: ok, http_500 x2, timeout x2, ok; purpose ai-analyze" python3 -c '
import storedb, sys
rows = storedb.connect(sys.argv[1]).execute(
    "SELECT purpose, provider, model, outcome, input_tokens, output_tokens FROM llm_calls ORDER BY id").fetchall()
print("#", rows)
assert [r[3] for r in rows] == ["ok", "http_500", "http_500", "timeout", "timeout", "ok"], rows
assert all(r[0] == "ai-analyze" and r[1] == "openai" and r[2] == "gpt-test-1" for r in rows)
assert rows[0][4] == 1000 and rows[0][5] == 200
' "$DB"
stop_service

# ---- an Anthropic provider ----
FP2=$T/fake2.port
python3 "$SRC/tests/service/fake_llm_report.py" --log "$T/fake2" --port-file "$FP2" \
    --key sk-test-0123456789 --model claude-test-1 2> "$T/fake2.err" &
PIDS="$PIDS $!"
wait_port "$FP2" "$T/fake2.err"
LP2=$(cat "$FP2")
start_service "$T/serve3.log" CALLQA_LLM_PROVIDER=anthropic CALLQA_LLM_URL="http://127.0.0.1:$LP2" \
    CALLQA_LLM_MODEL=claude-test-1 CALLQA_LLM_KEY_FILE="$T/key"
check "the service starts with an Anthropic LLM" curl -sf -o /dev/null "$U/health"
s=$(get "$U/ai-analyze?server=uk&file=c02-all.wav" a1)
check "anthropic: 200, made now" sh -c "[ $s = 200 ] && [ $(xcache a1) = miss ]"
check "anthropic: the old shape, engine anthropic" shape a1 anthropic
check "anthropic: the provider's answer and model" sh -c \
    "[ '$(json "$T/a1.json" 'd["ai_analysis"]')' = 'plain answer' ] && [ $(json "$T/a1.json" 'd["model"]') = claude-test-1 ]"
check "anthropic: one request as the protocol wants it (x-api-key, version), the report in its block" python3 - "$T/fake2/requests.jsonl" "$T/fake2/texts.jsonl" <<'EOF'
import json, sys
rq = [json.loads(l) for l in open(sys.argv[1])]
assert len(rq) == 1 and rq[0]["violations"] == [] and rq[0]["auth"] == "ok", rq
u = json.loads(open(sys.argv[2]).readline())["user"][0]
o, c = u.index("<call_report>") + len("<call_report>"), u.index("</call_report>")
assert u.count("</call_report>") == 1 and json.loads(u[o:c])["one_way_audio"] is True
EOF
stop_service

# ---- a daily cap: the day's tokens are over it, nothing is sent ----
start_service "$T/serve4.log" CALLQA_LLM_PROVIDER=anthropic CALLQA_LLM_URL="http://127.0.0.1:$LP2" \
    CALLQA_LLM_MODEL=claude-test-1 CALLQA_LLM_KEY_FILE="$T/key" CALLQA_LLM_DAILY_TOKEN_CAP=1000
s=$(get "$U/ai-analyze?server=uk&file=c01-all.wav" k1)
check "at the daily token cap: 200, nothing sent to the provider" sh -c \
    "[ $s = 200 ] && [ $(wc -l < "$T/fake2/requests.jsonl") = 1 ]"
check "at the daily token cap: by rules" shape k1 rules
check "at the daily token cap: llm_error llm_cap" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["llm_error"]
print("#", e)
assert e.startswith("llm_cap")
' "$T/k1.json"
stop_service

# ---- bad LLM settings: the service does not start, and says why ----
start_service "$T/serve5.log" CALLQA_LLM_PROVIDER=watson CALLQA_LLM_URL=http://127.0.0.1:1 \
    CALLQA_LLM_MODEL=m
check "an unknown llm_provider: the service does not start, and names it" sh -c \
    "! kill -0 $SVC 2>/dev/null && grep -q 'llm_provider' $T/serve5.log"
start_service "$T/serve6.log" CALLQA_LLM_PROVIDER=anthropic CALLQA_LLM_URL=http://127.0.0.1:1 \
    CALLQA_LLM_MODEL=m
check "anthropic without a key file: the service does not start" sh -c \
    "! kill -0 $SVC 2>/dev/null && grep -q 'key file' $T/serve6.log"

finish ai-analyze
