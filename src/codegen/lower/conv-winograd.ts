/**
 * Winograd F(2×2, 3×3) convolution (shaders/conv-winograd.wgsl.hbs) for 3×3, stride-1, undilated
 * convs: each 2×2 output tile is Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A, so a tile costs 16 multiplies per
 * (input, output) channel pair where the direct form costs 36. The 16 elementwise products, summed
 * over input channels, are 16 independent GEMMs; a workgroup runs them in workgroup memory for a
 * block of tiles × 32 output channels, transforming inputs and weights as it stages them, and the
 * output transform feeds the fused epilogue. Nothing changes in the graph or the weights: the
 * kernel transforms the HWIO kernel as it reads it, so training and `setWeights` need nothing new.
 */
import type { ConvGeometry } from './conv.js';
import { unravel } from '../indexing.js';

/** Invocations per workgroup: 16 transform points × 16 (8 tiles × 8 channels) register blocks. */
const THREADS = 256;
/** 2×2 output tiles per workgroup. */
const TILES = 32;
/** Output channels per workgroup. */
const BLOCK_CHANNELS = 32;
/** WebGPU's limit on each dispatch dimension. */
const MAX_GROUPS = 65535;
/** Input channels staged per step, largest first: more channels, fewer barriers. */
const CHUNKS = [8, 4] as const;
/** Output-transform passes over the block's channels, fewest first: each stages 32 / rounds channels. */
const ROUNDS = [1, 2, 4] as const;

/** How a Winograd conv is tiled: tile rows × columns per workgroup, input channels per chunk, output passes. */
export interface WinogradTile {
  readonly rows: number;
  readonly cols: number;
  readonly chunk: number;
  readonly rounds: number;
}

/** Workgroup memory layout, in floats: every stride chosen so a warp's accesses spread over the banks. */
function layout(t: WinogradTile) {
  // Transformed inputs [point][channel][tile]: rows 4 floats apart so the 8 channels of a tile land in different banks.
  const rowStride = TILES + 4;
  // Each transform point's block starts 4 banks after the last (≡ 4 mod 32): the two points a warp reads never collide.
  const shift4 = (n: number) => n + (((4 - n) % 32) + 32) % 32;
  const VS = shift4(t.chunk * rowStride);
  const US = shift4(t.chunk * BLOCK_CHANNELS);
  // Products [point][tile][channel], odd tile stride: scalar writes of a register block spread over banks.
  const CR = BLOCK_CHANNELS / t.rounds;
  const TS = CR + 1;
  const MS = shift4(TILES * TS);
  return { rowStride, VS, US, UB: 16 * VS, CR, TS, MS, floats: Math.max(16 * (VS + US), 16 * MS) };
}

const tilesOf = (n: number) => Math.ceil(n / 2);

/** Workgroups: (tile-column blocks × channel blocks, tile-row blocks, images). */
function grid(g: ConvGeometry, t: WinogradTile): [number, number, number] {
  return [Math.ceil(tilesOf(g.OW) / t.cols) * Math.ceil(g.cout / BLOCK_CHANNELS), Math.ceil(tilesOf(g.OH) / t.rows), g.batch];
}

/**
 * The tile for a conv, or undefined where this kernel cannot run it: not a 3×3, stride-1, undilated,
 * full conv; workgroup memory under `storageBytes` (the smallest layout, 4-channel chunks in four output
 * passes, needs 18.5 KiB); a grid past a dispatch dimension or short of `minWorkgroups`. A workgroup's
 * 32 tiles cover the output's width in tiles where they can (less masked work on narrow outputs).
 */
export function winogradTile(g: ConvGeometry, storageBytes: number, minWorkgroups = 1): WinogradTile | undefined {
  if (g.depthwise || g.KH !== 3 || g.KW !== 3 || g.SH !== 1 || g.SW !== 1 || g.DH !== 1 || g.DW !== 1) return undefined;
  const cols = [1, 2, 4, 8].find((c) => c >= tilesOf(g.OW)) ?? 8;
  const base = { rows: TILES / cols, cols };
  const fits = (t: WinogradTile) => layout(t).floats * 4 <= storageBytes;
  const chunk = CHUNKS.find((c) => fits({ ...base, chunk: c, rounds: ROUNDS[ROUNDS.length - 1] }));
  if (chunk === undefined) return undefined;
  const rounds = ROUNDS.find((r) => fits({ ...base, chunk, rounds: r }))!;
  const tile = { ...base, chunk, rounds };
  const groups = grid(g, tile);
  return groups.every((n) => n <= MAX_GROUPS) && groups[0] * groups[1] * groups[2] >= minWorkgroups ? tile : undefined;
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const LANES = 'xyzw';

/**
 * Template data, workgroup size and dispatch of the Winograd kernel for `g` with tile `t`; `x`, `w`
 * are the input and kernel accessors, `outShape` the shape the epilogue's coordinates index.
 * `weightIndex` is the WGSL of the kernel element of tap `tap` (ky·3 + kx), input channel `c`, output
 * channel `co` (HWIO). The register work is straight-line WGSL, as in the halo kernel.
 */
export function winogradConv(g: ConvGeometry, t: WinogradTile, x: string, w: string, outShape: readonly number[], weightIndex = '(tap * CIN + c) * N + co') {
  const l = layout(t);
  return {
    template: 'conv-winograd',
    data: {
      ...g, ...t, ...l, x, w, weightIndex, coords: unravel('i', outShape),
      TILES, NCB: Math.ceil(g.cout / BLOCK_CHANNELS), stageQuads: l.floats / 4,
      // One staged channel of one tile (16 loads) per invocation, and one (input, output) channel pair of the kernel (9 loads).
      inputLoads: range(4).flatMap((i) => range(4).map((j) => `d[${i}].${LANES[j]} = inputAt(n, iy0 + ${i}i, ix0 + ${j}i, c0 + xc);`)),
      weightLoads: range(3).flatMap((ky) => range(3).map((kx) => `g[${ky}].${LANES[kx]} = weightAt(${ky * 3 + kx}u, c0 + wc, wco);`)),
      fmas: range(8).flatMap((r) => range(2).map((q) => `acc[${r}][${q}] = fma(vec4<f32>(a${r >> 2}.${LANES[r & 3]}), b${q}, acc[${r}][${q}]);`)),
      productStores: range(8).flatMap((r) => range(8).map((j) => ({ r, j, q: j >> 2, lane: LANES[j & 3] }))),
      points: range(16).map((k) => ({ k, i: k >> 2, lane: LANES[k & 3] })),
      items: range(Math.ceil((TILES * l.CR) / THREADS)),
      outputs: [0, 1].flatMap((p) => [0, 1].map((q) => ({ p, q, lane: LANES[q] }))),
    },
    workgroupSize: [THREADS, 1, 1] as [number, number, number],
    dispatch: grid(g, t),
  };
}
