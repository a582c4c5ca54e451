# Session 13: how many waves of 128×256 blocks the arithmetic rule should want before it picks them, on
# shapes whose 128×256 grid gives 2–4 waves of 128 workgroups: each shape under 128×256, 128×128 and 128×64
# blocks and under the rule ("auto"). (…-session13-wide-waves.log was taken with a temporary knob that set
# the rule's waves to 2 and 3, and the two smaller tilings forced; the rule now wants 4.)
# Usage: bash bench/wide-waves.sh
SHAPES=3072x3072x3072,6144x1536x1536,2560x4096x2048,2048x5120x2048,4096x2560x2048,3072x4096x1024,4096x3072x768,2048x4096x1024,4096x2048x2048,8192x1024x1024,4096x4096x4096
node --import tsx bench/gemm-shapes.ts --shapes $SHAPES --tiles 'auto;32,8,16,8,16;16,16,8,8,8;16,16,8,4,16'
