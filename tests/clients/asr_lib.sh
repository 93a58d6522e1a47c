# shellcheck shell=sh
# asr_lib.sh - shared by the transcription tests: the fake ASR server (fake_asr.py) started
# and stopped.
#   . "$HERE/../lib.sh"; . "$HERE/asr_lib.sh"  (HERE: tests/clients; from elsewhere, ASR_DIR=tests/clients)
#   fake_start LOGDIR ARGS...   the fake on a free port, logging into LOGDIR; $URL and $FAKE set
#   fake_stop
#   $PYNP (tests/lib.sh)        check_transcript.py's python3, which has numpy

fake_start() {
    d=$1
    shift
    mkdir -p "$d"
    python3 "${ASR_DIR:-$HERE}/fake_asr.py" --log "$d" --port-file "$d/port" "$@" \
        2> "$d/fake.err" &
    FAKE=$!
    wait_port "$d/port" "$d/fake.err"
    # shellcheck disable=SC2034 # read by the sourcing script
    URL="http://127.0.0.1:$(cat "$d/port")"
}

fake_stop() {
    stop_wait "$FAKE" "the fake ASR server"
    FAKE=""
}
