import type { DType, Dim } from '../ir/types.js';
import { formatShape, KilnError, ModelError, ShapeError } from '../ir/errors.js';
import { getInitializer, type InitializerIdentifier } from './initializers.js';
import type { Regularizer } from './regularizers.js';
import { currentNamePrefix, snakeCase, uniqueName } from './scopes.js';
import { currentOpPrefix, emitSource, SymbolicTensor, withOpPrefix, emit } from './symbolic.js';
import { LayerVariable } from './variables.js';
import { outputMask, withMask } from './masks.js';

/** A shape as Keras gives it to `build`: the batch first, null where unknown. */
export type Shape = Dim[];

/**
 * Keras's mixed dtype policies: float32 variables, float16 or bfloat16 computation. kiln compiles a
 * model with such layers in mixed precision by default (f16 GEMM operands, f32 accumulation; WebGPU has
 * no bfloat16, so `mixed_bfloat16` computes as `mixed_float16` does).
 */
export type MixedPolicy = 'mixed_float16' | 'mixed_bfloat16';
const MIXED_POLICIES: readonly string[] = ['mixed_float16', 'mixed_bfloat16'] satisfies MixedPolicy[];

/** Whether a layer's dtype (a Keras dtype policy's name) is a mixed policy. */
export const isMixedPolicy = (dtype: unknown): dtype is MixedPolicy => MIXED_POLICIES.includes(dtype as string);

/** Options every layer takes (TF.js's LayerArgs, Keras's base kwargs in camelCase). */
export interface LayerArgs {
  name?: string;
  trainable?: boolean;
  /** The variables' dtype, or a Keras mixed policy (float32 variables, mixed computation). */
  dtype?: DType | MixedPolicy;
  /** Shape of one sample, without the batch; makes this layer the first of a Sequential. */
  inputShape?: Dim[];
  /** Shape with the batch; wins over inputShape. */
  batchInputShape?: Dim[];
  batchSize?: number;
}

/** Extra arguments of a call: the learning phase, as `layer(x, training=True)`. */
export interface CallArgs {
  training?: boolean;
  /** Recurrent layers: initial states, as TF.js's `layer.apply(x, { initialState })`. */
  initialState?: SymbolicTensor | SymbolicTensor[];
  /** A bool [batch, time] mask overriding the one the input carries (src/frontend/masks.ts). */
  mask?: SymbolicTensor;
}

/** A state update recorded by a call (batch-norm moving statistics): `variable` takes `value` after a step. */
export interface Update {
  readonly variable: LayerVariable;
  readonly value: SymbolicTensor;
  /** Also applied at inference (a stateful RNN's state); batch-norm statistics change only while training. */
  readonly inference?: boolean;
}

/** One call of a layer on symbolic tensors: the Keras-level graph that summaries and models walk. */
export interface LayerCall {
  readonly layer: Layer;
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  readonly args: CallArgs;
  /** Whether the inputs were passed as a list (a merge layer), so a replay passes them the same way. */
  readonly listInput: boolean;
  /** Updates of this call and of every layer called inside it. */
  readonly updates: readonly Update[];
}

/** What a layer accepts, checked before build and call (Keras's InputSpec). */
export interface InputSpec {
  ndim?: number;
  minNdim?: number;
  maxNdim?: number;
  /** Required sizes of given axes (negative counts from the end). */
  axes?: Record<number, number>;
}

/** Options of `addWeight`. */
export interface WeightOptions {
  trainable?: boolean;
  regularizer?: Regularizer | null;
  dtype?: DType;
}

/** Layers are callable: `layer(x)` is `layer.apply(x)`. */
export interface Layer {
  (inputs: SymbolicTensor | SymbolicTensor[], args?: CallArgs): SymbolicTensor;
}

let recording = true;
/** Update collectors of the calls now running, innermost last. */
const updateFrames: Update[][] = [];

/** Runs fn without recording layer calls (shape probing by computeOutputShape). */
function unrecorded<T>(fn: () => T): T {
  const saved = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = saved;
  }
}

/** The Keras class name of a layer class: its own static `className`, else the JS class name. */
export function classNameOf(ctor: Function): string {
  return Object.hasOwn(ctor, 'className') ? (ctor as unknown as { className: string }).className : ctor.name;
}

/**
 * The base of every layer, as Keras's `Layer`: `build` creates weights once the input shape is known,
 * `call` records ops on symbolic tensors, `getConfig` returns the Keras config in camelCase.
 * Instances are callable functions whose prototype is the class, so `layer(x)` works and
 * subclassing keeps working (the constructor returns the callable, which becomes `this`).
 */
export class Layer {
  static className = 'Layer';
  name!: string;
  built!: boolean;
  /** Every call on symbolic tensors, in order. */
  calls!: LayerCall[];
  inputSpec?: InputSpec | InputSpec[];
  batchInputShape?: Dim[];
  protected ownWeights!: LayerVariable[];
  private trainableFlag!: boolean;
  private dtypeName!: DType;
  private policyName!: DType | MixedPolicy;

  constructor(args: LayerArgs = {}) {
    const self = ((...a: Parameters<Layer>) => self.apply(...a)) as unknown as Layer;
    delete (self as { name?: unknown }).name;
    delete (self as { length?: unknown }).length;
    Object.setPrototypeOf(self, new.target.prototype);
    self.name = args.name ?? uniqueName(snakeCase(classNameOf(new.target)));
    self.built = false;
    self.calls = [];
    self.ownWeights = [];
    self.trainableFlag = args.trainable ?? true;
    self.policyName = args.dtype ?? 'float32';
    self.dtypeName = isMixedPolicy(self.policyName) ? 'float32' : self.policyName;
    const sample = args.inputShape;
    if (args.batchInputShape) self.batchInputShape = [...args.batchInputShape];
    else if (sample) self.batchInputShape = [args.batchSize ?? null, ...sample];
    return self;
  }

  /** The Keras class name (`Dense`). */
  getClassName(): string {
    return classNameOf(this.constructor);
  }
  get trainable(): boolean {
    return this.trainableFlag;
  }
  set trainable(value: boolean) {
    this.trainableFlag = value;
  }
  /** The variables' dtype (float32 under a mixed policy). */
  get dtype(): DType {
    return this.dtypeName;
  }
  /** Keras's `layer.dtype_policy.name`: the dtype, or the mixed policy the layer was made with. */
  get dtypePolicy(): DType | MixedPolicy {
    return this.policyName;
  }

  /** Creates the layer's weights for an input shape; called once, on the first call. */
  build(_inputShape: Shape | Shape[]): void {}

  /** The layer's computation on symbolic tensors; the base layer passes its input through. */
  call(inputs: SymbolicTensor | SymbolicTensor[], _args: CallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    return inputs;
  }

  /** Output shape for an input shape: by default, traced from `call` on placeholders without recording. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const many = Array.isArray(inputShape[0]);
    const shapes = (many ? inputShape : [inputShape]) as Shape[];
    const placeholders = shapes.map((s, i) => emitSource('input', { name: `probe_${i}`, shape: s, dtype: 'float32' }, `probe_${i}`));
    const out = unrecorded(() => this.apply(many ? placeholders : placeholders[0]) as SymbolicTensor | SymbolicTensor[]);
    return Array.isArray(out) ? out.map((t) => t.shape) : out.shape;
  }

  /** The layer's Keras config (camelCase), enough to rebuild it with `fromConfig`. */
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { name: this.name, trainable: this.trainable, dtype: this.dtypePolicy };
    if (this.batchInputShape) config.batchInputShape = this.batchInputShape;
    return config;
  }

  /** Rebuilds a layer from `getConfig()` output. */
  static fromConfig<T extends Layer>(this: new (config: never) => T, config: Record<string, unknown>): T {
    return new this(config as never);
  }

  /** Applies the layer to symbolic tensors, building it first if needed; records the call. */
  apply(inputs: SymbolicTensor | SymbolicTensor[], args: CallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    return this.inContext(() => {
      list.forEach((t, i) => {
        if (!(t instanceof SymbolicTensor)) {
          throw new ModelError(`input ${i} is ${t === null || t === undefined ? String(t) : (t as object).constructor?.name ?? typeof t}, expected a symbolic tensor (from Input or another layer); to run on data, use a model's predict`);
        }
      });
      this.checkInputSpec(list);
      if (!this.built) {
        const shapes = list.map((t) => t.shape);
        this.build(Array.isArray(inputs) ? shapes : shapes[0]);
        this.built = true;
      }
      const frame: Update[] = [];
      updateFrames.push(frame);
      let out: SymbolicTensor | SymbolicTensor[];
      try {
        out = withOpPrefix(`${currentOpPrefix()}${this.name}/`, () => this.call(inputs, args));
      } finally {
        updateFrames.pop();
      }
      updateFrames.at(-1)?.push(...frame);
      const raw = Array.isArray(out) ? out : [out];
      const outputs = raw.map((t) => (t.history || list.includes(t) ? emit('identity', [t])[0] : t));
      // Keras masks (src/frontend/masks.ts) survive the identity above and pass through layers that allow it.
      outputs.forEach((t, i) => withMask(t, outputMask(this.getClassName(), raw[i], list)));
      const call: LayerCall = { layer: this, inputs: list, outputs, args, listInput: Array.isArray(inputs), updates: frame };
      if (recording) {
        this.calls.push(call);
        outputs.forEach((t, index) => (t.history = { call, index }));
      }
      return Array.isArray(out) ? outputs : outputs[0];
    });
  }

  /** Creates a weight named `<scope>/<layer>/<name>`, initialized now. */
  addWeight(name: string, shape: readonly Dim[], initializer: InitializerIdentifier = 'glorotUniform', options: WeightOptions = {}): LayerVariable {
    if (shape.some((d) => d === null || !Number.isInteger(d) || d < 0)) {
      throw new ShapeError(`weight '${name}' needs a fully known shape, got ${formatShape(shape)}`, { weight: name });
    }
    const dims = shape as number[];
    const value = getInitializer(initializer).init(dims);
    const v = new LayerVariable(`${currentNamePrefix()}${this.name}/${name}`, dims, value, this, options);
    this.ownWeights.push(v);
    return v;
  }

  /** Records a state update of this call (only inside `call`). */
  addUpdate(variable: LayerVariable, value: SymbolicTensor, options: { inference?: boolean } = {}): void {
    const frame = updateFrames.at(-1);
    if (!frame) throw new ModelError(`layer '${this.name}': addUpdate is only valid inside call`);
    frame.push({ variable, value, ...(options.inference ? { inference: true } : {}) });
  }

  /** All weights: trainable first, then non-trainable, as Keras and TF.js order them. */
  get weights(): LayerVariable[] {
    return [...this.trainableWeights, ...this.nonTrainableWeights];
  }
  get trainableWeights(): LayerVariable[] {
    return this.allWeights().filter((w) => w.trainable);
  }
  get nonTrainableWeights(): LayerVariable[] {
    return this.allWeights().filter((w) => !w.trainable);
  }
  /** Weights in creation order (models add their layers'). */
  allWeights(): LayerVariable[] {
    return [...this.ownWeights];
  }
  /** State updates from every recorded call (batch-norm moving statistics). */
  get updates(): Update[] {
    return this.calls.flatMap((c) => c.updates);
  }

  /** Number of scalars in the layer's weights; the layer must be built. */
  countParams(): number {
    if (!this.built) throw new ModelError(`layer '${this.name}' is not built yet, so its weights are unknown: call it on an input first`, { layer: this.name });
    return this.weights.reduce((n, w) => n + w.size, 0);
  }

  /** Current weight values, in `weights` order. */
  getWeights(): Float32Array[] {
    return this.weights.map((w) => w.read());
  }

  /** Sets weight values, in `weights` order; counts and sizes must match. */
  setWeights(values: readonly (Float32Array | readonly number[])[]): void {
    const ws = this.weights;
    if (values.length !== ws.length) {
      throw new ModelError(`layer '${this.name}' has ${ws.length} weights (${ws.map((w) => w.name).join(', ')}), got ${values.length} arrays`, { layer: this.name });
    }
    ws.forEach((w, i) => w.write(values[i]));
  }

  /** Input shape(s) of the first call. */
  get inputShape(): Shape | Shape[] {
    const c = this.firstCall();
    return c.inputs.length === 1 ? c.inputs[0].shape : c.inputs.map((t) => t.shape);
  }
  /** Output shape(s) of the first call. */
  get outputShape(): Shape | Shape[] {
    const c = this.firstCall();
    return c.outputs.length === 1 ? c.outputs[0].shape : c.outputs.map((t) => t.shape);
  }

  private firstCall(): LayerCall {
    const c = this.calls[0];
    if (!c) throw new ModelError(`layer '${this.name}' has not been called yet, so it has no input or output shape`, { layer: this.name });
    return c;
  }

  private checkInputSpec(inputs: readonly SymbolicTensor[]): void {
    if (!this.inputSpec) return;
    const specs = Array.isArray(this.inputSpec) ? this.inputSpec : inputs.map(() => this.inputSpec as InputSpec);
    inputs.forEach((t, i) => {
      const spec = specs[i];
      if (!spec) return;
      const shape = formatShape(t.shape);
      const which = inputs.length > 1 ? `input ${i} ` : 'input ';
      if (spec.ndim !== undefined && t.rank !== spec.ndim) throw new ShapeError(`expected ${which}of rank ${spec.ndim}, got shape ${shape} (rank ${t.rank})`);
      if (spec.minNdim !== undefined && t.rank < spec.minNdim) throw new ShapeError(`expected ${which}of rank ≥ ${spec.minNdim}, got shape ${shape} (rank ${t.rank})`);
      if (spec.maxNdim !== undefined && t.rank > spec.maxNdim) throw new ShapeError(`expected ${which}of rank ≤ ${spec.maxNdim}, got shape ${shape} (rank ${t.rank})`);
      for (const [axis, size] of Object.entries(spec.axes ?? {})) {
        const a = Number(axis) < 0 ? t.rank + Number(axis) : Number(axis);
        if (t.shape[a] !== null && t.shape[a] !== size) {
          throw new ShapeError(`expected ${which}axis ${axis} of size ${size} (from its first call), got shape ${shape}`);
        }
      }
    });
  }

  /** Runs fn, prefixing kiln errors with this layer's name and class so they point at the definition. */
  protected inContext<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof KilnError && !e.context.layer) {
        const Ctor = e.constructor as new (m: string, c: Record<string, unknown>) => KilnError;
        const wrapped = new Ctor(`Layer '${this.name}' (${this.getClassName()}): ${e.message}`, { ...e.context, layer: this.name });
        throw wrapped;
      }
      throw e;
    }
  }
}
