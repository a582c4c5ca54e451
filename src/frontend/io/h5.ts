/**
 * HDF5 through h5wasm, on in-memory bytes: h5wasm works on files of its own (Emscripten) file system,
 * so bytes are written there, opened, read, and removed. HDF5's error stack is turned into exceptions
 * (not printed), and every failure becomes a ModelFileError naming the file.
 */
import type { Dataset, File as H5File, Group } from 'h5wasm';
import { fileError } from './errors.js';

type H5 = typeof import('h5wasm').default;
type H5FS = { writeFile(path: string, data: Uint8Array): void; readFile(path: string): Uint8Array; unlink(path: string): void };

let loaded: Promise<{ h5: H5; FS: H5FS }> | undefined;
let counter = 0;

/** h5wasm, loaded on first use (it is a WebAssembly module that other commands need not load). */
function h5wasm(): Promise<{ h5: H5; FS: H5FS }> {
  loaded ??= (async () => {
    const h5 = (await import('h5wasm')).default;
    const module = (await h5.ready) as unknown as { FS: H5FS; activate_throwing_error_handler(): number };
    module.activate_throwing_error_handler();
    return { h5, FS: module.FS };
  })();
  return loaded;
}

/** The HDF5 signature, at offset 0 of files kiln reads. */
export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether bytes start with the HDF5 signature. */
export function isHdf5(bytes: Uint8Array): boolean {
  return HDF5_MAGIC.every((b, i) => bytes[i] === b);
}

/** The first line of an HDF5 error stack that says what went wrong. */
function hdf5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const minor = /minor: (.*)/.exec(text)?.[1]?.trim();
  return minor ? minor.toLowerCase() : text.split('\n')[0];
}

/** Opens HDF5 bytes read-only and runs `fn` on the file; a file HDF5 cannot open is a ModelFileError naming it. */
export async function readHdf5<T>(bytes: Uint8Array, file: string, fn: (f: H5File) => T): Promise<T> {
  if (!isHdf5(bytes)) fileError(file, `not an HDF5 file (it does not start with the HDF5 signature; ${bytes.length} bytes)`);
  const { h5, FS } = await h5wasm();
  const path = `/kiln-read-${globalThis.process?.pid ?? 0}-${counter++}.h5`;
  FS.writeFile(path, bytes);
  let f: H5File | undefined;
  try {
    try {
      f = new h5.File(path, 'r');
    } catch (e) {
      return fileError(file, `not a readable HDF5 file, truncated or corrupt (${hdf5Reason(e)})`);
    }
    try {
      return fn(f);
    } catch (e) {
      if (e instanceof Error && e.name === 'ModelFileError') throw e;
      return fileError(file, `cannot read the HDF5 file, truncated or corrupt (${hdf5Reason(e)})`);
    }
  } finally {
    try {
      f?.close();
    } catch {
      /* a corrupt file may fail to close; the bytes are dropped below anyway */
    }
    FS.unlink(path);
  }
}

/** Creates an HDF5 file, lets `fn` fill it, and returns its bytes. */
export async function writeHdf5(fn: (f: H5File) => void): Promise<Uint8Array> {
  const { h5, FS } = await h5wasm();
  const path = `/kiln-write-${globalThis.process?.pid ?? 0}-${counter++}.h5`;
  const f = new h5.File(path, 'w');
  try {
    fn(f);
  } finally {
    f.close();
  }
  const bytes = FS.readFile(path);
  FS.unlink(path);
  return bytes;
}

/** An attribute as a list of strings (fixed-length bytes, variable-length strings, or one string). */
export function stringsAttr(obj: Group | Dataset, name: string): string[] | undefined {
  const attr = obj.attrs[name];
  if (!attr) {
    // Keras splits long lists over `name0`, `name1`, … (HDF5 caps an attribute at 64 KiB).
    const parts: string[] = [];
    for (let i = 0; obj.attrs[`${name}${i}`]; i++) parts.push(...(stringsAttr(obj, `${name}${i}`) ?? []));
    return parts.length ? parts : undefined;
  }
  const v = attr.value;
  if (v === null || v === undefined) return [];
  if (typeof v === 'string') return [v];
  // Keras writes an empty list as an empty float array (np.asarray([])).
  if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 0) return [];
  if (v instanceof Uint8Array) return [new TextDecoder().decode(v)];
  if (Array.isArray(v)) return v.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x)));
  return [String(v)];
}

/** Writes a list of strings as Keras does (`np.array([s.encode() …])`: fixed-length byte strings). */
export function writeStringsAttr(obj: Group, name: string, values: readonly string[]): void {
  const width = Math.max(1, ...values.map((s) => new TextEncoder().encode(s).length));
  obj.create_attribute(name, [...values], [values.length], `S${width}`);
}

/** A dataset's values as float32, whatever float or int type the file stores. */
export function datasetValues(ds: Dataset): { shape: number[]; value: Float32Array } {
  const raw = ds.value;
  const shape = ds.shape ?? [];
  if (typeof raw === 'number') return { shape, value: Float32Array.of(raw) };
  if (raw instanceof Float32Array) return { shape, value: raw.slice() };
  if (ArrayBuffer.isView(raw) && !(raw instanceof DataView)) return { shape, value: Float32Array.from(raw as unknown as ArrayLike<number>, Number) };
  throw new Error(`dataset ${ds.path} holds ${Array.isArray(raw) ? 'a list' : typeof raw}, not numbers`);
}

export type { H5File, Group as H5Group, Dataset as H5Dataset };
