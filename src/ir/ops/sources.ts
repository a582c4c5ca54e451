/** Source ops: graph inputs, weights and constants (no inputs of their own). */
import type { OpDef } from '../registry.js';
import { sizeOf } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { GraphError } from '../errors.js';
import { attrDtype, attrFloats, attrShape, attrString, defineOp, fail, tensor } from './common.js';
import { alloc } from './indexing.js';

/** The interpreter feeds inputs and weights by name; reaching a reference for one is a bug. */
function fedByInterpreter(op: string) {
  return (): never => {
    throw new GraphError(`${op}: its value is fed by name, not computed; the interpreter must supply it`, { op });
  };
}

/** Weights need a concrete shape: their storage is allocated ahead of time. */
function concreteShape(op: string, shape: readonly (number | null)[]): number[] {
  if (shape.some((d) => d === null)) fail(op, `shape ${formatShape(shape)} must be fully known`, { shape });
  return shape as number[];
}

/** Registry rows for input, weight and constant. */
export const sourceOps: OpDef[] = [
  defineOp({
    name: 'input',
    arity: 0,
    attrs: { name: { kind: 'string' }, shape: { kind: 'shape' }, dtype: { kind: 'dtype', default: 'float32' } },
    infer: (_, attrs) => {
      attrString('input', attrs, 'name');
      return [tensor(attrShape('input', attrs, 'shape'), attrDtype('input', attrs, 'dtype'))];
    },
    reference: fedByInterpreter('input'),
  }),
  defineOp({
    name: 'weight',
    arity: 0,
    attrs: {
      name: { kind: 'string' },
      shape: { kind: 'shape' },
      dtype: { kind: 'dtype', default: 'float32' },
      trainable: { kind: 'bool', default: true },
      // validate() requires a default for every attr that may be left out; null means no regularizer.
      regularizer: { kind: 'json', default: null },
    },
    infer: (_, attrs) => {
      attrString('weight', attrs, 'name');
      return [tensor(concreteShape('weight', attrShape('weight', attrs, 'shape')), attrDtype('weight', attrs, 'dtype'))];
    },
    reference: fedByInterpreter('weight'),
  }),
  defineOp({
    name: 'constant',
    arity: 0,
    attrs: { shape: { kind: 'shape' }, dtype: { kind: 'dtype', default: 'float32' }, value: { kind: 'floats' } },
    infer: (_, attrs) => {
      const shape = concreteShape('constant', attrShape('constant', attrs, 'shape'));
      const value = attrFloats('constant', attrs, 'value');
      const size = sizeOf(shape);
      if (value.length !== size && value.length !== 1) {
        fail('constant', `value has ${value.length} elements, shape ${formatShape(shape)} needs ${size} (or 1 to splat)`, { shape });
      }
      return [tensor(shape, attrDtype('constant', attrs, 'dtype'))];
    },
    reference: (_, attrs, ctx) => {
      const shape = attrShape('constant', attrs, 'shape') as number[];
      const value = attrFloats('constant', attrs, 'value');
      const dtype = attrDtype('constant', attrs, 'dtype');
      const out = alloc(ctx, shape, dtype);
      // Same conversions as cast: bool is x ≠ 0, int32 truncates toward zero (the typed array does it).
      const conv = dtype === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : (v: number) => v;
      if (value.length === 1) out.data.fill(conv(value[0]));
      else for (let i = 0; i < value.length; i++) out.data[i] = conv(value[i]);
      return [out];
    },
  }),
];
