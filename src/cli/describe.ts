/** Small formatting helpers shared by the commands that print bundles: compile, inspect, run, demo. */
import type { Manifest } from '../runtime/format.js';

/** Bytes with thousands separators and a binary-prefixed size: `2,679,040 bytes (2.55 MiB)`. */
export function fmtBytes(n: number): string {
  const exact = `${n.toLocaleString('en-US')} bytes`;
  if (n < 1024) return exact;
  const [v, unit] = n < 1024 ** 2 ? [n / 1024, 'KiB'] : n < 1024 ** 3 ? [n / 1024 ** 2, 'MiB'] : [n / 1024 ** 3, 'GiB'];
  return `${exact} (${v.toFixed(2)} ${unit})`;
}

/** `, in 4 micro-batches of 1024` for a bundle that runs its call in micro-batches, else nothing. */
export function microNote(m: Manifest): string {
  const k = m.model.microBatches ?? 1;
  return k > 1 ? `, in ${k} micro-batches of ${m.model.batch}` : '';
}

/** `3 kernels (3 distinct)`: kernel launches per call (steps), and the distinct shaders they use. */
export function kernelCount(m: Manifest): string {
  return `${m.steps.length} kernel${m.steps.length === 1 ? '' : 's'} (${m.kernels.length} distinct)`;
}

/** A dispatch or workgroup size: `(32, 64, 1)`. */
export const fmtDims = (d: readonly number[]) => `(${d.join(', ')})`;

/** Milliseconds for people: `151 ms`, `2.4 ms`. */
export const fmtMs = (ms: number) => `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;

/** Weight entries, telling weights from the constants codegen folded into weights.bin: `6 entries` / `7 entries (6 weights, 1 constant)`. */
export function weightEntries(m: Manifest): string {
  const n = m.weights.entries.length;
  const consts = m.weights.entries.filter((e) => e.name.startsWith('__const_')).length;
  const base = `${n} entr${n === 1 ? 'y' : 'ies'}`;
  return consts ? `${base} (${n - consts} weight${n - consts === 1 ? '' : 's'}, ${consts} constant${consts === 1 ? '' : 's'})` : base;
}

/** How a paged arena is laid out, for the arena line: ` in 3 pages of 8 GiB, bound at most 2 GiB at a time`; empty for one buffer. */
export function arenaLayoutNote(arena: { readonly size: number; readonly pageBytes?: number; readonly windowBytes?: number }): string {
  if (!arena.pageBytes) return '';
  const pages = Math.ceil(arena.size / arena.pageBytes);
  const short = (n: number) => /\((.*)\)$/.exec(fmtBytes(n))?.[1] ?? fmtBytes(n);
  return ` in ${pages} page${pages > 1 ? 's' : ''} of ${short(arena.pageBytes)}, bound at most ${short(arena.windowBytes ?? arena.pageBytes)} at a time`;
}
