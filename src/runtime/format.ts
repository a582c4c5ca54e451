/**
 * The bundle format: plain data that the compiler writes and the runtime reads. A bundle is a folder
 * (manifest.json, kernels/*.wgsl, weights.bin) or the same files in one container file.
 */

/** Readers refuse bundles of another format version, with a message saying which. */
export const BUNDLE_FORMAT = 'kiln-bundle';
export const BUNDLE_VERSION = 2;
/** Versions this runtime reads: version 1 is version 2 without a paged arena. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** Element type of a bundle tensor; every element takes 4 bytes on the GPU (bool as u32). */
export type BundleDType = 'float32' | 'int32' | 'bool';

/** A model input or output: its name, static shape (batch included), dtype, and place in the arena. */
export interface TensorSignature {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: BundleDType;
  /** Byte offset in the arena. */
  readonly offset: number;
}

/** A weight's place in weights.bin (and in the weights buffer, which mirrors it). */
export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: BundleDType;
  readonly offset: number;
  readonly size: number;
}

/** One distinct compute shader. */
export interface KernelEntry {
  readonly id: string;
  readonly file: string;
  readonly sha256: string;
  readonly entryPoint: string;
  readonly workgroupSize: readonly [number, number, number];
  /** Arena pages the kernel declares (`arena`, `arena1`, …; see arenaBinding); 1 when absent. */
  readonly arenaSlots?: number;
}

/**
 * One dispatch of a kernel; a call runs all steps in order in one submit. Every kernel binds the
 * same three things: the arena (read-write), the weights (read) and a small uniform block holding
 * this step's `params`: the element offsets of its operands (outputs first, then inputs), so
 * kernels with the same shapes are one WGSL text however their operands are placed.
 */
export interface Step {
  readonly kernel: string;
  /** The graph nodes this step runs, for `kiln inspect`. */
  readonly name: string;
  readonly dispatch: readonly [number, number, number];
  readonly params: readonly number[];
  /**
   * In a paged arena: what each of the kernel's arena slots binds, `size` bytes (at most the arena's
   * `windowBytes`) of page `page` from byte `offset`; the offsets in params count from there. A
   * step's slots never overlap. Absent: the whole arena.
   */
  readonly slots?: readonly { readonly page: number; readonly offset: number; readonly size: number }[];
}

/** A value that persists across calls in the arena (a training bundle's weights and optimizer state). */
export interface StateEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: BundleDType;
  /** Byte offset of its slot in the arena. */
  readonly offset: number;
  /** Byte offset of its initial value in weights.bin. */
  readonly init: number;
  readonly size: number;
}

/** A copy, after all steps, of a new value into a state slot (`weight ← new value`). */
export interface StateCopy {
  readonly from: number;
  readonly to: number;
  readonly size: number;
}

/** The manifest: signature, buffers, kernels and the steps of one call. */
export interface Manifest {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: number;
  /** The kiln version that wrote it. */
  readonly kiln: string;
  /** Inference bundles read weights; training bundles update their state every call. */
  readonly mode?: 'inference' | 'training';
  readonly model: {
    readonly name: string;
    /** The batch the steps run (a micro-batch when `microBatches` is given); signatures are shaped by it. */
    readonly batch: number;
    readonly inputs: readonly TensorSignature[];
    readonly outputs: readonly TensorSignature[];
    /**
     * A call takes `batch × microBatches` samples and runs the steps once per micro-batch, each
     * micro-batch's upload written while the GPU computes the one before (absent: 1).
     */
    readonly microBatches?: number;
  };
  /**
   * Bytes of the arena; when paged, it spans pages of `pageBytes` (the last one shorter), each its own
   * buffer, no slot crosses a page boundary, and a binding covers at most `windowBytes` of a page.
   * Offsets of slots count from the arena's start.
   */
  readonly arena: { readonly size: number; readonly pageBytes?: number; readonly windowBytes?: number };
  readonly weights: { readonly file: string; readonly size: number; readonly sha256: string; readonly entries: readonly WeightEntry[] };
  readonly kernels: readonly KernelEntry[];
  readonly steps: readonly Step[];
  /** State kept in the arena (training bundles), uploaded from weights.bin at load. */
  readonly state?: readonly StateEntry[];
  /** Copies that end every call, in order. */
  readonly copies?: readonly StateCopy[];
  /** The compiled graph (kiln-graph JSON), for `kiln run --check` and `kiln inspect`; the runtime never reads it. */
  readonly graph?: { readonly file: string; readonly sha256: string };
  /** WebGPU features the kernels need (mixed precision: 'shader-f16', subgroup matrices); none when absent. */
  readonly features?: readonly string[];
  /** Compiled with precision 'mixed' (float32 when absent): what a rebuild, such as `kiln tune`'s, keeps. */
  readonly precision?: 'mixed';
}

/** A bundle in memory: the manifest and the contents of its other files, by relative path. */
export interface Bundle {
  readonly manifest: Manifest;
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** Byte alignment of arena slots and weights (room for vector loads), and of each step's uniform block. */
export const BINDING_ALIGNMENT = 256;

/** Binding numbers every kernel uses; a kernel whose operands span several arena pages binds the others from 3 on (arenaBinding). */
export const BINDINGS = { arena: 0, weights: 1, params: 2 } as const;

/** The binding of a kernel's arena slot: slot 0 at BINDINGS.arena, slot k ≥ 1 after the params. */
export function arenaBinding(slot: number): number {
  return slot === 0 ? BINDINGS.arena : BINDINGS.params + slot;
}

/** Samples one call of the bundle takes: its batch times its micro-batches. */
export function callBatch(m: Manifest): number {
  return m.model.batch * (m.model.microBatches ?? 1);
}

/** A model's signature as a call sees it: every dimension 0 (the batch) times the micro-batches. */
export function callSignature<T extends { readonly shape: readonly number[] }>(m: Manifest, s: T): T {
  const k = m.model.microBatches ?? 1;
  return k === 1 ? s : { ...s, shape: [s.shape[0] * k, ...s.shape.slice(1)] };
}
