# A/B of the bench models' kernels (GPU timestamps): copy the old files to ab-old/ and the new to ab-new/
# (same paths) first; alternates the two sides twice in one call. AB_PREDICT: model:batch pairs predicted in
# each precision of AB_PRECISIONS; AB_TRAIN: model:batch pairs of train steps.
for round in 1 2; do
  for side in old new; do
    cp -r ab-$side/. .
    for p in ${AB_PRECISIONS:-float32 mixed}; do
      for m in ${AB_PREDICT:-mlp:4096 cnn:4096 lstm:4096 resnet:256 mlp:256 cnn:256}; do echo "== $side round $round predict $p $m"; node --import tsx bench/profile.ts --model ${m%:*} --batch ${m#*:} --precision $p | grep "total"; done
    done
    for m in ${AB_TRAIN:-cnn:4096 lstm:4096 mlp:4096 resnet:256 cnn:256}; do echo "== $side round $round train $m"; node --import tsx bench/profile-train.ts --model ${m%:*} --batch ${m#*:} --top 0 | grep total; done
  done
done
