import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { decodeWeights, encodeWeights, loadWeights, saveWeights, WeightsFileError } from '../../src/training/weights-file.js';
import { randomData } from '../support/random.js';

let dir: string;
beforeEach(() => {
  clearSession();
  dir = mkdtempSync(join(tmpdir(), 'kiln-wts-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** Dense → BatchNormalization → Dense: trainable and non-trainable weights. Same names after clearSession. */
function mlp(units = 3, extra = false): Model {
  const x = Input({ shape: [4] });
  let y = layers.Dense(units)(x);
  y = layers.BatchNormalization()(y);
  y = layers.Dense(2)(y);
  if (extra) y = layers.Dense(2)(y);
  return new Model({ inputs: x, outputs: y });
}

const bits = (ws: Float32Array[]) => ws.map((w) => [...new Uint32Array(w.buffer, w.byteOffset, w.length)]);
const SPECIAL = new Float32Array(new Uint32Array([0x7fc00001, 0xffc12345, 0x80000000, 0x00000001, 0x7f800000, 0xff7fffff]).buffer); // NaN payloads, -0, denormal, inf, -max

/** A saved file from a model whose weights are random, with special values in the first kernel. */
async function savedFile(name = 'w.kw'): Promise<{ path: string; model: Model }> {
  const model = mlp();
  model.setWeights(model.getWeights().map((w, i) => {
    const v = randomData(w.length, i + 1);
    if (i === 0) v.set(SPECIAL);
    return v;
  }));
  const path = join(dir, name);
  await saveWeights(model, path);
  return { path, model };
}

/** Rewrites the JSON header of a weights file, keeping its data. */
function editHeader(path: string, edit: (h: Record<string, unknown>) => void): void {
  const bytes = readFileSync(path);
  const len = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + len).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(12);
  head.write('KILNWTS1');
  head.writeUInt32LE(json.length, 8);
  writeFileSync(path, Buffer.concat([head, json, bytes.subarray(12 + len)]));
}

async function loadError(model: Model, path: string): Promise<WeightsFileError> {
  const err = await loadWeights(model, path).then(() => null, (e) => e);
  expect(err).toBeInstanceOf(WeightsFileError);
  expect(err.message).toContain(path);
  return err;
}

describe('kiln weights file', () => {
  it('round-trips every weight bit for bit (NaN payloads, -0, denormals, infinities), by name', async () => {
    const { path, model } = await savedFile();
    clearSession();
    const fresh = mlp();
    expect(bits(fresh.getWeights())).not.toEqual(bits(model.getWeights()));
    await fresh.loadWeights(path); // the Model convenience method
    expect(bits(fresh.getWeights())).toEqual(bits(model.getWeights()));
    expect(fresh.weights.map((w) => w.name)).toContain('batch_normalization/moving_mean');
  });

  it('has the documented layout: magic, u32 length, JSON header, aligned float32 data with its hash', async () => {
    const { path, model } = await savedFile();
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString()).toBe('KILNWTS1');
    const len = bytes.readUInt32LE(8);
    expect((12 + len) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(12, 12 + len).toString());
    expect(header).toMatchObject({ format: 'kiln-weights', version: 1, byteLength: bytes.length - 12 - len });
    expect(header.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(header.weights[0]).toEqual({ name: 'dense/kernel', shape: [4, 3], dtype: 'float32', offset: 0, size: 12 });
    const decoded = await decodeWeights(await encodeWeights(model), 'memory');
    expect([...decoded.keys()]).toEqual(model.weights.map((w) => w.name));
  });

  it('model.saveWeights writes atomically: the target is replaced whole, and no temporary file stays', async () => {
    const { path, model } = await savedFile();
    await model.saveWeights(path);
    expect(readdirSync(dir)).toEqual(['w.kw']);
  });

  it('reports every name and shape mismatch at once, naming the file and each weight, and changes nothing', async () => {
    const { path } = await savedFile();
    clearSession();
    const other = mlp(5, true); // dense/kernel (4,5), BN (5,) ×4, dense_1/kernel (5,2), and an extra dense_2
    const before = bits(other.getWeights());
    const err = await loadError(other, path);
    expect(err.message).toContain(`weights file '${path}' does not match model`);
    expect(err.message).toContain("weight 'dense/kernel' has shape (4, 3) in the file, but the model expects (4, 5)");
    expect(err.message).toContain("weight 'batch_normalization/gamma' has shape (3,) in the file, but the model expects (5,)");
    expect(err.message).toContain("weight 'dense_2/kernel' is missing from the file (the model expects shape (2, 2))");
    expect(err.message).toContain("weight 'dense_2/bias' is missing from the file");
    expect((err.context.problems as string[]).length).toBe(9);
    expect(bits(other.getWeights())).toEqual(before);
  });

  it('names a weight the file has but the model lacks', async () => {
    const { path } = await savedFile();
    clearSession();
    const x = Input({ shape: [4] });
    const small = new Model({ inputs: x, outputs: layers.Dense(3)(x) });
    const err = await loadError(small, path);
    expect(err.message).toContain("weight 'dense_1/kernel' (shape (3, 2)) is in the file but not in the model");
    expect(err.message).toContain("weight 'batch_normalization/moving_variance' (shape (3,)) is in the file but not in the model");
  });

  it('truncated files: at any cut, a clear error, never a crash', async () => {
    const { path } = await savedFile();
    const bytes = readFileSync(path);
    const len = bytes.readUInt32LE(8);
    const cuts: [number, RegExp][] = [[0, /truncated or not a kiln weights file \(0 bytes/], [6, /truncated/], [20, /truncated: the header says it is \d+ bytes long/], [12 + len + 10, /truncated: the header says \d+ bytes of weight data, the file has 10/], [bytes.length - 1, /truncated/]];
    for (const [cut, why] of cuts) {
      writeFileSync(path, bytes.subarray(0, cut));
      clearSession();
      expect((await loadError(mlp(), path)).message).toMatch(why);
    }
  });

  it('corrupted data, trailing bytes, a bad magic, a bad header, another version, a missing file', async () => {
    const { path } = await savedFile();
    const good = readFileSync(path);
    const cases: [(b: Buffer) => void, RegExp][] = [
      [(b) => (b[b.length - 3] ^= 0x10), /corrupted data: its SHA-256 does not match the header/],
      [(b) => b.write('PK\x03\x04', 0), /not a kiln weights file \(starts with "PK/],
      [(b) => b.write('X', 12), /corrupted header \(not valid JSON/],
    ];
    for (const [corrupt, why] of cases) {
      const b = Buffer.from(good);
      corrupt(b);
      writeFileSync(path, b);
      expect((await loadError(mlp(), path)).message).toMatch(why);
    }
    writeFileSync(path, Buffer.concat([good, Buffer.from([1, 2, 3, 4])]));
    expect((await loadError(mlp(), path)).message).toMatch(/4 unexpected bytes after the weight data/);
    writeFileSync(path, good);
    editHeader(path, (h) => (h.version = 2));
    expect((await loadError(mlp(), path)).message).toMatch(/format version 2; this kiln reads version 1/);
    writeFileSync(path, good);
    editHeader(path, (h) => ((h.weights as { offset: number }[])[1].offset = 1 << 20));
    expect((await loadError(mlp(), path)).message).toMatch(/corrupted header entry for weight 'dense\/bias'/);
    expect((await loadError(mlp(), join(dir, 'nope.kw'))).message).toMatch(/cannot read weights file .*nope\.kw.*ENOENT/);
  });

  it('a model with no weights yet gets a hint to build it', async () => {
    const { path } = await savedFile();
    class Sub extends Model {
      d = layers.Dense(2);
      override call(x: never) {
        return this.d.apply(x);
      }
    }
    expect((await loadError(new Sub(), path)).message).toMatch(/has no weights: build it first/);
  });

  it('a save that fails midway (fsync error, or the target is a directory) leaves the old file and no temporary', async () => {
    const { path, model } = await savedFile();
    const before = readFileSync(path);
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe);
    await probe.close();
    rmSync(join(dir, 'probe'));
    vi.spyOn(proto, 'sync').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    model.setWeights(model.getWeights().map((w) => w.map(() => 7)));
    await expect(saveWeights(model, path)).rejects.toThrow(/cannot write weights file .*w\.kw.*EIO/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['w.kw']);

    mkdirSync(join(dir, 'adir'));
    await expect(saveWeights(model, join(dir, 'adir'))).rejects.toThrow(/adir'.*is a directory/);
    expect(readdirSync(dir).sort()).toEqual(['adir', 'w.kw']);
  });
});
