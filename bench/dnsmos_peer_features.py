#!/usr/bin/python3
"""bench/dnsmos_peer_features.py - the P.808 network's inputs for the onnxruntime peer
(bench/ort/dnsmos_ort.mjs), as the published DNSMOS script makes them.

    dnsmos_peer_features.py FILE.wav DUMP OUT_DIR

FILE.wav: 16 kHz mono PCM or float; DUMP: bench_dnsmos's window lines (BENCH_DNSMOS_DUMP), whose
windows ("windowed" and "reference") are the ones scored. For each of the two cases OUT_DIR gets
CASE.starts (one start sample a line) and CASE.f32 (the windows' [900][120] float32 inputs:
librosa 0.8.1's melspectrogram(window[:-160], sr=16000, n_fft=321, hop_length=160, n_mels=120),
power_to_db(ref=max), (dB + 40) / 40, from ../shared/reference/tools/librosa_subst.py). The
features are made here, untimed: the peer's timing is its two ONNX graphs alone.
"""
import os
import sys

import numpy as np
from scipy.io import wavfile

SHARED = os.environ.get("CALLQA_SHARED_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "shared"))
sys.path.insert(0, os.path.join(SHARED, "reference", "tools"))
import librosa_subst as librosa  # noqa: E402

WIN = 144160


def main():
    wav, dump, out = sys.argv[1:4]
    rate, x = wavfile.read(wav)
    if rate != 16000 or x.ndim != 1:
        sys.exit(f"{wav}: need mono 16 kHz")
    x = x.astype(np.float64) / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)
    while len(x) < WIN:                          # the script's doubling of a short clip
        x = np.append(x, x)
    starts = {}
    with open(dump) as f:
        for line in f:
            case, _, start = line.split()[:3]
            if case in ("windowed", "reference"):
                starts.setdefault(case, []).append(int(float(start)))
    os.makedirs(out, exist_ok=True)
    for case, ss in starts.items():
        feats = []
        for s in ss:
            seg = x[s:s + WIN]
            mel = librosa.melspectrogram(y=seg[:-160], sr=16000, n_fft=321, hop_length=160,
                                         n_mels=120)
            mel = (librosa.power_to_db(mel, ref=np.max) + 40) / 40
            feats.append(mel.T.astype(np.float32))
        np.stack(feats).astype(np.float32).tofile(os.path.join(out, case + ".f32"))
        with open(os.path.join(out, case + ".starts"), "w") as f:
            f.write("".join(f"{s}\n" for s in ss))


if __name__ == "__main__":
    main()
