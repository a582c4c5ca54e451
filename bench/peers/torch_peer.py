# Peer harness from the project's shared benchmark kit (shared/bench), kept verbatim so ratios are taken against the same measurement.
"""Native ceiling: the same bench models in PyTorch on CUDA (eager), timed like tfjs_peer.mjs:
predict includes copying the output back to the host; a train step includes reading the loss.
Usage: python3 torch_peer.py [--batch 256] [--iters 50] [--models mlp,cnn,lstm,resnet]"""
import argparse, time, torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--batch', type=int, default=256); p.add_argument('--iters', type=int, default=50)
p.add_argument('--models', default='mlp,cnn,lstm,resnet')
a = p.parse_args()
torch.backends.cuda.matmul.allow_tf32 = False   # WebGPU has fp32 only: compare fp32 to fp32
torch.backends.cudnn.allow_tf32 = False
dev = 'cuda'

from torch_peer_models import models

median = lambda xs: sorted(xs)[len(xs) // 2]
for name in a.models.split(','):
    make, shape = models[name]
    m = make().to(dev)
    x = torch.randn(a.batch, *shape, device=dev)
    m.eval(); ts = []
    with torch.no_grad():
        for i in range(a.iters + 5):
            t = time.perf_counter(); m(x).cpu(); ts.append(time.perf_counter() - t)
    m.train(); opt = torch.optim.SGD(m.parameters(), 0.01)
    y = torch.randint(0, 10, (a.batch,), device=dev); ss = []
    for i in range(a.iters + 5):
        t = time.perf_counter()
        opt.zero_grad(); loss = nn.functional.nll_loss(torch.log(m(x) + 1e-7), y); loss.backward(); opt.step(); loss.item()
        ss.append(time.perf_counter() - t)
    print(f"torch-cuda-eager {name} batch={a.batch} predict_ms={median(ts[5:])*1e3:.3f} train_step_ms={median(ss[5:])*1e3:.3f}")
