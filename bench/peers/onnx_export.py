# Peer harness from the project's shared benchmark kit (shared/bench), kept verbatim so ratios are taken against the same measurement.
"""Exports the four bench models (torch_peer_models.py) to ONNX with a fixed batch, in inference mode,
for ort_peer.mjs. Usage: python3 onnx_export.py OUTDIR [--batches 1,256,4096]"""
import argparse, inspect, os, torch
from torch_peer_models import models

p = argparse.ArgumentParser(); p.add_argument('out'); p.add_argument('--batches', default='1,256,4096')
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
legacy = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {}
for name, (make, shape) in models.items():
    m = make().eval()
    for b in map(int, a.batches.split(',')):
        path = os.path.join(a.out, f'{name}_b{b}.onnx')
        torch.onnx.export(m, torch.randn(b, *shape), path, input_names=['x'], output_names=['y'], opset_version=17, **legacy)
        print('wrote', path)
