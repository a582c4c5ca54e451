# Host-to-GPU copies in PyTorch on the same machine as bench/upload.ts (kiln's uploads through Dawn):
# what PCIe gives a CUDA copy of the same sizes, from pageable and from pinned host memory, each copy
# synchronized as a predict's input would be. Usage: python3 bench/torch-upload.py
import time
import torch

dev = torch.device('cuda')
for mib in (0.77, 1.25, 3.0):
    n = int(mib * 2**20 / 4)
    for kind in ('pageable', 'pinned'):
        host = torch.rand(n, pin_memory=(kind == 'pinned'))
        gpu = torch.empty(n, device=dev)
        for _ in range(20):
            gpu.copy_(host, non_blocking=(kind == 'pinned'))
        torch.cuda.synchronize()
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            gpu.copy_(host, non_blocking=(kind == 'pinned'))
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        times.sort()
        med = times[len(times) // 2]
        print(f'torch upload {mib:.2f} MiB {kind:8s} {med * 1e6:7.1f} µs median ({n * 4 / med / 1e9:.1f} GB/s)')
