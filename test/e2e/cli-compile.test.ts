// `kiln compile`, `kiln inspect` and `kiln run <bundle>`: compile the sample MLP to a temporary folder,
// describe it, run it on the GPU against the interpreter. Every case calls main() in this process, one
// at a time (they share its console), in the order written: later cases read the bundles earlier ones wrote.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { inference } from '../../src/passes/pipelines.js';

// vitest compiles TypeScript on import(), as tsx does under bin/kiln.mjs: the model loader may use plain import().
(globalThis as Record<symbol, unknown>)[Symbol.for('kiln.tsxRegistered')] = true;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs main() in this process, capturing what it prints. */
async function kiln(...args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

/** A successful command's stdout. */
function ok(r: Result): string {
  expect(r.stderr, 'stderr').toBe('');
  expect(r.code, 'exit code').toBe(0);
  return r.stdout;
}

/** A failed command's one `kiln: ...` error line. */
function fails(r: Result): string {
  expect(r.code, `exit code (stdout: ${r.stdout})`).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, 'one error line, no stack trace').toHaveLength(1);
  expect(lines[0]).toMatch(/^kiln: /);
  return lines[0];
}

const tmp = mkdtempSync(join(tmpdir(), 'kiln-cli-compile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const folder = join(tmp, 'mlp.kiln');
const single = join(tmp, 'mlp.single.kiln');

describe('kiln compile', () => {
  it('compiles samples/mlp.ts to a folder and prints the kernel count and the compile time', async () => {
    const out = ok(await kiln('compile', 'samples/mlp.ts', '-o', folder, '--batch', '2', '--check'));
    expect(out).toContain("compiled model 'mlp' (export 'model' of samples/mlp.ts) for batch 2");
    expect(out).toContain('3 kernels (3 distinct)');
    expect(out).toMatch(/compile time +\d+(\.\d+)? ms, from the traced graph to the written bundle/);
    expect(out).toMatch(/weights +2,679,040 bytes \(2\.55 MiB\), 6 entries/);
    expect(out).toContain(`wrote ${folder} (a folder`);
    expect(JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')).model.batch).toBe(2);
  });

  it('writes one file with --single-file', async () => {
    const out = ok(await kiln('compile', 'samples/mlp.ts', '-o', single, '--batch', '2', '--single-file'));
    expect(out).toContain(`wrote ${single} (one file)`);
    expect(readFileSync(single).subarray(0, 8).toString()).toBe('KILNBNDL');
  });

  it('replaces an existing bundle only with --force', async () => {
    const line = fails(await kiln('compile', 'samples/mlp.ts', '-o', folder, '--batch', '2'));
    expect(line).toContain('already holds a kiln bundle');
    expect(line).toContain('--force');
    expect(ok(await kiln('compile', 'samples/mlp.ts', '-o', folder, '--batch', '2', '--force'))).toContain('3 kernels (3 distinct)');
  });

  it('never overwrites a path that is not a bundle, even with --force', async () => {
    const notes = join(tmp, 'notes.txt');
    writeFileSync(notes, 'keep me');
    const dir = join(tmp, 'photos');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cat.jpg'), 'meow');
    for (const path of [notes, dir]) {
      for (const force of [[], ['--force']]) {
        const line = fails(await kiln('compile', 'samples/mlp.ts', '-o', path, ...force));
        expect(line).toContain(`'${path}' exists and is not a kiln bundle; refusing to overwrite it`);
      }
    }
    expect(readFileSync(notes, 'utf8')).toBe('keep me');
    expect(readFileSync(join(dir, 'cat.jpg'), 'utf8')).toBe('meow');
  });

  it('--dump-after fuseEpilogues prints the graph with the fused nodes', async () => {
    const out = ok(await kiln('compile', 'samples/mlp.ts', '-o', join(tmp, 'dump.kiln'), '--dump-after', 'fuseEpilogues'));
    const index = inference.findIndex((p) => p.name === 'fuseEpilogues') + 1;
    expect(out).toContain(`// after pass ${index} of ${inference.length}: fuseEpilogues\ngraph {`);
    const fused = out.split('\n').filter((l) => /= fused\(/.test(l));
    expect(fused).toHaveLength(3);
    expect(fused[0]).toContain('kind: "epilogue"');
    expect(fused[0]).toContain('op: "relu"');
    expect(out).toContain('3 kernels (3 distinct)');
  });

  it('--dump-after with an unknown pass lists the passes', async () => {
    const line = fails(await kiln('compile', 'samples/mlp.ts', '-o', join(tmp, 'bogus.kiln'), '--dump-after', 'bogus'));
    expect(line).toContain("unknown pass 'bogus'");
    for (const p of inference) expect(line).toContain(p.name);
  });
});

describe('kiln inspect', () => {
  it('describes the kernels, steps, signature and buffers of a bundle', async () => {
    const out = ok(await kiln('inspect', folder));
    expect(out).toContain('3 kernels (3 distinct)');
    expect(out).toContain("model 'mlp', compiled for batch 2");
    expect(out).toContain('precision: float32\n');
    expect(out).toMatch(/input +'input_layer' +\(2, 784\) +float32/);
    expect(out).toMatch(/output +'dense_2' +\(2, 10\) +float32/);
    expect(out).toMatch(/arena +[\d,]+ bytes/);
    expect(out).toMatch(/weights +2,679,040 bytes \(2\.55 MiB\), 6 entries/);
    expect(out).toMatch(/^ {2}0 +dense\/matmul +fused: matmul → add → relu +[0-9a-f]{16} +\(\d+, \d+, \d+\)$/m);
    expect(out).toMatch(/^ {2}2 +dense_2\/matmul +fused: matmul → add → softmax /m);
    expect(out).toMatch(/^ {2}[0-9a-f]{16} +\(\d+, \d+, \d+\) +0$/m);
  });

  it('reads a single-file bundle too', async () => {
    const out = ok(await kiln('inspect', single));
    expect(out).toContain('(single file)');
    expect(out).toContain('3 kernels (3 distinct)');
  });

  it('says a model file must be compiled first', async () => {
    expect(fails(await kiln('inspect', 'samples/mlp.ts'))).toContain('compile it first: kiln compile samples/mlp.ts');
  });
});

describe('kiln run <bundle>', () => {
  it('--random-input --check runs the bundle on the GPU and PASSes against the interpreter on its graph.json', async () => {
    const out = ok(await kiln('run', folder, '--random-input', '--check', '--seed', '3'));
    expect(out).toMatch(/^adapter: \S/m);
    expect(out).toContain('arena poisoned with NaN');
    expect(out).toContain("input  'input_layer': (2, 784) float32, uniform in [-1, 1)");
    expect(out).toContain("output 'dense_2': (2, 10) float32");
    expect(out).toMatch(/output 'dense_2': max \|diff\| \S+, max rel diff \S+: PASS/);
    expect(out).toContain('check: PASS');
  });

  it('runs a single-file bundle', async () => {
    expect(ok(await kiln('run', single, '--random-input', '--check'))).toContain('check: PASS');
  });

  it('prints FAIL and exits with status 1 when the tolerance is not met', async () => {
    const r = await kiln('run', folder, '--random-input', '--check', '--rtol', '0', '--atol', '0');
    expect(r.stdout).toMatch(/output 'dense_2': max \|diff\| .*: FAIL: \d+ of 20 elements outside the tolerance/);
    expect(fails(r)).toContain("check failed: output 'dense_2' differs from the reference interpreter");
  });

  it('refuses another batch than the bundle was compiled for', async () => {
    expect(fails(await kiln('run', folder, '--random-input', '--batch', '4'))).toContain('was compiled for batch 2, not 4');
  });
});

describe('kiln compile --precision mixed', () => {
  const mixed = join(tmp, 'mlp.mixed.kiln');

  it('builds f16 GEMMs for a device with shader-f16, says so, and records the precision and the feature in the manifest', async () => {
    const out = ok(await kiln('compile', 'samples/mlp.ts', '-o', mixed, '--batch', '32', '--precision', 'mixed', '--target', 'cpu'));
    expect(out).toContain('precision     mixed: f16 operands in workgroup tiles, f32 accumulation; the device must have shader-f16');
    const manifest = JSON.parse(readFileSync(join(mixed, 'manifest.json'), 'utf8'));
    expect(manifest.precision).toBe('mixed');
    expect(manifest.features).toEqual(['shader-f16']);
  });

  it('kiln inspect names its precision and the features it needs', async () => {
    expect(ok(await kiln('inspect', mixed))).toContain('precision: mixed; needs the WebGPU features shader-f16\n');
  });

  it('runs on the GPU within f16 rounding of the interpreter (lavapipe has shader-f16)', async () => {
    const out = ok(await kiln('run', mixed, '--random-input', '--check', '--rtol', '1e-2', '--atol', '2e-3'));
    expect(out).toContain('check: PASS');
  });

  it('with the subgroup-matrix features listed, builds tensor-core kernels', async () => {
    // Batch 256: at 32 the long-K products split K in f32 kernels, whose grid fills a GPU where a tensor-core one would not.
    const out = ok(await kiln('compile', 'samples/mlp.ts', '-o', join(tmp, 'mlp.mma.kiln'), '--batch', '256', '--precision', 'mixed', '--features', 'shader-f16,subgroups,chromium-experimental-subgroup-matrix'));
    expect(out).toContain('precision     mixed: f16 operands on tensor cores (subgroup matrices), f32 accumulation; the device must have chromium-experimental-subgroup-matrix, shader-f16, subgroups');
  });

  it('refuses features kiln does not know, features without mixed precision, and mixed precision without shader-f16', async () => {
    const out = join(tmp, 'never.kiln');
    expect(fails(await kiln('compile', 'samples/mlp.ts', '-o', out, '--precision', 'mixed', '--features', 'shader-f16,fast'))).toContain("--features: unknown feature 'fast'");
    expect(fails(await kiln('compile', 'samples/mlp.ts', '-o', out, '--features', 'shader-f16'))).toContain('--features describes the device for --precision mixed');
    expect(fails(await kiln('compile', 'samples/mlp.ts', '-o', out, '--precision', 'mixed', '--features', 'subgroups'))).toContain("--precision mixed needs 'shader-f16' among --features");
    expect(fails(await kiln('compile', 'samples/mlp.ts', '-o', out, '--precision', 'half'))).toContain("unknown --precision 'half'");
  });
});

describe('kiln compile --micro-batch', () => {
  const micro = join(tmp, 'mlp.micro.kiln');

  it('compiles the kernels for the micro-batch and says how many a call runs', async () => {
    const out = ok(await kiln('compile', 'samples/mlp.ts', '-o', micro, '--batch', '6', '--micro-batch', '2'));
    expect(out).toContain("compiled model 'mlp' (export 'model' of samples/mlp.ts) for batch 6, in 3 micro-batches of 2");
    expect(out).toContain('one submit per micro-batch, each upload overlapping the micro-batch before');
    expect(ok(await kiln('inspect', micro))).toMatch(/compiled for batch 6, in 3 micro-batches of 2[\s\S]*input\s+'input_layer'\s+\(6, 784\)/);
  });

  it('runs the whole batch on the GPU and PASSes against the interpreter, micro-batch by micro-batch', async () => {
    const out = ok(await kiln('run', micro, '--random-input', '--check'));
    expect(out).toContain("output 'dense_2': (6, 10) float32");
    expect(out).toContain('check: PASS');
  });

  it("refuses a micro-batch that does not divide the batch, and a value that is neither a number nor 'auto'", async () => {
    expect(fails(await kiln('compile', 'samples/mlp.ts', '-o', join(tmp, 'never.kiln'), '--batch', '6', '--micro-batch', '4'))).toContain('microBatch must be a whole number of samples that divides the batch 6, got 4');
    const r = await kiln('compile', 'samples/mlp.ts', '-o', join(tmp, 'never.kiln'), '--micro-batch', 'half');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("argument 'half' is invalid. expected 'auto' or a whole number of samples ≥ 1, got 'half'");
  });
});
