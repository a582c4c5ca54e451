import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { dropoutWgsl } from '../chain.js';

const WORKGROUP = 64;

/**
 * dropout: element i is kept when the counter-based uniform of (seed + step·stride, i) reaches the
 * rate, exactly as the interpreter draws it; the training flag is read at run time unless folded.
 */
export function lowerDropout(node: Node, ctx: LowerContext): KernelSpec[] {
  const b = new Bindings(ctx);
  const y = b.output(node);
  const x = b.input(ctx, node, 0);
  const training = b.input(ctx, node, 1);
  const step = node.inputs.length > 2 ? b.input(ctx, node, 2) : undefined;
  const count = numel(node.outputs[0].shape as number[]);
  const { dispatch, flatIndex } = dispatch1d(count, WORKGROUP);
  const lines = [`${y}(i, ${dropoutWgsl(node, `${x}(i)`, `${training}(0u)`, step ? `${step}(0u)` : undefined)});`];
  const wgsl = render('elementwise', { ...b.header(helpersUsed(lines.join('\n')).map((h) => WGSL_HELPERS[h])), wg: WORKGROUP, flatIndex, count, coords: [], epilogue: lines });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
