/**
 * Small seedable pseudo-random number generator for weight initialization.
 *
 * Uniforms come from mulberry32 (32-bit state, period 2^32) after the seed is mixed through a
 * splitmix32 step, so nearby seeds (1, 2, 3, …) give unrelated streams. Normals use the
 * Box-Muller transform. Values never match TF.js or Keras bit for bit: only the distributions do.
 */

/** Mixes any finite number into a 32-bit unsigned seed (splitmix32 finalizer). */
export function hashSeed(seed: number): number {
  // Fold the low and high integer words and the fractional bits so 1.5 and 1 (and 1 and 2^32+1) differ.
  const hi = Math.trunc(seed / 0x100000000);
  let h = (Math.trunc(seed) ^ Math.imul(hi, 0x9e3779b1) ^ Math.trunc((seed % 1) * 0x100000000)) >>> 0;
  h = (h + 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded stream of uniform and normal draws; the same seed always gives the same sequence. */
export class Prng {
  private state: number;
  private spare: number | null = null;

  /** @param seed any finite number; it is hashed, so small consecutive seeds are fine. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Prng seed must be a finite number, got ${seed}`);
    this.state = hashSeed(seed);
  }

  /** Next raw 32-bit unsigned integer (mulberry32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform draw in [lo, hi); defaults to [0, 1). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * (this.nextUint32() / 0x100000000);
  }

  /** Normal draw with the given mean and standard deviation (Box-Muller, second value cached). */
  normal(mean = 0, stddev = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + stddev * z;
    }
    // 1 - u lies in (0, 1], so the log never sees 0.
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return mean + stddev * r * Math.cos(2 * Math.PI * u2);
  }

  /** Normal draw redrawn until it lies within 2 standard deviations of the mean (Keras truncation). */
  truncatedNormal(mean = 0, stddev = 1): number {
    let z = this.normal();
    while (Math.abs(z) > 2) z = this.normal();
    return mean + stddev * z;
  }
}

// Module-level, counter-based source of seeds for initializers created without one.
let globalSeed = 0;
let globalCounter = 0;

/**
 * Resets the global seed source: after `setGlobalSeed(n)`, the sequence of seeds handed to unseeded
 * initializers (and so their values) repeats exactly, in call order. Without a call the process starts
 * at seed 0, so unseeded runs are deterministic for a fixed order of `init` calls.
 */
export function setGlobalSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new RangeError(`global seed must be a finite number, got ${seed}`);
  globalSeed = seed;
  globalCounter = 0;
}

/** Next seed from the global source: a hash of (global seed, call counter). */
export function nextGlobalSeed(): number {
  // Mixing the counter with the hashed global seed keeps streams for different global seeds apart.
  return hashSeed(hashSeed(globalSeed) ^ Math.imul(++globalCounter, 0x27d4eb2d));
}
