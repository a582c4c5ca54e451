/**
 * `kiln tune <bundle>`: for each register-blocked GEMM of a bundle (matmuls and convolutions), times
 * every candidate tiling of src/codegen/lower/gemm.ts on the adapter at hand (for convolutions, also
 * each shape of the halo-tiled direct kernel, src/codegen/lower/conv-halo.ts; for a mixed bundle's
 * tensor-core GEMMs, each tiling of src/codegen/lower/gemm-mma.ts's MMA_TILINGS, and for its halo-staged
 * tensor-core convs each shape of src/codegen/lower/conv-mma.ts's CONV_MMA_SHAPES), keeps the fastest,
 * rewrites the bundle's kernels with the winners, stores them next to its manifest (tuning.json) and
 * in the adapter's tuning cache, which `compile` reads when compiling for that adapter.
 */
import { Command } from 'commander';
import '../ir/ops/index.js';
import { buildBundle } from '../codegen/bundle.js';
import { GEMM_TILINGS } from '../codegen/lower/gemm.js';
import { HALO_SHAPES } from '../codegen/lower/conv-halo.js';
import { profileForAdapter, type TargetProfile } from '../codegen/profile.js';
import { adapterKey, emptyTuning, isConvMma, isHalo, isMma, saveCachedTuning, withTuning, type TunedChoice, type TuningTable } from '../codegen/tuning.js';
import { MMA_TILINGS } from '../codegen/lower/gemm-mma.js';
import { CONV_MMA_SHAPES } from '../codegen/lower/conv-mma.js';
import { KILN_VERSION } from '../codegen/version.js';
import { writeBundle } from '../codegen/write.js';
import type { Bundle } from '../runtime/format.js';
import { describeAdapter } from '../runtime/gpu.js';
import { readBundle } from '../runtime/load.js';
import { bundleGraph, bundleWeights, isBundleKind, pathKind } from './bundle-files.js';
import { CliError } from './errors.js';
import { adapterLines } from './gpu.js';
import { openTuningDevice, timeSteps, type TimeOptions, type TuningDevice } from './tune-timer.js';

/** The file next to manifest.json that holds a bundle's winners. */
export const TUNING_FILE = 'tuning.json';

/** What tuning found for one GEMM problem. */
export interface ProblemResult {
  readonly key: string;
  /** Steps of the bundle that run this problem's kernel. */
  readonly steps: readonly string[];
  /** The candidate whose kernels the untuned compile chose. */
  readonly untuned?: TunedChoice;
  readonly winner: TunedChoice;
  /** GPU ms of those steps with each candidate (an error message where it could not run). */
  readonly tried: readonly { tiles: TunedChoice; ms?: number; error?: string }[];
}

/** What `tuneBundle` returns: the winners, the bundle rebuilt with them, and what was measured. */
export interface TuneResult {
  readonly table: TuningTable;
  readonly bundle: Bundle;
  readonly problems: readonly ProblemResult[];
}

/** Lowers a bundle's compiled graph again, in its precision, with `tuning` consulted (`onLookup` hears every GEMM problem). */
export function rebuildBundle(bundle: Bundle, profile: TargetProfile, tuning?: TuningTable, onLookup?: (key: string) => void, source = 'bundle'): Bundle {
  const m = bundle.manifest;
  const graph = bundleGraph(bundle, source);
  const target = m.precision ? { ...profile, precision: m.precision } : profile;
  return withTuning(tuning, () => buildBundle(graph, bundleWeights(bundle), m.model.name, m.model.batch, { mode: m.mode, profile: target, microBatches: m.model.microBatches }).bundle, onLookup);
}

const tilesName = (t: TunedChoice) =>
  isHalo(t) ? `halo ${t.halo}` : isConvMma(t) ? `conv-mma ${t.convMma}` : isMma(t) ? `mma ${t.GM}×${t.GN}·${t.SM}×${t.SN}·${t.KS}${t.R ? `·r${t.R}` : ''}` : `${t.WX}×${t.WY}·${t.TM}×${t.TN}·${t.BK}${t.DB ? '·db' : ''}`;

/** Every GEMM tiling, then every halo shape. */
export const TUNE_CANDIDATES: readonly TunedChoice[] = [...GEMM_TILINGS, ...HALO_SHAPES.map((_, halo) => ({ halo }))];

/** The shapes of the halo-staged tensor-core conv, as winners. */
const CONV_MMA_CANDIDATES: readonly TunedChoice[] = CONV_MMA_SHAPES.map((_, convMma) => ({ convMma }));

/**
 * A problem's candidates: the tensor-core tilings for a tensor-core GEMM (`mmaKey`), the tensor-core conv's
 * shapes for such a conv (`convMmaKey`), else `gemm` (a tiling that does not fit the device builds the
 * arithmetic choice, timed once).
 */
const candidatesFor = (key: string, gemm: readonly TunedChoice[]): readonly TunedChoice[] => (key.startsWith('mma:') ? MMA_TILINGS : key.startsWith('convmma:') ? CONV_MMA_CANDIDATES : gemm);

/** Indices of a bundle's steps that run the named layers, in order. */
const stepsNamed = (b: Bundle, names: readonly string[]) => b.manifest.steps.flatMap((s, i) => (names.includes(s.name) ? [i] : []));
/** The kernels a bundle runs for the named layers, as one string to compare. */
const kernelsOf = (b: Bundle, names: readonly string[]) => stepsNamed(b, names).map((i) => b.manifest.steps[i].kernel).join();

/** Times the candidates of every GEMM problem in `bundle` on `tdev`; returns the winners and the bundle rebuilt with them. */
export async function tuneBundle(
  bundle: Bundle,
  tdev: TuningDevice,
  options: TimeOptions & { candidates?: readonly TunedChoice[]; log?: (line: string) => void; source?: string } = {},
): Promise<TuneResult> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  for (const forcing of ['KILN_GEMM_TILES', 'KILN_MMA_TILES', 'KILN_CONV_MMA']) {
    if (env[forcing]) throw new CliError(`${forcing} is set, which forces one tiling everywhere: unset it to tune`);
  }
  const profile = profileForAdapter(tdev.adapter);
  const keys = new Set<string>();
  const base = rebuildBundle(bundle, profile, undefined, (k) => keys.add(k), options.source);
  const winners: Record<string, TunedChoice> = {};
  const problems: ProblemResult[] = [];
  const candidates = options.candidates ?? TUNE_CANDIDATES;
  for (const key of [...keys].sort()) {
    const table = (tiles: TunedChoice): TuningTable => ({ ...emptyTuning(tdev.adapter), gemm: { ...winners, [key]: tiles } });
    const all = candidatesFor(key, candidates).map((tiles) => ({ tiles, bundle: rebuildBundle(base, profile, table(tiles)) }));
    // The layers this problem's tiling changes: their kernels differ between candidates. Steps are matched by
    // layer name, not index: a tiling can change how many steps a layer runs (a GEMM split along K, or whole).
    const names = [...new Set(base.manifest.steps.map((s) => s.name))];
    const affected = names.filter((n) => new Set(all.map((b) => kernelsOf(b.bundle, [n]))).size > 1);
    if (!affected.length) continue;
    // Candidates that build the same kernels are timed once (a halo shape that cannot run a problem, or any
    // halo shape for a matmul, falls back to the GEMM's untuned tiling).
    const builds = all.filter((b, k) => all.findIndex((o) => kernelsOf(o.bundle, affected) === kernelsOf(b.bundle, affected)) === k);
    const untuned = builds.find((b) => kernelsOf(b.bundle, affected) === kernelsOf(base, affected))?.tiles;
    const tried: { tiles: TunedChoice; ms?: number; error?: string }[] = [];
    for (const b of builds) {
      try {
        tried.push({ tiles: b.tiles, ms: await timeSteps(tdev, b.bundle, stepsNamed(b.bundle, affected), options) });
      } catch (e) {
        tried.push({ tiles: b.tiles, error: (e as Error).message.split('\n')[0] });
      }
    }
    const timed = tried.filter((t) => t.ms !== undefined);
    if (!timed.length) throw new CliError(`no candidate tiling of ${key} ran on ${describeAdapter(tdev.adapter)}: ${tried[0]?.error}`, { key });
    const best = timed.reduce((a, b) => (b.ms! < a.ms! ? b : a));
    winners[key] = best.tiles;
    const steps = affected;
    problems.push({ key, steps, untuned, winner: best.tiles, tried });
    const untunedMs = untuned && tried.find((t) => tilesName(t.tiles) === tilesName(untuned))?.ms;
    const gain = untuned && untunedMs !== undefined ? ` (${(untunedMs / best.ms!).toFixed(2)}× the untuned ${tilesName(untuned)}, ${untunedMs.toFixed(4)} ms)` : '';
    options.log?.(`  ${key.padEnd(22)} ${tilesName(best.tiles).padEnd(16)} ${best.ms!.toFixed(4)} ms${gain}; ${steps.length} step${steps.length === 1 ? '' : 's'}: ${steps.slice(0, 3).join(', ')}${steps.length > 3 ? ', …' : ''}`);
  }
  const table: TuningTable = { adapter: adapterKey(tdev.adapter), kiln: KILN_VERSION, gemm: winners };
  const tuned = rebuildBundle(base, profile, table);
  const files = new Map(tuned.files);
  files.set(TUNING_FILE, new TextEncoder().encode(`${JSON.stringify(table, null, 1)}\n`));
  return { table, bundle: { manifest: tuned.manifest, files }, problems };
}

interface TuneCliOptions {
  cache: boolean;
  write: boolean;
  wallTime?: boolean;
  targetMs: string;
}

/** The `kiln tune` command. */
export function tuneCommand(): Command {
  return new Command('tune')
    .description('time candidate GEMM/conv tilings of a bundle on this adapter; rewrite the bundle with the winners and cache them for later compiles')
    .argument('<bundle>', 'a bundle folder or single file written by kiln compile')
    .option('--no-cache', "do not store the winners in the adapter's tuning cache ($KILN_TUNING_DIR or ~/.cache/kiln/tuning)")
    .option('--no-write', 'measure and print only; leave the bundle as it is')
    .option('--wall-time', 'time by wall clock even when the adapter has timestamp queries')
    .option('--target-ms <ms>', 'GPU time each measurement aims for', '20')
    .action(async (path: string, opts: TuneCliOptions) => {
      const kind = pathKind(path);
      if (!isBundleKind(kind)) throw new CliError(`'${path}' is not a kiln bundle (${kind}); give a folder or file written by kiln compile`, { path });
      const bundle = await readBundle(path);
      const tdev = await openTuningDevice({ wallOnly: opts.wallTime });
      for (const line of adapterLines(tdev.adapter)) console.log(line);
      console.log(`timing by ${tdev.method === 'timestamp' ? 'GPU timestamps' : 'wall time over repeated dispatches'}; problem, winner (WX×WY·TM×TN·BK, ·db when double-buffered; halo shape k; tensor cores, mma GM×GN·SM×SN·KS; or tensor-core conv shape k), its time:`);
      const t0 = performance.now();
      const result = await tuneBundle(bundle, tdev, { targetMs: Number(opts.targetMs), log: console.log, source: path });
      if (!result.problems.length) console.log('  no tunable GEMM in this bundle (its matmuls are GEMVs, softmax heads or depthwise convolutions)');
      if (opts.write) {
        await writeBundle(result.bundle, path, { singleFile: kind === 'bundle-file', overwrite: true });
        console.log(`rewrote ${path} with the winners (${TUNING_FILE} next to its manifest)`);
      }
      if (opts.cache && result.problems.length) console.log(`cached for this adapter in ${saveCachedTuning(tdev.adapter, result.table)}`);
      console.log(`tuned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      tdev.device.destroy();
    });
}
