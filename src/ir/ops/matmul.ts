/** Batched matrix product with broadcast leading dims. */
import type { OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { formatShape } from '../errors.js';
import { sizeOf } from '../ndarray.js';
import { attrBool, defineOp, dimsCompatible, expectDtype, expectRank, expectSameDtype, fail, mergeDim, tensor } from './common.js';
import { alloc, broadcastShapes, broadcastStrides, gatherOffsets } from './indexing.js';

interface MatmulGeometry {
  batch: Dim[];
  m: Dim;
  k: Dim;
  n: Dim;
}

/** Shared shape logic of infer and reference: batch dims, and m, k, n after the transposes. */
function geometry(a: readonly Dim[], b: readonly Dim[], ta: boolean, tb: boolean): MatmulGeometry {
  const [a0, a1] = a.slice(-2);
  const [b0, b1] = b.slice(-2);
  const [m, ka] = ta ? [a1, a0] : [a0, a1];
  const [kb, n] = tb ? [b1, b0] : [b0, b1];
  if (!dimsCompatible(ka, kb)) {
    const flags = [ta ? 'transposeA' : '', tb ? 'transposeB' : ''].filter(Boolean).join(', ');
    fail('matmul', `inner dimensions differ: a ${formatShape(a)} · b ${formatShape(b)}${flags ? ` (${flags})` : ''}`, { a, b });
  }
  const batch = broadcastShapes('matmul', [a.slice(0, -2), b.slice(0, -2)], ['a batch dims', 'b batch dims']);
  return { batch, m, k: mergeDim(ka, kb), n };
}

/** Registry row for matmul. */
export const matmulOps: OpDef[] = [
  defineOp({
    name: 'matmul',
    arity: 2,
    attrs: { transposeA: { kind: 'bool', default: false }, transposeB: { kind: 'bool', default: false } },
    infer: ([a, b], attrs) => {
      expectRank('matmul', 'a', a, [2]);
      expectRank('matmul', 'b', b, [2]);
      expectDtype('matmul', 'a', a, 'numeric');
      expectSameDtype('matmul', a, b);
      const g = geometry(a.shape, b.shape, attrBool('matmul', attrs, 'transposeA'), attrBool('matmul', attrs, 'transposeB'));
      return [tensor([...g.batch, g.m, g.n], a.dtype)];
    },
    reference: ([a, b], attrs, ctx) => {
      const ta = attrBool('matmul', attrs, 'transposeA');
      const tb = attrBool('matmul', attrs, 'transposeB');
      const g = geometry(a.shape, b.shape, ta, tb);
      const [batch, m, k, n] = [g.batch as number[], g.m as number, g.k as number, g.n as number];
      const out = alloc(ctx, [...batch, m, n], a.dtype);
      // Element strides of op(A)[i, p] and op(B)[p, j] inside one matrix.
      const [ars, acs] = ta ? [1, m] : [k, 1];
      const [brs, bcs] = tb ? [1, k] : [n, 1];
      // Start offset of every batch's matrix; broadcast batch dims get stride 0.
      const aBase = gatherOffsets(batch, broadcastStrides(a.shape.slice(0, -2), batch), 0).map((o) => o * m * k);
      const bBase = gatherOffsets(batch, broadcastStrides(b.shape.slice(0, -2), batch), 0).map((o) => o * k * n);
      const A = a.data;
      const B = b.data;
      const acc = new Float64Array(n);
      for (let bi = 0; bi < sizeOf(batch); bi++) {
        for (let i = 0; i < m; i++) {
          acc.fill(0);
          for (let p = 0; p < k; p++) {
            const av = A[aBase[bi] + i * ars + p * acs];
            const bRow = bBase[bi] + p * brs;
            for (let j = 0; j < n; j++) acc[j] += av * B[bRow + j * bcs];
          }
          out.data.set(acc, (bi * m + i) * n);
        }
      }
      return [out];
    },
  }),
];
