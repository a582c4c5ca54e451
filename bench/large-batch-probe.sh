# Session 11 experiment 1: GEMM tilings at the mlp's batch-4096 shapes, split-K head teams, training profiles.
p() { node --import tsx bench/profile.ts "$@"; }
{
for t in auto 16,16,8,4,8 16,16,4,8,8 16,16,4,4,16 16,16,8,8,16 16,16,8,16,16 8,16,8,4,16 16,16,4,4,8 16,16,8,4,16; do
  echo "== tiles $t"; if [ $t = auto ]; then p --model mlp --batch 4096; else KILN_GEMM_TILES=$t p --model mlp --batch 4096; fi
done
for m in mlp:4096 mlp:256 lstm:4096 lstm:256 cnn:4096 cnn:256 resnet:4096; do
  for teams in auto 1; do echo "== $m teams $teams"; if [ $teams = auto ]; then p --model ${m%:*} --batch ${m#*:}; else KILN_ROW_TEAMS=1 p --model ${m%:*} --batch ${m#*:}; fi; done
done
} > $OUT/exp1-profiles.log 2>&1
for m in mlp lstm cnn; do node --import tsx bench/profile-train.ts --model $m --batch 4096 --top 40; done > $OUT/exp1-train.log 2>&1
tail -3 $OUT/exp1-train.log
