# bench/gemm.ts under each of several experiment settings, in turns, two rounds in one call, so the clocks
# see the same history. Each setting is a space-free list of VAR=value pairs joined by '+', or 'default'.
# Usage: SWEEP="default KILN_GEMM_TILES=16,16,8,8,8 KILN_GEMM_TILES=16,16,8,8,8,db" SIZES=2048,4096 PRECISIONS=fp32 bash bench/env-sweep.sh
for round in 1 2; do
  for setting in $SWEEP; do
    vars=(); [ "$setting" = default ] || IFS='+' read -ra vars <<< "$setting"
    env "${vars[@]}" node --import tsx bench/gemm.ts --sizes ${SIZES:-4096} --precisions ${PRECISIONS:-fp32} 2>&1 | grep '"part":"gemm"' | sed "s/^/round $round $setting: /"
  done
done
