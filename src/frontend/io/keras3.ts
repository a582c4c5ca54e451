/**
 * Keras 3 `.keras` archives: a zip with `config.json` (the topology), `metadata.json` and
 * `model.weights.h5`, whose weights sit at `layers/<path>/vars/<i>`. Keras names each path after the
 * layer's class, not the layer (`dense`, `dense_1`, `conv2d` in the order of `model.layers`, nested
 * models under `layers/<model path>/layers/…`), so paths are matched through the config.
 */
import { unzipSync } from 'fflate';
import type { Layer } from '../layer.js';
import { Model } from '../model.js';
import { fileError } from './errors.js';
import { datasetValues, readHdf5, type H5Dataset, type H5Group } from './h5.js';
import { entryClassName, type LayerEntry } from './layer-config.js';
import { toSnakeCase, type Json } from './pythonic.js';
import type { FileWeight } from './weights-match.js';

/** The parts of a `.keras` archive kiln reads. */
export interface KerasArchive {
  readonly config: Record<string, Json>;
  readonly metadata?: Record<string, Json>;
  readonly weights: Uint8Array;
}

/** Whether bytes start like a zip file (`PK\x03\x04`). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Unzips a `.keras` archive and parses its JSON parts; a bad zip or a missing part names the file. */
export function readKerasArchive(bytes: Uint8Array, file: string): KerasArchive {
  if (!isZip(bytes)) fileError(file, `not a .keras archive (not a zip file; ${bytes.length} bytes)`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    return fileError(file, `not a readable zip archive, truncated or corrupt (${(e as Error).message})`);
  }
  const json = (name: string, required: boolean): Record<string, Json> | undefined => {
    const data = files[name];
    if (!data) return required ? fileError(file, `the archive has no ${name} (it holds ${Object.keys(files).join(', ') || 'nothing'})`) : undefined;
    try {
      return JSON.parse(new TextDecoder().decode(data));
    } catch (e) {
      return fileError(file, `${name} in the archive is not valid JSON (${(e as Error).message})`);
    }
  };
  const config = json('config.json', true)!;
  const weights = files['model.weights.h5'] ?? fileError(file, `the archive has no model.weights.h5 (it holds ${Object.keys(files).join(', ')})`);
  return { config, metadata: json('metadata.json', false), weights };
}

/** Keras's `to_snake_case` of a class name, the base of its weight paths. */
const pathName = (className: string) => toSnakeCase(className.replace(/\W+/g, ''));

/** The kiln layer each `layers/…` path of a Keras 3 weights file belongs to, walking the config as Keras walks `model.layers`. */
function layerPaths(entry: LayerEntry, model: Model, prefix: string, out: Map<string, Layer>): void {
  const config = (entry.config ?? {}) as Record<string, Json>;
  const cls = entryClassName(entry);
  let entries = (Array.isArray(config) ? config : (config.layers as Json[] | undefined) ?? []) as LayerEntry[];
  // Keras 3's Sequential.layers leaves out its InputLayer.
  if (cls === 'Sequential') entries = entries.filter((e) => entryClassName(e) !== 'InputLayer');
  const used = new Map<string, number>();
  for (const e of entries) {
    const ecls = entryClassName(e);
    const base = pathName(ecls === 'Model' ? 'Functional' : ecls);
    const n = used.get(base);
    used.set(base, (n ?? -1) + 1);
    const path = `${prefix}/layers/${n === undefined ? base : `${base}_${n + 1}`}`;
    const name = (e.name ?? (e.config as Record<string, Json> | undefined)?.name) as string | undefined;
    const layer = ecls === 'InputLayer' ? undefined : model.layers.find((l) => l.name === name);
    if (layer instanceof Model) layerPaths(e, layer, path, out);
    else if (layer) out.set(path, layer);
  }
}

/** Reads a Keras 3 weights file into named weights (`<layer>/<i>`) for the kiln model built from `topology`. */
export function readKeras3Weights(bytes: Uint8Array, file: string, topology: LayerEntry, model: Model): Promise<FileWeight[]> {
  return readHdf5(bytes, file, (f) => {
    const paths = new Map<string, Layer>();
    layerPaths(topology, model, '', paths);
    const out: FileWeight[] = [];
    const walk = (g: H5Group, path: string) => {
      for (const key of g.keys()) {
        const child = g.get(key) as H5Group | H5Dataset | null;
        if (!child || !('keys' in child)) continue;
        const childPath = `${path}/${key}`;
        if (key === 'vars') {
          const vars = child.keys().sort((a, b) => Number(a) - Number(b));
          if (!vars.length) continue;
          const layer = paths.get(path);
          if (!layer) fileError(file, `weights at '${childPath.slice(1)}' belong to no layer of the model config (known paths: ${[...paths.keys()].map((p) => p.slice(1)).join(', ')})`);
          for (const v of vars) out.push({ name: `${layer.name}/${v}`, ...datasetValues(child.get(v) as H5Dataset) });
        } else if (key !== 'optimizer') walk(child, childPath);
      }
    };
    const layers = f.get('layers') as H5Group | null;
    if (!layers || !('keys' in layers)) fileError(file, `has no 'layers' group: not Keras 3 weights (model.weights.h5)`);
    walk(f, '');
    return out;
  });
}
