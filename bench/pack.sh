#!/usr/bin/env bash
# The device pack for `npm run bench`: the project's pack (scripts/device-pack.sh where it exists, else
# ../shared/device/pack.sh) without what no benchmark process loads either: the browser bundles of the
# TF.js umbrella package and TF.js's WebGL backend (the TF.js peer loads tfjs-core, -layers and the
# WebGPU and CPU backends through their Node entry points). With onnxruntime-node's native library
# (about 13 MiB compressed) the pack must still fit the 64 MiB a device call carries, with the tracked tree
# (11 MiB on disk in session 16): so core-js (the TF.js umbrella's, whose dist is left out) and h5wasm
# (imported only to read .h5 files) stay behind too, and, as the tracked results grew (12 MiB in session 19),
# the test runner, TypeScript's compiler (tsx runs on esbuild) and ts-morph, which only writes a bundle's
# typed loader and reads model files for the CLI: no bench process does either (bench/load.ts writes
# its bundles with `loader: false`).
# Usage (project root): bash bench/pack.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
# GNU tar reads TAR_OPTIONS before its own arguments, so these exclusions reach the pack's tar.
export TAR_OPTIONS="--exclude=node_modules/@tensorflow/tfjs/dist --exclude=node_modules/@tensorflow/tfjs-backend-webgl \
--exclude=node_modules/@tensorflow/*/dist/*.min.js --exclude=node_modules/@tensorflow/*/dist/*.es2017.js \
--exclude=node_modules/@tensorflow/*/dist/*.fesm.js --exclude=node_modules/@rolldown --exclude=node_modules/lightningcss* \
--exclude=node_modules/playwright-core --exclude=node_modules/core-js --exclude=node_modules/h5wasm \
--exclude=node_modules/typescript --exclude=node_modules/vitest --exclude=node_modules/@vitest --exclude=node_modules/vite \
--exclude=node_modules/fast-check --exclude=node_modules/uglify-js \
--exclude=node_modules/ts-morph --exclude=node_modules/@ts-morph --exclude=node_modules/code-block-writer ${TAR_OPTIONS:-}"
if [[ -f scripts/device-pack.sh ]]; then bash scripts/device-pack.sh "$@"; else bash ../shared/device/pack.sh "$@"; fi
# The shared pack compresses at xz -6 in two threads; one thread at -9e saves 1.2 MiB (about 2 minutes more).
xz -dc .devpack/tree.tar.xz | xz -9e -T1 > .devpack/tree.tar.xz.tmp && mv .devpack/tree.tar.xz.tmp .devpack/tree.tar.xz
du -sh .devpack
