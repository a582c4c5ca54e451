/**
 * Counter-based random numbers shared by the reference interpreter and WGSL.
 *
 * `uniform(seed, index)` is a pure function of two u32 values, so any element of a random tensor can
 * be computed independently (one GPU thread per element) and the GPU reproduces the interpreter bit
 * for bit. It uses only 32-bit integer multiply, add, xor and logical shifts, all mod 2³², which
 * WGSL's `u32` arithmetic does natively. The WGSL mirror is:
 *
 * ```wgsl
 * fn pcg_hash(v: u32) -> u32 {
 *   let state = v * 747796405u + 2891336453u;
 *   let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
 *   return (word >> 22u) ^ word;
 * }
 * fn uniform(seed: u32, index: u32) -> f32 {
 *   let h = pcg_hash(index + pcg_hash(seed));
 *   return f32(h >> 8u) * (1.0 / 16777216.0);
 * }
 * ```
 *
 * The hash is PCG-RXS-M-XS 32 ("pcg_hash", Jarzynski & Olano, "Hash Functions for GPU Rendering",
 * JCGT 2020): a bijection on u32 with good avalanche. The seed is hashed once and added to the index,
 * so different seeds give unrelated streams. The top 24 bits become the float: every value k/2²⁴ is
 * exact in f32, so the GPU's comparison against a rate sees exactly the interpreter's number.
 */

/** PCG-RXS-M-XS 32-bit hash of a u32 (returned as a u32 in a JS number). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The u32 hash of (seed, index); seeds and indices are taken mod 2³² (negative seeds wrap). */
export function hashU32(seed: number, index: number): number {
  return pcgHash(((index >>> 0) + pcgHash(seed >>> 0)) >>> 0);
}

/** A uniform number in [0, 1) with 24 random bits, a pure function of (seed, index). */
export function uniform(seed: number, index: number): number {
  return (hashU32(seed, index) >>> 8) / 16777216;
}
