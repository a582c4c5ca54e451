# Same bundle, two timers: kiln tune's and Net.timeSteps (bench/profile.ts), mixed mlp at batch 256.
set -uo pipefail
node --import tsx bench/profile.ts --model mlp --batch 256 --precision mixed
out=$(mktemp -d)/mlp.kiln
node bin/kiln.mjs compile samples/mlp.ts -o "$out" --batch 256 --precision mixed --features shader-f16,subgroups,chromium-experimental-subgroup-matrix | grep -E "kernels"
KILN_TUNING_DIR=$(mktemp -d) node bin/kiln.mjs tune "$out" --target-ms 5
KILN_TUNING_DIR=$(mktemp -d) node bin/kiln.mjs tune "$out" --target-ms 50
node --import tsx bench/profile.ts --model mlp --batch 256
out2=$(mktemp -d)/mlp32.kiln
node bin/kiln.mjs compile samples/mlp.ts -o "$out2" --batch 256 | grep -E "kernels"
KILN_TUNING_DIR=$(mktemp -d) node bin/kiln.mjs tune "$out2" --target-ms 5
