#!/bin/sh
# bench/make-inputs.sh - the benchmarks' recordings, built once from the real corpus into bench/out:
#   mono3    3-minute mono 8 kHz PCM16 call (speech, prompts, music; corpus files concatenated)
#   stereo3  3-minute stereo 8 kHz u-law call (the mono call and its reverse as the two legs)
#   hour     1-hour mono 8 kHz PCM16 file (mono3 twenty times)
#   usage: bench/make-inputs.sh CORPUS_DIR OUT_DIR       (needs sox)
set -eu
C=$1
W=$2
mkdir -p "$W"
[ -f "$W/hour.wav" ] && exit 0
for f in speech/ps_librivox_0870.wav quality/p862_or105.wav ivr_prompts/ast_en_demo_congrats.wav \
    speech/codec2_vk5qi.wav hold_music/moh_manolo_camp_morning_coffee.wav; do
    sox "$C/$f" -r 8000 -c 1 -b 16 "$W/part_$(basename "$f")"
done
sox "$W"/part_*.wav "$W/cat.wav"
sox "$W/cat.wav" "$W/cat.wav" "$W/mono3.wav" trim 0 180
sox "$W/mono3.wav" "$W/rev.wav" reverse
sox -M "$W/mono3.wav" "$W/rev.wav" -e u-law "$W/stereo3.wav"
set --
for i in $(seq 20); do set -- "$@" "$W/mono3.wav"; done
sox "$@" "$W/hour.wav"
rm -f "$W"/part_*.wav "$W/cat.wav" "$W/rev.wav"
