# kiln tune's timer against the per-kernel profile (Net.timeSteps) on the same models, on the GPU machine:
# each model compiled, profiled, tuned, and the tuned bundle checked against the interpreter.
# Usage: [CHECK=0] bash bench/tune-vs-profile.sh [batch] [models…]   (default: 256 mlp cnn resnet; CHECK=0 skips the check)
set -euo pipefail
b=${1:-256}; shift || true
models=("$@"); [[ ${#models[@]} -gt 0 ]] || models=(mlp cnn resnet)
for m in "${models[@]}"; do
  for p in float32 mixed; do
    echo "== $m b=$b $p"
    node --import tsx bench/profile.ts --model "$m" --batch "$b" --precision "$p" | grep -E "matmul|conv|total"
    out=$(mktemp -d)/$m.kiln
    flags=(); [[ $p == mixed ]] && flags=(--precision mixed --features shader-f16,subgroups,chromium-experimental-subgroup-matrix)
    node bin/kiln.mjs compile "samples/$m.ts" -o "$out" --batch "$b" "${flags[@]}" | grep -E "kernels"
    KILN_TUNING_DIR=$(mktemp -d) node bin/kiln.mjs tune "$out" | grep -E "^  (gemm|mma)|tuned in|no tunable"
    [[ ${CHECK:-1} == 0 ]] || node bin/kiln.mjs run "$out" --random-input --check --rtol 1e-2 --atol 2e-3 | grep -E "^check"
  done
done
