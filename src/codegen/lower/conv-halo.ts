/**
 * The halo-tiled direct convolution (shaders/conv-halo.wgsl.hbs): a workgroup computes rows×cols output
 * pixels × 32 output channels, staging the input patch those pixels see (the halo) once per chunk of
 * input channels, for every tap. The implicit GEMM stages each input element once per tap (9 times
 * for 3×3) and pays the tap arithmetic per element; narrow convs (32 output channels) were bound by it.
 */
import type { ConvGeometry } from './conv.js';
import { MAX_GROUPS, unravel } from '../indexing.js';
import { experimentEntry } from '../experiment-env.js';
import { isShallow } from './gemm.js';

/** Output channels per workgroup: 8 quads. */
const BLOCK_CHANNELS = 32;

/**
 * How a workgroup splits its work. `pixels` adjacent output pixels of one row per invocation: their
 * taps overlap, so one register window of a kernel row serves every kernel column. `channels` (4 or
 * 8) output channels per invocation, vec4s of each staged weight row. `chunk` input channels per
 * staged chunk, `stageBytes` the most workgroup memory the tile may stage.
 */
export interface HaloShape {
  readonly threads: number;
  readonly pixels: number;
  readonly channels: number;
  readonly chunk: number;
  readonly stageBytes: number;
}

/**
 * The shape used, and the ones `KILN_HALO` may force. On an H200 (ResNet 32→32 3×3 convs at batch
 * 256): 8 pixels × 4 channels, 4-channel chunks ran 0.141 ms; 8-channel chunks (16 KiB staged, fewer
 * workgroups per SM) 0.18; 2-channel chunks 0.17; 16 pixels 0.157–0.165; the implicit GEMM 0.20.
 */
export const HALO_SHAPES: readonly HaloShape[] = [
  { threads: 128, pixels: 8, channels: 4, chunk: 4, stageBytes: 8192 },
  { threads: 128, pixels: 8, channels: 8, chunk: 4, stageBytes: 8192 },
  { threads: 256, pixels: 8, channels: 4, chunk: 4, stageBytes: 12288 },
  { threads: 128, pixels: 16, channels: 4, chunk: 4, stageBytes: 16384 },
];

/** A halo kernel's tile: its shape, output rows and columns per workgroup, and the chunk that fits. */
export interface HaloTile extends HaloShape {
  readonly rows: number;
  readonly cols: number;
}

const channelGroups = (s: HaloShape) => BLOCK_CHANNELS / s.channels;
const pixelGroups = (s: HaloShape) => s.threads / channelGroups(s);
const haloRows = (g: ConvGeometry, rows: number) => (rows - 1) * g.SH + (g.KH - 1) * g.DH + 1;
const haloCols = (g: ConvGeometry, cols: number) => (cols - 1) * g.SW + (g.KW - 1) * g.DW + 1;
/** A halo row's stride in workgroup memory: a whole number of vec4s, so each invocation's window starts on one. */
const haloStride = (g: ConvGeometry, cols: number) => Math.ceil(haloCols(g, cols) / 4) * 4;
const stagedFloats = (g: ConvGeometry, t: HaloTile) => t.chunk * haloRows(g, t.rows) * haloStride(g, t.cols) + g.KH * g.KW * t.chunk * BLOCK_CHANNELS;

/**
 * The tile for a conv, or undefined where the halo kernel does not pay or cannot run: depthwise convs,
 * 1×1 kernels (a plain GEMM already reads each input once), shallow convs on a GPU (taps × input
 * channels within one k step, `isShallow`: the GEMM's small blocks keep more loads in flight), more
 * than 64 output channels (the GEMM's wide blocks reuse staged inputs as well), a halo too large for workgroup memory, or too many
 * workgroups for one dispatch dimension, or fewer than `minWorkgroups` (a batch of one image: the
 * GEMM's small blocks fill the GPU better). Columns per workgroup: the fewest pixel groups of a row that
 * cover the output width, up to 4 (less masked work on narrow outputs). `shape` defaults to the first of
 * HALO_SHAPES (`KILN_HALO` or `kiln tune` choose another).
 */
export function haloTile(g: ConvGeometry, minWorkgroups = 1, shape: HaloShape = haloFromEnv() ?? HALO_SHAPES[0]): HaloTile | undefined {
  if (g.depthwise || g.KH * g.KW === 1 || isShallow(g.KH * g.KW * g.cin, minWorkgroups) || g.cout > 64) return undefined;
  const across = [1, 2, 4].find((n) => n * shape.pixels >= g.OW) ?? 4;
  const [cols, rows] = [across * shape.pixels, pixelGroups(shape) / across];
  for (let chunk = Math.min(shape.chunk, g.cin); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    const tile = { ...shape, chunk, rows, cols };
    if (stagedFloats(g, tile) * 4 > shape.stageBytes) continue;
    const grid = haloGrid(g, tile);
    return grid.every((n) => n <= MAX_GROUPS) && grid[0] * grid[1] * grid[2] >= minWorkgroups ? tile : undefined;
  }
  return undefined;
}

/** `KILN_HALO=k` forces HALO_SHAPES[k] (Node only, for experiments). */
function haloFromEnv(): HaloShape | undefined {
  return experimentEntry('KILN_HALO', HALO_SHAPES, 'HALO_SHAPES');
}

/** Workgroups: (column tiles × channel blocks, row tiles, images). */
function haloGrid(g: ConvGeometry, t: HaloTile): [number, number, number] {
  return [Math.ceil(g.OW / t.cols) * Math.ceil(g.cout / BLOCK_CHANNELS), Math.ceil(g.OH / t.rows), g.batch];
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const LANES = 'xyzw';

/**
 * Template data, workgroup size and dispatch of the halo kernel for `g` with tile `t`; `x`, `w` are the
 * input and kernel (HWIO) accessors, `outShape` the shape the epilogue's coordinates index; the input
 * gradient passes the forward kernel flipped and transposed (src/codegen/lower/conv-grad.ts). The register
 * work of one (input channel, kernel row) is straight-line WGSL (see shaders/gemm-multiply.wgsl.hbs).
 */
/**
 * An epilogue that may write four channels at once: its lines with the one output write turned into
 * `res[lane] = …`, and the vec4 writer (`out0q`).
 */
export interface QuadEpilogue {
  readonly lines: readonly string[];
  /** The output's scalar writer (`out0`) and its vec4 writer (`out0q`). */
  readonly out: string;
  readonly outQ: string;
}

/**
 * The epilogue `lines` rewritten to leave their one output write in `res[slot]` (for quad stores, or
 * for stores after a batch of reads), or undefined where they write more than one output (or not as
 * `out(i, v)` last).
 */
export function quadEpilogue(lines: readonly string[], outs: readonly string[], slot = 'lane'): QuadEpilogue | undefined {
  const last = outs.length === 1 ? new RegExp(`^${outs[0]}\\(i, (.+)\\);$`).exec(lines.at(-1) ?? '') : null;
  return last ? { lines: [...lines.slice(0, -1), `res[${slot}] = ${last[1]};`], out: outs[0], outQ: `${outs[0]}q` } : undefined;
}

/**
 * Whether a conv writes its outputs as vec4s: one staged chunk holds all its input channels (an image's
 * first conv, whose few products per output leave its time to the stores) and the channels come in quads.
 * The ResNet's stem (3 channels) took 0.022 against 0.045 ms with quad stores (no epilogue either way) on an H100,
 * while its 32-channel convs ran 4% slower with the buffers declared as vec4s (`…-session15-halo-stores.log`).
 */
export const storesQuads = (g: ConvGeometry, t: HaloTile) => g.cin <= t.chunk && g.cout % 4 === 0;

export function haloConv(g: ConvGeometry, t: HaloTile, x: string, w: string, outShape: readonly number[], quadOut?: QuadEpilogue) {
  const [HR, HC, HS] = [haloRows(g, t.rows), haloCols(g, t.cols), haloStride(g, t.cols)];
  const [CGR, PG, QUADS] = [channelGroups(t), pixelGroups(t), t.channels / 4];
  const haloFloats = t.chunk * HR * HS;
  const weightFloats = g.KH * g.KW * t.chunk * BLOCK_CHANNELS;
  // The register window of one kernel row, read as vec4s: input column p·SW + kx·DW for pixel p and tap column kx.
  const column = (p: number, kx: number) => p * g.SW + kx * g.DW;
  const quads = [...new Set(range(t.pixels).flatMap((p) => range(g.KW).map((kx) => column(p, kx) >> 2)))].sort((a, b) => a - b);
  const a = (o: number) => `w${o >> 2}.${LANES[o & 3]}`;
  const taps = range(g.KW).flatMap((kx) => range(QUADS).map((q) => ({ kx, q })));
  // Each staging test is written only where it can fail: the GEMM's measure (blockEdges in ./gemm.ts).
  const [wholeX, wholeW] = [(t.chunk * HR * HC) % t.threads === 0, weightFloats % t.threads === 0];
  const wholeChunks = g.cin % t.chunk === 0;
  const all = (tests: (string | false)[]) => tests.filter((x) => x).join(' && ') || 'true';
  const quadStores = quadOut && storesQuads(g, t) ? range(t.pixels).flatMap((p) => range(QUADS).map((q) => ({ p, q, v0: 4 * q, lanes: range(4) }))) : undefined;
  return {
    template: 'conv-halo',
    quads: quadStores !== undefined,
    data: {
      quadStores, quadEpilogue: quadOut?.lines, outQ: quadOut?.outQ,
      ...g, x, w, ...t, HR, HC, HS, CGR, PG, QUADS, coords: unravel('i', outShape),
      CG: t.cols / t.pixels, NCB: Math.ceil(g.cout / BLOCK_CHANNELS),
      haloQuads: haloFloats / 4, weightFloats, weightQuads: weightFloats / 4,
      loadsX: range(Math.ceil((t.chunk * HR * HC) / t.threads)), loadsW: range(Math.ceil(weightFloats / t.threads)),
      haloStore: all([!wholeX && 'idx < CC * HR * HC']), weightStore: all([!wholeW && 'idx < WTS']),
      haloTest: all([!wholeX && 'idx < CC * HR * HC', !wholeChunks && 'c < CIN', 'iy >= 0i && iy < H && ix >= 0i && ix < W']),
      weightTest: all([!wholeW && 'idx < WTS', !wholeChunks && 'c < CIN', g.cout % BLOCK_CHANNELS !== 0 && 'co < N']),
      aLoads: quads.map((q) => `let w${q} = tileX[rowBase + ${q}u];`),
      bLoads: taps.map(({ kx, q }) => `let b${kx}_${q} = tileW[(ky * KW + ${kx}u) * CC8 + c * 8u + lid.x * QUADS + ${q}u];`),
      fmas: range(t.pixels).flatMap((p) => taps.map(({ kx, q }) => `acc[${p}][${q}] = fma(vec4<f32>(${a(column(p, kx))}), b${kx}_${q}, acc[${p}][${q}]);`)),
      stores: range(t.pixels).flatMap((p) => range(t.channels).map((v) => ({ p, v, q: v >> 2, lane: v & 3 }))),
    },
    workgroupSize: [CGR, PG, 1] as [number, number, number],
    dispatch: haloGrid(g, t),
  };
}
