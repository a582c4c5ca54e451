/**
 * Keras configs in Python spelling (snake_case keys and values, as Keras and TF.js's model.json write
 * them) to kiln's camelCase configs and back, the way TF.js converts them
 * (tfjs-layers serialization_utils): every key and every string value changes case, except the
 * value of `name` (and `className` when writing). Keras 3 wrappers and dtype policies (Keras 2's
 * `Policy`, Keras 3's `DTypePolicy`) are unwrapped on the way in.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `kernel_size` → `kernelSize` (TF.js's toCamelCase). */
export function toCamelCase(s: string): string {
  return s.length <= 1 || !s.includes('_') ? s : s.replace(/_+(\w|$)/g, (_, c: string) => c.toUpperCase());
}

/** `kernelSize` → `kernel_size`, `MaxPooling2D` stays (TF.js's toSnakeCase on keys and values). */
export function toSnakeCase(s: string): string {
  const inter = s.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2');
  const snake = inter.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return snake.startsWith('_') ? `private${snake}` : snake;
}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Keras 3 writes `{module, class_name, config, registered_name}` for every object and a DTypePolicy
 * object for `dtype`; kiln reads the `{class_name, config}` core and the dtype's name.
 */
function unwrapKeras3(key: string | undefined, value: Json): Json {
  if (!isObject(value)) return value;
  if (key === 'dtype' && ['DTypePolicy', 'FloatDTypePolicy', 'Policy'].includes(String(value.class_name)) && isObject(value.config)) {
    // A mixed policy stays (the layer keeps float32 variables, and the model compiles mixed by default).
    const name = value.config.name;
    return typeof name === 'string' ? name : 'float32';
  }
  if ('class_name' in value && ('module' in value || 'registered_name' in value)) {
    const { module: _m, registered_name: _r, build_config: _b, compile_config: _c, shared_object_id: _s, ...rest } = value;
    return rest;
  }
  return value;
}

/** Python-style config (snake_case) → kiln config (camelCase keys and string values). */
export function fromPythonic(value: Json, key?: string): Json {
  value = unwrapKeras3(key, value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  // Dtype names stay as written: a policy's `mixed_float16` is Keras's name, not a Python identifier.
  if (typeof value === 'string') return key === 'name' || key === 'dtype' ? value : toCamelCase(value);
  if (Array.isArray(value)) return value.map((v) => fromPythonic(v, key));
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) out[k === 'name' ? k : toCamelCase(k)] = k === 'name' ? v : fromPythonic(v, toCamelCase(k));
  return out;
}

/** kiln config (camelCase) → Python-style config (snake_case), as TF.js writes model.json. */
export function toPythonic(value: unknown, key?: string): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return key === 'name' || key === 'className' ? value : toSnakeCase(value);
  if (Array.isArray(value)) return value.map((v) => toPythonic(v, key));
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined || typeof v === 'function') continue;
    out[toSnakeCase(k)] = toPythonic(v, k);
  }
  return out;
}
