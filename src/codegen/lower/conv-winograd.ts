/**
 * 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3) (shaders/conv-winograd.wgsl.hbs):
 * each 2×2 block of outputs costs 16 multiplies per input and output channel instead of 36. The kernel
 * is transformed first (U = G·g·Gᵀ, into scratch), then one kernel transforms the input tiles, multiplies
 * and transforms back, with the fused epilogue at each output element. The direct kernels are bound by
 * their multiply-adds (the ResNet's 32-channel convs ran at the fp32 GEMM core's 34 TFLOP/s on an H100).
 */
import type { ConvGeometry } from './conv.js';
import { MAX_GROUPS, dispatch1d, unravel } from '../indexing.js';
import { DEFAULT_WORKGROUP_STORAGE } from '../profile.js';

/** Output channels per workgroup: 8 quads per transformed position. */
const BLOCK_CHANNELS = 32;
/** Tiles per workgroup: 2 groups of 16 per transformed position. */
const TILES = 32;

/** How the workgroup's 16 tiles of 2×2 outputs lie: rows × columns of tiles. */
export interface WinogradShape {
  readonly tileRows: number;
  readonly tileCols: number;
}

/** Tile blocks, widest first; a conv takes the first no wider than its output (32, 16, 8, then 4 pixels). */
export const WINOGRAD_SHAPES: readonly WinogradShape[] = [
  { tileRows: 2, tileCols: 16 },
  { tileRows: 4, tileCols: 8 },
  { tileRows: 8, tileCols: 4 },
  { tileRows: 16, tileCols: 2 },
];

/** A Winograd kernel's plan: its tile block, input channels transformed per chunk, output channels per slice of M. */
export interface WinogradTile extends WinogradShape {
  readonly chunk: number;
  readonly sliceChannels: number;
}

/** Input channels per chunk, most first (32·chunk invocations transform a tile's channel each). */
const CHUNKS = [16, 8, 4] as const;
/** Output channels per slice of M through workgroup memory. */
const SLICES = [16, 8, 4] as const;
/** Floats of workgroup memory that V of a chunk, or M of a slice, takes: 16 positions × 32 tiles × channels. */
const stagedFloats = (channels: number) => 16 * TILES * channels;
/** Floats of a chunk's U: 16 positions × chunk × 32 output channels. */
const uFloats = (chunk: number) => 16 * chunk * BLOCK_CHANNELS;

/**
 * The plan for a conv, or undefined where this kernel cannot run it: anything but a full 3×3 conv with
 * stride and dilation 1, channel counts not multiples of 4 (the kernel reads quads), too many
 * workgroups for one dispatch dimension, or fewer than `minWorkgroups`. The chunk is the largest that
 * fits `storage` bytes of workgroup memory (the device's limit, WebGPU's default 16 KiB when compiled
 * for none) and that the input channels need at least half of.
 */
export function winogradTile(g: ConvGeometry, minWorkgroups = 1, storage = DEFAULT_WORKGROUP_STORAGE): WinogradTile | undefined {
  if (g.depthwise || g.KH !== 3 || g.KW !== 3 || g.SH !== 1 || g.SW !== 1 || g.DH !== 1 || g.DW !== 1) return undefined;
  if (g.cin % 4 !== 0 || g.cout % 4 !== 0) return undefined;
  const shape = WINOGRAD_SHAPES.find((s) => 2 * s.tileCols <= g.OW) ?? WINOGRAD_SHAPES[WINOGRAD_SHAPES.length - 1];
  const floats = storage / 4;
  const chunk = CHUNKS.filter((c) => !process.env.KILN_WINO_CHUNK || c === Number(process.env.KILN_WINO_CHUNK)).find((c) => stagedFloats(c) + (U_GLOBAL ? 0 : uFloats(c)) <= floats && (c / 2 < g.cin || c === 4));
  const sliceChannels = SLICES.find((k) => stagedFloats(k) <= floats);
  if (!chunk || !sliceChannels) return undefined;
  const tile = { ...shape, chunk, sliceChannels };
  const grid = winogradGrid(g, tile);
  return grid.every((n) => n <= MAX_GROUPS) && grid[0] * grid[1] * grid[2] >= minWorkgroups ? tile : undefined;
}

/** Workgroups: (column blocks × channel blocks, row blocks, images). */
function winogradGrid(g: ConvGeometry, t: WinogradShape): [number, number, number] {
  return [Math.ceil(g.OW / (2 * t.tileCols)) * Math.ceil(g.cout / BLOCK_CHANNELS), Math.ceil(g.OH / (2 * t.tileRows)), g.batch];
}

const PREFETCH_U = process.env.KILN_WINO_PREFETCH_U === '1';
const U_GLOBAL = process.env.KILN_WINO_UGLOBAL === '1';
const SKIP = new Set((process.env.KILN_WINO_SKIP ?? '').split(','));
const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const LANES = 'xyzw';

/**
 * The kernel transform's lines, one invocation per (input channel, output channel) at flat index `i`:
 * U[ξ][ci][co] = (G·g·Gᵀ)[ξ] with G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]], read from the HWIO
 * kernel `w` and written through the scratch writer `sw`.
 */
export function winogradFilterLines(g: ConvGeometry, w: string, sw: string): string[] {
  const [cin, cout] = [g.cin, g.cout];
  // G's rows applied to three values: what both passes of the transform do.
  const gRows = (v: string[]) => [v[0], `0.5 * (${v[0]} + ${v[1]} + ${v[2]})`, `0.5 * (${v[0]} - ${v[1]} + ${v[2]})`, v[2]];
  return [
    `let co = i % ${cout}u; let ci = i / ${cout}u;`,
    ...range(3).flatMap((ky) => range(3).map((kx) => `let g${ky}_${kx} = ${w}(((${ky * 3 + kx}u * ${cin}u + ci) * ${cout}u + co));`)),
    ...range(3).flatMap((kx) => gRows(range(3).map((ky) => `g${ky}_${kx}`)).map((e, a) => `let t${a}_${kx} = ${e};`)),
    ...range(4).flatMap((a) => gRows(range(3).map((kx) => `t${a}_${kx}`)).map((e, b) => `${sw}(${(4 * a + b) * cin * cout}u + i, ${e});`)),
  ];
}

/** Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]] (rows: transformed index, columns: patch index). */
const BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]];
/** Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]. */
const AT = [[1, 1, 1, 0], [0, 1, -1, -1]];

/** Σ coefficient·term over the nonzero coefficients (±1), as WGSL. */
function signedSum(terms: readonly { k: number; v: string }[]): string {
  return terms.filter((t) => t.k !== 0).map((t, j) => (t.k > 0 ? (j ? ' + ' : '') : j ? ' - ' : '-') + t.v).join('');
}

/** The patch's rows and columns, clamped into the image, and whether each lies in it. */
function patchSetup(): string[] {
  return [
    ...range(4).flatMap((a) => [`let row${a} = n * u32(H) + u32(clamp(iy0 + ${a}i, 0i, H - 1i));`, `let inY${a} = iy0 + ${a}i >= 0i && iy0 + ${a}i < H;`]),
    ...range(4).flatMap((b) => [`let col${b} = u32(clamp(ix0 + ${b}i, 0i, W - 1i));`, `let inX${b} = ix0 + ${b}i >= 0i && ix0 + ${b}i < W;`]),
  ];
}

/**
 * The loads of the chunk from channel `cb`: this invocation's 4×4 patch at channel cb + t % CC, and its
 * quads of U. Without branches (clamped coordinates, zero outside the image or the channels), so all
 * can be in flight at once.
 */
function chunkLoads(x: string, u: string, uQuads: number, prefetchU: boolean, lane = 't % CC'): string[] {
  return [
    `let c = cb + ${lane};`,
    'let cc = min(c, CIN - 1u);',
    ...range(4).flatMap((a) => range(4).map((b) => `dv[${4 * a + b}] = select(0.0, ${x}((row${a} * u32(W) + col${b}) * CIN + cc), inY${a} && inX${b} && c < CIN);`)),
    ...(prefetchU ? uQuadLoads(u, uQuads, (k) => `uv[${k}]`) : []),
  ];
}

/** The chunk's U quads (from channel `cb`) into `target(k)`: clamped into U and zeroed past it, without branches. */
function uQuadLoads(u: string, uQuads: number, target: (k: number) => string): string[] {
  return range(uQuads).flatMap((k) => [
    `{ let q = t + ${256 * k}u; let kq = q % 8u; let uc = cb + (q / 8u) % CC;`,
    `${target(k)} = select(vec4<f32>(0.0), ${u}q(((q / (8u * CC)) * CIN + min(uc, CIN - 1u)) * N + min(co0 + kq * 4u, N - 4u)), uc < CIN && co0 + kq * 4u < N); }`,
  ]);
}

/** V = Bᵀ·d·B of the loaded patch into workgroup memory, column by column then row by row. */
function inputTransform(): string[] {
  return [
    ...range(4).flatMap((b) => range(4).map((a) => `let r${a}_${b} = ${signedSum(range(4).map((j) => ({ k: BT[a][j], v: `dv[${4 * j + b}]` })))};`)),
    ...range(4).flatMap((a) => range(4).map((b) => {
      const at = `${4 * a + b}u * CC * 32u + vAt`;
      return `smem[(${at}) / 4u][(${at}) % 4u] = ${signedSum(range(4).map((j) => ({ k: BT[b][j], v: `r${a}_${j}` })))};`;
    })),
  ];
}

/** A (tile, channel)'s output transform Y = Aᵀ·M·A into y00…y11, one term of M at a time. */
function outputTransform(): string[] {
  const ys = range(2).flatMap((r) => range(2).map((s) => `y${r}${s}`));
  return [
    ...ys.map((y) => `var ${y} = 0.0;`),
    ...range(4).flatMap((a) => range(4).flatMap((b) => [
      `{ let at = (${4 * a + b}u * 32u + tile) * KP + k; let m = smem[at / 4u][at % 4u];`,
      ...range(2).flatMap((r) => range(2).map((s) => ({ r, s, k: AT[r][a] * AT[s][b] }))).filter((e) => e.k !== 0).map((e) => `y${e.r}${e.s} = y${e.r}${e.s} ${e.k > 0 ? '+' : '-'} m;`),
      '}',
    ])),
  ];
}

/**
 * Template data, workgroup size and dispatch of the Winograd kernel for `g` with plan `t`; `x` is the
 * input's accessor, `u` the transformed kernel's (scratch, [16][cin][cout]), both read as quads;
 * `outShape` the shape the epilogue's coordinates index.
 */
export function winogradConv(g: ConvGeometry, t: WinogradTile, x: string, u: string, outShape: readonly number[]) {
  return {
    template: 'conv-winograd',
    data: {
      ...g, ...t, u, chunkQuads: t.chunk / 4, sliceQuads: t.sliceChannels / 4,
      NCB: Math.ceil(g.cout / BLOCK_CHANNELS),
      uAt: stagedFloats(t.chunk) / 4,
      uStages: range((128 * t.chunk) / 256).map((k) => 256 * k),
      smemQuads: Math.max(stagedFloats(t.chunk) + (U_GLOBAL ? 0 : uFloats(t.chunk)), stagedFloats(t.sliceChannels)) / 4,
      inputTransform: inputTransform(),
      skipX: SKIP.has('X'),
      patchSetup: patchSetup(),
      prefetchU: PREFETCH_U && !U_GLOBAL,
      uGlobal: U_GLOBAL,
      inlineLoads: TILES * t.chunk > 256,
      taskLoads: chunkLoads(x, u, 0, false, 'task % CC').filter((l) => !l.startsWith('let cb')),
      loads: TILES * t.chunk > 256 ? (PREFETCH_U && !U_GLOBAL ? uQuadLoads(u, (128 * t.chunk) / 256, (k) => `uv[${k}]`) : []) : chunkLoads(x, u, (128 * t.chunk) / 256, PREFETCH_U && !U_GLOBAL),
      uLoads: uQuadLoads(u, (128 * t.chunk) / 256, (k) => `smem[U_AT + t + ${256 * k}u]`),
      outputTransform: outputTransform(),
      // Constant indices only: a private array indexed at run time lives in memory, not registers.
      fmas: [
        ...range(4).map((q) => `let v${q} = smem[vAt + ((tg * 4u + ${q}u) ^ sw)];`),
        ...range(16).map((i) => `acc[${i}] = fma(vec4<f32>(v${i >> 2}.${LANES[i & 3]}), u, acc[${i}]);`),
      ],
      mStores: range(16).map((i) => `smem[(xi * 32u + tg * 16u + ${i}u) * KQ + kg % KQ] = acc[${i}];`),
      outputs: range(2).flatMap((dy) => range(2).map((dx) => ({ dy, dx }))),
      coords: unravel('i', outShape),
      skipS: SKIP.has('S'), skipG: SKIP.has('G'), skipE: SKIP.has('E'), skipZ: SKIP.has('Z'),
    },
    workgroupSize: [128, 1, 1] as [number, number, number],
    dispatch: winogradGrid(g, t),
  };
}

/** The kernel transform's grid: one invocation per (input channel, output channel). */
export function winogradFilterGrid(g: ConvGeometry): { count: number; dispatch: [number, number, number]; flatIndex: string } {
  const count = g.cin * g.cout;
  return { count, ...dispatch1d(count, 64) };
}
