# The MLP's hidden Dense gradients at batch 4096 under forced split-K chunk counts (KILN_SPLIT_K), beside the default.
for k in auto 4 8; do
  if [ "$k" = auto ]; then unset KILN_SPLIT_K; else export KILN_SPLIT_K=$k; fi
  echo "== mlp:4096 KILN_SPLIT_K=$k"
  node --import tsx bench/profile-train.ts --model mlp --batch 4096 --top 40 | grep -E "gradients/dense(_1)?/matmul/matmul|total"
done
