/**
 * Experiment knobs (KILN_GEMM_TILES, KILN_CONV, …): an environment variable read where a process
 * environment exists (Node), never in a browser, where codegen sees no `process`.
 */
export function experimentEnv(name: string): string | undefined {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
}
