# Session 11: A/B (copy HEAD's files to ab-old/, the new ones to ab-new/ first) of the working tree's GEMM rule and split-K heads (ab-new) against HEAD's (ab-old), alternating, same call.
for round in 1 2; do
  for side in old new; do
    cp -r ab-$side/. .
    for m in mlp:4096 cnn:4096 lstm:4096 resnet:4096 mlp:256 resnet:256; do echo "== $side round $round predict $m"; node --import tsx bench/profile.ts --model ${m%:*} --batch ${m#*:} | grep "total\|chain"; done
    for m in mlp:4096 cnn:4096 lstm:4096 mlp:256 cnn:256 lstm:256 resnet:256; do echo "== $side round $round train $m"; node --import tsx bench/profile-train.ts --model ${m%:*} --batch ${m#*:} --top 0 | grep total; done
  done
done
