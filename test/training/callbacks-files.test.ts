import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { loadWeights, saveWeights, WeightsFileError } from '../../src/training/weights-file.js';
import { formatPath, pyFloat } from '../../src/training/callbacks/format.js';
import { callbacks } from './imports.js';
import { fakeControl, runFit, series } from './fake-loop.js';

let dir: string;
beforeEach(() => {
  clearSession();
  dir = mkdtempSync(join(tmpdir(), 'kiln-cb-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function tinyModel() {
  const x = Input({ shape: [2] });
  return new Model({ inputs: x, outputs: layers.Dense(1)(x) });
}
const setTo = (model: Model, v: number) => model.setWeights([[v, v], [v]]);

describe('CSVLogger', () => {
  const logs = [{ loss: 0.5, accuracy: 0.25, val_loss: 1e-5, val_accuracy: 0.1 }, { loss: 0.375, accuracy: 1, val_loss: 0.2, val_accuracy: NaN }];

  it('writes epoch first, then the log names sorted, values as Python writes them', async () => {
    const file = join(dir, 'log.csv');
    await runFit([callbacks.CSVLogger(file)], logs);
    expect(readFileSync(file, 'utf8')).toBe('epoch,accuracy,loss,val_accuracy,val_loss\n0,0.25,0.5,0.1,1e-05\n1,1.0,0.375,nan,0.2\n');
  });

  it('append: adds rows without a second header; without it the file starts over', async () => {
    const file = join(dir, 'log.csv');
    await runFit([callbacks.CSVLogger(file, { append: true })], logs.slice(0, 1));
    await runFit([callbacks.CSVLogger(file, { append: true })], logs.slice(1));
    expect(readFileSync(file, 'utf8').split('\n')).toEqual(['epoch,accuracy,loss,val_accuracy,val_loss', '0,0.25,0.5,0.1,1e-05', '0,1.0,0.375,nan,0.2', '']);
    await runFit([callbacks.CSVLogger(file)], logs.slice(0, 1));
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
  });

  it('separator; NA for a value an epoch lacks; validation columns from params.metrics even if epoch 0 has none', async () => {
    const file = join(dir, 'log.tsv');
    await runFit([callbacks.CSVLogger(file, { separator: ';' })], [{ loss: 2 }, { loss: 1, val_loss: 3 }], { params: { metrics: ['loss', 'val_loss'] } });
    expect(readFileSync(file, 'utf8')).toBe('epoch;loss;val_loss\n0;2.0;NA\n1;1.0;3.0\n');
  });
});

describe('Keras placeholders in file paths', () => {
  it('formats like Python str.format', () => {
    const logs = { val_loss: 0.43219, loss: 0.000123456, acc: 0.5 };
    expect(formatPath('w-{epoch:02d}-{val_loss:.2f}.kw', { epoch: 3 }, logs)).toBe('w-03-0.43.kw');
    expect(formatPath('{epoch}/{loss:.3e}/{acc}/{acc:.1%}/{{x}}/{epoch:3d}', { epoch: 12 }, logs)).toBe('12/1.235e-04/0.5/50.0%/{x}/ 12');
    expect(() => formatPath('w-{val_acc:.2f}', { epoch: 1 }, logs)).toThrow(/names '\{val_acc\}', which is not in the logs \(available: epoch, val_loss, loss, acc\)/);
  });

  it('writes floats as Python repr does', () => {
    expect([0.1, 1, 1e-5, 1e16, 123456.5, -2.5e-7, NaN, -Infinity, 0.0001].map(pyFloat)).toEqual(['0.1', '1.0', '1e-05', '1e+16', '123456.5', '-2.5e-07', 'nan', '-inf', '0.0001']);
  });
});

describe('ModelCheckpoint', () => {
  it('fills placeholders (1-based epoch), syncs the GPU weights first, and saves loadable weights each epoch', async () => {
    const model = tinyModel();
    const control = fakeControl();
    const cp = callbacks.ModelCheckpoint({ filepath: join(dir, 'ckpt', 'w-{epoch:02d}-{val_loss:.2f}.kw') });
    await runFit([cp], series('val_loss', [0.5, 0.25]), { model, control, train: (e) => setTo(model, e + 1) });
    expect(readdirSync(join(dir, 'ckpt')).sort()).toEqual(['w-01-0.50.kw', 'w-02-0.25.kw']);
    expect(control.syncs).toBe(2);
    await loadWeights(model, join(dir, 'ckpt', 'w-01-0.50.kw'));
    expect([...model.getWeights()[0]]).toEqual([1, 1]);
  });

  it('saveBestOnly: writes only when the monitored value improves, then holds the best epoch', async () => {
    const model = tinyModel();
    const writes: string[] = [];
    const writer = async (m: Model, p: string) => void (writes.push(p), await saveWeights(m, p));
    const file = join(dir, 'best.kw');
    const cp = callbacks.ModelCheckpoint({ filepath: file, saveBestOnly: true, writer });
    await runFit([cp], series('val_loss', [0.5, 0.6, 0.4, 0.45]), { model, train: (e) => setTo(model, e + 1) });
    expect(writes).toHaveLength(2);
    expect(cp.best).toBe(0.4);
    await loadWeights(model, file);
    expect([...model.getWeights()[1]]).toEqual([3]);
  });

  it("saveBestOnly with mode 'auto' maximizes accuracy; a missing monitor warns and skips", async () => {
    const model = tinyModel();
    const writes: number[] = [];
    const cp = callbacks.ModelCheckpoint({ filepath: join(dir, 'a.kw'), monitor: 'val_accuracy', saveBestOnly: true, writer: async () => void writes.push(1) });
    await runFit([cp], series('val_accuracy', [0.5, 0.4, 0.7]), { model });
    expect(writes).toHaveLength(2);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await runFit([callbacks.ModelCheckpoint({ filepath: join(dir, 'b.kw'), saveBestOnly: true })], [{ loss: 1 }, { loss: 1 }], { model });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(readdirSync(dir)).not.toContain('b.kw');
  });

  it('a placeholder naming a missing metric is an error naming it', async () => {
    const cp = callbacks.ModelCheckpoint({ filepath: join(dir, 'w-{val_acc:.2f}.kw') });
    await expect(runFit([cp], series('val_loss', [1]), { model: tinyModel() })).rejects.toThrow(/'\{val_acc\}', which is not in the logs/);
  });

  it('saveFreq in batches saves every N batches across epochs, with {batch}', async () => {
    const model = tinyModel();
    const writes: string[] = [];
    const cp = callbacks.ModelCheckpoint({ filepath: join(dir, 'e{epoch}-b{batch}.kw'), saveFreq: 3, writer: async (_m, p) => void writes.push(p.slice(dir.length + 1)) });
    await runFit([cp], series('loss', [1, 1, 1]), { model, batchLogs: () => ({ loss: 1 }) });
    expect(writes).toEqual(['e1-b3.kw', 'e2-b2.kw', 'e3-b1.kw', 'e3-b4.kw']);
  });

  it('a failed write leaves no file, no temporary file, and the best unchanged', async () => {
    const model = tinyModel();
    mkdirSync(join(dir, 'taken.kw')); // the target is a directory: the final rename fails
    const cp = callbacks.ModelCheckpoint({ filepath: join(dir, 'taken.kw'), saveBestOnly: true });
    const err = await runFit([cp], series('val_loss', [0.5]), { model }).catch((e) => e);
    expect(err).toBeInstanceOf(WeightsFileError);
    expect(err.message).toMatch(/taken\.kw.*is a directory/);
    expect(readdirSync(dir)).toEqual(['taken.kw']);
    expect(readdirSync(join(dir, 'taken.kw'))).toEqual([]);
    expect(cp.best).toBe(Infinity);

    const failing = callbacks.ModelCheckpoint({ filepath: join(dir, 'x.kw'), writer: async () => { throw new Error('disk full'); } });
    await expect(runFit([failing], series('val_loss', [0.5]), { model })).rejects.toThrow('disk full');
  });

  it('rejects what kiln cannot do yet, and bad options', () => {
    expect(() => callbacks.ModelCheckpoint({ filepath: 'x', saveWeightsOnly: false })).toThrow(/weights only/);
    expect(() => callbacks.ModelCheckpoint({ filepath: 'x', saveFreq: 0 })).toThrow(/saveFreq/);
  });
});

it('CSVLogger reports a file it cannot open', async () => {
  writeFileSync(join(dir, 'file'), '');
  await expect(runFit([callbacks.CSVLogger(join(dir, 'file', 'log.csv'))], [{ loss: 1 }])).rejects.toThrow(/CSVLogger cannot open .*log\.csv/);
});
