#!/bin/sh
# test_asr_faults.sh - `callqa analyze --transcribe` against fake servers that fail
# (tests/clients/fake_asr.py): rate limits with Retry-After, 500, an HTML page, broken JSON, empty
# text, an answer over the size limit, a server that never answers or closes the connection,
# whisper.cpp's errors sent with 200 and its model still loading, a wrong key, a key file others
# may read, a server that refuses word timestamps, Groq's and vLLM's answers, a server that is
# down; every request goes to the configured URL's endpoint and nowhere else (a proxy set in the
# environment is not used), and the key never appears in what callqa prints.
#   usage: test_asr_faults.sh BUILD/callqa SHARED_DIR
set -u
if [ ! -d "$2/corpus/calls" ]; then
    echo "SKIP: $2 is missing"
    exit 77
fi
CQ=$1
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
FAKE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
. "$HERE/asr_lib.sh"
export CALLQA_MODEL_DIR="$SH/models"
CALL=$SH/corpus/calls/call12_overtalk.wav # a few chunks on both legs
KEY=sk-test-0123456789abcdefSECRET

# run NAME PROTOCOL "FAKE ARGS" [callqa flags...]: $T/NAME/{out.json,err,rc}
run() {
    name=$1 proto=$2 fargs=$3
    shift 3
    d=$T/$name
    # shellcheck disable=SC2086 # the fake's arguments are words on purpose
    fake_start "$d" --protocol "$proto" $fargs
    if [ "$proto" = openai ]; then u="$URL/v1"; else u="$URL"; fi
    "$CQ" analyze --transcribe --json -q --only levels,vad,events --asr-url "$u" \
        --asr-protocol "$proto" --asr-model whisper-1 --asr-retries 2 "$@" "$CALL" \
        > "$d/out.json" 2> "$d/err"
    echo $? > "$d/rc"
    fake_stop
}
rc_is() { [ "$(cat "$T/$1/rc")" = "$2" ]; }
err_has() { grep -q -- "$2" "$T/$1/err"; }
requests() { python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("endpoint") == "transcribe"))' "$T/$1/requests.jsonl"; }
has_transcript() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["transcript"]["word_count"] > 0 else 1)' "$T/$1/out.json"; }

# rate limited twice, then answers: each chunk refused is asked again no sooner than its
# Retry-After (1 s) after the refusal, read from the fake's clock (chunks go out in parallel, so
# the call's wall time says nothing of the wait); 0.9 s allows for the wall clock being stepped,
# a client that did not wait asks again within milliseconds
retry_waited() {
    python3 - "$T/$1/requests.jsonl" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
reqs = [r for r in reqs if r.get("endpoint") == "transcribe" and r.get("file")]
refused = [r for r in reqs if r["status"] == 429]
if len(refused) != 2:
    sys.exit("want 2 refusals, saw %d" % len(refused))
for r in refused:
    name = r["file"]["filename"]
    later = [q for q in reqs if q["file"]["filename"] == name and q["t_received"] > r["t_answered"]]
    if not later:
        sys.exit("%s never asked again" % name)
    gap = min(q["t_received"] for q in later) - r["t_answered"]
    print("%s asked again %.2f s after its 429" % (name, gap))
    if gap < 0.9:
        sys.exit("too soon")
PY
}
run rate openai "--mode openai --fail 429:2"
check "429 twice: transcribed after retries" rc_is rate 0
check "429 twice: a transcript" has_transcript rate
check "429 twice: each refused chunk asked again only after its Retry-After (1 s; 0.9 s allowed for clock steps)" retry_waited rate
check "429 twice: two requests more than chunks" python3 -c '
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]; n429=sum(1 for r in rs if r["status"]==429)
ok=sum(1 for r in rs if r["status"]==200); sys.exit(0 if n429==2 and ok>=1 else 1)' "$T/rate/requests.jsonl"

for kind in 500 html badjson; do
    run "f$kind" openai "--mode openai --fail $kind"
    check "$kind: the call fails (exit 1)" rc_is "f$kind" 1
    check "$kind: retried: 3 attempts of the first chunk" [ "$(requests "f$kind")" -ge 3 ]
done
check "500: the reason" err_has f500 "HTTP 500"
check "500: the attempts" err_has f500 "after 3 attempts"
check "html: the reason" err_has fhtml "HTML page"
check "badjson: the reason" err_has fbadjson "not JSON"
run fempty openai "--mode openai --fail empty"
check "empty text everywhere: the call fails" rc_is fempty 1
check "empty text everywhere: the reason" err_has fempty "empty text for all"
run fhuge openai "--mode openai --fail huge"
check "an answer over the size limit: refused" rc_is fhuge 1
check "an answer over the size limit: the reason" err_has fhuge "over the .* limit"
run ftimeout openai "--mode openai --fail timeout" --asr-timeout 2 --asr-retries 0
check "a server that does not answer: the call fails" rc_is ftimeout 1
check "a server that does not answer: the reason" err_has ftimeout "did not answer within 2 s"
run fclose openai "--mode openai --fail close" --asr-retries 1
check "a connection closed without an answer: fails" rc_is fclose 1
check "a connection closed without an answer: the reason" err_has fclose "could not be reached"

# keys
printf '%s\n' "$KEY" > "$T/key.txt"
chmod 600 "$T/key.txt"
printf 'sk-wrong-key-xyz\n' > "$T/wrong.txt"
chmod 600 "$T/wrong.txt"
run key openai "--mode openai --key $KEY" --asr-key-file "$T/key.txt"
check "the right key: transcribed" rc_is key 0
check "the right key: the fake saw it" python3 -c 'import json,sys; sys.exit(0 if all(json.loads(l)["auth"]=="ok" for l in open(sys.argv[1])) else 1)' "$T/key/requests.jsonl"
run wrongkey openai "--mode openai --key $KEY" --asr-key-file "$T/wrong.txt"
check "a wrong key: fails" rc_is wrongkey 1
check "a wrong key: says so" err_has wrongkey "refused the key (HTTP 401"
check "a wrong key: not retried" [ "$(requests wrongkey)" -le 2 ]
check "a wrong key: never printed" sh -c "! grep -q 'sk-wrong-key-xyz' '$T/wrongkey/err' '$T/wrongkey/out.json'"
check "the key: never printed" sh -c "! grep -rq 'SECRET' '$T/key/err' '$T/key/out.json' '$T/wrongkey/err'"
chmod 644 "$T/key.txt"
mkdir -p "$T/mode"
"$CQ" analyze --transcribe --json -q --asr-url http://127.0.0.1:9/v1 --asr-model m \
    --asr-key-file "$T/key.txt" "$CALL" > /dev/null 2> "$T/mode/err"
check "a key file others may read: refused" grep -q "mode 0600 or stricter" "$T/mode/err"

# servers that differ
run nogran openai "--mode nogranularity"
check "a server refusing word timestamps: transcribed with segments" rc_is nogran 0
# (two requests are under way at once: each may have asked for words before the first 400)
check "a server refusing word timestamps: asked by the first requests, then segments only" python3 -c '
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1]) if json.loads(l).get("endpoint")=="transcribe"]
w=[r for r in rs if "word" in (r["fields"].get("timestamp_granularities[]") or [])]
sys.exit(0 if 1<=len(w)<=2 and all(r["status"]==400 for r in w) and all(r["status"]==200 for r in rs if r not in w) and rs.index(w[-1])<=3 else 1)' "$T/nogran/requests.jsonl"
run groq openai "--mode groq"
check "Groq (no words): transcribed" has_transcript groq
run vllm openai "--mode vllm"
check "vLLM (-1 figures): transcribed" has_transcript vllm
check "vLLM: its -1 read as unknown (null)" python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); s=[g for l in d["transcript"]["legs"] for g in l["segments"]]
sys.exit(0 if s and all(g["avg_logprob"] is None and g["compression_ratio"] is None for g in s) else 1)' "$T/vllm/out.json"
run e200 whispercpp "--fail error200"
check "whisper.cpp's error sent with 200: fails" rc_is e200 1
check "whisper.cpp's error sent with 200: its message" err_has e200 "failed to read WAV file"
run loading whispercpp "--loading 2"
check "whisper.cpp loading its model: waited, transcribed" rc_is loading 0
check "whisper.cpp loading its model: /health asked until ready" python3 -c '
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]; h=[r["status"] for r in rs if r.get("endpoint")=="health"]
sys.exit(0 if h[:2]==[503,503] and 200 in h else 1)' "$T/loading/requests.jsonl"

# only the configured URL: a proxy in the environment is not used
http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
    run proxy openai "--mode openai"
check "a proxy in the environment: not used" rc_is proxy 0
check "every request at the endpoints, none elsewhere" python3 -c '
import json,sys,glob
bad=[(f,r["path"]) for f in glob.glob(sys.argv[1]+"/*/requests.jsonl") for l in open(f)
     for r in [json.loads(l)] if r.get("endpoint") is None or "unexpected path" in r.get("violations",[])]
print(bad[:3]); sys.exit(0 if not bad else 1)' "$T"
check "no protocol violations in any request" python3 -c '
import json,sys,glob
bad=[(f,r["violations"]) for f in glob.glob(sys.argv[1]+"/*/requests.jsonl") for l in open(f)
     for r in [json.loads(l)] if r.get("violations")]
print(bad[:3]); sys.exit(0 if not bad else 1)' "$T"

# a server that is down
mkdir -p "$T/down"
"$CQ" analyze --transcribe --json -q --only levels,vad,events --asr-url http://127.0.0.1:9/v1 \
    --asr-model m --asr-retries 1 "$CALL" > /dev/null 2> "$T/down/err"
echo $? > "$T/down/rc"
check "a server that is down: fails" rc_is down 1
check "a server that is down: says so" err_has down "could not be reached"
finish "transcription faults"
