/**
 * What codegen tunes for, since a bundle is compiled ahead of the device it runs on. A GPU wants many
 * workgroups to fill its units; a CPU adapter (lavapipe, SwiftShader) runs a few threads, each best
 * with large blocks of work.
 */
export interface TargetProfile {
  readonly name: 'gpu' | 'cpu';
  /** The fewest workgroups a GEMM may use before smaller tiles are preferred. */
  readonly minWorkgroups: number;
}

/** The profiles kiln knows, by name. */
export const PROFILES: Readonly<Record<TargetProfile['name'], TargetProfile>> = {
  gpu: { name: 'gpu', minWorkgroups: 128 },
  cpu: { name: 'cpu', minWorkgroups: 2 },
};

/** The profile for an adapter: software adapters run on the CPU. */
export function profileForAdapter(adapter: { isFallback: boolean; architecture?: string }): TargetProfile {
  return adapter.isFallback || adapter.architecture === 'software' ? PROFILES.cpu : PROFILES.gpu;
}
