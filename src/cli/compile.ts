import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { MMA_FEATURES, PROFILES, gemmPrecision, type Precision } from '../codegen/profile.js';
import { compileBundle } from '../codegen/compile.js';
import { writeBundle } from '../codegen/write.js';
import { printGraph } from '../ir/printer.js';
import { inference } from '../passes/pipelines.js';
import type { Program } from '../passes/program.js';
import { isBundleKind, pathKind } from './bundle-files.js';
import { arenaLayoutNote, fmtBytes, fmtMs, kernelCount, microNote, weightEntries } from './describe.js';
import { callBatch } from '../runtime/format.js';
import type { PredictMicroBatch } from '../codegen/micro-batch.js';
import { CliError } from './errors.js';
import { loadModel } from './load-model.js';
import { EXPORT_HELP, intOption } from './options.js';
import { policyPrecision } from '../frontend/policy.js';

interface CompileCliOptions {
  target: string;
  precision?: string;
  features?: string;
  out: string;
  export?: string;
  batch: number;
  microBatch: PredictMicroBatch;
  singleFile?: boolean;
  check?: boolean;
  dumpAfter?: string;
  force?: boolean;
}

const PASS_NAMES = inference.map((p) => p.name);
/** What a mixed bundle assumes the device has when `--features` does not say: f16, so f16 workgroup tiles. */
const MIXED_DEFAULT_FEATURES = ['shader-f16'];
/** The WebGPU features `--features` may name: what mixed precision uses. */
const KNOWN_FEATURES = [...MMA_FEATURES];
const passList = () => [...new Set(PASS_NAMES)].join(', ');

/**
 * `kiln compile <model.ts> -o <out>`: traces the model, runs the inference pipeline, generates the
 * kernels and writes the bundle; prints one summary of what it wrote.
 */
/** `--micro-batch`: 'auto' or a positive integer. */
function microBatchOption(value: string): PredictMicroBatch {
  if (value.trim() === 'auto') return 'auto';
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`expected 'auto' or a whole number of samples ≥ 1, got '${value}'`);
  return Number(value);
}

export function compileCommand(): Command {
  return new Command('compile')
    .description('compile a model file into a bundle (WGSL kernels, weights, manifest, typed loader) for one batch size')
    .argument('<model.ts>', 'TypeScript file that exports a Model or Sequential, or a saved model: TF.js model.json, Keras .h5 or .keras')
    .requiredOption('-o, --out <path>', 'where to write the bundle: a folder, or one file with --single-file')
    .option('-e, --export <name>', EXPORT_HELP)
    .option('-b, --batch <n>', 'the batch size baked into every shape; the bundle runs exactly this batch', intOption(1, 1 << 20), 1)
    .option('--micro-batch <n>', "samples of one run of the kernels: a call runs batch / n of them, each upload overlapping the run before; 'auto' (default) cuts only where that pays", microBatchOption, 'auto')
    .option('--single-file', 'write the bundle as one file instead of a folder')
    .option('--target <profile>', "tune kernels for 'gpu' (many workgroups) or 'cpu' (software adapters such as lavapipe)", 'gpu')
    .option('--precision <p>', "GEMM arithmetic: 'float32', or 'mixed' (f16 operands, f32 accumulation); default: mixed for a model with Keras mixed_float16 layers, else float32")
    .option('--features <list>', `with --precision mixed: the WebGPU features the target device has, comma-separated (${KNOWN_FEATURES.join(', ')}); all three give tensor cores (default: ${MIXED_DEFAULT_FEATURES.join(',')}, f16 workgroup tiles)`)
    .option('--check', 'validate the graph after every pass')
    .option('--dump-after <pass>', `print the graph after a pass of the inference pipeline (${passList()}), or 'all'`)
    .option('-f, --force', 'replace a bundle already at the output path (anything else there is never replaced)')
    .action(async (file: string, opts: CompileCliOptions) => {
      const dump = opts.dumpAfter;
      if (dump !== undefined && dump !== 'all' && !PASS_NAMES.includes(dump)) {
        throw new CliError(`--dump-after: unknown pass '${dump}'; the inference pipeline runs ${passList()} (or give 'all')`, { pass: dump });
      }
      const out = opts.out;
      const existing = pathKind(out);
      if (existing === 'file' || existing === 'folder') throw new CliError(`'${out}' exists and is not a kiln bundle; refusing to overwrite it (give another -o path)`, { path: out });
      if (isBundleKind(existing) && !opts.force) throw new CliError(`'${out}' already holds a kiln bundle; pass --force to replace it`, { path: out });

      const { model, exportName } = await loadModel(file, opts.export);
      const dumps: { name: string; index: number; program: Program }[] = [];
      let index = 0;
      const onPass = (name: string, program: Program) => {
        index++;
        if (dump === 'all' || dump === name) dumps.push({ name, index, program });
      };
      // Timed from the trace (compileBundle traces the model) to the last byte written; dumps print afterwards.
      const t0 = performance.now();
      const target = PROFILES[opts.target as keyof typeof PROFILES];
      if (!target) throw new CliError(`unknown --target '${opts.target}'; use ${Object.keys(PROFILES).join(' or ')}`);
      const { profile, precision } = precisionOf({ ...opts, precision: opts.precision ?? policyPrecision(model) }, target);
      const compiled = compileBundle(model, { batch: opts.batch, check: opts.check, onPass, profile, precision, microBatch: opts.microBatch });
      await writeBundle(compiled.bundle, out, { singleFile: opts.singleFile, overwrite: existing !== 'missing' });
      const ms = performance.now() - t0;

      for (const d of dumps) {
        console.log(`// after pass ${d.index} of ${PASS_NAMES.length}: ${d.name}`);
        console.log(printGraph(d.program.graph));
      }
      const m = compiled.bundle.manifest;
      const kernelFiles = m.kernels.length;
      console.log(`compiled model '${m.model.name}' (export '${exportName}' of ${file}) for batch ${callBatch(m)}${microNote(m)}${opts.check ? ', graph validated after every pass' : ''}`);
      console.log(`  ${kernelCount(m)}, ${(m.model.microBatches ?? 1) > 1 ? 'one submit per micro-batch, each upload overlapping the micro-batch before' : 'one submit per predict'}`);
      console.log(`  precision     ${precisionNote(gemmPrecision({ ...profile, precision }), m.features)}`);
      console.log(`  arena         ${fmtBytes(m.arena.size)}${arenaLayoutNote(m.arena)}`);
      console.log(`  weights       ${fmtBytes(m.weights.size)}, ${weightEntries(m)}`);
      console.log(`  compile time  ${fmtMs(ms)}, from the traced graph to the written bundle`);
      const what = opts.singleFile
        ? 'one file'
        : `a folder: manifest.json, ${kernelFiles} kernel file${kernelFiles === 1 ? '' : 's'}, weights.bin, graph.json, typed loader index.ts`;
      console.log(`wrote ${resolve(out)} (${what})`);
    });
}

/** The target profile and precision `--precision` and `--features` ask for; a feature kiln does not use is refused by name. */
function precisionOf(opts: CompileCliOptions, target: (typeof PROFILES)[keyof typeof PROFILES]) {
  if (opts.precision !== 'float32' && opts.precision !== 'mixed') throw new CliError(`unknown --precision '${opts.precision}'; use float32 or mixed`);
  if (opts.features !== undefined && opts.precision !== 'mixed') throw new CliError('--features describes the device for --precision mixed; add --precision mixed, or leave --features out');
  const features = opts.features === undefined ? MIXED_DEFAULT_FEATURES : opts.features.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = features.filter((f) => !KNOWN_FEATURES.includes(f as (typeof KNOWN_FEATURES)[number]));
  if (unknown.length) throw new CliError(`--features: unknown feature ${unknown.map((f) => `'${f}'`).join(', ')}; kiln uses ${KNOWN_FEATURES.join(', ')}`);
  if (opts.precision === 'mixed' && !features.includes('shader-f16')) throw new CliError(`--precision mixed needs 'shader-f16' among --features (mixed GEMMs compute on f16 operands); got ${features.join(', ') || 'none'}`);
  const precision = opts.precision as Precision;
  return { profile: precision === 'mixed' ? { ...target, features } : target, precision };
}

/** One line on how the bundle's GEMMs compute. */
function precisionNote(gemms: 'f32' | 'f16' | 'mma', features: readonly string[] | undefined): string {
  const needs = features?.length ? `; the device must have ${features.join(', ')}` : '';
  const how = { f32: 'float32', f16: 'mixed: f16 operands in workgroup tiles, f32 accumulation', mma: 'mixed: f16 operands on tensor cores (subgroup matrices), f32 accumulation' }[gemms];
  return `${how}${needs}`;
}
