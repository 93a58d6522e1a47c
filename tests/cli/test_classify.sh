#!/bin/sh
# test_classify.sh - `callqa classify -`: each hold-music call's agent leg, piped as raw 16-bit
# PCM (faster than real time), reports the end of hold within 0.5 s of the labelled music end
# (calls/labels.json). The audio time at which the transition was printed is shown beside the
# labelled start of the speech that ends the hold (docs/events.md quotes it).
#   usage: test_classify.sh BUILD/callqa CORPUS_DIR
set -u
CQ=$1
C=$2
fails=0
n=0
# call, the agent's channel, labelled music end, labelled speech start after it
while read -r file ch mend speech; do
    n=$((n + 1))
    line=$(sox "$C/$file" -t raw -r 8000 -e signed -b 16 -c 1 - remix "$ch" 2>/dev/null |
        "$CQ" classify --rate 8000 - 2>/dev/null | grep '"type":"hold","state":"end"' | head -1)
    end=$(printf '%s' "$line" | sed -n 's/.*"end":\([0-9.]*\).*/\1/p')
    at=$(printf '%s' "$line" | sed -n 's/.*"at":\([0-9.]*\).*/\1/p')
    if [ -n "$end" ] && awk -v e="$end" -v m="$mend" 'BEGIN { d = e - m; exit !(d <= 0.5 && d >= -0.5) }'; then
        echo "ok $n - $file: hold ends at $end (labelled $mend); printed at $at, speech labelled at $speech"
    else
        echo "not ok $n - $file: hold end '${end:-none}' (labelled $mend): $line"
        fails=$((fails + 1))
    fi
done <<LIST
calls/call04_hold_music.wav 2 64.9343 65.7343
calls/call06_ivr_dtmf.wav 2 50.7009 51.2009
calls/call14_vicidial-out.wav 1 57.4032 58.2032
LIST
echo "1..$n"
[ $fails -eq 0 ] || { echo "$fails of $n classify checks failed"; exit 1; }
echo "all $n classify checks passed"
