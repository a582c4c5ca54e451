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

/** Output channels per workgroup (8 invocations of a quad each). */
const BLOCK_CHANNELS = 32;
/** Input channels per workgroup, largest first: one invocation row each. */
const CHANNEL_BLOCKS = [16, 8] as const;
/** Output pixels a step stages at most: a row, or a segment of a wider one. */
const MAX_SEGMENT = 32;
/** Pixels multiplied per unrolled group; a segment is padded to a multiple. */
const UNROLL = 4;
/** Taps an invocation accumulates at most (one vec4 each). */
const MAX_TAPS = 9;
/** Workgroups to aim for across the K chunks: enough waves to fill a GPU without a sea of partial sums. */
const TARGET_WORKGROUPS = 1024;

/** The forward conv as the filter gradient sees it (stride 1, undilated; C is dy's channel count). */
export type FilterGradGeometry = Pick<GradGeometry, 'n' | 'H' | 'W' | 'CIN' | 'OH' | 'OW' | 'C' | 'KH' | 'KW' | 'TOP' | 'LEFT'>;

const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const LANES = 'xyzw';

/** How the kernel walks a problem: input channels per workgroup, the segment of a row a step stages, and the K chunks. */
export interface FilterGradPlan {
  /** Output pixels a step stages (a multiple of the unroll), columns of input they see, input channels per workgroup. */
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
}

/**
 * Input channels a conv needs for the direct kernel: fewer leave most of a block's invocation rows idle,
 * and the split-K GEMM does better (the bench CNN's one-channel conv at batch 256: 0.244 ms direct,
 * partials and sum, against 0.077).
 */
export const MIN_FILTER_GRAD_CHANNELS = 8;

/**
 * Output channels a conv may have for the direct kernel, as for the forward halo kernel: wider GEMMs
 * reuse each staged element across more output channels, and this kernel was measured on 32.
 */
export const MAX_FILTER_GRAD_OUTPUTS = 64;

/**
 * The plan of the direct filter gradient for `g` within `storageBytes` of workgroup memory, or undefined
 * where it does not run: fewer than MIN_FILTER_GRAD_CHANNELS input channels, more than
 * MAX_FILTER_GRAD_OUTPUTS output channels, more than MAX_TAPS taps, or a step's staging past the memory.
 */
export function filterGradPlan(g: FilterGradGeometry, storageBytes = DEFAULT_WORKGROUP_STORAGE): FilterGradPlan | undefined {
  if (g.CIN < MIN_FILTER_GRAD_CHANNELS || g.C > MAX_FILTER_GRAD_OUTPUTS || g.KH * g.KW > MAX_TAPS) return undefined;
  const OWB = Math.min(MAX_SEGMENT, Math.ceil(g.OW / UNROLL) * UNROLL);
  const HC = OWB + g.KW - 1;
  const dyFloats = OWB * BLOCK_CHANNELS;
  const CB = CHANNEL_BLOCKS.find((cb) => 4 * (g.KH * HC * cb + dyFloats) <= storageBytes);
  if (CB === undefined) return undefined;
  const SEGS = Math.ceil(g.OW / OWB);
  const steps = g.n * g.OH * SEGS;
  const blocks = Math.ceil(g.C / BLOCK_CHANNELS) * Math.ceil(g.CIN / CB);
  const CH = Math.ceil(steps / Math.min(MAX_GROUPS, steps, Math.ceil(TARGET_WORKGROUPS / blocks)));
  return { OWB, HC, CB, xFloats: g.KH * HC * CB, dyFloats, SEGS, steps, CH, chunks: Math.ceil(steps / CH) };
}

/**
 * Template data, workgroup size and dispatch of the direct filter gradient for `g` as `p` plans it; `x`,
 * `dy` read the operands, `out` writes the partial sums (`p.chunks` × M × N floats).
 */
export function filterGradKernel(g: FilterGradGeometry, p: FilterGradPlan, x: string, dy: string, out: string) {
  const threads = 8 * p.CB;
  const NCO = Math.ceil(g.C / BLOCK_CHANNELS);
  const taps = g.KH * g.KW;
  const xName = (ky: number, c: number) => `x${ky}_${c}`;
  return {
    template: 'conv-filter-grad',
    data: {
      ...g, ...p, x, dy, out, threads, taps, U: UNROLL, M: taps * g.CIN, N: g.C, NCO, dyQuads: p.dyFloats / 4,
      loadsX: range(Math.ceil(p.xFloats / threads)), loadsD: range(Math.ceil(p.dyFloats / threads)),
      xLoads: range(g.KH).flatMap((ky) => range(UNROLL + g.KW - 1).map((c) => `let ${xName(ky, c)} = xs[(${ky}u * HC + p0 + ${c}u) * CB + lid.y];`)),
      dLoads: range(UNROLL).map((q) => `let d${q} = ds[(p0 + ${q}u) * 8u + lid.x];`),
      fmas: range(UNROLL).flatMap((q) => range(g.KH).flatMap((ky) => range(g.KW).map((kx) => `acc[${ky * g.KW + kx}] = fma(vec4<f32>(${xName(ky, q + kx)}), d${q}, acc[${ky * g.KW + kx}]);`))),
      stores: range(taps).flatMap((tap) => range(4).map((lane) => ({ tap, lane, laneName: LANES[lane] }))),
    },
    workgroupSize: [8, p.CB, 1] as [number, number, number],
    dispatch: [NCO * Math.ceil(g.CIN / p.CB), p.chunks, 1] as [number, number, number],
  };
}
