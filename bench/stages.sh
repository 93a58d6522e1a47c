#!/bin/sh
# bench/stages.sh - the engine's stages and models, each against its peer where one installs
# here (bench/lib.sh's peers_setup: Debian's PyTorch on OpenBLAS, the reference runner's code
# from the repository snapshots), and what the engine costs. The C programs are bench_vad,
# vad_agreement, bench_nisqa, bench_dnsmos, bench_events, bench_conversation and
# bench_speech_audio (each says what it measures in its header); the Python peers vad_torch.py
# and nisqa_torch.py.
# Against the strongest peer (the tables of BENCHMARKS.md's "Against the strongest peer"; one
# thread means both sides pinned to one core, taskset -c 0, with one thread each; two threads,
# both cores; rounds alternate the two sides; each figure is the median of RUNS=5; each side of
# a round is warm: one process makes an untimed run, then 3 timed runs, and gives their median
# (PyTorch's TorchScript profiles its first calls and optimises after them); each writes
# bench/out/speed-NAME.txt):
#   peer-vad    Silero VAD on the 180 s leg, one thread: the official TorchScript model chunk by
#               chunk as get_speech_timestamps feeds it (vad_torch.py) on OpenBLAS, and on
#               Debian's reference BLAS as a second, labelled column; callqa's bench_vad. CPU
#               seconds, model load and decoding excluded.
#   peer-nisqa  NISQA's file mode on the 60 s and the 180 s leg at 1 and 2 threads: NISQA's own
#               PyTorch code with the reference runner's librosa stand-in (nisqa_torch.py, mel
#               front end included, OPENBLAS_NUM_THREADS and torch threads = T) against
#               bench_nisqa. Wall seconds, model load excluded.
#   peer-call   the whole 2-leg call (the 180 s stereo call as -in/-out leg files): the reference
#               pipeline (../shared/reference/tools/seed_pipeline.py: sox stat, ffmpeg
#               silencedetect, Silero VAD, NISQA, per leg) against `callqa analyze --in --out`
#               with every default analyzer. Process wall seconds, start-up and model loads
#               included.
#   peer        the three above
# The stages one by one:
#   vad         Silero VAD: bench_vad against the official TorchScript model in PyTorch on
#               OpenBLAS, same leg (8 and 16 kHz, models v6.2 and v5.1.2), one thread each, CPU
#               seconds per audio second, model load and decoding excluded; also the largest
#               difference between the two sets of probabilities.
#   vad-agreement [FILE...]   the DSP fallback VAD against Silero (vad_agreement): by default on
#               every file of the reference corpus (../shared/reference/golden.jsonl's).
#   nisqa       NISQA: bench_nisqa against NISQA's own PyTorch code (the reference pipeline's
#               way), on the same 60 s and 180 s legs, 1 and 2 threads, mel front end included,
#               median of several runs.
#   dnsmos [FILE.wav] [RUNS]  DNSMOS: bench_dnsmos (reference mode) against the numpy reference
#               scorer (../shared/reference/tools/dnsmos_ref.py, its "shared" mode: the same
#               once-per-leg convolutions), alternating run by run on one 16 kHz file, with 1 and
#               2 threads (OPENBLAS_NUM_THREADS for numpy). Default: 60 s of the corpus'
#               pyannote_sample, RUNS 3. Needs Debian's python3-numpy python3-onnx
#               python3-soundfile python3-scipy and libopenblas0-pthread.
#   dnsmos-peer [FILE.wav] [RUNS]   DNSMOS against onnxruntime at one thread, side by side in one
#               run: bench_dnsmos (each mode, Winograd and direct) and bench/ort/dnsmos_ort.mjs
#               (the published script's two ONNX graphs, one run per window, by the
#               onnxruntime-node package's libonnxruntime.so: `npm ci` in bench/ort on first use)
#               on the same windows: the literal script's (a window every second, callqa's
#               reference mode) and consecutive windows (callqa's windowed mode). The peer is warm
#               (one untimed pass, then RUNS passes in one process, median; the same for callqa)
#               and is timed on its graph runs alone (P.808's mel features made beforehand by
#               bench/dnsmos_peer_features.py, untimed). Prints the CPU seconds per audio second,
#               the ratios and the largest difference of a window's score. Default: 60 s of the
#               corpus' pyannote_sample, RUNS 3.
#   dnsmos-legs [MODE]   the Winograd evaluation against the direct sums on every leg of
#               ../shared/reference/golden_dnsmos.jsonl (the leg at 16 kHz by SoX, as the
#               reference made it): the largest difference of a window's score per leg, each
#               mode. MODE 0,1 (windowed) or 2,3 (reference) or 0123 (default); about 10 minutes.
#   events [ROUNDS] [--dtmf-speech|--dtmf-voice-cancel]   the call-events analyzer alone
#               (bench_events) on two hold-music files and two corpus calls: CPU seconds per
#               audio second, the median of ROUNDS (default 5); the DTMF receivers as those
#               settings choose them (default: libspandsp's alone).
#   conversation [ROUNDS]     the call-level stage and the leg checks against the VAD
#               (bench_conversation) on corpus calls 01, 12 and 04; median of ROUNDS (default 5).
#   speech-audio [FILE...]    each leg's speech at 16 kHz two ways (bench_speech_audio: the
#               stage product, or a second decode), `--only vad`, one process each, with its peak
#               RSS (/usr/bin/time); INSTRUCTIONS=1 adds the instructions callgrind counts (slow).
#               Default: the 3-minute stereo u-law call, the 3-minute mono call as GSM 06.10
#               (sox) and the 1-hour mono file.
#   cost [RUNS] [FILE|DIR ...]   what the engine costs: CPU seconds (user + sys) of `callqa
#               analyze` with its defaults (every default analyzer, the models of
#               CALLQA_MODEL_DIR) per second of each leg, over a set of calls, and where that
#               time goes (the report's engine.profile: decoding, resampling, each analyzer, in
#               CPU seconds). One process analyses all the calls, as many at once as there are
#               cores, each in a thread of its own (`-j NCPU --no-isolate`: one model load for
#               the whole set, as the worker loads once; NISQA then runs on one thread per call,
#               the way that costs least), RUNS runs (default 3), the median. Default calls: the
#               corpus calls, each WAV a call, call14's -in/-out legs one call, its MP3 mix left
#               out as the same call again. Writes bench/out/cost.txt. COST_FLAGS: more flags
#               of `callqa analyze` (bench/cost.sh: --mos-model dnsmos).
#   diarize [RUNS]   what diarization costs, apart from the VAD: CPU seconds (user + sys) of
#               `callqa analyze --only vad` and of `--only diarize` (which runs the VAD too) on
#               the same mono mixes (tests/dsp/mkmix.py's dev set, 24 calls, plus a
#               10-minute call made of them), one process per file, RUNS runs (default 3)
#               alternating; the difference over the audio's length is diarization's cost in
#               core-seconds per second of audio. There is no peer to run beside it here:
#               pyannote needs PyTorch models that cannot be installed on these machines.
#   transcribe  transcription on the corpus calls, against the fake OpenAI-compatible server
#               (tests/clients/fake_asr.py) on the same machine; callqa's own cost is its CPU time:
#               per call, the seconds of audio sent against the seconds recorded and against the
#               VAD's speech; `callqa analyze --transcribe` against `callqa analyze` with the same
#               analyzers, ROUNDS=5 rounds alternating. Writes bench/out/transcribe.txt.
#   dtmf-harmonic [--jobs N]  how far a least-squares fit of the voice's harmonics and the DTMF
#               tones could separate a digit from the speech under it (dtmf_harmonic_oracle.py;
#               about 30 minutes on 2 CPUs)
#   dtmf-gated  the same fit gated to each digit's true span (dtmf_gated_oracle.py; about 30 s)
#   usage: bench/stages.sh [SECTION [ARGS...]]...   (default: peer cost; after scripts/build)
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_SECTIONS="peer peer-vad peer-nisqa peer-call vad vad-agreement nisqa dnsmos dnsmos-peer dnsmos-legs events
conversation speech-audio cost diarize transcribe dtmf-harmonic dtmf-gated"
BENCH_DEFAULT="peer cost"
export CALLQA_MODEL_DIR=${CALLQA_MODEL_DIR:-$SHARED/models}

# ---- against the strongest peer ----------------------------------------------------------------
ONE="taskset -c 0"
field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p"; } # field NAME: the number after NAME
peer_setup() {
    RUNS=${RUNS:-5}
    export CALLQA_SHARED_DIR=$SHARED
    bench_inputs
    peers_setup
    bench_build bench_vad bench_nisqa callqa_cli
}

sec_peer() {
    bench_run_section peer-vad
    bench_run_section peer-nisqa
    bench_run_section peer-call
}

sec_peer_vad() {
    peer_setup
    M=$SHARED/models/silero_vad/v6.2
    : > "$W/speed-vad.tmp"
    for _ in $(seq "$RUNS"); do
        p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $ONE "$PEER_PY" bench/vad_torch.py "$M/silero_vad.jit" "$W/mono3.wav" 3 | field median)
        q=$(env $PEER_WEAK OMP_NUM_THREADS=1 $ONE "$PEER_PY" bench/vad_torch.py "$M/silero_vad.jit" "$W/mono3.wav" 3 | field median)
        c=$($ONE build/bench/bench_vad "$M/silero_vad.onnx" "$W/mono3.wav" 3 | field median)
        echo "$p $q $c" >> "$W/speed-vad.tmp"
    done
    p=$(awk '{print $1}' "$W/speed-vad.tmp" | median)
    q=$(awk '{print $2}' "$W/speed-vad.tmp" | median)
    c=$(awk '{print $3}' "$W/speed-vad.tmp" | median)
    {
        echo "| Silero VAD v6.2, 180 s leg, 1 thread | PyTorch + OpenBLAS | callqa | ratio | PyTorch + reference BLAS (weaker) | ratio to it |"
        echo "|---|---|---|---|---|---|"
        echo "| CPU s (median of $RUNS) | $p | $c | $(ratio "$p" "$c")× | $q | $(ratio "$q" "$c")× |"
    } | tee "$W/speed-vad.txt"
    rm -f "$W/speed-vad.tmp"
}

sec_peer_nisqa() {
    peer_setup
    sox "$W/mono3.wav" "$W/mono60.wav" trim 0 60
    N=$SHARED/models/nisqa/nisqa.tar
    {
        echo "| NISQA file mode | threads | PyTorch + OpenBLAS (s) | callqa (s) | ratio | MOS PyTorch | MOS callqa |"
        echo "|---|---|---|---|---|---|---|"
    } > "$W/speed-nisqa.txt"
    for f in mono60 mono3; do
        for t in 1 2; do
            pin=""
            [ "$t" -eq 1 ] && pin=$ONE
            : > "$W/speed-nisqa.tmp"
            for _ in $(seq "$RUNS"); do
                p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t $pin "$PEER_PY" bench/nisqa_torch.py "$N" "$W/$f.wav" "$t" 3 2> /dev/null)
                c=$($pin build/bench/bench_nisqa "$N" "$W/$f.wav" "$t" 3)
                echo "$(echo "$p" | field total) $(echo "$c" | field total) $(echo "$p" | field mos) $(echo "$c" | field mos)" >> "$W/speed-nisqa.tmp"
            done
            p=$(awk '{print $1}' "$W/speed-nisqa.tmp" | median)
            c=$(awk '{print $2}' "$W/speed-nisqa.tmp" | median)
            pm=$(awk 'END {print $3}' "$W/speed-nisqa.tmp")
            cm=$(awk 'END {print $4}' "$W/speed-nisqa.tmp")
            len=60
            [ "$f" = mono3 ] && len=180
            echo "| ${len} s leg | $t | $p | $c | $(ratio "$p" "$c")× | $pm | $cm |" >> "$W/speed-nisqa.txt"
        done
    done
    rm -f "$W/speed-nisqa.tmp"
    cat "$W/speed-nisqa.txt"
}

sec_peer_call() {
    peer_setup
    sox "$W/stereo3.wav" -e u-law "$W/call3-in.wav" remix 1
    sox "$W/stereo3.wav" -e u-law "$W/call3-out.wav" remix 2
    {
        echo "| whole 2-leg call, 2 × 180 s (process wall) | threads | reference pipeline, PyTorch + OpenBLAS (s) | callqa (s) | ratio |"
        echo "|---|---|---|---|---|"
    } > "$W/speed-call.txt"
    for t in 1 2; do
        pin=""
        [ "$t" -eq 1 ] && pin=$ONE
        : > "$W/speed-call.tmp"
        for _ in $(seq "$RUNS"); do
            "$PEER_PY" - "$t" "$pin" "$PEER_STRONG" "$PEER_PY" "$SHARED" "$PEER_CODE" "$W" "$CQ" >> "$W/speed-call.tmp" << 'PY'
import os, subprocess, sys, time
t, pin, strong, py, shared, code, w, cq = sys.argv[1:9]
env = dict(os.environ, OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t)
k, v = strong.split("=", 1)
env[k] = v
legs = [w + "/call3-in.wav", w + "/call3-out.wav"]
pin = pin.split()
t0 = time.perf_counter()
subprocess.run(pin + [py, shared + "/reference/tools/seed_pipeline.py", "--threads", t,
                      "--work", code, "--out", os.devnull] + legs,
               env=env, check=True, stderr=subprocess.DEVNULL)
t1 = time.perf_counter()
subprocess.run(pin + [cq, "analyze", "--json", "-q", "--in", legs[0], "--out", legs[1]],
               check=True, stdout=subprocess.DEVNULL)
t2 = time.perf_counter()
print("%.3f %.3f" % (t1 - t0, t2 - t1))
PY
        done
        p=$(awk '{print $1}' "$W/speed-call.tmp" | median)
        c=$(awk '{print $2}' "$W/speed-call.tmp" | median)
        echo "| every default analyzer | $t | $p | $c | $(ratio "$p" "$c")× |" >> "$W/speed-call.txt"
    done
    rm -f "$W/speed-call.tmp"
    cat "$W/speed-call.txt"
}

# ---- the stages one by one ---------------------------------------------------------------------
sec_vad() {
    M=$SHARED/models/silero_vad
    peers_setup
    bench_build bench_vad
    bench_inputs
    sox "$W/mono3.wav" -r 16000 "$W/mono3_16k.wav"
    echo "| model | rate | PyTorch CPU s / audio s | callqa CPU s / audio s | ratio | max prob diff |"
    echo "|---|---|---|---|---|---|"
    for rate in 8k 16k; do
        f=$W/mono3.wav
        [ $rate = 16k ] && f=$W/mono3_16k.wav
        for v in v6.2 v5.1.2; do
            c=$(OMP_NUM_THREADS=1 build/bench/bench_vad "$M/$v/silero_vad.onnx" "$f" 7 "$W/c_${v}_$rate.txt")
            p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PEER_PY" bench/vad_torch.py "$M/$v/silero_vad.jit" "$f" 3 "$W/t_${v}_$rate.txt")
            cs=$(echo "$c" | sed 's/.*median \([0-9.]*\) s CPU.*/\1/')
            ps=$(echo "$p" | sed 's/.*median \([0-9.]*\) s CPU.*/\1/')
            d=$(paste "$W/c_${v}_$rate.txt" "$W/t_${v}_$rate.txt" |
                awk '{d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d} END {printf "%.2g", m}')
            echo "| $v | $rate | $(awk -v t="$ps" 'BEGIN {printf "%.4f", t / 180}') | $(awk -v t="$cs" 'BEGIN {printf "%.5f", t / 180}') | $(awk -v a="$ps" -v b="$cs" 'BEGIN {printf "%.1fx", a / b}') | $d |"
        done
    done
}

sec_vad_agreement() {
    bench_build vad_agreement
    if [ $# -eq 0 ]; then # every file of the reference corpus: NAME is FOLDER_STEM[.chN].wav
        set -- $(python3 - "$SHARED" << 'PY'
import json, os, sys
c = os.path.join(sys.argv[1], "corpus")
folders = sorted((d for d in os.listdir(c) if os.path.isdir(os.path.join(c, d))), key=len, reverse=True)
seen = []
for line in open(os.path.join(sys.argv[1], "reference", "golden.jsonl")):
    name = json.loads(line)["file"]
    d = next(d for d in folders if name.startswith(d + "_"))
    base = name[len(d) + 1:]
    stem = base[:-len(".wav")]
    for ch in (".ch1", ".ch2"):
        if stem.endswith(ch):
            stem = stem[:-len(ch)]
    # the recording itself, whatever its format (the reference names every leg .wav)
    path = next(os.path.join(c, d, f) for f in sorted(os.listdir(os.path.join(c, d)),
                                                      key=lambda f: not f.endswith(".wav"))
                if os.path.splitext(f)[0] == stem and not f.endswith((".rttm", ".json", ".txt")))
    if path not in seen:
        seen.append(path)
print("\n".join(sorted(seen)))
PY
        )
    fi
    build/bench/vad_agreement "$CALLQA_MODEL_DIR" "$@"
}

sec_nisqa() {
    M=$SHARED/models/nisqa/nisqa.tar
    peers_setup
    bench_build bench_nisqa
    bench_inputs
    sox "$W/mono3.wav" "$W/mono60.wav" trim 0 60
    echo "| leg | threads | PyTorch (s) | callqa (s) | ratio | MOS PyTorch | MOS callqa |"
    echo "|---|---|---|---|---|---|---|"
    for f in mono60 mono3; do
        for t in 1 2; do
            c=$(build/bench/bench_nisqa "$M" "$W/$f.wav" $t 5)
            p=$(env $PEER_STRONG OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$PEER_PY" bench/nisqa_torch.py "$M" "$W/$f.wav" $t 3 2> /dev/null)
            cs=$(echo "$c" | sed 's/.*total \([0-9.]*\) s.*/\1/')
            ps=$(echo "$p" | sed 's/.*total \([0-9.]*\) s.*/\1/')
            cm=$(echo "$c" | sed 's/.*mos \([0-9.]*\).*/\1/')
            pm=$(echo "$p" | sed 's/.*mos \([0-9.]*\).*/\1/')
            len=60
            [ $f = mono3 ] && len=180
            echo "| ${len} s | $t | $ps | $cs | $(awk -v a="$ps" -v b="$cs" 'BEGIN {printf "%.1fx", a / b}') | $pm | $cm |"
        done
    done
}

# dnsmos_setup [FILE.wav] [RUNS]: M (the models), RUNS (default 3), T (a folder removed at exit)
# and F: FILE, or 60 s of the corpus' pyannote_sample (16 kHz speech) made in T
dnsmos_setup() {
    M=$SHARED/models/dnsmos
    F=${1:-}
    RUNS=${2:-3}
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
    if [ -z "$F" ]; then
        F=$T/p60.wav
        S=$SHARED/corpus/conversations/pyannote_sample.wav
        sox "$S" "$S" "$F"
    fi
}

sec_dnsmos() {
    dnsmos_setup "$@"
    export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread
    bench_build bench_dnsmos
    for th in 1 2; do
        i=0
        while [ $i -lt "$RUNS" ]; do
            OPENBLAS_NUM_THREADS=$th /usr/bin/python3 "$SHARED/reference/tools/dnsmos_ref.py" "$F" \
                --models "$M" --no-windows 2> /dev/null |
                python3 -c "import json,sys; d=json.load(sys.stdin); print('numpy  threads $th: total %.3f s, ovrl %.4f p808 %.4f' % (d['timing_s']['total'], d['ovrl'], d['p808_mos']))"
            build/bench/bench_dnsmos "$M" "$th" 1 "$F" | grep reference
            i=$((i + 1))
        done
    done
}

sec_dnsmos_peer() {
    dnsmos_setup "$@"
    bench_build bench_dnsmos
    [ -d bench/ort/node_modules/onnxruntime-node ] ||
        (cd bench/ort && npm ci --ignore-scripts --no-audit --no-fund > /dev/null) ||
        die "npm ci in bench/ort failed"
    BENCH_DNSMOS_DUMP=$T/callqa.txt $ONE build/bench/bench_dnsmos "$M" 1 "$RUNS" "$F" > "$T/callqa.out" ||
        die "bench_dnsmos failed"
    CALLQA_SHARED_DIR=$SHARED /usr/bin/python3 bench/dnsmos_peer_features.py "$F" "$T/callqa.txt" "$T/feat" ||
        die "the peer's features failed"
    (cd bench/ort && $ONE node dnsmos_ort.mjs "$M" "$F" "$T/feat" "$RUNS") > "$T/ort.out" ||
        die "onnxruntime failed"
    grep -v '^{' "$T/callqa.out"
    grep -v '^{' "$T/ort.out"
    python3 - "$T/callqa.txt" "$T/callqa.out" "$T/ort.out" << 'PY'
import json, re, sys
dump, cq_out, ort_out = sys.argv[1:4]
win = {}
for line in open(dump):
    c, idx, start, *v = line.split()
    win.setdefault(c, {})[int(float(start))] = [float(x) for x in v]
cpu = {}
for line in open(cq_out):
    m = re.match(r"dnsmos (\S+) .* per audio s\), cpu [0-9.]+ s \(([0-9.]+) per audio s", line)
    if m:
        cpu["callqa " + m.group(1)] = float(m.group(2))
peer = {}
for line in open(ort_out):
    m = re.match(r"onnxruntime (\S+) .* cpu [0-9.]+ s \(([0-9.]+) per audio s", line)
    if m:
        cpu["onnxruntime " + m.group(1)] = float(m.group(2))
    if line.startswith("{"):
        d = json.loads(line)
        peer[d["case"]] = {w["start"]: [w["sig"], w["bak"], w["ovrl"], w["p808"]] for w in d["windows"]}
print()
print("| windows | onnxruntime, CPU s per audio s | callqa Winograd | ratio | callqa direct | ratio | largest difference of a window's score (Winograd, direct) |")
print("|---|---|---|---|---|---|---|")
for case, name in (("windowed", "consecutive (callqa's windowed mode)"),
                   ("reference", "the literal script's, every second (callqa's reference mode)")):
    p = cpu["onnxruntime " + case]
    w, d = cpu["callqa " + case], cpu["callqa " + case + "-direct"]
    diff = []
    for c in (case, case + "-direct"):
        e = 0.0
        for s, v in peer[case].items():
            e = max(e, max(abs(a - b) for a, b in zip(win[c][s], v)))
        diff.append(e)
    print(f"| {name}, {len(peer[case])} | {p:.4f} | {w:.4f} | {p / w:.1f}x | {d:.4f} | {p / d:.1f}x | {diff[0]:.1e}, {diff[1]:.1e} |")
PY
}

sec_dnsmos_legs() {
    CASES=${1:-0123}
    bench_build bench_dnsmos
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT
    python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    print(d["source"], d["channel"])' "$SHARED/reference/golden_dnsmos.jsonl" |
        while read -r src ch; do
            mix=""
            [ "$ch" -gt 0 ] && mix="remix $ch" # golden_dnsmos.jsonl's channel: 0 mono, else 1-based
            # shellcheck disable=SC2086
            sox "$SHARED/corpus/$src" -r 16000 -b 32 -e floating-point "$T/leg.wav" $mix 2> /dev/null ||
                { echo "$src $ch: sox failed"; continue; }
            BENCH_DNSMOS_CASES=$CASES build/bench/bench_dnsmos "$SHARED/models/dnsmos" 1 1 "$T/leg.wav" |
                sed -n "s|^\(.*\) against .*: largest difference of a window's score \(.*\)|$src $ch \1 \2|p"
        done | tee "$W/dnsmos-legs.txt"
    awk '{n[$3]++; if ($4 > m[$3]) {m[$3] = $4; w[$3] = $1 " ch" $2}} END {for (k in m) printf "%s: %d legs, largest difference of a window score %.2e (%s)\n", k, n[k], m[k], w[k]}' "$W/dnsmos-legs.txt"
}

sec_events() {
    bench_build bench_events
    for f in hold_music/moh_macroform_cold_day.wav hold_music/moh_macroform_robot_dity.gsm \
        calls/call06_ivr_dtmf.wav calls/call01_normal.wav; do
        build/bench/bench_events "$SHARED/corpus/$f" "$@"
    done
}

sec_conversation() {
    bench_build bench_conversation
    for c in call01_normal call12_overtalk call04_hold_music; do
        build/bench/bench_conversation "$SHARED/corpus/calls/$c.wav" "$@"
    done
}

sec_speech_audio() {
    bench_build bench_speech_audio
    if [ $# -eq 0 ]; then
        bench_inputs
        [ -f "$W/mono3_gsm.wav" ] || sox "$W/mono3.wav" -e gsm-full-rate "$W/mono3_gsm.wav"
        set -- "$W/stereo3.wav" "$W/mono3_gsm.wav" "$W/hour.wav"
    fi
    for f in "$@"; do
        for way in product second; do
            line=$(/usr/bin/time -f "peak RSS %M KiB" -o "$W/speech-audio.rss" \
                build/bench/bench_speech_audio "$way" --only vad "$f")
            echo "$f $line; $(cat "$W/speech-audio.rss")"
            if [ "${INSTRUCTIONS:-0}" = 1 ]; then
                valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                    build/bench/bench_speech_audio "$way" --only vad "$f" 2>&1 > /dev/null |
                    sed -n 's/.*Collected : \([0-9]*\).*/  instructions \1/p'
            fi
        done
    done
}

sec_cost() {
    RUNS=${1:-3}
    [ $# -gt 0 ] && shift
    [ -x "$CQ" ] || die "$CQ is not built (scripts/build)"
    if [ $# -eq 0 ]; then
        set -- $(ls "$SHARED"/corpus/calls/*.wav | grep -v -e '-in\.wav$' -e '-out\.wav$')
        IN=$(ls "$SHARED"/corpus/calls/*-in.wav 2> /dev/null | head -1)
        [ -n "$IN" ] && set -- "$@" --in "$IN" --out "$(echo "$IN" | sed 's/-in\.wav$/-out.wav/')"
    fi
    python3 - "$CQ" "$RUNS" "$@" << 'PY' | tee "$W/cost.txt"
import json, os, resource, subprocess, sys
cq, runs, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
results = []
for _ in range(runs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([cq, "analyze", "--json", "-q", "-j", str(os.cpu_count()), "--no-isolate", "--profile"]
                         + os.environ.get("COST_FLAGS", "").split() + files, check=True,
                         capture_output=True, text=True).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    reps = [json.loads(l) for l in out.splitlines() if l.strip()]
    legs = sum(r["duration"] * (2 if r["outbound"] else 1) for r in reps)
    acc = {"decode": 0.0, "resample": 0.0}
    for r in reps:
        p = r["engine"]["profile"]
        acc["decode"] += p["decode_sec"]
        acc["resample"] += p["resample_sec"]
        for k, v in p["stages_sec"].items():
            acc[k] = acc.get(k, 0.0) + v
    wall = sum(r["analysis_time_sec"] for r in reps)
    results.append((cpu, legs, wall, acc, len(reps)))
cpu, legs, wall, acc, n = sorted(results, key=lambda x: x[0])[len(results) // 2]
tot = sum(acc.values())
print(f"{n} calls, {legs:.1f} leg-seconds; median of {runs} runs")
print()
print("| part | core-seconds per leg-second | share of the analysis |")
print("|---|---|---|")
for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
    print(f"| {k} | {v / legs:.5f} | {100 * v / tot:.1f} % |")
print(f"| the analysis (engine, the parts above) | {tot / legs:.5f} | 100 % |")
print(f"| **the process (CPU, user + sys, model loading included)** | **{cpu / legs:.5f}** | |")
PY
}

sec_diarize() {
    RUNS=${1:-3}
    D=$W/diarize
    mkdir -p "$D"
    [ -f "$D/mixes/dev23.wav" ] ||
        python3 tests/dsp/mkmix.py --shared "$SHARED" --out "$D/mixes" --set dev --calls 24 2> /dev/null
    [ -f "$D/long.wav" ] || sox $(ls "$D"/mixes/*.wav | head -12) -e signed -b 16 "$D/long.wav" 2> /dev/null
    python3 - "$CQ" "$RUNS" "$D" << 'PY'
import glob, os, resource, subprocess, sys
cq, runs, w = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(glob.glob(w + "/mixes/*.wav")) + [w + "/long.wav"]
def cpu(args):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([cq, "analyze", "--json", "-q"] + args, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
def dur(f):
    return float(subprocess.run(["soxi", "-D", f], check=True, stdout=subprocess.PIPE,
                                text=True).stdout)
audio = {f: dur(f) for f in files}
tot = {"vad": 0.0, "diarize": 0.0}
long_ = {"vad": [], "diarize": []}
for _ in range(runs):
    for f in files:
        for an in ("vad", "diarize"):
            t = cpu(["--only", an, f])
            tot[an] += t
            if f.endswith("long.wav"):
                long_[an].append(t)
sec = sum(audio.values()) * runs
d = (tot["diarize"] - tot["vad"]) / sec
print("files: %d (%.0f s of audio, the longest %.0f s), %d runs" %
      (len(files), sum(audio.values()), max(audio.values()), runs))
print("vad alone:        %.5f core-s per s of audio" % (tot["vad"] / sec))
print("vad + diarize:    %.5f core-s per s of audio" % (tot["diarize"] / sec))
print("diarize, net:     %.5f core-s per s of audio (goal <= 0.002)" % d)
lv, ld = min(long_["vad"]), min(long_["diarize"])
print("the %.0f s call:   vad %.3f s, vad + diarize %.3f s: diarize %.5f core-s per s" %
      (audio[w + "/long.wav"], lv, ld, (ld - lv) / audio[w + "/long.wav"]))
PY
}

sec_transcribe() {
    ROUNDS=${ROUNDS:-5}
    OUT=$W/transcribe.txt
    [ -x "$CQ" ] || die "$CQ is not built (scripts/build)"
    [ -d "$SHARED/corpus/calls" ] || die "$SHARED/corpus is missing"
    T=$(mktemp -d "${TMPDIR:-/tmp}/cq-tbench.XXXXXX")
    FAKE=""
    cleanup() {
        [ -n "$FAKE" ] && kill "$FAKE" 2> /dev/null
        rm -rf "$T"
    }
    trap cleanup EXIT
    export CALLQA_MODEL_DIR="$SHARED/models"
    python3 tests/clients/fake_asr.py --protocol openai --mode openai,words --log "$T/log" \
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
        echo "== transcription: the corpus calls against the fake OpenAI server (tests/clients/fake_asr.py, same machine)"
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
}

sec_dtmf_harmonic() { /usr/bin/python3 bench/dtmf_harmonic_oracle.py "$@"; }
sec_dtmf_gated() { /usr/bin/python3 bench/dtmf_gated_oracle.py "$@"; }

bench_main "$@"
