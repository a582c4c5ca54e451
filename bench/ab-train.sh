# A/B of training-step kernels: copy the old files to ab-old/ and the new to ab-new/ (same paths) first;
# alternates the two sides twice in one call. AB_MODELS: model:batch pairs.
for round in 1 2; do
  for side in old new; do
    cp -r ab-$side/. .
    for m in ${AB_MODELS:-cnn:4096 cnn:256 lstm:4096 lstm:256 mlp:4096 resnet:256}; do echo "== $side round $round train $m"; node --import tsx bench/profile-train.ts --model ${m%:*} --batch ${m#*:} --top ${AB_TOP:-0}; done
  done
done
