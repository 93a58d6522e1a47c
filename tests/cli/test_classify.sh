#!/bin/sh
# test_classify.sh - `callqa classify -` on a pipe: each hold-music call's agent leg, sent as
# raw 16-bit PCM (faster than real time), reports
#   - the end of hold within 0.5 s of the labelled music end (calls/labels.json), and
#   - the hold->speech transition within 0.5 s of audio after the speech that ends the hold
#     begins, as the reference VAD finds it (first segment after the music in
#     reference/golden.jsonl; the label's clip starts earlier, with sounds below speech).
#   usage: test_classify.sh BUILD/callqa CORPUS_DIR
set -u
if [ ! -d "$2" ] || [ ! -d "$2/../models" ]; then
    echo "SKIP: $2 or its models are missing"
    exit 77
fi
CQ=$1
C=$2
. "$(dirname "$0")/../lib.sh"
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(d <= t && d >= -t) }'; }
after_by_at_most() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a >= b && a - b <= t) }'; }

# call, the agent's channel, labelled music end, reference VAD speech onset after it
while read -r file ch mend onset; do
    line=$(sox "$C/$file" -t raw -r 8000 -e signed -b 16 -c 1 - remix "$ch" 2>/dev/null |
        "$CQ" classify --rate 8000 - 2>/dev/null | grep '"type":"hold","id":[0-9]*,"state":"closed"' | head -1)
    end=$(printf '%s' "$line" | sed -n 's/.*"end":\([0-9.]*\).*/\1/p')
    at=$(printf '%s' "$line" | sed -n 's/.*"at":\([0-9.]*\).*/\1/p')
    check "$file: hold ends at ${end:-none} (labelled $mend)" within "${end:-0}" "$mend" 0.5
    check "$file: hold->speech printed at ${at:-never} (speech from $onset)" \
        after_by_at_most "${at:-0}" "$onset" 0.5
done <<LIST
calls/call04_hold_music.wav 2 64.9343 66.178
calls/call06_ivr_dtmf.wav 2 50.7009 51.234
calls/call14_vicidial-out.wav 1 57.4032 59.266
LIST

# DTMF: the first digit is printed (open) as it ends, within 0.1 s of audio; the closed line has them all
sox "$C/calls/call06_ivr_dtmf.wav" -t raw -r 8000 -e signed -b 16 -c 1 - remix 1 2>/dev/null |
    "$CQ" classify --rate 8000 - 2>/dev/null > "${TMPDIR:-/tmp}/cq_classify_$$.jsonl"
first=$(grep '"type":"dtmf","id":[0-9]*,"state":"open"' "${TMPDIR:-/tmp}/cq_classify_$$.jsonl" | head -1)
closed=$(grep '"type":"dtmf","id":[0-9]*,"state":"closed"' "${TMPDIR:-/tmp}/cq_classify_$$.jsonl")
rm -f "${TMPDIR:-/tmp}/cq_classify_$$.jsonl"
fat=$(printf '%s' "$first" | sed -n 's/.*"at":\([0-9.]*\).*/\1/p')
# the first digit (8) sounds 26.1019-26.2019 (labels.json: tone_ms 100, gap_ms 100)
check "first DTMF digit printed at ${fat:-never} (ends 26.2019)" after_by_at_most "${fat:-0}" 26.2019 0.1
check "the first open DTMF line has digit 8" test -n "$(printf '%s' "$first" | grep '"digits":"8"')"
check "the closed DTMF line has 8275#" test -n "$(printf '%s' "$closed" | grep '"digits":"8275#"')"

finish classify
