/** MultiHeadAttention, as Keras: EinsumDense projections around scaled dot-product attention. */
import type { Dim } from '../../ir/types.js';
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type CallArgs, type LayerArgs, type Shape } from '../layer.js';
import { getInitializer, type InitializerIdentifier } from '../initializers.js';
import { getRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import { trainingFlag } from '../tensors.js';
import { maskOf, withMask } from '../masks.js';
import type { LayerVariable } from '../variables.js';
import { initializerConfig, regularizerConfig } from './core.js';

/** Options of MultiHeadAttention (Keras names in camelCase). */
export interface MultiHeadAttentionArgs extends LayerArgs {
  numHeads: number;
  /** Size of each head's query and key projections. */
  keyDim: number;
  /** Size of each head's value projection; keyDim by default. */
  valueDim?: number;
  /** Dropout rate on the attention probabilities (training only). */
  dropout?: number;
  useBias?: boolean;
  /** Features of the output; the query's last dim by default (null too, as configs write it). */
  outputShape?: number | null;
  /** The axes attention runs over; only the default (the time axis of [batch, time, features]) is supported. */
  attentionAxes?: number | number[] | null;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier;
  biasRegularizer?: RegularizerIdentifier;
  /** Seed of the dropout mask. */
  seed?: number;
}

/** Extra arguments of a MultiHeadAttention call (Keras's call keywords). */
export interface MultiHeadAttentionCallArgs extends CallArgs {
  /** [batch, query time, key time]: nonzero where a query may attend to a key. */
  attentionMask?: SymbolicTensor;
  /** Each query attends only to keys at or before its own position. */
  useCausalMask?: boolean;
  /** Return [output, scores], scores being the [batch, heads, query time, key time] probabilities. */
  returnAttentionScores?: boolean;
  /** Set by `apply`, not by users: the last input is the attention mask (recorded so model replays find it). */
  maskIsLastInput?: boolean;
}

/** One EinsumDense projection: a kernel and an optional bias. */
interface Projection {
  kernel: LayerVariable;
  bias?: LayerVariable;
}

/** [batch, time, heads, depth] ↔ [batch, heads, time, depth]. */
const HEADS_FIRST = [0, 2, 1, 3];

/** Called like Keras: `mha([query, value], { attentionMask, useCausalMask, returnAttentionScores })`. */
export interface MultiHeadAttention {
  (inputs: SymbolicTensor | SymbolicTensor[], args?: MultiHeadAttentionCallArgs): SymbolicTensor | SymbolicTensor[];
}

/**
 * Keras's MultiHeadAttention on [batch, time, features] inputs: called as `mha([query, value])` or
 * `mha([query, value, key])`, with `{attentionMask, useCausalMask, returnAttentionScores}`. Without
 * dropout or returned scores the attention itself is one fused `attention` op; otherwise it is
 * built from matmul, softmax and dropout so the probabilities exist as a tensor.
 */
export class MultiHeadAttention extends Layer {
  static override className = 'MultiHeadAttention';
  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly dropout: number;
  readonly useBias: boolean;
  readonly outputShapeArg?: number;
  readonly seed: number;
  query?: Projection;
  key?: Projection;
  value?: Projection;
  attentionOutput?: Projection;
  private readonly initializers: Record<'kernel' | 'bias', InitializerIdentifier>;
  private readonly kernelRegularizer: Regularizer | null;
  private readonly biasRegularizer: Regularizer | null;
  /** Whether the call now being applied passes an attention mask as its last input (build must skip it). */
  private buildsWithMask = false;

  constructor(args: MultiHeadAttentionArgs) {
    super(args);
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.valueDim = args.valueDim ?? args.keyDim;
    this.dropout = args.dropout ?? 0;
    this.useBias = args.useBias ?? true;
    this.outputShapeArg = args.outputShape ?? undefined;
    this.seed = args.seed ?? 0;
    this.initializers = { kernel: args.kernelInitializer ?? 'glorotUniform', bias: args.biasInitializer ?? 'zeros' };
    [this.kernelRegularizer, this.biasRegularizer] = this.inContext(() => {
      const positive = (what: string, v: unknown) => {
        if (!Number.isInteger(v) || (v as number) <= 0) throw new ModelError(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
      };
      positive('numHeads', args.numHeads);
      positive('keyDim', args.keyDim);
      positive('valueDim', this.valueDim);
      if (this.outputShapeArg !== undefined) positive('outputShape', this.outputShapeArg);
      if (!(this.dropout >= 0 && this.dropout < 1)) throw new ModelError(`dropout must be in [0, 1), got ${JSON.stringify(args.dropout)}`);
      const axes = args.attentionAxes;
      if (axes !== undefined && axes !== null && JSON.stringify([axes].flat()) !== '[1]') {
        throw new ModelError(`attentionAxes ${JSON.stringify(axes)} is not supported: attention runs over axis 1 of [batch, time, features] inputs`);
      }
      Object.values(this.initializers).forEach((i) => getInitializer(i));
      return [getRegularizer(args.kernelRegularizer), getRegularizer(args.biasRegularizer)];
    });
  }

  /** Keras's weights: query, key, value kernels [features, heads, depth] (biases [heads, depth]), attention_output [heads, valueDim, out]. */
  override build(inputShape: Shape[]): void {
    const all = Array.isArray(inputShape[0]) ? inputShape : [inputShape as unknown as Shape];
    const shapes = this.buildsWithMask ? all.slice(0, -1) : all;
    if (shapes.length < 2) throw new ShapeError(`expects [query, value] or [query, value, key], got ${shapes.length} input(s)`);
    shapes.slice(0, 3).forEach((s, i) => {
      if (s.length !== 3 || s[1] === null || s[2] === null) {
        throw new ShapeError(`${['query', 'value', 'key'][i]} must be [batch, time, features] with known time and features, got ${formatShape(s)}`);
      }
    });
    const [q, v, k = v] = shapes as number[][];
    const H = this.numHeads;
    this.query = this.projection('query', [q[2], H, this.keyDim], [H, this.keyDim]);
    this.key = this.projection('key', [k[2], H, this.keyDim], [H, this.keyDim]);
    this.value = this.projection('value', [v[2], H, this.valueDim], [H, this.valueDim]);
    const out = this.outputShapeArg ?? q[2];
    this.attentionOutput = this.projection('attention_output', [H, this.valueDim, out], [out]);
  }

  /** `mha([query, value, key?], {attentionMask})`: the mask travels as the last input, so models replay it. */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], args: MultiHeadAttentionCallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const list = Array.isArray(inputs) ? [...inputs] : [inputs];
    const { attentionMask, ...rest } = args;
    this.buildsWithMask = attentionMask !== undefined || args.maskIsLastInput === true;
    if (attentionMask === undefined) return super.apply(list, rest);
    const recorded: MultiHeadAttentionCallArgs = { ...rest, maskIsLastInput: true };
    return super.apply([...list, attentionMask], recorded);
  }

  override call(inputs: SymbolicTensor | SymbolicTensor[], args: MultiHeadAttentionCallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const list = [...(inputs as SymbolicTensor[])];
    const rawMask = args.maskIsLastInput ? list.pop() : undefined;
    const [query, value, key = value] = list;
    const [tq, tk] = [query.shape[1] as number, value.shape[1] as number];
    if (key.shape[1] !== tk) throw new ShapeError(`key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must have the same time length`);
    const mask = this.attentionMaskOf(query, value, key, rawMask);
    const q = this.project(query, this.query!);
    const k = this.project(key, this.key!);
    const v = this.project(value, this.value!);
    const scale = 1 / Math.sqrt(this.keyDim);
    const causal = args.useCausalMask === true;
    const dropping = this.dropout > 0 && args.training !== false;
    let attended: SymbolicTensor;
    let scores: SymbolicTensor | undefined;
    if (!dropping && !args.returnAttentionScores) {
      attended = emit('attention', mask ? [q, k, v, mask] : [q, k, v], { scale, causal })[0];
    } else {
      [attended, scores] = this.attendUnfused(q, k, v, mask, scale, causal, args.training);
    }
    // The output keeps the query's time steps, so it carries the query's mask on.
    const out = withMask(this.outputProjection(attended), maskOf(query));
    return args.returnAttentionScores ? [out, scores!] : out;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      dropout: this.dropout,
      useBias: this.useBias,
      outputShape: this.outputShapeArg ?? null,
      attentionAxes: null,
      seed: this.seed,
      kernelInitializer: initializerConfig(this.initializers.kernel),
      biasInitializer: initializerConfig(this.initializers.bias),
      kernelRegularizer: regularizerConfig(this.kernelRegularizer),
      biasRegularizer: regularizerConfig(this.biasRegularizer),
    };
  }

  private projection(name: string, kernelShape: number[], biasShape: number[]): Projection {
    const kernel = this.addWeight(`${name}/kernel`, kernelShape, this.initializers.kernel, { regularizer: this.kernelRegularizer });
    const bias = this.useBias ? this.addWeight(`${name}/bias`, biasShape, this.initializers.bias, { regularizer: this.biasRegularizer }) : undefined;
    return { kernel, bias };
  }

  /** EinsumDense "abc,cde->abde": [batch, time, features] → [batch, time, heads, depth]. */
  private project(x: SymbolicTensor, p: Projection): SymbolicTensor {
    const [features, heads, depth] = p.kernel.shape;
    let y = ops.matmul(x, ops.reshape(p.kernel, [features, heads * depth]));
    if (p.bias) y = ops.add(y, ops.reshape(p.bias, [heads * depth]));
    return ops.reshape(y, [-1, x.shape[1] as number, heads, depth]);
  }

  /** EinsumDense "abcd,cde->abe": [batch, time, heads, valueDim] → [batch, time, out]. */
  private outputProjection(x: SymbolicTensor): SymbolicTensor {
    const p = this.attentionOutput!;
    const [heads, depth, out] = p.kernel.shape;
    const flat = ops.reshape(x, [-1, x.shape[1] as number, heads * depth]);
    const y = ops.matmul(flat, ops.reshape(p.kernel, [heads * depth, out]));
    return p.bias ? ops.add(y, p.bias) : y;
  }

  /**
   * Keras's _compute_attention_mask without the causal part: the explicit mask cast to bool, and the
   * masks the query, value and key carry (Embedding maskZero, Masking) as [batch, tq, 1] and
   * [batch, 1, tk]; all combined by "and", as float 1/0. Undefined when nothing is masked.
   */
  private attentionMaskOf(query: SymbolicTensor, value: SymbolicTensor, key: SymbolicTensor, explicit?: SymbolicTensor): SymbolicTensor | undefined {
    const [tq, tk] = [query.shape[1] as number, value.shape[1] as number];
    const float = (m: SymbolicTensor) => ops.cast(ops.cast(m, 'bool'), 'float32');
    const parts: SymbolicTensor[] = [];
    if (explicit) {
      const s = explicit.shape;
      const fits = s.length >= 2 && s.length <= 3 && s.at(-2) === tq && s.at(-1) === tk;
      if (!fits) throw new ShapeError(`attentionMask must be [batch, ${tq}, ${tk}] (query time, key time), got ${formatShape(s as Dim[])}`);
      parts.push(float(explicit));
    }
    const queryMask = maskOf(query);
    if (queryMask) parts.push(ops.reshape(float(queryMask), [-1, tq, 1]));
    for (const m of new Set([maskOf(value), maskOf(key)])) if (m) parts.push(ops.reshape(float(m), [-1, 1, tk]));
    return parts.length ? parts.reduce((a, b) => ops.mul(a, b)) : undefined;
  }

  /** The attention from primitives, as Keras's _compute_attention; returns [output, probabilities]. */
  private attendUnfused(q: SymbolicTensor, k: SymbolicTensor, v: SymbolicTensor, mask: SymbolicTensor | undefined, scale: number, causal: boolean, training?: boolean): [SymbolicTensor, SymbolicTensor] {
    const [tq, tk] = [q.shape[1] as number, k.shape[1] as number];
    const heads = (x: SymbolicTensor) => ops.transpose(x, HEADS_FIRST);
    let scores = ops.matmul(heads(ops.mul(q, scale)), heads(k), false, true);
    let keep = mask ? ops.reshape(mask, [-1, 1, tq, tk]) : undefined;
    if (causal) {
      const lower = ops.constant(Array.from({ length: tq * tk }, (_, n) => (n % tk <= Math.floor(n / tk) ? 1 : 0)), [tq, tk]);
      keep = keep ? ops.mul(keep, lower) : lower;
    }
    // Keras 3's Softmax with a mask: masked scores become −1e9.
    if (keep) scores = ops.where(ops.cast(keep, 'bool'), scores, -1e9);
    const probs = ops.softmax(scores, -1);
    const dropped = this.dropout > 0 ? emit('dropout', [probs, trainingFlag(training)], { rate: this.dropout, seed: this.seed })[0] : probs;
    return [heads(ops.matmul(dropped, heads(v))), probs];
  }
}
