#!/usr/bin/python3
# The reference for bench_vad: the official Silero TorchScript model (silero_vad.jit) in
# Debian's PyTorch, one thread, on the same mono recording, chunk by chunk as Silero's
# get_speech_timestamps feeds it (last chunk zero-padded). Model load and decoding are outside
# the timed region, and so is a first run that warms the peer up (TorchScript profiles the first
# calls and optimises after them): RUNS warm runs in one process, their median. Prints CPU
# seconds per audio second.
#   usage: /usr/bin/python3 bench/vad_torch.py MODEL.jit FILE.wav [RUNS [DUMP]]
# DUMP: write the probabilities, one per line (bench/stages.sh vad compares them with callqa's).
import sys, time, wave
import numpy as np
import torch

torch.set_num_threads(1)
jit, path = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
with wave.open(path, 'rb') as w:
    rate, n = w.getframerate(), w.getnframes()
    a = np.frombuffer(w.readframes(n), dtype='<i2').astype(np.float32) / 32768
x = torch.from_numpy(a)
m = torch.jit.load(jit, map_location='cpu')
m.eval()
win = 512 if rate == 16000 else 256
times = []
with torch.no_grad():
    for i in range(runs + 1):  # the first run warms TorchScript up (its profiling runs): not timed
        m.reset_states()
        probs = []
        t0 = time.process_time()
        for s in range(0, len(x), win):
            ch = x[s:s + win]
            if len(ch) < win:
                ch = torch.nn.functional.pad(ch, (0, win - len(ch)))
            probs.append(m(ch, rate).item())
        if i:
            times.append(time.process_time() - t0)
times.sort()
t = times[len(times) // 2]
if len(sys.argv) > 4:
    np.savetxt(sys.argv[4], np.array(probs), fmt='%.8f')
audio = len(a) / rate
print('silero-pytorch %d Hz: audio %.1f s, %d chunks, median %.4f s CPU, %.5f CPU s per audio s, '
      '%.0fx real time' % (rate, audio, len(probs), t, t / audio, audio / t))
