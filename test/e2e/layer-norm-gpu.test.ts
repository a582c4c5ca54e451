/** LayerNormalization on the GPU (one workgroup per row) against the float64 interpreter, arena poisoned with NaN. */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, type SymbolicTensor } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

// A mean, a variance and an rsqrt per row in float32 against float64.
const TOL = { rtol: 1e-4, atol: 1e-5 };
const uniform = (minval: number, maxval: number, seed: number) => ({ className: 'RandomUniform', config: { minval, maxval, seed } });
const affine = { gammaInitializer: uniform(0.5, 2, 1), betaInitializer: uniform(-1, 1, 2) };

async function check(shape: number[], args: Record<string, unknown>, batch = 3): Promise<GpuRun> {
  const x = Input({ shape });
  const model = new Model({ inputs: x, outputs: layers.LayerNormalization({ ...args, ...affine })(x) as SymbolicTensor });
  const run = await expectGpuMatchesInterpreter(model, { batch, ...TOL });
  runs.push(run);
  return run;
}

describe('layerNorm kernel matches the interpreter', () => {
  it('axis -1, rows shorter than the workgroup: one kernel', async () => {
    const run = await check([4, 10], {});
    expect(run.compiled.report.steps).toHaveLength(1);
  });
  it('axis -1, rows longer than the workgroup (300 features, strided lanes)', () => check([2, 300], { epsilon: 1e-5 }));
  it('axes [1, 2] (contiguous trailing block)', () => check([3, 4, 5], { axis: [1, 2] }));
  it('axis 1 of [batch, 6, 5] (strided rows)', () => check([6, 5], { axis: 1 }));
  it('axes [1, 3] of a rank-4 input (non-contiguous columns)', () => check([3, 2, 4], { axis: [1, 3] }, 2));
  it('center and scale false', () => check([7], { center: false, scale: false }, 4));
});
