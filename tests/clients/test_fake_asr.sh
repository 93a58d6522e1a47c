#!/bin/sh
# test_fake_asr.sh - a self-test of tests/clients/fake_asr.py with curl, for both protocols: the
# answer's shape (OpenAI verbose_json and its groq/vllm/nogranularity variants, whisper.cpp's
# verbose_json with sub-word tokens), what the log records (violations for a bad WAV, a bad
# name, a wrong form; never the key), the key check, each --fail kind, /health with --loading,
# the halluc and stm content modes, and a clean exit on SIGTERM.
#     usage: test_fake_asr.sh        (needs python3, curl and sox; exit 77 without them)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
FAKE="$HERE/fake_asr.py"
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
for tool in python3 curl sox; do
    command -v "$tool" > /dev/null || { echo "SKIP: $tool not found"; exit 77; }
done
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2> /dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
KEY="sk-fake-0123456789abcdef"

# start NAME ARGS...: a fake logging to $T/NAME, its port in $T/NAME.port, its pid in $T/NAME.pid
start() {
    name=$1
    shift
    python3 "$FAKE" --log "$T/$name" --port-file "$T/$name.port" "$@" 2> "$T/$name.err" &
    echo $! > "$T/$name.pid"
    PIDS="$PIDS $!"
}
# url NAME: the fake's base URL, once its port file is there (at most 120 s)
url() {
    wait_until 120 test -s "$T/$1.port" || { echo "fake $1 did not start: $(cat "$T/$1.err")"; exit 1; }
    echo "http://127.0.0.1:$(cat "$T/$1.port")"
}
# stop NAME: SIGTERM; the fake must exit 0
stop() {
    pid=$(cat "$T/$1.pid")
    kill -TERM "$pid"
    wait "$pid"
    check "$1: exits 0 on SIGTERM" test $? -eq 0
}
# post OUT URL CURL-ARGS...: the body in $T/OUT.body, headers in $T/OUT.hdr, status in $T/OUT.code,
# curl's exit status in $T/OUT.rc
post() {
    out=$1
    u=$2
    shift 2
    curl -s -D "$T/$out.hdr" -o "$T/$out.body" -w '%{http_code}' "$@" "$u" > "$T/$out.code"
    echo $? > "$T/$out.rc"
}
code_is() { [ "$(cat "$T/$1.code")" = "$2" ]; }
# jcheck FILE 'NAME|EXPR'...: one check per EXPR, a Python expression over d (the JSON in FILE,
# None when it does not parse), raw (its bytes) and log (the request lines of the fake whose
# requests.jsonl is $LOG)
jcheck() {
    file=$1
    shift
    python3 - "$file" "${LOG:-}" "$@" > "$T/jcheck.out" << 'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
try:
    d = json.loads(raw)
except ValueError:
    d = None
log = []
if sys.argv[2]:
    with open(sys.argv[2], encoding="utf-8") as f:
        log = [json.loads(x) for x in f]
for item in sys.argv[3:]:
    name, expr = item.split("|", 1)
    try:
        ok = bool(eval(expr))
    except Exception as e:  # a check that cannot be evaluated fails
        ok = False
        name += " (%s: %s)" % (type(e).__name__, e)
    print("%d %s" % (ok, name))
EOF
    while read -r ok name; do
        check "$name" test "$ok" = 1
    done < "$T/jcheck.out"
}

# the test audio (deterministic: sox -D, no dither)
S="sox -D -n -r 16000 -c 1 -b 16"
$S "$T/tone.wav" synth 2 sine 300 vol 0.3 pad 0.5 1.5          # 4 s: voiced 0.5-2.5
$S "$T/t1.wav" synth 1 sine 300 vol 0.3 pad 1 0
sox -D "$T/t1.wav" "$T/t1.wav" "$T/gaps.wav" pad 0 1               # 5 s: voiced 1-2 and 3-4
$S -r 8000 "$T/narrow.wav" synth 2 sine 300 vol 0.3               # 8 kHz
$S "$T/long.wav" synth 31 sine 300 vol 0.1                        # 31 s
$S "$T/big.wav" synth 20 sine 300 vol 0.1                         # 640 kB
mkdir -p "$T/a"
cp "$T/tone.wav" "$T/a/agent_12.340_16.340.wav"
cp "$T/tone.wav" "$T/a/badname.wav"
cp "$T/tone.wav" "$T/a/mixed_10.000_14.000.wav"
cp "$T/narrow.wav" "$T/a/customer_1.000_3.000.wav"
cp "$T/long.wav" "$T/a/agent_0.000_31.000.wav"
cp "$T/big.wav" "$T/a/agent_0.000_20.000.wav"
cp "$T/gaps.wav" "$T/a/customer_100.000_105.000.wav"
CHUNK="$T/a/agent_12.340_16.340.wav"
cat > "$T/x.stm" << 'EOF'
;; a reference transcript for the stm mode
x 1 A 9.0 11.0 Hello there, friend.
x 1 B 12.0 13.5 <o,f0,female> How are you?
x 1 A 20.0 21.0 Not in this chunk.
EOF

# all the fakes start at once (each takes a moment to start)
start oa --protocol openai --key "$KEY" --max-body 600000
start groq --protocol openai --mode groq
start vllm --protocol openai --mode vllm
start nogran --protocol openai --mode nogranularity
start faults --protocol openai \
    --fail 429:1,500:1,html:1,badjson:1,empty:1,huge:1,close:1,error200:1,timeout:1
start stm --protocol openai --mode stm --stm "$T/x.stm"
start wc --protocol whispercpp --loading 2 --fail 500:1,error200:1
start wch --protocol whispercpp --mode token-times,halluc --fail 429:2
OA=$(url oa)/v1
TR="$OA/audio/transcriptions"
FORM="-F response_format=verbose_json -F timestamp_granularities[]=word -F timestamp_granularities[]=segment"

# ---- OpenAI
# shellcheck disable=SC2086 # $FORM is words on purpose
post ok "$TR" -H "Authorization: Bearer $KEY" -F "file=@$CHUNK" -F model=whisper-1 -F language=en $FORM
check "openai: a valid request gets 200" code_is ok 200
LOG="$T/oa/requests.jsonl"
jcheck "$T/ok.body" \
    "openai: verbose_json top level|d['task'] == 'transcribe' and d['language'] == 'english' and d['duration'] == 4.0 and isinstance(d['text'], str)" \
    "openai: one segment with OpenAI's fields|len(d['segments']) == 1 and set(d['segments'][0]) == {'id', 'seek', 'start', 'end', 'text', 'tokens', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob'}" \
    "openai: the segment is the voiced 0.5-2.5 s|abs(d['segments'][0]['start'] - 0.5) < 0.021 and abs(d['segments'][0]['end'] - 2.5) < 0.021" \
    "openai: 5 words (one per 0.4 s) inside the segment|len(d['words']) == 5 and all(0.5 <= w['start'] < w['end'] <= 2.5 for w in d['words'])" \
    "openai: the words are alpha..echo, without punctuation|[w['word'] for w in d['words']] == ['alpha', 'bravo', 'charlie', 'delta', 'echo']" \
    "openai: log: no violations, the key matched|log[0]['violations'] == [] and log[0]['auth'] == 'ok' and log[0]['status'] == 200" \
    "openai: log: the WAV header and the chunk name|log[0]['file']['wav']['rate'] == 16000 and log[0]['file']['wav']['channels'] == 1 and log[0]['file']['wav']['frames'] == 64000 and log[0]['file']['role'] == 'agent' and log[0]['file']['start'] == 12.34" \
    "openai: log: the fields received|log[0]['fields']['model'] == 'whisper-1' and log[0]['fields']['timestamp_granularities[]'] == ['word', 'segment']" \
    "openai: log: the words sent|[w['word'] for w in log[0]['sent']['words']] == [w['word'] for w in d['words']] and log[0]['sent']['word_times']"
check "openai: the received audio is saved byte for byte" cmp -s "$CHUNK" "$T/oa/req-0001.wav"

post nowords "$TR" -H "Authorization: Bearer $KEY" -F "file=@$CHUNK" -F model=whisper-1 \
    -F response_format=verbose_json -F "timestamp_granularities[]=segment"
jcheck "$T/nowords.body" "openai: segment granularity alone: no words|'words' not in d and len(d['segments']) == 1"

post wrongkey "$TR" -H "Authorization: Bearer sk-wrong-9999999999" -F "file=@$CHUNK" -F model=whisper-1
check "openai: a wrong key gets 401" code_is wrongkey 401
jcheck "$T/wrongkey.body" \
    "openai: 401 body is OpenAI's invalid_api_key|d['error']['code'] == 'invalid_api_key' and d['error']['type'] == 'invalid_request_error' and 'Incorrect API key provided' in d['error']['message']" \
    "openai: 401 message does not echo the key|'sk-wrong-9999999999' not in d['error']['message']"
post nokey "$TR" -F "file=@$CHUNK" -F model=whisper-1
check "openai: no key gets 401" code_is nokey 401
jcheck "$T/nokey.body" "openai: no key: code null|d['error']['code'] is None and 'API key' in d['error']['message']"

# shellcheck disable=SC2086
post nomodel "$TR" -H "Authorization: Bearer $KEY" -F "file=@$CHUNK" $FORM
check "openai: no model gets 400" code_is nomodel 400
jcheck "$T/nomodel.body" "openai: 400 body names the model|'model' in d['error']['message'] and d['error']['type'] == 'invalid_request_error'"

# shellcheck disable=SC2086
post narrow "$TR" -H "Authorization: Bearer $KEY" -F "file=@$T/a/customer_1.000_3.000.wav" -F model=whisper-1 $FORM
# shellcheck disable=SC2086
post badname "$TR" -H "Authorization: Bearer $KEY" -F "file=@$T/a/badname.wav" -F model=whisper-1 $FORM
post jsonfmt "$TR" -H "Authorization: Bearer $KEY" -F "file=@$CHUNK" -F model=whisper-1 -F response_format=json -F stream=true
# shellcheck disable=SC2086
post chunked "$TR" -H "Authorization: Bearer $KEY" -H "Transfer-Encoding: chunked" -F "file=@$CHUNK" -F model=whisper-1 $FORM
check "openai: a chunked upload gets 411" code_is chunked 411
# shellcheck disable=SC2086
post big "$TR" -H "Authorization: Bearer $KEY" -F "file=@$T/a/agent_0.000_20.000.wav" -F model=whisper-1 $FORM
check "openai: a body over --max-body gets 413" code_is big 413
post badpath "$OA/audio/translations" -H "Authorization: Bearer $KEY" -F "file=@$CHUNK" -F model=whisper-1
check "openai: an unexpected path gets 404" code_is badpath 404
jcheck "$T/jsonfmt.body" \
    "openai: response_format json answers {text}|set(d) == {'text'}" \
    "openai: log: an 8 kHz WAV is a violation|any('rate 8000' in x for x in log[5]['violations']) and log[5]['file']['wav']['rate'] == 8000" \
    "openai: log: a bad chunk name is a violation|any('filename' in x for x in log[6]['violations'])" \
    "openai: log: response_format json and an unknown field are violations|any('response_format' in x for x in log[7]['violations']) and any(\"unknown field 'stream'\" in x for x in log[7]['violations'])" \
    "openai: log: chunked upload is a violation|log[8]['status'] == 411 and any('chunked' in x for x in log[8]['violations'])" \
    "openai: log: the body over the limit|log[9]['status'] == 413 and any('over the limit' in x for x in log[9]['violations'])" \
    "openai: log: unexpected path|log[10]['violations'] == ['unexpected path'] and log[10]['endpoint'] is None" \
    "openai: log: auth recorded as ok/wrong/missing|[r['auth'] for r in log[:4]] == ['ok', 'ok', 'wrong', 'missing']"
check "openai: the key is nowhere in the log directory" sh -c "! grep -r -q -F '$KEY' '$T/oa'"
check "openai: no Authorization value in the log" sh -c "! grep -q -i 'bearer' '$T/oa/requests.jsonl'"

# ---- OpenAI variants
# shellcheck disable=SC2086
post groq "$(url groq)/openai/v1/audio/transcriptions" -F "file=@$CHUNK" -F model=whisper-large-v3 $FORM
jcheck "$T/groq.body" "groq: words asked for, none sent; segments there|'words' not in d and len(d['segments']) == 1"
# shellcheck disable=SC2086
post vllm "$(url vllm)/v1/audio/transcriptions" -F "file=@$CHUNK" -F model=openai/whisper-large-v3 $FORM
jcheck "$T/vllm.body" "vllm: avg_logprob and compression_ratio are -1, no words|'words' not in d and all(s['avg_logprob'] == -1 and s['compression_ratio'] == -1 for s in d['segments'])"
NG="$(url nogran)/v1/audio/transcriptions"
# shellcheck disable=SC2086
post nogran "$NG" -F "file=@$CHUNK" -F model=whisper-1 $FORM
check "nogranularity: word granularity gets 400" code_is nogran 400
jcheck "$T/nogran.body" "nogranularity: the 400 names timestamp_granularities|'timestamp_granularities' in d['error']['message']"
post nogran2 "$NG" -F "file=@$CHUNK" -F model=whisper-1 -F response_format=verbose_json -F "timestamp_granularities[]=segment"
check "nogranularity: segments alone get 200" code_is nogran2 200

# ---- faults, in order, then an ordinary answer. curl gives each 120 s (20 MiB of JSON from a
# loaded python3 takes a while), the one that never answers (the fake holds it for longer than
# the test runs) 3 s
FU="$(url faults)/v1/audio/transcriptions"
i=0
for f in 429 500 html badjson empty huge close error200 timeout normal; do
    i=$((i + 1))
    limit=120
    [ "$f" = timeout ] && limit=3
    # shellcheck disable=SC2086
    post "f$i" "$FU" -m "$limit" -F "file=@$CHUNK" -F model=whisper-1 $FORM
done
check "fault 429: status 429" code_is f1 429
check "fault 429: Retry-After: 1" grep -q -i '^Retry-After: 1' "$T/f1.hdr"
jcheck "$T/f1.body" "fault 429: OpenAI's rate-limit body|d['error']['code'] == 'rate_limit_exceeded'"
check "fault 500: status 500" code_is f2 500
jcheck "$T/f2.body" "fault 500: OpenAI's server_error body|d['error']['type'] == 'server_error'"
check "fault html: status 200" code_is f3 200
check "fault html: text/html" grep -q -i '^Content-Type: text/html' "$T/f3.hdr"
check "fault html: an HTML page" grep -q -i '<html>' "$T/f3.body"
check "fault badjson: status 200, application/json" sh -c "[ \"\$(cat '$T/f4.code')\" = 200 ] && grep -q -i '^Content-Type: application/json' '$T/f4.hdr'"
jcheck "$T/f4.body" "fault badjson: the body does not parse|d is None and raw.startswith(b'{')"
jcheck "$T/f5.body" "fault empty: verbose_json with text '' and no segments|d['text'] == '' and d['segments'] == []"
jcheck "$T/f6.body" "fault huge: valid JSON of 20 MiB|len(raw) >= 20 * 1024 * 1024 and len(d['text']) > 20000000"
check "fault close: no answer (curl: empty reply)" sh -c "[ \"\$(cat '$T/f7.rc')\" = 52 ] && [ \"\$(cat '$T/f7.code')\" = 000 ]"
jcheck "$T/f8.body" "fault error200: 200 {error}|d == {'error': 'failed to read WAV file'}"
check "fault timeout: no answer within 3 s (curl timed out)" sh -c "[ \"\$(cat '$T/f9.rc')\" = 28 ]"
check "faults over: an ordinary answer" code_is f10 200
LOG="$T/faults/requests.jsonl"
jcheck "$T/f10.body" "faults: the log names each fault in order|[r['fault'] for r in sorted(log, key=lambda r: r['n'])[:8]] == ['429', '500', 'html', 'badjson', 'empty', 'huge', 'close', 'error200'] and any(r['fault'] is None and r['status'] == 200 for r in log)" \
    "faults: the closed request is logged without a status|[r['status'] for r in log if r['fault'] == 'close'] == [None]"

# ---- STM content
post stm "$(url stm)/v1/audio/transcriptions" -F "file=@$T/a/mixed_10.000_14.000.wav" -F model=whisper-1 \
    -F response_format=verbose_json -F "timestamp_granularities[]=word"
jcheck "$T/stm.body" \
    "stm: the lines overlapping 10-14 s, chunk-relative|[(s['start'], s['end']) for s in d['segments']] == [(0.0, 1.0), (2.0, 3.5)]" \
    "stm: the words whose middle is in the chunk|[w['word'] for w in d['words']] == ['there', 'friend', 'How', 'are', 'you']" \
    "stm: the STM's text and punctuation|d['segments'][0]['text'] == ' there, friend.' and d['segments'][1]['text'] == ' How are you?'" \
    "stm: words spread over the line's span|abs(d['words'][2]['start'] - 2.05) < 0.002 and abs(d['words'][4]['end'] - 3.45) < 0.002"

# ---- whisper.cpp: loading, health, faults, tokens without times
WC=$(url wc)
post wc0 "$WC/inference" -F "file=@$CHUNK" -F response_format=verbose_json
check "whispercpp: inference while loading gets 503" code_is wc0 503
for i in 1 2 3; do post "h$i" "$WC/health"; done
check "whispercpp: /health 503 while loading (1)" code_is h1 503
check "whispercpp: /health 503 while loading (2)" code_is h2 503
jcheck "$T/h1.body" "whispercpp: loading body|d == {'status': 'loading model'}"
check "whispercpp: /health 200 once loaded" code_is h3 200
jcheck "$T/h3.body" "whispercpp: ok body|d == {'status': 'ok'}"
for i in 1 2 3; do post "wc$i" "$WC/inference" -F "file=@$CHUNK" -F response_format=verbose_json -F temperature=0.0; done
check "whispercpp: fault 500" code_is wc1 500
jcheck "$T/wc1.body" "whispercpp: 500 body {error}|'error' in d and isinstance(d['error'], str)"
jcheck "$T/wc2.body" "whispercpp: fault error200|d == {'error': 'failed to read WAV file'}"
check "whispercpp: then an ordinary answer" code_is wc3 200
LOG="$T/wc/requests.jsonl"
jcheck "$T/wc3.body" \
    "whispercpp: verbose_json top level|d['task'] == 'transcribe' and d['language'] == 'english' and d['duration'] == 4.0 and d['text'].endswith('.\\n')" \
    "whispercpp: segment fields, no compression_ratio or no_speech_prob|[list(s) for s in d['segments']] == [['id', 'text', 'start', 'end', 'tokens', 'words', 'temperature', 'avg_logprob']]" \
    "whispercpp: words are sub-word tokens with punctuation apart|[w['word'] for w in d['segments'][0]['words']][:3] == [' alp', 'ha', ' bra'] and ',' in [w['word'] for w in d['segments'][0]['words']] and d['segments'][0]['words'][-1]['word'] == '.'" \
    "whispercpp: without token timestamps the tokens say -0.01|all(w['start'] == -0.01 and w['end'] == -0.01 and w['t_dtw'] == -1 and 0 < w['probability'] <= 1 for w in d['segments'][0]['words'])" \
    "whispercpp: a token id per word entry|len(d['segments'][0]['tokens']) == len(d['segments'][0]['words'])" \
    "whispercpp: log: health and inference|[r['endpoint'] for r in log[:5]] == ['transcribe', 'health', 'health', 'health', 'transcribe'] and log[4]['fault'] == '500' and log[0]['fault'] is None" \
    "whispercpp: log: words sent without times|log[6]['sent']['word_times'] is False and log[6]['sent']['words'][0] == {'word': 'alpha', 'start': None, 'end': None}"
post wcn "$WC/inference" -F "file=@$T/a/customer_1.000_3.000.wav" -F response_format=verbose_json
jcheck "$T/wcn.body" "whispercpp: an 8 kHz WAV: 200 {error}, as read_wav refuses it|d == {'error': 'failed to read WAV file'}" \
    "whispercpp: log: the 8 kHz WAV is a violation|any('rate 8000' in x for x in log[-1]['violations'])"
post wcl "$WC/inference" -F "file=@$T/a/agent_0.000_31.000.wav" -F response_format=verbose_json
jcheck "$T/wcl.body" "whispercpp: log: 31 s is over 30 s|any('over 30 s' in x for x in log[-1]['violations'])"
post wcf "$WC/inference" -F response_format=verbose_json
jcheck "$T/wcf.body" "whispercpp: no file part: 200 {error}|d == {'error': \"no 'file' field in the request\"}"
post wcj "$WC/inference" -F "file=@$CHUNK"
jcheck "$T/wcj.body" "whispercpp: log: no response_format is a violation|any('response_format' in x for x in log[-1]['violations'])"
post wcp "$WC/v1/audio/transcriptions" -F "file=@$CHUNK"
check "whispercpp: an unexpected path gets 404" code_is wcp 404
check "whispercpp: 404 says File Not Found" grep -q 'File Not Found' "$T/wcp.body"

# ---- whisper.cpp with token times and hallucinations, after two 429s
WH=$(url wch)
G="$T/a/customer_100.000_105.000.wav"
for i in 1 2 3; do post "wh$i" "$WH/inference" -F "file=@$G" -F response_format=verbose_json; done
check "whispercpp 429:2: first 429" code_is wh1 429
check "whispercpp 429:2: second 429" code_is wh2 429
check "whispercpp 429:2: then 200" code_is wh3 200
LOG="$T/wch/requests.jsonl"
jcheck "$T/wh3.body" \
    "halluc: speech segments where the audio is voiced|[(s['start'], s['text']) for s in d['segments'] if s['text'] in (' alpha bravo.', ' charlie delta.')] == [(1.0, ' alpha bravo.'), (3.0, ' charlie delta.')]" \
    "halluc: a known phrase in the first silence|any(abs(s['start'] - 0.1) < 0.011 and s['text'].strip() in ['Thank you for watching.', 'Thanks for watching!', 'Subtitles by the Amara.org community', 'Please subscribe to my channel.', 'Thank you.'] for s in d['segments'])" \
    "halluc: a repetition loop in the second silence|any(abs(s['start'] - 2.1) < 0.011 and s['text'].strip() in ['you you you you you you you you', \"I'm sorry. I'm sorry. I'm sorry. I'm sorry.\"] for s in d['segments'])" \
    "halluc: a word 1.5 s past the end|d['segments'][-1]['start'] == 6.5 and d['segments'][-1]['text'] == ' Bye.'" \
    "halluc: token times are real|all(w['start'] >= 0 for s in d['segments'] for w in s['words'])" \
    "halluc: log: injected phrase, loop, phrase, past_end|[x['kind'] for x in log[2]['injected']] == ['phrase', 'loop', 'phrase', 'past_end']" \
    "halluc: log: the faults did not inject|log[0]['injected'] == [] and log[1]['injected'] == []"
jcheck "$T/wch/injected.jsonl" "halluc: injected.jsonl on the call's clock|raw.count(b'\\n') == 4 and [json.loads(x)['start'] for x in raw.splitlines()][3] == 106.5 and all(json.loads(x)['file'] == 'customer_100.000_105.000.wav' for x in raw.splitlines())"

for f in oa groq vllm nogran faults stm wc wch; do stop "$f"; done
check "no fake wrote to stderr" sh -c "! cat '$T'/*.err | grep -q ."
finish "fake ASR"
