import type { Dim } from '../ir/types.js';
import { bodyAttr, fusedBody, retypeBody } from '../ir/ops/fused.js';
import { rewrite, rule } from './rewrite.js';

/**
 * specializeBatch: every unknown (null) dim of a graph input becomes `ctx.batch`, and every node's
 * types are inferred again, so the compiled graph has only static shapes (reshape's -1 resolves).
 */
export const specializeBatch = rewrite('specializeBatch', [
  rule({ op: 'input' }, (node, ctx) => {
    const shape = (node.attrs.shape as Dim[]).map((d) => d ?? ctx.batch);
    return ctx.builder.add('input', [], { ...node.attrs, shape }, node.name, { device: node.device });
  }),
  // A fused body's params restate their input types, so the body is typed again too.
  rule({ op: 'fused' }, (node, ctx) => {
    const body = retypeBody(fusedBody(node.attrs), ctx.inputs.map((r) => ctx.builder.type(r)));
    return ctx.builder.add('fused', ctx.inputs, { ...node.attrs, body: bodyAttr(body) }, node.name, { device: node.device });
  }),
  rule({}, (node, ctx) => ctx.builder.add(node.op, ctx.inputs, node.attrs, node.name, { device: node.device })),
]);
