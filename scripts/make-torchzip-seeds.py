#!/usr/bin/python3
# Generate the seed corpus of tests/fuzz/corpus/torchzip: small PyTorch zip checkpoints of our
# own, made with torch.save like NISQA's: an `args` dict of the NISQA_DIM kind and a
# `model_state_dict` of tiny random tensors (so they load up to the shape checks), plus a
# checkpoint of unusual pickle content. Needs Debian's python3-torch. Outputs are checked in.
import collections, io, os, sys
import torch

out = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/torchzip'
os.makedirs(out, exist_ok=True)
torch.manual_seed(3)
args = {'model': 'NISQA_DIM', 'ms_sr': None, 'ms_n_fft': 256, 'ms_hop_length': 0.01,
        'ms_win_length': 0.02, 'ms_n_mels': 8, 'ms_fmax': 4000, 'ms_seg_length': 3,
        'ms_seg_hop_length': 2, 'cnn_model': 'adapt', 'cnn_c_out_1': 2, 'cnn_c_out_2': 2,
        'cnn_c_out_3': 2, 'cnn_kernel_size': (3, 3), 'cnn_fc_out_h': None,
        'cnn_pool_1': [4, 3], 'cnn_pool_2': [4, 3], 'cnn_pool_3': [2, 3], 'td': 'self_att',
        'td_sa_d_model': 4, 'td_sa_nhead': 1, 'td_sa_pos_enc': False, 'td_sa_num_layers': 1,
        'td_sa_h': 4, 'td_2': 'skip', 'pool': 'att', 'pool_att_h': 4, 'tr_lr': 0.001}
sd = collections.OrderedDict()
cin = [1, 2, 2, 2, 2, 2]
for i in range(6):
    kw = 3
    sd['cnn.model.conv%d.weight' % (i + 1)] = torch.randn(2, cin[i], 3, kw)
    sd['cnn.model.conv%d.bias' % (i + 1)] = torch.randn(2)
    for p in ('weight', 'bias', 'running_mean'):
        sd['cnn.model.bn%d.%s' % (i + 1, p)] = torch.randn(2)
    sd['cnn.model.bn%d.running_var' % (i + 1)] = torch.rand(2) + 0.5
    sd['cnn.model.bn%d.num_batches_tracked' % (i + 1)] = torch.tensor(7)
sd['time_dependency.model.linear.weight'] = torch.randn(4, 4)
sd['time_dependency.model.linear.bias'] = torch.randn(4)
for p in ('weight', 'bias'):
    sd['time_dependency.model.norm1.' + p] = torch.randn(4)
pre = 'time_dependency.model.layers.0.'
sd[pre + 'self_attn.in_proj_weight'] = torch.randn(12, 4)
sd[pre + 'self_attn.in_proj_bias'] = torch.randn(12)
sd[pre + 'self_attn.out_proj.weight'] = torch.randn(4, 4)
sd[pre + 'self_attn.out_proj.bias'] = torch.randn(4)
for l in ('linear1', 'linear2'):
    sd[pre + l + '.weight'] = torch.randn(4, 4)
    sd[pre + l + '.bias'] = torch.randn(4)
for nrm in ('norm1', 'norm2'):
    sd[pre + nrm + '.weight'] = torch.randn(4)
    sd[pre + nrm + '.bias'] = torch.randn(4)
for h in range(5):
    p = 'pool_layers.%d.model.' % h
    sd[p + 'linear1.weight'] = torch.randn(4, 4)
    sd[p + 'linear1.bias'] = torch.randn(4)
    sd[p + 'linear2.weight'] = torch.randn(1, 4)
    sd[p + 'linear2.bias'] = torch.randn(1)
    sd[p + 'linear3.weight'] = torch.randn(1, 4)
    sd[p + 'linear3.bias'] = torch.randn(1)
torch.save({'args': args, 'model_state_dict': sd}, os.path.join(out, 'tiny_nisqa.seed'))
odd = {'args': {'x': [1, 2.5, -3, None, True, 'é', (1, (2,)), 2 ** 40]},
       'model_state_dict': collections.OrderedDict(t=torch.arange(6, dtype=torch.float32).view(2, 3).t())}
torch.save(odd, os.path.join(out, 'odd_pickle.seed'))
print('seeds in', out)
