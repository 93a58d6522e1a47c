#!/usr/bin/python3
# The reference for bench_nisqa: NISQA's own code (gabrielmittag/NISQA, nisqa/NISQA_lib.py, from
# a checkout given as NISQA_DIR) in Debian's PyTorch, with the reference runner's librosa
# stand-in (../shared/reference/tools/librosa_subst.py), scoring one leg as predict_file does:
# get_librosa_melspec -> segment_specs -> NISQA_DIM forward. Times the mel front end and the
# network separately (CPU-bound wall seconds, median of RUNS), with T threads for torch and
# OpenBLAS (set OPENBLAS_NUM_THREADS too).
#   usage: NISQA_DIR=... /usr/bin/python3 bench/nisqa_torch.py nisqa.tar FILE.wav THREADS [RUNS]
import os, sys, time
import numpy as np
import torch

tools = os.path.join(os.environ.get('CALLQA_SHARED_DIR', '../shared'), 'reference', 'tools')
sys.path.insert(0, tools)
sys.path.insert(0, os.environ['NISQA_DIR'])
import librosa_subst
sys.modules.update(librosa_subst.as_modules())
import nisqa.NISQA_lib as NL

ckpt, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
torch.set_num_threads(threads)
ck = torch.load(ckpt, map_location='cpu')
a = ck['args']
names = NL.NISQA_DIM.__init__.__code__.co_varnames[1:NL.NISQA_DIM.__init__.__code__.co_argcount]
model = NL.NISQA_DIM(**{k: a[k] for k in names if k in a})
model.load_state_dict(ck['model_state_dict'])
model.eval()
t_mel, t_net = [], []
for i in range(runs + 1):  # the first run warms the peer up (allocator, kernels): not timed
    t0 = time.perf_counter()
    spec = NL.get_librosa_melspec(path, sr=a['ms_sr'], n_fft=a['ms_n_fft'],
                                  hop_length=a['ms_hop_length'], win_length=a['ms_win_length'],
                                  n_mels=a['ms_n_mels'], fmax=a['ms_fmax'])
    t1 = time.perf_counter()
    x, n = NL.segment_specs(path, torch.tensor(spec), a['ms_seg_length'], a['ms_seg_hop_length'])
    with torch.no_grad():
        y = model(x.unsqueeze(0), torch.tensor([int(n)]))
    t2 = time.perf_counter()
    if i:
        t_mel.append(t1 - t0)
        t_net.append(t2 - t1)
t_mel.sort()
t_net.sort()
m, k = t_mel[len(t_mel) // 2], t_net[len(t_net) // 2]
print('nisqa-pytorch threads %d: mel %.3f s, network %.3f s, total %.3f s, mos %.4f' %
      (threads, m, k, m + k, y[0, 0].item()))
