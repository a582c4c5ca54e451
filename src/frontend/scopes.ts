/**
 * Name and device scopes, as TensorFlow's `name_scope` and `device`: a stack per kind, pushed for
 * the duration of a callback. Names created inside get the scope's prefix; nodes the device.
 */
const nameStack: string[] = [];
const deviceStack: string[] = [];

function withPushed<T>(stack: string[], value: string, fn: () => T): T {
  stack.push(value);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** Runs `fn` with `name` as an extra name scope: weights created inside are named `name/layer/weight`. */
export function nameScope<T>(name: string, fn: () => T): T {
  return withPushed(nameStack, name.replace(/\/+$/, ''), fn);
}

/** The current name-scope prefix, with a trailing slash (`block1/inner/`), or '' outside any scope. */
export function currentNamePrefix(): string {
  return nameStack.length ? `${nameStack.join('/')}/` : '';
}

const DEVICE = /^(?:\/?(?:device:)?)?(gpu|cpu):(\d+)$/i;

/** Normalizes `'/gpu:1'`, `'/device:GPU:1'`, `'gpu:1'` to `'gpu:1'`; anything else is an error. */
export function normalizeDevice(device: string): string {
  const m = DEVICE.exec(device.trim());
  if (!m) throw new Error(`device '${device}' is not of the form 'gpu:N' (or '/gpu:N', '/device:GPU:N')`);
  return `${m[1].toLowerCase()}:${Number(m[2])}`;
}

/** Runs `fn` with every node it creates placed on `device` (`'gpu:1'`), as `tf.device('/gpu:1')`. */
export function deviceScope<T>(device: string, fn: () => T): T {
  return withPushed(deviceStack, normalizeDevice(device), fn);
}

/** The innermost device scope, if any. */
export function currentDevice(): string | undefined {
  return deviceStack.at(-1);
}

const nameCounts = new Map<string, number>();

/** A process-unique name from a base, Keras style: `dense`, `dense_1`, `dense_2`; one sequence per namespace. */
export function uniqueName(base: string, namespace: 'layer' | 'variable' = 'layer'): string {
  const key = `${namespace}:${base}`;
  const n = nameCounts.get(key) ?? 0;
  nameCounts.set(key, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** Resets automatic naming (as `keras.backend.clear_session()`), so names start again at `dense`. */
export function clearSession(): void {
  nameCounts.clear();
}

/** `MaxPooling2D` → `max_pooling2d`, as Keras derives default layer names from class names. */
export function snakeCase(className: string): string {
  return className
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
