/**
 * The halo-staged tensor-core convolution (shaders/conv-mma.wgsl.hbs), for mixed-precision bundles: a
 * workgroup computes rows × 16·CB output pixels × 16·NB output channels, staging the input patch those
 * pixels see (the halo) in f16 once per 16 input channels, and every tap reads its 16×16 operand
 * matrices straight out of that patch: pixel i's channels for tap (ky, kx) lie SW pixels after pixel
 * i − 1's, a fixed stride, which is what a subgroup-matrix load takes. The tensor-core implicit GEMM
 * stages each input element once per tap (9 times for 3×3) and ran the ResNet's 32-channel convs no
 * faster than the f32 halo kernel (sessions 4 and 8).
 */
import type { ConvGeometry } from './conv.js';
import { MAX_GROUPS, unravel } from '../indexing.js';
import { experimentEntry } from '../experiment-env.js';
import { MMA_FEATURES } from '../profile.js';
import type { QuadEpilogue } from './conv-halo.js';
import { convMmaKey, tunedConvMma } from '../tuning.js';

/**
 * How a workgroup splits its work: `subgroups` of 32 invocations, each owning `rowsEach` output rows of
 * `colBlocks` 16-pixel blocks, for every channel block of the workgroup (at most `MAX_CHANNEL_BLOCKS`).
 */
export interface ConvMmaShape {
  readonly subgroups: number;
  readonly rowsEach: number;
  readonly colBlocks: number;
}

/**
 * Shapes in order of preference; a conv takes the first whose tile fits workgroup memory and fills the
 * target, trying first the one `KILN_CONV_MMA=k` forces or `kiln tune` chose. On an H100, the ResNet's
 * 32-channel convs at batch 256, conv + bias + relu / with the residual (`…-session16-conv-mma-shapes.log`):
 * 16×32 pixels in 8 subgroups of 2 rows 0.054 / 0.077 ms, 8×32 in 8 subgroups 0.068 / 0.088, 8×16 in 4
 * subgroups 0.063 / 0.079, 8×32 in 4 subgroups 0.067 / 0.105, 4×16 in 4 subgroups 0.084 / 0.098; the f32
 * halo kernel 0.142 / 0.151. The later, smaller shapes serve strided convs, whose halos are wide, and small maps.
 */
export const CONV_MMA_SHAPES: readonly ConvMmaShape[] = [
  { subgroups: 8, rowsEach: 2, colBlocks: 2 },
  { subgroups: 8, rowsEach: 1, colBlocks: 2 },
  { subgroups: 4, rowsEach: 2, colBlocks: 1 },
  { subgroups: 4, rowsEach: 2, colBlocks: 2 },
  { subgroups: 4, rowsEach: 1, colBlocks: 1 },
];

/** Output channels a workgroup computes, in 16-channel blocks: 64 at most. */
const MAX_CHANNEL_BLOCKS = 4;
/** Input channels staged at once: one tensor-core k step. */
const CHUNK = 16;
/** f16 elements each staged pixel (and weight row) is padded by: rows 48 and 80 bytes apart hit distinct banks. */
const PAD = 8;
/** Workgroup memory a GPU with subgroup matrices gives at least (as in ./gemm-mma.ts). */
const ASSUMED_STORAGE = 32768;

/** A tensor-core conv's tile: its shape, and the rows, columns and channel blocks of a workgroup. */
export interface ConvMmaTile extends ConvMmaShape {
  readonly rows: number;
  readonly cols: number;
  readonly channelBlocks: number;
}

/**
 * The least share of a tile's pixels that must lie in the output: a 16×32 tile over an 8×8 map computes
 * eight times the pixels it keeps, and there a 256→256 conv took 1.01 ms against the implicit GEMM's 0.33
 * (H100, `…-session16-conv-mma-wide.log`).
 */
const MIN_PIXEL_SHARE = 0.75;

const haloRows = (g: ConvGeometry, rows: number) => (rows - 1) * g.SH + (g.KH - 1) * g.DH + 1;
const haloCols = (g: ConvGeometry, cols: number) => (cols - 1) * g.SW + (g.KW - 1) * g.DW + 1;

/** Bytes of workgroup memory a tile stages: the f16 halo and weights of one chunk, and a 16×16 f32 result per subgroup. */
export function convMmaStorage(g: ConvGeometry, t: ConvMmaTile): number {
  const halo = haloRows(g, t.rows) * haloCols(g, t.cols) * (CHUNK + PAD);
  const weights = g.KH * g.KW * CHUNK * (16 * t.channelBlocks + PAD);
  return 2 * (halo + weights) + 4 * 256 * t.subgroups;
}

/** Workgroups: (column tiles × channel blocks, row tiles, images). */
function convMmaGrid(g: ConvGeometry, t: ConvMmaTile): [number, number, number] {
  return [Math.ceil(g.OW / t.cols) * Math.ceil(g.cout / (16 * t.channelBlocks)), Math.ceil(g.OH / t.rows), g.batch];
}

/**
 * The tile for a conv, or undefined where this kernel cannot run or would not fill the target: depthwise
 * and 1×1 convs (a GEMM reads each input once already), fewer than 16 input channels (a k step mostly
 * zeros: an RGB stem stays on the f32 halo kernel), channels not in quads (the staging reads vec4s), and,
 * in every shape, a tile mostly outside a small output (less than `minShare` inside), over `storage` bytes, or with
 * a grid beyond one dispatch or below `minWorkgroups`.
 */
export function convMmaTile(g: ConvGeometry, minWorkgroups: number, storage = ASSUMED_STORAGE, minShare = MIN_PIXEL_SHARE): ConvMmaTile | undefined {
  if (g.depthwise || g.KH * g.KW === 1 || g.cin < CHUNK || g.cin % 4 !== 0 || g.cout % 4 !== 0) return undefined;
  // Forced for an experiment, else timed on this adapter by `kiln tune`, else the table's order.
  const tuned = tunedConvMma(convMmaKey(g));
  const chosen = convMmaFromEnv() ?? (tuned === undefined ? undefined : CONV_MMA_SHAPES[tuned]);
  for (const shape of chosen ? [chosen, ...CONV_MMA_SHAPES] : CONV_MMA_SHAPES) {
    const [rows, cols] = [shape.subgroups * shape.rowsEach, 16 * shape.colBlocks];
    if ((g.OH * g.OW) / (Math.ceil(g.OH / rows) * rows * Math.ceil(g.OW / cols) * cols) < minShare) continue;
    // Fewer channel blocks where a large kernel's weights would not fit otherwise (a 5×5 kernel to 64 channels stages 56 KiB).
    for (let channelBlocks = Math.min(MAX_CHANNEL_BLOCKS, Math.ceil(g.cout / 16)); channelBlocks >= 1; channelBlocks = Math.floor(channelBlocks / 2)) {
      const tile = { ...shape, rows, cols, channelBlocks };
      const grid = convMmaGrid(g, tile);
      if (convMmaStorage(g, tile) <= storage && grid.every((n) => n <= MAX_GROUPS) && grid[0] * grid[1] * grid[2] >= minWorkgroups) return tile;
    }
  }
  return undefined;
}

/** `KILN_CONV_MMA=k` forces CONV_MMA_SHAPES[k] (Node only, for experiments). */
function convMmaFromEnv(): ConvMmaShape | undefined {
  return experimentEntry('KILN_CONV_MMA', CONV_MMA_SHAPES, 'CONV_MMA_SHAPES');
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

/**
 * Template data, workgroup size, dispatch and features of the tensor-core conv for `g` with tile `t`;
 * `xq`, `wq` read four input channels (NHWC) and four output channels of the kernel (HWIO) at once,
 * `outShape` is the shape the epilogue's coordinates index. The subgroup-matrix work of one tap is
 * straight-line WGSL (see shaders/gemm-multiply.wgsl.hbs). With `deferred` (an epilogue whose one write
 * is left in `res[k]`), a lane computes its eight elements of a result before it writes any: the reads
 * of a residual are then in flight together, where each write before the next read serialized them.
 */
export function mmaConv(g: ConvGeometry, t: ConvMmaTile, xq: string, wq: string, outShape: readonly number[], deferred?: QuadEpilogue) {
  const [HR, HC] = [haloRows(g, t.rows), haloCols(g, t.cols)];
  const [XS, WS, NB] = [CHUNK + PAD, 16 * t.channelBlocks + PAD, t.channelBlocks];
  const threads = 32 * t.subgroups;
  const haloQuads = HR * HC * (CHUNK / 4);
  const weightQuads = g.KH * g.KW * CHUNK * 4 * NB;
  const fragments = range(t.rowsEach).flatMap((r) => range(t.colBlocks).map((cb) => ({ r, cb })));
  const cells = fragments.flatMap(({ r, cb }) => range(NB).map((nb) => ({ r, cb, nb, name: `c_${r}_${cb}_${nb}` })));
  // A's rows are pixels SW apart in the staged halo; its offset must be uniform, so it is built from the subgroup's index.
  const aLoad = ({ r, cb }: { r: number; cb: number }) =>
    `let a_${r}_${cb} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&tileX, ((sgRow + ${r}u) * ${g.SH}u + ky * ${g.DH}u) * HC * XS + (${16 * cb * g.SW}u + kx * ${g.DW}u) * XS, ${g.SW}u * XS);`;
  const bLoad = (nb: number) => `let b_${nb} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&tileW, (ky * KW + kx) * ${CHUNK}u * WS + ${16 * nb}u, WS);`;
  const wholeX = haloQuads % threads === 0;
  const wholeW = weightQuads % threads === 0;
  const all = (tests: (string | false)[]) => tests.filter((x) => x).join(' && ') || 'true';
  return {
    template: 'conv-mma',
    quads: true,
    data: {
      ...g, xq, wq, ...t, HR, HC, XS, WS, NB, threads, CHUNK,
      NCB: Math.ceil(g.cout / (16 * NB)),
      tileX: HR * HC * XS, tileW: g.KH * g.KW * CHUNK * WS, tileC: 256 * t.subgroups,
      haloQuads, weightQuads,
      loadsX: range(Math.ceil(haloQuads / threads)), loadsW: range(Math.ceil(weightQuads / threads)),
      haloStore: all([!wholeX && 'idx < HQ']), weightStore: all([!wholeW && 'idx < WQ']),
      haloTest: all([!wholeX && 'idx < HQ', g.cin % CHUNK !== 0 && 'c < CIN', 'iy >= 0i && iy < H && ix >= 0i && ix < W']),
      weightTest: all([!wholeW && 'idx < WQ', g.cin % CHUNK !== 0 && 'c < CIN', g.cout % (16 * NB) !== 0 && 'co < N']),
      declare: cells.map((c) => `var ${c.name} = subgroup_matrix_result<f32, 16, 16>();`),
      multiply: [...fragments.map(aLoad), ...range(NB).map(bLoad), ...cells.map((c) => `${c.name} = subgroupMatrixMultiplyAccumulate(a_${c.r}_${c.cb}, b_${c.nb}, ${c.name});`)],
      results: cells.map((c) => ({ name: c.name, row: c.r, col: 16 * c.cb, channel: 16 * c.nb })),
      // Straight-line, so that a lane's eight reads of a residual are in flight together; the bounds test only where a tile can pass an edge.
      steps: range(8),
      deferred: deferred?.lines, out: deferred?.out,
      edgeTest: all([g.OH % t.rows !== 0 && 'oy < OH', g.OW % t.cols !== 0 && 'ox < OW', g.cout % (16 * NB) !== 0 && 'co < N']),
      coords: unravel('i', outShape),
      lanes: range(4),
      enables: ['f16', 'subgroups', 'chromium_experimental_subgroup_matrix'],
      requires: t.subgroups > 1 ? ['subgroup_id'] : [],
      subgroupIndex: t.subgroups > 1 ? 'sgid' : '0u',
      subgroupIdBuiltin: t.subgroups > 1,
    },
    workgroupSize: [threads, 1, 1] as [number, number, number],
    dispatch: convMmaGrid(g, t),
    features: [...MMA_FEATURES],
  };
}
