#!/bin/sh
# .ci/valgrind.sh - valgrind memcheck over the Release build (build/): no error, no definite or
# indirect leak, in two groups side by side (each valgrind process keeps one core busy). The
# recordings are cut to their first seconds (sox, and ffmpeg for MP3 without re-encoding: the
# same codec and paths, a third of the time under valgrind):
#   1. the CLI on the sample call and on the corpus's format files (every decoder), NISQA on a
#      short corpus clip (its network is heavy under valgrind), the service through an upload
#      and SIGTERM (tests/service/valgrind_serve.sh)
#   2. the store's unit tests on PostgreSQL (libpq, reconnection), every fuzz harness's seeds,
#      `callqa sip` on every capture of the corpus (libpcap, SIP, SDP, RTP), the transcription
#      client (libcurl, a thread per request) against the fake server, and scoring with the
#      topics and VADER's lexicon
#   usage: .ci/valgrind.sh   (after the Release build; ../shared or $CALLQA_SHARED_DIR)
set -eu
cd "$(dirname "$0")/.."
SHARED=${CALLQA_SHARED_DIR:-../shared}
export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$SHARED/models}"
VG="timeout 1200 valgrind -q --child-silent-after-fork=yes --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect"
FUZZ=$(cat tests/fuzz/harnesses)
CUT=$(mktemp -d)
trap 'rm -rf "$CUT"' EXIT
mkdir "$CUT/formats"
sox samples/sample-call.wav "$CUT/sample-call.wav" trim 0 12
for f in "$SHARED"/corpus/formats/*; do
    case $f in
    *.mp3) ffmpeg -v error -i "$f" -t 8 -c copy "$CUT/formats/${f##*/}" ;;
    *) sox "$f" "$CUT/formats/${f##*/}" trim 0 8 ;;
    esac
done

group1() {
    $VG build/callqa analyze --json -q --only levels,silence,vad,quality,events,conversation,speech_audio \
        "$CUT/sample-call.wav" > /dev/null
    $VG build/callqa analyze --json -q -j 2 --no-isolate --only levels,silence,vad,quality,events,conversation \
        "$CUT/formats" > /dev/null
    $VG build/callqa analyze --json -q --only nisqa "$SHARED/corpus/speech/ps_goforward.wav" > /dev/null
    sh tests/service/valgrind_serve.sh build/callqa "$SHARED/corpus"
}

group2() {
    # shellcheck disable=SC2086 # $VG is a command and its options
    sh tests/lib/with_pg.sh $VG build/tests/test_store
    for f in $FUZZ; do
        $VG "build/tests/fuzz_replay_$f" "tests/fuzz/corpus/$f"
    done
    for cap in "$SHARED"/corpus/pcaps/*.pcap "$SHARED"/corpus/pcaps/*.pcapng; do
        $VG build/callqa-service sip --json "$cap" > /dev/null
    done
    # the transcription client against the fake OpenAI server
    t=$(mktemp -d)
    python3 tests/clients/fake_asr.py --protocol openai --mode openai,halluc --log "$t" \
        --port-file "$t/port" 2> "$t/fake.err" &
    fake=$!
    for _ in $(seq 1 1200); do [ -s "$t/port" ] && break; sleep 0.1; done
    $VG build/callqa-service analyze --transcribe --json -q --only levels,vad,events \
        --asr-url "http://127.0.0.1:$(cat "$t/port")/v1" --asr-model m "$CUT/sample-call.wav" > /dev/null
    kill "$fake"
    # scoring: a real bank call's transcript on the shipped card with the topics, then its
    # sentiment trend with VADER's lexicon (the reference package's, from the build)
    python3 tests/scoring/hv_to_callqa.py 0377245f73a54480 "$SHARED/transcripts" > "$t/call.json"
    $VG build/callqa-service score --transcript "$t/call.json" --topics config/topics/bank.json \
        --json > /dev/null
    mkdir -p "$t/models/vader"
    cp tests/scoring/vader/node_modules/vader-sentiment/vader_lexicon.txt "$t/models/vader/"
    CALLQA_MODEL_DIR="$t/models" $VG build/callqa-service score --transcript "$t/call.json" \
        --json > /dev/null
    rm -rf "$t"
}

log1=$(mktemp) log2=$(mktemp)
trap 'rm -rf "$log1" "$log2" "$CUT"' EXIT
(set -e && group1) > "$log1" 2>&1 &
p1=$!
rc2=0
(set -e && group2) > "$log2" 2>&1 || rc2=$?
rc1=0
wait "$p1" || rc1=$?
cat "$log1" "$log2"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || { echo "CI: valgrind found errors ($rc1, $rc2)"; exit 1; }
echo "valgrind: clean (the CLI, the service, the store on PostgreSQL, $(echo $FUZZ | wc -w) harnesses' seeds, the captures, the clients)"
