import { describe, expect, it } from 'vitest';
import { interpret, validate, GraphError, ShapeError, type Node } from '../../src/ir/index.js';
import { getOp } from '../../src/ir/registry.js';
import { bodyAttr, type FusedBody } from '../../src/ir/ops/fused.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
const param = (id: number, index: number, shape: number[]): Node => ({ id, op: 'param', inputs: [], attrs: { index, shape, dtype: 'float32' }, outputs: [f32(shape)], name: `p${index}` });

/** matmul(x, w) + b, relu: the body of a Dense epilogue. */
const denseBody: FusedBody = {
  nodes: [
    param(0, 0, [2, 3]),
    param(1, 1, [3, 4]),
    param(2, 2, [4]),
    { id: 3, op: 'matmul', inputs: [{ node: 0, output: 0 }, { node: 1, output: 0 }], attrs: {}, outputs: [f32([2, 4])], name: 'mm' },
    { id: 4, op: 'add', inputs: [{ node: 3, output: 0 }, { node: 2, output: 0 }], attrs: {}, outputs: [f32([2, 4])], name: 'bias' },
    { id: 5, op: 'relu', inputs: [{ node: 4, output: 0 }], attrs: {}, outputs: [f32([2, 4])], name: 'act' },
  ],
  outputs: [{ node: 5, output: 0 }],
};

describe('fused and param ops', () => {
  it('fused infers its outputs from the body and matches the unfused ops in the interpreter', () => {
    const b = new GraphBuilder();
    const [x] = b.add('input', [], { name: 'x', shape: [2, 3], dtype: 'float32' }, 'x');
    const [w] = b.add('input', [], { name: 'w', shape: [3, 4], dtype: 'float32' }, 'w');
    const [bias] = b.add('input', [], { name: 'b', shape: [4], dtype: 'float32' }, 'b');
    const [fused] = b.add('fused', [x, w, bias], { kind: 'epilogue', body: bodyAttr(denseBody) }, 'dense');
    const [mm] = b.add('matmul', [x, w], {}, 'mm');
    const [plain] = b.add('relu', [b.add('add', [mm, bias], {}, 'add')[0]], {}, 'relu');
    expect(b.type(fused)).toEqual(f32([2, 4]));
    const graph = b.build([{ name: 'fused', value: fused }, { name: 'plain', value: plain }], []);
    validate(graph);
    const feeds = { x: randomData(6, 1), w: randomData(12, 2), b: randomData(4, 3) };
    const { outputs } = interpret(graph, feeds);
    expectClose(outputs.fused.data, outputs.plain.data, { rtol: 0, atol: 0 });
    expect(Array.from(outputs.fused.data).some((v) => v !== 0)).toBe(true);
  });

  it('rejects a param whose declared type differs from its input', () => {
    expect(() => getOp('fused').infer([f32([2, 3]), f32([3, 5]), f32([4])], { kind: 'epilogue', body: bodyAttr(denseBody) })).toThrow(ShapeError);
  });

  it('rejects a body whose recorded types are stale, or that reads a later node', () => {
    const stale = { ...denseBody, nodes: denseBody.nodes.map((n) => (n.id === 5 ? { ...n, outputs: [f32([2, 5])] } : n)) };
    expect(() => getOp('fused').infer([f32([2, 3]), f32([3, 4]), f32([4])], { kind: 'epilogue', body: bodyAttr(stale) })).toThrow(/records/);
    const forward = { ...denseBody, nodes: denseBody.nodes.map((n) => (n.id === 4 ? { ...n, inputs: [{ node: 5, output: 0 }, n.inputs[1]] } : n)) };
    expect(() => getOp('fused').infer([f32([2, 3]), f32([3, 4]), f32([4])], { kind: 'epilogue', body: bodyAttr(forward) })).toThrow(GraphError);
  });

  it('param outside a fused body has no value', () => {
    expect(() => getOp('param').reference([], { index: 0, shape: [1], dtype: 'float32' }, { precision: 'float64', alloc: () => new Float64Array(1) })).toThrow(/only valid inside a fused body/);
  });
});
