/** Codegen: lowers compiled graphs to WGSL kernels and writes bundles. */
export { compile, compileBundle, type CompileOptions, type Compiled } from './compile.js';
export { buildBundle, CodegenError, type BundleReport } from './bundle.js';
export { writeBundle } from './write.js';
export { planMemory, type MemoryPlan, type Slot } from './plan.js';
export type { KernelSpec, KernelOperand, Operand, Lowering, LowerContext } from './kernel.js';
export { LOWERINGS, FUSED_LOWERINGS, lowerNode, UnsupportedOpError } from './lower/index.js';
export { PROFILES, profileForAdapter, type TargetProfile } from './profile.js';
