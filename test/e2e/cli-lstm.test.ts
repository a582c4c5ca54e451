// `kiln compile` and `kiln inspect` on samples/lstm.ts: the whole LSTM, all 20 time steps, is one
// kernel in the bundle, and inspect prints the count (the "Done means").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

// vitest compiles TypeScript on import(), as tsx does under bin/kiln.mjs: the model loader may use plain import().
(globalThis as Record<symbol, unknown>)[Symbol.for('kiln.tsxRegistered')] = true;

/** Runs main() in this process; returns what it printed to stdout, failing on a non-zero exit. */
async function kiln(...args: string[]): Promise<string> {
  let stdout = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
  try {
    expect(await main(args), `kiln ${args.join(' ')}`).toBe(0);
    return stdout;
  } finally {
    log.mockRestore();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'kiln-cli-lstm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('kiln inspect on the bench LSTM', () => {
  it('shows 2 kernels: the LSTM over all steps, then Dense + softmax', async () => {
    const bundle = join(tmp, 'lstm.kiln');
    await kiln('compile', 'samples/lstm.ts', '-o', bundle, '--batch', '4');
    const out = await kiln('inspect', bundle);
    expect(out).toContain('total: 2 kernels');
    expect(out).toMatch(/lstm\/rnnSequence\s+rnnSequence/);
  });
});
