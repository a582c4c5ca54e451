// Every sample in samples/ imports, exports the models its header promises, and runs on the
// reference interpreter: outputs have the model's shapes with the batch filled in, are finite, and
// softmax outputs sum to 1 per row. New samples are picked up by the glob.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Model, interpretModel } from '../../src/index.js';
import type { Graph, Node } from '../../src/ir/types.js';
import { randomInputs } from '../../src/cli/random-input.js';

const samplesDir = fileURLToPath(new URL('../../samples/', import.meta.url));
/** Every samples/*.ts, by name, as a loader. */
const modules: Record<string, () => Promise<Record<string, unknown>>> = Object.fromEntries(
  readdirSync(samplesDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [f.slice(0, -3), () => import(`${samplesDir}${f}`)]),
);
const BATCH = 3;

/** The models each sample exports (by export name); a sample not listed here fails until it is added. */
const EXPECTED: Record<string, string[]> = {
  mlp: ['model'],
  cnn: ['model'],
  resnet: ['model'],
  custom_layer: ['model'],
  subclassed: ['model'],
  shared_weights: ['siamese', 'scoped'],
  tutorial: ['model'],
  gan: ['generator', 'discriminator'],
  attention: ['model', 'direct'],
  lstm: ['model'],
  text_classification: ['model'],
  replicas: ['model', 'classifier'],
};

/** Whether a graph output is a softmax (looking through the identities layers add). */
function isSoftmax(graph: Graph, name: string): boolean {
  const byId = new Map<number, Node>(graph.nodes.map((n) => [n.id, n]));
  let node = byId.get(graph.outputs.find((o) => o.name === name)!.value.node)!;
  while (node.op === 'identity') node = byId.get(node.inputs[0].node)!;
  return node.op === 'softmax';
}

describe('samples', () => {
  it('are all listed here', () => {
    expect(Object.keys(modules).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [sample, load] of Object.entries(modules)) {
    describe(`samples/${sample}.ts`, () => {
      it(`exports ${(EXPECTED[sample] ?? []).join(', ')} as built models`, async () => {
        const mod = await load();
        const models = Object.entries(mod).filter(([, v]) => v instanceof Model).map(([k]) => k);
        expect(models.sort()).toEqual([...(EXPECTED[sample] ?? [])].sort());
        for (const name of models) expect((mod[name] as Model).outputs.length, `${name} is built`).toBeGreaterThan(0);
      });

      for (const name of EXPECTED[sample] ?? []) {
        it(`${name} runs on the interpreter with the right output shapes; softmax rows sum to 1`, async () => {
          const model = (await load())[name] as Model;
          const inputs = randomInputs(model, { batch: BATCH, seed: 3 });
          const result = interpretModel(model, inputs.map((x) => x.value), { precision: 'float32' });
          const outputs = Object.entries(result.outputs);
          expect(outputs).toHaveLength(model.outputs.length);
          const graph = model.toGraph();
          outputs.forEach(([outName, value], i) => {
            expect(value.shape, `${outName} shape`).toEqual(model.outputs[i].shape.map((d) => d ?? BATCH));
            expect(value.data.every(Number.isFinite), `${outName} is finite`).toBe(true);
            if (!isSoftmax(graph, outName)) return;
            const classes = value.shape.at(-1)!;
            for (let r = 0; r < value.data.length / classes; r++) {
              let sum = 0;
              for (let k = 0; k < classes; k++) sum += value.data[r * classes + k];
              expect(Math.abs(sum - 1), `${outName} row ${r} sums to ${sum}`).toBeLessThanOrEqual(1e-5);
            }
          });
        });
      }
    });
  }

  it('the bench models end in softmax', async () => {
    for (const sample of ['mlp', 'cnn', 'resnet']) {
      const model = (await modules[sample]())['model'] as Model;
      const graph = model.toGraph();
      expect(isSoftmax(graph, graph.outputs[0].name), sample).toBe(true);
    }
  });

  it('shared_weights: one encoder serves both inputs; nameScope names weights block1/fc/kernel', async () => {
    const mod = await modules.shared_weights();
    const siamese = mod.siamese as Model;
    expect(siamese.weights.filter((w) => w.name.endsWith('encoder/kernel'))).toHaveLength(1);
    expect(siamese.countParams()).toBe(784 * 64 + 64 + 64 * 10 + 10);
    const scoped = mod.scoped as Model;
    expect(scoped.weights.map((w) => w.name)).toEqual(['block1/fc/kernel', 'block1/fc/bias']);
  });

  it('custom_layer: Scale has its own weight and config', async () => {
    const model = (await modules.custom_layer())['model'] as Model;
    const scale = model.getLayer('scale');
    expect(scale.getClassName()).toBe('Scale');
    expect(scale.weights.map((w) => w.name)).toEqual(['scale/scale']);
    expect(Array.from(scale.getWeights()[0]).every((v) => v === 0.5)).toBe(true);
    expect(scale.getConfig()).toMatchObject({ name: 'scale', initialValue: 0.5 });
  });
});
