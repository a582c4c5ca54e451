/**
 * Tuned tile choices: a table of winners by GEMM problem, measured by `kiln tune` on one adapter, kept
 * with the bundle (tuning.json) and in a per-adapter cache under the user's cache dir. Tile choice
 * consults the table that is active while a bundle is built (`withTuning`); a missing entry falls back
 * to the arithmetic choice of src/codegen/lower/gemm.ts.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../ir/errors.js';
import { KILN_VERSION } from './version.js';

/** One GEMM tiling (the shape of src/codegen/lower/gemm.ts's GemmTiles, repeated here so this file imports nothing from lowering). */
export interface TunedTiles {
  readonly WX: number;
  readonly WY: number;
  readonly TM: number;
  readonly TN: number;
  readonly BK: number;
  /** Two workgroup tiles per operand (one barrier a k step); matmuls only, convolutions ignore it. */
  readonly DB?: boolean;
}

/** A convolution's winner when the halo-tiled direct kernel beat every GEMM tiling: its index in HALO_SHAPES (src/codegen/lower/conv-halo.ts). */
export interface TunedHalo {
  readonly halo: number;
}

/**
 * A tensor-core GEMM tiling (src/codegen/lower/gemm-mma.ts's MmaTiles): GM×GN subgroups of 32, each
 * SM×SN 16×16 results, KS 16-deep steps per staged tile; with R > 1 (and one result block) R subgroups
 * compute the same block so that 32·R invocations stage tiles.
 */
export interface TunedMma {
  readonly GM: number;
  readonly GN: number;
  readonly SM: number;
  readonly SN: number;
  readonly KS: number;
  readonly R?: number;
}

/** A mixed bundle's convolution winner (`convMmaKey` problems): its index in CONV_MMA_SHAPES (src/codegen/lower/conv-mma.ts). */
export interface TunedConvMma {
  readonly convMma: number;
}

/** One problem's winner: a GEMM tiling, (convolutions only) a halo kernel shape, (`mmaKey` problems) a tensor-core tiling, or (`convMmaKey` problems) a tensor-core conv shape. */
export type TunedChoice = TunedTiles | TunedHalo | TunedMma | TunedConvMma;

/** Whether a winner is a halo kernel shape. */
export const isHalo = (c: TunedChoice): c is TunedHalo => 'halo' in c;

/** Whether a winner is a tensor-core tiling. */
export const isMma = (c: TunedChoice): c is TunedMma => 'GM' in c;

/** Whether a winner is a tensor-core conv shape. */
export const isConvMma = (c: TunedChoice): c is TunedConvMma => 'convMma' in c;

/** Winners by problem key (`gemmKey`), measured on one adapter. */
export interface TuningTable {
  /** The adapter the winners were timed on (`adapterKey`). */
  readonly adapter: string;
  /** The kiln version that timed them (kernels change between versions; a stale entry is still a valid tiling). */
  readonly kiln: string;
  readonly gemm: Readonly<Record<string, TunedChoice>>;
}

/** The fields of an adapter that name it (src/runtime/gpu.ts's AdapterDescription fits). */
export interface AdapterIdentity {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

/** A tuning file that cannot be used. */
export class TuningError extends KilnError {}

/**
 * The key of a register-blocked GEMM problem: its output grid (M×N, `batches` times) and its depth K.
 * Without K, convolutions of one grid but different depth shared a winner, which slowed the ResNet 2×.
 */
export const gemmKey = (M: number, N: number, batches = 1, K?: number) => `gemm:${M}x${N}x${batches}${K === undefined ? '' : `:k${K}`}`;

/** The key of a tensor-core GEMM problem (mixed bundles): its own namespace, as its candidates are `MMA_TILINGS`. */
export const mmaKey = (M: number, N: number, batches: number, K: number) => `mma:${M}x${N}x${batches}:k${K}`;

/**
 * The key of a halo-staged tensor-core conv (mixed bundles): its whole geometry, since the shape's fit
 * depends on the map, the kernel, the strides and the dilations, not only on the GEMM grid.
 */
export const convMmaKey = (g: { batch: number; H: number; W: number; cin: number; cout: number; KH: number; KW: number; SH: number; SW: number; DH: number; DW: number }) =>
  `convmma:${g.batch}x${g.H}x${g.W}x${g.cin}:${g.KH}x${g.KW}x${g.cout}:s${g.SH}x${g.SW}:d${g.DH}x${g.DW}`;

/** A file-name-safe key naming an adapter: vendor, architecture, device and description. */
export function adapterKey(a: AdapterIdentity): string {
  const parts = [a.vendor, a.architecture, a.device, a.description].map((s) => (s ?? '').trim()).filter(Boolean);
  const key = parts.join('-').toLowerCase().replace(/[^a-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');
  return key.slice(0, 120) || 'unknown-adapter';
}

/** The tuning cache folder: $KILN_TUNING_DIR, else $XDG_CACHE_HOME/kiln/tuning, else ~/.cache/kiln/tuning. */
export function tuningCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.KILN_TUNING_DIR) return env.KILN_TUNING_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kiln', 'tuning');
}

/** The cache file for an adapter. */
export const tuningCachePath = (a: AdapterIdentity, env?: Record<string, string | undefined>) => join(tuningCacheDir(env), `${adapterKey(a)}.json`);

/** An empty table for an adapter. */
export const emptyTuning = (a: AdapterIdentity): TuningTable => ({ adapter: adapterKey(a), kiln: KILN_VERSION, gemm: {} });

const TILE_FIELDS = ['WX', 'WY', 'TM', 'TN', 'BK'] as const;
const MMA_FIELDS = ['GM', 'GN', 'SM', 'SN', 'KS'] as const;

/** Parses and checks a tuning file's text; `source` names it in errors. */
export function parseTuning(text: string, source: string): TuningTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TuningError(`${source}: not valid JSON (${(e as Error).message})`, { source });
  }
  const t = raw as Partial<TuningTable>;
  if (typeof t !== 'object' || t === null || typeof t.adapter !== 'string' || typeof t.gemm !== 'object' || t.gemm === null) {
    throw new TuningError(`${source}: expected a kiln tuning table { adapter, kiln, gemm }, got ${text.slice(0, 80)}`, { source });
  }
  for (const [key, tiles] of Object.entries(t.gemm)) {
    const entry = tiles as unknown as Record<string, unknown>;
    if (typeof entry === 'object' && entry !== null && 'halo' in entry) {
      if (!Number.isInteger(entry.halo) || (entry.halo as number) < 0) throw new TuningError(`${source}: entry '${key}' needs 'halo' to be a halo shape index (an integer ≥ 0), got ${JSON.stringify(entry.halo)}`, { source, key });
      continue;
    }
    if (typeof entry === 'object' && entry !== null && 'convMma' in entry) {
      if (!Number.isInteger(entry.convMma) || (entry.convMma as number) < 0) throw new TuningError(`${source}: entry '${key}' needs 'convMma' to be a tensor-core conv shape index (an integer ≥ 0), got ${JSON.stringify(entry.convMma)}`, { source, key });
      continue;
    }
    if (typeof entry === 'object' && entry !== null && 'GM' in entry) {
      const badMma = [...MMA_FIELDS, ...('R' in entry ? (['R'] as const) : [])].filter((f) => !Number.isInteger(entry[f]) || (entry[f] as number) < 1);
      if (badMma.length) throw new TuningError(`${source}: tensor-core entry '${key}' needs positive integers ${MMA_FIELDS.join(', ')} (and R if given); bad: ${badMma.join(', ')}`, { source, key });
      continue;
    }
    const bad = TILE_FIELDS.filter((f) => !Number.isInteger(entry?.[f]) || (entry[f] as number) < 1);
    if (bad.length) throw new TuningError(`${source}: entry '${key}' needs positive integers ${TILE_FIELDS.join(', ')} (or a 'halo' shape index); bad: ${bad.join(', ')}`, { source, key });
    if ('DB' in entry && typeof entry.DB !== 'boolean') throw new TuningError(`${source}: entry '${key}' has 'DB' (double buffering) ${JSON.stringify(entry.DB)}, expected true or false`, { source, key });
  }
  return { adapter: t.adapter, kiln: t.kiln ?? 'unknown', gemm: t.gemm };
}

/** The cached table for an adapter, or undefined when there is none. */
export function loadCachedTuning(a: AdapterIdentity, env?: Record<string, string | undefined>): TuningTable | undefined {
  const path = tuningCachePath(a, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseTuning(text, path);
}

/** Merges `winners` into the adapter's cache file (entries of other problems are kept); returns its path. */
export function saveCachedTuning(a: AdapterIdentity, winners: TuningTable, env?: Record<string, string | undefined>): string {
  const path = tuningCachePath(a, env);
  const merged = mergeTuning(loadCachedTuning(a, env) ?? emptyTuning(a), winners);
  mkdirSync(tuningCacheDir(env), { recursive: true });
  // Written aside and renamed, so a reader never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(merged, null, 1)}\n`);
  renameSync(tmp, path);
  return path;
}

/** `over`'s entries on top of `base`'s. */
export function mergeTuning(base: TuningTable, over: TuningTable): TuningTable {
  return { adapter: over.adapter, kiln: over.kiln, gemm: { ...base.gemm, ...over.gemm } };
}

/** The table consulted while a bundle is built, and who wants to hear which problems were looked up. */
let active: { table?: TuningTable; onLookup?: (key: string) => void } = {};

/**
 * Runs `build` (synchronous: bundle building is) with `table` consulted by every tile choice; `onLookup`
 * hears each problem key looked up, which is how `kiln tune` finds a bundle's GEMMs.
 */
export function withTuning<T>(table: TuningTable | undefined, build: () => T, onLookup?: (key: string) => void): T {
  const outer = active;
  active = { table, onLookup };
  try {
    return build();
  } finally {
    active = outer;
  }
}

/** The tuned winner of a GEMM problem in the active table, if any (a halo shape only where a convolution won with it). */
export function tunedChoice(M: number, N: number, batches: number, K?: number): TunedChoice | undefined {
  const key = gemmKey(M, N, batches, K);
  active.onLookup?.(key);
  return active.table?.gemm[key];
}

/** The tuned tiling of a GEMM problem in the active table, if any; a halo winner leaves the GEMM to the arithmetic choice. */
export function tunedGemmTiles(M: number, N: number, batches: number, K?: number): TunedTiles | undefined {
  const choice = tunedChoice(M, N, batches, K);
  return choice && !isHalo(choice) && !isMma(choice) && !isConvMma(choice) ? choice : undefined;
}

/** The tuned tensor-core tiling of a problem in the active table, if any. */
export function tunedMmaTiles(M: number, N: number, batches: number, K: number): TunedMma | undefined {
  const key = mmaKey(M, N, batches, K);
  active.onLookup?.(key);
  const choice = active.table?.gemm[key];
  return choice && isMma(choice) ? choice : undefined;
}

/** The tuned shape (an index in CONV_MMA_SHAPES) of a tensor-core conv in the active table, if any. */
export function tunedConvMma(key: string): number | undefined {
  active.onLookup?.(key);
  const choice = active.table?.gemm[key];
  return choice && isConvMma(choice) ? choice.convMma : undefined;
}
