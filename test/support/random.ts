/** Seeded random test data (never all zeros). */
export function randomData(size: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** Random integers in [0, n). */
export function randomInts(size: number, n: number, seed: number): Int32Array {
  return Int32Array.from(randomData(size, seed, 0, n), (x) => Math.min(n - 1, Math.floor(x)));
}
