/**
 * Keras's HDF5 layouts. Keras 2 `save_weights('w.h5')` and the weights of a legacy `model.save('m.h5')`
 * (under `model_weights`): the group has a `layer_names` attribute, each layer a group with a
 * `weight_names` attribute, each weight a dataset at `<layer>/<weight name>`. A legacy full model also
 * has its topology as JSON in the root's `model_config` attribute. Keras 3 `.weights.h5` (inside
 * `.keras` archives): `layers/<layer path>/vars/0, 1, …`, read by keras3.ts.
 */
import type { Layer } from '../layer.js';
import { Model } from '../model.js';
import { fileError } from './errors.js';
import { datasetValues, readHdf5, stringsAttr, writeHdf5, writeStringsAttr, type H5Dataset, type H5Group } from './h5.js';
import { WRITER_VERSION } from './to-config.js';
import { localWeightName, weightLayers, type FileWeight } from './weights-match.js';

/** Reads the weights of a Keras 2 weights group (`layer_names` / `weight_names`), named `<layer>/<weight>`. */
export function readWeightsGroup(group: H5Group, file: string): FileWeight[] {
  const layerNames = stringsAttr(group, 'layer_names');
  if (!layerNames) fileError(file, `no 'layer_names' attribute in ${group.path === '/' ? 'the root group' : `group '${group.path}'`}: not a Keras HDF5 weights file`);
  const out: FileWeight[] = [];
  for (const layer of layerNames) {
    const g = group.get(layer) as H5Group | null;
    if (!g || !('keys' in g)) fileError(file, `layer_names lists '${layer}', but the file has no group '${layer}'`, { layer });
    const names = stringsAttr(g, 'weight_names') ?? [];
    for (const wn of names) {
      const ds = g.get(wn) as H5Dataset | null;
      if (!ds || !('shape' in ds)) fileError(file, `layer '${layer}' lists weight '${wn}', but the file has no dataset '${layer}/${wn}'`, { layer, weight: wn });
      const { shape, value } = datasetValues(ds);
      out.push({ name: wn.startsWith(`${layer}/`) ? wn : `${layer}/${wn}`, shape, value });
    }
  }
  return out;
}

/** What a Keras `.h5` file holds: a full model (config + weights) or weights alone. */
export interface KerasH5Contents {
  /** The topology JSON of a full model (`model_config`), if the file is one. */
  readonly modelConfig?: unknown;
  readonly weights: FileWeight[];
}

/** Reads a Keras 2 `.h5` file: a legacy full model or a weights file. */
export function readKerasH5(bytes: Uint8Array, file: string): Promise<KerasH5Contents> {
  return readHdf5(bytes, file, (f) => {
    const configText = stringsAttr(f, 'model_config')?.[0];
    const weightsGroup = f.get('model_weights') as H5Group | null;
    let modelConfig: unknown;
    if (configText !== undefined) {
      try {
        modelConfig = JSON.parse(configText);
      } catch (e) {
        fileError(file, `the model_config attribute is not valid JSON (${(e as Error).message})`);
      }
    }
    if (weightsGroup && 'keys' in weightsGroup) return { modelConfig, weights: readWeightsGroup(weightsGroup, file) };
    if (f.attrs.layer_names || f.attrs.layer_names0) return { modelConfig, weights: readWeightsGroup(f, file) };
    if (f.get('layers')) fileError(file, 'holds Keras 3 weights (layers/<name>/vars); load them with the model they belong to (a .keras archive), or save them in Keras 2 layout');
    return fileError(file, 'is HDF5 but not a Keras file: no model_config, model_weights or layer_names');
  });
}

/** Writes one layer group as Keras 2 does: `weight_names` and a dataset per weight. */
function writeLayerGroup(parent: H5Group, layer: Layer): void {
  const g = parent.create_group(layer.name);
  const leaves = layer instanceof Model ? weightLayers(layer) : layer.weights.length ? [layer] : [];
  const entries = leaves.flatMap((l) => l.weights.map((w) => ({ name: `${l.name}/${localWeightName(l, w)}:0`, w })));
  writeStringsAttr(g, 'weight_names', entries.map((e) => e.name));
  for (const { name, w } of entries) {
    const parts = name.split('/');
    let at = g;
    for (const p of parts.slice(0, -1)) at = (at.get(p) as H5Group | null) ?? at.create_group(p);
    at.create_dataset({ name: parts.at(-1)!, data: w.read(), shape: [...w.shape], dtype: '<f' });
  }
}

/** A model's weights as a Keras 2 HDF5 weights file (`model.save_weights('w.h5')`'s layout). */
export function encodeKerasWeights(model: Model): Promise<Uint8Array> {
  return writeHdf5((f) => {
    writeStringsAttr(f, 'layer_names', model.layers.map((l) => l.name));
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', WRITER_VERSION);
    for (const layer of model.layers) writeLayerGroup(f, layer);
  });
}

/** A legacy Keras full-model `.h5`: `model_config` JSON plus weights under `model_weights`. */
export function encodeKerasModelH5(model: Model, topology: unknown): Promise<Uint8Array> {
  return writeHdf5((f) => {
    f.create_attribute('model_config', JSON.stringify(topology));
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', WRITER_VERSION);
    const g = f.create_group('model_weights');
    writeStringsAttr(g, 'layer_names', model.layers.map((l) => l.name));
    g.create_attribute('backend', 'tensorflow');
    g.create_attribute('keras_version', WRITER_VERSION);
    for (const layer of model.layers) writeLayerGroup(g, layer);
  });
}
