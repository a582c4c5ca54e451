/** Net's profiling timers: each step alone, and the whole chain as a call runs it. */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { PROFILES } from '../../src/codegen/profile.js';
import { Net } from '../../src/runtime/index.js';
import { describeDevice, getGpu } from '../../src/runtime/gpu.js';
import { testGpu } from '../support/gpu.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

function compiled() {
  clearSession();
  const x = Input({ shape: [16] });
  const model = new Model({ inputs: x, outputs: layers.Dense(4, { activation: 'softmax' })(layers.Dense(32, { activation: 'relu' })(x)) });
  return compileBundle(model, { batch: 64, profile: PROFILES.cpu });
}

describe('Net timing', () => {
  it('times every step by name, and the chain of all steps, in milliseconds', async () => {
    const { bundle } = compiled();
    const net = await Net.create(bundle, await testGpu());
    nets.push(net);
    const steps = await net.timeSteps(3);
    expect(steps.map((s) => s.name)).toEqual(bundle.manifest.steps.map((s) => s.name));
    // lavapipe has timestamp-query, so these are GPU times, never the ≤ 0 a wall-clock difference can give.
    expect(net.device.features.has('timestamp-query')).toBe(true);
    for (const s of steps) expect(s.ms).toBeGreaterThan(0);
    expect(await net.timeChain(3)).toBeGreaterThan(0);
  });

  it('without timestamp queries, times by wall clock: finite, though noise may make a step ≤ 0', async () => {
    const adapter = (await (await getGpu()).requestAdapter())!;
    const device = await adapter.requestDevice();
    const net = await Net.create(compiled().bundle, { device, adapter: describeDevice(adapter, device) }, { ownsDevice: true });
    nets.push(net);
    expect(net.device.features.has('timestamp-query')).toBe(false);
    for (const s of await net.timeSteps(3)) expect(Number.isFinite(s.ms)).toBe(true);
    expect(Number.isFinite(await net.timeChain(3))).toBe(true);
  });
});
