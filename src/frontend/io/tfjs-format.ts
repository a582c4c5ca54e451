/**
 * TF.js's layers-model format: `model.json` holds the Keras topology (`modelTopology`) and a weights
 * manifest (groups of `.bin` shard paths, each with the weights stored in them, concatenated in order,
 * little-endian); shards are checked against the manifest's sizes before any value is read.
 */
import type { Model } from '../model.js';
import { fileError } from './errors.js';
import type { ModelTopology } from './model-config.js';
import type { Json } from './pythonic.js';
import { modelToJSONObject } from './to-config.js';
import { isMixedPolicy } from '../layer.js';
import { namedWeights, type FileWeight } from './weights-match.js';

/** One weight of a TF.js manifest. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: unknown;
}

/** A manifest group: shard files and the weights they hold, in order. */
export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** A TF.js model.json. */
export interface TfjsModelJson {
  modelTopology: Json;
  weightsManifest?: WeightsManifestGroup[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Parses JSON text, naming the file on failure. */
export function parseJsonFile(text: string, file: string): Record<string, Json> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return fileError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fileError(file, `expected a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Record<string, Json>;
}

/** The Keras topology inside a model.json or a `to_json` text (a `model_config` wrapper is unwrapped). */
export function topologyOf(json: Record<string, Json>, file: string): ModelTopology {
  if (json.format === 'graph-model' || (json.modelTopology !== null && typeof json.modelTopology === 'object' && 'node' in json.modelTopology)) {
    fileError(file, 'is a TF.js graph model (a converted SavedModel or frozen graph): it has TensorFlow ops, not Keras layers; kiln reads layers models (format "layers-model")');
  }
  let t = (json.modelTopology ?? json) as Record<string, Json> | null;
  if (t && typeof t === 'object' && 'model_config' in t) t = t.model_config as Record<string, Json>;
  if (!t || typeof t !== 'object' || (!('class_name' in t) && !('className' in t))) {
    fileError(file, `holds no Keras model topology (expected {class_name, config}, or a TF.js model.json with modelTopology; found keys ${Object.keys(json).join(', ')})`);
  }
  return t as ModelTopology;
}

/** Checks a manifest's shape and returns its groups. */
export function manifestOf(json: Record<string, Json>, file: string): WeightsManifestGroup[] {
  const m = json.weightsManifest;
  if (m === undefined) return [];
  const ok = Array.isArray(m) && m.every((g) => g !== null && typeof g === 'object' && !Array.isArray(g) && Array.isArray(g.paths) && Array.isArray(g.weights));
  if (!ok) fileError(file, 'weightsManifest must be a list of {paths, weights} groups');
  return m as unknown as WeightsManifestGroup[];
}

/**
 * Reads the weights a manifest describes, fetching each shard with `read` (which names missing files).
 * A shard total that differs from the manifest's sizes is an error naming the shards and both sizes.
 */
export async function readManifestWeights(groups: WeightsManifestGroup[], read: (path: string) => Promise<Uint8Array>, file: string): Promise<FileWeight[]> {
  const out: FileWeight[] = [];
  for (const group of groups) {
    const shards = await Promise.all(group.paths.map((p) => read(p)));
    const total = shards.reduce((n, s) => n + s.length, 0);
    const sizes = group.weights.map((w) => {
      if (w.quantization) fileError(file, `weight '${w.name}' is quantized (${JSON.stringify(w.quantization)}); kiln reads float32 weights only`, { weight: w.name });
      const bytes = BYTES[w.dtype];
      if (!bytes) fileError(file, `weight '${w.name}' has dtype '${w.dtype}'; kiln reads float32, int32 and bool weights`, { weight: w.name });
      if (!Array.isArray(w.shape) || w.shape.some((d) => !Number.isInteger(d) || d < 0)) fileError(file, `weight '${w.name}' has a bad shape ${JSON.stringify(w.shape)}`, { weight: w.name });
      return w.shape.reduce((a, b) => a * b, 1) * bytes;
    });
    const expected = sizes.reduce((a, b) => a + b, 0);
    if (total !== expected) {
      fileError(file, `weight shards ${group.paths.join(', ')} hold ${total} bytes, but the manifest lists weights of ${expected} bytes (${total < expected ? 'truncated shard?' : 'extra bytes'})`, { shards: group.paths, bytes: total, expected });
    }
    const data = new Uint8Array(total);
    let at = 0;
    for (const s of shards) {
      data.set(s, at);
      at += s.length;
    }
    const view = new DataView(data.buffer);
    let offset = 0;
    group.weights.forEach((w, i) => {
      const n = sizes[i] / BYTES[w.dtype];
      const value = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        value[k] = w.dtype === 'float32' ? view.getFloat32(offset + 4 * k, true) : w.dtype === 'int32' ? view.getInt32(offset + 4 * k, true) : data[offset + k];
      }
      out.push({ name: w.name, shape: w.shape, value });
      offset += sizes[i];
    });
  }
  return out;
}

/**
 * The model as TF.js artifacts: model.json's object (pointing at `weightsPath`) and the shard's bytes;
 * `weightsOnly` leaves the topology out (a subclassed model has none).
 */
export function tfjsArtifacts(model: Model, weightsPath: string, weightsOnly = false): { json: Partial<TfjsModelJson>; weights: Uint8Array } {
  const named = namedWeights(model);
  const specs: WeightSpec[] = named.map((w) => ({ name: w.name, shape: [...w.variable.shape], dtype: 'float32' }));
  const data = new Uint8Array(named.reduce((n, w) => n + 4 * w.variable.size, 0));
  const view = new DataView(data.buffer);
  let at = 0;
  for (const w of named) {
    for (const x of w.variable.read()) {
      view.setFloat32(at, x, true);
      at += 4;
    }
  }
  const manifest = [{ paths: [weightsPath], weights: specs }];
  if (weightsOnly) return { json: { weightsManifest: manifest, generatedBy: 'kiln' }, weights: data };
  const json: TfjsModelJson = {
    modelTopology: float32Policies(modelToJSONObject(model)) as Json,
    format: 'layers-model',
    generatedBy: 'kiln',
    convertedBy: null,
    weightsManifest: manifest,
  };
  return { json, weights: data };
}

/** TF.js has no mixed dtype policies (it would read `mixed_float16` as a dtype): its model.json gets the layers' float32. */
function float32Policies(value: Json): Json {
  if (Array.isArray(value)) return value.map(float32Policies);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'dtype' && isMixedPolicy(v) ? 'float32' : float32Policies(v)]));
}
