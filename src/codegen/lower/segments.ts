import type { Node } from '../../ir/types.js';
import { fusedBody } from '../../ir/ops/fused.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { chainLines } from '../chain.js';
import { dispatch1d, numel } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 256;

/**
 * A `fusedSegments` node (every weight's optimizer update): one invocation per element of all
 * segments together; a binary tree of comparisons on the flat index finds the segment, whose own
 * operand accessors then run the shared body. Only invocations at a segment boundary diverge.
 */
export function lowerSegments(node: Node, ctx: LowerContext): KernelSpec[] {
  const segments = node.attrs.segments as number;
  const arity = node.attrs.arity as number;
  const outsPer = node.outputs.length / segments;
  const body = fusedBody(node.attrs);
  const b = new Bindings(ctx);
  const outs = node.outputs.map((_, k) => b.output(node, k));
  const ins = node.inputs.map((_, k) => b.input(ctx, node, k));
  const sizes = Array.from({ length: segments }, (_, k) => numel(node.outputs[k * outsPer].shape as number[]));
  const starts = sizes.reduce<number[]>((acc, n) => [...acc, acc[acc.length - 1] + n], [0]);
  const consts: string[] = [];
  const segment = (k: number): string[] => {
    const read = (j: number) => {
      const input = k * arity + j;
      const scalar = numel(ctx.type(node.inputs[input]).shape as number[]) === 1;
      return `${ins[input]}(${scalar ? '0u' : 'j'})`;
    };
    const { lines, results } = chainLines(body, read, consts);
    return [`let j = i - ${starts[k]}u;`, ...lines, ...results.map((r, o) => `${outs[k * outsPer + o]}(j, ${r});`)];
  };
  const tree = (lo: number, hi: number, indent: string): string[] => {
    if (hi - lo === 1) return segment(lo).map((l) => indent + l);
    const mid = (lo + hi) >> 1;
    return [`${indent}if (i < ${starts[mid]}u) {`, ...tree(lo, mid, indent + '  '), `${indent}} else {`, ...tree(mid, hi, indent + '  '), `${indent}}`];
  };
  const code = tree(0, segments, '');
  const count = starts[segments];
  const { dispatch, flatIndex } = dispatch1d(count, WORKGROUP);
  const wgsl = render('elementwise', {
    ...b.header([...consts, ...helpersUsed(code.join('\n')).map((h) => WGSL_HELPERS[h])]),
    wg: WORKGROUP,
    flatIndex,
    count,
    coords: [],
    epilogue: code,
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
