#!/usr/bin/env node
// Builds kiln/runtime for browsers: one ESM file, dist/kiln-runtime.js, with no Node modules in it.
//   node scripts/build-runtime.mjs [--outfile path]      # or: npm run build:runtime
// The Node-only paths (Dawn through `webgpu`, node:fs/path/url for bundles on disk) are dynamic imports
// behind isNode() checks, so a page never reaches them: they stay external, and anything else that is
// not inlined fails the build.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the browser runtime goes by default. */
export const RUNTIME_OUTFILE = join(root, 'dist', 'kiln-runtime.js');

/** Builds the browser runtime; resolves to the output path and its size in bytes. */
export async function buildRuntime({ outfile = RUNTIME_OUTFILE } = {}) {
  const result = await build({
    entryPoints: [join(root, 'src', 'runtime', 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    external: ['webgpu', 'node:*'],
    metafile: true,
    logLevel: 'warning',
  });
  const [file, meta] = Object.entries(result.metafile.outputs)[0];
  const stray = meta.imports.filter((i) => i.kind !== 'dynamic-import');
  if (stray.length) throw new Error(`the browser runtime must not import anything statically: ${stray.map((i) => `${i.path} (${i.kind})`).join(', ')}`);
  return { file: resolve(file), bytes: meta.bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--outfile');
  const { file, bytes } = await buildRuntime(at > 0 ? { outfile: resolve(process.argv[at + 1]) } : {});
  const shown = relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file);
  console.log(`${shown}: ${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes)`);
}
