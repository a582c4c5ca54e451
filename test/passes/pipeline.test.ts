import { beforeEach, describe, expect, it } from 'vitest';
import { clearSession, ops } from '../../src/index.js';
import { GraphError, printGraph, type Graph, type Node } from '../../src/ir/index.js';
import { fusedBody } from '../../src/ir/ops/fused.js';
import { inference, runPipeline } from '../../src/passes/pipelines.js';
import type { Pass } from '../../src/passes/program.js';
import { bodyOps, compileChecked, fusedOf, INFER, nodesOf, programOf } from './helpers.js';
import { cnn, denseBn, mlp, opsModel, resnetBlock, resnetWithHead } from './models.js';

beforeEach(() => clearSession());

/** A fused node's body as a printable graph. */
export function bodyGraph(n: Node): Graph {
  const body = fusedBody(n.attrs);
  return { nodes: body.nodes, outputs: body.outputs.map((value, i) => ({ name: `out${i}`, value })), updates: [] };
}

describe('the inference pipeline', () => {
  it('MLP: three matmul epilogues, the last ending in the softmax; no dropout, static shapes', () => {
    const p = compileChecked(programOf(mlp()), inference);
    expect(fusedOf(p, 'epilogue', 'matmul').map(bodyOps)).toEqual([['matmul', 'add', 'relu'], ['matmul', 'add', 'relu'], ['matmul', 'add', 'softmax']]);
    expect(p.graph.nodes.filter((n) => !['input', 'weight'].includes(n.op)).map((n) => n.op)).toEqual(['fused', 'fused', 'fused']);
    expect(nodesOf(p, 'dropout')).toHaveLength(0);
    expect(p.graph.nodes.flatMap((n) => n.outputs.flatMap((t) => t.shape))).not.toContain(null);
    expect(p.weights.size).toBe(6);
  });

  it('CNN: conv epilogue, then the dense read through the pool and the reshape, with its softmax', () => {
    const p = compileChecked(programOf(cnn()), inference);
    expect(p.graph.nodes.filter((n) => !['input', 'weight'].includes(n.op)).map((n) => n.op)).toEqual(['fused', 'fused']);
    expect(fusedOf(p, 'epilogue').map(bodyOps)).toEqual([['conv2d', 'add', 'relu'], ['maxPool2d', 'reshape', 'matmul', 'add', 'softmax']]);
  });

  it('resnet block: no batchNorm, BN folded into the convs, the residual add inside an epilogue', () => {
    const p = compileChecked(programOf(resnetBlock()), inference);
    expect(nodesOf(p, 'batchNorm')).toHaveLength(0);
    const groups = fusedOf(p, 'epilogue', 'conv2d');
    expect(groups.map(bodyOps)).toEqual([['conv2d', 'add', 'relu'], ['conv2d', 'add', 'add', 'relu']]);
    const input = nodesOf(p, 'input')[0].id;
    // The second group's residual operand is the block's input.
    expect(groups[1].inputs.map((r) => r.node)).toContain(input);
    expect(p.graph.nodes.filter((n) => !['input', 'weight'].includes(n.op))).toHaveLength(2);
    expect([...p.weights.keys()].every((k) => /folded_(kernel|bias)$/.test(k))).toBe(true);
    if (process.env.KILN_PRINT) console.log(printGraph(p.graph), printGraph(bodyGraph(groups[1])));
  });

  it('ResNet head: the softmax Dense reads through the global average pooling, so the model is three kernels', () => {
    const p = compileChecked(programOf(resnetWithHead()), inference);
    expect(p.graph.nodes.filter((n) => !['input', 'weight'].includes(n.op)).map((n) => n.op)).toEqual(['fused', 'fused', 'fused']);
    expect(fusedOf(p, 'epilogue').map(bodyOps)).toEqual([['conv2d', 'add', 'relu'], ['conv2d', 'add', 'add', 'relu'], ['reduceMean', 'matmul', 'add', 'softmax']]);
  });

  it('Dense → BN becomes one epilogue of matmul + bias', () => {
    const p = compileChecked(programOf(denseBn()), inference);
    expect(p.graph.nodes.filter((n) => !['input', 'weight'].includes(n.op)).map((n) => [n.op, ...(n.op === 'fused' ? bodyOps(n) : [])])).toEqual([['fused', 'matmul', 'add']]);
  });

  it('elementwise ops after a reduction fuse, scalar constants inlined in the body', () => {
    const p = compileChecked(programOf(opsModel([[6]], (x) => ops.sigmoid(ops.mul(ops.sub(ops.softmax(x), 0.1), 3)))), inference);
    const [g] = fusedOf(p, 'elementwise');
    expect(bodyOps(g)).toEqual(['sub', 'mul', 'sigmoid']);
    expect(g.inputs).toHaveLength(1);
    expect(fusedBody(g.attrs).nodes.filter((n) => n.op === 'constant')).toHaveLength(2);
    expect(nodesOf(p, 'constant')).toHaveLength(0);
  });

  it('check names the pass that broke the graph; onPass sees every pass', () => {
    const seen: string[] = [];
    const broken: Pass = { name: 'breaker', run: (p) => ({ ...p, graph: { ...p.graph, nodes: [...p.graph.nodes].reverse() } }) };
    const program = programOf(mlp());
    expect(() => runPipeline(program, [...inference.slice(0, 2), broken], INFER, { check: true, onPass: (n) => seen.push(n) })).toThrow(GraphError);
    expect(() => runPipeline(program, [broken], INFER, { check: true })).toThrow(/after pass 'breaker'/);
    expect(seen).toEqual(['specializeBatch', 'foldLearningPhase']);
  });
});
