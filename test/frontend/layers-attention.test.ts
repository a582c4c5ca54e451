/**
 * MultiHeadAttention against Keras's computation written with TF.js ops (test/support/attention-reference.ts),
 * with the same weights; weight names, shapes and parameter counts as Keras.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, interpretModel, layers, type SymbolicTensor } from '../../src/index.js';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import type { MultiHeadAttentionArgs, MultiHeadAttentionCallArgs } from '../../src/frontend/layers/attention.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { kerasMha, mhaWeights } from '../support/attention-reference.js';

// Three projections, a softmax and two products in float32; einsum sums in another order than matmul.
const TOL = { rtol: 1e-4, atol: 1e-5 };
const BATCH = 2;

interface Case {
  readonly args: Omit<MultiHeadAttentionArgs, 'name'>;
  /** [query, value, key?] sample shapes. */
  readonly shapes: number[][];
  readonly call?: Omit<MultiHeadAttentionCallArgs, 'attentionMask'>;
  readonly mask?: boolean;
}

/** A 0/1 mask of [batch, tq, tk] where every query keeps key 0, so no row is fully masked. */
function maskData(tq: number, tk: number, seed: number): Float32Array {
  return Float32Array.from(randomData(BATCH * tq * tk, seed), (r, n) => (n % tk === 0 || r > -0.3 ? 1 : 0));
}

async function checkCase(c: Case): Promise<void> {
  const tf = await tfjs();
  const mha = layers.MultiHeadAttention({ ...c.args, biasInitializer: { className: 'RandomUniform', config: { minval: -0.5, maxval: 0.5, seed: 3 } } } as MultiHeadAttentionArgs);
  const ins = c.shapes.map((s) => Input({ shape: s }));
  const [tq, tk] = [c.shapes[0][0], c.shapes[1][0]];
  const maskIn = c.mask ? Input({ shape: [tq, tk] }) : undefined;
  const out = mha.apply(ins, { ...c.call, attentionMask: maskIn });
  const outs = Array.isArray(out) ? out : [out];
  const model = new Model({ inputs: maskIn ? [...ins, maskIn] : ins, outputs: outs });
  const feeds = c.shapes.map((s, i) => ({ shape: [BATCH, ...s], dtype: 'float32' as const, data: randomData(BATCH * s[0] * s[1], 21 + i) }));
  if (maskIn) feeds.push({ shape: [BATCH, tq, tk], dtype: 'float32', data: maskData(tq, tk, 5) });
  const got = Object.values(interpretModel(model, feeds, { precision: 'float32' }).outputs);

  const w = mhaWeights(tf, mha.getWeights(), mha.weights.map((v) => v.shape as number[]), c.args.useBias ?? true);
  const [q, v, k] = feeds.slice(0, 3).map((f) => tf.tensor(f.data, f.shape));
  const mask = maskIn ? tf.tensor(feeds.at(-1)!.data, feeds.at(-1)!.shape) : undefined;
  const [wantOut, wantScores] = kerasMha(tf, q, v, c.shapes.length > 2 ? k : v, w, { keyDim: c.args.keyDim, mask, causal: c.call?.useCausalMask });
  expect(got[0].shape).toEqual(wantOut.shape);
  expectClose(got[0].data, await wantOut.data(), TOL, 'attention output');
  if (c.call?.returnAttentionScores) {
    expect(got[1].shape).toEqual(wantScores.shape);
    expectClose(got[1].data, await wantScores.data(), TOL, 'attention scores');
  }
}

describe('MultiHeadAttention matches Keras (computed with TF.js ops, same weights)', () => {
  const cases: [string, Case][] = [
    ['self-attention, 2 heads', { args: { numHeads: 2, keyDim: 4 }, shapes: [[5, 6], [5, 6]] }],
    ['cross-attention with a separate key, valueDim and outputShape', { args: { numHeads: 3, keyDim: 2, valueDim: 3, outputShape: 5 }, shapes: [[3, 6], [4, 4], [4, 7]] }],
    ['useBias false', { args: { numHeads: 2, keyDim: 3, useBias: false }, shapes: [[4, 5], [6, 5]] }],
    ['an attention mask', { args: { numHeads: 2, keyDim: 4 }, shapes: [[3, 6], [5, 6]], mask: true }],
    ['a causal mask', { args: { numHeads: 2, keyDim: 4 }, shapes: [[5, 6], [5, 6]], call: { useCausalMask: true } }],
    ['causal and attention masks together', { args: { numHeads: 1, keyDim: 4 }, shapes: [[4, 3], [4, 3]], mask: true, call: { useCausalMask: true } }],
    ['returnAttentionScores (the unfused path)', { args: { numHeads: 2, keyDim: 3 }, shapes: [[3, 4], [5, 4]], mask: true, call: { returnAttentionScores: true } }],
    ['returnAttentionScores with a causal mask', { args: { numHeads: 2, keyDim: 3 }, shapes: [[4, 4], [4, 4]], call: { returnAttentionScores: true, useCausalMask: true } }],
    ['dropout 0.5 in inference is the identity (unfused path)', { args: { numHeads: 2, keyDim: 3, dropout: 0.5 }, shapes: [[4, 4], [4, 4]], mask: true }],
  ];
  for (const [what, c] of cases) it(what, () => checkCase(c));
});

describe('MultiHeadAttention with masks carried by its inputs (Keras _compute_attention_mask)', () => {
  it('Embedding(maskZero) ids mask query rows and key columns; the output carries the query mask', async () => {
    const tf = await tfjs();
    const ids = Input({ shape: [5], dtype: 'int32' });
    const emb = layers.Embedding(4, 6, { maskZero: true });
    const e = emb(ids) as SymbolicTensor;
    const mha = layers.MultiHeadAttention({ numHeads: 2, keyDim: 3 });
    const out = mha.apply([e, e]) as SymbolicTensor;
    const { maskOf } = await import('../../src/frontend/masks.js');
    expect(maskOf(out)).toBe(maskOf(e));
    const model = new Model({ inputs: ids, outputs: out });
    const idData = Int32Array.from([1, 0, 2, 3, 0, 0, 0, 1, 2, 3]);
    const got = Object.values(interpretModel(model, { shape: [2, 5], dtype: 'int32', data: idData }, { precision: 'float32' }).outputs)[0];
    const x = tf.gather(tf.tensor(emb.getWeights()[0], [4, 6]), tf.tensor(idData, [2, 5], 'int32'));
    const real = tf.notEqual(tf.tensor(idData, [2, 5], 'int32'), 0).cast('float32');
    const keep = real.expandDims(2).mul(real.expandDims(1));
    const w = mhaWeights(tf, mha.getWeights(), mha.weights.map((v) => v.shape as number[]), true);
    const [want] = kerasMha(tf, x, x, x, w, { keyDim: 3, mask: keep });
    expectClose(got.data, await want.data(), TOL, 'masked attention output');
  });
});

describe('MultiHeadAttention structure', () => {
  it("has Keras's weights: EinsumDense kernels [features, heads, depth] and attention_output [heads, valueDim, out]", () => {
    const mha = layers.MultiHeadAttention({ name: 'mha', numHeads: 2, keyDim: 16, valueDim: 8, outputShape: 10 });
    mha.apply([Input({ shape: [8, 32] }), Input({ shape: [6, 20] })]);
    expect(mha.weights.map((w) => [w.name, w.shape])).toEqual([
      ['mha/query/kernel', [32, 2, 16]], ['mha/query/bias', [2, 16]],
      ['mha/key/kernel', [20, 2, 16]], ['mha/key/bias', [2, 16]],
      ['mha/value/kernel', [20, 2, 8]], ['mha/value/bias', [2, 8]],
      ['mha/attention_output/kernel', [2, 8, 10]], ['mha/attention_output/bias', [10]],
    ]);
  });
  it('counts parameters as Keras: numHeads 2, keyDim 16 on [8, 32] self-attention is 4·(32·2·16 + 2·16) = 4,224', () => {
    const x = Input({ shape: [8, 32] });
    const mha = layers.MultiHeadAttention({ numHeads: 2, keyDim: 16 });
    const model = new Model({ inputs: x, outputs: mha.apply([x, x]) as SymbolicTensor });
    expect(mha.countParams()).toBe(3 * (32 * 2 * 16 + 2 * 16) + (2 * 16 * 32 + 32));
    expect(mha.countParams()).toBe(4224);
    const lines: string[] = [];
    model.summary((l) => lines.push(l));
    expect(lines).toContain('Total params: 4,224');
  });
  it('without returnAttentionScores or dropout, the attention is one fused op', () => {
    const x = Input({ shape: [5, 6] });
    const model = new Model({ inputs: x, outputs: layers.MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply([x, x], { useCausalMask: true }) as SymbolicTensor });
    const graph = model.toGraph();
    expect(graph.nodes.filter((n) => n.op === 'attention').map((n) => n.attrs.causal)).toEqual([true]);
    expect(graph.nodes.filter((n) => n.op === 'softmax')).toEqual([]);
  });
  it('a functional model replays the call with its mask on new inputs', () => {
    const [q, v, m] = [Input({ shape: [3, 4] }), Input({ shape: [5, 4] }), Input({ shape: [3, 5] })];
    const inner = new Model({ inputs: [q, v, m], outputs: layers.MultiHeadAttention({ numHeads: 1, keyDim: 2 })([q, v], { attentionMask: m }) as SymbolicTensor });
    const [q2, v2, m2] = [Input({ shape: [3, 4] }), Input({ shape: [5, 4] }), Input({ shape: [3, 5] })];
    const outer = new Model({ inputs: [q2, v2, m2], outputs: inner.apply([q2, v2, m2]) as SymbolicTensor });
    const feeds = [[2, 3, 4], [2, 5, 4], [2, 3, 5]].map((shape, i) => ({ shape, dtype: 'float32' as const, data: i === 2 ? maskData(3, 5, 9) : randomData(shape[0] * shape[1] * shape[2], 30 + i) }));
    const a = Object.values(interpretModel(inner, feeds).outputs)[0];
    const b = Object.values(interpretModel(outer, feeds).outputs)[0];
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });
  it('dropout acts on the attention probabilities while training only; the returned scores are taken before it', () => {
    const x = Input({ shape: [4, 3] });
    const [out, scores] = layers.MultiHeadAttention({ numHeads: 1, keyDim: 2, dropout: 0.5 }).apply([x, x], { returnAttentionScores: true }) as SymbolicTensor[];
    const model = new Model({ inputs: x, outputs: [out, scores] });
    const feed = { shape: [2, 4, 3], dtype: 'float32' as const, data: randomData(24, 8) };
    const [inferOut, inferScores] = Object.values(interpretModel(model, feed, { training: false }).outputs);
    const [trainOut, trainScores] = Object.values(interpretModel(model, feed, { training: true }).outputs);
    expect(Array.from(trainScores.data)).toEqual(Array.from(inferScores.data));
    expect(Array.from(trainOut.data)).not.toEqual(Array.from(inferOut.data));
  });
  it('round-trips its config (fromConfig builds the same layer)', () => {
    const mha = layers.MultiHeadAttention({ numHeads: 3, keyDim: 4, valueDim: 2, dropout: 0.1, useBias: false });
    const config = mha.getConfig();
    expect(config).toMatchObject({ numHeads: 3, keyDim: 4, valueDim: 2, dropout: 0.1, useBias: false, outputShape: null });
    const copy = (layers.MultiHeadAttention as unknown as { fromConfig(c: unknown): { getConfig(): Record<string, unknown> } }).fromConfig({ ...config, name: 'mha_copy' });
    expect({ ...copy.getConfig(), name: config.name }).toEqual(config);
  });
  it('rejects bad options and inputs with typed errors naming the layer', () => {
    expect(() => layers.MultiHeadAttention({ name: 'h0', numHeads: 0, keyDim: 4 })).toThrow(ModelError);
    expect(() => layers.MultiHeadAttention({ name: 'h0b', numHeads: 0, keyDim: 4 })).toThrow(/h0b.*numHeads must be a positive integer/);
    expect(() => layers.MultiHeadAttention({ name: 'ax', numHeads: 1, keyDim: 4, attentionAxes: [2] })).toThrow(/attentionAxes/);
    const x = Input({ shape: [3, 4] });
    expect(() => layers.MultiHeadAttention({ name: 'one', numHeads: 1, keyDim: 2 }).apply([x])).toThrow(ShapeError);
    expect(() => layers.MultiHeadAttention({ name: 'badmask', numHeads: 1, keyDim: 2 }).apply([x, x], { attentionMask: Input({ shape: [3, 2] }) })).toThrow(/badmask.*attentionMask must be \[batch, 3, 3\]/);
  });
});
