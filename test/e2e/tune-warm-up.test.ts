/** kiln tune's and the GEMM sweep's warm-up: windows that agree count only after enough wall time. */
import { describe, expect, it } from 'vitest';
import { warmUp } from '../../src/cli/tune-timer.js';

/** A measurement that takes `ms` of wall time and returns the next of `values` (the last one repeats). */
function measurements(values: number[], ms: number): () => Promise<number> {
  let k = 0;
  return () => new Promise((resolve) => setTimeout(() => resolve(values[Math.min(k++, values.length - 1)]), ms));
}

/** A GPU clocking up: each measurement takes `ms` and reads 4 until `untilMs` have passed since its creation, then 1. */
function clockingUp(untilMs: number, ms: number): () => Promise<number> {
  const start = performance.now();
  return () => new Promise((resolve) => setTimeout(() => resolve(performance.now() - start < untilMs ? 4 : 1), ms));
}

describe('warmUp', () => {
  // Times by the clock, not by counting windows: on a busy machine a 10 ms timer can take 15.
  it('keeps measuring for its minimum time although the first windows already agree (a GPU still clocking up)', async () => {
    const start = performance.now();
    const windows = await warmUp(clockingUp(45, 10), 45);
    expect(performance.now() - start).toBeGreaterThanOrEqual(45);
    expect(windows[0]).toBe(4);
    expect(windows.slice(-2)).toEqual([1, 1]);
  });

  it('after its minimum time, stops at the first two windows within 5% of each other', async () => {
    const windows = await warmUp(measurements([3, 2, 1.5, 1.02, 1, 1, 1], 1), 0);
    expect(windows).toEqual([3, 2, 1.5, 1.02, 1]);
  });
});
