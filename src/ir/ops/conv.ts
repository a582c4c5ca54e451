/** 2-d convolutions over NHWC inputs: conv2d (HWIO kernels) and depthwiseConv2d ([kh, kw, cin, multiplier]). */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { defineOp, dimsCompatible, expectDtype, expectRank, expectSameDtype, fail, tensor } from './common.js';
import { alloc } from './indexing.js';
import { CONV_WINDOW_ATTRS, attrPadding, attrPair, concreteWindow, spatialOutput, type Window2d } from './window.js';

type ConvKind = 'conv2d' | 'depthwiseConv2d';

function windowOf(op: ConvKind, w: readonly Dim[], attrs: Attrs): Window2d {
  return { kernel: [w[0], w[1]], strides: attrPair(op, attrs, 'strides'), dilations: attrPair(op, attrs, 'dilations'), padding: attrPadding(op, attrs) };
}

/** Output channels: cout for conv2d, cin·multiplier for depthwise. */
function outChannels(op: ConvKind, w: readonly Dim[]): Dim {
  if (op === 'conv2d') return w[3];
  return w[2] === null || w[3] === null ? null : w[2] * w[3];
}

function inferConv(op: ConvKind, [x, w]: readonly TensorType[], attrs: Attrs): TensorType[] {
  expectRank(op, 'input', x, 4);
  expectRank(op, 'kernel', w, 4);
  expectDtype(op, 'input', x, 'float');
  expectSameDtype(op, x, w, ['input', 'kernel']);
  if (!dimsCompatible(x.shape[3], w.shape[2])) {
    fail(op, `input channels differ: input ${formatShape(x.shape)} has ${x.shape[3]}, kernel ${formatShape(w.shape)} expects ${w.shape[2]}`, { x: x.shape, w: w.shape });
  }
  const [oh, ow] = spatialOutput(op, x.shape, windowOf(op, w.shape, attrs));
  return [tensor([x.shape[0], oh, ow, outChannels(op, w.shape)], x.dtype)];
}

/**
 * The shared loop: for every output pixel and every kernel tap that lands inside the input, `tap`
 * adds that tap's contribution into `acc` (one output pixel's channels), given the input pixel's
 * offset and the tap's offset into the kernel.
 */
function convolve(
  op: ConvKind,
  x: NDArray,
  w: NDArray,
  attrs: Attrs,
  out: NDArray,
  tap: (xOff: number, wOff: number, acc: Float64Array) => void,
): void {
  const [n, h, wd, c] = x.shape;
  const [kh, kw] = w.shape;
  const win = windowOf(op, w.shape, attrs);
  const { oh, ow, top, left } = concreteWindow(x.shape, win);
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  const co = out.shape[3];
  const tapSize = w.shape[2] * w.shape[3];
  const acc = new Float64Array(co);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        acc.fill(0);
        for (let i = 0; i < kh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = xo * sw - left + j * dw;
            if (ix < 0 || ix >= wd) continue;
            tap(((b * h + iy) * wd + ix) * c, (i * kw + j) * tapSize, acc);
          }
        }
        out.data.set(acc, ((b * oh + y) * ow + xo) * co);
      }
    }
  }
}

function convOp(op: ConvKind): OpDef {
  return defineOp({
    name: op,
    arity: 2,
    attrs: {
      ...CONV_WINDOW_ATTRS,
    },
    infer: (inputs, attrs) => inferConv(op, inputs, attrs),
    reference: (inputs, attrs, ctx) => {
      const [x, w] = inputs;
      const [t] = inferConv(op, inputs, attrs);
      const out = alloc(ctx, t.shape as number[], x.dtype);
      const X = x.data;
      const W = w.data;
      const [cin, m] = [w.shape[2], w.shape[3]];
      if (op === 'conv2d') {
        convolve(op, x, w, attrs, out, (xo, wo, acc) => {
          for (let ci = 0; ci < cin; ci++) {
            const xv = X[xo + ci];
            const row = wo + ci * m;
            for (let k = 0; k < m; k++) acc[k] += xv * W[row + k];
          }
        });
      } else {
        // Output channel c·m + j is input channel c through filter j: the same index as in the kernel.
        convolve(op, x, w, attrs, out, (xo, wo, acc) => {
          for (let ci = 0; ci < cin; ci++) {
            const xv = X[xo + ci];
            for (let k = 0; k < m; k++) acc[ci * m + k] += xv * W[wo + ci * m + k];
          }
        });
      }
      return [out];
    },
  });
}

/** Registry rows for conv2d and depthwiseConv2d. */
export const convOps: OpDef[] = [convOp('conv2d'), convOp('depthwiseConv2d')];
