/** 2-d max and average pooling over NHWC inputs, TF padding semantics. */
import type { OpDef } from '../registry.js';
import type { Attrs, TensorType } from '../types.js';
import { defineOp, expectDtype, expectRank, tensor } from './common.js';
import { alloc } from './indexing.js';
import { PADDINGS, attrPadding, attrPair, concreteWindow, spatialOutput, type Window2d } from './window.js';

/** How a pool folds the valid (unpadded) elements of one window. */
interface PoolRow {
  readonly init: number;
  readonly step: (acc: number, x: number) => number;
  readonly finish: (acc: number, count: number) => number;
}

/** Padding never contributes: max ignores it, average divides by the count of real elements. */
const POOLS: Readonly<Record<'maxPool2d' | 'avgPool2d', PoolRow>> = {
  maxPool2d: { init: -Infinity, step: Math.max, finish: (a) => a },
  avgPool2d: { init: 0, step: (a, x) => a + x, finish: (a, n) => a / n },
};

function windowOf(op: string, attrs: Attrs): Window2d {
  const [ph, pw] = attrPair(op, attrs, 'poolSize');
  return { kernel: [ph, pw], strides: attrPair(op, attrs, 'strides'), dilations: [1, 1], padding: attrPadding(op, attrs) };
}

function inferPool(op: string, [x]: readonly TensorType[], attrs: Attrs): TensorType[] {
  expectRank(op, 'input', x, 4);
  expectDtype(op, 'input', x, 'float');
  const [oh, ow] = spatialOutput(op, x.shape, windowOf(op, attrs));
  return [tensor([x.shape[0], oh, ow, x.shape[3]], x.dtype)];
}

function poolOp(op: 'maxPool2d' | 'avgPool2d'): OpDef {
  const row = POOLS[op];
  return defineOp({
    name: op,
    arity: 1,
    attrs: {
      poolSize: { kind: 'ints' },
      strides: { kind: 'ints' },
      padding: { kind: 'string', default: 'valid', oneOf: PADDINGS },
    },
    infer: (inputs, attrs) => inferPool(op, inputs, attrs),
    reference: ([x], attrs, ctx) => {
      const [t] = inferPool(op, [x], attrs);
      const out = alloc(ctx, t.shape as number[], x.dtype);
      const win = windowOf(op, attrs);
      const { oh, ow, top, left } = concreteWindow(x.shape, win);
      const [n, h, w, c] = x.shape;
      const [kh, kw] = win.kernel as [number, number];
      const [sh, sw] = win.strides;
      const acc = new Float64Array(c);
      for (let b = 0; b < n; b++) {
        for (let y = 0; y < oh; y++) {
          for (let xo = 0; xo < ow; xo++) {
            // Clip the window to the input; what is cut off is padding.
            const y0 = Math.max(y * sh - top, 0);
            const y1 = Math.min(y * sh - top + kh, h);
            const x0 = Math.max(xo * sw - left, 0);
            const x1 = Math.min(xo * sw - left + kw, w);
            acc.fill(row.init);
            for (let iy = y0; iy < y1; iy++) {
              for (let ix = x0; ix < x1; ix++) {
                const base = ((b * h + iy) * w + ix) * c;
                for (let ch = 0; ch < c; ch++) acc[ch] = row.step(acc[ch], x.data[base + ch]);
              }
            }
            const count = (y1 - y0) * (x1 - x0);
            const dst = ((b * oh + y) * ow + xo) * c;
            for (let ch = 0; ch < c; ch++) out.data[dst + ch] = row.finish(acc[ch], count);
          }
        }
      }
      return [out];
    },
  });
}

/** Registry rows for maxPool2d and avgPool2d. */
export const poolOps: OpDef[] = [poolOp('maxPool2d'), poolOp('avgPool2d')];
