# events_lib.sh - sourced by the events suites (tests/dsp/test_*.sh): what they need before
# they start, and the codecs call recordings are stored in.

# events_need CORPUS_DIR FILE: exit 77 (skip) without CORPUS_DIR/FILE or the models beside the
# corpus; fail without sox (the suites synthesise and cut with it); T = a temporary directory,
# removed at exit.
events_need() {
    if [ ! -f "$1/$2" ] || [ ! -d "$1/../models" ]; then
        echo "SKIP: $1 (the shared corpus) or $1/../models is missing"
        exit 77
    fi
    command -v sox >/dev/null || { echo "FAIL: sox is not installed (scripts/deps)"; exit 1; }
    T=$(mktemp -d)
    # shellcheck disable=SC2064 # T is fixed from here on
    trap "rm -rf '$T'" EXIT
}

# events_music_set SET_DIR: the music set the fixture events_music_set made (music_set.sh), its
# batch reports copied to T/reports.jsonl for the test to add to; exit 1 without it.
events_music_set() {
    [ -s "$1/reports.jsonl" ] || { echo "FAIL: $1 has no music set (the fixture events_music_set)"; exit 1; }
    cp "$1/reports.jsonl" "$T/reports.jsonl"
}

# events_codecs DIR: every DIR/NAME.wav also as NAME_alaw.wav, NAME_ulaw.wav, NAME_gsm.wav
# (GSM 06.10, WAV49) and NAME_mp3.mp3 (32 kbit/s), by events_codecs (libsndfile's encoders;
# beside $MK, the suite's events_mkcalls), two processes at a time.
events_codecs() {
    ec=${MK%/*}/events_codecs
    "$ec" "$1" 0 2 & ec_pid=$!
    ec_st=0
    "$ec" "$1" 1 2 || ec_st=1
    wait "$ec_pid" || ec_st=1
    [ $ec_st -eq 0 ] || { echo "FAIL: events_codecs could not encode the set"; exit 1; }
}

# events_classify CQ DIR CH RAW: `callqa classify --channel CH` on the files of DIR named on
# stdin, into RAW/ (a file per process, each line starting with its "file"). Each process takes
# 256 files in turn (each its own stream; the model loaded once), two processes at a time.
# Returns 1 on a failed run.
events_classify() {
    mkdir -p "$4"
    # (a batch of one file, which classify prints without its "file", is given it by sed: the
    # sets' names need no escaping)
    (cd "$2" && xargs -r -P 2 -n 256 sh -c '
        o=$(mktemp -p "$1" b.XXXXXX) && ch=$2 && shift 2
        if [ $# -gt 1 ]; then "$0" classify --channel "$ch" "$@" > "$o" 2>/dev/null
        else "$0" classify --channel "$ch" "$1" > "$o.one" 2>/dev/null || exit 1
            sed "s|^{|{\"file\":\"$1\",|" "$o.one" > "$o" && rm "$o.one"; fi' \
        "$1" "$4" "$3") || { echo "FAIL: callqa classify failed"; return 1; }
}

# events_stream CQ DIR REPORTS SRC: `callqa classify` on every file of DIR (channel 1), checked
# against the batch's REPORTS (suite_check.py stream), its lines split into one file per
# recording. Returns 1 on a difference or a failed run.
events_stream() {
    mkdir -p "$T/stream"
    (cd "$2" && ls) | events_classify "$1" "$2" 1 "$T/stream.raw" || return 1
    python3 "$4/tests/dsp/suite_check.py" split "$2" "$T/stream.raw" "$T/stream" &&
        python3 "$4/tests/dsp/suite_check.py" stream "$4/docs/events.md" "$3" "$T/stream"
}
