import { describe, expect, it } from 'vitest';
import { Input, Model, layers, optimizers, clearSession } from '../../src/index.js';
import { trainingProgram } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { interpret } from '../../src/ir/index.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

describe('a conv filter gradient over a long K runs in workgroup chunks plus a sum', () => {
  it('gives the interpreter’s updated kernel after one step (K = 40·16·16 = 10240)', async () => {
    clearSession();
    const x = Input({ shape: [16, 16, 3] });
    const conv = layers.Conv2D(5, 3, { padding: 'same' });
    const model = new Model({ inputs: x, outputs: layers.Dense(4, { activation: 'softmax' })(layers.Flatten()(conv(x))) });
    const config = resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    const batch = 40;
    const { program } = trainingProgram(model, config, batch);
    const { bundle, report } = buildBundle(program.graph, program.weights, 'chunked', batch, { mode: 'training' });
    expect(report.steps.filter((s) => s.name.includes('conv2dBackpropFilter')).map((s) => s.name.replace(/.*\(/, '('))).toEqual(['(partial)', '(sum)']);
    const net = await Net.create(bundle, await testGpu());
    const feeds = Object.fromEntries(net.inputs.map((s, k) => [s.name, randomData(s.shape.reduce((a, b) => a * b, 1), 3 + k, 0, 1)]));
    await net.predict(feeds);
    const kernel = conv.weights[0].name;
    const got = (await net.readState([kernel]))[kernel];
    const want = interpret(program.graph, feeds, { weights: program.weights, training: true }).updates[kernel];
    expectClose(got, want.data, { rtol: 1e-4, atol: 1e-6 }, `updated '${kernel}'`);
    net.destroy();
  });
});
