import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { bodyOf, broadcastRead, chainLines, producerOf } from '../chain.js';
import { numel, sameShape, strides, unravel } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const TILE = 8;

/** Offset of batch entry `batch` of an operand whose batch dims broadcast to the output's. */
function batchOffset(inBatch: readonly number[], outBatch: readonly number[], matrix: number): string {
  const lead = outBatch.length - inBatch.length;
  const outStrides = strides(outBatch);
  const inStrides = strides(inBatch);
  const terms = inBatch.flatMap((d, i) => (d === 1 ? [] : [`((batch / ${outStrides[i + lead]}u) % ${outBatch[i + lead]}u) * ${inStrides[i] * matrix}u`]));
  return terms.length ? terms.join(' + ') : '0u';
}

/** A matmul, alone or with its fused epilogue (bias, activation, residual): tiled through workgroup memory. */
export function lowerMatmul(node: Node, ctx: LowerContext): KernelSpec[] {
  const inputTypes = node.inputs.map((r) => ctx.type(r));
  const body = bodyOf(node, inputTypes);
  const mm = producerOf(body)!;
  const paramOf = (k: number) => body.nodes.find((n) => n.id === mm.inputs[k].node)!.attrs.index as number;
  const [ai, bi] = [paramOf(0), paramOf(1)];
  const aShape = inputTypes[ai].shape as number[];
  const bShape = inputTypes[bi].shape as number[];
  const outShape = node.outputs[0].shape as number[];
  const tA = mm.attrs.transposeA === true;
  const tB = mm.attrs.transposeB === true;
  const M = outShape.at(-2)!;
  const N = outShape.at(-1)!;
  const K = tA ? aShape.at(-2)! : aShape.at(-1)!;
  const outBatch = outShape.slice(0, -2);

  const b = new Bindings();
  const outs = node.outputs.map((_, k) => b.output(node, k));
  const ins = node.inputs.map((_, k) => b.input(ctx, node, k));
  const consts: string[] = [];
  const { lines, results } = chainLines(body, (k) => broadcastRead(ins[k], inputTypes[k].shape as number[], outShape), consts);
  const stores = results.map((r, k) => `${outs[k]}(i, ${r});`);
  const needsCoords = node.inputs.some((_, k) => k !== ai && k !== bi && !sameShape(inputTypes[k].shape as number[], outShape));
  const code = [...lines, ...stores].join('\n');
  const wgsl = render('matmul', {
    ...b.header([...consts, ...helpersUsed(code).map((h) => WGSL_HELPERS[h])]),
    M, N, K, tile: TILE, tileArea: TILE * TILE,
    a: ins[ai],
    b: ins[bi],
    aBatchOffset: batchOffset(aShape.slice(0, -2), outBatch, M * K),
    bBatchOffset: batchOffset(bShape.slice(0, -2), outBatch, K * N),
    aIndex: tA ? 'ka * M + row' : 'row * K + ka',
    bIndex: tB ? 'col * K + kb' : 'kb * N + col',
    coords: needsCoords ? unravel('i', outShape) : [],
    epilogue: [...lines, ...stores],
  });
  const batches = numel(outBatch);
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [TILE, TILE, 1], dispatch: [Math.ceil(N / TILE), Math.ceil(M / TILE), batches], operands: b.operands }];
}
