# The recurrent weight sums (dW, dR, db of rnnSequenceGrad) under split-K tilings × chunk sizes:
# KILN_SPLIT_TILES forces the tiling of every split GEMM, KILN_RNN_SUM_CHUNK_K the sums' k-values per chunk.
# Usage (after . .devpack/setup.sh): [SPLIT_CASES='tiles/chunk …'] bash bench/split-chunks.sh [model:batch …]
# ('default' tiles: the lowering's choice; chunk 'auto': the lowering's.)
cases=${SPLIT_CASES:-"default/auto 16,16,1,4,4,8/1024 16,16,1,4,4,8/512 16,16,1,4,4,8/256 16,16,1,2,2,16/512 8,8,4,2,2,8/1024"}
for m in ${@:-lstm:4096 lstm:256}; do
  for c in $cases; do
    tiles=${c%/*}; chunk=${c#*/}
    if [ "$tiles" = default ]; then unset KILN_SPLIT_TILES; else export KILN_SPLIT_TILES=$tiles; fi
    if [ "$chunk" = auto ]; then unset KILN_RNN_SUM_CHUNK_K; else export KILN_RNN_SUM_CHUNK_K=$chunk; fi
    echo "== $m tiles $tiles chunk $chunk"
    node --import tsx bench/profile-train.ts --model ${m%:*} --batch ${m#*:} --top 40 | grep -E "/dw|/dr|/db|total"
  done
done
