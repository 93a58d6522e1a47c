#!/bin/sh
# shoot_mono.sh - screenshots of two mono recordings in the dashboard (docs/screenshots/):
# samples/sample-mono.wav (made by scripts/make-sample-mono: an agent and an upset customer in two
# espeak-ng voices) and the real two-party call conversations/pyannote_sample.wav. Both go the
# real way: uploaded to `callqa serve`, analysed (diarized), transcribed per speaker against the
# fake ASR speaking their scripts (the sample's own script, the pyannote call's STM), roles decided
# and sentiment scored with VADER's lexicon by `callqa worker`; then the call views are
# photographed, light and dark, with the speakers' and sentiment lanes.
#   usage: shoot_mono.sh BUILD/callqa SHARED_DIR OUT_DIR
# Needs sox, node with ui/'s packages (playwright-core), Chromium, and tests/scoring/vader/'s npm
# packages (the lexicon: npm ci there).
set -eu
CQ=$1
SH=$2
OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../lib.sh"
ASR_DIR="$ROOT/tests/clients"
. "$ROOT/tests/clients/asr_lib.sh"
T=$(mktemp -d)
SERVE=""
FAKE=""
trap '[ -n "$SERVE" ] && kill $SERVE 2> /dev/null; [ -n "$FAKE" ] && kill $FAKE 2> /dev/null; rm -rf "$T"' EXIT
LEX="$ROOT/tests/scoring/vader/node_modules/vader-sentiment/vader_lexicon.txt"
[ -f "$LEX" ] || (cd "$ROOT/tests/scoring/vader" && npm ci --silent > /dev/null)
mkdir -p "$T/models/vader"
for m in "$SH"/models/*; do ln -s "$m" "$T/models/$(basename "$m")"; done
cp "$LEX" "$T/models/vader/vader_lexicon.txt"
export CALLQA_MODEL_DIR="$T/models"

# the scripts the fake ASR says: the sample's utterances, the pyannote call's STM
python3 - "$ROOT/samples/sample-mono.json" > "$T/mono.stm" <<'PY'
import json, sys
for u in json.load(open(sys.argv[1]))["utterances"]:
    print("mix 1 %s %.3f %.3f %s" % (u["speaker"], u["start"], u["end"], u["text"].lower()))
PY
fake_start "$T/asr1" --protocol openai --mode openai,stm --stm "$T/mono.stm"
URL1=$URL
F1=$FAKE
fake_start "$T/asr2" --protocol openai --mode openai,stm --stm "$SH/corpus/conversations/pyannote_sample.stm"
URL2=$URL
FAKE="$F1 $FAKE"

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
"$CQ" serve --db "$T/qa.db" --no-auth --listen "127.0.0.1:$PORT" > "$T/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "$U/health" && break; sleep 0.1; done
upload() { # upload RECORDING_ID FILE
    code=$(curl -s -o "$T/up.json" -w '%{http_code}' \
        -F "metadata={\"recording_id\":\"$1\",\"agent_user\":\"sam\",\"agent_name\":\"Sam\",\"campaign_id\":\"BANK\",\"direction\":\"inbound\",\"call_date\":\"$(date +%F) 10:00:00\"};type=application/json" \
        -F "audio=@$2" "$U/api/qa/calls")
    [ "$code" = 201 ] || { echo "upload $1: $code $(cat "$T/up.json")"; exit 1; }
}
work() { # work ASR_URL
    printf 'asr_url = %s/v1\nasr_model = whisper-large-v3\nasr_language = en\n' "$1" > "$T/w.conf"
    "$CQ" worker --db "$T/qa.db" --config "$T/w.conf" --once --jobs 1 --max-load 0 --no-idle \
        --backoff-sec 0.2 --max-retries 1 >> "$T/worker.log" 2>&1
}
upload MONO-SAMPLE "$ROOT/samples/sample-mono.wav"
work "$URL1"
upload MONO-PYANNOTE "$SH/corpus/conversations/pyannote_sample.wav"
work "$URL2"
for id in MONO-SAMPLE MONO-PYANNOTE; do
    curl -s "$U/api/qa/call/$id/report" > "$T/$id.json"
    python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['report']
d = r.get('diarization') or {}
ro = r.get('roles') or {}
print(sys.argv[2], 'speakers', d.get('n_speakers'), 'confidence', d.get('confidence'),
      'roles', {k: (v or {}).get('role') for k, v in ro.items() if k in ('S1', 'S2')})
" "$T/$id.json" "$id"
done
mkdir -p "$OUT"
node "$HERE/shoot_mono.mjs" "$U" "$OUT"
