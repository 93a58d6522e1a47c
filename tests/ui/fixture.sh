#!/bin/sh
# fixture.sh - a store for the dashboard's browser tests and screenshots, filled the way a site
# fills it: corpus calls uploaded to `callqa serve` (POST /api/qa/calls) with agents, campaigns
# and days, some names carrying script injections, one call with a capture of its network side
# and one with a capture that cannot be read; `callqa worker --once` analyses and scores
# them; real bank-call transcripts are attached to some (callqa transcript import).
#   usage: fixture.sh BUILD/callqa CORPUS_DIR DIR
# Leaves DIR/store.db, and the service's token in DIR/token (mode 0600). Exits non-zero with the
# reason when a step fails.
set -eu
CQ=$1
C=$2/calls
DIR=$3
TR=${CALLQA_SHARED_DIR:-$2/..}/transcripts/transcript
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
export CALLQA_MODEL_DIR="${CALLQA_MODEL_DIR:-$2/../models}"
mkdir -p "$DIR"
DB=$DIR/store.db
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
"$CQ" serve --db "$DB" --no-auth --listen "127.0.0.1:$PORT" > "$DIR/fixture-serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$U/health" && break
    sleep 0.1
done
D0=$(date +%F)
D1=$(date -d yesterday +%F)
D2=$(date -d '2 days ago' +%F)
D9=$(date -d '9 days ago' +%F)
up() { # up METADATA PART...
    meta=$1
    shift
    parts=""
    for p in "$@"; do parts="$parts -F $p"; done
    # shellcheck disable=SC2086 # the parts are words on purpose
    code=$(curl -s -o "$DIR/up.json" -w '%{http_code}' -F "metadata=$meta;type=application/json" \
        $parts "$U/api/qa/calls")
    [ "$code" = 201 ] || { echo "fixture: upload $meta: $code $(cat "$DIR/up.json")" >&2; exit 1; }
}
X1='<script>window.__xss=1</script>'
X2='<img src=x onerror=\"window.__xss=2\">'
X3='<svg onload=\"window.__xss=3\">'
X4='javascript:window.__xss=4'
up '{"recording_id":"R01","uniqueid":"1700000001.1","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"BANK","campaign_name":"Card services","direction":"inbound","call_date":"'"$D0"' 09:00:00","tz":"America/New_York","length_sec":64,"disposition":"SALE"}' "audio=@$C/call01_normal.wav"
# the one-way call with the network side of it: its recording in mu-law and a capture of the
# call made from it (SIP INVITE, 200 OK, ACK and RTP both ways), uploaded together
sox "$C/call02_one_way_audio.wav" -e u-law "$DIR/call02.wav"
python3 "$HERE/../net/wav_to_pcap.py" "$DIR/call02.wav" "$DIR/call02.pcap" --answer
up '{"recording_id":"R02","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"BANK","call_date":"'"$D0"' 10:00:00","tz":"America/New_York","length_sec":55}' "audio=@$DIR/call02.wav" "capture=@$DIR/call02.pcap"
up '{"recording_id":"R03","agent_user":"bob","agent_name":"'"$X1"'","campaign_id":"BANK","campaign_name":"'"$X2"'","call_date":"'"$D1"' 11:00:00","tz":"Europe/London","disposition":"NI"}' "audio=@$C/call03_dead_air.wav"
up '{"recording_id":"R04","agent_user":"bob","agent_name":"'"$X1"'","campaign_id":"SALES","direction":"outbound","call_date":"'"$D1"' 12:00:00","tz":"Europe/London"}' "audio=@$C/call04_hold_music.wav"
up '{"recording_id":"R05","agent_user":"zoe","agent_name":"Zoë Ålund","campaign_id":"SALES","call_date":"'"$D2"' 08:00:00","tz":"Europe/Stockholm"}' "audio=@$C/call05_ringback_answer.wav"
up '{"recording_id":"R06","agent_user":"zoe","agent_name":"Zoë Ålund","campaign_id":"SALES","call_date":"'"$D2"' 09:00:00","tz":"Europe/Stockholm"}' "audio=@$C/call06_ivr_dtmf.wav"
# a capture that cannot be read (the start of a WAV file): the call is analysed, and says why
head -c 2048 "$C/call07_clipping.wav" > "$DIR/call07.pcap"
up '{"recording_id":"R07","agent_user":"carl","agent_name":"'"$X3"'","campaign_id":"BANK","call_date":"'"$D0"' 11:00:00"}' "audio=@$C/call07_clipping.wav" "capture=@$DIR/call07.pcap"
up '{"recording_id":"R08","agent_user":"carl","agent_name":"'"$X3"'","campaign_id":"BANK","call_date":"'"$D0"' 12:00:00"}' "audio=@$C/call08_low_level.wav"
up '{"recording_id":"R09","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"SALES","call_date":"'"$D1"' 13:00:00","tz":"America/New_York"}' "audio=@$C/call12_overtalk.wav"
up '{"recording_id":"R10","agent_user":"ann","agent_name":"Ann Smith","campaign_id":"BANK","call_date":"'"$D0"' 13:00:00","tz":"America/New_York"}' "in=@$C/call14_vicidial-in.wav" "out=@$C/call14_vicidial-out.wav"
up '{"recording_id":"R11","agent_user":"dan","agent_name":"'"$X4"'","campaign_id":"'"$X4"'","call_date":"'"$D0"' 14:00:00","tz":"UTC"}' "audio=@$C/call10_busy.wav"
up '{"recording_id":"R12","agent_user":"dan","agent_name":"'"$X4"'","campaign_id":"SALES","call_date":"'"$D9"' 14:00:00","tz":"UTC"}' "audio=@$C/call09_noise.wav"
up '{"recording_id":"R13","agent_user":"eve","agent_name":"Eve Park","campaign_id":"BANK","call_date":"'"$D1"' 15:00:00","tz":"UTC"}' "audio=@$C/call13_mono_diarization.wav"
up '{"recording_id":"R14","agent_user":"eve","agent_name":"Eve Park","campaign_id":"BANK","call_date":"'"$D1"' 16:00:00","tz":"UTC"}' "audio=@$2/formats/ast_en_basic_pbx_ivr_main_gsm.wav"
# the longest call the service allows (max_duration_sec, set to 30 minutes here): corpus calls
# one after another, cut at exactly that length
if [ "${CALLQA_UI_LONG:-0}" = 1 ]; then
    sox "$C/call01_normal.wav" "$C/call02_one_way_audio.wav" "$C/call03_dead_air.wav" \
        "$C/call04_hold_music.wav" "$C/call05_ringback_answer.wav" "$C/call06_ivr_dtmf.wav" \
        "$C/call07_clipping.wav" "$C/call09_noise.wav" "$C/call12_overtalk.wav" -t wav -e u-law \
        "$DIR/one.wav"
    sox "$DIR/one.wav" "$DIR/one.wav" "$DIR/one.wav" "$DIR/one.wav" "$DIR/one.wav" -e u-law \
        "$DIR/long.wav" trim 0 1800
    rm -f "$DIR/one.wav"
    up '{"recording_id":"RLONG","agent_user":"eve","agent_name":"Eve Park","campaign_id":"BANK","call_date":"'"$D0"' 07:00:00","tz":"UTC"}' "audio=@$DIR/long.wav"
fi
# the scorecard: the shipped card's acoustic categories only (no ASR or LLM reaches a test), so
# that calls get a total and the weak ones are flagged
python3 -c '
import json, sys
card = json.load(open(sys.argv[1]))
card["name"] = "acoustic only (dashboard tests)"
card["flag_threshold"] = 90
card["categories"] = [c for c in card["categories"] if c["method"] == "acoustic"]
for c in card["categories"]:
    c["weight"] = 1.0 / len(card["categories"])
json.dump(card, open(sys.argv[2], "w"), indent=1)
' "$HERE/../../scorecards/default.json" "$DIR/card.json"
printf 'scorecard = %s\nmax_duration_sec = 1800\n' "$DIR/card.json" > "$DIR/worker.conf"
"$CQ" worker --db "$DB" --config "$DIR/worker.conf" --once --max-load 0 --no-idle \
    > "$DIR/fixture-worker.log" 2>&1 ||
    { echo "fixture: the worker failed: $(tail -5 "$DIR/fixture-worker.log")" >&2; exit 1; }
# transcripts: real bank calls' words, one carrying a script in its text
attach() { # attach CALL TRANSCRIPT DURATION [PREFIX]
    python3 "$HERE/make_transcript.py" "$TR/$2.json" "$3" "${4:-}" > "$DIR/tx.json"
    "$CQ" transcript import --db "$DB" --call "$1" "$DIR/tx.json" > "$DIR/import.log" 2>&1 ||
        { echo "fixture: transcript import $1: $(cat "$DIR/import.log")" >&2; exit 1; }
}
attach R01 0002f70f7386445b 63
attach R03 00d676d7058c49bb 88 "$X1 $X2 $X3"
attach R09 010eaccb7a23436f 58
attach R10 01f7ec3700424bc0 78
