/**
 * Convolution gradients: the input and kernel gradients of conv2d and depthwiseConv2d, as TF's
 * Conv2DBackpropInput / Conv2DBackpropFilter (and the depthwise pair). Same TF window semantics as the
 * forward ops ('same'/'valid', strides, dilations); each is the exact transpose of its forward op.
 */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { defineOp, dimsCompatible, expectDtype, expectRank, expectSameDtype, fail, tensor } from './common.js';
import { alloc } from './indexing.js';
import { CONV_WINDOW_ATTRS, attrPadding, attrPair, concreteWindow, spatialOutput, type Window2d } from './window.js';

type Forward = 'conv2d' | 'depthwiseConv2d';

/** The four ops: which forward op each differentiates, and with respect to what. */
const GRAD_OPS = {
  conv2dBackpropInput: { forward: 'conv2d', wrt: 'input' },
  conv2dBackpropFilter: { forward: 'conv2d', wrt: 'filter' },
  depthwiseConv2dBackpropInput: { forward: 'depthwiseConv2d', wrt: 'input' },
  depthwiseConv2dBackpropFilter: { forward: 'depthwiseConv2d', wrt: 'filter' },
} as const satisfies Record<string, { forward: Forward; wrt: 'input' | 'filter' }>;

type GradOp = keyof typeof GRAD_OPS;

function windowOf(op: string, kernel: readonly [Dim, Dim], attrs: Attrs): Window2d {
  return { kernel, strides: attrPair(op, attrs, 'strides'), dilations: attrPair(op, attrs, 'dilations'), padding: attrPadding(op, attrs) };
}

/** Checks that the forward op on input `x` with this window outputs dy's spatial dims. */
function checkSpatial(op: string, x: readonly Dim[], dy: readonly Dim[], win: Window2d): void {
  const [oh, ow] = spatialOutput(op, x, win);
  if (!dimsCompatible(oh, dy[1]) || !dimsCompatible(ow, dy[2])) {
    fail(op, `dy ${formatShape(dy)} is not the output of a ${formatShape(win.kernel)} window over input ${formatShape(x)} (that gives ${oh}×${ow})`, { x, dy });
  }
}

/** Output channels of the forward op for input channels `cin` and kernel last dim `k`. */
const forwardChannels = (fwd: Forward, cin: Dim, k: Dim): Dim => (fwd === 'conv2d' ? k : cin === null || k === null ? null : cin * k);

function inferGrad(op: GradOp, [a, b]: readonly TensorType[], attrs: Attrs): TensorType[] {
  const { forward, wrt } = GRAD_OPS[op];
  const [aRole, bRole] = wrt === 'input' ? ['dy', 'kernel'] : ['input', 'dy'];
  expectRank(op, aRole, a, 4);
  expectRank(op, bRole, b, 4);
  expectDtype(op, aRole, a, 'float');
  expectSameDtype(op, a, b, [aRole, bRole]);
  if (wrt === 'input') {
    const [dy, w] = [a.shape, b.shape];
    const [h, wd] = attrPair(op, attrs, 'inputSize');
    const x = [dy[0], h, wd, w[2]];
    if (!dimsCompatible(dy[3], forwardChannels(forward, w[2], w[3]))) {
      fail(op, `dy ${formatShape(dy)} channels do not match kernel ${formatShape(w)}`, { dy, w });
    }
    checkSpatial(op, x, dy, windowOf(op, [w[0], w[1]], attrs));
    return [tensor(x, a.dtype)];
  }
  const [x, dy] = [a.shape, b.shape];
  const [kh, kw] = attrPair(op, attrs, 'kernelSize');
  checkSpatial(op, x, dy, windowOf(op, [kh, kw], attrs));
  let last: Dim = dy[3];
  if (forward === 'depthwiseConv2d') {
    if (x[3] !== null && dy[3] !== null && dy[3] % x[3] !== 0) fail(op, `dy ${formatShape(dy)} channels are not a multiple of input ${formatShape(x)} channels`, { x, dy });
    last = x[3] === null || dy[3] === null ? null : dy[3] / x[3];
  }
  return [tensor([kh, kw, x[3], last], a.dtype)];
}

/**
 * Every (input pixel, output pixel, kernel tap) triple the forward op multiplies together, for an
 * input of shape `x` [n, h, w, c] and an output of spatial size from the window: the loop shared by
 * both gradients, as the forward conv visits it.
 */
function forEachTap(x: readonly number[], win: Window2d, fn: (xPix: number, yPix: number, tap: number) => void): void {
  const [n, h, wd] = x;
  const [kh, kw] = win.kernel as [number, number];
  const { oh, ow, top, left } = concreteWindow(x, win);
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const yPix = (b * oh + y) * ow + xo;
        for (let i = 0; i < kh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = xo * sw - left + j * dw;
            if (ix < 0 || ix >= wd) continue;
            fn((b * h + iy) * wd + ix, yPix, i * kw + j);
          }
        }
      }
    }
  }
}

/**
 * The (input channel, output channel, offset in one kernel tap) triples the forward op connects:
 * all cin×cout pairs for conv2d; for depthwise, output c·m + j reads input c through filter j.
 */
function channelPairs(fwd: Forward, cin: number, last: number): { ci: Int32Array; co: Int32Array; wo: Int32Array } {
  const n = cin * last;
  const ci = new Int32Array(n);
  const co = new Int32Array(n);
  const wo = new Int32Array(n);
  for (let c = 0; c < cin; c++) {
    for (let k = 0; k < last; k++) {
      const p = c * last + k;
      ci[p] = c;
      // conv2d: output channel k; depthwise: output channel c·m + k. Either way the kernel offset is p.
      co[p] = fwd === 'conv2d' ? k : p;
      wo[p] = p;
    }
  }
  return { ci, co, wo };
}

function referenceGrad(op: GradOp, inputs: readonly NDArray[], attrs: Attrs, out: NDArray): void {
  const { forward, wrt } = GRAD_OPS[op];
  const acc = new Float64Array(out.data.length);
  if (wrt === 'input') {
    const [dy, w] = inputs;
    const [kh, kw, cin, last] = w.shape;
    const C = dy.shape[3];
    const { ci, co, wo } = channelPairs(forward, cin, last);
    const tapSize = cin * last;
    forEachTap(out.shape, windowOf(op, [kh, kw], attrs), (xPix, yPix, tap) => {
      for (let p = 0; p < ci.length; p++) acc[xPix * cin + ci[p]] += dy.data[yPix * C + co[p]] * w.data[tap * tapSize + wo[p]];
    });
  } else {
    const [x, dy] = inputs;
    const [kh, kw, cin, last] = out.shape;
    const C = dy.shape[3];
    const { ci, co, wo } = channelPairs(forward, cin, last);
    const tapSize = cin * last;
    forEachTap(x.shape, windowOf(op, [kh, kw], attrs), (xPix, yPix, tap) => {
      for (let p = 0; p < ci.length; p++) acc[tap * tapSize + wo[p]] += x.data[xPix * cin + ci[p]] * dy.data[yPix * C + co[p]];
    });
  }
  out.data.set(acc);
}

function gradOp(op: GradOp): OpDef {
  const size = GRAD_OPS[op].wrt === 'input' ? 'inputSize' : 'kernelSize';
  return defineOp({
    name: op,
    arity: 2,
    attrs: {
      ...CONV_WINDOW_ATTRS,
      [size]: { kind: 'ints' },
    },
    infer: (inputs, attrs) => inferGrad(op, inputs, attrs),
    reference: (inputs, attrs, ctx) => {
      const [t] = inferGrad(op, inputs, attrs);
      const out = alloc(ctx, t.shape as number[], inputs[0].dtype);
      referenceGrad(op, inputs, attrs, out);
      return [out];
    },
  });
}

/** Registry rows for the four convolution gradient ops. */
export const convGradOps: OpDef[] = (Object.keys(GRAD_OPS) as GradOp[]).map(gradOp);
