#!/bin/sh
# test_summary_llm.sh - the call's summary and sentiment trend from an LLM (src/scoring/
# sc_summary.c, sc_sentiment_llm.c; the choice of source in src/pipeline/sources.c), through
# `callqa score` against the fake OpenAI-compatible provider (tests/clients/fake_llm.py), which
# checks each request (schema strictness, key, model, the transcript inside its data block):
#   - a good answer: the summary kept with its model, outcome and quotes (each checked against
#     the transcript); the sentiment per speaker per quarter, nulls where a speaker is silent,
#     first, last, shift, customer_drop, each figure's quote;
#   - each refusal, one at a time: a summary quote not in the transcript, 5 sentences, an
#     outcome outside the four, an outcome no quote backs (the summary null with why, nothing of
#     it kept); a sentiment quote not said, the agent's words given as the customer's, the right
#     words in the wrong quarter, figures out of range (each dropped with why, that quarter null
#     and never 0, the rest kept), every figure out of range (no LLM sentiment at all);
#   - with the call's report: the deterministic assessment in place of a refused summary,
#     labelled, with why; no LLM configured: the deterministic one and no refusal; a failing
#     provider: the deterministic one, with the failure as why.
#   usage: test_summary_llm.sh BUILD/callqa SHARED_DIR
set -u
CQ=$1
SH=$2
if [ ! -d "$SH/corpus/calls" ] || [ ! -d "$SH/models" ]; then
    echo "SKIP: $SH is missing"
    exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
FAKE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
# the shared models without VADER's lexicon: the sentiment of these calls is the LLM's or null
export CALLQA_MODEL_DIR="$(models_without "$SH/models" "$T/novader" vader)"
printf 'sk-test-123\n' > "$T/key"
chmod 600 "$T/key"
# the transcript: tests/clients/transcript.json (instructions and a closing delimiter inside) in
# callqa's format
python3 -c '
import json, sys
json.dump({"segments": json.load(open(sys.argv[1]))}, open(sys.argv[2], "w"))
' "$HERE/transcript.json" "$T/call.json"
"$CQ" analyze --json -q "$SH/corpus/calls/call01_normal.wav" > "$T/report.json" || exit 1

# every request of the run in order, one kind each (the fake's scenario)
KINDS="valid summary_bad_quote summary_sentences summary_outcome summary_unbacked
sentiment_bad_quote sentiment_speaker sentiment_quarter sentiment_range sentiment_none
valid summary_sentences 500 500"
python3 -c 'import json, sys; print(json.dumps({"openai": sys.argv[1].split()}))' "$KINDS" \
    > "$T/scenario.json"
mkdir -p "$T/llm"
python3 "$HERE/fake_llm.py" --log "$T/llm" --port-file "$T/llm/port" --key sk-test-123 \
    --model fake-model --scenario "$T/scenario.json" --transcript "$HERE/transcript.json" \
    2> "$T/llm/fake.err" &
FAKE=$!
wait_port "$T/llm/port" "$T/llm/fake.err"
cat > "$T/llm.conf" <<EOC
llm_provider = openai
llm_url = http://127.0.0.1:$(cat "$T/llm/port")/v1
llm_model = fake-model
llm_key_file = $T/key
llm_retries = 1
llm_timeout_sec = 20
EOC
: > "$T/empty.conf"

score() { # score NAME CONFIG [--report FILE]: the result in $T/NAME.json
    name=$1
    conf=$2
    shift 2
    "$CQ" score --transcript "$T/call.json" --config "$conf" "$@" --json > "$T/$name.json" \
        2> "$T/$name.err"
}
is() { # is NAME MODE: the result of NAME holds what MODE expects (tests/clients/check_summary.py)
    python3 "$HERE/check_summary.py" "$2" "$T/$1.json"
}

started=$(date +%s)
for k in valid summary_bad_quote summary_sentences summary_outcome summary_unbacked \
    sentiment_bad_quote sentiment_speaker sentiment_quarter sentiment_range sentiment_none; do
    score "$k" "$T/llm.conf"
    check "$k: scored (exit 0)" [ $? = 0 ]
    check "$k: the summary and the sentiment as checked" is "$k" "$k"
done
score report_valid "$T/llm.conf" --report "$T/report.json"
check "with a report, a good answer: the LLM's summary, not the assessment" is report_valid report_valid
score report_refused "$T/llm.conf" --report "$T/report.json"
check "with a report, a refused summary: the deterministic assessment, labelled, with why" is report_refused report_refused
score report_failed "$T/llm.conf" --report "$T/report.json"
check "with a report, a failing provider: the deterministic assessment, the failure as why" is report_failed report_failed
score report_nollm "$T/empty.conf" --report "$T/report.json"
check "with a report and no LLM: the deterministic assessment, no refusal, no sentiment" is report_nollm report_nollm
check "the fake found every request well formed (schema, key, model, the data block)" python3 -c '
import json, sys
rq = [json.loads(l) for l in open(sys.argv[1])]
assert len(rq) == int(sys.argv[2]), (len(rq), sys.argv[2])
for r in rq:
    assert not r["violations"] and r["auth"] == "ok" and r["has_schema"] and r["block"] == "ok", r
' "$T/llm/requests.jsonl" "$(echo $KINDS | wc -w)"
echo "# $(($(date +%s) - started)) s for $(echo $KINDS | wc -w) requests"
finish "summary and sentiment from the LLM"
