// What every kiln part of the benchmark shares: one JSON line per measurement (`bench {...}`, read by
// bench/report.ts), Dawn opened with the toggles the run asks for, and the bench models from samples/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDevice, type GpuContext } from '../src/runtime/index.js';
import * as runtimeGpu from '../src/runtime/gpu.js';
import type { Model } from '../src/index.js';

/** One measurement (or one "not measured, because ..."), as report.ts reads it. */
export interface BenchRow {
  readonly part: 'tune' | 'models' | 'gemm' | 'load' | 'overhead' | 'peer' | 'info' | 'mixed-error';
  readonly system: string;
  readonly [key: string]: unknown;
}

/** Prints a row for report.ts. */
export function emit(row: BenchRow): void {
  console.log(`bench ${JSON.stringify(row)}`);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Median wall µs of `fn` over `iters` calls, after `warm` untimed calls. */
export async function medianMicros(fn: () => Promise<unknown>, iters: number, warm = 20): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) * 1000);
  }
  return median(times);
}

/** The flags kiln itself creates Dawn with (where src/runtime/gpu.ts has any), so the bench measures what users run. */
const KILN_FLAGS: readonly string[] = (runtimeGpu as unknown as { DAWN_FLAGS?: readonly string[] }).DAWN_FLAGS ?? [];

/** Dawn flags for this process: kiln's own, plus BENCH_DAWN_FLAGS (`enable-dawn-features=disable_robustness`, several joined by ';'). */
export function dawnFlags(extra: readonly string[] = []): string[] {
  const fromEnv = [...KILN_FLAGS, ...(process.env.BENCH_DAWN_FLAGS ?? '').split(';').map((s) => s.trim()).filter(Boolean)];
  // Dawn reads one enable-dawn-features flag: merge the toggles of all of them.
  const enable = [...fromEnv, ...extra].filter((f) => f.startsWith('enable-dawn-features=')).flatMap((f) => f.slice('enable-dawn-features='.length).split(','));
  const rest = [...fromEnv, ...extra].filter((f) => !f.startsWith('enable-dawn-features='));
  return [...(enable.length ? [`enable-dawn-features=${[...new Set(enable)].join(',')}`] : []), ...rest];
}

/** A label for rows measured under non-default toggles ('' for the default, safe settings). */
export const variant = () => (process.env.BENCH_DAWN_FLAGS ? process.env.BENCH_DAWN_FLAGS.replace(/enable-dawn-features=/g, '') : '');

let installed = false;
/**
 * Creates Dawn with `flags` and makes it kiln's WebGPU entry point (kiln's getGpu takes navigator.gpu
 * when there is one): call before anything opens a device.
 */
export async function installDawn(flags: readonly string[]): Promise<GPU> {
  const dawn = 'webgpu';
  const { create, globals } = (await import(dawn)) as { create: (f: string[]) => GPU; globals: object };
  Object.assign(globalThis, globals);
  const gpu = create([...flags]);
  if (!installed) Object.defineProperty(globalThis, 'navigator', { value: { ...((globalThis as { navigator?: object }).navigator ?? {}), gpu }, configurable: true, writable: true });
  installed = true;
  return gpu;
}

/** Opens kiln's device under this run's toggles. */
export async function benchDevice(extraFlags: readonly string[] = []): Promise<GpuContext> {
  await installDawn(dawnFlags(extraFlags));
  return openDevice();
}

/** The bench models by name: samples/<name>.ts exporting `model` (the LSTM's sample may not exist yet). */
export const BENCH_MODELS = ['mlp', 'cnn', 'resnet', 'lstm'] as const;

/** The sample's model, or why there is none. */
export async function benchModel(name: string): Promise<{ model: Model } | { missing: string }> {
  const url = new URL(`../samples/${name}.ts`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return { missing: `samples/${name}.ts does not exist yet` };
  const mod = (await import(url.href)) as { model?: Model };
  if (!mod.model) return { missing: `samples/${name}.ts exports no 'model'` };
  return { model: mod.model };
}

/** Random inputs in [-1, 1) (never zeros) for a bundle's input signature. */
export function randomInputs(inputs: readonly { name: string; shape: readonly number[] }[]): Record<string, Float32Array> {
  return Object.fromEntries(inputs.map((s) => [s.name, Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => Math.random() * 2 - 1)]));
}

/** A message for a row, one line. */
export const reason = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200);
