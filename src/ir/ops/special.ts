/** Special functions the reference needs at full double precision (JS has no Math.erf). */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT_PI = Math.sqrt(Math.PI);
// Below this the all-positive series converges in ≤ ~60 terms; above it the continued fraction does.
const SERIES_LIMIT = 3;

/** erf by the series e^{-x²}·2/√π·Σ (2x²)ⁿ·x/(1·3·…·(2n+1)): every term positive, so no cancellation. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc for x ≥ SERIES_LIMIT by its continued fraction e^{-x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))). */
function erfcFraction(x: number): number {
  let t = x;
  for (let k = 60; k >= 1; k--) t = x + k / 2 / t;
  return Math.exp(-x * x) / (SQRT_PI * t);
}

/** The error function, accurate to a few ulps of a double. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < SERIES_LIMIT) return erfSeries(x);
  const r = 1 - erfcFraction(a);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 − erf(x), without cancellation for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= SERIES_LIMIT) return erfcFraction(x);
  if (x <= -SERIES_LIMIT) return 2 - erfcFraction(-x);
  return 1 - erfSeries(x);
}
