/** The IR: graph types, the op registry, validation, printing, JSON, and the reference interpreter. */
export * from './types.js';
export * from './errors.js';
export * from './ndarray.js';
export { getOp, hasOp, opNames, registerOps, type OpDef, type AttrSpec, type RefContext } from './registry.js';
export { validate } from './validate.js';
export { printGraph } from './printer.js';
export { graphToJSON, graphFromJSON, GRAPH_FORMAT } from './json.js';
export { interpret, type InterpretOptions, type InterpretResult, type WeightValues, type Feed } from './interpreter.js';
export { nodeIndex, typeOf, graphInputs, graphWeights } from './graph.js';
