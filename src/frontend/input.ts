import type { DType, Dim } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';
import { Layer, type LayerArgs, type LayerCall } from './layer.js';
import { emitSource, type SymbolicTensor } from './symbolic.js';

/** Options of `Input`: a sample shape (without batch) or a full batch shape. */
export interface InputArgs {
  shape?: Dim[];
  batchShape?: Dim[];
  batchSize?: number;
  name?: string;
  dtype?: DType;
}

/** The layer behind `Input`: makes one graph input; has no weights. */
export class InputLayer extends Layer {
  static override className = 'InputLayer';
  readonly tensor: SymbolicTensor;

  constructor(args: LayerArgs & { batchShape?: Dim[]; inputDType?: DType } = {}) {
    const batchInputShape = args.batchInputShape ?? args.batchShape ?? (args.inputShape ? [args.batchSize ?? null, ...args.inputShape] : undefined);
    if (!batchInputShape) throw new ModelError(`InputLayer${args.name ? ` '${args.name}'` : ''}: give shape or batchShape`);
    super({ ...args, batchInputShape });
    const dtype = args.inputDType ?? args.dtype ?? 'float32';
    this.tensor = emitSource('input', { name: this.name, shape: batchInputShape, dtype }, this.name);
    const call: LayerCall = { layer: this, inputs: [], outputs: [this.tensor], args: {}, listInput: false, updates: [] };
    this.calls.push(call);
    this.tensor.history = { call, index: 0 };
    this.built = true;
  }

  override getConfig(): Record<string, unknown> {
    return { batchInputShape: this.batchInputShape, dtype: this.tensor.dtype, sparse: false, name: this.name };
  }
}

/** A symbolic input of a model, as `keras.Input`: `Input({ shape: [784], name: 'img' })`. */
export function Input(args: InputArgs): SymbolicTensor {
  if (!args.shape && !args.batchShape) throw new ModelError(`Input${args.name ? ` '${args.name}'` : ''}: give shape (without the batch) or batchShape`);
  for (const d of args.shape ?? args.batchShape ?? []) {
    if (d !== null && (!Number.isInteger(d) || d < 0)) throw new ModelError(`Input${args.name ? ` '${args.name}'` : ''}: shape entries must be non-negative integers or null, got ${JSON.stringify(args.shape ?? args.batchShape)}`);
  }
  const layer = new InputLayer({ name: args.name, inputShape: args.shape, batchShape: args.batchShape, batchSize: args.batchSize, inputDType: args.dtype });
  return layer.tensor;
}
