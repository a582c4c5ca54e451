#!/usr/bin/env bash
# The device pack (../shared/device/pack.sh) without what only the local test run needs (test runner,
# bundler, browser driver, the TypeScript compiler), so the pack plus the tree stay under the device
# tool's 64 MiB carry limit. GNU tar reads TAR_OPTIONS before its own arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
TAR_OPTIONS="--exclude=node_modules/@rolldown --exclude=node_modules/lightningcss* --exclude=node_modules/playwright-core \
--exclude=node_modules/typescript --exclude=node_modules/vitest --exclude=node_modules/@vitest --exclude=node_modules/vite \
--exclude=node_modules/fast-check ${TAR_OPTIONS:-}" bash ../shared/device/pack.sh "$@"
