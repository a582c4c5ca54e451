import { describe, expect, it } from 'vitest';
import { getOp } from '../../../src/ir/registry.js';
import { expectShapeError, infer, refContext, run1, tt } from './helpers.js';

describe('source ops', () => {
  it('input declares a type, unknown dims allowed; its value is fed, never computed', () => {
    expect(infer('input', [], { name: 'x', shape: [null, 28, 28, 1], dtype: 'float32' })).toEqual([tt([null, 28, 28, 1])]);
    expect(infer('input', [], { name: 'ids', shape: [null, 20], dtype: 'int32' })).toEqual([tt([null, 20], 'int32')]);
    expect(() => getOp('input').reference([], { name: 'x', shape: [1], dtype: 'float32' }, refContext())).toThrow(/fed by name/);
  });

  it('weight needs a concrete shape and is fed by name', () => {
    expect(infer('weight', [], { name: 'dense/kernel', shape: [784, 10], dtype: 'float32', trainable: true })).toEqual([tt([784, 10])]);
    expectShapeError(() => infer('weight', [], { name: 'w', shape: [null, 10] }), 'weight', '(None, 10)');
    expect(() => getOp('weight').reference([], { name: 'w', shape: [1], dtype: 'float32' }, refContext())).toThrow(/fed by name/);
  });

  it('constant materializes its value, and a single value splats', () => {
    const c = run1('constant', [], { shape: [2, 2], dtype: 'float32', value: [1.5, -2, 3, 4] });
    expect(Array.from(c.data)).toEqual([1.5, -2, 3, 4]);
    expect(Array.from(run1('constant', [], { shape: [3], dtype: 'float32', value: [0.25] }).data)).toEqual([0.25, 0.25, 0.25]);
    expect(Array.from(run1('constant', [], { shape: [], dtype: 'bool', value: [1] }).data)).toEqual([1]);
    const ints = run1('constant', [], { shape: [3], dtype: 'int32', value: [1, -2.7, 2.7] });
    expect(ints.data).toBeInstanceOf(Int32Array);
    expect(Array.from(ints.data)).toEqual([1, -2, 2]);
  });

  it('constant rejects a value of the wrong length', () => {
    expectShapeError(() => infer('constant', [], { shape: [2, 2], dtype: 'float32', value: [1, 2, 3] }), 'constant', '3 elements', '(2, 2)', '4');
  });

  it('sources take no inputs', () => {
    expectShapeError(() => infer('constant', [tt([1])], { shape: [1], value: [1] }), 'constant', 'expects 0 inputs, got 1');
  });
});
