/**
 * The filter gradient of a stride-1, undilated conv on the tensor cores, for mixed training steps
 * (shaders/conv-filter-grad-mma.wgsl.hbs): per step of R output rows a workgroup stages the input rows
 * they see and dy's rows in f16, and each subgroup accumulates its cells of dW (16 input × 16 output
 * channels of one tap) over its chunk's pixels; the chunks' partial sums are then added in order.
 */
import { MMA_FEATURES } from '../profile.js';
import { MAX_GROUPS } from '../indexing.js';
import type { FilterGradGeometry } from './conv-filter-grad.js';
import { experimentEnv } from '../experiment-env.js';

/** Halves each staged pixel is padded by, so that a column-major load's 16 columns fall on other banks. */
const PAD = 8;
/**
 * Output rows a step stages, in order of preference: the first that divides the output's height. The
 * ResNet's 32-channel filter gradients at batch 256 took 0.179 ms staging 4 rows, 0.121 with 2 and 0.127
 * with 1 (H100, 264 workgroups; the f32 direct kernel 0.197; `…-session17-filter-grad-sweep.log`).
 */
const STEP_ROWS = [2, 1, 4] as const;
/** Subgroups a workgroup runs, most first: the first that divides the cells with at most MAX_CELLS each. */
const SUBGROUPS = [8, 6, 4, 3, 2, 1] as const;
/** Result matrices a subgroup keeps (8 registers a lane each). */
const MAX_CELLS = 12;
/**
 * Workgroups to aim for: two an SM on an H100's 132, which beat 132 (0.188 ms), 198 (0.155), 396 (0.146)
 * and 1056 (0.132 with their larger partial sums) for the ResNet's filter gradients at batch 256.
 */
const TARGET_WORKGROUPS = 264;
/** Taps the kernel takes at most. */
const MAX_TAPS = 9;

/** How the kernel walks a problem. */
export interface FilterGradMmaPlan {
  /** Output rows a step stages; subgroups; cells each; steps in all, steps per chunk, chunks (partial sums). */
  readonly R: number;
  readonly subgroups: number;
  readonly CPS: number;
  readonly steps: number;
  readonly CH: number;
  readonly chunks: number;
  /** Workgroup memory in bytes. */
  readonly storage: number;
}

const stagedBytes = (g: FilterGradGeometry, R: number) => 2 * ((R + g.KH - 1) * (g.OW + g.KW - 1) * (g.CIN + PAD) + R * g.OW * (g.C + PAD));

/**
 * The plan for `g` within `storageBytes`, or undefined where the kernel does not run it: channels not
 * multiples of 16, a row not a multiple of 16 pixels, more than MAX_TAPS taps, or staging past the memory.
 */
export function filterGradMmaPlan(g: FilterGradGeometry, storageBytes: number): FilterGradMmaPlan | undefined {
  if (g.CIN % 16 !== 0 || g.C % 16 !== 0 || g.OW % 16 !== 0 || g.KH * g.KW > MAX_TAPS) return undefined;
  const cells = g.KH * g.KW * (g.CIN / 16) * (g.C / 16);
  const subgroups = SUBGROUPS.find((s) => cells % s === 0 && cells / s <= MAX_CELLS);
  if (subgroups === undefined) return undefined;
  const tileC = 4 * 256 * subgroups;
  const rows = Number(experimentEnv('KILN_FILTER_GRAD_ROWS') ?? 0);
  const R = STEP_ROWS.find((r) => (!rows || r === rows) && g.OH % r === 0 && stagedBytes(g, r) + tileC <= storageBytes);
  if (R === undefined) return undefined;
  const steps = (g.n * g.OH) / R;
  const CH = Math.ceil(steps / Math.min(MAX_GROUPS, Number(experimentEnv('KILN_FILTER_GRAD_GROUPS') ?? TARGET_WORKGROUPS)));
  return { R, subgroups, CPS: cells / subgroups, steps, CH, chunks: Math.ceil(steps / CH), storage: stagedBytes(g, R) + tileC };
}

/** Template data of the kernel for `g` and `plan`, reading x and dy through quad accessors and writing partial sums through `out`. */
export function filterGradMmaKernel(g: FilterGradGeometry, plan: FilterGradMmaPlan, xq: string, dyq: string, out: string) {
  const [HR, HC, XS, YS] = [plan.R + g.KH - 1, g.OW + g.KW - 1, g.CIN + PAD, g.C + PAD];
  const threads = 32 * plan.subgroups;
  const range = (n: number) => Array.from({ length: n }, (_, k) => k);
  return {
    template: 'conv-filter-grad-mma',
    data: {
      H: g.H, W: g.W, CIN: g.CIN, C: g.C, OH: g.OH, OW: g.OW, KW: g.KW, TOP: g.TOP, LEFT: g.LEFT,
      R: plan.R, HR, HC, XS, YS, threads,
      xQuads: (HR * HC * g.CIN) / 4, yQuads: (plan.R * g.OW * g.C) / 4,
      CH: plan.CH, steps: plan.steps, MN: g.KH * g.KW * g.CIN * g.C,
      CBS: g.CIN / 16, NBS: g.C / 16, CPS: plan.CPS,
      tileX: HR * HC * XS, tileY: plan.R * g.OW * YS, tileC: 256 * plan.subgroups,
      cells: range(plan.CPS), xq, dyq, out,
      // Each lane writes 8 of a 16×16 result: element e = lane + 32·s, input channel e / 16, output channel e % 16.
      stores: range(plan.CPS).map((k) => ({
        cell: k,
        lines: range(8).map((s) => `{ let e = lane + ${32 * s}u; let row = tap${k} * CIN + cb${k} * 16u + e / 16u; ${out}(chunk * MN + row * C + nb${k} * 16u + e % 16u, tileC[sg * 256u + e]); }`),
      })),
      enables: ['f16', 'subgroups', 'chromium_experimental_subgroup_matrix'],
      requires: plan.subgroups > 1 ? ['subgroup_id'] : [],
      subgroupIndex: plan.subgroups > 1 ? 'sgid' : '0u',
      subgroupIdBuiltin: plan.subgroups > 1,
    },
    workgroupSize: [threads, 1, 1] as [number, number, number],
    dispatch: [plan.chunks, 1, 1] as [number, number, number],
    features: [...MMA_FEATURES],
  };
}
