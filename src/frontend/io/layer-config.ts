/**
 * One layer from its Keras config: resolve the class, convert the Python spelling, build it, and
 * check that every option the file sets is one kiln honours (an option kiln would silently ignore is
 * a LayerConfigError naming the layer, its class and the options it supports).
 */
import { KilnError } from '../../ir/errors.js';
import type { Layer } from '../layer.js';
import { LayerConfigError } from './errors.js';
import { fromPythonic, type Json } from './pythonic.js';
import { resolveLayerClass, type CustomObjects } from './registry.js';

/** A layer entry of a Keras config, as files spell it. */
export interface LayerEntry {
  class_name?: string;
  className?: string;
  config?: Json;
  name?: string;
  inbound_nodes?: Json;
}

/** Options every layer accepts (Keras's base kwargs), whatever its getConfig lists. */
const BASE_OPTIONS = new Set(['name', 'trainable', 'dtype', 'batchInputShape', 'inputShape', 'batchSize', 'batchShape', 'inputDtype']);

/** Options Keras writes as a record of how a layer was built, not as a setting (MultiHeadAttention's input shapes). */
const RECORDED_OPTIONS = new Set(['queryShape', 'keyShape', 'valueShape']);

/** Options whose Keras default means "nothing to do": kiln accepts a file that sets them to this value. */
const DEFAULT_VALUES: Record<string, Json> = {
  groups: 1, renorm: false, renormClipping: null, renormMomentum: 0.99, fused: null, virtualBatchSize: null, adjustment: null,
  synchronized: false, sparse: false, ragged: false, optional: false, autocast: true, loraRank: null, loraAlpha: null,
};

const isEmpty = (v: unknown) =>
  v === null || v === undefined || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Keras-version quirks of single options, fixed before the layer sees them. */
function normalizeOptions(className: string, config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  // tf.keras 2 writes a built BatchNormalization's axis as a one-element list.
  if (className === 'BatchNormalization' && Array.isArray(out.axis) && out.axis.length === 1) out.axis = out.axis[0];
  return out;
}

/** Where a layer comes from, for messages; and the custom classes a load may use. */
export interface ConfigContext {
  /** The file being loaded, named in every error. */
  readonly file?: string;
  readonly customObjects?: CustomObjects;
}

/** Prefixes a message with the file, when known. */
export function inFile(ctx: ConfigContext, message: string): string {
  return ctx.file ? `${ctx.file}: ${message}` : message;
}

/** The class name of a layer entry (Keras `class_name`, TF.js `className`). */
export function entryClassName(entry: LayerEntry): string {
  const name = entry.class_name ?? entry.className;
  if (typeof name !== 'string') throw new LayerConfigError(`a layer entry has no class_name: ${JSON.stringify(entry).slice(0, 200)}`);
  return name;
}

/** The camelCase config of a layer entry, with Keras-version quirks normalized. */
export function entryConfig(entry: LayerEntry): Record<string, unknown> {
  const raw = entry.config ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LayerConfigError(`layer entry ${JSON.stringify(entry.name ?? '?')}: config must be an object`);
  return normalizeOptions(entryClassName(entry), fromPythonic(raw) as Record<string, unknown>);
}

/**
 * Builds a (non-model) layer from its entry and checks its options. `rewrite` may change the camelCase
 * config first (the channels_first conversion does).
 */
export function layerFromEntry(entry: LayerEntry, ctx: ConfigContext, rewrite?: (className: string, config: Record<string, unknown>) => Record<string, unknown>): Layer {
  const className = entryClassName(entry);
  let config = entryConfig(entry);
  if (rewrite) config = rewrite(className, config);
  const name = typeof config.name === 'string' ? config.name : (entry.name ?? '?');
  const cls = resolveLayerClass(className, name, ctx.customObjects);
  let layer: Layer;
  try {
    const from = (cls as unknown as { fromConfig?: (c: Record<string, unknown>) => Layer }).fromConfig;
    layer = from ? from.call(cls, config) : new (cls as unknown as new (c: Record<string, unknown>) => Layer)(config);
  } catch (e) {
    if (e instanceof LayerConfigError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    const err = new LayerConfigError(inFile(ctx, `layer '${name}' (${className}) cannot be built from its config: ${why}`), { ...(e instanceof KilnError ? e.context : {}), layer: name, className, file: ctx.file });
    err.cause = e;
    throw err;
  }
  checkOptions(layer, className, config, ctx);
  return layer;
}

/** Fails on options the file sets that kiln's layer does not know, unless they hold Keras's default. */
function checkOptions(layer: Layer, className: string, config: Record<string, unknown>, ctx: ConfigContext): void {
  const known = new Set([...BASE_OPTIONS, ...Object.keys(layer.getConfig())]);
  const unsupported = Object.entries(config).filter(([k, v]) => {
    if (known.has(k) || RECORDED_OPTIONS.has(k) || isEmpty(v)) return false;
    return !(k in DEFAULT_VALUES && JSON.stringify(DEFAULT_VALUES[k]) === JSON.stringify(v));
  });
  if (!unsupported.length) return;
  const list = unsupported.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
  const supported = [...known].filter((k) => !BASE_OPTIONS.has(k)).join(', ');
  throw new LayerConfigError(
    inFile(ctx, `layer '${layer.name}' (${className}) sets option${unsupported.length > 1 ? 's' : ''} kiln does not support: ${list}; kiln's ${className} supports: ${supported || '(no options)'}`),
    { layer: layer.name, className, options: unsupported.map(([k]) => k), file: ctx.file },
  );
}
