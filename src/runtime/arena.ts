/**
 * The arena on the GPU: one buffer, or pages of `manifest.arena.pageBytes` each (the last one shorter)
 * when the bundle's values outgrow the device's largest storage binding. Slot offsets in the manifest
 * count from the arena's start and no slot crosses a page, so every slot lies in one buffer.
 */
import { BundleError } from './errors.js';
import { arenaBinding, BINDINGS, type Manifest, type Step } from './format.js';

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** The arena's buffers and where each slot lies in them. */
export class Arena {
  /** The page buffers, in order. */
  readonly pages: readonly GPUBuffer[];
  /** Bytes per page (the whole arena when it is one page). */
  readonly pageBytes: number;

  /**
   * Creates the page buffers (sized in whole vec4s: kernels may declare them as arrays of vec4<f32>).
   * Fails with a BundleError when a page is larger than the device can bind.
   */
  constructor(
    device: GPUDevice,
    readonly manifest: Manifest,
    usage: GPUBufferUsageFlags,
  ) {
    const { size, pageBytes = Math.max(16, size) } = manifest.arena;
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    if (Math.min(pageBytes, align16(size)) > limit) {
      const what = manifest.arena.pageBytes ? `arena pages of ${pageBytes} bytes` : `an arena of ${size} bytes in one page`;
      throw new BundleError(`bundle '${manifest.model.name}' needs ${what}, more than this device's largest storage binding (${limit} bytes): compile it for this device, which pages the arena at its limit`, { pageBytes, limit });
    }
    const count = Math.max(1, Math.ceil(size / pageBytes));
    this.pageBytes = pageBytes;
    this.pages = Array.from({ length: count }, (_, k) =>
      device.createBuffer({ size: Math.max(16, align16(Math.min(pageBytes, size - k * pageBytes))), usage, label: count > 1 ? `kiln arena page ${k}` : 'kiln arena' }),
    );
  }

  /** Bytes of the whole arena. */
  get size(): number {
    return this.manifest.arena.size;
  }

  /** The buffer holding bytes [offset, offset + size) of the arena, and where they start in it. */
  at(offset: number, size: number): { buffer: GPUBuffer; offset: number } {
    const page = Math.floor(offset / this.pageBytes);
    if (size > 0 && Math.floor((offset + size - 1) / this.pageBytes) !== page) {
      throw new BundleError(`bytes ${offset}…${offset + size} of the arena cross a page boundary (pages of ${this.pageBytes} bytes): the bundle is damaged`, { offset, size });
    }
    return { buffer: this.pages[page], offset: offset - page * this.pageBytes };
  }

  /** The arena ranges [from, to) split where pages meet, as buffer ranges. */
  ranges(from: number, to: number): { buffer: GPUBuffer; offset: number; size: number }[] {
    const out: { buffer: GPUBuffer; offset: number; size: number }[] = [];
    for (let at = from; at < to; ) {
      const end = Math.min(to, (Math.floor(at / this.pageBytes) + 1) * this.pageBytes);
      out.push({ ...this.at(at, end - at), size: end - at });
      at = end;
    }
    return out;
  }

  /** Bind-group entries of a step's arena slots: page `step.pages[k]` (page 0 when absent) at slot k's binding. */
  entries(step: Step, slots: number): GPUBindGroupEntry[] {
    const pages = step.pages ?? [0];
    if (pages.length !== slots) throw new BundleError(`step '${step.name}' binds ${pages.length} arena pages, but its kernel declares ${slots}: the bundle is damaged`, { step: step.name });
    return pages.map((page, k) => {
      const buffer = this.pages[page];
      if (!buffer) throw new BundleError(`step '${step.name}' binds arena page ${page}, and the arena has ${this.pages.length}: the bundle is damaged`, { step: step.name });
      return { binding: arenaBinding(k), resource: { buffer } };
    });
  }

  /** Frees the pages. */
  destroy(): void {
    for (const b of this.pages) b.destroy();
  }
}

/**
 * Bind-group layouts for kernels by their number of arena slots (one, unless the arena is paged):
 * the slots read-write, the weights read-only, the params uniform. Fails with a BundleError when a
 * kernel needs more storage buffers than the device allows.
 */
export function kernelLayouts(device: GPUDevice): (slots: number) => GPUBindGroupLayout {
  const layouts = new Map<number, GPUBindGroupLayout>();
  return (slots) => {
    const known = layouts.get(slots);
    if (known) return known;
    if (slots + 1 > device.limits.maxStorageBuffersPerShaderStage) {
      throw new BundleError(`a kernel binds ${slots} arena pages and the weights, more than this device's ${device.limits.maxStorageBuffersPerShaderStage} storage buffers per stage: compile with a smaller batch`, { slots });
    }
    const storage = (binding: number): GPUBindGroupLayoutEntry => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } });
    const layout = device.createBindGroupLayout({
      label: `kiln kernel (${slots} arena page${slots > 1 ? 's' : ''})`,
      entries: [
        ...Array.from({ length: slots }, (_, k) => storage(arenaBinding(k))),
        { binding: BINDINGS.weights, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: BINDINGS.params, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      ],
    });
    layouts.set(slots, layout);
    return layout;
  };
}
