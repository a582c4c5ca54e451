/**
 * Loading models and weights that Keras and TF.js users already have:
 * - `model.json` (TF.js layers format: topology + weights manifest + `.bin` shards),
 * - a Keras `to_json()` text, with weights from any weights file (`weights` option),
 * - a legacy Keras `.h5` full model, a Keras 3 `.keras` archive,
 * and weights alone from Keras 2 `.h5`, TF.js manifests, or kiln's own weights files.
 */
import type { Model } from '../model.js';
import type { Layer } from '../layer.js';
import { fileError } from './errors.js';
import { isHdf5, readHdf5, type H5Group } from './h5.js';
import { readKerasH5 } from './keras-h5.js';
import { isZip, readKerasArchive, readKeras3Weights } from './keras3.js';
import { modelFromTopology, type ModelTopology } from './model-config.js';
import type { CustomObjects } from './registry.js';
import { manifestOf, parseJsonFile, readManifestWeights, topologyOf } from './tfjs-format.js';
import { modelToConfig } from './to-config.js';
import { assignWeights, type FileWeight } from './weights-match.js';
import { readBytes } from './files.js';

/** Options of the model loaders. */
export interface LoadOptions {
  /** Custom layer classes by Keras class name (Keras's `custom_objects`). */
  customObjects?: CustomObjects;
  /** A weights file for a topology-only file (a Keras `to_json()` text): `.h5`, TF.js `.json`, or kiln's format. */
  weights?: string;
}

const KILN_MAGIC = 'KILNWTS1';

/** Builds a model from a Keras JSON config (`model.to_json()`, a TF.js model.json, or the object); weights stay as initialized. */
export function modelFromJSON(json: string | object, options: LoadOptions & { file?: string } = {}): Model {
  const file = options.file ?? 'model JSON';
  const obj = typeof json === 'string' ? parseJsonFile(json, file) : (json as Record<string, never>);
  return modelFromTopology(topologyOf(obj, file), { file: options.file, customObjects: options.customObjects });
}

/** What kind of file bytes are, by content (extensions lie). */
function sniff(bytes: Uint8Array): 'hdf5' | 'zip' | 'kiln' | 'json' | 'unknown' {
  if (isHdf5(bytes)) return 'hdf5';
  if (isZip(bytes)) return 'zip';
  if (new TextDecoder().decode(bytes.subarray(0, 8)) === KILN_MAGIC) return 'kiln';
  const first = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart()[0];
  return first === '{' ? 'json' : 'unknown';
}

/** Reads a file's bytes by path or URL; the loaders take one so they also run in a browser (over fetch). */
export type ReadFile = (path: string, what: string) => Promise<Uint8Array>;

/** A path next to `path` (a shard beside its model.json), for file paths and URLs alike. */
function sibling(path: string, name: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut < 0 ? name : `${path.slice(0, cut + 1)}${name}`;
}

/** Reads the shards of a TF.js manifest next to the JSON file that lists them. */
function manifestWeights(json: Record<string, never>, path: string, read: ReadFile): Promise<FileWeight[]> {
  return readManifestWeights(manifestOf(json, path), (p) => read(sibling(path, p), `weight shard '${p}' listed in ${path}`), path);
}

/**
 * Loads a model file: `model.json` (TF.js or Keras `to_json`), `.h5` (legacy Keras full model) or
 * `.keras` (Keras 3 archive). Errors name the file and what is wrong with it.
 */
export function loadModelFile(path: string, options: LoadOptions = {}): Promise<Model> {
  return loadModelFrom(path, readBytes, options);
}

/**
 * loadModelFile over any reader: `loadModelFrom('https://…/model.json', (url) => fetch(url).then(…))`
 * in a browser. The `weights` option is read with the same reader.
 */
export async function loadModelFrom(path: string, read: ReadFile, options: LoadOptions = {}): Promise<Model> {
  const bytes = await read(path, 'model file');
  const kind = sniff(bytes);
  const ctx = { file: path, customObjects: options.customObjects };
  let model: Model;
  if (kind === 'json') {
    const json = parseJsonFile(new TextDecoder().decode(bytes), path) as Record<string, never>;
    model = modelFromTopology(topologyOf(json, path), ctx);
    const manifest = manifestOf(json, path);
    if (manifest.length && !options.weights) assignWeights(model, await manifestWeights(json, path, read), path);
  } else if (kind === 'hdf5') {
    const contents = await readKerasH5(bytes, path);
    if (contents.modelConfig === undefined) {
      fileError(path, `holds weights only (no model_config): load the model's topology and give this file as its weights, e.g. loadModelFile('model.json', { weights: '${path}' })`);
    }
    model = modelFromTopology(topologyOf(contents.modelConfig as Record<string, never>, path), ctx);
    if (!options.weights) assignWeights(model, contents.weights, path);
  } else if (kind === 'zip') {
    const archive = readKerasArchive(bytes, path);
    const topology = topologyOf(archive.config, `${path} (config.json)`) as ModelTopology;
    model = modelFromTopology(topology, ctx);
    if (!options.weights) assignWeights(model, await readKeras3Weights(archive.weights, `${path} (model.weights.h5)`, topology, model), path);
  } else {
    return fileError(path, `is not a model file kiln reads: expected a TF.js model.json or Keras to_json() text (JSON), a Keras .h5 (HDF5) or a Keras 3 .keras archive (zip); it starts with ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 8)))}`);
  }
  if (options.weights) await loadWeightsFrom(model, options.weights, read);
  return model;
}

/**
 * Loads weights into a model from any weights file kiln knows, by content: kiln's own format, a Keras 2
 * HDF5 weights file (or a legacy full model's weights), Keras 3 `.weights.h5`, or a TF.js model.json /
 * manifest with its shards. Nothing is written unless every weight fits.
 */
export function loadWeightsFile(model: Layer, path: string): Promise<void> {
  return loadWeightsFrom(model, path, readBytes);
}

/** loadWeightsFile over any reader (see loadModelFrom). */
export async function loadWeightsFrom(model: Layer, path: string, read: ReadFile): Promise<void> {
  const bytes = await read(path, 'weights file');
  const kind = sniff(bytes);
  if (kind === 'kiln') {
    const { applyWeights, decodeWeights } = await import('../../training/weights-file.js');
    const decoded = await decodeWeights(bytes, path);
    // Exact names first; a model whose variable names kiln numbered differently (`kernel_1`) matches by layer.
    if (model.weights.length === decoded.size && model.weights.every((w) => decoded.has(w.name))) return applyWeights(model, decoded, path);
    return assignWeights(model, [...decoded].map(([name, w]) => ({ name, shape: w.shape, value: w.value })), path);
  }
  if (kind === 'json') return assignWeights(model, await manifestWeights(parseJsonFile(new TextDecoder().decode(bytes), path) as Record<string, never>, path, read), path);
  if (kind === 'zip') {
    const archive = readKerasArchive(bytes, path);
    return assignWeights(model, await readKeras3Weights(archive.weights, path, topologyOf(archive.config, path) as ModelTopology, model as Model), path);
  }
  if (kind !== 'hdf5') return fileError(path, `is not a weights file kiln reads (kiln weights, Keras .h5, TF.js model.json); it starts with ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 8)))}`);
  const keras3 = await readHdf5(bytes, path, (f) => !f.attrs.layer_names && !f.attrs.layer_names0 && !f.get('model_weights') && (f.get('layers') as H5Group | null) !== null);
  if (keras3) return assignWeights(model, await readKeras3Weights(bytes, path, modelToConfig(model as Model) as ModelTopology, model as Model), path);
  const contents = await readKerasH5(bytes, path);
  assignWeights(model, contents.weights, path);
}

