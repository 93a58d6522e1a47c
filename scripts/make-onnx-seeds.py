#!/usr/bin/python3
# Generate the seed corpus of tests/fuzz/corpus/onnx: small ONNX files of our own with the
# structure of a Silero VAD graph (a top-level If on a 16000 constant, named Constant weights in
# its branches, nested If) but tiny random tensors, plus an initializer and packed/unpacked
# encodings. Needs Debian's python3-onnx and python3-numpy. Outputs are checked in.
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus/onnx'
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)

def const(name, shape, out_name):
    t = numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
    return helper.make_node('Constant', [], [out_name], value=t)

def branch(tag, bins):
    nodes = [const('stft.forward_basis_buffer', (2 * bins, 1, 4), tag + '_basis'),
             const('encoder.0.reparam_conv.weight', (4, bins, 3), tag + '_w0'),
             const('decoder.rnn.weight_ih', (8, 2), tag + '_wih')]
    inner = helper.make_graph([helper.make_node('Identity', [tag + '_wih'], [tag + '_x'])],
                              tag + '_inner', [], [helper.make_tensor_value_info(tag + '_x', TensorProto.FLOAT, None)])
    nodes.append(helper.make_node('If', ['c'], [tag + '_y'], then_branch=inner, else_branch=inner))
    return helper.make_graph(nodes, tag, [], [helper.make_tensor_value_info(tag + '_y', TensorProto.FLOAT, None)])

sr = helper.make_node('Constant', [], ['c0'], value=numpy_helper.from_array(np.array(16000, dtype=np.int64)))
eq = helper.make_node('Equal', ['sr', 'c0'], ['c'])
iff = helper.make_node('If', ['c'], ['output'], then_branch=branch('then', 5), else_branch=branch('else', 3))
init = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), 'init')
g = helper.make_graph([sr, eq, iff], 'g',
                      [helper.make_tensor_value_info('sr', TensorProto.INT64, [])],
                      [helper.make_tensor_value_info('output', TensorProto.FLOAT, None)],
                      initializer=[init])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 16)])
open(os.path.join(out, 'silero_like.seed'), 'wb').write(m.SerializeToString())
# float_data instead of raw_data, int64_data instead of raw
t = helper.make_tensor('floats', TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])
i = helper.make_tensor('ints', TensorProto.INT64, [2], [16000, -1])
g2 = helper.make_graph([helper.make_node('Constant', [], ['a'], value=t),
                        helper.make_node('Constant', [], ['b'], value=i)], 'g2', [],
                       [helper.make_tensor_value_info('a', TensorProto.FLOAT, None)])
m2 = helper.make_model(g2, opset_imports=[helper.make_opsetid('', 16)])
open(os.path.join(out, 'typed_data.seed'), 'wb').write(m2.SerializeToString())
print('seeds in', out)
