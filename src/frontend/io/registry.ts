/**
 * Layer classes by Keras class name, for configs read from files: every layer class that
 * `layers/index.ts` exports with a `static className` (so a new layer registers by being exported),
 * the model classes, and custom layers registered by name (Keras's `custom_objects`).
 */
import { classNameOf, Layer } from '../layer.js';
import { Model } from '../model.js';
import { Sequential } from '../sequential.js';
import * as layerExports from '../layers/index.js';
import { LayerConfigError } from './errors.js';

/** A layer class a config can name; `fromConfig` builds it from a camelCase config. */
export type LayerClass = (abstract new (...args: never[]) => Layer) & { fromConfig?: (config: Record<string, unknown>) => Layer };

/** Custom layer classes by name, as Keras's `custom_objects`. */
export type CustomObjects = Record<string, LayerClass>;

const custom = new Map<string, LayerClass>();

/** Keras 2 and 3 spell the functional model class 'Functional'; TF.js spells it 'Model'. */
const ALIASES: Record<string, string> = { Functional: 'Model' };

function isLayerClass(value: unknown): value is LayerClass {
  return typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof Layer;
}

/** Built-in layer classes by className, derived from the exports of layers/index.ts. */
export function builtinLayerClasses(): Map<string, LayerClass> {
  const out = new Map<string, LayerClass>();
  for (const value of Object.values(layerExports)) {
    if (!isLayerClass(value) || !Object.hasOwn(value, 'className')) continue;
    out.set(classNameOf(value), value);
  }
  out.set('Model', Model as unknown as LayerClass);
  out.set('Sequential', Sequential as unknown as LayerClass);
  return out;
}

/** Registers a custom layer class under a Keras class name, so configs naming it load. */
export function registerLayer(className: string, cls: LayerClass): void {
  if (!isLayerClass(cls)) throw new LayerConfigError(`registerLayer('${className}'): expected a class extending Layer, got ${typeof cls}`);
  custom.set(className, cls);
}

/** Class names a config may use: built-in, registered, and per-call custom objects. */
export function knownClassNames(customObjects: CustomObjects = {}): string[] {
  return [...new Set([...builtinLayerClasses().keys(), ...custom.keys(), ...Object.keys(customObjects)])].sort();
}

/**
 * The class for a Keras class name (custom objects first, then registered, then built-in); an
 * unknown name is a LayerConfigError naming the layer and listing what kiln supports.
 */
export function resolveLayerClass(className: string, layerName: string, customObjects: CustomObjects = {}): LayerClass {
  const cls = customObjects[className] ?? custom.get(className) ?? builtinLayerClasses().get(ALIASES[className] ?? className);
  if (cls) return cls;
  throw new LayerConfigError(
    `layer '${layerName}' has class '${className}', which kiln does not know; supported classes: ${knownClassNames(customObjects).join(', ')}. ` +
      `A custom layer loads once registered: registerLayer('${className}', ${className}) or the customObjects option`,
    { layer: layerName, className },
  );
}
