/** Pooling gradients (NHWC, TF padding): maxPool2dGrad routes to the first max, avgPool2dGrad spreads evenly. */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { defineOp, dimsCompatible, expectDtype, expectRank, expectSameDtype, fail, mergeDim, tensor } from './common.js';
import { alloc } from './indexing.js';
import { PADDINGS, attrPadding, attrPair, concreteWindow, spatialOutput, type Window2d } from './window.js';

type PoolGrad = 'maxPool2dGrad' | 'avgPool2dGrad';

function windowOf(op: string, attrs: Attrs): Window2d {
  const [ph, pw] = attrPair(op, attrs, 'poolSize');
  return { kernel: [ph, pw], strides: attrPair(op, attrs, 'strides'), dilations: [1, 1], padding: attrPadding(op, attrs) };
}

/** The pooled input's shape, checked against dy: dy must be what the forward pool gives on it. */
function inferPoolGrad(op: PoolGrad, inputs: readonly TensorType[], attrs: Attrs): TensorType[] {
  const dy = inputs[inputs.length - 1];
  expectRank(op, 'dy', dy, 4);
  expectDtype(op, 'dy', dy, 'float');
  let x: Dim[];
  if (op === 'maxPool2dGrad') {
    const xt = inputs[0];
    expectRank(op, 'input', xt, 4);
    expectSameDtype(op, xt, dy, ['input', 'dy']);
    if (!dimsCompatible(xt.shape[0], dy.shape[0]) || !dimsCompatible(xt.shape[3], dy.shape[3])) {
      fail(op, `dy ${formatShape(dy.shape)} batch or channels differ from input ${formatShape(xt.shape)}`);
    }
    x = [mergeDim(xt.shape[0], dy.shape[0]), xt.shape[1], xt.shape[2], mergeDim(xt.shape[3], dy.shape[3])];
  } else {
    const [h, w] = attrPair(op, attrs, 'inputSize');
    x = [dy.shape[0], h, w, dy.shape[3]];
  }
  const win = windowOf(op, attrs);
  const [oh, ow] = spatialOutput(op, x, win);
  if (!dimsCompatible(oh, dy.shape[1]) || !dimsCompatible(ow, dy.shape[2])) {
    fail(op, `dy ${formatShape(dy.shape)} is not the output of a ${formatShape(win.kernel)} pool over ${formatShape(x)} (that gives ${oh}×${ow})`);
  }
  return [tensor(x, dy.dtype)];
}

/**
 * Visits every window of the forward pool, clipped to the input as the forward op clips it, with
 * the flat pixel offsets (times channels) of its valid elements in row-major order.
 */
function forEachWindow(x: readonly number[], win: Window2d, fn: (yPix: number, pixels: readonly number[]) => void): void {
  const [n, h, w] = x;
  const { oh, ow, top, left } = concreteWindow(x, win);
  const [kh, kw] = win.kernel as [number, number];
  const [sh, sw] = win.strides;
  const pixels: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        pixels.length = 0;
        for (let iy = Math.max(y * sh - top, 0); iy < Math.min(y * sh - top + kh, h); iy++) {
          for (let ix = Math.max(xo * sw - left, 0); ix < Math.min(xo * sw - left + kw, w); ix++) pixels.push((b * h + iy) * w + ix);
        }
        fn((b * oh + y) * ow + xo, pixels);
      }
    }
  }
}

/** dx for each pool: each window's dy goes to its first maximum (strict >, as argMax), or evenly to its valid elements. */
const ROUTES: Record<PoolGrad, (inputs: readonly NDArray[], c: number, acc: Float64Array) => (yPix: number, pixels: readonly number[]) => void> = {
  maxPool2dGrad: ([x, dy], c, acc) => (yPix, pixels) => {
    for (let ch = 0; ch < c; ch++) {
      let best = pixels[0];
      for (const p of pixels) if (x.data[p * c + ch] > x.data[best * c + ch]) best = p;
      acc[best * c + ch] += dy.data[yPix * c + ch];
    }
  },
  avgPool2dGrad: ([dy], c, acc) => (yPix, pixels) => {
    for (let ch = 0; ch < c; ch++) {
      const share = dy.data[yPix * c + ch] / pixels.length;
      for (const p of pixels) acc[p * c + ch] += share;
    }
  },
};

function poolGradOp(op: PoolGrad): OpDef {
  return defineOp({
    name: op,
    arity: op === 'maxPool2dGrad' ? 2 : 1,
    attrs: {
      poolSize: { kind: 'ints' },
      strides: { kind: 'ints' },
      padding: { kind: 'string', default: 'valid', oneOf: PADDINGS },
      ...(op === 'avgPool2dGrad' ? { inputSize: { kind: 'ints' as const } } : {}),
    },
    infer: (inputs, attrs) => inferPoolGrad(op, inputs, attrs),
    reference: (inputs, attrs, ctx) => {
      const [t] = inferPoolGrad(op, inputs, attrs);
      const out = alloc(ctx, t.shape as number[], t.dtype);
      const acc = new Float64Array(out.data.length);
      forEachWindow(out.shape, windowOf(op, attrs), ROUTES[op](inputs, out.shape[3], acc));
      out.data.set(acc);
      return [out];
    },
  });
}

/** Registry rows for maxPool2dGrad and avgPool2dGrad. */
export const poolGradOps: OpDef[] = [poolGradOp('maxPool2dGrad'), poolGradOp('avgPool2dGrad')];
