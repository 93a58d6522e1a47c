# shellcheck shell=sh
# asr_lib.sh - shared by the transcription tests: the fake ASR server (fake_asr.py) started
# and stopped.
#   . "$HERE/asr_lib.sh"  (HERE: tests/asr)
#   fake_start LOGDIR ARGS...   the fake on a free port, logging into LOGDIR; $URL and $FAKE set
#   fake_stop

fake_start() {
    d=$1
    shift
    mkdir -p "$d"
    python3 "$HERE/fake_asr.py" --log "$d" --port-file "$d/port" "$@" 2> "$d/fake.err" &
    FAKE=$!
    # python3 can take seconds to start on a loaded machine
    for _ in $(seq 1 300); do
        [ -s "$d/port" ] && break
        sleep 0.1
    done
    [ -s "$d/port" ] || { echo "the fake did not start: $(cat "$d/fake.err")"; exit 1; }
    # shellcheck disable=SC2034 # read by the sourcing script
    URL="http://127.0.0.1:$(cat "$d/port")"
}

fake_stop() {
    kill "$FAKE" 2> /dev/null
    wait "$FAKE" 2> /dev/null
    FAKE=""
}
