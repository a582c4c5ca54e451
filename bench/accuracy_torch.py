"""What the demo's models reach on Fashion-MNIST in PyTorch with Keras's defaults (a reference for kiln's demo).

Keras defaults reproduced: glorot-uniform kernels, zero biases, Adam(1e-3, 0.9, 0.999, eps 1e-7),
batch 32, a fresh shuffle each epoch, 5 epochs, pixels / 255. Prints test accuracy per seed.
Usage: python3 bench/accuracy_torch.py <dir with the four IDX .gz files> [seeds] [constant,cosine] [learning rates] [mlp,cnn]
"""
import gzip, sys, time
import numpy as np, torch, torch.nn as nn

def idx(path):
    with gzip.open(path, 'rb') as f: data = f.read()
    dims = data[3]; shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)

def keras_init(m):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight); nn.init.zeros_(m.bias)

MODELS = {
    'mlp': lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10)),
    'cnn': lambda: nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(13 * 13 * 32, 10)),
}

def run(name, seed, xtr, ytr, xte, yte, schedule, lr=1e-3, epochs=5, batch=32):
    torch.manual_seed(seed); np.random.seed(seed)
    model = MODELS[name]().cuda(); model.apply(keras_init)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    n = xtr.shape[0]
    total = (n // batch) * epochs
    # Keras CosineDecay(1e-3, total steps) evaluated at the step count before each update, as kiln's fit does.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, (lambda s: 0.5 * (1 + np.cos(np.pi * min(s, total) / total))) if schedule == 'cosine' else (lambda s: 1.0))
    for _ in range(epochs):
        model.train(); perm = torch.randperm(n, device='cuda')
        for s in range(0, n - batch + 1, batch):
            i = perm[s:s + batch]
            opt.zero_grad(set_to_none=True); loss_fn(model(xtr[i]), ytr[i]).backward(); opt.step(); sched.step()
    model.eval()
    with torch.no_grad(): return (model(xte).argmax(1) == yte).float().mean().item()

def main():
    d = sys.argv[1]; seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    schedules = sys.argv[3].split(',') if len(sys.argv) > 3 else ['constant', 'cosine']
    lrs = [float(v) for v in sys.argv[4].split(',')] if len(sys.argv) > 4 else [1e-3]
    names = sys.argv[5].split(',') if len(sys.argv) > 5 else list(MODELS)
    load = lambda f: idx(f'{d}/{f}')
    xtr = torch.tensor(load('train-images-idx3-ubyte.gz'), dtype=torch.float32, device='cuda').unsqueeze(1) / 255
    ytr = torch.tensor(load('train-labels-idx1-ubyte.gz'), dtype=torch.long, device='cuda')
    xte = torch.tensor(load('t10k-images-idx3-ubyte.gz'), dtype=torch.float32, device='cuda').unsqueeze(1) / 255
    yte = torch.tensor(load('t10k-labels-idx1-ubyte.gz'), dtype=torch.long, device='cuda')
    for name in names:
      for schedule in schedules:
       for lr in lrs:
        t = time.time(); accs = [run(name, s, xtr, ytr, xte, yte, schedule, lr) for s in range(seeds)]
        print(f'torch {name}: 5 epochs, batch 32, Adam {lr:g} {schedule}: test accuracy per seed {["%.4f" % a for a in accs]}, mean {np.mean(accs):.4f} ({time.time() - t:.0f} s)', flush=True)

main()
