/**
 * Fashion-MNIST from its IDX files (the format of the original MNIST distribution): the gzipped
 * files Debian's `dataset-fashion-mnist` installs in /usr/share/datasets/fashion-mnist, or the same
 * files uncompressed. Every header is checked (magic number, dims, size) before any data is used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { KilnError } from '../ir/errors.js';

/** A dataset file that is missing or not what it should be; the message names the file. */
export class DatasetError extends KilnError {}

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The ten classes, by label. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

const INSTALL_HINT =
  "run 'bash scripts/setup.sh' (as root it installs Fashion-MNIST with apt) or 'apt-get install dataset-fashion-mnist', " +
  'or set KILN_FASHION_MNIST_DIR to a folder holding the IDX files';

/** A parsed IDX file: unsigned bytes with their dims. */
export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

/**
 * Parses IDX bytes (magic 0x0000 08 NN: unsigned bytes, NN dims, then NN big-endian uint32 sizes),
 * checking the magic number, the number of dims when given, and that the data fills the sizes exactly.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectDims?: number): IdxArray {
  if (bytes.length < 4) throw new DatasetError(`${file}: ${bytes.length} bytes, too short for an IDX file`, { file });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = bytes[2];
  const ndims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== 0x08) {
    throw new DatasetError(`${file}: bad IDX magic number 0x${magic.toString(16).padStart(8, '0')} (want 0x0000080N: unsigned bytes); the file is corrupt or not an IDX file`, { file });
  }
  if (expectDims !== undefined && ndims !== expectDims) {
    throw new DatasetError(`${file}: IDX magic 0x${magic.toString(16).padStart(8, '0')} says ${ndims} dims, want ${expectDims} (0x0000080${expectDims})`, { file });
  }
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw new DatasetError(`${file}: truncated IDX header (${bytes.length} bytes)`, { file });
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== size) {
    throw new DatasetError(`${file}: IDX header says [${dims.join(', ')}] = ${size} bytes of data, the file has ${bytes.length - header}; it is truncated or corrupt`, { file });
  }
  return { dims, data: bytes.subarray(header) };
}

/** Reads one IDX file, gunzipping it when its name ends in .gz. */
export function readIdx(file: string, expectDims?: number): IdxArray {
  if (!existsSync(file)) throw new DatasetError(`Fashion-MNIST file not found: ${file}; ${INSTALL_HINT}`, { file });
  let bytes: Uint8Array = readFileSync(file);
  if (file.endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DatasetError(`${file}: not a valid gzip file (${(e as Error).message}); reinstall it: ${INSTALL_HINT}`, { file });
    }
  }
  return parseIdx(bytes, file, expectDims);
}

/** One split of Fashion-MNIST: `count` images of rows×cols bytes (0..255, row-major) and their labels. */
export interface FashionMnist {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
}

/** The file of a split and kind in `dir`: the gzipped name, or the uncompressed one if only that exists. */
function splitFile(dir: string, split: 'train' | 'test', kind: 'images-idx3' | 'labels-idx1'): string {
  const base = join(dir, `${split === 'test' ? 't10k' : 'train'}-${kind}-ubyte`);
  return existsSync(`${base}.gz`) || !existsSync(base) ? `${base}.gz` : base;
}

/**
 * Loads a split of Fashion-MNIST from `dir` (default: KILN_FASHION_MNIST_DIR, else Debian's folder),
 * checking that images are 28×28 and that image and label counts agree. `limit` keeps the first n.
 */
export function loadFashionMnist(options: { split?: 'train' | 'test'; dir?: string; limit?: number } = {}): FashionMnist {
  const dir = options.dir ?? process.env.KILN_FASHION_MNIST_DIR ?? FASHION_MNIST_DIR;
  const split = options.split ?? 'test';
  const imageFile = splitFile(dir, split, 'images-idx3');
  const labelFile = splitFile(dir, split, 'labels-idx1');
  const images = readIdx(imageFile, 3);
  const labels = readIdx(labelFile, 1);
  const [n, rows, cols] = images.dims;
  if (rows !== 28 || cols !== 28) throw new DatasetError(`${imageFile}: images are ${rows}×${cols}, Fashion-MNIST's are 28×28`, { file: imageFile });
  if (labels.dims[0] !== n) throw new DatasetError(`${labelFile}: ${labels.dims[0]} labels for ${n} images in ${imageFile}`, { file: labelFile });
  const bad = labels.data.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new DatasetError(`${labelFile}: label ${labels.data[bad]} at index ${bad} is not a class (0..9)`, { file: labelFile });
  const count = Math.min(n, options.limit ?? n);
  return { images: images.data.subarray(0, count * rows * cols), labels: labels.data.subarray(0, count), count, rows, cols };
}

/** Images as floats scaled to [0, 1], flattened to [count, rows·cols]. */
export function toUnitFloats(images: Uint8Array): Float32Array {
  return Float32Array.from(images, (b) => b / 255);
}
