"""The GEMM ceiling: torch.matmul on CUDA for M = N = K = size, fp32 (TF32 off) and fp16 / bf16 with
fp32 accumulation (reduced-precision reductions off), timed with CUDA events; the max error of C
against a float64 reference on sampled rows. One `bench {...}` line per measurement (bench/report.ts).
Usage: python3 torch_gemm.py [--sizes 256,...,8192] [--dtypes fp32,fp16,bf16] [--target-ms 200]"""
import argparse, json, torch

p = argparse.ArgumentParser()
p.add_argument('--sizes', default='256,512,1024,2048,4096,8192'); p.add_argument('--dtypes', default='fp32,fp16,bf16')
p.add_argument('--target-ms', type=float, default=200); p.add_argument('--rows', type=int, default=64)
a = p.parse_args()
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
DT = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}
dev = 'cuda'

def time_ms(fn, n):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(n): fn()
    end.record(); torch.cuda.synchronize()
    return start.elapsed_time(end) / n

print('bench ' + json.dumps({'part': 'info', 'system': 'torch-gemm', 'device': torch.cuda.get_device_name(), 'torch': torch.__version__}), flush=True)
for size in map(int, a.sizes.split(',')):
    A32 = torch.rand(size, size, device=dev) * 2 - 1
    B32 = torch.rand(size, size, device=dev) * 2 - 1
    rows = torch.randint(0, size, (min(a.rows, size),), device=dev)
    ref = A32[rows].double() @ B32.double()
    for name in a.dtypes.split(','):
        A, B = A32.to(DT[name]), B32.to(DT[name])
        fn = lambda: torch.matmul(A, B)
        for _ in range(3): fn()
        est = time_ms(fn, 3)
        n = max(3, min(200, int(a.target_ms / max(est, 1e-3))))
        ms = time_ms(fn, n)
        err = (torch.matmul(A, B)[rows].double() - ref).abs().max().item()
        print('bench ' + json.dumps({'part': 'gemm', 'system': 'torch', 'size': size, 'precision': name, 'ms': ms, 'tflops': 2 * size ** 3 / (ms * 1e9),
              'repeats': n, 'max_abs_err': err, 'ref_scale': ref.abs().max().item(), 'error_rows': len(rows)}), flush=True)
    del A32, B32, ref
    torch.cuda.empty_cache()
