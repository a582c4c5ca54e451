/**
 * Puts weights read from a file into a model's layers. Files name weights differently (TF.js
 * `dense/kernel`, Keras 2 `dense/kernel:0` under a layer group, Keras 3 `layers/dense/vars/0`), but
 * all of them list each layer's weights in the layer's own order (trainable, then non-trainable), as
 * kiln does. So a file weight is given to the layer named by the last segment of its path that names a
 * layer of the model, and within a layer weights match by name where the names agree, else by order;
 * shapes must match exactly. Everything is checked before anything is written.
 */
import { formatShape } from '../../ir/errors.js';
import type { Layer } from '../layer.js';
import { Model } from '../model.js';
import type { LayerVariable } from '../variables.js';
import { ModelFileError } from './errors.js';

/** One weight as a file holds it: its path in the file, shape, and values. */
export interface FileWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
}

/** Layers that own weights, looking through nested models, in model order. */
export function weightLayers(model: Layer): Layer[] {
  const out: Layer[] = [];
  const visit = (l: Layer) => {
    if (l instanceof Model && l !== model && !l.isSubclassed) l.layers.forEach(visit);
    else if (l instanceof Model && l === model) l.layers.forEach(visit);
    else if (l.weights.length && !out.includes(l)) out.push(l);
  };
  visit(model);
  return out;
}

/** A weight's name inside its layer (`kernel`, `lstm_cell/kernel`), from kiln's full variable name. */
export function localWeightName(layer: Layer, w: LayerVariable): string {
  const at = w.name.lastIndexOf(`${layer.name}/`);
  // A weight not under the layer's name (inside a subclassed model) keeps its whole name, so names stay distinct.
  const local = at >= 0 ? w.name.slice(at + layer.name.length + 1) : w.name;
  // kiln numbers a variable name used before in the process (`kernel_1`); files use the plain name.
  const plain = local.replace(/_\d+$/, '');
  return plain !== local && !layer.weights.some((o) => o !== w && o.name.endsWith(`/${plain}`)) ? plain : local;
}

/** `dense/kernel:0` → `dense/kernel`. */
const stripIndex = (name: string) => name.replace(/:\d+$/, '');

/**
 * Assigns file weights to a model's layers and writes them. Throws one ModelFileError naming the file
 * and listing every problem (missing, extra, wrong shape) if anything does not fit.
 */
export function assignWeights(model: Layer, weights: readonly FileWeight[], file: string): void {
  const layers = weightLayers(model);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const groups = new Map<Layer, FileWeight[]>(layers.map((l) => [l, []]));
  const problems: string[] = [];
  for (const w of weights) {
    const segments = stripIndex(w.name).split('/');
    const owner = segments.slice(0, -1).reverse().map((s) => byName.get(s)).find((l) => l !== undefined);
    if (owner) groups.get(owner)!.push(w);
    else problems.push(`weight '${w.name}' (shape ${formatShape(w.shape)}) belongs to no layer of the model (its layers with weights: ${layers.map((l) => l.name).join(', ') || 'none'})`);
  }
  const writes: [LayerVariable, Float32Array][] = [];
  for (const [layer, got] of groups) {
    const want = layer.weights;
    if (got.length !== want.length) {
      problems.push(`layer '${layer.name}' (${layer.getClassName()}) has ${want.length} weights (${want.map((w) => `${localWeightName(layer, w)} ${formatShape(w.shape)}`).join(', ')}), the file has ${got.length}${got.length ? ` (${got.map((w) => w.name).join(', ')})` : ''}`);
      continue;
    }
    const locals = want.map((w) => localWeightName(layer, w));
    const fileLocals = got.map((w) => stripIndex(w.name).split('/').at(-1)!);
    const byLocal = new Set(fileLocals).size === got.length && locals.every((n) => fileLocals.includes(n.split('/').at(-1)!));
    want.forEach((v, i) => {
      const f = byLocal ? got[fileLocals.indexOf(locals[i].split('/').at(-1)!)] : got[i];
      if (f.shape.length !== v.shape.length || f.shape.some((d, k) => d !== v.shape[k])) {
        problems.push(`weight '${f.name}' has shape ${formatShape(f.shape)} in the file, but layer '${layer.name}' (${layer.getClassName()}) expects ${locals[i]} of shape ${formatShape(v.shape)}`);
      } else writes.push([v, f.value]);
    });
  }
  if (problems.length) {
    throw new ModelFileError(`${file}: the weights do not fit model '${model.name}':\n  - ${problems.join('\n  - ')}`, { file, model: model.name, problems });
  }
  for (const [v, value] of writes) v.write(value);
}

/** The model's weights as a file writes them: `<layer>/<weight>` names, in layer order. */
export function namedWeights(model: Layer): { name: string; layer: Layer; variable: LayerVariable }[] {
  return weightLayers(model).flatMap((layer) => layer.weights.map((variable) => ({ name: `${layer.name}/${localWeightName(layer, variable)}`, layer, variable })));
}
