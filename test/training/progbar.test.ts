import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProgbarLogger, defaultSink, formatStepTime, type ProgbarSink } from '../../src/training/callbacks/progbar.js';
import { formatMetric } from '../../src/training/callbacks/format.js';
import { runFit } from './fake-loop.js';

afterEach(() => vi.restoreAllMocks());

const ANSI = /\x1b\[[0-9;]*m/g;

function sink(tty: boolean) {
  const out: string[] = [];
  const s: ProgbarSink & { out: string[] } = { tty, out, write: (t) => void out.push(t), line: (t) => void out.push(`${t}\n`) };
  return s;
}

/** A clock: epoch begins at 0 ms, batches end at 100, 150, 200, 250 ms, the epoch at 260 ms. */
function clock() {
  const times = [0, 100, 150, 200, 250, 260];
  let i = 0;
  return () => times[i++ % times.length];
}

const epoch = { loss: 0.4321, accuracy: 0.8456, val_loss: 0.5, val_accuracy: 0.75 };
const batchLogs = (_e: number, b: number) => ({ loss: 0.5 - b / 100, accuracy: 0.8 });
const BAR = '━'.repeat(20);

describe('ProgbarLogger', () => {
  it('verbose 1 on a terminal: epoch line, bar redrawn in place with \\r, final line with val metrics', async () => {
    const s = sink(true);
    await runFit([new ProgbarLogger({ sink: s, now: clock(), intervalMs: 0 })], [epoch], { params: { verbose: 1, epochs: 2, steps: 4 }, batchLogs });
    const text = s.out.map((t) => t.replace(ANSI, ''));
    expect(text[0]).toBe('Epoch 1/2\n');
    expect(text[1]).toBe(`\r1/4 ${BAR} 0s 100ms/step - loss: 0.5000 - accuracy: 0.8000`);
    expect(text[2]).toBe(`\r2/4 ${BAR} 0s 50ms/step - loss: 0.4900 - accuracy: 0.8000 `); // one blank: '100ms' was longer
    expect(text.at(-1)).toBe(`\r4/4 ${BAR} 0s 53ms/step - loss: 0.4321 - accuracy: 0.8456 - val_loss: 0.5000 - val_accuracy: 0.7500\n`);
    expect(s.out[2]).toContain(`\x1b[32m${'━'.repeat(10)}\x1b[0m\x1b[37m${'━'.repeat(10)}\x1b[0m`); // half done: green, then white
  });

  it('blanks what a longer previous line left behind', async () => {
    const s = sink(true);
    const long = () => ({ loss: 0.5, some_long_metric_name: 1 });
    await runFit([new ProgbarLogger({ sink: s, now: clock(), intervalMs: 0 })], [{ loss: 0.5 }], { params: { verbose: 1, steps: 4 }, batchLogs: long });
    const last = s.out.at(-1)!.replace(ANSI, '');
    const prev = s.out.at(-2)!.replace(ANSI, '');
    expect(last.trimEnd().length).toBeLessThan(prev.length);
    expect(last.length - 1).toBe(prev.length); // padded with spaces to the old width, then '\n'
  });

  it('verbose 1 off a terminal (pipe, file, browser) prints only the epoch line and the final line, uncoloured', async () => {
    const s = sink(false);
    await runFit([new ProgbarLogger({ sink: s, now: clock(), intervalMs: 0 })], [epoch], { params: { verbose: 1, epochs: 3, steps: 4 }, batchLogs });
    expect(s.out).toEqual(['Epoch 1/3\n', `4/4 ${BAR} 0s 53ms/step - loss: 0.4321 - accuracy: 0.8456 - val_loss: 0.5000 - val_accuracy: 0.7500\n`]);
  });

  it('verbose 2: the epoch line and one summary line per epoch', async () => {
    const s = sink(true);
    await runFit([new ProgbarLogger({ sink: s, now: clock(), intervalMs: 0 })], [epoch], { params: { verbose: 2, epochs: 2, steps: 4 }, batchLogs });
    expect(s.out).toEqual(['Epoch 1/2\n', '4/4 - 0s - 53ms/step - loss: 0.4321 - accuracy: 0.8456 - val_loss: 0.5000 - val_accuracy: 0.7500\n']);
  });

  it('verbose 0 prints nothing; a single epoch has no epoch line (as Keras)', async () => {
    const s = sink(true);
    await runFit([new ProgbarLogger({ sink: s, now: clock() })], [epoch], { params: { verbose: 0, steps: 4 }, batchLogs });
    expect(s.out).toEqual([]);
    const s1 = sink(false);
    await runFit([new ProgbarLogger({ sink: s1, now: clock() })], [epoch], { params: { verbose: 1, epochs: 1, steps: 4 } });
    expect(s1.out).toHaveLength(1);
    expect(s1.out[0]).toMatch(/^4\/4 /);
  });

  it('redraws at most every intervalMs', async () => {
    const s = sink(true);
    await runFit([new ProgbarLogger({ sink: s, now: clock(), intervalMs: 200 })], [epoch], { params: { verbose: 1, steps: 4 }, batchLogs });
    expect(s.out.map((t) => t.replace(ANSI, '').slice(0, 4))).toEqual(['\r1/4', '\r4/4']); // 100 ms; 150–250 ms are too soon; then the final line
  });

  it('formats as Keras: right-aligned counts, tiny metrics in scientific notation, time units', () => {
    expect(formatMetric(1e-4)).toBe('1.0000e-04');
    expect(formatMetric(-0.5)).toBe('-0.5000');
    expect(formatMetric(NaN)).toBe('nan');
    expect([2, 0.0123, 0.00045, 0].map(formatStepTime)).toEqual([' 2s/step', ' 12ms/step', ' 450us/step', ' 0s/step']);
  });

  it('the default sink falls back to console.log lines when stdout is not a terminal (and in a browser)', () => {
    const tty = process.stdout.isTTY;
    try {
      (process.stdout as { isTTY?: boolean }).isTTY = false;
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const s = defaultSink();
      expect(s.tty).toBe(false);
      s.line('hello');
      expect(log).toHaveBeenCalledWith('hello');
    } finally {
      (process.stdout as { isTTY?: boolean }).isTTY = tty;
    }
  });
});
