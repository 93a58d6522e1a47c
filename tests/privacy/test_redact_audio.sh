#!/bin/sh
# test_redact_audio.sh - redaction measured end to end on spoken calls: the corpus of
# tests/privacy/mkcorpus.py (two-leg calls synthesised word by word with espeak-ng, 8 kHz PCM,
# u-law, A-law and GSM 06.10 legs, entities and as many near-misses, the Harper Valley calls'
# numbers) uploaded through `callqa serve`, analysed, transcribed and scored by `callqa worker`
# against the fake ASR (tests/clients/fake_asr.py --mode script: the words said, numbers spelled,
# written or as homophones, times jittered by up to 0.3 s) and the fake LLM (its requests
# kept), with redaction on; then tests/privacy/score_redaction.py:
#   - text and audio recall and precision per entity type (printed; goals: text recall of card,
#     CVV and SSN >= 99 %, every type's precision >= 95 %);
#   - every redacted span silent or a tone in the redacted WAV; every value said, of every type,
#     silent in the copy: each of its digits' (or words') true spans inside a silent span (one
#     value that leaks fails its type's check);
#   - the silence covers the values and nothing else: every word said outside an entity's value,
#     on either leg, within 3 dB of its level in the uploaded call;
#   - 0 Luhn-valid card numbers in the store (cells and file), the worker's and the service's
#     logs and the fake LLM's requests (an independent scan);
#   - every chunk the worker sent matched by the fake to its own call.
#   usage: test_redact_audio.sh BUILD/callqa SHARED_DIR
#   env: CALLQA_REDACT_BASELINE=1 runs the chain without redaction when callqa has none (the
#        corpus, the fakes and the scoring checked on their own);
#        CALLQA_REDACT_SEED (default 0x5eed0a1, the development seed; 0x4a11c0de was the final
#        held-out seed, docs/privacy.md),
#        CALLQA_REDACT_PER_TYPE (entities per type, default 50), KEEP=1 keeps the folder.
set -u
CQ=$1
SH=$2
SEED=${CALLQA_REDACT_SEED:-0x5eed0a1}
PER=${CALLQA_REDACT_PER_TYPE:-50}
for tool in espeak-ng sox; do
    command -v $tool > /dev/null 2>&1 || { echo "SKIP: $tool is not installed (scripts/deps)"; exit 77; }
done
if [ ! -d "$SH/models" ]; then
    echo "SKIP: $SH/models is missing"
    exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
FAKE=""
LFAKE=""
SERVE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2> /dev/null
    [ -n "$LFAKE" ] && kill "$LFAKE" 2> /dev/null
    [ -n "$SERVE" ] && kill "$SERVE" 2> /dev/null
    store_cleanup
    [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$HERE/../lib.sh"
ASR_DIR=$HERE/../clients
. "$ASR_DIR/asr_lib.sh"
. "$HERE/../pipeline/pipeline_lib.sh"
unset CALLQA_TEST_STORE # the scoring reads the store's SQLite file itself
. "$HERE/../lib/store_lib.sh"
store_setup "$T"
# Silero VAD only: NISQA, most of the analysis' time, has no bearing on redaction
mkdir -p "$T/models"
ln -s "$SH/models/silero_vad" "$T/models/silero_vad"
export CALLQA_MODEL_DIR="$T/models"
t_start=$(date +%s)

# ---- the corpus -------------------------------------------------------------------------------
shared=""
[ -d "$SH/transcripts/transcript" ] && shared="--shared $SH"
# shellcheck disable=SC2086 # $shared is empty or two words
python3 "$HERE/mkcorpus.py" --seed "$SEED" --out "$T/corpus" --per-type "$PER" $shared \
    > "$T/mkcorpus.out" 2>&1 || { cat "$T/mkcorpus.out"; exit 1; }
cat "$T/mkcorpus.out"
t_corpus=$(date +%s)

# ---- the settings: refused when this callqa has no redaction -----------------------------------
printf 'sk-test-123\n' > "$T/key"
chmod 600 "$T/key"
conf() { # conf ASR-URL LLM-URL
    cat << EOC
asr_url = $1/v1
asr_model = whisper-large-v3
asr_language = en
llm_provider = openai
llm_url = $2
llm_model = fake-model
llm_key_file = $T/key
llm_retries = 0
llm_timeout_sec = 20
redact = all
redact_audio = mute
redact_dir = $T/redacted
EOC
}
conf http://127.0.0.1:9 http://127.0.0.1:9/v1 > "$T/probe.conf"
if "$CQ" worker --db "$T/probe.db" --config "$T/probe.conf" --once --no-idle --max-load 0 \
    > "$T/probe.out" 2>&1; then :; fi
BASELINE=""
if grep -q "unknown setting 'redact" "$T/probe.out"; then
    if [ -z "${CALLQA_REDACT_BASELINE:-}" ]; then
        echo "SKIP: this callqa has no redaction settings: $(head -1 "$T/probe.out")"
        exit 77
    fi
    # the chain without redaction: the corpus, the fakes and the scoring checked on their own
    echo "baseline: this callqa has no redaction settings; measured without them"
    BASELINE=1
fi

# ---- the calls, uploaded ----------------------------------------------------------------------
DB=$(test_store "$T" qa) || exit 1
serve_start "$DB"
TAB=$(printf '\t')
while IFS="$TAB" read -r id codec files; do
    # shellcheck disable=SC2086 # the files are words on purpose
    set -- $files
    if [ "$codec" = gsm ]; then
        upload "$id" "in=@$T/corpus/calls/$1" "out=@$T/corpus/calls/$2"
    else
        upload "$id" "audio=@$T/corpus/calls/$1"
    fi
done < "$T/corpus/calls.tsv"
serve_stop
ncalls=$(wc -l < "$T/corpus/calls.tsv")

# ---- the worker, against the fakes --------------------------------------------------------------
fake_start "$T/asr" --protocol openai --mode openai,script,mixed,jitter \
    --script "$T/corpus/script.json"
save=""
python3 "$HERE/../clients/fake_llm.py" --help 2>/dev/null | grep -q -- --save-bodies && save=--save-bodies
mkdir -p "$T/llm"
# shellcheck disable=SC2086 # $save is empty or one word
python3 "$HERE/../clients/fake_llm.py" --log "$T/llm" --port-file "$T/llm/port" --key sk-test-123 \
    --model fake-model $save 2> "$T/llm/fake.err" &
LFAKE=$!
wait_port "$T/llm/port" "$T/llm/fake.err"
conf "$URL" "http://127.0.0.1:$(cat "$T/llm/port")/v1" > "$T/worker.conf"
[ -n "$BASELINE" ] && sed -i '/^redact/d' "$T/worker.conf"
t_work=$(date +%s)
"$CQ" worker --db "$DB" --config "$T/worker.conf" --once --jobs 2 --max-load 0 --no-idle \
    --backoff-sec 0.2 --max-retries 1 > "$T/worker.log" 2>&1
echo "worker: exit $?, $(($(date +%s) - t_work)) s for $ncalls calls"
fake_stop
stop_wait "$LFAKE" "the fake LLM"
LFAKE=""
check "every call complete" [ "$(store_sql "$DB" "SELECT COUNT(*) FROM jobs WHERE state = 'complete'")" = "$ncalls" ]
check "every call transcribed" [ "$(store_sql "$DB" "SELECT COUNT(*) FROM transcripts")" = "$ncalls" ]
check "every call scored with the LLM" [ "$(store_sql "$DB" "SELECT COUNT(*) FROM llm_calls WHERE purpose = 'score'")" -ge "$ncalls" ]
[ -n "$save" ] || echo "note: this fake_llm.py keeps no request bodies (--save-bodies): the LLM's requests are not scanned"

# ---- measured -----------------------------------------------------------------------------------
python3 "$HERE/score_redaction.py" --script "$T/corpus/script.json" --asr-log "$T/asr" \
    --db "$DB" --label "seed $SEED" --json "$T/score.json" \
    --scan "$T/worker.log" "$T/$(basename "$DB").serve.log" "$T/llm" > "$T/score.out" 2>&1
cat "$T/score.out"
fig() { # fig PYTHON-EXPRESSION over d (the figures): exit 0 when true
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$T/score.json"
}
if [ -n "$BASELINE" ]; then
    check "baseline: every chunk traced to its own call" fig 'd["untraced"] == 0 and d["traced"] > 0'
    check "baseline: the scan finds the cards left in the store" fig 'len(d["luhn_store"]) > 0'
    echo "run time: $(($(date +%s) - t_start)) s (corpus $((t_corpus - t_start)) s)"
    finish "redaction on spoken calls (baseline, no redaction)"
    exit $?
fi
check "every chunk traced to its own call (the fake matched each to the call it came from)" \
    fig 'd["untraced"] == 0 and d["traced"] > 0'
check "every call has its redaction object and its redacted audio" \
    fig 'not d["no_redaction"] and not d["no_audio"]'
check "every call's redaction says it verified (verify.ok)" fig 'not d["verify_failed"]'
check "text: card, CVV and SSN recall >= 99 %" \
    fig 'all((d["text"][t]["recall"] or 0) >= 0.99 for t in ("card", "cvv", "ssn"))'
check "text: every type's precision >= 95 %" \
    fig 'all(f["precision"] is None or f["precision"] >= 0.95 for f in d["text"].values())'
# a value's audio that leaks fails, whatever its type: every one said, silent in the copy
for typ in card cvv expiry ssn iban email phone; do
    check "audio: every $typ said is silent (each digit or word inside a silent span)" \
        fig "d['audio']['$typ']['entities'] > 0 and d['audio']['$typ']['found'] == d['audio']['$typ']['entities']"
done
check "audio: every value of any other type said is silent" \
    fig 'all(f["found"] == f["entities"] for f in d["audio"].values())'
check "audio: every type's precision >= 95 %" \
    fig 'all(f["precision"] is None or f["precision"] >= 0.95 for f in d["audio"].values())'
check "audio: every redacted span silent or a tone" fig 'not d["bad_spans"]'
check "audio: the silence covers the values and nothing else (every piece of speech outside them within 3 dB of the original)" \
    fig 'd["pieces"] > 0 and not d["lowered"] and not d["no_original"]'
check "no Luhn-valid card number left in the store" fig 'not d["luhn_store"]'
check "no Luhn-valid card number in the logs or the LLM's requests" fig 'not d["luhn_other"]'
echo "run time: $(($(date +%s) - t_start)) s (corpus $((t_corpus - t_start)) s)"
finish "redaction on spoken calls"
