/**
 * Experiment knobs (KILN_GEMM_TILES, KILN_CONV, …): an environment variable read where a process
 * environment exists (Node), never in a browser, where codegen sees no `process`.
 */
export function experimentEnv(name: string): string | undefined {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
}

/** The entry of `table` (named `tableName` in errors) that knob `name=k` forces, by index; undefined when the knob is unset. */
export function experimentEntry<T>(name: string, table: readonly T[], tableName: string): T | undefined {
  const spec = experimentEnv(name);
  if (!spec) return undefined;
  const entry = table[Number(spec)];
  if (entry === undefined) throw new Error(`${name} must index ${tableName} (0..${table.length - 1}), not '${spec}'`);
  return entry;
}
