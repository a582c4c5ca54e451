/**
 * The arena on the GPU: one buffer, or pages of `manifest.arena.pageBytes` each (the last one shorter)
 * when the bundle's values outgrow the device's largest storage binding, each kernel binding windows
 * of at most `windowBytes` of them. Slot offsets in the manifest count from the arena's start and no
 * slot crosses a page, so every slot lies in one buffer.
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
  /** The most one binding covers (the whole page when the arena is not paged). */
  private readonly windowBytes: number;

  /**
   * Creates the page buffers (sized in whole vec4s: kernels may declare them as arrays of vec4<f32>).
   * Fails with a BundleError when a page is larger than the device allows, or a binding larger than it binds.
   */
  constructor(
    device: GPUDevice,
    readonly manifest: Manifest,
    usage: GPUBufferUsageFlags,
  ) {
    const { size, pageBytes = Math.max(16, size), windowBytes = pageBytes } = manifest.arena;
    const { maxStorageBufferBindingSize: bindingLimit, maxBufferSize: bufferLimit } = device.limits;
    const paged = manifest.arena.pageBytes !== undefined;
    const bound = Math.min(windowBytes, pageBytes, align16(size));
    if (bound > bindingLimit || Math.min(pageBytes, align16(size)) > bufferLimit) {
      const what = paged ? `arena pages of ${pageBytes} bytes bound ${windowBytes} at a time` : `an arena of ${size} bytes bound whole`;
      throw new BundleError(`bundle '${manifest.model.name}' needs ${what}, more than this device's largest buffer (${bufferLimit} bytes) or storage binding (${bindingLimit} bytes): compile it for this device, which pages the arena at its limits`, { pageBytes, windowBytes, bindingLimit, bufferLimit });
    }
    const count = Math.max(1, Math.ceil(size / pageBytes));
    this.pageBytes = pageBytes;
    this.windowBytes = windowBytes;
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

  /** Bind-group entries of a step's arena slots: the window `step.slots[k]` of its page at slot k's binding (the whole arena when absent). */
  entries(step: Step, slots: number): GPUBindGroupEntry[] {
    if (!step.slots) {
      if (slots !== 1 || this.pages.length !== 1) throw new BundleError(`step '${step.name}' names no arena windows, but its kernel declares ${slots} and the arena has ${this.pages.length} pages: the bundle is damaged`, { step: step.name });
      return [{ binding: arenaBinding(0), resource: { buffer: this.pages[0] } }];
    }
    if (step.slots.length !== slots) throw new BundleError(`step '${step.name}' binds ${step.slots.length} arena windows, but its kernel declares ${slots}: the bundle is damaged`, { step: step.name });
    return step.slots.map(({ page, offset, size }, k) => {
      const buffer = this.pages[page];
      if (!buffer || offset + size > buffer.size || size > this.windowBytes) {
        throw new BundleError(`step '${step.name}' binds bytes ${offset}…${offset + size} of arena page ${page}, and the arena has ${this.pages.length} pages of ${this.pageBytes} bytes bound ${this.windowBytes} at a time: the bundle is damaged`, { step: step.name });
      }
      return { binding: arenaBinding(k), resource: { buffer, offset, size } };
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
