/**
 * Keras's MultiHeadAttention written with TF.js ops (TF.js 4.22 has no such layer), following
 * keras/src/layers/attention/multi_head_attention.py: EinsumDense projections, the query scaled by
 * 1/√keyDim, scores `aecd,abcd->acbe`, Softmax with a mask setting masked scores to −1e9, `acbe,aecd->abcd`.
 * The einsums are spelled as reshapes, transposes and matMul: TF.js's einsum has no gradient.
 */
import type * as TF from '@tensorflow/tfjs';

/** The eight MHA weights in Keras order (query, key, value, attention_output; kernel then bias each). */
export interface MhaWeights {
  readonly query: [TF.Tensor, TF.Tensor | null];
  readonly key: [TF.Tensor, TF.Tensor | null];
  readonly value: [TF.Tensor, TF.Tensor | null];
  readonly output: [TF.Tensor, TF.Tensor | null];
}

/** Groups a flat weight list (kernel, bias?, …) the way MultiHeadAttention stores it. */
export function mhaWeights(tf: typeof TF, values: readonly Float32Array[], shapes: readonly number[][], useBias: boolean): MhaWeights {
  const ts = values.map((v, i) => tf.tensor(v, shapes[i]));
  const pick = (i: number): [TF.Tensor, TF.Tensor | null] => (useBias ? [ts[2 * i], ts[2 * i + 1]] : [ts[i], null]);
  return { query: pick(0), key: pick(1), value: pick(2), output: pick(3) };
}

/** Options of one reference call. */
export interface MhaReferenceArgs {
  readonly keyDim: number;
  /** [batch, tq, tk], nonzero = attend. */
  readonly mask?: TF.Tensor;
  readonly causal?: boolean;
}

/** [output, scores] of Keras's MultiHeadAttention call on query [B,Tq,F], value [B,Tv,F'], key [B,Tv,F'']. */
export function kerasMha(tf: typeof TF, query: TF.Tensor, value: TF.Tensor, key: TF.Tensor, w: MhaWeights, args: MhaReferenceArgs): [TF.Tensor, TF.Tensor] {
  // EinsumDense 'abc,cde->abde'.
  const dense = (x: TF.Tensor, [kernel, bias]: [TF.Tensor, TF.Tensor | null]) => {
    const [b, t, c] = x.shape;
    const [, d, e] = kernel.shape;
    const y = x.reshape([b * t, c]).matMul(kernel.reshape([c, d * e])).reshape([b, t, d, e]);
    return bias ? y.add(bias) : y;
  };
  const headsFirst = (x: TF.Tensor) => x.transpose([0, 2, 1, 3]);
  const q = dense(query, w.query).mul(tf.scalar(1 / Math.sqrt(args.keyDim)));
  const k = dense(key, w.key);
  const v = dense(value, w.value);
  // 'aecd,abcd->acbe': [B, H, Tq, Tk].
  let scores = tf.matMul(headsFirst(q), headsFirst(k), false, true);
  const [tq, tk] = [query.shape[1]!, value.shape[1]!];
  let keep: TF.Tensor | undefined = args.mask ? tf.cast(tf.cast(args.mask, 'bool'), 'float32').expandDims(1) : undefined;
  if (args.causal) {
    const lower = tf.tensor(Array.from({ length: tq * tk }, (_, n) => (n % tk <= Math.floor(n / tk) ? 1 : 0)), [tq, tk]);
    keep = keep ? keep.mul(lower) : lower;
  }
  // Keras 3's Softmax with a mask: masked scores become −1e9.
  if (keep) scores = tf.where(tf.cast(keep, 'bool'), scores, tf.fill(scores.shape, -1e9));
  const probs = tf.softmax(scores, -1);
  // 'acbe,aecd->abcd', then EinsumDense 'abcd,cde->abe'.
  const attended = headsFirst(tf.matMul(probs, headsFirst(v)));
  const [b, t, h, dv] = attended.shape;
  let out = attended.reshape([b * t, h * dv]).matMul(w.output[0].reshape([h * dv, -1])).reshape([b, t, -1]);
  if (w.output[1]) out = out.add(w.output[1]);
  return [out, probs];
}
