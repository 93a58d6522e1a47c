#!/bin/sh
# test_flags.sh - the settings' flags (src/config/config.c's table, listed by test_config
# --flags) are what `callqa analyze` and `callqa analyze --transcribe` take and show: each is
# accepted with a value of its own (and --help after it, so that nothing is analysed), each is
# on the --help page, and a value out of its bounds is refused with the flag named.
#   usage: test_flags.sh BUILD/callqa BUILD/tests/test_config
set -u
CQ=$1
TC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$TC" --flags analysis > "$T/analysis" || exit 1
"$TC" --flags asr > "$T/asr" || exit 1
check "the table has analysis flags" [ "$(wc -l < "$T/analysis")" -ge 14 ]
check "the table has asr flags" [ "$(wc -l < "$T/asr")" -ge 10 ]
"$CQ" analyze --help > "$T/help.analyze"
"$CQ" analyze --transcribe --help > "$T/help.transcribe"
takes() { # takes CMD... : every flag line of stdin accepted by the command, before --help
    bad=0
    while read -r flag value; do
        # shellcheck disable=SC2086 # $value: none for a boolean flag
        if ! "$@" "$flag" $value --help > /dev/null 2> "$T/err"; then
            echo "  $* $flag $value: $(cat "$T/err")"
            bad=1
        fi
    done
    return $bad
}
shown() { # shown HELPFILE < flags: every flag is on the page
    bad=0
    while read -r flag _; do
        grep -q -- "^  $flag\b" "$1" || { echo "  $flag is not in $1"; bad=1; }
    done
    return $bad
}
check "callqa analyze takes every analysis flag" takes "$CQ" analyze < "$T/analysis"
check "callqa analyze --transcribe takes every analysis flag" \
    takes "$CQ" analyze --transcribe < "$T/analysis"
check "callqa analyze --transcribe takes every asr flag" \
    takes "$CQ" analyze --transcribe < "$T/asr"
check "callqa analyze --help shows every analysis flag" shown "$T/help.analyze" < "$T/analysis"
check "callqa analyze --transcribe --help shows every analysis flag" \
    shown "$T/help.transcribe" < "$T/analysis"
check "callqa analyze --transcribe --help shows every asr flag" \
    shown "$T/help.transcribe" < "$T/asr"
refused() { # refused CMD...: exit 2 with the flag named
    "$@" > /dev/null 2> "$T/err"
    [ $? -eq 2 ] && grep -q -- "--vad-threshold" "$T/err"
}
check "callqa analyze refuses --vad-threshold 1.5, naming it" \
    refused "$CQ" analyze --vad-threshold 1.5 samples/none.wav
check "callqa analyze --transcribe refuses --vad-threshold 1.5, naming it" \
    refused "$CQ" analyze --transcribe --asr-url http://127.0.0.1:9 --vad-threshold 1.5 none.wav
finish "settings flags"
