# kiln tune on the GPU machine for mixed bundles with tensor cores: compile, tune (winners printed),
# then check the tuned bundle against the interpreter. Usage: bash bench/tune-mixed.sh [model] [batch]
set -euo pipefail
m=${1:-mlp}; b=${2:-256}; out=$(mktemp -d)/$m.kiln
node bin/kiln.mjs compile samples/$m.ts -o "$out" --batch "$b" --precision mixed --features shader-f16,subgroups,chromium-experimental-subgroup-matrix
KILN_TUNING_DIR=$(mktemp -d) node bin/kiln.mjs tune "$out" --target-ms 5
node bin/kiln.mjs run "$out" --random-input --check --rtol 1e-2 --atol 2e-3 | grep -E "adapter|output|check"
