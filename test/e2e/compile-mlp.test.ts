import { afterAll, describe, expect, it } from 'vitest';
import { Sequential, layers, clearSession } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));

function mlp() {
  clearSession();
  return new Sequential([
    layers.Dense(48, { activation: 'relu', inputShape: [40] }),
    layers.Dropout(0.2),
    layers.Dense(32, { activation: 'relu' }),
    layers.Dropout(0.2),
    layers.Dense(10, { activation: 'softmax' }),
  ]);
}

describe('the MLP compiles to fused kernels that match the interpreter on the GPU', () => {
  it('is three kernels: no dropout kernel; bias, relu and the softmax inside the matmuls; one submit per predict', async () => {
    const run = await expectGpuMatchesInterpreter(mlp(), { batch: 5 });
    runs.push(run);
    expect(run.compiled.report.steps).toHaveLength(3);
    const names = run.compiled.report.steps.map((s) => s.name);
    expect(names.some((n) => n.includes('dropout'))).toBe(false);
    expect(run.compiled.program.graph.nodes.filter((n) => n.op === 'add' || n.op === 'relu')).toHaveLength(0);
    const before = run.net.submits;
    await run.net.predict(Object.fromEntries(run.net.inputs.map((s) => [s.name, new Float32Array(5 * 40).fill(0.5)])));
    expect(run.net.submits - before).toBe(1);
  });

  it('gives the same results for concurrent predicts as for sequential ones', async () => {
    const run = await expectGpuMatchesInterpreter(mlp(), { batch: 3, seed: 3 });
    runs.push(run);
    const name = run.net.inputs[0].name;
    const xs = [1, 2, 3].map((k) => new Float32Array(3 * 40).map((_, i) => Math.sin(i * k)));
    const together = await Promise.all(xs.map((x) => run.net.predict({ [name]: x })));
    for (let k = 0; k < 3; k++) expect(Array.from((await run.net.predict({ [name]: xs[k] }))[run.net.outputs[0].name])).toEqual(Array.from(together[k][run.net.outputs[0].name]));
  });

  it('names the input and the expected shape when a predict gets the wrong data', async () => {
    const run = await expectGpuMatchesInterpreter(mlp(), { batch: 2 });
    runs.push(run);
    const name = run.net.inputs[0].name;
    await expect(run.net.predict({ [name]: new Float32Array(40) })).rejects.toThrow(new RegExp(`input '${name}' expects 80 float32 values \\(shape \\[2, 40\\]\\), got 40; that is a batch of 1`));
    await expect(run.net.predict({ wrong: new Float32Array(80) })).rejects.toThrow(/unknown input 'wrong'/);
    await expect(run.net.predict({})).rejects.toThrow(new RegExp(`missing input '${name}'`));
    await expect(run.net.predict({ [name]: new Int32Array(80) })).rejects.toThrow(/must be a Float32Array/);
  });
});
