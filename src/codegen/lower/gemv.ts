/** The few-row matmul (batch 1…8, shaders/matmul-gemv.wgsl.hbs): how its workgroups split columns and K. */

/** Invocations per GEMV workgroup: WebGPU's default limit, so a bundle runs on every adapter. */
const THREADS = 256;
/** Column lanes per workgroup, fewest first: two vec4 lanes already read 32 contiguous bytes of B. */
const LANE_COUNTS = [2, 4, 8, 16] as const;
/** k steps each lane issues per pass: loads in flight per lane, where one serial chain of loads was the whole cost at batch 1. */
const UNROLL = 4;

/** One GEMV shape: CX column lanes × S slices of K, V columns per lane. */
export interface GemvShape {
  readonly CX: number;
  readonly S: number;
  readonly V: 1 | 4;
  readonly UNROLL: number;
}

/**
 * The GEMV shape for an M×N output over K (`batches` of them): four columns per lane when B is
 * n-contiguous and N a multiple of 4 (vec4 loads), else one. Column lanes per workgroup are the fewest
 * that still leave `minWorkgroups` workgroups, so most invocations split K and each walks it briefly.
 */
export function gemvShape(N: number, batches: number, minWorkgroups: number, bContiguousN: boolean): GemvShape {
  const V = bContiguousN && N % 4 === 0 ? 4 : 1;
  if (V === 1) return { CX: 16, S: THREADS / 16, V, UNROLL };
  const lanes = N / V;
  const groups = (cx: number) => Math.ceil(lanes / cx) * batches;
  const CX = [...LANE_COUNTS].reverse().find((cx) => groups(cx) >= minWorkgroups) ?? LANE_COUNTS[0];
  return { CX, S: THREADS / CX, V, UNROLL };
}

/** Template data and dispatch of shaders/matmul-gemv.wgsl.hbs for `shape`; `b` is B's accessor name. */
export function gemvData(shape: GemvShape, N: number, batches: number, b: string, bIndex: string) {
  const quad = shape.V === 4;
  return {
    data: {
      ...shape,
      quad,
      vecT: quad ? 'vec4<f32>' : 'f32',
      partSize: shape.CX * shape.S,
      unroll: Array.from({ length: shape.UNROLL }, (_, u) => u),
      bLoad: quad ? `${b}q(bBase + k * N + col0)` : `${b}(bBase + ${bIndex})`,
    },
    workgroupSize: [shape.CX, shape.S, 1] as [number, number, number],
    dispatch: [Math.ceil(N / (shape.V * shape.CX)), 1, batches] as [number, number, number],
  };
}
