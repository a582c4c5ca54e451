/**
 * The filter gradient of a stride-1, undilated conv as a direct kernel (shaders/conv-filter-grad.wgsl.hbs):
 * a workgroup stages the input rows a segment of output pixels sees once, and every tap reads them from
 * workgroup memory. The split-K implicit GEMM it replaces gathered each patch element from memory with
 * its tap and pixel arithmetic, per element: the ResNet's 3×3 filter gradients at batch 256 ran at 7
 * TFLOP/s there (0.677 ms each on an H100, `…-session9-train-profile.log`).
 */
import { DEFAULT_WORKGROUP_STORAGE } from '../profile.js';
import type { GradGeometry } from './conv-grad.js';
import { MAX_GROUPS } from '../indexing.js';
import { experimentEnv } from '../experiment-env.js';

/** Output channels per workgroup (8 invocations of a quad each). */
const BLOCK_CHANNELS = 32;
/** Input channels per workgroup, largest first: one invocation row each. */
const CHANNEL_BLOCKS = [16, 8] as const;
/** Output pixels a step stages at most: a row, or a segment of a wider one. */
const MAX_SEGMENT = 32;
/** A segment is padded to a multiple of this many pixels. */
const SEGMENT_QUANTUM = 4;
/**
 * Pixels multiplied per unrolled group, largest first: the first that divides the segment. Each group
 * reads KH·(U + KW − 1) staged inputs for U·KH·KW vec4 fmas, so larger groups read less per fma: the
 * ResNet's 3×3 filter gradient at batch 256 took 0.2199 ms with 4, 0.2075 with 8, 0.1950 with 16 on an
 * H100 (`bench/filter-grad.ts`, `…-session10-filter-grad-unroll.log`).
 */
const UNROLLS = [16, 8, 4] as const;
/** Registers a group's staged values may take (KH·(U + KW − 1) inputs and U vec4s of dy), beside 4·KH·KW accumulators. */
const GROUP_REGISTERS = 128;
/** Taps an invocation accumulates at most (one vec4 each). */
const MAX_TAPS = 9;
/** The unroll for a segment of OWB pixels of a KH×KW kernel; `KILN_FILTER_GRAD_UNROLL=u` forces u (Node only, for experiments). */
function unrollOf(OWB: number, KH: number, KW: number): number {
  const v = experimentEnv('KILN_FILTER_GRAD_UNROLL');
  if (v === undefined) return UNROLLS.find((u) => OWB % u === 0 && (KH * (u + KW - 1) + 4 * u <= GROUP_REGISTERS || u === 4))!;
  const u = Number(v);
  if (![1, 2, 4].includes(u) && !(u <= OWB && OWB % u === 0)) throw new Error(`KILN_FILTER_GRAD_UNROLL must be 1, 2, 4 or divide the segment (${OWB} pixels), not '${v}'`);
  return u;
}

/** Invocation rows over a step's pixel groups at most (pixel-rows mode, fewer than 8 input channels). */
const PIXEL_ROWS = 8;
/**
 * Input channels pixel rows need: one channel left the workgroup small (56 invocations for the CNN's
 * conv) and lost to the split-K GEMM at batch 4096, 0.72 against 0.62 ms, though it won at batch 256,
 * 0.044 against 0.049; three channels (the ResNet's stem) won at both, 0.92 against 1.11 ms and 0.077
 * against 0.123 (H100, `…-session10-pixel-rows-vs-gemm.log`).
 */
const MIN_ROW_CHANNELS = 2;
/** Accumulators (vec4s: taps × input channels) an invocation keeps at most in pixel-rows mode: 3×3 over 3 channels. */
const MAX_ROW_ACCUMULATORS = 27;
/**
 * Workgroups to aim for in pixel-rows mode (each invocation row writes its own partial sums, which the
 * chunk sum adds up)… On an H100 the ResNet stem's gradient at batch 4096 took 0.90 ms with 256, 1.18
 * with 512, 1.99 with 1024; at batch 256, 0.077 against 0.073 with 512 (`…-session10-pixel-rows-groups.log`).
 */
const TARGET_ROW_WORKGROUPS = 256;
/** …with at least this many steps a chunk, so a small problem's partials stay small (they are scratch, within the binding limit). */
const MIN_ROW_CHUNK_STEPS = 8;

/** Workgroups to aim for across the K chunks: enough waves to fill a GPU without a sea of partial sums. */
const TARGET_WORKGROUPS = 1024;

/** `KILN_FILTER_GRAD_GROUPS=n` aims for n workgroups instead of `fallback` (Node only, for experiments). */
function targetWorkgroups(fallback = TARGET_WORKGROUPS): number {
  const v = experimentEnv('KILN_FILTER_GRAD_GROUPS');
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`KILN_FILTER_GRAD_GROUPS must be a positive integer, not '${v}'`);
  return n;
}

/** The forward conv as the filter gradient sees it (stride 1, undilated; C is dy's channel count). */
export type FilterGradGeometry = Pick<GradGeometry, 'n' | 'H' | 'W' | 'CIN' | 'OH' | 'OW' | 'C' | 'KH' | 'KW' | 'TOP' | 'LEFT'>;

const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const LANES = 'xyzw';

/** How the kernel walks a problem: input channels per workgroup, the segment of a row a step stages, and the K chunks. */
export interface FilterGradPlan {
  /** Pixels per unrolled group; output pixels a step stages (a multiple of it), columns of input they see, input channels per workgroup. */
  readonly U: number;
  readonly OWB: number;
  readonly HC: number;
  readonly CB: number;
  readonly xFloats: number;
  readonly dyFloats: number;
  /** Segments per output row, steps in all (rows × segments), steps per chunk, and chunks: the partial sums a second kernel adds up. */
  readonly SEGS: number;
  readonly steps: number;
  readonly CH: number;
  readonly chunks: number;
  /**
   * Invocation rows over pixel groups, for convs with fewer than MIN_FILTER_GRAD_CHANNELS input channels
   * (CB is then all of them and every invocation takes each); 0 where the rows are input channels.
   */
  readonly R: number;
  /** Partial sums written: one per chunk, or per chunk and invocation row. */
  readonly partialSets: number;
}

/**
 * Input channels from which the workgroup's rows are input channels: with fewer, most rows would idle
 * (the bench CNN's one-channel conv at batch 256: 0.244 ms direct, partials and sum, against 0.077 for
 * the split-K GEMM), so the rows split each step's pixels instead (pixel rows).
 */
export const MIN_FILTER_GRAD_CHANNELS = 8;

/**
 * Output channels a conv may have for the direct kernel, as for the forward halo kernel: wider GEMMs
 * reuse each staged element across more output channels, and this kernel was measured on 32.
 */
export const MAX_FILTER_GRAD_OUTPUTS = 64;

/**
 * The plan of the direct filter gradient for `g` within `storageBytes` of workgroup memory, or undefined
 * where it does not run: more than MAX_FILTER_GRAD_OUTPUTS output channels, more than MAX_TAPS taps, a
 * step's staging past the memory, or (pixel rows) more accumulators than an invocation keeps.
 */
export function filterGradPlan(g: FilterGradGeometry, storageBytes = DEFAULT_WORKGROUP_STORAGE): FilterGradPlan | undefined {
  if (g.C > MAX_FILTER_GRAD_OUTPUTS || g.KH * g.KW > MAX_TAPS) return undefined;
  if (g.CIN < MIN_FILTER_GRAD_CHANNELS) return pixelRowsPlan(g, storageBytes);
  const OWB = Math.min(MAX_SEGMENT, Math.ceil(g.OW / SEGMENT_QUANTUM) * SEGMENT_QUANTUM);
  const U = unrollOf(OWB, g.KH, g.KW);
  const HC = OWB + g.KW - 1;
  const dyFloats = OWB * BLOCK_CHANNELS;
  const CB = CHANNEL_BLOCKS.find((cb) => 4 * (g.KH * HC * cb + dyFloats) <= storageBytes);
  if (CB === undefined) return undefined;
  const SEGS = Math.ceil(g.OW / OWB);
  const steps = g.n * g.OH * SEGS;
  const blocks = Math.ceil(g.C / BLOCK_CHANNELS) * Math.ceil(g.CIN / CB);
  const CH = Math.ceil(steps / Math.min(MAX_GROUPS, steps, Math.ceil(targetWorkgroups() / blocks)));
  const chunks = Math.ceil(steps / CH);
  return { U, OWB, HC, CB, xFloats: g.KH * HC * CB, dyFloats, SEGS, steps, CH, chunks, R: 0, partialSets: chunks };
}

/**
 * The pixel-rows plan for fewer than MIN_FILTER_GRAD_CHANNELS input channels: every invocation takes all
 * of them, and the workgroup's rows split each step's pixel groups. Undefined below MIN_ROW_CHANNELS,
 * past MAX_ROW_ACCUMULATORS, the register budget, or the workgroup memory.
 */
function pixelRowsPlan(g: FilterGradGeometry, storageBytes: number): FilterGradPlan | undefined {
  if (g.CIN < MIN_ROW_CHANNELS || g.KH * g.KW * g.CIN > MAX_ROW_ACCUMULATORS) return undefined;
  const OWB = Math.min(MAX_SEGMENT, Math.ceil(g.OW / SEGMENT_QUANTUM) * SEGMENT_QUANTUM);
  const U = [4, 2, 1].find((u) => g.KH * (u + g.KW - 1) * g.CIN + 4 * u <= GROUP_REGISTERS);
  const HC = OWB + g.KW - 1;
  const dyFloats = OWB * BLOCK_CHANNELS;
  const CB = g.CIN;
  if (U === undefined || 4 * (g.KH * HC * CB + dyFloats) > storageBytes) return undefined;
  const R = Math.min(PIXEL_ROWS, OWB / U);
  const SEGS = Math.ceil(g.OW / OWB);
  const steps = g.n * g.OH * SEGS;
  const NCO = Math.ceil(g.C / BLOCK_CHANNELS);
  const CH = Math.max(Math.min(MIN_ROW_CHUNK_STEPS, steps), Math.ceil(steps / Math.min(MAX_GROUPS, steps, Math.ceil(targetWorkgroups(TARGET_ROW_WORKGROUPS) / NCO))));
  const chunks = Math.ceil(steps / CH);
  return { U, OWB, HC, CB, xFloats: g.KH * HC * CB, dyFloats, SEGS, steps, CH, chunks, R, partialSets: chunks * R };
}

/**
 * Template data, workgroup size and dispatch of the direct filter gradient for `g` as `p` plans it; `x`,
 * `dy` read the operands, `out` writes the partial sums (`p.chunks` × M × N floats).
 */
export function filterGradKernel(g: FilterGradGeometry, p: FilterGradPlan, x: string, dy: string, out: string) {
  const rows = p.R > 0;
  const WY = rows ? p.R : p.CB;
  const threads = 8 * WY;
  const NCO = Math.ceil(g.C / BLOCK_CHANNELS);
  const taps = g.KH * g.KW;
  // Input channels an invocation accumulates: its row's one, or (pixel rows) all of them.
  const CI = rows ? g.CIN : 1;
  const xName = (ky: number, c: number, ci: number) => `x${ky}_${c}_${ci}`;
  const accOf = (tap: number, ci: number) => tap * CI + ci;
  const co = (lane: number) => `co0 + lid.x * 4u + ${lane}u`;
  const store = (set: string, tap: number, ci: string, a: number, lane: number) =>
    `if (${co(lane)} < C) { ${out}((${set} * M + ${tap}u * CIN + ${ci}) * N + ${co(lane)}, acc[${a}].${LANES[lane]}); }`;
  const storeLines = rows
    ? [`let q = chunk * ${p.R}u + lid.y;`, ...range(taps).flatMap((tap) => range(CI).flatMap((ci) => range(4).map((lane) => store('q', tap, `${ci}u`, accOf(tap, ci), lane))))]
    : ['let ci = ci0 + lid.y;', 'if (ci < CIN) {', ...range(taps).flatMap((tap) => range(4).map((lane) => `    ${store('chunk', tap, 'ci', tap, lane)}`)), '}'];
  return {
    template: 'conv-filter-grad',
    data: {
      ...g, ...p, x, dy, out, threads, taps, WY, accs: taps * CI, M: taps * g.CIN, N: g.C, NCO, dyQuads: p.dyFloats / 4,
      p0Start: rows ? `lid.y * ${p.U}u` : '0u', p0Step: rows ? p.R * p.U : p.U,
      loadsX: range(Math.ceil(p.xFloats / threads)), loadsD: range(Math.ceil(p.dyFloats / threads)),
      xLoads: range(g.KH).flatMap((ky) => range(p.U + g.KW - 1).flatMap((c) => range(CI).map((ci) => `let ${xName(ky, c, ci)} = xs[(${ky}u * HC + p0 + ${c}u) * CB + ${rows ? `${ci}u` : 'lid.y'}];`))),
      dLoads: range(p.U).map((q) => `let d${q} = ds[(p0 + ${q}u) * 8u + lid.x];`),
      fmas: range(p.U).flatMap((q) => range(g.KH).flatMap((ky) => range(g.KW).flatMap((kx) => range(CI).map((ci) => {
        const a = accOf(ky * g.KW + kx, ci);
        return `acc[${a}] = fma(vec4<f32>(${xName(ky, q + kx, ci)}), d${q}, acc[${a}]);`;
      })))),
      storeLines,
    },
    workgroupSize: [8, WY, 1] as [number, number, number],
    dispatch: [NCO * Math.ceil(g.CIN / p.CB), p.chunks, 1] as [number, number, number],
  };
}
