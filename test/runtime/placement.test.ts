/**
 * Device scopes (model parallel): the placement pass splits a graph into per-device parts with
 * explicit transfers at the cuts; the placed model (parts on two GPUDevices — on lavapipe both on
 * the one adapter) gives the outputs of the unplaced model and of the float64 interpreter; with one
 * device everything is placed on it, with a warning (soft placement).
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, compile, deviceScope, interpretModel } from '../../src/index.js';
import { inference, runPipeline } from '../../src/passes/pipelines.js';
import { placeGraph, hasPlacement } from '../../src/passes/place.js';
import { validate } from '../../src/ir/validate.js';
import { Net, PlacedNet, openAdapters, type OpenAdapter } from '../../src/runtime/index.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

/** x → Dense 8 relu (gpu:0) → Dense 6 tanh (gpu:1) → concat with the first layer's output → Dense 3 softmax (gpu:0). */
function towers() {
  clearSession();
  const x = Input({ shape: [5], name: 'x' });
  const h = deviceScope('/gpu:0', () => layers.Dense(8, { activation: 'relu', name: 'first' })(x));
  const g = deviceScope('/device:GPU:1', () => layers.Dense(6, { activation: 'tanh', name: 'second' })(h));
  const y = deviceScope('gpu:0', () => layers.Dense(3, { activation: 'softmax', name: 'head' })(layers.Concatenate({ name: 'join' })([h, g])));
  return new Model({ name: 'towers', inputs: x, outputs: y });
}

const program = (model: Model, batch: number) => runPipeline({ graph: model.toGraph(), weights: model.weightValues() }, inference, { phase: 'inference', batch }, { check: true });

let opened: Promise<OpenAdapter[]> | undefined;
const twoDevices = () => (opened ??= openAdapters(2, { warn: () => undefined }));

describe('the placement pass', () => {
  it('node devices reach the IR and split the graph into parts, with a transfer at every cut', () => {
    const model = towers();
    expect(hasPlacement(model.toGraph())).toBe(true);
    const placed = placeGraph(program(model, 4), { devices: 2 });
    expect(placed.parts.map((p) => p.device)).toEqual([0, 1, 0]);
    for (const p of placed.parts) validate(p.program.graph);
    // first → second, and first → join (skipping the gpu:1 part), and second → join.
    expect(placed.transfers.map((t) => [t.from, t.to])).toEqual([[0, 1], [0, 2], [1, 2]]);
    for (const t of placed.transfers) {
      expect(placed.parts[t.from].program.graph.outputs.map((o) => o.name)).toContain(t.name);
      expect(placed.parts[t.to].program.graph.nodes.some((n) => n.op === 'input' && n.attrs.name === t.name)).toBe(true);
    }
    // Each part carries only the weights it reads.
    expect([...placed.parts[1].program.weights.keys()].every((w) => w.startsWith('second/'))).toBe(true);
  });

  it('with one device, everything is placed on it, and a warning names the missing device', () => {
    const warnings: string[] = [];
    const placed = placeGraph(program(towers(), 4), { devices: 1, warn: (m) => warnings.push(m) });
    expect(placed.parts).toHaveLength(1);
    expect(placed.transfers).toHaveLength(0);
    expect(warnings.join('\n')).toMatch(/soft placement: gpu:1 is not available \(1 GPU found: gpu:0\); those nodes run on gpu:0/);
  });
});

describe('CPU scopes', () => {
  it('run on gpu:0, with a warning that says kiln runs every node on a GPU', () => {
    clearSession();
    const x = Input({ shape: [5], name: 'x' });
    const h = deviceScope('gpu:1', () => layers.Dense(4, { name: 'tower' })(x));
    const y = deviceScope('/cpu:0', () => layers.Dense(2, { name: 'merge' })(h));
    const warnings: string[] = [];
    const placed = placeGraph(program(new Model({ name: 'cpu_merge', inputs: x, outputs: y }), 2), { devices: 2, warn: (m) => warnings.push(m) });
    expect(placed.parts.map((p) => p.device)).toEqual([1, 0]);
    expect(warnings).toEqual(['kiln: soft placement: nodes on cpu:0 run on gpu:0 (kiln runs every node on a GPU)']);
  });
});

describe('a placed model on two devices', () => {
  it('gives the outputs of the unplaced model and of the float64 interpreter', async () => {
    const model = towers();
    const devices = await twoDevices();
    const placed = await compile(model, { batch: 4, devices });
    expect(placed).toBeInstanceOf(PlacedNet);
    const parts = (placed as PlacedNet).parts;
    expect(parts.map((p) => p.device)).toEqual([0, 1, 0]);
    expect(parts[1].net.device).toBe(devices[1].device);
    for (const p of parts) await p.net.fill(NaN);
    const warnings: string[] = [];
    const unplaced = await compile(model, { batch: 4, gpu: devices[0], warn: (m) => warnings.push(m) });
    expect(unplaced).toBeInstanceOf(Net);
    expect(warnings.join('\n')).toMatch(/soft placement: model 'towers' has nodes on gpu:1, compiled for one device: everything runs on gpu:0/);
    const x = randomData(4 * 5, 5);
    const got = await placed.predict({ x });
    const want = await unplaced.predict({ x });
    const name = Object.keys(want)[0];
    expect(Object.keys(got)).toEqual([name]);
    expectClose(got[name], want[name], { rtol: 1e-5, atol: 1e-6 }, 'placed vs unplaced');
    const ref = interpretModel(model, [{ shape: [4, 5], dtype: 'float32', data: x }]);
    expectClose(got[name], Object.values(ref.outputs)[0].data, { rtol: 1e-4, atol: 1e-5 }, 'placed vs interpreter');
    placed.destroy();
    unplaced.destroy();
  });

  it("compiled with precision 'mixed', every part is a mixed bundle within f16 rounding of the interpreter", async () => {
    const model = towers();
    const devices = await twoDevices();
    const placed = (await compile(model, { batch: 64, devices, precision: 'mixed' })) as PlacedNet;
    expect(placed.parts.map((p) => p.net.manifest.precision)).toEqual(['mixed', 'mixed', 'mixed']);
    expect(placed.parts.some((p) => p.net.manifest.features?.includes('shader-f16'))).toBe(true);
    const x = randomData(64 * 5, 6);
    const got = await placed.predict({ x });
    const ref = interpretModel(model, [{ shape: [64, 5], dtype: 'float32', data: x }]);
    expectClose(Object.values(got)[0], Object.values(ref.outputs)[0].data, { rtol: 1e-2, atol: 2e-3 }, 'placed mixed vs interpreter');
    placed.destroy();
  });

  it('compiled with one device (soft placement) it is one ordinary Net, with a warning, and gives the same outputs', async () => {
    const model = towers();
    const devices = await twoDevices();
    const warnings: string[] = [];
    const net = await compile(model, { batch: 4, devices: [devices[0]], warn: (m) => warnings.push(m) });
    expect(net).toBeInstanceOf(Net);
    expect(warnings.join('\n')).toMatch(/gpu:1 is not available/);
    const x = randomData(4 * 5, 6);
    const got = await net.predict({ x });
    const ref = interpretModel(model, [{ shape: [4, 5], dtype: 'float32', data: x }]);
    expectClose(Object.values(got)[0], Object.values(ref.outputs)[0].data, { rtol: 1e-4, atol: 1e-5 }, 'soft-placed vs interpreter');
    net.destroy();
  });
});
