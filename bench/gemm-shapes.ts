// GPU time of single matmuls under each tiling (forced through KILN_GEMM_TILES; "auto" is the arithmetic
// rule of src/codegen/lower/gemm.ts), to choose that rule's candidates from measurements. A shape is
// MxNxK, with "ta" or "tb" appended for a transposed operand (a weight gradient reads Aᵀ, an input gradient Bᵀ).
// Usage: node --import tsx bench/gemm-shapes.ts [--shapes 4096x512x784,4096x512x512tb] [--tiles 'auto;16,16,8,4,16']
import { parseArgs } from 'node:util';
import type { Graph, Node } from '../src/ir/index.js';
import { getOp } from '../src/ir/index.js';
import { buildBundle } from '../src/codegen/bundle.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { GEMM_TILINGS } from '../src/codegen/lower/gemm.js';
import { Net, openDevice } from '../src/runtime/index.js';
import { median } from './common.js';
import { warmUp } from '../src/cli/tune-timer.js';

/** GPU milliseconds each timed window aims for, and the turns each tiling is timed in. */
const WINDOW_MS = 5;
const ROUNDS = 5;

const { values: opt } = parseArgs({ options: { shapes: { type: 'string', default: '4096x512x784,4096x512x512,4096x512x512tb,1024x1024x1024,2048x2048x2048,4096x1024x1024,8192x512x512' }, tiles: { type: 'string' } } });
const spec = (t: (typeof GEMM_TILINGS)[number]) => [t.WX, t.WY, t.TM, t.TN, t.BK].join(',') + (t.DB ? ',db' : '');
const tilings = opt.tiles ? opt.tiles.split(';') : ['auto', ...GEMM_TILINGS.map(spec), '16,16,8,4,16', '16,16,8,8,16', '16,16,4,8,8', '16,16,4,8,16'];
const gpu = await openDevice();

function graph(M: number, N: number, K: number, ta: boolean, tb: boolean): Graph {
  const shapes = [ta ? [K, M] : [M, K], tb ? [N, K] : [K, N]];
  const nodes: Node[] = shapes.map((shape, id) => ({ id, op: 'input', inputs: [], attrs: { name: `in${id}`, shape, dtype: 'float32' }, outputs: [{ shape, dtype: 'float32' }], name: `in${id}` }));
  const attrs = { transposeA: ta, transposeB: tb };
  nodes.push({ id: 2, op: 'matmul', inputs: [{ node: 0, output: 0 }, { node: 1, output: 0 }], attrs, outputs: getOp('matmul').infer(nodes.map((n) => n.outputs[0]), attrs), name: 'mm' });
  return { nodes, outputs: [{ name: 'mm', value: { node: 2, output: 0 } }], updates: [] };
}

// Every tiling of a shape is built first, then timed in turns after one warm-up, so the GPU never idles
// long between windows: after the host's pause to compile, an H100 ran the same GEMM up to 4× slower
// until its clocks came back (bench/results/2026-11-23-h100-session11-gemm-shapes-cold.log).
for (const shape of opt.shapes.split(',')) {
  const [M, N, K] = shape.replace(/t[ab]$/, '').split('x').map(Number);
  const [ta, tb] = [shape.endsWith('ta'), shape.endsWith('tb')];
  const nets: { tiles: string; net: Net; steps: string; repeats: number; windows: number[] }[] = [];
  for (const tiles of tilings) {
    if (tiles === 'auto') delete process.env.KILN_GEMM_TILES;
    else process.env.KILN_GEMM_TILES = tiles;
    const { bundle } = buildBundle(graph(M, N, K, ta, tb), new Map(), 'mm', M, { profile: profileForAdapter(gpu.adapter) });
    const net = await Net.create(bundle, gpu);
    await net.fill(0.5);
    nets.push({ tiles, net, steps: bundle.manifest.steps.map((s) => `[${s.dispatch.join(',')}]`).join('+'), repeats: 0, windows: [] });
  }
  delete process.env.KILN_GEMM_TILES;
  const time = async (n: (typeof nets)[number], repeats: number) => (await n.net.timeSteps(repeats)).reduce((a, t) => a + t.ms, 0);
  // Windows of about WINDOW_MS each.
  for (const n of nets) n.repeats = Math.max(3, Math.min(200, Math.ceil(WINDOW_MS / Math.max(await time(n, 2), 0.005))));
  await warmUp(() => time(nets[0], nets[0].repeats));
  for (let round = 0; round < ROUNDS; round++) for (const n of nets) n.windows.push(await time(n, n.repeats));
  for (const n of nets) {
    const ms = median(n.windows);
    console.log(`gemm-shape ${shape.padEnd(16)} ${n.tiles.padEnd(16)} ${ms.toFixed(4)} ms ${((2 * M * N * K) / ms / 1e9).toFixed(1)} TFLOP/s ${n.steps}`);
    n.net.destroy();
  }
}
process.exit(0);
