/** How a long reduction (gradients over batch × steps or pixels) is cut into chunks of partial sums. */
import { describe, expect, it } from 'vitest';
import { kChunks } from '../../src/codegen/lower/split-gemm.js';

describe('kChunks', () => {
  it('cuts K into chunks of about the size asked for, one when K is short', () => {
    expect(kChunks(81920, 128)).toEqual({ chunks: 640, kc: 128 });
    expect(kChunks(100, 128)).toEqual({ chunks: 1, kc: 100 });
    expect(kChunks(8400, 128)).toEqual({ chunks: 66, kc: 128 });
  });

  it('makes no more than 8192 chunks (workgroups along one dispatch dimension)', () => {
    expect(kChunks(10_000_000, 128).chunks).toBe(8192);
    // The CNN's filter gradient at batch 4096: 4096 × 26 × 26 pixels in chunks of 1024.
    expect(kChunks(4096 * 26 * 26, 1024, 9 * 32).chunks).toBe(2704);
  });

  it('gives wide outputs fewer chunks, so their partial sums stay within 16 MiB of scratch', () => {
    // A 512-unit LSTM's dR: 512 × 2048 outputs, 4 Mi floats of partials at most.
    expect(kChunks(81920, 128, 512 * 2048)).toEqual({ chunks: 4, kc: 20480 });
    expect(kChunks(81920, 128, 2 ** 23).chunks).toBe(1);
  });
});
