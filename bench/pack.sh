#!/usr/bin/env bash
# The device pack for `npm run bench`: ../shared/device/pack.sh, then node_modules packed again without
# what no benchmark process loads (browser bundles of the TF.js umbrella and its WebGL backend, the
# browser-test and build tools), so that the pack with onnxruntime-node's native library stays under
# the 64 MiB a device call carries.
# Usage (project root): bash bench/pack.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/device/pack.sh "$@"
echo "node_modules again, without what the benchmark never loads ..."
tar --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
    --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v*/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v*/win32' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v*/linux/arm64' --exclude='node_modules/onnxruntime-web' \
    --exclude='node_modules/.cache' \
    --exclude='node_modules/@tensorflow/tfjs/dist' --exclude='node_modules/@tensorflow/tfjs-backend-webgl' \
    --exclude='node_modules/@tensorflow/*/dist/*.min.js' --exclude='node_modules/@tensorflow/*/dist/*.es2017.js' --exclude='node_modules/@tensorflow/*/dist/*.fesm.js' \
    --exclude='node_modules/playwright-core' --exclude='node_modules/@rolldown' --exclude='node_modules/lightningcss-*' \
    -cf - node_modules "$@" | xz -T2 -6 > .devpack/tree.tar.xz
du -sh .devpack/* | sort -h
total=$(du -sm .devpack | cut -f1)
(( total <= 60 )) || echo "warning: .devpack is ${total} MiB; a device call carries 64 MiB at most with the rest of the tree" >&2
