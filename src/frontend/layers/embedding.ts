/** Embedding: integer indices to dense vectors (Keras semantics, TF.js config names). */
import type { Dim } from '../../ir/types.js';
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type LayerArgs, type Shape } from '../layer.js';
import type { InitializerIdentifier } from '../initializers.js';
import { getRegularizer, type RegularizerIdentifier } from '../regularizers.js';
import { getConstraint, type ConstraintIdentifier } from '../constraints.js';
import * as ops from '../ops.js';
import type { SymbolicTensor } from '../symbolic.js';
import { withMask } from '../masks.js';
import type { LayerVariable } from '../variables.js';
import { initializerConfig, regularizerConfig } from './core.js';

/** Options of Embedding (Keras names in camelCase). */
export interface EmbeddingArgs extends LayerArgs {
  /** Vocabulary size: indices lie in [0, inputDim). */
  inputDim?: number;
  /** Length of each embedding vector. */
  outputDim?: number;
  /** Default 'randomUniform' (uniform in [-0.05, 0.05], as Keras). */
  embeddingsInitializer?: InitializerIdentifier;
  embeddingsRegularizer?: RegularizerIdentifier;
  /** Not supported yet: must be null. */
  activityRegularizer?: RegularizerIdentifier;
  /** Not supported yet: must be null. */
  embeddingsConstraint?: ConstraintIdentifier;
  /** Whether index 0 is padding: the output then carries a mask that recurrent layers read. */
  maskZero?: boolean;
  /** Length of input sequences (a list for inputs of rank > 2); fixes the layer's input shape. */
  inputLength?: number | number[] | null;
}

/**
 * Looks up row `i` of an `[inputDim, outputDim]` table for every index `i`: `(batch, ...)` →
 * `(batch, ..., outputDim)`. Float inputs are cast to int32 (truncating), as Keras does.
 */
export class Embedding extends Layer {
  static override className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly maskZero: boolean;
  readonly inputLength: number | number[] | null;
  embeddings?: LayerVariable;
  private readonly args: EmbeddingArgs;

  constructor(inputDim: number | EmbeddingArgs, outputDim?: number | EmbeddingArgs, args: EmbeddingArgs = {}) {
    const a: EmbeddingArgs = typeof inputDim === 'number'
      ? { ...(typeof outputDim === 'object' ? outputDim : args), inputDim, ...(typeof outputDim === 'number' ? { outputDim } : {}) }
      : inputDim;
    const inputLength = a.inputLength ?? null;
    // Keras gives Embedding an input shape (inputLength,) or (None,) when none is given.
    const lens = inputLength === null ? [null] : typeof inputLength === 'number' ? [inputLength] : [...inputLength];
    super(a.batchInputShape || a.inputShape ? a : { ...a, batchInputShape: [a.batchSize ?? null, ...lens] });
    const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
    const bad = (what: string): never => { throw new ModelError(`Embedding '${this.name}': ${what}`, { layer: this.name }); };
    if (!positive(a.inputDim)) bad(`inputDim must be a positive integer, got ${JSON.stringify(a.inputDim)}`);
    if (!positive(a.outputDim)) bad(`outputDim must be a positive integer, got ${JSON.stringify(a.outputDim)}`);
    if (lens.some((d) => d !== null && !positive(d))) bad(`inputLength must be positive integers, got ${JSON.stringify(inputLength)}`);
    if (getRegularizer(a.activityRegularizer)) bad('activityRegularizer is not supported yet');
    if (getConstraint(a.embeddingsConstraint)) bad('embeddingsConstraint is not supported yet');
    this.inputDim = a.inputDim as number;
    this.outputDim = a.outputDim as number;
    this.maskZero = a.maskZero ?? false;
    this.inputLength = inputLength;
    this.args = a;
  }

  override build(_inputShape: Shape): void {
    const regularizer = getRegularizer(this.args.embeddingsRegularizer);
    this.embeddings = this.addWeight('embeddings', [this.inputDim, this.outputDim], this.args.embeddingsInitializer ?? 'randomUniform', { regularizer });
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    let indices = x.dtype === 'int32' ? x : ops.cast(x, 'int32');
    const lens = this.sampleShape(x.shape);
    // inputLength fills unknown sample dims, so the output shape is as Keras states it.
    if (lens.some((d, i) => d !== x.shape[i + 1]) && lens.every((d) => d !== null)) indices = ops.reshape(indices, [-1, ...(lens as number[])]);
    // maskZero: index 0 is padding, so downstream recurrent layers skip those steps (Keras's compute_mask).
    return withMask(ops.gather(this.embeddings!, indices, 0), this.maskZero ? ops.notEqual(indices, 0) : undefined);
  }

  /** Sample dims of the input, checked against inputLength (Keras's compute_output_shape). */
  private sampleShape(shape: Dim[]): Dim[] {
    const rest = shape.slice(1);
    if (this.inputLength === null) return rest;
    const lens = typeof this.inputLength === 'number' ? [this.inputLength] : this.inputLength;
    const mismatch = lens.length !== rest.length || lens.some((d, i) => rest[i] !== null && d !== rest[i]);
    if (mismatch) throw new ShapeError(`inputLength is ${JSON.stringify(this.inputLength)}, but the input has shape ${formatShape(shape)}`);
    return lens.map((d, i) => d ?? rest[i]);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: initializerConfig(this.args.embeddingsInitializer ?? 'randomUniform'),
      embeddingsRegularizer: regularizerConfig(getRegularizer(this.args.embeddingsRegularizer)),
      activityRegularizer: null,
      embeddingsConstraint: null,
      maskZero: this.maskZero,
      inputLength: this.inputLength,
    };
  }
}
