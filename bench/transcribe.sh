#!/bin/sh
# bench/transcribe.sh - transcription on the corpus calls, against the fake OpenAI-compatible
# server (tests/asr/fake_asr.py) on the same machine; callqa's own cost is its CPU time:
#   sent      per call, the seconds of audio sent to the server against the seconds recorded
#             (what sending whole files, the design replaced, would send) and against the VAD's
#             speech: the transcription cost saved;
#   overhead  `callqa analyze --transcribe` against `callqa analyze` on the same call with the
#             same analyzers (levels, vad, events, conversation), ROUNDS rounds alternating the
#             two; the median wall time of each and the difference per call: the speech audio
#             kept at 16 kHz, the chunks, the HTTP requests, the JSON, the guard.
# Writes bench/out/transcribe.txt (and prints it).
#   usage: bench/transcribe.sh        (after scripts/build)
#   settings (environment): ROUNDS=5, CQ=build/callqa, CALLQA_SHARED_DIR=../shared
set -eu
cd "$(dirname "$0")/.."
SHARED=${CALLQA_SHARED_DIR:-../shared}
CQ=${CQ:-build/callqa}
ROUNDS=${ROUNDS:-5}
OUT=bench/out/transcribe.txt
[ -x "$CQ" ] || { echo "bench/transcribe.sh: $CQ is not built (scripts/build)" >&2; exit 1; }
[ -d "$SHARED/corpus/calls" ] || { echo "bench/transcribe.sh: $SHARED/corpus is missing" >&2; exit 1; }
mkdir -p bench/out
T=$(mktemp -d "${TMPDIR:-/tmp}/cq-tbench.XXXXXX")
FAKE=""
cleanup() {
    [ -n "$FAKE" ] && kill "$FAKE" 2> /dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export CALLQA_MODEL_DIR="$SHARED/models"
python3 tests/asr/fake_asr.py --protocol openai --mode openai,words --log "$T/log" \
    --port-file "$T/port" 2> "$T/fake.err" &
FAKE=$!
for _ in $(seq 1 100); do
    [ -s "$T/port" ] && break
    sleep 0.05
done
URL="http://127.0.0.1:$(cat "$T/port")/v1"
ONLY=levels,vad,events,conversation
C=$SHARED/corpus/calls
CALLS="call01_normal call02_one_way_audio call03_dead_air call04_hold_music call05_ringback_answer
call06_ivr_dtmf call07_clipping call08_low_level call09_noise call10_busy call11_sit_intercept
call12_overtalk call13_mono_diarization call14_vicidial"
{
    echo "== transcription: the corpus calls against the fake OpenAI server (tests/asr/fake_asr.py, same machine)"
    echo "machine: $(nproc) CPUs, $(uname -m), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "callqa: $("$CQ" version), commit $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
    echo "load average before: $(cat /proc/loadavg)"
    echo "commands:"
    echo "  plain:      $CQ analyze --json -q --only $ONLY FILE"
    echo "  transcribe: $CQ analyze --json -q --only $ONLY --transcribe --asr-url URL --asr-model m FILE"
    echo "rounds: $ROUNDS (alternating, plain first in odd rounds); medians"
} > "$OUT"
for call in $CALLS; do
    f=$C/$call.wav
    [ "$call" = call14_vicidial ] && f="--in $C/call14_vicidial-in.wav --out $C/call14_vicidial-out.wav"
    for r in $(seq 1 "$ROUNDS"); do
        for kind in plain transcribe; do
            [ $((r % 2)) -eq 0 ] && kind=$([ "$kind" = plain ] && echo transcribe || echo plain)
            if [ "$kind" = plain ]; then
                # shellcheck disable=SC2086 # $f is one or three words on purpose
                /usr/bin/time -f "$call $kind %e %U %S" -a -o "$T/times" \
                    "$CQ" analyze --json -q --only "$ONLY" $f > "$T/plain.json"
            else
                # shellcheck disable=SC2086
                /usr/bin/time -f "$call $kind %e %U %S" -a -o "$T/times" \
                    "$CQ" analyze --json -q --only "$ONLY" --transcribe --asr-url "$URL" \
                    --asr-model m $f > "$T/tx.json"
            fi
        done
    done
    python3 - "$T/tx.json" "$call" >> "$T/sent" << 'PY'
import json, sys
t = json.load(open(sys.argv[1]))["transcript"]
print(sys.argv[2], t["audio_recorded_sec"], t["audio_speech_sec"], t["audio_excluded_sec"],
      t["audio_sent_sec"], t["requests"])
PY
done
echo "load average after:  $(cat /proc/loadavg)" >> "$OUT"
python3 - "$T/times" "$T/sent" >> "$OUT" << 'PY'
import statistics, sys
times, cpu = {}, {}
for line in open(sys.argv[1]):
    call, kind, wall, user, syst = line.split()
    times.setdefault(call, {}).setdefault(kind, []).append(float(wall))
    cpu.setdefault(call, {}).setdefault(kind, []).append(float(user) + float(syst))
rows = [l.split() for l in open(sys.argv[2])]
print()
print("recorded: the legs' seconds (what sending whole recordings per leg would send);")
print("speech: the VAD's; excluded: of it, under hold music, tones, DTMF, IVR; wall and CPU of")
print("callqa (user + system, its processes only: not the fake's)")
print("%-24s %8s %8s %8s %8s %5s %8s %7s %9s %7s %9s" % ("call", "recorded", "speech", "excluded",
      "sent", "reqs", "sent/rec", "wall", "+transcr", "CPU", "+transcr"))
tot = [0.0, 0.0, 0.0, 0.0, 0]
extra, extra_cpu = [], []
for call, rec, sp, ex, sent, reqs in rows:
    rec, sp, ex, sent, reqs = float(rec), float(sp), float(ex), float(sent), int(reqs)
    p = statistics.median(times[call]["plain"])
    t = statistics.median(times[call]["transcribe"])
    pc = statistics.median(cpu[call]["plain"])
    tc = statistics.median(cpu[call]["transcribe"])
    extra.append(t - p)
    extra_cpu.append(tc - pc)
    tot[0] += rec; tot[1] += sp; tot[2] += ex; tot[3] += sent; tot[4] += reqs
    print("%-24s %7.1fs %7.1fs %7.1fs %7.1fs %5d %7.1f%% %6.2fs %+8.2fs %6.2fs %+8.2fs" % (
        call, rec, sp, ex, sent, reqs, 100 * sent / rec, p, t - p, pc, tc - pc))
print("%-24s %7.1fs %7.1fs %7.1fs %7.1fs %5d %7.1f%%" % ("all", tot[0], tot[1], tot[2], tot[3],
      tot[4], 100 * tot[3] / tot[0]))
print()
print("audio sent / audio recorded (sending whole files): %.3f (%.1f x less)" % (
    tot[3] / tot[0], tot[0] / tot[3]))
print("audio sent / VAD speech: %.3f (the plan's widening adds to the VAD's speech; the "
      "excluded hold music, tones and IVR take from it)" % (tot[3] / tot[1]))
print("callqa's own CPU for transcribing, per call (median of the calls' medians): %+.0f ms "
      "(min %+.0f, max %+.0f)" % (1000 * statistics.median(extra_cpu), 1000 * min(extra_cpu),
                                   1000 * max(extra_cpu)))
print("wall time added per call, the fake's answers included: %+.0f ms (min %+.0f, max %+.0f)"
      % (1000 * statistics.median(extra), 1000 * min(extra), 1000 * max(extra)))
PY
cat "$OUT"
