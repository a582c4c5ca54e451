# Session 13: the tensor-core GEMM's tilings at 4096³ and 8192³ (KILN_MMA_TILES=GM,GN,SM,SN,KS), each timed
# by bench/gemm.ts in its own process, in turns, so the clocks see the same history. Usage: bash bench/mma-tiles.sh
TILES=${MMA_TILES:-"default 4,2,2,4,3 2,4,4,4,3 2,4,4,4,2 4,2,4,4,2 2,4,2,8,3 4,2,2,8,2 2,2,4,4,3"}
SIZES=${MMA_SIZES:-4096}
for round in 1 2; do
  for t in $TILES; do
    if [ "$t" = default ]; then unset KILN_MMA_TILES; else export KILN_MMA_TILES=$t; fi
    node --import tsx bench/gemm.ts --sizes $SIZES --precisions mixed 2>&1 | grep '"part":"gemm"' | sed "s/^/round $round tiles $t: /"
  done
done
# fp32 tilings beside them (KILN_GEMM_TILES=WX,WY,TM,TN,BK): how a warp's lanes cover the block.
unset KILN_MMA_TILES
for round in 1 2; do
  GEMM_LIST=${GEMM_TILES:-"default 32,8,16,8,16 8,32,4,32,16"}
  for t in $GEMM_LIST; do
    if [ "$t" = default ]; then unset KILN_GEMM_TILES; else export KILN_GEMM_TILES=$t; fi
    node --import tsx bench/gemm.ts --sizes ${GEMM_SIZES:-$SIZES} --precisions fp32 2>&1 | grep '"part":"gemm"' | sed "s/^/round $round fp32 tiles $t: /"
  done
done
