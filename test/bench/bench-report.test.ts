/**
 * bench/report.ts: one table from the benchmark log, the targets checked against ratios from
 * the same run, peers that were missing shown as rows, and the JSON beside it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TARGETS, meets, targetLabel, targetsFor } from '../../bench/targets.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const row = (r: object) => `bench ${JSON.stringify(r)}`;

const LOG = [
  'device: NVIDIA H200, 580.159.04',
  'command: BENCH_PARTS=models,gemm,load bash bench/run.sh',
  row({ part: 'peer', system: 'ort', status: 'unavailable', reason: 'no python3 with torch and onnx to export the models' }),
  row({ part: 'models', system: 'kiln', model: 'mlp', batch: 256, variant: '', metric: 'predict', ms: 0.1, kernels: 3 }),
  'torch-cuda-eager mlp batch=256 predict_ms=0.110 train_step_ms=1.210',
  'tfjs-webgpu mlp batch=256 predict_ms=4.400 train_step_ms=12.1',
  row({ part: 'models', system: 'kiln', model: 'resnet', batch: 256, variant: '', metric: 'predict', ms: 3.2, kernels: 9 }),
  'torch-cuda-eager resnet batch=256 predict_ms=1.600 train_step_ms=10.7',
  row({ part: 'models', system: 'kiln', model: 'lstm', batch: 1, variant: '', metric: 'predict', status: 'missing', reason: 'samples/lstm.ts does not exist yet' }),
  row({ part: 'gemm', system: 'kiln', size: 4096, precision: 'fp32', variant: '', path: 'f32 tiles', ms: 4, tflops: 34.4, max_abs_err: 2e-5, ref_scale: 60 }),
  row({ part: 'gemm', system: 'torch', size: 4096, precision: 'fp32', ms: 2.7, tflops: 51, max_abs_err: 1e-5, ref_scale: 60 }),
  row({ part: 'gemm', system: 'kiln', size: 4096, precision: 'mixed', variant: '', status: 'not available', reason: 'no f16 kernel' }),
  row({ part: 'gemm', system: 'torch', size: 4096, precision: 'fp16', ms: 0.25, tflops: 550, max_abs_err: 0.03, ref_scale: 60 }),
  ...[120, 140, 900].map((ms) => row({ part: 'load', system: 'kiln', model: 'mlp', batch: 1, ms, device_ms: 50, read_ms: 1, setup_ms: ms - 60, first_predict_ms: 9 })),
].join('\n');

describe('the benchmark report', () => {
  const logPath = join(dir, 'bench.log');
  const jsonPath = join(dir, 'bench.json');
  writeFileSync(logPath, LOG);
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/report.ts', logPath, jsonPath], { encoding: 'utf8' });
  const line = (start: string) => out.split('\n').find((l) => l.startsWith(`| ${start} |`)) ?? '';

  it('prints kiln against every peer with the ratios and targets of that row', () => {
    expect(line('mlp b=256 predict')).toMatch(/\| 0\.100 \| 0\.110 \| unavailable \| 4\.40 \| 0\.91× \| — \| 44\.0× \| ≤ 1\.0× PyTorch; ≥ 2\.0× ORT; ≥ 20\.0× TF\.js \| met; \? not measured; met \|/);
    expect(line('resnet b=256 predict')).toMatch(/≤ 1\.5× PyTorch.*\*\*NOT met\*\* \(2\.00\)/);
  });

  it('shows what was not measured and why, never a number', () => {
    expect(line('lstm b=1 predict')).toMatch(/\| missing \|.*samples\/lstm\.ts does not exist yet/);
    expect(line('gemm 4096³ mixed')).toMatch(/\| not available \| 550 \|.*≥ 300 \| \? not measured \|/);
    expect(line('ORT peer unavailable')).toMatch(/no python3 with torch and onnx/);
  });

  it('checks GEMM throughput against cuBLAS and takes the median of fresh-process loads', () => {
    expect(line('gemm 4096³ fp32')).toMatch(/\| 34\.4 \| 51\.0 \|.*0\.67× \|.*≥ 0\.7× PyTorch \| \*\*NOT met\*\* \(0\.67\) \| kiln \(f32 tiles\) max\\\|err\\\| 2\.0e-5/);
    expect(line('mlp load → first result')).toMatch(/\| 140 \|.*≤ 150 \| met \| median of 3 fresh processes/);
  });

  it('writes the same table as JSON, with a summary of the targets', () => {
    const json = JSON.parse(readFileSync(jsonPath, 'utf8'));
    expect(json.device).toBe('NVIDIA H200, 580.159.04');
    expect(json.unavailable).toEqual({ ort: 'no python3 with torch and onnx to export the models' });
    const mlp = json.table.find((c: { label: string }) => c.label === 'mlp b=256 predict');
    expect(mlp).toMatchObject({ kiln: 0.1, torch: 0.11, tfjs: 4.4 });
    expect(json.summary).toEqual({ met: 3, notMet: 2, notMeasured: 9 });
    expect(out).toMatch(/targets: 3 met, 2 not met, 9 not measured in this run/);
  });
});

describe('the GPU clock beside each row', () => {
  const at = (ms: number) => new Date(Date.UTC(2026, 10, 23, 21, 0, 0, ms)).toISOString().replace('T', ' ').replace(/-/g, '/').replace('Z', '');
  const t = (ms: number) => Date.UTC(2026, 10, 23, 21, 0, 0, ms);
  // The clock dips to 885 MHz between 1.0 and 1.3 s, while kiln times its mlp; PyTorch runs at full clock.
  const CLOCKS = [0, 500, 1000, 1100, 1200, 1300, 1800, 2300].map((ms) => `${at(ms)}, ${ms >= 1000 && ms <= 1200 ? 885 : 1980}, 40`).join('\n');
  const CLOCK_LOG = [
    row({ part: 'models', system: 'kiln', model: 'mlp', batch: 256, variant: '', metric: 'predict', ms: 0.2, kernels: 3, window: [t(950), t(1350)] }),
    row({ part: 'models', system: 'kiln', model: 'cnn', batch: 256, variant: '', metric: 'predict', ms: 0.2, kernels: 2, window: [t(1790), t(1850)] }),
    row({ part: 'mark', system: 'clock', t: t(1400) }),
    'torch-cuda-eager mlp batch=256 predict_ms=0.110 train_step_ms=1.210',
    row({ part: 'mark', system: 'clock', t: t(2000) }),
  ].join('\n');
  const sub = mkdtempSync(join(dir, 'clocks-'));
  writeFileSync(join(sub, 'bench.log'), CLOCK_LOG);
  writeFileSync(join(sub, 'clocks.csv'), CLOCKS);
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/report.ts', join(sub, 'bench.log'), join(sub, 'bench.json')], { encoding: 'utf8' });
  const line = (start: string) => out.split('\n').find((l) => l.startsWith(`| ${start} |`)) ?? '';

  it('notes the SM clock range each system was timed at, from the rows\' windows and the peers\' time marks', () => {
    expect(line('mlp b=256 predict')).toMatch(/SM MHz kiln 885–1980, PyTorch 1980 \|$/);
    // A window shorter than the sampling period takes the sample before it.
    expect(line('cnn b=256 predict')).toMatch(/SM MHz kiln 1980 \|$/);
  });

  it('counts the rows timed in a dip', () => {
    expect(out).toMatch(/peak 1980 MHz\): rows timed partly below 95% of it: kiln 1, PyTorch 0, ORT 0, TF\.js 0\nkiln's: mlp b=256 predict \(885–1980 MHz\)/);
    const json = JSON.parse(readFileSync(join(sub, 'bench.json'), 'utf8'));
    expect(json.table.find((c: { label: string }) => c.label === 'mlp b=256 predict').clocks_mhz).toEqual({ kiln: [885, 885, 885, 1980], torch: [1980] });
  });
});

describe('targets', () => {
  it('are data: each applies to the rows it names, with a readable label', () => {
    expect(targetsFor({ part: 'models', metric: 'predict', model: 'cnn', batch: 4096 }).map(targetLabel)).toEqual(['≥ 2.0× ORT', '≥ 20.0× TF.js']);
    expect(targetsFor({ part: 'models', metric: 'train', model: 'mlp', batch: 256 }).map((t) => t.source)).toEqual(['issue 4', 'issue 4']);
    expect(targetsFor({ part: 'load', model: 'resnet' }).map(targetLabel)).toEqual(['≤ 400']);
    expect(meets(TARGETS[0], 1.0)).toBe(true);
    expect(meets(TARGETS[0], undefined)).toBeUndefined();
  });
});
