/**
 * `--check`: compares GPU outputs with the reference interpreter's, elementwise by
 * |got − want| ≤ atol + rtol·|want|, NaN only where the reference has NaN (as the tests do).
 */
import type { NDArray } from '../ir/ndarray.js';
import { CliError } from './errors.js';

/** An explicit tolerance: |got − want| ≤ atol + rtol·|want|. */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** The tolerance `kiln run --check` uses unless told otherwise: float32 kernels against a float64 reference. */
export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/** How one output compares. */
export interface Comparison {
  readonly name: string;
  readonly size: number;
  readonly maxAbs: number;
  /** Largest |got − want| / |want| where |want| > atol (relative error is meaningless near zero). */
  readonly maxRel: number;
  /** Elements outside the tolerance (NaN mismatches included). */
  readonly bad: number;
  readonly worst?: { readonly index: number; readonly got: number; readonly want: number };
}

/** Compares one output with its reference. */
export function compareOutput(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): Comparison {
  if (got.length !== want.length) return { name, size: want.length, maxAbs: Infinity, maxRel: Infinity, bad: want.length };
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  let worst: Comparison['worst'];
  let worstExcess = -Infinity;
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]);
    const w = Number(want[i]);
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    const diff = Math.abs(g - w);
    const excess = Number.isNaN(diff) ? Infinity : diff - (tol.atol + tol.rtol * Math.abs(w));
    if (excess > 0) bad++;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = { index: i, got: g, want: w };
    }
    if (!(diff <= maxAbs)) maxAbs = diff;
    if (Math.abs(w) > tol.atol && !(diff / Math.abs(w) <= maxRel)) maxRel = diff / Math.abs(w);
  }
  return { name, size: want.length, maxAbs, maxRel, bad, worst: bad ? worst : undefined };
}

const sci = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));

/**
 * Compares every output, prints one line each and a verdict, and throws (exit status 1) on FAIL.
 * `got` holds the GPU's outputs, `want` the interpreter's, both by output name.
 */
export function checkOutputs(got: Record<string, ArrayLike<number>>, want: Record<string, NDArray>, tol: Tolerance, log: (line: string) => void = console.log): Comparison[] {
  log(`check: against the reference interpreter (float64), |gpu − ref| ≤ atol ${tol.atol} + rtol ${tol.rtol}·|ref|, NaN only where ref is NaN`);
  const results: Comparison[] = [];
  for (const [name, ref] of Object.entries(want)) {
    const g = got[name];
    if (!g) throw new CliError(`check: the GPU run has no output '${name}'`, { output: name });
    const c = compareOutput(name, g, ref.data, tol);
    results.push(c);
    const verdict = c.bad ? `FAIL: ${c.bad} of ${c.size} elements outside the tolerance, worst [${c.worst?.index}]: gpu ${c.worst?.got}, ref ${c.worst?.want}` : 'PASS';
    log(`  output '${name}': max |diff| ${sci(c.maxAbs)}, max rel diff ${sci(c.maxRel)}: ${verdict}`);
  }
  const failed = results.filter((c) => c.bad);
  if (failed.length) {
    log(`check: FAIL (${failed.length} of ${results.length} outputs)`);
    throw new CliError(`check failed: ${failed.map((c) => `output '${c.name}' differs from the reference interpreter in ${c.bad} of ${c.size} elements`).join('; ')} (rtol ${tol.rtol}, atol ${tol.atol})`);
  }
  log(`check: PASS (${results.length === 1 ? 'the output matches' : `all ${results.length} outputs match`} the reference interpreter)`);
  return results;
}
