/**
 * kiln: Keras-style models in TypeScript, compiled to fused WebGPU kernels.
 * This entry holds the frontend (the Keras API) and the IR tools; `kiln/runtime` is the small runtime.
 */
export * from './frontend/index.js';
export * as ir from './ir/index.js';
export { compile, compileBundle, writeBundle, type CompileOptions, type Compiled } from './codegen/index.js';
export { loadBundle, type Net } from './runtime/index.js';
export * from './training/index.js';
export * from './frontend/io/index.js';
