/** Net's profiling timers: each step alone, and the whole chain as a call runs it. */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { PROFILES } from '../../src/codegen/profile.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

describe('Net timing', () => {
  it('times every step by name, and the chain of all steps, in milliseconds', async () => {
    clearSession();
    const x = Input({ shape: [16] });
    const model = new Model({ inputs: x, outputs: layers.Dense(4, { activation: 'softmax' })(layers.Dense(32, { activation: 'relu' })(x)) });
    const compiled = compileBundle(model, { batch: 64, profile: PROFILES.cpu });
    const net = await Net.create(compiled.bundle, await testGpu());
    nets.push(net);
    const steps = await net.timeSteps(3);
    expect(steps.map((s) => s.name)).toEqual(compiled.bundle.manifest.steps.map((s) => s.name));
    // A difference of two wall-clock runs: noise can make one step's estimate ≤ 0, never all of them NaN.
    for (const s of steps) expect(Number.isFinite(s.ms)).toBe(true);
    expect(Number.isFinite(await net.timeChain(3))).toBe(true);
  });
});
