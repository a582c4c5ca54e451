/** LayerNormalization: Keras semantics, checked against TF.js layers with the same weights. */
import { describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { expectParity } from '../support/parity.js';

// One normalization per element in float32: the mean, variance and rsqrt round differently in TF.js.
const tol = { rtol: 1e-5, atol: 1e-5 };
const uniform = (minval: number, maxval: number, seed: number) => ({ className: 'RandomUniform', config: { minval, maxval, seed } });
/** Non-trivial gamma and beta from the start, so parity checks the scale and shift too. */
const randomAffine = { gammaInitializer: uniform(0.5, 2, 1), betaInitializer: uniform(-1, 1, 2) };

describe('LayerNormalization matches TF.js layers.layerNormalization (random gamma and beta)', () => {
  const cases: [string, Record<string, unknown>, number[]][] = [
    ['axis -1 on vectors', {}, [6]],
    ['axis -1 on sequences, epsilon 1e-5', { epsilon: 1e-5 }, [4, 5]],
    ['axes [1, 2] on images', { axis: [1, 2] }, [3, 4, 2]],
    ['axes [-2, -1]', { axis: [-2, -1] }, [3, 4]],
    ['axis 1 of three (not the last)', { axis: 1 }, [3, 4]],
    ['center false', { center: false }, [3, 4]],
    ['scale false', { scale: false }, [3, 4]],
    ['center and scale false', { center: false, scale: false }, [5]],
  ];
  for (const [what, cfg, shape] of cases) {
    it(what, () => expectParity({ kiln: () => layers.LayerNormalization({ ...cfg, ...randomAffine }), tfjs: (l) => l.layerNormalization(cfg as never), inputShapes: [shape], ...tol }));
  }
});

describe('LayerNormalization weights, config and errors', () => {
  it('has the Keras weights gamma then beta, shaped like the normalized axes', () => {
    const ln = layers.LayerNormalization({ name: 'ln_w', axis: [1, 2] });
    ln(Input({ shape: [3, 4, 2] }));
    expect(ln.weights.map((w) => [w.name, w.shape])).toEqual([['ln_w/gamma', [3, 4]], ['ln_w/beta', [3, 4]]]);
    expect(ln.countParams()).toBe(24);
  });
  it('counts 2·features parameters in summary() (Keras: LayerNormalization on 32 features has 64)', () => {
    const model = new Sequential([layers.LayerNormalization({ inputShape: [8, 32] })]);
    const lines: string[] = [];
    model.summary((l) => lines.push(l));
    expect(lines.some((l) => /\(None, 8, 32\)\s+64$/.test(l))).toBe(true);
    expect(lines).toContain('Total params: 64');
  });
  it('attaches its gamma and beta regularizers to those weights', () => {
    const x = Input({ shape: [4] });
    const ln = layers.LayerNormalization({ gammaRegularizer: { className: 'L2', config: { l2: 0.5 } }, betaRegularizer: 'l1' });
    ln(x);
    expect(ln.gamma!.regularizer?.getConfig()).toMatchObject({ l2: 0.5 });
    expect(ln.beta!.regularizer?.getConfig()).toMatchObject({ l1: 0.01 });
  });
  it('round-trips its config', () => {
    const ln = layers.LayerNormalization({ axis: [1, 2], epsilon: 1e-5, center: false });
    const config = ln.getConfig();
    expect(config).toMatchObject({ axis: [1, 2], epsilon: 1e-5, center: false, scale: true });
    expect((layers.LayerNormalization as unknown as { fromConfig(c: unknown): { getConfig(): unknown } }).fromConfig({ ...config, name: 'copy' }).getConfig()).toMatchObject({ axis: [1, 2], epsilon: 1e-5 });
  });
  it('rejects a bad epsilon, an axis out of range and the batch axis, naming the layer', () => {
    expect(() => layers.LayerNormalization({ epsilon: 0, name: 'bad_eps' })).toThrow(ModelError);
    expect(() => layers.LayerNormalization({ epsilon: 0, name: 'bad_eps2' })).toThrow(/bad_eps2.*epsilon must be > 0/);
    expect(() => layers.LayerNormalization({ axis: 3, name: 'far' })(Input({ shape: [4] }))).toThrow(ShapeError);
    expect(() => layers.LayerNormalization({ axis: 3, name: 'far2' })(Input({ shape: [4] }))).toThrow(/far2.*axis 3 is out of range/);
    expect(() => layers.LayerNormalization({ axis: [0, 1], name: 'batchy' })(Input({ shape: [4] }))).toThrow(/batch axis/);
  });
  it('a functional model with it has the same output shape as its input', () => {
    const x = Input({ shape: [5, 7] });
    const y = layers.LayerNormalization()(x);
    expect(new Model({ inputs: x, outputs: y }).outputs[0].shape).toEqual([null, 5, 7]);
  });
});
