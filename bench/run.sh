#!/usr/bin/env bash
# The benchmark, all systems in one run on one machine: kiln, TF.js on WebGPU (same Dawn binding) and,
# where CUDA and PyTorch exist, PyTorch eager. Lines go to $OUT/bench.log (or bench-out/), then
# bench/report.ts prints the table and writes bench.json.
# On the GPU machine: bash ../shared/device/pack.sh, then the device tool with carry [".devpack"] and
#   . .devpack/setup.sh && bash bench/run.sh
set -u
cd "$(dirname "$0")/.."
out=${OUT:-bench-out}; mkdir -p "$out"; log="$out/bench.log"; : > "$log"
batches=${BENCH_BATCHES:-1,256}; iters=${BENCH_ITERS:-20}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed 's/^/device: /' | tee -a "$log"
node --import tsx bench/kiln.ts --batches "$batches" --iters "$iters" 2>&1 | tee -a "$log"
for B in ${batches//,/ }; do
  (cd bench/peers && timeout 300 node tfjs_peer.mjs --batch "$B" --iters "$iters" --models mlp,cnn,resnet 2>&1 | grep '^tfjs') | tee -a "$log"
done
if command -v python3 >/dev/null && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  for B in ${batches//,/ }; do (cd bench/peers && python3 torch_peer.py --batch "$B" --models mlp,cnn,resnet 2>&1 | grep '^torch') | tee -a "$log"; done
fi
node --import tsx bench/report.ts "$log" "$out/bench.json"
