/**
 * Models from Keras configs: Sequential and functional topologies (Keras 2, Keras 3 and TF.js
 * spellings), nested models and shared layers. A functional config lists layers with their
 * inbound nodes; each node is replayed once its inputs exist, in Keras's order.
 */
import type { Dim } from '../../ir/types.js';
import { KilnError } from '../../ir/errors.js';
import { Input } from '../input.js';
import { isMixedPolicy, Layer } from '../layer.js';
import { Model } from '../model.js';
import { Sequential } from '../sequential.js';
import type { SymbolicTensor } from '../symbolic.js';
import { LayoutTracker, nhwcShape, usesChannelsFirst } from './channels-first.js';
import { LayerConfigError } from './errors.js';
import { entryClassName, entryConfig, inFile, layerFromEntry, type ConfigContext, type LayerEntry } from './layer-config.js';
import { toCamelCase, type Json } from './pythonic.js';

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

/** A model topology as files hold it: `{class_name, config}` (TF.js `className` too). */
export interface ModelTopology {
  class_name?: string;
  className?: string;
  config?: Json;
}

/** A reference to one output of one call of a layer: [layer, node, tensor]. */
interface Ref {
  readonly layer: string;
  readonly node: number;
  readonly tensor: number;
}

/** One inbound node: the tensors a call takes, whether as a list, its keyword arguments and the tensors among them. */
interface NodeSpec {
  readonly refs: Ref[];
  readonly list: boolean;
  readonly kwargs: Record<string, Json>;
  readonly tensorKwargs: Record<string, Ref>;
}

/** A keyword argument that is a tensor: Keras 2 writes [layer, node, tensor], Keras 3 a `__keras_tensor__`. */
function kwargRef(v: Json): Ref | undefined {
  if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') return { layer: v[0], node: v[1], tensor: v[2] };
  if (isObj(v) && v.class_name === '__keras_tensor__' && isObj(v.config) && Array.isArray(v.config.keras_history)) {
    const h = v.config.keras_history;
    return { layer: String(h[0]), node: Number(h[1]), tensor: Number(h[2]) };
  }
  return undefined;
}

/** Splits keyword arguments into plain values and tensors. */
function splitKwargs(kwargs: Record<string, Json>): Pick<NodeSpec, 'kwargs' | 'tensorKwargs'> {
  const plain: Record<string, Json> = {};
  const tensors: Record<string, Ref> = {};
  for (const [k, v] of Object.entries(kwargs)) {
    const ref = kwargRef(v);
    if (ref) tensors[k] = ref;
    else plain[k] = v;
  }
  return { kwargs: plain, tensorKwargs: tensors };
}

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Builds a kiln model from a Keras topology. */
export function modelFromTopology(topology: ModelTopology, ctx: ConfigContext = {}): Model {
  const tracker = new LayoutTracker(usesChannelsFirst(topology as Json));
  return buildModel(topology as LayerEntry, ctx, tracker);
}

function buildModel(entry: LayerEntry, ctx: ConfigContext, tracker: LayoutTracker): Model {
  const cls = entryClassName(entry);
  if (!MODEL_CLASSES.has(cls)) throw new LayerConfigError(inFile(ctx, `the top of a model config must be Sequential, Model or Functional, got class '${cls}'`), { className: cls });
  try {
    return cls === 'Sequential' ? buildSequential(entry.config ?? null, ctx, tracker) : buildFunctional(entry.config ?? null, ctx, tracker);
  } catch (e) {
    if (e instanceof KilnError && ctx.file && !e.message.startsWith(ctx.file)) {
      const Ctor = e.constructor as new (m: string, c: Record<string, unknown>) => KilnError;
      const err = new Ctor(`${ctx.file}: ${e.message}`, { ...e.context, file: ctx.file });
      err.cause = e;
      throw err;
    }
    throw e;
  }
}

function isModelEntry(e: LayerEntry): boolean {
  return MODEL_CLASSES.has(entryClassName(e));
}

/** The input shape of an InputLayer entry (or a first layer's batch_input_shape), NHWC in a converted model. */
function inputShapeOf(config: Record<string, unknown>, tracker: LayoutTracker): Dim[] | undefined {
  const shape = (config.batchInputShape ?? config.batchShape ?? (config.inputShape ? [null, ...(config.inputShape as Dim[])] : undefined)) as Dim[] | undefined;
  if (!shape) return undefined;
  return tracker.active ? nhwcShape(shape) : shape;
}

function makeInput(config: Record<string, unknown>, tracker: LayoutTracker, ctx: ConfigContext): SymbolicTensor {
  const batchShape = inputShapeOf(config, tracker);
  if (!batchShape) throw new LayerConfigError(inFile(ctx, `InputLayer '${String(config.name)}' has no batch_input_shape or batch_shape`), { layer: config.name });
  const t = Input({ batchShape, name: config.name as string | undefined, dtype: (config.dtype as 'float32' | 'int32' | undefined) ?? 'float32' });
  tracker.mark(t, tracker.active);
  return t;
}

function buildSequential(config: Json, ctx: ConfigContext, tracker: LayoutTracker): Model {
  const layersJson = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
  if (!Array.isArray(layersJson)) throw new LayerConfigError(inFile(ctx, 'Sequential config has no layers list'));
  const name = isObj(config) && typeof config.name === 'string' ? config.name : undefined;
  const model = new Sequential({ name });
  let x: SymbolicTensor | undefined;
  const rawBuild = isObj(config) ? config.build_input_shape : undefined;
  const buildShape = Array.isArray(rawBuild) ? (tracker.active ? nhwcShape(rawBuild as Dim[]) : (rawBuild as Dim[])) : undefined;
  const where = inFile(ctx, `model '${model.name}': `);
  for (const raw of layersJson as LayerEntry[]) {
    const cls = entryClassName(raw);
    if (cls === 'InputLayer') {
      x = makeInput(entryConfig(raw), tracker, ctx);
      model.add(x);
      continue;
    }
    if (isModelEntry(raw)) {
      const inner = buildModel(raw, ctx, tracker);
      model.add(inner);
      x = model.outputs[0];
      if (x) tracker.mark(x, tracker.modelOutputs.get(inner)?.[0] ?? false);
      continue;
    }
    const config = entryConfig(raw);
    if (!x) {
      // Keras 3 records the shape a Sequential was built for beside its layers.
      const shape = inputShapeOf(config, tracker) ?? buildShape;
      if (shape) {
        // A layer under a mixed policy takes float32 inputs, as Keras builds the input from its variable dtype.
        x = makeInput({ batchInputShape: shape, name: undefined, dtype: isMixedPolicy(config.dtype) ? 'float32' : config.dtype }, new LayoutTracker(false), ctx);
        tracker.mark(x, tracker.active);
        model.add(x);
      }
      delete config.batchInputShape;
      delete config.inputShape;
      delete config.batchShape;
    }
    const plan = x && tracker.active ? tracker.plan(cls, String(config.name), config, [x], where) : undefined;
    if (plan?.permuteFirst) model.add(LayoutTracker.toNchw(String(config.name)));
    const layer = layerFromEntry({ class_name: cls, config: null }, ctx, () => plan?.config ?? config);
    model.add(layer);
    if (x) {
      x = model.outputs[0];
      tracker.mark(x, plan?.outputConverted ?? false);
    }
  }
  if (tracker.active && x) tracker.modelOutputs.set(model, [tracker.isConverted(x)]);
  return model;
}

/** Reads a Keras 2 / TF.js node (a list of [layer, node, tensor, kwargs]) or a Keras 3 node ({args, kwargs}). */
function parseNode(node: Json, layerName: string, ctx: ConfigContext): NodeSpec {
  const bad = (): never => {
    throw new LayerConfigError(inFile(ctx, `layer '${layerName}': cannot read inbound node ${JSON.stringify(node).slice(0, 200)}`), { layer: layerName });
  };
  if (Array.isArray(node)) {
    const refs = node.map((r) => {
      if (!Array.isArray(r) || typeof r[0] !== 'string') return bad();
      return { layer: r[0], node: Number(r[1] ?? 0), tensor: Number(r[2] ?? 0) };
    });
    const kw = Array.isArray(node[0]) && isObj(node[0][3]) ? node[0][3] : {};
    return { refs, list: refs.length > 1, ...splitKwargs(kw) };
  }
  if (isObj(node) && Array.isArray(node.args)) {
    const refOf = (t: Json): Ref => {
      const h = isObj(t) && isObj(t.config) ? t.config.keras_history : undefined;
      if (!Array.isArray(h) || typeof h[0] !== 'string') return bad();
      return { layer: h[0], node: Number(h[1]), tensor: Number(h[2]) };
    };
    const args = node.args;
    const list = args.length > 1 || Array.isArray(args[0]);
    const refs = args.flatMap((a) => (Array.isArray(a) ? a.map(refOf) : [refOf(a)]));
    return { refs, list, ...splitKwargs(isObj(node.kwargs) ? node.kwargs : {}) };
  }
  return bad();
}

/** [[name, node, tensor], …] or Keras 3's single [name, node, tensor]. */
function parseEndpoints(v: Json | undefined, what: string, ctx: ConfigContext): Ref[] {
  if (!Array.isArray(v)) throw new LayerConfigError(inFile(ctx, `functional config has no ${what}`));
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.map((r) => {
    if (!Array.isArray(r) || typeof r[0] !== 'string') throw new LayerConfigError(inFile(ctx, `cannot read ${what} entry ${JSON.stringify(r)}`));
    return { layer: r[0], node: Number(r[1] ?? 0), tensor: Number(r[2] ?? 0) };
  });
}

/** What building knows about one layer of a functional config. */
interface LayerState {
  readonly entry: LayerEntry;
  readonly name: string;
  readonly nodes: NodeSpec[];
  layer?: Layer;
  /** Outputs of each replayed call. */
  readonly outputs: SymbolicTensor[][];
  /** Calls before the config's first node: 1 for a nested model whose own graph is its node 0. */
  offset: number;
  permuteFirst?: boolean;
  outputConverted?: boolean;
}

/** Tensor keyword arguments that join the input list, in kiln's positional order (`mha([query, value, key])`). */
const LIST_KWARGS = ['value', 'key'];
/** Tensor keyword arguments kiln works out itself (Keras serializes the propagated mask). */
const DERIVED_KWARGS = new Set(['mask']);
/** Plain keyword arguments passed on as call options (camelCase). */
const CALL_OPTIONS = new Set(['training', 'useCausalMask', 'returnAttentionScores']);

/** A call's inputs and options from its node: list kwargs join the inputs, `attention_mask` becomes an option. */
function callOf(node: NodeSpec, inputs: SymbolicTensor[], tensorKw: Record<string, SymbolicTensor>, layer: string, ctx: ConfigContext): { inputs: SymbolicTensor[]; list: boolean; args: Record<string, unknown> } {
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node.kwargs)) {
    const key = toCamelCase(k);
    if (v === null || (DERIVED_KWARGS.has(key))) continue;
    if (CALL_OPTIONS.has(key) && typeof v === 'boolean') args[key] = v;
    else throw new LayerConfigError(inFile(ctx, `layer '${layer}' is called with argument ${k} = ${JSON.stringify(v).slice(0, 100)}, which kiln does not support (call options it passes on: ${[...CALL_OPTIONS].join(', ')})`), { layer, argument: k });
  }
  const list = [...inputs];
  for (const [k, t] of Object.entries(tensorKw)) {
    const key = toCamelCase(k);
    if (DERIVED_KWARGS.has(key)) continue;
    if (key === 'attentionMask') args.attentionMask = t;
    else if (!LIST_KWARGS.includes(key)) throw new LayerConfigError(inFile(ctx, `layer '${layer}' is called with tensor argument ${k}, which kiln does not support`), { layer, argument: k });
  }
  for (const k of LIST_KWARGS) if (tensorKw[k]) list.push(tensorKw[k]);
  return { inputs: list, list: node.list || list.length > inputs.length, args };
}

function buildFunctional(config: Json, ctx: ConfigContext, tracker: LayoutTracker): Model {
  if (!isObj(config) || !Array.isArray(config.layers)) throw new LayerConfigError(inFile(ctx, 'functional model config has no layers list'));
  const modelName = typeof config.name === 'string' ? config.name : undefined;
  const where = inFile(ctx, `model '${modelName ?? '?'}': `);
  const states = new Map<string, LayerState>();
  for (const raw of config.layers as LayerEntry[]) {
    const name = (raw.name ?? (isObj(raw.config) ? raw.config.name : undefined)) as string | undefined;
    if (typeof name !== 'string') throw new LayerConfigError(inFile(ctx, `a layer entry of model '${modelName}' has no name`));
    const nodes = Array.isArray(raw.inbound_nodes) ? raw.inbound_nodes.map((n) => parseNode(n, name, ctx)) : [];
    states.set(name, { entry: raw, name, nodes, outputs: [], offset: 0 });
  }
  const inputRefs = parseEndpoints(config.input_layers, 'input_layers', ctx);
  const outputRefs = parseEndpoints(config.output_layers, 'output_layers', ctx);

  // Inputs and nested models exist before any call; a nested model's node 0 is its own graph when the file counts it.
  const maxRef = new Map<string, number>();
  for (const r of [...outputRefs, ...[...states.values()].flatMap((s) => s.nodes.flatMap((n) => n.refs))]) maxRef.set(r.layer, Math.max(maxRef.get(r.layer) ?? 0, r.node));
  for (const s of states.values()) {
    const cls = entryClassName(s.entry);
    if (cls === 'InputLayer') {
      const t = makeInput(entryConfig(s.entry), tracker, ctx);
      s.layer = t.history!.call.layer;
      s.outputs.push([t]);
    } else if (isModelEntry(s.entry)) {
      s.layer = buildModel(s.entry, ctx, tracker);
      s.offset = Math.max(0, (maxRef.get(s.name) ?? 0) - (s.nodes.length - 1));
      for (let i = 0; i < s.offset; i++) s.outputs.push((s.layer as Model).outputs);
    }
  }

  const resolve = (r: Ref): SymbolicTensor | undefined => {
    const s = states.get(r.layer);
    if (!s) throw new LayerConfigError(`${where}an inbound node refers to layer '${r.layer}', which the config does not define`, { layer: r.layer });
    return s.outputs[r.node]?.[r.tensor];
  };

  const queue = [...states.values()].flatMap((s) => s.nodes.map((node, index) => ({ s, node, index })));
  let progress = true;
  while (queue.length && progress) {
    progress = false;
    for (let i = 0; i < queue.length; ) {
      const { s, node, index } = queue[i];
      const inputs = node.refs.map(resolve);
      const tensorKw = Object.fromEntries(Object.entries(node.tensorKwargs).filter(([k]) => !DERIVED_KWARGS.has(toCamelCase(k))).map(([k, r]) => [k, resolve(r)]));
      if (index + s.offset !== s.outputs.length || inputs.some((t) => t === undefined) || Object.values(tensorKw).some((t) => t === undefined)) {
        i++;
        continue;
      }
      call(s, node, inputs as SymbolicTensor[], tensorKw as Record<string, SymbolicTensor>);
      queue.splice(i, 1);
      progress = true;
    }
  }
  if (queue.length) {
    const { s, node } = queue[0];
    const missing = node.refs.find((r) => !resolve(r))!;
    throw new LayerConfigError(`${where}cannot connect layer '${s.name}': it reads output ${missing.tensor} of call ${missing.node} of layer '${missing.layer}', which never exists`, { layer: s.name });
  }

  function call(s: LayerState, node: NodeSpec, given: SymbolicTensor[], tensorKw: Record<string, SymbolicTensor>): void {
    const { inputs, list, args } = callOf(node, given, tensorKw, s.name, ctx);
    const cls = entryClassName(s.entry);
    if (!s.layer) {
      const config = entryConfig(s.entry);
      const plan = tracker.active ? tracker.plan(cls, s.name, config, inputs, where) : undefined;
      s.permuteFirst = plan?.permuteFirst;
      s.outputConverted = plan?.outputConverted;
      s.layer = layerFromEntry({ class_name: cls, config: null }, ctx, () => plan?.config ?? config);
    }
    let ins = inputs;
    if (s.permuteFirst) ins = ins.map((t) => LayoutTracker.toNchw(s.name)(t));
    let outs: SymbolicTensor[];
    try {
      const out = s.layer.apply(list ? ins : ins[0], args as never);
      outs = Array.isArray(out) ? out : [out];
    } catch (e) {
      if (e instanceof KilnError) {
        const Ctor = e.constructor as new (m: string, c: Record<string, unknown>) => KilnError;
        const err = new Ctor(`${where}calling layer '${s.name}' (${cls}) on its inputs failed: ${e.message}`, { ...e.context, layer: s.name });
        err.cause = e;
        throw err;
      }
      throw e;
    }
    const nestedLayouts = tracker.modelOutputs.get(s.layer);
    outs.forEach((t, i) => tracker.mark(t, nestedLayouts ? nestedLayouts[i] : (s.outputConverted ?? false)));
    s.outputs.push(outs);
  }

  const inputs = inputRefs.map((r) => resolve(r)!);
  const outputs = outputRefs.map((r) => {
    const t = resolve(r);
    if (!t) throw new LayerConfigError(`${where}output_layers names output ${r.tensor} of call ${r.node} of layer '${r.layer}', which does not exist`, { layer: r.layer });
    return t;
  });
  const model = new Model({ name: modelName, inputs, outputs });
  if (tracker.active) tracker.modelOutputs.set(model, outputs.map((t) => tracker.isConverted(t)));
  return model;
}
