/**
 * nonFiniteCount on the GPU (a mixed-precision step's overflow test): NaN, +∞ and −∞ planted anywhere in
 * any of several inputs, among them the first and last elements, are counted as the interpreter counts
 * them, in one workgroup and across many (partials, then their sum); finite extremes count as finite.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/passes/builder.js';
import { compileBundle } from '../../src/codegen/index.js';
import { interpret } from '../../src/ir/index.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** Counts on the GPU and in the interpreter for inputs of these sizes, with `plant` writing into them. */
async function counts(sizes: number[], plant: (inputs: Float32Array[]) => void): Promise<{ gpu: number; reference: number; kernels: number }> {
  const b = new GraphBuilder();
  const ins = sizes.map((n, k) => b.add('input', [], { name: `x${k}`, shape: [n], dtype: 'float32' }, `x${k}`)[0]);
  const count = b.add('nonFiniteCount', ins, {}, 'count')[0];
  const program = { graph: b.build([{ name: 'count', value: count }], []), weights: new Map() };
  const { bundle } = compileBundle({ name: 'count', program });
  const net = await Net.create(bundle, await testGpu());
  nets.push(net);
  const data = sizes.map((n, k) => randomData(n, 30 + k, -3e38, 3e38));
  plant(data);
  await net.fill(NaN);
  const feeds = Object.fromEntries(data.map((d, k) => [`x${k}`, d]));
  const gpu = (await net.predict(feeds)).count[0];
  const reference = interpret(program.graph, Object.fromEntries(data.map((d, k) => [`x${k}`, { shape: [d.length], dtype: 'float32' as const, data: d }]))).outputs.count.data[0];
  return { gpu, reference, kernels: bundle.manifest.steps.length };
}

describe('nonFiniteCount', () => {
  it('counts nothing in finite data up to ±3e38, in one kernel for a small input', async () => {
    const r = await counts([1000], (d) => ((d[0][0] = 3.4028234e38), (d[0][1] = -3.4028234e38), (d[0][2] = 1e-45)));
    expect(r).toEqual({ gpu: 0, reference: 0, kernels: 1 });
  });

  it('counts NaN, +∞ and −∞ in every input, first and last elements included, across many workgroups', async () => {
    const r = await counts([300_001, 13, 70_000], ([a, b, c]) => {
      a[0] = NaN;
      a[300_000] = Infinity;
      a[123_457] = -Infinity;
      b[12] = NaN;
      c[0] = -Infinity;
      c[69_999] = NaN;
    });
    expect(r.reference).toBe(6);
    expect(r.gpu).toBe(6);
    expect(r.kernels).toBe(2);
  });
});
