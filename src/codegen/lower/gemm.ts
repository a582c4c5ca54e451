/** The shared register-blocked GEMM: tile shapes, and the template data both matmul and conv fill. */

/** Thread-tile shape (TM rows × TN columns per invocation, 16×16 invocations) for an output N columns wide. */
export function gemmTiles(N: number): { TM: number; TN: number; BM: number; BN: number } {
  // Narrow outputs (32 conv channels) get tall tiles so no invocation idles on absent columns.
  const TN = N >= 64 ? 4 : N >= 32 ? 2 : 1;
  const TM = TN === 4 ? 4 : 8;
  return { TM, TN, BM: 16 * TM, BN: 16 * TN };
}

/** Template data of shaders/gemm.wgsl.hbs for an M×N×K problem, given the WGSL of `loadA` and `loadB`. */
export function gemmData(M: number, N: number, K: number, loaders: string[]) {
  const t = gemmTiles(N);
  return { M, N, K, ...t, tileA: 16 * t.BM, tileB: 16 * t.BN, loadsA: (16 * t.BM) / 256, loadsB: Math.max(1, (16 * t.BN) / 256), loaders };
}

/** Workgroup counts covering M×N for `batches` batch entries. */
export function gemmDispatch(M: number, N: number, batches: number): [number, number, number] {
  const t = gemmTiles(N);
  return [Math.ceil(N / t.BN), Math.ceil(M / t.BM), batches];
}
