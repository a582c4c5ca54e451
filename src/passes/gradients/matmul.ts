/** matmul's gradient: two more matmuls with transposes, then broadcast batch dims summed away. */
import type { GradientRule } from '../../ir/registry.js';
import type { ValueRef } from '../../ir/types.js';
import { dyOf, gradRule, unbroadcast, type Ops } from './expr.js';

type Side = 'a' | 'b' | 'dy';

/** One product: left · right, with their transpose flags. */
type Product = readonly [Side, boolean, Side, boolean];

/**
 * [da, db] as products, by (transposeA, transposeB), from C = op(A)·op(B):
 * dA = dC·op(B)ᵀ (or its transpose when A was transposed), dB likewise; TF's MatMul gradient.
 */
const PRODUCTS: Readonly<Record<string, readonly [Product, Product]>> = {
  'false,false': [['dy', false, 'b', true], ['a', true, 'dy', false]],
  'false,true': [['dy', false, 'b', false], ['dy', true, 'a', false]],
  'true,false': [['b', false, 'dy', true], ['a', false, 'dy', false]],
  'true,true': [['b', true, 'dy', true], ['dy', true, 'a', true]],
};

/** matmul: both gradients are matmuls, summed over the batch dims each input was broadcast along. */
export const matmulGrad: GradientRule = gradRule((e: Ops, ctx) => {
  const values: Record<Side, ValueRef> = { a: ctx.inputs[0], b: ctx.inputs[1], dy: dyOf(ctx) };
  const products = PRODUCTS[`${ctx.attrs.transposeA === true},${ctx.attrs.transposeB === true}`];
  return products.map(([l, tl, r, tr], i) => {
    const g = e.op('matmul', [values[l], values[r]], { transposeA: tl, transposeB: tr });
    return unbroadcast(e, g, e.shape(ctx.inputs[i]));
  });
});
