/**
 * A Keras-compatible writer for tests, independent of kiln's savers: it lays files out as Keras does.
 * - Keras 2 `save_weights('w.h5')`: root attrs `layer_names` (fixed-length byte strings), `backend`,
 *   `keras_version`; a group per layer with `weight_names` (`<layer>/<weight>:0`) and one dataset per
 *   weight at `<layer>/<layer>/<weight>:0`.
 * - Keras 2 `model.save('m.h5')`: root attr `model_config` (JSON), the weights as above under `model_weights`.
 * - Keras 3 `.keras`: a zip of `config.json`, `metadata.json` and `model.weights.h5`, whose weights sit at
 *   `layers/<class name in snake_case, numbered per class>/vars/<i>`.
 */
import h5wasm from 'h5wasm';
import { zipSync } from 'fflate';

/** One layer's weights as Keras lists them. */
export interface KerasLayerWeights {
  layer: string;
  weights: { name: string; shape: number[]; value: Float32Array }[];
}

async function h5(fill: (f: any) => void): Promise<Uint8Array> {
  const mod: any = await h5wasm.ready;
  const path = `/keras-writer-${Math.random().toString(36).slice(2)}.h5`;
  const f = new h5wasm.File(path, 'w');
  fill(f);
  f.close();
  const bytes = mod.FS.readFile(path);
  mod.FS.unlink(path);
  return bytes;
}

function bytesAttr(obj: any, name: string, values: string[]): void {
  obj.create_attribute(name, values, [values.length], `S${Math.max(1, ...values.map((v) => v.length))}`);
}

function writeGroup(root: any, layers: KerasLayerWeights[]): void {
  bytesAttr(root, 'layer_names', layers.map((l) => l.layer));
  root.create_attribute('backend', 'tensorflow');
  root.create_attribute('keras_version', '2.15.0');
  for (const l of layers) {
    const g = root.create_group(l.layer);
    bytesAttr(g, 'weight_names', l.weights.map((w) => w.name));
    for (const w of l.weights) {
      const parts = w.name.split('/');
      let at = g;
      for (const p of parts.slice(0, -1)) at = at.get(p) ?? at.create_group(p);
      at.create_dataset({ name: parts.at(-1), data: w.value, shape: w.shape, dtype: '<f' });
    }
  }
}

/** A Keras 2 weights file. */
export function kerasWeightsH5(layers: KerasLayerWeights[]): Promise<Uint8Array> {
  return h5((f) => writeGroup(f, layers));
}

/** A Keras 2 legacy full model. */
export function kerasModelH5(config: unknown, layers: KerasLayerWeights[]): Promise<Uint8Array> {
  return h5((f) => {
    f.create_attribute('model_config', JSON.stringify(config));
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', '2.15.0');
    writeGroup(f.create_group('model_weights'), layers);
  });
}

/** A Keras 3 archive; `vars` maps a weights path (`layers/dense_1`) to its variables in order. */
export async function kerasArchive(config: unknown, vars: Record<string, { shape: number[]; value: Float32Array }[]>): Promise<Uint8Array> {
  const weights = await h5((f) => {
    f.create_group('layers');
    f.create_group('vars');
    for (const [path, values] of Object.entries(vars)) {
      let at = f;
      for (const p of path.split('/')) at = at.get(p) ?? at.create_group(p);
      const v = at.create_group('vars');
      values.forEach((x, i) => v.create_dataset({ name: String(i), data: x.value, shape: x.shape, dtype: '<f' }));
    }
    f.create_group('optimizer').create_group('vars');
  });
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  return zipSync({ 'metadata.json': enc({ keras_version: '3.6.0', date_saved: '2026-11-22@04:00:00' }), 'config.json': enc(config), 'model.weights.h5': weights });
}

/** Keras-style weight lists from a TF.js model: `<layer>/<weight>:0` per layer, in layer order. */
export function kerasWeightsOf(tfModel: any): KerasLayerWeights[] {
  return tfModel.layers.map((l: any) => ({
    layer: l.name,
    weights: l.weights.map((w: any) => ({ name: `${w.originalName}:0`, shape: w.shape, value: w.read().dataSync() as Float32Array })),
  }));
}
