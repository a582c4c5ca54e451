/**
 * kiln's weights file: 'KILNWTS1', a u32 (little-endian) header length, a JSON header, then the float32
 * data (little-endian). Saving is atomic; loading matches weights by name and checks everything first.
 */
import { KilnError, formatShape } from '../ir/errors.js';
import { Model } from '../frontend/model.js';
import type { Layer } from '../frontend/layer.js';

/** A weights file that cannot be written, read, or applied to a model; the message names the file and the weight. */
export class WeightsFileError extends KilnError {}

const MAGIC = 'KILNWTS1';
/** The `format` field of a weights file's header. */
export const WEIGHTS_FORMAT = 'kiln-weights';
/** The header version this kiln writes and reads. */
export const WEIGHTS_VERSION = 1;

/** One weight in the header: `offset` in bytes from the start of the data, `size` in values. */
export interface WeightsEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  offset: number;
  size: number;
}

/** The JSON header; `sha256` (hex) and `byteLength` cover the data section. */
export interface WeightsHeader {
  format: typeof WEIGHTS_FORMAT;
  version: number;
  weights: WeightsEntry[];
  byteLength: number;
  sha256: string;
}

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The weights of a model (or layer) as the bytes of a weights file; works in a browser too. */
export async function encodeWeights(model: Layer): Promise<Uint8Array> {
  const entries: WeightsEntry[] = [];
  const values: Float32Array[] = [];
  let offset = 0;
  for (const w of model.weights) {
    const value = w.read();
    entries.push({ name: w.name, shape: [...w.shape], dtype: 'float32', offset, size: value.length });
    values.push(value);
    offset += value.length * 4;
  }
  const data = new Uint8Array(offset);
  const view = new DataView(data.buffer);
  values.forEach((v, i) => {
    const at = entries[i].offset;
    if (LITTLE) data.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
    else v.forEach((x, k) => view.setFloat32(at + 4 * k, x, true));
  });
  const header: WeightsHeader = { format: WEIGHTS_FORMAT, version: WEIGHTS_VERSION, weights: entries, byteLength: data.length, sha256: await sha256(data) };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((12 + json.length) % 8)) % 8; // data starts 8-byte aligned, so a reader can view it in place
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(12 + json.length + data.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, 12 + json.length);
  return out;
}

/** Reads and checks a weights file's bytes (magic, version, layout, hash); returns the values by name. */
export async function decodeWeights(bytes: Uint8Array, file = 'weights'): Promise<Map<string, { shape: number[]; value: Float32Array }>> {
  const fail = (what: string, context: Record<string, unknown> = {}): never => {
    throw new WeightsFileError(`weights file '${file}': ${what}`, { file, ...context });
  };
  if (bytes.length < 12) fail(`truncated or not a kiln weights file (${bytes.length} bytes, the header alone needs 12)`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC) fail(`not a kiln weights file (starts with ${JSON.stringify(magic)}, expected ${JSON.stringify(MAGIC)})`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.length) fail(`truncated: the header says it is ${headerLength} bytes long, but the file has only ${bytes.length - 12} after the length`);
  let header: WeightsHeader;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    return fail(`corrupted header (not valid JSON: ${(e as Error).message})`);
  }
  if (header?.format !== WEIGHTS_FORMAT) fail(`not a kiln weights file (header format ${JSON.stringify(header?.format)}, expected '${WEIGHTS_FORMAT}')`);
  if (header.version !== WEIGHTS_VERSION) fail(`format version ${header.version}; this kiln reads version ${WEIGHTS_VERSION}`);
  if (!Array.isArray(header.weights) || !Number.isInteger(header.byteLength) || typeof header.sha256 !== 'string') fail('corrupted header (missing weights, byteLength or sha256)');
  // A copy at offset 0, so Float32Array views are aligned (Node's Buffer.slice would share memory, not copy).
  const data = new Uint8Array(bytes.length - 12 - headerLength);
  data.set(bytes.subarray(12 + headerLength));
  if (data.length < header.byteLength) fail(`truncated: the header says ${header.byteLength} bytes of weight data, the file has ${data.length}`);
  if (data.length > header.byteLength) fail(`corrupted: ${data.length - header.byteLength} unexpected bytes after the weight data`);
  if ((await sha256(data)) !== header.sha256) fail('corrupted data: its SHA-256 does not match the header');
  const out = new Map<string, { shape: number[]; value: Float32Array }>();
  for (const e of header.weights) {
    const name = typeof e?.name === 'string' ? e.name : JSON.stringify(e?.name);
    const okShape = Array.isArray(e?.shape) && e.shape.every((d) => Number.isInteger(d) && d >= 0);
    const size = okShape ? e.shape.reduce((a, b) => a * b, 1) : -1;
    if (!okShape || e.size !== size || e.dtype !== 'float32' || !Number.isInteger(e.offset) || e.offset % 4 !== 0 || e.offset < 0 || e.offset + 4 * size > data.length) {
      fail(`corrupted header entry for weight '${name}' (shape, dtype, offset or size out of range)`, { weight: name });
    }
    if (out.has(e.name)) fail(`weight '${e.name}' appears twice`, { weight: e.name });
    let value: Float32Array;
    if (LITTLE) value = new Float32Array(data.buffer, e.offset, e.size);
    else {
      const view = new DataView(data.buffer);
      value = Float32Array.from({ length: e.size }, (_, k) => view.getFloat32(e.offset + 4 * k, true));
    }
    out.set(e.name, { shape: e.shape, value });
  }
  return out;
}

/**
 * Writes decoded weights into a model, matching by name. Every mismatch (missing, extra, wrong shape) is
 * reported at once, and nothing is written unless all match.
 */
export function applyWeights(model: Layer, weights: Map<string, { shape: number[]; value: Float32Array }>, file = 'weights'): void {
  const problems: string[] = [];
  const vars = model.weights;
  for (const v of vars) {
    const got = weights.get(v.name);
    if (!got) problems.push(`weight '${v.name}' is missing from the file (the model expects shape ${formatShape(v.shape)})`);
    else if (got.shape.length !== v.shape.length || got.shape.some((d, i) => d !== v.shape[i])) {
      problems.push(`weight '${v.name}' has shape ${formatShape(got.shape)} in the file, but the model expects ${formatShape(v.shape)}`);
    }
  }
  const known = new Set(vars.map((v) => v.name));
  for (const [name, w] of weights) if (!known.has(name)) problems.push(`weight '${name}' (shape ${formatShape(w.shape)}) is in the file but not in the model`);
  if (problems.length) {
    const hint = vars.length === 0 ? ` (the model has no weights: build it first, e.g. call it on an Input)` : '';
    throw new WeightsFileError(`weights file '${file}' does not match model '${model.name}'${hint}:\n  - ${problems.join('\n  - ')}`, { file, model: model.name, problems });
  }
  for (const v of vars) v.write(weights.get(v.name)!.value);
}

/**
 * Writes bytes to a path so that it is never seen half-written: a temporary file in the same folder,
 * fsync, rename over the target, then fsync of the folder. On failure the temporary file is removed.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import('node:fs/promises'); // loaded lazily so this module also loads in a browser
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EISDIR' ? 'the path is a directory; give a file path' : err.message;
    throw new WeightsFileError(`cannot write weights file '${path}': ${why}`, { file: path });
  }
  try {
    const d = await fs.open(dir, 'r'); // makes the rename itself durable; not every platform allows it
    await d.sync().finally(() => d.close());
  } catch {
    /* best effort */
  }
}

/** Saves a model's weights to one kiln weights file, atomically (never half-written). Node only. */
export async function saveWeights(model: Layer, path: string): Promise<void> {
  await writeFileAtomic(path, await encodeWeights(model));
}

/** Loads a kiln weights file into a model, matching by name; throws WeightsFileError naming the file and weight. Node only. */
export async function loadWeights(model: Layer, path: string): Promise<void> {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw new WeightsFileError(`cannot read weights file '${path}': ${(e as Error).message}`, { file: path });
  }
  applyWeights(model, await decodeWeights(bytes, path), path);
}

declare module '../frontend/model.js' {
  interface Model {
    /** Saves the model's weights to a kiln weights file (host values: inside fit, sync from the GPU first). */
    saveWeights(path: string): Promise<void>;
    /** Loads a kiln weights file saved by saveWeights, matching weights by name. */
    loadWeights(path: string): Promise<void>;
  }
}

Model.prototype.saveWeights = function (this: Model, path: string) {
  return saveWeights(this, path);
};
Model.prototype.loadWeights = function (this: Model, path: string) {
  return loadWeights(this, path);
};
