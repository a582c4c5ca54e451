/**
 * Keras's file methods on Model: `toJSON()`, `save(path)`, and `saveWeights`/`loadWeights` that pick
 * the format (kiln's own stays the default for other extensions; see weightsFormatOf).
 */
import '../../training/weights-file.js'; // installs kiln's saveWeights/loadWeights first; these wrap them
import { Model } from '../model.js';
import { loadWeightsFile } from './load.js';
import { saveModelFile, saveWeightsFile, type SaveOptions, type WeightsFormat } from './save.js';
import { modelToJSONObject } from './to-config.js';

declare module '../model.js' {
  interface Model {
    /** The model's Keras config as JSON text (Keras's `to_json()`, TF.js's `toJSON()`); `modelFromJSON` reads it back. */
    toJSON(key?: unknown): string;
    /** Saves the whole model: `model.json` (TF.js layers format + weights shard) or `.h5` (legacy Keras). */
    save(path: string, options?: SaveOptions): Promise<void>;
    /** Saves weights: `.h5` Keras HDF5, `.json` TF.js manifest + shard, else kiln's format; or as `format` says. */
    saveWeights(path: string, options?: SaveOptions & { format?: WeightsFormat }): Promise<void>;
  }
}

Model.prototype.toJSON = function (this: Model, key?: unknown): string {
  // JSON.stringify calls toJSON with a key; there a subclassed model becomes its name rather than an error.
  if (typeof key === 'string' && this.isSubclassed) return `Model(${this.name})`;
  return JSON.stringify(modelToJSONObject(this));
};
Model.prototype.save = function (this: Model, path: string, options?: SaveOptions) {
  return saveModelFile(this, path, options);
};
Model.prototype.saveWeights = function (this: Model, path: string, options?: SaveOptions & { format?: WeightsFormat }) {
  return saveWeightsFile(this, path, options);
};
Model.prototype.loadWeights = function (this: Model, path: string) {
  return loadWeightsFile(this, path);
};
