// No vitest import: the GPU machine's suite (test/device) runs under node:test.

/** Asserts |got − want| ≤ atol + rtol·|want| elementwise, NaN only where want is NaN; reports the worst element. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: { rtol: number; atol: number }, what = 'values'): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length}, want ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) throw new Error(`${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    const excess = Math.abs(g - w) - (tol.atol + tol.rtol * Math.abs(w));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) throw new Error(`${what}[${worst}]: got ${got[worst]}, want ${want[worst]} (|diff| ${Math.abs(got[worst] - want[worst]).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|want|)`);
}
