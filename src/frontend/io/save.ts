/**
 * Saving models and weights in the formats Keras and TF.js read: a TF.js `model.json` + `.bin` shard
 * (TF.js's `loadLayersModel` reads it), a legacy Keras full-model `.h5`, Keras 2 HDF5 weights, and
 * kiln's own weights format. New formats never replace an existing file unless asked; all writes are
 * atomic.
 */
import type { Model } from '../model.js';
import { ModelFileError } from './errors.js';
import { checkWritable, writeAtomic } from './files.js';
import { encodeKerasModelH5, encodeKerasWeights } from './keras-h5.js';
import { tfjsArtifacts } from './tfjs-format.js';
import { modelToJSONObject } from './to-config.js';

/** Weights file formats: kiln's own, Keras 2 HDF5 (`layer_names`/`weight_names`), or TF.js (model.json manifest + shard). */
export type WeightsFormat = 'kiln' | 'keras-h5' | 'tfjs';

/** Options of the savers. */
export interface SaveOptions {
  /** Replace an existing file (kiln's own weights format always replaces, as checkpoints do). */
  overwrite?: boolean;
}

/** The weights format a path asks for by its extension: `.h5`/`.hdf5` Keras, `.json` TF.js, anything else kiln. */
export function weightsFormatOf(path: string): WeightsFormat {
  if (/\.(h5|hdf5)$/i.test(path)) return 'keras-h5';
  if (/\.json$/i.test(path)) return 'tfjs';
  return 'kiln';
}

/** The shard file name TF.js uses beside a model.json: `weights.bin`, or `<stem>.weights.bin` for another name. */
async function shardPaths(path: string): Promise<{ dir: string; shard: string }> {
  const { dirname, basename } = await import('node:path');
  const base = basename(path);
  return { dir: dirname(path), shard: base === 'model.json' ? 'weights.bin' : `${base.replace(/\.json$/i, '')}.weights.bin` };
}

/** Writes a TF.js layers model (model.json and its weights shard), which TF.js's loadLayersModel reads. */
async function saveTfjs(model: Model, path: string, options: SaveOptions, weightsOnly: boolean): Promise<void> {
  const { join } = await import('node:path');
  const { dir, shard } = await shardPaths(path);
  await checkWritable(path, options.overwrite);
  await checkWritable(join(dir, shard), options.overwrite);
  const { json, weights } = tfjsArtifacts(model, shard, weightsOnly);
  await writeAtomic(join(dir, shard), weights);
  await writeAtomic(path, new TextEncoder().encode(JSON.stringify(json)));
}

/**
 * Saves a whole model: `.json` → TF.js model.json + weights shard; `.h5` → a legacy Keras full model
 * (`model_config` + `model_weights`). Refuses to replace files unless `overwrite`.
 */
export async function saveModelFile(model: Model, path: string, options: SaveOptions = {}): Promise<void> {
  const format = weightsFormatOf(path);
  if (format === 'tfjs') return saveTfjs(model, path, options, false);
  if (format === 'keras-h5') {
    await checkWritable(path, options.overwrite);
    return writeAtomic(path, await encodeKerasModelH5(model, modelToJSONObject(model)));
  }
  throw new ModelFileError(`${path}: save a whole model as model.json (TF.js layers format) or .h5 (legacy Keras); for weights alone use saveWeights`, { file: path });
}

/** Saves weights in a format chosen by `format`, else by the path's extension (see weightsFormatOf). */
export async function saveWeightsFile(model: Model, path: string, options: SaveOptions & { format?: WeightsFormat } = {}): Promise<void> {
  const format = options.format ?? weightsFormatOf(path);
  if (format === 'kiln') {
    const { saveWeights } = await import('../../training/weights-file.js');
    return saveWeights(model, path);
  }
  if (format === 'tfjs') return saveTfjs(model, path, options, true);
  await checkWritable(path, options.overwrite);
  await writeAtomic(path, await encodeKerasWeights(model));
}
