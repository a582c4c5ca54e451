/**
 * `fusedSegments`: one elementwise body applied to several independent segments in one node — the
 * optimizer update of every weight in one kernel (PyTorch's "multi-tensor apply"). Segment k reads
 * inputs `k·arity … k·arity + arity − 1` and returns the body's outputs; the node's outputs are every
 * segment's outputs in segment order. The body is typed for segment 0 and retyped for the others.
 */
import type { OpDef } from '../registry.js';
import { getOp } from '../registry.js';
import type { Attrs, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { attrInt, defineOp, fail } from './common.js';
import { fusedBody, retypeBody, bodyAttr } from './fused.js';

/** Segment count and inputs per segment, checked against the node's inputs. */
function layout(inputs: readonly unknown[], attrs: Attrs): { segments: number; arity: number } {
  const segments = attrInt('fusedSegments', attrs, 'segments');
  const arity = attrInt('fusedSegments', attrs, 'arity');
  if (segments < 1 || arity < 1) fail('fusedSegments', `needs at least one segment and one input per segment, got segments ${segments}, arity ${arity}`);
  if (inputs.length !== segments * arity) fail('fusedSegments', `${segments} segments of ${arity} inputs need ${segments * arity} inputs, got ${inputs.length}`);
  return { segments, arity };
}

/** The inputs of segment k. */
export function segmentInputs<T>(inputs: readonly T[], k: number, arity: number): T[] {
  return inputs.slice(k * arity, (k + 1) * arity);
}

const fused = () => getOp('fused');

export const fusedSegmentOps: OpDef[] = [
  defineOp({
    name: 'fusedSegments',
    arity: [1, Infinity],
    attrs: { body: { kind: 'json' }, segments: { kind: 'int' }, arity: { kind: 'int' } },
    infer: (inputs, attrs) => {
      const { segments, arity } = layout(inputs, attrs);
      const body = fusedBody(attrs);
      const out: TensorType[] = [];
      for (let k = 0; k < segments; k++) {
        const ins = segmentInputs(inputs, k, arity);
        out.push(...fused().infer(ins, { kind: 'elementwise', body: bodyAttr(retypeBody(body, ins)) }));
      }
      return out;
    },
    reference: (inputs, attrs, ctx) => {
      const { segments, arity } = layout(inputs, attrs);
      const body = fusedBody(attrs);
      const out: NDArray[] = [];
      for (let k = 0; k < segments; k++) {
        const ins = segmentInputs(inputs, k, arity);
        const types = ins.map((a) => ({ shape: a.shape, dtype: a.dtype }));
        out.push(...fused().reference(ins, { kind: 'elementwise', body: bodyAttr(retypeBody(body, types)) }, ctx));
      }
      return out;
    },
  }),
];
