import { describe, expect, it } from 'vitest';
import { validate, printGraph, graphToJSON, graphFromJSON, interpret, GraphError, InputError, type Graph, type Node } from '../../src/ir/index.js';

const f32 = (shape: (number | null)[]) => ({ shape, dtype: 'float32' as const });

/** x (None, 3) · w (3, 2) + b, relu: a small dense layer by hand. */
function denseGraph(): Graph {
  const nodes: Node[] = [
    { id: 0, op: 'input', inputs: [], attrs: { name: 'x', shape: [null, 3], dtype: 'float32' }, outputs: [f32([null, 3])], name: 'x' },
    { id: 1, op: 'weight', inputs: [], attrs: { name: 'fc/kernel', shape: [3, 2], dtype: 'float32', trainable: true }, outputs: [f32([3, 2])], name: 'fc/kernel' },
    { id: 2, op: 'weight', inputs: [], attrs: { name: 'fc/bias', shape: [2], dtype: 'float32', trainable: true }, outputs: [f32([2])], name: 'fc/bias' },
    { id: 3, op: 'matmul', inputs: [{ node: 0, output: 0 }, { node: 1, output: 0 }], attrs: {}, outputs: [f32([null, 2])], name: 'fc/matmul' },
    { id: 4, op: 'add', inputs: [{ node: 3, output: 0 }, { node: 2, output: 0 }], attrs: {}, outputs: [f32([null, 2])], name: 'fc/add' },
    { id: 5, op: 'relu', inputs: [{ node: 4, output: 0 }], attrs: {}, outputs: [f32([null, 2])], name: 'fc/relu' },
  ];
  return { nodes, outputs: [{ name: 'y', value: { node: 5, output: 0 } }], updates: [] };
}

const weights = {
  'fc/kernel': { shape: [3, 2], dtype: 'float32' as const, data: Float32Array.from([1, -1, 2, 0.5, -3, 1]) },
  'fc/bias': { shape: [2], dtype: 'float32' as const, data: Float32Array.from([0.25, -0.5]) },
};

describe('validate', () => {
  it('accepts a well-formed graph', () => expect(() => validate(denseGraph())).not.toThrow());

  const broken: [string, (g: Graph) => Graph, RegExp][] = [
    ['an unknown op', (g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === 5 ? { ...n, op: 'relux' } : n)) }), /unknown op 'relux'/],
    ['a reference to a later node', (g) => ({ ...g, nodes: [g.nodes[0], g.nodes[3], ...g.nodes.slice(1, 3), ...g.nodes.slice(4)] }), /not an earlier node/],
    ['outputs that differ from inference', (g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === 5 ? { ...n, outputs: [f32([null, 3])] } : n)) }), /differ from inferred/],
    ['an unknown attribute', (g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === 3 ? { ...n, attrs: { transpose: true } } : n)) }), /unknown attribute 'transpose'/],
    ['a wrong attribute kind', (g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === 3 ? { ...n, attrs: { transposeA: 1 } } : n)) }), /transposeA' should be bool/],
    ['a wrong input count', (g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === 5 ? { ...n, inputs: [] } : n)) }), /0 inputs, expected 1/],
    ['two weights with one name', (g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === 2 ? { ...n, attrs: { ...n.attrs, name: 'fc/kernel' } } : n)) }), /two weight nodes are named 'fc\/kernel'/],
    ['an output of a missing value', (g) => ({ ...g, outputs: [{ name: 'y', value: { node: 9, output: 0 } }] }), /missing value 9:0/],
    ['an update of an unknown weight', (g) => ({ ...g, updates: [{ weight: 'nope', value: { node: 5, output: 0 } }] }), /unknown weight 'nope'/],
  ];
  for (const [what, breakIt, message] of broken) {
    it(`rejects ${what}`, () => expect(() => validate(breakIt(denseGraph()))).toThrow(message));
  }
});

describe('printGraph', () => {
  it('prints one line per node with types and names', () => {
    const text = printGraph(denseGraph());
    expect(text).toContain('%3 = matmul(%0, %1) : (None, 2) float32  # fc/matmul');
    expect(text).toContain('y = %5');
  });
});

describe('JSON round trip', () => {
  it('gives back an equal graph', () => {
    const g = denseGraph();
    expect(graphFromJSON(graphToJSON(g))).toEqual(g);
  });
  it('refuses other formats and versions, naming the source', () => {
    expect(() => graphFromJSON('{', 'model.graph.json')).toThrow(/model.graph.json: not valid JSON/);
    expect(() => graphFromJSON(JSON.stringify({ format: 'kiln-graph', version: 99, nodes: [], outputs: [] }))).toThrow(/version 99/);
    expect(() => graphFromJSON(JSON.stringify({ format: 'onnx' }))).toThrow(GraphError);
  });
});

describe('interpret', () => {
  it('computes relu(x·W + b) exactly, in float64 and float32', () => {
    const x = [1, 2, 3, -1, 0.5, 2];
    const want = [Math.max(0, 1 + 4 - 9 + 0.25), Math.max(0, -1 + 1 + 3 - 0.5), Math.max(0, -1 + 1 - 6 + 0.25), Math.max(0, 1 + 0.25 + 2 - 0.5)];
    for (const precision of ['float64', 'float32'] as const) {
      const out = interpret(denseGraph(), { x }, { weights, precision }).outputs.y;
      expect(out.shape).toEqual([2, 2]);
      expect(out.data).toBeInstanceOf(precision === 'float64' ? Float64Array : Float32Array);
      expect(Array.from(out.data)).toEqual(want);
    }
  });
  it('fails clearly on a missing or mis-shaped feed or weight', () => {
    expect(() => interpret(denseGraph(), {}, { weights })).toThrow(/no value fed for input 'x' \(None, 3\)/);
    expect(() => interpret(denseGraph(), { x: [1, 2] }, { weights })).toThrow(InputError);
    expect(() => interpret(denseGraph(), { x: { shape: [1, 4], dtype: 'float32', data: new Float32Array(4) } }, { weights })).toThrow(/expects shape \(None, 3\), got \(1, 4\)/);
    expect(() => interpret(denseGraph(), { x: [1, 2, 3] }, { weights: { 'fc/kernel': weights['fc/kernel'] } })).toThrow(/no value for weight 'fc\/bias'/);
  });
});
