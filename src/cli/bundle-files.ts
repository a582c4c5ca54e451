/**
 * Bundles as the command line sees them: what a path holds (a bundle, a model file, something
 * else), and the compiled graph and weights a bundle keeps, for `kiln run --check` and `kiln inspect`.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { graphFromJSON } from '../ir/json.js';
import type { NDArray } from '../ir/ndarray.js';
import type { Graph } from '../ir/types.js';
import { isContainer } from '../runtime/container.js';
import type { Bundle } from '../runtime/format.js';
import { CliError } from './errors.js';

/** What is at a path, as far as bundles go. */
export type PathKind = 'missing' | 'bundle-folder' | 'bundle-file' | 'empty-folder' | 'folder' | 'file';

/** Looks at a path without reading more than a file's first bytes. */
export function pathKind(path: string): PathKind {
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  if (st.isDirectory()) {
    if (existsSync(join(path, 'manifest.json'))) return 'bundle-folder';
    return readdirSync(path).length ? 'folder' : 'empty-folder';
  }
  if (!st.isFile() || st.size < 12) return 'file';
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(12);
    readSync(fd, head, 0, 12, 0);
    return isContainer(head) ? 'bundle-file' : 'file';
  } finally {
    closeSync(fd);
  }
}

/** Whether a path kind is a bundle. */
export const isBundleKind = (k: PathKind) => k === 'bundle-folder' || k === 'bundle-file';

/** The compiled graph a bundle keeps in graph.json (kiln writes it; the runtime never needs it). */
export function bundleGraph(bundle: Bundle, source: string): Graph {
  const file = bundle.manifest.graph?.file;
  const bytes = file ? bundle.files.get(file) : undefined;
  if (!bytes) throw new CliError(`${source} has no graph.json, so there is nothing to check against; compile it again with this kiln`, { source });
  return graphFromJSON(new TextDecoder().decode(bytes), `${source}/${file}`);
}

/** The bundle's weights (and folded constants) as arrays, by entry name: the values its graph's weight nodes read. */
export function bundleWeights(bundle: Bundle): Map<string, NDArray> {
  const m = bundle.manifest;
  const bytes = bundle.files.get(m.weights.file) ?? new Uint8Array(0);
  const out = new Map<string, NDArray>();
  for (const e of m.weights.entries) {
    // A copy: the file's bytes need not be 4-byte aligned.
    const buf = bytes.slice(e.offset, e.offset + e.size).buffer;
    const data = e.dtype === 'float32' ? new Float32Array(buf) : e.dtype === 'int32' ? new Int32Array(buf) : Uint8Array.from(new Int32Array(buf));
    out.set(e.name, { shape: [...e.shape], dtype: e.dtype, data });
  }
  return out;
}
